"""Smoke and behaviour tests of the Streamlit app, without a browser (streamlit.testing.v1.AppTest).

The demo data is loaded once per module into a fresh database; the tests only read it. The map (a
folium component) shows up as an unknown element here: its logic is tested in test_map_position.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from sqlalchemy import delete, select, update
from streamlit.testing.v1 import AppTest

from opportunities.db.connection import open_database, writing
from opportunities.db.queries import (
    ensure_city,
    get_opportunities,
    insert_opportunities,
    list_cities,
    opportunity_row,
    search_text,
    set_status,
)
from opportunities.db.schema import cities, opportunities, opportunity_languages, opportunity_topics, providers
from opportunities.demo.generator import load_demo
from opportunities.explore import url_params
from opportunities.i18n import translator
from opportunities.model import City
from opportunities.places.geocoding import Geocoder
from opportunities.settings import load_settings
from opportunities.text import WORD_JOINER, escape_markdown
from opportunities.vocabulary import Status
from tests.conftest import Databases
from ui import app_state, session
from ui.app_state import DEMO_SIZE

APP = str(Path(__file__).resolve().parents[2] / "app.py")
TIMEOUT = 60
TODAY = date.today()
DISTANCE = re.compile(r"^(\d+(?:[.,]\d)?) km")


@pytest.fixture(scope="module")
def demo_database(
    tmp_path_factory: pytest.TempPathFactory, databases: Databases, geocoder: Geocoder
) -> Iterator[tuple[str, int]]:
    """The demo data (as the app would load it), with one opportunity archived; its id is returned."""
    url = databases.create(tmp_path_factory.mktemp("app"))
    engine = open_database(url)
    load_demo(engine, geocoder, size=DEMO_SIZE, seed=load_settings().demo_seed)
    with writing(engine) as conn:
        archived = int(conn.execute(select(opportunities.c.id).order_by(opportunities.c.id.desc()).limit(1)).scalar_one())
        set_status(conn, archived, Status.ARCHIVED)
    engine.dispose()
    yield url, archived
    databases.drop(url)


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, demo_database: tuple[str, int]) -> Iterator[AppTest]:
    monkeypatch.setenv("DATABASE_URL", demo_database[0])
    st.cache_data.clear()
    st.cache_resource.clear()
    yield AppTest.from_file(APP, default_timeout=TIMEOUT)
    # The app keeps its engine in st.cache_resource; clearing the cache would drop it with its
    # connections still open (PostgreSQL counts them), so it is closed first.
    settings = load_settings()
    app_state.database(
        settings.database_url, str(settings.cache_dir), settings.demo_seed, settings.database_busy_timeout_s
    ).dispose()
    st.cache_data.clear()
    st.cache_resource.clear()


def count_text(at: AppTest) -> str:
    texts = [m.value for m in at.markdown if m.value.startswith("**") and "**" in m.value[2:] and "." in m.value]
    texts = [t for t in texts if re.match(r"^\*\*[\d\s,.\xa0]+\*\* ", t)]
    assert len(texts) == 1, [m.value for m in at.markdown]
    return texts[0]


def count(at: AppTest) -> int:
    return int(re.sub(r"\D", "", count_text(at).split("**")[1]))


def card_titles(at: AppTest) -> list[str]:
    return [m.value.split("**")[1] for m in at.main.markdown if m.value.startswith("**") and "  \n" in m.value]


def card_markdowns(at: AppTest) -> list[str]:
    """Each result card's one Markdown element (heading, then its notes)."""
    return [m.value for m in at.main.markdown if m.value.startswith("**") and "  \n" in m.value]


def card_notes(card: str) -> list[str]:
    """A card's notes (facts, credit, badge), each as the Markdown inside its small grey directive."""
    lines = card.split("\n\n", 1)[1].split("  \n") if "\n\n" in card else []
    assert all(line.startswith(":small[:gray[") and line.endswith("]]") for line in lines), lines
    return [line.removeprefix(":small[:gray[").removesuffix("]]") for line in lines]


def card_facts(at: AppTest) -> list[str]:
    """The facts line of each card, Markdown escapes removed."""
    return [card_notes(card)[0].replace("\\", "") for card in card_markdowns(at)]


def share_link(at: AppTest) -> str:
    """The detail's link to share (the other link to copy on the page is the search's calendar)."""
    links = [c.value for c in at.code if "/subscribe/" not in c.value]
    assert len(links) == 1, links
    return links[0]


def detail_buttons(at: AppTest) -> list[str]:
    return [b.key for b in at.main.button if (b.key or "").startswith("details_")]


def test_explore_page_shows_the_demo_data(app: AppTest) -> None:
    app.run()
    assert not app.exception
    assert not app.warning
    assert "opportunities match your filters" in count_text(app)
    assert app.title[0].value == "Learning opportunities"
    assert len(card_titles(app)) == 20
    assert len(card_facts(app)) == 20  # in each card's one Markdown element, in small grey text
    assert not [c for c in app.main.caption if " · " in c.value]  # no caption of its own
    assert len(detail_buttons(app)) == 20
    assert any(c.value.startswith("Results 1–20 of") for c in app.main.caption)
    assert dict(app.query_params) == {}


