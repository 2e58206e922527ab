from __future__ import annotations

import csv
import io
import re
import shutil
import threading
import tracemalloc
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import Engine, select

from opportunities.accounts import accounts
from opportunities.accounts.identity import Role
from opportunities.db import connection, queries, schema
from opportunities.errors import ImportChangedError, ImportFileError, SettingsError
from opportunities.explore.index import OpportunityIndex
from opportunities.listings import importing
from opportunities.listings.cells import FORMULA_TRIGGERS
from opportunities.listings.exporting import export
from opportunities.listings.importing import confirm_import, import_file, import_records, preview_import
from opportunities.listings.spreadsheets import ReadLimits, Table, read_table, read_table_bytes
from opportunities.model import Opportunity
from opportunities.places.gazetteer import haversine_km
from opportunities.places.geocoding import Geocoder
from opportunities.settings import load_settings
from opportunities.validation import TEMPLATE_COLUMNS
from opportunities.vocabulary import Precision, Status
from tests.conftest import DATA, template_row

PASSWORD = "a long and unguessable passphrase"


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    return Path(shutil.copy(DATA / "messy_import.csv", tmp_path / "messy.csv"))


def test_messy_file_keeps_every_good_row_and_explains_every_bad_one(messy: Path, engine: Engine, geocoder: Geocoder) -> None:
    report = import_file(messy, engine, geocoder)
    assert report.total == 11
    assert report.stored == 4
    assert report.duplicates == [10]
    reasons = {r.row: (r.field, r.reason) for r in report.rejected}
    assert sorted(reasons) == [3, 5, 7, 8, 11, 13]
    assert reasons[3] == ("age_min", "age_min: This is required.")
    assert reasons[5][0] == "latitude" and "swapped" in reasons[5][1]
    assert reasons[7][0] == "url" and "http:// or https://" in reasons[7][1]
    assert reasons[8][0] == "city" and "'Atlantis' is not a place we know in Sweden; add the postcode" in reasons[8][1]
    assert reasons[11] == ("end", "end: The end is before the start.")
    assert reasons[13] == ("currency", "currency: Choose the currency of the price.")
    assert [str(w) for w in report.warnings] == ["unknown column 'Internal note' ignored"]

    with engine.connect() as conn:
        stored = {o.title: o for o in (queries.get_opportunity(conn, i) for i in report.stored_ids)}
    assert set(stored) == {"Kodklubb för unga", "Delavnica robotike", "Warsztaty robotyki", "Online English"}
    kod = stored["Kodklubb för unga"]
    assert kod.topics == ("digital-skills", "media-literacy")
    assert kod.precision is Precision.POSTCODE and kod.status is Status.PENDING and kod.country == "SE"
    assert stored["Delavnica robotike"].precision is Precision.PROVIDED
    warsaw = stored["Warsztaty robotyki"]
    assert str(warsaw.cost) == "25.50" and warsaw.currency == "PLN" and warsaw.precision is Precision.POSTCODE
    online = stored["Online English"]
    assert online.latitude is None and online.precision is None

    assert report.rejects_path == messy.with_name("messy.rejected.csv")
    with report.rejects_path.open(encoding="utf-8-sig") as fh:
        rejected = list(csv.DictReader(fh))
    assert [r["Title "] for r in rejected] == ["Missing age", "Swapped coordinates", "Hostile link", "Nowhere town",
                                              "Bad dates", "Paid without currency"]  # fmt: skip
    assert rejected[0]["reason"] == "Row 3: Youngest age (age_min): This is required."


def test_fixed_rejects_can_be_imported_again(messy: Path, engine: Engine, geocoder: Geocoder) -> None:
    report = import_file(messy, engine, geocoder)
    assert report.rejects_path is not None
    with report.rejects_path.open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    rows[0]["age_min"] = "10"
    with report.rejects_path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows[:1])
    again = import_file(report.rejects_path, engine, geocoder)
    assert (again.stored, again.rejected) == (1, [])
    assert [str(w) for w in again.warnings] == ["unknown column 'Internal note' ignored"]


def test_rejects_can_be_rejected_again_and_read_again(messy: Path, engine: Engine, geocoder: Geocoder) -> None:
    first = import_file(messy, engine, geocoder)
    assert first.rejects_path is not None
    second = import_file(first.rejects_path, engine, geocoder, rejects_path=messy.with_name("second.csv"))
    assert second.rejects_path is not None
    third = read_table(second.rejects_path)  # one reason column, not two
    assert [h for h in third.header if h == "reason"] == ["reason"]
    assert third.rows[0]["reason"] == "Row 2: Youngest age (age_min): This is required."


def test_duplicates_against_the_database(messy: Path, engine: Engine, geocoder: Geocoder) -> None:
    first = import_file(messy, engine, geocoder)
    second = import_file(messy, engine, geocoder)
    assert second.stored == 0
    assert second.duplicates == [2, 4, 6, 9, 10]
    with engine.connect() as conn:
        assert queries.count_opportunities(conn) == first.stored


def test_publish_flag(engine: Engine, geocoder: Geocoder) -> None:
    report = import_records(engine, [template_row()], geocoder, publish=True)
    with engine.connect() as conn:
        assert queries.get_opportunity(conn, report.stored_ids[0]).status is Status.PUBLISHED


