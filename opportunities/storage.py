"""The database: schema, engine, migrations and the reads and writes the domain needs.

Portable SQL only (SQLite by default, PostgreSQL by URL). Multi-valued fields (topics,
languages) live in their own indexed tables. Concurrent writers queue instead of failing or losing
updates: on SQLite (in WAL mode) write transactions begin ``IMMEDIATE``; on PostgreSQL they first
take one transaction-level advisory lock, which readers never wait for.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    create_engine,
    event,
    select,
)
from sqlalchemy.engine import make_url

from opportunities.errors import NotFoundError
from opportunities.model import City, Opportunity, Provider
from opportunities.text import fold
from opportunities.vocabulary import Mode, OpportunityType, Precision, ProviderKind, Status

metadata = MetaData()
# Longest folded name a city or provider can be stored under (validation rejects longer names).
CITY_KEY_LENGTH = 100
PROVIDER_KEY_LENGTH = 200

cities = Table(
    "cities",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("name_key", String(CITY_KEY_LENGTH), nullable=False),
    Column("country", String(2), nullable=False),
    Column("latitude", Float, nullable=False),
    Column("longitude", Float, nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("boundary", Text),
    Column("geonameid", Integer, unique=True),
    UniqueConstraint("country", "name_key", name="uq_cities_country_name"),
)

districts = Table(
    "districts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("city_id", Integer, ForeignKey("cities.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("boundary", Text, nullable=False),  # a GeoJSON Polygon or MultiPolygon in EPSG:4326
    Column("population", Integer),  # residents; NULL when not known
    Column("population_by_age", Text, nullable=False, default="{}"),  # JSON: age group id -> residents
    Column("population_year", Integer),
    Column("source", Text, nullable=False, default=""),  # where the boundary and figures come from
)

providers = Table(
    "providers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("name_key", String(PROVIDER_KEY_LENGTH), nullable=False, unique=True),
    Column("kind", String(20), nullable=False),
    Column("city_id", Integer, ForeignKey("cities.id")),
    Column("website", String(2000), nullable=False, default=""),
    Column("contact_email", String(254), nullable=False, default=""),
    # Organisations are providers: one registered in the app waits for a city lead's verification
    # before any of its listings is published. Providers imported by an admin count as verified.
    Column("verified_at", DateTime(timezone=True)),
    Column("verified_by", Integer),  # a user id; no foreign key, which would make a cycle with users
    Column("trusted", Boolean, nullable=False, default=False),  # may publish without review
    Column("registered_at", DateTime(timezone=True)),  # NULL: not registered in the app
)

opportunities = Table(
    "opportunities",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("provider_id", Integer, ForeignKey("providers.id"), nullable=False, index=True),
    Column("city_id", Integer, ForeignKey("cities.id"), nullable=False),
    Column("venue", String(200), nullable=False, default=""),
    Column("address", String(300), nullable=False, default=""),
    Column("latitude", Float),
    Column("longitude", Float),
    Column("location_precision", String(10)),
    Column("location_source", String(100), nullable=False, default=""),
    Column("location_uncertainty_m", Integer),
    Column("age_min", Integer, nullable=False),
    Column("age_max", Integer),
    Column("mode", String(10), nullable=False),
    Column("type", String(20), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("start_time", Time),
    Column("end_date", Date),
    Column("end_time", Time),
    Column("schedule", String(500), nullable=False, default=""),
    Column("cost", Numeric(10, 2), nullable=False, default=0),
    Column("currency", String(3), nullable=False, default=""),
    Column("url", String(2000), nullable=False, default=""),
    Column("contact_email", String(254), nullable=False, default=""),
    Column("accessibility", Text, nullable=False, default=""),
    Column("status", String(10), nullable=False),
    Column("dedup_key", String(40), nullable=False, unique=True),
    # fold(title + " " + description): free-text search is a LIKE on it, so SQLite and PostgreSQL
    # match case, accents and every script alike (see search_text()).
    Column("search_text", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("verified_at", DateTime(timezone=True)),
    Column("review_note", Text, nullable=False, default=""),  # the city lead's reason or request, for the provider
    Column("archive_reason", String(20), nullable=False, default=""),  # "ended", "withdrawn", ...
    Column("submitted_by", Integer, ForeignKey("users.id", name="fk_opportunities_submitted_by")),
    Index("ix_opportunities_status_city", "status", "city_id"),
    Index("ix_opportunities_lat_lon", "latitude", "longitude"),
    Index("ix_opportunities_start", "start_date"),
    Index("ix_opportunities_updated_at", "updated_at"),
)


_TZ = DateTime(timezone=True)

# --- accounts (see opportunities/accounts.py, organisations.py, audit.py, mail.py) ------

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(254), nullable=False, unique=True),  # normalised: accounts.normalise_email
    Column("name", String(100), nullable=False, default=""),
    Column("password_hash", String(200)),  # NULL: signs in through OpenID Connect only
    Column("role", String(20), nullable=False),
    Column("organisation_id", Integer, ForeignKey("providers.id"), index=True),
    Column("oidc_subject", String(255), unique=True),
    Column("language", String(2), nullable=False, default="en"),
    Column("created_at", _TZ, nullable=False),
    Column("disabled_at", _TZ),
)

city_leads = Table(
    "city_leads",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("city_id", Integer, ForeignKey("cities.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_city_leads_city_id", "city_id"),
)

sign_in_sessions = Table(
    "sign_in_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # SHA-256 of the token; the token is only in the cookie
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", _TZ, nullable=False),
    Column("expires_at", _TZ, nullable=False),
    Column("last_seen_at", _TZ, nullable=False),
)

sign_in_attempts = Table(
    "sign_in_attempts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", _TZ, nullable=False),
    Column("email", String(254), nullable=False),
    Column("client_key", String(64), nullable=False),  # SHA-256 of the client's address, not the address
    Column("succeeded", Boolean, nullable=False),
    Index("ix_sign_in_attempts_email_at", "email", "at"),
    Index("ix_sign_in_attempts_client_at", "client_key", "at"),
)

invitations = Table(
    "invitations",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("organisation_id", Integer, ForeignKey("providers.id", ondelete="CASCADE"), nullable=False),
    Column("email", String(254), nullable=False),
    Column("invited_by", Integer, ForeignKey("users.id")),
    Column("created_at", _TZ, nullable=False),
    Column("expires_at", _TZ, nullable=False),
    Column("accepted_at", _TZ),
)

password_resets = Table(
    "password_resets",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", _TZ, nullable=False),
    Column("expires_at", _TZ, nullable=False),
    Column("used_at", _TZ),
)

# Append-only: the code has no update or delete, and a trigger refuses both (migration 0006).
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", _TZ, nullable=False),
    Column("actor_id", Integer, ForeignKey("users.id")),
    Column("actor_label", String(100), nullable=False, default=""),  # e.g. "command line" when no user
    Column("action", String(50), nullable=False),
    Column("entity", String(50), nullable=False),
    Column("entity_id", Integer),
    Column("city_id", Integer, ForeignKey("cities.id")),
    Column("before", Text, nullable=False, default=""),  # JSON
    Column("after", Text, nullable=False, default=""),  # JSON
    Column("note", Text, nullable=False, default=""),
    Index("ix_audit_log_city_at", "city_id", "at"),
    Index("ix_audit_log_entity", "entity", "entity_id"),
)

mail_outbox = Table(
    "mail_outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("created_at", _TZ, nullable=False),
    Column("recipient", String(254), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("body", Text, nullable=False),
    Column("sent_at", _TZ),  # NULL: not sent (no SMTP server configured, or sending failed: see error)
    Column("error", Text, nullable=False, default=""),
)

drafts = Table(
    "drafts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("organisation_id", Integer, ForeignKey("providers.id", ondelete="CASCADE"), nullable=False),
    Column("opportunity_id", Integer, ForeignKey("opportunities.id", ondelete="CASCADE")),  # editing a listing
    Column("data", Text, nullable=False, default="{}"),  # JSON of the form's fields
    Column("created_at", _TZ, nullable=False),
    Column("updated_at", _TZ, nullable=False),
)

participation_reports = Table(
    "participation_reports",
    metadata,
    Column("opportunity_id", Integer, ForeignKey("opportunities.id", ondelete="CASCADE"), primary_key=True),
    Column("age_group", String(20), primary_key=True),
    Column("participants", Integer, nullable=False),
    Column("reported_at", _TZ, nullable=False),
    Column("reported_by", Integer, ForeignKey("users.id")),
)


def _values_table(name: str, column: str, length: int) -> Table:
    """A multi-valued field of opportunities: one row per (opportunity, value), indexed by value."""
    return Table(
        name,
        metadata,
        Column("opportunity_id", Integer, ForeignKey("opportunities.id", ondelete="CASCADE"), primary_key=True),
        Column(column, String(length), primary_key=True),
        Index(f"ix_{name}_{column}", column, "opportunity_id"),
    )


opportunity_topics = _values_table("opportunity_topics", "topic", 30)
opportunity_languages = _values_table("opportunity_languages", "language", 2)

_MIGRATIONS = Path(__file__).parent / "migrations"
# PostgreSQL advisory lock held by every write transaction (any constant; per database).
_WRITE_LOCK = 0x436F4C6D6170  # "CoLmap"


def create_db_engine(url: str, *, busy_timeout_s: float = 30.0) -> Engine:
    """An engine for ``url``; SQLite files get WAL, foreign keys and a busy timeout.

    A write that waits longer than ``busy_timeout_s`` for another writer to finish raises
    :class:`sqlalchemy.exc.OperationalError` ("database is locked") on SQLite.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        engine = create_engine(url, pool_pre_ping=True)
        if parsed.get_backend_name() == "postgresql":

            @event.listens_for(engine, "begin")
            def _queue_writers(conn: Connection) -> None:
                # Like BEGIN IMMEDIATE below: a writer reads only after the previous one committed, so
                # two imports cannot both add the same city, provider or opportunity.
                if conn.get_execution_options().get("write", False):
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_WRITE_LOCK})")

        return engine
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": busy_timeout_s})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction: committed on success, rolled back on any error."""
    with engine.connect() as plain:
        conn = plain.execution_options(write=True)
        with conn.begin():
            yield conn


