"""A published opportunity as an OpenActive item (Modelling Opportunity Data 2.0), a JSON-ready dict.

Which type:

- a recurring activity (a stored RRULE) is a ``SessionSeries`` whose ``eventSchedule`` is one
  ``PartialSchedule`` read from the rule (``repeatFrequency``, ``byDay``/``byMonthDay``/``byMonth``,
  ``repeatCount``, its first and last session days, the start time, the city's time zone). A
  ``PartialSchedule`` and not a ``Schedule``: a ``Schedule`` promises a feed of the
  ``ScheduledSession`` s it generates (``idTemplate``, ``scheduledEventType``), which we do not publish;
- a one-off activity (no rule) is an ``Event``, OpenActive's type for a standalone event. Not a
  ``ScheduledSession``: that type is one occurrence of a ``SessionSeries`` and needs one as its
  ``superEvent``, which a one-off does not have.

A one-off's dates are date-times with the city's offset, with their ``duration``; an all-day one
runs from the midnight that starts its first day to the one that ends its last. An online
activity has ``eventAttendanceMode`` online and a ``VirtualLocation`` (``beta:virtualLocation``,
as OpenActive's own examples; only such items name the beta namespace in their ``@context``), a
hybrid one both that and its ``Place``. A ``Place`` is named by the venue (else the address, else
the city); its address is a ``PostalAddress`` (the address as written, the city, its region, the
postcode, the country) when the address has a postcode, else one line of text. A place's
``geo`` is given only when it is known to within :data:`PIN_MAX_UNCERTAINTY_M` (as the map draws
a pin only then): a postcode's or a town's centre sent as coordinates would send people to the
wrong door; its address is always given.

``accessibilitySupport`` and ``activity`` use OpenActive's own concept lists (their ids are
checked against the lists in the tests): accessibility from words in the provider's accessibility
text, in any of our four languages; activities from the title (sports only for the
``sport-outdoors`` topic; dance, yoga, acting, singing, gardening and the like for any). Every item
needs one (:func:`in_scope`): the activity list covers physical activity and a few arts only.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from opportunities import recurrence
from opportunities.coverage.regions import region_name
from opportunities.errors import RuleError
from opportunities.listings.calendar import city_zone
from opportunities.model import Opportunity, as_datetime
from opportunities.opportunity_text import safe_link
from opportunities.text import fold
from opportunities.vocabulary import CURRENCY_OF_COUNTRY, Mode, is_approximate, topic_label

CONTEXT = "https://openactive.io/"
# With the beta namespace: only items that use it (an online place, ``beta:virtualLocation``).
BETA_CONTEXT = ["https://openactive.io/", "https://openactive.io/ns-beta"]
SESSION_SERIES = "SessionSeries"
EVENT = "Event"
KINDS = (SESSION_SERIES, EVENT)
# The feed of each kind, under /openactive/ (its path and the dataset site's DataDownload).
FEED_PATHS = {SESSION_SERIES: "session-series", EVENT: "events"}
SCHEMA_DAYS = tuple(
    f"https://schema.org/{day}" for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
)
_PERIOD = {"DAILY": "D", "WEEKLY": "W", "MONTHLY": "M", "YEARLY": "Y"}
_ATTENDANCE = {
    Mode.IN_PERSON: "https://schema.org/OfflineEventAttendanceMode",
    Mode.ONLINE: "https://schema.org/OnlineEventAttendanceMode",
    Mode.HYBRID: "https://schema.org/MixedEventAttendanceMode",
}

ACCESSIBILITY_SCHEME = "https://openactive.io/accessibility-support"
ACTIVITY_SCHEME = "https://openactive.io/activity-list"
# OpenActive accessibility-support concept -> (its label, the starts of words (folded: lower case,
# no accents; separated by |) that say an activity supports it, in en, sv, sl and pl).
ACCESSIBILITY: dict[str, tuple[str, str]] = {
    "1393f2dc-3fcc-4be9-a99f-f1e51f5ad277": (
        "Visual impairment",
        "braille|audio description|large print|visually impaired|blind|punktskrift|syntolk|synskad|storstil|"
        "brajl|slep|zvocni opis|niewidom|slabowidz|audiodeskrypc",
    ),
    "2bfb7228-5969-4927-8435-38b5005a8771": (
        "Hearing impairment",
        "hearing loop|induction loop|sign language|deaf|hard of hearing|horslinga|teckensprak|dova|dovtolk|"
        "horselskad|indukcijsk|znakovn|gluh|naglus|petla indukcyjn|migow|nieslysz|gluch",
    ),
    "dd026873-6713-4ea1-af5a-08901f651d98": (
        "Physical impairment",
        "wheelchair|step-free|step free|no steps|level access|ramp|lift|elevator|accessible toilet|rullstol|"
        "trappsteg|hiss|tillganglig toalett|rorelsehinder|invalidsk|brez stopnic|dvigal|klancin|"
        "prilagojen sanitarn|gibalno ovir|wozk|bez schodow|winda|podjazd|dostepna toalet|"
        "niepelnosprawn ruchow",
    ),
    "67902468-fd49-4238-8650-20a22d7f0e40": (
        "Learning impairment",
        "learning disab|learning difficult|autism|autistic|neurodiver|easy read|lattlast|"
        "intellektuell funktionsneds|npf|avtiz|avtist|ucne tezav|lahko branje|autyzm|autyst|neuroatyp|"
        "latwy do czytania|niepelnosprawnosc intelektual",
    ),
    "40b9b11f-bdd3-4aeb-8984-2ecf74a14c7a": (
        "Mental health issues",
        "mental health|psykisk ohals|dusevn|zdrowi psychiczn|zdrowia psychiczn",
    ),
}
# OpenActive activity-list concept -> (its label, the starts of words naming it, folded, | between, in en, sv, sl, pl).
ACTIVITIES: dict[str, tuple[str, str]] = {
    "d09970bc-e11c-40cc-a594-38e4ff32d611": ("Climbing", "climbing|klattring|plezal|plezanj|wspinacz"),
    "ef33414f-b228-4b65-b5e1-329c0215490d": ("Bouldering", "boulder"),
    "b2d5619e-56a7-4c40-b691-7f946f6ff5df": ("Orienteering", "orienteering|orientering|orientacij|na orientacj"),
    "619f374a-c1b6-48d2-aabe-a01b6dedb9fd": ("Hiking", "hiking|vandring|pohod|turystyka piesz|turystyki piesz|wedrowk"),
    "95092977-5a20-4d6e-b312-8fddabe71544": ("Walking", "walking|promenad|sprehod|spacer"),
    "72ddb2dc-7d75-424e-880a-d90eabe91381": ("Running", "running|lopning|tek |tekanj|bieganie"),
    "4a19873e-118e-43f4-b86e-05acba8fb1de": ("Cycling", "cycling|cykling|kolesarj|rower|kolarstw"),
    "2750229d-b725-4171-9276-376be913957c": ("Swimming", "swimming|simning|plavanj|plywani"),
    "0a5f732d-e806-4e51-ad40-0a7de0239c8c": ("Football", "football|fotboll|nogomet|pilka nozn|pilki noznej"),
    "e09776e6-f1b4-421b-b667-5c5913cf97aa": ("Basketball", "basketball|basket|kosark|koszykowk"),
    "065c8564-144a-4833-b95a-db8550e6ac86": ("Volleyball", "volleyball|volleyboll|odbojk|siatkowk"),
    "14232d6d-5e9d-493d-b4a9-ce2061b79ba5": ("Handball", "handball|handboll|rokomet|pilka reczn|pilki recznej"),
    "c76018ee-50a6-42b3-b0dd-a9efb56ae7ab": ("Floorball", "floorball|innebandy|unihokej"),
    "f2ea7405-6098-4378-b0fe-4e398a659fc4": ("Tennis", "tennis|tenis"),
    "1a05993d-b206-4efe-85da-646fa340bdf4": ("Table Tennis", "table tennis|bordtennis|namizni tenis|tenis stolowy"),
    "c0360db0-a817-4bae-9167-40f89b49fc9e": ("Badminton", "badminton"),
    "50feff1b-790f-4f0f-9c07-0314557897c4": ("Skateboarding", "skateboard|rolkanj|deskorolk"),
    "598ceb23-216c-4f8a-9a7a-0eef6e3a4ae8": ("Kayaking", "kayak|kajak"),
    "e0425262-6f1d-4c58-ba8a-dd790c5351b1": ("Canoeing", "canoe|kanot|kanu|kajakarstw"),
    "6bb8b844-df3e-4cae-bf5f-3e129c6b1a9d": ("Sailing", "sailing|segling|jadranj|zeglarstw"),
    "4d280e1b-a370-4582-ab4d-442b2eeaf5d4": ("Athletics", "athletics|friidrott|atletik|lekkoatlet"),
    "f6ccded0-2666-4a51-88a4-ed6905bb4313": ("Gymnastics", "gymnastics|gymnastik|gimnastik|gimnastyk"),
    "293f2c7f-19fd-4db1-921c-e37867ae9839": ("Parkour", "parkour"),
    "2330f2d4-d0dc-4231-8dd9-07d37a452228": ("Martial Arts", "martial art|kampsport|borilne vescin|sztuki walki"),
    "3a25e627-27b4-4f2b-ae93-4caf8278b02c": ("Skiing", "skiing|utforsakning|smucanj|narciarstw"),
    "0b276929-8b33-4807-9f5e-687c8bb2c2f9": ("Ice Skating", "ice skating|skridsko|drsanj|lyzwiarstw"),
    "8f458c98-5303-41c6-93ec-8f9f7daec8d3": ("Camping", "camping|taltning|kampiranj|biwak"),
}
# Concepts of the activity list that are not sport (the arts, gardening, calm): named by the title of
# an opportunity of any topic. Whole words where a stem would catch others (Swedish "kör", choir, is
# also the start of "kort", card; Polish "chór").
ANY_TOPIC_ACTIVITIES: dict[str, tuple[str, str]] = {
    "6ca15167-51da-4d91-a1ae-8a45dc47b0ea": ("Dance", "dance|dancing|dans|ples|taniec|tanca"),
    "bf1a5e00-cdcf-465d-8c5a-6f57040b7f7e": ("Yoga", "yoga|joga"),
    "0c2a1e6b-4b02-4b8a-ae6d-59f225ff5341": ("Meditation", "meditat|mindfulness|meditacij|medytacj"),
    "cf9ff8b8-7a15-48d3-8536-1d17e70345a7": (
        "Acting",
        "theatre|theater|drama|acting|teater|skadespel|gledalis|igraln|teatr|aktorst",
    ),
    "e2b21a40-66a4-42bb-a24f-3638cc356299": ("Singing", "singing|choir|sang|kor |korsang|petje|pevsk|zbor |spiew|chor "),
    "7d309e76-d794-4f40-8fb0-b4a43e13562e": ("Drumming", "drum|trumm|bobn|beben|bebn"),
    "27422896-7cca-4e1f-8071-117838e70148": ("Circus Skills", "circus|cirkus|cyrk"),
    "5b880e93-4a16-4c37-86ac-ba2ffba68358": ("Gardening", "garden|tradgard|odling|vrtnar|ogrod"),
    "9d8d84b4-3a0b-497b-aefa-c7ae723d262f": (
        "Forest School",
        "forest school|skogsskol|skogsmulle|gozdna sol|gozdni vrtec|szkola lesn|lesna szkol|lesne przedszkol",
    ),
}


def _matcher(stems: str) -> re.Pattern[str]:
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(re.escape(stem) for stem in stems.split("|")) + ")")


_POSTCODES = {
    "SE": re.compile(r"(?<!\d)(\d{3} ?\d{2})(?!\d)"),
    "PL": re.compile(r"(?<!\d)(\d{2}-\d{3})(?!\d)"),
    "SI": re.compile(r"(?<![\d/-])(\d{4})(?= \w)"),
}
_ACCESSIBILITY_MATCHERS = {concept: (label, _matcher(stems)) for concept, (label, stems) in ACCESSIBILITY.items()}
_ACTIVITY_MATCHERS = {concept: (label, _matcher(stems)) for concept, (label, stems) in ACTIVITIES.items()}
_ANY_TOPIC_MATCHERS = {concept: (label, _matcher(stems)) for concept, (label, stems) in ANY_TOPIC_ACTIVITIES.items()}


@dataclass(frozen=True, slots=True)
class Listing:
    """A stored opportunity with what its item needs beside the record: its organisation's id and
    website, and its city's time zone."""

    opportunity: Opportunity
    provider_id: int
    provider_website: str
    timezone: str


