"""Why a row was rejected, in the language of the person reading it.

Validation and geocoding word their reasons in English (the command line, logs, the rejected-rows
file). A page shows them translated: each known wording is matched here by a pattern whose named
parts (the value, a limit) are carried into the translated sentence. A wording without a pattern
is shown in English after the translated field name, so nothing is ever hidden.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from opportunities.i18n import N_, translator

# (pattern of the English reason, msgid with the pattern's named groups as {placeholders}).
# The patterns follow the messages of opportunities/validation.py, geocoding.py and importing.py.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.DOTALL), msgid)
    for pattern, msgid in (
        (r"is required", N_("{field} is required")),
        (r"at least one topic is required", N_("at least one topic is required")),
        (r"is required when the opportunity is not free", N_("{field} is required when the opportunity is not free")),
        (r"is before start", N_("the end is before the start")),
        (r"give both latitude and longitude, or neither", N_("give both latitude and longitude, or neither")),
        (r"(?P<value>.+) is not a number", N_("{value} is not a number")),
        (r"(?P<value>.+) is not a whole number of years", N_("{value} is not a whole number of years")),
        (r"(?P<value>\S+) is outside 0–120 years", N_("{value} is outside 0–120 years")),
        (r"(?P<value>\S+) is below age_min (?P<limit>\S+)", N_("{value} is below the youngest age, {limit}")),
        (
            r"is (?P<value>[\d,]+) characters long; at most (?P<limit>[\d,]+) are allowed",
            N_("{field} is {value} characters long; at most {limit} are allowed"),
        ),
        (r"(?P<value>.+) is not a date; write .*", N_("{value} is not a date; write 2026-12-01 or 2026-12-01 17:00")),
        (r"(?P<value>.+) is before (?P<limit>\d{4}-\d\d-\d\d); check the year", N_("{value} is before {limit}; check the year")),
        (
            r"(?P<value>.+) is after (?P<limit>\d{4}-\d\d-\d\d); .*",
            N_("{value} is after {limit}; dates can be at most 10 years ahead"),
        ),
        (r"(?P<value>.+) is not an ISO 3166-1 alpha-2 code .*", N_("{value} is not a country code such as SE, SI or PL")),
        (
            r"unknown topic (?P<value>.+?); use one of: .*",
            N_("unknown topic {value}; use a topic id from the vocabulary sheet of the template"),
        ),
        (r"(?P<value>.+) is not an ISO 639-1 language code .*", N_("{value} is not a language code such as en, sv, sl or pl")),
        (r"(?P<value>.+) is not a price; .*", N_("{value} is not a price; write a number such as 50, or 0 or free")),
        (r"(?P<value>.+) must be between 0 and (?P<limit>\S+)", N_("{value} must be between 0 and {limit}")),
        (r"(?P<value>.+) is not an ISO 4217 currency code .*", N_("{value} is not a currency code such as SEK, EUR or PLN")),
        (
            r"(?P<value>.+) is not an http:// or https:// address",
            N_("{value} is not a web address starting with http:// or https://"),
        ),
        (r"(?P<value>.+) is not an email address", N_("{value} is not an email address")),
        (r"(?P<value>.+) is not one of: (?P<limit>.+)", N_("{value} is not one of: {limit}")),
        (
            r"contains the control character (?P<value>U\+[0-9A-F]{4}) at position (?P<limit>\d+).*",
            N_("{field} contains an invisible control character ({value}) at position {limit}; remove it"),
        ),
        (r"(?P<value>.+) has no letters or digits; .*", N_("{value} has no letters or digits; write the name in words")),
        (
            r"names the provider (?P<value>.+); this upload may list only opportunities of (?P<limit>.+)",
            N_("names the provider {value}; you may upload only opportunities of {limit}"),
        ),
        (
            r"(?P<value>.+) is not a place we know in (?P<limit>[A-Z]{2}); .*",
            N_("{value} is not a place we know in {limit}; add the postcode to the address, or give latitude and longitude"),
        ),
        (
            r"coordinates (?P<value>.+?) are outside (?P<limit>[A-Z]{2}): .*",
            N_("the coordinates {value} are outside {limit}; check them, and that latitude and longitude are not swapped"),
        ),
        (
            r"the coordinates (?P<value>.+?) are (?P<limit>\d+) km from .*",
            N_("the coordinates {value} are {limit} km from the city; check them or the city"),
        ),
    )
)


def _translated(patterns: Sequence[tuple[re.Pattern[str], str]], text: str, language: str, **known: str) -> str | None:
    """``text`` by the first pattern it matches, translated, its named parts filled in; None when none matches."""
    for pattern, msgid in patterns:
        match = pattern.fullmatch(text)
        if match is not None:
            parts = {"name": "", "value": "", "limit": "", **known, **match.groupdict()}
            return translator(language).gettext(msgid).format(**parts)
    return None


def translate_reason(field: str, reason: str, language: str) -> str:
    """One field's reason (as a :class:`FieldError` words it, without the field) in ``language``."""
    found = _translated(_PATTERNS, reason, language, field=field)
    return found if found is not None else f"{field}: {reason}"


def translate_errors(errors: Sequence[tuple[str, str]], language: str, fallback: str = "") -> str:
    """Every (field, reason) of a row, translated and joined; ``fallback`` (the English reason)
    for a row the reader rejected before its fields were read."""
    if not errors:
        return fallback
    return "; ".join(translate_reason(field, reason, language) for field, reason in errors)


# Whole-file problems (opportunities.listings.importing), the same way: the English text is the fallback.
_FILE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.DOTALL), msgid)
    for pattern, msgid in (
        (
            r"(?P<name>.+) is (?P<value>[\d,]+) bytes, more than the (?P<limit>[\d,]+) an import reads .*",
            N_("{name} is {value} bytes, more than the {limit} an upload may have; split it into smaller files"),
        ),
        (
            r"(?P<name>.+) has more than (?P<limit>[\d,]+) rows of data, .*",
            N_("{name} has more than {limit} rows, the most an upload may have; split it into smaller files"),
        ),
        (
            r"(?P<name>.+): expected a \.csv or \.xlsx file, not (?P<value>.+?)(?:;.*)?",
            N_("{name}: upload a .csv or .xlsx file, not {value}; save it as 'CSV UTF-8' or as .xlsx"),
        ),
        (
            r"(?P<name>.+) lacks the required column\(s\): (?P<value>.+)",
            N_("{name} lacks the required column(s): {value}; start from the template"),
        ),
        (r"(?P<name>.+) is empty: .*", N_("{name} is empty: it needs a header row and at least one row of data")),
        (r"(?P<name>.+) has a header but no rows of data", N_("{name} has a header but no rows of data")),
        (r"(?P<name>.+) is not UTF-8 text.*", N_("{name} is not UTF-8 text; save it as 'CSV UTF-8' and try again")),
        (r"unknown column (?P<value>.+) ignored", N_("unknown column {value} ignored")),
    )
)


def translate_file_error(message: str, language: str) -> str:
    """A whole-file problem (an :class:`ImportFileError`'s text, or a reader's warning) in ``language``."""
    found = _translated(_FILE_PATTERNS, message, language)
    return (
        found if found is not None else translator(language).gettext("The file cannot be used: {reason}").format(reason=message)
    )
