"""Street addresses as people write them in Sweden, Slovenia and Poland, parsed into matching keys.

The rules (tested in ``tests/test_addresses.py``):

- **Parts.** An address is split at commas, semicolons and line breaks. Parts at the end that are
  a postcode, a town, a postcode with its town (either order: ``1000 Ljubljana``,
  ``Warszawa 00-901``) or a country name are the town part; of the parts before, the last that
  ends in a house number is the street; anything before it (a venue's name) is ignored. Without
  commas, a postcode and town at the end are cut off the same way. The part before the street is
  tried with it first (Slovenian names such as ``Rožna dolina, cesta IV`` hold a comma). A venue name before the
  street is dropped by trying the street's words from the left: ``Gimnazija Bežigrad Peričeva
  ulica 4`` is looked up as ``gimnazija bezigrad periceva``, ``bezigrad periceva``, ``periceva``.
- **Postcodes** by country: ``NNN NN`` in Sweden (``412 56``, ``41256``, ``SE-412 56``),
  ``NNNN`` in Slovenia (``1000``, ``SI-1000``), ``NN-NNN`` in Poland (``00-901``, ``00 901``,
  ``00901``). They are kept as digits only.
- **House numbers**: a number, one or two letters directly after it or after a space (``14a``,
  ``79 B``: suffix ``b``; ``45CD``: ``cd``), then a second number or letter after ``/`` or ``-`` or ``i`` (``17/19``,
  ``2-4``, ``16 E/F``, ``31 i 33``), which is ignored: the first number is the building's (in
  Poland ``17/19`` is also "house 17, flat 19"). ``nr``/``št.``/``no.`` before the number and
  flats, floors and premises after it (``m. 5``, ``lok. 3``, ``lgh 1101``, ``3 tr``) are dropped.
- **Street names** are folded (:func:`opportunities.text.fold`: case and diacritics ignored,
  punctuation and quotes gone), then the words that only say what kind of street it is are
  dropped, with their abbreviations, so every way of writing it gives one key:
  Polish ``ul./ulica``, ``al./aleja/aleje``, ``pl./plac``, ``os./osiedle`` and the titles
  ``gen.``, ``ks.``, ``św.``, ``prof.``, ``dr``, ``im.`` and the like; Slovenian ``c./cesta``,
  ``ul./ulica`` and ``gen./generala``, ``dr.``, ``sv.``; Swedish ``g.``/``v.`` ending a word are
  written out (``Drottningg.`` → ``drottninggatan``, ``Storv.`` → ``storvagen``), and
  ``gata``/``väg`` ending a name get their definite ending (``Storgata`` → ``storgatan``).
  ``trg``, ``pot``, ``nabrežje`` and the Swedish compounds are part of the name and stay.
  Streets that differ only in the dropped words (``Prešernova cesta`` and ``Prešernova ulica``
  in one town) share a key: the postcode and town then pick one.
- **Towns** are compared by their first name (``Ljubljana - Šentvid`` → ``ljubljana``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from opportunities.text import fold

# Postcode patterns by country; group 1 and 2 (if any) are its digits.
_POSTCODE = {
    "SE": r"(?:SE[- ]?)?(\d{3})[ \u00a0]?(\d{2})",
    "SI": r"(?:SI[- ]?)?(\d{4})",
    "PL": r"(?:PL[- ]?)?(\d{2})[ \u00a0]?[-\u2010-\u2013]?[ \u00a0]?(\d{3})",
}
_ANY_POSTCODE = r"(\d{3,5}|\d{2}-\d{3}|\d{3} \d{2})"
_COUNTRY_NAMES = frozenset({
    "sverige", "sweden", "slovenija", "slovenia", "polska", "poland", "se", "si", "pl",
})  # fmt: skip

# Words that only say what kind of street it is, and titles before a person's name, folded.
_DROPPED_WORDS = {
    "PL": frozenset({
        "ul", "ulica", "al", "aleja", "aleje", "alei", "pl", "plac", "placu", "os", "osiedle", "gen", "generala",
        "ks", "ksiedza", "sw", "sw.", "swietego", "swietej", "swietych", "prof", "profesora", "dr", "doktora",
        "im", "imienia", "marsz", "marszalka", "kard", "kardynala", "abp", "arcybiskupa", "bp", "biskupa",
        "pplk", "plk", "pulkownika", "kpt", "kapitana", "mjr", "majora", "por", "porucznika", "adm", "admirala",
        "hetm", "hetmana", "bl", "blogoslawionego", "inz", "inzyniera", "kr", "krola",
    }),
    "SI": frozenset({"ul", "ulica", "c", "cesta", "gen", "generala", "dr", "sv", "svetega", "svete"}),
    "SE": frozenset(),
}  # fmt: skip
_SWEDISH_ABBREVIATION = re.compile(r"(\w)(g|v)\.(?=\s|$|,|\d)", re.IGNORECASE)
_SWEDISH_ENDING = re.compile(r"(gata|vag)$")

# A house number at the end of a street part: 14, 14a, 79 B, 17/19, 2-4, 16 E/F, 31 i 33.
_HOUSE = re.compile(
    r"^(?P<street>.*?\S)\s*(?:\b(?:nr|no|št|st)\.?\s*)?"
    r"(?P<number>\d{1,5})(?:\s?(?P<suffix>[^\W\d_]{1,2})(?![^\W\d_])(?!\s+\d))?"
    r"(?P<rest>(?:\s*[/-]\s*(?:\d{1,5}\s?[^\W\d_]?|[^\W\d_])\b|\s+i\s+\d{1,5}[^\W\d_]?\b)*)\s*$"
)
_HOUSE_ALONE = re.compile(
    r"^(?P<number>\d{1,5})(?:\s?(?P<suffix>[^\W\d_]{1,2})(?![^\W\d_])(?!\s+\d))?(?P<rest>(?:\s*[/-]\s*\w{1,6}|\s+i\s+\w{1,6})*)$"
)
# A flat, floor or premises after the house number.
_UNIT = re.compile(
    r"\s*(?:\b(?:m|lok|lokal|lgh|lagenhet|lägenhet|tr|trappor|van|vån|stan|stanovanje|apt)\.?\s*\d+\w*|\b\d+\s*(?:tr|trappor|van|vån)\b\.?)\s*$",
    re.IGNORECASE,
)
# The longest street name tried ("Aleja Księdza Kardynała Stefana Wyszyńskiego Prymasa Tysiąclecia": 7).
MAX_STREET_WORDS = 10
_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_PARTS = re.compile(r"[,;\n\r]+")


@dataclass(frozen=True, slots=True)
class HouseNumber:
    """A house number: its first number, the letter after it (folded, ``""`` when none), as written."""

    number: int
    suffix: str
    text: str


@dataclass(frozen=True, slots=True)
class ParsedAddress:
    """What an address says, in matching form.

    ``streets``: keys to try, the whole street part first, then without its first word, and so
    on (a venue name written before the street without a comma). ``postcode``: digits only.
    ``town``: :func:`town_key` of the town written in the address.
    """

    streets: tuple[str, ...]
    house: HouseNumber | None
    postcode: str
    town: str


def normalise_postcode(text: str, country: str) -> str:
    """The digits of a postcode written in any usual form (``"SE-412 56"`` → ``"41256"``), or ``""``
    when ``text`` is not one of ``country``'s postcodes."""
    pattern = _POSTCODE.get(country.upper())
    if pattern is None:
        digits = re.sub(r"[\s-]+", "", text)
        return digits if re.fullmatch(r"\w{3,10}", digits) else ""
    match = re.fullmatch(pattern, text.strip(), re.IGNORECASE)
    return "".join(g for g in match.groups() if g) if match else ""


