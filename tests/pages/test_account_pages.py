"""The Sign in, Register and Account pages (AppTest), signed out and for each role, forbidden paths included.

AppTest cannot set cookies: a signed-in session is a token from ``accounts.start_session`` put into
``st.session_state[session.SESSION_TOKEN]``, exactly where the page keeps the cookie's token.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import Engine, func, select
from streamlit.testing.v1 import AppTest

from opportunities.accounts import accounts, organisations
from opportunities.accounts.identity import Role, User
from opportunities.db.connection import open_database, writing
from opportunities.db.schema import audit_log, cities, mail_outbox, providers
from opportunities.demo.generator import load_demo
from opportunities.errors import UnconfirmedAccountError
from opportunities.places.geocoding import Geocoder
from opportunities.settings import load_settings
from tests.conftest import Databases
from ui import app_state, session

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PASSWORD = "correct horse battery staple"


@dataclass
class World:
    url: str
    engine: Engine
    city_id: int
    other_city_id: int
    admin: User
    lead: User
    provider: User
    other_provider: User


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, databases: Databases, geocoder: Geocoder) -> Iterator[World]:
    url = databases.create(tmp_path_factory.mktemp("accounts"))
    engine = open_database(url)
    load_demo(engine, geocoder, size=30, seed=7)
    s = load_settings({})
    now = accounts.now_utc()
    with writing(engine) as conn:
        city_id, other_city_id = list(conn.execute(select(cities.c.id).order_by(cities.c.id).limit(2)).scalars())
        admin = accounts.add_user(conn, "admin@example.org", role=Role.ADMIN, password=PASSWORD, settings=s, now=now)
        lead = accounts.add_user(
            conn, "lead@example.org", role=Role.CITY_LEAD, password=PASSWORD, settings=s, now=now, city_ids=(city_id,)
        )
        _org, provider = organisations.register_organisation(
            conn, name="Łódź Ökologie-Club", kind=organisations.ProviderKind.NGO, city_id=city_id, website="",
            contact_email="club@example.org", user_email="member@example.org", password=PASSWORD, settings=s, now=now,
            confirmed=True)  # fmt: skip
        conn.execute(providers.update().where(providers.c.id == _org.id).values(verified_at=now))  # so its members may invite
        _org2, other = organisations.register_organisation(
            conn, name="Другая организация", kind=organisations.ProviderKind.OTHER, city_id=other_city_id, website="",
            contact_email="x@example.org", user_email="other@example.org", password=PASSWORD, settings=s, now=now,
            confirmed=True)  # fmt: skip
    yield World(url, engine, city_id, other_city_id, admin, lead, provider, other)
    engine.dispose()
    databases.drop(url)


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, world: World) -> Iterator[AppTest]:
    monkeypatch.setenv("DATABASE_URL", world.url)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield AppTest.from_file(APP, default_timeout=60)
    _dispose()


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch, world: World) -> Iterator[Callable[[str], AppTest]]:
    """One page script run on its own, as a visitor who types its address would reach it."""
    monkeypatch.setenv("DATABASE_URL", world.url)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield lambda name: AppTest.from_file(str(ROOT / "pages" / name), default_timeout=60)
    _dispose()


def _dispose() -> None:
    s = load_settings()
    app_state.database(s.database_url, str(s.cache_dir), s.demo_seed, s.database_busy_timeout_s).dispose()
    st.cache_data.clear()
    st.cache_resource.clear()


def signed_in(at: AppTest, world: World, user: User) -> AppTest:
    with writing(world.engine) as conn:
        at.session_state[session.SESSION_TOKEN] = accounts.start_session(
            conn, user.id, accounts.now_utc(), settings=load_settings({})
        )
    return at


def texts(at: AppTest) -> str:
    return "\n".join([m.value for m in at.markdown] + [e.value for e in at.error] + [w.value for w in at.warning]
                     + [s.value for s in at.success] + [i.value for i in at.info] + [h.value for h in at.header])  # fmt: skip


def test_signed_out_visitor_sees_sign_in_and_register_and_a_prompt_at_the_account_pages_address(app: AppTest) -> None:
    app.run()
    assert not app.exception
    # The account page keeps its address (hidden from the menu, see app.py), and asks to sign in.
    app.switch_page("pages/account.py").run()
    assert "Sign in to see this page." in texts(app)
    assert "Your account" not in texts(app)
    app.switch_page("pages/sign_in.py").run()
    assert [b.label for b in app.button if b.label == "Sign in"] or app.get("form_submit_button")


def test_signed_out_visitor_reaching_the_account_page_by_address_gets_a_sign_in_prompt(page: Callable[[str], AppTest]) -> None:
    at = page("account.py").run()
    assert not at.exception
    assert "Sign in to see this page." in texts(at)
    assert "Your account" not in texts(at)


def fill(at: AppTest, values: dict[str, str]) -> None:
    for label, value in values.items():
        next(t for t in at.text_input if t.label == label).input(value)


def submit(at: AppTest, label: str) -> AppTest:
    return next(b for b in at.button if b.label == label).click().run()


def test_sign_in_with_a_wrong_password_fails_and_the_right_one_opens_the_account(app: AppTest, world: World) -> None:
    app.run()
    app.switch_page("pages/sign_in.py").run()
    fill(app, {"Email": "LEAD@example.org", "Password": "wrong password here"})
    submit(app, "Sign in")
    assert "Wrong email or password." in texts(app)
    assert not app.session_state[session.SESSION_TOKEN] if session.SESSION_TOKEN in app.session_state else True
    fill(app, {"Email": "LEAD@example.org", "Password": PASSWORD})
    submit(app, "Sign in")
    assert not app.exception
    app.switch_page("pages/account.py").run()  # in the navigation now
    assert "Your account" in texts(app)
    assert "lead@example.org" in texts(app).replace("\\", "").replace("\u2060", "")
    # Signing out ends the session row: the token is worthless afterwards.
    token = app.session_state[session.SESSION_TOKEN]
    submit(app, "Sign out")
    with world.engine.connect() as conn:
        assert accounts.user_for_session(conn, token, accounts.now_utc()) is None


@pytest.mark.parametrize("who", ["provider", "lead", "admin"])
def test_account_page_shows_each_role_only_its_own_sections(page: Callable[[str], AppTest], world: World, who: str) -> None:
    user = getattr(world, who)
    at = signed_in(page("account.py"), world, user).run()
    assert not at.exception
    subheaders = [s.value for s in at.subheader]
    expanders = [e.label for e in at.expander]
    assert ("Colleagues" in subheaders) == (who == "provider")
    assert ("Users" in subheaders) == (who == "admin")
    assert ("Mail outbox" in subheaders) == (who == "admin")
    assert ("Audit log" in expanders) == (who in ("lead", "admin"))


def test_a_disabled_account_is_signed_out_at_once(page: Callable[[str], AppTest], world: World) -> None:
    s = load_settings({})
    with writing(world.engine) as conn:
        victim = accounts.add_user(
            conn, "gone@example.org", role=Role.ADMIN, password=PASSWORD, settings=s, now=accounts.now_utc()
        )
    at = signed_in(page("account.py"), world, victim).run()
    assert "Your account" in texts(at)
    with writing(world.engine) as conn:
        accounts.disable_user(conn, victim.id, now=accounts.now_utc(), actor=world.admin)
    at.run()
    assert "Sign in to see this page." in texts(at)


def test_provider_invites_a_colleague_and_gets_a_link_to_copy(page: Callable[[str], AppTest], world: World) -> None:
    at = signed_in(page("account.py"), world, world.provider).run()
    fill(at, {"Invite a colleague by email": "new.colleague@example.org"})
    submit(at, "Create an invitation")
    assert not at.exception
    link = at.code[0].value
    assert link.startswith("http://localhost:8501/sign_in?invitation=")
    with world.engine.connect() as conn:
        invitation = organisations.find_invitation(conn, at.code[1].value, accounts.now_utc())
    assert (invitation.email, invitation.organisation_id) == ("new.colleague@example.org", world.provider.organisation_id)


def test_register_reports_every_bad_field_then_creates_an_unverified_organisation(app: AppTest, world: World) -> None:
    app.run()
    app.switch_page("pages/register.py").run()
    fill(app, {"Name": "", "Website (optional)": "javascript:alert(1)", "Contact email shown with your listings": "nope",
               "Your email": "new.org@example.org", "Choose a password": PASSWORD, "The password again": PASSWORD})  # fmt: skip
    submit(app, "Register")
    errors = [e.value.replace("\\", "").replace("\u2060", "") for e in app.error]
    assert errors == [  # one message per field, named by its label, in the order of the form
        "Name: This is required.",
        "Website: 'javascript:alert(1)' is not a web address starting with http:// or https://",
        "Contact email: 'nope' is not an email address",
        "City: Choose a city.",
    ]
    fill(app, {"Name": "Klub <b>Młodych</b> *Ŝ*", "Website (optional)": "https://klub.example.org",
               "Contact email shown with your listings": "klub@example.org"})  # fmt: skip
    app.selectbox[1].select(world.city_id)
    submit(app, "Register")
    assert not app.exception
    assert "Open it within 7 days to confirm your address" in texts(app)
    with world.engine.connect() as conn:
        org = next(o for o in organisations.list_organisations(conn) if o.name == "Klub <b>Młodych</b> *Ŝ*")
        outbox = list(conn.execute(select(mail_outbox.c.recipient, mail_outbox.c.subject, mail_outbox.c.body)))
    assert not org.verified and org.registered_at is not None
    # Nobody is signed in, and the lead hears of the organisation only once the address is confirmed.
    assert [(r, s) for r, s, _b in outbox if "Klub" in s or r == "new.org@example.org"] == [
        ("new.org@example.org", "Confirm your address for the Cities of Learning map")
    ]
    token = re.search(r"confirm=([\w-]+)", next(b for r, _s, b in outbox if r == "new.org@example.org"))
    with pytest.raises(UnconfirmedAccountError):
        accounts.authenticate(
            world.engine, "new.org@example.org", PASSWORD, "test", accounts.now_utc(), settings=load_settings({})
        )
    assert token is not None
    app.switch_page("pages/sign_in.py")
    app.query_params["confirm"] = token.group(1)
    app.run()
    assert not app.exception and "Your address is confirmed." in texts(app) and "Signed in" in texts(app)
    with world.engine.connect() as conn:
        outbox = list(conn.execute(select(mail_outbox.c.recipient, mail_outbox.c.subject)))
    assert ("lead@example.org", "New organisation to verify: Klub <b>Młodych</b> *Ŝ*") in outbox


def test_registering_an_address_that_has_an_account_answers_as_for_a_new_one(app: AppTest, world: World) -> None:
    app.run()
    app.switch_page("pages/register.py").run()
    fill(app, {"Name": "Second Club", "Contact email shown with your listings": "c@example.org",
               "Your email": "member@example.org", "Choose a password": PASSWORD, "The password again": PASSWORD})  # fmt: skip
    app.selectbox[1].select(world.city_id)
    submit(app, "Register")
    assert not app.exception and not app.error
    assert "Open it within 7 days to confirm your address" in texts(app)
    with world.engine.connect() as conn:  # nothing was stored, nor mailed, for the address that has an account
        assert (
            conn.execute(select(func.count()).select_from(providers).where(providers.c.name == "Second Club")).scalar_one() == 0
        )
        assert not conn.execute(select(mail_outbox.c.id).where(mail_outbox.c.recipient == "member@example.org")).all()


def test_a_password_reset_link_works_once(page: Callable[[str], AppTest], world: World) -> None:
    s = load_settings({})
    with writing(world.engine) as conn:
        user = accounts.add_user(
            conn, "forgetful@example.org", role=Role.ADMIN, password=PASSWORD, settings=s, now=accounts.now_utc()
        )
        found = accounts.request_password_reset(conn, user.email, accounts.now_utc(), settings=s)
    assert found is not None
    new = "a brand new passphrase"
    for expected in ("Your password is changed. Sign in with it now.", "This link was used already. Ask for a new one."):
        at = page("sign_in.py")
        at.query_params["reset"] = found[1]
        at.run()
        fill(at, {"New password": new, "New password again": new})
        submit(at, "Save the new password")
        assert expected in texts(at)


def test_an_expired_invitation_is_refused(page: Callable[[str], AppTest], world: World) -> None:
    s = load_settings({})
    with writing(world.engine) as conn:
        token = organisations.invite(conn, world.provider, world.provider.organisation_id or 0, "late@example.org", settings=s,
                                     now=accounts.now_utc() - timedelta(days=s.invitation_days + 1))  # fmt: skip
    at = page("sign_in.py")
    at.query_params["invitation"] = token
    at.run()
    assert "This link has expired. Ask for a new one." in texts(at)
    assert not [t for t in at.text_input if t.label == "Choose a password"]


def test_admin_sees_unsent_mail_in_the_outbox_without_smtp(page: Callable[[str], AppTest], world: World) -> None:
    at = signed_in(page("account.py"), world, world.admin).run()
    assert any("No mail server is set" in i.value for i in at.info)
    with world.engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(mail_outbox)).scalar_one()
    assert count >= 1 and len(at.expander) >= 1


def test_providers_and_audit_log_are_untouched_by_a_provider_account_page(page: Callable[[str], AppTest], world: World) -> None:
    """A provider opening the account page changes nothing: the audit log has no entry for it."""
    with world.engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(audit_log)).scalar_one()
        orgs = conn.execute(select(func.count()).select_from(providers)).scalar_one()
    signed_in(page("account.py"), world, world.other_provider).run()
    with world.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(audit_log)).scalar_one() == before
        assert conn.execute(select(func.count()).select_from(providers)).scalar_one() == orgs


def test_after_registering_the_form_is_empty_passwords_included(app: AppTest, world: World) -> None:
    app.run()
    app.switch_page("pages/register.py").run()
    fill(app, {"Name": "Third Club", "Contact email shown with your listings": "t@example.org",
               "Your email": "third@example.org", "Choose a password": PASSWORD, "The password again": PASSWORD})  # fmt: skip
    app.selectbox[1].select(world.city_id)
    submit(app, "Register")
    assert not app.exception
    assert "Open it within 7 days to confirm your address" in texts(app)
    assert not [t.value for t in app.text_input if t.value]  # nothing typed is shown any more
    app.run()  # the next visit to the page: an empty form
    assert not app.exception
    assert [t.value for t in app.text_input if t.label in ("Name", "Your email", "Choose a password")] == ["", "", ""]
    assert PASSWORD not in [v for v in app.session_state._state.filtered_state.values() if isinstance(v, str)]
