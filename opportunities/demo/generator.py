"""Deterministic demo data: providers and opportunities in the network's sixteen cities.

Opportunities come out as rows of the import template, text exactly as a provider's spreadsheet
would hold it, so demo data goes through the same validation, geocoding and import path as real
data. Everything is drawn from ``random.Random(seed)``: the same seed gives the same data.
"""

from __future__ import annotations

import csv
import json
import math
import random
import re
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from opportunities.coverage.boundaries import load_demo_boundaries
from opportunities.db import connection, queries, schema
from opportunities.errors import NotFoundError
from opportunities.listings.importing import ImportReport, import_records
from opportunities.model import City, Provider
from opportunities.places.address_index import AddressIndex, load_files
from opportunities.places.gazetteer import Gazetteer, Place
from opportunities.places.geocoding import Geocoder
from opportunities.progress import ADDRESSES, DISTRICTS, OPPORTUNITIES, Progress, silent, stepper
from opportunities.settings import PROJECT_ROOT, Settings
from opportunities.text import fold
from opportunities.vocabulary import CURRENCY_OF_COUNTRY, TOPICS, Mode, OpportunityType, ProviderKind, topic_label

if TYPE_CHECKING:
    from opportunities.accounts.identity import Role

DEFAULT_SIZE = 400
DEFAULT_SEED = 2026
# Above this many rows, titles get a running number: it keeps duplicates out without a set of keys.
NUMBERED_ABOVE = 5000
_KM_PER_DEGREE = 111.32


# The demo's texts in Swedish, Slovenian, Polish and English (names, subjects, title patterns, intros,
# venues, prices...) are data: opportunities/demo/phrases.json, read once here.
_PHRASES: dict[str, Any] = json.loads(Path(__file__).with_name("phrases.json").read_text(encoding="utf-8"))


def _tuples(value: Any) -> Any:
    """The JSON's lists as the tuples the generator picks from (dicts kept)."""
    if isinstance(value, dict):
        return {key: _tuples(item) for key, item in value.items()}
    if isinstance(value, list):
        return tuple(_tuples(item) for item in value)
    return value


@dataclass(frozen=True, slots=True)
class DemoCity:
    """A city of the demo network and what the generator needs to write about it."""

    name: str
    country: str
    language: str  # local language, ISO 639-1
    region: str
    in_city: str  # "in <city>", inflected in the local language
    spread_km: float  # standard deviation of venue offsets from the centre
    weight: int  # relative share of the opportunities
    postcodes: tuple[str, ...]  # "postcode postal-town" that the gazetteer places near the city


CITIES: tuple[DemoCity, ...] = (
    DemoCity("Göteborg", "SE", "sv", "Västra Götaland", "i Göteborg", 4.0, 6,
             ("411 19 Göteborg", "413 01 Göteborg", "416 64 Göteborg", "421 00 Västra Frölunda",
              "422 00 Hisings Backa", "431 00 Mölndal", "433 02 Sävedalen")),
    DemoCity("Borås", "SE", "sv", "Västra Götaland", "i Borås", 2.5, 3,
             ("501 10 Borås", "503 30 Borås", "507 20 Brämhult", "507 15 Gånghester")),
    DemoCity("Trollhättan", "SE", "sv", "Västra Götaland", "i Trollhättan", 2.0, 2,
             ("461 30 Trollhättan", "461 54 Trollhättan", "461 93 Västra Tunhem")),
    DemoCity("Uddevalla", "SE", "sv", "Västra Götaland", "i Uddevalla", 1.8, 2,
             ("451 40 Uddevalla", "451 50 Uddevalla")),
    DemoCity("Bollnäs", "SE", "sv", "Gävleborg", "i Bollnäs", 1.5, 2, ("821 30 Bollnäs", "821 43 Bollnäs")),
    DemoCity("Hudiksvall", "SE", "sv", "Gävleborg", "i Hudiksvall", 1.5, 2,
             ("824 30 Hudiksvall", "824 43 Hudiksvall", "825 00 Iggesund")),
    DemoCity("Söderhamn", "SE", "sv", "Gävleborg", "i Söderhamn", 1.5, 2,
             ("826 30 Söderhamn", "826 40 Söderhamn", "826 61 Söderala")),
    DemoCity("Ljusdal", "SE", "sv", "Gävleborg", "i Ljusdal", 1.5, 2, ("827 30 Ljusdal", "827 02 Ljusdal")),
    DemoCity("Ljubljana", "SI", "sl", "Slovenija", "v Ljubljani", 3.5, 5,
             ("1000 Ljubljana", "1210 Ljubljana-Šentvid", "1260 Ljubljana-Polje", "1261 Ljubljana-Dobrunje")),
    DemoCity("Kranj", "SI", "sl", "Slovenija", "v Kranju", 2.0, 3, ("4000 Kranj", "4202 Naklo", "4208 Šenčur")),
    DemoCity("Maribor", "SI", "sl", "Slovenija", "v Mariboru", 3.0, 4,
             ("2000 Maribor", "2351 Kamnica", "2341 Limbuš", "2229 Malečnik")),
    DemoCity("Novo mesto", "SI", "sl", "Slovenija", "v Novem mestu", 1.8, 2,
             ("8000 Novo mesto", "8322 Stopiče", "8321 Brusnice")),
    DemoCity("Warszawa", "PL", "pl", "Mazowsze", "w Warszawie", 4.0, 6,
             ("00-590 Warszawa", "00-844 Warszawa", "01-201 Warszawa", "02-516 Warszawa",
              "03-450 Warszawa", "04-028 Warszawa", "01-864 Warszawa")),
    DemoCity("Płock", "PL", "pl", "Mazowsze", "w Płocku", 2.5, 3, ("09-404 Płock", "09-407 Płock", "09-409 Płock")),
    DemoCity("Radom", "PL", "pl", "Mazowsze", "w Radomiu", 2.5, 3,
             ("26-601 Radom", "26-604 Radom", "26-610 Radom", "26-612 Radom")),
    DemoCity("Siedlce", "PL", "pl", "Mazowsze", "w Siedlcach", 2.0, 2, ("08-110 Siedlce", "08-103 Nowe Iganie")),
)  # fmt: skip
REGIONS: tuple[str, ...] = tuple(dict.fromkeys(c.region for c in CITIES))

