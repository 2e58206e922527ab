"""Indicators of a city, a region or the whole network for a period, each beside the previous period.

What the regional networks report: organisations that joined (by kind) and were verified;
opportunities by topic, age group, mode, type and month; districts covered; the shares of free,
accessible and fresh opportunities; people who took part.

Definitions (also in docs/guides/indicators.md):

- A **period** is a range of whole days, both ends included, in each city's local time (the dates
  of sessions are stored local to their city). The **previous period** has the same number of
  days and ends the day before.
- An opportunity **counts in a period** when one of its sessions falls in it: a one-off (or
  multi-day) activity when its days overlap the period, a recurring one when
  :func:`opportunities.recurrence.has_session_between` finds a session in it. In a month likewise.
- Only opportunities of the given statuses count (published ones for the public).
- An organisation **belongs** to a city when it is registered there or offers an opportunity
  (of the given statuses) there; the public counts only organisations with a published
  opportunity, so a sign-up still waiting for review is not shown. It **joined** on its
  registration date or, for an organisation entered by an administrator, when its first
  opportunity was stored. It was **verified** in the period when its verification date is in it
  (known once accounts exist; until then the figure is left out and a note says so).
- A **district is covered** when an opportunity counting in the period lies in it, located
  precisely enough to be drawn as a pin (:func:`opportunities.vocabulary.is_approximate`).
- **Free**: costs nothing; **accessible**: the accessibility field says something; **fresh**:
  stored or confirmed by its provider ("still running?") within :data:`FRESH_DAYS` days before
  the period's last day.
- **People who took part**: the providers' participation reports of the opportunities that count
  in the period (when the reports table exists).
- **Badges** (counts only; the server keeps no learner's data): **issued**, every credential of
  a badge of the scope's cities issued on a day of the period (local to the badge's city);
  **claimed**, those a learner claimed with a code or a mailed link; **revoked**, those revoked
  on a day of the period (whenever issued); **playlists completed**, playlist badges issued.
  By topic: the badges issued, per topic of the badge (a badge of two topics counts in both).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, DateTime, Integer, and_, column, func, inspect, or_, select, table
from sqlalchemy.sql.expression import ColumnClause

from opportunities import recurrence
from opportunities.coverage.regions import regions
from opportunities.db.queries import list_cities
from opportunities.db.schema import badge_achievements, badge_issuances, districts, opportunities, opportunity_topics
from opportunities.errors import N_, FieldError, NotFoundError, because
from opportunities.model import City
from opportunities.text import fold
from opportunities.vocabulary import AGE_GROUPS, TOPICS, Mode, OpportunityType, ProviderKind, Status, is_approximate

# Freshness: confirmed within about six months before the period's end.
FRESH_DAYS = 183
# The longest period asked about: ten years (a month is evaluated per month of the period).
MAX_PERIOD_DAYS = 3660
PUBLIC_STATUSES: frozenset[Status] = frozenset({Status.PUBLISHED})
_KINDS = frozenset(k.value for k in ProviderKind)


class ScopeKind(StrEnum):
    CITY = "city"
    REGION = "region"
    NETWORK = "network"


class Unit(StrEnum):
    COUNT = "count"
    SHARE = "share"  # 0…1; its change is in percentage points


class Note(StrEnum):
    """Why a figure is missing or to be read with care (the page and the report say it in words)."""

    NO_VERIFICATION = "no-verification"  # organisations carry no verification date yet
    NO_PARTICIPATION = "no-participation"  # no participation reports table yet
    NO_DISTRICTS = "no-districts"  # the scope's cities have no districts


@dataclass(frozen=True, slots=True)
class Period:
    """Whole days from ``start`` to ``end``, both included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise FieldError("to", because(N_("The end is before the start.")))
        if self.days > MAX_PERIOD_DAYS:
            raise FieldError(
                "to", because(N_("A period is at most {limit} days; this one has {n}."), limit=MAX_PERIOD_DAYS, n=self.days)
            )

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of the same length that ends the day before this one starts."""
        end = self.start - timedelta(days=1)
        return Period(end - timedelta(days=self.days - 1), end)

    def months(self) -> list[Period]:
        """This period cut at month ends: one part per calendar month it touches."""
        parts: list[Period] = []
        day = self.start
        while day <= self.end:
            following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
            parts.append(Period(day, min(self.end, following - timedelta(days=1))))
            day = following
        return parts


def default_period(today: date) -> Period:
    """The calendar month holding ``today``."""
    following = date(today.year + today.month // 12, today.month % 12 + 1, 1)
    return Period(today.replace(day=1), following - timedelta(days=1))


@dataclass(frozen=True)
class IndicatorRequest:
    """What a link to the Indicators page asks for (``?scope=city&name=Kranj&from=…&to=…``)."""

    kind: ScopeKind
    name: str
    start: date
    end: date


def request_from_params(params: Mapping[str, str], today: date) -> IndicatorRequest:
    """The link's scope and period; what is missing or unreadable falls back to the whole network
    and the month of ``today`` (the page then checks the period, see :class:`Period`)."""

    def day(text: str) -> date | None:
        try:
            return date.fromisoformat(text.strip())
        except ValueError:
            return None

    kind = params.get("scope", "")
    month = default_period(today)
    return IndicatorRequest(
        kind=ScopeKind(kind) if kind in {k.value for k in ScopeKind} else ScopeKind.NETWORK,
        name=params.get("name", "").strip()[:200],
        start=day(params.get("from", "")) or month.start,
        end=day(params.get("to", "")) or month.end,
    )


@dataclass(frozen=True, slots=True)
class Scope:
    """The cities indicators are about."""

    kind: ScopeKind
    name: str  # the city's or region's name; "" for the network
    cities: tuple[City, ...]

    @property
    def city_ids(self) -> tuple[int, ...]:
        return tuple(c.id for c in self.cities if c.id is not None)


def resolve_scope(conn: Connection, kind: ScopeKind, name: str = "", *, statuses: Iterable[Status] = PUBLIC_STATUSES) -> Scope:
    """The scope named ``name`` (a city's or region's name, in any case and with or without accents)
    among the cities with an opportunity of one of ``statuses``.

    Raises :class:`NotFoundError` naming the choices when there is no such city or region.
    """
    known: dict[int, City] = {}
    for status in statuses:
        known.update((c.id, c) for c in list_cities(conn, status=status) if c.id is not None)
    cities = sorted(known.values(), key=lambda c: (c.country, fold(c.name)))
    if kind == ScopeKind.NETWORK:
        return Scope(kind, "", tuple(cities))
    if kind == ScopeKind.CITY:
        chosen = [c for c in cities if fold(c.name) == fold(name)]
        if not chosen:
            raise NotFoundError(
                f"no city {name!r} with opportunities; choose one of: {', '.join(sorted((c.name for c in cities), key=fold))}"
            )
        return Scope(kind, chosen[0].name, (chosen[0],))
    by_region = regions(cities)
    for region, members in by_region.items():
        if fold(region) == fold(name):
            return Scope(kind, region, tuple(members))
    raise NotFoundError(f"no region {name!r} with opportunities; choose one of: {', '.join(by_region)}")


def scope_names(conn: Connection, kind: ScopeKind, *, statuses: Iterable[Status] = PUBLIC_STATUSES) -> list[str]:
    """The cities' or regions' names a scope of ``kind`` can be, sorted (empty for the network)."""
    if kind == ScopeKind.NETWORK:
        return []
    cities = resolve_scope(conn, ScopeKind.NETWORK, statuses=statuses).cities
    if kind == ScopeKind.REGION:
        return list(regions(cities))
    return sorted((c.name for c in cities), key=fold)


# --- the figures ----------------------------------------------------------------------------------


class Group(StrEnum):
    """What a figure counts; its key says which one (a topic id, a month "2027-03", …)."""

    ORGANISATIONS = "organisations"  # joined, verified
    JOINED_BY_KIND = "joined-by-kind"  # a ProviderKind
    OPPORTUNITIES = "opportunities"  # counted
    TOPIC = "topic"
    AGE_GROUP = "age-group"
    MODE = "mode"
    TYPE = "type"
    MONTH = "month"  # YYYY-MM; no previous value (the previous period's months are other months)
    DISTRICTS = "districts"  # covered, total
    SHARES = "shares"  # free, accessible, fresh
    PARTICIPANTS = "participants"  # total
    PARTICIPANTS_BY_AGE_GROUP = "participants-by-age-group"
    BADGES = "badges"  # issued, claimed, revoked, playlists-completed
    BADGES_BY_TOPIC = "badges-by-topic"  # a topic id: badges issued


@dataclass(frozen=True, slots=True)
class Figure:
    """One indicator: its value in the period and in the previous period."""

    group: Group
    key: str
    value: float | None  # None: cannot be measured (a share of no opportunities)
    previous: float | None
    unit: Unit = Unit.COUNT

    @property
    def change(self) -> float | None:
        """Value minus previous value (percentage points ×0.01 for shares); None when either is missing."""
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous


@dataclass(frozen=True, slots=True)
class JoinedOrganisation:
    """An organisation that joined in the period (public: it offers a published opportunity)."""

    name: str
    kind: ProviderKind
    joined: date


@dataclass(frozen=True)
class Indicators:
    scope: Scope
    period: Period
    previous_period: Period
    statuses: frozenset[Status]
    figures: tuple[Figure, ...]
    notes: tuple[Note, ...] = ()
    joined: tuple[JoinedOrganisation, ...] = ()
    _by_key: dict[tuple[Group, str], Figure] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_key", {(f.group, f.key): f for f in self.figures})

    def figure(self, group: Group, key: str) -> Figure | None:
        return self._by_key.get((group, key))

    def group(self, group: Group) -> list[Figure]:
        return [f for f in self.figures if f.group == group]


@dataclass(frozen=True, slots=True)
class _Row:
    """What the figures need of one opportunity."""

    id: int
    city_id: int
    latitude: float | None
    longitude: float | None
    approximate: bool
    age_min: int
    age_max: int | None
    mode: str
    type: str
    start: datetime
    end_date: date | None
    schedule: str
    free: bool
    accessible: bool
    confirmed: datetime  # stored or last confirmed by its provider, UTC
    topics: tuple[str, ...]


def counts_in(row: _Row, period: Period) -> bool:
    """Whether one of the opportunity's sessions falls on a day of ``period``."""
    if not row.schedule:
        return row.start.date() <= period.end and (row.end_date or row.start.date()) >= period.start
    return recurrence.has_session_between(row.schedule, row.start, row.end_date, period.start, period.end)


