"""The submission form's values, checked by the rules of an import, with messages in the user's language.

The form holds typed values (:class:`FormValues`: dates from date pickers, topics from a
multiselect); :func:`check_form` writes them as the text of an import row and validates that row
with :func:`opportunities.validation.parse_opportunity`, the one implementation of the rules, so a
listing typed in the form and the same listing in a spreadsheet pass or fail alike, with the same
reasons (:func:`opportunities.i18n.explain` words them in the language of the person at the form).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from datetime import date, datetime, time
from typing import Any

from opportunities.errors import RecordError
from opportunities.i18n import explain
from opportunities.model import Opportunity
from opportunities.places.gazetteer import Location
from opportunities.validation import parse_opportunity
from opportunities.vocabulary import Status

# The fields the form has a widget for (the pin is set on the map, the schedule by its own builder).
WIDGET_FIELDS: tuple[str, ...] = (
    "title", "description", "venue", "country", "city", "address", "topics", "age_min", "age_max", "mode", "type",
    "start_day", "start_time", "end_day", "end_time", "cost", "currency", "languages", "url", "contact_email", "accessibility",
)  # fmt: skip


@dataclass(frozen=True)
class FormValues:
    """What the provider has typed and chosen; everything optional until submitted.

    Kept as plain values so a draft can be saved as JSON (:meth:`to_json_dict`) and restored.
    """

    title: str = ""
    description: str = ""
    provider: str = ""
    city: str = ""
    country: str = ""
    venue: str = ""
    address: str = ""
    latitude: float | None = None  # set by the map (a click or a drag of the pin)
    longitude: float | None = None
    location_uncertainty_m: int | None = None
    topics: tuple[str, ...] = ()
    age_min: int | None = None
    age_max: int | None = None
    mode: str = ""
    type: str = ""
    start_day: date | None = None
    start_time: time | None = None
    end_day: date | None = None
    end_time: time | None = None
    schedule: str = ""
    cost: str = ""
    currency: str = ""
    languages: tuple[str, ...] = ()
    url: str = ""
    contact_email: str = ""
    accessibility: str = ""

    def to_record(self) -> dict[str, str]:
        """The values as the text of an import row (column name -> cell)."""

        def when(day: date | None, moment: time | None) -> str:
            if day is None:
                return ""
            return datetime.combine(day, moment).strftime("%Y-%m-%d %H:%M") if moment is not None else day.isoformat()

        def number(value: float | int | None) -> str:
            return "" if value is None else repr(value)

        return {
            "title": self.title, "description": self.description, "provider": self.provider, "city": self.city,
            "country": self.country, "venue": self.venue, "address": self.address,
            "latitude": number(self.latitude), "longitude": number(self.longitude),
            "topics": ";".join(self.topics), "age_min": number(self.age_min), "age_max": number(self.age_max),
            "mode": self.mode, "type": self.type, "start": when(self.start_day, self.start_time),
            "end": when(self.end_day, self.end_time), "schedule": self.schedule, "cost": self.cost,
            "currency": self.currency, "languages": ";".join(self.languages), "url": self.url,
            "contact_email": self.contact_email, "accessibility": self.accessibility,
        }  # fmt: skip

    def to_json_dict(self) -> dict[str, Any]:
        """The values as JSON-compatible data (dates and times as ISO text), for a draft."""
        data = asdict(self)
        for name in ("start_day", "end_day", "start_time", "end_time"):
            value = data[name]
            data[name] = value.isoformat() if value is not None else None
        data["topics"], data["languages"] = list(self.topics), list(self.languages)
        return data

    @classmethod
    def from_json_dict(cls, data: Mapping[str, Any]) -> FormValues:
        """Values saved by :meth:`to_json_dict`; unknown keys and unreadable values are left out,
        so a draft saved by an older version still opens."""
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {}
        readers: dict[str, Callable[[Any], Any]] = {
            "start_day": date.fromisoformat, "end_day": date.fromisoformat,
            "start_time": time.fromisoformat, "end_time": time.fromisoformat,
            "topics": lambda v: tuple(str(x) for x in v), "languages": lambda v: tuple(str(x) for x in v),
            "latitude": float, "longitude": float, "location_uncertainty_m": int, "age_min": int, "age_max": int,
        }  # fmt: skip
        for name, value in data.items():
            if name not in known or value is None:
                continue
            try:
                values[name] = readers.get(name, str)(value)
            except (TypeError, ValueError):
                continue
        return cls(**values)

    @classmethod
    def from_opportunity(cls, opp: Opportunity) -> FormValues:
        """The form filled with a stored listing (to edit it, or to copy it for the next term)."""
        start_time = opp.start.time() if isinstance(opp.start, datetime) else None
        end_time = opp.end.time() if isinstance(opp.end, datetime) else None
        day = opp.start.date() if isinstance(opp.start, datetime) else opp.start
        end_day = opp.end.date() if isinstance(opp.end, datetime) else opp.end
        return cls(
            title=opp.title, description=opp.description, provider=opp.provider, city=opp.city, country=opp.country,
            venue=opp.venue, address=opp.address, latitude=opp.latitude, longitude=opp.longitude,
            location_uncertainty_m=opp.uncertainty_m if opp.precision is not None and opp.precision.value == "provided" else None,
            topics=opp.topics, age_min=opp.age_min, age_max=opp.age_max, mode=opp.mode.value, type=opp.type.value,
            start_day=day, start_time=start_time, end_day=end_day, end_time=end_time, schedule=opp.schedule,
            cost="" if opp.cost == 0 else str(opp.cost), currency=opp.currency, languages=opp.languages, url=opp.url,
            contact_email=opp.contact_email, accessibility=opp.accessibility,
        )  # fmt: skip

    @classmethod
    def from_widgets(cls, widgets: Mapping[str, Any], *, provider: str, schedule: str) -> FormValues:
        """The values as the form's widgets hold them (field name -> widget value: None for a
        select with nothing chosen, a list for a multiselect), for ``provider`` with the rule
        ``schedule`` the schedule builder made."""
        return cls(
            title=widgets["title"], description=widgets["description"], provider=provider, city=widgets["city"],
            country=widgets["country"] or "", venue=widgets["venue"], address=widgets["address"],
            topics=tuple(widgets["topics"] or ()), age_min=widgets["age_min"], age_max=widgets["age_max"],
            mode=widgets["mode"] or "", type=widgets["type"] or "", start_day=widgets["start_day"],
            start_time=widgets["start_time"], end_day=widgets["end_day"], end_time=widgets["end_time"], schedule=schedule,
            cost=widgets["cost"], currency=widgets["currency"] or "", languages=tuple(widgets["languages"] or ()),
            url=widgets["url"], contact_email=widgets["contact_email"], accessibility=widgets["accessibility"],
        )  # fmt: skip

    def to_widgets(self) -> dict[str, Any]:
        """The values as the form's widgets hold them (see :meth:`from_widgets`): lists for the
        multiselects, "" for empty text, None for a select with nothing chosen."""
        widgets: dict[str, Any] = {name: getattr(self, name) for name in WIDGET_FIELDS}
        widgets["topics"], widgets["languages"] = list(self.topics), list(self.languages)
        for name in ("title", "description", "venue", "city", "address", "cost", "url", "contact_email", "accessibility"):
            widgets[name] = getattr(self, name) or ""
        for name in ("mode", "type", "country"):
            widgets[name] = getattr(self, name) or None
        return widgets

    def with_pin(self, location: Location | None) -> FormValues:
        """The values with the provider's own pin (None: no pin, the address locates the listing)."""
        if location is None:
            return replace(self, latitude=None, longitude=None, location_uncertainty_m=None)
        return replace(
            self, latitude=location.latitude, longitude=location.longitude, location_uncertainty_m=location.uncertainty_m
        )


@dataclass(frozen=True)
class FormCheck:
    """The outcome of checking the form: the opportunity when valid, else messages per field."""

    opportunity: Opportunity | None
    messages: dict[str, list[str]]

    @property
    def valid(self) -> bool:
        return self.opportunity is not None


def check_form(values: FormValues, *, language: str, status: Status = Status.PENDING, today: date | None = None) -> FormCheck:
    """Validate the form's values by the rules of an import; messages in ``language``, by field."""
    try:
        opp = parse_opportunity(values.to_record(), status=status, today=today)
    except RecordError as exc:
        messages: dict[str, list[str]] = {}
        for error in exc.errors:
            shown = "latitude" if error.field == "longitude" else error.field
            messages.setdefault(shown, []).append(explain(error.reason, language))
        return FormCheck(None, messages)
    return FormCheck(opp, {})
