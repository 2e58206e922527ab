from __future__ import annotations

import csv
import shutil
import threading
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import Engine

from opportunities import storage
from opportunities.errors import ImportFileError
from opportunities.exporting import export
from opportunities.geocoding import Geocoder, haversine_km
from opportunities.importing import import_file, import_records
from opportunities.index import OpportunityIndex
from opportunities.model import Opportunity
from opportunities.validation import TEMPLATE_COLUMNS
from opportunities.vocabulary import Precision, Status
from tests.conftest import DATA, template_row


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
    assert reasons[3] == ("age_min", "age_min: is required")
    assert reasons[5][0] == "latitude" and "swapped" in reasons[5][1]
    assert reasons[7][0] == "url" and "http:// or https://" in reasons[7][1]
    assert reasons[8][0] == "city" and "'Atlantis' is not a place we know in SE; add the postcode" in reasons[8][1]
    assert reasons[11] == ("end", "end: is before start")
    assert reasons[13] == ("currency", "currency: is required when the opportunity is not free")
    assert report.warnings == ["unknown column 'Internal note' ignored"]

    with engine.connect() as conn:
        stored = {o.title: o for o in (storage.get_opportunity(conn, i) for i in report.stored_ids)}
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
    with report.rejects_path.open(encoding="utf-8") as fh:
        rejected = list(csv.DictReader(fh))
    assert [r["Title "] for r in rejected] == ["Missing age", "Swapped coordinates", "Hostile link", "Nowhere town",
                                              "Bad dates", "Paid without currency"]  # fmt: skip
    assert rejected[0]["reason"] == "row 3: age_min: is required"


def test_fixed_rejects_can_be_imported_again(messy: Path, engine: Engine, geocoder: Geocoder) -> None:
    report = import_file(messy, engine, geocoder)
    assert report.rejects_path is not None
    with report.rejects_path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    rows[0]["age_min"] = "10"
    with report.rejects_path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows[:1])
    again = import_file(report.rejects_path, engine, geocoder)
    assert (again.stored, again.rejected, again.warnings) == (1, [], ["unknown column 'Internal note' ignored"])


def test_duplicates_against_the_database(messy: Path, engine: Engine, geocoder: Geocoder) -> None:
    first = import_file(messy, engine, geocoder)
    second = import_file(messy, engine, geocoder)
    assert second.stored == 0
    assert second.duplicates == [2, 4, 6, 9, 10]
    with engine.connect() as conn:
        assert storage.count_opportunities(conn) == first.stored


def test_publish_flag(engine: Engine, geocoder: Geocoder) -> None:
    report = import_records(engine, [template_row()], geocoder, publish=True)
    with engine.connect() as conn:
        assert storage.get_opportunity(conn, report.stored_ids[0]).status is Status.PUBLISHED


def test_text_in_every_script_keeps_its_own_keys(tmp_path: Path, engine: Engine, geocoder: Geocoder) -> None:
    # Before fold() kept every script, all Cyrillic names shared one key: the two Ukrainian
    # providers became one, and "Малювання для підлітків" a duplicate of "Кодування для підлітків".
    scripts = Path(shutil.copy(DATA / "scripts.csv", tmp_path / "scripts.csv"))
    report = import_file(scripts, engine, geocoder)
    assert (report.total, report.stored, report.duplicates, report.rejected) == (14, 14, [], [])
    with engine.connect() as conn:
        stored = {o.title: o for o in storage.get_opportunities(conn, report.stored_ids)}
        providers = {p.name for p in storage.list_providers(conn)}
        cities = {(c.name, c.country) for c in storage.list_cities(conn)}
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
        ("a.csv", b"title,provider\nx,y\n", r"lacks the required column\(s\): city, country, topics, age_min, mode, type, start$"),
        ("a.csv", ",".join(TEMPLATE_COLUMNS).encode() + b"\n", "no rows of data"),
        ("a.csv", "title,city\nG\xf6teborg,x\n".encode("latin-1"), "not UTF-8"),
        ("a.pdf", b"%PDF-1.4", "expected a .csv or .xlsx file"),
        ("a.xlsx", b"not a zip", "not a readable Excel"),
    ],
)
def test_unusable_files_change_nothing(tmp_path: Path, engine: Engine, geocoder: Geocoder, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImportFileError, match=message):
        import_file(path, engine, geocoder)
    with engine.connect() as conn:
        assert storage.count_opportunities(conn) == 0


