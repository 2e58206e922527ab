"""Text normalisation shared by the geocoder, the vocabularies, duplicate detection and search."""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

# Letters that Unicode decomposition does not reduce to ASCII, and characters folding deletes
# without splitting the word: Arabic tatweel (a stretched joining stroke, drawn for layout only).
_EXTRA_FOLDS: dict[int, str | None] = str.maketrans(
    {"ł": "l", "đ": "d", "ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "þ": "th", "ð": "d", "ı": "i", "\u0640": None}
)
_GLUE = "#+"
# A word: letters and digits, with `#` and `+` at its end kept ("C#", "C++", "F#" stay three
# different words); elsewhere they separate words like any other punctuation.
_ASCII_WORD = re.compile(r"[0-9a-z]+(?:[#+]+(?![#+0-9a-z]))?")
_ASCII_SEPARATORS = re.compile(r"[^0-9a-z]+")
# After the character table below has turned every separator into a space, anything else but
# `#`/`+` is a word character (letters, digits and the marks that carry a letter's meaning).
_WORD = re.compile(r"[^ #+]+(?:[#+]+(?![^ ]))?")


def _dropped_mark(combining_class: int) -> bool:
    """Is a combining mark of this canonical class a diacritic that folding drops?

    Accents above and below (acute, diaeresis, caron, ring, cedilla, ogonek, Greek tonos: classes
    200 and up), Hebrew points and Arabic harakat (10-35). Kept: marks a script cannot lose
    without becoming other words, such as the Japanese voicing marks (8), the Indic nukta and
    virama (7, 9) and Thai and Lao vowel and tone marks (103-122).
    """
    return combining_class >= 200 or 10 <= combining_class <= 35


class _CharacterFolds(dict[int, "str | int | None"]):
    """``str.translate`` table for decomposed, case-folded text, filled on first sight of a character.

    Letters and kept marks stay, decimal digits of any script become ASCII digits, dropped marks
    and invisible format characters (soft hyphen, zero-width joiners) vanish, `#` and `+` stay,
    anything else becomes a space. One dictionary look-up per character once seen.
    """

    def __missing__(self, code: int) -> str | int | None:
        char = chr(code)
        category = unicodedata.category(char)
        value: str | int | None
        if code in _EXTRA_FOLDS:
            value = _EXTRA_FOLDS[code]
        elif category == "Nd":
            value = str(unicodedata.decimal(char))  # "٢٠٢٦" and "2026" are the same year
        elif category[0] in "LN" or char in _GLUE:
            value = code
        elif category[0] == "M":
            value = None if _dropped_mark(unicodedata.combining(char)) else code
        elif category == "Cf":
            value = None
        else:
            value = " "
        self[code] = value
        return value


_CHARACTER_FOLDS = _CharacterFolds()


# Texts up to this length (names, titles, addresses: repeated across rows and queries) are
# remembered; longer ones (descriptions, folded once for search) are not, so the cache of 65,536
# entries stays a few megabytes.
_CACHED_LENGTH = 300


def fold(text: str) -> str:
    """The matching form of ``text``: ``"Göteborg"`` → ``"goteborg"``, ``"КОДУВАННЯ"`` → ``"кодування"``.

    Case-, accent-, width- and punctuation-insensitive; letters and digits of every script are
    kept. Compatibility forms are decomposed (NFKD) and case-folded; accents are dropped
    (``"Kraków"`` → ``"krakow"``, ``"Αθήνα"`` → ``"αθηνα"``); letters that do not decompose take
    their ASCII form (``ł`` → ``l``, ``ß`` → ``ss``); decimal digits of any script become ASCII
    digits. Words are separated by single spaces; ``#`` and ``+`` ending a word stay
    (``"C#"`` ≠ ``"C++"``). Stable: ``fold(fold(s)) == fold(s)``. Keys stored in the database
    (``name_key``, ``dedup_key``, ``search_text``) are made with this function.
    """
    return _fold_cached(text) if len(text) <= _CACHED_LENGTH else _fold(text)


def _fold(text: str) -> str:
    if text.isascii():
        lowered = text.lower()
        if "#" in lowered or "+" in lowered:
            return " ".join(_ASCII_WORD.findall(lowered))
        return _ASCII_SEPARATORS.sub(" ", lowered).strip()
    # Caseless matching as Unicode defines it (NFKD, case fold, NFKD again): compatibility
    # characters (ligatures, "℡", fullwidth letters) are case-folded too.
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    # Recompose what is left (Hangul syllables, kana with their voicing marks).
    kept = unicodedata.normalize("NFC", decomposed.translate(_CHARACTER_FOLDS))
    return " ".join(_WORD.findall(kept))


_fold_cached = lru_cache(maxsize=65_536)(_fold)


# Everything Markdown (and Streamlit's extensions: :emoji:, :color[..], $math$, ~~strike~~) gives a meaning to.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=&^])")
_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")
# GFM's autolink literals ("www.", "https://", "name@host") are found in the text after escapes
# are resolved, so no escape stops them; an invisible word joiner inside each trigger does.
_AUTOLINK_TRIGGERS = re.compile(r"(?i)(?<=www)(?=\.)|(?=://)|(?=@)")
WORD_JOINER = "\u2060"


def escape_markdown(text: str) -> str:
    """``text`` shown literally when rendered as Markdown: special characters escaped, on one line.

    For strings written by providers (titles, names, places). Line breaks become spaces, so a
    value cannot start a heading, a list or a block quote; no address becomes a live link (a
    :data:`WORD_JOINER` is put into "www.", "://" and "@").
    """
    unlinked = _AUTOLINK_TRIGGERS.sub(WORD_JOINER, _LINE_BREAKS.sub(" ", text))
    return _MARKDOWN_SPECIAL.sub(r"\\\1", unlinked)


_UNSAFE_IN_FILE_NAMES = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]+")


def isolated_html(text: str) -> str:
    """Provider-written ``text`` HTML-escaped and isolated in ``<bdi>``: a right-to-left name (Arabic,
    Hebrew) keeps its direction without reordering the dates and numbers beside it."""
    return f"<bdi>{html.escape(text)}</bdi>"


def safe_file_name(name: str, fallback: str = "file") -> str:
    """``name`` as a file name any browser and system accepts: only its last path part, control and
    bidirectional-override characters and the characters Windows forbids removed, at most 100
    characters; ``fallback`` when nothing is left (a name of only dots or separators)."""
    last = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE_IN_FILE_NAMES.sub("", last).strip(" .")
    return cleaned[:100] or fallback


# Characters that change how text around them is shown without being seen: bidirectional embeddings,
# overrides and isolates (U+202E turns "cod.exe" into "exe.doc"), and zero-width spaces. The joiners
# U+200C and U+200D are left alone: Persian, Indic scripts and emoji need them.
_HIDDEN_CONTROLS = re.compile(r"[\u200b\u202a-\u202e\u2066-\u2069\ufeff]")


def has_hidden_controls(text: str) -> bool:
    """Whether ``text`` holds a bidirectional override, embedding or isolate, or a zero-width space."""
    return _HIDDEN_CONTROLS.search(text) is not None


def without_hidden_controls(text: str) -> str:
    """``text`` without the characters :func:`has_hidden_controls` finds: for places that cannot
    isolate them, such as a mail's subject, a spreadsheet cell or a file name."""
    return _HIDDEN_CONTROLS.sub("", text)
