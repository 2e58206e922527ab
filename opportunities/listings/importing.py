"""Bulk import of opportunities from CSV and Excel files, row by row.

Each row is validated and located on its own: a bad row is reported (row number, field,
reason) and written to a rejected-rows CSV, while every valid row around it is stored.

Checking the rows (the slow part: validation and geocoding) only reads the database, so nobody
else's write waits for it. The rows that pass are then staged in short transactions and moved
into ``opportunities`` in one: a file is stored whole or not at all, and a crash leaves nothing
half-written (staged rows of a dead import are swept by a later one)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, literal, select

from opportunities.db import connection, queries
from opportunities.db.schema import (
    opportunities,
    opportunity_languages,
    opportunity_topics,
    staged_ids,
    staged_opportunities,
    staged_values,
)
from opportunities.errors import N_, FieldError, GeocodingError, ImportChangedError, ImportFileError, Reason, RecordError, because
from opportunities.i18n import explain_errors, translator
from opportunities.listings.cells import guard_formula
from opportunities.listings.spreadsheets import ReadLimits, RowRejection, Table, _column_name, read_table
from opportunities.model import City, Opportunity, Provider
from opportunities.places.gazetteer import MIN_PLACE_UNCERTAINTY_M, Place
from opportunities.places.geocoding import Geocoder, unknown_place_help
from opportunities.text import fold
from opportunities.validation import parse_opportunity
from opportunities.vocabulary import Mode, Status

BATCH_SIZE = 1000
Progress = Callable[[int, int], None]


# How the rejected-rows file and the upload page introduce the reasons of one row.
ROW_REASON = N_("Row {row}: {reason}")


@dataclass
class ImportReport:
    """What an import did."""

    total: int = 0
    stored_ids: list[int] = field(default_factory=list)
    rejected: list[RowRejection] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)  # row numbers
    duplicate_rows: dict[int, int] = field(default_factory=dict)  # row -> the earlier row of the same opportunity
    duplicate_ids: dict[int, int] = field(default_factory=dict)  # row -> the stored opportunity it repeats
    stored_rows: list[int] = field(default_factory=list)  # row numbers, in the order of stored_ids
    warnings: list[Reason] = field(default_factory=list)
    rejects_path: Path | None = None
    rejects_error: str = ""  # why the rejected rows could not be written, after the rows were stored

    @property
    def stored(self) -> int:
        return len(self.stored_ids)


class Registry:
    """Ids of the cities and providers an import refers to, looked up once each.

    Cities and providers not stored yet are added at once on a write connection; when
    ``planning`` (a read-only connection: a preview, or an import before it stores), they get
    negative stand-in ids instead, listed in :attr:`new_cities` and :attr:`new_providers`, which
    :func:`_move_in` adds when the import is stored.
    """

    def __init__(self, conn: Connection, geocoder: Geocoder, *, planning: bool = False) -> None:
        self._conn = conn
        self._geocoder = geocoder
        self._planning = planning
        self._cache: dict[tuple[str, str], tuple[int, str]] = {}
        self._providers: dict[str, int] = {}
        self._centres: dict[tuple[str, str], Place | None] = {}
        self.new_cities: dict[int, City] = {}  # stand-in id -> the city to add
        self.new_providers: dict[int, tuple[Provider, int]] = {}  # stand-in id -> (provider, its city's id)

    def _new_city(self, name: str, country: str, opp: Opportunity | None, written: tuple[str, str] | None) -> City:
        gazetteer = self._geocoder.gazetteer
        place = gazetteer.place(name, country)
        if place is not None:
            return City(name=name, country=country, latitude=place.latitude, longitude=place.longitude,
                        timezone=place.timezone, geonameid=place.geonameid)  # fmt: skip
        if opp is None or not (opp.has_location or opp.address):
            raise FieldError("city", unknown_place_help(name, country))
        try:
            found = self._geocoder.locate(
                country=country, city="", address=opp.address, latitude=opp.latitude, longitude=opp.longitude, written=written
            )
        except GeocodingError as exc:
            field = "latitude" if opp.has_location else "city"
            raise FieldError(
                field, because(N_("{reason} ({detail})"), reason=unknown_place_help(name, country), detail=exc.reason)
            ) from None
        nearest = gazetteer.nearest_place(found.latitude, found.longitude, country)
        # The local time of the nearest known place; UTC only where the gazetteer has none at all.
        timezone = nearest.timezone if nearest is not None else "UTC"
        return City(
            name=name, country=country, latitude=found.latitude, longitude=found.longitude, timezone=timezone, geonameid=None
        )

    def _known_city(self, name: str, country: str) -> City | None:
        """A city stored, or added by this import's earlier rows."""
        stored = queries.find_city(self._conn, name, country)
        if stored is not None:
            return stored
        key = fold(name)
        return next((c for c in self.new_cities.values() if c.country == country and fold(c.name) == key), None)

    def centre(self, name: str, country: str) -> Place | None:
        """A stored city the gazetteer does not know (added from an earlier row's location), as a
        place to fall back on; None for the cities the gazetteer knows."""
        key = (country, fold(name))
        if key not in self._centres:
            stored = None if self._geocoder.gazetteer.place(name, country) else self._known_city(name, country)
            # cities500 lists every place of 500 people or more: one it lacks is as small as they come.
            self._centres[key] = None if stored is None else Place(
                geonameid=None, latitude=stored.latitude, longitude=stored.longitude, population=0, country=country,
                timezone=stored.timezone, uncertainty_m=MIN_PLACE_UNCERTAINTY_M)  # fmt: skip
        return self._centres[key]

    def provider(self, name: str, city_id: int) -> int:
        """Id of the provider called ``name``; a new one is registered in ``city_id``."""
        key = fold(name)
        if key not in self._providers:
            if self._planning:
                found = queries.find_provider_id(self._conn, name)
                if found is None:
                    found = -(len(self.new_providers) + 1)
                    self.new_providers[found] = (Provider(name=name), city_id)
                self._providers[key] = found
            else:
                self._providers[key] = queries.ensure_provider(self._conn, Provider(name=name), city_id)
        return self._providers[key]

    def city(
        self, name: str, country: str, opp: Opportunity | None = None, written: tuple[str, str] | None = None
    ) -> tuple[int, str]:
        """(city id, stored city name) of a city, added when new.

        A name the gazetteer does not know is still a city when ``opp`` can be located another way
        (coordinates, a postcode or place in its address): it is added at that location, with the
        provider's spelling. Else raises :class:`FieldError` saying what would locate it.
        """
        key = (country, fold(name))
        if key not in self._cache:
            stored = queries.find_city(self._conn, name, country)
            if stored is not None:
                assert stored.id is not None
                self._cache[key] = (stored.id, stored.name)
            else:
                city = self._new_city(name, country, opp, written)
                self._cache[key] = (self._add_city(city), name)
        return self._cache[key]

    def _add_city(self, city: City) -> int:
        """The id of a new city (the stored one with its gazetteer id, if any); a stand-in when planning."""
        if not self._planning:
            return queries.ensure_city(self._conn, city)
        same_place = None if city.geonameid is None else queries.find_city_id_by_geonameid(self._conn, city.geonameid)
        if same_place is not None:
            return same_place
        stand_in = -(len(self.new_cities) + 1)
        self.new_cities[stand_in] = city
        return stand_in


