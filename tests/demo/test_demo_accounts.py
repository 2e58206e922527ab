"""The demo makes one account per role with a password shown once, and leaves real accounts alone."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from cli.commands import EXIT_UNUSABLE, main
from opportunities import __version__
from opportunities.accounts import accounts, identity
from opportunities.accounts.identity import Role
from opportunities.db import connection, queries, schema
from opportunities.db.connection import create_db_engine
from opportunities.errors import SignInError
from opportunities.settings import load_settings

ACCOUNT_LINE = re.compile(r"^\s+(\w+)\s+(\S+@demo\.example)\s+password: (\S+)\s+\((.+)\)$", re.MULTILINE)
NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def database(monkeypatch: pytest.MonkeyPatch, database_url: str) -> str:
    monkeypatch.setenv("DATABASE_URL", database_url)
    return database_url


def run_demo(capsys: pytest.CaptureFixture[str]) -> dict[str, tuple[str, str, str]]:
    """Run ``demo`` and read what it printed: email -> (role, password, scope)."""
    assert main(["demo", "--size", "30"]) == 0
    printed = capsys.readouterr().out
    return {email: (role, password, scope) for role, email, password, scope in ACCOUNT_LINE.findall(printed)}


def sign_in(email: str, password: str) -> identity.User:
    settings = load_settings()
    engine = create_db_engine(settings.database_url)
    try:
        return accounts.authenticate(engine, email, password, accounts.client_key("127.0.0.1"), NOW, settings=settings)
    finally:
        engine.dispose()


def test_the_demo_prints_one_account_per_role_that_signs_in(capsys: pytest.CaptureFixture[str]) -> None:
    made = run_demo(capsys)
    assert {role for role, _password, _scope in made.values()} == {"admin", "city_lead", "provider"}
    by_role = {role: (email, password, scope) for email, (role, password, scope) in made.items()}
    admin, lead, provider = (sign_in(*by_role[role][:2]) for role in ("admin", "city_lead", "provider"))
    assert admin.role is Role.ADMIN
    assert lead.role is Role.CITY_LEAD
    assert provider.role is Role.PROVIDER and provider.organisation_id is not None
    assert by_role["city_lead"][2] == "Warszawa"
    assert by_role["provider"][2].endswith("(Ljubljana)")
    engine = create_db_engine(load_settings().database_url)
    try:
        with engine.connect() as conn:
            assert [c.name for c in (queries.find_city(conn, "Warszawa"),) if c is not None and c.id in lead.city_ids]
            organisation = conn.execute(select(schema.providers).where(schema.providers.c.id == provider.organisation_id)).one()
            ljubljana = queries.find_city(conn, "Ljubljana")
            assert ljubljana is not None and organisation.city_id == ljubljana.id
            assert organisation.verified_at is not None  # its listings can be reviewed and published
            hashes = conn.execute(select(schema.users.c.password_hash)).scalars().all()
    finally:
        engine.dispose()
    for _role, password, _scope in made.values():
        assert len(password) >= 16
        assert all(password not in stored for stored in hashes)  # only the Argon2 hash is kept
        assert all(stored.startswith("$argon2id$") for stored in hashes)


def test_every_run_gives_new_passwords_and_the_old_ones_stop_working(capsys: pytest.CaptureFixture[str]) -> None:
    first = run_demo(capsys)
    second = run_demo(capsys)
    assert first.keys() == second.keys()
    for email, (_role, password, _scope) in first.items():
        assert password != second[email][1]
        with pytest.raises(SignInError):
            sign_in(email, password)
        sign_in(email, second[email][1])


def test_the_demo_leaves_a_database_with_real_accounts_alone(capsys: pytest.CaptureFixture[str]) -> None:
    run_demo(capsys)
    settings = load_settings()
    engine = create_db_engine(settings.database_url)
    try:
        with connection.writing(engine) as conn:
            accounts.add_user(conn, "ana.kos@mck.si", role=Role.ADMIN, password="kranj-mladi-2026!", settings=settings, now=NOW)
        with engine.connect() as conn:
            before = conn.execute(select(func.count()).select_from(schema.opportunities)).scalar_one()
        assert main(["demo", "--size", "5"]) == EXIT_UNUSABLE
        error = capsys.readouterr().err
        assert "ana.kos@mck.si" in error and "DATABASE_URL" in error
        assert "Traceback" not in error
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(schema.opportunities)).scalar_one() == before
    finally:
        engine.dispose()
    sign_in("ana.kos@mck.si", "kranj-mladi-2026!")


def test_the_version_is_one_number_everywhere(capsys: pytest.CaptureFixture[str]) -> None:
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"python -m opportunities {__version__}"
    assert tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"] == __version__
    changelog = (root / "CHANGELOG.md").read_text(encoding="utf-8")
    released = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", changelog, re.MULTILINE)
    assert released and released[0] == __version__, "the newest release in CHANGELOG.md is this version"


def test_the_demo_has_badges_and_a_playlist_to_claim(capsys: pytest.CaptureFixture[str]) -> None:
    """A first hour shows recognition too: some of the demo provider's activities award a
    published badge, in the four languages, and a playlist of them asks for any two."""
    from opportunities.badges import achievements, playlists
    from opportunities.vocabulary import Status

    assert main(["demo", "--size", "200"]) == 0
    assert "award a badge, and a playlist asks for any two of them" in capsys.readouterr().out
    engine = create_db_engine(load_settings().database_url)
    try:
        with engine.connect() as conn:
            badges = achievements.list_achievements(conn, statuses=[Status.PUBLISHED], kind=achievements.Kind.ACTIVITY)
            [playlist] = playlists.list_playlists(conn)
    finally:
        engine.dispose()
    assert 2 <= len(badges) <= 3
    assert all(set(b.texts) == {"en", "sv", "sl", "pl"} for b in badges)
    assert set(playlist.members) == {b.id for b in badges}
    assert playlist.rule == playlists.Rule.any_n(2)