def test_text_in_every_script_keeps_its_own_keys(tmp_path: Path, engine: Engine, geocoder: Geocoder) -> None:
    # Before fold() kept every script, all Cyrillic names shared one key: the two Ukrainian
    # providers became one, and "Малювання для підлітків" a duplicate of "Кодування для підлітків".
    scripts = Path(shutil.copy(DATA / "scripts.csv", tmp_path / "scripts.csv"))
    report = import_file(scripts, engine, geocoder)
    assert (report.total, report.stored, report.duplicates, report.rejected) == (14, 14, [], [])
    with engine.connect() as conn:
        stored = {o.title: o for o in queries.get_opportunities(conn, report.stored_ids)}
        providers = {p.name for p in queries.list_providers(conn)}
        cities = {(c.name, c.country) for c in queries.list_cities(conn)}
    assert {"Кодування для підлітків", "Малювання для підлітків", "Малювання для дітей"} <= set(stored)
    assert {"C# for beginners", "C++ for beginners", "F# for beginners"} <= set(stored)
    # One provider written in two cases is one provider; two Ukrainian providers stay two.
    assert stored["Малювання для підлітків"].provider == "Центр «Нова школа»"
    assert {"Центр «Нова школа»", "Український дім у Варшаві", "Дом омладине Београда", "Δημοτική Βιβλιοθήκη Αθηνών",
            "جمعية المستقبل", "斯德哥尔摩华人协会"} <= providers  # fmt: skip
    assert len(providers) == 10
    # City names in Cyrillic and Greek are found in the gazetteer, and stored as written.
    assert {("Београд", "RS"), ("Αθήνα", "GR")} <= cities

    again = import_file(scripts, engine, geocoder)
    assert (again.stored, again.duplicates) == (0, list(range(2, 16)))


def test_cyrillic_row_in_another_case_is_a_duplicate(engine: Engine, geocoder: Geocoder) -> None:
    row = template_row(title="Кодування для підлітків", provider="Центр «Нова школа»", description="")
    assert import_records(engine, [row], geocoder).stored == 1
    shouted = dict(row, title="КОДУВАННЯ ДЛЯ ПІДЛІТКІВ", provider="центр «нова школа»")
    again = import_records(engine, [row, shouted], geocoder)
    assert (again.stored, again.duplicates) == (0, [2, 3])


def test_xlsx_import(tmp_path: Path, engine: Engine, geocoder: Geocoder) -> None:
    from datetime import datetime

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(TEMPLATE_COLUMNS))
    row = template_row()
    values: list[object] = [row[c] for c in TEMPLATE_COLUMNS]
    values[TEMPLATE_COLUMNS.index("start")] = datetime(2026, 12, 2, 17, 0)  # Excel gives real dates
    values[TEMPLATE_COLUMNS.index("age_min")] = 12.0
    sheet.append(values)
    sheet.append([row[c] if c != "topics" else "nope" for c in TEMPLATE_COLUMNS])
    path = tmp_path / "sheet.xlsx"
    book.save(path)
    report = import_file(path, engine, geocoder)
    assert report.stored == 1
    assert [(r.row, r.field) for r in report.rejected] == [(3, "topics")]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("a.csv", b"", "is empty"),
        (
            "a.csv",
            b"title,provider\nx,y\n",
            r"lacks the required column\(s\): city, country, topics, age_min, mode, type, start; start from the template$",
        ),
        ("a.csv", ",".join(TEMPLATE_COLUMNS).encode() + b"\n", "no rows of data"),
        ("a.csv", "title,city\nG\xf6teborg,x\n".encode("latin-1"), "not UTF-8"),
        ("a.pdf", b"%PDF-1.4", "upload a .csv or .xlsx file, not .pdf"),
        ("a.ods", b"PK\x03\x04", r"upload a .csv or .xlsx file, not .ods; save it as 'CSV UTF-8' or as .xlsx"),
        ("a.xlsx", b"not a zip", "not a readable Excel"),
    ],
)
def test_unusable_files_change_nothing(
    tmp_path: Path, engine: Engine, geocoder: Geocoder, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImportFileError, match=message):
        import_file(path, engine, geocoder)
    with engine.connect() as conn:
        assert queries.count_opportunities(conn) == 0


