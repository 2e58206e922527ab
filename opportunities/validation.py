"""Validation of untrusted opportunity records (a form, a CSV row), field by field.

Every field is checked and all problems are reported at once, each naming the field and saying
what to change.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar
from urllib.parse import urlparse

import pycountry
from sqlalchemy import Column, String

from opportunities import recurrence
from opportunities.db.schema import cities, opportunities, providers
from opportunities.errors import N_, FieldError, RecordError, RuleError, because
from opportunities.model import Opportunity, as_datetime
from opportunities.text import fold
from opportunities.vocabulary import Mode, OpportunityType, Status, topic_from_text

# The import template, in order. ``venue`` and ``accessibility`` are optional extras.
TEMPLATE_COLUMNS: tuple[str, ...] = (
    "title", "description", "provider", "city", "country", "address", "latitude", "longitude",
    "topics", "age_min", "age_max", "mode", "type", "start", "end", "schedule", "cost", "currency",
    "languages", "url", "contact_email",
)  # fmt: skip
OPTIONAL_COLUMNS: tuple[str, ...] = ("venue", "accessibility")
REQUIRED_COLUMNS: tuple[str, ...] = ("title", "provider", "city", "country", "topics", "age_min", "mode", "type", "start")
ALL_COLUMNS = TEMPLATE_COLUMNS + OPTIONAL_COLUMNS

# Where each template field is stored: its length limit is the column's, so a value that passes
# validation always fits (PostgreSQL refuses an over-long value and aborts the whole import).
_STORED_IN = {
    "title": opportunities.c.title, "provider": providers.c.name, "city": cities.c.name,
    "venue": opportunities.c.venue, "address": opportunities.c.address, "schedule": opportunities.c.schedule,
    "currency": opportunities.c.currency, "url": opportunities.c.url, "contact_email": opportunities.c.contact_email,
}  # fmt: skip
# Fields stored as unbounded text still get a length a reader of the page can take in.
_TEXT_LIMITS = {"description": 5000, "accessibility": 1000}


def _length(column: Column[Any]) -> int:
    """The declared length of a ``String(n)`` column."""
    if not isinstance(column.type, String) or column.type.length is None:
        raise TypeError(f"{column} has no declared length")
    return column.type.length


MAX_LENGTHS: dict[str, int] = {field: _length(column) for field, column in _STORED_IN.items()} | _TEXT_LIMITS
# Names are also stored folded (the duplicate key); folding can lengthen them ("ß" → "ss").
_KEY_LENGTHS = {"provider": _length(providers.c.name_key), "city": _length(cities.c.name_key)}
# Fields that may span lines; no field may hold any other control character (NUL makes
# PostgreSQL refuse the value, the others corrupt exports and calendar files).
MULTILINE_FIELDS = frozenset({"description", "accessibility"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MULTILINE_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_COST = Decimal(100_000)
# Dates a provider may give. Before 2000 or far ahead is a typo (0026, 2260), and year 1 or 9999
# breaks date arithmetic downstream (calendar files, time zones).
EARLIEST_DATE = date(2000, 1, 1)
MAX_YEARS_AHEAD = 10  # the latest start: this many years after today
MAX_SERIES_YEARS = 10  # the latest end (or UNTIL of a schedule): this many years after the start
# Languages an activity is held in; more is a list of every language the provider speaks, which
# would make the language filter meaningless.
MAX_LANGUAGES = 20
_EMAIL = re.compile(r"^[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"']{2,}$")
_FREE_WORDS = {"", "0", "free", "gratis", "kostnadsfritt", "brezplačno", "brezplacno", "bezpłatne", "bezplatne", "darmowe"}

T = TypeVar("T")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):  # empty cell read by pandas
        return ""
    return str(value).strip()


def parse_number(text: str, field: str) -> float:
    """A finite number; a decimal comma and the Unicode minus sign are accepted.

    ``nan`` and ``inf`` are not numbers of any field: Python's ``float`` would accept them.
    """
    try:
        value = float(text.replace(",", ".").replace("\u2212", "-"))
    except ValueError:
        raise FieldError(field, because(N_("{value} is not a number"), value=repr(text))) from None
    if not math.isfinite(value):
        raise FieldError(field, because(N_("{value} is not a number"), value=repr(text)))
    return value


def check_text(field: str, text: str) -> None:
    """Raise :class:`FieldError` when ``text`` is too long for ``field`` or holds a control character."""
    limit = MAX_LENGTHS.get(field)
    if limit is not None and len(text) > limit:
        raise FieldError(
            field, because(N_("This is {n} characters long; at most {limit} are allowed."), n=len(text), limit=limit)
        )
    key_limit = _KEY_LENGTHS.get(field)
    if key_limit is not None and len(fold(text)) > key_limit:
        raise FieldError(field, because(N_("This is too long; shorten it to {limit} characters."), limit=key_limit))
    control = (_MULTILINE_CONTROL if field in MULTILINE_FIELDS else _CONTROL).search(text)
    if control is not None:
        raise FieldError(
            field,
            because(
                N_("This contains an invisible control character ({char}) at position {position}; remove it."),
                char=f"U+{ord(control[0]):04X}",
                position=control.start() + 1,
            ),
        )


def parse_age(text: str, field: str) -> int:
    value = parse_number(text, field)
    if value != int(value):
        raise FieldError(field, because(N_("{value} is not a whole number of years"), value=repr(text)))
    if not 0 <= value <= 120:
        raise FieldError(field, because(N_("{value} is outside 0–120 years"), value=str(int(value))))
    return int(value)


def years_after(day: date, years: int) -> date:
    """The same day ``years`` later (28 February for 29 February in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def parse_when(text: str, field: str, *, latest: date | None = None) -> date | datetime:
    """An ISO date (``2026-12-01``) or date-time (``2026-12-01 17:00`` or with ``T``), from
    :data:`EARLIEST_DATE` to ``latest`` (default: :data:`MAX_YEARS_AHEAD` years after today)."""
    cleaned = text.replace("T", " ").strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}|\d{8}", cleaned):  # a day alone, also in the compact form
            moment: date | datetime = date.fromisoformat(cleaned)
        else:
            moment = datetime.fromisoformat(cleaned)
    except ValueError:
        raise FieldError(
            field, because(N_("{value} is not a date; write 2026-12-01 or 2026-12-01 17:00"), value=repr(text))
        ) from None
    if isinstance(moment, datetime):
        if moment.tzinfo is not None:
            raise FieldError(field, because(N_("Give the local time of the city.")))
        if moment.hour == moment.minute == moment.second == 0 and len(cleaned) == 10:
            moment = moment.date()
    day = moment.date() if isinstance(moment, datetime) else moment
    latest = latest or years_after(date.today(), MAX_YEARS_AHEAD)
    if day < EARLIEST_DATE:
        raise FieldError(field, because(N_("{value} is before {limit}; check the year"), value=repr(text), limit=EARLIEST_DATE))
    if day > latest:
        raise FieldError(
            field,
            because(
                N_(
                    "This is after {day}: a start can be at most {ahead} years ahead, and a series can last at most {series} years."
                ),
                day=latest,
                ahead=MAX_YEARS_AHEAD,
                series=MAX_SERIES_YEARS,
            ),
        )
    return moment


def parse_country(text: str) -> str:
    country = pycountry.countries.get(alpha_2=text.upper()) if len(text) == 2 else None
    if country is None:
        raise FieldError("country", because(N_("{value} is not a country code such as SE, SI or PL"), value=repr(text)))
    return str(country.alpha_2)


def parse_topics(text: str) -> tuple[str, ...]:
    topics: list[str] = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        topic = topic_from_text(part)
        if topic is None:
            raise FieldError(
                "topics",
                because(N_("unknown topic {value}; use a topic id from the vocabulary sheet of the template"), value=repr(part)),
            )
        if topic not in topics:
            topics.append(topic)
    if not topics:
        raise FieldError("topics", because(N_("Choose at least one topic.")))
    return tuple(topics)


def parse_languages(text: str) -> tuple[str, ...]:
    """Distinct ISO 639-1 codes separated by ``;`` or ``,``, at most :data:`MAX_LANGUAGES`."""
    found: list[str] = []
    for part in (p.strip().lower() for p in text.replace(",", ";").split(";")):
        if not part:
            continue
        if len(part) != 2 or pycountry.languages.get(alpha_2=part) is None:
            raise FieldError(
                "languages", because(N_("{value} is not a language code such as en, sv, sl or pl"), value=repr(part))
            )
        if part not in found:
            found.append(part)
    if len(found) > MAX_LANGUAGES:
        raise FieldError(
            "languages",
            because(
                N_("{n} languages are chosen; give the languages the activity is held in, at most {limit}."),
                n=len(found),
                limit=MAX_LANGUAGES,
            ),
        )
    return tuple(found)


def parse_cost(text: str) -> Decimal:
    folded = fold(text)  # any case, accents composed or not
    if folded in _FREE_WORDS and (folded or not text.strip()):  # "?" folds to "" but is not empty
        return Decimal(0)
    try:
        cost = Decimal(text.replace(",", ".").replace(" ", ""))
    except InvalidOperation:
        raise FieldError(
            "cost", because(N_("{value} is not a price; write a number such as 50, or 0 or free"), value=repr(text))
        ) from None
    if not cost.is_finite() or cost < 0 or cost > MAX_COST:
        raise FieldError("cost", because(N_("{value} must be between 0 and {limit}"), value=repr(text), limit=int(MAX_COST)))
    return cost.quantize(Decimal("0.01"))


def parse_currency(text: str) -> str:
    if pycountry.currencies.get(alpha_3=text.upper()) is None:
        raise FieldError("currency", because(N_("{value} is not a currency code such as SEK, EUR or PLN"), value=repr(text)))
    return text.upper()


def parse_url(text: str) -> str:
    parts = urlparse(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or any(c.isspace() for c in text):
        raise FieldError("url", because(N_("{value} is not a web address starting with http:// or https://"), value=repr(text)))
    return text


def parse_email(text: str) -> str:
    if not _EMAIL.match(text):
        raise FieldError("contact_email", because(N_("{value} is not an email address"), value=repr(text)))
    return text


def parse_schedule(text: str, start: date | datetime | None, end: date | datetime | None = None) -> str:
    """A recurrence rule in its canonical form (see :mod:`opportunities.recurrence`), checked to
    end within :data:`MAX_SERIES_YEARS` of ``start`` and to have a session from ``start`` to ``end``."""
    try:
        rule = recurrence.parse_rule(text)
    except RuleError as exc:
        raise FieldError("schedule", because(N_("This schedule cannot be used: {rule}"), rule=exc.reason)) from None
    if start is None:
        return rule.text
    first = as_datetime(start)
    if rule.until is not None and rule.until.date() > years_after(first.date(), MAX_SERIES_YEARS):
        raise FieldError(
            "schedule",
            because(N_("The series would last more than {series} years; choose an earlier last day."), series=MAX_SERIES_YEARS),
        )
    counted = recurrence.last_session_day(rule, first, None) if rule.count is not None else None
    if counted is not None and counted > years_after(first.date(), MAX_SERIES_YEARS):
        raise FieldError(
            "schedule",
            because(
                N_("{count} sessions would last until {day}, more than {series} years; choose fewer sessions."),
                count=rule.count or 0,
                day=counted,
                series=MAX_SERIES_YEARS,
            ),
        )
    last = as_datetime(end).date() if end is not None else None
    if not recurrence.sessions(rule, first, first, datetime.max, limit=1, series_end=last):
        raise FieldError(
            "schedule",
            because(N_("This schedule has no session between the start and the end; check its days against the start date.")),
        )
    return rule.text


class _RecordFields:
    """The raw fields of one record, and the problems found in them so far, in the order found.

    A field whose text is unusable (see :func:`check_text`) is reported on arrival and then
    neither parsed nor reported as missing.
    """

    def __init__(self, raw: dict[str, str]) -> None:
        self.raw = raw
        self.errors: list[FieldError] = []
        self.unusable: set[str] = set()
        for field in ALL_COLUMNS:
            try:
                check_text(field, raw[field])
            except FieldError as exc:
                self.errors.append(exc)
                self.unusable.add(field)

    def check(self, field: str, parse: Callable[[str], T], *, required: bool = False) -> T | None:
        """``field`` parsed by ``parse``; None (and the problem noted) when it is missing or invalid."""
        text = self.raw[field]
        if field in self.unusable:
            return None
        if not text:
            if required:
                self.errors.append(FieldError(field, because(N_("This is required."))))
            return None
        try:
            return parse(text)
        except FieldError as exc:
            self.errors.append(exc)
            return None

    def check_names(self) -> None:
        """The title, provider and city are given, and in words."""
        for field in ("title", "provider", "city"):
            if not self.raw[field] and field not in self.unusable:
                self.errors.append(FieldError(field, because(N_("This is required."))))
            elif not fold(self.raw[field]):
                # Names are matched folded: one of only symbols would be the same as any other.
                self.errors.append(
                    FieldError(
                        field,
                        because(N_("{value} has no letters or digits; write the name in words"), value=repr(self.raw[field])),
                    )
                )

    def check_together(self, values: Mapping[str, Any], lat: float | None, lon: float | None) -> None:
        """The fields that bound or need one another agree (ages, dates, cost and currency, coordinates)."""
        errors = self.errors
        if values["age_min"] is not None and values["age_max"] is not None and values["age_max"] < values["age_min"]:
            errors.append(
                FieldError(
                    "age_max",
                    because(
                        N_("The oldest age ({high}) is below the youngest age ({low})."),
                        high=values["age_max"],
                        low=values["age_min"],
                    ),
                )
            )
        start, end = values["start"], values["end"]
        if start is not None and end is not None and as_datetime(end) < as_datetime(start):
            errors.append(FieldError("end", because(N_("The end is before the start."))))
        if values["cost"] > 0 and not values["currency"] and self.raw["cost"] and not any(e.field == "currency" for e in errors):
            errors.append(FieldError("currency", because(N_("Choose the currency of the price."))))
        if (lat is None) != (lon is None) and not any(e.field in ("latitude", "longitude") for e in errors):
            errors.append(
                FieldError(
                    "latitude" if lat is None else "longitude", because(N_("give both latitude and longitude, or neither"))
                )
            )
        for name, value, bound in (("latitude", lat, 90), ("longitude", lon, 180)):
            if value is not None and not -bound <= value <= bound:
                errors.append(
                    FieldError(name, because(N_("{value} is outside −{bound}…{bound}"), value=repr(value), bound=bound))
                )


def parse_opportunity(record: Mapping[str, Any], *, status: Status = Status.PENDING, today: date | None = None) -> Opportunity:
    """Validate one raw record (column name → value) into an :class:`Opportunity` without location.

    ``today`` (default: the server's date) bounds the start: see :data:`MAX_YEARS_AHEAD`.

    Raises :class:`RecordError` listing every invalid field.
    """
    fields = _RecordFields({name: _text(record.get(name)) for name in ALL_COLUMNS})
    raw, check = fields.raw, fields.check
    fields.check_names()
    values: dict[str, Any] = {}
    values["country"] = check("country", parse_country, required=True)
    values["topics"] = check("topics", parse_topics, required=True)
    values["age_min"] = check("age_min", lambda t: parse_age(t, "age_min"), required=True)
    values["age_max"] = check("age_max", lambda t: parse_age(t, "age_max"))
    values["mode"] = check("mode", lambda t: _enum(Mode, t, "mode"), required=True)
    values["type"] = check("type", lambda t: _enum(OpportunityType, t, "type"), required=True)
    latest_start = years_after(today or date.today(), MAX_YEARS_AHEAD)
    values["start"] = check("start", lambda t: parse_when(t, "start", latest=latest_start), required=True)
    latest_end = years_after(as_datetime(values["start"] or latest_start).date(), MAX_SERIES_YEARS)
    values["end"] = check("end", lambda t: parse_when(t, "end", latest=latest_end))
    if values["end"] is None or values["start"] is None or as_datetime(values["end"]) >= as_datetime(values["start"]):
        values["schedule"] = check("schedule", lambda t: parse_schedule(t, values["start"], values["end"])) or ""
    values["cost"] = check("cost", parse_cost) or Decimal(0)
    values["currency"] = check("currency", parse_currency) or ""
    values["languages"] = check("languages", parse_languages) or ()
    values["url"] = check("url", parse_url) or ""
    values["contact_email"] = check("contact_email", parse_email) or ""
    lat = check("latitude", lambda t: parse_number(t, "latitude"))
    lon = check("longitude", lambda t: parse_number(t, "longitude"))
    fields.check_together(values, lat, lon)
    if fields.errors:
        raise RecordError(fields.errors)
    return Opportunity(
        title=raw["title"],
        description=raw["description"],
        provider=raw["provider"],
        city=raw["city"],
        venue=raw["venue"],
        address=raw["address"],
        latitude=lat,
        longitude=lon,
        accessibility=raw["accessibility"],
        status=status,
        **values,
    )


def _enum(kind: type[Any], text: str, field: str) -> Any:
    try:
        return kind(text.strip().lower().replace("_", "-").replace("in person", "in-person"))
    except ValueError:
        choices = ", ".join(member.value for member in kind)
        raise FieldError(field, because(N_("{value} is not one of: {limit}"), value=repr(text), limit=choices)) from None