def _statuses(statuses: Iterable[Status]) -> list[str]:
    return sorted(s.value for s in statuses)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _rows(conn: Connection, scope: Scope, span: Period, statuses: Iterable[Status]) -> list[_Row]:
    """The scope's opportunities that may have a session in ``span`` (the SQL bound; checked exactly later)."""
    o = opportunities
    ends = func.coalesce(o.c.end_date, o.c.start_date)
    where = and_(
        o.c.status.in_(_statuses(statuses)),
        o.c.city_id.in_(scope.city_ids),
        o.c.start_date <= span.end,
        or_(ends >= span.start, and_(o.c.schedule != "", o.c.end_date.is_(None))),
    )
    topics: dict[int, list[str]] = {}
    wanted = select(o.c.id).where(where)
    for oid, topic in conn.execute(
        select(opportunity_topics.c.opportunity_id, opportunity_topics.c.topic).where(
            opportunity_topics.c.opportunity_id.in_(wanted)
        )
    ):
        topics.setdefault(oid, []).append(topic)
    columns = (o.c.id, o.c.city_id, o.c.latitude, o.c.longitude, o.c.location_precision, o.c.location_uncertainty_m,
               o.c.age_min, o.c.age_max, o.c.mode, o.c.type, o.c.start_date, o.c.start_time, o.c.end_date, o.c.schedule,
               o.c.cost, o.c.accessibility, o.c.created_at, o.c.verified_at)  # fmt: skip
    rows = []
    for r in conn.execute(select(*columns).where(where).order_by(o.c.id)):
        confirmed = _aware(r.created_at)
        if r.verified_at is not None:
            confirmed = max(confirmed, _aware(r.verified_at))
        rows.append(_Row(
            id=r.id, city_id=r.city_id, latitude=r.latitude, longitude=r.longitude,
            approximate=is_approximate(r.location_precision, r.location_uncertainty_m),
            age_min=r.age_min, age_max=r.age_max, mode=r.mode, type=r.type,
            start=datetime.combine(r.start_date, r.start_time or time()), end_date=r.end_date, schedule=r.schedule,
            free=r.cost == 0, accessible=bool(r.accessibility.strip()), confirmed=confirmed,
            topics=tuple(sorted(topics.get(r.id, ()))),
        ))  # fmt: skip
    return rows


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _opportunity_counts(rows: Sequence[_Row], period: Period) -> dict[tuple[Group, str], float | None]:
    """Every opportunity figure of one period, for the rows that count in it."""
    values: dict[tuple[Group, str], float | None] = {}
    total = len(rows)
    values[Group.OPPORTUNITIES, "counted"] = total
    topic_counts = Counter(t for r in rows for t in r.topics)
    for topic in TOPICS:
        values[Group.TOPIC, topic] = topic_counts[topic]
    for group in AGE_GROUPS:
        values[Group.AGE_GROUP, group.id] = sum(1 for r in rows if group.overlaps(r.age_min, r.age_max))
    modes = Counter(r.mode for r in rows)
    for mode in Mode:
        values[Group.MODE, mode.value] = modes[mode.value]
    types = Counter(r.type for r in rows)
    for kind in OpportunityType:
        values[Group.TYPE, kind.value] = types[kind.value]
    # Fresh: confirmed within FRESH_DAYS before the end of the period's last day (in UTC: a day's
    # difference at most, against six months).
    period_end = datetime.combine(period.end + timedelta(days=1), time(), tzinfo=UTC)
    fresh_since = period_end - timedelta(days=FRESH_DAYS)
    values[Group.SHARES, "free"] = _share(sum(r.free for r in rows), total)
    values[Group.SHARES, "accessible"] = _share(sum(r.accessible for r in rows), total)
    values[Group.SHARES, "fresh"] = _share(sum(fresh_since <= r.confirmed < period_end for r in rows), total)
    return values