@pytest.mark.parametrize("crash_in", ["_stage", "_move_in"])
def test_crash_mid_import_leaves_nothing_half_written(
    crash_in: str, engine: Engine, geocoder: Geocoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [template_row(title=f"Club {i}", provider="Nowy Klub", city="Płock") for i in range(2500)]
    real = getattr(importing, crash_in)
    calls = []

    def crash_on_second_call(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2 or crash_in == "_move_in":
            real(*args, **kwargs)  # the batch is written, then the power goes
            raise RuntimeError("power cut")
        return real(*args, **kwargs)

    monkeypatch.setattr(importing, crash_in, crash_on_second_call)
    with pytest.raises(RuntimeError, match="power cut"):
        import_records(engine, rows, geocoder)
    with engine.connect() as conn:
        assert queries.count_opportunities(conn) == 0
        for table in ("opportunity_topics", "providers", "staged_opportunities", "staged_values"):
            assert conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() == 0, table
        assert queries.find_city(conn, "Płock", "PL") is None


def test_rows_staged_by_a_killed_import_are_swept_by_the_next(engine: Engine, geocoder: Geocoder) -> None:
    with engine.connect() as conn:
        plan = importing._plan(conn, [template_row(title="Orphan")], geocoder, publish=True, row_numbers=None)
    with connection.writing(engine) as conn:  # what a process killed while staging leaves behind
        importing._stage(conn, "dead", plan.rows, datetime.now(UTC) - importing.STAGED_ROWS_KEPT - timedelta(minutes=1))
        importing._stage(conn, "running", plan.rows, datetime.now(UTC))  # another import, still at work
    report = import_records(engine, [template_row(title="Next")], geocoder)
    assert report.stored == 1
    with engine.connect() as conn:
        staged = conn.exec_driver_sql("SELECT DISTINCT import_id FROM staged_opportunities").scalars().all()
        values = conn.exec_driver_sql("SELECT DISTINCT import_id FROM staged_values").scalars().all()
        assert staged == values == ["running"]
        assert queries.count_opportunities(conn) == 1


def test_concurrent_imports_lose_nothing(database_url: str, geocoder: Geocoder) -> None:
    engines = [connection.open_database(database_url) for _ in range(3)]
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            rows = [template_row(title=f"Writer {n} club {i}") for i in range(300)]
            rows.append(template_row(title="Shared club"))  # every writer has this one
            import_records(engines[n], rows, geocoder)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with engines[0].connect() as conn:
        assert queries.count_opportunities(conn) == 3 * 300 + 1
    for e in engines:
        e.dispose()


def test_progress_is_reported(engine: Engine, geocoder: Geocoder) -> None:
    seen: list[tuple[int, int]] = []
    import_records(
        engine, [template_row(title=f"C{i}") for i in range(1500)], geocoder, progress=lambda d, t: seen.append((d, t))
    )
    assert seen == [(1000, 1500), (1500, 1500)]


def _stored(engine: Engine, ids: list[int]) -> dict[str, Opportunity]:
    with engine.connect() as conn:
        return {o.title: o for o in (queries.get_opportunity(conn, i) for i in ids)}


def test_every_location_is_stored_with_how_far_off_it_may_be(engine: Engine, geocoder: Geocoder) -> None:
    rows = [
        template_row(title="Four decimals", city="Kranj", country="SI", address="", latitude="46.2390", longitude="14.3560"),
        template_row(title="Two decimals", city="Kranj", country="SI", address="", latitude="46.24", longitude="14.36"),
        template_row(title="Postcode", city="Kranj", country="SI", address="Koroška cesta 1, 4000 Kranj"),
        template_row(title="Centre", city="Kranj", country="SI", address=""),
        template_row(title="Online", city="Kranj", country="SI", address="", mode="online"),
    ]
    report = import_records(engine, rows, geocoder, publish=True)
    assert report.stored == 5, report.rejected
    stored = _stored(engine, report.stored_ids)
    assert stored["Four decimals"].uncertainty_m == 8
    assert stored["Two decimals"].uncertainty_m == 787
    assert stored["Postcode"].uncertainty_m is not None and stored["Postcode"].uncertainty_m > 1_500  # 4000 is Kranj's centre
    assert stored["Centre"].uncertainty_m == geocoder.city("Kranj", "SI").uncertainty_m
    assert stored["Online"].uncertainty_m is None
    with engine.connect() as conn:
        index = OpportunityIndex.load(conn)
    approximate = dict(zip(index.ids.tolist(), index.approximate.tolist(), strict=True))
    assert {title: approximate[o.id] for title, o in stored.items() if o.id is not None} == {
        "Four decimals": False, "Two decimals": True, "Postcode": True, "Centre": True, "Online": False,
    }  # fmt: skip


def test_coordinates_in_another_country_or_far_from_the_city_are_rejected(engine: Engine, geocoder: Geocoder) -> None:
    rows = [
        template_row(title="Copenhagen", address="", latitude="55.676", longitude="12.568"),  # stated: Göteborg, SE
        template_row(title="Koper", city="Kranj", country="SI", address="", latitude="45.55", longitude="13.73"),
    ]
    report = import_records(engine, rows, geocoder)
    assert report.stored == 0
    reasons = {r.row: (r.field, r.reason) for r in report.rejected}
    assert (
        reasons[2][0] == "latitude"
        and "are outside Sweden: they are in Denmark (nearest place: Copenhagen), not in Sweden" in reasons[2][1]
    )
    assert reasons[3][0] == "latitude" and "the coordinates 45.55000, 13.73000 are 91 km from Kranj" in reasons[3][1]


def test_a_real_town_missing_from_the_places_list_is_accepted(engine: Engine, geocoder: Geocoder) -> None:
    rows = [
        # The official post town of 8351 Straža, by its full name and no address at all.
        template_row(title="Straža", city="Straža pri Novem mestu", country="SI", address=""),
        # A name no list knows, located by the postcode in its address: kept as spelt.
        template_row(title="Hamlet", city="Zgornja Vas pod Gozdom", country="SI", address="Gozdna pot 3, 8351 Straža"),
        template_row(title="Hamlet again", city="zgornja vas pod gozdom", country="SI", address="Gozdna pot 5"),
        # By its coordinates.
        template_row(
            title="By coordinates", city="Spodnja Xyzvas", country="SI", address="", latitude="46.1000", longitude="14.9000"
        ),
    ]
    report = import_records(engine, rows, geocoder)
    assert report.stored == 4, report.rejected
    stored = _stored(engine, report.stored_ids)
    again = stored["Hamlet again"]  # at the town the row before added
    assert (again.city, again.precision, again.latitude, again.longitude) == (
        "Zgornja Vas pod Gozdom",
        Precision.CITY,
        45.78,
        15.0728,
    )
    assert haversine_km(stored["Straža"].latitude or 0, stored["Straža"].longitude or 0, 45.78, 15.07) < 2
    assert stored["Hamlet"].city == "Zgornja Vas pod Gozdom" and stored["Hamlet"].precision is Precision.POSTCODE
    with engine.connect() as conn:
        cities = {c.name: c for c in queries.list_cities(conn)}
    hamlet = cities["Zgornja Vas pod Gozdom"]
    assert (hamlet.geonameid, hamlet.timezone) == (None, "Europe/Ljubljana")
    assert haversine_km(hamlet.latitude, hamlet.longitude, 45.78, 15.0728) < 0.1  # the postcode's point
    assert cities["Spodnja Xyzvas"].timezone == "Europe/Ljubljana"
    assert (cities["Spodnja Xyzvas"].latitude, cities["Spodnja Xyzvas"].longitude) == (46.1, 14.9)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"city": "Xyz", "country": "SI", "address": ""},
         "city", "'Xyz' is not a place we know in Slovenia; add the postcode to the address (e.g. 8351 Straža), or give latitude and longitude"),
        ({"city": "Xyz", "country": "SI", "address": "Glavna cesta 1"}, "city", "'Xyz' is not a place we know in Slovenia"),
        ({"city": "Xyz", "country": "SE", "address": "", "latitude": "55.676", "longitude": "12.568"},
         "latitude", "they are in Denmark (nearest place: Copenhagen), not in Sweden"),
    ],
)  # fmt: skip
def test_an_unlocatable_town_says_what_would_help(engine: Engine, geocoder: Geocoder, overrides: dict[str, str], field: str,
                                                 message: str) -> None:  # fmt: skip
    report = import_records(engine, [template_row(**overrides)], geocoder)
    assert report.stored == 0
    (rejection,) = report.rejected
    assert rejection.field == field and message in rejection.reason


