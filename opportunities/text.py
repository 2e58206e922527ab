"""Text normalisation shared by the geocoder, the vocabularies, duplicate detection and search."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Letters that Unicode decomposition does not reduce to ASCII, and characters folding deletes
# without splitting the word: Arabic tatweel (a stretched joining stroke, drawn for layout only).
_EXTRA_FOLDS = str.maketrans(
    {"ł": "l", "đ": "d", "ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "þ": "th", "ð": "d", "ı": "i", "\u0640": None}
)
# A word: letters and digits, with `#` and `+` at its end kept ("C#", "C++", "F#" stay three
# different words); elsewhere they separate words like any other punctuation.
_ASCII_WORD = re.compile(r"[0-9a-z]+(?:[#+]+(?![#+0-9a-z]))?")
# After the slow path has turned every separator into a space, anything else but `#`/`+` is a
# word character (letters, digits and the marks that carry a letter's meaning in its script).
_WORD = re.compile(r"[^ #+]+(?:[#+]+(?![^ ]))?")
_GLUE = frozenset("#+")


def _dropped_mark(combining_class: int) -> bool:
    """Is a combining mark of this canonical class a diacritic that folding drops?

    Accents above and below (acute, diaeresis, caron, ring, cedilla, ogonek, Greek tonos: classes
    200 and up), Hebrew points and Arabic harakat (10-35). Kept: marks a script cannot lose
    without becoming other words, such as the Japanese voicing marks (8), the Indic nukta and
    virama (7, 9) and Thai and Lao vowel and tone marks (103-122).
    """
    return combining_class >= 200 or 10 <= combining_class <= 35


@lru_cache(maxsize=65_536)
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
    if text.isascii():
        return " ".join(_ASCII_WORD.findall(text.lower()))
    # NFKD first so that compatibility characters (ligatures, "℡", fullwidth letters) are
    # case-folded too; the translation after casefold sees ł, ø, ß in lower case.
    folded = unicodedata.normalize("NFKD", text).casefold().translate(_EXTRA_FOLDS)
    chars: list[str] = []
    for c in unicodedata.normalize("NFKD", folded):
        category = unicodedata.category(c)
        kind = category[0]
        if kind == "L":
            chars.append(c)
        elif kind == "N":
            # "٢٠٢٦" and "2026" are the same year; other numerals (Ⅻ, ½) were decomposed above.
            chars.append(str(unicodedata.decimal(c)) if category == "Nd" else c)
        elif kind == "M":
            if not _dropped_mark(unicodedata.combining(c)):
                chars.append(c)
        elif category == "Cf":
            continue  # soft hyphens, zero-width joiners: invisible, inside a word
        else:
            chars.append(c if c in _GLUE else " ")
    # Recompose what is left (Hangul syllables, kana with their voicing marks).
    return " ".join(_WORD.findall(unicodedata.normalize("NFC", "".join(chars))))


# Everything Markdown (and Streamlit's extensions: :emoji:, :color[..], $math$, ~~strike~~) gives a meaning to.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=&^])")
_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")


def escape_markdown(text: str) -> str:
    """``text`` shown literally when rendered as Markdown: special characters escaped, on one line.

    For strings written by providers (titles, names, places). Line breaks become spaces, so a
    value cannot start a heading, a list or a block quote.
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _LINE_BREAKS.sub(" ", text))
