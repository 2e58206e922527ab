"""Smoke and behaviour tests of the Streamlit app, without a browser (streamlit.testing.v1.AppTest).

The first run of each test loads the demo data into a fresh SQLite file, which takes seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")
TIMEOUT = 60


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, database_url: str) -> Iterator[AppTest]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield AppTest.from_file(APP, default_timeout=TIMEOUT)
    st.cache_data.clear()
    st.cache_resource.clear()


def count_text(at: AppTest) -> str:
    texts = [m.value for m in at.markdown if "match" in m.value]
    assert len(texts) == 1, [m.value for m in at.markdown]
    return texts[0]


def test_explore_page_shows_the_demo_data(app: AppTest) -> None:
    app.run()
    assert not app.exception
    assert not app.warning
    assert "opportunities match your filters" in count_text(app)
    assert app.title[0].value == "Learning opportunities"
    assert len(app.dataframe) == 1
    assert app.dataframe[0].value.shape[0] > 0


def test_filters_narrow_the_results_and_go_into_the_url(app: AppTest) -> None:
    app.run()
    everything = count_text(app)
    app.sidebar.checkbox[0].check().run()
    app.sidebar.selectbox(key="filter_age_kind").select("teens").run()
    assert not app.exception
    narrowed = count_text(app)
    assert narrowed != everything
    assert app.query_params["free"] == "1"
    assert app.query_params["age"] == "teens"


def test_filters_are_read_from_the_url(app: AppTest) -> None:
    app.query_params["topic"] = "digital-skills"
    app.query_params["age"] = "15"
    app.run()
    assert not app.exception
    assert not app.warning
    assert app.sidebar.multiselect[0].value == ["digital-skills"]
    assert app.sidebar.selectbox(key="filter_age_kind").value == "exact"
    assert app.sidebar.number_input[0].value == 15


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("age", "abc"),
        ("city", "<script>alert(1)</script>"),
        ("topic", "<img src=x onerror=alert(1)>"),
        ("free", "x" * 10_000),
    ],
)
def test_hostile_query_params_give_a_warning_not_an_error(app: AppTest, name: str, value: str) -> None:
    app.query_params[name] = value
    app.run()
    assert not app.exception
    assert not app.error
    assert len(app.warning) == 1
    assert "<script" not in app.warning[0].value
    assert "<img" not in app.warning[0].value
    assert "opportunities match your filters" in count_text(app)
    assert name not in app.query_params  # the bad value is dropped from the shared link