def test_crash_mid_import_leaves_nothing_half_written(engine: Engine, geocoder: Geocoder, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [template_row(title=f"Club {i}") for i in range(2500)]
    real_insert = storage.insert_opportunities
    calls = []

    def crash_on_second_batch(*args: object, **kwargs: object) -> list[int]:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("power cut")
        return real_insert(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(storage, "insert_opportunities", crash_on_second_batch)
    with pytest.raises(RuntimeError, match="power cut"):
        import_records(engine, rows, geocoder)
    with engine.connect() as conn:
        assert storage.count_opportunities(conn) == 0
        assert conn.exec_driver_sql("SELECT count(*) FROM opportunity_topics").scalar() == 0
        assert conn.exec_driver_sql("SELECT count(*) FROM providers").scalar() == 0


def test_concurrent_imports_lose_nothing(database_url: str, geocoder: Geocoder) -> None:
    engines = [storage.open_database(database_url) for _ in range(3)]
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
        assert storage.count_opportunities(conn) == 3 * 300 + 1
    for e in engines:
        e.dispose()


def test_progress_is_reported(engine: Engine, geocoder: Geocoder) -> None:
    seen: list[tuple[int, int]] = []
    import_records(engine, [template_row(title=f"C{i}") for i in range(1500)], geocoder, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(1000, 1500), (1500, 1500)]


def _stored(engine: Engine, ids: list[int]) -> dict[str, Opportunity]:
    with engine.connect() as conn:
        return {o.title: o for o in (storage.get_opportunity(conn, i) for i in ids)}


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
    assert reasons[2][0] == "latitude" and "in Denmark (nearest place: Copenhagen), not in Sweden" in reasons[2][1]
    assert reasons[3][0] == "latitude" and "91 km from Kranj" in reasons[3][1]


def test_a_real_town_missing_from_the_places_list_is_accepted(engine: Engine, geocoder: Geocoder) -> None:
    rows = [
        # The official post town of 8351 Straža, by its full name and no address at all.
        template_row(title="Straža", city="Straža pri Novem mestu", country="SI", address=""),
        # A name no list knows, located by the postcode in its address: kept as spelt.
        template_row(title="Hamlet", city="Zgornja Vas pod Gozdom", country="SI", address="Gozdna pot 3, 8351 Straža"),
        template_row(title="Hamlet again", city="zgornja vas pod gozdom", country="SI", address="Gozdna pot 5"),
        # By its coordinates.
        template_row(title="By coordinates", city="Spodnja Xyzvas", country="SI", address="", latitude="46.1000", longitude="14.9000"),
    ]
    report = import_records(engine, rows, geocoder)
    assert report.stored == 4, report.rejected
    stored = _stored(engine, report.stored_ids)
    again = stored["Hamlet again"]  # at the town the row before added
    assert (again.city, again.precision, again.latitude, again.longitude) == ("Zgornja Vas pod Gozdom", Precision.CITY, 45.78, 15.0728)
    assert haversine_km(stored["Straža"].latitude or 0, stored["Straža"].longitude or 0, 45.78, 15.07) < 2
    assert stored["Hamlet"].city == "Zgornja Vas pod Gozdom" and stored["Hamlet"].precision is Precision.POSTCODE
    with engine.connect() as conn:
        cities = {c.name: c for c in storage.list_cities(conn)}
    hamlet = cities["Zgornja Vas pod Gozdom"]
    assert (hamlet.geonameid, hamlet.timezone) == (None, "Europe/Ljubljana")
    assert haversine_km(hamlet.latitude, hamlet.longitude, 45.78, 15.0728) < 0.1  # the postcode's point
    assert cities["Spodnja Xyzvas"].timezone == "Europe/Ljubljana"
    assert (cities["Spodnja Xyzvas"].latitude, cities["Spodnja Xyzvas"].longitude) == (46.1, 14.9)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"city": "Xyz", "country": "SI", "address": ""},
         "city", "'Xyz' is not a place we know in SI; add the postcode to the address (e.g. '8351 Straža') or give latitude and longitude"),
        ({"city": "Xyz", "country": "SI", "address": "Glavna cesta 1"}, "city", "'Xyz' is not a place we know in SI"),
        ({"city": "Xyz", "country": "SE", "address": "", "latitude": "55.676", "longitude": "12.568"},
         "latitude", "in Denmark (nearest place: Copenhagen)"),
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
    with out.open(encoding="utf-8") as fh:
        written = {r["title"]: (r["latitude"], r["longitude"]) for r in csv.DictReader(fh)}
    assert written == {"Two decimals": ("46.24", "14.36"), "Five decimals": ("46.23887", "14.35561")}
    with engine.begin() as conn:
        conn.execute(storage.opportunity_topics.delete())
        conn.execute(storage.opportunity_languages.delete())
        conn.execute(storage.opportunities.delete())
    again = import_file(out, engine, geocoder)
    assert {t: o.uncertainty_m for t, o in _stored(engine, again.stored_ids).items()} == before
