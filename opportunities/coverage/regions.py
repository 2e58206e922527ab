"""Regions of the network: the regional networks a city belongs to, for indicators and reports.

A region is a named set of cities. The network's regional networks are listed in :data:`REGIONS`
(Västra Götaland and Gävleborg in Sweden, Slovenija, Mazowsze in Poland: the network's data, which
the demo's cities follow); a
city that no list names belongs to the region of its country, named by the country's English name
(so every city is in exactly one region and a new city is never left out of the network's sums).
"""

from __future__ import annotations

from collections.abc import Iterable

from babel import Locale

from opportunities.model import City
from opportunities.text import fold

# Region name → (country code, city name) of its cities.
REGIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "Västra Götaland": (("SE", "Göteborg"), ("SE", "Borås"), ("SE", "Trollhättan"), ("SE", "Uddevalla")),
    "Gävleborg": (("SE", "Bollnäs"), ("SE", "Hudiksvall"), ("SE", "Söderhamn"), ("SE", "Ljusdal")),
    "Slovenija": (("SI", "Ljubljana"), ("SI", "Kranj"), ("SI", "Maribor"), ("SI", "Novo mesto")),
    "Mazowsze": (("PL", "Warszawa"), ("PL", "Płock"), ("PL", "Radom"), ("PL", "Siedlce")),
}

_REGION_OF: dict[tuple[str, str], str] = {
    (country, fold(name)): region for region, members in REGIONS.items() for country, name in members
}


def region_of(city: City) -> str:
    """The region ``city`` belongs to: its listed regional network, else its country."""
    return region_name(city.country, city.name)


def region_name(country: str, city_name: str) -> str:
    """The region of the city named ``city_name`` in ``country`` (see :func:`region_of`)."""
    listed = _REGION_OF.get((country.upper(), fold(city_name)))
    if listed is not None:
        return listed
    return str(Locale("en").territories.get(country.upper(), country.upper()))


def regions(cities: Iterable[City]) -> dict[str, list[City]]:
    """Region name → its cities among ``cities`` (regions without any are left out), sorted by name."""
    found: dict[str, list[City]] = {}
    for city in cities:
        found.setdefault(region_of(city), []).append(city)
    return {name: sorted(found[name], key=lambda c: fold(c.name)) for name in sorted(found, key=fold)}
