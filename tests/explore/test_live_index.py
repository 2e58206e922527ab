"""The index kept fresh in the background must equal a fresh build after any change, and the SQL search."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import fields
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from opportunities.db.connection import create_db_engine, open_database, writing
from opportunities.db.schema import cities, opportunities, opportunity_languages, opportunity_topics
from opportunities.demo.generator import load_demo
from opportunities.explore import live_index
from opportunities.explore.index import OpportunityIndex
from opportunities.explore.live_index import LiveIndex, read_watermark
from opportunities.explore.search import SearchQuery, search
from opportunities.listings.importing import import_records
from opportunities.places.geocoding import Geocoder
from opportunities.vocabulary import TOPICS, Precision, Status
from tests.conftest import ON_POSTGRES, Databases, template_row
from tests.explore.test_index import random_query

TODAY = date(2026, 11, 23)
RULES = ["", "", "FREQ=WEEKLY;BYDAY=TU,TH", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO", "FREQ=MONTHLY;BYDAY=1SA", "FREQ=DAILY;COUNT=5"]
LANGUAGES = ["sv", "en", "sl", "pl", "uk", "ar", "de"]


@pytest.fixture
def demo(tmp_path: Path, databases: Databases, geocoder: Geocoder) -> Iterator[Engine]:
    url = databases.create(tmp_path)
    engine = open_database(url)
    load_demo(engine, geocoder, size=150, seed=4, today=TODAY)
    # Some rows wait for review, so that approvals have something to publish.
    with writing(engine) as conn:
        conn.execute(update(opportunities).where(opportunities.c.id % 5 == 0).values(status=Status.PENDING.value))
    yield engine
    engine.dispose()
    databases.drop(url)


def live(engine: Engine, tmp_path: Path, **options: Any) -> LiveIndex:
    """A LiveIndex refreshed by the test (no thread) unless ``refresh_s`` is given."""
    return LiveIndex(engine, tmp_path / "cache", **{"refresh_s": 0, **options})


def assert_same(a: OpportunityIndex, b: OpportunityIndex) -> None:
    """Every column, code list, schedule and city name alike (NaN equal to NaN)."""
    for column in fields(OpportunityIndex):
        x, y = getattr(a, column.name), getattr(b, column.name)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and x.shape == y.shape, column.name
            assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), column.name
        else:
            assert x == y, column.name


def fresh(engine: Engine) -> OpportunityIndex:
    with engine.connect() as conn:
        return OpportunityIndex.load(conn)


def _now() -> datetime:
    return datetime.now(UTC)


def random_edit(conn: Connection, rng: random.Random, oid: int, when: datetime) -> None:
    """One change a provider or a city lead could make to row ``oid``, stamped ``when``."""
    kind = rng.choice(["status", "status", "fields", "place", "topics", "languages", "schedule", "city"])
    values: dict[str, Any] = {"updated_at": when}
    if kind == "status":
        values["status"] = rng.choice(list(Status)).value
    elif kind == "fields":
        low = rng.randint(0, 30)
        values |= {"age_min": low, "age_max": rng.choice([None, low + rng.randint(0, 20)]),
                   "cost": rng.choice([0, 0, 12.5]), "accessibility": rng.choice(["", "Ramp at the side door"]),
                   "mode": rng.choice(["in-person", "online", "hybrid"]), "type": rng.choice(["club", "course", "event"])}  # fmt: skip
    elif kind == "place":
        online = rng.random() < 0.2
        values |= {
            "latitude": None if online else 46 + rng.random() * 12,
            "longitude": None if online else 11 + rng.random() * 10,
            "location_precision": None if online else rng.choice(list(Precision)).value,
            "location_uncertainty_m": None if online or rng.random() < 0.5 else rng.choice([5, 80, 3000]),
        }
    elif kind == "topics":
        conn.execute(delete(opportunity_topics).where(opportunity_topics.c.opportunity_id == oid))
        chosen = rng.sample(TOPICS, rng.randint(1, 3))
        conn.execute(insert(opportunity_topics), [{"opportunity_id": oid, "topic": t} for t in chosen])
    elif kind == "languages":
        conn.execute(delete(opportunity_languages).where(opportunity_languages.c.opportunity_id == oid))
        chosen = rng.sample(LANGUAGES, rng.randint(0, 3))
        if chosen:
            conn.execute(insert(opportunity_languages), [{"opportunity_id": oid, "language": code} for code in chosen])
    elif kind == "schedule":
        start = TODAY + timedelta(days=rng.randint(-90, 90))
        values |= {"schedule": rng.choice(RULES), "start_date": start,
                   "end_date": rng.choice([None, start + timedelta(days=rng.randint(0, 200))])}  # fmt: skip
    else:  # moved to a city that was not stored before
        number = conn.execute(select(func.count()).select_from(cities)).scalar_one()
        name = f"Nova Vas {number}"
        city = conn.execute(
            insert(cities)
            .returning(cities.c.id)
            .values(name=name, name_key=name.lower(), country="SI", latitude=46.1, longitude=14.6, timezone="Europe/Ljubljana")
        ).scalar_one()
        values["city_id"] = city
    conn.execute(update(opportunities).where(opportunities.c.id == oid).values(**values))


@pytest.mark.parametrize("seed", range(6))
def test_merged_changes_equal_a_fresh_build_and_the_sql_search(
    demo: Engine, geocoder: Geocoder, tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    index = live(demo, tmp_path)
    with demo.connect() as conn:
        ids = list(conn.execute(select(opportunities.c.id)).scalars())
    for step in range(4):
        with writing(demo) as conn:
            for _ in range(rng.randint(1, 12)):
                random_edit(conn, rng, rng.choice(ids), _now())
        if rng.random() < 0.5:  # new rows, published or waiting for review
            rows = [template_row(title=f"New {seed}-{step}-{i}", languages=rng.choice(["sv", "fi;sv", "uk"])) for i in range(3)]
            report = import_records(demo, rows, geocoder, publish=rng.random() < 0.5)
            ids += report.stored_ids
        assert index.refresh()
        assert_same(index.current(), fresh(demo))
    assert index.rebuilds == 1 and index.refreshes == 4  # merged every time, never rebuilt
    with demo.connect() as conn:
        for _ in range(60):
            query = random_query(rng)
            expected = [o.id for o in search(conn, query)]
            merged = index.current()
            assert merged.ids[merged.ordered(merged.mask(query, conn), query)].tolist() == expected, query


def test_an_approval_and_an_edit_show_after_one_refresh(demo: Engine, tmp_path: Path) -> None:
    index = live(demo, tmp_path)
    with demo.connect() as conn:
        waiting = conn.execute(
            select(func.min(opportunities.c.id)).where(opportunities.c.status == Status.PENDING.value)
        ).scalar_one()
    assert waiting not in index.current().ids
    with writing(demo) as conn:  # approved, and its age range corrected on the way
        conn.execute(
            update(opportunities).where(opportunities.c.id == waiting).values(status="published", age_min=7, updated_at=_now())
        )
    assert index.refresh()
    now = index.current()
    assert waiting in now.ids and now.age_min[np.searchsorted(now.ids, waiting)] == 7
    assert not index.refresh()  # nothing new: the same index keeps serving
    assert now is index.current()


@pytest.mark.parametrize(
    ("offset_s", "merged"),
    [
        (0, True),  # the same instant as the newest row already read
        (-30, True),  # another writer's clock a little behind: inside the overlap
        (-3600, False),  # older than the overlap: missed by the merge, the count of published rows tells
    ],
)
def test_rows_stamped_at_or_before_the_watermark(demo: Engine, tmp_path: Path, offset_s: int, merged: bool) -> None:
    # An approval committed late, stamped by a clock behind the one that stamped the newest row.
    index = live(demo, tmp_path, overlap_s=60)
    mark = index.watermark
    assert mark.last_update is not None
    with demo.connect() as conn:
        target = conn.execute(select(func.min(opportunities.c.id)).where(opportunities.c.status == "pending")).scalar_one()
        other = conn.execute(select(func.max(opportunities.c.id)).where(opportunities.c.status == "published")).scalar_one()
    with writing(demo) as conn:
        conn.execute(update(opportunities).where(opportunities.c.id == target)
                     .values(status="published", updated_at=mark.last_update + timedelta(seconds=offset_s)))  # fmt: skip
        # A later change moves the watermark, so the poll reads changes at all (a write that moves
        # none of it, stamped in the past, waits for the periodic rebuild).
        conn.execute(update(opportunities).where(opportunities.c.id == other).values(age_min=3, updated_at=_now()))
        conn.execute(insert(opportunity_topics).values(opportunity_id=other, topic="sports"))
    assert index.refresh()
    assert target in index.current().ids
    assert index.rebuilds == (1 if merged else 2)
    assert_same(index.current(), fresh(demo))


def test_the_same_changes_applied_twice_give_the_same_index(demo: Engine, tmp_path: Path) -> None:
    rng = random.Random(3)
    start = fresh(demo)
    with demo.connect() as conn:
        ids = list(conn.execute(select(opportunities.c.id)).scalars())
        since = read_watermark(conn)
    with writing(demo) as conn:
        for oid in rng.sample(ids, 20):
            random_edit(conn, rng, oid, _now())
    with demo.connect() as conn, conn.begin():
        once = start.updated(conn, since.last_update, since.last_id)
        twice = once.updated(conn, since.last_update, since.last_id)
        everything = once.updated(conn, datetime(2000, 1, 1, tzinfo=UTC), 0)  # every row read again
    assert_same(once, fresh(demo))
    assert_same(twice, once)
    assert_same(everything, once)


def test_a_deleted_row_leads_to_a_rebuild(demo: Engine, tmp_path: Path) -> None:
    index = live(demo, tmp_path)
    gone = int(index.current().ids[3])
    with writing(demo) as conn:
        conn.execute(delete(opportunities).where(opportunities.c.id == gone))
    assert index.refresh()
    assert gone not in index.current().ids and index.rebuilds == 2
    assert_same(index.current(), fresh(demo))


def test_a_big_import_is_a_rebuild_not_a_merge(
    demo: Engine, geocoder: Geocoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_index, "REBUILD_MIN_ROWS", 5)
    index = live(demo, tmp_path)
    rows = [template_row(title=f"Term {i}") for i in range(80)]
    import_records(demo, rows, geocoder, publish=True)
    assert index.refresh()
    assert index.rebuilds == 2 and index.refreshes == 0
    assert_same(index.current(), fresh(demo))


def test_a_stale_snapshot_of_the_same_version_is_not_served(demo: Engine, tmp_path: Path) -> None:
    first = live(demo, tmp_path)  # saves the snapshot of this data version
    gone = int(first.current().ids[-1 - 3])  # not the newest id: the data version stays the same
    with writing(demo) as conn:
        conn.execute(delete(opportunities).where(opportunities.c.id == gone))
    again = live(demo, tmp_path)  # a restarted server finds the snapshot of "its" version
    assert gone not in again.current().ids
    assert_same(again.current(), fresh(demo))


def test_a_failing_refresh_logs_and_keeps_the_old_index(
    demo: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    index = live(demo, tmp_path, refresh_s=0.02)
    before = index.current()

    def broken(*_args: Any, **_kwargs: Any) -> OpportunityIndex:
        raise OSError("disk on fire")

    monkeypatch.setattr(OpportunityIndex, "updated", broken)
    with caplog.at_level(logging.ERROR, logger="opportunities.explore.live_index"), writing(demo) as conn:
        conn.execute(
            update(opportunities).where(opportunities.c.status == "pending").values(status="published", updated_at=_now())
        )
    deadline = time.monotonic() + 10
    while "keeps serving" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "disk on fire" in caplog.text and index.current() is before
    monkeypatch.undo()  # the database is back: the next poll applies the change
    while index.current() is before and time.monotonic() < deadline:
        time.sleep(0.02)
    index.close()
    assert_same(index.current(), fresh(demo))


def test_readers_in_other_threads_always_see_a_whole_index(demo: Engine, tmp_path: Path) -> None:
    index = live(demo, tmp_path, refresh_s=0.01)
    problems: list[str] = []
    stop = threading.Event()

    def visitor() -> None:
        while not stop.is_set():
            taken = index.current()
            try:
                taken._check_shapes()
                rows = taken.ordered(np.ones(len(taken), dtype=bool), SearchQuery(), limit=50)
                assert (np.diff(taken.ids) > 0).all() and len(rows) == min(50, len(taken))
            except (AssertionError, ValueError) as exc:
                problems.append(repr(exc))

    visitors = [threading.Thread(target=visitor) for _ in range(3)]
    for thread in visitors:
        thread.start()
    rng = random.Random(9)
    with demo.connect() as conn:
        ids = list(conn.execute(select(opportunities.c.id)).scalars())
    for _ in range(15):
        with writing(demo) as conn:
            random_edit(conn, rng, rng.choice(ids), _now())
        time.sleep(0.02)
    deadline = time.monotonic() + 10
    expected = fresh(demo)
    while time.monotonic() < deadline:
        try:
            assert_same(index.current(), expected)
            break
        except AssertionError:
            time.sleep(0.05)
    stop.set()
    for thread in visitors:
        thread.join()
    index.close()
    assert not problems
    assert_same(index.current(), expected)


def test_the_thread_ends_with_its_index(demo: Engine, tmp_path: Path) -> None:
    import gc

    before = set(threading.enumerate())  # an index of an earlier test's app may still be refreshing
    index = live(demo, tmp_path, refresh_s=0.01)
    [thread] = [t for t in threading.enumerate() if t.name == "index-refresh" and t not in before]
    del index
    gc.collect()
    thread.join(timeout=5)
    assert not thread.is_alive()


def test_a_rebuild_runs_in_another_process(demo: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    index = live(demo, tmp_path)
    with caplog.at_level(logging.WARNING, logger="opportunities.explore.live_index"):
        assert index.refresh(rebuild=True)
    assert not caplog.text  # the child built it and left its snapshot
    assert index.rebuilds == 2
    assert_same(index.current(), fresh(demo))


def test_when_the_other_process_cannot_build_this_one_does(
    demo: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    index = live(demo, tmp_path)
    with writing(demo) as conn:
        conn.execute(
            update(opportunities).where(opportunities.c.status == "pending").values(status="published", updated_at=_now())
        )
    monkeypatch.setattr(live_index.sys, "executable", str(tmp_path / "no-python-here"))
    with caplog.at_level(logging.WARNING, logger="opportunities.explore.live_index"):
        assert index.refresh(rebuild=True)
    assert "rebuilding it here" in caplog.text
    assert_same(index.current(), fresh(demo))


def test_a_restarted_server_merges_into_its_older_snapshot(demo: Engine, geocoder: Geocoder, tmp_path: Path) -> None:
    """Changes made while no server ran: the next one starts from the last snapshot and merges
    them before its first visitor is served (a merge, not a rebuild)."""
    live(demo, tmp_path).close()  # a server that saved its snapshot, then stopped
    with demo.connect() as conn:
        waiting = conn.execute(select(func.min(opportunities.c.id)).where(opportunities.c.status == "pending")).scalar_one()
    with writing(demo) as conn:
        conn.execute(update(opportunities).where(opportunities.c.id == waiting).values(status="published", updated_at=_now()))
    import_records(demo, [template_row(title="Added while the server was down")], geocoder, publish=True)
    restarted = live(demo, tmp_path, refresh_s=30)
    restarted.close()
    assert (restarted.rebuilds, restarted.refreshes) == (0, 1)
    assert_same(restarted.current(), fresh(demo))


def test_a_restarted_server_serves_its_older_snapshot_while_it_rebuilds(demo: Engine, tmp_path: Path) -> None:
    """A change only a rebuild can apply (a deletion): the older snapshot serves meanwhile."""
    before = live(demo, tmp_path).current()
    with writing(demo) as conn:
        conn.execute(delete(opportunities).where(opportunities.c.id == int(before.ids[2])))
        conn.execute(update(opportunities).where(opportunities.c.id == int(before.ids[5])).values(age_min=1, updated_at=_now()))
    restarted = live(demo, tmp_path, refresh_s=0.02)
    served = restarted.current()
    assert served.ids.tolist() == before.ids.tolist() and restarted.rebuilds == 0
    deadline = time.monotonic() + 30
    while restarted.current() is served and time.monotonic() < deadline:
        time.sleep(0.02)
    restarted.close()
    assert restarted.rebuilds == 1
    assert_same(restarted.current(), fresh(demo))


def test_without_a_thread_an_older_snapshot_is_not_served(demo: Engine, tmp_path: Path) -> None:
    live(demo, tmp_path)
    with writing(demo) as conn:
        conn.execute(
            update(opportunities).where(opportunities.c.status == "pending").values(status="published", updated_at=_now())
        )
    again = live(demo, tmp_path)  # nobody would catch it up: built for the data as it is
    assert again.rebuilds == 1
    assert_same(again.current(), fresh(demo))


def test_a_database_older_than_the_snapshot_is_built_anew(demo: Engine, tmp_path: Path) -> None:
    """A backup restored under the same URL: the snapshot holds changes the database lost."""
    live(demo, tmp_path).close()
    with writing(demo) as conn:  # as if the newest changes had never happened
        conn.execute(update(opportunities).values(updated_at=datetime(2020, 1, 1, tzinfo=UTC)))
    restored = live(demo, tmp_path, refresh_s=30)
    restored.close()
    assert restored.rebuilds == 1
    assert_same(restored.current(), fresh(demo))


# --- changes announced by PostgreSQL (LISTEN/NOTIFY) ---------------------------------------------

postgres_only = pytest.mark.skipif(not ON_POSTGRES, reason="notifications are PostgreSQL's: set TEST_DATABASE_URL")
MERGED_WITHIN_S = 1.0


@pytest.fixture
def listening(demo: Engine, tmp_path: Path) -> Iterator[LiveIndex]:
    """A LiveIndex of another process (its own engine) that polls only every 30 s: what it shows
    sooner, it heard of."""
    other = create_db_engine(demo.url.render_as_string(hide_password=False))
    index = live(other, tmp_path, refresh_s=30)
    deadline = time.monotonic() + 10
    while not index.listening and time.monotonic() < deadline:
        time.sleep(0.01)
    assert index.listening
    time.sleep(0.3)  # the refresh after connecting (nothing changed) is over
    yield index
    index.close()
    other.dispose()


def _approve(engine: Engine, oid: int) -> None:
    with writing(engine) as conn:
        conn.execute(update(opportunities).where(opportunities.c.id == oid).values(status="published", updated_at=_now()))


def _pending(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(opportunities.c.id).where(opportunities.c.status == "pending").order_by(opportunities.c.id)
            ).scalars()
        )


def _shown_within(index: LiveIndex, oid: int, timeout_s: float) -> float | None:
    """Seconds until ``oid`` is in the index, None when it is not within ``timeout_s``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if oid in index.current().ids:
            return time.monotonic() - started
        time.sleep(0.002)
    return None


