"""The command line: ``python -m opportunities COMMAND``. Every command honours DATABASE_URL."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from opportunities.errors import GeocodingError, ImportFileError, OpportunitiesError
from opportunities.settings import Settings, load_settings
from opportunities.vocabulary import AGE_GROUPS_BY_ID, TOPICS, Mode, OpportunityType, Status

EXIT_OK, EXIT_PARTIAL, EXIT_UNUSABLE = 0, 1, 2


def _geocoder(settings: Settings):  # type: ignore[no-untyped-def]
    from opportunities.geocoding import open_geocoder

    return open_geocoder(settings.cache_dir, settings.geocoder_online_url, settings.geocoder_user_agent)


def _engine(settings: Settings):  # type: ignore[no-untyped-def]
    from opportunities.storage import open_database

    return open_database(settings.database_url)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-12-01") from None


def _near(text: str) -> tuple[float, float]:
    try:
        lat, lon = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not LAT,LON such as 46.24,14.36") from None
    return lat, lon


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from opportunities.importing import import_file

    def progress(done: int, total: int) -> None:
        if total >= 2000:
            print(f"\r{done}/{total} rows", end="", file=sys.stderr, flush=True)

    try:
        report = import_file(Path(args.file), _engine(settings), _geocoder(settings), publish=args.publish,
                             rejects_path=Path(args.rejects) if args.rejects else None, progress=progress)  # fmt: skip
    except ImportFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    if report.total >= 2000:
        print(file=sys.stderr)
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for rejection in report.rejected:
        print(f"row {rejection.row}: {rejection.reason}", file=sys.stderr)
    print(f"stored {report.stored}, rejected {len(report.rejected)}, duplicates {len(report.duplicates)}")
    if report.rejects_path:
        print(f"rejected rows written to {report.rejects_path}")
    return EXIT_PARTIAL if report.rejected else EXIT_OK


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from opportunities.exporting import export

    status = Status(args.status) if args.status else None
    with _engine(settings).connect() as conn:
        n = export(conn, Path(args.out), fmt=args.format, city=args.city or "", status=status)
    print(f"exported {n} opportunities to {args.out}")
    return EXIT_OK


def cmd_geocode(args: argparse.Namespace, settings: Settings) -> int:
    try:
        found = _geocoder(settings).geocode_query(args.query, args.country)
    except GeocodingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{found.latitude:.5f} {found.longitude:.5f} {found.precision.value} {found.source}")
    return EXIT_OK


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from opportunities.exporting import feature_properties
    from opportunities.search import SearchQuery, search

    query = SearchQuery(
        city=args.city or "", topics=tuple(args.topic or ()), age=args.age, age_group=args.age_group or "",
        near=args.near, radius_km=args.radius_km, modes=tuple(Mode(m) for m in args.mode or ()),
        types=tuple(OpportunityType(t) for t in args.type or ()), date_from=args.date_from,
        date_to=args.date_to, free_only=args.free, language=args.language or "", text=args.text or "",
        limit=args.limit,
    )  # fmt: skip
    with _engine(settings).connect() as conn:
        for opp in search(conn, query):
            item = feature_properties(opp)
            item.update(latitude=opp.latitude, longitude=opp.longitude)
            if opp.distance_km is not None:
                item["distance_km"] = round(opp.distance_km, 3)
            print(json.dumps(item, ensure_ascii=False))
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from opportunities.demo import load_demo
    from opportunities.storage import create_db_engine, reset_database

    engine = create_db_engine(settings.database_url)
    reset_database(engine)
    report = load_demo(engine, _geocoder(settings), size=args.size, seed=settings.demo_seed)
    print(f"demo database ready: {report.stored} opportunities ({engine.url.render_as_string()})")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m opportunities", description="Cities of Learning opportunities")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("import", help="import a CSV or XLSX file in the template")
    p.add_argument("file")
    p.add_argument("--publish", action="store_true", help="publish at once (trusted import) instead of pending review")
    p.add_argument("--rejects", help="where to write rejected rows (default: FILE.rejected.csv beside FILE)")
    p.set_defaults(run=cmd_import)

    p = sub.add_parser("export", help="export opportunities")
    p.add_argument("--format", choices=("csv", "geojson", "parquet"), required=True)
    p.add_argument("out")
    p.add_argument("--city")
    p.add_argument("--status", choices=[s.value for s in Status])
    p.set_defaults(run=cmd_export)

    p = sub.add_parser("geocode", help="locate a place, postcode or address offline")
    p.add_argument("query")
    p.add_argument("--country", help="ISO 3166-1 alpha-2 code, e.g. SE")
    p.set_defaults(run=cmd_geocode)

    p = sub.add_parser("search", help="search published opportunities; one JSON object per line")
    p.add_argument("--city")
    p.add_argument("--topic", action="append", choices=TOPICS)
    ages = p.add_mutually_exclusive_group()
    ages.add_argument("--age", type=int)
    ages.add_argument("--age-group", choices=list(AGE_GROUPS_BY_ID))
    p.add_argument("--near", type=_near, metavar="LAT,LON")
    p.add_argument("--radius-km", type=float, default=10.0)
    p.add_argument("--mode", action="append", choices=[m.value for m in Mode])
    p.add_argument("--type", action="append", choices=[t.value for t in OpportunityType])
    p.add_argument("--from", dest="date_from", type=_date)
    p.add_argument("--to", dest="date_to", type=_date)
    p.add_argument("--free", action="store_true")
    p.add_argument("--language")
    p.add_argument("--text")
    p.add_argument("--limit", type=int, default=100)
    p.set_defaults(run=cmd_search)

    p = sub.add_parser("demo", help="create (or recreate) the demo database")
    p.add_argument("--size", type=int, default=400)
    p.set_defaults(run=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        return int(args.run(args, settings))
    except OpportunitiesError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
