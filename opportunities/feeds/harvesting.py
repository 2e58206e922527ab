"""Harvesting external RPDE feeds (OpenActive) into the city's opportunities.

A city lead or an admin registers a feed: its URL, the organisation its items belong to, the city,
the licence and the attribution (:func:`register_feed`). A harvest (:func:`harvest_feed`) follows
the feed from where the last one stopped (the stored ``next`` URL), page by page, at most
``max_pages`` pages per run:

- each page is fetched by :mod:`opportunities.feeds.fetching` (public addresses only, a timeout,
  a deadline, a byte cap, a redirect cap, JSON only), then checked as an RPDE page (``items`` a
  list of at most :data:`MAX_ITEMS_PER_PAGE`, ``next`` an http(s) URL, each item with ``state``,
  ``id`` and a whole-number ``modified``). A page that fails any of that changes nothing: the
  feed's health records the reason and the next run tries the same page again;
- an item is applied only when its ``modified`` is newer than the one stored for its ``id``;
- an ``updated`` item is mapped to an import record (:mod:`opportunities.feeds.upstream`) and goes
  through the import's validation, geocoding (its own coordinates first) and duplicate key
  (:mod:`opportunities.listings.importing`); a bad item is refused alone, its reason kept in
  ``harvested_items.problem``, while the valid items of the page are stored;
- a ``deleted`` item archives the opportunity it became (it leaves Explore);
- a page is stored in one transaction: its items, and the feed's ``next`` URL moved past it;
- the end of the feed is RPDE's: a page with no items whose ``next`` is its own URL;
- 503/429 with ``Retry-After`` sets ``retry_after`` (no harvest before it); 410 marks the feed
  gone (never harvested again until it is registered anew).

Harvested opportunities are published at once: the city's lead vouched for the feed by
registering it. They keep their source (``harvested_items``: the feed and the upstream ``@id``),
and Explore shows "From <attribution>, <licence>" with them (:func:`attributions`). Our own
OpenActive feed lists them as ``deleted`` items: they are not ours to republish
(:mod:`opportunities.feeds.rpde`).

Two replicas never harvest one feed at once: a harvest first takes the feed's lease (a row
update that succeeds for one of them, :data:`LEASE`), and gives it back when done.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urljoin

from sqlalchemy import Connection, Engine, bindparam, delete, or_, select, update

from opportunities import errors
from opportunities.accounts import audit
from opportunities.accounts.identity import User
from opportunities.accounts.permissions import Action, allowed, authorise
from opportunities.db import connection, queries
from opportunities.db.schema import (
    cities,
    harvest_feeds,
    harvested_items,
    opportunities,
    opportunity_languages,
    opportunity_topics,
    providers,
)
from opportunities.errors import (
    N_,
    Country,
    FeedError,
    FieldError,
    NotFoundError,
    Reason,
    RecordError,
    because,
)
from opportunities.feeds import upstream
from opportunities.feeds.fetching import FetchLimits, check_url, fetch
from opportunities.listings.importing import Registry, locate
from opportunities.model import Opportunity
from opportunities.places.geocoding import Geocoder
from opportunities.settings import Settings
from opportunities.validation import check_text, parse_opportunity
from opportunities.vocabulary import Status

MAX_ITEMS_PER_PAGE = 5000
# How long a harvest holds a feed's lease; a replica that died gives it up after this long.
LEASE = timedelta(minutes=10)
ARCHIVE_REASON = "deleted upstream"
REMOVED_REASON = "feed removed"
MAX_ATTRIBUTION = 300
MAX_URL_LENGTH = 2000  # of a feed's, its licence's and a next URL (as stored)
_BATCH = 500


def fetch_limits(settings: Settings) -> FetchLimits:
    """The fetcher's limits from the settings (``HARVEST_*``)."""
    deadline = settings.harvest_timeout_s
    return FetchLimits(timeout_s=min(10.0, deadline), deadline_s=deadline, max_bytes=settings.harvest_max_page_bytes,
                       allow_private=settings.harvest_allow_private)  # fmt: skip


# --- reasons kept in the database --------------------------------------------------------


def _value_json(value: Any) -> Any:
    if isinstance(value, Reason):
        return {"reason": reason_json(value)}
    if isinstance(value, Country):
        return {"country": value.code}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    return value


