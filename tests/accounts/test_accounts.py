"""Accounts, organisations, permissions, the audit log, mail (against a real SMTP server) and the
``users`` command line, on a real database (SQLite, or PostgreSQL with TEST_DATABASE_URL)."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message as EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from cli import commands as cli
from opportunities.accounts import accounts, audit, mail, organisations
from opportunities.accounts.identity import Role, User
from opportunities.accounts.permissions import Action, allowed, authorise
from opportunities.db.connection import writing
from opportunities.db.queries import ensure_city
from opportunities.errors import (
    AccountExistsError,
    ForbiddenError,
    PasswordPolicyError,
    RateLimitError,
    SignInError,
    TokenError,
)
from opportunities.model import City
from opportunities.settings import Settings, load_settings
from opportunities.vocabulary import ProviderKind

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"


@pytest.fixture
def settings() -> Settings:
    return load_settings({})


@pytest.fixture
def world(engine: Engine, settings: Settings) -> dict[str, Any]:
    """Two cities; an admin, a lead of the first city, and an organisation in each city with a provider."""
    with writing(engine) as conn:
        kranj = ensure_city(conn, City(name="Kranj", country="SI", latitude=46.24, longitude=14.36, timezone="Europe/Ljubljana"))
        lodz = ensure_city(conn, City(name="Łódź", country="PL", latitude=51.76, longitude=19.46, timezone="Europe/Warsaw"))
        admin = accounts.add_user(conn, "admin@example.org", role=Role.ADMIN, password=PASSWORD, settings=settings, now=NOW)
        lead = accounts.add_user(
            conn, "lead@example.org", role=Role.CITY_LEAD, password=PASSWORD, settings=settings, now=NOW, city_ids=(kranj,)
        )
        org, provider = organisations.register_organisation(
            conn, name="MC Kranj", kind=ProviderKind.YOUTH_CENTRE, city_id=kranj, website="https://mc.example.org",
            contact_email="info@mc.example.org", user_email="ana@mc.example.org", password=PASSWORD, settings=settings, now=NOW, confirmed=True)  # fmt: skip
        other_org, other = organisations.register_organisation(
            conn, name="Fundacja Ósemka", kind=ProviderKind.NGO, city_id=lodz, website="", contact_email="biuro@example.pl",
            user_email="jan@example.pl", password=PASSWORD, settings=settings, now=NOW, confirmed=True)  # fmt: skip
    return {"kranj": kranj, "lodz": lodz, "admin": admin, "lead": lead, "org": org, "provider": provider,
            "other_org": other_org, "other": other}  # fmt: skip


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short", "too_short"),
        ("elevenchars", "too_short"),
        ("password1234", "common"),  # 12 characters, and in the list
        ("Qwertyuiop123", "common"),  # the list is compared case-insensitively
        ("ana@mc.example.org", "email"),
        ("ANA@MC.EXAMPLE.ORG", "email"),
        ("x" * 2000, "too_long"),
        ("correct horse battery staple", None),
        ("Żółć gęślą jaźń 2026", None),
        ("Пароль для входа", None),
    ],
)
def test_password_policy(password: str, reason: str | None) -> None:
    if reason is None:
        accounts.check_password_policy(password, email="ana@mc.example.org", min_length=12)
        return
    with pytest.raises(PasswordPolicyError) as caught:
        accounts.check_password_policy(password, email="ana@mc.example.org", min_length=12)
    assert caught.value.code == reason


def test_common_password_list_is_the_real_one() -> None:
    common = accounts.common_passwords()
    assert len(common) > 19000 and {"123456", "password", "qwerty"} <= common


def test_passwords_are_hashed_with_argon2id(engine: Engine, world: dict[str, Any]) -> None:
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM users WHERE email = 'admin@example.org'")).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert accounts.verify_password(stored, PASSWORD) and not accounts.verify_password(stored, PASSWORD + "!")


@pytest.mark.parametrize(
    ("email", "stored"),
    [("  Ana@Example.ORG ", "ana@example.org"), ("zoë@exämple.se", "zoë@exämple.se"), ("ŁUKASZ@example.pl", "łukasz@example.pl")],
)
def test_emails_are_normalised(email: str, stored: str) -> None:
    assert accounts.normalise_email(email) == stored


def test_an_email_is_one_account_whatever_its_case(engine: Engine, world: dict[str, Any], settings: Settings) -> None:
    with pytest.raises(AccountExistsError), writing(engine) as conn:
        accounts.add_user(conn, "ADMIN@example.org", role=Role.ADMIN, password=PASSWORD, settings=settings, now=NOW)


def _authenticate(engine: Engine, settings: Settings, email: str, password: str, client: str, now: datetime) -> User:
    return accounts.authenticate(engine, email, password, accounts.client_key(client), now, settings=settings)


def test_failed_sign_ins_slow_down_an_account_progressively(engine: Engine, world: dict[str, Any], settings: Settings) -> None:
    limit = settings.sign_in_max_failures_per_account
    for i in range(limit):
        with pytest.raises(SignInError):
            _authenticate(engine, settings, "lead@example.org", "wrong guess", f"10.0.0.{i}", NOW)
    # Past the limit the next attempt waits a minute after the latest failure, even with the right password.
    with pytest.raises(RateLimitError) as caught:
        _authenticate(engine, settings, "lead@example.org", PASSWORD, "10.9.9.9", NOW + timedelta(seconds=30))
    assert 0 < caught.value.retry_after_s <= 60
    moment = NOW + timedelta(minutes=1, seconds=1)
    for wait in (2, 4, 8):  # each further failure doubles the wait
        with pytest.raises(SignInError):
            _authenticate(engine, settings, "lead@example.org", "wrong guess", "10.0.1.1", moment)
        with pytest.raises(RateLimitError) as caught:
            _authenticate(engine, settings, "lead@example.org", PASSWORD, "10.9.9.9", moment + timedelta(seconds=1))
        assert (wait - 1) * 60 < caught.value.retry_after_s <= wait * 60
        moment += timedelta(minutes=wait, seconds=1)
    assert _authenticate(engine, settings, "lead@example.org", PASSWORD, "10.9.9.9", moment).email == "lead@example.org"


def test_a_guesser_cannot_lock_the_owner_out_of_a_client_they_signed_in_from(
    engine: Engine, world: dict[str, Any], settings: Settings
) -> None:
    assert _authenticate(engine, settings, "lead@example.org", PASSWORD, "192.0.2.10", NOW).email == "lead@example.org"
    for i in range(settings.sign_in_max_failures_per_account):
        with pytest.raises(SignInError):
            _authenticate(engine, settings, "lead@example.org", "wrong guess", f"198.51.100.{i}", NOW + timedelta(minutes=1))
    with pytest.raises(RateLimitError):  # the guesser is slowed down
        _authenticate(engine, settings, "lead@example.org", "wrong guess", "198.51.100.99", NOW + timedelta(minutes=1))
    # An unknown computer waits, even with the right password; the owner's own gets in at once.
    again = NOW + timedelta(minutes=1, seconds=5)
    with pytest.raises(RateLimitError):
        _authenticate(engine, settings, "lead@example.org", PASSWORD, "203.0.113.1", again)
    assert _authenticate(engine, settings, "lead@example.org", PASSWORD, "192.0.2.10", again).email == "lead@example.org"


def test_without_an_address_only_the_account_is_counted(engine: Engine, world: dict[str, Any], settings: Settings) -> None:
    """Behind a proxy that names no visitor, the client key is "": it is never one key for everyone."""
    for i in range(settings.sign_in_max_failures_per_client + 1):
        with pytest.raises(SignInError):
            accounts.authenticate(engine, f"guess{i}@example.org", "wrong guess", "", NOW, settings=settings)
    assert accounts.authenticate(engine, "admin@example.org", PASSWORD, "", NOW, settings=settings).role is Role.ADMIN


def test_failed_sign_ins_are_limited_per_client(engine: Engine, world: dict[str, Any], settings: Settings) -> None:
    for i in range(settings.sign_in_max_failures_per_client):
        with pytest.raises(SignInError):
            _authenticate(engine, settings, f"guess{i}@example.org", "wrong guess", "192.0.2.7", NOW)
    with pytest.raises(RateLimitError):
        _authenticate(engine, settings, "admin@example.org", PASSWORD, "192.0.2.7", NOW)
    assert _authenticate(engine, settings, "admin@example.org", PASSWORD, "192.0.2.8", NOW).role is Role.ADMIN


def test_sessions_expire_and_sign_out_ends_them(engine: Engine, world: dict[str, Any], settings: Settings) -> None:
    with writing(engine) as conn:
        token = accounts.start_session(conn, world["lead"].id, NOW, settings=settings)
    with engine.connect() as conn:
        assert accounts.user_for_session(conn, token, NOW + timedelta(hours=1)) == world["lead"]
        assert accounts.user_for_session(conn, token, NOW + timedelta(hours=settings.session_hours)) is None
        assert accounts.user_for_session(conn, token + "x", NOW) is None
        stored = conn.execute(text("SELECT token_hash FROM sign_in_sessions")).scalars().all()
    assert token not in stored and accounts.token_hash(token) in stored
    with writing(engine) as conn:
        accounts.end_session(conn, token)
    with engine.connect() as conn:
        assert accounts.user_for_session(conn, token, NOW) is None


def test_a_password_reset_works_once_and_expires(engine: Engine, world: dict[str, Any], settings: Settings) -> None:
    with writing(engine) as conn:
        found = accounts.request_password_reset(conn, "ana@mc.example.org", NOW, settings=settings)
        stale = accounts.request_password_reset(conn, "ana@mc.example.org", NOW, settings=settings)
        assert accounts.request_password_reset(conn, "nobody@example.org", NOW, settings=settings) is None
    assert found is not None and stale is not None
    with pytest.raises(PasswordPolicyError), writing(engine) as conn:  # a refused password leaves the link usable
        accounts.complete_password_reset(conn, found[1], "short", NOW, settings=settings)
    with writing(engine) as conn:
        accounts.complete_password_reset(conn, found[1], "a completely new passphrase", NOW, settings=settings)
    with pytest.raises(TokenError) as used, writing(engine) as conn:
        accounts.complete_password_reset(conn, found[1], "yet another new passphrase", NOW, settings=settings)
    assert used.value.code == "used"
    with pytest.raises(TokenError) as voided, writing(engine) as conn:  # the new password voided the other link
        accounts.complete_password_reset(conn, stale[1], "yet another new passphrase", NOW, settings=settings)
    assert voided.value.code == "unknown"
    with writing(engine) as conn:
        later = accounts.request_password_reset(conn, "ana@mc.example.org", NOW, settings=settings)
    assert later is not None
    late = NOW + timedelta(minutes=settings.password_reset_minutes)
    with pytest.raises(TokenError) as expired, writing(engine) as conn:
        accounts.complete_password_reset(conn, later[1], "yet another new passphrase", late, settings=settings)
    assert expired.value.code == "expired"
    assert (
        _authenticate(engine, settings, "ana@mc.example.org", "a completely new passphrase", "x", NOW).id == world["provider"].id
    )


def test_an_invitation_joins_the_organisation_once_and_expires(engine: Engine, world: dict[str, Any], settings: Settings) -> None:
    with writing(engine) as conn:
        organisations.verify_organisation(conn, world["lead"], world["org"].id, now=NOW)  # only a verified one invites
        token = organisations.invite(
            conn, world["provider"], world["org"].id, "Colleague@MC.example.org", settings=settings, now=NOW
        )
        late_token = organisations.invite(
            conn, world["provider"], world["org"].id, "late@mc.example.org", settings=settings, now=NOW
        )
    with writing(engine) as conn:
        user = organisations.accept_invitation(conn, token, password=PASSWORD, settings=settings, now=NOW)
    assert (user.email, user.role, user.organisation_id) == ("colleague@mc.example.org", Role.PROVIDER, world["org"].id)
    with pytest.raises(TokenError) as used, writing(engine) as conn:
        organisations.accept_invitation(conn, token, password=PASSWORD, settings=settings, now=NOW)
    assert used.value.code == "used"
    late = NOW + timedelta(days=settings.invitation_days, seconds=1)
    with pytest.raises(TokenError) as expired, writing(engine) as conn:
        organisations.accept_invitation(conn, late_token, password=PASSWORD, settings=settings, now=late)
    assert expired.value.code == "expired"


# Who may do what: (user, action, organisation, city) -> allowed. "org"/"other_org" and "kranj"/"lodz" name world's records.
PERMISSIONS = [
    ("provider", Action.SUBMIT, "org", None, True),
    ("provider", Action.SUBMIT, "other_org", None, False),  # another organisation's listing
    ("provider", Action.UPLOAD, "other_org", None, False),
    ("provider", Action.REVIEW, None, "kranj", False),  # a provider approving anything
    ("provider", Action.VERIFY_ORGANISATION, None, "kranj", False),
    ("provider", Action.READ_AUDIT, None, None, False),
    ("provider", Action.MANAGE_USERS, None, None, False),
    ("lead", Action.REVIEW, None, "kranj", True),
    ("lead", Action.REVIEW, None, "lodz", False),  # a city lead approving in another city
    ("lead", Action.SUBMIT, "org", None, False),
    ("lead", Action.APPOINT_CITY_LEAD, None, None, False),
    ("lead", Action.VIEW_OUTBOX, None, None, False),
    ("admin", Action.REVIEW, None, "lodz", True),
    ("admin", Action.SUBMIT, "other_org", None, True),
    ("admin", Action.VIEW_OUTBOX, None, None, True),
    (None, Action.SUBMIT, "org", None, False),  # a signed-out visitor
    (None, Action.REVIEW, None, "kranj", False),
    ("provider", Action.MANAGE_BADGES, "org", None, True),  # the badges of the organisation's activities
    ("provider", Action.MANAGE_BADGES, "other_org", None, False),
    ("provider", Action.MANAGE_CITY_BADGES, None, "kranj", False),  # playlists, any badge of the city
    ("lead", Action.MANAGE_CITY_BADGES, None, "kranj", True),
    ("lead", Action.MANAGE_CITY_BADGES, None, "lodz", False),
    ("lead", Action.MANAGE_BADGES, "org", None, False),
    ("admin", Action.MANAGE_BADGES, "other_org", None, True),
    (None, Action.MANAGE_BADGES, "org", None, False),
]


@pytest.mark.parametrize(("who", "action", "organisation", "city", "expected"), PERMISSIONS)
def test_permissions(world: dict[str, Any], who: str | None, action: Action, organisation: str | None, city: str | None,
                     expected: bool) -> None:  # fmt: skip
    user = world[who] if who else None
    organisation_id = world[organisation].id if organisation else None
    city_id = world[city] if city else None
    assert allowed(user, action, organisation_id=organisation_id, city_id=city_id) is expected
    if not expected:
        with pytest.raises(ForbiddenError):
            authorise(user, action, organisation_id=organisation_id, city_id=city_id)


@pytest.mark.parametrize("action", list(Action))
def test_a_disabled_account_can_do_nothing(engine: Engine, world: dict[str, Any], action: Action) -> None:
    with writing(engine) as conn:
        admin = accounts.disable_user(conn, world["admin"].id, now=NOW)
    assert not allowed(admin, action, organisation_id=world["org"].id, city_id=world["kranj"])


def test_a_disabled_account_cannot_sign_in_and_loses_its_sessions(
    engine: Engine, world: dict[str, Any], settings: Settings
) -> None:
    with writing(engine) as conn:
        token = accounts.start_session(conn, world["lead"].id, NOW, settings=settings)
        accounts.disable_user(conn, world["lead"].id, now=NOW, actor=world["admin"])
    with engine.connect() as conn:
        assert accounts.user_for_session(conn, token, NOW) is None
    with pytest.raises(SignInError):
        _authenticate(engine, settings, "lead@example.org", PASSWORD, "x", NOW)


def test_verifying_is_for_a_lead_of_the_organisations_city(engine: Engine, world: dict[str, Any]) -> None:
    with pytest.raises(ForbiddenError), writing(engine) as conn:
        organisations.verify_organisation(conn, world["lead"], world["other_org"].id, now=NOW)
    with pytest.raises(ForbiddenError), writing(engine) as conn:
        organisations.verify_organisation(conn, world["provider"], world["org"].id, now=NOW)
    with writing(engine) as conn:
        assert not organisations.may_publish_directly(conn, world["org"].id, world["kranj"])
        organisations.verify_organisation(conn, world["lead"], world["org"].id, now=NOW)
        organisations.set_trusted(conn, world["lead"], world["org"].id, True, now=NOW)
        assert organisations.may_publish_directly(conn, world["org"].id, world["kranj"])
    with engine.connect() as conn:
        entries = audit.entries(conn, world["lead"])
        assert [e.action for e in entries[:2]] == ["set_trusted", "verify_organisation"]
        assert entries[0].before == {**entries[0].after, "trusted_in": []} if entries[0].after else False
        assert entries[0].after is not None and entries[0].after["trusted_in"] == [world["kranj"]]
        # The lead of Kranj reads nothing of Łódź; a provider reads nothing at all.
        assert all(e.city_id == world["kranj"] for e in entries)
        with pytest.raises(ForbiddenError):
            audit.entries(conn, world["lead"], city_id=world["lodz"])
        with pytest.raises(ForbiddenError):
            audit.entries(conn, world["provider"])
        assert any(e.city_id == world["lodz"] for e in audit.entries(conn, world["admin"]))


def test_a_lead_sees_the_accounts_made_in_their_city(engine: Engine, world: dict[str, Any]) -> None:
    with engine.connect() as conn:
        added = {e.entity_id: e.city_id for e in audit.entries(conn, world["lead"]) if e.action == "add_user"}
        # The organisation's member and the lead of Kranj themself, never the member in Łódź or the admin.
        assert added == {world["provider"].id: world["kranj"], world["lead"].id: world["kranj"]}
        everyone = {e.entity_id: e.city_id for e in audit.entries(conn, world["admin"]) if e.action == "add_user"}
        assert everyone[world["other"].id] == world["lodz"] and everyone[world["admin"].id] is None


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET note = 'changed'", "DELETE FROM audit_log"])
def test_the_audit_log_is_append_only_in_the_database(engine: Engine, world: dict[str, Any], statement: str) -> None:
    with pytest.raises(DBAPIError, match="append-only"), writing(engine) as conn:
        conn.execute(text(statement))


def test_register_organisation_accepts_hostile_text_as_text(engine: Engine, world: dict[str, Any], settings: Settings) -> None:
    name = '<script>alert(1)</script> =HYPERLINK("x") \u202e Ŝkola'
    with writing(engine) as conn:
        org, _user = organisations.register_organisation(
            conn, name=name, kind=ProviderKind.SCHOOL, city_id=world["kranj"], website="", contact_email="s@example.org",
            user_email="s@example.org", password=PASSWORD, settings=settings, now=NOW)  # fmt: skip
    assert org.name == name and not org.verified


# --- mail ---------------------------------------------------------------------------------------


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[_Inbox, int]]:
    """A real SMTP server on localhost (aiosmtpd), receiving into a list."""
    inbox = _Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def test_mail_is_sent_through_smtp_in_the_recipients_language(engine: Engine, world: dict[str, Any],
                                                              smtp_server: tuple[_Inbox, int]) -> None:  # fmt: skip
    inbox, port = smtp_server
    settings = load_settings({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_SECURITY": "none",
                              "MAIL_FROM": "map@example.org", "PUBLIC_URL": "https://map.example.org/"})  # fmt: skip
    with writing(engine) as conn:
        found = accounts.request_password_reset(conn, "jan@example.pl", NOW, settings=settings)
        assert found is not None
        user, token = found
        message = mail.password_reset_message(user.email, "pl", url=mail.link(settings, "sign_in", reset=token), minutes=60)
        mail.queue(conn, message, NOW)
    assert mail.deliver_pending(engine, settings, NOW) == (2, 0)  # and the Kranj lead's notice of a registration
    received = {m["To"]: m for m in inbox.messages}["jan@example.pl"]
    assert received["From"] == "map@example.org"
    body = received.get_payload(decode=True).decode("utf-8")
    assert f"https://map.example.org/sign_in?reset={token}" in body
    assert "hasł" in (received["Subject"] + body).lower()  # Polish
    assert mail.deliver_pending(engine, settings, NOW) == (0, 0)  # sent once
    with engine.connect() as conn:
        assert all(m.sent_at is not None and not m.error for m in mail.outbox(conn, world["admin"]))


def test_without_smtp_mail_stays_in_the_outbox_and_a_failure_is_recorded(engine: Engine, world: dict[str, Any],
                                                                        settings: Settings) -> None:  # fmt: skip
    assert mail.deliver_pending(engine, settings, NOW) == (0, 0)
    with engine.connect() as conn:
        waiting = mail.outbox(conn, world["admin"], unsent_only=True)
        with pytest.raises(ForbiddenError):
            mail.outbox(conn, world["lead"])
    assert [m.recipient for m in waiting] == ["lead@example.org"] and waiting[0].error == ""
    unreachable = load_settings({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(_free_port()), "SMTP_SECURITY": "none"})
    assert mail.deliver_pending(engine, unreachable, NOW) == (0, 1)
    with engine.connect() as conn:
        failed = mail.outbox(conn, world["admin"])[0]
    assert failed.sent_at is None and "Connection" in failed.error


# --- the command line ---------------------------------------------------------------------------


def _users(monkeypatch: pytest.MonkeyPatch, database_url: str, argv: list[str], stdin: str = "") -> int:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return cli.main(["users", *argv])


def test_users_command_line(monkeypatch: pytest.MonkeyPatch, database_url: str, world: dict[str, Any],
                            capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    assert (
        _users(
            monkeypatch,
            database_url,
            ["add", "root@example.org", "--role", "admin", "--password-stdin"],
            "a long admin passphrase\n",
        )
        == 0
    )
    assert (
        _users(monkeypatch, database_url, ["add", "weak@example.org", "--role", "admin", "--password-stdin"], "password\n") == 2
    )
    assert _users(monkeypatch, database_url, ["add", "none@example.org", "--role", "admin", "--password-stdin"], "") == 2
    assert (
        _users(monkeypatch, database_url, ["add", "p@example.org", "--role", "provider", "--password-stdin"], PASSWORD + "\n")
        == 2
    )
    assert _users(monkeypatch, database_url, ["set-role", "root@example.org", "--role", "city_lead", "--city", "Łódź"]) == 0
    assert _users(monkeypatch, database_url, ["set-role", "root@example.org", "--role", "city_lead", "--city", "Atlantis"]) == 2
    assert (
        _users(monkeypatch, database_url, ["reset-password", "root@example.org", "--password-stdin"], "another long passphrase\n")
        == 0
    )
    assert _users(monkeypatch, database_url, ["disable", "nobody@example.org"]) == 2
    assert _users(monkeypatch, database_url, ["disable", "root@example.org"]) == 0
    capsys.readouterr()
    assert _users(monkeypatch, database_url, ["list"]) == 0
    out, _err = capsys.readouterr()
    assert f"root@example.org\tcity_lead\tdisabled\torganisation=\tcities={world['lodz']}" in out
    with pytest.raises(SystemExit) as usage:
        _users(monkeypatch, database_url, ["add", "x@example.org", "--role", "king"])
    assert usage.value.code == 2
    assert "Traceback" not in capsys.readouterr().err