def test_export_keeps_coordinates_as_vague_as_given(tmp_path: Path, engine: Engine, geocoder: Geocoder) -> None:
    rows = [
        template_row(title="Two decimals", city="Kranj", country="SI", address="", latitude="46.24", longitude="14.36"),
        template_row(title="Five decimals", city="Kranj", country="SI", address="", latitude="46.23887", longitude="14.35561"),
    ]
    first = import_records(engine, rows, geocoder)
    before = {title: o.uncertainty_m for title, o in _stored(engine, first.stored_ids).items()}
    assert before == {"Two decimals": 787, "Five decimals": 1}
    out = tmp_path / "export.csv"
    with engine.connect() as conn:
        assert export(conn, out, fmt="csv") == 2
    with out.open(encoding="utf-8-sig") as fh:
        written = {r["title"]: (r["latitude"], r["longitude"]) for r in csv.DictReader(fh)}
    assert written == {"Two decimals": ("46.24", "14.36"), "Five decimals": ("46.23887", "14.35561")}
    with engine.begin() as conn:
        conn.execute(schema.opportunity_topics.delete())
        conn.execute(schema.opportunity_languages.delete())
        conn.execute(schema.opportunities.delete())
    again = import_file(out, engine, geocoder)
    assert {t: o.uncertainty_m for t, o in _stored(engine, again.stored_ids).items()} == before


# --- Reading files: CSV as RFC 4180 in Excel's dialects, XLSX in bounded memory -------------

HEADER = list(TEMPLATE_COLUMNS)


def _cells(**overrides: str) -> list[str]:
    row = template_row(**overrides)
    return [row[c] for c in HEADER]


