from __future__ import annotations

import csv
import dataclasses
import json
import shutil
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine

from cli.commands import main
from opportunities.db import connection
from opportunities.errors import N_, FieldError, because
from opportunities.listings.cells import FORMULA_TRIGGERS, guard_formula, unguard_formula
from opportunities.listings.exporting import export, iter_opportunities, spreadsheet_row
from opportunities.listings.importing import import_file, import_records, write_rejects
from opportunities.listings.spreadsheets import RowRejection, read_table
from opportunities.places.geocoding import Geocoder
from opportunities.validation import parse_opportunity
from opportunities.vocabulary import Precision
from tests.conftest import DATA, Databases, template_row


@pytest.fixture
def imported(tmp_path: Path, engine: Engine, geocoder: Geocoder) -> Engine:
    import_file(Path(shutil.copy(DATA / "messy_import.csv", tmp_path / "m.csv")), engine, geocoder)
    return engine


def _comparable(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return sorted(
            (
                o.title,
                o.provider,
                o.city,
                o.country,
                o.topics,
                o.age_min,
                o.age_max,
                o.mode,
                o.type,
                o.start,
                o.end,
                o.schedule,
                o.cost,
                o.currency,
                o.languages,
                o.url,
                o.precision,
                round(o.latitude or 0, 5),
                round(o.longitude or 0, 5),
                o.description,
            )
            for o in iter_opportunities(conn)
        )


def test_csv_round_trips_through_import(tmp_path: Path, databases: Databases, imported: Engine, geocoder: Geocoder) -> None:
    out = tmp_path / "export.csv"
    with imported.connect() as conn:
        assert export(conn, out, fmt="csv") == 4
    (tmp_path / "fresh").mkdir()
    url = databases.create(tmp_path / "fresh")
    fresh = connection.open_database(url)
    try:
        report = import_file(out, fresh, geocoder)
        assert (report.stored, report.rejected, report.warnings) == (4, [], [])
        assert _comparable(fresh) == _comparable(imported)
    finally:
        fresh.dispose()
        databases.drop(url)


def test_geojson_is_rfc7946(tmp_path: Path, imported: Engine) -> None:
    out = tmp_path / "export.geojson"
    with imported.connect() as conn:
        export(conn, out, fmt="geojson", city="Kranj")
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection"
    [feature] = data["features"]
    assert feature["geometry"] == {"type": "Point", "coordinates": [14.3556, 46.2389]}  # lon, lat
    assert feature["properties"]["title"] == "Delavnica robotike"
    assert feature["properties"]["topics"] == ["digital-skills", "science-technology"]


def test_geojson_online_has_null_geometry(tmp_path: Path, imported: Engine) -> None:
    out = tmp_path / "export.geojson"
    with imported.connect() as conn:
        export(conn, out, fmt="geojson", city="Ljubljana")
    [feature] = json.loads(out.read_text(encoding="utf-8"))["features"]
    assert feature["geometry"] is None


def test_geoparquet(tmp_path: Path, imported: Engine) -> None:
    out = tmp_path / "export.parquet"
    with imported.connect() as conn:
        assert export(conn, out, fmt="parquet") == 4
    frame = gpd.read_parquet(out)
    assert frame.crs.to_epsg() == 4326
    assert len(frame) == 4 and frame.geometry.isna().sum() == 1
    assert set(frame["title"]) >= {"Warsztaty robotyki"}


def test_unknown_format(tmp_path: Path, imported: Engine) -> None:
    with imported.connect() as conn, pytest.raises(FieldError, match="not one of"):
        export(conn, tmp_path / "x.kml", fmt="kml")


# Text a spreadsheet or a CSV parser could get wrong: quotes, delimiters, line breaks, formula
# triggers (OWASP), a leading quote of the provider's own, and scripts other than Latin.
TRICKY_ROWS = [
    {
        "title": 'Kodklubb "Scratch" för unga, 1',
        "description": 'Line one\nline two, "quoted"; semi\tand tab',
        "venue": "=1+2",
        "accessibility": "+46 31 123",
        "address": "Götaplatsen 3, 412 56 Göteborg",
    },
    {
        "title": "=cmd|' /C calc'!A0",
        "description": "-abc",
        "venue": "@SUM(A1)",
        "accessibility": "'quoted",
        "provider": "'=already guarded",
    },
    {
        "title": "Кодклуб для подростков 3",
        "description": 'Программирование; «кавычки», "и" запятые',
        "provider": "Библиотека",
        "venue": "\u2212 minus",
        "accessibility": "line\nbreak",
    },
    {"title": "Ρομποτική 4", "description": 'Ελληνικά; κόμμα, "εισαγωγικά"', "provider": "Βιβλιοθήκη"},
    {"title": "نادي البرمجة 5", "description": 'العربية، فاصلة; "اقتباس"', "provider": "مكتبة", "languages": "ar;sv"},
    {
        "title": "Semi;colon, and, commas 6",
        "description": "",
        "schedule": "",
        "end": "",
        "age_max": "",
        "cost": "25.50",
        "currency": "SEK",
        "url": 'https://example.org/a?b=1&c="2"',
    },
]


@pytest.fixture
def tricky(engine: Engine, geocoder: Geocoder) -> Engine:
    rows = [template_row(**overrides) for overrides in TRICKY_ROWS]
    report = import_records(engine, rows, geocoder)
    assert (report.stored, report.rejected) == (len(TRICKY_ROWS), [])
    return engine


def _stored(engine: Engine) -> list[dict[str, object]]:
    """Every field of every stored opportunity, except those an import sets itself."""
    own = {"id", "status", "created_at", "updated_at", "verified_at", "distance_km"}
    with engine.connect() as conn:
        found = [
            {f.name: getattr(o, f.name) for f in dataclasses.fields(o) if f.name not in own} for o in iter_opportunities(conn)
        ]
    return sorted(found, key=lambda o: str(o["title"]))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_round_trips_every_field(
    fmt: str, tmp_path: Path, databases: Databases, tricky: Engine, geocoder: Geocoder
) -> None:
    out = tmp_path / f"export.{fmt}"
    with tricky.connect() as conn:
        assert export(conn, out, fmt=fmt) == len(TRICKY_ROWS)
    (tmp_path / "fresh").mkdir()
    url = databases.create(tmp_path / "fresh")
    fresh = connection.open_database(url)
    try:
        report = import_file(out, fresh, geocoder)
        assert (report.stored, report.rejected, report.warnings) == (len(TRICKY_ROWS), [], [])
        before, after = _stored(tricky), _stored(fresh)
        assert [o["title"] for o in after] == [o["title"] for o in before]
        for old, new in zip(before, after, strict=True):
            assert {k: v for k, v in new.items() if v != old[k]} == {}, old["title"]
    finally:
        fresh.dispose()
        databases.drop(url)


def test_csv_files_for_excel_start_with_a_byte_order_mark(tmp_path: Path, tricky: Engine, geocoder: Geocoder) -> None:
    """Excel reads a CSV without a BOM in the locale's ANSI code page: "Łódź" would show as "Å\x81Ã³dÅº"."""
    with tricky.connect() as conn:
        export(conn, tmp_path / "e.csv", fmt="csv")
    assert (tmp_path / "e.csv").read_bytes().startswith(b"\xef\xbb\xbftitle,")
    report = import_file(tmp_path / "e.csv", tricky, geocoder)  # everything is a duplicate: read fine
    assert report.rejected == [] and report.stored == 0
    rejects = tmp_path / "r.csv"
    required = FieldError("title", because(N_("This is required.")))
    write_rejects(rejects, ["title"], [RowRejection(2, (required,), {"title": "Łódź"})])
    assert rejects.read_bytes().startswith(b"\xef\xbb\xbftitle,reason")
    assert rejects.read_text(encoding="utf-8-sig").splitlines()[1] == "Łódź,Row 2: Title (title): This is required."
    write_rejects(rejects, ["title"], [RowRejection(2, (required,), {"title": "Łódź"})], "pl")  # in the reader's language
    assert rejects.read_text(encoding="utf-8-sig").splitlines()[1] == "Łódź,Wiersz 2: Tytuł (title): To pole jest wymagane."


def test_exported_csv_and_xlsx_hold_no_formula(tmp_path: Path, tricky: Engine) -> None:
    with tricky.connect() as conn:
        export(conn, tmp_path / "e.csv", fmt="csv")
        export(conn, tmp_path / "e.xlsx", fmt="xlsx")
    with (tmp_path / "e.csv").open(encoding="utf-8-sig", newline="") as fh:
        cells = [c for row in csv.reader(fh) for c in row]
    assert "'=cmd|' /C calc'!A0" in cells and "''=already guarded" in cells and "'quoted" in cells
    assert [c for c in cells if c.startswith(FORMULA_TRIGGERS)] == []
    book = load_workbook(tmp_path / "e.xlsx")  # not read-only: every cell's type is known
    sheet = book.worksheets[0]
    values = [c.value for row in sheet.iter_rows() for c in row]
    assert [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"] == []
    # Formula-like text is a string cell with Excel's own quote prefix (what typing a leading ' makes):
    # shown as written, without a visible ', and still text when a provider edits it.
    formula_like = [
        c for row in sheet.iter_rows() for c in row if isinstance(c.value, str) and c.value.startswith(FORMULA_TRIGGERS)
    ]
    assert formula_like and all(c.data_type == "s" and c.quotePrefix for c in formula_like)
    assert "@SUM(A1)" in values and "'@SUM(A1)" not in values and 25.5 in values and 12 in values  # numbers stay numbers


def test_numbers_are_never_guarded() -> None:
    opp = parse_opportunity(template_row(latitude="51.507400", longitude="-0.127800", title="-5", cost="-0"))
    row = spreadsheet_row(replace(opp, precision=Precision.PROVIDED))
    assert (row["longitude"], row["title"]) == ("-0.127800", "'-5")


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("=1+2", "'=1+2"),
        ("+46 31 123", "'+46 31 123"),
        ("-abc", "'-abc"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("'quoted", "'quoted"),
        ("'=1+2", "''=1+2"),
        ("''+1", "'''+1"),
        ("a=b", "a=b"),
        ("", ""),
        ("'", "'"),
    ],
)
def test_formula_guard_round_trips(text: str, written: str) -> None:
    assert guard_formula(text) == written
    assert unguard_formula(written) == text


def test_command_line_exports_xlsx(tmp_path: Path, tricky: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.setenv("DATABASE_URL", database_url)
    out = tmp_path / "e.xlsx"
    assert main(["export", "--format", "xlsx", str(out)]) == 0
    assert f"exported {len(TRICKY_ROWS)} opportunities" in capsys.readouterr().out
    assert len(read_table(out).rows) == len(TRICKY_ROWS)


def test_xlsx_round_trip_keeps_how_exact_coordinates_are(
    tmp_path: Path, databases: Databases, engine: Engine, geocoder: Geocoder
) -> None:
    # "57.7000" is exact to about 8 m; as an XLSX number it would read back as 57.7 (787 m, a vague area).
    rows = [
        template_row(title="Four decimals", latitude="57.7000", longitude="11.9700"),
        template_row(title="Two decimals", latitude="57.71", longitude="11.98"),
    ]
    assert import_records(engine, rows, geocoder).stored == 2
    out = tmp_path / "export.xlsx"
    with engine.connect() as conn:
        export(conn, out, fmt="xlsx")
    (tmp_path / "fresh").mkdir()
    url = databases.create(tmp_path / "fresh")
    fresh = connection.open_database(url)
    try:
        assert import_file(out, fresh, geocoder).stored == 2
        exactness = [(o["title"], o["uncertainty_m"], o["latitude"], o["longitude"]) for o in _stored(fresh)]
        assert exactness == [(o["title"], o["uncertainty_m"], o["latitude"], o["longitude"]) for o in _stored(engine)]
        assert [o["uncertainty_m"] for o in _stored(fresh)] == [8, 787]
    finally:
        fresh.dispose()
        databases.drop(url)


def test_a_spreadsheet_cell_holds_no_direction_override() -> None:
    from opportunities.listings.cells import guard_formula

    assert guard_formula("\u202e=1+1") == "'=1+1"  # the override gone, the formula guarded
    assert guard_formula("Kodklubb \u2067عربي\u2069") == "Kodklubb عربي"
