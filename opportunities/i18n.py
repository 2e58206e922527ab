"""The user interface in English, Swedish, Slovenian and Polish: translations and locale formats.

Texts are English msgids, translated by gettext catalogs in ``locales/<language>/LC_MESSAGES/
messages.po``. The catalogs are compiled in memory the first time a language is used, so no
binary ``.mo`` file is committed and none can be stale. Code marks a text for translation with
``_()`` / ``ngettext()`` bound to :func:`translator`, or with :func:`N_` / :func:`Nn_` when it is
translated later; ``pybabel extract`` (see docs/development/translations.md) and ``tests/test_i18n.py`` find them all.

Dates, numbers and money are formatted by Babel with each language's conventions. Importable
without Streamlit.
"""

from __future__ import annotations

import functools
import gettext
import math
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from io import BytesIO
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal

from opportunities import errors, vocabulary
from opportunities.errors import BoundaryFileError, Country, FieldError, Reason
from opportunities.vocabulary import AGE_GROUPS_BY_ID, Mode, OpportunityType, Precision, ProviderKind

LANGUAGES: tuple[str, ...] = vocabulary.LANGUAGES  # en, sv, sl, pl
DEFAULT_LANGUAGE = "en"
# The switcher shows each language in its own language.
LANGUAGE_NAMES: dict[str, str] = {"en": "English", "sv": "Svenska", "sl": "Slovenščina", "pl": "Polski"}
# The Babel locale of each UI language: British English for the 24-hour clock and "2 Dec 2026".
BABEL_LOCALES: dict[str, str] = {"en": "en_GB", "sv": "sv_SE", "sl": "sl_SI", "pl": "pl_PL"}
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"
# Function names whose string arguments are msgids, for pybabel and the catalog test:
# name -> positions of the msgid (and plural) arguments, None meaning the first argument.
EXTRACT_KEYWORDS: dict[str, tuple[int, ...] | None] = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "N_": None,
    "Nn_": (1, 2),
}
# Marks a msgid for extraction (defined with the errors, which word their reasons with it).
N_ = errors.N_
# An Accept-Language header is written by the browser, or by anyone: look at this many entries at most.
_MAX_CANDIDATES = 50
_CODE_BEFORE_DIGIT = re.compile(r"^([^\W\d_]+)(?=\d)")
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*")


def Nn_(singular: str, plural: str) -> tuple[str, str]:
    """Marks a singular/plural pair for extraction and returns it untranslated."""
    return singular, plural


def catalog_path(language: str) -> Path:
    """Where the ``.po`` catalog of ``language`` lives (English has none: msgids are English)."""
    return LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.lru_cache(maxsize=len(LANGUAGES))
def _compiled(language: str) -> gettext.NullTranslations:
    if language == DEFAULT_LANGUAGE:
        return gettext.NullTranslations()
    with catalog_path(language).open("rb") as po:
        catalog = read_po(po, locale=BABEL_LOCALES[language], domain=DOMAIN)
    mo = BytesIO()
    write_mo(mo, catalog)  # fuzzy entries are left out: they show in English until reviewed
    mo.seek(0)
    return gettext.GNUTranslations(mo)


def translator(language: str) -> gettext.NullTranslations:
    """Translations into ``language`` (``gettext``, ``ngettext``); an unknown language gets English."""
    return _compiled(language if language in LANGUAGES else DEFAULT_LANGUAGE)


def _weighted_tags(candidate: str) -> list[tuple[float, str]]:
    """``"sv-SE,pl;q=0.8"`` -> ``[(1.0, "sv-SE"), (0.8, "pl")]``; unreadable entries are skipped."""
    found = []
    for entry in candidate.split(",")[:_MAX_CANDIDATES]:
        tag, _sep, params = entry.strip().partition(";")
        tag = tag.strip()
        if not _LANGUAGE_TAG.fullmatch(tag):
            continue
        quality = 1.0
        name, _eq, value = params.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value.strip())
            except ValueError:
                continue
        if 0 < quality <= 1:
            found.append((quality, tag))
    return found