def locate(
    opp: Opportunity, geocoder: Geocoder, written: tuple[str, str] | None = None, centre: Place | None = None
) -> Opportunity:
    """The opportunity with its location found, or :class:`FieldError` saying why it cannot be.

    ``written`` is the coordinates' text as the provider wrote it: its decimals say how exact they
    are. ``centre`` stands for a city the gazetteer does not know (see :meth:`Registry.centre`).
    """
    if opp.mode is Mode.ONLINE and not opp.has_location and not opp.address:
        return opp
    try:
        found = geocoder.locate(country=opp.country, city=opp.city, address=opp.address,
                                latitude=opp.latitude, longitude=opp.longitude, written=written, centre=centre)  # fmt: skip
    except GeocodingError as exc:
        raise FieldError("latitude" if opp.has_location else "address", exc.reason) from None
    return replace(opp, latitude=found.latitude, longitude=found.longitude, precision=found.precision,
                   location_source=found.source, uncertainty_m=found.uncertainty_m)  # fmt: skip


def _own_provider(record: Mapping[str, str], organisation: str) -> Mapping[str, str]:
    """The record with an empty provider filled with ``organisation``; :class:`FieldError` when it names another."""
    named = (record.get("provider") or "").strip()
    if not named:
        return {**record, "provider": organisation}
    if fold(named) != fold(organisation):
        raise FieldError(
            "provider",
            because(
                N_("names the provider {value}; you may upload only opportunities of {limit}"),
                value=repr(named),
                limit=organisation,
            ),
        )
    return record


