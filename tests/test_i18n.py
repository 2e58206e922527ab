"""Translations and locale formats; the guard that every UI text goes through the catalogs.

The texts are extracted here from the sources with Babel, exactly as ``pybabel extract`` does
with ``babel.cfg``: a text marked with ``_()``, ``ngettext()``, ``N_()`` or ``Nn_()`` that is
missing from a catalog, untranslated, fuzzy or with different ``{placeholders}`` fails a test.
"""

from __future__ import annotations

import re
import string
from datetime import UTC, date, datetime
from decimal import Decimal
from gettext import c2py
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from opportunities import i18n
from opportunities.explore.url_params import filters_from_params
from opportunities.vocabulary import AGE_GROUPS, LANGUAGES, TOPICS, Mode, OpportunityType, Precision
from tests.formats import same_as_read

ROOT = Path(__file__).resolve().parent.parent
TRANSLATED = ("sv", "sl", "pl")
PLURAL_FORMS = {"sv": 2, "sl": 4, "pl": 3}
# The sources the UI text lives in; babel.cfg must cover each of them.
SOURCES = (
    "opportunities/i18n.py",
    "opportunities/opportunity_text.py",
    "maps/opportunity_map.py",
    "maps/popups.py",
    "pages/explore.py",
    "app.py",
    "ui/app_state.py",
)

Msgid = str | tuple[str, str]

HOW_TO_UPDATE = (
    "run: .venv/bin/pybabel extract -F babel.cfg -k Nn_:1,2 -c Translators: --no-location --sort-output "
    "-o locales/messages.pot . && .venv/bin/pybabel update -i locales/messages.pot -d locales, "
    "then translate the new entries (see docs/development/translations.md)"
)


