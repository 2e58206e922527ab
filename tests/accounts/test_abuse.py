"""What a hostile registered person (or someone at the database) can make the server do: invitations
only from verified organisations and at most MAX_INVITATIONS_PER_DAY; reset links at most
MAX_RESETS_PER_HOUR per account, void once one is used or the password changes; the same answer
whether an address has an account or not; an audit log no statement rewrites or empties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError

from opportunities.accounts import accounts, organisations
from opportunities.accounts.identity import Role, User
from opportunities.db.connection import writing
from opportunities.db.queries import ensure_city
from opportunities.db.schema import audit_log, invitations, mail_outbox, password_resets, providers, users
from opportunities.errors import ForbiddenError, SignInError, TokenError, UnconfirmedAccountError
from opportunities.model import City
from opportunities.settings import Settings, load_settings
from opportunities.vocabulary import ProviderKind

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"


@pytest.fixture
def settings() -> Settings:
    return load_settings({})


@pytest.fixture
def member(engine: Engine, settings: Settings) -> tuple[User, int, User]:
    """A self-registered organisation's first member, the organisation's id, and its city's lead."""
    with writing(engine) as conn:
        city = ensure_city(conn, City(name="Płock", country="PL", latitude=52.55, longitude=19.7, timezone="Europe/Warsaw"))
        lead = accounts.add_user(conn, "lead@plock.example", role=Role.CITY_LEAD, password=PASSWORD, settings=settings,
                                 now=NOW, city_ids=(city,))  # fmt: skip
        org, user = organisations.register_organisation(
            conn, name="Klub Ósemka", kind=ProviderKind.NGO, city_id=city, website="", contact_email="klub@example.pl",
            user_email="ola@example.pl", password=PASSWORD, settings=settings, now=NOW, confirmed=True)  # fmt: skip
    return user, org.id, lead


def count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_an_unverified_organisation_sends_no_invitations(
    engine: Engine, settings: Settings, member: tuple[User, int, User]
) -> None:
    user, org_id, lead = member
    mails = count(engine, mail_outbox)
    with pytest.raises(ForbiddenError), writing(engine) as conn:
        organisations.invite(conn, user, org_id, "anyone@example.org", settings=settings, now=NOW)
    assert count(engine, invitations) == 0 and count(engine, mail_outbox) == mails
    with writing(engine) as conn:
        organisations.verify_organisation(conn, lead, org_id, now=NOW)
        organisations.invite(conn, user, org_id, "colleague@example.pl", settings=settings, now=NOW)
    assert count(engine, invitations) == 1


def test_invitations_are_limited_per_organisation_and_day(
    engine: Engine, settings: Settings, member: tuple[User, int, User]
) -> None:
    user, org_id, lead = member
    with writing(engine) as conn:
        organisations.verify_organisation(conn, lead, org_id, now=NOW)
        for i in range(organisations.MAX_INVITATIONS_PER_DAY):
            organisations.invite(conn, user, org_id, f"person{i}@example.org", settings=settings, now=NOW)
    with pytest.raises(ForbiddenError), writing(engine) as conn:
        organisations.invite(conn, user, org_id, "one.more@example.org", settings=settings, now=NOW + timedelta(hours=23))
    with writing(engine) as conn:  # a day later the organisation may invite again
        organisations.invite(
            conn, user, org_id, "tomorrow@example.org", settings=settings, now=NOW + timedelta(days=1, seconds=1)
        )
    assert count(engine, invitations) == organisations.MAX_INVITATIONS_PER_DAY + 1


def test_inviting_an_address_with_an_account_answers_as_for_any_other(
    engine: Engine, settings: Settings, member: tuple[User, int, User]
) -> None:
    user, org_id, lead = member
    with writing(engine) as conn:
        organisations.verify_organisation(conn, lead, org_id, now=NOW)
        token = organisations.invite(conn, user, org_id, "lead@plock.example", settings=settings, now=NOW)
    assert token  # no "this address has an account" for the inviter to learn from