@contextmanager
def rolled_back(engine: Engine) -> Iterator[Connection]:
    """A write transaction that is always rolled back: to see what writes would do (a preview)."""
    with engine.connect() as plain:
        conn = plain.execution_options(write=True)
        transaction = conn.begin()
        try:
            yield conn
        finally:
            transaction.rollback()


def open_database(url: str, *, busy_timeout_s: float = 30.0) -> Engine:
    """An engine on ``url`` with the schema upgraded to the latest revision."""
    engine = create_db_engine(url, busy_timeout_s=busy_timeout_s)
    migrate(engine)
    return engine


def reset_database(engine: Engine) -> None:
    """Drop every table (data included) and create the current schema."""
    from sqlalchemy import text

    metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    migrate(engine)


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to ``revision``, keeping the data."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def migrate_connection(conn: Connection, revision: str = "head") -> None:
    """Upgrade the schema to ``revision`` inside ``conn``'s open transaction, which commits or rolls
    back the migrations together with the caller's own writes (a restore)."""
    from alembic import command

    config = alembic_config(conn.engine)
    config.attributes["connection"] = conn
    command.upgrade(config, revision)


def known_revisions(engine: Engine) -> list[str]:
    """Every schema revision this version of the app has a migration for, the oldest first."""
    from alembic.script import ScriptDirectory

    return [script.revision for script in reversed(list(ScriptDirectory.from_config(alembic_config(engine)).walk_revisions()))]