def reason_json(reason: Reason) -> dict[str, Any]:
    """A reason as JSON-ready data, to store and word later in any language (:func:`reason_from_json`)."""
    return {"text": reason.text, "values": {key: _value_json(value) for key, value in reason.values.items()}}


def _value_from(value: Any) -> Any:
    if isinstance(value, dict):
        if "reason" in value:
            return reason_from_json(value["reason"])
        if "country" in value:
            return Country(str(value["country"]))
        if "date" in value:
            return date.fromisoformat(str(value["date"]))
    return value


def reason_from_json(data: Mapping[str, Any]) -> Reason:
    """The reason :func:`reason_json` stored (its msgid was marked where it was made)."""
    return errors.Reason(str(data["text"]), {key: _value_from(value) for key, value in dict(data.get("values", {})).items()})


def _problem_json(error: FieldError) -> str:
    return json.dumps({"field": error.field, "reason": reason_json(error.reason)})


def problem_from_json(text: str) -> FieldError | None:
    """The stored reason an item was refused (a field and its reason); None for a stored item."""
    if not text:
        return None
    data = json.loads(text)
    return FieldError(str(data["field"]), reason_from_json(data["reason"]))


# --- feeds --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Feed:
    """A registered feed and its health."""

    id: int
    url: str
    organisation_id: int
    organisation: str
    city_id: int
    city: str
    country: str
    timezone: str
    license: str
    attribution: str
    next_url: str
    last_run_at: datetime | None = None
    last_success_at: datetime | None = None
    items_seen: int = 0
    items_stored: int = 0
    items_rejected: int = 0
    last_error: Reason | None = None
    errors: int = 0
    lag_s: float | None = None
    retry_after: datetime | None = None
    gone_at: datetime | None = None


def _feeds_query() -> Any:
    return select(
        harvest_feeds,
        providers.c.name.label("organisation_name"),
        cities.c.name.label("city_name"),
        cities.c.country.label("city_country"),
        cities.c.timezone.label("city_timezone"),
    ).select_from(
        harvest_feeds.join(providers, providers.c.id == harvest_feeds.c.organisation_id).join(
            cities, cities.c.id == harvest_feeds.c.city_id
        )
    )


def _feed(row: Any) -> Feed:
    return Feed(
        id=int(row.id), url=row.url, organisation_id=int(row.organisation_id), organisation=row.organisation_name,
        city_id=int(row.city_id), city=row.city_name, country=row.city_country, timezone=row.city_timezone,
        license=row.license, attribution=row.attribution, next_url=row.next_url,
        last_run_at=queries.aware(row.last_run_at), last_success_at=queries.aware(row.last_success_at),
        items_seen=row.items_seen, items_stored=row.items_stored, items_rejected=row.items_rejected,
        last_error=reason_from_json(json.loads(row.last_error)) if row.last_error else None, errors=row.errors,
        lag_s=row.lag_s, retry_after=queries.aware(row.retry_after), gone_at=queries.aware(row.gone_at),
    )  # fmt: skip


def get_feed(conn: Connection, feed_id: int) -> Feed:
    row = conn.execute(_feeds_query().where(harvest_feeds.c.id == feed_id)).first()
    if row is None:
        raise NotFoundError(f"no feed {feed_id}")
    return _feed(row)


def list_feeds(conn: Connection, user: User | None, *, city_id: int | None = None) -> list[Feed]:
    """The feeds ``user`` manages (None: the command line, every feed), of ``city_id`` when given."""
    query = _feeds_query().order_by(harvest_feeds.c.id)
    if city_id is not None:
        if user is not None:
            authorise(user, Action.MANAGE_FEEDS, city_id=city_id)
        query = query.where(harvest_feeds.c.city_id == city_id)
    feeds = [_feed(row) for row in conn.execute(query)]
    if user is None:
        return feeds
    return [f for f in feeds if _may_manage(user, f.city_id)]


def _may_manage(user: User, city_id: int) -> bool:
    return allowed(user, Action.MANAGE_FEEDS, city_id=city_id)


def _check_web_address(field_name: str, text: str) -> str:
    try:
        check_url(text)
    except FeedError as exc:
        raise FieldError(field_name, exc.reason) from None
    return text.strip()


