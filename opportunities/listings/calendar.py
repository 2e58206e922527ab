"""Add-to-calendar: an opportunity as an RFC 5545 iCalendar event (``.ics``), and a calendar of
many opportunities' sessions to subscribe to (:func:`sessions_ics`, a search's feed).

Times are written in the city's local time with its time zone (``TZID`` and a ``VTIMEZONE``
built from the zoneinfo database), so a weekly 17:00 session stays at 17:00 across daylight-saving
changes. Every property value is escaped or checked: provider text cannot add lines.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from opportunities import recurrence
from opportunities.errors import RuleError
from opportunities.model import Opportunity
from opportunities.places.gazetteer import coordinate_decimals

PRODUCT_ID = "-//Cities of Learning//Opportunity map//EN"
DEFAULT_SESSION = timedelta(hours=2)
# Years of time-zone transitions written for a series without an end (validation bounds a series
# to this many years: opportunities.validation.MAX_SERIES_YEARS).
OPEN_SERIES_YEARS = 10
_ZONE_NAME = re.compile(r"[A-Za-z0-9_+\-/]+")  # a TZID parameter value that needs no quoting
_URI_SAFE = ":/?#[]@!$&'()*+,;=%~-._"


def _escape(text: str) -> str:
    """TEXT value escaping (RFC 5545 §3.3.11)."""
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def _uri(text: str) -> str:
    """A URI value: anything that is not plain printable ASCII is percent-encoded (no line breaks)."""
    return quote(text, safe=_URI_SAFE)


def _fold(line: str) -> str:
    """Lines longer than 75 octets are folded with CRLF + space (RFC 5545 §3.1), never inside a character."""
    if "\r" in line or "\n" in line or "\x00" in line:  # every value is escaped above; this must not happen
        raise ValueError(f"refusing to write a calendar line with a line break: {line[:40]!r}")
    encoded = line.encode()
    if len(encoded) <= 75:
        return line
    parts: list[bytes] = []
    start, limit = 0, 75  # the first line 75 octets, the next ones 74 after their space
    while len(encoded) - start > limit:
        cut = start + limit
        while encoded[cut] & 0xC0 == 0x80:  # a UTF-8 continuation byte: cut before its character
            cut -= 1
        parts.append(encoded[start:cut])
        start, limit = cut, 74
    parts.append(encoded[start:])
    return b"\r\n ".join(parts).decode()


def city_zone(timezone: str) -> ZoneInfo:
    """The city's zone; UTC for a name that zoneinfo does not know or that could not be a TZID."""
    if _ZONE_NAME.fullmatch(timezone):
        try:
            return ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo("UTC")