def _set(at: AppTest, action: str) -> None:
    """Apply one filter change, written as ``widget-key=value``."""
    key, value = action.split("=", 1)
    if key in ("filter_free", "filter_accessible"):
        at.checkbox(key=key).check()
    elif key in ("filter_topics", "filter_modes", "filter_types"):
        at.multiselect(key=key).select(value)
    elif key in ("filter_city", "filter_age_kind", "filter_language"):
        at.selectbox(key=key).select(value)
    elif key in ("filter_from", "filter_to"):
        at.date_input(key=key).set_value(TODAY + timedelta(days=int(value)))
    elif key in ("filter_text", "filter_place"):
        at.text_input(key=key).input(value)
    elif key == "filter_radius":
        at.slider(key=key).set_value(int(value))
    elif key == "filter_age":
        at.number_input(key=key).set_value(int(value))
    else:
        raise AssertionError(key)
    at.run()


@pytest.mark.parametrize(
    ("start", "actions", "param", "expected"),
    [
        ({}, ["filter_city=Kranj"], "city", "Kranj"),
        ({}, ["filter_topics=digital-skills"], "topic", "digital-skills"),
        ({}, ["filter_age_kind=teens"], "age", "teens"),
        ({}, ["filter_age_kind=exact", "filter_age=15"], "age", "15"),
        ({}, ["filter_from=60"], "from", (TODAY + timedelta(days=60)).isoformat()),
        ({}, ["filter_to=14"], "to", (TODAY + timedelta(days=14)).isoformat()),
        ({}, ["filter_modes=online"], "mode", "online"),
        ({}, ["filter_types=workshop"], "type", "workshop"),
        ({}, ["filter_free=1"], "free", "1"),
        ({}, ["filter_language=sv"], "language", "sv"),
        ({}, ["filter_accessible=1"], "accessible", "1"),
        ({}, ["filter_text=Robot"], "q", "Robot"),
        ({}, ["filter_place=Kranj"], "near", "Kranj"),
        ({"near": "Kranj"}, ["filter_radius=40"], "radius", "40"),
    ],
)
def test_every_filter_changes_the_count_and_goes_into_the_url(
    app: AppTest, start: dict[str, str], actions: list[str], param: str, expected: str
) -> None:
    for name, value in start.items():
        app.query_params[name] = value
    app.run()
    before = count(app)
    for action in actions:
        _set(app, action)
    assert not app.exception
    assert not app.warning
    assert count(app) != before
    assert app.query_params[param] == expected


def test_filters_combine_and_narrow(app: AppTest) -> None:
    app.run()
    everything = count(app)
    app.checkbox(key="filter_free").check().run()
    free = count(app)
    app.selectbox(key="filter_age_kind").select("teens").run()
    assert 0 < count(app) < free < everything
    assert (app.query_params["free"], app.query_params["age"]) == ("1", "teens")


def test_every_param_is_read_into_the_widgets(app: AppTest) -> None:
    start, end = TODAY + timedelta(days=3), TODAY + timedelta(days=200)
    params = {
        "city": "kranj", "topic": ["digital-skills", "Språk"], "age": "15", "from": start.isoformat(), "to": end.isoformat(),
        "mode": ["in-person", "hybrid"], "type": "workshop", "free": "1", "language": "sl", "accessible": "1",
        "q": "delavnica", "near": "Kranj", "radius": "30", "lat": "46.25", "lon": "14.35", "z": "12",
    }  # fmt: skip
    for name, value in params.items():
        app.query_params[name] = value
    app.run()
    assert not app.exception
    assert not app.warning, [w.value for w in app.warning]
    assert app.selectbox(key="filter_city").value == "Kranj"
    assert app.multiselect(key="filter_topics").value == ["digital-skills", "languages"]
    assert app.selectbox(key="filter_age_kind").value == "exact"
    assert app.number_input(key="filter_age").value == 15
    assert app.date_input(key="filter_from").value == start
    assert app.date_input(key="filter_to").value == end
    assert app.multiselect(key="filter_modes").value == ["in-person", "hybrid"]
    assert app.multiselect(key="filter_types").value == ["workshop"]
    assert app.checkbox(key="filter_free").value
    assert app.selectbox(key="filter_language").value == "sl"
    assert app.checkbox(key="filter_accessible").value
    assert app.text_input(key="filter_text").value == "delavnica"
    assert app.text_input(key="filter_place").value == "Kranj"
    assert app.slider(key="filter_radius").value == 30
    # The map starts where the link says, not fitted to the results; the link keeps the position.
    assert app.session_state["map_fit_view"].zoom == 12
    assert app.session_state["map_fit_view"].centre == pytest.approx((46.25, 14.35), abs=0.01)
    assert (app.query_params["lat"], app.query_params["lon"], app.query_params["z"]) == ("46.25000", "14.35000", "12")
    assert app.query_params["city"] == "Kranj"  # normalised
    assert app.query_params["topic"] == ["digital-skills", "languages"] or app.query_params.get_all("topic") == [
        "digital-skills",
        "languages",
    ]


