"""The search index kept up to date while it serves: no reader ever waits for a rebuild.

:class:`LiveIndex` holds the current :class:`~opportunities.explore.index.OpportunityIndex` (immutable:
a reader keeps the version it took for a whole page run) and a background thread that swaps in a
new version when the data changes. Every poll reads a :class:`Watermark` (two index look-ups and a
count); when it moved, the rows updated since the last watermark, less an overlap, or added since
are read again and merged in (:meth:`OpportunityIndex.updated`, idempotent). The overlap covers a
write whose ``updated_at`` was taken on another clock, or before it waited for the write lock.

A full rebuild, still in the background, replaces the merged index when a count shows rows the
watermark cannot see (a deletion), when most rows changed at once (a big import), and every
``compact_s`` seconds, which also catches a write older than the overlap. Any failure is logged and
leaves the previous index serving.

On PostgreSQL the thread does not wait for its next look: a trigger announces every change to the
opportunities when it commits (:mod:`opportunities.db.notify`), and the thread refreshes at once
(:data:`SETTLE_S` later), one refresh for a burst of announcements. While it hears them, it looks on its own only every
:data:`LISTENING_POLL_S` (or ``refresh_s`` when longer), as a fallback; while the listening
connection is down, or after a refresh failed, every ``refresh_s`` again.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time as time_module
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from opportunities.db.notify import ChangeListener, can_listen
from opportunities.db.queries import count_opportunities, newest_change
from opportunities.db.schema import opportunities
from opportunities.explore.index import OpportunityIndex, changed_since
from opportunities.vocabulary import Status

logger = logging.getLogger(__name__)

# Past this share of the index changed at once, a full rebuild is cheaper than a merge.
REBUILD_SHARE = 0.25
REBUILD_MIN_ROWS = 10_000
# While changes are announced, the index still looks this often by itself (a fallback only).
LISTENING_POLL_S = 30.0
# After an announcement, wait this long for the rest of a burst (an import's transactions); while
# announcements keep coming (a long harvest), also at least as long as the last refresh took, so
# that refreshing takes at most half of the thread's time.
SETTLE_S = 0.05


@dataclass(frozen=True)
class Watermark:
    """How far the index has read: the newest id and ``updated_at``, and the number of rows."""

    last_id: int | None
    last_update: datetime | None
    rows: int


def read_watermark(conn: Connection) -> Watermark:
    """The watermark of the data as ``conn`` sees it (index look-ups and a count of the smallest index)."""
    # Scalar subqueries: a single SELECT with two max() would scan the table instead.
    last_id = select(func.max(opportunities.c.id)).scalar_subquery()
    last_update = select(func.max(opportunities.c.updated_at)).scalar_subquery()
    rows = select(func.count()).select_from(opportunities).scalar_subquery()
    found_id, found_update, found_rows = conn.execute(select(last_id, last_update, rows)).one()
    return Watermark(found_id, found_update, int(found_rows))


def _snapshot(conn: Connection) -> Connection:
    """``conn`` reading one snapshot for its whole transaction (SQLite's WAL readers already do)."""
    if conn.dialect.name == "postgresql":
        return conn.execution_options(isolation_level="REPEATABLE READ")
    return conn


class LiveIndex:
    """The index of one status, refreshed in a background thread while the previous version serves.

    ``refresh_s``: seconds between polls (0: no thread; call :meth:`refresh` yourself).
    ``overlap_s``: how far before the last watermark changed rows are read again.
    ``compact_s``: seconds after which the next change is applied by a full rebuild.
    ``listen``: on PostgreSQL, refresh as soon as a change is announced (needs the thread).
    """

    def __init__(
        self,
        engine: Engine,
        cache_dir: Path,
        *,
        status: Status = Status.PUBLISHED,
        refresh_s: float = 1.0,
        overlap_s: float = 60.0,
        compact_s: float = 3600.0,
        listen: bool = True,
    ) -> None:
        self._engine = engine
        self._cache_dir = cache_dir
        self._status = status
        self._overlap = timedelta(seconds=overlap_s)
        self._compact_s = compact_s
        self._lock = threading.Lock()  # one refresh at a time; readers never take it
        self._stopped = threading.Event()
        self.refreshes = 0  # merges applied
        self.rebuilds = 0  # full rebuilds, the first load included
        started = self._start_from_older_snapshot() if refresh_s > 0 else None
        self._index, self._mark = started or self._build()
        self._built_at = time_module.monotonic()
        self._refreshed_at = self._built_at
        if started:
            # Caught up at once when a merge will do (a fraction of a second); a rebuild is left to the thread.
            self.refresh(merge_only=True)
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()  # set by an announced change
        self._listener: ChangeListener | None = None
        if refresh_s > 0:
            if listen and can_listen(engine):
                self._listener = ChangeListener(engine, self._wake.set).start()
            # The thread holds the LiveIndex weakly: dropped from a cache, it is collected and the thread ends.
            self._thread = threading.Thread(
                target=_poll, args=(weakref.ref(self), refresh_s, self._stopped, self._wake), name="index-refresh",
                daemon=True,
            )  # fmt: skip
            self._thread.start()
            weakref.finalize(self, _stop, self._stopped, self._wake, self._listener)

    def _start_from_older_snapshot(self) -> tuple[OpportunityIndex, Watermark] | None:
        """An older snapshot to serve at once while the thread catches it up (a restarted server
        after changes): None when the snapshot of the data as it is now exists, or none at all."""
        with self._engine.connect() as conn:
            if OpportunityIndex.snapshot_path(conn, self._cache_dir, self._status).exists():
                return None
            found = OpportunityIndex.older_snapshot(conn, self._cache_dir, self._status)
            newest = newest_change(conn)
        if found is None:
            return None
        index, last_id, last_update = found
        # A database older than the snapshot (a backup restored under the same URL) has lost changes
        # the snapshot holds; no merge would take them out again.
        if _before(newest[0], last_id) or _before(newest[1], last_update):
            return None
        logger.info("serving an older search index snapshot while the changes since are merged")
        return index, Watermark(last_id, last_update, rows=-1)  # rows unknown: the first poll merges

    def current(self) -> OpportunityIndex:
        """The newest index (never waits): keep it for the whole run, its row numbers are its own."""
        return self._index

    def age_s(self) -> float:
        """Seconds since the index was last built or had changes merged in."""
        return time_module.monotonic() - self._refreshed_at

    @property
    def watermark(self) -> Watermark:
        return self._mark

    @property
    def listening(self) -> bool:
        """Whether changes are announced to this index now (PostgreSQL, its listener connected)."""
        return self._listener is not None and self._listener.connected

    @property
    def listener(self) -> ChangeListener | None:
        return self._listener

    def close(self, timeout_s: float = 60.0) -> None:
        """Stop the background thread and wait for a refresh under way to end (its connection
        returned before the engine is disposed); the index keeps serving, no longer refreshed."""
        _stop(self._stopped, self._wake, self._listener)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    def refresh(self, *, rebuild: bool = False, merge_only: bool = False) -> bool:
        """Apply what changed since the last refresh; ``rebuild``: a full rebuild whatever changed;
        ``merge_only``: nothing when the changes need a rebuild (left to the next refresh).

        Returns whether a new index was swapped in. On an error the previous index stays.
        """
        with self._lock:
            if rebuild or time_module.monotonic() - self._built_at > self._compact_s:
                return self._rebuild_if_changed(force=rebuild)
            with self._engine.connect() as plain:
                conn = _snapshot(plain)
                with conn.begin():
                    mark = read_watermark(conn)
                    if mark == self._mark:
                        return False
                    old = self._mark
                    since = old.last_update - self._overlap if old.last_update is not None else None
                    if self._too_many_changes(conn, since, old.last_id):
                        merged = None
                    else:
                        merged = self._index.updated(conn, since, old.last_id)
                        if len(merged) != count_opportunities(conn, self._status):
                            logger.info("the search index missed a change (a deleted row?); rebuilding it")
                            merged = None
            if merged is None:
                return False if merge_only else self._rebuild_if_changed(force=True)
            self._index, self._mark = merged, mark
            self._refreshed_at = time_module.monotonic()
            self.refreshes += 1
            return True

    def _too_many_changes(self, conn: Connection, since: datetime | None, after_id: int | None) -> bool:
        count = conn.execute(select(func.count()).select_from(opportunities).where(changed_since(since, after_id))).scalar_one()
        return int(count) > max(REBUILD_MIN_ROWS, REBUILD_SHARE * len(self._index))

    def _rebuild_if_changed(self, *, force: bool) -> bool:
        with self._engine.connect() as conn:
            if not force and read_watermark(conn) == self._mark:
                return False
        try:
            # In another process: a rebuild holds the interpreter for seconds, and the visitors'
            # page runs in this one must not wait for it. It leaves a snapshot, read here.
            mark, path = _build_elsewhere(self._engine, self._cache_dir, self._status, fresh=force)
            index = OpportunityIndex.read(path)
        except (OSError, ValueError, RuntimeError, subprocess.SubprocessError):
            logger.warning("rebuilding the search index in another process failed; rebuilding it here", exc_info=True)
            index, mark = self._build(snapshot=not force)
        else:
            self.rebuilds += 1
        self._index, self._mark = index, mark
        self._built_at = time_module.monotonic()
        self._refreshed_at = self._built_at
        return True

    def _build(self, *, snapshot: bool = True) -> tuple[OpportunityIndex, Watermark]:
        """A whole new index; with ``snapshot``, read from the snapshot of this data version when saved."""
        with self._engine.connect() as conn:
            index, mark = _build(conn, self._cache_dir, self._status, fresh=not snapshot)
        self.rebuilds += 1
        return index, mark


def _build(conn: Connection, cache_dir: Path, status: Status, *, fresh: bool) -> tuple[OpportunityIndex, Watermark]:
    # The watermark first: a change made during the load is read again by the next merge.
    mark = read_watermark(conn)
    index = OpportunityIndex.cached(conn, cache_dir, status, fresh=fresh)
    # A deletion leaves the data version (and the snapshot's name) as it was: count to be sure.
    if not fresh and len(index) != count_opportunities(conn, status):
        index = OpportunityIndex.cached(conn, cache_dir, status, fresh=True)
    return index, mark


def _build_elsewhere(engine: Engine, cache_dir: Path, status: Status, *, fresh: bool) -> tuple[Watermark, Path]:
    """Build the index in a child process (``python -m opportunities.explore.live_index``), which saves its
    snapshot; returns the watermark it was built at and the snapshot's path. The database URL
    goes through a pipe, never the command line."""
    from opportunities.settings import PROJECT_ROOT

    job = {
        "url": engine.url.render_as_string(hide_password=False),
        "cache_dir": str(cache_dir),
        "status": status.value,
        "fresh": fresh,
    }
    done = subprocess.run(
        [sys.executable, "-m", "opportunities.explore.live_index"], input=json.dumps(job), capture_output=True, text=True,
        cwd=PROJECT_ROOT, check=False, timeout=3600,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"the index build exited with {done.returncode}: {done.stderr[-2000:]}")
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    last_update = datetime.fromisoformat(answer["last_update"]) if answer["last_update"] else None
    return Watermark(answer["last_id"], last_update, answer["rows"]), Path(answer["path"])


def _build_here() -> None:
    """The child's side of :func:`_build_elsewhere`: the job on stdin, the answer on stdout."""
    from opportunities.db.connection import create_db_engine

    job = json.loads(sys.stdin.read())
    engine = create_db_engine(job["url"])
    try:
        with engine.connect() as conn:
            # Named before the build: on PostgreSQL each statement may see newer data. A newer
            # index under an older name is merged forward by whoever reads it (merges are idempotent).
            path = OpportunityIndex.snapshot_path(conn, Path(job["cache_dir"]), Status(job["status"]))
            index, mark = _build(conn, Path(job["cache_dir"]), Status(job["status"]), fresh=job["fresh"])
        if not path.exists():
            index.save(path)  # raises when the folder cannot be written: the parent builds it itself
    finally:
        engine.dispose()
    last_update = mark.last_update.isoformat() if mark.last_update is not None else None
    print(json.dumps({"path": str(path), "last_id": mark.last_id, "last_update": last_update, "rows": mark.rows}))


def _before(now: Any, then: Any) -> bool:
    """Whether the database's ``now`` is older than the snapshot's ``then`` (None: an empty table)."""
    return then is not None and (now is None or now < then)


def _stop(stopped: threading.Event, wake: threading.Event, listener: ChangeListener | None) -> None:
    stopped.set()
    wake.set()
    if listener is not None:
        listener.close()


def _poll(ref: weakref.ReferenceType[LiveIndex], every_s: float, stopped: threading.Event, wake: threading.Event) -> None:
    failed = False
    next_at = time_module.monotonic()  # no announced refresh before this
    while True:
        live = ref()
        if live is None:
            return
        # Announced changes need no look of our own; a failed refresh is tried again soon all the same.
        wait_s = every_s if failed or not live.listening else max(every_s, LISTENING_POLL_S)
        del live
        if wake.wait(wait_s):
            stopped.wait(max(SETTLE_S, next_at - time_module.monotonic()))  # the rest of a burst
            wake.clear()  # announcements from here on lead to another refresh
        if stopped.is_set():
            return
        live = ref()
        if live is None:
            return
        started = time_module.monotonic()
        try:
            live.refresh()
            failed = False
        except Exception:  # the old index keeps serving; the next poll tries again
            logger.exception("refreshing the search index failed; the previous index keeps serving")
            failed = True
        finished = time_module.monotonic()
        next_at = finished + (finished - started)
        del live


if __name__ == "__main__":
    _build_here()