def schema_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


# --- cities and providers ---------------------------------------------------------------


def ensure_city(conn: Connection, city: City) -> int:
    """Id of the city with this name and country (or gazetteer id), inserting it when new."""
    key = fold(city.name)
    same = (cities.c.country == city.country) & (cities.c.name_key == key)
    if city.geonameid is not None:
        same = same | (cities.c.geonameid == city.geonameid)
    found = conn.execute(select(cities.c.id).where(same).order_by(cities.c.id)).scalar()
    if found is not None:
        return int(found)
    values = {
        "name": city.name, "name_key": key, "country": city.country, "latitude": city.latitude,
        "longitude": city.longitude, "timezone": city.timezone, "boundary": city.boundary,
        "geonameid": city.geonameid,
    }  # fmt: skip
    return int(conn.execute(cities.insert().returning(cities.c.id).values(**values)).scalar_one())


def find_city(conn: Connection, name: str, country: str | None = None) -> City | None:
    query = select(cities).where(cities.c.name_key == fold(name))
    if country:
        query = query.where(cities.c.country == country.upper())
    row = conn.execute(query.order_by(cities.c.id)).first()
    return None if row is None else _city(row)


def list_cities(conn: Connection, *, status: Status | None = None) -> list[City]:
    """Every city, or with ``status`` only the cities that have an opportunity of that status.

    Visitors see only cities with published opportunities: a city is added by the first row that
    names it, and that row may still wait for review, or be rejected in the same import.
    """
    stmt = select(cities)
    if status is not None:
        having = select(opportunities.c.id).where(opportunities.c.city_id == cities.c.id, opportunities.c.status == status.value)
        stmt = stmt.where(having.exists())
    return [_city(r) for r in conn.execute(stmt.order_by(cities.c.country, cities.c.name))]