@postgres_only
def test_an_approval_in_another_process_is_merged_at_once(demo: Engine, listening: LiveIndex) -> None:
    waits = []
    for oid in _pending(demo)[:5]:
        _approve(demo, oid)
        waited = _shown_within(listening, oid, 5)
        assert waited is not None and waited < MERGED_WITHIN_S, waits
        waits.append(waited)
    print(f"approval committed to merged in the other process: {', '.join(f'{w * 1000:.0f} ms' for w in waits)}")
    assert_same(listening.current(), fresh(demo))


@postgres_only
def test_a_burst_of_changes_is_merged_in_few_refreshes(demo: Engine, listening: LiveIndex) -> None:
    before = listening.refreshes + listening.rebuilds
    pending = _pending(demo)
    started = time.monotonic()
    for oid in pending:  # each its own transaction: one announcement each
        _approve(demo, oid)
    burst_s = time.monotonic() - started
    assert _shown_within(listening, pending[-1], 5) is not None
    time.sleep(0.5)  # any refresh still to come
    refreshes = listening.refreshes + listening.rebuilds - before
    print(f"{len(pending)} approvals in {burst_s:.2f} s: {refreshes} refreshes")
    assert 1 <= refreshes <= 2 + burst_s / live_index.SETTLE_S and refreshes < len(pending)
    assert_same(listening.current(), fresh(demo))


@postgres_only
def test_the_index_hears_again_after_its_connection_is_cut(demo: Engine, listening: LiveIndex) -> None:
    listener = listening.listener
    assert listener is not None and listener.backend_pid is not None
    first, second = _pending(demo)[:2]
    with demo.connect() as conn:
        assert conn.execute(select(func.pg_terminate_backend(listener.backend_pid))).scalar_one()
    _approve(demo, first)  # while nobody listens: merged as the loss is noticed, or on reconnecting
    assert _shown_within(listening, first, 5) is not None
    deadline = time.monotonic() + 10
    while not (listener.connections == 2 and listening.listening) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert listener.connections == 2 and listening.listening
    _approve(demo, second)
    waited = _shown_within(listening, second, 5)
    assert waited is not None and waited < MERGED_WITHIN_S
    assert_same(listening.current(), fresh(demo))


def test_sqlite_polls(demo: Engine, tmp_path: Path) -> None:
    index = live(demo, tmp_path, refresh_s=0.02)
    if ON_POSTGRES:
        assert index.listener is not None
    else:
        assert index.listener is None and not index.listening
    index.close()
