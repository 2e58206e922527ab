"""Add-to-calendar: an opportunity as an RFC 5545 iCalendar event (``.ics``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from opportunities.model import Opportunity

PRODUCT_ID = "-//Cities of Learning//Opportunity map//EN"
DEFAULT_SESSION = timedelta(hours=2)


def _escape(text: str) -> str:
    """TEXT value escaping (RFC 5545 §3.3.11)."""
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def _fold(line: str) -> str:
    """Lines longer than 75 octets are folded with CRLF + space (RFC 5545 §3.1)."""
    encoded = line.encode()
    if len(encoded) <= 75:
        return line
    parts: list[str] = []
    current = b""
    for char in line:
        piece = char.encode()
        if len(current) + len(piece) > (75 if not parts else 74):
            parts.append(current.decode())
            current = b""
        current += piece
    parts.append(current.decode())
    return "\r\n ".join(parts)


def _utc(value: datetime, zone: ZoneInfo) -> str:
    return value.replace(tzinfo=zone).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def opportunity_ics(opp: Opportunity, *, timezone: str, now: datetime | None = None, url: str = "") -> str:
    """The opportunity as a one-event calendar; times are local to ``timezone`` and written in UTC.

    A recurring activity keeps its rule (ended on its end date), so a calendar shows every session.
    """
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODUCT_ID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:opportunity-{opp.id or opp.dedup_key}@citiesoflearning",
        f"DTSTAMP:{stamp}",
    ]
    if isinstance(opp.start, datetime):
        end = opp.end if isinstance(opp.end, datetime) and not opp.schedule else opp.start + DEFAULT_SESSION
        lines += [f"DTSTART:{_utc(opp.start, zone)}", f"DTEND:{_utc(end, zone)}"]
    else:
        last = opp.end if isinstance(opp.end, date) and not opp.schedule else opp.start
        last_day = last.date() if isinstance(last, datetime) else last
        lines += [f"DTSTART;VALUE=DATE:{opp.start:%Y%m%d}", f"DTEND;VALUE=DATE:{last_day + timedelta(days=1):%Y%m%d}"]
    if opp.schedule:
        rule = opp.schedule
        if opp.end is not None and "UNTIL=" not in rule and "COUNT=" not in rule:
            until = opp.end if isinstance(opp.end, datetime) else datetime.combine(opp.end, datetime.max.time())
            rule += f";UNTIL={_utc(until.replace(microsecond=0), zone)}"
        lines.append(f"RRULE:{rule}")
    lines.append(f"SUMMARY:{_escape(opp.title)}")
    description = "\n\n".join(part for part in (opp.description, f"{opp.provider}", opp.url or url) if part)
    lines.append(f"DESCRIPTION:{_escape(description)}")
    place = ", ".join(part for part in (opp.venue, opp.address, opp.city) if part)
    if opp.mode.value == "online":
        place = "Online"
    lines.append(f"LOCATION:{_escape(place)}")
    if opp.latitude is not None and opp.longitude is not None and opp.precision == "provided":
        lines.append(f"GEO:{opp.latitude:.6f};{opp.longitude:.6f}")
    if opp.url:
        lines.append(f"URL:{opp.url}")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "".join(_fold(line) + "\r\n" for line in lines)