def _check_rows(
    records: Sequence[tuple[int, Mapping[str, str]]],
    geocoder: Geocoder,
    registry: Registry,
    *,
    status: Status,
    report: ImportReport,
    seen: dict[str, int],
    organisation: str | None,
    publish_in: frozenset[int],
) -> list[tuple[int, Opportunity, int, str]]:
    """Validate, locate and de-duplicate (within the file) one batch of (row number, record):
    (row number, opportunity, city id, duplicate key) of each row that passes; the others go to
    ``report``. ``seen`` maps the duplicate key of each row taken so far to its row number."""
    ready: list[tuple[int, Opportunity, int, str]] = []
    for number, given in records:
        record = given
        try:
            if organisation is not None:
                record = _own_provider(given, organisation)
            opp = parse_opportunity(record, status=status)
            written = (record.get("latitude", ""), record.get("longitude", ""))
            city_id, city_name = registry.city(opp.city, opp.country, opp, written)
            opp = locate(replace(opp, city=city_name), geocoder, written, registry.centre(city_name, opp.country))
            if city_id in publish_in:
                opp = replace(opp, status=Status.PUBLISHED)
        except RecordError as exc:
            report.rejected.append(RowRejection(number, tuple(exc.errors), record))
            continue
        except FieldError as exc:
            report.rejected.append(RowRejection(number, (exc,), record))
            continue
        key = opp.dedup_key
        if key in seen:
            report.duplicates.append(number)
            report.duplicate_rows[number] = seen[key]
            continue
        seen[key] = number
        ready.append((number, opp, city_id, key))
    return ready


@dataclass(frozen=True)
class _Row:
    """A row ready to store: its ``opportunities`` row (the ids of cities and providers the import
    adds are stand-ins), topics and languages."""

    number: int
    values: dict[str, Any]
    topics: tuple[str, ...]
    languages: tuple[str, ...]


@dataclass
class _Plan:
    """What storing will do: ``report`` holds the rejected and duplicate rows, and in ``stored_rows``
    the numbers of ``rows``; ``registry`` the cities and providers to add."""

    report: ImportReport
    rows: list[_Row]
    registry: Registry


