"""RPDE (Realtime Paged Data Exchange 1.0) feeds of the opportunities, one per OpenActive kind.

The "modified timestamp and id" ordering of the spec: every opportunity row, in the order of
(``updated_at``, ``id``); a page holds the rows after the position (``afterTimestamp``,
``afterId``) of the previous page's last item, read in one query on the index of that order
(``ix_opportunities_updated_at_id``). ``modified`` is ``updated_at`` in microseconds since 1970
(UTC): an integer that orders the items exactly as the query does (the database keeps
microseconds; whole seconds would tie, and items of one second could not be ordered by id).

Every write to an opportunity moves its ``updated_at`` (publishing, editing, withdrawing,
rejecting, archiving), so each change moves the item to the end of the feed. A row that is not
published, is of the other kind (a series whose rule was removed) or names no activity of
OpenActive's list (:func:`~opportunities.feeds.openactive.in_scope`), is a ``deleted`` item:
a consumer drops it, and ignores deletions of items it never had. Opportunities are never deleted
from the database (withdrawn and ended ones are archived), so no tombstone table is needed: the
row itself stays, as a ``deleted`` item, for as long as the database keeps it. A restore from a
backup is the exception: see the operators' page.

An opportunity harvested from another publisher's feed (:mod:`opportunities.feeds.harvesting`)
is a ``deleted`` item too: it is that publisher's data under their licence, which consumers should
read from them, not ours to republish as if it were.

A row is shown once it is ``delay`` old (``INDEX_OVERLAP_S``): a writer stamps ``updated_at``
before its transaction commits, so a row could otherwise appear behind a position a consumer has
already passed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Connection, func, literal_column, select, union_all

from opportunities.db import queries
from opportunities.db.schema import (
    cities,
    harvested_items,
    opportunities,
    opportunity_languages,
    opportunity_topics,
    providers,
)
from opportunities.feeds.openactive import FEED_PATHS, KINDS, Listing, item_data, kind_of_schedule, names_activity
from opportunities.vocabulary import Status

PAGE_SIZE = 500
MAX_PAGE_SIZE = 500
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The latest position a datetime can hold (the last microsecond of the year 9999).
MAX_MODIFIED = (datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC) - EPOCH) // timedelta(microseconds=1)
_WHOLE_NUMBER = re.compile(r"[0-9]{1,19}")


class FeedParameterError(ValueError):
    """A query parameter a feed cannot use: ``parameter`` names it, ``message`` says what to send."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message


@dataclass(frozen=True, slots=True)
class Position:
    """Where a page starts: after the item with this ``modified`` and ``id``."""

    modified: int
    id: int


@dataclass(frozen=True, slots=True)
class Page:
    """One RPDE page: its JSON ``body``; ``last`` when it has no items (the feed's end, for now)."""

    body: dict[str, Any]
    last: bool


def modified(updated_at: datetime) -> int:
    """``updated_at`` (UTC) as the feed's ``modified``: microseconds since 1970."""
    return (updated_at.astimezone(UTC) - EPOCH) // timedelta(microseconds=1)


def moment(modified_value: int) -> datetime:
    """The ``updated_at`` of a ``modified`` value (the inverse of :func:`modified`)."""
    return EPOCH + timedelta(microseconds=modified_value)