def register_feed(
    conn: Connection,
    actor: User | None,
    *,
    url: str,
    organisation_id: int,
    city_id: int,
    license: str,
    attribution: str,
    now: datetime,
) -> Feed:
    """Register a feed for ``city_id`` (``actor`` None: the command line). Raises
    :class:`ForbiddenError` for anyone but an admin or the city's lead, :class:`RecordError` naming
    each unusable field, :class:`NotFoundError` for an unknown organisation or city."""
    if actor is not None:
        authorise(actor, Action.MANAGE_FEEDS, city_id=city_id)
    errors: list[FieldError] = []
    for name, text in (("url", url), ("license", license)):
        try:
            _check_web_address(name, text)
        except FieldError as exc:
            errors.append(exc)
            continue
        if len(text.strip()) > MAX_URL_LENGTH:
            errors.append(FieldError(name, because(N_("{value} is longer than {limit} characters"), value=repr(text[:40] + "…"),
                                                   limit=MAX_URL_LENGTH)))  # fmt: skip
    try:
        check_text("title", attribution)
        if not attribution.strip():
            errors.append(FieldError("attribution", because(N_("This is required."))))
        elif len(attribution) > MAX_ATTRIBUTION:
            errors.append(
                FieldError(
                    "attribution",
                    because(
                        N_("{value} is longer than {limit} characters"), value=repr(attribution[:40] + "…"), limit=MAX_ATTRIBUTION
                    ),
                )
            )
    except FieldError as exc:
        errors.append(FieldError("attribution", exc.reason))
    if errors:
        raise RecordError(errors)
    if conn.execute(select(providers.c.id).where(providers.c.id == organisation_id)).first() is None:
        raise NotFoundError(f"no organisation {organisation_id}")
    if conn.execute(select(cities.c.id).where(cities.c.id == city_id)).first() is None:
        raise NotFoundError(f"no city {city_id}")
    values = {
        "url": url.strip(), "organisation_id": organisation_id, "city_id": city_id, "license": license.strip(),
        "attribution": attribution.strip(), "next_url": url.strip(), "created_at": now,
        "created_by": actor.id if actor is not None else None, "items_seen": 0, "items_stored": 0, "items_rejected": 0,
        "last_error": "", "errors": 0, "lease_owner": "",
    }  # fmt: skip
    feed_id = int(conn.execute(harvest_feeds.insert().returning(harvest_feeds.c.id).values(**values)).scalar_one())
    audit.record(conn, actor=actor, action="register_feed", entity="feed", entity_id=feed_id, city_id=city_id,
                 after={"url": values["url"], "organisation_id": organisation_id, "license": values["license"]}, now=now)  # fmt: skip
    return get_feed(conn, feed_id)


def remove_feed(conn: Connection, actor: User | None, feed_id: int, *, now: datetime) -> int:
    """Remove a feed: the opportunities harvested from it are archived (they leave Explore), its
    items forgotten. Returns how many opportunities were archived."""
    feed = get_feed(conn, feed_id)
    if actor is not None:
        authorise(actor, Action.MANAGE_FEEDS, city_id=feed.city_id)
    ids = [int(i) for (i,) in conn.execute(select(harvested_items.c.opportunity_id).where(
        harvested_items.c.feed_id == feed_id, harvested_items.c.opportunity_id.is_not(None)))]  # fmt: skip
    archived = _archive(conn, ids, REMOVED_REASON, now)
    conn.execute(delete(harvested_items).where(harvested_items.c.feed_id == feed_id))
    conn.execute(delete(harvest_feeds).where(harvest_feeds.c.id == feed_id))
    audit.record(conn, actor=actor, action="remove_feed", entity="feed", entity_id=feed_id, city_id=feed.city_id,
                 before={"url": feed.url}, after={"archived": archived}, now=now)  # fmt: skip
    return archived


def _archive(conn: Connection, ids: Sequence[int], reason: str, now: datetime) -> int:
    done = 0
    for i in range(0, len(ids), _BATCH):
        chunk = ids[i : i + _BATCH]
        result = conn.execute(
            update(opportunities)
            .where(opportunities.c.id.in_(chunk), opportunities.c.status != Status.ARCHIVED.value)
            .values(status=Status.ARCHIVED.value, archive_reason=reason, updated_at=now)
        )
        done += result.rowcount
    return done


