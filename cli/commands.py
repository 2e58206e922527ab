"""The command line: ``python -m opportunities COMMAND``. Every command honours DATABASE_URL."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine

from cli import badges as badges_cli
from cli.database import opened_engine as _engine
from opportunities.errors import GeocodingError, ImportFileError, NotFoundError, OpportunitiesError
from opportunities.settings import Settings, load_settings
from opportunities.vocabulary import AGE_GROUPS_BY_ID, LANGUAGES, PIN_MAX_UNCERTAINTY_M, TOPICS, Mode, OpportunityType, Status

if TYPE_CHECKING:
    from opportunities.explore.search import SearchQuery
    from opportunities.feeds.harvesting import Feed
    from opportunities.model import City
    from opportunities.places.geocoding import Geocoder
    from opportunities.progress import Progress

# Exit codes, documented in docs/operating/command-line.md. 2 is also argparse's code for a
# wrong command line: either way nothing was done because the input cannot be used.
EXIT_OK = 0
EXIT_PARTIAL = 1  # import: some rows were rejected (the others are stored); geocode: nothing found
EXIT_UNUSABLE = 2  # the file, an argument or a setting cannot be used; nothing was changed
EXIT_DATABASE = 3  # the database could not be opened, or stayed busy longer than DATABASE_BUSY_TIMEOUT_S
EXIT_FILE = 4  # a file or folder could not be read or written
EXIT_INTERNAL = 70  # a defect of this program (EX_SOFTWARE in sysexits.h)
EXIT_INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT, as shells report it


def _geocoder(settings: Settings, progress: Progress | None = None) -> Geocoder:
    """The geocoder of the settings; building the gazetteer index the first time shows its progress."""
    from opportunities.places.geocoding import open_geocoder
    from opportunities.progress import TerminalProgress

    def opened(shown: Progress) -> Geocoder:
        return open_geocoder(settings.cache_dir, settings.geocoder_online_url, settings.geocoder_user_agent,
                             address_dir=settings.address_dir, progress=shown)  # fmt: skip

    if progress is not None:
        return opened(progress)
    terminal = TerminalProgress()
    geocoder = opened(terminal)
    terminal.finish()
    return geocoder


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-12-01") from None


def _finite(text: str) -> float:
    """An argument that is a number; ``nan`` and ``inf``, which ``float`` accepts, are not."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number")
    return value


