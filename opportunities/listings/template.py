"""The import template that providers download: its columns, an example row and the vocabulary.

Generated from :mod:`opportunities.validation` (the columns) and :mod:`opportunities.vocabulary`
(topics, modes, types, age groups), so it cannot drift from what an import accepts. The example
row imports cleanly (a test round-trips it through the importer).
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta

from opportunities import i18n
from opportunities.i18n import N_
from opportunities.listings.cells import guard_formula
from opportunities.validation import ALL_COLUMNS, REQUIRED_COLUMNS
from opportunities.vocabulary import AGE_GROUPS, TOPICS, Mode, OpportunityType

# What each column holds, for the columns sheet (translated when written).
COLUMN_HELP: dict[str, str] = {
    "title": N_("Name of the activity, as young people will see it."),
    "description": N_("What participants do and learn; several lines are fine."),
    "provider": N_("Your organisation's name, the same in every row."),
    "city": N_("The city or town where it happens."),
    "country": N_("Country code: SE, SI, PL, …"),
    "address": N_("Street address with postcode; it places the activity on the map."),
    "latitude": N_("Optional: latitude of the venue in decimal degrees (more exact than the address)."),
    "longitude": N_("Optional: longitude of the venue in decimal degrees."),
    "topics": N_("One or more topic ids from the vocabulary sheet, separated by ;"),
    "age_min": N_("Youngest age that may take part, in years."),
    "age_max": N_("Oldest age that may take part; empty for no upper limit."),
    "mode": N_("in-person, online or hybrid."),
    "type": N_("One type id from the vocabulary sheet."),
    "start": N_("First day, local time: 2026-12-01 or 2026-12-01 17:00."),
    "end": N_("Last day (optional), same format as start."),
    "schedule": N_("Optional repeat rule, e.g. FREQ=WEEKLY;BYDAY=TU,TH."),
    "cost": N_("Price in the currency below; 0 or free when free."),
    "currency": N_("Currency code (SEK, EUR, PLN) when it is not free."),
    "languages": N_("Languages it is held in, as codes separated by ; (sv;en)."),
    "url": N_("Web page with details or registration (https://…)."),
    "contact_email": N_("Email address for questions."),
    "venue": N_("Optional: name of the place (library, school, youth centre)."),
    "accessibility": N_("Optional: step-free access, hearing loop, other support."),
}
_SHEET_TEMPLATE = "opportunities"  # read by the importer: its name is not translated
_SHEET_COLUMNS = N_("Columns explained")
_SHEET_VOCABULARY = N_("Vocabulary list")


def example_row(today: date | None = None, provider: str = "") -> dict[str, str]:
    """A row that imports cleanly: a weekly club starting on a Wednesday a month from ``today``,
    offered by ``provider`` (default: a library in Göteborg)."""
    today = today or date.today()
    first = today + timedelta(days=30)
    first += timedelta(days=(2 - first.weekday()) % 7)  # a Wednesday, as the schedule says
    start = datetime.combine(first, time(17, 0))
    row = {
        "title": "Kodklubb för unga", "description": "Lär dig programmera spel i Python.\nTa med egen dator om du har.",
        "provider": provider or "Stadsbiblioteket Göteborg", "city": "Göteborg", "country": "SE",
        "address": "Götaplatsen 3, 412 56 Göteborg", "latitude": "", "longitude": "",
        "topics": f"{TOPICS[1]};{TOPICS[2]}", "age_min": "12", "age_max": "16", "mode": Mode.IN_PERSON.value,
        "type": OpportunityType.CLUB.value, "start": start.strftime("%Y-%m-%d %H:%M"),
        "end": (first + timedelta(weeks=12)).isoformat(), "schedule": "FREQ=WEEKLY;BYDAY=WE", "cost": "0",
        "currency": "", "languages": "sv;en", "url": "https://example.org/kodklubb",
        "contact_email": "kodklubb@example.org", "venue": "Stadsbiblioteket", "accessibility": "Step-free entrance",
    }  # fmt: skip
    return {column: row.get(column, "") for column in ALL_COLUMNS}


def template_csv(today: date | None = None, provider: str = "") -> bytes:
    """The template as CSV (UTF-8 with BOM, as Excel reads it): the header and the example row."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(ALL_COLUMNS)
    row = example_row(today, provider)
    writer.writerow([guard_formula(row[c]) for c in ALL_COLUMNS])
    return out.getvalue().encode("utf-8-sig")


def vocabulary_rows(language: str) -> list[tuple[str, str, str]]:
    """(column, id, label in ``language``) for every value a vocabulary column accepts, and the age groups."""
    rows = [("topics", t, i18n.topic_label(t, language)) for t in TOPICS]
    rows += [("mode", m.value, i18n.mode_label(m, language)) for m in Mode]
    rows += [("type", t.value, i18n.type_label(t, language)) for t in OpportunityType]
    rows += [("age_min / age_max", g.id, i18n.age_group_label(g.id, language)) for g in AGE_GROUPS]
    return rows


def column_rows(language: str) -> list[tuple[str, str, str]]:
    """(column, required or optional, what it holds) in ``language``, in template order."""
    _ = i18n.translator(language).gettext
    return [(c, _("required column") if c in REQUIRED_COLUMNS else _("optional column"), _(COLUMN_HELP[c])) for c in ALL_COLUMNS]


def vocabulary_csv(language: str) -> bytes:
    """The vocabulary as a CSV of its own, for those who use the CSV template."""
    _ = i18n.translator(language).gettext
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow((_("column name"), "id", _("label in your language")))
    writer.writerows(vocabulary_rows(language))
    return out.getvalue().encode("utf-8-sig")


def template_xlsx(language: str, today: date | None = None, provider: str = "") -> bytes:
    """The template as an Excel workbook: the template sheet first (the one an import reads), then
    the columns explained and the vocabulary, in ``language``."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    _ = i18n.translator(language).gettext
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = _SHEET_TEMPLATE
    sheet.append(list(ALL_COLUMNS))
    row = example_row(today, provider)
    # Every cell as text: Excel would turn 12 into a number and the start into a date serial.
    sheet.append([row[c] for c in ALL_COLUMNS])
    for cell in sheet[2]:
        cell.data_type = "s"
        cell.number_format = "@"
    sheets = [
        (sheet, None),
        (
            workbook.create_sheet(_(_SHEET_COLUMNS)),
            [(_("column name"), _("required column"), _("what it holds")), *column_rows(language)],
        ),
        (
            workbook.create_sheet(_(_SHEET_VOCABULARY)),
            [(_("column name"), "id", _("label in your language")), *vocabulary_rows(language)],
        ),
    ]
    for target, rows in sheets:
        for values in rows or ():
            target.append(list(values))
        for cell in target[1]:
            cell.font = Font(bold=True)
        target.freeze_panes = "A2"
        for column in target.columns:
            width = max(len(str(c.value or "")) for c in column)
            target.column_dimensions[column[0].column_letter].width = min(60, max(10, width + 2))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