# --- attribution ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Attribution:
    """Where a harvested opportunity comes from: "From <attribution>, <licence>"."""

    attribution: str
    license: str
    upstream_id: str


def attributions(conn: Connection, opportunity_ids: Iterable[int]) -> dict[int, Attribution]:
    """The source of each of ``opportunity_ids`` that was harvested (the others are ours)."""
    found: dict[int, Attribution] = {}
    ids = list(opportunity_ids)
    for i in range(0, len(ids), _BATCH):
        query = (
            select(
                harvested_items.c.opportunity_id,
                harvested_items.c.upstream_id,
                harvest_feeds.c.attribution,
                harvest_feeds.c.license,
            )
            .join(harvest_feeds, harvest_feeds.c.id == harvested_items.c.feed_id)
            .where(harvested_items.c.opportunity_id.in_(ids[i : i + _BATCH]))
        )
        for oid, upstream_id, attribution, license in conn.execute(query):
            found[int(oid)] = Attribution(attribution, license, upstream_id)
    return found


# --- one page --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Item:
    """An RPDE item as checked: its id (text), state, ``modified``, kind and data."""

    id: str
    state: str
    modified: int
    kind: str
    data: Mapping[str, Any]


def _page_error(detail: str) -> FeedError:
    return FeedError(because(N_("the page is not an RPDE page: {detail}"), detail=detail))


