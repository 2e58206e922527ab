"""The Explore page's state as URL query parameters, so that any view is a shareable link.

Filters: ``city`` (a city name), ``topic`` (repeatable; an id or a label in any UI language),
``age`` (an age group id such as ``teens``, or an exact age such as ``15``), ``from`` and ``to``
(ISO dates; without ``from`` the search starts today, in the chosen city: see :func:`local_today`), ``mode`` and ``type`` (repeatable ids),
``free``, ``accessible`` and ``badge`` (``1``; ``badge``: activities that award a badge, which the
page narrows to itself: the index does not hold badges), ``playlist`` (a playlist's id: the
activities whose badges it holds, narrowed by the page the same way), ``language`` (the ISO 639-1 code of the language an
opportunity is taught in), ``q`` (words in the title or description), ``near`` (a typed place or
address) and ``radius`` (km). The rest of the page: ``id`` (the opportunity shown in detail),
``lat``, ``lon``, ``z`` (the map view, once the visitor moved the map) and ``lang`` (the UI
language). The browser's own position is never put into a link.

A link is written by people and may be hostile: unusable values are dropped, each with a message.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from opportunities.explore.search import SearchQuery
from opportunities.i18n import translator
from opportunities.text import fold
from opportunities.vocabulary import AGE_GROUPS_BY_ID, LANGUAGES, Mode, OpportunityType, topic_from_text

MAX_AGE = 120
# Longer values are certainly not a city, a topic or an age; they are not even looked at.
MAX_VALUE_LENGTH = 100
MAX_TOPICS = 20
DEFAULT_RADIUS_KM = 10
MIN_RADIUS_KM = 1
MAX_RADIUS_KM = 100
# Dates further than this from today are typing mistakes (and outside what the date picker offers).
MAX_YEARS_AWAY = 5
MAX_ZOOM = 19
# Ids are 64-bit integers in the database; a longer number would not even bind as a parameter.
MAX_ID = 2**63 - 1

Params = dict[str, str | list[str]]

# The names of the filters, in the order they are suggested for relaxing an empty result.
FILTER_NAMES: tuple[str, ...] = (
    "free", "accessible", "badge", "playlist", "type", "mode", "language", "age", "topic", "q", "dates", "near", "city",
)  # fmt: skip


def utc_now() -> datetime:
    """The clock: the current time, aware, in UTC."""
    return datetime.now(UTC)


def local_today(time_zones: Iterable[str], *, now: datetime | None = None) -> date:
    """What "today" is for a visitor looking at places in ``time_zones`` (IANA names), at ``now``.

    The earliest local date among them, so that nothing still happening in any of those places
    is hidden: at 01:00 UTC on the 24th a city in UTC−4 is still on the 23rd. Pass the chosen
    city's zone alone, or every city's zone when none is chosen. Unknown names are skipped;
    with none known, the date in UTC. ``now`` defaults to :func:`utc_now`; a naive ``now`` is UTC.
    """
    moment = now or utc_now()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    dates = []
    for name in set(time_zones):
        try:
            dates.append(moment.astimezone(ZoneInfo(name)).date())
        except (ZoneInfoNotFoundError, ValueError):
            continue  # a city without a usable zone does not move "today"
    return min(dates) if dates else moment.astimezone(UTC).date()


def local_now(timezone: str, *, now: datetime | None = None) -> datetime:
    """The wall-clock time in ``timezone`` (UTC when unknown), naive and to the minute, as the
    opportunities' own times are written."""
    from opportunities.listings.calendar import city_zone

    moment = now or utc_now()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(city_zone(timezone)).replace(tzinfo=None, second=0, microsecond=0)


def date_bounds(today: date) -> tuple[date, date]:
    """The earliest and latest date a filter may hold (the date picker offers no others)."""
    return today - timedelta(days=365 * MAX_YEARS_AWAY), today + timedelta(days=365 * MAX_YEARS_AWAY)


