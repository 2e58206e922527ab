"""Opportunities located only approximately (a city, a locality, a postcode): how far off each may
be, and one area per centre point, with its label, drawn as a circle instead of a pin."""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from opportunities.i18n import format_number, translator
from opportunities.model import Opportunity
from opportunities.text import isolated_html
from opportunities.vocabulary import Precision
from opportunities.vocabulary import is_approximate as _vague

# Radius of an approximate circle: how far from the centre the activity may really be. Locations
# carry their own uncertainty; these are for ones stored before it was recorded.
APPROXIMATE_RADIUS_M = {Precision.CITY: 2500, Precision.LOCALITY: 1000, Precision.POSTCODE: 1000}
DEFAULT_APPROXIMATE_RADIUS_M = 1000


@dataclass(frozen=True)
class ApproximateArea:
    """Opportunities located only at the centre of a city or locality, shown as one circle."""

    latitude: float
    longitude: float
    city: str
    precision: Precision
    opportunities: tuple[Opportunity, ...]  # all of them, or the first few when ``total`` says more
    total: int = 0
    uncertainty_m: int | None = None  # the largest of its members'; None: from ``precision``
    badge: tuple[float, float] | None = None  # where its count sits; None: on the circle's northern rim

    @property
    def radius_m(self) -> int:
        """The circle's radius: how far from its centre an activity may really be."""
        if self.uncertainty_m is not None:
            return self.uncertainty_m
        return APPROXIMATE_RADIUS_M.get(self.precision, DEFAULT_APPROXIMATE_RADIUS_M)

    @property
    def count(self) -> int:
        """How many opportunities the area stands for."""
        return max(self.total, len(self.opportunities))

    @property
    def label(self) -> str:
        """Plain text, e.g. ``12 activities in Kranj (approximate location)``."""
        return self.label_in("en")

    def label_in(self, language: str) -> str:
        """The label in ``language``, e.g. ``12 aktiviteter i Kranj (ungefärlig plats)``."""
        return self._label_template(language).format(count=format_number(self.count, language), city=self.city)

    def label_html_in(self, language: str) -> str:
        """The label as HTML: escaped, the city name isolated in ``<bdi>``."""
        count = html.escape(format_number(self.count, language))
        return html.escape(self._label_template(language)).format(count=count, city=isolated_html(self.city))

    def _label_template(self, language: str) -> str:
        ngettext = translator(language).ngettext
        return ngettext(
            "{count} activity in {city} (approximate location)", "{count} activities in {city} (approximate location)", self.count
        )


def is_approximate(opportunity: Opportunity) -> bool:
    """True when the location is not known to within vocabulary.PIN_MAX_UNCERTAINTY_M: drawn
    as an approximate area, never as an exact pin."""
    return _vague(opportunity.precision, opportunity.uncertainty_m)


def uncertainty_radius_m(opportunity: Opportunity) -> int:
    """How far off an approximately located opportunity may be (by its precision when unknown)."""
    if opportunity.uncertainty_m is not None:
        return opportunity.uncertainty_m
    if opportunity.precision is None:
        return DEFAULT_APPROXIMATE_RADIUS_M
    return APPROXIMATE_RADIUS_M.get(opportunity.precision, DEFAULT_APPROXIMATE_RADIUS_M)


def approximate_areas(opportunities: Sequence[Opportunity]) -> list[ApproximateArea]:
    """Approximately located opportunities grouped by centre point, largest group first."""
    groups: dict[tuple[float, float], list[Opportunity]] = defaultdict(list)
    for opp in opportunities:
        if opp.latitude is not None and opp.longitude is not None and is_approximate(opp):
            groups[(round(opp.latitude, 4), round(opp.longitude, 4))].append(opp)
    areas = []
    for (lat, lon), members in groups.items():
        city = Counter(o.city for o in members).most_common(1)[0][0]
        # A group mixing precisions is drawn as the vaguest, as wide as its vaguest member.
        precision = max((o.precision or Precision.CITY for o in members), key=list(Precision).index)
        radius = max(uncertainty_radius_m(o) for o in members)
        areas.append(ApproximateArea(lat, lon, city, precision, tuple(members), uncertainty_m=radius))
    areas.sort(key=lambda a: (-a.count, a.city, a.latitude, a.longitude))
    return areas