def test_reset_links_are_limited_per_account_and_hour(engine: Engine, settings: Settings, member: tuple[User, int, User]) -> None:
    with writing(engine) as conn:
        given = [accounts.request_password_reset(conn, "ola@example.pl", NOW, settings=settings) for _ in range(5)]
    assert [g is not None for g in given] == [True] * accounts.MAX_RESETS_PER_HOUR + [False] * (5 - accounts.MAX_RESETS_PER_HOUR)
    assert count(engine, password_resets) == accounts.MAX_RESETS_PER_HOUR
    with writing(engine) as conn:
        later = accounts.request_password_reset(conn, "ola@example.pl", NOW + timedelta(hours=1, seconds=1), settings=settings)
    assert later is not None


def test_using_one_reset_link_or_changing_the_password_voids_the_others(
    engine: Engine, settings: Settings, member: tuple[User, int, User]
) -> None:
    user, _org, _lead = member
    with writing(engine) as conn:
        first = accounts.request_password_reset(conn, "ola@example.pl", NOW, settings=settings)
        second = accounts.request_password_reset(conn, "ola@example.pl", NOW, settings=settings)
    assert first is not None and second is not None
    with writing(engine) as conn:
        accounts.complete_password_reset(conn, first[1], "a completely new passphrase", NOW, settings=settings)
    with pytest.raises(TokenError) as voided, writing(engine) as conn:
        accounts.complete_password_reset(conn, second[1], "someone else's passphrase", NOW, settings=settings)
    assert voided.value.code == "unknown"
    with writing(engine) as conn:
        third = accounts.request_password_reset(conn, "ola@example.pl", NOW, settings=settings)
        assert third is not None
        accounts.change_password(conn, user.id, "a completely new passphrase", "the passphrase I chose", settings=settings)
    with pytest.raises(TokenError), writing(engine) as conn:
        accounts.complete_password_reset(conn, third[1], "someone else's passphrase", NOW, settings=settings)


def test_the_audit_log_cannot_be_rewritten_nor_emptied(engine: Engine, member: tuple[User, int, User]) -> None:
    """Beside UPDATE and DELETE (tests/accounts/test_accounts.py): SQLite's INSERT OR REPLACE would
    replace entry 1 without a DELETE trigger firing, PostgreSQL's TRUNCATE fires no row trigger."""
    before = count(engine, audit_log)
    assert before > 0
    if engine.dialect.name == "sqlite":
        statements = [
            "INSERT OR REPLACE INTO audit_log (id, at, actor_label, action, entity, before, after, note) "
            "VALUES (1, '2026-01-01 00:00:00', 'x', 'nothing', 'nothing', '', '', 'rewritten')",
            "REPLACE INTO audit_log (id, at, actor_label, action, entity, before, after, note) "
            "VALUES (1, '2026-01-01 00:00:00', 'x', 'nothing', 'nothing', '', '', 'rewritten')",
        ]
    else:
        statements = ["TRUNCATE audit_log", "TRUNCATE audit_log CASCADE"]
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), writing(engine) as conn:
            conn.execute(text(statement))
    with engine.connect() as conn:
        assert count(engine, audit_log) == before
        assert "rewritten" not in conn.execute(select(audit_log.c.note)).scalars().all()


def _squat(conn: object, settings: Settings, city: int, now: datetime = NOW) -> tuple[int, User]:
    """Someone registers an organisation on an address that is not theirs (ceo@school.example)."""
    org, user = organisations.register_organisation(
        conn, name="Szkoła Podstawowa nr 1", kind=ProviderKind.SCHOOL, city_id=city, website="",  # type: ignore[arg-type]
        contact_email="x@example.org", user_email="ceo@school.example", password="squatter's own passphrase",
        settings=settings, now=now)  # fmt: skip
    return org.id, user