# --- providers --------------------------------------------------------------------------

# kind -> name templates per local language; {city} and {in_city} are filled in.
_PROVIDER_NAMES: dict[str, dict[ProviderKind, tuple[str, ...]]] = {
    language: {ProviderKind(kind): tuple(names) for kind, names in kinds.items()}
    for language, kinds in _PHRASES["provider_names"].items()
}
_EMAIL_NAMES = {"sv": "info", "sl": "info", "pl": "kontakt"}


def slug(text: str) -> str:
    """A DNS-safe label for ``text``: ``"Mladinski center Kranj"`` → ``"mladinski-center-kranj"``."""
    # fold() keeps letters of every script and a word's trailing # or +; a DNS label cannot.
    return "-".join(re.findall(r"[0-9a-z]+", fold(text)))[:60].strip("-")


def demo_providers(seed: int = DEFAULT_SEED) -> list[Provider]:
    """Two or three providers of every kind in every demo city, with example.org websites."""
    rng = random.Random(seed)
    found: list[Provider] = []
    for city in CITIES:
        for kind, templates in _PROVIDER_NAMES[city.language].items():
            # The first template is the town's flagship (its library, its youth centre): always there.
            for template in (templates[0], *rng.sample(templates[1:], rng.choice((1, 2)))):
                name = template.format(city=city.name, in_city=city.in_city)
                domain = f"{slug(name)}.example.org"
                found.append(Provider(name=name, kind=kind, city=city.name, website=f"https://{domain}",
                                      contact_email=f"{_EMAIL_NAMES[city.language]}@{domain}"))  # fmt: skip
    return found


# --- opportunity texts ------------------------------------------------------------------

# Opportunity types, short: the text tables below are long enough.
_W, _CO, _E, _CL, _CA = (
    t.value
    for t in (OpportunityType.WORKSHOP, OpportunityType.COURSE, OpportunityType.EVENT, OpportunityType.CLUB, OpportunityType.CAMP)
)
_V, _I, _M, _CP, _EX = (
    t.value
    for t in (
        OpportunityType.VOLUNTEERING,
        OpportunityType.INTERNSHIP,
        OpportunityType.MENTORING,
        OpportunityType.COMPETITION,
        OpportunityType.EXHIBITION,
    )
)

# Subjects per topic: (form used inside sentences, form used at the start of a title). Slovenian
# and Polish sentence forms are genitive; the templates below are written for that case.
_SUBJECTS: dict[str, dict[str, tuple[tuple[str, str], ...]]] = _tuples(_PHRASES["subjects"])

# Title patterns per type: {s} the sentence form of a subject, {n} its title form.
_TITLE_PATTERNS: dict[str, dict[str, tuple[str, ...]]] = _tuples(_PHRASES["title_patterns"])

# Hand-written titles per topic, each with its type; described with the topic's first subject.
_SPECIAL_TITLES: dict[str, dict[str, tuple[tuple[str, str], ...]]] = _tuples(_PHRASES["special_titles"])

