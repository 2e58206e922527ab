"""Likely duplicates of a submission, for the reviewer: not the exact repeats the import already
refuses (same dedup key), but the near ones a person should look at before approving.

Two kinds: the same provider listing a similar title again (another date, a typo), and another
provider listing a similar title close in time and place (one event submitted by two partners).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from difflib import SequenceMatcher
from enum import StrEnum

from sqlalchemy import Connection, and_, or_, select

from opportunities.db import queries, schema
from opportunities.model import Opportunity, as_datetime
from opportunities.places.gazetteer import haversine_km
from opportunities.text import fold
from opportunities.vocabulary import Status

# Titles this similar (0–1, on folded text) are "similar": "Kodklubb för unga" and "Kodklubben för unga".
TITLE_SIMILARITY = 0.8
# "Close in time and place": starts this many days apart at most, venues this far apart at most.
NEAR_DAYS = 14
NEAR_KM = 1.0
# Opportunities that compete for a visitor: a rejected or archived one is no duplicate.
_LIVE = (Status.PENDING.value, Status.PUBLISHED.value)
_MAX_CANDIDATES = 2000


class DuplicateKind(StrEnum):
    SAME_PROVIDER = "same-provider"
    NEARBY = "nearby"


@dataclass(frozen=True)
class LikelyDuplicate:
    """Another listing that may be the same opportunity, and why it is suspected."""

    opportunity: Opportunity
    kind: DuplicateKind
    similarity: float  # of the folded titles, 0–1
    days_apart: int
    distance_km: float | None  # None when either has no location


def title_similarity(a: str, b: str) -> float:
    """How alike two titles are, 0–1, compared folded (case, accents, spacing and script-neutral)."""
    fa, fb = " ".join(fold(a).split()), " ".join(fold(b).split())
    if not fa or not fb:
        return 0.0
    return SequenceMatcher(None, fa, fb, autojunk=False).ratio()


def likely_duplicates(conn: Connection, opp: Opportunity, *, limit: int = 5) -> list[LikelyDuplicate]:
    """Pending or published listings that may be ``opp`` again, most alike first."""
    assert opp.id is not None
    row = conn.execute(
        select(schema.opportunities.c.provider_id, schema.opportunities.c.city_id).where(schema.opportunities.c.id == opp.id)
    ).one()
    start = as_datetime(opp.start).date()
    near_in_time = and_(
        schema.opportunities.c.city_id == row.city_id,
        schema.opportunities.c.start_date.between(start - timedelta(days=NEAR_DAYS), start + timedelta(days=NEAR_DAYS)),
    )
    query = (
        select(*queries.opportunity_columns())
        .select_from(queries.joined_opportunities())
        .where(
            schema.opportunities.c.id != opp.id,
            schema.opportunities.c.status.in_(_LIVE),
            or_(schema.opportunities.c.provider_id == row.provider_id, near_in_time),
        )
        .order_by(schema.opportunities.c.id)
        .limit(_MAX_CANDIDATES)
    )
    found: list[LikelyDuplicate] = []
    candidates = queries.load_opportunities(conn, list(conn.execute(query)))
    for other in candidates:
        similarity = title_similarity(opp.title, other.title)
        if similarity < TITLE_SIMILARITY:
            continue
        days = abs((as_datetime(other.start).date() - start).days)
        distance = None
        if opp.latitude is not None and opp.longitude is not None and other.latitude is not None and other.longitude is not None:
            distance = haversine_km(opp.latitude, opp.longitude, other.latitude, other.longitude)
        if fold(other.provider) == fold(opp.provider):
            kind = DuplicateKind.SAME_PROVIDER
        elif days <= NEAR_DAYS and (distance is None or distance <= NEAR_KM):
            kind = DuplicateKind.NEARBY
        else:
            continue
        found.append(LikelyDuplicate(other, kind, similarity, days, distance))
    found.sort(key=lambda d: (-d.similarity, d.days_apart, d.opportunity.id or 0))
    return found[:limit]
