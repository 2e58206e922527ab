"""Every reason the domain gives is worded once, in the catalogs, and renders in every language.

A reason is made with :func:`opportunities.errors.because` (or :class:`~opportunities.errors.Reason`)
from a msgid marked with ``N_``; the catalog tests (tests/test_i18n.py) then fail when one lacks a
translation. Here the sources are read (as Python syntax trees) for every reason, so that a reason
written as plain text, an f-string or a msgid without its mark fails, and each reason is rendered
in each language with values in its placeholders.
"""

from __future__ import annotations

import ast
import string
from datetime import date
from pathlib import Path

import pytest

from opportunities import i18n
from opportunities.errors import FieldError, Reason, because

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [p for folder in ("opportunities", "cli", "ui", "pages", "maps") for p in sorted((ROOT / folder).rglob("*.py"))]
LANGUAGES = ("en", "sv", "sl", "pl")


def _reasons() -> tuple[dict[str, str], list[str]]:
    """(msgid -> where, problems): the msgids given to ``because``/``Reason`` literally, and the
    calls whose message is not a marked literal or a name (a constant holding one)."""
    found: dict[str, str] = {}
    problems: list[str] = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("because", "Reason")):
                continue
            if not node.args:
                continue
            first = node.args[0]
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if (
                isinstance(first, ast.Call)
                and isinstance(first.func, ast.Name)
                and first.func.id == "N_"
                and len(first.args) == 1
                and isinstance(first.args[0], ast.Constant)
                and isinstance(first.args[0].value, str)
            ):
                found.setdefault(first.args[0].value, where)
            elif not isinstance(first, ast.Name | ast.Subscript | ast.Attribute):
                problems.append(f'{where}: the message is not N_("...")')
    return found, problems


REASONS, PROBLEMS = _reasons()


def test_every_reason_is_a_marked_msgid() -> None:
    assert not PROBLEMS, PROBLEMS
    assert len(REASONS) > 100  # the scan finds the reasons (validation, import files, geocoding, accounts...)


def _sample(name: str) -> str | int | date:
    return {"day": date(2027, 3, 14), "limit": 5000, "n": 1234, "count": 3}.get(name, f"«{name}»")


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("msgid", sorted(REASONS))
def test_every_reason_renders_in_every_language(msgid: str, language: str) -> None:
    names = {field for _text, field, _spec, _conv in string.Formatter().parse(msgid) if field}
    reason = Reason(msgid, {name: _sample(name) for name in names})
    shown = i18n.explain(reason, language)
    assert "{" not in shown and "}" not in shown, (REASONS[msgid], shown)
    for name in names:
        if name not in ("day", "limit", "n", "count"):
            assert f"«{name}»" in shown, (REASONS[msgid], language, name, shown)
    words = "".join(text for text, _field, _spec, _conv in string.Formatter().parse(msgid))
    if language != "en" and any(c.isalpha() for c in words):  # "{reason} ({detail})" reads the same in every language
        assert i18n.translator(language).gettext(msgid) != msgid, f"{REASONS[msgid]}: not translated into {language}"


def test_values_are_shown_in_the_readers_format() -> None:
    reason = because(i18n.N_("{value} is before {limit}; check the year"), value="'1999-01-01'", limit=date(2000, 1, 1))
    assert i18n.explain(reason, "en") == "'1999-01-01' is before 1 Jan 2000; check the year"
    assert str(reason) == "'1999-01-01' is before 2000-01-01; check the year"
    assert "2000" in i18n.explain(reason, "pl") and "'1999-01-01'" in i18n.explain(reason, "pl")
    many = because(i18n.N_("This is {n} characters long; at most {limit} are allowed."), n=12345, limit=5000)
    assert str(many) == "This is 12,345 characters long; at most 5,000 are allowed."
    assert "5\u00a0000" in i18n.explain(many, "sv") or "5\u202f000" in i18n.explain(many, "sv")


def test_a_reason_inside_a_reason_is_explained_in_the_same_language() -> None:
    inner = because(i18n.N_("only the Gregorian calendar is supported"))
    outer = because(i18n.N_("This schedule cannot be used: {rule}"), rule=inner)
    swedish = i18n.explain(outer, "sv")
    assert i18n.translator("sv").gettext("only the Gregorian calendar is supported") in swedish


def test_a_field_is_named_by_its_label_or_its_column() -> None:
    error = FieldError("age_min", because(i18n.N_("This is required.")))
    assert str(error) == "age_min: This is required."
    assert i18n.explain_error(error, "en") == "Youngest age: This is required."
    assert i18n.explain_error(error, "sv").startswith("Lägsta ålder: ")
    assert i18n.explain_error(error, "sv", columns=True).startswith("Lägsta ålder (age_min): ")  # as the header has it
    assert i18n.explain_error(FieldError("mystery", error.reason), "sv", columns=True).startswith("mystery: ")
    whole_row = FieldError("row", because(i18n.N_("This is required.")))
    assert i18n.explain_error(whole_row, "en", columns=True) == "This is required."