def _csv(rows: list[list[str]], *, delimiter: str = ",", newline: str = "\r\n", encoding: str = "utf-8") -> bytes:
    """Rows as Excel writes them: quotes only where needed, doubled inside."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator=newline).writerows(rows)
    return buffer.getvalue().encode(encoding)


def _read(tmp_path: Path, name: str, content: bytes, limits: ReadLimits | None = None) -> Table:
    path = tmp_path / name
    path.write_bytes(content)
    return read_table(path, limits=limits)


EXCEL_TITLE = 'Kodklubb "Scratch" för unga, i Göteborg; tab\there'


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"])
def test_csv_is_read_as_rfc_4180_in_every_delimiter(tmp_path: Path, delimiter: str, newline: str) -> None:
    rows = [HEADER, _cells(title=EXCEL_TITLE, description="rad 1\r\nrad 2\nrad 3"), _cells(title="Second, plain")]
    table = _read(tmp_path, "a.csv", _csv(rows, delimiter=delimiter, newline=newline))
    assert [r["title"] for r in table.rows] == [EXCEL_TITLE, "Second, plain"]
    assert table.rows[0]["description"] == "rad 1\nrad 2\nrad 3"  # one line break, however written
    assert table.rows[1]["schedule"] == "FREQ=WEEKLY;BYDAY=WE"
    assert (table.row_numbers, table.rejected, table.warnings) == ([2, 3], (), ())


def test_delimiter_is_decided_by_the_whole_table_not_the_first_line(tmp_path: Path) -> None:
    # The first data row is full of commas; the header and most rows say semicolon.
    rows = [HEADER, *[_cells(title=f"Club {i}, a, b, c", description="x, y") for i in range(30)]]
    table = _read(tmp_path, "a.csv", _csv(rows, delimiter=";"))
    assert table.rows[0]["title"] == "Club 0, a, b, c" and len(table.rows) == 30


@pytest.mark.parametrize(
    ("prefix", "encoding"),
    [(b"\xef\xbb\xbf", "utf-8"), (b"", "utf-16"), (b"\xff\xfe", "utf-16-le"), (b"", "utf-16-le"), (b"", "utf-16-be")],
    ids=["utf-8 BOM", "utf-16 BOM", "utf-16-le BOM", "utf-16-le no BOM", "utf-16-be no BOM"],
)
def test_bom_and_excel_unicode_text(tmp_path: Path, prefix: bytes, encoding: str) -> None:
    rows = [HEADER, _cells(title="Warsztaty łódzkie / Кодклуб")]
    table = _read(tmp_path, "a.txt", prefix + _csv(rows, delimiter="\t", encoding=encoding))
    assert [r["title"] for r in table.rows] == ["Warsztaty łódzkie / Кодклуб"]
    assert table.header[0] == "title"


def test_excel_sep_line_names_the_delimiter(tmp_path: Path) -> None:
    table = _read(tmp_path, "a.csv", b"sep=;\r\n" + _csv([HEADER, _cells(title="Semi, colon")], delimiter=";"))
    assert [r["title"] for r in table.rows] == ["Semi, colon"] and table.row_numbers == [2]


def test_legacy_windows_encoding_is_named_precisely(tmp_path: Path) -> None:
    content = _csv([HEADER, _cells(description="Programmera"), _cells(title="Kodklubb för unga")], encoding="cp1252")
    with pytest.raises(ImportFileError, match=r"not UTF-8 text: line 2 has the byte 0xF6 \('ö' in Windows-1252.*'CSV UTF-8'"):
        _read(tmp_path, "a.csv", content)


def test_a_nul_byte_rejects_only_its_row(tmp_path: Path, engine: Engine, geocoder: Geocoder) -> None:
    rows = [HEADER, _cells(title="First"), _cells(title="Bro\x00ken"), _cells(title="Third")]
    path = tmp_path / "nul.csv"
    path.write_bytes(_csv(rows))
    report = import_file(path, engine, geocoder)
    assert (report.total, report.stored) == (3, 2)
    [rejection] = report.rejected
    assert (rejection.row, rejection.field) == (3, "title")
    assert rejection.reason.startswith(
        "title: line 3 contains a NUL byte (\\0) here; the file may be a spreadsheet saved as binary"
    )
    assert report.rejects_path is not None
    assert read_table(report.rejects_path).rows[0]["title"] == "Broken"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"PK\x03\x04" + b"\x00" * 200, r"is a spreadsheet workbook \(a zip file such as .xlsx\), not a CSV"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 200, r"Excel 97–2003 \(.xls\) workbook, not a CSV"),
        (b"title,city\n" + b"x\x00\x01\x02\x00\x00,y\n" * 100, r"is a binary file, not CSV text \(it is \d+ % NUL bytes\)"),
        (b"\xff\xfe garbage", "is not UTF-8 text, nor the UTF-16 its first bytes announce"),
    ],
    ids=["xlsx renamed", "xls renamed", "mostly NUL", "UTF-16 mark on garbage"],
)
def test_binary_files_are_named_for_what_they_are(tmp_path: Path, content: bytes, message: str) -> None:
    with pytest.raises(ImportFileError, match=message):
        _read(tmp_path, "a.csv", content)


def test_duplicate_header_names_are_an_error_naming_them(tmp_path: Path) -> None:
    content = _csv([["Title", *HEADER[1:], "title ", "CITY"], [*_cells(), "again", "Kranj"]])
    with pytest.raises(ImportFileError, match=r"names a column more than once: title \(A, V\); city \(D, W\); keep one of each"):
        _read(tmp_path, "a.csv", content)


def test_a_row_with_more_cells_than_the_header_is_rejected_with_the_reason(tmp_path: Path) -> None:
    rows = [HEADER, _cells(title="Wide"), [*_cells(title="Shifted"), "Göteborg", "SE"], [*_cells(title="Trailing"), "", ""]]
    table = _read(tmp_path, "a.csv", _csv(rows))
    assert [r["title"] for r in table.rows] == ["Wide", "Trailing"]
    [rejection] = table.rejected
    assert (rejection.row, rejection.field, rejection.values["title"]) == (3, "row", "Shifted")
    assert rejection.reason == (
        "This row has 23 cells but the header has 21; a comma in an unquoted cell? (cells past the header: 'Göteborg', 'SE')"
    )


def test_values_under_an_empty_header_cell_are_reported(tmp_path: Path) -> None:
    header = [*HEADER[:3], "", *HEADER[3:], "", ""]  # Excel adds empty cells at the end
    row = _cells()
    table = _read(tmp_path, "a.csv", _csv([header, [*row[:3], "lost?", *row[3:], "", ""]]))
    assert [str(w) for w in table.warnings] == ["column D has values but no name in the header; they are ignored"]
    assert table.rows[0]["city"] == "Göteborg"


def test_a_cell_over_the_limit_rejects_only_its_row(tmp_path: Path, engine: Engine, geocoder: Geocoder) -> None:
    long = "x" * 140_000  # over the csv module's own 128 KiB limit, which used to end the import in a traceback
    path = tmp_path / "long.csv"
    path.write_bytes(_csv([HEADER, _cells(title="First"), _cells(title="Long", description=long), _cells(title="Third")]))
    report = import_file(path, engine, geocoder)
    assert (report.total, report.stored) == (3, 2)
    [rejection] = report.rejected
    assert (rejection.row, rejection.field) == (3, "description")
    assert rejection.reason == ("description: This cell has 140,000 characters, more than the 32,767 a cell may hold; shorten it")


def test_limits_end_the_read_with_a_reason(tmp_path: Path) -> None:
    content = _csv([HEADER, *(_cells(title=f"Club {i}") for i in range(3))])
    with pytest.raises(ImportFileError, match=r"is \d\d\d bytes, more than the 100 an upload may have"):
        _read(tmp_path, "a.csv", content, ReadLimits(max_bytes=100, max_rows=10, max_cell_chars=100))
    with pytest.raises(ImportFileError, match=r"has more than 2 rows, the most an upload may have"):
        _read(tmp_path, "a.csv", content, ReadLimits(max_bytes=10_000, max_rows=2, max_cell_chars=100))
    assert len(_read(tmp_path, "a.csv", content, ReadLimits(max_bytes=10_000, max_rows=3, max_cell_chars=100)).rows) == 3


def test_limits_are_settings() -> None:
    limits = ReadLimits.from_settings(
        load_settings({"IMPORT_MAX_BYTES": "1000", "IMPORT_MAX_ROWS": "5", "IMPORT_MAX_CELL_CHARS": "9"})
    )
    assert limits == ReadLimits(max_bytes=1000, max_rows=5, max_cell_chars=9)
    assert ReadLimits.from_settings(load_settings({})) == ReadLimits(
        max_bytes=10 * 1024 * 1024, max_rows=50_000, max_cell_chars=32_767
    )
    with pytest.raises(SettingsError, match="IMPORT_MAX_ROWS"):
        load_settings({"IMPORT_MAX_ROWS": "0"})
    with pytest.raises(SettingsError, match="IMPORT_MAX_BYTES"):
        load_settings({"IMPORT_MAX_BYTES": "50MB"})


def test_an_unclosed_quote_is_an_error_naming_its_row(tmp_path: Path) -> None:
    # A quote left open in the last rows makes the rest of the file one cell: nothing to re-align.
    content = _csv([HEADER, _cells(title="Fine")]) + b'"Opened,never closed\r\nswallowed,2026-12-01,\r\n'
    with pytest.raises(ImportFileError, match=r'a quote \("\) opened in row 3 \(line 3\) is never closed'):
        _read(tmp_path, "a.csv", content)


def test_rejected_rows_file_holds_no_formula_and_reads_back(tmp_path: Path, engine: Engine, geocoder: Geocoder) -> None:
    hostile = "=cmd|' /C calc'!A0"
    path = tmp_path / "hostile.csv"
    path.write_bytes(_csv([[*HEADER, "=HYPERLINK(1)"], [*_cells(title=hostile, age_min="-5", url="@evil"), "+1"]]))
    report = import_file(path, engine, geocoder)
    assert report.rejects_path is not None
    with report.rejects_path.open(encoding="utf-8-sig", newline="") as fh:
        written = list(csv.reader(fh))
    assert [c for row in written for c in row if c.startswith(FORMULA_TRIGGERS)] == []
    assert written[1][:1] == ["'" + hostile] and written[0][-2:] == ["'=HYPERLINK(1)", "reason"]
    again = read_table(report.rejects_path)
    assert (again.rows[0]["title"], again.rows[0]["age_min"], again.rows[0]["url"]) == (hostile, "-5", "@evil")


# XLSX files crafted from a real workbook: openpyxl writes it, then the sheet's XML is edited.


def _workbook(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _edit_parts(xlsx: bytes, edit: Callable[[str, bytes], bytes]) -> bytes:
    """The same workbook with each part passed through ``edit(name, content)``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, edit(info.filename, source.read(info)))
    return out.getvalue()


