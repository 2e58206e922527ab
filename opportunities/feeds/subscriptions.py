"""Subscribing to a search, without an account: any Explore view (its URL parameters, read by
:mod:`opportunities.explore.url_params`) as an iCalendar feed of its sessions in the next
:data:`WINDOW_DAYS` days, an Atom feed of its newest opportunities and a printable list.

Everything is found through the live search index (one vectorised filter over the columns, then
one query for the records shown); the sessions come from the one recurrence module (through
:meth:`Opportunity.sessions`) and are written by :mod:`opportunities.listings.calendar`. Nothing
about the subscriber is read or kept: the feed's address holds the filters, nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

import numpy as np
from sqlalchemy import Connection

from opportunities.db.queries import get_opportunities
from opportunities.explore.index import OpportunityIndex
from opportunities.explore.search import MAX_LIMIT, SearchQuery
from opportunities.explore.url_params import Filters, read_filters, share_url
from opportunities.feeds.rpde import FeedParameterError
from opportunities.i18n import (
    age_group_label,
    format_day,
    format_number,
    language_name,
    mode_label,
    topic_label,
    translator,
    type_label,
)
from opportunities.listings.calendar import Session, sessions_ics
from opportunities.model import Opportunity, as_datetime
from opportunities.opportunity_text import format_ages, format_cost, format_dates
from opportunities.settings import SETTINGS
from opportunities.vocabulary import LANGUAGES, Mode

WINDOW_DAYS = 90
# A calendar app shows a feed of hundreds of events; thousands make it slow and nobody reads them.
MAX_CALENDAR_OPPORTUNITIES = 100
MAX_SESSIONS_EACH = 100  # a daily series has 91 in the window
ATOM_ENTRIES = 50
PRINT_ENTRIES = 200
REFRESH = timedelta(hours=1)
SUMMARY_CHARS = 500
ATOM_NS = "http://www.w3.org/2005/Atom"
XML_NS = "http://www.w3.org/XML/1998/namespace"
# Characters XML 1.0 cannot hold at all, even escaped: dropped from provider text.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
ET.register_namespace("", ATOM_NS)  # Atom as the default namespace: <feed xmlns="…">


@dataclass(frozen=True)
class Subscription:
    """A search to subscribe to: the Explore filters and the language its texts are written in."""

    filters: Filters
    language: str


def read_subscription(
    params: Mapping[str, Sequence[str]],
    *,
    cities: Collection[str],
    languages_taught: Collection[str] | None,
    today: date,
    browser_language: str = "en",
) -> Subscription:
    """The subscription a link asks for: the Explore filters, and ``lang`` (else ``browser_language``).

    Raises :class:`FeedParameterError` naming the first parameter that cannot be used, with the
    Explore page's own message for it in the reader's language. Parameters of the page alone (the
    map's ``lat``/``lon``/``z``, ``id``) and unknown names are ignored.
    """
    wanted = next((v.strip().lower() for v in reversed(params.get("lang", ())) if v.strip()), "")
    language = wanted if wanted in LANGUAGES else browser_language
    if wanted and wanted not in LANGUAGES:
        _ = translator(language).gettext
        message = _("The language {value} in the link is not available; use one of {options}.")
        raise FeedParameterError("lang", message.format(value=f"“{wanted[:10]}”", options=", ".join(LANGUAGES)))
    filters, problems = read_filters(params, cities=cities, language=language, languages_taught=languages_taught, today=today)
    if problems:
        raise FeedParameterError(problems[0].parameter, problems[0].message)
    return Subscription(filters, language)


# --- the filters in words ---------------------------------------------------------------------------


def describe(filters: Filters, language: str) -> list[tuple[str, str]]:
    """Each filter that is set as (label, value) in ``language``; a yes/no filter has no value."""
    _ = translator(language).gettext
    found: list[tuple[str, str]] = []
    if filters.city:
        found.append((_("City"), filters.city))
    if filters.topics:
        found.append((_("Topics"), ", ".join(topic_label(t, language) for t in filters.topics)))
    if filters.age is not None:
        found.append((_("Age"), format_number(filters.age, language)))
    elif filters.age_group:
        found.append((_("Age"), age_group_label(filters.age_group, language)))
    if filters.date_from is not None:
        found.append((_("From"), format_day(filters.date_from, language)))
    if filters.date_to is not None:
        found.append((_("To"), format_day(filters.date_to, language)))
    if filters.modes:
        found.append((_("Mode"), ", ".join(mode_label(m, language) for m in filters.modes)))
    if filters.types:
        found.append((_("Type"), ", ".join(type_label(t, language) for t in filters.types)))
    if filters.language:
        found.append((_("Language taught in"), language_name(filters.language, language)))
    if filters.text:
        found.append((_("Search in titles and descriptions"), f"“{filters.text}”"))
    if filters.place:
        around = _("{radius} km around {place}").format(radius=format_number(filters.radius_km, language), place=filters.place)
        found.append((_("Near me"), around))
    if filters.free_only:
        found.append((_("Free only"), ""))
    if filters.accessible_only:
        found.append((_("Accessible only"), ""))
    return found


def title(filters: Filters, language: str, publisher: str) -> str:
    """The search named in a line: ``Cities of Learning: Göteborg · Digital skills · Free only``."""
    _ = translator(language).gettext
    parts = [value or label for label, value in describe(filters, language)]
    everything = _("All learning opportunities")
    return f"{publisher}: {' · '.join(parts) if parts else everything}"


def place_not_found(place: str, language: str) -> FeedParameterError:
    """The error of a ``near`` place that cannot be located, in ``language``."""
    _ = translator(language).gettext
    return FeedParameterError("near", _("Could not find {place}. Try a town name or a postcode.").format(place=f"“{place}”"))


# --- links ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Links:
    """Where a search is: its live view, its calendar (https and ``webcal://``), its Atom feed, its printable list."""

    explore: str
    calendar: str
    webcal: str
    atom: str
    printable: str


_DEFAULT_PUBLIC_URL = next(setting.default for setting in SETTINGS if setting.name == "PUBLIC_URL")


def app_address(public_url: str, request_url: str) -> str:
    """Where links to the app start: ``PUBLIC_URL`` when it is set (not left at its default), else
    the scheme and host the request came to (``request_url``), as the Explore page's share links do."""
    if public_url.rstrip("/") != _DEFAULT_PUBLIC_URL or not request_url:
        return public_url.rstrip("/")
    parts = urlsplit(request_url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else public_url.rstrip("/")


def links(base_url: str, filters: Filters, language: str) -> Links:
    """The links of the search ``filters`` at ``base_url`` (``PUBLIC_URL`` or the request's own address)."""
    base = base_url.rstrip("/")
    params: dict[str, str | list[str]] = {**filters.to_params(), "lang": language}
    calendar = share_url(f"{base}/subscribe/calendar.ics", params)
    scheme, rest = calendar.split("://", 1)
    return Links(
        explore=share_url(f"{base}/explore", params),
        calendar=calendar,
        webcal=f"webcal://{rest}" if scheme in ("http", "https") else calendar,
        atom=share_url(f"{base}/subscribe/atom.xml", params),
        printable=share_url(f"{base}/print", params),
    )


def opportunity_url(base_url: str, opportunity_id: int | None, language: str) -> str:
    """The Explore view of one opportunity."""
    return share_url(f"{base_url.rstrip('/')}/explore", {"id": str(opportunity_id), "lang": language})


# --- finding -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """The opportunities shown (at most a feed's worth, in the feed's order) and how many match."""

    opportunities: list[Opportunity]
    total: int


def _query(filters: Filters, today: date, near: tuple[float, float] | None) -> SearchQuery:
    return filters.to_query(limit=MAX_LIMIT, today=today, near=near if filters.place else None)


def window(filters: Filters, today: date) -> tuple[date, date] | None:
    """The days a calendar covers: the search's dates within the next :data:`WINDOW_DAYS` days (None: none)."""
    start = max(filters.date_from or today, today)
    end = today + timedelta(days=WINDOW_DAYS)
    if filters.date_to is not None:
        end = min(end, filters.date_to)
    return (start, end) if start <= end else None


def in_window(
    conn: Connection, index: OpportunityIndex, filters: Filters, *, today: date, near: tuple[float, float] | None = None
) -> Found:
    """The first :data:`MAX_CALENDAR_OPPORTUNITIES` opportunities (in the Explore list's order)
    with a session in :func:`window`."""
    days = window(filters, today)
    if days is None:
        return Found([], 0)
    query = replace(_query(filters, today, near), date_from=days[0], date_to=days[1])
    keep = index.mask(query, conn)
    rows = index.ordered(keep, query, limit=MAX_CALENDAR_OPPORTUNITIES)
    return Found(get_opportunities(conn, index.ids[rows].tolist()), int(keep.sum()))


def newest(
    conn: Connection, index: OpportunityIndex, filters: Filters, *, today: date, near: tuple[float, float] | None = None
) -> Found:
    """The :data:`ATOM_ENTRIES` matching opportunities added last, newest first (the index is in id order)."""
    keep = index.mask(_query(filters, today, near), conn)
    rows = np.flatnonzero(keep)[-ATOM_ENTRIES:][::-1]
    return Found(get_opportunities(conn, index.ids[rows].tolist()), int(keep.sum()))


def listed(
    conn: Connection, index: OpportunityIndex, filters: Filters, *, today: date, near: tuple[float, float] | None = None
) -> Found:
    """The first :data:`PRINT_ENTRIES` matching opportunities, in the Explore list's order."""
    query = _query(filters, today, near)
    keep = index.mask(query, conn)
    rows = index.ordered(keep, query, limit=PRINT_ENTRIES)
    return Found(get_opportunities(conn, index.ids[rows].tolist()), int(keep.sum()))


# --- the calendar ----------------------------------------------------------------------------------


def sessions(
    found: Sequence[Opportunity], days: tuple[date, date], zones: Mapping[tuple[str, str], str], base_url: str, language: str
) -> list[Session]:
    """Every session of ``found`` on ``days`` (first to last day, in each city's local time), in time order.

    ``zones`` maps (city, country) to the city's time zone (UTC when missing).
    """
    after, before = datetime.combine(days[0], time.min), datetime.combine(days[1], time.max)
    found_sessions: list[Session] = []
    for opp in found:
        zone = zones.get((opp.city, opp.country), "UTC")
        url = opportunity_url(base_url, opp.id, language)
        for start in opp.sessions(after, before, limit=MAX_SESSIONS_EACH):
            found_sessions.append(Session(opp, start if isinstance(opp.start, datetime) else start.date(), zone, url))
    found_sessions.sort(key=lambda s: (as_datetime(s.start), s.opportunity.id or 0))
    return found_sessions


def calendar(
    conn: Connection,
    index: OpportunityIndex,
    subscription: Subscription,
    *,
    zones: Mapping[tuple[str, str], str],
    today: date,
    base_url: str,
    publisher: str,
    near: tuple[float, float] | None = None,
    now: datetime | None = None,
) -> str:
    """The search's calendar (``.ics``): every session in the next :data:`WINDOW_DAYS` days of
    its first :data:`MAX_CALENDAR_OPPORTUNITIES` opportunities."""
    _ = translator(subscription.language).gettext
    filters, language = subscription.filters, subscription.language
    days = window(filters, today)
    found = in_window(conn, index, filters, today=today, near=near)
    events = sessions(found.opportunities, days, zones, base_url, language) if days is not None else []
    about = [
        _(
            "Sessions in the next {days} days of the learning opportunities that match this search. "
            "Subscribing stores nothing about you."
        ).format(days=WINDOW_DAYS)
    ]
    if found.total > len(found.opportunities):
        about.append(
            _("The first {shown} of {total} matching opportunities; narrow the search to see the others.").format(
                shown=format_number(len(found.opportunities), language), total=format_number(found.total, language)
            )
        )
    about.append(links(base_url, filters, language).explore)
    return sessions_ics(
        events, name=title(filters, language, publisher), description="\n\n".join(about), refresh=REFRESH, now=now
    )


# --- the Atom feed -----------------------------------------------------------------------------------


def _xml_text(text: str) -> str:
    """Provider text as XML can hold it (ElementTree escapes the markup; this drops what XML forbids)."""
    return _NOT_XML.sub("", text)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _host(base_url: str) -> str:
    return urlsplit(base_url).hostname or "localhost"


def entry_id(base_url: str, opp: Opportunity) -> str:
    """A ``tag:`` URI (RFC 4151) that stays the opportunity's for good: the host and the day it was added."""
    added = (opp.created_at or datetime(2026, 1, 1, tzinfo=UTC)).astimezone(UTC)
    return f"tag:{_host(base_url)},{added:%Y-%m-%d}:opportunity/{opp.id}"


def _summary(opp: Opportunity, language: str) -> str:
    _ = translator(language).gettext
    where = _("Online only") if opp.mode == Mode.ONLINE else opp.city
    facts = " · ".join(
        (format_dates(opp, language), _("Ages {ages}").format(ages=format_ages(opp, language)), format_cost(opp, language), where)
    )
    description = opp.description if len(opp.description) <= SUMMARY_CHARS else opp.description[: SUMMARY_CHARS - 1] + "…"
    return "\n\n".join(part for part in (facts, opp.provider, description) if part)


def _add(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attributes)
    if text is not None:
        element.text = _xml_text(text)
    return element


def atom(
    conn: Connection,
    index: OpportunityIndex,
    subscription: Subscription,
    *,
    today: date,
    base_url: str,
    publisher: str,
    near: tuple[float, float] | None = None,
    now: datetime | None = None,
) -> str:
    """The search's Atom feed (RFC 4287): its :data:`ATOM_ENTRIES` newest opportunities."""
    filters, language = subscription.filters, subscription.language
    found = newest(conn, index, filters, today=today, near=near)
    where = links(base_url, filters, language)
    feed = ET.Element(f"{{{ATOM_NS}}}feed", {f"{{{XML_NS}}}lang": language})
    _add(feed, "id", where.atom)
    _add(feed, "title", title(filters, language, publisher))
    stamps = [o.updated_at for o in found.opportunities if o.updated_at is not None]
    # The newest change shown, not the request's time: the same data gives the same feed.
    _add(feed, "updated", _rfc3339(max(stamps) if stamps else (now or datetime.now(UTC))))
    _add(feed, "link", rel="self", type="application/atom+xml", href=where.atom)
    _add(feed, "link", rel="alternate", type="text/html", href=where.explore)
    _add(_add(feed, "author"), "name", publisher)
    _add(feed, "generator", "Cities of Learning map")
    for opp in found.opportunities:
        entry = _add(feed, "entry")
        _add(entry, "id", entry_id(base_url, opp))
        _add(entry, "title", opp.title, type="text")
        _add(entry, "updated", _rfc3339(opp.updated_at or now or datetime.now(UTC)))
        if opp.created_at is not None:
            _add(entry, "published", _rfc3339(opp.created_at))
        _add(entry, "link", rel="alternate", type="text/html", href=opportunity_url(base_url, opp.id, language))
        _add(_add(entry, "author"), "name", opp.provider)
        for topic in opp.topics:
            _add(entry, "category", term=topic, label=topic_label(topic, language))
        _add(entry, "summary", _summary(opp, language), type="text")
    return ET.tostring(feed, encoding="unicode", xml_declaration=False).join(('<?xml version="1.0" encoding="utf-8"?>\n', "\n"))