def negotiate_language(candidates: Sequence[str]) -> str:
    """The best supported UI language for ``candidates``, or English.

    Candidates come first to last in order of preference, e.g. a ``lang`` URL parameter and then
    the browser's Accept-Language header; each may be a tag (``sv``, ``sv-SE``, ``pl_PL``) or a
    comma-separated list with weights (``sv-SE,sv;q=0.9,en;q=0.8``). Higher weights win; among
    equal weights, the earlier candidate wins. Only the primary subtag is compared.
    """
    weighted: list[tuple[float, str]] = []
    for candidate in list(candidates)[:_MAX_CANDIDATES]:
        weighted.extend(_weighted_tags(candidate))
    for _quality, tag in sorted(weighted, key=lambda pair: -pair[0]):  # stable: earlier first on ties
        primary = re.split(r"[-_]", tag, maxsplit=1)[0].lower()
        if primary in LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE


def babel_locale(language: str) -> Locale:
    """The Babel locale for ``language`` (English, as ``en_GB``, when unknown)."""
    return _babel_locale(BABEL_LOCALES.get(language, BABEL_LOCALES[DEFAULT_LANGUAGE]))


@functools.lru_cache(maxsize=len(BABEL_LOCALES))
def _babel_locale(identifier: str) -> Locale:
    return Locale.parse(identifier)


def format_day(value: date | datetime, language: str) -> str:
    """The day only, medium length: ``2 Dec 2026``, ``2 dec. 2026``, ``2. dec. 2026``, ``2 gru 2026``."""
    day = value.date() if isinstance(value, datetime) else value
    return format_date(day, format="medium", locale=babel_locale(language))


def format_when(value: date | datetime, language: str) -> str:
    """A date, or a date and a time (hours and minutes): ``2 dec. 2026 17:00`` in Swedish.

    Times are naive and local to the city: shown as they are, never converted.
    """
    if not isinstance(value, datetime):
        return format_day(value, language)
    locale = babel_locale(language)
    clock = format_time(value.time(), format="short", locale=locale)
    pattern = str(locale.datetime_formats["medium"])  # e.g. "{1}, {0}": {1} the date, {0} the time
    return pattern.replace("{1}", format_day(value, language)).replace("{0}", clock)


def format_moment(moment: datetime, zone: tzinfo | None, language: str) -> str:
    """An instant (an aware time, as stored: when something was done) in ``zone``'s local time,
    naming the zone: ``5 dec. 2026 10:00 CET`` in Swedish; in UTC, saying so, when ``zone`` is None.

    A naive ``moment`` is taken as UTC, as the database's timestamps are.
    """
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    local = aware.astimezone(zone or UTC)
    name = format_datetime(local, "z", locale=babel_locale(language))
    return f"{format_when(local.replace(tzinfo=None), language)} {name}"


def format_number(value: int | float | Decimal, language: str) -> str:
    """A number with the language's separators: ``1,234.5`` in English, ``1 234,5`` in Swedish."""
    return format_decimal(value, locale=babel_locale(language))


def format_significant(value: float, language: str) -> str:
    """A measured figure (a rate, a distance) to sensible precision in the language's format: two
    significant digits below 10 (``0,0092``, ``4,1`` in Swedish), whole numbers from 10 (``1 234``)."""
    if not math.isfinite(value):
        return "–"
    if value == 0 or abs(value) >= 10:
        return format_decimal(round(value), locale=babel_locale(language))
    # "9.2e-03" -> Decimal("0.0092"): exactly the digits kept, written out without an exponent.
    return format_decimal(Decimal(f"{value:.2g}"), locale=babel_locale(language), decimal_quantization=False)