def _plan(
    conn: Connection,
    records: Sequence[Mapping[str, str]],
    geocoder: Geocoder,
    *,
    publish: bool,
    row_numbers: Sequence[int] | None,
    progress: Progress | None = None,
    organisation: str | None = None,
    submitted_by: int | None = None,
    publish_in: frozenset[int] = frozenset(),
) -> _Plan:
    """Each row's outcome, read-only: ``conn`` writes nothing (so it waits for no writer and no
    writer waits for it, however long validating and locating thousands of rows takes)."""
    report = ImportReport(total=len(records))
    status = Status.PUBLISHED if publish else Status.PENDING
    seen: dict[str, int] = {}
    numbers = row_numbers if row_numbers is not None else range(2, len(records) + 2)
    numbered = list(zip(numbers, records, strict=True))
    registry = Registry(conn, geocoder, planning=True)
    rows: list[_Row] = []
    now = datetime.now(UTC)
    for i in range(0, len(numbered), BATCH_SIZE):
        ready = _check_rows(numbered[i : i + BATCH_SIZE], geocoder, registry, status=status, report=report, seen=seen,
                            organisation=organisation, publish_in=publish_in)  # fmt: skip
        stored = queries.existing_dedup_ids(conn, [key for *_, key in ready])
        for number, opp, city_id, key in ready:
            if key in stored:
                report.duplicates.append(number)
                report.duplicate_ids[number] = stored[key]
                continue
            provider_id = registry.provider(opp.provider, city_id)
            values = queries.opportunity_row(opp, provider_id=provider_id, city_id=city_id, now=now, dedup_key=key)
            if submitted_by is not None:
                values["submitted_by"] = submitted_by
            rows.append(_Row(number, values, opp.topics, opp.languages))
            report.stored_rows.append(number)
        if progress is not None:
            progress(min(i + BATCH_SIZE, len(numbered)), len(numbered))
    report.rejected.sort(key=lambda r: r.row)
    report.duplicates.sort()
    return _Plan(report, rows, registry)