# --- districts ------------------------------------------------------------------------------------


def district_of_points(boundaries: Sequence[str], longitudes: Sequence[float], latitudes: Sequence[float]) -> list[int]:
    """For each point, the index in ``boundaries`` (GeoJSON geometries) of the first district that
    holds it (its boundary included: a point on a shared edge goes to one district only), or -1.

    Plain point-in-polygon with shapely's STRtree; invalid boundaries are repaired first.
    """
    import numpy as np
    import shapely
    from shapely.geometry import shape

    if not boundaries or not longitudes:
        return [-1] * len(longitudes)
    shapes = [shapely.make_valid(shape(json.loads(text))) for text in boundaries]
    tree = shapely.STRtree(shapes)
    points = shapely.points(np.asarray(longitudes, dtype=float), np.asarray(latitudes, dtype=float))
    point_index, district_index = tree.query(points, predicate="intersects")
    found = [-1] * len(longitudes)
    for p, d in sorted(zip(point_index.tolist(), district_index.tolist(), strict=True)):
        if found[p] == -1:
            found[p] = d
    return found


def _district_boundaries(conn: Connection, scope: Scope) -> list[str]:
    query = select(districts.c.boundary).where(districts.c.city_id.in_(scope.city_ids)).order_by(districts.c.id)
    return list(conn.execute(query).scalars())


