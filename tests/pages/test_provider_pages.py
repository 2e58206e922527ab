"""AppTest of the provider pages (Submit, My opportunities): signed out, disabled, another
organisation's listing by id, and a provider at work in Swedish and Polish. The folium map shows
up as an unknown element here: its click handling is tested in test_placement."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import Engine, select, update
from streamlit.testing.v1 import AppTest

from opportunities.accounts.accounts import add_user, disable_user, start_session
from opportunities.accounts.identity import Role, User
from opportunities.db import connection, queries
from opportunities.db.schema import opportunities
from opportunities.listings import drafts, listings
from opportunities.listings.submission import FormValues
from opportunities.model import City, Provider
from opportunities.places.geocoding import Geocoder
from opportunities.settings import load_settings
from opportunities.vocabulary import Status
from ui import app_state, session

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
TIMEOUT = 60
NOW = datetime.now(UTC)
START = date.today() + timedelta(days=10)
FORM = FormValues(
    title="Kodklubb", city="Göteborg", country="SE", address="Götaplatsen 3, 412 56 Göteborg", topics=("digital-skills",),
    age_min=12, age_max=16, mode="in-person", type="club", start_day=START, start_time=time(17, 0),
    schedule="FREQ=WEEKLY", languages=("sv",),
)  # fmt: skip


@dataclass
class Site:
    url: str
    alice: User
    bob: User
    listing_id: int  # Stadsbiblioteket's
    tokens: dict[str, str]


@pytest.fixture
def site(engine: Engine, database_url: str, geocoder: Geocoder, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    settings = load_settings()
    with connection.writing(engine) as conn:
        city_id = queries.ensure_city(
            conn, City(name="Göteborg", country="SE", latitude=57.70716, longitude=11.96679, timezone="Europe/Stockholm")
        )
        library = queries.ensure_provider(
            conn, Provider(name="Stadsbiblioteket Göteborg", contact_email="info@example.org"), city_id
        )
        culture = queries.ensure_provider(conn, Provider(name="Kulturhuset"), city_id)
        alice = add_user(
            conn, "alice@example.org", role=Role.PROVIDER, password=None, settings=settings, now=NOW, organisation_id=library
        )
        bob = add_user(
            conn, "bob@example.org", role=Role.PROVIDER, password=None, settings=settings, now=NOW, organisation_id=culture
        )
        listing = listings.submit(conn, alice, FORM, geocoder=geocoder, now=NOW)
        tokens = {u.email: start_session(conn, u.id, NOW, settings=settings) for u in (alice, bob)}
    monkeypatch.setenv("DATABASE_URL", database_url)
    st.cache_data.clear()
    st.cache_resource.clear()
    assert listing.id is not None
    yield Site(database_url, alice, bob, listing.id, tokens)
    app_state.database(
        settings.database_url, str(settings.cache_dir), settings.demo_seed, settings.database_busy_timeout_s
    ).dispose()
    st.cache_resource.clear()


def open_page(page: str, token: str | None, *, language: str = "en", params: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if token:
        at.session_state[session.SESSION_TOKEN] = token
    at.session_state[session.LANGUAGE] = language
    for name, value in (params or {}).items():
        at.query_params[name] = value
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    """Every text shown, as written (provider and UI text goes to Markdown escaped)."""
    parts = [
        e.value for kind in ("markdown", "caption", "info", "warning", "error", "success", "title") for e in getattr(at, kind)
    ]
    return re.sub(r"\\(.)", r"\1", "\n".join(str(p) for p in parts)).replace("\u2060", "")


@pytest.mark.parametrize("page", ["pages/submit.py", "pages/my_opportunities.py"])
def test_a_signed_out_visitor_is_asked_to_sign_in(site: Site, page: str) -> None:
    at = open_page(page, None)
    assert "Sign in to see this page." in texts(at)
    assert not at.text_input and not at.button


@pytest.mark.parametrize("page", ["pages/submit.py", "pages/my_opportunities.py"])
def test_a_disabled_account_is_signed_out(site: Site, engine: Engine, page: str) -> None:
    with connection.writing(engine) as conn:
        disable_user(conn, site.alice.id, now=NOW, actor_label="test")
    at = open_page(page, site.tokens["alice@example.org"])
    assert "Sign in to see this page." in texts(at)


def test_another_organisations_listing_cannot_be_opened_by_id(site: Site, engine: Engine) -> None:
    at = open_page("pages/submit.py", site.tokens["bob@example.org"], params={"edit": str(site.listing_id)})
    assert "That draft or listing is not yours" in texts(at)
    assert at.text_input(key="submit_title").value == ""
    with engine.connect() as conn:
        assert queries.get_opportunity(conn, site.listing_id).title == "Kodklubb"


def test_my_opportunities_shows_only_the_organisations_listings(site: Site) -> None:
    mine = open_page("pages/my_opportunities.py", site.tokens["alice@example.org"], language="sv")
    assert "Mina aktiviteter" in texts(mine) and "**Kodklubb**" in texts(mine)
    theirs = open_page("pages/my_opportunities.py", site.tokens["bob@example.org"])
    assert "Kodklubb" not in texts(theirs) and "No listings here yet." in texts(theirs)


@pytest.mark.parametrize(
    ("decision", "label", "note"),
    [
        (Status.DRAFT, "Changes needed", "The city lead asks for changes:"),
        (Status.REJECTED, "Rejected", "Rejected by the city lead:"),
    ],
)
def test_a_listing_sent_back_or_rejected_shows_its_status_and_the_leads_note(
    site: Site, engine: Engine, decision: Status, label: str, note: str
) -> None:
    with connection.writing(engine) as conn:
        conn.execute(update(opportunities).where(opportunities.c.id == site.listing_id)
                     .values(status=decision.value, review_note="Add the room <b>number</b>"))  # fmt: skip
    at = open_page("pages/my_opportunities.py", site.tokens["alice@example.org"])
    assert not at.exception
    assert f"{note} Add the room <b>number</b>" in [e.value.replace("\\", "") for e in at.error]
    assert label in at.radio[0].options and "**Kodklubb**" in texts(at)
    at.radio[0].set_value(decision.value).run()
    assert "**Kodklubb**" in texts(at)


def fill(at: AppTest, values: FormValues) -> None:
    at.text_input(key="submit_title").input(values.title)
    at.multiselect(key="submit_topics").set_value(list(values.topics))
    at.selectbox(key="submit_type").set_value(values.type)
    at.selectbox(key="submit_mode").set_value(values.mode)
    at.number_input(key="submit_age_min").set_value(values.age_min)
    at.date_input(key="submit_start_day").set_value(values.start_day)
    at.text_input(key="submit_address").input(values.address)


def test_a_provider_submits_in_polish_with_messages_and_a_draft(site: Site, engine: Engine) -> None:
    at = open_page("pages/submit.py", site.tokens["alice@example.org"], language="pl")
    assert "Zgłoś ofertę" in texts(at)
    at.text_input(key="submit_url").input("javascript:alert(1)").run()
    assert "'javascript:alert(1)' nie jest adresem internetowym zaczynającym się od http:// lub https://" in texts(at)
    draft_id = at.query_params["draft"][0] if isinstance(at.query_params["draft"], list) else at.query_params["draft"]
    # A reload (a new session with the same link) brings the form back.
    again = open_page("pages/submit.py", site.tokens["alice@example.org"], language="pl", params={"draft": str(draft_id)})
    assert again.text_input(key="submit_url").value == "javascript:alert(1)"
    # Bob cannot open Alice's draft.
    bobs = open_page("pages/submit.py", site.tokens["bob@example.org"], params={"draft": str(draft_id)})
    assert bobs.text_input(key="submit_url").value == ""

    again.text_input(key="submit_url").input("https://example.org/kod")
    fill(again, replace(FORM, title="Klub programowania", start_day=START + timedelta(days=1)))
    again.run()
    assert "Umieszczono w środku obszaru kodu pocztowego" in texts(again)
    assert "Najbliższe spotkania:" in texts(again)
    again.button[0].click().run()  # Submit
    assert not again.exception
    assert "Wysłano do sprawdzenia." in texts(again)
    with engine.connect() as conn:
        row = conn.execute(select(opportunities).where(opportunities.c.title == "Klub programowania")).one()
        assert drafts.list_drafts(conn, site.alice) == []
    assert row.status == Status.PENDING.value and row.url == "https://example.org/kod"


def test_submit_with_missing_fields_shows_every_message(site: Site) -> None:
    at = open_page("pages/submit.py", site.tokens["alice@example.org"], language="sv")
    at.text_area(key="submit_description").input("Bara en beskrivning").run()
    submit = next(b for b in at.button if b.label == "Skicka in")
    submit.click().run()
    shown = texts(at)
    assert "Några fält behöver din uppmärksamhet" in shown
    assert shown.count("Det här måste fyllas i.") >= 4  # title, topics, type, mode, age, start


def test_still_running_and_withdraw(site: Site, engine: Engine) -> None:
    with connection.writing(engine) as conn:
        conn.execute(update(opportunities).values(verified_at=NOW - timedelta(days=400)))
    at = open_page("pages/my_opportunities.py", site.tokens["alice@example.org"])
    assert "is it still running?" in texts(at)
    at.button(key=f"confirm_{site.listing_id}").click().run()
    assert "Thank you: marked as still running." in texts(at)
    at.text_input(key=f"withdraw_note_{site.listing_id}").input("moved")
    at.button(key=f"withdraw_{site.listing_id}").click().run()
    with engine.connect() as conn:
        opp = queries.get_opportunity(conn, site.listing_id)
    assert opp.status is Status.ARCHIVED


def test_the_schedule_builder_reads_the_stored_rule_and_previews_the_sessions(site: Site, engine: Engine) -> None:
    at = open_page("pages/submit.py", site.tokens["alice@example.org"], params={"edit": str(site.listing_id)})
    assert at.radio(key="submit_repeat").value == "weekly"
    assert "Next sessions:" in texts(at)
    at.radio(key="submit_repeat").set_value("monthly").run()
    at.selectbox(key="submit_month_position").set_value(-1)
    at.radio(key="submit_ending").set_value("count").run()
    at.number_input(key="submit_count").set_value(2).run()
    preview = next(m.value for m in at.markdown if str(m.value).startswith("Next sessions:"))
    assert preview.count("\n- ") == 2
    with engine.connect() as conn:
        saved = drafts.list_drafts(conn, site.alice)
    assert [d.values.schedule for d in saved] == ["FREQ=MONTHLY;BYDAY=-1MO;COUNT=2"]  # Monday: the weekday picker starts there
    # A rule the simple choices cannot express is kept as text; emptying it brings the choices back.
    with connection.writing(engine) as conn:
        conn.execute(
            update(opportunities).where(opportunities.c.id == site.listing_id).values(schedule="FREQ=MONTHLY;BYMONTHDAY=15")
        )
    again = open_page("pages/submit.py", site.tokens["alice@example.org"], params={"edit": str(site.listing_id)})
    assert again.text_input(key="submit_rule").value == "FREQ=MONTHLY;BYMONTHDAY=15"
    assert not again.radio
    again.text_input(key="submit_rule").input("").run()
    assert again.radio(key="submit_repeat").value == "once"


def test_discarding_the_draft_empties_the_form(site: Site, engine: Engine) -> None:
    at = open_page("pages/submit.py", site.tokens["alice@example.org"])
    at.text_input(key="submit_title").input("Schack").run()
    with engine.connect() as conn:
        assert [d.values.title for d in drafts.list_drafts(conn, site.alice)] == ["Schack"]
    next(b for b in at.button if b.label == "Discard the draft").click().run()
    assert not at.exception
    assert at.text_input(key="submit_title").value == ""
    assert "draft" not in at.query_params
    with engine.connect() as conn:
        assert drafts.list_drafts(conn, site.alice) == []