def format_money(amount: Decimal, currency: str, language: str) -> str:
    """``€12.50`` / ``12,50 €``; whole amounts without decimals (``5 kr``); zero is "Free"."""
    if amount == 0:
        _ = translator(language).gettext
        return _("Free")
    locale = babel_locale(language)
    if not currency:  # not stored by validation, but never shown as a crash
        return format_number(amount, language)
    if amount == amount.to_integral_value():
        pattern = locale.currency_formats["standard"].pattern
        whole = re.sub(r"0\.0+", "0", pattern.split(";")[0])
        text = format_currency(amount, currency, format=whole, locale=locale, currency_digits=False)
    else:
        text = format_currency(amount, currency, locale=locale)
    # CLDR's currency spacing, which Babel leaves out: "SEK 5", not "SEK5" (a sign like € stays close).
    return _CODE_BEFORE_DIGIT.sub("\\1\u00a0", text)


def format_distance_km(km: float, language: str) -> str:
    """``1.2 km`` in English, ``1,2 km`` in Swedish, Slovenian and Polish; whole kilometres from 10 km."""
    pattern = "#,##0.0" if km < 10 else "#,##0"
    return f"{format_decimal(km, format=pattern, locale=babel_locale(language))} km"


# The label of each field, as the forms show it, naming the field a reason is about. Fields a form
# lacks (an import's columns, a URL's parameters) are named as written; ``row`` names no field.
FIELD_LABELS: dict[str, str] = {
    "title": N_("Title"),
    "description": N_("Description"),
    "provider": N_("Organisation"),
    "organisation": N_("Organisation"),
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
    "name": N_("Name"),
    "website": N_("Website"),
    "email": N_("Email"),
    "note": N_("Note"),
    "row": "",
}


def field_label(name: str, language: str) -> str:
    """The label of the field ``name`` in ``language``; the name itself for a field without one
    (an import column or URL parameter), "" for ``row``."""
    label = FIELD_LABELS.get(name)
    if label is None:
        return name
    return translator(language).gettext(label) if label else ""


def explain(reason: Reason, language: str) -> str:
    """A reason in ``language``: its message from the catalog, numbers and days in the language's
    format, a value that is a reason explained in turn. The one place reasons become words."""

    def shown(value: str | int | float | date | Country | Reason) -> str:
        if isinstance(value, Reason):
            return explain(value, language)
        if isinstance(value, Country):
            return str(babel_locale(language).territories.get(value.code.upper(), value.code))
        if isinstance(value, date):
            return format_day(value, language)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return str(value)
        return format_number(value, language)

    return translator(language).gettext(reason.text).format(**{key: shown(v) for key, v in reason.values.items()})


def explain_error(error: FieldError, language: str, *, columns: bool = False) -> str:
    """``Field: reason`` in ``language``, for a list of problems (under its field, show
    :func:`explain` of its reason alone). ``columns``: name the field by its label and its column,
    as a spreadsheet's header has it (``Najmłodszy wiek (age_min)``), instead of the form's label."""
    label = field_label(error.field, language)
    if columns and error.field != "row":
        label = f"{label} ({error.field})" if label and label != error.field else error.field
    reason = explain(error.reason, language)
    return f"{label}: {reason}" if label else reason


def explain_file_error(error: BoundaryFileError, language: str) -> str:
    """``file: reason; reason`` in ``language``."""
    return f"{error.file_name}: " + "; ".join(explain(reason, language) for reason in error.reasons)


def explain_errors(errors: Sequence[FieldError], language: str, *, columns: bool = False) -> str:
    """Every problem of a record (a row, a form) in ``language``, joined with ``; ``."""
    return "; ".join(explain_error(error, language, columns=columns) for error in errors)


def language_name(code: str, language: str) -> str:
    """The name of the language ``code`` (ISO 639-1) in ``language``: ``en`` is "engelska" in Swedish."""
    return str(babel_locale(language).languages.get(code.lower(), code))


