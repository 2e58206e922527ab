"""How far the address step lands from the truth, on real addresses it has not seen.

A fifth of the real address points of Warsaw, Ljubljana, Maribor and Kranj (``data/demo-addresses``,
the shared ground truth; chosen with a fixed seed) is held out, and each held-out address is written
in another form than the register's (postcode ``00-901`` → ``00901``/``00 901``, ``1000`` →
``SI-1000``; house number ``36A`` → ``36 a``; ``cesta`` → ``c.``, ``ulica`` → ``ul.``, a ``ul.``
prefix in Warsaw). They are geocoded three ways in the same run:

- ``holdout``: with the index built from the other four fifths: their own points are unknown, so
  they are placed by interpolation between their street's neighbours or at the street's middle;
- ``full``: with the index of every point: exact matches, through the other written form;
- ``without``: without an address index, as before this step existed (postcode, place, city).

For each run: the share at each precision, and the distance to the true point: within 50 m, 250 m
and 1 km, median and 90th percentile, and how often the stated uncertainty covers it.

Run: ``python -m benchmarks --only holdout`` or ``python -m benchmarks.address_holdout``.
"""

from __future__ import annotations

import csv
import random
import re
import statistics
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from opportunities.demo.generator import REAL_ADDRESS_DIR, REAL_ADDRESS_FILES
from opportunities.places.address_index import AddressIndex, load_files
from opportunities.places.gazetteer import haversine_km
from opportunities.places.geocoding import Geocoder, open_geocoder
from opportunities.settings import load_settings

SEED = 8
HOLD_OUT = 0.2
COUNTRY = {"Warszawa": "PL", "Ljubljana": "SI", "Maribor": "SI", "Kranj": "SI"}
_NOT_UL = ("aleja", "aleje", "plac", "osiedle", "rondo", "skwer", "bulwar", "park", "al.", "pl.", "os.")


def rewrite(row: dict[str, str], country: str, rng: random.Random) -> str:
    """The address as a provider might write it: house number or postcode (or both) in another
    form than the register's, sometimes the street type abbreviated."""
    street, house, postcode = row["street"], row["housenumber"], row["postcode"]
    change = rng.choice(("house", "postcode", "both"))
    if change in ("house", "both"):
        match = re.fullmatch(r"(\d+)\s?([A-Za-z])", house)
        house = f"{match[1]} {match[2].swapcase()}" if match else (f"nr {house}" if country == "PL" else house)
    if change in ("postcode", "both") or house == row["housenumber"]:
        postcode = rng.choice((postcode.replace("-", ""), postcode.replace("-", " "))) if country == "PL" else f"SI-{postcode}"
    if rng.random() < 0.5:
        if country == "SI":
            street = re.sub(r"\bcesta\b", "c.", re.sub(r"\bulica\b", "ul.", street))
        elif not street.lower().startswith(_NOT_UL):
            street = f"ul. {street}"
    return f"{street} {house}, {postcode} {row['city']}"


def _rows() -> dict[str, list[dict[str, str]]]:
    found = {}
    for city, name in REAL_ADDRESS_FILES.items():
        with (REAL_ADDRESS_DIR / name).open(encoding="utf-8", newline="") as fh:
            found[city] = list(csv.DictReader(fh))
    return found


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["street", "housenumber", "postcode", "city", "lat", "lon"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def _summary(errors: dict[str, list[tuple[float, int | None]]], total: int) -> dict[str, Any]:
    out = {}
    for precision, found in sorted(errors.items()):
        metres = sorted(e for e, _ in found)
        n = len(metres)
        out[precision] = {
            "n": n,
            "share": round(n / total, 3),
            "within_50m": round(sum(m <= 50 for m in metres) / n, 3),
            "within_250m": round(sum(m <= 250 for m in metres) / n, 3),
            "within_1km": round(sum(m <= 1000 for m in metres) / n, 3),
            "median_m": round(statistics.median(metres)),
            "p90_m": round(metres[min(n - 1, int(0.9 * n))]),
            "covered_by_uncertainty": round(sum(e <= (u or 0) for e, u in found) / n, 3),
        }
    return out


def _geocode(geocoder: Geocoder, held: list[tuple[str, str, dict[str, str]]]) -> dict[str, list[tuple[float, int | None]]]:
    errors: dict[str, list[tuple[float, int | None]]] = defaultdict(list)
    for city, written, truth in held:
        found = geocoder.locate(country=COUNTRY[city], city=city, address=written)
        metres = 1000 * haversine_km(found.latitude, found.longitude, float(truth["lat"]), float(truth["lon"]))
        # Street matches by how they were found: "street (interpolated)", "street (middle)".
        how = found.source.split(":")[2] if found.source.count(":") >= 2 and found.source.startswith("addresses:") else ""
        errors[f"{found.precision.value} ({how})" if how else found.precision.value].append((metres, found.uncertainty_m))
    return errors


def run(cache_dir: Path) -> dict[str, Any]:
    rng = random.Random(SEED)
    plain = open_geocoder(cache_dir)
    held: list[tuple[str, str, dict[str, str]]] = []
    kept: dict[str, list[dict[str, str]]] = {}
    everything = _rows()
    for city, rows in everything.items():
        chosen = set(rng.sample(range(len(rows)), round(HOLD_OUT * len(rows))))
        kept[city] = [r for i, r in enumerate(rows) if i not in chosen]
        held += [(city, rewrite(rows[i], COUNTRY[city], rng), rows[i]) for i in sorted(chosen)]
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        rest = [_write(work / f"{city.lower()}_rest.csv", rows) for city, rows in kept.items()]
        load_files(rest, work / "rest", plain.gazetteer)
        full = [_write(work / f"{city.lower()}_all.csv", rows) for city, rows in everything.items()]
        load_files(full, work / "full", plain.gazetteer)
        runs = {
            "holdout": _geocode(plain.with_addresses(AddressIndex.open(work / "rest")), held),
            "full": _geocode(plain.with_addresses(AddressIndex.open(work / "full")), held),
            "without": _geocode(plain, held),
        }
    by_city = {city: sum(c == city for c, _, _ in held) for city in everything}
    return {"seed": SEED, "held_out": len(held), "by_city": by_city,
            "examples": [w for _, w, _ in held[:: max(1, len(held) // 6)]][:6],
            **{name: _summary(errors, len(held)) for name, errors in runs.items()}}  # fmt: skip


def table(result: dict[str, Any]) -> str:
    """The figures as a Markdown table."""
    lines = [
        f"held out: {result['held_out']} addresses {result['by_city']} (seed {result['seed']})",
        "| run | precision | share | ≤50 m | ≤250 m | ≤1 km | median | p90 | covered by uncertainty |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in ("holdout", "full", "without"):
        for precision, s in result[name].items():
            lines.append(
                f"| {name} | {precision} | {s['share']:.1%} ({s['n']}) | {s['within_50m']:.0%} | "
                f"{s['within_250m']:.0%} | {s['within_1km']:.0%} | {s['median_m']} m | {s['p90_m']} m | "
                f"{s['covered_by_uncertainty']:.0%} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(run(load_settings().cache_dir)))
