"""A backup of a whole installation in one file, restored on SQLite or PostgreSQL alike.

The file is a zip archive (the same on both databases, so a restore also moves a city from SQLite
to PostgreSQL):

- ``manifest.json``: the format and its version, the app's version, the schema revision (alembic),
  the database it came from, when it was taken, and for every member its rows or bytes and SHA-256;
- ``tables/<table>.jsonl``: every row of every table (accounts, sessions, mail and the audit log
  included), one JSON array per line in the manifest's column order, by primary key. All tables
  are read in one snapshot (a single read transaction, REPEATABLE READ on PostgreSQL; an SQLite
  reader in WAL mode sees one snapshot) and streamed, never a whole table in memory;
- ``addresses/sources/<area>/...``: the street-level address areas loaded into ADDRESS_INDEX_DIR;
  a restore builds the index from them again.

Values are JSON where JSON holds them exactly (text in any script, integers, floats, booleans,
NULL); decimals, dates and times are ISO text, timestamps in UTC with their offset (SQLite returns
them naive, in UTC as written), bytes ``{"base64": ...}``. A restore reads each back by the type of
its column.

A restore checks the manifest and every member's checksum before it touches anything, and refuses
a schema revision this version does not know (a newer one). Then, in ONE transaction, it empties
the database, migrates it to the backup's revision, inserts every row in dependency order with its
id (PostgreSQL's id sequences go on after the ids restored) and migrates it to the newest
revision: an older backup comes back upgraded, and a failure anywhere leaves the database as it
was. The audit log's triggers refuse only UPDATE and DELETE, so its rows go back as they were and
the triggers stay. Last, the address areas replace the loaded ones and the search-index snapshots
(``CACHE_DIR/search-index``) are removed: they describe the data as it was before.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, func, insert, inspect, select, text
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.sql.expression import TableClause
from sqlalchemy.types import TypeEngine

from opportunities import __version__
from opportunities.db import connection, schema
from opportunities.errors import BackupError, NewerSchemaError, NotABackupError, NotEmptyError
from opportunities.places import address_index
from opportunities.progress import Progress

FORMAT = "cities-of-learning-map backup"
FORMAT_VERSION = 1  # a restore reads this version and older ones
MANIFEST = "manifest.json"
# Rows fetched from a server-side cursor, and inserted, per statement.
BATCH_ROWS = 1000
PROGRESS_EVERY = 50_000  # rows between two progress reports within a table
ADDRESS_FILES = "address files"  # the progress step of the address index
CHECKSUMS = "checksums verified"  # the progress step of a restore's first pass
_VERSION_TABLE = "alembic_version"
_TABLE_NAME = re.compile(r"[a-z_][a-z0-9_]*")
_FILE_NAME = re.compile(r"[0-9A-Za-z_][0-9A-Za-z_.-]*")  # never "..", never hidden
# What a damaged or foreign zip archive raises while it is read.
_ARCHIVE_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError)

"""``(step, done, total)``: a table's rows at the end of the table and every PROGRESS_EVERY rows,
then :data:`ADDRESS_FILES` (and, when restoring, :data:`CHECKSUMS` first)."""


@dataclass(frozen=True)
class BackupReport:
    """What a backup holds."""

    path: Path
    revision: str  # the schema revision of the database backed up
    tables: dict[str, int]  # rows per table
    address_files: int
    bytes: int  # size of the backup file

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


@dataclass(frozen=True)
class RestoreReport:
    """What a restore did. ``warnings``: what failed after the database was restored (it stays restored)."""

    path: Path
    revision: str  # the backup's schema revision
    schema: str  # the database's revision now (the newest: an older backup was upgraded)
    tables: dict[str, int]  # rows restored per table
    address_areas: tuple[str, ...]
    warnings: tuple[str, ...] = ()

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


# --- tables and values --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Shape:
    """A table as the database holds it: columns in order, primary key, and each column's type (the
    declared one in :data:`schema.metadata` where there is one: SQLite forgets time zones)."""

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    types: dict[str, TypeEngine[Any]]

    def clause(self, columns: Sequence[str] | None = None) -> TableClause:
        return sql_table(self.name, *(sql_column(c, self.types[c]) for c in columns or self.columns))


def _shapes(conn: Connection) -> list[_Shape]:
    """Every table of the app in the database (not alembic's), by name."""
    inspector = inspect(conn)
    shapes = []
    for name in sorted(inspector.get_table_names()):
        if name == _VERSION_TABLE:
            continue
        declared = schema.metadata.tables.get(name)
        columns = inspector.get_columns(name)
        types = {
            c["name"]: declared.c[c["name"]].type if declared is not None and c["name"] in declared.c else c["type"]
            for c in columns
        }
        key = tuple(inspector.get_pk_constraint(name).get("constrained_columns") or ())
        shapes.append(_Shape(name, tuple(c["name"] for c in columns), key, types))
    return shapes


def _python_type(type_: TypeEngine[Any]) -> object:
    try:
        return type_.python_type
    except NotImplementedError:  # a type of a column SQLAlchemy does not know
        return None


def _encode(value: Any) -> Any:
    """``value`` as JSON can hold it exactly (see the module's docstring): what ``json.dumps`` is
    given for any value it has no form for."""
    if value is None or isinstance(value, str | int | float):  # bool is an int
        return value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return {"base64": base64.b64encode(bytes(value)).decode("ascii")}
    raise BackupError(f"a value of type {type(value).__name__} cannot be backed up")


def _encode_utc(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)).isoformat()
    return _encode(value)