# The first sentence of a description, per type; {s} is the sentence form of the subject.
_INTROS: dict[str, dict[str, str]] = _tuples(_PHRASES["intros"])
# (closed range, open-ended) audience sentences.
_AUDIENCE = _tuples(_PHRASES["audience"])
_EXTRAS = _tuples(_PHRASES["extras"])
_MODE_NOTES = _tuples(_PHRASES["mode_notes"])
_ACCESSIBILITY = _tuples(_PHRASES["accessibility"])
_VENUES = _tuples(_PHRASES["venues"])
_STREETS = _tuples(_PHRASES["streets"])
_REGISTER_PATHS = {"sv": "anmalan", "sl": "prijava", "pl": "zapisy", "en": "register"}
# How a spreadsheet says "free": all are accepted by validation.
_FREE = _tuples(_PHRASES["free"])
# (regular, camp) prices in the country's currency, as typed.
_PRICES = _tuples(_PHRASES["prices"])
_LANGUAGES = _tuples(_PHRASES["languages"])
_ENGLISH_LANGUAGES = _tuples(_PHRASES["english_languages"])

# (age_min, age_max) bands; an empty age_max is open-ended.
_CHILDREN = (("6", "9"), ("6", "12"), ("8", "12"), ("10", "12"), ("7", "11"))
_TEENS = (("13", "15"), ("13", "17"), ("14", "17"), ("15", "17"), ("12", "16"))
_YOUNG_ADULTS = (("18", "25"), ("18", "30"), ("16", "25"), ("18", "29"), ("20", "30"))
_OPEN = (("16", ""), ("18", ""), ("25", ""), ("31", ""), ("13", ""))
_AGE_BANDS: dict[str, tuple[tuple[str, str], ...]] = {
    "any": _CHILDREN * 2 + _TEENS * 3 + _YOUNG_ADULTS * 2 + _OPEN,
    "young": _CHILDREN * 2 + _TEENS * 2,
    "older": _TEENS[3:] + _YOUNG_ADULTS * 2 + _OPEN,
}
_BAND_OF_TYPE = {_CA: "young", _I: "older", _V: "older", _M: "older"}
_GUARANTEED_BANDS = (_CHILDREN[1], _TEENS[1], _YOUNG_ADULTS[1], _OPEN[3], _OPEN[0])

_TYPE_WEIGHTS = {_W: 20, _CO: 14, _CL: 16, _E: 10, _CA: 6, _V: 7, _I: 5, _M: 5, _CP: 6, _EX: 5}
_TYPE_POOL: tuple[str, ...] = tuple(t for t, w in _TYPE_WEIGHTS.items() for _ in range(w))
_IN_PERSON, _ONLINE, _HYBRID = Mode.IN_PERSON.value, Mode.ONLINE.value, Mode.HYBRID.value
_MODE_POOL = (_IN_PERSON,) * 14 + (_ONLINE,) * 3 + (_HYBRID,) * 3
# Chance that an opportunity of this type is a weekly series (clubs always are).
_WEEKLY_SHARE = {_CL: 1.0, _CO: 0.6, _M: 0.6, _V: 0.4, _W: 0.1}
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA")
_SCHEDULES: tuple[tuple[str, int], ...] = tuple(
    [(f"FREQ=WEEKLY;BYDAY={d}", i) for i, d in enumerate(_WEEKDAYS[:5]) for _ in range(3)]
    + [
        ("FREQ=WEEKLY;BYDAY=SA", 5),
        ("FREQ=WEEKLY;BYDAY=TU,TH", 1),
        ("FREQ=WEEKLY;BYDAY=MO,WE", 0),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TH", 3),
    ]
)  # (rule, weekday of the first session)
_CLUB_TIMES = ("15:30", "16:00", "16:30", "17:00", "17:30", "18:00", "18:30")
_DAY_TIMES = (("09:00", "12:00"), ("10:00", "13:00"), ("13:00", "16:00"), ("14:00", "16:00"),
              ("16:00", "18:00"), ("17:00", "19:00"), ("17:30", "19:30"), ("18:00", "20:30"))  # fmt: skip
_ENGLISH_SHARE = 0.12  # share of opportunities written in English


@dataclass(frozen=True, slots=True)
class _Title:
    text: str
    intro: str  # the description's first sentence


def _titles(language: str, topic: str, kind: str) -> tuple[_Title, ...]:
    """Every title for a language, topic and type; hand-written ones count three times."""
    subjects = _SUBJECTS[language][topic]
    intro = _INTROS[language][kind]
    found = [_Title(p.format(s=s, n=n), intro.format(s=s)) for p in _TITLE_PATTERNS[language][kind] for s, n in subjects]
    for special_kind, text in _SPECIAL_TITLES[language][topic]:
        if special_kind == kind:
            found += [_Title(text, intro.format(s=subjects[0][0]))] * 3
    return tuple(found)


