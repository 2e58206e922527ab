"""Comparing text that Babel formats from CLDR by what a reader sees, not by its code points.

CLDR changes which space goes where between releases (a no-break space U+00A0, a narrow no-break
space U+202F, a thin space U+2009 before a currency sign or between digit groups), and Babel
follows it. A test of our locale formats checks the words, digits, signs and their order; which
kind of space separates them is CLDR's choice, so every space separator is read as one space.
"""

from __future__ import annotations

import unicodedata


def as_read(text: str) -> str:
    """``text`` with every space separator (Unicode category Zs) as a plain space."""
    return "".join(" " if unicodedata.category(c) == "Zs" else c for c in text)


def same_as_read(shown: str, expected: str) -> bool:
    return as_read(shown) == as_read(expected)