def topic_label(topic: str, language: str) -> str:
    """The topic's label (from the vocabulary) in ``language``, English when unknown."""
    return vocabulary.topic_label(topic, language)


def age_group_label(group_id: str, language: str) -> str:
    """The age group's label (from the vocabulary), e.g. "Tonåringar 13–17"."""
    labels = AGE_GROUPS_BY_ID[group_id].labels
    return labels[LANGUAGES.index(language)] if language in LANGUAGES else labels[0]


_TYPE_LABELS: dict[OpportunityType, str] = {
    OpportunityType.WORKSHOP: N_("Workshop"),
    OpportunityType.COURSE: N_("Course"),
    OpportunityType.EVENT: N_("Event"),
    OpportunityType.CLUB: N_("Club"),
    OpportunityType.CAMP: N_("Camp"),
    OpportunityType.VOLUNTEERING: N_("Volunteering"),
    OpportunityType.INTERNSHIP: N_("Internship"),
    OpportunityType.MENTORING: N_("Mentoring"),
    OpportunityType.COMPETITION: N_("Competition"),
    OpportunityType.EXHIBITION: N_("Exhibition"),
}
_MODE_LABELS: dict[Mode, str] = {
    Mode.IN_PERSON: N_("In person"),
    Mode.ONLINE: N_("Online"),
    Mode.HYBRID: N_("Hybrid"),
}
_PRECISION_LABELS: dict[Precision, str] = {
    Precision.PROVIDED: N_("Exact location"),
    Precision.ADDRESS: N_("Street address"),
    Precision.STREET: N_("On the street (house number estimated)"),
    Precision.POSTCODE: N_("Postcode area"),
    Precision.LOCALITY: N_("District or village centre (approximate)"),
    Precision.CITY: N_("City centre (approximate)"),
}


_PROVIDER_KIND_LABELS: dict[ProviderKind, str] = {
    ProviderKind.SCHOOL: N_("School"),
    ProviderKind.LIBRARY: N_("Library"),
    ProviderKind.NGO: N_("Non-profit organisation"),
    ProviderKind.YOUTH_CENTRE: N_("Youth centre"),
    ProviderKind.MUNICIPALITY: N_("Municipality"),
    ProviderKind.UNIVERSITY: N_("University"),
    ProviderKind.COMPANY: N_("Company"),
    ProviderKind.OTHER: N_("Other"),
}


def provider_kind_label(kind: ProviderKind | str, language: str) -> str:
    """What kind of organisation it is, in ``language`` ("Bibliotek")."""
    return translator(language).gettext(_PROVIDER_KIND_LABELS[ProviderKind(kind)])


def type_label(opportunity_type: OpportunityType | str, language: str) -> str:
    """The label of an opportunity type (``club`` -> "Klubb" in Swedish)."""
    return translator(language).gettext(_TYPE_LABELS[OpportunityType(opportunity_type)])


def mode_label(mode: Mode | str, language: str) -> str:
    """The label of a mode (``in-person`` -> "På plats" in Swedish)."""
    return translator(language).gettext(_MODE_LABELS[Mode(mode)])


def precision_label(precision: Precision | str, language: str, uncertainty_m: int | None = None) -> str:
    """How exactly a place is known, for people (``city`` -> "City centre (approximate)"), and,
    when ``uncertainty_m`` is known, how far off it may be ("Postcode area: may be up to 3 km off")."""
    _ = translator(language).gettext
    precision = Precision(precision)
    if uncertainty_m is None:
        return _(_PRECISION_LABELS[precision])
    distance = format_distance(uncertainty_m, language)
    if uncertainty_m <= vocabulary.PIN_MAX_UNCERTAINTY_M:
        return _("{place} (within {distance})").format(place=_(_PRECISION_LABELS[precision]), distance=distance)
    # Coordinates given with too few decimals are not an "exact location".
    place = _("Coordinates as given") if precision is Precision.PROVIDED else _(_PRECISION_LABELS[precision])
    return _("{place}: may be up to {distance} off").format(place=place, distance=distance)