@lru_cache(maxsize=1)
def _title_table() -> dict[tuple[str, str, str], tuple[_Title, ...]]:
    return {(lang, topic, kind): _titles(lang, topic, kind) for lang in _SUBJECTS for topic in TOPICS for kind in _TYPE_WEIGHTS}


# --- rows -------------------------------------------------------------------------------


def city_centres(gazetteer: Gazetteer) -> dict[str, Place]:
    """The gazetteer place of every demo city, by name."""
    centres = {}
    for city in CITIES:
        place = gazetteer.place(city.name, city.country)
        if place is None:
            raise LookupError(f"the gazetteer does not know {city.name}, {city.country}")
        centres[city.name] = place
    return centres


@dataclass(frozen=True, slots=True)
class _Wish:
    """What a guaranteed row must be; None leaves the choice to chance."""

    city: int
    topic: str | None = None
    kind: str | None = None
    mode: str | None = None
    band: tuple[str, str] | None = None
    free: bool | None = None
    days: tuple[int, int] | None = None  # start between today + these many days
    language: str | None = None
    placed: bool = False  # coordinates, never an address or the city alone


class _RowGenerator:
    """Draws rows from precomputed tables; one random source for everything."""

    def __init__(self, seed: int, today: date, centres: dict[str, Place]) -> None:
        self.rng = random.Random(seed)
        self.today = today
        # (latitude, longitude, km per degree of longitude) of each city centre
        self.centres = [(centres[c.name].latitude, centres[c.name].longitude,
                         _KM_PER_DEGREE * math.cos(math.radians(centres[c.name].latitude))) for c in CITIES]  # fmt: skip
        self.labels = {(t, c.language): topic_label(t, c.language) for t in TOPICS for c in CITIES}
        providers = demo_providers(seed)
        self.providers = [[p for p in providers if p.city == c.name] for c in CITIES]
        self.city_pool = tuple(i for i, c in enumerate(CITIES) for _ in range(c.weight))
        self.titles = _title_table()
        self.days = [today + timedelta(days=d) for d in range(-60, 181)]
        self.day_texts = [d.isoformat() for d in self.days]
        self.other_topics = {t: tuple(o for o in TOPICS if o != t) for t in TOPICS}
        self.audiences: dict[tuple[str, str, str], str] = {}
        # Its own random source: the other cities' rows stay as they were without real addresses.
        self.address_rng = random.Random(seed + 1)
        self.real_addresses = real_addresses()

    def pick(self, items: tuple[str, ...] | list[str]) -> str:
        return items[int(self.rng.random() * len(items))]

    def row(self, wish: _Wish | None = None) -> tuple[dict[str, str], str]:
        """One row and the place part of its duplicate key."""
        rng, r = self.rng, self.rng.random
        ci = wish.city if wish else self.city_pool[int(r() * len(self.city_pool))]
        city = CITIES[ci]
        local = city.language
        language = (wish.language if wish else None) or ("en" if r() < _ENGLISH_SHARE else local)
        topic = (wish.topic if wish else None) or TOPICS[int(r() * len(TOPICS))]
        kind = (wish.kind if wish else None) or _TYPE_POOL[int(r() * len(_TYPE_POOL))]
        choices = self.titles[language, topic, kind]
        title = choices[int(r() * len(choices))]
        providers = self.providers[ci]
        provider = providers[int(r() * len(providers))]
        mode = (wish.mode if wish else None) or _MODE_POOL[int(r() * len(_MODE_POOL))]
        bands = _AGE_BANDS[_BAND_OF_TYPE.get(kind, "any")]
        age_min, age_max = (wish.band if wish else None) or bands[int(r() * len(bands))]

        start, end, schedule = self._when(kind, wish.days if wish else None)

        free = wish.free if wish and wish.free is not None else r() < 0.55
        if free:
            cost, currency = self.pick(_FREE[language]), ""
        else:
            regular, camp = _PRICES[city.country]
            cost, currency = self.pick(camp if kind == _CA else regular), CURRENCY_OF_COUNTRY[city.country]

        topics = topic
        roll = r()
        if roll < 0.15:
            topics = self.labels[topic, local]
        elif roll < 0.35:
            others = self.other_topics[topic]
            topics = f"{topic}; {others[int(r() * len(others))]}"
        languages = self.pick(_ENGLISH_LANGUAGES[local] if language == "en" else _LANGUAGES[local])

        audience = self.audiences.get((language, age_min, age_max))
        if audience is None:
            audience = _AUDIENCE[language][0 if age_max else 1].format(a=age_min, b=age_max)
            self.audiences[language, age_min, age_max] = audience
        description = f"{title.intro} {audience} {self.pick(_EXTRAS[language])}"
        venue = address = latitude = longitude = accessibility = ""
        if mode == _ONLINE:
            place = "online"
            description += " " + _MODE_NOTES[language][0]
        else:
            if mode == _HYBRID:
                description += " " + _MODE_NOTES[language][1]
            venue = self.pick(_VENUES[local])
            if r() < 0.3:
                accessibility = self.pick(_ACCESSIBILITY[local])
            roll = r()
            real = self.real_addresses.get(city.name)
            if real and not (wish and wish.placed) and roll < 0.92:
                # A real public institution's address, without coordinates: the address step places it.
                address = real[int(self.address_rng.random() * len(real))]
                place = address
            elif (wish and wish.placed) or roll < 0.75:
                lat0, lon0, km_per_lon = self.centres[ci]
                limit = 2.5 * city.spread_km  # no venue in the next town
                dy = max(-limit, min(limit, rng.gauss(0.0, city.spread_km)))
                dx = max(-limit, min(limit, rng.gauss(0.0, city.spread_km)))
                lat = round(lat0 + dy / _KM_PER_DEGREE, 5)
                lon = round(lon0 + dx / km_per_lon, 5)
                latitude, longitude = str(lat), str(lon)
                place = f"{lat:.4f},{lon:.4f}"
            else:
                place = "centre"  # a postcode or the city alone: both may land on the centre
                if roll < 0.92:
                    address = f"{self.pick(_STREETS[local])} {1 + int(r() * 60)}, {self.pick(city.postcodes)}"
        row = {
            "title": title.text, "description": description, "provider": provider.name, "city": city.name,
            "country": city.country, "address": address, "latitude": latitude, "longitude": longitude,
            "topics": topics, "age_min": age_min, "age_max": age_max, "mode": mode, "type": kind,
            "start": start, "end": end, "schedule": schedule, "cost": cost, "currency": currency,
            "languages": languages, "url": f"{provider.website}/{_REGISTER_PATHS[language]}/{1000 + int(r() * 9000)}",
            "contact_email": provider.contact_email if r() < 0.9 else "", "venue": venue,
            "accessibility": accessibility,
        }  # fmt: skip
        return row, place

    def _when(self, kind: str, days: tuple[int, int] | None) -> tuple[str, str, str]:
        """(start, end, schedule) as text."""
        r = self.rng.random
        low, high = (days[0] + 60, days[1] + 60) if days else (0, len(self.days) - 1)
        index = low + int(r() * (high - low + 1))
        if r() < _WEEKLY_SHARE.get(kind, 0.0):
            rule, weekday = _SCHEDULES[int(r() * len(_SCHEDULES))]
            day = self.days[index]
            first = day + timedelta(days=(weekday - day.weekday()) % 7)
            last = first + timedelta(weeks=6 + int(r() * 15))
            return f"{first.isoformat()} {self.pick(_CLUB_TIMES)}", last.isoformat(), rule
        day_text = self.day_texts[index]
        if kind == _CA:
            return day_text, (self.days[index] + timedelta(days=2 + int(r() * 3))).isoformat(), ""
        if kind in (_EX, _I):
            length = 14 + int(r() * 47) if kind == _EX else 28 + int(r() * 57)
            return day_text, (self.days[index] + timedelta(days=length)).isoformat(), ""
        begins, ends = _DAY_TIMES[int(r() * len(_DAY_TIMES))]
        if kind == _CO:  # an intensive course: a week of days
            return f"{day_text} {begins}", f"{(self.days[index] + timedelta(days=4)).isoformat()} {ends}", ""
        return f"{day_text} {begins}", f"{day_text} {ends}", ""