def kind(opportunity: Opportunity) -> str:
    """``SessionSeries`` for a recurring activity, ``Event`` for a one-off (or a stored rule no
    longer accepted, which counts as its first session only)."""
    return kind_of_schedule(opportunity.schedule)


def kind_of_schedule(schedule: str) -> str:
    """The kind of an opportunity with this stored ``schedule`` (see :func:`kind`)."""
    return SESSION_SERIES if _parsed(schedule) is not None else EVENT


def _rule(opportunity: Opportunity) -> recurrence.Rule | None:
    return _parsed(opportunity.schedule)


@functools.lru_cache(maxsize=4096)  # a feed page repeats a few rules many times; a Rule is immutable
def _parsed(schedule: str) -> recurrence.Rule | None:
    if not schedule:
        return None
    try:
        return recurrence.parse_rule(schedule)
    except RuleError:
        return None


def item_id(public_url: str, item_kind: str, opportunity_id: int) -> str:
    """The item's ``@id``: its address in its feed's namespace."""
    return f"{public_url}/openactive/{FEED_PATHS[item_kind]}/{opportunity_id}"


def explore_url(public_url: str, opportunity_id: int) -> str:
    """The opportunity in detail on the Explore page."""
    return f"{public_url}/explore?id={opportunity_id}"