def format_distance(metres: int | float, language: str) -> str:
    """A distance rounded as a person would say it: ``8 m``, ``800 m``, ``1.4 km``, ``12 km``
    (``1,4 km`` in Swedish)."""
    if metres < 10:
        return f"{format_number(max(1, round(metres)), language)} m"
    # Rounded up: the text says "up to".
    rounded = math.ceil(metres / 10) * 10 if metres < 100 else math.ceil(metres / 50) * 50
    if rounded < 1000:
        return f"{format_number(int(rounded), language)} m"
    km = metres / 1000
    return f"{format_number(round(km, 1) if km < 10 else round(km), language)} km"


# Texts of the Explore page, declared here so that the catalogs carry them before the page is
# rewritten to use them; the page translates them with ``_()`` / ``ngettext()`` as usual.
EXPLORE_TEXTS: tuple[str, ...] = (
    N_("Learning opportunities"),
    N_("Explore"),
    N_("Filters"),
    N_("City"),
    N_("All cities"),
    N_("Topics"),
    N_("Age"),
    N_("Any age"),
    N_("Exact age…"),
    N_("Age in years"),
    N_("Age group"),
    N_("Free only"),
    N_("Accessible only"),
    N_("Language taught in"),
    N_("Any language"),
    N_("Mode"),
    N_("Type"),
    N_("From"),
    N_("To"),
    N_("Search in titles and descriptions"),
    N_("Near me"),
    N_("A place or an address"),
    N_("Use my location"),
    N_("Radius (km)"),
    N_("Distance"),
    N_("Clear filters"),
    N_("Language"),
    N_("Title"),
    N_("Provider"),
    N_("Dates"),
    N_("Ages"),
    N_("Cost"),
    N_("Link"),
    N_("Open"),
    N_("Free"),
    N_("Details"),
    N_("Next sessions"),
    N_("Add to calendar (.ics)"),
    N_("Share this view"),
    N_("Copy this link"),
    N_("Register or read more"),
    N_("Approximate location"),
    N_("Approximate location (the circle shows how far off it may be)"),
    N_("Recurring"),
    N_("Online only"),
    N_("Venue"),
    N_("Address"),
    N_("Accessibility"),
    N_("Contact"),
    N_("Languages"),
    N_("Page"),
    N_("Previous"),
    N_("Next"),
    N_("Back to the list"),
    N_("Map"),
    N_("List"),
    N_("No opportunities match these filters."),
    N_("Try fewer topics, another city, a wider radius or a later date."),
    # Translators: {place} is what the visitor typed; {reason} is the geocoder's message.
    N_("Could not find {place}: {reason}"),
    N_("Showing opportunities within {radius} km of {place}."),
    N_("{count} online only, not on the map."),
    N_("and {count} more"),
    # Translators: {ages} is an age range such as "12–16" or "12+".
    N_("Ages {ages}"),
    # Translators: an open-ended age range, "12 and older".
    N_("{age}+"),
    N_("Your location is used only in this browser tab to sort by distance; it is never stored."),
    N_("{start} – {end}"),
    N_("every week"),
    # Translators: {count} is the most the map draws, e.g. 2000.
    N_("The map shows the first {count}."),
    N_("Results {first}–{last} of {total}"),
)
EXPLORE_PLURAL_TEXTS: tuple[tuple[str, str], ...] = (
    Nn_("{count} opportunity matches your filters.", "{count} opportunities match your filters."),
    Nn_("{count} activity in {city} (approximate location)", "{count} activities in {city} (approximate location)"),
)