def _wishes(rng: random.Random) -> list[_Wish]:
    """Rows the demo must have: every topic in every region, every type, mode and age band,
    and free digital-skills workshops for teens in Kranj."""
    wishes = []
    types = list(_TYPE_WEIGHTS)
    modes = [m.value for m in Mode]
    n = 0
    for region in REGIONS:
        members = [i for i, c in enumerate(CITIES) if c.region == region]
        for topic in TOPICS:
            wishes.append(_Wish(city=members[n % len(members)], topic=topic, kind=types[n % len(types)],
                                mode=modes[n % len(modes)], band=_GUARANTEED_BANDS[n % len(_GUARANTEED_BANDS)],
                                free=n % 2 == 0))  # fmt: skip
            n += 1
    kranj = next(i for i, c in enumerate(CITIES) if c.name == "Kranj")
    for band in (("13", "17"), ("14", "18"), ("15", "17"), ("12", "16"), ("13", "17")):
        wishes.append(_Wish(city=kranj, topic="digital-skills", kind=_W, mode=_IN_PERSON, band=band,
                            free=True, days=(3, 75), language="sl", placed=True))  # fmt: skip
    rng.shuffle(wishes)
    return wishes


def _generate(
    size: int, seed: int, today: date, centres: dict[str, Place], *, wishes: bool, numbered: bool
) -> Iterator[dict[str, str]]:
    generator = _RowGenerator(seed, today, centres)
    planned = _wishes(generator.rng) if wishes else []
    seen: set[tuple[str, str, str, str]] = set()
    for n in range(size):
        wish = planned[n] if n < len(planned) else None
        row, place = generator.row(wish)
        if numbered:
            row["title"] = f"{row['title']} #{n + 1}"
        else:
            key = (row["provider"], row["title"], row["start"], place)
            while key in seen:  # same provider, title, start and place: draw again
                row, place = generator.row(wish)
                key = (row["provider"], row["title"], row["start"], place)
            seen.add(key)
        yield row


