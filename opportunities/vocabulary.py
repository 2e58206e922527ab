"""Controlled vocabularies: topics, types, modes, statuses, age groups, provider kinds.

Ids are stable (stored in the database, used in URLs); labels are for people and exist in every
supported UI language (``en``, ``sv``, ``sl``, ``pl``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from opportunities.text import fold

LANGUAGES: tuple[str, ...] = ("en", "sv", "sl", "pl")
# The countries of the network's cities (the submission form offers these), each city's currency,
# and the languages an activity is held in that the form offers first (any ISO 639-1 code works
# in an import).
COUNTRIES: tuple[str, ...] = ("SE", "SI", "PL")
CURRENCY_OF_COUNTRY: dict[str, str] = {"SE": "SEK", "SI": "EUR", "PL": "PLN"}
CURRENCIES: tuple[str, ...] = tuple(dict.fromkeys(CURRENCY_OF_COUNTRY.values()))
TAUGHT_LANGUAGES: tuple[str, ...] = (
    "sv", "sl", "pl", "en", "de", "fr", "es", "it", "uk", "ru", "ar", "fa", "so", "ti", "tr", "hr", "bs", "sr",
    "hu", "cs", "sk", "fi", "no", "da", "ro", "lt", "lv", "et",
)  # fmt: skip


class Mode(StrEnum):
    IN_PERSON = "in-person"
    ONLINE = "online"
    HYBRID = "hybrid"


class OpportunityType(StrEnum):
    WORKSHOP = "workshop"
    COURSE = "course"
    EVENT = "event"
    CLUB = "club"
    CAMP = "camp"
    VOLUNTEERING = "volunteering"
    INTERNSHIP = "internship"
    MENTORING = "mentoring"
    COMPETITION = "competition"
    EXHIBITION = "exhibition"


class Status(StrEnum):
    DRAFT = "draft"
    PENDING = "pending"
    PUBLISHED = "published"
    REJECTED = "rejected"
    ARCHIVED = "archived"


class Precision(StrEnum):
    """How a location was found, from the most to the least exact."""

    PROVIDED = "provided"  # coordinates given by the provider
    ADDRESS = "address"  # street address: the address index's house number, or the online geocoder
    STREET = "street"  # on the street: between its nearest house numbers, or its middle (address index)
    POSTCODE = "postcode"  # centre of the postcode area in the address
    LOCALITY = "locality"  # centre of a named place (village, district) in the address
    CITY = "city"  # centre of the opportunity's city: nothing finer was found


# A place is drawn as an exact pin only when it is known to within this many metres; anything vaguer
# (a postcode area, a town centre, coordinates given to two decimals) is drawn as an approximate area.
PIN_MAX_UNCERTAINTY_M = 300
# Locations stored before uncertainties were recorded: approximate unless found from coordinates
# or a street address.
APPROXIMATE_PRECISIONS = frozenset({Precision.POSTCODE, Precision.LOCALITY, Precision.CITY})


def is_approximate(precision: Precision | str | None, uncertainty_m: int | None) -> bool:
    """True when a location is not known to within PIN_MAX_UNCERTAINTY_M (by its uncertainty, or
    by its precision when the uncertainty is unknown): it must not be drawn as an exact pin."""
    if uncertainty_m is not None:
        return uncertainty_m > PIN_MAX_UNCERTAINTY_M
    return precision in APPROXIMATE_PRECISIONS


class ProviderKind(StrEnum):
    SCHOOL = "school"
    LIBRARY = "library"
    NGO = "ngo"
    YOUTH_CENTRE = "youth-centre"
    MUNICIPALITY = "municipality"
    UNIVERSITY = "university"
    COMPANY = "company"
    OTHER = "other"


# id -> (en, sv, sl, pl)
TOPIC_LABELS: dict[str, tuple[str, str, str, str]] = {
    "arts-culture": ("Arts and culture", "Konst och kultur", "Umetnost in kultura", "Sztuka i kultura"),
    "digital-skills": ("Digital skills", "Digitala färdigheter", "Digitalne spretnosti", "Umiejętności cyfrowe"),
    "media-literacy": ("Media literacy", "Mediekunnighet", "Medijska pismenost", "Edukacja medialna"),
    "science-technology": (
        "Science and technology",
        "Naturvetenskap och teknik",
        "Znanost in tehnologija",
        "Nauka i technologia",
    ),
    "languages": ("Languages", "Språk", "Jeziki", "Języki"),
    "entrepreneurship": ("Entrepreneurship", "Entreprenörskap", "Podjetništvo", "Przedsiębiorczość"),
    "sustainability": ("Sustainability", "Hållbarhet", "Trajnostni razvoj", "Zrównoważony rozwój"),
    "citizenship": ("Citizenship", "Medborgarskap", "Državljanstvo", "Obywatelstwo"),
    "inclusion": ("Inclusion", "Inkludering", "Vključevanje", "Włączenie społeczne"),
    "wellbeing": ("Wellbeing", "Välbefinnande", "Dobro počutje", "Dobrostan"),
    "sport-outdoors": ("Sport and outdoors", "Idrott och friluftsliv", "Šport in narava", "Sport i rekreacja"),
    "careers": ("Careers", "Karriär", "Kariera", "Kariera zawodowa"),
    "international": ("International", "Internationellt", "Mednarodno", "Międzynarodowe"),
    "study": ("Study", "Studier", "Učenje", "Nauka szkolna"),
}
TOPICS: tuple[str, ...] = tuple(TOPIC_LABELS)


@dataclass(frozen=True)
class AgeGroup:
    """A named age band used by filters; ``age_max`` None means open-ended."""

    id: str
    age_min: int
    age_max: int | None
    labels: tuple[str, str, str, str]

    def overlaps(self, age_min: int, age_max: int | None) -> bool:
        """True when an opportunity for ``age_min``–``age_max`` is open to someone in this group."""
        upper_ok = self.age_max is None or age_min <= self.age_max
        lower_ok = age_max is None or age_max >= self.age_min
        return upper_ok and lower_ok


AGE_GROUPS: tuple[AgeGroup, ...] = (
    AgeGroup("children", 6, 12, ("Children 6–12", "Barn 6–12", "Otroci 6–12", "Dzieci 6–12")),
    AgeGroup("teens", 13, 17, ("Teens 13–17", "Tonåringar 13–17", "Najstniki 13–17", "Nastolatki 13–17")),
    AgeGroup("young-adults", 18, 30, ("Young adults 18–30", "Unga vuxna 18–30", "Mladi odrasli 18–30", "Młodzi dorośli 18–30")),
    AgeGroup("adults", 31, None, ("Adults 31+", "Vuxna 31+", "Odrasli 31+", "Dorośli 31+")),
)
AGE_GROUPS_BY_ID = {g.id: g for g in AGE_GROUPS}

_TOPIC_LOOKUP: dict[str, str] = {}
for _topic_id, _labels in TOPIC_LABELS.items():
    for _name in (_topic_id, *_labels):
        _TOPIC_LOOKUP[fold(_name).replace(" ", "")] = _topic_id


def topic_from_text(text: str) -> str | None:
    """Topic id for an id or a label in any UI language, case- and space-insensitive."""
    return _TOPIC_LOOKUP.get(fold(text).replace(" ", ""))


def topic_label(topic: str, language: str = "en") -> str:
    """The topic's label in ``language`` (falls back to English)."""
    labels = TOPIC_LABELS[topic]
    return labels[LANGUAGES.index(language)] if language in LANGUAGES else labels[0]
