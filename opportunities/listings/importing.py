"""Bulk import of opportunities from CSV and Excel files, row by row.

Each row is validated and located on its own: a bad row is reported (row number, field,
reason) and written to a rejected-rows CSV, while every valid row around it is stored. The
whole file is stored in one transaction, so a crash leaves nothing half-written."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from sqlalchemy import Connection, Engine

from opportunities.db import connection, queries
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
    """Ids of the cities and providers an import refers to, added when new, looked up once each."""

    def __init__(self, conn: Connection, geocoder: Geocoder) -> None:
        self._conn = conn
        self._geocoder = geocoder
        self._cache: dict[tuple[str, str], tuple[int, str]] = {}
        self._providers: dict[str, int] = {}
        self._centres: dict[tuple[str, str], Place | None] = {}

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

    def centre(self, name: str, country: str) -> Place | None:
        """A stored city the gazetteer does not know (added from an earlier row's location), as a
        place to fall back on; None for the cities the gazetteer knows."""
        key = (country, fold(name))
        if key not in self._centres:
            stored = None if self._geocoder.gazetteer.place(name, country) else queries.find_city(self._conn, name, country)
            # cities500 lists every place of 500 people or more: one it lacks is as small as they come.
            self._centres[key] = None if stored is None else Place(
                geonameid=None, latitude=stored.latitude, longitude=stored.longitude, population=0, country=country,
                timezone=stored.timezone, uncertainty_m=MIN_PLACE_UNCERTAINTY_M)  # fmt: skip
        return self._centres[key]

    def provider(self, name: str, city_id: int) -> int:
        """Id of the provider called ``name``; a new one is registered in ``city_id``."""
        key = fold(name)
        if key not in self._providers:
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
            if stored is None:
                city = self._new_city(name, country, opp, written)
                city_id = queries.ensure_city(self._conn, city)
                stored = queries.find_city(self._conn, name, country)
                name_found = stored.name if stored and stored.id == city_id else name
                self._cache[key] = (city_id, name_found)
            else:
                assert stored.id is not None
                self._cache[key] = (stored.id, stored.name)
        return self._cache[key]


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


def store_opportunities(
    conn: Connection,
    records: Sequence[tuple[int, Mapping[str, str]]],
    geocoder: Geocoder,
    *,
    status: Status,
    report: ImportReport,
    seen: dict[str, int],
    registry: Registry,
    organisation: str | None = None,
    submitted_by: int | None = None,
    publish_in: frozenset[int] = frozenset(),
) -> None:
    """Validate, locate, de-duplicate and insert one batch of (row number, record).

    ``seen`` maps the duplicate key of each row taken so far to its row number. With
    ``organisation``, every row must be that organisation's (an empty provider cell is filled in).
    Rows in the cities of ``publish_in`` (where the organisation is trusted) are published whatever
    ``status`` says.
    """
    now = datetime.now(UTC)
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
    stored = queries.existing_dedup_ids(conn, [key for *_, key in ready])
    rows, topics, languages, numbers = [], [], [], []
    for number, opp, city_id, key in ready:
        if key in stored:
            report.duplicates.append(number)
            report.duplicate_ids[number] = stored[key]
            continue
        provider_id = registry.provider(opp.provider, city_id)
        row = queries.opportunity_row(opp, provider_id=provider_id, city_id=city_id, now=now, dedup_key=key)
        if submitted_by is not None:
            row["submitted_by"] = submitted_by
        rows.append(row)
        topics.append(opp.topics)
        languages.append(opp.languages)
        numbers.append(number)
    report.stored_ids.extend(queries.insert_opportunities(conn, rows, topics, languages))
    report.stored_rows.extend(numbers)


def _import_rows(
    conn: Connection,
    records: Sequence[Mapping[str, str]],
    geocoder: Geocoder,
    *,
    publish: bool,
    progress: Progress | None,
    row_numbers: Sequence[int] | None,
    organisation: str | None = None,
    submitted_by: int | None = None,
    publish_in: frozenset[int] = frozenset(),
) -> ImportReport:
    """Import records within the transaction of ``conn`` (the caller commits or rolls back)."""
    report = ImportReport(total=len(records))
    status = Status.PUBLISHED if publish else Status.PENDING
    seen: dict[str, int] = {}
    numbers = row_numbers if row_numbers is not None else range(2, len(records) + 2)
    numbered = list(zip(numbers, records, strict=True))
    registry = Registry(conn, geocoder)
    for i in range(0, len(numbered), BATCH_SIZE):
        batch = numbered[i : i + BATCH_SIZE]
        store_opportunities(conn, batch, geocoder, status=status, report=report, seen=seen, registry=registry,
                            organisation=organisation, submitted_by=submitted_by, publish_in=publish_in)  # fmt: skip
        if progress is not None:
            progress(min(i + BATCH_SIZE, len(numbered)), len(numbered))
    report.rejected.sort(key=lambda r: r.row)
    report.duplicates.sort()
    return report


def import_records(
    engine: Engine,
    records: Sequence[Mapping[str, str]],
    geocoder: Geocoder,
    *,
    publish: bool = False,
    progress: Progress | None = None,
    row_numbers: Sequence[int] | None = None,
) -> ImportReport:
    """Import records (column → text) in one transaction.

    Rows are numbered as in a spreadsheet (from 2, after the header) unless ``row_numbers`` says.
    """
    with connection.writing(engine) as conn:
        return _import_rows(conn, records, geocoder, publish=publish, progress=progress, row_numbers=row_numbers)


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
    with connection.rolled_back(engine) as conn:
        report = _import_rows(conn, table.rows, geocoder, publish=publish, progress=progress,
                              row_numbers=table.row_numbers, organisation=organisation, publish_in=publish_in)  # fmt: skip
    report = _with_table(report, table)
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
    with connection.writing(engine) as conn:
        report = _import_rows(conn, table.rows, geocoder, publish=preview.publish, progress=progress,
                              row_numbers=table.row_numbers, organisation=organisation, submitted_by=submitted_by,
                              publish_in=preview.publish_in)  # fmt: skip
        report = _with_table(report, table)
        now = _outcomes(report, table)
        if [_as_value(r) for r in now] != [_as_value(r) for r in preview.rows]:
            before = {r.row: _as_value(r) for r in preview.rows}
            changed = [r.row for r in now if before.get(r.row) != _as_value(r)]
            raise ImportChangedError(
                f"the data changed since the preview (row {', '.join(map(str, changed[:5]))}"
                f"{' …' if len(changed) > 5 else ''} would now be imported differently); nothing was stored: preview the file again"
            )
        if on_stored is not None:
            on_stored(conn, report)
    return report


def import_file(
    path: Path,
    engine: Engine,
    geocoder: Geocoder,
    *,
    publish: bool = False,
    rejects_path: Path | None = None,
    progress: Progress | None = None,
    limits: ReadLimits | None = None,
) -> ImportReport:
    """Import a CSV/XLSX file; rejected rows go to ``rejects_path`` (default: beside the file).
    ``limits`` bound the reading (default: from the settings).

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
    report = import_records(engine, table.rows, geocoder, publish=publish, progress=progress, row_numbers=table.row_numbers)
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