def _bytes(found: dict[str, Any]) -> bytes:
    """The JSON object of a value: only ever bytes."""
    if set(found) != {"base64"} or not isinstance(found["base64"], str):
        raise ValueError(f"{found!r} is not a value")
    return base64.b64decode(found["base64"], validate=True)


def _parser(type_: TypeEngine[Any]) -> Callable[[str], Any] | None:
    """How the text of a column of this type is read back, None when the JSON value is the value."""
    kind = _python_type(type_)
    if kind is datetime:
        aware = bool(getattr(type_, "timezone", False))

        def parse_datetime(text: str) -> datetime:
            moment = datetime.fromisoformat(text)
            if aware:
                return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
            return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)

        return parse_datetime
    parsers: dict[object, Callable[[str], Any]] = {date: date.fromisoformat, time: time.fromisoformat, Decimal: Decimal}
    return parsers.get(kind)


class _Codec:
    """One line of JSON per row of a table whose columns have ``types``, and back.

    JSON's own types pass through its C encoder; only timestamps with a time zone are put in UTC
    first, and text is parsed back only in the columns of dates, times and decimals.
    """

    def __init__(self, types: Sequence[TypeEngine[Any]]) -> None:
        self._utc = [i for i, t in enumerate(types) if _python_type(t) is datetime and getattr(t, "timezone", False)]
        self._parsers = [(i, parse) for i, t in enumerate(types) if (parse := _parser(t)) is not None]

    def line(self, row: Sequence[Any]) -> str:
        values = list(row)
        for i in self._utc:
            values[i] = _encode_utc(values[i])
        return json.dumps(values, ensure_ascii=False, separators=(",", ":"), default=_encode)

    def values(self, line: str | bytes) -> list[Any]:
        """The values of a line; ValueError (or TypeError, ArithmeticError) for one that is not a row."""
        values = json.loads(line, object_hook=_bytes)
        if not isinstance(values, list):
            raise ValueError("not a list of values")
        for i, parse in self._parsers:
            if i < len(values) and isinstance(values[i], str):
                values[i] = parse(values[i])
        return values


def _current_revision(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


# --- writing ------------------------------------------------------------------------------------


def write_backup(
    engine: Engine, out: Path, *, address_dir: Path, overwrite: bool = False, progress: Progress | None = None
) -> BackupReport:
    """Write a backup of the database behind ``engine`` and of the address areas in ``address_dir``
    to ``out``. The database is only read, and not migrated: back it up before an upgrade.

    The file appears whole or not at all (written beside ``out``, then renamed), readable by its
    owner only: it holds password hashes and people's addresses. Raises :class:`BackupError` when
    ``out`` exists (unless ``overwrite``) or the database holds no schema of this app.
    """
    out = Path(out)
    if out.exists() and not overwrite:
        raise BackupError(f"{out} exists already")
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent)
    partial = Path(name)
    try:
        with os.fdopen(handle, "wb") as raw:
            with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
                manifest = _write_tables(engine, archive, progress)
                manifest["files"] = _write_addresses(archive, address_dir, progress)
                archive.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1))
            raw.flush()
            os.fsync(raw.fileno())
        _publish(partial, out, overwrite=overwrite)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    tables = {t["name"]: t["rows"] for t in manifest["tables"]}
    return BackupReport(out, manifest["revision"], tables, len(manifest["files"]), out.stat().st_size)


