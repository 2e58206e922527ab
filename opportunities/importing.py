"""Bulk import of opportunities from CSV and Excel files, row by row.

Each row is validated and located on its own: a bad row is reported (row number, field,
reason) and written to a rejected-rows CSV, while every valid row around it is stored. The
whole file is stored in one transaction, so a crash leaves nothing half-written.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine

from opportunities import storage
from opportunities.errors import FieldError, GeocodingError, ImportFileError, RecordError
from opportunities.geocoding import Geocoder
from opportunities.model import City, Opportunity, Provider
from opportunities.text import fold
from opportunities.validation import ALL_COLUMNS, REQUIRED_COLUMNS, parse_opportunity
from opportunities.vocabulary import Mode, Status

BATCH_SIZE = 1000
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RowRejection:
    """A row that was not stored, and why."""

    row: int  # as numbered in a spreadsheet: the header is row 1
    field: str
    reason: str
    values: Mapping[str, str]


@dataclass
class ImportReport:
    """What an import did."""

    total: int = 0
    stored_ids: list[int] = field(default_factory=list)
    rejected: list[RowRejection] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)  # row numbers
    warnings: list[str] = field(default_factory=list)
    rejects_path: Path | None = None
    rejects_error: str = ""  # why the rejected rows could not be written, after the rows were stored

    @property
    def stored(self) -> int:
        return len(self.stored_ids)


@dataclass(frozen=True)
class Table:
    """A read file: its header as written and its rows keyed by normalised column name."""

    header: tuple[str, ...]
    rows: list[dict[str, str]]
    row_numbers: list[int]  # as in a spreadsheet: the header is row 1; blank rows are skipped
    warnings: tuple[str, ...] = ()


def _column_name(name: str) -> str:
    return fold(name).replace(" ", "_")


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes") if (value.hour or value.minute) else value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"{path.name} is not UTF-8 text (byte {exc.start}); save it as 'CSV UTF-8' and try again"
        ) from None
    if "\x00" in text:
        raise ImportFileError(f"{path.name} is not a CSV file")
    sample = text[:20_000]
    try:
        dialect: Any = csv.Sniffer().sniff(sample.splitlines()[0] if sample else "", delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(io.StringIO(text, newline=""), dialect))
    if not rows:
        return [], []
    return rows[0], rows[1:]


def _read_xlsx(path: Path) -> tuple[list[str], list[list[str]]]:
    from zipfile import BadZipFile

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (BadZipFile, OSError, KeyError, ValueError) as exc:
        raise ImportFileError(f"{path.name} is not a readable Excel .xlsx file ({exc})") from None
    try:
        sheet = workbook.worksheets[0]
        rows = [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()
    if not rows:
        return [], []
    return rows[0], rows[1:]


def read_table(path: Path) -> Table:
    """Read a CSV or XLSX import file. Raises :class:`ImportFileError` when it is unusable."""
    if not path.is_file():
        raise ImportFileError(f"{path} does not exist")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        header, body = _read_csv(path)
    elif suffix == ".xlsx":
        header, body = _read_xlsx(path)
    else:
        raise ImportFileError(f"{path.name}: expected a .csv or .xlsx file, not {suffix or 'a file without extension'}")
    names = [_column_name(h) for h in header]
    if not any(names):
        raise ImportFileError(f"{path.name} is empty: it needs a header row and at least one row of data")
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise ImportFileError(f"{path.name} lacks the required column(s): {', '.join(missing)}")
    # ``row`` and ``reason`` come from a rejected-rows file being uploaded again.
    unknown = [h for h, n in zip(header, names, strict=True) if n and n not in (*ALL_COLUMNS, "row", "reason")]
    warnings = tuple(f"unknown column {h!r} ignored" for h in unknown)
    rows, numbers = [], []
    for number, values in enumerate(body, start=2):
        if not any(v.strip() for v in values):
            continue  # blank lines are not rows to reject
        rows.append({n: (values[i].strip() if i < len(values) else "") for i, n in enumerate(names) if n})
        numbers.append(number)
    if not rows:
        raise ImportFileError(f"{path.name} has a header but no rows of data")
    return Table(header=tuple(header), rows=rows, row_numbers=numbers, warnings=warnings)


class Registry:
    """Ids of the cities and providers an import refers to, added when new, looked up once each."""

    def __init__(self, conn: Connection, geocoder: Geocoder) -> None:
        self._conn = conn
        self._geocoder = geocoder
        self._cache: dict[tuple[str, str], tuple[int, str]] = {}
        self._providers: dict[str, int] = {}

    def provider(self, name: str, city_id: int) -> int:
        """Id of the provider called ``name``; a new one is registered in ``city_id``."""
        key = fold(name)
        if key not in self._providers:
            self._providers[key] = storage.ensure_provider(self._conn, Provider(name=name), city_id)
        return self._providers[key]

    def city(self, name: str, country: str) -> tuple[int, str]:
        """(city id, stored city name); raises :class:`FieldError` for an unknown city."""
        key = (country, fold(name))
        if key not in self._cache:
            stored = storage.find_city(self._conn, name, country)
            if stored is None:
                place = self._geocoder.gazetteer.place(name, country)
                if place is None:
                    raise FieldError("city", f"{name!r} is not a known place in {country}; check the spelling")
                city = City(name=name, country=country, latitude=place.latitude, longitude=place.longitude,
                            timezone=place.timezone, geonameid=place.geonameid)  # fmt: skip
                city_id = storage.ensure_city(self._conn, city)
                stored = storage.find_city(self._conn, name, country)
                name_found = stored.name if stored and stored.id == city_id else name
                self._cache[key] = (city_id, name_found)
            else:
                assert stored.id is not None
                self._cache[key] = (stored.id, stored.name)
        return self._cache[key]


def locate(opp: Opportunity, geocoder: Geocoder) -> Opportunity:
    """The opportunity with its location found, or :class:`FieldError` saying why it cannot be."""
    if opp.mode is Mode.ONLINE and not opp.has_location and not opp.address:
        return opp
    try:
        found = geocoder.locate(country=opp.country, city=opp.city, address=opp.address,
                                latitude=opp.latitude, longitude=opp.longitude)  # fmt: skip
    except GeocodingError as exc:
        raise FieldError("latitude" if opp.has_location else "address", str(exc)) from None
    return replace(opp, latitude=found.latitude, longitude=found.longitude, precision=found.precision,
                   location_source=found.source)  # fmt: skip


def store_opportunities(
    conn: Connection,
    records: Sequence[tuple[int, Mapping[str, str]]],
    geocoder: Geocoder,
    *,
    status: Status,
    report: ImportReport,
    seen: set[str],
    registry: Registry,
) -> None:
    """Validate, locate, de-duplicate and insert one batch of (row number, record)."""
    now = datetime.now(UTC)
    ready: list[tuple[int, Opportunity, int, str]] = []
    for number, record in records:
        try:
            opp = parse_opportunity(record, status=status)
            city_id, city_name = registry.city(opp.city, opp.country)
            opp = locate(replace(opp, city=city_name), geocoder)
        except RecordError as exc:
            first = exc.errors[0]
            reason = "; ".join(str(e) for e in exc.errors)
            report.rejected.append(RowRejection(number, first.field, reason, record))
            continue
        except FieldError as exc:
            report.rejected.append(RowRejection(number, exc.field, str(exc), record))
            continue
        key = opp.dedup_key
        if key in seen:
            report.duplicates.append(number)
            continue
        seen.add(key)
        ready.append((number, opp, city_id, key))
    stored = storage.existing_dedup_keys(conn, [key for *_, key in ready])
    rows, topics, languages = [], [], []
    for number, opp, city_id, key in ready:
        if key in stored:
            report.duplicates.append(number)
            continue
        provider_id = registry.provider(opp.provider, city_id)
        rows.append(storage.opportunity_row(opp, provider_id=provider_id, city_id=city_id, now=now, dedup_key=key))
        topics.append(opp.topics)
        languages.append(opp.languages)
    report.stored_ids.extend(storage.insert_opportunities(conn, rows, topics, languages))


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
    report = ImportReport(total=len(records))
    status = Status.PUBLISHED if publish else Status.PENDING
    seen: set[str] = set()
    numbers = row_numbers if row_numbers is not None else range(2, len(records) + 2)
    numbered = list(zip(numbers, records, strict=True))
    with storage.writing(engine) as conn:
        registry = Registry(conn, geocoder)
        for i in range(0, len(numbered), BATCH_SIZE):
            batch = numbered[i : i + BATCH_SIZE]
            store_opportunities(conn, batch, geocoder, status=status, report=report, seen=seen, registry=registry)
            if progress is not None:
                progress(min(i + BATCH_SIZE, len(numbered)), len(numbered))
    report.rejected.sort(key=lambda r: r.row)
    report.duplicates.sort()
    return report


def import_file(
    path: Path,
    engine: Engine,
    geocoder: Geocoder,
    *,
    publish: bool = False,
    rejects_path: Path | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import a CSV/XLSX file; rejected rows go to ``rejects_path`` (default: beside the file).

    Raises :class:`OSError` before importing anything when the rejected-rows file cannot be
    written. Should writing it still fail after the rows were stored, the report says why in
    ``rejects_error`` instead of raising: the import itself has succeeded.
    """
    try:
        table = read_table(path)
    except csv.Error as exc:  # the reader's own limits, e.g. a cell larger than its field limit
        raise ImportFileError(f"{path.name} cannot be read as CSV: {exc}") from None
    target = rejects_path or path.with_name(f"{path.stem}.rejected.csv")
    _check_writable(target)
    report = import_records(engine, table.rows, geocoder, publish=publish, progress=progress, row_numbers=table.row_numbers)
    report.warnings.extend(table.warnings)
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


def write_rejects(path: Path, header: Sequence[str], rejected: Sequence[RowRejection]) -> None:
    """The original rows plus ``row`` and ``reason`` columns, ready to fix and upload again."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([*header, "reason"])
        for rejection in rejected:
            values = [rejection.values.get(_column_name(h), "") for h in header]
            writer.writerow([*values, f"row {rejection.row}: {rejection.reason}"])

