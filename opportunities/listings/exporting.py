"""Export: CSV and XLSX in the import template (both round-trip), GeoJSON (RFC 7946) and GeoParquet.

Text cells of the CSV and XLSX files are guarded against formula injection
(:mod:`opportunities.listings.cells`); importing them strips the guard again.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from opportunities.db import queries
from opportunities.db.schema import cities, opportunities
from opportunities.errors import N_, FieldError, because
from opportunities.listings.cells import GUARD, guard_formula, unguard_formula
from opportunities.model import Opportunity
from opportunities.places.gazetteer import coordinate_decimals
from opportunities.text import fold
from opportunities.validation import ALL_COLUMNS
from opportunities.vocabulary import Status

FORMATS = ("csv", "xlsx", "geojson", "parquet")
# Template columns that hold numbers we formatted ourselves: written as numbers, never guarded
# (a longitude of -0.12 must stay a number in a spreadsheet).
NUMERIC_COLUMNS = frozenset({"latitude", "longitude", "age_min", "age_max", "cost"})
_BATCH = 5000
# Characters XML 1.0 cannot hold (all controls but tab and line breaks): an XLSX cell drops them.
_NOT_IN_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def iter_opportunities(conn: Connection, *, city: str = "", status: Status | None = None) -> Iterator[Opportunity]:
    """Every stored opportunity (optionally of one city and status), in id order, in batches."""
    last_id = 0
    while True:
        stmt = select(*queries.opportunity_columns()).select_from(queries.joined_opportunities())
        stmt = stmt.where(opportunities.c.id > last_id)
        if city:
            stmt = stmt.where(cities.c.name_key == fold(city))
        if status is not None:
            stmt = stmt.where(opportunities.c.status == status.value)
        rows = conn.execute(stmt.order_by(opportunities.c.id).limit(_BATCH)).all()
        if not rows:
            return
        yield from queries.load_opportunities(conn, rows)
        last_id = rows[-1].id


def _when(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    return value.isoformat()


def template_row(opp: Opportunity) -> dict[str, str]:
    """The opportunity as a row of the import template."""
    decimals = coordinate_decimals(opp.uncertainty_m)  # "46.24" stays "46.24", as vague as given
    return {
        "title": opp.title, "description": opp.description, "provider": opp.provider,
        "city": opp.city, "country": opp.country, "address": opp.address,
        # Approximate locations are not exported as coordinates: re-importing finds them again
        # with the same precision instead of turning them into "provided" points.
        "latitude": f"{opp.latitude:.{decimals}f}" if opp.latitude is not None and opp.precision == "provided" else "",
        "longitude": f"{opp.longitude:.{decimals}f}" if opp.longitude is not None and opp.precision == "provided" else "",
        "topics": ";".join(opp.topics), "age_min": str(opp.age_min),
        "age_max": "" if opp.age_max is None else str(opp.age_max), "mode": opp.mode.value,
        "type": opp.type.value, "start": _when(opp.start), "end": _when(opp.end),
        "schedule": opp.schedule, "cost": "0" if opp.is_free else f"{opp.cost}",
        "currency": opp.currency, "languages": ";".join(opp.languages), "url": opp.url,
        "contact_email": opp.contact_email, "venue": opp.venue, "accessibility": opp.accessibility,
    }  # fmt: skip


def feature_properties(opp: Opportunity, source: tuple[str, str] | None = None) -> dict[str, Any]:
    """The GeoJSON/GeoParquet properties; an opportunity harvested from another publisher's feed
    also carries its ``source`` (the attribution) and ``license`` (its URL)."""
    row: dict[str, Any] = template_row(opp)
    del row["latitude"], row["longitude"]
    row.update(
        id=opp.id, topics=list(opp.topics), languages=list(opp.languages), age_min=opp.age_min,
        age_max=opp.age_max, cost=float(opp.cost), status=opp.status.value,
        precision=opp.precision.value if opp.precision else None, location_source=opp.location_source,
        uncertainty_m=opp.uncertainty_m, age_groups=list(opp.age_groups),
    )  # fmt: skip
    if source is not None:
        row.update(source=source[0], license=source[1])
    return row


def feature(opp: Opportunity, source: tuple[str, str] | None = None) -> dict[str, Any]:
    """The opportunity as a GeoJSON Feature (a point, or a null geometry when online): the export's
    and the OGC API's (:mod:`opportunities.feeds.features`), so both give a GIS the same fields
    (``source``: the attribution and licence of one harvested from another publisher's feed)."""
    geometry = (
        {"type": "Point", "coordinates": [round(opp.longitude, 7), round(opp.latitude, 7)]}
        if opp.latitude is not None and opp.longitude is not None
        else None
    )
    return {"type": "Feature", "id": opp.id, "geometry": geometry, "properties": feature_properties(opp, source)}


def spreadsheet_row(opp: Opportunity) -> dict[str, str]:
    """The template row as written to a CSV or XLSX file: every text cell guarded."""
    return {k: v if k in NUMERIC_COLUMNS else guard_formula(v) for k, v in template_row(opp).items()}


def write_csv(opps: Iterator[Opportunity], out: Path) -> int:
    """RFC 4180 CSV (comma, doubled quotes, CRLF) in the import template, UTF-8 with a byte-order
    mark: without it, Excel opens the file as the locale's ANSI code page and garbles å, ł, č, Cyrillic."""
    with out.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(ALL_COLUMNS))
        writer.writeheader()
        n = 0
        for opp in opps:
            writer.writerow(spreadsheet_row(opp))
            n += 1
    return n