def _publish(partial: Path, out: Path, *, overwrite: bool) -> None:
    """Rename the finished file to ``out``; without ``overwrite``, never over a file that appeared meanwhile."""
    if overwrite:
        os.replace(partial, out)
    else:
        try:
            os.link(partial, out)
        except FileExistsError:
            raise BackupError(f"{out} exists already") from None
        except OSError:  # a file system without hard links
            if out.exists():
                raise BackupError(f"{out} exists already") from None
            os.replace(partial, out)
        partial.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # the rename itself made durable, where the system allows
        folder = os.open(out.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def _write_tables(engine: Engine, archive: zipfile.ZipFile, progress: Progress | None) -> dict[str, Any]:
    created_at = datetime.now(UTC)
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")  # one snapshot for every table
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            revision = _current_revision(conn)
            if revision is None:
                raise BackupError("the database holds no schema of this app (no schema revision): nothing to back up")
            tables = [_write_table(conn, archive, shape, progress) for shape in _shapes(conn)]
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, "app_version": __version__, "revision": revision,
        "database": engine.dialect.name, "created_at": created_at.isoformat(), "tables": tables,
    }  # fmt: skip


def _write_table(conn: Connection, archive: zipfile.ZipFile, shape: _Shape, progress: Progress | None) -> dict[str, Any]:
    clause = shape.clause()
    total = int(conn.execute(select(func.count()).select_from(clause)).scalar_one())
    codec = _Codec([shape.types[c] for c in shape.columns])
    # A server-side cursor on PostgreSQL, BATCH_ROWS at a time; SQLite's cursor reads on demand anyway.
    query = select(*clause.c).order_by(*(clause.c[k] for k in shape.key)).execution_options(yield_per=BATCH_ROWS)
    member = f"tables/{shape.name}.jsonl"
    digest, size, rows = hashlib.sha256(), 0, 0
    with archive.open(member, "w", force_zip64=True) as fh:
        for batch in conn.execute(query).partitions():
            chunk = ("\n".join(codec.line(row) for row in batch) + "\n").encode()
            fh.write(chunk)
            digest.update(chunk)
            size += len(chunk)
            rows += len(batch)
            if progress is not None and rows % PROGRESS_EVERY < len(batch) and rows < total:
                progress(shape.name, rows, total)
    if progress is not None:
        progress(shape.name, rows, total)
    return {"name": shape.name, "member": member, "columns": list(shape.columns), "rows": rows, "bytes": size,
            "sha256": digest.hexdigest()}  # fmt: skip


def _write_addresses(archive: zipfile.ZipFile, address_dir: Path, progress: Progress | None) -> list[dict[str, Any]]:
    files = address_index.source_files(address_dir)
    written = []
    for path in files:
        relative = path.relative_to(address_dir).as_posix()
        member = f"addresses/{relative}"
        digest, size = hashlib.sha256(), 0
        with path.open("rb") as source, archive.open(member, "w", force_zip64=True) as target:
            while chunk := source.read(1 << 20):
                target.write(chunk)
                digest.update(chunk)
                size += len(chunk)
        written.append({"path": relative, "member": member, "bytes": size, "sha256": digest.hexdigest()})
    if progress is not None and files:
        progress(ADDRESS_FILES, len(files), len(files))
    return written


# --- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _TableEntry:
    name: str
    member: str
    columns: tuple[str, ...]
    rows: int
    sha256: str


@dataclass(frozen=True)
class _FileEntry:
    path: str  # sources/<area>/<file>
    member: str
    sha256: str