def _city(row: Any) -> City:
    return City(name=row.name, country=row.country, latitude=row.latitude, longitude=row.longitude,
                timezone=row.timezone, boundary=row.boundary, geonameid=row.geonameid, id=row.id)  # fmt: skip


def ensure_provider(conn: Connection, provider: Provider, city_id: int | None = None) -> int:
    """Id of the provider with this name (case- and accent-insensitive), inserting it when new.

    A provider inserted here comes from an admin's import (command line, demo) and counts as
    verified; organisations that register in the app go through ``organisations.register_organisation``.
    """
    key = fold(provider.name)
    found = conn.execute(select(providers.c.id).where(providers.c.name_key == key)).scalar()
    if found is not None:
        return int(found)
    values = {
        "name": provider.name, "name_key": key, "kind": provider.kind.value, "city_id": city_id,
        "website": provider.website, "contact_email": provider.contact_email,
        "verified_at": datetime.now(UTC),
    }  # fmt: skip
    return int(conn.execute(providers.insert().returning(providers.c.id).values(**values)).scalar_one())


def list_providers(conn: Connection) -> list[Provider]:
    query = select(providers, cities.c.name.label("city_name")).outerjoin(cities, providers.c.city_id == cities.c.id)
    return [
        Provider(name=r.name, kind=ProviderKind(r.kind), city=r.city_name or "", website=r.website,
                 contact_email=r.contact_email, id=r.id)
        for r in conn.execute(query.order_by(providers.c.name))
    ]


# --- opportunities ----------------------------------------------------------------------


def _split(value: date | datetime | None) -> tuple[date | None, Any]:
    if value is None:
        return None, None
    if isinstance(value, datetime):
        return value.date(), value.time()
    return value, None


def search_text(title: str, description: str) -> str:
    """What free-text search matches against: the folded title and description."""
    return fold(f"{title} {description}")


def opportunity_row(
    opp: Opportunity, *, provider_id: int, city_id: int, now: datetime, dedup_key: str | None = None
) -> dict[str, Any]:
    """The ``opportunities`` row of a domain record (without id); pass ``dedup_key`` when known."""
    start_date, start_time = _split(opp.start)
    end_date, end_time = _split(opp.end)
    return {
        "title": opp.title, "description": opp.description, "provider_id": provider_id,
        "city_id": city_id, "venue": opp.venue, "address": opp.address,
        "latitude": opp.latitude, "longitude": opp.longitude,
        "location_precision": opp.precision.value if opp.precision else None,
        "location_source": opp.location_source, "location_uncertainty_m": opp.uncertainty_m, "age_min": opp.age_min, "age_max": opp.age_max,
        "mode": opp.mode.value, "type": opp.type.value, "start_date": start_date,
        "start_time": start_time, "end_date": end_date, "end_time": end_time,
        "schedule": opp.schedule, "cost": opp.cost, "currency": opp.currency, "url": opp.url,
        "contact_email": opp.contact_email, "accessibility": opp.accessibility,
        "status": opp.status.value, "dedup_key": dedup_key or opp.dedup_key,
        "search_text": search_text(opp.title, opp.description),
        "created_at": _aware(opp.created_at or now), "updated_at": _aware(opp.updated_at or now),
        "verified_at": _aware(opp.verified_at),
    }  # fmt: skip


def insert_opportunities(conn: Connection, rows: Sequence[dict[str, Any]], topics: Sequence[tuple[str, ...]],
                         languages: Sequence[tuple[str, ...]]) -> list[int]:  # fmt: skip
    """Insert prepared rows with their topics and languages; returns the new ids in order."""
    if not rows:
        return []
    # Plain executemany, then one look-up by the unique dedup key: RETURNING with a guaranteed
    # order makes SQLAlchemy send one statement per row on SQLite.
    conn.execute(opportunities.insert(), list(rows))
    keys = [row["dedup_key"] for row in rows]
    id_of: dict[str, int] = {}
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        found = conn.execute(select(opportunities.c.dedup_key, opportunities.c.id).where(opportunities.c.dedup_key.in_(chunk)))
        id_of.update((key, oid) for key, oid in found)
    ids = [id_of[key] for key in keys]
    topic_rows = [{"opportunity_id": i, "topic": t} for i, ts in zip(ids, topics, strict=True) for t in ts]
    language_rows = [{"opportunity_id": i, "language": code} for i, ls in zip(ids, languages, strict=True) for code in ls]
    if topic_rows:
        conn.execute(opportunity_topics.insert(), topic_rows)
    if language_rows:
        conn.execute(opportunity_languages.insert(), language_rows)
    return ids