def _covered(boundaries: Sequence[str], rows: Sequence[_Row]) -> int:
    """How many districts hold an opportunity among ``rows`` located precisely enough for a pin."""
    placed = [r for r in rows if r.latitude is not None and r.longitude is not None and not r.approximate]
    found = district_of_points(boundaries, [r.longitude for r in placed], [r.latitude for r in placed])  # type: ignore[misc]
    return len({d for d in found if d >= 0})


# --- organisations and participation --------------------------------------------------------------


def _columns(conn: Connection, table_name: str) -> set[str]:
    inspector = inspect(conn)
    if not inspector.has_table(table_name):
        return set()
    return {c["name"] for c in inspector.get_columns(table_name)}


@dataclass(frozen=True, slots=True)
class _Organisation:
    name: str
    kind: ProviderKind
    joined: date | None
    verified: date | None


def _local_day(moment: datetime | None, timezone: str) -> date | None:
    from zoneinfo import ZoneInfo

    if moment is None:
        return None
    return _aware(moment).astimezone(ZoneInfo(timezone)).date()


def _organisations(conn: Connection, scope: Scope, statuses: Iterable[Status], columns: set[str]) -> list[_Organisation]:
    """The organisations of the scope that offer an opportunity of one of ``statuses`` (anywhere)."""
    o = opportunities
    wanted = _statuses(statuses)
    first_stored = dict(
        conn.execute(
            select(o.c.provider_id, func.min(o.c.created_at)).where(o.c.status.in_(wanted)).group_by(o.c.provider_id)
        ).all()
    )
    offering_here = set(
        conn.execute(select(o.c.provider_id).where(o.c.status.in_(wanted), o.c.city_id.in_(scope.city_ids)).distinct()).scalars()
    )
    zones = {c.id: c.timezone for c in scope.cities}
    fallback_zone = scope.cities[0].timezone if scope.cities else "UTC"
    extra: list[ColumnClause[Any]] = [
        column(name, DateTime(timezone=True)) for name in ("registered_at", "verified_at") if name in columns
    ]
    providers_table = table("providers", column("id"), column("name"), column("kind"), column("city_id"), *extra)
    found = []
    for r in conn.execute(select(providers_table).order_by(providers_table.c.id)):
        if r.id not in first_stored or (r.city_id not in zones and r.id not in offering_here):
            continue
        zone = zones.get(r.city_id, fallback_zone)
        registered = getattr(r, "registered_at", None)
        found.append(_Organisation(
            name=r.name, kind=ProviderKind(r.kind) if r.kind in _KINDS else ProviderKind.OTHER,
            joined=_local_day(registered if registered is not None else first_stored[r.id], zone),
            verified=_local_day(getattr(r, "verified_at", None), zone),
        ))  # fmt: skip
    return found


