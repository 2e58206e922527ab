"""Text helpers: folding for matching, escaping for Markdown."""

from __future__ import annotations

import pytest

from opportunities.text import escape_markdown, fold


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Göteborg", "goteborg"), ("ŁÓDŹ", "lodz"), ("Kranj  (SI)", "kranj si"), ("Straße", "strasse")],
)
def test_fold(text: str, expected: str) -> None:
    assert fold(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Kodklubb", "Kodklubb"),
        ("Göteborg – Språkcafé", "Göteborg – Språkcafé"),
        ("**bold** _it_", r"\*\*bold\*\* \_it\_"),
        ("[click](javascript:alert(1))", r"\[click\]\(javascript\:alert\(1\)\)"),
        ("![x](https://evil.example/t.png)", "\\!\\[x\\]\\(https\u2060\\://evil\\.example/t\\.png\\)"),
        ("<img src=x onerror=alert(1)>", r"\<img src\=x onerror\=alert\(1\)\>"),
        ("# Heading", r"\# Heading"),
        ("line one\n\n- line two", r"line one \- line two"),
        ("> quote", r"\> quote"),
        ("`code`", r"\`code\`"),
        (":red[alarm] :smile:", r"\:red\[alarm\] \:smile\:"),
        ("$x^2$ ~~gone~~", r"\$x\^2\$ \~\~gone\~\~"),
        ("1. first", r"1\. first"),
        ("a | b", r"a \| b"),
        ("C:\\path", r"C\:\\path"),
        ("R&amp;D", r"R\&amp;D"),
        # GFM autolink literals, which Markdown escapes do not stop: a word joiner breaks each trigger.
        ("see www.evil.example", "see www\u2060\\.evil\\.example"),
        ("HTTP://evil.example", "HTTP\u2060\\://evil\\.example"),
        ("mail me@evil.example", "mail me\u2060@evil\\.example"),
    ],
)
def test_escape_markdown(text: str, expected: str) -> None:
    assert escape_markdown(text) == expected
