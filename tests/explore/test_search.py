from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from opportunities.errors import FieldError
from opportunities.explore.index import OpportunityIndex
from opportunities.explore.search import SearchQuery, count, search
from opportunities.listings.importing import import_file, import_records
from opportunities.places.geocoding import Geocoder
from opportunities.vocabulary import Mode, OpportunityType
from tests.conftest import DATA, template_row

KRANJ = (46.2389, 14.3556)


@pytest.fixture
def catalogue(engine: Engine, geocoder: Geocoder) -> Engine:
    rows = [
        template_row(title="Kranj coding", city="Kranj", country="SI", address="", latitude="46.2400", longitude="14.3600",
                     topics="digital-skills", age_min="13", age_max="17", type="workshop", schedule="", end="",
                     start="2026-12-10 16:00", languages="sl", description="Python for teens"),
        template_row(title="Kranj paid coding", city="Kranj", country="SI", address="", latitude="46.2500", longitude="14.3700",
                     topics="digital-skills", age_min="13", age_max="17", type="workshop", schedule="", end="",
                     start="2026-12-11", cost="20", currency="EUR", languages="sl"),
        template_row(title="Ljubljana robots", city="Ljubljana", country="SI", address="", topics="science-technology;digital-skills",
                     age_min="10", age_max="", type="course", schedule="", end="", start="2027-01-15", languages="sl;en",
                     accessibility="Step-free entrance"),
        template_row(title="Online English", city="Ljubljana", country="SI", address="", topics="languages", age_min="16",
                     age_max="", mode="online", type="course", start="2026-11-02", end="2027-03-01",
                     schedule="FREQ=WEEKLY;BYDAY=MO", languages="en"),
        template_row(title="Göteborg club 50%", city="Göteborg", country="SE"),  # weekly on Wednesdays
        template_row(title="Old camp", city="Borås", country="SE", address="", type="camp", start="2026-06-01", end="2026-06-05",
                     schedule="", age_min="8", age_max="12"),
    ]  # fmt: skip
    report = import_records(engine, rows, geocoder, publish=True)
    assert report.stored == len(rows)
    import_records(engine, [template_row(title="Pending only", city="Kranj", country="SI", address="")], geocoder)
    return engine


def titles(engine: Engine, **kwargs: object) -> list[str]:
    with engine.connect() as conn:
        return [o.title for o in search(conn, SearchQuery(**kwargs))]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"city": "kranj"}, ["Kranj coding", "Kranj paid coding"]),
        ({"topics": ("languages",)}, ["Online English"]),
        ({"topics": ("languages", "science-technology")}, ["Online English", "Ljubljana robots"]),
        ({"age": 15, "city": "Kranj"}, ["Kranj coding", "Kranj paid coding"]),
        ({"age": 9}, ["Old camp"]),
        ({"age": 40}, ["Online English", "Ljubljana robots"]),
        ({"age_group": "children"}, ["Old camp", "Göteborg club 50%", "Ljubljana robots"]),
        ({"modes": (Mode.ONLINE,)}, ["Online English"]),
        ({"types": (OpportunityType.CAMP, OpportunityType.COURSE)}, ["Old camp", "Online English", "Ljubljana robots"]),
        ({"free_only": True, "city": "Kranj"}, ["Kranj coding"]),
        ({"language": "en"}, ["Old camp", "Online English", "Göteborg club 50%", "Ljubljana robots"]),
        ({"accessible_only": True}, ["Ljubljana robots"]),
        ({"text": "TEENS"}, ["Kranj coding"]),
        ({"text": "50%"}, ["Göteborg club 50%"]),
        ({"date_from": date(2026, 12, 11), "date_to": date(2026, 12, 31), "city": "Kranj"}, ["Kranj paid coding"]),
        (
            {"date_from": date(2026, 11, 23)},
            ["Online English", "Göteborg club 50%", "Kranj coding", "Kranj paid coding", "Ljubljana robots"],
        ),
        # A weekly club matches a range only when one of its sessions falls inside it.
        ({"date_from": date(2026, 12, 3), "date_to": date(2026, 12, 8), "city": "Göteborg"}, []),
        ({"date_from": date(2026, 12, 3), "date_to": date(2026, 12, 9), "city": "Göteborg"}, ["Göteborg club 50%"]),
        ({"date_from": date(2027, 6, 1), "date_to": date(2027, 6, 30)}, []),
    ],
)
def test_filters(catalogue: Engine, kwargs: dict[str, object], expected: list[str]) -> None:
    assert titles(catalogue, **kwargs) == expected
    with catalogue.connect() as conn:
        assert count(conn, SearchQuery(**kwargs)) == len(expected)  # type: ignore[arg-type]