def test_a_new_search_fits_the_map_and_drops_the_position_from_the_link(app: AppTest) -> None:
    for name, value in {"lat": "46.25", "lon": "14.35", "z": "12"}.items():
        app.query_params[name] = value
    app.run()
    app.checkbox(key="filter_free").check().run()
    assert "lat" not in app.query_params
    assert app.session_state["map_position"] is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("age", "abc"),
        ("city", "<script>alert(1)</script>"),
        ("topic", "<img src=x onerror=alert(1)>"),
        ("free", "x" * 10_000),
        ("from", "2026-02-30"),
        ("to", "../../etc/passwd"),
        ("mode", "[boat](javascript:alert(1))"),
        ("type", "*party*"),
        ("language", "klingon"),
        ("accessible", "yes please"),
        ("q", "q" * 500),
        ("near", "n" * 500),
        ("radius", "-1"),
        ("lat", "999"),
        ("z", "'; DROP TABLE opportunities; --"),
        ("id", "abc"),
        ("id", "9" * 40),
        ("lang", "../../sv"),
    ],
)
def test_hostile_query_params_give_a_warning_not_an_error(app: AppTest, name: str, value: str) -> None:
    app.query_params[name] = value
    app.run()
    assert not app.exception
    assert not app.error
    assert len(app.warning) == 1, [w.value for w in app.warning]
    for markup in ("<script", "<img", "](", "*party*", "DROP TABLE"):
        assert markup not in app.warning[0].value
    assert "opportunities match your filters" in count_text(app)
    assert name not in app.query_params  # the bad value is dropped from the shared link


def test_near_a_typed_place_sorts_by_distance_and_shows_it(app: AppTest) -> None:
    app.query_params["near"] = "Kranj"
    app.run()
    assert not app.exception
    distances = [float(DISTANCE.match(f).group(1).replace(",", ".")) for f in card_facts(app)]  # type: ignore[union-attr]
    assert distances
    assert distances == sorted(distances)
    assert max(distances) <= 10
    assert any("within 10 km of “Kranj”" in c.value.replace("\\", "") for c in app.main.caption)


def test_near_an_unknown_place_says_so(app: AppTest) -> None:
    app.run()
    everything = count(app)
    app.text_input(key="filter_place").input("Qwxzy Nowhere").run()
    assert not app.exception
    assert len(app.warning) == 1
    assert "Could not find “Qwxzy Nowhere”. Try a town name" in app.warning[0].value.replace("\\", "")
    assert count(app) == everything  # not narrowed by accident


def test_the_browser_position_sorts_by_distance_and_stays_out_of_the_link(app: AppTest) -> None:
    from ui import map_component

    caches = (app_state._MATCHES, app_state._PAGES, map_component._LAYERS)
    for cache in caches:
        cache.clear()  # they are the process's: other tests' entries would hide a new one
    app.run()
    kept = [cache.stats().entries for cache in caches]
    assert kept == [1, 1, 1]
    app.session_state["browser_position"] = (46.2389, 14.3556)  # as "Use my location" sets it
    app.run()
    assert not app.exception
    # Nothing computed from the position is kept for other visitors (the caches hold no more entries).
    assert [cache.stats().entries for cache in caches] == kept
    distances = [float(DISTANCE.match(f).group(1).replace(",", ".")) for f in card_facts(app)]  # type: ignore[union-attr]
    assert distances == sorted(distances)
    assert distances
    assert max(distances) <= 10
    assert "your location" in " ".join(c.value for c in app.main.caption)
    assert not {"near", "lat", "lon"} & set(app.query_params)
    app.button(key="clear_filters_sidebar").click().run()
    assert app.session_state["browser_position"] is None


# The Kranj question: free digital-skills workshops for a 15-year-old within 10 km of Kranj.
KRANJ = {"near": "Kranj", "topic": "digital-skills", "age": "15", "free": "1", "type": "workshop"}
TRANSLATED = {
    "en": ("Learning opportunities", "Digital skills", "Workshop"),
    "sv": ("Aktiviteter för lärande", "Digitala färdigheter", "Workshop"),
    "sl": ("Učne dejavnosti", "Digitalne spretnosti", "Delavnica"),
    "pl": ("Zajęcia edukacyjne", "Umiejętności cyfrowe", "Warsztaty"),
}


def _assert_kranj_answer(app: AppTest, language: str) -> None:
    title, topic, workshop = TRANSLATED[language]
    assert not app.exception
    assert not app.warning
    assert count(app) >= 1
    assert app.title[0].value == title
    assert app.multiselect(key="filter_topics").format_func("digital-skills") == topic  # type: ignore[misc]
    assert app.multiselect(key="filter_types").format_func("workshop") == workshop  # type: ignore[misc]
    assert all(DISTANCE.match(f) for f in card_facts(app))


@pytest.mark.parametrize("language", ["en", "sv", "sl", "pl"])
def test_the_kranj_question_by_lang_param(app: AppTest, language: str) -> None:
    for name, value in {**KRANJ, "lang": language}.items():
        app.query_params[name] = value
    app.run()
    _assert_kranj_answer(app, language)
    assert app.query_params.get("lang") == (None if language == "en" else language)


@pytest.mark.parametrize("language", ["sv", "sl", "pl"])
def test_the_kranj_question_by_the_language_switcher(app: AppTest, language: str) -> None:
    for name, value in KRANJ.items():
        app.query_params[name] = value
    app.run()
    app.selectbox(key="ui_language").select(language).run()
    _assert_kranj_answer(app, language)
    assert app.query_params["lang"] == language
    if language in ("sv", "sl", "pl"):
        assert "," in DISTANCE.match(card_facts(app)[0]).group(1)  # type: ignore[union-attr]  # decimal comma