@contextmanager
def _reading(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction: one consistent view of the database, holding no lock writers wait for."""
    with engine.connect() as conn, conn.begin():
        yield conn


# Rows of an import that died (a killed process) are swept by a later import after this long.
STAGED_ROWS_KEPT = timedelta(days=1)


def _store(
    engine: Engine,
    plan: _Plan,
    *,
    strict: bool,
    progress: Progress | None = None,
    on_stored: Callable[[Connection, ImportReport], None] | None = None,
) -> ImportReport:
    """Store the planned rows: staged in short transactions of :data:`BATCH_SIZE` rows (each holds
    the write lock only while it writes its batch), then moved in with ``on_stored`` in one
    transaction: every row or none, as the person who uploaded sees it."""
    import_id = uuid.uuid4().hex
    now = datetime.now(UTC)
    try:
        with connection.writing(engine) as conn:
            _sweep_staged(conn, now - STAGED_ROWS_KEPT)
        for i in range(0, len(plan.rows), BATCH_SIZE):
            with connection.writing(engine) as conn:
                _stage(conn, import_id, plan.rows[i : i + BATCH_SIZE], now)
            if progress is not None:
                progress(min(i + BATCH_SIZE, len(plan.rows)), len(plan.rows))
        with connection.writing(engine) as conn:
            report = _move_in(conn, import_id, plan, strict=strict)
            if on_stored is not None:
                on_stored(conn, report)
    finally:  # stored or not, the staged rows have served (a transaction of its own: the lock is short)
        with suppress(Exception), connection.writing(engine) as conn:
            _unstage(conn, import_id)
    return report


def _stage(conn: Connection, import_id: str, rows: Sequence[_Row], now: datetime) -> None:
    if not rows:
        return
    conn.execute(staged_opportunities.insert(), [{**r.values, "import_id": import_id, "row_number": r.number, "staged_at": now}
                                                 for r in rows])  # fmt: skip
    values = [{"import_id": import_id, "dedup_key": r.values["dedup_key"], "kind": kind, "value": value}
              for r in rows for kind, given in (("topic", r.topics), ("language", r.languages)) for value in given]  # fmt: skip
    if values:
        conn.execute(staged_values.insert(), values)


def _real_id(staged: Any, import_id: str, column: str) -> Any:
    """A staged column to select, the stand-in ids of the cities and providers the import adds
    replaced by their ids."""
    kind = {"city_id": "city", "provider_id": "provider"}.get(column)
    if kind is None:
        return staged.c[column]
    added = (
        select(staged_ids.c.id)
        .where(staged_ids.c.import_id == import_id, staged_ids.c.kind == kind, staged_ids.c.stand_in == staged.c[column])
        .scalar_subquery()
    )
    return func.coalesce(added, staged.c[column]).label(column)


def _unstage(conn: Connection, import_id: str) -> None:
    conn.execute(delete(staged_ids).where(staged_ids.c.import_id == import_id))
    conn.execute(delete(staged_values).where(staged_values.c.import_id == import_id))
    conn.execute(delete(staged_opportunities).where(staged_opportunities.c.import_id == import_id))


def _sweep_staged(conn: Connection, before: datetime) -> None:
    """Forget the staged rows of imports that died before ``before``."""
    dead = select(staged_opportunities.c.import_id).where(staged_opportunities.c.staged_at < before).distinct()
    for (import_id,) in conn.execute(dead).all():
        _unstage(conn, import_id)


def _move_in(conn: Connection, import_id: str, plan: _Plan, *, strict: bool) -> ImportReport:
    """Move an import's staged rows into ``opportunities``, adding the cities and providers it
    names first. A row another import stored meanwhile is a duplicate, or with ``strict`` raises
    :class:`ImportChangedError` (the person confirmed a preview that said it would be stored)."""
    staged = staged_opportunities
    report = plan.report
    cities = {stand_in: queries.ensure_city(conn, city) for stand_in, city in plan.registry.new_cities.items()}
    providers = {stand_in: queries.ensure_provider(conn, provider, cities.get(city_id, city_id))
                 for stand_in, (provider, city_id) in plan.registry.new_providers.items()}  # fmt: skip
    added = [{"import_id": import_id, "kind": kind, "stand_in": stand_in, "id": real}
             for kind, ids in (("city", cities), ("provider", providers)) for stand_in, real in ids.items()]  # fmt: skip
    if added:
        conn.execute(staged_ids.insert(), added)
    same_key = opportunities.c.dedup_key == staged.c.dedup_key
    clashes = conn.execute(select(staged.c.row_number, opportunities.c.id).join(opportunities, same_key)
                           .where(staged.c.import_id == import_id).order_by(staged.c.row_number)).all()  # fmt: skip
    if clashes and strict:
        rows = [str(number) for number, _id in clashes]
        raise ImportChangedError(
            f"the data changed since the preview (row {', '.join(rows[:5])}{' …' if len(rows) > 5 else ''} was stored by "
            "another upload meanwhile); nothing was stored: preview the file again"
        )
    for number, oid in clashes:
        report.duplicates.append(number)
        report.duplicate_ids[number] = oid
    if clashes:
        report.duplicates.sort()
        gone = [number for number, _id in clashes]
        keys = select(staged.c.dedup_key).where(staged.c.import_id == import_id, staged.c.row_number.in_(gone))
        conn.execute(delete(staged_values).where(staged_values.c.import_id == import_id, staged_values.c.dedup_key.in_(keys)))
        conn.execute(delete(staged).where(staged.c.import_id == import_id, staged.c.row_number.in_(gone)))
    columns = [c.name for c in opportunities.c if c.name != "id"]
    # Stamped now, as they become visible, not when they were checked: whoever follows changes by
    # updated_at (the Explore index, the open data feeds) looks back a minute, and checking and
    # staging a large file can take longer than that.
    moment = datetime.now(UTC)
    stamped = {name: literal(moment, opportunities.c[name].type).label(name) for name in ("created_at", "updated_at")}
    chosen = [stamped[name] if name in stamped else _real_id(staged, import_id, name) for name in columns]
    ours = select(*chosen).where(staged.c.import_id == import_id)
    conn.execute(opportunities.insert().from_select(columns, ours.order_by(staged.c.row_number)))
    for table, kind in ((opportunity_topics, "topic"), (opportunity_languages, "language")):
        values = (
            select(opportunities.c.id, staged_values.c.value)
            .join(opportunities, opportunities.c.dedup_key == staged_values.c.dedup_key)
            .where(staged_values.c.import_id == import_id, staged_values.c.kind == kind)
        )
        conn.execute(table.insert().from_select(["opportunity_id", kind], values))
    stored = conn.execute(select(staged.c.row_number, opportunities.c.id).join(opportunities, same_key)
                          .where(staged.c.import_id == import_id).order_by(staged.c.row_number)).all()  # fmt: skip
    report.stored_rows = [number for number, _id in stored]
    report.stored_ids = [int(oid) for _number, oid in stored]
    return report


def import_records(
    engine: Engine,
    records: Sequence[Mapping[str, str]],
    geocoder: Geocoder,
    *,
    publish: bool = False,
    progress: Progress | None = None,
    row_numbers: Sequence[int] | None = None,
    on_stored: Callable[[Connection, ImportReport], None] | None = None,
) -> ImportReport:
    """Import records (column → text): every row that passes is stored, or none. ``on_stored``
    runs in the transaction that stores them (say, to write the audit log).

    Rows are numbered as in a spreadsheet (from 2, after the header) unless ``row_numbers`` says.
    Nobody else's write waits for the rows to be checked: see :func:`_plan` and :func:`_store`.
    """
    with _reading(engine) as conn:
        plan = _plan(conn, records, geocoder, publish=publish, progress=progress, row_numbers=row_numbers)
    return _store(engine, plan, strict=False, on_stored=on_stored)


def _with_table(report: ImportReport, table: Table) -> ImportReport:
    """The report with the reader's warnings and the rows it could not read as rows."""
    report.warnings.extend(table.warnings)
    if table.rejected:  # rows the reader could not read as rows count and are reported like the others
        report.total += len(table.rejected)
        report.rejected = sorted([*report.rejected, *table.rejected], key=lambda r: r.row)
    return report


class Outcome(StrEnum):
    """What an import does with a row."""

    STORE = "store"
    REJECT = "reject"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class RowOutcome:
    """One row of a preview: what confirming will do with it, and why."""

    row: int
    outcome: Outcome
    title: str
    errors: tuple[FieldError, ...] = ()  # why a row is rejected (opportunities.i18n.explain_errors words them)
    duplicate_row: int | None = None  # the same opportunity in an earlier row of the file
    duplicate_id: int | None = None  # the same opportunity already stored

    @property
    def field(self) -> str:
        """The first field a rejected row is rejected for ("" for other rows)."""
        return self.errors[0].field if self.errors else ""

    @property
    def reason(self) -> str:
        """Why a row is rejected, in English."""
        return "; ".join(str(e) for e in self.errors)


@dataclass(frozen=True)
class ImportPreview:
    """What importing a read file would do, row by row, computed without storing anything."""

    filename: str
    fingerprint: str  # of the rows read: confirming another file's rows is refused
    publish: bool  # every row published (an admin's trusted import)
    rows: tuple[RowOutcome, ...]
    warnings: tuple[Reason, ...]
    rejected: tuple[RowRejection, ...]  # for the rejected-rows file
    publish_in: frozenset[int] = frozenset()  # the cities whose rows are published (the organisation is trusted there)

    def count(self, outcome: Outcome) -> int:
        return sum(r.outcome is outcome for r in self.rows)


def table_fingerprint(table: Table) -> str:
    """A digest of everything a table holds: its header, row numbers and cells."""
    digest = hashlib.sha256()
    for part in (table.header, table.row_numbers, table.rows, [(r.row, r.reason) for r in table.rejected]):
        digest.update(json.dumps(part, ensure_ascii=False, sort_keys=True).encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _outcomes(report: ImportReport, table: Table) -> tuple[RowOutcome, ...]:
    rows = [RowOutcome(r.row, Outcome.REJECT, r.values.get("title", ""), errors=r.errors) for r in report.rejected]
    titles = {n: record.get("title", "") for n, record in zip(table.row_numbers, table.rows, strict=True)}
    rows += [RowOutcome(n, Outcome.STORE, titles.get(n, "")) for n in report.stored_rows]
    rows += [RowOutcome(n, Outcome.DUPLICATE, titles.get(n, ""), duplicate_row=report.duplicate_rows.get(n),
                        duplicate_id=report.duplicate_ids.get(n)) for n in report.duplicates]  # fmt: skip
    return tuple(sorted(rows, key=lambda r: r.row))


def _as_value(outcome: RowOutcome) -> tuple[object, ...]:
    """A row's outcome as a value: its errors compared by field and reason, not as exception objects
    (which are equal only to themselves, so a rejected row would always differ from its preview)."""
    errors = tuple((e.field, e.reason) for e in outcome.errors)
    return (outcome.row, outcome.outcome, outcome.title, errors, outcome.duplicate_row, outcome.duplicate_id)


def preview_import(
    engine: Engine,
    table: Table,
    geocoder: Geocoder,
    *,
    filename: str = "",
    publish: bool = False,
    publish_in: frozenset[int] = frozenset(),
    organisation: str | None = None,
    progress: Progress | None = None,
) -> ImportPreview:
    """Each row's outcome (stored, rejected and why, duplicate of what), storing nothing.

    The import runs exactly as :func:`confirm_import` will run it, in a transaction that is then
    rolled back: a preview cannot promise what the import would not do.
    """
    with _reading(engine) as conn:
        plan = _plan(conn, table.rows, geocoder, publish=publish, progress=progress, row_numbers=table.row_numbers,
                     organisation=organisation, publish_in=publish_in)  # fmt: skip
    report = _with_table(plan.report, table)
    return ImportPreview(filename=filename, fingerprint=table_fingerprint(table), publish=publish, rows=_outcomes(report, table),
                         warnings=tuple(report.warnings), rejected=tuple(report.rejected), publish_in=publish_in)  # fmt: skip


def confirm_import(
    engine: Engine,
    table: Table,
    geocoder: Geocoder,
    preview: ImportPreview,
    *,
    organisation: str | None = None,
    submitted_by: int | None = None,
    progress: Progress | None = None,
    on_stored: Callable[[Connection, ImportReport], None] | None = None,
) -> ImportReport:
    """Store what ``preview`` showed, and only that. ``on_stored`` runs in the same transaction
    after the rows are stored (say, to write the audit log), so both are kept or neither.

    Raises :class:`ImportChangedError`, storing nothing, when ``table`` is not the previewed file
    or the database changed since so that a row's outcome would differ (say, another upload
    stored one of its opportunities meanwhile).
    """
    if table_fingerprint(table) != preview.fingerprint:
        raise ImportChangedError("this is not the file that was previewed; preview it again before storing")
    with _reading(engine) as conn:
        plan = _plan(conn, table.rows, geocoder, publish=preview.publish, row_numbers=table.row_numbers,
                     organisation=organisation, submitted_by=submitted_by, publish_in=preview.publish_in,
                     progress=_half(progress, second=False))  # fmt: skip
    now = _outcomes(_with_table(plan.report, table), table)
    if [_as_value(r) for r in now] != [_as_value(r) for r in preview.rows]:
        before = {r.row: _as_value(r) for r in preview.rows}
        changed = [r.row for r in now if before.get(r.row) != _as_value(r)]
        raise ImportChangedError(
            f"the data changed since the preview (row {', '.join(map(str, changed[:5]))}"
            f"{' …' if len(changed) > 5 else ''} would now be imported differently); nothing was stored: preview the file again"
        )
    return _store(engine, plan, strict=True, progress=_half(progress, second=True), on_stored=on_stored)


def _half(progress: Progress | None, *, second: bool) -> Progress | None:
    """``progress`` over one of two steps of a confirmed upload (checking the rows again, storing
    them): each step's (done, total) as half of the whole, in per mille."""
    if progress is None:
        return None
    report = progress

    def half(done: int, total: int) -> None:
        report(500 * second + (500 * done) // max(total, 1), 1000)

    return half


def import_file(
    path: Path,
    engine: Engine,
    geocoder: Geocoder,
    *,
    publish: bool = False,
    rejects_path: Path | None = None,
    progress: Progress | None = None,
    limits: ReadLimits | None = None,
    on_stored: Callable[[Connection, ImportReport], None] | None = None,
) -> ImportReport:
    """Import a CSV/XLSX file; rejected rows go to ``rejects_path`` (default: beside the file).
    ``limits`` bound the reading (default: from the settings); ``on_stored`` as in :func:`import_records`.

    Raises :class:`OSError` before importing anything when the rejected-rows file cannot be
    written. Should writing it still fail after the rows were stored, the report says why in
    ``rejects_error`` instead of raising: the import itself has succeeded.
    """
    try:
        table = read_table(path, limits=limits)
    except csv.Error as exc:  # the reader's own limits, e.g. a cell larger than its field limit
        raise ImportFileError(because(N_("{name} cannot be read as CSV: {detail}"), name=path.name, detail=str(exc))) from None
    target = rejects_path or path.with_name(f"{path.stem}.rejected.csv")
    if target.resolve() == path.resolve():
        raise ImportFileError(
            because(N_("the rejected rows would overwrite {name} itself; name another file for them"), name=path.name)
        )
    _check_writable(target)
    report = import_records(engine, table.rows, geocoder, publish=publish, progress=progress, row_numbers=table.row_numbers,
                            on_stored=on_stored)  # fmt: skip
    report = _with_table(report, table)
    if report.rejected:
        try:
            write_rejects(target, table.header, report.rejected)
            report.rejects_path = target
        except OSError as exc:
            report.rejects_error = f"{exc.filename or target}: {exc.strerror or exc}"
    return report


def _check_writable(path: Path) -> None:
    """Raise :class:`OSError` unless ``path`` can be created or overwritten; changes nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    existed = path.exists()
    with path.open("a", encoding="utf-8"):  # append: an existing file keeps its content
        pass
    if not existed:
        path.unlink(missing_ok=True)


def explain_rejection(rejection: RowRejection, language: str = "en") -> str:
    """``Row 3: Youngest age (age_min): This is required.`` in ``language``: as the rejected-rows
    file, the upload preview and the command line say why a row was rejected."""
    reasons = explain_errors(rejection.errors, language, columns=True)
    return translator(language).gettext(ROW_REASON).format(row=rejection.row, reason=reasons)


def write_rejects(path: Path, header: Sequence[str], rejected: Sequence[RowRejection], language: str = "en") -> None:
    """Write :func:`rejects_csv` to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(rejects_csv(header, rejected, language))


def rejects_csv(header: Sequence[str], rejected: Sequence[RowRejection], language: str = "en") -> bytes:
    """The original rows plus a ``reason`` column (in ``language``), ready to fix and upload again.

    Every cell is guarded against formula injection (:mod:`opportunities.listings.cells`): the values
    are provider text, and reading the file again strips the guard.
    """
    # A rejected-rows file imported again already has a reason (and maybe row) column: one is enough.
    header = [h for h in header if _column_name(h) not in ("row", "reason")]
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow([guard_formula(h) for h in (*header, "reason")])
    for rejection in rejected:
        values = [rejection.values.get(_column_name(h), "") for h in header]
        writer.writerow([guard_formula(v) for v in (*values, explain_rejection(rejection, language))])
    # With a byte-order mark, as the export: Excel then reads the file as UTF-8.
    return out.getvalue().encode("utf-8-sig")
