"""An OpenActive item from someone else's feed as a record of our import template (column -> text).

The reverse of :mod:`opportunities.feeds.openactive`: the record then goes through the import's
own validation (:func:`opportunities.validation.parse_opportunity`), geocoding and duplicate
detection, exactly as a spreadsheet row does, so a harvested item is held to the same rules.

- ``SessionSeries``: its first ``eventSchedule`` (``Schedule`` or ``PartialSchedule``) becomes the
  start (``startDate`` and ``startTime``), the end (``endDate``) and the schedule, an RRULE read
  from ``repeatFrequency`` (``P1W``), ``byDay`` (schema.org days or iCal's ``1MO``),
  ``byMonthDay``, ``byMonth`` and ``repeatCount``;
- ``Event``, ``ScheduledSession`` and ``CourseInstance``: ``startDate``/``endDate`` (date-times
  with an offset are turned into the city's local time); a ``ScheduledSession`` takes what it
  lacks (name, place, ages, offers) from an embedded ``superEvent``;
- ``location``: ``Place`` with ``geo`` (used first) and ``PostalAddress``; the city is the
  address's ``addressLocality`` when the gazetteer knows it in the feed's country, else the feed's
  city; an ``addressCountry`` other than the feed's country refuses the item;
- ``ageRange``: a missing one means adults (18+), as OpenActive says consumers must read it;
- ``offers``: the lowest ``price`` with its currency; ``eventAttendanceMode`` the mode;
- ``category`` names one of our topics when it can (in any language), else the item is
  ``sport-outdoors`` (OpenActive describes physical activity);
- the provider is the organisation the feed was registered for, never a name in the item.

Text is taken as text: HTML in a name stays as written (every page escapes it), a ``url`` that is
not ``http(s)`` is refused by the validation (``javascript:``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from opportunities.errors import N_, Country, FieldError, because
from opportunities.listings.calendar import city_zone
from opportunities.vocabulary import topic_from_text

# The types harvested, and the type of opportunity each becomes.
HARVESTED_TYPES = {"SessionSeries": "club", "Event": "event", "ScheduledSession": "event", "CourseInstance": "course"}
DEFAULT_TOPIC = "sport-outdoors"
ADULTS = 18
_FREQUENCIES = {"D": "DAILY", "W": "WEEKLY", "M": "MONTHLY", "Y": "YEARLY"}
_DAYS = {"monday": "MO", "tuesday": "TU", "wednesday": "WE", "thursday": "TH", "friday": "FR", "saturday": "SA", "sunday": "SU"}
_MODES = {"offline": "in-person", "online": "online", "mixed": "hybrid"}


def _text(value: Any) -> str:
    """A string or number as text; anything else (an object, a list) as nothing."""
    if isinstance(value, bool):
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float):
        return str(value)
    return ""


def _object(value: Any) -> Mapping[str, Any]:
    if isinstance(value, list) and value and isinstance(value[0], Mapping):
        value = value[0]
    return value if isinstance(value, Mapping) else {}


def _objects(value: Any) -> list[Mapping[str, Any]]:
    if isinstance(value, Mapping):
        return [value]
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _merged(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """A ``ScheduledSession`` with what it lacks taken from its embedded ``superEvent``."""
    parent = _object(data.get("superEvent"))
    if not parent:
        return data
    return {**{k: v for k, v in parent.items() if k not in ("@id", "@type", "subEvent", "eventSchedule")}, **data}


def _local(text: str, timezone: str, field: str) -> str:
    """An ISO date or date-time as the import's text, local to the city (an offset converted)."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FieldError(
            field, because(N_("{value} is not a date; write 2026-12-01 or 2026-12-01 17:00"), value=repr(text))
        ) from None
    if len(text) == 10:
        return moment.date().isoformat()
    if moment.tzinfo is not None:
        moment = moment.astimezone(city_zone(timezone)).replace(tzinfo=None)
    return moment.isoformat(sep=" ", timespec="minutes")


def _rrule(schedule: Mapping[str, Any]) -> str:
    """The RRULE of a schedule (``repeatFrequency``, ``byDay``, ``byMonthDay``, ``byMonth``, ``repeatCount``)."""
    frequency = _text(schedule.get("repeatFrequency")).upper()
    if not (frequency.startswith("P") and frequency[1:-1].isdigit() and frequency[-1] in _FREQUENCIES):
        raise FieldError(
            "schedule", because(N_("{value} is not a repeat frequency such as P1W or P2D"), value=repr(frequency or "none"))
        )
    parts = [f"FREQ={_FREQUENCIES[frequency[-1]]}"]
    if int(frequency[1:-1]) > 1:
        parts.append(f"INTERVAL={int(frequency[1:-1])}")
    days = []
    for day in _strings(schedule.get("byDay")):
        name = day.rstrip("/").rsplit("/", 1)[-1]
        days.append(_DAYS.get(name.lower(), name.upper()))
    if days:
        parts.append("BYDAY=" + ",".join(days))
    for key, part in (("byMonthDay", "BYMONTHDAY"), ("byMonth", "BYMONTH")):
        given = schedule.get(key)
        numbers = [str(n) for n in given if isinstance(n, int) and not isinstance(n, bool)] if isinstance(given, list) else []
        if numbers:
            parts.append(f"{part}={','.join(numbers)}")
    count = schedule.get("repeatCount")
    if isinstance(count, int) and not isinstance(count, bool):
        parts.append(f"COUNT={count}")
    return ";".join(parts)


