"""Backup and restore: every table row by row, older schemas upgraded, newer and damaged files
refused before anything changes, the address index and the search-index snapshots handled."""

from __future__ import annotations

import hashlib
import json
import math
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, String, insert, select, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.types import DateTime, LargeBinary, Numeric, Time

from cli.commands import main
from opportunities.accounts import accounts, audit
from opportunities.accounts.identity import Role
from opportunities.db import connection, queries, schema
from opportunities.demo.generator import REAL_ADDRESS_DIR
from opportunities.errors import BackupError, NewerSchemaError, NotABackupError, NotEmptyError
from opportunities.listings.importing import import_records
from opportunities.operations.backup import _Codec, restore_backup, write_backup
from opportunities.places.address_index import AddressIndex, area_stats, load_files
from opportunities.places.geocoding import Geocoder
from opportunities.settings import load_settings
from tests.conftest import ON_POSTGRES, Databases, template_row

NOW = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
SCRIPTS = "Łódź – Straße – Жар-птица – 東京"


def fill(engine: Engine, geocoder: Geocoder) -> None:
    """Demo-like data in every table: imported opportunities, accounts, sessions, audit entries, mail..."""
    rows = [template_row(),
            template_row(title=f"Kodklubb {SCRIPTS}", description="ß ł Ж\nzwei Zeilen", cost="12.50", currency="EUR",
                         start="2026-12-03", end="", schedule="", languages="pl;uk", address="", latitude="57.7",
                         longitude="11.97")]  # fmt: skip
    assert import_records(engine, rows, geocoder, publish=True).stored == 2
    settings = load_settings({})
    with connection.writing(engine) as conn:
        city = conn.execute(select(schema.cities.c.id)).scalar_one()
        organisation = conn.execute(select(schema.providers.c.id)).scalar_one()
        opportunity = conn.execute(select(schema.opportunities.c.id).order_by(schema.opportunities.c.id)).scalars().first()
        conn.execute(schema.providers.update().values(registered_at=NOW, verified_by=None))
        conn.execute(schema.organisation_trust.insert().values(provider_id=organisation, city_id=city, granted_at=NOW))
        admin = accounts.add_user(conn, "admin@example.org", role=Role.ADMIN, password=PASSWORD, settings=settings, now=NOW)
        accounts.add_user(conn, "lead@example.org", role=Role.CITY_LEAD, password=None, settings=settings, now=NOW,
                          city_ids=(city,), name="Jürgen Łukasz")  # fmt: skip
        provider = accounts.add_user(conn, "ana@example.org", role=Role.PROVIDER, password=None, settings=settings,
                                     now=NOW, organisation_id=organisation, name="Анна")  # fmt: skip
        accounts.start_session(conn, admin.id, NOW, settings=settings)
        audit.record(conn, actor=admin, action="verify", entity="provider", entity_id=organisation, city_id=city, now=NOW,
                     before={"verified": False}, after={"verified": True, "note": SCRIPTS}, note=SCRIPTS)  # fmt: skip
        conn.execute(insert(schema.sign_in_attempts), [
            {"at": NOW, "email": "admin@example.org", "client_key": "a" * 64, "succeeded": True},
            {"at": NOW + timedelta(seconds=1), "email": "x@example.org", "client_key": "b" * 64, "succeeded": False},
        ])  # fmt: skip
        conn.execute(insert(schema.invitations).values(token_hash="c" * 64, organisation_id=organisation, email="new@example.org",
                                                        invited_by=admin.id, created_at=NOW, expires_at=NOW + timedelta(days=7)))  # fmt: skip
        conn.execute(insert(schema.password_resets).values(token_hash="d" * 64, user_id=provider.id, created_at=NOW,
                                                            expires_at=NOW + timedelta(hours=1), used_at=NOW))  # fmt: skip
        conn.execute(insert(schema.address_confirmations).values(token_hash="e" * 64, user_id=provider.id, created_at=NOW,
                                                                  expires_at=NOW + timedelta(days=7), used_at=NOW))  # fmt: skip
        conn.execute(insert(schema.mail_outbox).values(created_at=NOW, recipient="ana@example.org", subject=f"Zaproszenie {SCRIPTS}",
                                                        body="Witaj!\nłącze: https://example.org/?t=1", sent_at=None, error=""))  # fmt: skip
        conn.execute(insert(schema.drafts).values(user_id=provider.id, organisation_id=organisation, opportunity_id=opportunity,
                                                   data=json.dumps({"title": SCRIPTS}, ensure_ascii=False), created_at=NOW,
                                                   updated_at=NOW))  # fmt: skip
        conn.execute(insert(schema.participation_reports).values(opportunity_id=opportunity, age_group="teens", participants=12,
                                                                  reported_at=NOW, reported_by=provider.id))  # fmt: skip
        conn.execute(insert(schema.districts).values(city_id=city, name="Centrum Ö", boundary='{"type": "Polygon", "coordinates": []}',
                                                      population=1234, population_by_age='{"teens": 100}', population_year=2024,
                                                      source="SCB"))  # fmt: skip
        texts = json.dumps({"en": {"name": "Kod", "description": SCRIPTS, "criteria": "3 sessions"}}, ensure_ascii=False)
        badge = {"texts": texts, "image_url": "", "tags": '["python"]', "topics": '["digital-skills"]', "status": "published",
                 "review_note": "", "created_by": provider.id, "created_at": NOW, "updated_at": NOW, "city_id": city}  # fmt: skip
        activity_badge = conn.execute(insert(schema.badge_achievements).returning(schema.badge_achievements.c.id).values(
            kind="activity", opportunity_id=opportunity, organisation_id=organisation, **badge)).scalar_one()  # fmt: skip
        playlist_badge = conn.execute(insert(schema.badge_achievements).returning(schema.badge_achievements.c.id).values(
            kind="playlist", opportunity_id=None, organisation_id=None, **badge)).scalar_one()  # fmt: skip
        playlist = conn.execute(insert(schema.badge_playlists).returning(schema.badge_playlists.c.id).values(
            city_id=city, achievement_id=playlist_badge, rule_kind="per_topic", rule_count=1, rule_topics='["digital-skills"]',
            created_by=admin.id, created_at=NOW, updated_at=NOW)).scalar_one()  # fmt: skip
        conn.execute(insert(schema.badge_playlist_members).values(playlist_id=playlist, achievement_id=activity_badge))
        conn.execute(insert(schema.badge_claim_codes).values(code_hash="f" * 64, kind="code", achievement_id=activity_badge,
                                                             label="Session 1", created_by=provider.id, created_at=NOW,
                                                             expires_at=NOW + timedelta(hours=2), max_uses=30, uses=2))  # fmt: skip
        status_list = conn.execute(insert(schema.badge_status_lists).returning(schema.badge_status_lists.c.id).values(
            city_id=city, issuer="did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", size=131072, next_position=2,
            stride=12345, shift=777, created_at=NOW)).scalar_one()  # fmt: skip
        conn.execute(insert(schema.badge_issuances), [
            {"credential_id": "urn:uuid:00000000-0000-4000-8000-000000000001", "achievement_id": activity_badge, "via": "code",
             "issued_at": NOW, "status_list_id": status_list, "status_index": 777, "revoked_at": None, "revoke_reason": ""},
            {"credential_id": "urn:uuid:00000000-0000-4000-8000-000000000002", "achievement_id": activity_badge, "via": "award",
             "issued_at": NOW, "status_list_id": status_list, "status_index": 13122, "revoked_at": NOW, "revoke_reason": SCRIPTS},
        ])  # fmt: skip
        conn.execute(insert(schema.badge_claim_attempts).values(at=NOW, client_key="a" * 64))
        feed = conn.execute(insert(schema.harvest_feeds).returning(schema.harvest_feeds.c.id).values(
            url="https://feeds.example.org/rpde", organisation_id=organisation, city_id=city, license="https://example.org/l",
            attribution=f"Źródło {SCRIPTS}", next_url="https://feeds.example.org/rpde?afterId=9", created_at=NOW,
            items_seen=1, items_stored=1, items_rejected=0, last_error="", errors=0, lease_owner="", caught_up_at=NOW, lag_s=0.0,
        )).scalar_one()  # fmt: skip
        conn.execute(insert(schema.harvested_items).values(feed_id=feed, item_id="9", kind="Event", modified=1_700_000_000_000_000,
                                                            upstream_id="https://feeds.example.org/events/9", opportunity_id=opportunity,
                                                            state="updated", problem="", harvested_at=NOW))  # fmt: skip