def _concept(scheme: str, concept: str, label: str) -> dict[str, str]:
    return {"@type": "Concept", "@id": f"{scheme}#{concept}", "prefLabel": label, "inScheme": scheme}


def accessibility_support(text: str) -> list[dict[str, str]]:
    """The OpenActive accessibility-support concepts that ``text`` (any of our languages) names."""
    folded = fold(text)
    return [
        _concept(ACCESSIBILITY_SCHEME, concept, label)
        for concept, (label, pattern) in _ACCESSIBILITY_MATCHERS.items()
        if pattern.search(folded)
    ]


def activities(opportunity: Opportunity) -> list[dict[str, str]]:
    """OpenActive activities named by the title: the sports only of a ``sport-outdoors``
    opportunity ("Running a business" is no run), the arts, gardening and calm of any."""
    found = _named_activities(opportunity.title, "sport-outdoors" in opportunity.topics)
    return [_concept(ACTIVITY_SCHEME, concept, label) for concept, label in found]


@functools.lru_cache(maxsize=4096)  # a feed page asks twice per item (in_scope, then item_data)
def _named_activities(title: str, sport: bool) -> tuple[tuple[str, str], ...]:
    folded = fold(title) + " "
    matchers = _ACTIVITY_MATCHERS | _ANY_TOPIC_MATCHERS if sport else _ANY_TOPIC_MATCHERS
    return tuple((concept, label) for concept, (label, pattern) in matchers.items() if pattern.search(folded))


