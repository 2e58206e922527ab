"""The Indicators page without a browser (streamlit.testing.v1.AppTest), on the hand-made dataset of
tests/coverage/test_indicators.py: what a visitor sees, in another language, with a hostile organisation
name, a wrong period and another scope."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from opportunities.db.connection import open_database
from opportunities.settings import load_settings
from tests.conftest import Databases
from tests.coverage.test_indicators import HOSTILE, store
from tests.formats import as_read
from ui import app_state

APP = str(Path(__file__).resolve().parents[2] / "app.py")
TIMEOUT = 60
NOVEMBER = {"scope": "city", "name": "Alphaville", "from": "2026-11-01", "to": "2026-11-30"}


@pytest.fixture(scope="module")
def small_database(tmp_path_factory: pytest.TempPathFactory, databases: Databases) -> Iterator[str]:
    url = databases.create(tmp_path_factory.mktemp("indicators"))
    engine = open_database(url)
    store(engine)
    engine.dispose()
    yield url
    databases.drop(url)


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch, small_database: str) -> Iterator[AppTest]:
    monkeypatch.setenv("DATABASE_URL", small_database)
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("pages/indicators.py")
    yield at
    settings = load_settings()
    app_state.database(
        settings.database_url, str(settings.cache_dir), settings.demo_seed, settings.database_busy_timeout_s
    ).dispose()


def open_page(at: AppTest, **params: str) -> AppTest:
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception, at.exception
    return at


def metrics(at: AppTest) -> dict[str, tuple[str, str]]:
    return {m.label: (m.value, m.delta or "") for m in at.metric}


def test_a_city_for_a_visitor(page: AppTest) -> None:
    at = open_page(page, **NOVEMBER)
    assert at.title[0].value == "Indicators"
    assert "Alphaville" in at.markdown[0].value
    shown = metrics(at)
    assert shown["Opportunities"] == ("4", "±0")
    assert shown["Organisations joined"] == ("1", "+1")
    assert shown["Districts covered"] == ("1 of 2", "+1")
    assert shown["Free"] == ("100%", "+25.0 pp")
    assert shown["Recently confirmed"] == ("50%", "+25.0 pp")
    assert "1 Nov 2026 – 30 Nov 2026, compared with 2 Oct 2026 – 31 Oct 2026" in at.caption[0].value
    # The link says what is shown.
    assert at.query_params["scope"] in ("city", ["city"]) and at.query_params["name"] in ("Alphaville", ["Alphaville"])


def test_provider_text_is_shown_as_text(page: AppTest) -> None:
    at = open_page(page, **NOVEMBER)
    joined = at.dataframe[0].value
    assert list(joined.iloc[:, 0]) == [HOSTILE]  # whole, in a dataframe cell: never Markdown or HTML
    assert not any("<script" in m.value for m in at.markdown)


def test_in_swedish(page: AppTest) -> None:
    at = open_page(page, **NOVEMBER, lang="sv")
    assert at.title[0].value == "Nyckeltal"
    shown = metrics(at)
    assert shown["Aktiviteter"] == ("4", "±0")
    assert shown["Stadsdelar med aktiviteter"] == ("1 av 2", "+1")
    assert tuple(map(as_read, shown["Gratis"])) == ("100 %", "+25,0 p.e.")
    assert at.sidebar.radio[0].label == "Visa nyckeltal för"


def test_a_last_day_before_the_first_is_explained(page: AppTest) -> None:
    at = open_page(page, **{**NOVEMBER, "from": "2026-11-30", "to": "2026-11-01"})
    assert "before the first day" in at.error[0].value
    assert not at.metric


def test_a_region_and_the_network(page: AppTest) -> None:
    at = open_page(page, **NOVEMBER)
    at.sidebar.radio[0].set_value("region").run()
    assert at.sidebar.selectbox[1].options == ["Poland", "Sweden"]
    at.sidebar.selectbox[1].set_value("Sweden").run()
    assert not at.exception
    assert metrics(at)["Opportunities"][0] == "5"
    assert "Region Sweden" in at.markdown[0].value
    at.sidebar.radio[0].set_value("network").run()
    assert metrics(at)["Opportunities"][0] == "6"
    assert at.markdown[0].value.endswith("The whole network")


def test_charts_and_downloads_are_offered(page: AppTest) -> None:
    at = open_page(page, **NOVEMBER)
    # Six charts (months, topics, age groups, modes, types, organisations by kind), a PNG button
    # each, the CSV and the report.
    assert len(at.get("vega_lite_chart")) == 6
    buttons = at.get("download_button")
    labels = [b.proto.label for b in buttons]
    assert labels.count("PNG of this chart") == 6
    assert "Indicators as CSV" in labels and "Printable report (HTML)" in labels


def test_card_labels_wrap_instead_of_being_cut_off(page: AppTest) -> None:
    at = open_page(page, **NOVEMBER, lang="sv")
    assert at.get("html"), "the style that lets a card's label wrap"
    style = " ".join(h.proto.body for h in at.get("html"))  # type: ignore[attr-defined]
    assert ".st-key-indicator_cards [data-testid='stMetricLabel'] p" in style and "white-space: normal" in style
    labels = [m.label for m in at.get("metric")]  # type: ignore[attr-defined]
    assert "Verifierade organisationer" in labels and "Tillgänglighet beskriven" in labels