def existing_dedup_ids(conn: Connection, keys: Iterable[str]) -> dict[str, int]:
    """The stored opportunity of each of ``keys`` that is already stored: key -> id."""
    found: dict[str, int] = {}
    batch = list(keys)
    for i in range(0, len(batch), 500):
        chunk = batch[i : i + 500]
        query = select(opportunities.c.dedup_key, opportunities.c.id).where(opportunities.c.dedup_key.in_(chunk))
        found.update((key, int(oid)) for key, oid in conn.execute(query))
    return found


def opportunity_columns() -> list[Any]:
    """The columns that make a domain record (the folded search copy is only ever filtered on)."""
    return [
        *(c for c in opportunities.c if c.name != "search_text"),
        providers.c.name.label("provider_name"),
        cities.c.name.label("city_name"),
        cities.c.country.label("city_country"),
    ]


def joined_opportunities() -> Any:
    return opportunities.join(providers, opportunities.c.provider_id == providers.c.id).join(
        cities, opportunities.c.city_id == cities.c.id
    )


def load_opportunities(conn: Connection, rows: Sequence[Any]) -> list[Opportunity]:
    """Domain records for rows selected with :func:`opportunity_columns`, topics and languages included."""
    ids = [r.id for r in rows]
    topics: dict[int, list[str]] = {i: [] for i in ids}
    languages: dict[int, list[str]] = {i: [] for i in ids}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        for oid, topic in conn.execute(
            select(opportunity_topics.c.opportunity_id, opportunity_topics.c.topic)
            .where(opportunity_topics.c.opportunity_id.in_(chunk))
            .order_by(opportunity_topics.c.opportunity_id, opportunity_topics.c.topic)
        ):
            topics[oid].append(topic)
        for oid, language in conn.execute(
            select(opportunity_languages.c.opportunity_id, opportunity_languages.c.language)
            .where(opportunity_languages.c.opportunity_id.in_(chunk))
            .order_by(opportunity_languages.c.opportunity_id, opportunity_languages.c.language)
        ):
            languages[oid].append(language)
    return [_opportunity(r, tuple(topics[r.id]), tuple(languages[r.id])) for r in rows]


def _when(day: date | None, moment: Any) -> date | datetime | None:
    if day is None:
        return None
    return datetime.combine(day, moment) if moment is not None else day