def rows_of(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, by primary key; timestamps in UTC (SQLite reads them naive)."""
    with engine.connect() as conn:
        return {
            t.name: [tuple(_utc(v) for v in row) for row in conn.execute(select(t).order_by(*t.primary_key.columns))]
            for t in schema.metadata.sorted_tables
        }


def _utc(value: Any) -> Any:
    return queries.aware(value) if isinstance(value, datetime) else value


@pytest.fixture
def other_url(databases: Databases, tmp_path: Path) -> Iterator[str]:
    """A second empty database, beside the test's own."""
    folder = tmp_path / "other"
    folder.mkdir()
    url = databases.create(folder)
    yield url
    databases.drop(url)


@pytest.fixture
def other(other_url: str) -> Iterator[Engine]:
    engine = connection.open_database(other_url)
    yield engine
    engine.dispose()


@pytest.fixture
def address_dir(tmp_path: Path, geocoder: Geocoder) -> Path:
    """An address index with one area: Kranj's real addresses (the demo's file)."""
    folder = tmp_path / "addresses"
    load_files([REAL_ADDRESS_DIR / "kranj_addresses.csv"], folder, geocoder.gazetteer)
    return folder


def test_round_trip_keeps_every_row_and_the_address_index(engine: Engine, other: Engine, geocoder: Geocoder,
                                                          address_dir: Path, tmp_path: Path) -> None:  # fmt: skip
    fill(engine, geocoder)
    before = rows_of(engine)
    # every table holds rows, but those of imports in progress
    assert [name for name, rows in before.items() if not rows] == ["staged_ids", "staged_opportunities", "staged_values"]
    out = tmp_path / "city.backup"
    steps: list[tuple[str, int, int]] = []
    report = write_backup(engine, out, address_dir=address_dir, progress=lambda *step: steps.append(step))
    assert report.tables == {name: len(rows) for name, rows in before.items()}
    assert report.revision == connection.schema_revision(engine) and report.address_files > 0
    assert ("opportunities", 2, 2) in steps and out.stat().st_mode & 0o077 == 0  # personal data: the owner's only

    new_addresses, cache = tmp_path / "restored-addresses", tmp_path / "cache"
    (cache / "search-index").mkdir(parents=True)
    (cache / "search-index" / "0123456789ab-0123456789abcdef.npz").write_bytes(b"an index of the data before")
    restored = restore_backup(other, out, address_dir=new_addresses, cache_dir=cache)
    assert restored.tables == report.tables and restored.warnings == ()
    assert rows_of(other) == before
    assert not (cache / "search-index").exists()
    assert area_stats(new_addresses) == area_stats(address_dir) and restored.address_areas == ("kranj-addresses",)
    index = AddressIndex.open(new_addresses)
    assert index is not None and index.size == AddressIndex.open(address_dir).size  # type: ignore[union-attr]

    with other.connect() as conn:  # the text exactly, in every script
        assert conn.execute(select(schema.audit_log.c.note).where(schema.audit_log.c.action == "verify")).scalar_one() == SCRIPTS
        cost, start = conn.execute(
            select(schema.opportunities.c.cost, schema.opportunities.c.start_time).where(schema.opportunities.c.currency == "EUR")
        ).one()
        assert (cost, start) == (Decimal("12.50"), None)
    # Ids go on after the restored ones, and the audit log still refuses changes.
    with connection.writing(other) as conn:
        entry = audit.record(conn, actor=None, action="restore", entity="database", entity_id=None, now=NOW)
    assert entry == max(row[0] for row in before["audit_log"]) + 1
    with pytest.raises(DatabaseError, match="append-only"), connection.writing(other) as conn:
        conn.execute(schema.audit_log.delete())
    assert (
        accounts.authenticate(other, "admin@example.org", PASSWORD, "127.0.0.1", NOW, settings=load_settings({})).role
        is Role.ADMIN
    )


def test_a_backup_is_one_snapshot(engine: Engine, geocoder: Geocoder, tmp_path: Path) -> None:
    """A city added while the backup runs (after the audit log, before the cities) is not in it."""
    fill(engine, geocoder)
    cities = len(rows_of(engine)["cities"])

    def write_meanwhile(step: str, done: int, total: int) -> None:
        if step == "audit_log":
            with connection.writing(engine) as conn:
                conn.execute(insert(schema.cities).values(name="Maribor", name_key="maribor", country="SI", latitude=46.55,
                                                           longitude=15.65, timezone="Europe/Ljubljana"))  # fmt: skip

    report = write_backup(engine, tmp_path / "b.zip", address_dir=tmp_path / "none", progress=write_meanwhile)
    assert report.tables["cities"] == cities and len(rows_of(engine)["cities"]) == cities + 1


@pytest.mark.parametrize("revision", ["0001", "0005"])
def test_an_older_backup_is_restored_upgraded(database_url: str, other: Engine, tmp_path: Path, revision: str) -> None:
    old = connection.create_db_engine(database_url)
    connection.migrate(old, revision)
    search = ("", "") if revision < "0004" else (", search_text", ", 'robotika'")
    with old.begin() as conn:
        conn.execute(text("INSERT INTO cities (id, name, name_key, country, latitude, longitude, timezone) "
                          "VALUES (7, 'Kranj', 'kranj', 'SI', 46.24, 14.36, 'Europe/Ljubljana')"))  # fmt: skip
        conn.execute(text("INSERT INTO providers (id, name, name_key, kind, website, contact_email) "
                          "VALUES (3, 'MC Kranj', 'mc kranj', 'youth-centre', '', '')"))  # fmt: skip
        conn.execute(
            text(
                "INSERT INTO opportunities (id, title, description, provider_id, city_id, venue, address, latitude, "
                "longitude, location_precision, location_source, age_min, mode, type, start_date, schedule, cost, "
                f"currency, url, contact_email, status, dedup_key{search[0]}, created_at, updated_at) VALUES (5, 'Robotika', "
                "'', 3, 7, '', '', 46.24, 14.36, 'provided', 'provider', 13, 'in-person', 'workshop', '2026-12-10', '', 0, "
                f"'', '', '', 'published', 'k1'{search[1]}, :now, :now)"
            ),
            {"now": NOW},
        )
        conn.execute(text("INSERT INTO opportunity_topics VALUES (5, 'digital-skills')"))
    report = write_backup(old, tmp_path / "old.zip", address_dir=tmp_path / "none")
    assert report.revision == revision and "users" not in report.tables
    assert connection.schema_revision(old) == revision  # a backup never migrates
    old.dispose()

    restored = restore_backup(other, tmp_path / "old.zip", address_dir=tmp_path / "a", cache_dir=tmp_path / "c")
    assert (restored.revision, restored.schema) == (revision, connection.known_revisions(other)[-1])
    assert connection.is_schema_current(other)
    with other.connect() as conn:
        opp = queries.get_opportunity(conn, 5)
        assert conn.execute(select(schema.providers.c.verified_at)).scalar_one() is not None  # set by 0006
    assert (opp.title, opp.city, opp.provider, opp.topics, opp.uncertainty_m) == (
        "Robotika",
        "Kranj",
        "MC Kranj",
        ("digital-skills",),
        None,
    )
    assert opp.created_at == NOW


def _rewrite(backup: Path, out: Path, **members: bytes) -> Path:
    """A copy of ``backup`` with some members replaced (``tables__cities_jsonl`` for tables/cities.jsonl)."""
    replaced = {
        name.replace("__", "/").replace("_jsonl", ".jsonl").replace("_json", ".json"): data for name, data in members.items()
    }
    with zipfile.ZipFile(backup) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info.filename, replaced.get(info.filename, source.read(info.filename)))
    return out