def _edit_sheet(xlsx: bytes, edit: Callable[[bytes], bytes]) -> bytes:
    return _edit_parts(xlsx, lambda name, content: edit(content) if name == "xl/worksheets/sheet1.xml" else content)


def _declare_whole_sheet(xml: bytes) -> bytes:
    edited = re.sub(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1:XFD1048576"/>', xml)
    assert edited != xml
    return edited


def _far_cells(xml: bytes) -> bytes:
    """Row 5 gets values in column XFD, the last one Excel has, and in column Z; the last row a formatted empty cell."""
    far = (
        b'<c r="Z5" t="inlineStr"><is><t>near</t></is></c><c r="XFD5" t="inlineStr"><is><t>far away</t></is></c></row>'
        b'<row r="1048576"><c r="XFD1048576" s="0"/></row>'
    )
    edited = xml.replace(b"</row></sheetData>", far + b"</sheetData>", 1)
    assert edited != xml
    return edited


def test_xlsx_declaring_the_whole_sheet_reads_its_rows_in_bounded_memory(tmp_path: Path) -> None:
    xlsx = _workbook([HEADER, *(_cells(title=f"Club {i}") for i in range(3))])
    crafted = _edit_sheet(xlsx, lambda xml: _far_cells(_declare_whole_sheet(xml)))
    assert len(crafted) < 10_000  # a few KB declaring 1,048,576 × 16,384 cells
    read_table_bytes(xlsx, "warm-up.xlsx")  # so that modules openpyxl loads on first use are not counted
    tracemalloc.start()
    try:
        table = _read(tmp_path, "huge.xlsx", crafted)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [r["title"] for r in table.rows] == ["Club 0", "Club 1", "Club 2"]
    assert [str(w) for w in table.warnings] == ["column Z has values but no name in the header; they are ignored"]
    assert peak < 2 * 1024 * 1024, f"peak {peak:,} bytes"


def test_xlsx_rows_past_excels_last_row_are_an_error(tmp_path: Path) -> None:
    xlsx = _workbook([HEADER, _cells()])
    crafted = _edit_sheet(xlsx, lambda xml: xml.replace(b'<row r="2"', b'<row r="1048577"').replace(b'r="A2"', b'r="A1048577"'))
    with pytest.raises(ImportFileError, match="rows past Excel's last row"):
        _read(tmp_path, "a.xlsx", crafted)


def test_xlsx_zip_bomb_is_refused_before_unpacking(tmp_path: Path) -> None:
    xlsx = _workbook([HEADER, _cells()])
    bomb = _edit_sheet(xlsx, lambda xml: xml.replace(b"<sheetData>", b"<sheetData>" + b" " * 30_000_000))
    assert len(bomb) < 100_000
    limits = ReadLimits(max_bytes=1_000_000, max_rows=10, max_cell_chars=100)
    with pytest.raises(ImportFileError, match=r"unpacks to 30,\d{3},\d{3} bytes, more than the 10,000,000 allowed"):
        _read(tmp_path, "bomb.xlsx", bomb, limits)


def _as_xlsm(name: str, content: bytes) -> bytes:
    if name != "[Content_Types].xml":
        return content
    return content.replace(b"spreadsheetml.sheet.main+xml", b"ms-excel.sheet.macroEnabled.main+xml")


def _ods() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
    return out.getvalue()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512, r"is an Excel 97–2003 \(.xls\) workbook; save it as .xlsx"),
        (_ods, r"is an OpenDocument spreadsheet \(.ods\); save it as .xlsx"),
        (lambda: _edit_parts(_workbook([HEADER]), _as_xlsm), r"is a macro-enabled workbook \(.xlsm\); save it as .xlsx"),
        (lambda: b"PK\x03\x04 damaged", "is not a readable Excel .xlsx file"),
    ],
    ids=["xls", "ods", "xlsm", "damaged"],
)
def test_other_spreadsheet_formats_given_as_xlsx_are_named(tmp_path: Path, content: Callable[[], bytes], message: str) -> None:
    with pytest.raises(ImportFileError, match=message):
        _read(tmp_path, "a.xlsx", content())