def _offset(delta: timedelta | None) -> str:
    seconds = int((delta or timedelta()).total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{sign}{hours:02d}{minutes:02d}" + (f"{seconds:02d}" if seconds else "")


def _transitions(zone: ZoneInfo, first_year: int, last_year: int) -> list[datetime]:
    """UTC instants at which the zone's offset changes, from ``first_year`` to ``last_year``."""
    found: list[datetime] = []
    moment = datetime(first_year, 1, 1, tzinfo=UTC)
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    step = timedelta(days=1)
    while moment < end:
        later = moment + step
        if moment.astimezone(zone).utcoffset() != later.astimezone(zone).utcoffset():
            low, high = moment, later  # the change is in (low, high]: bisect to the second
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if middle.astimezone(zone).utcoffset() == low.astimezone(zone).utcoffset():
                    low = middle
                else:
                    high = middle
            found.append(high.replace(microsecond=0))
        moment = later
    return found


def vtimezone(zone: ZoneInfo, first_year: int, last_year: int) -> list[str]:
    """A VTIMEZONE component for ``zone`` with every transition from ``first_year`` to ``last_year``
    (and the one before, so the first session has its observance)."""
    lines = ["BEGIN:VTIMEZONE", f"TZID:{zone.key}"]
    # Validation bounds dates (2000 … a few decades ahead); rows stored before keep to date's range.
    first_year = min(max(first_year, 1900), 9997)
    last_year = min(max(last_year, first_year), 9997)
    changes = _transitions(zone, first_year - 1, last_year)
    if not changes:
        offset = datetime(first_year, 1, 1, tzinfo=zone).utcoffset()
        name = datetime(first_year, 1, 1, tzinfo=zone).tzname() or zone.key
        lines += ["BEGIN:STANDARD", "DTSTART:19700101T000000", f"TZOFFSETFROM:{_offset(offset)}",
                  f"TZOFFSETTO:{_offset(offset)}", f"TZNAME:{_escape(name)}", "END:STANDARD"]  # fmt: skip
    for change in changes:
        before = (change - timedelta(seconds=1)).astimezone(zone)
        after = change.astimezone(zone)
        kind = "DAYLIGHT" if after.dst() else "STANDARD"
        # DTSTART of an observance is the local time, in the offset in force before the change.
        local = (change + (before.utcoffset() or timedelta())).replace(tzinfo=None)
        lines += [f"BEGIN:{kind}", f"DTSTART:{local:%Y%m%dT%H%M%S}", f"TZOFFSETFROM:{_offset(before.utcoffset())}",
                  f"TZOFFSETTO:{_offset(after.utcoffset())}", f"TZNAME:{_escape(after.tzname() or zone.key)}", f"END:{kind}"]  # fmt: skip
    return [*lines, "END:VTIMEZONE"]


def opportunity_ics(opp: Opportunity, *, timezone: str, now: datetime | None = None, url: str = "") -> str:
    """The opportunity as a one-event calendar, in the local time of ``timezone``.

    A recurring activity keeps its rule, ended on its last possible session day (its end, UNTIL
    or COUNT), so a calendar shows every session. A stored rule that is no longer accepted is left
    out: the calendar then holds the first session only.
    """
    zone = city_zone(timezone)
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    try:
        rule = recurrence.parse_rule(opp.schedule) if opp.schedule else None
    except RuleError:
        rule = None
    first = opp.start if isinstance(opp.start, datetime) else datetime.combine(opp.start, time())
    series_end = opp.end.date() if isinstance(opp.end, datetime) else opp.end
    last_day = recurrence.last_session_day(rule, first, series_end) if rule is not None else None
    start: date | datetime = opp.start
    if rule is not None:
        # A calendar counts DTSTART as a session even when the rule does not produce it (RFC 5545
        # §3.8.5.3): the event starts on the first real session. Validation ensures there is one.
        day = recurrence.first_session_day(rule, first.date(), last_day or date.max)
        if day is None:
            rule = None
        elif isinstance(opp.start, datetime):
            start = datetime.combine(day, opp.start.time())
        else:
            start = day
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODUCT_ID}", "CALSCALE:GREGORIAN", "METHOD:PUBLISH"]
    timed = isinstance(opp.start, datetime)
    if timed:
        final = last_day or series_end or first.date()
        open_years = OPEN_SERIES_YEARS if rule is not None and last_day is None else 0
        # Never more years than a series may last: a row stored before dates were bounded (to 9999)
        # would otherwise write 8,000 years of transitions; past them, the last offset holds.
        lines += vtimezone(zone, first.year, min(max(final.year, first.year + open_years), first.year + OPEN_SERIES_YEARS))
    lines += ["BEGIN:VEVENT", f"UID:opportunity-{opp.id or opp.dedup_key}@citiesoflearning", f"DTSTAMP:{stamp}"]
    if isinstance(start, datetime):
        end = opp.end if isinstance(opp.end, datetime) and rule is None else start + DEFAULT_SESSION
        lines += [f"DTSTART;TZID={zone.key}:{start:%Y%m%dT%H%M%S}", f"DTEND;TZID={zone.key}:{end:%Y%m%dT%H%M%S}"]
    else:
        last = opp.end if isinstance(opp.end, date) and rule is None else start
        last_date = last.date() if isinstance(last, datetime) else last
        lines += [f"DTSTART;VALUE=DATE:{start:%Y%m%d}", f"DTEND;VALUE=DATE:{last_date + timedelta(days=1):%Y%m%d}"]
    if rule is not None:
        if last_day is not None and not (rule.count is not None and series_end is None):
            # UNTIL has DTSTART's type: a date for all-day sessions, else UTC (RFC 5545 §3.3.10).
            if timed:
                try:
                    until = datetime.combine(last_day, time(23, 59, 59), tzinfo=zone).astimezone(UTC)
                except OverflowError:  # the last day of year 9999, west of UTC
                    until = datetime.max.replace(microsecond=0)
                bound = f";UNTIL={until:%Y%m%dT%H%M%SZ}"
            else:
                bound = f";UNTIL={last_day:%Y%m%d}"
            lines.append(f"RRULE:{recurrence.unbounded(rule).text}{bound}")
        else:
            lines.append(f"RRULE:{rule.text}")
    lines += _details(opp, url)
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "".join(_fold(line) + "\r\n" for line in lines)


def _details(opp: Opportunity, url: str) -> list[str]:
    """What an event says about its opportunity: title, description, place, web link (all escaped)."""
    lines = [f"SUMMARY:{_escape(opp.title)}"]
    description = "\n\n".join(part for part in (opp.description, f"{opp.provider}", opp.url or url) if part)
    lines.append(f"DESCRIPTION:{_escape(description)}")
    place = ", ".join(part for part in (opp.venue, opp.address, opp.city) if part)
    if opp.mode.value == "online":
        place = "Online"
    lines.append(f"LOCATION:{_escape(place)}")
    if opp.latitude is not None and opp.longitude is not None and opp.precision == "provided":
        decimals = coordinate_decimals(opp.uncertainty_m)  # as exact as given, as the export writes them
        lines.append(f"GEO:{opp.latitude:.{decimals}f};{opp.longitude:.{decimals}f}")
    if opp.url:
        lines.append(f"URL:{_uri(opp.url)}")
    return lines