class _Backup:
    """An opened backup whose manifest was checked (:func:`_open_backup`)."""

    def __init__(self, path: Path, archive: zipfile.ZipFile, manifest: dict[str, Any]) -> None:
        self.path = path
        self.archive = archive
        self.revision = _text(path, manifest, "revision")
        self.tables = [_table_entry(path, t) for t in _list(path, manifest, "tables")]
        self.files = [_file_entry(path, f) for f in _list(path, manifest, "files")]
        names = [t.name for t in self.tables]
        if len(set(names)) < len(names):
            raise NotABackupError(path, "its manifest lists a table twice")
        expected = sorted([MANIFEST, *(t.member for t in self.tables), *(f.member for f in self.files)])
        if sorted(archive.namelist()) != expected:
            extra = sorted(set(archive.namelist()) - set(expected)) or sorted(set(expected) - set(archive.namelist()))
            raise NotABackupError(
                path, f"its members are not those its manifest lists ({', '.join(extra[:5]) or 'a member twice'})"
            )

    def chunks(self, member: str) -> Iterator[bytes]:
        try:
            with self.archive.open(member) as fh:
                while chunk := fh.read(1 << 20):
                    yield chunk
        except _ARCHIVE_ERRORS as exc:
            raise NotABackupError(self.path, f"{member} is damaged ({exc})") from None

    def lines(self, entry: _TableEntry) -> Iterator[bytes]:
        """The lines of a table's member, one row each."""
        try:
            with self.archive.open(entry.member) as fh:
                yield from fh  # a binary file splits at b"\n" only, never inside a JSON string
        except _ARCHIVE_ERRORS as exc:
            raise NotABackupError(self.path, f"{entry.member} is damaged ({exc})") from None

    def verify(self, progress: Progress | None) -> None:
        """Check every member against the manifest's SHA-256 (zip's own CRC is checked on the way)."""
        members = [(t.member, t.sha256) for t in self.tables] + [(f.member, f.sha256) for f in self.files]
        for member, expected in members:
            digest = hashlib.sha256()
            for chunk in self.chunks(member):
                digest.update(chunk)
            if digest.hexdigest() != expected:
                raise NotABackupError(self.path, f"{member} is damaged (its checksum is not the manifest's)")
        if progress is not None:
            progress(CHECKSUMS, len(members), len(members))

    @property
    def areas(self) -> tuple[str, ...]:
        return tuple(sorted({PurePosixPath(f.path).parts[1] for f in self.files}))


