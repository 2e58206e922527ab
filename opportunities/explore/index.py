"""An in-memory columnar index of published opportunities, for filtering a million in milliseconds.

The map must answer a filter change on a million opportunities in well under a second; a SQL
query that returns a million rows cannot. :class:`OpportunityIndex` holds one NumPy array per
filterable field (topics and languages as bit masks) and applies a :class:`SearchQuery` as vector
operations. It gives the same answers as :func:`opportunities.explore.search.search` (tests check this);
the SQL search stays the reference and serves the command line.

Snapshots in ``CACHE_DIR/search-index`` spare a rebuild per process. Several processes (app
workers, imports) share the folder: a snapshot is written to a temporary file of its own and
renamed into place, a damaged one is rebuilt, and a file is only removed when no process can be
using it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import secrets
import time as time_module
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from sqlalchemy import ColumnElement, Connection, select, text, union

from opportunities import recurrence
from opportunities.db.queries import data_version, newest_change
from opportunities.db.schema import cities, opportunities, opportunity_languages, opportunity_topics
from opportunities.explore.search import SearchQuery, filtered_query
from opportunities.shared_cache import SharedCache
from opportunities.text import fold
from opportunities.vocabulary import (
    AGE_GROUPS_BY_ID,
    APPROXIMATE_PRECISIONS,
    PIN_MAX_UNCERTAINTY_M,
    TOPICS,
    Mode,
    OpportunityType,
    Precision,
    Status,
)

# Topics are one uint16 mask per row (maps.clusters reads them so): the vocabulary must fit.
if len(TOPICS) > 16:
    raise ImportError(f"{len(TOPICS)} topics do not fit the index's 16-bit topic masks; widen them")

_EPOCH = date(1970, 1, 1)
INDEX_FORMAT = "7"  # 7: precision "street"; bump when the saved layout changes
SNAPSHOT_MAX_AGE_S = 7 * 24 * 3600  # any database's snapshot unused this long is removed
# Another version of this database's snapshot is removed once unused this long: a process still
# on the older data (it read the version before an import committed) may be about to read it.
SNAPSHOT_IN_USE_S = 60
# A temporary snapshot file is being written by another process until it is this old; older,
# it was left by a process that died while writing.
SNAPSHOT_WRITE_S = 3600
_SNAPSHOT_NAME = re.compile(r"[0-9a-f]{12}-[0-9a-f]{16}\.npz")
_TEMP_PREFIX = ".writing-"
# What reading a truncated or otherwise damaged .npz can raise.
_SNAPSHOT_READ_ERRORS = (
    OSError, EOFError, ValueError, KeyError, TypeError, AttributeError, zipfile.BadZipFile, zlib.error,
)  # fmt: skip
_WORD_BITS = 64  # languages are a bit matrix of uint64 words: any number of distinct codes
_OPEN_AGE = 255
_FAR_FUTURE = np.int32(2**31 - 1)
MODES = tuple(Mode)
TYPES = tuple(OpportunityType)
PRECISIONS = tuple(Precision)
# Date ranges whose mask of every row an index keeps (each a byte per row): the default search,
# from today, asks for the same range whatever the other filters (one range a day per time zone).
DATE_RANGES_KEPT = 4

BoolArray = npt.NDArray[np.bool_]


def _days(value: date) -> int:
    return (value - _EPOCH).days


def _day_numbers(values: Sequence[Any], missing: int = 0) -> npt.NDArray[np.int32]:
    """Days since 1970 of ISO date strings or date objects; ``missing`` where None."""
    days = np.full(len(values), missing, dtype=np.int64)
    present = [i for i, v in enumerate(values) if v is not None]
    if present:
        days[present] = np.array([values[i] for i in present], dtype="datetime64[D]").astype(np.int64)
    return days.astype(np.int32)


def _codes(values: Sequence[Any], vocabulary: Sequence[str]) -> npt.NDArray[np.int8]:
    """Position of each value in ``vocabulary`` (-1 for None or unknown), vectorised."""
    lookup = {v: i for i, v in enumerate(vocabulary)}
    return np.array([lookup.get(v, -1) for v in values], dtype=np.int8)


def _words(n_bits: int) -> int:
    """uint64 words per row of a bit matrix of ``n_bits`` values (at least one, so rows exist)."""
    return max(1, -(-n_bits // _WORD_BITS))


def _sql_text(value: str) -> str:
    """``value`` inside an SQL string literal (values come from the database, but are text)."""
    return value.replace("'", "''")


def _remove_unused(written: Path, database: str) -> None:
    """Remove the snapshots no process can be using, beside the one just ``written``.

    Only final snapshots are removed: this database's other versions unused for
    :data:`SNAPSHOT_IN_USE_S`, any database's unused for :data:`SNAPSHOT_MAX_AGE_S`; and temporary
    files left by a process that died while writing. Files may vanish meanwhile (another process
    cleaning up too).
    """
    now = time_module.time()
    for other in written.parent.iterdir():
        if other == written:
            continue
        try:
            unused_s = now - other.stat().st_mtime
            if other.name.startswith(_TEMP_PREFIX) or other.name.endswith(".tmp.npz"):  # and format 3's
                stale = unused_s > SNAPSHOT_WRITE_S
            elif _SNAPSHOT_NAME.fullmatch(other.name):
                mine = other.name.startswith(f"{database}-")
                stale = unused_s > (SNAPSHOT_IN_USE_S if mine else SNAPSHOT_MAX_AGE_S)
            else:
                stale = False  # not ours to remove
            if stale:
                other.unlink()
        except OSError:  # vanished meanwhile, or open on a system that cannot remove open files
            continue


def _approximate(precision: npt.NDArray[np.int8], uncertainty_m: npt.NDArray[np.int32]) -> BoolArray:
    """vocabulary.is_approximate for whole columns: by the uncertainty where known, else by precision."""
    by_precision = np.isin(precision, [PRECISIONS.index(p) for p in APPROXIMATE_PRECISIONS])
    return np.where(uncertainty_m >= 0, uncertainty_m > PIN_MAX_UNCERTAINTY_M, by_precision)


def _fetch(conn: Connection, sql: str) -> list[Any]:
    """All rows of a constant query through the driver's own cursor (no per-value processing)."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _row_sql(status: Status) -> str:
    """The SELECT list :meth:`OpportunityIndex._of_rows` reads (column 14 flags rows of ``status``)."""
    return (
        "SELECT id, latitude, longitude, city_id, age_min, age_max, mode, type, location_precision, "
        "CASE WHEN cost = 0 THEN 1 ELSE 0 END, CASE WHEN accessibility = '' THEN 0 ELSE 1 END, "
        "start_date, end_date, CASE WHEN schedule = '' THEN NULL ELSE schedule END, "
        f"CASE WHEN status = '{status.value}' THEN 1 ELSE 0 END, "
        "COALESCE(location_uncertainty_m, -1)"
    )