@dataclass(frozen=True, slots=True)
class Session:
    """One session of an opportunity, for a calendar of many: its ``start`` (local to ``timezone``,
    a date for an all-day activity) and the link back to the opportunity's view."""

    opportunity: Opportunity
    start: date | datetime
    timezone: str
    url: str = ""


@lru_cache(maxsize=256)
def _zone_lines(zone: ZoneInfo, first_year: int, last_year: int) -> tuple[str, ...]:
    return tuple(vtimezone(zone, first_year, last_year))


def _stamp(moment: datetime | None, now: datetime) -> str:
    return (moment or now).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _session_lines(session: Session, zone: ZoneInfo, stamp: str) -> list[str]:
    """A VEVENT's UID and times: a UID stable while the session stays where it is; ``stamp`` when
    the opportunity last changed (not the request's time: the same data gives the same file)."""
    opp, start = session.opportunity, session.start
    key = f"{start:%Y%m%dT%H%M%S}" if isinstance(start, datetime) else f"{start:%Y%m%d}"
    lines = ["BEGIN:VEVENT", f"UID:opportunity-{opp.id or opp.dedup_key}-{key}@citiesoflearning", f"DTSTAMP:{stamp}"]
    if opp.updated_at is not None:
        lines.append(f"LAST-MODIFIED:{stamp}")
    if isinstance(start, datetime):
        one_off_end = opp.end if not opp.schedule and isinstance(opp.end, datetime) and opp.end > start else None
        end = one_off_end or start + DEFAULT_SESSION
        lines += [f"DTSTART;TZID={zone.key}:{start:%Y%m%dT%H%M%S}", f"DTEND;TZID={zone.key}:{end:%Y%m%dT%H%M%S}"]
    else:
        last = opp.end if not opp.schedule and isinstance(opp.end, date) else start
        last_day = last.date() if isinstance(last, datetime) else last
        lines += [f"DTSTART;VALUE=DATE:{start:%Y%m%d}", f"DTEND;VALUE=DATE:{max(last_day, start) + timedelta(days=1):%Y%m%d}"]
    return lines


def sessions_ics(
    sessions: Sequence[Session], *, name: str, description: str, refresh: timedelta, now: datetime | None = None
) -> str:
    """A calendar to subscribe to: one event per session, in each opportunity's local time (a
    VTIMEZONE for every zone used), named ``name`` (X-WR-CALNAME) and ``description``, asking
    calendar apps to fetch it again every ``refresh`` (REFRESH-INTERVAL, X-PUBLISHED-TTL)."""
    moment = now or datetime.now(UTC)
    zones = {session.timezone: city_zone(session.timezone) for session in sessions}
    timed = [s for s in sessions if isinstance(s.start, datetime)]
    hours, minutes = divmod(max(1, int(refresh.total_seconds() // 60)), 60)
    every = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODUCT_ID}", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
             f"X-WR-CALNAME:{_escape(name)}", f"NAME:{_escape(name)}", f"X-WR-CALDESC:{_escape(description)}",
             f"DESCRIPTION:{_escape(description)}", f"REFRESH-INTERVAL;VALUE=DURATION:{every}",
             f"X-PUBLISHED-TTL:{every}"]  # fmt: skip
    if timed:
        first_year = min(s.start.year for s in timed)
        last_year = max(s.start.year for s in timed) + 1  # a one-off may end in the next year
        for key in sorted({zones[s.timezone].key for s in timed}):
            lines += _zone_lines(ZoneInfo(key), first_year, last_year)
    head = "".join(_fold(line) + "\r\n" for line in lines)
    # An opportunity's description and stamp are written once, however many sessions it has.
    written: dict[tuple[int, str], tuple[str, str]] = {}
    events: list[str] = []
    for session in sessions:
        opp = session.opportunity
        seen = (id(opp), session.url)
        if seen not in written:
            details = "".join(_fold(line) + "\r\n" for line in _details(opp, session.url))
            written[seen] = (_stamp(opp.updated_at, moment), details)
        stamp, details = written[seen]
        events.append("".join(_fold(line) + "\r\n" for line in _session_lines(session, zones[session.timezone], stamp)))
        events.append(details + "END:VEVENT\r\n")
    return head + "".join(events) + "END:VCALENDAR\r\n"