def _within(day: date | None, period: Period) -> bool:
    return day is not None and period.start <= day <= period.end


def _participants(conn: Connection, ids: Sequence[int]) -> Counter[str]:
    """Participants reported for the opportunities ``ids``, by age group."""
    reports = table(
        "participation_reports", column("opportunity_id", Integer), column("age_group"), column("participants", Integer)
    )
    totals: Counter[str] = Counter()
    for i in range(0, len(ids), 500):
        chunk = list(ids[i : i + 500])
        query = (
            select(reports.c.age_group, func.sum(reports.c.participants))
            .where(reports.c.opportunity_id.in_(chunk))
            .group_by(reports.c.age_group)
        )
        for group, number in conn.execute(query):
            totals[str(group)] += int(number or 0)
    return totals


# --- badges ------------------------------------------------------------------------------------

_CLAIMED_VIA = frozenset({"code", "link"})


def _badge_counts(conn: Connection, scope: Scope, period: Period) -> dict[tuple[Group, str], int]:
    """The badge figures of ``period`` (see the module's definitions)."""
    zones = {c.id: c.timezone for c in scope.cities}
    # a day's margin either side: the local days of the period, in any time zone
    start = datetime.combine(period.start - timedelta(days=1), time(), UTC)
    end = datetime.combine(period.end + timedelta(days=2), time(), UTC)
    i, a = badge_issuances, badge_achievements
    query = (
        select(i.c.issued_at, i.c.revoked_at, i.c.via, a.c.city_id, a.c.topics)
        .join(a, a.c.id == i.c.achievement_id)
        .where(a.c.city_id.in_(scope.city_ids), or_(i.c.issued_at.between(start, end), i.c.revoked_at.between(start, end)))
    )
    counts: Counter[tuple[Group, str]] = Counter()
    for row in conn.execute(query):
        zone = zones.get(row.city_id, "UTC")
        if _within(_local_day(row.issued_at, zone), period):
            counts[Group.BADGES, "issued"] += 1
            counts[Group.BADGES, "claimed"] += row.via in _CLAIMED_VIA
            counts[Group.BADGES, "playlists-completed"] += row.via == "playlist"
            for topic in json.loads(row.topics):
                counts[Group.BADGES_BY_TOPIC, str(topic)] += 1
        if _within(_local_day(row.revoked_at, zone), period):
            counts[Group.BADGES, "revoked"] += 1
    return counts