@pytest.fixture
def scripts(engine: Engine, geocoder: Geocoder, tmp_path: Path) -> Engine:
    report = import_file(Path(shutil.copy(DATA / "scripts.csv", tmp_path)), engine, geocoder, publish=True)
    assert report.stored == 14
    return engine


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("КОДУВАННЯ", ["Кодування для підлітків"]),
        ("кодування для", ["Кодування для підлітків"]),
        ("підлітків", ["Кодування для підлітків", "Малювання для підлітків"]),
        ("програмирање", ["Програмирање за почетнике"]),
        ("ΡΟΜΠΟΤΙΚΗ", ["Ρομποτική για παιδιά"]),
        ("ρομποτικής", ["Ρομποτική για παιδιά"]),
        ("البرمجة", ["دورة البَرمجة للمبتدئين"]),
        ("مجانية", ["دورة البَرمجة للمبتدئين"]),
        ("编程", ["中文编程课程"]),
        ("lodz", ["Łódź – warsztaty robotyki"]),
        ("ŁÓDŹ", ["Łódź – warsztaty robotyki"]),
        ("zacetnike", ["Računalniška delavnica za začetnike"]),
        ("ŠOLA", ["Računalniška delavnica za začetnike"]),
        ("göteborg", ["Scratch i Goteborg"]),
        ("sprakcafe", ["Språkcafé på Hisingen"]),
        ("nybörjare", ["Scratch i Goteborg"]),
        ("C#", ["C# for beginners"]),
        ("c++", ["C++ for beginners"]),
        ("f#", ["F# for beginners"]),
        ("for beginners", ["C# for beginners", "C++ for beginners", "F# for beginners"]),
        ("tyska", []),
    ],
)
def test_text_search_folds_every_script_alike(scripts: Engine, text: str, expected: list[str]) -> None:
    # One Python fold() on both sides: SQLite's LIKE alone folds ASCII only, PostgreSQL's none.
    query = SearchQuery(text=text, limit=1000)
    assert sorted(titles(scripts, text=text)) == sorted(expected)
    with scripts.connect() as conn:
        assert count(conn, query) == len(expected)
        index = OpportunityIndex.load(conn)
        assert sorted(index.ids[index.mask(query, conn)].tolist()) == sorted(o.id for o in search(conn, query))


def test_text_of_punctuation_only_does_not_filter(scripts: Engine) -> None:
    assert len(titles(scripts, text=" %_\\ ", limit=1000)) == 14


def test_near_sorts_by_distance_and_respects_radius(catalogue: Engine) -> None:
    with catalogue.connect() as conn:
        found = search(conn, SearchQuery(near=KRANJ, radius_km=10))
        assert [o.title for o in found] == ["Kranj coding", "Kranj paid coding"]
        assert found[0].distance_km is not None and found[0].distance_km < found[1].distance_km  # type: ignore[operator]
        wide = search(conn, SearchQuery(near=KRANJ, radius_km=30))
        assert [o.title for o in wide][-1] == "Ljubljana robots"


def test_the_kranj_question(catalogue: Engine) -> None:
    """Free digital-skills workshops for a 15-year-old within 10 km of Kranj."""
    query = SearchQuery(
        topics=("digital-skills",), age=15, near=KRANJ, radius_km=10, free_only=True, types=(OpportunityType.WORKSHOP,)
    )
    with catalogue.connect() as conn:
        assert [o.title for o in search(conn, query)] == ["Kranj coding"]


def test_limit(catalogue: Engine) -> None:
    assert len(titles(catalogue, limit=2)) == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"topics": ("cooking",)}, "unknown topic"),
        ({"age": 200}, "outside 0–120"),
        ({"age_group": "elders"}, "unknown age group"),
        ({"near": (100.0, 0.0)}, "near: the coordinates 100.0, 0.0 are out of range"),
        ({"radius_km": 0}, "above 0"),
        ({"date_from": date(2027, 1, 1), "date_to": date(2026, 1, 1)}, "to: The end is before the start"),
        ({"limit": 0}, "limit: Give a whole number from 1 to"),
    ],
)
def test_bad_queries(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(FieldError, match=message):
        SearchQuery(**kwargs)  # type: ignore[arg-type]