def test_a_newer_schema_is_refused_and_changes_nothing(engine: Engine, geocoder: Geocoder, tmp_path: Path) -> None:
    fill(engine, geocoder)
    backup = tmp_path / "b.zip"
    write_backup(engine, backup, address_dir=tmp_path / "none")
    with zipfile.ZipFile(backup) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    newer = _rewrite(backup, tmp_path / "newer.zip", manifest_json=json.dumps({**manifest, "revision": "0999"}).encode())
    before = rows_of(engine)
    with pytest.raises(NewerSchemaError, match=r"revision 0999, which this version .* \(its newest is 00\d\d\)"):
        restore_backup(engine, newer, address_dir=tmp_path / "a", cache_dir=tmp_path / "c", replace=True)
    assert rows_of(engine) == before


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("member", r"tables/opportunities.jsonl is damaged \(its checksum"),
        ("truncated", "not a zip archive, or a truncated one"),
        ("other zip", "it has no manifest.json"),
        ("csv", "not a zip archive"),
        ("extra member", "its members are not those its manifest lists"),
        ("foreign path", "an address file '../../etc/passwd' outside the address index"),
    ],
)
def test_a_damaged_or_foreign_file_is_refused_before_any_change(engine: Engine, geocoder: Geocoder, tmp_path: Path,
                                                                damage: str, message: str) -> None:  # fmt: skip
    fill(engine, geocoder)
    backup = tmp_path / "b.zip"
    write_backup(engine, backup, address_dir=tmp_path / "none")
    with zipfile.ZipFile(backup) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        opportunities = archive.read("tables/opportunities.jsonl")
    bad = tmp_path / "bad.zip"
    if damage == "member":
        _rewrite(backup, bad, tables__opportunities_jsonl=opportunities.replace(b"Kodklubb", b"Kodklubba", 1))
    elif damage == "truncated":
        bad.write_bytes(backup.read_bytes()[: backup.stat().st_size // 2])
    elif damage == "other zip":
        with zipfile.ZipFile(bad, "w") as archive:
            archive.writestr("data.csv", "a,b\n")
    elif damage == "csv":
        bad.write_text("title,provider\nKodklubb,Bibliotek\n", encoding="utf-8")
    elif damage == "extra member":
        _rewrite(backup, bad)
        with zipfile.ZipFile(bad, "a") as archive:
            archive.writestr("tables/secret.jsonl", "[1]\n")
    else:
        files = [{"path": "../../etc/passwd", "member": "addresses/../../etc/passwd", "bytes": 1, "sha256": "0" * 64}]
        _rewrite(backup, bad, manifest_json=json.dumps({**manifest, "files": files}).encode())
    before = rows_of(engine)
    with pytest.raises(NotABackupError, match=message) as caught:
        restore_backup(engine, bad, address_dir=tmp_path / "a", cache_dir=tmp_path / "c", replace=True)
    assert str(caught.value).startswith("not a backup of this app: ")
    assert rows_of(engine) == before and not (tmp_path / "a").exists()


def test_a_restore_that_fails_half_way_changes_nothing(engine: Engine, geocoder: Geocoder, tmp_path: Path) -> None:
    """A row the database refuses (here a city twice) rolls back the whole restore: tables, schema and all."""
    fill(engine, geocoder)
    backup = tmp_path / "b.zip"
    write_backup(engine, backup, address_dir=tmp_path / "none")
    with zipfile.ZipFile(backup) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        cities = archive.read("tables/cities.jsonl")
    twice = cities + cities
    for table in manifest["tables"]:
        if table["name"] == "cities":
            table.update(rows=table["rows"] * 2, bytes=len(twice), sha256=hashlib.sha256(twice).hexdigest())
    bad = _rewrite(backup, tmp_path / "bad.zip", tables__cities_jsonl=twice, manifest_json=json.dumps(manifest).encode())
    before = rows_of(engine)
    with pytest.raises(
        BackupError, match=r"^line 2 \(id \d+\) of table cities cannot be stored in this database \(.*\); nothing was changed$"
    ):
        restore_backup(engine, bad, address_dir=tmp_path / "a", cache_dir=tmp_path / "c", replace=True)
    assert rows_of(engine) == before and connection.is_schema_current(engine)


def test_a_restore_refuses_to_replace_data_unless_told(engine: Engine, other: Engine, geocoder: Geocoder,
                                                       address_dir: Path, tmp_path: Path) -> None:  # fmt: skip
    fill(engine, geocoder)
    backup = tmp_path / "b.zip"
    write_backup(engine, backup, address_dir=tmp_path / "none")  # no address areas in this one
    with connection.writing(other) as conn:
        conn.execute(insert(schema.sign_in_attempts).values(at=NOW, email="a@example.org", client_key="k", succeeded=False))
    with pytest.raises(NotEmptyError) as caught:
        restore_backup(other, backup, address_dir=address_dir, cache_dir=tmp_path / "c")
    assert caught.value.held == {"sign_in_attempts": 1, "address areas": 1}
    assert "sign_in_attempts 1, address areas 1" in str(caught.value)

    restore_backup(other, backup, address_dir=address_dir, cache_dir=tmp_path / "c", replace=True)
    assert rows_of(other) == rows_of(engine)
    assert area_stats(address_dir) == [] and AddressIndex.open(address_dir) is None  # as in the backup: none


def test_a_failed_backup_leaves_no_file(engine: Engine, geocoder: Geocoder, tmp_path: Path) -> None:
    fill(engine, geocoder)
    out = tmp_path / "b.zip"

    def fail(step: str, done: int, total: int) -> None:
        if step == "opportunities":
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        write_backup(engine, out, address_dir=tmp_path / "none", progress=fail)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith((".b.zip", "b.zip"))] == []
    out.write_text("an earlier backup", encoding="utf-8")
    with pytest.raises(BackupError, match="exists already"):
        write_backup(engine, out, address_dir=tmp_path / "none")
    assert out.read_text(encoding="utf-8") == "an earlier backup"
    assert write_backup(engine, out, address_dir=tmp_path / "none", overwrite=True).rows > 0


def test_an_empty_database_has_nothing_to_back_up(tmp_path: Path) -> None:
    engine = connection.create_db_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(BackupError, match="no schema of this app"):
        write_backup(engine, tmp_path / "b.zip", address_dir=tmp_path / "none")
    engine.dispose()
    assert not (tmp_path / "b.zip").exists()


def test_the_commands(engine: Engine, other_url: str, geocoder: Geocoder, address_dir: Path, tmp_path: Path,
                      monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    fill(engine, geocoder)
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("ADDRESS_INDEX_DIR", str(address_dir))
    monkeypatch.setenv("CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "city.zip"
    assert main(["backup", str(out)]) == 0
    captured = capsys.readouterr()
    revision = connection.schema_revision(engine)
    assert captured.out.startswith(f"backup written to {out}: {len(schema.metadata.tables)} tables, ")
    assert f"bytes, schema revision {revision}\n" in captured.out and "address files" in captured.out
    assert "opportunities: 2/2, done in " in captured.err
    assert "users: 3/3, done in " in captured.err
    assert main(["backup", str(out)]) == 2
    assert f"error: {out} exists already; name another file, or overwrite it with --force" in capsys.readouterr().err

    monkeypatch.setenv("DATABASE_URL", other_url)
    monkeypatch.setenv("ADDRESS_INDEX_DIR", str(tmp_path / "other-addresses"))
    assert main(["restore", str(out)]) == 0
    captured = capsys.readouterr()
    assert (
        captured.out
        == f"restored {out}: {len(schema.metadata.tables)} tables, {sum(map(len, rows_of(engine).values()))} rows, 1 address areas, "
        f"schema revision {revision}\n"
    )
    assert "checksums verified: " in captured.err
    assert list((tmp_path / "cache" / "search-index").glob("*.npz"))  # built again for the restored data
    assert main(["restore", str(out)]) == 2
    err = capsys.readouterr().err
    assert "error: the database or the address index holds data a restore would replace (" in err
    assert "nothing was changed. To replace it all with the backup, restore with --force" in err
    assert main(["restore", "--force", str(out)]) == 0
    capsys.readouterr()

    (tmp_path / "list.csv").write_text("title\nKodklubb\n", encoding="utf-8")
    assert main(["restore", "--force", str(tmp_path / "list.csv")]) == 2
    assert capsys.readouterr().err.startswith(f"error: not a backup of this app: {tmp_path / 'list.csv'}: not a zip archive")
    assert main(["restore", str(tmp_path / "missing.zip")]) == 4
    assert "missing.zip" in capsys.readouterr().err
    other = connection.create_db_engine(other_url)
    assert rows_of(other) == rows_of(engine)
    other.dispose()


@pytest.mark.skipif(not ON_POSTGRES, reason="moves a city from SQLite to PostgreSQL: needs TEST_DATABASE_URL")
def test_a_city_moves_from_sqlite_to_postgresql_and_back(engine: Engine, geocoder: Geocoder, tmp_path: Path) -> None:
    lite = connection.open_database(f"sqlite:///{tmp_path / 'city.db'}")
    fill(lite, geocoder)
    write_backup(lite, tmp_path / "from-sqlite.zip", address_dir=tmp_path / "none")
    restore_backup(engine, tmp_path / "from-sqlite.zip", address_dir=tmp_path / "a", cache_dir=tmp_path / "c")
    assert rows_of(engine) == rows_of(lite)

    write_backup(engine, tmp_path / "from-postgresql.zip", address_dir=tmp_path / "none")
    back = connection.create_db_engine(f"sqlite:///{tmp_path / 'back.db'}")
    restore_backup(back, tmp_path / "from-postgresql.zip", address_dir=tmp_path / "a", cache_dir=tmp_path / "c")
    assert rows_of(back) == rows_of(lite)
    lite.dispose()
    back.dispose()


@pytest.mark.parametrize(
    ("column_type", "value", "stored"),
    [
        (String(), SCRIPTS, SCRIPTS),
        (String(), "", ""),
        (String(), "zwei\nZeilen\r\u2028\u0085\x00", "zwei\nZeilen\r\u2028\u0085\x00"),  # one line still
        (String(), None, None),
        (Numeric(10, 2), Decimal("12.50"), "12.50"),
        (Numeric(10, 2), Decimal("0.10"), "0.10"),
        (LargeBinary(), b"\x00\xff$argon2id$", {"base64": "AP8kYXJnb24yaWQk"}),
        (DateTime(timezone=True), datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=UTC), "2026-03-02T09:30:15.123456+00:00"),
        # SQLite returns these naive, in UTC; PostgreSQL in the session's time zone.
        (DateTime(timezone=True), datetime(2026, 3, 2, 9, 30), "2026-03-02T09:30:00+00:00"),
        (
            DateTime(timezone=True),
            datetime(2026, 3, 2, 22, 15, tzinfo=timezone(timedelta(hours=13, minutes=45))),
            "2026-03-02T08:30:00+00:00",
        ),
        (DateTime(), datetime(2026, 3, 2, 9, 30), "2026-03-02T09:30:00"),
        (Time(), time(17, 0), "17:00:00"),
        (schema.opportunities.c.start_date.type, date(2026, 12, 2), "2026-12-02"),
        (schema.sign_in_attempts.c.succeeded.type, False, False),
        (schema.cities.c.latitude.type, 0.1 + 0.2, 0.30000000000000004),
        (schema.cities.c.latitude.type, -180.0, -180.0),
        (schema.users.c.id.type, 2**31 - 1, 2**31 - 1),
    ],
)
def test_values_are_kept_exactly(column_type: Any, value: Any, stored: Any) -> None:
    codec = _Codec([column_type])
    line = codec.line([value])
    assert json.loads(line) == [stored] and "\n" not in line
    [read] = codec.values(line.encode())
    assert _utc(read) == _utc(value) and type(read) is type(value)
    if getattr(column_type, "timezone", False):
        assert read.utcoffset() == timedelta(0)  # what PostgreSQL is sent: never a naive time it would read as local


def test_a_float_keeps_every_bit() -> None:
    codec = _Codec([schema.cities.c.latitude.type])
    for value in (math.pi, 1e-310, 5e-324, 1.7976931348623157e308, -0.0):
        [back] = codec.values(codec.line([value]))
        assert back == value and math.copysign(1, back) == math.copysign(1, value)


@pytest.mark.parametrize("line", [b'{"id": 1}', b'[{"base64": "not base64!"}]', b'[{"python": "object"}]', b"[1,", b'["x"]'])
def test_a_line_that_is_not_a_row_is_refused(line: bytes) -> None:
    with pytest.raises((ValueError, ArithmeticError)):
        _Codec([schema.opportunities.c.cost.type]).values(line)