def _count(text: str) -> int:
    """A whole number of at least 1."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def _near(text: str) -> tuple[float, float]:
    try:
        lat, lon = (_finite(part) for part in text.split(","))
    except (ValueError, argparse.ArgumentTypeError):
        raise argparse.ArgumentTypeError(f"{text!r} is not LAT,LON such as 46.24,14.36") from None
    return lat, lon


def _refresh_search_index(engine: Engine, settings: Settings) -> None:
    """Build the app's search index for the new data now, so the next visitor does not wait for it.

    Only a head start: when the cache folder cannot be written, the app builds the index itself,
    so a failure here is a warning and the command's work stands.
    """
    from opportunities.explore.index import OpportunityIndex

    try:
        with engine.connect() as conn:
            OpportunityIndex.cached(conn, settings.cache_dir)
    except OSError as exc:
        print(f"warning: the search index was not saved ({_os_error(exc)}); the app will build it", file=sys.stderr)


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from opportunities.accounts.accounts import now_utc
    from opportunities.listings.importing import ImportReport, explain_rejection, import_file
    from opportunities.listings.spreadsheets import ReadLimits
    from opportunities.listings.uploads import audit_import

    def progress(done: int, total: int) -> None:
        if total >= 2000:
            print(f"\r{done}/{total} rows", end="", file=sys.stderr, flush=True)

    def record(conn: Connection, report: ImportReport) -> None:  # in the audit log like an upload from the app
        audit_import(conn, report, actor=None, now=now_utc(), publish=args.publish, note=Path(args.file).name)

    geocoder = _geocoder(settings)
    with _engine(settings) as engine:
        try:
            report = import_file(Path(args.file), engine, geocoder, publish=args.publish,
                                 rejects_path=Path(args.rejects) if args.rejects else None, progress=progress,
                                 limits=ReadLimits.from_settings(settings), on_stored=record)  # fmt: skip
        except ImportFileError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_UNUSABLE
        if report.stored:
            _refresh_search_index(engine, settings)
    if report.total >= 2000:
        print(file=sys.stderr)
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for rejection in report.rejected:
        print(explain_rejection(rejection), file=sys.stderr)
    print(f"stored {report.stored}, rejected {len(report.rejected)}, duplicates {len(report.duplicates)}")
    if report.rejects_error:
        # The stored rows are committed; only the convenience file is missing.
        print(
            f"error: the rejected rows could not be written: {report.rejects_error}; their reasons are listed above",
            file=sys.stderr,
        )
        return EXIT_FILE
    if report.rejects_path:
        print(f"rejected rows written to {report.rejects_path}")
    return EXIT_PARTIAL if report.rejected else EXIT_OK


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from opportunities.listings.exporting import export

    status = Status(args.status) if args.status else None
    with _engine(settings) as engine, engine.connect() as conn:
        n = export(conn, Path(args.out), fmt=args.format, city=args.city or "", status=status)
    print(f"exported {n} opportunities to {args.out}")
    return EXIT_OK


def cmd_indicators(args: argparse.Namespace, settings: Settings) -> int:
    from opportunities.coverage.indicators import Period, ScopeKind, compute, default_period, resolve_scope
    from opportunities.coverage.reports import indicators_csv, indicators_json
    from opportunities.errors import N_, FieldError, because

    if args.city is not None:
        kind, name = ScopeKind.CITY, args.city
    elif args.region is not None:
        kind, name = ScopeKind.REGION, args.region
    else:
        kind, name = ScopeKind.NETWORK, ""
    statuses = frozenset(Status(s) for s in args.status) if args.status else frozenset({Status.PUBLISHED})
    try:
        if args.date_from is None and args.date_to is None:
            period = default_period(date.today())
        elif args.date_from is None or args.date_to is None:
            raise FieldError("--from/--to", because(N_("give both, or neither for the current month")))
        else:
            period = Period(args.date_from, args.date_to)
    except FieldError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    with _engine(settings) as engine, engine.connect() as conn:
        scope = resolve_scope(conn, kind, name, statuses=statuses)
        indicators = compute(conn, scope, period, statuses=statuses)
    text = indicators_csv(indicators, args.language) if args.format == "csv" else indicators_json(indicators) + "\n"
    if args.out == "-":
        sys.stdout.write(text)
    else:
        # newline="": the CSV carries its own line ends (CRLF, as RFC 4180 says).
        Path(args.out).write_text(text, encoding="utf-8", newline="")
        print(f"wrote {len(indicators.figures)} indicators of {period.start}–{period.end} to {args.out}", file=sys.stderr)
    return EXIT_OK


def cmd_geocode(args: argparse.Namespace, settings: Settings) -> int:
    try:
        found = _geocoder(settings).geocode_query(args.query, args.country)
    except GeocodingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_PARTIAL
    print(f"{found.latitude:.5f} {found.longitude:.5f} {found.precision.value} {found.source}")
    return EXIT_OK


def _search_query(args: argparse.Namespace, *, limit: int) -> SearchQuery:
    """The query described by the options that :func:`_add_filter_options` added."""
    from opportunities.explore.search import SearchQuery

    return SearchQuery(
        city=args.city or "", topics=tuple(args.topic or ()), age=args.age, age_group=args.age_group or "",
        near=args.near, radius_km=args.radius_km, modes=tuple(Mode(m) for m in args.mode or ()),
        types=tuple(OpportunityType(t) for t in args.type or ()), date_from=args.date_from,
        date_to=args.date_to, free_only=args.free, language=args.activity_language or "", text=args.text or "",
        limit=limit,
    )  # fmt: skip


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from opportunities.explore.search import search
    from opportunities.listings.exporting import feature_properties

    query = _search_query(args, limit=args.limit)
    with _engine(settings) as engine, engine.connect() as conn:
        for opp in search(conn, query):
            item = feature_properties(opp)
            item.update(latitude=opp.latitude, longitude=opp.longitude)
            if opp.distance_km is not None:
                item["distance_km"] = round(opp.distance_km, 3)
            print(json.dumps(item, ensure_ascii=False))
    return EXIT_OK


def cmd_map(args: argparse.Namespace, settings: Settings) -> int:
    from maps.offline_page import INLINE_BASE, inline_assets
    from maps.opportunity_map import build_map
    from opportunities.explore.search import MAX_LIMIT, count, search

    query = _search_query(args, limit=MAX_LIMIT)
    with _engine(settings) as engine, engine.connect() as conn:
        total = count(conn, query)
        found = search(conn, query)
    on_map = [o for o in found if o.has_location]
    if total > len(found):
        print(f"note: {total} opportunities match; the map shows the first {len(found)}", file=sys.stderr)
    if len(on_map) < len(found):
        print(f"note: {len(found) - len(on_map)} online-only opportunities have no place on the map", file=sys.stderr)

    inline = args.asset_base is None
    figure = build_map(
        on_map,
        tile_url=settings.tile_url,
        tile_attribution=settings.tile_attribution,
        asset_base=INLINE_BASE if inline else args.asset_base,
        language=args.language,
        highlight=query.topics,
    )
    page = figure.get_root().render()
    if inline:
        page = inline_assets(page)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)  # failures: exit 4 (EXIT_FILE) in main
    out.write_text(page, encoding="utf-8")
    print(f"wrote {len(on_map)} opportunities to {out}")
    return EXIT_OK


def cmd_archive_ended(args: argparse.Namespace, settings: Settings) -> int:
    from opportunities.db.connection import writing
    from opportunities.listings.listings import archive_ended

    with _engine(settings) as engine:
        with writing(engine) as conn:
            archived = archive_ended(conn, now=datetime.now(UTC))
        if archived:
            _refresh_search_index(engine, settings)
    print(f"{len(archived)} ended listings archived" + (f": {', '.join(map(str, archived))}" if archived else ""))
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from opportunities.accounts.accounts import now_utc
    from opportunities.db.connection import create_db_engine, reset_database
    from opportunities.demo.generator import DEMO_PROVIDER_CITY, add_demo_accounts, add_demo_badges, load_demo, other_accounts
    from opportunities.errors import DatabaseInUseError
    from opportunities.progress import ACCOUNTS, DATABASE, SEARCH_INDEX, TerminalProgress

    progress = TerminalProgress()
    engine = create_db_engine(settings.database_url, busy_timeout_s=settings.database_busy_timeout_s)
    try:
        others = other_accounts(engine)
        if others:
            shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
            raise DatabaseInUseError(
                f"{engine.url.render_as_string()} holds accounts the demo did not create ({shown}); "
                "the demo replaces the whole database, so it leaves this one alone: "
                "set DATABASE_URL to a new database for the demo"
            )
        geocoder = _geocoder(settings, progress)
        progress(DATABASE, 0, 0)
        reset_database(engine)
        report = load_demo(
            engine, geocoder, size=args.size, seed=settings.demo_seed, address_dir=settings.address_dir, progress=progress
        )
        progress(SEARCH_INDEX, 0, 0)
        _refresh_search_index(engine, settings)
        progress(ACCOUNTS, 0, 0)
        made = add_demo_accounts(engine, settings, now=now_utc())
        badges = add_demo_badges(engine, now=now_utc())
        progress.finish()
    finally:
        engine.dispose()
    print(f"demo database ready: {report.stored} opportunities ({engine.url.render_as_string()})")
    print("\nSign in on the app's Sign in page as any of these demo accounts. The passwords are shown only")
    print("this once (the database keeps only their hashes); run the demo again for new ones.\n")
    width = max(len(account.email) for account in made)
    for account in made:
        print(f"  {account.role.value:<10} {account.email:<{width}}  password: {account.password}  ({account.scope})")
    if badges:
        print(f"\n{badges} activities in {DEMO_PROVIDER_CITY} award a badge, and a playlist asks for any two of them: the")
        print("provider makes a claim code on the Badges page; anyone claims it on Claim a badge, no account needed.")
    return EXIT_OK


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    from opportunities.db.connection import create_db_engine
    from opportunities.operations.backup import write_backup
    from opportunities.progress import TerminalProgress

    out = Path(args.out)
    if out.exists() and not args.force:
        print(f"error: {out} exists already; name another file, or overwrite it with --force", file=sys.stderr)
        return EXIT_UNUSABLE
    # Not open_database: a backup reads the database as it is, never migrates it (back up before an upgrade).
    engine = create_db_engine(settings.database_url, busy_timeout_s=settings.database_busy_timeout_s)
    try:
        progress = TerminalProgress()
        report = write_backup(engine, out, address_dir=settings.address_dir, overwrite=args.force, progress=progress)
        progress.finish()
    finally:
        engine.dispose()
    print(
        f"backup written to {report.path}: {len(report.tables)} tables, {report.rows} rows, {report.address_files} "
        f"address files, {report.bytes} bytes, schema revision {report.revision}"
    )
    return EXIT_OK


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    from opportunities.db.connection import create_db_engine
    from opportunities.errors import NotEmptyError
    from opportunities.operations.backup import restore_backup
    from opportunities.progress import TerminalProgress

    engine = create_db_engine(settings.database_url, busy_timeout_s=settings.database_busy_timeout_s)
    progress = TerminalProgress()
    try:
        try:
            report = restore_backup(engine, Path(args.file), address_dir=settings.address_dir, cache_dir=settings.cache_dir,
                                    replace=args.force, progress=progress)  # fmt: skip
            progress.finish()
        except NotEmptyError as exc:
            print(f"error: {exc}; nothing was changed. To replace it all with the backup, restore with --force", file=sys.stderr)
            return EXIT_UNUSABLE
        _refresh_search_index(engine, settings)
    finally:
        engine.dispose()
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    upgraded = f", upgraded to {report.schema}" if report.schema != report.revision else ""
    print(
        f"restored {report.path}: {len(report.tables)} tables, {report.rows} rows, {len(report.address_areas)} "
        f"address areas, schema revision {report.revision}{upgraded}"
    )
    return EXIT_FILE if report.warnings else EXIT_OK


def cmd_addresses_load(args: argparse.Namespace, settings: Settings) -> int:
    from opportunities.places.address_index import load_files
    from opportunities.places.gazetteer import Gazetteer

    current = [""]

    def progress(name: str, points: int) -> None:
        if current[0] and current[0] != name:
            print(file=sys.stderr)  # the next file on a line of its own
        current[0] = name
        print(f"\r{name}: {points} points read", end="", file=sys.stderr, flush=True)

    reports = load_files([Path(f) for f in args.files], settings.address_dir, Gazetteer.open(settings.cache_dir),
                         country=args.country, area=args.area, progress=progress)  # fmt: skip
    if current[0]:
        print(file=sys.stderr)
    for report in reports:
        if report.unchanged:
            print(f"{report.path.name}: unchanged since it was loaded as area {report.area!r}; nothing to do")
            continue
        skipped = f", {report.skipped} rows without a street or house number skipped" if report.skipped else ""
        replaced = f", replacing its {report.replaced} earlier points" if report.replaced else ""
        print(
            f"{report.path.name}: {report.points} addresses in {report.country} loaded as area {report.area!r}{replaced}{skipped}"
        )
    print(f"address index: {settings.address_dir}")
    return EXIT_OK


def cmd_addresses_stats(args: argparse.Namespace, settings: Settings) -> int:
    from opportunities.places.address_index import area_stats

    areas = area_stats(settings.address_dir)
    if not areas:
        print(f"no addresses loaded in {settings.address_dir}; load some with: python -m opportunities addresses load FILE")
        return EXIT_OK
    by_country: dict[str, dict[str, int]] = {}
    for area in areas:
        cities = by_country.setdefault(area.country, {})
        for city, n in area.cities.items():
            cities[city] = cities.get(city, 0) + n
    for country, cities in sorted(by_country.items()):
        print(f"{country}: {sum(cities.values())} addresses")
        for city, n in sorted(cities.items(), key=lambda item: (-item[1], item[0])):
            print(f"  {city}: {n}")
    print("areas:")
    for area in areas:
        skipped = f", {area.skipped} rows skipped" if area.skipped else ""
        print(f"  {area.area} ({area.country}): {area.points} addresses from {area.file}, loaded {area.loaded_at}{skipped}")
    return EXIT_OK


def cmd_addresses_remove(args: argparse.Namespace, settings: Settings) -> int:
    from opportunities.places.address_index import remove_area

    removed = remove_area(settings.address_dir, args.area)
    if not removed:
        print(f"error: no area {args.area!r} is loaded (see: python -m opportunities addresses stats)", file=sys.stderr)
        return EXIT_UNUSABLE
    print(f"removed area {args.area!r}: {removed} addresses")
    return EXIT_OK


def cmd_review_list(args: argparse.Namespace, settings: Settings) -> int:
    from opportunities.db.queries import find_city
    from opportunities.listings import review

    with _engine(settings) as engine, engine.connect() as conn:
        city_id = None
        if args.city:
            city = find_city(conn, args.city)
            if city is None:
                print(f"error: no city called {args.city!r}", file=sys.stderr)
                return EXIT_UNUSABLE
            city_id = city.id
        items = review.queue(conn, review.COMMAND_LINE, city_id=city_id, limit=args.limit)
        organisations = review.unverified_organisations(conn, review.COMMAND_LINE, city_id=city_id)
    for item in items:
        opp = item.opportunity
        created = opp.created_at.strftime("%Y-%m-%d %H:%M") if opp.created_at else ""
        place = opp.precision.value if opp.precision else "online"
        verified = "" if item.organisation.verified else " [organisation not verified]"
        print(f"{opp.id}\t{created}\t{opp.city}\t{opp.provider}{verified}\t{opp.title}\t{place}")
        for dup in item.duplicates:
            print(
                f"\tlikely duplicate ({dup.kind.value}): {dup.opportunity.id} {dup.opportunity.title} "
                f"[{dup.opportunity.status.value}]"
            )
    for org in organisations:
        print(f"organisation {org.id}\tnot verified\t{org.name}\t{org.contact_email}")
    print(f"{len(items)} pending, {len(organisations)} organisations to verify", file=sys.stderr)
    return EXIT_OK


def cmd_review_decide(args: argparse.Namespace, settings: Settings) -> int:
    from opportunities.accounts import mail
    from opportunities.db.connection import writing
    from opportunities.listings import review

    now = datetime.now(UTC)
    with _engine(settings) as engine:
        with writing(engine) as conn:
            if args.decision == "approve":
                done = review.approve_many(conn, review.COMMAND_LINE, args.ids, now=now, settings=settings)
            elif args.decision == "reject":
                done = [review.reject(conn, review.COMMAND_LINE, i, args.reason, now=now, settings=settings) for i in args.ids]
            else:
                done = [
                    review.request_changes(conn, review.COMMAND_LINE, i, args.note, now=now, settings=settings) for i in args.ids
                ]
        mail.deliver_pending(engine, settings, now)
        if args.decision == "approve":
            _refresh_search_index(engine, settings)
    for opp in done:
        print(f"{opp.id}\t{opp.status.value}\t{opp.title}")
    return EXIT_OK


def _add_filter_options(parser: argparse.ArgumentParser, *, activity_language_flags: Sequence[str]) -> None:
    """The search filters, shared by ``search`` and ``map``.

    ``map`` uses ``--language`` for the language of its labels, so there the filter on the
    language an activity is held in is only ``--activity-language``.
    """
    parser.add_argument("--city")
    parser.add_argument("--topic", action="append", choices=TOPICS)
    ages = parser.add_mutually_exclusive_group()
    ages.add_argument("--age", type=int)
    ages.add_argument("--age-group", choices=list(AGE_GROUPS_BY_ID))
    parser.add_argument("--near", type=_near, metavar="LAT,LON")
    parser.add_argument("--radius-km", type=_finite, default=10.0)
    parser.add_argument("--mode", action="append", choices=[m.value for m in Mode])
    parser.add_argument("--type", action="append", choices=[t.value for t in OpportunityType])
    parser.add_argument("--from", dest="date_from", type=_date)
    parser.add_argument("--to", dest="date_to", type=_date)
    parser.add_argument("--free", action="store_true")
    parser.add_argument(*activity_language_flags, dest="activity_language", metavar="CODE",
                        help="only activities held in this language (ISO 639-1 code, e.g. sv)")  # fmt: skip
    parser.add_argument("--text")


def _read_password(args: argparse.Namespace) -> str:
    """The new password: one line of stdin with ``--password-stdin``, else asked twice on the
    terminal (never echoed). There is no default password."""
    if args.password_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise argparse.ArgumentTypeError("no password on standard input")
        return line
    import getpass

    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password again: "):
        raise argparse.ArgumentTypeError("the two passwords differ")
    return first


def _user_id(conn: Connection, email: str) -> int:
    from opportunities.accounts.accounts import find_user
    from opportunities.errors import NotFoundError

    user = find_user(conn, email)
    if user is None:
        raise NotFoundError(f"no account for {email}")
    return user.id


def _city_ids(conn: Connection, names: Sequence[str] | None) -> tuple[int, ...]:
    from opportunities.db.queries import find_city
    from opportunities.errors import N_, FieldError, because

    ids = []
    for name in names or ():
        city = find_city(conn, name)
        if city is None or city.id is None:
            raise FieldError("city", because(N_("no city named {value}"), value=repr(name)))
        ids.append(city.id)
    return tuple(ids)


def _organisation_id(conn: Connection, name: str | None) -> int | None:
    from sqlalchemy import select

    from opportunities.db.schema import providers
    from opportunities.errors import N_, FieldError, because
    from opportunities.text import fold

    if not name:
        return None
    found = conn.execute(select(providers.c.id).where(providers.c.name_key == fold(name))).scalar()
    if found is None:
        raise FieldError("organisation", because(N_("no organisation named {value}"), value=repr(name)))
    return int(found)


def cmd_users(args: argparse.Namespace, settings: Settings) -> int:
    from opportunities.accounts import accounts, organisations
    from opportunities.accounts.audit import COMMAND_LINE
    from opportunities.accounts.identity import Role
    from opportunities.db.connection import writing

    try:
        password = _read_password(args) if args.action in ("add", "reset-password") else None
    except argparse.ArgumentTypeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    now = accounts.now_utc()
    with _engine(settings) as engine, writing(engine) as conn:
        if args.action == "list":
            for user in accounts.list_users(conn):
                state = "disabled" if user.disabled else "active"
                where = ",".join(str(c) for c in user.city_ids)
                print(f"{user.email}\t{user.role.value}\t{state}\torganisation={user.organisation_id or ''}\tcities={where}")
            return EXIT_OK
        if args.action == "add":
            role = Role(args.role)
            assert password is not None
            user = accounts.add_user(conn, args.email, role=role, password=password, settings=settings, now=now,
                                     organisation_id=_organisation_id(conn, args.organisation),
                                     city_ids=_city_ids(conn, args.city), actor_label=COMMAND_LINE)  # fmt: skip
            print(f"added {user.email} ({user.role.value})")
        elif args.action == "set-role":
            role = Role(args.role)
            user_id = _user_id(conn, args.email)
            if role is Role.CITY_LEAD:
                user = organisations.appoint_city_lead(conn, None, user_id, _city_ids(conn, args.city), now=now)
            else:
                user = accounts.set_role(conn, user_id, role, now=now, organisation_id=_organisation_id(conn, args.organisation))
            print(f"{user.email} is now {user.role.value}")
        elif args.action == "disable":
            user = accounts.disable_user(conn, _user_id(conn, args.email), now=now)
            print(f"disabled {user.email}; its sessions have ended")
        else:  # reset-password
            assert password is not None
            user = accounts.set_password(conn, _user_id(conn, args.email), password, settings=settings, now=now)
            print(f"new password set for {user.email}; its sessions have ended")
    return EXIT_OK


def cmd_coverage(args: argparse.Namespace, settings: Settings) -> int:
    from opportunities.coverage.districts import (
        CoverageFilter,
        check_distance,
        city_ids_named,
        coverage_layer,
        layer_geojson,
        open_coverage,
    )
    from opportunities.coverage.reports import coverage_csv

    check_distance(args.desert_km)
    with _engine(settings) as engine, engine.connect() as conn:
        coverage = open_coverage(conn, settings.cache_dir)
    filt = CoverageFilter(
        city_ids=city_ids_named(coverage, args.city), topics=tuple(args.topic or ()), age_group=args.age_group or "",
        modes=tuple(Mode(m) for m in args.mode or ()), date_from=args.date_from, date_to=args.date_to, free_only=args.free,
    )  # fmt: skip
    layer = coverage_layer(coverage, filt, by=args.by, distance_km=args.desert_km, resolution=args.resolution)
    out = Path(args.out)
    if args.format == "geojson":
        out.write_text(layer_geojson(layer), encoding="utf-8")
    else:
        out.write_bytes(coverage_csv(layer))
    apart = coverage.apart(filt, PIN_MAX_UNCERTAINTY_M)
    for row in apart.itertuples():
        print(
            f"{row.city}: {row.approximate} matching opportunities known only to a town or postcode centre, {row.online} online",
            file=sys.stderr,
        )
    print(f"{len(layer)} {args.by}s written to {out}")
    return EXIT_OK


def _city(engine: Engine, name: str) -> tuple[City, int]:
    """The stored city named ``name`` and its id; NotFoundError (exit 2, nothing changed) for none."""
    from opportunities.db.queries import find_city

    with engine.connect() as conn:
        city = find_city(conn, name)
    if city is None or city.id is None:
        raise NotFoundError(f"no city named {name!r}")
    return city, city.id


def cmd_boundaries(args: argparse.Namespace, settings: Settings) -> int:
    from opportunities.coverage.boundaries import read_boundary_file, replace_city_districts

    read = read_boundary_file(Path(args.file), name_column=args.name_column, population_column=args.population_column)
    with _engine(settings) as engine:
        city, city_id = _city(engine, args.city)
        replace_city_districts(
            engine, None, city_id, read, now=datetime.now(UTC), file_name=Path(args.file).name, command_line=True
        )
    for name in read.repaired:
        print(f"repaired the invalid polygon of {name}", file=sys.stderr)
    print(f"{len(read.districts)} districts of {city.name} stored (from {read.crs})")
    return EXIT_OK


def cmd_population(args: argparse.Namespace, settings: Settings) -> int:
    from opportunities.coverage.population import read_population_file, replace_city_population

    layer = read_population_file(Path(args.file), column=args.column)
    with _engine(settings) as engine:
        city, city_id = _city(engine, args.city)
        stored = replace_city_population(engine, None, city_id, layer, now=datetime.now(UTC), command_line=True)
    if layer.repaired:
        print(f"repaired {layer.repaired} invalid polygons of the layer", file=sys.stderr)
    bands = ", ".join(stored.bands) or "none"
    print(
        f"residents of {city.name}'s {len(stored.districts)} districts stored (from {layer.crs}, column "
        f"{layer.column!r}, age bands: {bands})"
    )
    for d in stored.districts:
        ages = "".join(f", {g} {d.population_by_age[g]}" for g in stored.bands)
        print(f"{d.name}: {d.population}{ages}")
    print(f"outside every district: {stored.outside}")
    if stored.outside:
        print(
            f"warning: {stored.outside} residents of the layer are in no district of {city.name}; is it the layer of this city?",
            file=sys.stderr,
        )
    return EXIT_OK


def _feed_line(feed: Feed) -> str:
    """One feed of ``feeds list``: id, city, organisation, URL, then its health."""
    success = feed.last_success_at.strftime("%Y-%m-%d %H:%M") if feed.last_success_at else "never"
    lag = "unknown" if feed.lag_s is None else f"{feed.lag_s:.0f} s"
    state = "gone" if feed.gone_at else (f"waiting until {feed.retry_after:%Y-%m-%d %H:%M}" if feed.retry_after else "ok")
    error = f"\tlast error: {feed.last_error}" if feed.last_error else ""
    return (f"{feed.id}\t{feed.city}\t{feed.organisation}\t{feed.url}\t{state}\tlast success {success}\t"
            f"{feed.items_stored} stored\t{feed.items_rejected} refused\tlag {lag}{error}")  # fmt: skip


def cmd_feeds(args: argparse.Namespace, settings: Settings) -> int:
    from opportunities.db.connection import writing
    from opportunities.db.queries import find_city
    from opportunities.errors import N_, FieldError, because
    from opportunities.feeds import harvesting

    now = datetime.now(UTC)
    with _engine(settings) as engine:
        if args.action == "add":
            with writing(engine) as conn:
                city = find_city(conn, args.city, args.country)
                if city is None or city.id is None:
                    raise FieldError("city", because(N_("no city named {value}"), value=repr(args.city)))
                organisation = _organisation_id(conn, args.organisation)
                assert organisation is not None
                feed = harvesting.register_feed(conn, None, url=args.url, organisation_id=organisation, city_id=city.id,
                                                license=args.license, attribution=args.attribution, now=now)  # fmt: skip
            print(f"feed {feed.id} registered: {feed.url} ({feed.organisation}, {feed.city})")
            return EXIT_OK
        if args.action == "remove":
            with writing(engine) as conn:
                archived = harvesting.remove_feed(conn, None, args.id, now=now)
            print(f"feed {args.id} removed; {archived} opportunities harvested from it archived")
            return EXIT_OK
        if args.action == "list":
            with engine.connect() as conn:
                for feed in harvesting.list_feeds(conn, None):
                    print(_feed_line(feed))
                    if args.problems:
                        for item_id, upstream_id, problem in harvesting.item_problems(conn, feed.id):
                            print(f"\titem {item_id}\t{upstream_id}\t{problem}")
            return EXIT_OK
        return _harvest_feeds(args, settings, engine)


def _harvest_feeds(args: argparse.Namespace, settings: Settings, engine: Engine) -> int:
    from opportunities.feeds import harvesting

    with engine.connect() as conn:
        ids = args.ids or [feed.id for feed in harvesting.list_feeds(conn, None)]
        for feed_id in ids:
            harvesting.get_feed(conn, feed_id)  # an unknown id: exit 2 before anything is fetched
    geocoder = _geocoder(settings)
    limits = harvesting.fetch_limits(settings)
    troubled = False
    stored = False
    for feed_id in ids:
        report = harvesting.harvest_feed(engine, feed_id, geocoder, limits=limits,
                                         max_pages=args.max_pages or settings.harvest_max_pages, force=args.force)  # fmt: skip
        if report.skipped:
            print(f"feed {feed_id}: skipped ({report.skipped})")
            continue
        end = "reached its end" if report.caught_up else "more to read"
        print(f"feed {feed_id}: {report.pages} pages, {report.seen} items, {report.stored} stored, {report.deleted} deleted, "
              f"{report.unchanged} unchanged, {len(report.rejected)} refused; {end}")  # fmt: skip
        for item_id, problem in report.rejected.items():
            print(f"\titem {item_id}: {problem}", file=sys.stderr)
        if report.error is not None:
            print(f"error: feed {feed_id}: {report.error}", file=sys.stderr)
        troubled = troubled or report.error is not None or bool(report.rejected)
        stored = stored or bool(report.stored or report.deleted)
    if stored:
        _refresh_search_index(engine, settings)
    return EXIT_PARTIAL if troubled else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    from opportunities import __version__

    parser = argparse.ArgumentParser(prog="python -m opportunities", description="Cities of Learning opportunities")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("import", help="import a CSV or XLSX file in the template")
    p.add_argument("file")
    p.add_argument("--publish", action="store_true", help="publish at once (trusted import) instead of pending review")
    p.add_argument("--rejects", help="where to write rejected rows (default: FILE.rejected.csv beside FILE)")
    p.set_defaults(run=cmd_import)

    p = sub.add_parser("export", help="export opportunities")
    p.add_argument("--format", choices=("csv", "xlsx", "geojson", "parquet"), required=True)
    p.add_argument("out")
    p.add_argument("--city")
    p.add_argument("--status", choices=[s.value for s in Status])
    p.set_defaults(run=cmd_export)

    p = sub.add_parser("geocode", help="locate a place, postcode or address offline")
    p.add_argument("query")
    p.add_argument("--country", help="ISO 3166-1 alpha-2 code, e.g. SE")
    p.set_defaults(run=cmd_geocode)

    p = sub.add_parser("search", help="search published opportunities; one JSON object per line")
    _add_filter_options(p, activity_language_flags=("--language", "--activity-language"))
    p.add_argument("--limit", type=int, default=100)
    p.set_defaults(run=cmd_search)

    p = sub.add_parser("map", help="write a standalone HTML map of the published opportunities to embed on a website")
    _add_filter_options(p, activity_language_flags=("--activity-language",))
    p.add_argument("out", metavar="OUT.html")
    p.add_argument("--language", choices=LANGUAGES, default="en", help="language of the map's labels (default: en)")
    assets = p.add_mutually_exclusive_group()
    assets.add_argument(
        "--inline-assets",
        action="store_true",
        help="embed Leaflet and its plug-in in the page: one self-contained file (the default)",
    )
    assets.add_argument(
        "--asset-base",
        metavar="URL_OR_PATH",
        help="link the scripts from here instead, where a copy of static/ is served (e.g. /static)",
    )
    p.set_defaults(run=cmd_map)

    p = sub.add_parser("addresses", help="the offline street-level address index")
    actions = p.add_subparsers(dest="action", required=True)
    a = actions.add_parser("load", help="load address points from CSV (street,housenumber,postcode,city,lat,lon) "
                                        "or OpenStreetMap (.osm, .osm.pbf) files; a file of the same area replaces its points")  # fmt: skip
    a.add_argument("files", nargs="+", metavar="FILE")
    a.add_argument("--country", type=str.upper, metavar="CC", help="ISO 3166-1 alpha-2 code (default: where the points lie)")
    a.add_argument("--area", help="name of the area the file covers (default: the file name); one file only")
    a.set_defaults(run=cmd_addresses_load)
    a = actions.add_parser("stats", help="what is loaded, per country, city and area")
    a.set_defaults(run=cmd_addresses_stats)
    a = actions.add_parser("remove", help="remove an area's addresses")
    a.add_argument("area")
    a.set_defaults(run=cmd_addresses_remove)
    p = sub.add_parser("review", help="review pending submissions without the app")
    review = p.add_subparsers(dest="review_command", required=True)
    r = review.add_parser("list", help="pending submissions (oldest first) and organisations to verify")
    r.add_argument("--city")
    r.add_argument("--limit", type=_count, default=500)
    r.set_defaults(run=cmd_review_list)
    r = review.add_parser("approve", help="publish pending submissions (all or none)")
    r.add_argument("ids", nargs="+", type=_count, metavar="ID")
    r.set_defaults(run=cmd_review_decide, decision="approve")
    r = review.add_parser("reject", help="reject pending submissions with a reason the provider sees")
    r.add_argument("ids", nargs="+", type=_count, metavar="ID")
    r.add_argument("--reason", required=True)
    r.set_defaults(run=cmd_review_decide, decision="reject")
    r = review.add_parser("request-changes", help="send pending submissions back to the provider with a note")
    r.add_argument("ids", nargs="+", type=_count, metavar="ID")
    r.add_argument("--note", required=True)
    r.set_defaults(run=cmd_review_decide, decision="request-changes")

    p = sub.add_parser("coverage", help="opportunities per district or H3 cell, deserts and the worst-served districts")
    p.add_argument("--city", action="append", required=True, help="a city (repeat for a region)")
    p.add_argument("--by", choices=("district", "cell"), required=True)
    p.add_argument("--topic", action="append", choices=TOPICS)
    p.add_argument("--age-group", choices=list(AGE_GROUPS_BY_ID))
    p.add_argument("--mode", action="append", choices=[m.value for m in Mode])
    p.add_argument("--from", dest="date_from", type=_date)
    p.add_argument("--to", dest="date_to", type=_date)
    p.add_argument("--free", action="store_true")
    p.add_argument("--desert-km", type=_finite, default=2.0,
                   help="a place is a desert when no matching opportunity lies within this straight-line distance (default: 2)")  # fmt: skip
    p.add_argument(
        "--resolution", type=int, choices=range(5, 10), help="H3 resolution with --by cell (default: by the city's size)"
    )
    p.add_argument("--format", choices=("csv", "geojson"), required=True)
    p.add_argument("out")
    p.set_defaults(run=cmd_coverage)

    p = sub.add_parser("boundaries", help="replace a city's districts by a GeoJSON, GeoPackage or zipped Shapefile")
    p.add_argument("file")
    p.add_argument("--city", required=True)
    p.add_argument("--name-column", default="", help="the column of district names (default: name)")
    p.add_argument("--population-column", default="", help="the column of residents (default: population, when present)")
    p.set_defaults(run=cmd_boundaries)

    p = sub.add_parser(
        "population", help="replace the residents of a city's districts by a population layer (points or polygons)"
    )
    p.add_argument("file", help="GeoJSON, GeoPackage, zipped Shapefile, or a CSV of points with lat and lon (WGS 84)")
    p.add_argument("--city", required=True)
    p.add_argument(
        "--column", default="", help="the column of residents (default: population, folkmangd, ludnosc, prebivalci or pop)"
    )
    p.set_defaults(run=cmd_population)

    p = sub.add_parser("archive-ended", help="archive the live listings whose last session has passed (run it daily)")
    p.set_defaults(run=cmd_archive_ended)

    p = sub.add_parser("indicators", help="indicators of a city, a region or the network for a period, beside the previous one")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--city")
    where.add_argument("--region", help="a region of the network (see docs/guides/indicators.md), e.g. Mazowsze")
    where.add_argument("--network", action="store_true", help="every city")
    p.add_argument("--from", dest="date_from", type=_date, help="first day (default: the current month)")
    p.add_argument("--to", dest="date_to", type=_date, help="last day, included")
    p.add_argument("--format", choices=("csv", "json"), required=True)
    p.add_argument(
        "--status",
        action="append",
        choices=[s.value for s in Status],
        help="count opportunities of this status (repeat for several; default: published)",
    )
    p.add_argument("--language", choices=LANGUAGES, default="en", help="language of the CSV's labels (default: en)")
    p.add_argument("out", metavar="OUT", help="the file to write, or - for standard output")
    p.set_defaults(run=cmd_indicators)

    p = sub.add_parser("demo", help="create (or recreate) the demo database")
    p.add_argument("--size", type=_count, default=400, help="number of opportunities (default: 400)")
    p.set_defaults(run=cmd_demo)

    p = sub.add_parser("backup", help="write the whole database (accounts and audit log included) and the address "
                                      "index to one file, restorable on SQLite or PostgreSQL")  # fmt: skip
    p.add_argument("out", metavar="OUT", help="the backup file to write (a zip archive)")
    p.add_argument("--force", action="store_true", help="overwrite OUT when it exists")
    p.set_defaults(run=cmd_backup)

    p = sub.add_parser("restore", help="replace the database and the address index by a backup's, upgraded to this version")
    p.add_argument("file", metavar="IN", help="a file written by the backup command")
    p.add_argument("--force", action="store_true", help="replace a database or address index that holds data")
    p.set_defaults(run=cmd_restore)

    p = sub.add_parser("feeds", help="external OpenActive (RPDE) feeds a city harvests: add, list, harvest, remove")
    feeds = p.add_subparsers(dest="action", required=True)
    f = feeds.add_parser("add", help="register a feed for a city and an organisation")
    f.add_argument("url", metavar="URL", help="the feed's first page (http:// or https://)")
    f.add_argument("--organisation", required=True, help="the organisation (provider name) the feed's items belong to")
    f.add_argument("--city", required=True, help="the city whose leads manage the feed (a stored city)")
    f.add_argument("--country", help="the city's country code, when two cities share its name")
    f.add_argument("--license", required=True, help="the URL of the licence the feed is published under")
    f.add_argument("--attribution", required=True, help='how to credit the source: shown as "From <attribution>, <licence>"')
    f = feeds.add_parser("list", help="every feed with its health: last success, items stored and refused, lag, last error")
    f.add_argument("--problems", action="store_true", help="also list each feed's refused items and why")
    f = feeds.add_parser("harvest", help="follow the feeds (all, or the ids given) from where they stopped")
    f.add_argument("ids", metavar="ID", type=_count, nargs="*", help="feed ids (default: every feed)")
    f.add_argument("--max-pages", type=_count, help="most pages per feed (default: HARVEST_MAX_PAGES)")
    f.add_argument("--force", action="store_true", help="harvest even a feed that asked to wait (503 Retry-After)")
    f = feeds.add_parser("remove", help="remove a feed; the opportunities harvested from it are archived")
    f.add_argument("id", metavar="ID", type=_count)
    p.set_defaults(run=cmd_feeds)

    p = sub.add_parser("users", help="accounts: add (the first admin too), list, set-role, disable, reset-password")
    users = p.add_subparsers(dest="action", required=True)
    roles = ("admin", "city_lead", "provider")
    u = users.add_parser("add", help="add an account; the password is asked on the terminal (twice) or read from stdin")
    u.add_argument("email")
    u.add_argument("--role", choices=roles, required=True)
    u.add_argument("--city", action="append", help="a city a city lead leads (repeat for more)")
    u.add_argument("--organisation", help="the organisation (provider name) a provider belongs to")
    u.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    users.add_parser("list", help="every account: email, role, state, organisation id, city ids")
    u = users.add_parser("set-role", help="change an account's role")
    u.add_argument("email")
    u.add_argument("--role", choices=roles, required=True)
    u.add_argument("--city", action="append")
    u.add_argument("--organisation")
    u = users.add_parser("disable", help="disable an account and end its sessions")
    u.add_argument("email")
    u = users.add_parser("reset-password", help="set a new password (asked, or --password-stdin)")
    u.add_argument("email")
    u.add_argument("--password-stdin", action="store_true")
    p.set_defaults(run=cmd_users)

    badges_cli.add_parser(sub)
    return parser


def _os_error(exc: OSError) -> str:
    """``cannot use PATH: reason``, or the error itself when it names no file."""
    if exc.filename is None:
        return str(exc)
    if isinstance(exc, FileExistsError | NotADirectoryError):  # a file where a folder is needed
        return f"cannot use {exc.filename}: {exc.strerror} (a file is in the way of a folder)"
    return f"cannot use {exc.filename}: {exc.strerror or exc}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every failure ends in a message on stderr and an exit code, never a traceback."""
    from sqlalchemy.exc import DatabaseError, InterfaceError, OperationalError

    args = build_parser().parse_args(argv)  # a wrong command line exits with 2 and argparse's message
    try:
        settings = load_settings()
        return int(args.run(args, settings))
    except OpportunitiesError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    except (OperationalError, InterfaceError, DatabaseError) as exc:
        if not isinstance(exc, (OperationalError, InterfaceError)) and type(exc) is not DatabaseError:
            return _internal_error(exc)  # an integrity or data error is a defect, not a busy database
        # Locked past the busy timeout, a file that is not a database, a server that does not answer.
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
        if "locked" in reason or "busy" in reason:
            advice = "another process is writing to it; try again when it has finished"
        else:
            advice = "check DATABASE_URL and that the database server is running"
        print(f"error: the database could not be used ({reason}): {advice}", file=sys.stderr)
        return EXIT_DATABASE
    except OSError as exc:
        print(f"error: {_os_error(exc)}", file=sys.stderr)
        return EXIT_FILE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # the last resort: a message, not a traceback
        return _internal_error(exc)


def _internal_error(exc: Exception) -> int:
    print(f"error: internal error ({type(exc).__name__}: {exc}); please report this with the command you ran", file=sys.stderr)
    return EXIT_INTERNAL
