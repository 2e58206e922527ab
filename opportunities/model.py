"""The domain records: opportunities, providers, cities."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

from opportunities import recurrence
from opportunities.text import fold
from opportunities.vocabulary import AGE_GROUPS, Mode, OpportunityType, Precision, ProviderKind, Status


def as_datetime(value: date | datetime) -> datetime:
    """A date as midnight, a datetime unchanged (both naive, local to the city)."""
    return value if isinstance(value, datetime) else datetime.combine(value, time())


def dedup_key(
    *,
    provider: str,
    title: str,
    start: date | datetime,
    latitude: float | None,
    longitude: float | None,
    address: str,
    mode: str,
) -> str:
    """The 40-character key that two records of one opportunity share: same provider and title
    (compared folded), same start, same place (coordinates to about 10 m, else the folded address,
    else the mode). Stored as ``opportunities.dedup_key``; migration 0004 recomputes it from stored rows.
    """
    located = latitude is not None and longitude is not None
    place = f"{latitude:.4f},{longitude:.4f}" if located else fold(address) or mode
    text = "|".join((fold(provider), fold(title), as_datetime(start).isoformat(), place))
    return hashlib.sha1(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Opportunity:
    """A learning opportunity. Dates are naive and local to the city's time zone."""

    title: str
    provider: str
    city: str
    country: str
    topics: tuple[str, ...]
    age_min: int
    mode: Mode
    type: OpportunityType
    start: date | datetime
    description: str = ""
    venue: str = ""
    address: str = ""
    latitude: float | None = None
    longitude: float | None = None
    precision: Precision | None = None
    location_source: str = ""
    uncertainty_m: int | None = None  # how far from the real place the point may be; None: unknown
    age_max: int | None = None
    end: date | datetime | None = None
    schedule: str = ""
    cost: Decimal = Decimal(0)
    currency: str = ""
    languages: tuple[str, ...] = ()
    url: str = ""
    contact_email: str = ""
    accessibility: str = ""
    status: Status = Status.PENDING
    id: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    verified_at: datetime | None = None
    distance_km: float | None = field(default=None, compare=False)

    @property
    def is_free(self) -> bool:
        return self.cost == 0

    @property
    def has_location(self) -> bool:
        return self.latitude is not None and self.longitude is not None

    @property
    def age_groups(self) -> tuple[str, ...]:
        """Ids of every age group the age range overlaps."""
        return tuple(g.id for g in AGE_GROUPS if g.overlaps(self.age_min, self.age_max))

    def accepts_age(self, age: int) -> bool:
        return self.age_min <= age and (self.age_max is None or age <= self.age_max)

    @property
    def dedup_key(self) -> str:
        """Same provider, title, start and place: the same opportunity (see :func:`dedup_key`)."""
        return dedup_key(provider=self.provider, title=self.title, start=self.start, latitude=self.latitude,
                         longitude=self.longitude, address=self.address, mode=self.mode.value)  # fmt: skip

    def sessions(self, after: datetime, before: datetime, limit: int = 10) -> list[datetime]:
        """Start times of the sessions between ``after`` and ``before`` (inclusive), at most ``limit``."""
        first = as_datetime(self.start)
        last = as_datetime(self.end) if self.end is not None else None
        if not self.schedule:
            ends = last or first
            return [first] if first <= before and ends >= after else []
        return recurrence.sessions(
            self.schedule, first, after, before, limit, series_end=last.date() if last is not None else None
        )


@dataclass(frozen=True, slots=True)
class Provider:
    """An organisation offering opportunities."""

    name: str
    kind: ProviderKind = ProviderKind.OTHER
    city: str = ""
    website: str = ""
    contact_email: str = ""
    id: int | None = None


@dataclass(frozen=True, slots=True)
class City:
    """A city of the network. ``boundary`` is a GeoJSON geometry, used by coverage."""

    name: str
    country: str
    latitude: float
    longitude: float
    timezone: str
    boundary: str | None = None
    geonameid: int | None = None
    id: int | None = None