def _pairs_sql(table: str, column: str, values: Sequence[str]) -> str:
    """(opportunity id, position of the value in ``values`` or -1) for every row of ``table``."""
    if not values:
        return f"SELECT opportunity_id, -1 FROM {table} WHERE 1 = 0"
    # The value's position is computed by the database: a million small ints, not strings.
    cases = " ".join(f"WHEN '{_sql_text(value)}' THEN {i}" for i, value in enumerate(values))
    return f"SELECT opportunity_id, CASE {column} {cases} ELSE -1 END FROM {table}"


def _bits(ids: npt.NDArray[np.int64], pairs: Sequence[Any], n_values: int) -> npt.NDArray[np.uint64]:
    """A bit matrix, one row per id and ``ceil(n_values / 64)`` uint64 words (at least one): bit
    ``i % 64`` of word ``i // 64`` is set when a pair (id, i) is given."""
    bits = np.zeros((len(ids), _words(n_values)), dtype=np.uint64)
    if not len(pairs) or not len(ids):
        return bits
    both = np.array(pairs, dtype=np.int64)
    owner, code = both[:, 0], both[:, 1]
    pos = np.searchsorted(ids, owner)
    pos_clipped = np.minimum(pos, len(ids) - 1)
    keep = (pos < len(ids)) & (ids[pos_clipped] == owner) & (code >= 0)
    word, bit = np.divmod(code[keep], _WORD_BITS)
    np.bitwise_or.at(bits, (pos[keep], word), np.left_shift(np.uint64(1), bit.astype(np.uint64)))
    return bits