def _default_gazetteer(cache_dir: Path | None) -> Gazetteer:
    from opportunities.settings import load_settings

    return Gazetteer.open(cache_dir or load_settings().cache_dir)


def demo_records(size: int = DEFAULT_SIZE, seed: int = DEFAULT_SEED, *, today: date,
                 cache_dir: Path | None = None) -> list[dict[str, str]]:  # fmt: skip
    """Demo rows in the import template (column → text), every one valid and distinct.

    Covers every topic in every region, every type, mode and age group, and a few free
    digital-skills workshops for teens in Kranj. ``cache_dir`` holds the gazetteer index
    (default: the configured cache).
    """
    centres = city_centres(_default_gazetteer(cache_dir))
    return list(_generate(size, seed, today, centres, wishes=True, numbered=False))


def synthetic_records(size: int, seed: int = DEFAULT_SEED, *, today: date, cache_dir: Path | None = None) -> list[dict[str, str]]:
    """``size`` distinct rows from the demo generator, for benchmarks; see :func:`iter_synthetic_records`."""
    return list(iter_synthetic_records(size, seed, today=today, cache_dir=cache_dir))


def iter_synthetic_records(
    size: int, seed: int = DEFAULT_SEED, *, today: date, cache_dir: Path | None = None
) -> Iterator[dict[str, str]]:
    """``size`` distinct rows from the demo generator, lazily: millions fit in constant memory.

    Above :data:`NUMBERED_ABOVE` rows every title carries a running number (``… #1234``),
    which keeps duplicates out without remembering keys.
    """
    centres = city_centres(_default_gazetteer(cache_dir))
    return _generate(size, seed, today, centres, wishes=False, numbered=size > NUMBERED_ABOVE)


# --- real addresses ------------------------------------------------------------------------

# Public institutions' addresses (schools, kindergartens, health sites) with their official points,
# for the demo's venues in these cities; sources and licences in docs/data-and-licences.md.
REAL_ADDRESS_DIR = PROJECT_ROOT / "data" / "demo-addresses"
REAL_ADDRESS_FILES = {
    "Warszawa": "warszawa_addresses.csv",
    "Ljubljana": "ljubljana_addresses.csv",
    "Maribor": "maribor_addresses.csv",
    "Kranj": "kranj_addresses.csv",
}


@lru_cache(maxsize=1)
def real_addresses() -> dict[str, tuple[str, ...]]:
    """City name → its real addresses as a provider writes them: ``"Koroška cesta 13, 4000 Kranj"``."""
    found = {}
    for city, name in REAL_ADDRESS_FILES.items():
        with (REAL_ADDRESS_DIR / name).open(encoding="utf-8", newline="") as fh:
            found[city] = tuple(f"{r['street']} {r['housenumber']}, {r['postcode']} {r['city']}" for r in csv.DictReader(fh))
    return found


def load_demo_addresses(address_dir: Path, gazetteer: Gazetteer) -> AddressIndex | None:
    """Load the demo's real address files into the address index in ``address_dir`` (skipped when
    unchanged since the last time) and open it."""
    files = [REAL_ADDRESS_DIR / name for name in REAL_ADDRESS_FILES.values()]
    load_files(files, address_dir, gazetteer)
    return AddressIndex.open(address_dir)