def town_key(name: str) -> str:
    """The town a postal name stands for: ``"Ljubljana - Šentvid"`` → ``"ljubljana"``."""
    return fold(re.split(r"\s*[-\u2013]\s*", name.strip(), maxsplit=1)[0])


def parse_house_number(text: str) -> HouseNumber | None:
    """``"79 B"`` → 79, ``"b"``; ``"17/19"`` → 17, ``""``; None when ``text`` is no house number."""
    cleaned = _UNIT.sub("", re.split(r"[,;]", text.strip(), maxsplit=1)[0])  # "13, 13A": the first
    match = _HOUSE_ALONE.fullmatch(cleaned)
    if match is None:
        return None
    return HouseNumber(int(match["number"]), fold(match["suffix"] or ""), text.strip())


@lru_cache(maxsize=65536)
def street_key(name: str, country: str) -> str:
    """The matching key of a street name (see the module's rules): ``"ul. Marszałkowska"`` and
    ``"Marszałkowska"`` → ``"marszalkowska"``; ``"Koroška c."`` → ``"koroska"``."""
    cc = country.upper()
    text = _BRACKETS.sub(" ", name)
    if cc == "SE":
        text = _SWEDISH_ABBREVIATION.sub(lambda m: m[1] + ("gatan" if m[2].lower() == "g" else "vägen"), text)
    words = fold(text).split()
    if cc == "SE" and words:
        words[-1] = _SWEDISH_ENDING.sub(r"\1n", words[-1]) if words[-1].endswith(("gata", "vag")) else words[-1]
        if words[-1].endswith("vagn"):  # "vag" + "n": the definite form is "vagen"
            words[-1] = words[-1][:-1] + "en"
    dropped = _DROPPED_WORDS.get(cc, frozenset())
    kept = [w for w in words if w not in dropped]
    return " ".join(kept or words)