def _dates(data: Mapping[str, Any], kind: str, timezone: str) -> dict[str, str]:
    """``start``, ``end`` and ``schedule`` of the item."""
    if kind == "SessionSeries":
        schedule = _object(data.get("eventSchedule"))
        start = _text(schedule.get("startDate"))
        if not schedule or not start:
            raise FieldError("start", because(N_("The series has no eventSchedule with a startDate.")))
        start_time = _text(schedule.get("startTime"))
        return {
            "start": f"{start[:10]} {start_time[:5]}" if start_time else start[:10],
            "end": _text(schedule.get("endDate"))[:10],
            "schedule": _rrule(schedule),
        }
    start = _text(data.get("startDate"))
    if not start:
        raise FieldError("start", because(N_("This is required.")))
    first = _local(start, timezone, "start")
    end = _text(data.get("endDate"))
    last = _local(end, timezone, "end") if end else ""
    return {**_whole_days(first, last), "schedule": ""}


def _whole_days(first: str, last: str) -> dict[str, str]:
    """From one midnight to a later one is all day, from the first day to the day before the end
    (as :func:`opportunities.feeds.openactive.event_dates` writes an all-day activity)."""
    if not (first.endswith(" 00:00") and last.endswith(" 00:00")) or last <= first:
        return {"start": first, "end": last}
    start_day = date.fromisoformat(first[:10])
    last_day = date.fromisoformat(last[:10]) - timedelta(days=1)
    return {"start": start_day.isoformat(), "end": "" if last_day == start_day else last_day.isoformat()}


def _price(offers: list[Mapping[str, Any]]) -> tuple[str, str]:
    """(lowest price, its currency) of the offers; ("0", "") without any."""
    best: tuple[Decimal, str] | None = None
    for offer in offers:
        try:
            price = Decimal(_text(offer.get("price")))
        except InvalidOperation:
            continue
        if price.is_finite() and (best is None or price < best[0]):
            best = (price, _text(offer.get("priceCurrency")))
    return (str(best[0]), best[1] if best[0] else "") if best else ("0", "")


def _place(location: Mapping[str, Any]) -> dict[str, str]:
    address = _object(location.get("address"))
    geo = _object(location.get("geo"))
    street = _text(address.get("streetAddress"))
    locality = " ".join(p for p in (_text(address.get("postalCode")), _text(address.get("addressLocality"))) if p)
    # A street address that already ends with its postcode and town (ours do) is not given them twice.
    written = street if locality and locality.lower() in street.lower() else ", ".join(p for p in (street, locality) if p)
    latitude, longitude = _text(geo.get("latitude")), _text(geo.get("longitude"))
    return {"venue": _text(location.get("name")), "address": written, "latitude": latitude, "longitude": longitude}


def _mode(data: Mapping[str, Any]) -> str:
    given = _text(data.get("eventAttendanceMode")).rsplit("/", 1)[-1].lower().replace("eventattendancemode", "")
    if given in _MODES:
        return _MODES[given]
    virtual = data.get("beta:virtualLocation") or data.get("virtualLocation")
    return "online" if virtual and not data.get("location") else "in-person"


def _topics(data: Mapping[str, Any]) -> str:
    found = [t for t in (topic_from_text(c) for c in _strings(data.get("category"))) if t]
    return ";".join(dict.fromkeys(found)) or DEFAULT_TOPIC


def _ages(data: Mapping[str, Any]) -> tuple[str, str]:
    ages = _object(data.get("ageRange"))
    if not ages:
        return str(ADULTS), ""
    return _text(ages.get("minValue")) or "0", _text(ages.get("maxValue"))


def record(
    data: Mapping[str, Any],
    *,
    provider: str,
    city: str,
    country: str,
    timezone: str,
    known_city: Callable[[str], bool],
) -> dict[str, str]:
    """The import record of an item's ``data``. Raises :class:`FieldError` for an item that is not
    of a harvested type or cannot be read as one; the validation checks the rest."""
    kind = _text(data.get("@type"))
    if kind not in HARVESTED_TYPES:
        raise FieldError(
            "type", because(N_("{value} is not one of: {limit}"), value=repr(kind), limit=", ".join(HARVESTED_TYPES))
        )
    data = _merged(data) if kind == "ScheduledSession" else data
    location = _object(data.get("location"))
    place = _place(location)
    address = _object(location.get("address"))
    item_country = _text(address.get("addressCountry")).upper()
    if item_country and item_country != country.upper():
        raise FieldError(
            "country",
            because(
                N_("The item is in {value}, not in the feed's country {limit}."),
                value=Country(item_country[:2]),
                limit=Country(country),
            ),
        )
    locality = _text(address.get("addressLocality"))
    age_min, age_max = _ages(data)
    cost, currency = _price(_objects(data.get("offers")))
    languages = [code.split("-", 1)[0].lower() for code in _strings(data.get("inLanguage"))]
    support = [_text(concept.get("prefLabel")) for concept in _objects(data.get("accessibilitySupport"))]
    return {
        "title": _text(data.get("name")),
        "description": _text(data.get("description")),
        "provider": provider,
        "city": locality if locality and known_city(locality) else city,
        "country": country,
        **place,
        "topics": _topics(data),
        "age_min": age_min,
        "age_max": age_max,
        "mode": _mode(data),
        "type": HARVESTED_TYPES[kind],
        **_dates(data, kind, timezone),
        "cost": cost,
        "currency": currency,
        "languages": ";".join(dict.fromkeys(code for code in languages if len(code) == 2)),
        "url": _text(data.get("url")),
        "accessibility": "; ".join(label for label in support if label),
    }