def load_demo(engine: Engine, geocoder: Geocoder, *, size: int = DEFAULT_SIZE, seed: int = DEFAULT_SEED,
              today: date | None = None, address_dir: Path | None = None,
              progress: Progress | None = None) -> ImportReport:  # fmt: skip
    """Store the demo cities and providers, then import and publish ``size`` demo opportunities,
    telling ``progress`` each step.

    The venues in the cities of :data:`REAL_ADDRESS_FILES` are real addresses, located through the
    address index: the demo's files are loaded into the one in ``address_dir`` (for the app's
    later searches too), or, when None, into a temporary one used for this load only.
    """
    if address_dir is None:
        with tempfile.TemporaryDirectory(prefix="demo-addresses-") as folder:
            return load_demo(engine, geocoder, size=size, seed=seed, today=today, address_dir=Path(folder), progress=progress)
    tell = progress or silent
    tell(ADDRESSES, 0, 0)
    geocoder = geocoder.with_addresses(load_demo_addresses(address_dir, geocoder.gazetteer))
    tell(DISTRICTS, 0, 0)
    centres = city_centres(geocoder.gazetteer)
    with connection.writing(engine) as conn:
        city_ids = {}
        for city in CITIES:
            place = centres[city.name]
            city_ids[city.name] = queries.ensure_city(conn, City(
                name=city.name, country=city.country, latitude=place.latitude, longitude=place.longitude,
                timezone=place.timezone, geonameid=place.geonameid))  # fmt: skip
        for provider in demo_providers(seed):
            queries.ensure_provider(conn, provider, city_ids[provider.city])
    load_demo_boundaries(engine, city_ids)  # the cities' real districts, with population where known
    tell(OPPORTUNITIES, 0, size)
    records = list(_generate(size, seed, today or date.today(), centres, wishes=True, numbered=False))
    return import_records(engine, records, geocoder, publish=True, progress=stepper(progress, OPPORTUNITIES))


# --- demo accounts -------------------------------------------------------------------------

# RFC 2606 reserves .example: no one can own a mailbox there, so no demo account is anyone's.
DEMO_EMAIL_DOMAIN = "demo.example"
DEMO_LEAD_CITY = "Warszawa"
DEMO_PROVIDER_CITY = "Ljubljana"


@dataclass(frozen=True)
class DemoAccount:
    """An account the demo made, with the password it was given (shown once, stored only hashed)."""

    email: str
    role: Role
    password: str
    scope: str  # what it may act on: "every city", a city, an organisation and its city


def is_demo_email(email: str) -> bool:
    return email.rpartition("@")[2] == DEMO_EMAIL_DOMAIN


def other_accounts(engine: Engine) -> list[str]:
    """The email addresses of the accounts in the database the demo did not make (none when it has
    no accounts table yet): ``demo`` would erase them, so it refuses to run."""
    from sqlalchemy import inspect, select

    if not inspect(engine).has_table(schema.users.name):
        return []
    with engine.connect() as conn:
        emails = conn.execute(select(schema.users.c.email).order_by(schema.users.c.id)).scalars()
        return [e for e in emails if not is_demo_email(e)]


def add_demo_accounts(engine: Engine, settings: Settings, *, now: datetime) -> list[DemoAccount]:
    """One account per role, each with a new random password: an admin, the city lead of
    :data:`DEMO_LEAD_CITY` and a provider of the first demo organisation in :data:`DEMO_PROVIDER_CITY`.

    Needs the demo's cities and providers (:func:`load_demo`). The passwords are returned once,
    to be shown to whoever ran the demo; the database keeps only their Argon2 hashes.
    """
    from sqlalchemy import select

    from opportunities.accounts.accounts import add_user
    from opportunities.accounts.audit import COMMAND_LINE
    from opportunities.accounts.identity import Role

    made = []
    with connection.writing(engine) as conn:
        lead_city = queries.find_city(conn, DEMO_LEAD_CITY)
        provider_city = queries.find_city(conn, DEMO_PROVIDER_CITY)
        if lead_city is None or lead_city.id is None or provider_city is None or provider_city.id is None:
            raise NotFoundError(f"the demo cities {DEMO_LEAD_CITY} and {DEMO_PROVIDER_CITY} are not in the database")
        organisation = conn.execute(
            select(schema.providers.c.id, schema.providers.c.name)
            .where(schema.providers.c.city_id == provider_city.id)
            .order_by(schema.providers.c.id)
        ).first()
        if organisation is None:
            raise NotFoundError(f"no demo organisation in {DEMO_PROVIDER_CITY}")
        wanted: tuple[tuple[str, Role, str, int | None, tuple[int, ...]], ...] = (
            ("admin", Role.ADMIN, "every city", None, ()),
            (f"lead.{slug(DEMO_LEAD_CITY)}", Role.CITY_LEAD, DEMO_LEAD_CITY, None, (lead_city.id,)),
            (f"provider.{slug(DEMO_PROVIDER_CITY)}", Role.PROVIDER, f"{organisation.name} ({DEMO_PROVIDER_CITY})",
             int(organisation.id), ()),
        )  # fmt: skip
        for local, role, scope, organisation_id, city_ids in wanted:
            email, password = f"{local}@{DEMO_EMAIL_DOMAIN}", secrets.token_urlsafe(12)  # 96 random bits
            add_user(conn, email, role=role, password=password, settings=settings, now=now,
                     name=f"Demo {role.value.replace('_', ' ')}", organisation_id=organisation_id, city_ids=city_ids,
                     actor_label=COMMAND_LINE)  # fmt: skip
            made.append(DemoAccount(email, role, password, scope))
    return made