def _has_bit(bits: npt.NDArray[np.uint64], i: int) -> bool:
    word, bit = divmod(i, _WORD_BITS)
    return bool(((bits[:, word] >> np.uint64(bit)) & np.uint64(1)).any())


def _recode(bits: npt.NDArray[np.uint64], codes: Sequence[str], new_codes: Sequence[str]) -> npt.NDArray[np.uint64]:
    """The bit matrix of ``codes`` rewritten for ``new_codes`` (codes missing there are dropped)."""
    if tuple(codes) == tuple(new_codes):
        return bits
    position = {code: i for i, code in enumerate(new_codes)}
    out = np.zeros((len(bits), _words(len(new_codes))), dtype=np.uint64)
    for i, code in enumerate(codes):
        if code not in position:
            continue
        word, bit = divmod(i, _WORD_BITS)
        to_word, to_bit = divmod(position[code], _WORD_BITS)
        out[:, to_word] |= ((bits[:, word] >> np.uint64(bit)) & np.uint64(1)) << np.uint64(to_bit)
    return out


def _city_names(conn: Connection) -> dict[str, int]:
    """Folded city name -> id (a name kept in two countries: the one listed last, as before)."""
    return {key: cid for cid, key in conn.execute(select(cities.c.id, cities.c.name_key))}


def changed_since(since: datetime | None, after_id: int | None) -> ColumnElement[bool]:
    """Opportunities updated at or after ``since`` or added after ``after_id`` (None: from the start).

    Two indexed look-ups joined by UNION: an OR of the two conditions would scan the table.
    """
    added = select(opportunities.c.id).where(opportunities.c.id > (after_id if after_id is not None else -1))
    if since is None:
        return opportunities.c.id.in_(added)
    return opportunities.c.id.in_(union(added, select(opportunities.c.id).where(opportunities.c.updated_at >= since)))


