"""The reads and writes the domain needs: cities, providers, opportunities, districts, versions.

The tables are in :mod:`opportunities.db.schema`, engines and transactions in
:mod:`opportunities.db.connection`. Portable SQL only (SQLite by default, PostgreSQL by URL). Multi-valued fields (topics,
languages) live in their own indexed tables. Concurrent writers queue instead of failing or losing
updates: on SQLite (in WAL mode) write transactions begin ``IMMEDIATE``; on PostgreSQL they first
take one transaction-level advisory lock, which readers never wait for."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Connection,
    select,
)

from opportunities.db.schema import (
    cities,
    districts,
    harvest_feeds,
    harvested_items,
    opportunities,
    opportunity_languages,
    opportunity_topics,
    providers,
)
from opportunities.errors import NotFoundError
from opportunities.model import City, Opportunity, Provider
from opportunities.text import fold
from opportunities.vocabulary import Mode, OpportunityType, Precision, ProviderKind, Status

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


def find_city_id_by_geonameid(conn: Connection, geonameid: int) -> int | None:
    """The stored city of this gazetteer id, whatever it is called."""
    found = conn.execute(select(cities.c.id).where(cities.c.geonameid == geonameid).order_by(cities.c.id)).scalar()
    return None if found is None else int(found)


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


def find_provider_id(conn: Connection, name: str) -> int | None:
    """The stored provider of this name (case- and accent-insensitive)."""
    found = conn.execute(select(providers.c.id).where(providers.c.name_key == fold(name))).scalar()
    return None if found is None else int(found)


def list_providers(conn: Connection) -> list[Provider]:
    query = select(providers, cities.c.name.label("city_name")).outerjoin(cities, providers.c.city_id == cities.c.id)
    return [
        Provider(
            name=r.name,
            kind=ProviderKind(r.kind),
            city=r.city_name or "",
            website=r.website,
            contact_email=r.contact_email,
            id=r.id,
        )
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


def opportunity_from_row(row: Any, topics: tuple[str, ...], languages: tuple[str, ...]) -> Opportunity:
    """The domain record of a row selected with :func:`opportunity_columns` whose topics and
    languages the caller has read (as one query with the row, say)."""
    return _opportunity(row, topics, languages)


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


def set_status(
    conn: Connection, opportunity_id: int, status: Status, *, expected_updated_at: datetime | None = None
) -> Opportunity:
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


# --- harvested opportunities -------------------------------------------------------------------


def harvested_sources(conn: Connection) -> dict[int, tuple[str, str]]:
    """Every opportunity harvested from another publisher's feed: id -> (attribution, licence URL)."""
    query = select(harvested_items.c.opportunity_id, harvest_feeds.c.attribution, harvest_feeds.c.license).join(
        harvest_feeds, harvest_feeds.c.id == harvested_items.c.feed_id
    )
    return {int(oid): (attribution, license) for oid, attribution, license in conn.execute(query) if oid is not None}