def test_reading_from_bytes_is_the_same_path(tmp_path: Path) -> None:
    content = _csv([HEADER, _cells(title=EXCEL_TITLE)], delimiter=";")
    assert read_table_bytes(content, "upload.csv") == _read(tmp_path, "upload.csv", content)
    xlsx = _workbook([HEADER, _cells(title=EXCEL_TITLE)])
    assert read_table_bytes(xlsx, "upload.xlsx").rows[0]["title"] == EXCEL_TITLE


def test_excel_semicolon_csv_imports_every_field(tmp_path: Path, engine: Engine, geocoder: Geocoder) -> None:
    path = Path(shutil.copy(DATA / "excel_semicolon.csv", tmp_path / "excel.csv"))
    report = import_file(path, engine, geocoder)
    assert (report.stored, report.rejected, report.warnings) == (3, [], [])
    with engine.connect() as conn:
        stored = {o.title: o for o in (queries.get_opportunity(conn, i) for i in report.stored_ids)}
    kod = stored['Kodklubb "Scratch" för unga']
    assert kod.description == "Lär dig programmera, steg för steg.\nTa med egen dator; vi har laddare."
    assert (kod.address, kod.schedule) == ("Götaplatsen 3, 412 56 Göteborg", "FREQ=WEEKLY;BYDAY=WE")
    robo = stored["Delavnica robotike"]
    assert (robo.description, robo.latitude, str(robo.cost), robo.currency) == ("=1+2 je tri", 46.2389, "25.50", "EUR")
    assert stored["Warsztaty robotyki"].description == "+48 22 123 45 67"


def test_a_header_of_a_million_columns_is_refused_before_any_row_is_read() -> None:
    """A 10 MB CSV can name a million columns: refused at the header, not read into a million warnings."""
    from opportunities.listings.spreadsheets import MAX_COLUMNS, read_table_bytes

    header = "title," + ",".join(f"c{i}" for i in range(1_000_000))
    data = (header + "\n" + "Kodklubb" + "," * 10 + "\n").encode()
    with pytest.raises(ImportFileError) as caught:
        read_table_bytes(data, "wide.csv", limits=ReadLimits(max_bytes=20 * 1024 * 1024, max_rows=10, max_cell_chars=100))
    assert f"more than {MAX_COLUMNS:,} columns" in str(caught.value)
    assert "wide.csv" in str(caught.value)