@dataclass(frozen=True)
class Filters:
    """The explore page's filters. Empty fields do not filter; ``date_from`` None means today."""

    city: str = ""
    topics: tuple[str, ...] = ()
    age_group: str = ""
    age: int | None = None
    free_only: bool = False
    date_from: date | None = None
    date_to: date | None = None
    modes: tuple[Mode, ...] = ()
    types: tuple[OpportunityType, ...] = ()
    language: str = ""
    accessible_only: bool = False
    # Only activities that award a badge: not part of the search (the page narrows the result to
    # the activities with a published badge, see pages/explore.py).
    badge_only: bool = False
    playlist: int | None = None  # the activities of one playlist (by the page, as badge_only)
    text: str = ""
    place: str = ""
    radius_km: int = DEFAULT_RADIUS_KM
    # "Use my location": the browser's position (kept by the page, never in a link) replaces the place.
    use_browser_position: bool = False

    def dates(self, today: date) -> tuple[date, date | None]:
        """The date range searched: from ``date_from`` (or today) to ``date_to``; an end before the start is dropped."""
        start = self.date_from or today
        end = self.date_to if self.date_to is not None and self.date_to >= start else None
        return start, end

    def to_query(self, *, limit: int, today: date, near: tuple[float, float] | None = None) -> SearchQuery:
        """The search for these filters, returning at most ``limit`` opportunities.

        ``near`` is where the visitor is (the typed place, geocoded, or the browser's position):
        without it the place and radius do not filter.
        """
        start, end = self.dates(today)
        return SearchQuery(
            city=self.city,
            topics=self.topics,
            age_group=self.age_group,
            age=self.age,
            free_only=self.free_only,
            date_from=start,
            date_to=end,
            modes=self.modes,
            types=self.types,
            language=self.language,
            accessible_only=self.accessible_only,
            text=self.text,
            near=near,
            radius_km=float(self.radius_km),
            limit=limit,
        )

    def to_params(self) -> Params:
        """URL parameters for these filters (only the ones that filter), in a fixed order."""
        pairs: list[tuple[str, str | list[str]]] = [
            ("city", self.city),
            ("topic", list(self.topics)),
            ("age", str(self.age) if self.age is not None else self.age_group),
            ("from", self.date_from.isoformat() if self.date_from is not None else ""),
            ("to", self.date_to.isoformat() if self.date_to is not None else ""),
            ("mode", [m.value for m in self.modes]),
            ("type", [t.value for t in self.types]),
            ("free", "1" if self.free_only else ""),
            ("accessible", "1" if self.accessible_only else ""),
            ("badge", "1" if self.badge_only else ""),
            ("playlist", str(self.playlist) if self.playlist is not None else ""),
            ("language", self.language),
            ("q", self.text),
            ("near", self.place),
            ("radius", str(self.radius_km) if self.radius_km != DEFAULT_RADIUS_KM else ""),
        ]
        return {name: value for name, value in pairs if value}

    def active(self) -> tuple[str, ...]:
        """Names (from :data:`FILTER_NAMES`) of the filters that are set; "dates" when not just "from today"."""
        set_now = {
            "city": bool(self.city),
            "topic": bool(self.topics),
            "age": self.age is not None or bool(self.age_group),
            "dates": self.date_from is not None or self.date_to is not None,
            "mode": bool(self.modes),
            "type": bool(self.types),
            "free": self.free_only,
            "accessible": self.accessible_only,
            "badge": self.badge_only,
            "playlist": self.playlist is not None,
            "language": bool(self.language),
            "q": bool(self.text),
            "near": bool(self.place) or self.use_browser_position,
        }
        return tuple(name for name in FILTER_NAMES if set_now[name])

    def without(self, name: str) -> Filters:
        """These filters with the one called ``name`` (see :data:`FILTER_NAMES`) cleared."""
        cleared: dict[str, dict[str, object]] = {
            "city": {"city": ""},
            "topic": {"topics": ()},
            "age": {"age": None, "age_group": ""},
            "dates": {"date_from": None, "date_to": None},
            "mode": {"modes": ()},
            "type": {"types": ()},
            "free": {"free_only": False},
            "accessible": {"accessible_only": False},
            "badge": {"badge_only": False},
            "playlist": {"playlist": None},
            "language": {"language": ""},
            "q": {"text": ""},
            "near": {"place": "", "radius_km": DEFAULT_RADIUS_KM, "use_browser_position": False},
        }
        return replace(self, **cleared[name])  # type: ignore[arg-type]


