"""Spreadsheet cells the product writes and reads back: guarding text against formula injection.

A spreadsheet evaluates a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, in some
programs, a tab or carriage return) as a formula, so provider text such as
``=cmd|' /C calc'!A0`` in an exported CSV would run when someone opens the file. As OWASP
recommends, every text cell we write that would be evaluated gets a leading ``'``, which a
spreadsheet shows as text. Reading strips exactly that one ``'`` again, so a file the product
wrote imports back unchanged. The rule looks through leading quotes: ``'=x`` is written as
``''=x`` and read back as ``'=x``, while ``'quoted`` is neither guarded nor stripped.
"""

from __future__ import annotations

from opportunities.text import without_hidden_controls

# The first characters that make a spreadsheet evaluate a cell (OWASP "CSV Injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
GUARD = "'"


def _would_be_evaluated(text: str) -> bool:
    return text.lstrip(GUARD).startswith(FORMULA_TRIGGERS)


def guard_formula(text: str) -> str:
    """``text`` as a cell no spreadsheet evaluates: prefixed with ``'`` when it would be a formula,
    and without bidirectional overrides or zero-width spaces (a spreadsheet shows them as they act:
    ``=1+1`` behind U+202E would read as something else)."""
    text = without_hidden_controls(text)
    return GUARD + text if _would_be_evaluated(text) else text


def unguard_formula(text: str) -> str:
    """The inverse of :func:`guard_formula`: the one ``'`` it added is removed, nothing else."""
    return text[1:] if text.startswith(GUARD) and _would_be_evaluated(text) else text