def in_scope(opportunity: Opportunity) -> bool:
    """Whether OpenActive can describe the opportunity: it names an activity of OpenActive's list.

    The model requires ``activity`` from that list on every item (the validator fails any other
    list), and the list covers physical activity and a few arts: a coding club has no concept, and
    a feed item without one would be a failure to every consumer. Such opportunities are out of the
    OpenActive feeds (their rows are ``deleted`` items there) and published by the other open data
    routes instead."""
    return names_activity(opportunity.title, opportunity.topics)


def names_activity(title: str, topics: Sequence[str]) -> bool:
    """:func:`in_scope` from the title and topics alone (a feed reads them before making the record)."""
    return bool(_named_activities(title, "sport-outdoors" in topics))


def _local(value: datetime, timezone: str) -> str:
    """A local time with the city's offset at that moment (ISO 8601)."""
    return value.replace(tzinfo=city_zone(timezone)).isoformat()


def iso_duration(length: timedelta) -> str:
    """``timedelta(hours=2, minutes=30)`` -> ``PT2H30M`` (ISO 8601)."""
    seconds = max(0, int(length.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    clock = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    return "P" + (f"{days}D" if days else "") + (f"T{clock}" if clock else "" if days else "T0S")


def event_dates(opportunity: Opportunity, timezone: str) -> dict[str, str]:
    """``startDate``, ``endDate`` and ``duration`` of a one-off, as OpenActive wants them: date-times
    with the city's offset. An all-day activity runs from the midnight that starts its first day to
    the one that ends its last; a timed one without an end has a start only."""
    start, end = opportunity.start, opportunity.end
    timed = isinstance(start, datetime)
    first = as_datetime(start)
    if isinstance(end, datetime):
        last: datetime | None = end
    elif end is not None or not timed:
        last = datetime.combine((end or first.date()) + timedelta(days=1), time())
    else:
        last = None
    dates = {"startDate": _local(first, timezone)}
    if last is not None and last > first:
        dates["endDate"] = _local(last, timezone)
        dates["duration"] = iso_duration(last - first)
    return dates


def event_schedule(opportunity: Opportunity, rule: recurrence.Rule, timezone: str) -> dict[str, Any]:
    """The rule as one ``PartialSchedule``: from the first session day to the last possible one
    (the end, UNTIL or COUNT; none for an open series), days given explicitly."""
    first = as_datetime(opportunity.start)
    end = opportunity.end
    series_end = end.date() if isinstance(end, datetime) else end
    last_day = recurrence.last_session_day(rule, first, series_end)
    first_day = recurrence.first_session_day(rule, first.date(), last_day or date.max) or first.date()
    schedule: dict[str, Any] = {
        "@type": "PartialSchedule",
        "repeatFrequency": f"P{rule.interval}{_PERIOD[rule.freq]}",
        "startDate": first_day.isoformat(),
    }
    if last_day is not None:
        schedule["endDate"] = last_day.isoformat()
    if isinstance(opportunity.start, datetime) and opportunity.start.time() != time():
        schedule["startTime"] = f"{opportunity.start:%H:%M}"
    if rule.weekdays:
        schedule["byDay"] = [SCHEMA_DAYS[day] for day in sorted(rule.weekdays)]
    elif rule.positions:  # iCal's form, which schema.org's byDay also takes: 1MO, -1FR
        schedule["byDay"] = [f"{n}{recurrence.WEEKDAYS[day]}" for n, day in rule.positions]
    elif rule.freq == "WEEKLY":
        schedule["byDay"] = [SCHEMA_DAYS[first.weekday()]]
    if rule.months:
        schedule["byMonth"] = sorted(rule.months)
    elif rule.freq == "YEARLY" and not (rule.monthdays or rule.weekdays or rule.positions):
        schedule["byMonth"] = [first.month]
    if rule.monthdays:
        schedule["byMonthDay"] = list(rule.monthdays)
    elif rule.freq in ("MONTHLY", "YEARLY") and not (rule.weekdays or rule.positions):
        schedule["byMonthDay"] = [first.day]
    if rule.count is not None:
        schedule["repeatCount"] = rule.count
    schedule["scheduleTimezone"] = timezone
    return schedule


def postal_code(address: str, country: str) -> str | None:
    """The postcode written in an address of ``country`` (SE ``412 56``, PL ``00-950``, SI ``4000``)."""
    pattern = _POSTCODES.get(country)
    found = pattern.search(address) if pattern else None
    return found.group(1) if found else None


def _address(opportunity: Opportunity) -> dict[str, Any] | str:
    """A ``PostalAddress`` when the address has its every required part (a street and a postcode;
    the region is the city's, :func:`~opportunities.coverage.regions.region_name`), else the address
    as one line of text, which the model also takes: a ``PostalAddress`` missing a part fails it."""
    code = postal_code(opportunity.address, opportunity.country)
    region = region_name(opportunity.country, opportunity.city)
    if opportunity.address and code:
        return {
            "@type": "PostalAddress",
            "streetAddress": opportunity.address,
            "addressLocality": opportunity.city,
            "addressRegion": region,
            "postalCode": code,
            "addressCountry": opportunity.country,
        }
    named = fold(opportunity.address)
    parts = [opportunity.address, *(part for part in (opportunity.city, region) if fold(part) not in named), opportunity.country]
    return ", ".join(dict.fromkeys(part for part in parts if part))


def _place(opportunity: Opportunity) -> dict[str, Any]:
    # A place has a name (OpenActive requires one): the venue, else the address, else the city.
    place: dict[str, Any] = {"@type": "Place", "name": opportunity.venue or opportunity.address or opportunity.city}
    place["address"] = _address(opportunity)
    if (
        opportunity.latitude is not None
        and opportunity.longitude is not None
        and not is_approximate(opportunity.precision, opportunity.uncertainty_m)
    ):
        place["geo"] = {"@type": "GeoCoordinates", "latitude": opportunity.latitude, "longitude": opportunity.longitude}
    return place


def _price(cost: Decimal) -> int | float:
    return int(cost) if cost == cost.to_integral_value() else float(cost)


def item_data(listing: Listing, public_url: str) -> dict[str, Any]:
    """The OpenActive ``data`` of a published opportunity (``SessionSeries`` or ``Event``)."""
    opp = listing.opportunity
    assert opp.id is not None
    rule = _rule(opp)
    item_kind = SESSION_SERIES if rule is not None else EVENT
    own_id = item_id(public_url, item_kind, opp.id)
    link = safe_link(opp.url) or explore_url(public_url, opp.id)
    data: dict[str, Any] = {
        "@context": CONTEXT if opp.mode is Mode.IN_PERSON else BETA_CONTEXT,
        "@type": item_kind,
        "@id": own_id,
        "identifier": opp.id,
        "name": opp.title,
    }
    if opp.description:
        data["description"] = opp.description
    data["url"] = link
    organizer: dict[str, Any] = {
        "@type": "Organization",
        "@id": f"{public_url}/openactive/organisations/{listing.provider_id}",
        "name": opp.provider,
    }
    website = safe_link(listing.provider_website)
    if website:
        organizer["url"] = website
    data["organizer"] = organizer
    found = activities(opp)
    if found:
        data["activity"] = found
    if opp.topics:
        data["category"] = [topic_label(topic, "en") for topic in opp.topics]
    support = accessibility_support(opp.accessibility)
    if support:
        data["accessibilitySupport"] = support
    age_range: dict[str, Any] = {"@type": "QuantitativeValue", "minValue": opp.age_min}
    if opp.age_max is not None:
        age_range["maxValue"] = opp.age_max
    data["ageRange"] = age_range
    if opp.languages:
        data["inLanguage"] = list(opp.languages)
    data["eventAttendanceMode"] = _ATTENDANCE[opp.mode]
    if opp.mode is not Mode.ONLINE:
        data["location"] = _place(opp)
    if opp.mode is not Mode.IN_PERSON:
        data["beta:virtualLocation"] = {"@type": "VirtualLocation", "url": link}
    offer: dict[str, Any] = {"@type": "Offer", "@id": f"{own_id}#/offers/0", "price": _price(opp.cost)}
    currency = opp.currency or CURRENCY_OF_COUNTRY.get(opp.country, "")
    if currency:
        offer["priceCurrency"] = currency
    data["offers"] = [offer]
    data["isAccessibleForFree"] = opp.is_free
    if rule is not None:
        data["eventSchedule"] = [event_schedule(opp, rule, listing.timezone)]
    else:
        data.update(event_dates(opp, listing.timezone))
    return data
