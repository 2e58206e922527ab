"""Bulk upload: the preview of each row's outcome, confirming exactly that, the template, likely duplicates."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import Engine, func, select

from opportunities.db import queries, schema
from opportunities.errors import ImportChangedError, ImportFileError
from opportunities.i18n import explain, explain_errors
from opportunities.listings.duplicates import DuplicateKind, likely_duplicates, title_similarity
from opportunities.listings.importing import ImportPreview, Outcome, confirm_import, import_records, preview_import, rejects_csv
from opportunities.listings.spreadsheets import ReadLimits, Table, read_table_bytes
from opportunities.listings.template import COLUMN_HELP, example_row, template_csv, template_xlsx, vocabulary_csv, vocabulary_rows
from opportunities.places.geocoding import Geocoder
from opportunities.validation import ALL_COLUMNS, TEMPLATE_COLUMNS
from opportunities.vocabulary import TOPICS, Mode, OpportunityType, Status
from tests.conftest import csv_bytes, template_row

LIMITS = ReadLimits(max_bytes=10 * 1024 * 1024, max_rows=50_000, max_cell_chars=32767)


def xlsx_bytes(rows: list[dict[str, str]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(list(TEMPLATE_COLUMNS))
    for row in rows:
        sheet.append([row[c] for c in TEMPLATE_COLUMNS])
        for cell in sheet[sheet.max_row]:
            cell.data_type = "s"  # formula-like text stays text, as Excel stores a cell typed with a leading '
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def count_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(schema.opportunities)).scalar_one())


GOOD = template_row()
MIXED = [
    GOOD,
    template_row(title="Без возраста", age_min=""),  # Cyrillic, rejected
    template_row(title="Εργαστήριο ρομποτικής", start="2027-01-10 10:00"),  # Greek, stored
    GOOD,  # the same as row 2
    template_row(title="ورشة البرمجة", start="2027-01-11 10:00", url="javascript:alert(1)"),  # Arabic, bad url
    template_row(title='=HYPERLINK("http://evil")', start="2027-01-12 10:00"),  # formula-like text is text
    template_row(title="Łódź ß club\nwith a line break", start="2027-01-13 10:00", description='a, b; "c"\nd'),
]
EXPECTED = {
    2: (Outcome.STORE, ""),
    3: (Outcome.REJECT, "age_min"),
    4: (Outcome.STORE, ""),
    5: (Outcome.DUPLICATE, ""),
    6: (Outcome.REJECT, "url"),
    7: (Outcome.STORE, ""),
    8: (Outcome.REJECT, "title"),  # a line break in a title is a control character
}


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        ("mixed.csv", csv_bytes(MIXED)),
        ("mixed-semicolon.csv", csv_bytes(MIXED, delimiter=";")),
        ("mixed.csv", b"\xef\xbb\xbf" + csv_bytes(MIXED, delimiter="\t")),
        ("mixed.xlsx", xlsx_bytes(MIXED)),
    ],
)
def test_preview_shows_each_rows_outcome_and_stores_nothing(
    filename: str, data: bytes, engine: Engine, geocoder: Geocoder
) -> None:
    table = read_table_bytes(data, filename, limits=LIMITS)
    preview = preview_import(engine, table, geocoder, filename=filename)
    assert {r.row: (r.outcome, r.field) for r in preview.rows} == EXPECTED
    assert count_rows(engine) == 0
    assert preview.rows[3].duplicate_row == 2 and preview.rows[3].duplicate_id is None
    assert preview.rows[1].title == "Без возраста" and "age_min" in preview.rows[1].reason
    assert (preview.count(Outcome.STORE), preview.count(Outcome.REJECT), preview.count(Outcome.DUPLICATE)) == (3, 3, 1)

    report = confirm_import(engine, table, geocoder, preview)
    assert report.stored_rows == [2, 4, 7] and report.stored == 3 == count_rows(engine)
    with engine.connect() as conn:
        titles = {o.title for o in queries.get_opportunities(conn, report.stored_ids)}
    assert titles == {GOOD["title"], "Εργαστήριο ρομποτικής", '=HYPERLINK("http://evil")'}


def test_preview_names_the_stored_listing_a_row_repeats(engine: Engine, geocoder: Geocoder) -> None:
    [stored_id] = import_records(engine, [GOOD], geocoder).stored_ids
    table = read_table_bytes(csv_bytes([GOOD, template_row(title="Another")]), "again.csv", limits=LIMITS)
    preview = preview_import(engine, table, geocoder)
    assert [(r.outcome, r.duplicate_id) for r in preview.rows] == [(Outcome.DUPLICATE, stored_id), (Outcome.STORE, None)]


def test_confirm_refuses_when_the_data_changed_since_the_preview(engine: Engine, geocoder: Geocoder) -> None:
    table = read_table_bytes(csv_bytes([GOOD, template_row(title="Second")]), "a.csv", limits=LIMITS)
    preview = preview_import(engine, table, geocoder)
    import_records(engine, [GOOD], geocoder)  # someone stores row 2's opportunity meanwhile
    with pytest.raises(ImportChangedError, match="row 2"):
        confirm_import(engine, table, geocoder, preview)
    assert count_rows(engine) == 1  # nothing of the file was stored, not even "Second"


def test_confirm_refuses_another_file_than_the_previewed_one(engine: Engine, geocoder: Geocoder) -> None:
    previewed = read_table_bytes(csv_bytes([GOOD]), "a.csv", limits=LIMITS)
    preview = preview_import(engine, previewed, geocoder)
    other = read_table_bytes(csv_bytes([template_row(title="Swapped")]), "a.csv", limits=LIMITS)
    with pytest.raises(ImportChangedError, match="not the file"):
        confirm_import(engine, other, geocoder, preview)
    assert count_rows(engine) == 0


def test_an_organisations_upload_holds_only_its_own_listings(engine: Engine, geocoder: Geocoder) -> None:
    rows = [GOOD, template_row(title="Blank provider", provider=""), template_row(title="Theirs", provider="Other org")]
    table = read_table_bytes(csv_bytes(rows), "org.csv", limits=LIMITS)
    preview = preview_import(engine, table, geocoder, organisation="STADSBIBLIOTEKET GÖTEBORG")
    assert [(r.outcome, r.field) for r in preview.rows] == [
        (Outcome.STORE, ""),
        (Outcome.STORE, ""),
        (Outcome.REJECT, "provider"),
    ]
    report = confirm_import(engine, table, geocoder, preview, organisation="STADSBIBLIOTEKET GÖTEBORG")
    with engine.connect() as conn:
        assert {o.provider for o in queries.get_opportunities(conn, report.stored_ids)} == {"Stadsbiblioteket Göteborg"}


def test_preview_reports_progress(engine: Engine, geocoder: Geocoder) -> None:
    rows = [template_row(title=f"Club {i}") for i in range(1200)]
    seen: list[tuple[int, int]] = []
    preview_import(engine, Table(("title",), rows, list(range(2, 1202))), geocoder, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(1000, 1200), (1200, 1200)]


@pytest.mark.parametrize(
    ("filename", "data", "limits", "message"),
    [
        ("big.csv", csv_bytes([GOOD] * 40), ReadLimits(2000, 50_000, 32767), "more than the 2,000 an upload may have"),
        ("many.csv", csv_bytes([GOOD] * 6), ReadLimits(10**6, 5, 32767), "many.csv has more than 5 rows"),
        ("many.xlsx", xlsx_bytes([GOOD] * 6), ReadLimits(10**6, 5, 32767), "many.xlsx has more than 5 rows"),
        ("notes.pdf", b"%PDF-1.4", LIMITS, "upload a .csv or .xlsx file, not .pdf"),
    ],
)
def test_files_past_the_limits_are_refused_with_the_limit_named(
    filename: str, data: bytes, limits: ReadLimits, message: str
) -> None:
    with pytest.raises(ImportFileError, match=message):
        read_table_bytes(data, filename, limits=limits)


def test_the_defaults_are_10_mb_and_50000_rows() -> None:
    from opportunities.settings import load_settings

    settings = load_settings({})
    assert (settings.import_max_bytes, settings.import_max_rows) == (10 * 1024 * 1024, 50_000)


def test_rejected_rows_file_is_the_command_lines_format_and_imports_again(engine: Engine, geocoder: Geocoder) -> None:
    table = read_table_bytes(csv_bytes(MIXED), "mixed.csv", limits=LIMITS)
    preview = preview_import(engine, table, geocoder)
    data = rejects_csv(table.header, preview.rejected)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [r["reason"].split(":")[0] for r in rows] == ["Row 3", "Row 6", "Row 8"]
    assert rows[0]["reason"] == "Row 3: Youngest age (age_min): This is required."
    assert rows[2]["title"] == "Łódź ß club\nwith a line break"
    again = read_table_bytes(data, "mixed.rejected.csv", limits=LIMITS)
    assert [r["title"] for r in again.rows] == ["Без возраста", "ورشة البرمجة", "Łódź ß club\nwith a line break"]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_template_example_row_imports_cleanly(kind: str, engine: Engine, geocoder: Geocoder) -> None:
    data = template_csv(date(2026, 11, 23)) if kind == "csv" else template_xlsx("pl", date(2026, 11, 23))
    table = read_table_bytes(data, f"template.{kind}", limits=LIMITS)
    assert table.header == ALL_COLUMNS and table.warnings == ()
    assert table.rows == [example_row(date(2026, 11, 23))]
    report = confirm_import(engine, table, geocoder, preview_import(engine, table, geocoder))
    assert (report.stored, report.rejected) == (1, [])


def test_template_example_row_is_for_the_organisation_uploading(engine: Engine, geocoder: Geocoder) -> None:
    table = read_table_bytes(template_csv(provider="Mladinski center Kranj"), "t.csv", limits=LIMITS)
    assert table.rows[0]["provider"] == "Mladinski center Kranj"


def test_template_workbook_explains_every_column_and_lists_the_vocabulary() -> None:
    workbook = load_workbook(io.BytesIO(template_xlsx("sv")))
    assert workbook.sheetnames == ["opportunities", "Kolumnerna förklarade", "Vokabulärlista"]
    columns = [row[0] for row in workbook["Kolumnerna förklarade"].iter_rows(min_row=2, values_only=True)]
    assert columns == list(ALL_COLUMNS) == list(COLUMN_HELP)
    vocabulary = {(r[0], r[1]) for r in workbook["Vokabulärlista"].iter_rows(min_row=2, values_only=True)}
    assert {("topics", t) for t in TOPICS} | {("mode", m.value) for m in Mode} | {
        ("type", t.value) for t in OpportunityType
    } <= vocabulary
    assert ("topics", "digital-skills", "Digitala färdigheter") in vocabulary_rows("sv")
    assert "Umiejętności cyfrowe" in vocabulary_csv("pl").decode("utf-8-sig")


@pytest.mark.parametrize(
    ("a", "b", "similar"),
    [
        ("Kodklubb för unga", "KODKLUBB FÖR UNGA", True),
        ("Kodklubb för unga", "Kodklubben för unga", True),
        ("Warsztaty robotyki", "Warsztaty  robotyki!", True),
        ("Кодування для підлітків", "Кодування для пiдлiткiв", True),  # Latin i for Cyrillic і
        ("Кодування для підлітків", "Малювання для дітей", False),
        ("Εργαστήριο ρομποτικής", "Εργαστηριο ρομποτικης", True),
        ("Kodklubb", "Schack", False),
        ("", "Kodklubb", False),
    ],
)
def test_title_similarity(a: str, b: str, similar: bool) -> None:
    assert (title_similarity(a, b) >= 0.8) is similar


def test_likely_duplicates_same_provider_or_similar_title_close_in_time_and_place(engine: Engine, geocoder: Geocoder) -> None:
    rows = [
        template_row(title="Kodklubb för unga"),
        template_row(title="Kodklubben för unga", start="2027-03-03 17:00", end=""),  # same provider, months later
        template_row(title="Kodklubb för unga!", provider="Hvitfeldtska", start="2026-12-09 17:00", end=""),  # nearby
        template_row(title="Kodklubb för unga", provider="Far away school", start="2027-06-01 10:00", end=""),  # too late
        template_row(title="Schack för unga", start="2026-12-03 17:00", end=""),  # another title
    ]
    ids = import_records(engine, rows, geocoder).stored_ids
    with engine.connect() as conn:
        subject = queries.get_opportunity(conn, ids[0])
        found = likely_duplicates(conn, subject)
        assert {(d.opportunity.id, d.kind) for d in found} == {
            (ids[1], DuplicateKind.SAME_PROVIDER),
            (ids[2], DuplicateKind.NEARBY),
        }
        queries.set_status(conn, ids[2], Status.REJECTED)
        assert [d.opportunity.id for d in likely_duplicates(conn, subject)] == [ids[1]]


def test_preview_is_reusable_as_a_value() -> None:
    # Pages keep the preview in session state between reruns: a frozen value, equal when equal.
    a = ImportPreview("a.csv", "f", False, (), (), ())
    assert a == ImportPreview("a.csv", "f", False, (), (), ())


@pytest.mark.parametrize(
    ("language", "row", "expected"),
    [
        ("sv", 3, "Lägsta ålder (age_min): Det här måste fyllas i."),
        ("pl", 3, "Najniższy wiek (age_min): To pole jest wymagane."),
        ("sl", 6, "Spletna stran (url): 'javascript:alert(1)' ni spletni naslov, ki se začne s http:// ali https://"),
        ("pl", 8, "Tytuł (title): Tekst zawiera niewidoczny znak sterujący (U+000A) na pozycji 12; usuń go."),
        ("en", 3, "Youngest age (age_min): This is required."),
    ],
)
def test_rejection_reasons_in_the_readers_language(
    engine: Engine, geocoder: Geocoder, language: str, row: int, expected: str
) -> None:
    preview = preview_import(engine, read_table_bytes(csv_bytes(MIXED), "m.csv", limits=LIMITS), geocoder)
    found = next(r for r in preview.rows if r.row == row)
    assert explain_errors(found.errors, language, columns=True) == expected
    table = read_table_bytes(csv_bytes(MIXED), "m.csv", limits=LIMITS)
    rejected = next(r for r in preview.rejected if r.row == row)
    [written] = csv.DictReader(io.StringIO(rejects_csv(table.header, [rejected], language).decode("utf-8-sig")))
    assert written["reason"].endswith(expected) and str(row) in written["reason"]


@pytest.mark.parametrize(
    ("filename", "data", "limits", "expected"),
    [
        (
            "big.csv", csv_bytes([GOOD] * 40), ReadLimits(2000, 50_000, 32767),
            "big.csv ma 9\u00a0682 bajtów, więcej niż 2\u00a0000 dozwolonych w jednym przesłaniu; podziel go na mniejsze pliki",
        ),
        (
            "many.csv", csv_bytes([GOOD] * 6), ReadLimits(10**6, 5, 32767),
            "many.csv ma więcej niż 5 wierszy, najwięcej w jednym przesłaniu; podziel go na mniejsze pliki",
        ),
    ],
)  # fmt: skip
def test_file_errors_in_the_readers_language(filename: str, data: bytes, limits: ReadLimits, expected: str) -> None:
    with pytest.raises(ImportFileError) as caught:
        read_table_bytes(data, filename, limits=limits)
    assert explain(caught.value.reason, "pl") == expected
    assert explain(caught.value.reason, "en") == str(caught.value)


def test_every_rejection_reason_is_in_the_readers_language_with_its_value(engine: Engine, geocoder: Geocoder) -> None:
    """The usual reasons reach the upload page as coded reasons, not as English text: each row's
    reasons read differently in Swedish and Polish than in English, and still quote the value."""
    rows = [
        (template_row(age_min="x"), "'x'"),
        (template_row(age_min="130"), "130"),
        (template_row(start="soon"), "'soon'"),
        (template_row(start="1999-01-01"), "'1999-01-01'"),
        (template_row(country="XX"), "'XX'"),
        (template_row(topics="cooking"), "'cooking'"),
        (template_row(languages="xx"), "'xx'"),
        (template_row(cost="lots"), "'lots'"),
        (template_row(cost="5", currency="XYZ"), "'XYZ'"),
        (template_row(contact_email="nobody"), "'nobody'"),
        (template_row(mode="by post"), "'by post'"),
        (template_row(age_max="5"), "5"),
        (template_row(cost="5", currency=""), ""),
        (template_row(latitude="57.7", longitude=""), ""),
        (template_row(city="Atlantis", address=""), "Atlantis"),
        (template_row(latitude="46.24", longitude="14.36"), ""),
    ]
    table = read_table_bytes(csv_bytes([row for row, _value in rows]), "m.csv", limits=LIMITS)
    preview = preview_import(engine, table, geocoder)
    assert [r.outcome for r in preview.rows] == [Outcome.REJECT] * len(rows)
    for outcome, (_row, value) in zip(preview.rows, rows, strict=True):
        english = explain_errors(outcome.errors, "en", columns=True)
        for language in ("sv", "pl"):
            shown = explain_errors(outcome.errors, language, columns=True)
            assert shown != english, (outcome.row, language, shown)
            assert value in shown, (outcome.row, language, shown)


def test_storing_reports_progress_over_checking_again_then_storing(engine: Engine, geocoder: Geocoder) -> None:
    """Confirming checks every row again before it stores them: the bar moves through both, once."""
    rows = [template_row(title=f"Club {i}") for i in range(1200)]
    table = Table(tuple(rows[0]), rows, list(range(2, 1202)))
    preview = preview_import(engine, table, geocoder)
    seen: list[tuple[int, int]] = []
    confirm_import(engine, table, geocoder, preview, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(416, 1000), (500, 1000), (916, 1000), (1000, 1000)]