# Texts that Streamlit's own controls show or announce in English whatever the page's language
# (aria-labels, tooltips, an empty list's message), as Streamlit 1.67 writes them. The page
# relabels them in the browser (see the explore page); react-aria's date fields translate
# themselves once told the locale (:func:`browser_locale`).
STREAMLIT_TEXTS: tuple[str, ...] = (
    N_("Collapse sidebar"),
    N_("Expand sidebar"),
    N_("Open"),
    N_("Close"),
    N_("Dismiss"),
    N_("Increment"),
    N_("Decrement"),
    N_("Main menu"),
    N_("Link to heading"),
    N_("Copy to clipboard"),
    N_("Choose an option"),
    N_("No results"),
    N_("Clear all"),
    N_("Sidebar"),
    N_("Next"),
    # The menu's landmark, the password field's eye, and the keyboard user's first link.
    N_("App pages"),
    N_("Show password"),
    N_("Hide password"),
    N_("Skip to main content"),
    # The date fields and their calendar (react-aria in the browser's language): a field is
    # named "year, From" and the calendar "Choose date, November 2026", so the part before the
    # first comma is relabelled too.
    N_("Choose date"),
    N_("Previous month"),
    N_("Next month"),
    N_("year"),
    N_("month"),
    N_("day"),
    N_("Use arrow keys to navigate dates. Enter to select. Escape to close."),
    # A file uploader's drop zone (its "200MB per file • CSV" line is numbers and file types).
    N_("Drag and drop a file here"),
    N_("Upload"),
    N_("file upload"),
)


def browser_locale(language: str) -> str:
    """The BCP 47 locale for ``language`` in the browser (``<html lang>``'s region form): ``sv-SE``, ``en-GB``."""
    return BABEL_LOCALES.get(language, BABEL_LOCALES[DEFAULT_LANGUAGE]).replace("_", "-")


# Streamlit's texts with a value in them (a widget's label, a size): matched whole, their values
# kept. A translation names the same values (a test checks).
STREAMLIT_PATTERNS: tuple[str, ...] = (
    # The aria-label of a widget's help icon, read by screen readers.
    N_("Help for {label}"),
    # The file drop zone's limit, "10MB per file" (the file types follow in a text of their own).
    N_("{size} per file"),
)


@functools.lru_cache(maxsize=len(LANGUAGES))
def streamlit_pattern_relabels(language: str) -> tuple[tuple[str, str], ...]:
    """(form shown now, wanted form) pairs for :data:`STREAMLIT_PATTERNS`, every language's form to
    the one in ``language``: "Help for {label}" to "Pomoc: {label}" in Polish. The browser matches
    a whole text against the shown form and fills the wanted one with its values."""
    wanted = translator(language).gettext
    pairs: dict[str, str] = {}
    for text in STREAMLIT_PATTERNS:
        for shown in {text, *(translator(other).gettext(text) for other in LANGUAGES)}:
            pairs.setdefault(shown, wanted(text))
    return tuple(sorted(pairs.items()))  # cached: computed once per language, shared by every run


@functools.lru_cache(maxsize=len(LANGUAGES))
def streamlit_relabels(language: str) -> tuple[tuple[str, str], ...]:
    """(shown now, wanted) pairs for :data:`STREAMLIT_TEXTS`: every language's form, to the one in ``language``.

    Every form is listed, not only English, so that a control already relabelled in one
    language is relabelled again after a switch to another.
    """
    wanted = translator(language).gettext
    pairs: dict[str, str] = {}
    for text in STREAMLIT_TEXTS:
        for shown in {text, *(translator(other).gettext(text) for other in LANGUAGES)}:
            pairs.setdefault(shown, wanted(text))
    # The calendar's month names (its heading and month list), as the browser's locale writes them.
    months = babel_locale(language).months["stand-alone"]["wide"]
    for other in LANGUAGES:
        for number, shown in babel_locale(other).months["stand-alone"]["wide"].items():
            pairs.setdefault(shown, months[number])
    return tuple(sorted(pairs.items()))