def test_the_browser_language_is_the_default(app: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.runtime.context import ContextProxy

    headers = {"Accept-Language": "sl-SI,sl;q=0.9,en;q=0.5"}
    monkeypatch.setattr(ContextProxy, "headers", property(lambda self: headers))
    app.query_params["id"] = str(_a_recurring_id(load_settings().database_url))
    app.run()
    assert app.selectbox(key="ui_language").value == "sl"
    assert app.title[0].value == TRANSLATED["sl"][0]
    assert "lang" not in app.query_params  # the browser's own language needs no parameter
    assert share_link(app).endswith("&lang=sl")  # but a link to share, opened in another browser, keeps it


def _a_recurring_id(database_url: str) -> int:
    engine = open_database(database_url)
    with engine.connect() as conn:
        row = conn.execute(
            select(opportunities.c.id)
            # A venue and an address to show; in id order, so SQLite and PostgreSQL pick the same one.
            .where(
                opportunities.c.status == "published",
                opportunities.c.schedule != "",
                opportunities.c.end_date > TODAY,
                opportunities.c.venue != "",
                opportunities.c.address != "",
            )
            .order_by(opportunities.c.id)
            .limit(1)
        ).scalar_one()
    engine.dispose()
    return int(row)


def test_the_detail_view_shows_every_field_and_offers_the_calendar(app: AppTest, demo_database: tuple[str, int]) -> None:
    opportunity_id = _a_recurring_id(demo_database[0])
    app.query_params["id"] = str(opportunity_id)
    app.run()
    assert not app.exception
    assert not app.warning
    shown = " ".join(m.value for m in app.markdown)  # the dialog is not in the main area
    for label in ("Topics:", "Type:", "Mode:", "Dates:", "Ages:", "Cost:", "Languages:", "Venue:", "Address:", "Next sessions"):
        assert label in shown
    assert any(m.value.startswith("### ") for m in app.markdown)
    sessions = [m.value for m in app.markdown if m.value.startswith("- ")]
    assert len(sessions) == 1
    assert 1 <= sessions[0].count("\n- ") + 1 <= 5
    downloads = app.get("download_button")
    assert len(downloads) == 1
    assert downloads[0].proto.label == "Add to calendar (.ics)"  # type: ignore[attr-defined]
    assert share_link(app).endswith(f"?id={opportunity_id}&lang=en")  # the language too, if the browser's own
    assert app.query_params["id"] == str(opportunity_id)
    app.button(key="back_to_list").click().run()
    assert "id" not in app.query_params
    assert not app.get("download_button")


def test_details_buttons_select_an_opportunity(app: AppTest) -> None:
    app.run()
    first = detail_buttons(app)[0]
    app.button(key=first).click().run()
    assert app.query_params["id"] == first.removeprefix("details_")
    assert len(app.get("download_button")) == 1


@pytest.mark.parametrize("kind", ["unknown", "archived"])
def test_an_unavailable_id_gives_a_notice(app: AppTest, demo_database: tuple[str, int], kind: str) -> None:
    app.query_params["id"] = "987654321" if kind == "unknown" else str(demo_database[1])
    app.run()
    assert not app.exception
    assert not app.error
    assert len(app.info) == 1
    assert "not available" in app.info[0].value
    assert "id" not in app.query_params
    assert not app.get("download_button")


def test_an_empty_result_names_the_filters_to_relax(app: AppTest) -> None:
    for name, value in {"free": "1", "q": "Qwxzy", "city": "Kranj"}.items():
        app.query_params[name] = value
    app.run()
    assert count(app) == 0
    assert "No opportunities match" in app.info[0].value
    labels = [b.label for b in app.main.button]
    assert any(label.startswith("Try without “Search in titles and descriptions”") for label in labels)
    assert not any("Free only" in label for label in labels)  # would still find nothing
    app.button(key="relax_q").click().run()
    assert count(app) > 0
    assert "q" not in app.query_params
    assert app.query_params["free"] == "1"


def test_clear_filters(app: AppTest) -> None:
    for name, value in {"free": "1", "q": "Qwxzy", "near": "Kranj", "radius": "20"}.items():
        app.query_params[name] = value
    app.run()
    assert count(app) == 0
    app.button(key="clear_filters_empty").click().run()
    assert count(app) > 0
    assert dict(app.query_params) == {}
    assert app.text_input(key="filter_place").value == ""
    assert app.slider(key="filter_radius").value == 10


def test_pages_of_twenty(app: AppTest) -> None:
    app.run()
    app.number_input(key="list_page").set_value(2).run()
    assert any(c.value.startswith("Results 21–40 of") for c in app.main.caption)
    assert len(card_titles(app)) == 20
    app.checkbox(key="filter_free").check().run()
    assert app.number_input(key="list_page").value == 1  # a new search starts on its first page


# Every filter set at once, as a link holds them (the age as a group in one half of the pairs, exact in the other).
EVERY_FILTER = {
    "city": "Kranj", "topic": ["digital-skills", "languages"], "from": (TODAY + timedelta(days=3)).isoformat(),
    "to": (TODAY + timedelta(days=200)).isoformat(), "mode": ["in-person", "hybrid"], "type": "workshop", "free": "1",
    "language": "sl", "accessible": "1", "q": "delavnica", "near": "Kranj", "radius": "30",
}  # fmt: skip
# The widgets a browser holds by their labels (it sends the label back, not the option).
LABELLED = ("filter_city", "filter_topics", "filter_age_kind", "filter_modes", "filter_types", "filter_language")
LANGUAGE_PAIRS = [(a, b) for a in ("en", "sv", "sl", "pl") for b in ("en", "sv", "sl", "pl") if a != b]


MULTIPLE = ("filter_topics", "filter_modes", "filter_types")


def _labelled_widget(at: AppTest, key: str) -> Any:
    return at.multiselect(key=key) if key in MULTIPLE else at.selectbox(key=key)


def _browser_labels(at: AppTest, held: dict[str, list[str]]) -> dict[str, list[str]]:
    """The labels a browser holds for the labelled widgets after a run: what the server last sent with set_value."""
    held = dict(held)
    for key in LABELLED:
        proto = _labelled_widget(at, key).proto
        if proto.set_value or key not in held:
            held[key] = list(proto.raw_values) if key in MULTIPLE else [proto.raw_value]
    return held


@pytest.mark.parametrize(("first", "second"), LANGUAGE_PAIRS)
def test_a_language_switch_keeps_every_filter_and_relabels_it(app: AppTest, first: str, second: str) -> None:
    age = "teens" if LANGUAGE_PAIRS.index((first, second)) % 2 else "15"
    wanted: dict[str, str | list[str]] = {**EVERY_FILTER, "age": age}
    for name, value in {**wanted, "lang": first}.items():
        app.query_params[name] = value
    app.run()
    held = _browser_labels(app, {})
    values = {key: app.session_state[key] for key in session.FILTER_KEYS}
    assert not app.warning, [w.value for w in app.warning]

    app.selectbox(key="ui_language").select(second).run()
    held = _browser_labels(app, held)
    assert not app.exception
    assert {key: app.session_state[key] for key in session.FILTER_KEYS} == values
    _ = translator(second).gettext
    assert app.title[0].value == _("Learning opportunities")
    assert app.multiselect(key="filter_topics").label == _("Topics")
    # What the visitor sees (and the browser sends back) is each choice's label in the new language.
    for key in LABELLED:
        widget = _labelled_widget(app, key)
        chosen = values[key] if isinstance(values[key], list) else [values[key]]
        assert held[key] == [widget.format_func(v) for v in chosen], key

    app.checkbox(key="filter_free").uncheck().run()  # the next change, with the labels the browser holds
    assert not app.exception
    expected = {k: v for k, v in wanted.items() if k != "free"} | ({} if second == "en" else {"lang": second})
    assert dict(app.query_params) == expected
    assert app.date_input(key="filter_from").value == TODAY + timedelta(days=3)
    if age == "15":
        assert app.number_input(key="filter_age").value == 15
    else:
        assert app.selectbox(key="filter_age_kind").value == "teens"


# A title as a hostile provider could write it: a live link, a remote image (the visitor's address
# goes to its host) and HTML. Shown anywhere on the page, it must read as text.
HOSTILE_TITLE = "Zzqx [x](https://evil.example) ![i](https://evil.example/p.png) <img src=x onerror=alert(1)>"
# Markup that would be live: not preceded by the backslash that escapes it.
LIVE_MARKUP = re.compile(r"(?<!\\)(\]\(|!\[|<img|<script)")
# GFM autolink literals, as the browser's Markdown finds them in the text once escapes are resolved.
AUTOLINK_LITERAL = re.compile(r"(?i)(https?://|www\.)[-\w]|[-.\w+]@[-\w]+\.[-\w]")


def is_live(text: str) -> bool:
    """Whether ``text``, rendered as Markdown, would hold markup or a link (a code span's text is literal)."""
    text = re.sub(r"(?<!\\)`[^`]*`", "", text)
    return bool(LIVE_MARKUP.search(text) or AUTOLINK_LITERAL.search(re.sub(r"\\(.)", r"\1", text)))


@pytest.fixture
def hostile_title(demo_database: tuple[str, int]) -> Iterator[int]:
    """One published opportunity retitled with :data:`HOSTILE_TITLE` for the test (restored after); its id."""
    engine = open_database(demo_database[0])
    with engine.connect() as conn:
        chosen, title, description = conn.execute(
            select(opportunities.c.id, opportunities.c.title, opportunities.c.description)
            .where(opportunities.c.status == "published", opportunities.c.end_date > TODAY + timedelta(days=7))
            .order_by(opportunities.c.id)
            .limit(1)
        ).one()

    def retitle(text: str) -> None:
        with writing(engine) as conn:
            conn.execute(
                update(opportunities)
                .where(opportunities.c.id == chosen)
                .values(title=text, search_text=search_text(text, description), updated_at=datetime.now(UTC))
            )

    retitle(HOSTILE_TITLE)
    yield int(chosen)
    retitle(title)
    engine.dispose()


def shown_texts(at: AppTest) -> list[str]:
    """Every text the page renders as Markdown: blocks, captions, notices, titles, labels and tooltips."""
    texts = [e.value for kind in (at.markdown, at.caption, at.warning, at.info, at.title, at.header, at.subheader) for e in kind]
    for widget in (*at.button, *at.checkbox, *at.selectbox, *at.multiselect, *at.text_input, *at.get("download_button")):
        proto: Any = widget.proto
        texts.extend([proto.label, proto.help])
    return texts


def test_provider_text_is_shown_as_text_everywhere(app: AppTest, hostile_title: int) -> None:
    app.query_params["q"] = "Zzqx"
    app.run()
    assert not app.exception
    assert count(app) == 1
    button = app.button(key=f"details_{hostile_title}")
    assert button.help == escape_markdown(HOSTILE_TITLE)  # a tooltip renders Markdown too
    assert button.label.startswith("Details: Zzqx ")
    button.click().run()  # the dialog
    assert any(m.value == f"### {escape_markdown(HOSTILE_TITLE)}" for m in app.markdown)
    live = [t for t in shown_texts(app) if is_live(t)]
    assert not live


@pytest.mark.parametrize(
    ("name", "value"),
    [("city", "www.evil.example"), ("near", "www.evil.example"), ("topic", "www.evil.example"), ("lang", "www.evil.example")],
)
def test_link_values_in_warnings_are_text(app: AppTest, name: str, value: str) -> None:
    app.query_params[name] = value
    app.run()
    assert not app.exception
    assert app.warning
    live = [t for t in shown_texts(app) if is_live(t)]
    assert not live


def test_the_details_buttons_have_distinct_names(app: AppTest) -> None:
    app.run()
    labels = [b.label for b in app.main.button if (b.key or "").startswith("details_")]
    assert len(labels) == 20
    assert len(set(labels)) == 20  # the demo titles differ on the first page
    assert all(label.startswith("Details: ") and len(label) <= len("Details: ") + 60 for label in labels)


# 01:00 UTC on the test day: still the evening before in Santo Domingo (UTC−4, no daylight saving).
EARLY_UTC = datetime.combine(TODAY, time(1, 0), UTC)
EVENING_TITLE = "Evening robotics in Santo Domingo"


@pytest.fixture
def evening_event(demo_database: tuple[str, int]) -> Iterator[int]:
    """A city in America/Santo_Domingo with one published event at 20:30 local the day before TODAY (removed after)."""
    engine = open_database(demo_database[0])
    with writing(engine) as conn:
        city_id = ensure_city(conn, City("Santo Domingo", "DO", 18.4861, -69.9312, "America/Santo_Domingo"))
        model_id, provider_id = conn.execute(
            select(opportunities.c.id, opportunities.c.provider_id).where(opportunities.c.status == "published").limit(1)
        ).one()
        evening = datetime.combine(TODAY - timedelta(days=1), time(20, 30))
        opp = replace(
            get_opportunities(conn, [model_id])[0], id=None, title=EVENING_TITLE, city="Santo Domingo", country="DO",
            start=evening, end=evening + timedelta(hours=1, minutes=30), schedule="", latitude=18.4861, longitude=-69.9312,
            created_at=None, updated_at=None,
        )  # fmt: skip
        row = opportunity_row(opp, provider_id=provider_id, city_id=city_id, now=datetime.now(UTC), dedup_key="evening-tz-test")
        [event_id] = insert_opportunities(conn, [row], [opp.topics], [opp.languages])
    yield event_id
    with writing(engine) as conn:
        conn.execute(delete(opportunity_topics).where(opportunity_topics.c.opportunity_id == event_id))
        conn.execute(delete(opportunity_languages).where(opportunity_languages.c.opportunity_id == event_id))
        conn.execute(delete(opportunities).where(opportunities.c.id == event_id))
        conn.execute(delete(cities).where(cities.c.id == city_id))
    engine.dispose()


@pytest.mark.parametrize("city", ["Santo Domingo", ""])
def test_today_is_the_citys_date(app: AppTest, monkeypatch: pytest.MonkeyPatch, evening_event: int, city: str) -> None:
    """At 01:00 UTC the evening's event in a UTC−4 city is still ahead: shown for that city, and for all cities."""
    monkeypatch.setattr(url_params, "utc_now", lambda: EARLY_UTC)  # the clock, at the library boundary
    app.query_params["q"] = "Evening robotics"
    if city:
        app.query_params["city"] = city
    app.run()
    assert not app.exception
    assert not app.warning, [w.value for w in app.warning]
    assert count(app) == 1
    assert app.date_input(key="filter_from").value == TODAY - timedelta(days=1)
    assert "from" not in app.query_params  # "today" is not a chosen date


@pytest.mark.parametrize("language", ["en", "sv", "sl", "pl"])
def test_the_near_me_caption_is_one_sentence_in_every_language(app: AppTest, language: str) -> None:
    app.query_params["lang"] = language
    app.run()
    app.session_state["browser_position"] = (46.2389, 14.3556)  # as "Use my location" sets it
    app.run()
    sentence = translator(language).gettext("Showing opportunities within {radius} km of your location.")
    shown = [c.value.replace("\\", "") for c in app.main.caption if "10" in c.value and "km" in c.value]
    assert sentence.format(radius="10") in shown
    assert "lokacije vaše lokacije" not in " ".join(shown)
    if language != "en":
        assert sentence != "Showing opportunities within {radius} km of your location."  # translated


def test_only_cities_with_published_opportunities_are_offered(
    app: AppTest, demo_database: tuple[str, int], geocoder: Geocoder
) -> None:
    """A city named by a row still waiting for review, or by a row rejected in the same import, is
    not shown to visitors (the city filter, the map's city labels, the time zones)."""
    from opportunities.listings.importing import import_records
    from tests.conftest import template_row

    engine = open_database(demo_database[0])
    rows = [
        template_row(title="Väntar", city="Lund", country="SE", address=""),  # pending: not published
        template_row(
            title="Avvisad", city="Malmö", country="SE", address="", latitude="55.676", longitude="12.568"
        ),  # Copenhagen
    ]
    report = import_records(engine, rows, geocoder)
    assert report.stored == 1 and [r.row for r in report.rejected] == [3]
    try:
        with engine.connect() as conn:
            everywhere = {c.name for c in list_cities(conn)}
            published = {c.name for c in list_cities(conn, status=Status.PUBLISHED)}
        assert "Lund" in everywhere and "Lund" not in published and "Malmö" not in published
        app.run()
        assert not app.exception
        offered = set(app.selectbox(key="filter_city").options)
        assert "Lund" not in offered and "Malmö" not in offered and "Kranj" in offered
    finally:
        with writing(engine) as conn:
            conn.execute(delete(opportunity_topics).where(opportunity_topics.c.opportunity_id.in_(report.stored_ids)))
            conn.execute(delete(opportunity_languages).where(opportunity_languages.c.opportunity_id.in_(report.stored_ids)))
            conn.execute(delete(opportunities).where(opportunities.c.id.in_(report.stored_ids)))
            added = select(cities.c.id).where(cities.c.name.in_(["Lund", "Malmö"]))
            conn.execute(delete(providers).where(providers.c.city_id.in_(added)))
            conn.execute(delete(cities).where(cities.c.id.in_(added)))
        engine.dispose()


def test_an_approval_shows_on_the_next_run_without_a_rebuild(app: AppTest, demo_database: tuple[str, int]) -> None:
    """A city lead approves (and corrects) a row while a visitor browses: the background refresh
    merges it, and the visitor's next run shows it with the index never rebuilt."""
    import time as time_module

    app.query_params["q"] = "Approved while browsing"
    app.run()
    assert not app.exception and not card_titles(app)
    url = demo_database[0]
    live = app_state._live_index(None, url)  # type: ignore[arg-type]  # the engine is not part of the key
    rebuilds, refreshes = live.rebuilds, live.refreshes  # (none, when it started from an older snapshot)
    engine = open_database(url)
    with engine.connect() as conn:
        chosen, title, description, status, updated_at = conn.execute(
            select(
                opportunities.c.id,
                opportunities.c.title,
                opportunities.c.description,
                opportunities.c.status,
                opportunities.c.updated_at,
            )
            .where(opportunities.c.status == "published", opportunities.c.end_date > TODAY + timedelta(days=7))
            .order_by(opportunities.c.id.desc())
            .limit(1)
        ).one()

    def change(**values: Any) -> None:
        with writing(engine) as conn:
            conn.execute(update(opportunities).where(opportunities.c.id == chosen).values(**values))

    # Waiting for review first (as a provider submitted it), then approved with a corrected title.
    change(status="pending", updated_at=datetime.now(UTC))
    new_title = "Approved while browsing"
    try:
        deadline = time_module.monotonic() + 20
        while chosen in live.current().ids and time_module.monotonic() < deadline:
            time_module.sleep(0.05)
        assert chosen not in live.current().ids
        change(status="published", title=new_title, search_text=search_text(new_title, description), updated_at=datetime.now(UTC))
        while chosen not in live.current().ids and time_module.monotonic() < deadline:
            time_module.sleep(0.05)
        app.run()
        assert not app.exception
        assert card_titles(app) == [new_title]
        assert live.rebuilds == rebuilds and live.refreshes >= refreshes + 2
    finally:
        change(status=status, title=title, search_text=search_text(title, description), updated_at=updated_at)
        engine.dispose()


def test_a_search_near_a_place_fits_the_map_to_its_circle(app: AppTest) -> None:
    app.query_params["near"] = "Kranj"
    app.run()
    assert not app.exception
    fitted = app.session_state["map_fit_view"].bounds
    radius_deg = 10 / 111.32  # the default radius, 10 km, in degrees of latitude
    assert abs((fitted.south + fitted.north) / 2 - 46.24) < 0.02  # around Kranj
    assert 2 * radius_deg * 0.99 < fitted.north - fitted.south < 2.2 * radius_deg  # the whole circle, not just its pins
    app.slider(key="filter_radius").set_value(30).run()
    wider = app.session_state["map_fit_view"].bounds
    assert wider.north - wider.south > 2 * (fitted.north - fitted.south)


def test_explore_offers_to_subscribe_to_the_filtered_view(app: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLIC_URL", "https://map.example.org")
    app.query_params["city"] = "Göteborg"
    app.query_params["topic"] = "digital-skills"
    app.query_params["lang"] = "sv"
    app.run()
    assert not app.exception
    expander = next(e for e in app.main.expander if e.label == "Prenumerera eller skriv ut")
    query = "city=G%C3%B6teborg&topic=digital-skills&lang=sv"
    buttons = {b.proto.label: b.proto.url for b in expander.get("link_button")}
    assert buttons == {
        "Prenumerera i din kalender": f"webcal://map.example.org/subscribe/calendar.ics?{query}",
        "Nya aktiviteter som Atom-flöde": f"https://map.example.org/subscribe/atom.xml?{query}",
        "Utskrivbar lista": f"https://map.example.org/print?{query}",
    }
    # The link to copy, as inline code (no code block: see ui/subscribe.py)
    assert not expander.code
    assert [m.value for m in expander.markdown if ".ics" in m.value] == [
        f"`https://map.example.org/subscribe/calendar.ics?{query}`"
    ]
    assert any("Inget om dig sparas" in c.value for c in expander.caption)


def test_a_second_visitor_changing_a_filter_computes_nothing_the_first_computed(app: AppTest) -> None:
    """Issue 16: the matches, the list page and the map layer of a filter set are computed once per
    process and index version, and found again by every visitor (a class clicking the same filter)."""
    from ui import map_component

    app.run()
    app.checkbox(key="filter_free").check().run()
    other = AppTest.from_file(APP, default_timeout=TIMEOUT)
    other.run()
    caches = {"matches": app_state._MATCHES, "pages": app_state._PAGES, "layers": map_component._LAYERS}
    before = {name: cache.stats() for name, cache in caches.items()}
    other.checkbox(key="filter_free").check().run()
    assert not other.exception
    after = {name: cache.stats() for name, cache in caches.items()}
    assert {name: after[name].misses - before[name].misses for name in caches} == {"matches": 0, "pages": 0, "layers": 0}
    assert all(after[name].hits > before[name].hits for name in caches)
    assert count(other) == count(app) and card_titles(other) == card_titles(app)


@pytest.fixture
def harvested(demo_database: tuple[str, int], request: pytest.FixtureRequest) -> Iterator[int]:
    """One published opportunity marked as harvested from an external feed for the test; its id.
    The feed's attribution is "Active Kranj", or the test's indirect parameter."""
    from opportunities.db.schema import harvest_feeds, harvested_items
    from opportunities.feeds import harvesting

    engine = open_database(demo_database[0])
    with writing(engine) as conn:
        chosen, provider, city = conn.execute(
            select(opportunities.c.id, opportunities.c.provider_id, opportunities.c.city_id)
            .where(opportunities.c.status == "published").order_by(opportunities.c.id).limit(1)
        ).one()  # fmt: skip
        feed = harvesting.register_feed(conn, None, url="https://feeds.example.org/rpde", organisation_id=provider, city_id=city,
                                        license="https://creativecommons.org/licenses/by/4.0/",
                                        attribution=getattr(request, "param", "Active Kranj"),
                                        now=datetime.now(UTC))  # fmt: skip
        conn.execute(harvested_items.insert().values(feed_id=feed.id, item_id="1", kind="Event", modified=1, upstream_id="",
                                                     opportunity_id=chosen, state="updated", problem="",
                                                     harvested_at=datetime.now(UTC)))  # fmt: skip
    yield int(chosen)
    with writing(engine) as conn:
        conn.execute(harvested_items.delete())
        conn.execute(harvest_feeds.delete())
    engine.dispose()


def test_a_harvested_opportunity_credits_its_source_on_its_card_and_in_detail(app: AppTest, harvested: int) -> None:
    credit = "From Active Kranj, https://creativecommons.org/licenses/by/4.0/"
    app.query_params["id"] = str(harvested)
    app.run()
    assert not app.exception
    assert credit in [c.value.replace("\\", "").replace(WORD_JOINER, "") for c in app.caption]
    app.button(key="back_to_list").click().run()
    notes = [n.replace("\\", "").replace(WORD_JOINER, "") for card in card_markdowns(app) for n in card_notes(card)]
    assert notes.count(credit) == (f"details_{harvested}" in detail_buttons(app))  # on its own card only


HOSTILE_SOURCE = "**Kranj** ]] :red[x] [y](javascript:alert(1)) $m$ <script>alert(1)</script> www.evil.example"


@pytest.mark.parametrize("harvested", [HOSTILE_SOURCE], indirect=True)
def test_a_hostile_credit_stays_text_inside_its_cards_small_print(
    app: AppTest, harvested: int, demo_database: tuple[str, int]
) -> None:
    """The credit shares its card's one Markdown element with the title and the facts: escaped, it
    cannot close the small-print directive around it nor start a link, a colour or maths."""
    engine = open_database(demo_database[0])
    with engine.connect() as conn:
        title = conn.execute(select(opportunities.c.title).where(opportunities.c.id == harvested)).scalar_one()
    engine.dispose()
    app.query_params["q"] = title
    app.run()
    assert not app.exception
    assert f"details_{harvested}" in detail_buttons(app)
    (card,) = [c for c in card_markdowns(app) if any("Kranj" in n for n in card_notes(c))]
    credit = card_notes(card)[1]
    assert credit == escape_markdown(f"From {HOSTILE_SOURCE}, https://creativecommons.org/licenses/by/4.0/")
    assert not re.search(r"(?<!\\)[\[\]$*:<]", credit.replace(WORD_JOINER, ""))  # every special character escaped
    assert not is_live(card)