def test_an_account_is_usable_only_once_its_address_is_confirmed(
    engine: Engine, settings: Settings, member: tuple[User, int, User]
) -> None:
    _user, _org, lead = member
    with writing(engine) as conn:
        org_id, squatter = _squat(conn, settings, lead.city_ids[0])
        link = conn.execute(select(mail_outbox.c.body).where(mail_outbox.c.recipient == "ceo@school.example")).scalar_one()
        waiting = organisations.list_organisations(conn, unverified_only=True)
    assert not squatter.confirmed and org_id not in [o.id for o in waiting]  # no lead is asked to verify it yet
    with pytest.raises(UnconfirmedAccountError):
        accounts.authenticate(engine, "ceo@school.example", "squatter's own passphrase", "c", NOW, settings=settings)
    token = link.split("confirm=")[1].split()[0]
    with writing(engine) as conn:
        confirmed = organisations.confirm_registration(conn, token, settings=settings, now=NOW)
        leads_told = conn.execute(select(mail_outbox.c.recipient).where(mail_outbox.c.subject.contains("Szkoła"))).scalars().all()
    assert confirmed.confirmed and leads_told == ["lead@plock.example"]
    assert (
        accounts.authenticate(engine, "ceo@school.example", "squatter's own passphrase", "c", NOW, settings=settings).id
        == squatter.id
    )
    with pytest.raises(TokenError) as again, writing(engine) as conn:
        organisations.confirm_registration(conn, token, settings=settings, now=NOW)
    assert again.value.code == "used"


@pytest.mark.parametrize("claim", [None, False, "true", 1])
def test_an_identity_provider_links_only_an_address_it_says_is_verified(
    engine: Engine, settings: Settings, member: tuple[User, int, User], claim: object
) -> None:
    _user, _org, lead = member
    with writing(engine) as conn:
        _squat(conn, settings, lead.city_ids[0])
    with pytest.raises(SignInError), writing(engine) as conn:
        accounts.user_for_oidc(conn, email="ceo@school.example", subject="idp|ceo", email_verified=claim is True, now=NOW)
    with engine.connect() as conn:
        assert conn.execute(select(users.c.oidc_subject).where(users.c.email == "ceo@school.example")).scalar_one() is None


def test_the_owners_verified_sign_in_takes_the_account_from_whoever_registered_it(
    engine: Engine, settings: Settings, member: tuple[User, int, User]
) -> None:
    _user, _org, lead = member
    with writing(engine) as conn:
        _org_id, squatter = _squat(conn, settings, lead.city_ids[0])
        owner = accounts.user_for_oidc(conn, email="CEO@school.example", subject="idp|ceo", email_verified=True, now=NOW)
    assert owner.id == squatter.id and owner.confirmed
    with pytest.raises(SignInError):  # the password the squatter chose works no more
        accounts.authenticate(engine, "ceo@school.example", "squatter's own passphrase", "c", NOW, settings=settings)


def test_an_unconfirmed_registration_expires_and_frees_the_address(
    engine: Engine, settings: Settings, member: tuple[User, int, User]
) -> None:
    _user, _org, lead = member
    with writing(engine) as conn:
        _squat(conn, settings, lead.city_ids[0])
    later = NOW + timedelta(days=accounts.UNCONFIRMED_DAYS, seconds=1)
    with writing(engine) as conn:  # the owner registers their school a week later
        org, owner = organisations.register_organisation(
            conn, name="Szkoła Podstawowa nr 1", kind=ProviderKind.SCHOOL, city_id=lead.city_ids[0], website="",
            contact_email="sekretariat@school.example", user_email="ceo@school.example", password=PASSWORD,
            settings=settings, now=later)  # fmt: skip
        remaining = conn.execute(select(users.c.password_hash).where(users.c.email == "ceo@school.example")).scalars().all()
        schools = conn.execute(select(func.count()).select_from(providers).where(providers.c.name == org.name)).scalar_one()
    assert len(remaining) == 1 and schools == 1 and not owner.confirmed
    assert accounts.verify_password(remaining[0], PASSWORD)  # the owner's account, not the squatter's (ids may be reused)