def _badge_figures(conn: Connection, scope: Scope, period: Period, previous: Period) -> list[Figure]:
    if not inspect(conn).has_table(badge_issuances.name):
        return []
    now, before = _badge_counts(conn, scope, period), _badge_counts(conn, scope, previous)
    figures = [Figure(Group.BADGES, key, now[Group.BADGES, key], before[Group.BADGES, key])
               for key in ("issued", "claimed", "revoked", "playlists-completed")]  # fmt: skip
    figures += [Figure(Group.BADGES_BY_TOPIC, topic, now[Group.BADGES_BY_TOPIC, topic], before[Group.BADGES_BY_TOPIC, topic])
                for topic in TOPICS]  # fmt: skip
    return figures


# --- all together ---------------------------------------------------------------------------------


def compute(conn: Connection, scope: Scope, period: Period, *, statuses: Iterable[Status] = PUBLIC_STATUSES) -> Indicators:
    """Every indicator of ``scope`` for ``period`` and for the previous period of the same length."""
    wanted = frozenset(statuses)
    previous = period.previous()
    rows = _rows(conn, scope, Period(previous.start, period.end), wanted)
    now_rows = [r for r in rows if counts_in(r, period)]
    before_rows = [r for r in rows if counts_in(r, previous)]
    now = _opportunity_counts(now_rows, period)
    before = _opportunity_counts(before_rows, previous)
    figures = [
        Figure(group, key, value, before[group, key], Unit.SHARE if group == Group.SHARES else Unit.COUNT)
        for (group, key), value in now.items()
    ]
    for month in period.months():
        figures.append(Figure(Group.MONTH, f"{month.start:%Y-%m}", sum(counts_in(r, month) for r in now_rows), None))

    notes: list[Note] = []
    boundaries = _district_boundaries(conn, scope)
    if boundaries:
        figures.append(Figure(Group.DISTRICTS, "covered", _covered(boundaries, now_rows), _covered(boundaries, before_rows)))
        figures.append(Figure(Group.DISTRICTS, "total", len(boundaries), len(boundaries)))
    else:
        notes.append(Note.NO_DISTRICTS)

    provider_columns = _columns(conn, "providers")
    organisations = _organisations(conn, scope, wanted, provider_columns)
    joined_now = [org for org in organisations if _within(org.joined, period)]
    joined_before = [org for org in organisations if _within(org.joined, previous)]
    figures.append(Figure(Group.ORGANISATIONS, "joined", len(joined_now), len(joined_before)))
    kinds_now, kinds_before = Counter(org.kind for org in joined_now), Counter(org.kind for org in joined_before)
    for kind in ProviderKind:
        figures.append(Figure(Group.JOINED_BY_KIND, kind.value, kinds_now[kind], kinds_before[kind]))
    if "verified_at" in provider_columns:
        verified_now = sum(_within(org.verified, period) for org in organisations)
        verified_before = sum(_within(org.verified, previous) for org in organisations)
        figures.append(Figure(Group.ORGANISATIONS, "verified", verified_now, verified_before))
    else:
        notes.append(Note.NO_VERIFICATION)

    if _columns(conn, "participation_reports") >= {"opportunity_id", "age_group", "participants"}:
        took_part = _participants(conn, [r.id for r in now_rows])
        took_part_before = _participants(conn, [r.id for r in before_rows])
        figures.append(Figure(Group.PARTICIPANTS, "total", took_part.total(), took_part_before.total()))
        for group in AGE_GROUPS:
            figures.append(Figure(Group.PARTICIPANTS_BY_AGE_GROUP, group.id, took_part[group.id], took_part_before[group.id]))
    else:
        notes.append(Note.NO_PARTICIPATION)

    figures.extend(_badge_figures(conn, scope, period, previous))

    joined = tuple(
        JoinedOrganisation(org.name, org.kind, org.joined)
        for org in sorted(joined_now, key=lambda org: (org.joined or period.start, fold(org.name)))
        if org.joined is not None
    )
    return Indicators(scope, period, previous, wanted, tuple(figures), tuple(notes), joined)
