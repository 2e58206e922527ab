"""The Coverage page without a browser: a visitor sees Warszawa's districts ranked, in their language."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from opportunities.db.connection import open_database
from opportunities.demo.generator import load_demo
from opportunities.places.geocoding import Geocoder
from opportunities.settings import load_settings
from tests.conftest import Databases
from ui import app_state

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "coverage.py")


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory, databases: Databases, geocoder: Geocoder) -> Iterator[str]:
    url = databases.create(tmp_path_factory.mktemp("coverage"))
    engine = open_database(url)
    load_demo(engine, geocoder, size=400, seed=2026)
    engine.dispose()
    yield url
    databases.drop(url)


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch, demo_url: str, tmp_path: Path) -> Iterator[AppTest]:
    monkeypatch.setenv("DATABASE_URL", demo_url)
    monkeypatch.setenv("CACHE_DIR", str(tmp_path / "cache"))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield AppTest.from_file(PAGE, default_timeout=60)
    # The page keeps its engine in st.cache_resource: closed first (PostgreSQL counts connections).
    settings = load_settings()
    app_state.database(
        settings.database_url, str(settings.cache_dir), settings.demo_seed, settings.database_busy_timeout_s
    ).dispose()
    st.cache_data.clear()
    st.cache_resource.clear()


def test_visitor_ranks_warszawa_districts_for_free_digital_skills_for_teens(page: AppTest) -> None:
    page.run()
    assert not page.exception
    page.sidebar.multiselect(key="coverage_topics").set_value(["digital-skills"])
    page.sidebar.selectbox(key="coverage_age").set_value("teens")
    page.sidebar.checkbox(key="coverage_free").check()
    page.run()
    assert not page.exception
    table = page.dataframe[0].value
    assert len(table) == 18 and list(table["Rank"]) == list(range(1, 19))
    assert "Praga-Południe" in set(table["District"])  # as written: a dataframe shows text, no Markdown escape
    assert table["Why"].str.contains("within 2 km|more than 2 km").any()
    assert any("town or postcode centre" in c.value for c in page.caption)
    labels = [b.label for b in page.get("download_button")]
    assert labels == ["Table (CSV)", "Layer (GeoJSON)", "Map (HTML)", "Map (PNG)"]


def test_hexagon_grid_and_polish(page: AppTest) -> None:
    page.session_state["ui_language"] = "pl"
    page.run()
    page.sidebar.radio(key="coverage_by").set_value("cell")
    page.run()
    assert not page.exception
    assert page.title[0].value == "Pokrycie"
    assert len(page.dataframe[0].value) > 0


def test_rates_per_1000_are_written_in_the_readers_format(page: AppTest) -> None:
    page.session_state["ui_language"] = "sv"
    page.run()
    assert not page.exception
    table = page.dataframe[0].value
    rates = [str(v) for v in table["Per 1 000 invånare"] if str(v) not in ("–", "0")]
    assert rates and all("." not in r for r in rates), rates  # a decimal comma, never a point
    assert all(len(r.replace(",", "").replace("\u00a0", "").lstrip("0")) <= 2 for r in rates if "," in r)  # 2 digits kept
    why = " ".join(table["Varför"])
    assert "." not in why.replace("...", ""), why


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Not on the map: 1 matching opportunity known only to a town or postcode centre, 1 online."),
        ("pl", "Poza mapą: 1 pasująca oferta znana tylko co do środka miejscowości lub kodu pocztowego, 1 online."),
    ],
)
def test_one_opportunity_off_the_map_is_counted_in_the_singular(page: AppTest, language: str, expected: str) -> None:
    page.session_state["ui_language"] = language
    page.run()
    page.sidebar.multiselect(key="coverage_topics").set_value(["digital-skills"])  # one known only to a town
    page.run()
    assert not page.exception
    assert expected in [c.value for c in page.caption]


def test_downloads_do_not_rerun_the_page_so_one_after_another_all_arrive(page: AppTest) -> None:
    # A rerun replaces the files of the buttons drawn before it: the PNG clicked right after the
    # HTML was gone (MediaFileStorageError). No download reruns the page.
    page.run()
    buttons = page.get("download_button")
    assert len(buttons) == 4
    assert all(b.proto.ignore_rerun for b in buttons), [b.proto.label for b in buttons if not b.proto.ignore_rerun]  # type: ignore[attr-defined]
