"""The submission form's values, checked by the rules of an import, with messages in the user's language.

The form holds typed values (:class:`FormValues`: dates from date pickers, topics from a
multiselect); :func:`check_form` writes them as the text of an import row and validates that row
with :func:`opportunities.validation.parse_opportunity`, the one implementation of the rules, so a
listing typed in the form and the same listing in a spreadsheet pass or fail alike. The English
reasons of the validation are translated here, field by field, for the person at the form.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from datetime import date, datetime, time
from typing import Any

from opportunities.errors import FieldError, RecordError
from opportunities.i18n import N_, format_day, translator
from opportunities.model import Opportunity
from opportunities.places.gazetteer import Location
from opportunities.validation import MAX_SERIES_YEARS, MAX_YEARS_AHEAD, parse_opportunity
from opportunities.vocabulary import Status

# The label of each field, as the form shows it (also used to name a field in a message).
FIELD_LABELS: dict[str, str] = {
    "title": N_("Title"),
    "description": N_("Description"),
    "provider": N_("Organisation"),
    "city": N_("City"),
    "country": N_("Country"),
    "venue": N_("Venue"),
    "address": N_("Address"),
    "latitude": N_("Place on the map"),
    "longitude": N_("Place on the map"),
    "topics": N_("Topics"),
    "age_min": N_("Youngest age"),
    "age_max": N_("Oldest age"),
    "mode": N_("Where it happens"),
    "type": N_("Kind of activity"),
    "start": N_("Start"),
    "end": N_("End"),
    "schedule": N_("Repeats"),
    "cost": N_("Price"),
    "currency": N_("Currency"),
    "languages": N_("Languages"),
    "url": N_("Web page"),
    "contact_email": N_("Contact email"),
    "accessibility": N_("Accessibility"),
}


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
            messages.setdefault(shown, []).append(field_message(error, language))
        return FormCheck(None, messages)
    return FormCheck(opp, {})


def field_label(name: str, language: str) -> str:
    """The form's label of a field in ``language`` (the column name for one the form lacks)."""
    label = FIELD_LABELS.get(name)
    return translator(language).gettext(label) if label else name


# The English reasons of opportunities.validation, each with its message for the form. Dates in
# the groups named ``day`` are shown in the user's format. A reason not listed is shown as it is.
_REASONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.DOTALL), message)
    for pattern, message in (
        (r"is required", N_("This is required.")),
        (
            r"is (?P<n>\d+) characters long; at most (?P<limit>\d+) are allowed",
            N_("This is {n} characters long; at most {limit} are allowed."),
        ),
        (
            r"is too long once normalised \((?P<n>\d+) characters\); shorten it to (?P<limit>\d+)",
            N_("This is too long; shorten it to {limit} characters."),
        ),
        (
            r"contains the control character (?P<char>U\+[0-9A-F]{4,6}) at position (?P<position>\d+); remove it.*",
            N_("This contains an invisible control character ({char}) at position {position}; remove it."),
        ),
        (r".* has no letters or digits; write the name in words", N_("This has no letters or digits; write the name in words.")),
        (r"at least one topic is required", N_("Choose at least one topic.")),
        (r"unknown topic .*", N_("Choose topics from the list.")),
        (r"(?P<n>-?\d+) is outside 0–120 years", N_("{n} is not an age from 0 to 120.")),
        (r".* is not a whole number of years", N_("Give a whole number of years.")),
        (r"(?P<high>\d+) is below age_min (?P<low>\d+)", N_("The oldest age ({high}) is below the youngest age ({low}).")),
        (r"is before start", N_("The end is before the start.")),
        (r".* is before (?P<day>\d{4}-\d{2}-\d{2}); check the year", N_("This is before {day}; check the year.")),
        (
            r".* is after (?P<day>\d{4}-\d{2}-\d{2}); dates can be at most .*",
            N_("This is after {day}: a start can be at most {ahead} years ahead, and a series can last at most {series} years."),
        ),
        (r".* is not a date; write .*", N_("This is not a date.")),
        (r"give the local time of the city without a UTC offset", N_("Give the local time of the city.")),
        (
            r"UNTIL=\d+ is more than \d+ years after the start",
            N_("The series would last more than {series} years; choose an earlier last day."),
        ),
        (
            r"COUNT=(?P<count>\d+) makes the series last until (?P<day>\d{4}-\d{2}-\d{2}), more than \d+ years after the start",
            N_("{count} sessions would last until {day}, more than {series} years; choose fewer sessions."),
        ),
        (
            r".* has no session from the start.*; check its days against the start date",
            N_("This schedule has no session between the start and the end; check its days against the start date."),
        ),
        (r".* is not a price; .*", N_("This is not a price; write a number such as 50, or leave it empty when it is free.")),
        (r".* must be between 0 and (?P<max>\d+)", N_("The price must be between 0 and {max}.")),
        (r"is required when the opportunity is not free", N_("Choose the currency of the price.")),
        (r".* is not an ISO 4217 currency code.*", N_("Choose the currency from the list.")),
        (r".* is not an ISO 639-1 language code.*", N_("Choose languages from the list.")),
        (
            r"lists (?P<n>\d+) languages; at most (?P<limit>\d+) are allowed.*",
            N_("{n} languages are chosen; give the languages the activity is held in, at most {limit}."),
        ),
        (r".* is not an http:// or https:// address", N_("This is not a web address; write one that starts with https://.")),
        (r".* is not an email address", N_("This is not an email address.")),
        (r".* is not an ISO 3166-1 alpha-2 code.*", N_("Choose the country from the list.")),
        (r".* is not one of: .*", N_("Choose one of the options.")),
        (r".* is not a number", N_("This is not a number.")),
        (r"give both latitude and longitude, or neither", N_("Place the venue on the map again.")),
        (r".* is outside -\d+…\d+", N_("Place the venue on the map again.")),
        (r".*: (?P<rule>.+)", N_("This schedule cannot be used: {rule}")),
    )
)


def field_message(error: FieldError, language: str) -> str:
    """The reason of a validation error as a sentence for the form, in ``language``."""
    _ = translator(language).gettext
    for pattern, message in _REASONS:
        match = pattern.fullmatch(error.reason)
        if match is None:
            continue
        groups = {k: v for k, v in match.groupdict().items() if v is not None}
        if "day" in groups:
            groups["day"] = format_day(date.fromisoformat(groups["day"]), language)
        return _(message).format(ahead=MAX_YEARS_AHEAD, series=MAX_SERIES_YEARS, **groups)
    return error.reason