@lru_cache(maxsize=16)
def _town_patterns(country: str) -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """Postcode-and-town (either order), and a street part ending in postcode and town."""
    pattern = _POSTCODE.get(country, _ANY_POSTCODE)
    return (
        re.compile(rf"(?P<pc>{pattern})(?:\s+(?P<town>[^\d]+))?", re.IGNORECASE),
        re.compile(rf"(?P<town>[^\d]+?)\s+(?P<pc>{pattern})", re.IGNORECASE),
        re.compile(rf"(?P<head>.*?\d\w*)\s+(?P<pc>{pattern})(?:\s+(?P<town>[^\d]+))?", re.IGNORECASE),
    )


def _postcode_town(part: str, country: str) -> tuple[str, str] | None:
    """(postcode, town) when ``part`` is a postcode and/or a town only; None otherwise."""
    text = part.strip()
    for regex in _town_patterns(country.upper())[:2]:
        match = regex.fullmatch(text)
        if match:
            return normalise_postcode(match["pc"], country) or re.sub(r"\D", "", match["pc"]), (match["town"] or "").strip()
    if text and not re.search(r"\d", text):
        return "", text
    return None


def _split_tail(part: str, country: str) -> tuple[str, str, str]:
    """A part without commas that ends in a postcode and town: (street part, postcode, town)."""
    match = _town_patterns(country.upper())[2].fullmatch(part.strip())
    if match is None:
        return part, "", ""
    return match["head"], normalise_postcode(match["pc"], country), (match["town"] or "").strip()


def parse_address(text: str, country: str) -> ParsedAddress:
    """Parse a free-text address of ``country`` (ISO code) by the rules in the module docstring."""
    parts = [p.strip() for p in _PARTS.split(_BRACKETS.sub(" ", text)) if p.strip()]
    postcode = town = ""
    # Town parts at the end: the country, the town, the postcode, or postcode and town together.
    while parts:
        last = parts[-1]
        if fold(last) in _COUNTRY_NAMES:
            parts.pop()
            continue
        found = _postcode_town(last, country)
        if found is None or (postcode and found[0]) or (town and found[1]):
            break
        if len(parts) == 1 and not found[0]:
            break  # a single name without a postcode may be the street itself
        postcode, town = postcode or found[0], town or found[1]
        parts.pop()
    if parts and not postcode:
        head, postcode, tail_town = _split_tail(parts[-1], country)
        parts[-1] = head
        town = town or tail_town
    street_part, house = "", None
    for at in range(len(parts) - 1, -1, -1):
        part = parts[at]
        match = _HOUSE.fullmatch(_UNIT.sub("", part))
        if match is not None and re.search(r"[^\W\d_]", match["street"]):
            # Some street names hold a comma ("Rožna dolina, cesta IV"): the part before is tried
            # with it (its tails include the street alone).
            street_part = f"{parts[at - 1]} {match['street']}" if at else match["street"]
            house = HouseNumber(int(match["number"]), fold(match["suffix"] or ""), part[len(match["street"]) :].strip())
            break
    if not street_part and parts:
        street_part = parts[-1] if re.search(r"[^\W\d_]", parts[-1]) else ""
    return ParsedAddress(_street_candidates(street_part, country), house, postcode, town_key(town) if town else "")


def _street_candidates(street: str, country: str) -> tuple[str, ...]:
    words = street.split()
    dropped = _DROPPED_WORDS.get(country.upper(), frozenset())
    keys: list[str] = []
    # Street names have a few words; more in front is a venue's name (or garbage: bounded work).
    for start in range(max(0, len(words) - MAX_STREET_WORDS), len(words)):
        key = street_key(" ".join(words[start:]), country)
        if key and key not in keys and (start == 0 or not set(key.split()) <= dropped):
            keys.append(key)
    return tuple(keys)