def test_an_xlsx_header_of_thousands_of_columns_is_refused(tmp_path: Path) -> None:
    from openpyxl import Workbook

    from opportunities.listings.spreadsheets import MAX_COLUMNS, read_table_bytes

    book = Workbook()
    book.active.append([f"c{i}" for i in range(5000)])  # type: ignore[union-attr]
    book.save(tmp_path / "wide.xlsx")
    with pytest.raises(ImportFileError, match=f"more than {MAX_COLUMNS} columns"):
        read_table_bytes((tmp_path / "wide.xlsx").read_bytes(), "wide.xlsx", limits=ReadLimits(10 * 1024 * 1024, 10, 100))


@pytest.mark.parametrize("step", ["preview", "confirm"])
def test_a_sign_in_does_not_wait_for_an_upload_being_checked(
    step: str, database_url: str, engine: Engine, geocoder: Geocoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checking the rows of a large file only reads: a sign-in meanwhile (a write) goes through
    at once, on SQLite and PostgreSQL, instead of waiting for the whole file."""
    settings = load_settings({"DATABASE_URL": database_url})
    with connection.writing(engine) as conn:
        accounts.add_user(conn, "lead@example.org", role=Role.ADMIN, password=PASSWORD, settings=settings, now=accounts.now_utc())
    rows = [template_row(title=f"Club {i}") for i in range(1500)]
    table = Table(header=tuple(rows[0]), rows=rows, row_numbers=list(range(2, len(rows) + 2)))
    preview = preview_import(engine, table, geocoder, publish=True) if step == "confirm" else None
    halfway, finish = threading.Event(), threading.Event()
    real_parse = importing.parse_opportunity

    def slow_parse(record: Any, **kwargs: Any) -> Any:
        if record.get("title") == "Club 1200":  # in the second batch: the first is checked
            halfway.set()
            finish.wait(30)
        return real_parse(record, **kwargs)

    monkeypatch.setattr(importing, "parse_opportunity", slow_parse)
    outcome: list[object] = []

    def upload() -> None:
        if preview is None:
            outcome.append(preview_import(engine, table, geocoder, publish=True))
        else:
            outcome.append(confirm_import(engine, table, geocoder, preview))

    worker = threading.Thread(target=upload)
    worker.start()
    try:
        assert halfway.wait(30)
        signed_in: list[object] = []
        sign_in = threading.Thread(
            target=lambda: signed_in.append(
                accounts.authenticate(engine, "lead@example.org", PASSWORD, "client", accounts.now_utc(), settings=settings)
            )
        )
        sign_in.start()
        sign_in.join(5)  # today's sign-in takes a tenth of a second; behind the import it waited for all of it
        assert signed_in, "the sign-in waited for the upload"
    finally:
        finish.set()
        worker.join(60)
    assert outcome
    with engine.connect() as conn:
        assert queries.count_opportunities(conn) == (1500 if step == "confirm" else 0)


@pytest.mark.parametrize("step", ["import", "confirm"])
def test_a_row_stored_by_another_import_meanwhile_is_not_stored_twice(
    step: str, engine: Engine, geocoder: Geocoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows are checked against the stored ones before staging and again when they move in: an
    import that stored the same opportunity meanwhile makes it a duplicate (the command line's
    import), or stops a confirmed preview that promised to store it."""
    rows = [template_row(title=f"Club {i}") for i in range(3)]
    table = Table(header=tuple(rows[0]), rows=rows, row_numbers=[2, 3, 4])
    preview = preview_import(engine, table, geocoder, publish=True)
    real_plan = importing._plan

    def plan_while_another_imports(*args: Any, **kwargs: Any) -> Any:
        plan = real_plan(*args, **kwargs)  # every row checked: none is stored yet
        monkeypatch.setattr(importing, "_plan", real_plan)
        assert import_records(engine, [rows[1]], geocoder).stored == 1  # the other upload
        return plan

    monkeypatch.setattr(importing, "_plan", plan_while_another_imports)
    if step == "confirm":
        with pytest.raises(ImportChangedError, match="row 3"):
            confirm_import(engine, table, geocoder, preview)
        expected = {"Club 1"}
    else:
        report = import_records(engine, rows, geocoder, publish=True)
        assert (report.stored_rows, report.duplicates, list(report.duplicate_ids)) == ([2, 4], [3], [3])
        expected = {"Club 0", "Club 1", "Club 2"}
    with engine.connect() as conn:
        assert set(conn.exec_driver_sql("SELECT title FROM opportunities").scalars()) == expected
        assert conn.exec_driver_sql("SELECT count(*) FROM staged_opportunities").scalar() == 0


def test_stored_rows_are_stamped_when_they_become_visible_not_when_they_were_checked(
    engine: Engine, geocoder: Geocoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whoever follows changes by updated_at (the Explore index, the open data feeds) looks back a
    minute only: a file checked for longer must not appear with a time already passed."""
    real_plan = importing._plan
    checked: list[datetime] = []

    def slow_plan(*args: Any, **kwargs: Any) -> Any:
        plan = real_plan(*args, **kwargs)
        checked.append(datetime.now(UTC))
        return plan

    monkeypatch.setattr(importing, "_plan", slow_plan)
    report = import_records(engine, [template_row(title=f"Club {i}") for i in range(3)], geocoder)
    with engine.connect() as conn:
        rows = conn.execute(select(schema.opportunities.c.created_at, schema.opportunities.c.updated_at)).all()
    assert report.stored == len(rows) == 3
    for created, updated in rows:
        assert created == updated
        assert (updated if updated.tzinfo else updated.replace(tzinfo=UTC)) >= checked[0]