# The demo's badges: one for each of the demo provider's first activities (then other activities
# of its city, when it has too few), and a playlist of them.
DEMO_BADGES = 3
_DEMO_BADGE_TEXTS = {
    "en": (
        "Took part: {title}",
        "Awarded for taking part in “{title}”.",
        "Take part in the activity; the organiser gives out the claim code.",
    ),
    "sv": ("Deltog: {title}", "Ges för deltagande i ”{title}”.", "Delta i aktiviteten; arrangören delar ut koden."),
    "sl": ("Sodeloval/-a: {title}", "Podeljeno za sodelovanje v »{title}«.", "Sodeluj v dejavnosti; organizator razdeli kodo."),
    "pl": ("Udział: {title}", "Przyznawana za udział w „{title}”.", "Weź udział w zajęciach; organizator rozdaje kod."),
}
_DEMO_PLAYLIST_TEXTS = {
    "en": (
        "Explorer of {city}",
        "Earned with any two of the badges of {city}'s demo activities.",
        "Earn two of the playlist's badges.",
    ),
    "sv": ("Upptäckare i {city}", "Ges för två av märkena från demoaktiviteterna i {city}.", "Ta två av spellistans märken."),
    "sl": (
        "Raziskovalec mesta {city}",
        "Za kateri koli dve znački demo dejavnosti v mestu {city}.",
        "Pridobi dve znački s seznama.",
    ),
    "pl": ("Odkrywca: {city}", "Za dowolne dwie odznaki zajęć demonstracyjnych w {city}.", "Zdobądź dwie odznaki z listy."),
}


def add_demo_badges(engine: Engine, *, now: datetime) -> int:
    """Badges for the first :data:`DEMO_BADGES` published activities of the demo provider's
    organisation (topped up from other organisations of its city), published, and a playlist ("any two of them") in its city, made as the demo admin
    (:func:`add_demo_accounts` first). Returns how many badges it made (0 when there is no room)."""
    from sqlalchemy import select

    from opportunities.accounts.accounts import find_user
    from opportunities.badges import achievements, playlists
    from opportunities.vocabulary import Status

    with connection.writing(engine) as conn:
        admin = find_user(conn, f"admin@{DEMO_EMAIL_DOMAIN}")
        city = queries.find_city(conn, DEMO_PROVIDER_CITY)
        if admin is None or city is None or city.id is None:
            return 0
        organisation = conn.execute(
            select(schema.providers.c.id).where(schema.providers.c.city_id == city.id).order_by(schema.providers.c.id)
        ).scalar()
        chosen = conn.execute(
            select(schema.opportunities.c.id, schema.opportunities.c.title)
            .where(schema.opportunities.c.city_id == city.id, schema.opportunities.c.status == Status.PUBLISHED.value)
            .order_by(schema.opportunities.c.provider_id != organisation, schema.opportunities.c.id)
            .limit(DEMO_BADGES)
        ).all()  # fmt: skip
        made = []
        for opportunity_id, title in chosen:
            short = title if len(title) <= 60 else title[:59] + "…"
            texts = {lang: {"name": n.format(title=short), "description": d.format(title=short), "criteria": c}
                     for lang, (n, d, c) in _DEMO_BADGE_TEXTS.items()}  # fmt: skip
            badge = achievements.define_badge(conn, admin, int(opportunity_id), texts=texts, now=now)
            if badge.status is not Status.PUBLISHED:
                badge = achievements.review_badge(conn, admin, badge.id, approve=True, now=now)
            made.append(badge.id)
        if len(made) >= 2:
            texts = {lang: {"name": n.format(city=city.name), "description": d.format(city=city.name), "criteria": c}
                     for lang, (n, d, c) in _DEMO_PLAYLIST_TEXTS.items()}  # fmt: skip
            playlists.create_playlist(
                conn, admin, city_id=city.id, texts=texts, members=made, rule=playlists.Rule.any_n(2), now=now
            )
    return len(made)