def _xlsx_value(column: str, text: str) -> str | int | float:
    # Coordinates stay text: their decimals say how exact they are (import reads them so), and
    # a number cell keeps no trailing zeros ("57.7000" would come back 787 m vague, not 8 m).
    if column in NUMERIC_COLUMNS and column not in ("latitude", "longitude") and text:
        number = float(text)
        return int(number) if number.is_integer() else number
    return _NOT_IN_XML.sub("", text)


def _xlsx_text(sheet: Any, guarded: str) -> Any:
    """A text cell as Excel stores one typed with a leading ``'``: a string (never a formula) with
    the quote-prefix style, so a provider sees ``=1+2 je tri`` and editing it keeps it text.

    The ``'`` that :func:`guard_formula` added for CSV is dropped, unless the text itself starts with
    ``'`` (then the reader, which strips one, must find it doubled, as in CSV).
    """
    from openpyxl.cell import WriteOnlyCell

    text = _NOT_IN_XML.sub("", guarded)
    plain = unguard_formula(text)
    cell = WriteOnlyCell(sheet, value=plain if not plain.startswith(GUARD) else text)
    cell.data_type = "s"
    if plain != text:
        cell.quotePrefix = True
    return cell


def write_xlsx(opps: Iterator[Opportunity], out: Path) -> int:
    """An .xlsx in the import template, streamed (openpyxl write-only): numbers as numbers (coordinates
    as text, see _xlsx_value), text as text."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("opportunities")
    sheet.append(list(ALL_COLUMNS))
    n = 0
    for opp in opps:
        row = spreadsheet_row(opp)
        sheet.append([_xlsx_value(c, row[c]) if c in NUMERIC_COLUMNS else _xlsx_text(sheet, row[c]) for c in ALL_COLUMNS])
        n += 1
    book.save(out)
    return n


def write_geojson(opps: Iterator[Opportunity], out: Path, sources: Mapping[int, tuple[str, str]] | None = None) -> int:
    """RFC 7946 FeatureCollection; online opportunities have a null geometry; ``sources`` credit
    the harvested ones (:func:`feature_properties`)."""
    sources = sources or {}
    n = 0
    with out.open("w", encoding="utf-8") as fh:
        fh.write('{"type":"FeatureCollection","features":[\n')
        for opp in opps:
            fh.write(("," if n else "") + json.dumps(feature(opp, sources.get(opp.id or 0)), ensure_ascii=False) + "\n")
            n += 1
        fh.write("]}\n")
    return n


def write_parquet(opps: Iterator[Opportunity], out: Path, sources: Mapping[int, tuple[str, str]] | None = None) -> int:
    """GeoParquet (WGS 84) through geopandas; ``sources`` as for :func:`write_geojson`."""
    sources = sources or {}
    import geopandas as gpd
    from shapely.geometry import Point

    records, points = [], []
    for opp in opps:
        records.append(feature_properties(opp, sources.get(opp.id or 0)))
        points.append(Point(opp.longitude, opp.latitude) if opp.latitude is not None and opp.longitude is not None else None)
    frame = gpd.GeoDataFrame(records, geometry=points, crs="EPSG:4326")
    frame.to_parquet(out)
    return len(records)


def export(conn: Connection, out: Path, *, fmt: str, city: str = "", status: Status | None = None) -> int:
    """Write the selected opportunities to ``out`` in ``fmt``; returns how many were written."""
    writers = {"csv": write_csv, "xlsx": write_xlsx, "geojson": write_geojson, "parquet": write_parquet}
    if fmt not in writers:
        raise FieldError("format", because(N_("{value} is not one of: {limit}"), value=repr(fmt), limit=", ".join(FORMATS)))
    out.parent.mkdir(parents=True, exist_ok=True)
    selected = iter_opportunities(conn, city=city, status=status)
    if fmt in ("geojson", "parquet"):  # the template's spreadsheets keep their columns: they are imported again
        sources = queries.harvested_sources(conn)
        return write_geojson(selected, out, sources) if fmt == "geojson" else write_parquet(selected, out, sources)
    return writers[fmt](selected, out)
