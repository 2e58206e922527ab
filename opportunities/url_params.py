"""Search filters as URL query parameters, so that a filtered view is a shareable link.

Parameters: ``city`` (a city name), ``topic`` (repeatable; an id or a label in any UI language),
``age`` (an age group id such as ``teens``, or an exact age such as ``15``) and ``free`` (``1``).
A link is written by people and may be hostile: unusable values are dropped, each with a message.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from opportunities.search import SearchQuery
from opportunities.text import fold
from opportunities.vocabulary import AGE_GROUPS_BY_ID, topic_from_text

MAX_AGE = 120
# Longer values are certainly not a city, a topic or an age; they are not even looked at.
MAX_VALUE_LENGTH = 100
MAX_TOPICS = 20


@dataclass(frozen=True)
class Filters:
    """The explore page's filters. Empty fields do not filter."""

    city: str = ""
    topics: tuple[str, ...] = ()
    age_group: str = ""
    age: int | None = None
    free_only: bool = False

    def to_query(self, *, limit: int) -> SearchQuery:
        """The search for these filters, returning at most ``limit`` opportunities."""
        return SearchQuery(
            city=self.city,
            topics=self.topics,
            age_group=self.age_group,
            age=self.age,
            free_only=self.free_only,
            limit=limit,
        )

    def to_params(self) -> dict[str, str | list[str]]:
        """URL parameters for these filters (only the ones that filter)."""
        params: dict[str, str | list[str]] = {}
        if self.city:
            params["city"] = self.city
        if self.topics:
            params["topic"] = list(self.topics)
        if self.age is not None:
            params["age"] = str(self.age)
        elif self.age_group:
            params["age"] = self.age_group
        if self.free_only:
            params["free"] = "1"
        return params


def _shown(value: str) -> str:
    """A short, harmless rendering of a user-written value for a message (no markup survives)."""
    kept = "".join(c for c in value[:40] if c.isalnum() or c in " -_.,")
    return f"“{kept}”" if kept else "(unreadable)"


def filters_from_params(params: Mapping[str, Sequence[str]], *, cities: Collection[str]) -> tuple[Filters, list[str]]:
    """Filters read from URL parameters, and a message for each value that was ignored.

    ``params`` maps each name to all its values; ``cities`` are the known city names (matched
    without regard to case or diacritics). Unknown parameter names are ignored silently.
    """
    problems: list[str] = []

    def last(name: str) -> str:
        values = [v.strip() for v in params.get(name, ()) if v.strip()]
        if not values:
            return ""
        if len(values[-1]) > MAX_VALUE_LENGTH:
            problems.append(f"The {name} in the link is too long and was ignored.")
            return ""
        return values[-1]

    city = ""
    wanted_city = last("city")
    if wanted_city:
        by_key = {fold(c): c for c in cities}
        city = by_key.get(fold(wanted_city), "")
        if not city:
            problems.append(f"The city {_shown(wanted_city)} in the link is not on the map; showing all cities.")

    topics: list[str] = []
    for raw in list(params.get("topic", ()))[:MAX_TOPICS]:
        for part in raw.split(","):
            text = part.strip()
            if not text:
                continue
            topic = topic_from_text(text) if len(text) <= MAX_VALUE_LENGTH else None
            if topic is None:
                problems.append(f"The topic {_shown(text)} in the link is unknown and was ignored.")
            elif topic not in topics:
                topics.append(topic)

    age: int | None = None
    age_group = ""
    wanted_age = last("age")
    if wanted_age:
        if wanted_age.isdecimal() and wanted_age.isascii() and int(wanted_age) <= MAX_AGE:
            age = int(wanted_age)
        elif wanted_age.lower() in AGE_GROUPS_BY_ID:
            age_group = wanted_age.lower()
        else:
            groups = ", ".join(AGE_GROUPS_BY_ID)
            problems.append(
                f"The age {_shown(wanted_age)} in the link was ignored: use a number from 0 to {MAX_AGE} or one of {groups}."
            )

    free = last("free").lower()
    if free and free not in {"1", "true", "yes", "0", "false", "no"}:
        problems.append(f"The free filter {_shown(free)} in the link was ignored: use 1 or 0.")
    return Filters(city, tuple(topics), age_group, age, free in {"1", "true", "yes"}), problems
