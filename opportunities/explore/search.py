"""Finding published opportunities: by city, topic, age, place, mode, type, date, cost, language.

The database narrows the candidates with portable SQL (indexes on status, city, coordinates,
dates, topics and languages); the exact distance and the sessions of a recurring activity are
checked in Python on what is left.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import Connection, Select, and_, func, or_, select

from opportunities import recurrence
from opportunities.db import queries
from opportunities.db.schema import cities, opportunities, opportunity_languages, opportunity_topics
from opportunities.errors import N_, FieldError, because
from opportunities.model import Opportunity
from opportunities.places.gazetteer import haversine_km
from opportunities.text import fold
from opportunities.vocabulary import AGE_GROUPS_BY_ID, TOPICS, Mode, OpportunityType, Status

MAX_RADIUS_KM = 500.0
MAX_LIMIT = 10_000


@dataclass(frozen=True)
class SearchQuery:
    """What a visitor asks for. Empty fields do not filter."""

    city: str = ""
    topics: tuple[str, ...] = ()
    age: int | None = None
    age_group: str = ""
    near: tuple[float, float] | None = None
    radius_km: float = 10.0
    modes: tuple[Mode, ...] = ()
    types: tuple[OpportunityType, ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    free_only: bool = False
    language: str = ""
    accessible_only: bool = False
    text: str = ""
    status: Status = Status.PUBLISHED
    limit: int = 100

    def __post_init__(self) -> None:
        unknown = [t for t in self.topics if t not in TOPICS]
        if unknown:
            raise FieldError(
                "topic",
                because(N_("unknown topic {value}; use one of: {limit}"), value=repr(unknown[0]), limit=", ".join(TOPICS)),
            )
        if self.age is not None and not 0 <= self.age <= 120:
            raise FieldError("age", because(N_("{value} is outside 0–120 years"), value=str(self.age)))
        if self.age_group and self.age_group not in AGE_GROUPS_BY_ID:
            raise FieldError(
                "age_group",
                because(
                    N_("unknown age group {value}; use one of: {limit}"),
                    value=repr(self.age_group),
                    limit=", ".join(AGE_GROUPS_BY_ID),
                ),
            )
        if self.near is not None:
            lat, lon = self.near
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise FieldError("near", because(N_("the coordinates {value} are out of range"), value=f"{lat}, {lon}"))
        if not 0 < self.radius_km <= MAX_RADIUS_KM:
            raise FieldError("radius_km", because(N_("Give a distance above 0 and at most {limit} km."), limit=MAX_RADIUS_KM))
        if self.date_from and self.date_to and self.date_to < self.date_from:
            raise FieldError("to", because(N_("The end is before the start.")))
        if not 1 <= self.limit <= MAX_LIMIT:
            raise FieldError("limit", because(N_("Give a whole number from 1 to {limit}."), limit=MAX_LIMIT))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def filtered_query(query: SearchQuery, columns: list[Any]) -> Select[Any]:
    """The SQL part of a search: every filter that the database can apply exactly or as a bound."""
    o = opportunities
    stmt = select(*columns).select_from(queries.joined_opportunities()).where(o.c.status == query.status.value)
    if query.city:
        stmt = stmt.where(cities.c.name_key == fold(query.city))
    if query.topics:
        stmt = stmt.where(
            o.c.id.in_(select(opportunity_topics.c.opportunity_id).where(opportunity_topics.c.topic.in_(query.topics)))
        )
    if query.language:
        stmt = stmt.where(
            o.c.id.in_(
                select(opportunity_languages.c.opportunity_id).where(opportunity_languages.c.language == query.language.lower())
            )
        )
    if query.age is not None:
        stmt = stmt.where(o.c.age_min <= query.age, or_(o.c.age_max.is_(None), o.c.age_max >= query.age))
    if query.age_group:
        group = AGE_GROUPS_BY_ID[query.age_group]
        if group.age_max is not None:
            stmt = stmt.where(o.c.age_min <= group.age_max)
        stmt = stmt.where(or_(o.c.age_max.is_(None), o.c.age_max >= group.age_min))
    if query.modes:
        stmt = stmt.where(o.c.mode.in_([m.value for m in query.modes]))
    if query.types:
        stmt = stmt.where(o.c.type.in_([t.value for t in query.types]))
    if query.free_only:
        stmt = stmt.where(o.c.cost == 0)
    if query.accessible_only:
        stmt = stmt.where(o.c.accessibility != "")
    if folded_text := fold(query.text):
        # Both sides folded by the one Python fold(): no reliance on the database's case or
        # accent rules (SQLite's LIKE folds ASCII only). Text that folds to nothing (only
        # punctuation) does not filter.
        stmt = stmt.where(o.c.search_text.like(f"%{_escape_like(folded_text)}%", escape="\\"))
    if query.date_to is not None:
        stmt = stmt.where(o.c.start_date <= query.date_to)
    if query.date_from is not None:
        ends = func.coalesce(o.c.end_date, o.c.start_date)
        stmt = stmt.where(or_(ends >= query.date_from, and_(o.c.schedule != "", o.c.end_date.is_(None))))
    if query.near is not None:
        lat, lon = query.near
        dlat = query.radius_km / 110.574
        dlon = query.radius_km / (111.320 * max(math.cos(math.radians(lat)), 0.01))
        stmt = stmt.where(o.c.latitude.between(lat - dlat, lat + dlat), o.c.longitude.between(lon - dlon, lon + dlon))
    return stmt


def _has_session(row: Any, query: SearchQuery) -> bool:
    """For a recurring activity: does one of its sessions fall within the date range?"""
    if not row.schedule or (query.date_from is None and query.date_to is None):
        return True
    first = datetime.combine(row.start_date, row.start_time or time())
    return recurrence.has_session_between(row.schedule, first, row.end_date, query.date_from, query.date_to)


def _candidates(conn: Connection, query: SearchQuery) -> Iterator[tuple[Any, float | None]]:
    stmt = filtered_query(query, queries.opportunity_columns())
    if query.near is None:
        stmt = stmt.order_by(opportunities.c.start_date, opportunities.c.id)
    for row in conn.execute(stmt):
        if not _has_session(row, query):
            continue
        distance = None
        if query.near is not None:
            distance = haversine_km(query.near[0], query.near[1], row.latitude, row.longitude)
            if distance > query.radius_km:
                continue
        yield row, distance


def search(conn: Connection, query: SearchQuery) -> list[Opportunity]:
    """Matching opportunities: nearest first with ``near``, else by start date; at most ``limit``."""
    found: list[tuple[Any, float | None]] = []
    for item in _candidates(conn, query):
        found.append(item)
        if query.near is None and len(found) >= query.limit:
            break
    if query.near is not None:
        found.sort(key=lambda item: (item[1], item[0].id))
        found = found[: query.limit]
    opps = queries.load_opportunities(conn, [row for row, _ in found])
    return [replace(opp, distance_km=distance) for opp, (_, distance) in zip(opps, found, strict=True)]


def count(conn: Connection, query: SearchQuery) -> int:
    """How many opportunities match (not limited)."""
    if query.near is None and not (query.date_from or query.date_to):
        stmt = filtered_query(query, [func.count()])
        return int(conn.execute(stmt).scalar_one())
    return sum(1 for _ in _candidates(conn, query))