def _modified(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 18:
        value = int(value)
    if isinstance(value, int) and 0 <= value < 2**63:  # as the database stores it (BIGINT)
        return value
    return None


def parse_page(body: bytes, url: str) -> tuple[list[Item], str]:
    """The items of an RPDE page and its absolute ``next`` URL; :class:`FeedError` saying what is
    wrong with a page that is not one (the whole page is then refused)."""
    try:
        page = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise FeedError(because(N_("the page is not valid JSON ({detail})"), detail=str(exc)[:200])) from None
    if not isinstance(page, dict):
        raise _page_error("not a JSON object")
    raw_items, raw_next = page.get("items"), page.get("next")
    if not isinstance(raw_items, list):
        raise _page_error("no items list")
    if len(raw_items) > MAX_ITEMS_PER_PAGE:
        raise FeedError(because(N_("the page holds {n} items, more than {limit}"), n=len(raw_items), limit=MAX_ITEMS_PER_PAGE))
    if not isinstance(raw_next, str) or not raw_next.strip():
        raise _page_error("no next URL")
    next_url = urljoin(url, raw_next.strip())
    check_url(next_url)
    if len(next_url) > MAX_URL_LENGTH:
        raise _page_error(f"the next URL is longer than {MAX_URL_LENGTH} characters")
    items: list[Item] = []
    for number, raw in enumerate(raw_items, start=1):
        if not isinstance(raw, dict):
            raise _page_error(f"item {number} is not an object")
        state, item_id, modified = raw.get("state"), raw.get("id"), _modified(raw.get("modified"))
        if state not in ("updated", "deleted"):
            raise _page_error(f"item {number} has state {str(state)[:40]!r}, not updated or deleted")
        if isinstance(item_id, bool) or not isinstance(item_id, str | int) or not str(item_id).strip() or len(str(item_id)) > 300:
            raise _page_error(f"item {number} has no usable id")
        if modified is None:
            raise _page_error(f"item {number} has no whole-number modified")
        data = raw.get("data")
        if state == "updated" and not isinstance(data, dict):
            raise _page_error(f"updated item {number} has no data")
        items.append(
            Item(str(item_id), str(state), modified, str(raw.get("kind") or "")[:100], data if isinstance(data, dict) else {})
        )
    return items, next_url


@dataclass
class PageOutcome:
    """What one page did."""

    seen: int = 0
    stored: int = 0  # opportunities added or updated
    deleted: int = 0  # opportunities archived
    unchanged: int = 0  # items not newer than the stored ones
    rejected: dict[str, FieldError] = field(default_factory=dict)  # item id -> why


@dataclass
class _Planned:
    item: Item
    values: dict[str, Any] | None = None  # the opportunity's row; None: a deletion or a refusal
    topics: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    problem: FieldError | None = None


def _newest(items: Sequence[Item]) -> list[Item]:
    """Each item id once: its newest version on the page."""
    newest: dict[str, Item] = {}
    for item in items:
        if item.id not in newest or item.modified >= newest[item.id].modified:
            newest[item.id] = item
    return list(newest.values())


def _known(conn: Connection, feed_id: int, ids: Sequence[str]) -> dict[str, Any]:
    known: dict[str, Any] = {}
    for i in range(0, len(ids), _BATCH):
        query = select(harvested_items).where(
            harvested_items.c.feed_id == feed_id, harvested_items.c.item_id.in_(ids[i : i + _BATCH])
        )
        known.update((row.item_id, row) for row in conn.execute(query))
    return known


# A place as written (country, city, address, mode, coordinates' text) -> where it was located, or why not.
Places = dict[tuple[Any, ...], tuple[Any, ...] | FieldError]


class _Context:
    """What mapping an item needs from its feed: the organisation, the city and the geocoder."""

    def __init__(self, conn: Connection, feed: Feed, geocoder: Geocoder, now: datetime, places: Places) -> None:
        self.feed = feed
        self.geocoder = geocoder
        self.registry = Registry(conn, geocoder, planning=True)
        self.now = now
        self._places: dict[str, bool] = {}
        self._located = places

    def known_city(self, name: str) -> bool:
        if name not in self._places:
            self._places[name] = self.geocoder.gazetteer.place(name, self.feed.country) is not None
        return self._places[name]

    def _locate(self, opp: Opportunity, written: tuple[str, str]) -> Opportunity:
        """:func:`importing.locate`, once per place: a feed names its venues again and again."""
        key = (opp.country, opp.city, opp.address, opp.mode, written)
        if key not in self._located:
            try:
                found = locate(opp, self.geocoder, written, self.registry.centre(opp.city, opp.country))
                self._located[key] = (found.latitude, found.longitude, found.precision, found.location_source,
                                      found.uncertainty_m)  # fmt: skip
            except FieldError as exc:
                self._located[key] = exc
        place = self._located[key]
        if isinstance(place, FieldError):
            raise place
        latitude, longitude, precision, source, uncertainty = place
        return replace(opp, latitude=latitude, longitude=longitude, precision=precision, location_source=source,
                       uncertainty_m=uncertainty)  # fmt: skip

    def plan(self, item: Item) -> _Planned:
        feed = self.feed
        try:
            fields = upstream.record(item.data, provider=feed.organisation, city=feed.city, country=feed.country,
                                     timezone=feed.timezone, known_city=self.known_city)  # fmt: skip
            opp = parse_opportunity(fields, status=Status.PUBLISHED)
            written = (fields.get("latitude", ""), fields.get("longitude", ""))
            city_id, city_name = self.registry.city(opp.city, opp.country, opp, written)
            opp = self._locate(replace(opp, city=city_name), written)
        except RecordError as exc:
            return _Planned(item, problem=exc.errors[0])
        except FieldError as exc:
            return _Planned(item, problem=exc)
        except (TypeError, ValueError, KeyError, AttributeError, OverflowError, RecursionError) as exc:
            # Data shaped as no reader expected (a number where a list belongs, a year 9999 with an
            # offset): that item is refused, never the run.
            reason = because(N_("the item cannot be read ({detail})"), detail=type(exc).__name__)
            return _Planned(item, problem=FieldError("row", reason))
        values = queries.opportunity_row(opp, provider_id=feed.organisation_id, city_id=city_id, now=self.now)
        values["verified_at"] = self.now
        return _Planned(item, values=values, topics=opp.topics, languages=opp.languages)


def _duplicates(conn: Connection, planned: list[_Planned], known: Mapping[str, Any]) -> None:
    """Refuse the items that repeat an opportunity stored from elsewhere, or an earlier item of the page."""
    keyed = [p for p in planned if p.values is not None]
    stored = queries.existing_dedup_ids(conn, [p.values["dedup_key"] for p in keyed if p.values is not None])
    seen: dict[str, str] = {}
    for p in keyed:
        assert p.values is not None
        key = p.values["dedup_key"]
        own = known[p.item.id].opportunity_id if p.item.id in known else None
        other = stored.get(key)
        if other is not None and other != own:
            p.problem = FieldError("row", because(N_("the same opportunity as listing {id}, stored already"), id=other))
        elif key in seen:
            p.problem = FieldError("row", because(N_("the same opportunity as item {id} of the feed"), id=seen[key]))
        else:
            seen[key] = p.item.id
            continue
        p.values = None


def plan_page(
    conn: Connection, feed: Feed, items: Sequence[Item], geocoder: Geocoder, now: datetime, places: Places | None = None
) -> tuple[list[_Planned], dict[str, Any], _Context]:
    """Each newer item of a page checked and located, read-only (nothing waits for it). ``places``
    keeps the places located so far in the run (a feed names its venues again and again)."""
    newest = _newest(items)
    known = _known(conn, feed.id, [item.id for item in newest])
    # A deletion of an item never had is ignored, as RPDE tells consumers to.
    fresh = [
        item
        for item in newest
        if (item.id not in known and item.state == "updated") or (item.id in known and item.modified > known[item.id].modified)
    ]
    context = _Context(conn, feed, geocoder, now, {} if places is None else places)
    planned = [context.plan(item) if item.state == "updated" else _Planned(item) for item in fresh]
    _duplicates(conn, planned, known)
    return planned, known, context


def _write_opportunities(
    conn: Connection, planned: list[_Planned], known: Mapping[str, Any], context: _Context, now: datetime
) -> dict[str, int]:
    """Insert the new opportunities and update the known ones; returns item id -> opportunity id."""
    cities_added = {stand_in: queries.ensure_city(conn, city) for stand_in, city in context.registry.new_cities.items()}
    linked: dict[str, int] = {}
    inserts: list[_Planned] = []
    updates: list[tuple[int, _Planned]] = []
    for p in planned:
        if p.values is None:
            continue
        p.values["city_id"] = cities_added.get(p.values["city_id"], p.values["city_id"])
        own = known[p.item.id].opportunity_id if p.item.id in known else None
        if own is None:
            inserts.append(p)
        else:
            updates.append((int(own), p))
    new_ids = queries.insert_opportunities(
        conn, [p.values for p in inserts if p.values], [p.topics for p in inserts], [p.languages for p in inserts]
    )
    linked.update((p.item.id, oid) for p, oid in zip(inserts, new_ids, strict=True))
    if updates:
        changed = [c for c in opportunities.c if c.name not in ("id", "created_at", "submitted_by", "review_note")]
        statement = (
            update(opportunities)
            .where(opportunities.c.id == bindparam("_id"))
            .values({c.name: bindparam(f"_{c.name}") for c in changed})
        )
        conn.execute(statement, [{"_id": oid, **{f"_{k}": v for k, v in (p.values or {}).items() if k in {c.name for c in changed}},
                                  "_archive_reason": "", "_updated_at": now} for oid, p in updates])  # fmt: skip
        ids = [oid for oid, _p in updates]
        for i in range(0, len(ids), _BATCH):
            chunk = ids[i : i + _BATCH]
            conn.execute(delete(opportunity_topics).where(opportunity_topics.c.opportunity_id.in_(chunk)))
            conn.execute(delete(opportunity_languages).where(opportunity_languages.c.opportunity_id.in_(chunk)))
        topic_rows = [{"opportunity_id": oid, "topic": t} for oid, p in updates for t in p.topics]
        language_rows = [{"opportunity_id": oid, "language": code} for oid, p in updates for code in p.languages]
        if topic_rows:
            conn.execute(opportunity_topics.insert(), topic_rows)
        if language_rows:
            conn.execute(opportunity_languages.insert(), language_rows)
        linked.update((p.item.id, oid) for oid, p in updates)
    return linked


class LeaseLostError(Exception):
    """Another run took the feed's lease over (this one outlived it): the page was not stored."""


def store_page(conn: Connection, feed: Feed, planned: list[_Planned], known: Mapping[str, Any], context: _Context,
               *, next_url: str, now: datetime, owner: str | None = None) -> PageOutcome:  # fmt: skip
    """Write a planned page in the caller's transaction, and move the feed's ``next`` past it.

    With ``owner``, the feed's lease is renewed for another :data:`LEASE`; raises
    :class:`LeaseLostError` (the caller's transaction then stores nothing) when another run holds it.
    """
    if owner is not None:
        renewed = conn.execute(
            update(harvest_feeds)
            .where(harvest_feeds.c.id == feed.id, harvest_feeds.c.lease_owner == owner)
            .values(lease_until=now + LEASE)
        )
        if renewed.rowcount != 1:
            raise LeaseLostError(feed.id)
    outcome = PageOutcome()
    linked = _write_opportunities(conn, planned, known, context, now)
    deleted = [int(known[p.item.id].opportunity_id) for p in planned
               if p.item.state == "deleted" and p.item.id in known and known[p.item.id].opportunity_id is not None]  # fmt: skip
    outcome.deleted = _archive(conn, deleted, ARCHIVE_REASON, now)
    rows = []
    for p in planned:
        before = known.get(p.item.id)
        kept = before.opportunity_id if before is not None else None
        rows.append({
            "feed_id": feed.id, "item_id": p.item.id, "kind": p.item.kind, "modified": p.item.modified,
            "upstream_id": str(p.item.data.get("@id") or (before.upstream_id if before is not None else ""))[:2000],
            "opportunity_id": linked.get(p.item.id, kept), "state": p.item.state,
            "problem": _problem_json(p.problem) if p.problem is not None else "", "harvested_at": now,
        })  # fmt: skip
        if p.problem is not None:
            outcome.rejected[p.item.id] = p.problem
    ids = [r["item_id"] for r in rows]
    for i in range(0, len(ids), _BATCH):
        conn.execute(
            delete(harvested_items).where(
                harvested_items.c.feed_id == feed.id, harvested_items.c.item_id.in_(ids[i : i + _BATCH])
            )
        )
    if rows:
        conn.execute(harvested_items.insert(), rows)
    outcome.stored = len(linked)
    conn.execute(
        update(harvest_feeds)
        .where(harvest_feeds.c.id == feed.id)
        .values(
            next_url=next_url,
            items_stored=harvest_feeds.c.items_stored + outcome.stored,
            items_rejected=harvest_feeds.c.items_rejected + len(outcome.rejected),
        )
    )
    return outcome


# --- a run --------------------------------------------------------------------------------


@dataclass
class HarvestReport:
    """What one run of one feed did."""

    feed_id: int
    pages: int = 0
    seen: int = 0
    stored: int = 0
    deleted: int = 0
    unchanged: int = 0
    rejected: dict[str, FieldError] = field(default_factory=dict)
    caught_up: bool = False  # reached the feed's last page
    skipped: str = ""  # why the run did not start: "leased", "waiting", "gone"
    error: FeedError | None = None


def _claim(engine: Engine, feed_id: int, owner: str, now: datetime) -> bool:
    """Take the feed's lease for ``owner``; False when another holds it."""
    with connection.writing(engine) as conn:
        result = conn.execute(
            update(harvest_feeds)
            .where(
                harvest_feeds.c.id == feed_id,
                or_(
                    harvest_feeds.c.lease_until.is_(None), harvest_feeds.c.lease_until < now, harvest_feeds.c.lease_owner == owner
                ),
            )
            .values(lease_owner=owner, lease_until=now + LEASE)
        )
        return result.rowcount == 1


def _finish(engine: Engine, feed_id: int, owner: str, report: HarvestReport, now: datetime) -> None:
    """Record the run's health and give the lease back."""
    values: dict[str, Any] = {"last_run_at": now, "items_seen": report.seen, "lease_owner": "", "lease_until": None}
    error = report.error
    with connection.writing(engine) as conn:
        row = conn.execute(select(harvest_feeds.c.caught_up_at).where(harvest_feeds.c.id == feed_id)).first()
        if row is None:  # removed meanwhile
            return
        if error is None:
            values |= {"last_success_at": now, "last_error": "", "errors": 0, "retry_after": None}
            if report.caught_up:
                values |= {"caught_up_at": now, "lag_s": 0.0}
            elif row.caught_up_at is not None:
                values["lag_s"] = (now - queries.aware(row.caught_up_at)).total_seconds()  # type: ignore[operator]
        else:
            values |= {"last_error": json.dumps(reason_json(error.reason)), "errors": harvest_feeds.c.errors + 1}
            if error.retry_after_s is not None:
                values["retry_after"] = now + timedelta(seconds=min(error.retry_after_s, 7 * 24 * 3600))
            if error.gone:
                values["gone_at"] = now
        conn.execute(
            update(harvest_feeds).where(harvest_feeds.c.id == feed_id, harvest_feeds.c.lease_owner == owner).values(**values)
        )


def harvest_feed(
    engine: Engine,
    feed_id: int,
    geocoder: Geocoder,
    *,
    limits: FetchLimits,
    max_pages: int,
    owner: str | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    force: bool = False,
) -> HarvestReport:
    """Follow the feed from its stored ``next`` URL for at most ``max_pages`` pages (see the module).

    A feed whose lease another run holds, or that asked to wait (``retry_after``) and is not
    ``force``\\ d, or that is gone, is skipped (``report.skipped`` says why). Never raises for what
    the feed sends: the reason is in ``report.error`` and in the feed's health.
    """
    owner = owner or uuid.uuid4().hex
    report = HarvestReport(feed_id)
    now = clock()
    with engine.connect() as conn:
        feed = get_feed(conn, feed_id)
    if feed.gone_at is not None:
        report.skipped = "gone"
        return report
    if feed.retry_after is not None and feed.retry_after > now and not force:
        report.skipped = "waiting"
        return report
    if not _claim(engine, feed_id, owner, now):
        report.skipped = "leased"
        return report
    try:
        _run(engine, feed, geocoder, report, limits=limits, max_pages=max_pages, clock=clock, owner=owner)
    except FeedError as exc:
        report.error = exc
    except LeaseLostError:
        report.skipped = "leased"  # another run goes on from the last page this one stored
    finally:
        _finish(engine, feed_id, owner, report, clock())
    return report


def _run(engine: Engine, feed: Feed, geocoder: Geocoder, report: HarvestReport, *, limits: FetchLimits, max_pages: int,
         clock: Callable[[], datetime], owner: str) -> None:  # fmt: skip
    url = feed.next_url
    places: Places = {}
    while report.pages < max_pages:
        fetched = fetch(url, limits)
        items, next_url = parse_page(fetched.body, fetched.url)
        now = clock()
        with engine.connect() as conn, conn.begin():
            planned, known, context = plan_page(conn, feed, items, geocoder, now, places)
        with connection.writing(engine) as conn:
            outcome = store_page(conn, feed, planned, known, context, next_url=next_url, now=now, owner=owner)
        report.pages += 1
        report.seen += len(items)
        report.stored += outcome.stored
        report.deleted += outcome.deleted
        report.unchanged += len(items) - len(planned)
        report.rejected.update(outcome.rejected)
        if not items and next_url == url:  # RPDE: the last page has no items and points at itself
            report.caught_up = True
            return
        url = next_url


def due_feeds(conn: Connection, now: datetime) -> list[int]:
    """The feeds a scheduled harvest runs: not gone, not asked to wait, not leased."""
    query = select(harvest_feeds.c.id).where(
        harvest_feeds.c.gone_at.is_(None),
        or_(harvest_feeds.c.retry_after.is_(None), harvest_feeds.c.retry_after <= now),
        or_(harvest_feeds.c.lease_until.is_(None), harvest_feeds.c.lease_until < now),
    )
    return [int(i) for (i,) in conn.execute(query.order_by(harvest_feeds.c.id))]


def harvest_due(
    engine: Engine, geocoder: Geocoder, *, limits: FetchLimits, max_pages: int, owner: str | None = None
) -> list[HarvestReport]:
    """One scheduled round: every due feed harvested once (see :func:`harvest_feed`)."""
    with engine.connect() as conn:
        ids = due_feeds(conn, datetime.now(UTC))
    owner = owner or uuid.uuid4().hex
    return [harvest_feed(engine, feed_id, geocoder, limits=limits, max_pages=max_pages, owner=owner) for feed_id in ids]


def item_problems(conn: Connection, feed_id: int, *, limit: int = 100) -> list[tuple[str, str, FieldError]]:
    """(item id, upstream @id, why) of the feed's refused items, newest first."""
    query = (
        select(harvested_items.c.item_id, harvested_items.c.upstream_id, harvested_items.c.problem)
        .where(harvested_items.c.feed_id == feed_id, harvested_items.c.problem != "")
        .order_by(harvested_items.c.harvested_at.desc(), harvested_items.c.item_id)
        .limit(limit)
    )
    found = []
    for item_id, upstream_id, problem in conn.execute(query):
        error = problem_from_json(problem)
        if error is not None:
            found.append((item_id, upstream_id, error))
    return found
