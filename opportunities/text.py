"""Text normalisation shared by the geocoder, the vocabularies and duplicate detection."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Letters that Unicode decomposition does not reduce to ASCII.
_EXTRA_FOLDS = str.maketrans(
    {"ł": "l", "đ": "d", "ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "þ": "th", "ð": "d", "ı": "i"}
)
_NON_ALNUM = re.compile(r"[^0-9a-z]+")


@lru_cache(maxsize=65_536)
def fold(text: str) -> str:
    """Case-, diacritics- and punctuation-insensitive form: ``"Göteborg"`` → ``"goteborg"``."""
    if text.isascii():
        return _NON_ALNUM.sub(" ", text.lower()).strip()
    lowered = text.casefold().translate(_EXTRA_FOLDS)
    decomposed = unicodedata.normalize("NFKD", lowered)
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NON_ALNUM.sub(" ", ascii_only).strip()


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
