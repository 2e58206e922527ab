"""An in-memory columnar index of published opportunities, for filtering a million in milliseconds.

The map must answer a filter change on a million opportunities in well under a second; a SQL
query that returns a million rows cannot. :class:`OpportunityIndex` holds one NumPy array per
filterable field (topics and languages as bit masks) and applies a :class:`SearchQuery` as vector
operations. It gives the same answers as :func:`opportunities.search.search` (tests check this);
the SQL search stays the reference and serves the command line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from dateutil.rrule import rrulestr
from sqlalchemy import Connection, select

from opportunities.search import SearchQuery, filtered_query
from opportunities.storage import cities, opportunities, opportunity_languages, opportunity_topics
from opportunities.text import fold
from opportunities.vocabulary import AGE_GROUPS_BY_ID, TOPICS, Mode, OpportunityType, Precision, Status

_EPOCH = date(1970, 1, 1)
_OPEN_AGE = 255
_FAR_FUTURE = np.int32(2**31 - 1)
MODES = tuple(Mode)
TYPES = tuple(OpportunityType)
PRECISIONS = tuple(Precision)
# For weekly rules, sessions can be checked per weekday without expanding the rule.
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")

BoolArray = npt.NDArray[np.bool_]


def _days(value: date) -> int:
    return (value - _EPOCH).days


def _weekly_mask(rule: str) -> int:
    """Weekday bits (Monday = bit 0) of a plain ``FREQ=WEEKLY;BYDAY=..`` rule; 0 when not plain."""
    parts = dict(p.split("=", 1) for p in rule.split(";") if "=" in p)
    if parts.get("FREQ") != "WEEKLY" or set(parts) - {"FREQ", "BYDAY", "WKST"} or "BYDAY" not in parts:
        return 0
    mask = 0
    for day in parts["BYDAY"].split(","):
        if day not in _WEEKDAYS:
            return 0
        mask |= 1 << _WEEKDAYS.index(day)
    return mask


@dataclass(frozen=True)
class OpportunityIndex:
    """Columns of every opportunity of one status, sorted by id."""

    ids: npt.NDArray[np.int64]
    latitude: npt.NDArray[np.float64]  # NaN when online
    longitude: npt.NDArray[np.float64]
    city_id: npt.NDArray[np.int32]
    topics: npt.NDArray[np.uint16]  # bit i: TOPICS[i]
    languages: npt.NDArray[np.uint64]  # bit i: language_codes[i]
    language_codes: tuple[str, ...]
    age_min: npt.NDArray[np.int16]
    age_max: npt.NDArray[np.int16]  # 255 when open-ended
    mode: npt.NDArray[np.int8]  # index into MODES
    type: npt.NDArray[np.int8]  # index into TYPES
    precision: npt.NDArray[np.int8]  # index into PRECISIONS, -1 when online
    free: BoolArray
    accessible: BoolArray
    start: npt.NDArray[np.int32]  # days since 1970-01-01
    end: npt.NDArray[np.int32]  # last day (series end for recurring); far future when open
    weekly: npt.NDArray[np.uint8]  # weekday bits of plain weekly rules
    schedules: dict[int, tuple[str, datetime]]  # other recurring rules: row -> (rule, first start)
    city_names: dict[str, int]  # folded name -> city id
    status: Status

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def load(cls, conn: Connection, status: Status = Status.PUBLISHED) -> OpportunityIndex:
        """Read every opportunity of ``status`` into columns (one scan per table)."""
        o = opportunities
        stmt = (
            select(o.c.id, o.c.latitude, o.c.longitude, o.c.city_id, o.c.age_min, o.c.age_max, o.c.mode, o.c.type,
                   o.c.location_precision, o.c.cost, o.c.accessibility != "", o.c.start_date, o.c.start_time,
                   o.c.end_date, o.c.schedule)
            .where(o.c.status == status.value)
            .order_by(o.c.id)
        )
        rows = conn.execute(stmt).all()
        n = len(rows)
        columns: list[Any] = list(zip(*rows, strict=True)) if rows else [()] * 15
        ids = np.fromiter(columns[0], dtype=np.int64, count=n)
        mode_of = {m.value: i for i, m in enumerate(MODES)}
        type_of = {t.value: i for i, t in enumerate(TYPES)}
        precision_of = {p.value: i for i, p in enumerate(PRECISIONS)}
        weekly = np.zeros(n, dtype=np.uint8)
        end = np.full(n, _FAR_FUTURE, dtype=np.int32)
        schedules: dict[int, tuple[str, datetime]] = {}
        for i, (start_day, start_time, end_day, rule) in enumerate(zip(*columns[11:15], strict=True)):
            if end_day is not None:
                end[i] = _days(end_day)
            elif not rule:
                end[i] = _days(start_day)
            if rule:
                weekly[i] = _weekly_mask(rule)
                if not weekly[i]:
                    schedules[i] = (rule, datetime.combine(start_day, start_time or time()))
        topics = cls._bits(conn, opportunity_topics.c.topic, ids, {t: i for i, t in enumerate(TOPICS)}, np.uint16)
        codes = tuple(sorted(set(conn.execute(select(opportunity_languages.c.language).distinct()).scalars())))[:64]
        languages = cls._bits(conn, opportunity_languages.c.language, ids, {c: i for i, c in enumerate(codes)}, np.uint64)
        city_names = {key: cid for cid, key in conn.execute(select(cities.c.id, cities.c.name_key))}
        return cls(
            ids=ids,
            latitude=np.array([math.nan if v is None else v for v in columns[1]], dtype=np.float64),
            longitude=np.array([math.nan if v is None else v for v in columns[2]], dtype=np.float64),
            city_id=np.fromiter(columns[3], dtype=np.int32, count=n),
            age_min=np.fromiter(columns[4], dtype=np.int16, count=n),
            age_max=np.array([_OPEN_AGE if v is None else v for v in columns[5]], dtype=np.int16),
            mode=np.array([mode_of[v] for v in columns[6]], dtype=np.int8),
            type=np.array([type_of[v] for v in columns[7]], dtype=np.int8),
            precision=np.array([-1 if v is None else precision_of[v] for v in columns[8]], dtype=np.int8),
            free=np.array([v == 0 for v in columns[9]], dtype=bool),
            accessible=np.array(columns[10], dtype=bool),
            start=np.array([_days(d) for d in columns[11]], dtype=np.int32),
            end=end,
            weekly=weekly,
            schedules=schedules,
            topics=topics,
            languages=languages,
            language_codes=codes,
            city_names=city_names,
            status=status,
        )

    @staticmethod
    def _bits(conn: Connection, column: Any, ids: npt.NDArray[np.int64], bit_of: dict[str, int], dtype: Any) -> Any:
        table = column.table
        pairs = conn.execute(select(table.c.opportunity_id, column)).all()
        bits = np.zeros(len(ids), dtype=dtype)
        if not pairs:
            return bits
        owner = np.fromiter((p[0] for p in pairs), dtype=np.int64, count=len(pairs))
        value = np.array([1 << bit_of.get(p[1], 63) if p[1] in bit_of else 0 for p in pairs], dtype=dtype)
        pos = np.searchsorted(ids, owner)
        pos_clipped = np.minimum(pos, max(len(ids) - 1, 0))
        keep = (pos < len(ids)) & (ids[pos_clipped] == owner) if len(ids) else np.zeros(len(owner), dtype=bool)
        np.bitwise_or.at(bits, pos[keep], value[keep])
        return bits

    def mask(self, query: SearchQuery, conn: Connection | None = None) -> BoolArray:
        """Rows matching every filter of ``query`` (the radius of ``near`` included).

        Free-text search needs ``conn``: it runs as SQL, and its ids are intersected here.
        """
        keep = np.ones(len(self), dtype=bool)
        if query.status is not self.status:
            raise ValueError(f"this index holds {self.status.value} opportunities, not {query.status.value}")
        if query.city:
            keep &= self.city_id == self.city_names.get(fold(query.city), -1)
        if query.topics:
            wanted = sum(1 << TOPICS.index(t) for t in query.topics)
            keep &= (self.topics & np.uint16(wanted)) != 0
        if query.language:
            code = query.language.lower()
            if code not in self.language_codes:
                keep[:] = False
            else:
                keep &= (self.languages & np.uint64(1 << self.language_codes.index(code))) != 0
        if query.age is not None:
            keep &= (self.age_min <= query.age) & (self.age_max >= query.age)
        if query.age_group:
            group = AGE_GROUPS_BY_ID[query.age_group]
            if group.age_max is not None:
                keep &= self.age_min <= group.age_max
            keep &= self.age_max >= group.age_min
        if query.modes:
            keep &= np.isin(self.mode, [MODES.index(m) for m in query.modes])
        if query.types:
            keep &= np.isin(self.type, [TYPES.index(t) for t in query.types])
        if query.free_only:
            keep &= self.free
        if query.accessible_only:
            keep &= self.accessible
        if query.date_from or query.date_to:
            keep &= self._in_dates(query.date_from, query.date_to, keep)
        if query.near is not None:
            keep &= self._within(query.near, query.radius_km)
        if query.text.strip():
            if conn is None:
                raise ValueError("free-text search needs a database connection")
            text_only = SearchQuery(text=query.text, status=query.status, limit=query.limit)
            matching = np.fromiter(conn.execute(filtered_query(text_only, [opportunities.c.id])).scalars(), dtype=np.int64)
            keep &= np.isin(self.ids, matching)
        return keep

    def _in_dates(self, date_from: date | None, date_to: date | None, candidates: BoolArray) -> BoolArray:
        lo = _days(date_from) if date_from else -(2**31)
        hi = _days(date_to) if date_to else int(_FAR_FUTURE)
        overlap = (self.start <= hi) & (self.end >= lo)
        # Recurring: the overlap of the series and the range must hold one of its weekdays.
        first = np.maximum(self.start, lo)
        last = np.minimum(self.end, hi)
        span = last - first
        weekly = self.weekly != 0
        hit = span >= 6
        weekday = (first.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday (Monday = 0)
        for offset in range(7):
            day_bit = (1 << ((weekday + offset) % 7)).astype(np.uint8)
            hit |= (span >= offset) & ((self.weekly & day_bit) != 0)
        result = overlap & (~weekly | hit)
        # Any other rule is expanded, only for the rows still in play.
        for row, (rule, first_start) in self.schedules.items():
            if result[row] and candidates[row]:
                after = datetime.combine(date_from, time()) if date_from else first_start
                before = datetime.combine(date_to, time.max) if date_to else datetime.max
                if self.end[row] != _FAR_FUTURE:
                    before = min(before, datetime.combine(_EPOCH + timedelta(days=int(self.end[row])), time.max))
                moment = rrulestr(rule, dtstart=first_start).after(max(after, first_start), inc=True)  # type: ignore[union-attr]
                result[row] = moment is not None and moment <= before
        return np.asarray(result, dtype=bool)

    def _within(self, near: tuple[float, float], radius_km: float) -> BoolArray:
        lat0, lon0 = math.radians(near[0]), math.radians(near[1])
        with np.errstate(invalid="ignore"):
            lat, lon = np.radians(self.latitude), np.radians(self.longitude)
            a = np.sin((lat - lat0) / 2) ** 2 + math.cos(lat0) * np.cos(lat) * np.sin((lon - lon0) / 2) ** 2
            distance = 2 * 6371.0088 * np.arcsin(np.sqrt(np.minimum(1.0, a)))
            return np.asarray(distance <= radius_km, dtype=bool)

    def distances_km(self, rows: npt.NDArray[np.int64], near: tuple[float, float]) -> npt.NDArray[np.float64]:
        lat0, lon0 = math.radians(near[0]), math.radians(near[1])
        lat, lon = np.radians(self.latitude[rows]), np.radians(self.longitude[rows])
        a = np.sin((lat - lat0) / 2) ** 2 + math.cos(lat0) * np.cos(lat) * np.sin((lon - lon0) / 2) ** 2
        return np.asarray(2 * 6371.0088 * np.arcsin(np.sqrt(np.minimum(1.0, a))), dtype=np.float64)

    def ordered(self, keep: BoolArray, query: SearchQuery) -> npt.NDArray[np.int64]:
        """Row numbers of ``keep`` in the search order: nearest first with ``near``, else by start date."""
        rows = np.flatnonzero(keep)
        if query.near is not None:
            distance = self.distances_km(rows, query.near)
            return rows[np.lexsort((self.ids[rows], distance))]
        return rows[np.lexsort((self.ids[rows], self.start[rows]))]