def _single(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = params.get(name, ())
    if len(values) > 1:
        raise FeedParameterError(name, f"{name} is given {len(values)} times; give it once")
    return values[0] if values else None


def parse_position(params: Mapping[str, Sequence[str]]) -> Position | None:
    """The position a request asks for: None for the first page (no parameters).

    Raises :class:`FeedParameterError` naming the parameter that is missing or not a whole number.
    """
    after_timestamp = _single(params, "afterTimestamp")
    after_id = _single(params, "afterId")
    if after_timestamp is None and after_id is None:
        return None
    if after_timestamp is None:
        raise FeedParameterError("afterId", "afterId is only used with afterTimestamp; copy both from the page's next URL")
    if not _WHOLE_NUMBER.fullmatch(after_timestamp) or int(after_timestamp) > MAX_MODIFIED:
        raise FeedParameterError(
            "afterTimestamp",
            f"afterTimestamp must be a whole number from 0 to {MAX_MODIFIED} (an item's modified); copy it from the page's next URL",
        )
    if after_id is None:
        raise FeedParameterError(
            "afterId", "afterTimestamp needs afterId (the id of the same item); copy both from the page's next URL"
        )
    if not _WHOLE_NUMBER.fullmatch(after_id) or int(after_id) > 2**63 - 1:
        raise FeedParameterError("afterId", "afterId must be a whole number (an item's id); copy it from the page's next URL")
    return Position(int(after_timestamp), int(after_id))


def feed_url(public_url: str, item_kind: str, position: Position | None = None) -> str:
    """The absolute URL of the page of ``item_kind``'s feed that starts after ``position``."""
    base = f"{public_url}/openactive/{FEED_PATHS[item_kind]}"
    if position is None:
        return base
    return f"{base}?{urlencode({'afterTimestamp': position.modified, 'afterId': position.id})}"


def _values(conn: Connection, column: Any, owner: Any) -> Any:
    """The comma-joined values of a multi-valued field of the outer row, as one scalar subquery."""
    joined = (
        func.string_agg(column, literal_column("','")) if conn.dialect.name == "postgresql" else func.group_concat(column, ",")
    )
    return select(joined).where(owner == opportunities.c.id).scalar_subquery()


def _page_keys(after: Position, until: datetime, limit: int) -> Any:
    """The (``id``, ``updated_at``) of the page's rows after ``after``: the rows of the same
    ``updated_at`` with a greater id, then the later ones, each a seek on the index of the feed's
    order. Not ``(updated_at, id) > (t, i)``: SQLite seeks that on its first column only, and an
    import stamps all of its rows with one time, so a page in the middle of a 500,000-row import
    would read the index from the import's first row."""
    at = moment(after.modified)
    same = (
        select(opportunities.c.id, opportunities.c.updated_at)
        .where(opportunities.c.updated_at == at, opportunities.c.id > after.id, opportunities.c.updated_at <= until)
        .order_by(opportunities.c.id)
        .limit(limit)
        .subquery()
    )
    later = (
        select(opportunities.c.id, opportunities.c.updated_at)
        .where(opportunities.c.updated_at > at, opportunities.c.updated_at <= until)
        .order_by(opportunities.c.updated_at, opportunities.c.id)
        .limit(limit)
        .subquery()
    )
    both = union_all(select(same.c.id, same.c.updated_at), select(later.c.id, later.c.updated_at)).subquery()
    # Limited here, before the join: the rows' columns are read for the page's rows only.
    return select(both.c.id).order_by(both.c.updated_at, both.c.id).limit(limit).subquery()


def _rows(conn: Connection, after: Position | None, until: datetime, limit: int) -> list[Any]:
    """The rows after ``after`` stamped no later than ``until``, in feed order: one query."""
    joined = queries.joined_opportunities()
    if after is not None:
        keys = _page_keys(after, until, limit)
        joined = joined.join(keys, keys.c.id == opportunities.c.id)
    query = (
        select(
            *queries.opportunity_columns(),
            providers.c.website.label("provider_website"),
            cities.c.timezone.label("city_timezone"),
            _values(conn, opportunity_topics.c.topic, opportunity_topics.c.opportunity_id).label("topic_list"),
            _values(conn, opportunity_languages.c.language, opportunity_languages.c.opportunity_id).label("language_list"),
            select(harvested_items.c.feed_id)
            .where(harvested_items.c.opportunity_id == opportunities.c.id)
            .scalar_subquery()
            .label("harvested_from"),
        )
        .select_from(joined)
        .where(opportunities.c.updated_at <= until)
        .order_by(opportunities.c.updated_at, opportunities.c.id)
        .limit(limit)
    )
    return list(conn.execute(query).fetchall())


def _split(joined: str | None) -> tuple[str, ...]:
    return tuple(sorted(joined.split(","))) if joined else ()


def page(
    conn: Connection,
    item_kind: str,
    after: Position | None,
    *,
    public_url: str,
    license_url: str,
    now: datetime,
    delay: timedelta = timedelta(0),
    limit: int = PAGE_SIZE,
) -> Page:
    """The page of ``item_kind``'s feed (``SessionSeries`` or ``Event``) after ``after``.

    Published opportunities of that kind that OpenActive can describe
    (:func:`~opportunities.feeds.openactive.in_scope`, read from the row's title and topics) are ``updated`` items with their OpenActive
    ``data``; every other row is a ``deleted`` item. ``next`` is absolute; on the last page (no items) it is
    the page's own URL. Rows stamped less than ``delay`` before ``now`` wait for a later page.
    """
    if item_kind not in KINDS:
        raise ValueError(f"no feed of {item_kind!r}")
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    rows = _rows(conn, after, now - delay, limit)
    items: list[dict[str, Any]] = []
    for row in rows:
        stamp = queries.aware(row.updated_at)
        assert stamp is not None
        item: dict[str, Any] = {"state": "deleted", "kind": item_kind, "id": int(row.id), "modified": modified(stamp)}
        # The kind and the scope from the raw row first: only an item is made an opportunity.
        topics = _split(row.topic_list)
        if (
            row.status == Status.PUBLISHED.value
            and row.harvested_from is None
            and kind_of_schedule(row.schedule) == item_kind
            and names_activity(row.title, topics)
        ):
            opportunity = queries.opportunity_from_row(row, topics, _split(row.language_list))
            listing = Listing(opportunity, int(row.provider_id), row.provider_website or "", row.city_timezone)
            item["state"] = "updated"
            item["data"] = item_data(listing, public_url)
        items.append(item)
    position = Position(items[-1]["modified"], items[-1]["id"]) if items else after
    body = {"next": feed_url(public_url, item_kind, position), "items": items, "license": license_url}
    return Page(body=body, last=not items)