@pytest.fixture(scope="module")
def extracted() -> dict[str, Msgid]:
    """Every text marked in the sources, keyed by its (singular) msgid."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[str, Msgid] = {}
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=i18n.EXTRACT_KEYWORDS, comment_tags=("Translators:",)
    ):
        msgid: Msgid = message if isinstance(message, str) else (message[0], message[1])
        found[msgid if isinstance(msgid, str) else msgid[0]] = msgid
    return found


def load(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as po:
        return read_po(po, locale=locale, abort_invalid=True)


def catalog(language: str) -> Catalog:
    return load(i18n.catalog_path(language), language)


def placeholders(text: str) -> set[str]:
    return {field for _literal, field, _spec, _conv in string.Formatter().parse(text) if field is not None}


def test_babel_cfg_covers_the_ui_sources() -> None:
    from babel.messages.extract import pathmatch

    with (ROOT / "babel.cfg").open() as cfg:
        method_map, _options = parse_mapping_cfg(cfg)
    for source in SOURCES:
        assert any(pathmatch(pattern, source) for pattern, _method in method_map), source


def test_the_extractor_finds_the_map_and_page_texts(extracted: dict[str, Msgid]) -> None:
    for msgid in ("Register or read more", "Topics", "Filters", "Workshop", "{count} activity in {city} (approximate location)"):
        assert msgid in extracted
    assert extracted["{count} opportunity matches your filters."] == (
        "{count} opportunity matches your filters.",
        "{count} opportunities match your filters.",
    )


def test_template_lists_exactly_the_extracted_texts(extracted: dict[str, Msgid]) -> None:
    template = load(ROOT / "locales" / "messages.pot")
    in_template = {m.id if isinstance(m.id, str) else m.id[0] for m in template if m.id}
    missing = set(extracted) - in_template
    assert not missing, f"texts missing from locales/messages.pot: {sorted(missing)}; {HOW_TO_UPDATE}"
    stale = in_template - set(extracted)
    assert not stale, f"texts no longer in the sources: {sorted(stale)}; {HOW_TO_UPDATE}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_catalog_parses_with_the_right_plural_forms(language: str) -> None:
    po = catalog(language)
    assert po.locale is not None
    assert str(po.locale) == language
    assert po.num_plurals == PLURAL_FORMS[language]
    assert same_plural_rule(po.plural_expr, get_plural(language).plural_expr), (po.plural_expr, get_plural(language).plural_expr)
    assert not po.fuzzy


def same_plural_rule(ours: str, cldr: str) -> bool:
    """Whether two gettext plural expressions pick the same form for every count from 0 to 1000.

    Babel writes CLDR's rules in a form that changes between releases (2.19 writes Polish's
    ``n%100<10 || n%100>=20`` as ``n%100<12 || n%100>14``), so the rules are compared by what they
    do, not by their text.
    """
    ours_rule, cldr_rule = c2py(ours), c2py(cldr)
    return all(ours_rule(n) == cldr_rule(n) for n in range(1001))


def test_plural_rules_are_compared_by_what_they_do() -> None:
    assert same_plural_rule("(n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20))", "(n%10>=2 && n%10<=4 && (n%100<12 || n%100>14))")
    assert not same_plural_rule("(n != 1)", "(n > 1)")  # 0 is plural in one, singular in the other


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_text_is_translated(language: str, extracted: dict[str, Msgid]) -> None:
    po = catalog(language)
    problems = []
    for key, msgid in sorted(extracted.items()):
        message = po.get(msgid if isinstance(msgid, str) else msgid[0])
        if message is None:
            problems.append(f"missing: {key!r}")
            continue
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        if isinstance(msgid, tuple) != isinstance(message.id, tuple) or message.id != msgid:
            problems.append(f"singular/plural mismatch: {key!r}")
        elif isinstance(msgid, tuple) and len(forms) != po.num_plurals:
            problems.append(f"{len(forms)} plural forms instead of {po.num_plurals}: {key!r}")
        elif not all(forms):
            problems.append(f"untranslated: {key!r}")
        elif message.fuzzy:
            problems.append(f"fuzzy (shown in English until reviewed): {key!r}")
    assert not problems, f"{language}: {problems}; {HOW_TO_UPDATE}"
    stale = {m.id if isinstance(m.id, str) else m.id[0] for m in po if m.id} - set(extracted)
    assert not stale, f"{language}: texts no longer in the sources: {stale}; {HOW_TO_UPDATE}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_placeholders_are_kept(language: str) -> None:
    for message in catalog(language):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = placeholders(ids[-1])
        assert placeholders(ids[0]) <= expected, ids
        values = dict.fromkeys(expected, "x")
        for form in forms:
            assert placeholders(form) == expected, (language, ids, form)
            form.format(**values)  # no stray braces


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Filters"),
        ("sv", "Filter"),
        ("sl", "Filtri"),
        ("pl", "Filtry"),
        ("de", "Filters"),
        ("", "Filters"),
        ("SV", "Filters"),
    ],
)
def test_translator_and_fallback_to_english(language: str, expected: str) -> None:
    assert i18n.translator(language).gettext("Filters") == expected
    assert i18n.translator(language).gettext("A text nobody translated") == "A text nobody translated"


def test_translators_are_compiled_once() -> None:
    assert i18n.translator("sv") is i18n.translator("sv")
    assert i18n.translator("xx") is i18n.translator("en")


@pytest.mark.parametrize(
    ("language", "counts"),
    [
        ("en", {1: "opportunity matches", 2: "opportunities match", 0: "opportunities match"}),
        ("sv", {1: "aktivitet matchar", 2: "aktiviteter matchar", 0: "aktiviteter matchar"}),
        ("sl", {1: "dejavnost ustreza", 2: "dejavnosti ustrezata", 3: "dejavnosti ustrezajo", 4: "dejavnosti ustrezajo",
                5: "dejavnosti ustreza", 101: "dejavnost ustreza", 102: "dejavnosti ustrezata", 0: "dejavnosti ustreza"}),
        ("pl", {1: "oferta zajęć pasuje", 2: "oferty zajęć pasują", 4: "oferty zajęć pasują", 5: "ofert zajęć pasuje",
                12: "ofert zajęć pasuje", 22: "oferty zajęć pasują", 0: "ofert zajęć pasuje"}),
    ],
)  # fmt: skip
def test_plural_forms_follow_the_language(language: str, counts: dict[int, str]) -> None:
    ngettext = i18n.translator(language).ngettext
    for n, words in counts.items():
        text = ngettext("{count} opportunity matches your filters.", "{count} opportunities match your filters.", n)
        assert text.format(count=n).startswith(f"{n} {words}"), (n, text)


@pytest.mark.parametrize(
    ("candidates", "expected"),
    [
        ([], "en"),
        ([""], "en"),
        (["sv"], "sv"),
        (["sv-SE"], "sv"),
        (["SL"], "sl"),
        (["pl_PL"], "pl"),
        (["pl-PL;q=0.8"], "pl"),
        (["sv-SE,sv;q=0.9,en;q=0.8"], "sv"),
        (["de-DE,de;q=0.9,pl;q=0.7,en;q=0.5"], "pl"),
        (["en-US,en;q=0.9,sl;q=0.8"], "en"),
        (["fr", "de-AT"], "en"),
        (["sl", "sv-SE,sv;q=0.9"], "sl"),  # a URL parameter before the browser's header
        (["xx", "sv-SE,sv;q=0.9"], "sv"),  # an unknown URL parameter is skipped
        (["de;q=1, sl;q=0.5, pl;q=0.9"], "pl"),  # the weight decides, not the order
        (["sv;q=0, pl"], "pl"),  # q=0: not acceptable
        (["sv;q=abc, sl"], "sl"),
        (["*"], "en"),
        (["<script>alert(1)</script>"], "en"),
        (["x" * 10_000 + ",sv"], "sv"),
    ],
)
def test_negotiate_language(candidates: list[str], expected: str) -> None:
    assert i18n.negotiate_language(candidates) == expected


NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("language", "day", "when", "money", "free", "whole", "distance", "far", "number"),
    [
        ("en", "2 Dec 2026", "2 Dec 2026, 17:00", "€12.50", "Free", f"SEK{NBSP}5", "1.2 km", "13 km", "1,234.5"),
        ("sv", "2 dec. 2026", "2 dec. 2026 17:00", f"12,50{NBSP}€", "Gratis", f"5{NBSP}kr", "1,2 km", "13 km", f"1{NBSP}234,5"),
        ("sl", "2. dec. 2026", "2. dec. 2026, 17:00", f"12,50{NBSP}€", "Brezplačno", f"5{NBSP}SEK", "1,2 km", "13 km", "1.234,5"),
        (
            "pl",
            "2 gru 2026",
            "2 gru 2026, 17:00",
            f"12,50{NBSP}€",
            "Bezpłatne",
            f"5{NBSP}SEK",
            "1,2 km",
            "13 km",
            f"1{NBSP}234,5",
        ),
        ("de", "2 Dec 2026", "2 Dec 2026, 17:00", "€12.50", "Free", f"SEK{NBSP}5", "1.2 km", "13 km", "1,234.5"),
    ],
)
def test_locale_formats(
    language: str, day: str, when: str, money: str, free: str, whole: str, distance: str, far: str, number: str
) -> None:
    moment = datetime(2026, 12, 2, 17, 0)
    shown = {
        "day": (i18n.format_day(moment, language), day),
        "day of a date": (i18n.format_day(date(2026, 12, 2), language), day),
        "when": (i18n.format_when(moment, language), when),
        "when of a date": (i18n.format_when(date(2026, 12, 2), language), day),
        "money": (i18n.format_money(Decimal("12.50"), "EUR", language), money),
        "free": (i18n.format_money(Decimal(0), "EUR", language), free),
        "whole": (i18n.format_money(Decimal(5), "SEK", language), whole),
        "distance": (i18n.format_distance_km(1.23, language), distance),
        "far": (i18n.format_distance_km(12.6, language), far),
        "number": (i18n.format_number(1234.5, language), number),
    }
    wrong = {name: pair for name, pair in shown.items() if not same_as_read(*pair)}
    assert not wrong, wrong
    # Between a number and its unit or currency the space never breaks, whichever CLDR chose.
    for formatted in (shown["money"][0], shown["whole"][0]):
        assert " " not in formatted, formatted


def test_spaces_are_compared_as_read() -> None:
    assert same_as_read("5\u202fkr", "5\u00a0kr")  # CLDR's narrow no-break space for the old no-break one
    assert not same_as_read("5 kr", "5kr")
    assert not same_as_read("1,234.5", "1.234,5")


def test_times_are_shown_as_stored_not_converted() -> None:
    assert i18n.format_when(datetime(2026, 6, 1, 23, 30), "sv") == "1 juni 2026 23:30"


@pytest.mark.parametrize("language", [*LANGUAGES, "de"])
def test_every_label_exists(language: str) -> None:
    for labels in (
        [i18n.topic_label(t, language) for t in TOPICS],
        [i18n.type_label(t, language) for t in OpportunityType],
        [i18n.mode_label(m, language) for m in Mode],
        [i18n.precision_label(p, language) for p in Precision],
        [i18n.age_group_label(g.id, language) for g in AGE_GROUPS],
    ):
        assert all(labels)
        assert len(set(labels)) == len(labels)  # two values never look the same


@pytest.mark.parametrize(
    ("language", "topic", "kind", "mode", "precision", "age_group", "english"),
    [
        ("en", "Study", "Volunteering", "In person", "City centre (approximate)", "Teens 13–17", "English"),
        ("sv", "Studier", "Volontärarbete", "På plats", "Stadens centrum (ungefärligt)", "Tonåringar 13–17", "engelska"),
        ("sl", "Učenje", "Prostovoljstvo", "V živo", "Središče mesta (približno)", "Najstniki 13–17", "angleščina"),
        (
            "pl",
            "Nauka szkolna",
            "Wolontariat",
            "Stacjonarnie",
            "Centrum miasta (w przybliżeniu)",
            "Nastolatki 13–17",
            "angielski",
        ),
    ],
)
def test_labels(language: str, topic: str, kind: str, mode: str, precision: str, age_group: str, english: str) -> None:
    assert i18n.topic_label("study", language) == topic
    assert i18n.type_label("volunteering", language) == kind
    assert i18n.type_label(OpportunityType.VOLUNTEERING, language) == kind
    assert i18n.mode_label("in-person", language) == mode
    assert i18n.precision_label(Precision.CITY, language) == precision
    assert i18n.age_group_label("teens", language) == age_group
    assert i18n.language_name("en", language) == english


def test_every_ui_language_has_a_name_a_locale_and_a_catalog() -> None:
    assert i18n.LANGUAGES == LANGUAGES == ("en", "sv", "sl", "pl")
    assert i18n.LANGUAGE_NAMES == {"en": "English", "sv": "Svenska", "sl": "Slovenščina", "pl": "Polski"}
    assert set(i18n.BABEL_LOCALES) == set(LANGUAGES)
    for language in TRANSLATED:
        assert i18n.catalog_path(language).is_file()
    assert not list((ROOT / "locales").rglob("*.mo"))  # compiled in memory, never committed


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "The city “Atlantis” in the link is not on the map; showing all cities."),
        ("sv", "Staden ”Atlantis” i länken finns inte på kartan; alla städer visas."),
        ("sl", "Mesta »Atlantis« iz povezave ni na zemljevidu; prikazana so vsa mesta."),
        ("pl", "Miasta „Atlantis” z linku nie ma na mapie; pokazano wszystkie miasta."),
    ],
)
def test_link_problems_are_translated(language: str, expected: str) -> None:
    _filters, problems = filters_from_params({"city": ["Atlantis"]}, cities=["Kranj"], language=language)
    assert problems == [expected]


@pytest.mark.parametrize(
    ("precision", "uncertainty_m", "language", "text"),
    [
        (Precision.POSTCODE, 3_000, "en", "Postcode area: may be up to 3 km off"),
        (Precision.POSTCODE, 2_071, "sv", "Postnummerområde: kan ligga upp till 2,1 km fel"),
        (Precision.CITY, 5_217, "sl", "Središče mesta (približno): lahko odstopa do 5,2 km"),
        (Precision.PROVIDED, 787, "en", "Coordinates as given: may be up to 800 m off"),
        (Precision.PROVIDED, 787, "pl", "Podane współrzędne: może odbiegać nawet o 800 m"),
        (Precision.PROVIDED, 8, "en", "Exact location (within 8 m)"),
        (Precision.CITY, None, "en", "City centre (approximate)"),  # stored before uncertainties
    ],
)
def test_precision_says_how_far_off_it_may_be(precision: Precision, uncertainty_m: int | None, language: str, text: str) -> None:
    assert i18n.precision_label(precision, language, uncertainty_m) == text


@pytest.mark.parametrize(
    ("zone", "language", "shown"),
    [
        ("Europe/Stockholm", "sv", "5 dec. 2026 10:30 CET"),
        ("Europe/Warsaw", "pl", "5 gru 2026, 10:30 CET"),
        (None, "en", "5 Dec 2026, 09:30 UTC"),
    ],
)
def test_an_instant_is_shown_in_the_citys_time_naming_the_zone(zone: str | None, language: str, shown: str) -> None:
    moment = datetime(2026, 12, 5, 9, 30, tzinfo=UTC)
    assert i18n.format_moment(moment, ZoneInfo(zone) if zone else None, language) == shown
    assert i18n.format_moment(moment.replace(tzinfo=None), ZoneInfo(zone) if zone else None, language) == shown  # naive: UTC
    summer = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)
    assert i18n.format_moment(summer, ZoneInfo("Europe/Stockholm"), "sv") == "1 juni 2026 11:30 CEST"


@pytest.mark.parametrize(
    ("value", "language", "shown"),
    [
        (0.0092, "sv", "0,0092"),
        (0.0092, "en", "0.0092"),
        (4.1234, "pl", "4,1"),
        (0.123456, "sl", "0,12"),
        (2.0, "sv", "2"),
        (0.0, "sv", "0"),
        (1234.4, "sv", "1\u00a0234"),
        (float("nan"), "sv", "–"),
    ],
)
def test_a_measured_figure_has_two_significant_digits_in_the_readers_format(value: float, language: str, shown: str) -> None:
    assert same_as_read(i18n.format_significant(value, language), shown)


def test_streamlits_own_menu_password_and_skip_link_texts_are_relabelled() -> None:
    pairs = dict(i18n.streamlit_relabels("pl"))
    assert pairs["App pages"] == "Strony aplikacji"
    assert pairs["Show password"] == "Pokaż hasło" and pairs["Hide password"] == "Ukryj hasło"
    assert pairs["Skip to main content"] == "Przejdź do głównej treści"
    assert dict(i18n.streamlit_relabels("en"))["Pokaż hasło"] == "Show password"  # and back after a switch


def test_streamlits_texts_with_values_are_relabelled_whole_and_keep_their_values() -> None:
    placeholders = re.compile(r"\{(\w+)\}")
    for language in i18n.LANGUAGES:  # every translation names the same values
        for text in i18n.STREAMLIT_PATTERNS:
            translated = i18n.translator(language).gettext(text)
            assert sorted(placeholders.findall(translated)) == sorted(placeholders.findall(text)), (language, text)
    pairs = dict(i18n.streamlit_pattern_relabels("pl"))
    assert pairs["Help for {label}"] == pairs["Hjälp för {label}"] == "Pomoc: {label}"
    assert pairs["{size} per file"] == "{size} na plik"
    assert dict(i18n.streamlit_pattern_relabels("en"))["Pomoc: {label}"] == "Help for {label}"