def relaxations(filters: Filters, count: Callable[[Filters], int]) -> list[tuple[str, int]]:
    """For an empty result: each set filter with how many would match without it.

    ``count`` runs the search for other filters. Filters whose removal still finds nothing are
    left out; the rest come most results first (ties in :data:`FILTER_NAMES` order).
    """
    found = [(name, count(filters.without(name))) for name in filters.active()]
    helpful = [(name, n) for name, n in found if n > 0]
    return sorted(helpful, key=lambda pair: -pair[1])


@dataclass(frozen=True)
class MapPosition:
    """The centre and zoom of the map, as a link keeps them."""

    latitude: float
    longitude: float
    zoom: int

    def to_params(self) -> Params:
        return {"lat": f"{self.latitude:.5f}", "lon": f"{self.longitude:.5f}", "z": str(self.zoom)}


@dataclass(frozen=True)
class ExploreParams:
    """Everything a link to the Explore page can hold, and a message for each value that was ignored."""

    language: str = "en"
    filters: Filters = Filters()
    selected: int | None = None
    position: MapPosition | None = None
    problems: tuple[str, ...] = field(default=())

    def to_params(self, *, default_language: str | None) -> Params:
        """The URL parameters; ``lang`` only when it differs from what the browser would get anyway
        (``default_language``), always when that is None: a link to share is opened in another
        browser, whose language may be another."""
        params = self.filters.to_params()
        if self.selected is not None:
            params["id"] = str(self.selected)
        if self.position is not None:
            params.update(self.position.to_params())
        if default_language is None or self.language != default_language:
            params["lang"] = self.language
        return params


def _shown(value: str, language: str = "en") -> str:
    """A short, harmless rendering of a user-written value for a message (no markup survives)."""
    _ = translator(language).gettext
    kept = "".join(c for c in value[:40] if c.isalnum() or c in " -_.,")
    # Translators: a value quoted in a message; use your language's quotation marks.
    return _("“{value}”").format(value=kept) if kept else _("(unreadable)")


def _is_small_number(text: str, digits: int = 18) -> bool:
    return text.isascii() and text.isdecimal() and len(text) <= digits


class _LinkReader:
    """Reads a link's parameters; each unusable value adds a message (in ``language``) to ``problems``."""

    def __init__(self, params: Mapping[str, Sequence[str]], language: str) -> None:
        self.params = params
        self.language = language
        self.gettext = translator(language).gettext
        self.problems: list[str] = []
        self.names: list[str] = []  # the parameter each problem is about

    def problem(self, name: str, message: str) -> None:
        """Note that the value of parameter ``name`` was unusable, with ``message`` (in the reader's language)."""
        self.problems.append(message)
        self.names.append(name)

    def shown(self, value: str) -> str:
        return _shown(value, self.language)

    def last(self, name: str) -> str:
        """The last non-blank value of ``name`` ("" when none, or when it is too long)."""
        _ = self.gettext
        values = [v.strip() for v in self.params.get(name, ()) if v.strip()]
        if not values:
            return ""
        if len(values[-1]) > MAX_VALUE_LENGTH:
            # Translators: {name} is the parameter's name in the link (city, age, free), not translated.
            self.problem(name, _("The {name} in the link is too long and was ignored.").format(name=name))
            return ""
        return values[-1]

    def flag(self, name: str, message: str) -> bool:
        """Whether ``name`` is set (1, true, yes); ``message`` when it is neither set nor unset."""
        value = self.last(name).lower()
        if value and value not in {"1", "true", "yes", "0", "false", "no"}:
            self.problem(name, message.format(value=self.shown(value)))
        return value in {"1", "true", "yes"}

    def items(self, name: str) -> list[str]:
        """The comma-separated items of the first :data:`MAX_TOPICS` values of ``name``."""
        found: list[str] = []
        for raw in list(self.params.get(name, ()))[:MAX_TOPICS]:
            found.extend(part.strip() for part in raw.split(",") if part.strip())
        return found

    def choices(self, name: str, allowed: Mapping[str, str]) -> list[str]:
        """The distinct values of ``name`` found in ``allowed`` (keyed by lower case), in link order."""
        _ = self.gettext
        chosen: list[str] = []
        for text in self.items(name):
            value = allowed.get(text.lower()) if len(text) <= MAX_VALUE_LENGTH else None
            if value is None:
                # Translators: {name} is "mode" or "type", the parameter's name in the link; {options} the allowed values.
                self.problem(
                    name,
                    _("The {name} {value} in the link is unknown and was ignored: use one of {options}.").format(
                        name=name, value=self.shown(text), options=", ".join(dict.fromkeys(allowed.values()))
                    ),
                )
            elif value not in chosen:
                chosen.append(value)
        return chosen