def _text(path: Path, entry: dict[str, Any], key: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value:
        raise NotABackupError(path, f"its manifest has no {key}")
    return value


def _list(path: Path, entry: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = entry.get(key)
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise NotABackupError(path, f"its manifest has no list of {key}")
    return value


def _table_entry(path: Path, entry: dict[str, Any]) -> _TableEntry:
    name = _text(path, entry, "name")
    columns, rows = entry.get("columns"), entry.get("rows")
    if not _TABLE_NAME.fullmatch(name) or entry.get("member") != f"tables/{name}.jsonl":
        raise NotABackupError(path, f"its manifest lists a table {name!r} this app cannot have")
    if not isinstance(columns, list) or not columns or not all(isinstance(c, str) for c in columns):
        raise NotABackupError(path, f"its manifest has no columns of table {name}")
    if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
        raise NotABackupError(path, f"its manifest has no row count of table {name}")
    return _TableEntry(name, f"tables/{name}.jsonl", tuple(columns), rows, _text(path, entry, "sha256"))


def _file_entry(path: Path, entry: dict[str, Any]) -> _FileEntry:
    relative = _text(path, entry, "path")
    parts = relative.split("/")
    if len(parts) != 3 or parts[0] != "sources" or not all(_FILE_NAME.fullmatch(p) for p in parts) \
            or entry.get("member") != f"addresses/{relative}":  # fmt: skip
        raise NotABackupError(path, f"its manifest lists an address file {relative!r} outside the address index")
    return _FileEntry(relative, f"addresses/{relative}", _text(path, entry, "sha256"))


@contextlib.contextmanager
def _open_backup(path: Path) -> Iterator[_Backup]:
    """The backup in ``path``, its manifest checked (not yet its members' checksums)."""
    try:
        archive = zipfile.ZipFile(path)
    except _ARCHIVE_ERRORS as exc:
        raise NotABackupError(path, f"not a zip archive, or a truncated one ({exc})") from None
    with archive:
        try:
            manifest = json.loads(archive.read(MANIFEST))
        except KeyError:
            raise NotABackupError(path, f"it has no {MANIFEST}") from None
        except ValueError:
            raise NotABackupError(path, f"its {MANIFEST} is not JSON") from None
        except _ARCHIVE_ERRORS as exc:
            raise NotABackupError(path, f"its {MANIFEST} is damaged ({exc})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise NotABackupError(path, f"its {MANIFEST} is not one this app writes")
        version = manifest.get("format_version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise NotABackupError(path, f"its {MANIFEST} has no format version")
        if version > FORMAT_VERSION:
            raise BackupError(
                f"{path} was written by a newer version of the app (backup format {version}; "
                f"this version reads up to {FORMAT_VERSION}): restore it with that version"
            )
        yield _Backup(path, archive, manifest)


# --- restoring ----------------------------------------------------------------------------------


def restore_backup(
    engine: Engine,
    source: Path,
    *,
    address_dir: Path,
    cache_dir: Path,
    replace: bool = False,
    progress: Progress | None = None,
) -> RestoreReport:
    """Make the database behind ``engine`` and the address index in ``address_dir`` what the backup
    in ``source`` holds, the schema upgraded to the newest revision; remove the search-index
    snapshots in ``cache_dir``.

    Nothing is changed when the file is not a whole backup of this app (:class:`NotABackupError`),
    holds a newer schema (:class:`NewerSchemaError`), or the database or address index holds data
    and ``replace`` is false (:class:`NotEmptyError`); nor when the restore fails on the way.
    """
    source = Path(source)
    with _open_backup(source) as backup:
        known = connection.known_revisions(engine)
        if backup.revision not in known:
            raise NewerSchemaError(backup.revision, known[-1])
        if not replace:  # refused before the long checks; checked again in the transaction below
            with engine.connect() as conn:
                held = _held(conn, address_dir)
            if held:
                raise NotEmptyError(held)
        backup.verify(progress)
        staged = _stage_addresses(backup, address_dir) if backup.files or address_index.source_files(address_dir) else None
        try:
            with connection.writing(engine) as conn:
                held = _held(conn, address_dir)
                if held and not replace:
                    raise NotEmptyError(held)
                _empty(conn)
                connection.migrate_connection(conn, backup.revision)
                tables = _insert_tables(conn, backup, progress)
                _continue_sequences(conn)
                connection.migrate_connection(conn, "head")
                schema = _current_revision(conn) or ""
        except BaseException:
            if staged is not None:
                shutil.rmtree(staged, ignore_errors=True)
            raise
        areas = backup.areas
    warnings = []
    if staged is not None:
        try:
            address_index.replace_sources(address_dir, staged / "sources")
        except OSError as exc:
            warnings.append(f"the address index in {address_dir} was not restored ({exc}); the database was")
        finally:
            shutil.rmtree(staged, ignore_errors=True)
    snapshots = cache_dir / "search-index"
    try:
        shutil.rmtree(snapshots)
    except FileNotFoundError:
        pass
    except OSError as exc:
        warnings.append(
            f"the search-index snapshots in {snapshots} could not be removed ({exc}); remove the "
            "folder before the app starts again, or it may show the listings as they were before"
        )
    return RestoreReport(source, backup.revision, schema, tables, areas, tuple(warnings))


def _held(conn: Connection, address_dir: Path) -> dict[str, int]:
    """Rows per non-empty table of the app, and the address areas loaded: what a restore replaces."""
    present = set(inspect(conn).get_table_names())
    held = {}
    for table in schema.metadata.sorted_tables:
        if table.name in present:
            rows = int(conn.execute(select(func.count()).select_from(sql_table(table.name))).scalar_one())
            if rows:
                held[table.name] = rows
    areas = address_index.area_stats(address_dir)
    if areas:
        held["address areas"] = len(areas)
    return held


def _empty(conn: Connection) -> None:
    """Drop the app's tables and alembic's record of the revision (tables of anyone else stay)."""
    ours = [n for n in inspect(conn).get_table_names() if n in schema.metadata.tables or n == _VERSION_TABLE]
    found = MetaData()
    found.reflect(conn, only=ours)
    found.drop_all(conn)  # dependants first; dropping a table fires none of its triggers


def _insert_tables(conn: Connection, backup: _Backup, progress: Progress | None) -> dict[str, int]:
    shapes = {shape.name: shape for shape in _shapes(conn)}
    entries = {entry.name: entry for entry in backup.tables}
    if set(shapes) != set(entries):
        raise NotABackupError(backup.path, f"its tables are not those of schema revision {backup.revision} "
                                           f"(differing: {', '.join(sorted(set(shapes) ^ set(entries)))})")  # fmt: skip
    order = MetaData()
    order.reflect(conn, only=list(shapes))
    restored = {}
    for table in order.sorted_tables:  # a table after those it refers to
        entry, shape = entries[table.name], shapes[table.name]
        if set(entry.columns) != set(shape.columns) or len(entry.columns) != len(shape.columns):
            raise NotABackupError(backup.path, f"its columns of {entry.name} are not those of schema revision {backup.revision}")
        restored[entry.name] = _insert_rows(conn, backup, entry, shape, progress)
    return restored


def _insert_rows(conn: Connection, backup: _Backup, entry: _TableEntry, shape: _Shape, progress: Progress | None) -> int:
    statement = insert(shape.clause(entry.columns))
    codec = _Codec([shape.types[c] for c in entry.columns])
    width = len(entry.columns)
    batch: list[dict[str, Any]] = []
    rows = 0
    for line in backup.lines(entry):
        rows += 1
        try:
            values = codec.values(line)
        except (ValueError, TypeError, ArithmeticError) as exc:
            raise NotABackupError(backup.path, f"{entry.member} line {rows} is not a row its table can take ({exc})") from None
        if len(values) != width:
            raise NotABackupError(backup.path, f"{entry.member} line {rows} has {len(values)} values, not {width}")
        batch.append(dict(zip(entry.columns, values, strict=True)))
        if len(batch) == BATCH_ROWS:
            _insert_batch(conn, statement, batch, entry.name, rows)
            batch = []
        if progress is not None and rows % PROGRESS_EVERY == 0 and rows < entry.rows:
            progress(entry.name, rows, entry.rows)
    if batch:
        _insert_batch(conn, statement, batch, entry.name, rows)
    if rows != entry.rows:
        raise NotABackupError(backup.path, f"{entry.member} holds {rows} rows, its manifest says {entry.rows}")
    if progress is not None:
        progress(entry.name, rows, entry.rows)
    return rows


def _insert_batch(conn: Connection, statement: Any, batch: list[dict[str, Any]], table: str, last: int) -> None:
    """Insert a batch of rows; one a column cannot take is named by its line (SQLite keeps text longer
    than its column allows, PostgreSQL refuses it: a move between them)."""
    from sqlalchemy.exc import DataError, IntegrityError

    try:
        with conn.begin_nested():  # a savepoint: on failure, the rows are tried one by one below
            conn.execute(statement, batch)
        return
    except (DataError, IntegrityError) as exc:
        failed: Exception = exc
        where = f"lines {last - len(batch) + 1}–{last}"
        for offset, row in enumerate(batch):
            try:
                with conn.begin_nested():
                    conn.execute(statement, row)
            except (DataError, IntegrityError) as row_exc:
                failed, where = row_exc, f"line {last - len(batch) + 1 + offset}" + (f" (id {row['id']})" if "id" in row else "")
                break
    orig = getattr(failed, "orig", None)
    reason = str(orig).strip().splitlines()[0] if orig is not None else str(failed)
    raise BackupError(f"{where} of table {table} cannot be stored in this database ({reason}); nothing was changed")


def _continue_sequences(conn: Connection) -> None:
    """On PostgreSQL, set each id sequence past the largest id restored (SQLite takes max(id) + 1 itself)."""
    if conn.dialect.name != "postgresql":
        return
    quote = conn.dialect.identifier_preparer.quote
    inspector = inspect(conn)
    for name in inspector.get_table_names():
        key = inspector.get_pk_constraint(name).get("constrained_columns") or []
        if len(key) != 1:
            continue
        sequence = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": quote(name), "c": key[0]}).scalar()
        if sequence is not None:
            # Names from the catalogue, quoted: no text of the backup goes into the statement.
            conn.execute(
                text(f"SELECT setval(:s, COALESCE((SELECT MAX({quote(key[0])}) FROM {quote(name)}), 0) + 1, false)"),
                {"s": sequence},
            )


def _stage_addresses(backup: _Backup, address_dir: Path) -> Path:
    """The backup's address areas unpacked into a staging folder inside ``address_dir`` (``sources/``)."""
    staging = address_index.staging_folder(address_dir)
    try:
        (staging / "sources").mkdir()
        for entry in backup.files:
            target = staging.joinpath(*PurePosixPath(entry.path).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as fh:
                for chunk in backup.chunks(entry.member):
                    fh.write(chunk)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging
