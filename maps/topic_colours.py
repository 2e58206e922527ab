"""The colour of each topic: the same on every map, pin and legend, with text that contrasts with it."""

from __future__ import annotations

from collections.abc import Collection

from opportunities.model import Opportunity
from opportunities.vocabulary import TOPICS

# One fixed colour per topic id, so that a topic looks the same on every map and in every legend.
TOPIC_COLOURS: dict[str, str] = {
    "arts-culture": "#d62728",
    "digital-skills": "#1f77b4",
    "media-literacy": "#9467bd",
    "science-technology": "#17becf",
    "languages": "#ff7f0e",
    "entrepreneurship": "#8c564b",
    "sustainability": "#2ca02c",
    "citizenship": "#393b79",
    "inclusion": "#e377c2",
    "wellbeing": "#bcbd22",
    "sport-outdoors": "#637939",
    "careers": "#7f7f7f",
    "international": "#843c39",
    "study": "#e7ba52",
}
NO_TOPIC_COLOUR = "#444444"


def pin_topic(opportunity: Opportunity, highlight: Collection[str] = ()) -> str | None:
    """The topic whose colour the pin wears: the first of the opportunity's topics among
    ``highlight`` (the topics the visitor filtered for), else its first topic; None without one."""
    known = [t for t in opportunity.topics if t in TOPIC_COLOURS]
    return next((t for t in known if t in highlight), known[0] if known else None)


def topic_colour(opportunity: Opportunity, highlight: Collection[str] = ()) -> str:
    """The colour of the opportunity's pin (see :func:`pin_topic`)."""
    topic = pin_topic(opportunity, highlight)
    return TOPIC_COLOURS[topic] if topic is not None else NO_TOPIC_COLOUR


def _luminance(colour: str) -> float:
    """WCAG relative luminance of a ``#rrggbb`` colour."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def text_colour_on(background: str) -> str:
    """Black or white, whichever contrasts more with ``background`` (every colour gets ≥ 4.58:1)."""
    lum = _luminance(background)
    return "#000000" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "#ffffff"


def topic_class(opportunity: Opportunity, highlight: Collection[str] = ()) -> str:
    """The CSS class of the pin's colour (see :func:`pin_topic`); "" without a topic."""
    topic = pin_topic(opportunity, highlight)
    return f"col-topic-{TOPICS.index(topic)}" if topic is not None else ""