@dataclass(frozen=True)
class OpportunityIndex:
    """Columns of every opportunity of one status, sorted by id."""

    ids: npt.NDArray[np.int64]
    latitude: npt.NDArray[np.float64]  # NaN when online
    longitude: npt.NDArray[np.float64]
    city_id: npt.NDArray[np.int32]
    topics: npt.NDArray[np.uint16]  # bit i: TOPICS[i]
    languages: npt.NDArray[np.uint64]  # rows × words: bit i % 64 of word i // 64 is language_codes[i]
    language_codes: tuple[str, ...]
    age_min: npt.NDArray[np.int16]
    age_max: npt.NDArray[np.int16]  # 255 when open-ended
    mode: npt.NDArray[np.int8]  # index into MODES
    type: npt.NDArray[np.int8]  # index into TYPES
    precision: npt.NDArray[np.int8]  # index into PRECISIONS, -1 when online
    uncertainty_m: npt.NDArray[np.int32]  # how far off the location may be; -1 when unknown
    approximate: BoolArray  # not to be drawn as an exact pin (vocabulary.is_approximate)
    free: BoolArray
    accessible: BoolArray
    start: npt.NDArray[np.int32]  # days since 1970-01-01
    end: npt.NDArray[np.int32]  # last day (series end for recurring); far future when open
    # Plain weekly rules are checked here as vectors (recurrence.weekly_days says which ones);
    # every other rule row by row with recurrence.has_session_between.
    weekly: npt.NDArray[np.uint8]  # weekday bits of weekly rules (0: not weekly)
    interval: npt.NDArray[np.uint8]  # their interval in weeks
    schedules: dict[int, tuple[str, datetime]]  # other recurring rules: row -> (rule, first start)
    city_names: dict[str, int]  # folded name -> city id
    status: Status
    # Not data, so not a field (set per index in __post_init__): the rows in a date range, as asked
    # before (see _dates); each version of the index its own.
    _date_masks: ClassVar[SharedCache[BoolArray]]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_date_masks", SharedCache(DATE_RANGES_KEPT))

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def load(cls, conn: Connection, status: Status = Status.PUBLISHED) -> OpportunityIndex:
        """Read every opportunity of ``status`` into columns (one scan per table).

        Plain driver SQL: SQLAlchemy's per-value result processing would dominate at a million rows.
        """
        # Every row in primary-key order (a plain table scan), the status as a flag filtered here:
        # cheaper than walking the status index and sorting.
        rows = [row for row in _fetch(conn, f"{_row_sql(status)} FROM opportunities ORDER BY id") if row[14]]
        # Only the languages of this status's rows: the filter must not offer a language that only
        # a row waiting for review is held in (it would find nothing, and tell of unpublished data).
        of_status = select(opportunity_languages.c.language).join(
            opportunities, opportunities.c.id == opportunity_languages.c.opportunity_id
        )
        codes = tuple(sorted(set(conn.execute(of_status.where(opportunities.c.status == status.value).distinct()).scalars())))
        topic_pairs = _fetch(conn, _pairs_sql("opportunity_topics", "topic", TOPICS))
        language_pairs = _fetch(conn, _pairs_sql("opportunity_languages", "language", codes))
        return cls._of_rows(conn, rows, status, codes, topic_pairs, language_pairs)

    @classmethod
    def _of_rows(
        cls, conn: Connection, rows: Sequence[Any], status: Status, codes: tuple[str, ...],
        topic_pairs: Sequence[Any], language_pairs: Sequence[Any],
    ) -> OpportunityIndex:  # fmt: skip
        """Columns of ``rows`` (selected by :func:`_row_sql`, sorted by id), their topics and
        languages from (opportunity id, value position) pairs; pairs of other ids are ignored."""
        n = len(rows)
        columns: list[Any] = list(zip(*rows, strict=True)) if rows else [()] * 16
        ids = np.fromiter(columns[0], dtype=np.int64, count=n)
        start = _day_numbers(columns[11])
        end = _day_numbers(columns[12], missing=-1)
        rules = columns[13]
        recurring = np.array([r is not None for r in rules], dtype=bool)
        # No end: a one-off ends on its start day, a series never ends.
        end = np.where(end >= 0, end, np.where(recurring, _FAR_FUTURE, start)).astype(np.int32)
        weekly = np.zeros(n, dtype=np.uint8)
        interval = np.ones(n, dtype=np.uint8)
        schedules: dict[int, tuple[str, datetime]] = {}
        for i in np.flatnonzero(recurring).tolist():
            weekly[i], interval[i] = recurrence.weekly_days(rules[i])
            if not weekly[i]:
                schedules[i] = (rules[i], datetime.combine(_EPOCH + timedelta(days=int(start[i])), time()))
        if schedules:  # other rules need the start time too
            wanted = [int(ids[i]) for i in schedules]
            query = select(opportunities.c.id, opportunities.c.start_time).where(opportunities.c.id.in_(wanted))
            times = {oid: moment for oid, moment in conn.execute(query)}  # noqa: C416 - a Result is not a mapping
            for i, (rule, first) in list(schedules.items()):
                schedules[i] = (rule, datetime.combine(first.date(), times.get(int(ids[i])) or time()))
        precision = _codes(columns[8], [p.value for p in PRECISIONS])
        uncertainty = np.fromiter(columns[15], dtype=np.int32, count=n)
        return cls(
            ids=ids,
            latitude=np.array(columns[1], dtype=np.float64),  # None becomes NaN
            longitude=np.array(columns[2], dtype=np.float64),
            city_id=np.fromiter(columns[3], dtype=np.int32, count=n),
            age_min=np.fromiter(columns[4], dtype=np.int16, count=n),
            age_max=np.nan_to_num(np.array(columns[5], dtype=np.float64), nan=_OPEN_AGE).astype(np.int16),
            mode=_codes(columns[6], [m.value for m in MODES]),
            type=_codes(columns[7], [t.value for t in TYPES]),
            precision=precision,
            uncertainty_m=uncertainty,
            approximate=_approximate(precision, uncertainty),
            free=np.array(columns[9], dtype=bool),
            accessible=np.array(columns[10], dtype=bool),
            start=start,
            end=end,
            weekly=weekly,
            interval=interval,
            schedules=schedules,
            topics=_bits(ids, topic_pairs, len(TOPICS))[:, 0].astype(np.uint16),
            languages=_bits(ids, language_pairs, len(codes)),
            language_codes=codes,
            city_names=_city_names(conn),
            status=status,
        )

    def updated(self, conn: Connection, since: datetime | None, after_id: int | None) -> OpportunityIndex:
        """This index with every opportunity updated at or after ``since``, or added after
        ``after_id``, read again: the same index :meth:`load` gives, provided every other row is
        unchanged since this one was built. Rows that left the status are dropped, new ones added.

        Applying the same change twice gives the same index (a window that overlaps is harmless).
        Run it in one transaction (a snapshot), or a row may be read half-way through a change.
        """
        changed = changed_since(since, after_id)
        # Raw values (no per-value processing), exactly as load's driver SQL returns them.
        selected = select(text(_row_sql(self.status).removeprefix("SELECT "))).select_from(opportunities).where(changed)
        read = list(conn.execute(selected.order_by(opportunities.c.id)).all())
        changed_ids = np.array([row[0] for row in read], dtype=np.int64)
        rows = [row for row in read if row[14]]
        # Topics and languages of the changed rows by their ids (primary-key look-ups; a join on
        # the changed condition would scan the whole table).
        found: dict[str, list[tuple[int, str]]] = {"topic": [], "language": []}
        for table, name in ((opportunity_topics, "topic"), (opportunity_languages, "language")):
            for i in range(0, len(changed_ids), 500):
                chunk = changed_ids[i : i + 500].tolist()
                query = select(table.c.opportunity_id, table.c[name]).where(table.c.opportunity_id.in_(chunk))
                found[name].extend((int(oid), value) for oid, value in conn.execute(query))
        of_status = {int(row[0]) for row in rows}
        codes = tuple(sorted(set(self.language_codes) | {code for oid, code in found["language"] if oid in of_status}))

        def pairs(values: Sequence[str], name: str) -> list[tuple[int, int]]:
            position = {value: i for i, value in enumerate(values)}
            return [(oid, position.get(value, -1)) for oid, value in found[name]]

        part = type(self)._of_rows(conn, rows, self.status, codes, pairs(TOPICS, "topic"), pairs(codes, "language"))
        kept = ~np.isin(self.ids, changed_ids)
        # Merged in id order: the new rows go in before the first kept row with a larger id.
        kept_rows = np.flatnonzero(kept)
        at = np.searchsorted(self.ids[kept_rows], part.ids)
        columns: dict[str, Any] = {}
        for column in fields(self):
            old = getattr(self, column.name)
            if not isinstance(old, np.ndarray):
                continue
            new = getattr(part, column.name)
            if column.name == "languages":
                old = _recode(old, self.language_codes, codes)
            columns[column.name] = np.insert(old[kept_rows], at, new, axis=0)
        # Row numbers move: a kept row by the new rows before it, a new row by the kept rows before it.
        moved = np.full(len(self), -1, dtype=np.int64)
        moved[kept_rows] = np.arange(len(kept_rows)) + np.searchsorted(at, np.arange(len(kept_rows)), side="right")
        schedules = {int(moved[row]): value for row, value in self.schedules.items() if kept[row]}
        new_rows = at + np.arange(len(part))
        schedules.update((int(new_rows[row]), value) for row, value in part.schedules.items())
        # Languages no row holds any more are dropped, as a fresh load would not know them.
        languages = columns.pop("languages")
        used = tuple(code for i, code in enumerate(codes) if _has_bit(languages, i))
        if used != codes:
            languages = _recode(languages, codes, used)
        return type(self)(
            **columns,
            languages=languages,
            language_codes=used,
            schedules=dict(sorted(schedules.items())),
            city_names=part.city_names,
            status=self.status,
        )

    def save(self, path: Path, built_after: tuple[int | None, datetime | None] | None = None) -> None:
        """Write the index to ``path`` (a ``.npz`` file), atomically. ``built_after``: the newest id
        and ``updated_at`` read before the load (see :meth:`older_snapshot`)."""
        arrays = {f.name: getattr(self, f.name) for f in fields(self) if isinstance(getattr(self, f.name), np.ndarray)}
        meta = {
            "format": INDEX_FORMAT,
            "built_after": None if built_after is None else [built_after[0], built_after[1] and built_after[1].isoformat()],
            "language_codes": list(self.language_codes),
            "city_names": self.city_names,
            "status": self.status.value,
            "schedules": {str(k): [rule, first.isoformat()] for k, (rule, first) in self.schedules.items()},
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        # A name of its own: another process may be writing the same version right now. Not
        # mkstemp: its files are private to the user, and the app may run as another one.
        tmp = path.parent / f"{_TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(8)}.tmp"
        try:
            with tmp.open("xb") as fh:
                np.savez(fh, meta=np.array(json.dumps(meta)), **arrays)
            os.replace(tmp, path)  # readers see the old file or the whole new one
        finally:
            tmp.unlink(missing_ok=True)

    @classmethod
    def read(cls, path: Path) -> OpportunityIndex:
        """An index written by :meth:`save`.

        Raises ``ValueError`` when the file does not hold every array in the expected shape, or
        one of :data:`_SNAPSHOT_READ_ERRORS` when it cannot be read at all.
        """
        # Our own file object: np.load leaves the file open when it is not a valid archive.
        with path.open("rb") as fh, np.load(fh, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            arrays = {name: data[name] for name in data.files if name != "meta"}
        index = cls(
            **arrays,
            language_codes=tuple(meta["language_codes"]),
            city_names=meta["city_names"],
            status=Status(meta["status"]),
            schedules={int(k): (rule, datetime.fromisoformat(first)) for k, (rule, first) in meta["schedules"].items()},
        )
        index._check_shapes()
        return index

    def _check_shapes(self) -> None:
        """Raise ``ValueError`` unless every column has one entry per row, of the type :meth:`load` makes."""
        n = len(self.ids)
        for column in fields(self):
            value = getattr(self, column.name)
            if isinstance(value, np.ndarray) and value.shape[:1] != (n,):
                raise ValueError(f"column {column.name} has shape {value.shape}, not {n} rows")
        if self.languages.ndim != 2 or self.languages.shape[1] != _words(len(self.language_codes)):
            raise ValueError(f"languages has shape {self.languages.shape} for {len(self.language_codes)} codes")
        if self.languages.dtype != np.uint64 or self.topics.dtype != np.uint16:
            raise ValueError("topic or language masks of the wrong type")
        if any(not 0 <= row < n for row in self.schedules):
            raise ValueError("a schedule refers to a row outside the index")

    @classmethod
    def cached(
        cls, conn: Connection, cache_dir: Path, status: Status = Status.PUBLISHED, *, fresh: bool = False
    ) -> OpportunityIndex:
        """The index for the data as it is now: read from ``cache_dir`` when it was saved for this
        data version, else loaded from the database and saved there (unused snapshots removed).
        ``fresh``: loaded and saved whatever the folder holds (a deletion keeps the data version).

        A snapshot that cannot be read (truncated, damaged, of another layout) is rebuilt; one that
        cannot be written (a read-only folder) is skipped.
        """
        built_after = newest_change(conn)
        path = cls.snapshot_path(conn, cache_dir, status)
        try:
            if fresh:
                raise FileNotFoundError(path)
            # In use from now on: no other process removes it (see _remove_unused). Another user's
            # snapshot (an import run as them) cannot be touched, but is read all the same.
            with contextlib.suppress(PermissionError):
                os.utime(path)
            return cls.read(path)
        except FileNotFoundError:
            pass
        except _SNAPSHOT_READ_ERRORS:
            pass  # damaged: replaced below by a whole new file, never removed while another may read it
        index = cls.load(conn, status)
        try:
            index.save(path, built_after)
        except OSError:  # a folder that cannot be written: the snapshot only spares a rebuild
            return index
        _remove_unused(path, path.name.split("-")[0])
        return index

    @classmethod
    def older_snapshot(
        cls, conn: Connection, cache_dir: Path, status: Status = Status.PUBLISHED
    ) -> tuple[OpportunityIndex, int | None, datetime | None] | None:
        """The most recently used snapshot of this database and status, whatever its data version,
        with the newest id and ``updated_at`` read before it was built; None when there is none
        (snapshots of another layout, or saved without those, do not count)."""
        folder = cache_dir / "search-index"
        database = cls.snapshot_path(conn, cache_dir, status).name.split("-")[0]
        try:
            candidates = sorted(folder.glob(f"{database}-*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
        except OSError:
            return None
        for path in candidates:
            try:
                with path.open("rb") as fh, np.load(fh, allow_pickle=False) as data:
                    meta = json.loads(str(data["meta"]))
                if meta.get("format") != INDEX_FORMAT or not meta.get("built_after") or meta.get("status") != status.value:
                    continue
                index = cls.read(path)
            except (FileNotFoundError, *_SNAPSHOT_READ_ERRORS):
                continue
            last_id, last_update = meta["built_after"]
            return index, last_id, datetime.fromisoformat(last_update) if last_update else None
        return None

    @staticmethod
    def snapshot_path(conn: Connection, cache_dir: Path, status: Status = Status.PUBLISHED) -> Path:
        """Where the snapshot of the data as it is now is kept: named by the database and the data version."""
        database = hashlib.sha1(str(conn.engine.url).encode()).hexdigest()[:12]
        version = hashlib.sha1(f"{INDEX_FORMAT}|{status.value}|{data_version(conn)}".encode()).hexdigest()[:16]
        return cache_dir / "search-index" / f"{database}-{version}.npz"

    def mask(self, query: SearchQuery, conn: Connection | None = None) -> BoolArray:
        """Rows matching every filter of ``query`` (the radius of ``near`` included).

        Free-text search needs ``conn``: it runs as SQL, and its ids are intersected here.
        """
        keep = np.ones(len(self), dtype=bool)
        if query.status is not self.status:
            raise ValueError(f"this index holds {self.status.value} opportunities, not {query.status.value}")
        # Each step narrows ``keep`` in place; the dates come after the cheap filters, as their
        # per-row rules are only evaluated for the rows still kept.
        if query.city:
            keep &= self.city_id == self.city_names.get(fold(query.city), -1)
        self._narrow_by_subject(keep, query)
        self._narrow_by_age(keep, query)
        self._narrow_by_format(keep, query)
        if query.date_from or query.date_to:
            keep &= self._dates(query.date_from, query.date_to, keep)
        if query.near is not None:
            keep &= self._within(query.near, query.radius_km)
        if query.text.strip():
            keep &= self._matching_text(query, conn)
        return keep

    def _narrow_by_subject(self, keep: BoolArray, query: SearchQuery) -> None:
        """Narrows ``keep`` to the query's topics and the language taught."""
        if query.topics:
            wanted = sum(1 << TOPICS.index(t) for t in query.topics)
            keep &= (self.topics & np.uint16(wanted)) != 0
        if query.language:
            code = query.language.lower()
            if code not in self.language_codes:
                keep[:] = False
            else:
                word, bit = divmod(self.language_codes.index(code), _WORD_BITS)
                keep &= (self.languages[:, word] & np.uint64(1 << bit)) != 0

    def _narrow_by_age(self, keep: BoolArray, query: SearchQuery) -> None:
        """Narrows ``keep`` to the rows open to the query's age and age group."""
        if query.age is not None:
            keep &= (self.age_min <= query.age) & (self.age_max >= query.age)
        if query.age_group:
            group = AGE_GROUPS_BY_ID[query.age_group]
            if group.age_max is not None:
                keep &= self.age_min <= group.age_max
            keep &= self.age_max >= group.age_min

    def _narrow_by_format(self, keep: BoolArray, query: SearchQuery) -> None:
        """Narrows ``keep`` to the query's modes and types, and to free or accessible rows when asked."""
        if query.modes:
            keep &= np.isin(self.mode, [MODES.index(m) for m in query.modes])
        if query.types:
            keep &= np.isin(self.type, [TYPES.index(t) for t in query.types])
        if query.free_only:
            keep &= self.free
        if query.accessible_only:
            keep &= self.accessible

    def _matching_text(self, query: SearchQuery, conn: Connection | None) -> BoolArray:
        """Rows whose title or description holds the query's words (found by SQL through ``conn``)."""
        if conn is None:
            raise ValueError("free-text search needs a database connection")
        text_only = SearchQuery(text=query.text, status=query.status, limit=query.limit)
        matching = np.fromiter(conn.execute(filtered_query(text_only, [opportunities.c.id])).scalars(), dtype=np.int64)
        return np.isin(self.ids, matching)

    def _dates(self, date_from: date | None, date_to: date | None, candidates: BoolArray) -> BoolArray:
        """Rows with a session in the range, for every row when asked with every row a candidate (kept
        for the next search of that range), else for the ``candidates`` only unless kept already.

        Checking every series' rule is the dearest step of a search at a million rows, and every
        search asks for the same range by default (from today).
        """
        key = (date_from, date_to)
        if candidates.all():

            def every_row() -> BoolArray:
                result = self._in_dates(date_from, date_to, candidates)
                result.setflags(write=False)
                return result

            return self._date_masks.get(key, every_row)
        kept = self._date_masks.peek(key)
        return kept if kept is not None else self._in_dates(date_from, date_to, candidates)

    def _in_dates(self, date_from: date | None, date_to: date | None, candidates: BoolArray) -> BoolArray:
        """The ``candidates`` with a session from ``date_from`` to ``date_to`` (other rows False).

        Only the candidates are looked at: after a city and a topic, a few thousand rows of a million.
        """
        rows = np.flatnonzero(candidates)
        lo = _days(date_from) if date_from else -(2**31)
        hi = _days(date_to) if date_to else int(_FAR_FUTURE)
        start, end = self.start[rows], self.end[rows]
        weekly_bits, weekly_every = self.weekly[rows], self.interval[rows]
        overlap = (start <= hi) & (end >= lo)
        # Weekly series: the overlap of the series and the range must hold one of its session days,
        # a day of the rule in a week counted from the series start.
        first = np.maximum(start, lo).astype(np.int64)
        span = np.minimum(end, hi).astype(np.int64) - first
        weekly = weekly_bits != 0
        every = np.maximum(weekly_every, 1).astype(np.int64)
        hit = ~weekly | (span >= 7 * every - 1)  # a whole cycle inside the range
        start_week = (start.astype(np.int64) + 3) // 7  # 1970-01-01 was a Thursday: Monday-based weeks
        for offset in range(7 * int(every[weekly].max()) if weekly.any() else 0):
            day = first + offset
            day_bit = np.left_shift(1, (day + 3) % 7).astype(np.uint8)
            in_cycle = ((day + 3) // 7 - start_week) % every == 0
            hit |= (span >= offset) & ((weekly_bits & day_bit) != 0) & in_cycle
        result = np.zeros(len(self), dtype=bool)
        result[rows] = overlap & hit
        # Any other rule is evaluated by the recurrence module (bounded work), only for the rows still in play.
        for row, (rule, first_start) in self.schedules.items():
            if result[row]:
                series_end = None if self.end[row] == _FAR_FUTURE else _EPOCH + timedelta(days=int(self.end[row]))
                result[row] = recurrence.has_session_between(rule, first_start, series_end, date_from, date_to)
        return result

    def _within(self, near: tuple[float, float], radius_km: float) -> BoolArray:
        with np.errstate(invalid="ignore"):  # online ones have NaN coordinates: never within
            return np.asarray(self.distances_km(np.arange(len(self)), near) <= radius_km, dtype=bool)

    def distances_km(self, rows: npt.NDArray[np.int64], near: tuple[float, float]) -> npt.NDArray[np.float64]:
        lat0, lon0 = math.radians(near[0]), math.radians(near[1])
        lat, lon = np.radians(self.latitude[rows]), np.radians(self.longitude[rows])
        a = np.sin((lat - lat0) / 2) ** 2 + math.cos(lat0) * np.cos(lat) * np.sin((lon - lon0) / 2) ** 2
        return np.asarray(2 * 6371.0088 * np.arcsin(np.sqrt(np.minimum(1.0, a))), dtype=np.float64)

    def ordered(self, keep: BoolArray, query: SearchQuery, limit: int | None = None) -> npt.NDArray[np.int64]:
        """Row numbers of ``keep`` in the search order: nearest first with ``near``, else by start date.

        With ``limit``, only the first ``limit`` rows (a partial sort: a list page among a million).
        """
        rows = np.flatnonzero(keep)
        if query.near is not None:
            distance = self.distances_km(rows, query.near)
            return rows[np.lexsort((self.ids[rows], distance))][:limit]
        # One int64 key: start day in the high bits, id in the low bits (ids stay below 2**32).
        key = (self.start[rows].astype(np.int64) << 32) | self.ids[rows]
        if limit is not None and limit < len(rows):
            first = np.argpartition(key, limit - 1)[:limit]
            return rows[first[np.argsort(key[first], kind="stable")]]
        return rows[np.argsort(key, kind="stable")]