@dataclass(frozen=True)
class ParamProblem:
    """A value of the link that could not be used: the ``parameter``'s name and a ``message`` in the reader's language."""

    parameter: str
    message: str


def filters_from_params(
    params: Mapping[str, Sequence[str]],
    *,
    cities: Collection[str],
    language: str = "en",
    languages_taught: Collection[str] | None = None,
    today: date | None = None,
) -> tuple[Filters, list[str]]:
    """Filters read from URL parameters, and a message (in ``language``) for each value that was ignored
    (:func:`read_filters` with the messages only)."""
    filters, problems = read_filters(params, cities=cities, language=language, languages_taught=languages_taught, today=today)
    return filters, [problem.message for problem in problems]


def read_filters(
    params: Mapping[str, Sequence[str]],
    *,
    cities: Collection[str],
    language: str = "en",
    languages_taught: Collection[str] | None = None,
    today: date | None = None,
) -> tuple[Filters, list[ParamProblem]]:
    """Filters read from URL parameters, and each value that was ignored, named, with a message in ``language``.

    ``params`` maps each name to all its values; ``cities`` are the known city names (matched
    without regard to case or diacritics); ``languages_taught`` the codes a ``language`` filter
    may hold (any two or three letters when None); ``today`` bounds the dates (see
    :func:`date_bounds`). Unknown parameter names are ignored silently.
    """
    # The parameters are read in this order so that the messages come in it.
    link = _LinkReader(params, language)
    _ = link.gettext
    city = _city_from(link, cities)
    topics = _topics_from(link)
    age, age_group = _age_from(link)
    date_from, date_to = _dates_from(link, today or date.today())
    modes, types = _formats_from(link)
    free_only = link.flag("free", _("The free filter {value} in the link was ignored: use 1 or 0."))
    accessible_only = link.flag("accessible", _("The accessible filter {value} in the link was ignored: use 1 or 0."))
    badge_only = link.flag("badge", _("The badge filter {value} in the link was ignored: use 1 or 0."))
    playlist = _playlist_from(link)
    taught = _language_taught_from(link, languages_taught)
    text = link.last("q")
    place, radius = _place_from(link)
    filters = Filters(
        city=city,
        topics=topics,
        age_group=age_group,
        age=age,
        free_only=free_only,
        date_from=date_from,
        date_to=date_to,
        modes=modes,
        types=types,
        language=taught,
        accessible_only=accessible_only,
        badge_only=badge_only,
        playlist=playlist,
        text=text,
        place=place,
        radius_km=radius,
    )
    return filters, [ParamProblem(name, message) for name, message in zip(link.names, link.problems, strict=True)]


def _city_from(link: _LinkReader, cities: Collection[str]) -> str:
    """``city``: one of ``cities`` (matched folded), or "" for all cities."""
    _ = link.gettext
    wanted_city = link.last("city")
    if not wanted_city:
        return ""
    by_key = {fold(c): c for c in cities}
    city = by_key.get(fold(wanted_city), "")
    if not city:
        link.problem(
            "city", _("The city {city} in the link is not on the map; showing all cities.").format(city=link.shown(wanted_city))
        )
    return city


def _topics_from(link: _LinkReader) -> tuple[str, ...]:
    """``topic``: distinct topic ids, each given as an id or a label in any UI language."""
    _ = link.gettext
    topics: list[str] = []
    for text in link.items("topic"):
        topic = topic_from_text(text) if len(text) <= MAX_VALUE_LENGTH else None
        if topic is None:
            link.problem("topic", _("The topic {topic} in the link is unknown and was ignored.").format(topic=link.shown(text)))
        elif topic not in topics:
            topics.append(topic)
    return tuple(topics)


def _age_from(link: _LinkReader) -> tuple[int | None, str]:
    """``age``: an exact age, or else an age group id (the other one None or "")."""
    _ = link.gettext
    wanted_age = link.last("age")
    if not wanted_age:
        return None, ""
    if _is_small_number(wanted_age, 3) and int(wanted_age) <= MAX_AGE:
        return int(wanted_age), ""
    if wanted_age.lower() in AGE_GROUPS_BY_ID:
        return None, wanted_age.lower()
    groups = ", ".join(AGE_GROUPS_BY_ID)
    link.problem(
        "age",
        _("The age {age} in the link was ignored: use a number from 0 to {max_age} or one of {groups}.").format(
            age=link.shown(wanted_age), max_age=MAX_AGE, groups=groups
        ),
    )
    return None, ""


def _dates_from(link: _LinkReader, today: date) -> tuple[date | None, date | None]:
    """``from`` and ``to`` within :func:`date_bounds`; an end before the start is dropped."""
    _ = link.gettext
    date_from, date_to = _day_from(link, "from", today), _day_from(link, "to", today)
    if date_to is not None and date_to < (date_from or today):
        link.problem("to", _("The end date in the link is before the start date and was ignored."))
        date_to = None
    return date_from, date_to


def _day_from(link: _LinkReader, name: str, today: date) -> date | None:
    _ = link.gettext
    text = link.last(name)
    if not text:
        return None
    earliest, latest = date_bounds(today)
    try:
        value = date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        value = None
    if value is None or not earliest <= value <= latest:
        # Translators: {name} is "from" or "to", the parameter's name in the link; {value} a quoted value.
        link.problem(
            name,
            _("The date {value} ({name}) in the link was ignored: use a date like {example}, at most {years} years away.").format(
                value=link.shown(text), name=name, example=today.isoformat(), years=MAX_YEARS_AWAY
            ),
        )
        return None
    return value


def _formats_from(link: _LinkReader) -> tuple[tuple[Mode, ...], tuple[OpportunityType, ...]]:
    """``mode`` and ``type``: distinct ids of each."""
    modes = tuple(Mode(m) for m in link.choices("mode", {m.value: m.value for m in Mode}))
    types = tuple(OpportunityType(t) for t in link.choices("type", {t.value: t.value for t in OpportunityType}))
    return modes, types


def _language_taught_from(link: _LinkReader, languages_taught: Collection[str] | None) -> str:
    """``language``: a code of ``languages_taught`` (any two or three letters when None), or ""."""
    _ = link.gettext
    taught = link.last("language").lower()
    readable = taught.isascii() and taught.isalpha() and 2 <= len(taught) <= 3
    if taught and not (readable and (languages_taught is None or taught in languages_taught)):
        link.problem(
            "language",
            _("The language {value} in the link was ignored: no opportunity is taught in it.").format(value=link.shown(taught)),
        )
        return ""
    return taught


def _playlist_from(link: _LinkReader) -> int | None:
    """``playlist``: a playlist's id (a whole number; whether it exists the page checks)."""
    wanted = link.last("playlist")
    if not wanted:
        return None
    if _is_small_number(wanted, 9) and int(wanted) > 0:
        return int(wanted)
    link.problems.append(link.gettext("The playlist {value} in the link was ignored.").format(value=link.shown(wanted)))
    return None


def _place_from(link: _LinkReader) -> tuple[str, int]:
    """``near`` (the place as typed) and ``radius`` (whole km, :data:`DEFAULT_RADIUS_KM` when unusable)."""
    _ = link.gettext
    place = link.last("near")
    wanted_radius = link.last("radius")
    if not wanted_radius:
        return place, DEFAULT_RADIUS_KM
    if _is_small_number(wanted_radius, 3) and MIN_RADIUS_KM <= int(wanted_radius) <= MAX_RADIUS_KM:
        return place, int(wanted_radius)
    link.problem(
        "radius",
        _("The radius {value} in the link was ignored: use a whole number of km from {low} to {high}.").format(
            value=link.shown(wanted_radius), low=MIN_RADIUS_KM, high=MAX_RADIUS_KM
        ),
    )
    return place, DEFAULT_RADIUS_KM


def _number(text: str) -> float | None:
    try:
        value = float(text) if len(text) <= 20 else math.nan
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def map_position_from_params(
    params: Mapping[str, Sequence[str]], *, language: str = "en"
) -> tuple[MapPosition | None, list[str]]:
    """The map view from ``lat``, ``lon`` and ``z``; all three or none, else a message."""
    _ = translator(language).gettext
    values = {name: next((v.strip() for v in reversed(params.get(name, ())) if v.strip()), "") for name in ("lat", "lon", "z")}
    if not any(values.values()):
        return None, []
    lat, lon = _number(values["lat"]), _number(values["lon"])
    zoom = int(values["z"]) if _is_small_number(values["z"], 2) else None
    if lat is None or lon is None or zoom is None or not (-85 <= lat <= 85 and -180 <= lon <= 180 and 0 <= zoom <= MAX_ZOOM):
        message = _(
            "The map position in the link was ignored: it needs lat (−85 to 85), lon (−180 to 180) and z (0 to {max_zoom})."
        )
        return None, [message.format(max_zoom=MAX_ZOOM)]
    return MapPosition(lat, lon, zoom), []


def selected_from_params(params: Mapping[str, Sequence[str]], *, language: str = "en") -> tuple[int | None, list[str]]:
    """The id of the opportunity to show in detail, or None (with a message when ``id`` is not an id)."""
    _ = translator(language).gettext
    value = next((v.strip() for v in reversed(params.get("id", ())) if v.strip()), "")
    if not value:
        return None, []
    if _is_small_number(value, 19) and 0 < int(value) <= MAX_ID:
        return int(value), []
    return None, [
        _("The opportunity {value} in the link is not a valid id and was ignored.").format(value=_shown(value, language))
    ]


def read_params(
    params: Mapping[str, Sequence[str]],
    *,
    cities: Collection[str],
    browser_language: str = "en",
    languages_taught: Collection[str] | None = None,
    today: date | None = None,
) -> ExploreParams:
    """Everything in a link to the Explore page, with the messages in the UI language chosen.

    The UI language is ``lang`` when supported, else ``browser_language`` (the best match for the
    browser's ``Accept-Language`` header: see ``ui.language.browser_language``).
    """
    wanted = next((v.strip() for v in reversed(params.get("lang", ())) if v.strip()), "")
    language = wanted.lower() if wanted.lower() in LANGUAGES else browser_language
    problems: list[str] = []
    if wanted and wanted.lower() not in LANGUAGES:
        _ = translator(language).gettext
        problems.append(
            _("The language {value} in the link is not available; use one of {options}.").format(
                value=_shown(wanted, language), options=", ".join(LANGUAGES)
            )
        )
    filters, filter_problems = filters_from_params(
        params, cities=cities, language=language, languages_taught=languages_taught, today=today
    )
    position, position_problems = map_position_from_params(params, language=language)
    selected, selected_problems = selected_from_params(params, language=language)
    return ExploreParams(
        language=language,
        filters=filters,
        selected=selected,
        position=position,
        problems=(*problems, *filter_problems, *position_problems, *selected_problems),
    )


def share_url(base_url: str, params: Mapping[str, str | Sequence[str]]) -> str:
    """``base_url`` (any query or fragment removed) with ``params`` as its query string."""
    parts = urlsplit(base_url)
    query = urlencode({k: [v] if isinstance(v, str) else list(v) for k, v in params.items()}, doseq=True)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", query, ""))