def _aware(value: datetime | None) -> datetime | None:
    """``value`` in UTC. Naive values are UTC: SQLite returns timezone-aware columns naive, as
    written. PostgreSQL would read a naive value in the server's time zone, so none is sent."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def aware(value: datetime | None) -> datetime | None:
    """A timestamp read from the database, in UTC (SQLite returns them naive)."""
    return _aware(value)


def _opportunity(row: Any, topics: tuple[str, ...], languages: tuple[str, ...]) -> Opportunity:
    start = _when(row.start_date, row.start_time)
    assert start is not None
    return Opportunity(
        id=row.id, title=row.title, description=row.description, provider=row.provider_name,
        city=row.city_name, country=row.city_country, venue=row.venue, address=row.address,
        latitude=row.latitude, longitude=row.longitude,
        precision=Precision(row.location_precision) if row.location_precision else None,
        location_source=row.location_source, uncertainty_m=row.location_uncertainty_m, topics=topics, age_min=row.age_min,
        age_max=row.age_max, mode=Mode(row.mode), type=OpportunityType(row.type), start=start,
        end=_when(row.end_date, row.end_time), schedule=row.schedule,
        cost=Decimal(row.cost), currency=row.currency, languages=languages, url=row.url,
        contact_email=row.contact_email, accessibility=row.accessibility,
        status=Status(row.status), created_at=_aware(row.created_at),
        updated_at=_aware(row.updated_at), verified_at=_aware(row.verified_at),
    )  # fmt: skip


def get_opportunity(conn: Connection, opportunity_id: int) -> Opportunity:
    row = conn.execute(
        select(*opportunity_columns()).select_from(joined_opportunities()).where(opportunities.c.id == opportunity_id)
    ).first()
    if row is None:
        raise NotFoundError(f"no opportunity with id {opportunity_id}")
    return load_opportunities(conn, [row])[0]


def get_opportunities(conn: Connection, ids: Sequence[int]) -> list[Opportunity]:
    """The opportunities with these ids, in the order given (missing ids are skipped)."""
    rows: dict[int, Any] = {}
    for i in range(0, len(ids), 500):
        chunk = [int(x) for x in ids[i : i + 500]]
        query = select(*opportunity_columns()).select_from(joined_opportunities()).where(opportunities.c.id.in_(chunk))
        rows.update((row.id, row) for row in conn.execute(query))
    ordered = [rows[int(x)] for x in ids if int(x) in rows]
    return load_opportunities(conn, ordered)


def set_status(conn: Connection, opportunity_id: int, status: Status, *, expected_updated_at: datetime | None = None) -> Opportunity:
    """Change an opportunity's status. With ``expected_updated_at`` (naive: UTC), refuse when someone
    else changed it first."""
    now = datetime.now(UTC)
    query = opportunities.update().where(opportunities.c.id == opportunity_id)
    if expected_updated_at is not None:
        query = query.where(opportunities.c.updated_at == _aware(expected_updated_at))
    result = conn.execute(query.values(status=status.value, updated_at=now))
    if result.rowcount == 0:
        get_opportunity(conn, opportunity_id)  # raises NotFoundError when missing
        raise NotFoundError(f"opportunity {opportunity_id} was changed by someone else; reload it and try again")
    return get_opportunity(conn, opportunity_id)


def data_version(conn: Connection) -> str:
    """Changes whenever an opportunity is added or changed (keys cached indexes).

    Two index look-ups, no count: opportunities are archived, not deleted, and every change
    moves ``updated_at``.
    """
    last_id, last_update = newest_change(conn)
    return f"{last_id}-{last_update}"


def newest_change(conn: Connection) -> tuple[int | None, datetime | None]:
    """The newest opportunity id and ``updated_at`` (None in an empty table)."""
    from sqlalchemy import func

    # Two scalar subqueries: a single SELECT with two max() would scan the table instead.
    last_id = select(func.max(opportunities.c.id)).scalar_subquery()
    last_update = select(func.max(opportunities.c.updated_at)).scalar_subquery()
    found_id, found_update = conn.execute(select(last_id, last_update)).one()
    return found_id, found_update


def count_opportunities(conn: Connection, status: Status | None = None) -> int:
    from sqlalchemy import func

    query = select(func.count()).select_from(opportunities)
    if status is not None:
        query = query.where(opportunities.c.status == status.value)
    return int(conn.execute(query).scalar_one())


def is_schema_current(engine: Engine) -> bool:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    return schema_revision(engine) == head



# --- districts ----------------------------------------------------------------------------


def replace_districts(conn: Connection, city_id: int, rows: Sequence[dict[str, Any]]) -> None:
    """Replace every district of the city by ``rows`` (``districts`` columns without ids)."""
    conn.execute(districts.delete().where(districts.c.city_id == city_id))
    if rows:
        conn.execute(districts.insert(), [{**row, "city_id": city_id} for row in rows])


def district_rows(conn: Connection, city_ids: Sequence[int] | None = None) -> list[Any]:
    """The districts (of these cities), ordered by id."""
    query = select(districts)
    if city_ids is not None:
        query = query.where(districts.c.city_id.in_([int(c) for c in city_ids]))
    return list(conn.execute(query.order_by(districts.c.id)))


def districts_version(conn: Connection) -> str:
    """Changes whenever districts are replaced or their residents change: keys cached assignments.

    New rows get new ids on PostgreSQL, but SQLite gives the ids of rows just deleted again, so
    the names and figures weigh in too (each by its row's id, so residents moved between two
    districts count). One pass over the small columns, never the boundaries.
    """
    from sqlalchemy import BigInteger, cast, func

    weight = cast(districts.c.id, BigInteger)
    version = select(func.count(), func.max(districts.c.id), func.sum(districts.c.id),
                     func.sum(weight * func.coalesce(districts.c.population, -1)),
                     func.sum(weight * (func.length(districts.c.name) + func.length(districts.c.population_by_age))))  # fmt: skip
    return "-".join(str(v) for v in conn.execute(version).one())
