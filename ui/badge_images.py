"""The badge pictures a provider chooses from (``static/badges/*.svg``), and the ``data:`` URL a
credential carries: the picture travels with the badge, so it shows offline and anywhere."""

from __future__ import annotations

import base64
import functools
from pathlib import Path

from opportunities.i18n import N_

FOLDER = Path(__file__).resolve().parents[1] / "static" / "badges"
# name -> msgid of what it shows (the name of a choice in the picture menu).
IMAGES: dict[str, str] = {
    "star": N_("Star"),
    "book": N_("Book"),
    "code": N_("Code"),
    "palette": N_("Palette"),
    "leaf": N_("Leaf"),
    "compass": N_("Compass"),
}
DATA_URL_PREFIX = "data:image/svg+xml;base64,"


@functools.cache
def data_url(name: str) -> str:
    """The picture ``name`` as a ``data:`` URL (KeyError for a name not in :data:`IMAGES`)."""
    if name not in IMAGES:
        raise KeyError(name)
    return DATA_URL_PREFIX + base64.b64encode((FOLDER / f"{name}.svg").read_bytes()).decode("ascii")


def name_of(url: str) -> str | None:
    """Which bundled picture a stored image URL is (None for any other)."""
    return next((name for name in IMAGES if data_url(name) == url), None)


def svg(name: str) -> str:
    """The picture's SVG text (ours, no script), to show inline."""
    return data_url(name) and (FOLDER / f"{name}.svg").read_text(encoding="utf-8")
