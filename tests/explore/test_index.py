"""The in-memory index must give exactly the answers of the SQL search."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine

from opportunities.db.connection import open_database
from opportunities.demo.generator import load_demo
from opportunities.explore.index import OpportunityIndex
from opportunities.explore.search import SearchQuery, search
from opportunities.listings.importing import import_records
from opportunities.places.geocoding import Geocoder
from opportunities.recurrence import weekly_days
from opportunities.vocabulary import AGE_GROUPS, TOPICS, Mode, OpportunityType, Status
from tests.conftest import Databases, template_row

TODAY = date(2026, 11, 23)
CENTRES = {"Kranj": (46.2389, 14.3556), "Göteborg": (57.7072, 11.9668), "Warszawa": (52.2298, 21.0118)}


@pytest.fixture(scope="module")
def demo_engine(tmp_path_factory: pytest.TempPathFactory, databases: Databases, geocoder: Geocoder) -> Iterator[Engine]:
    url = databases.create(tmp_path_factory.mktemp("index"))
    engine = open_database(url)
    load_demo(engine, geocoder, size=400, seed=11, today=TODAY)
    yield engine
    engine.dispose()
    databases.drop(url)


def random_query(rng: random.Random) -> SearchQuery:
    fields: dict[str, object] = {"limit": 10_000}
    if rng.random() < 0.4:
        fields["city"] = rng.choice(["Kranj", "kranj", "Göteborg", "Warszawa", "Płock", "Atlantis"])
    if rng.random() < 0.4:
        fields["topics"] = tuple(rng.sample(TOPICS, rng.randint(1, 3)))
    if rng.random() < 0.3:
        fields["age"] = rng.randint(0, 60)
    elif rng.random() < 0.3:
        fields["age_group"] = rng.choice(AGE_GROUPS).id
    if rng.random() < 0.3:
        fields["modes"] = tuple(rng.sample(list(Mode), rng.randint(1, 2)))
    if rng.random() < 0.2:
        fields["types"] = tuple(rng.sample(list(OpportunityType), rng.randint(1, 3)))
    if rng.random() < 0.3:
        fields["free_only"] = True
    if rng.random() < 0.2:
        fields["language"] = rng.choice(["sv", "sl", "pl", "en", "de"])
    if rng.random() < 0.1:
        fields["accessible_only"] = True
    if rng.random() < 0.5:
        start = TODAY + timedelta(days=rng.randint(-60, 120))
        fields["date_from"] = start
        if rng.random() < 0.7:
            fields["date_to"] = start + timedelta(days=rng.choice([0, 1, 3, 6, 7, 30]))
    if rng.random() < 0.3:
        fields["near"] = rng.choice(list(CENTRES.values()))
        fields["radius_km"] = rng.choice([1.0, 3.0, 10.0, 50.0])
    return SearchQuery(**fields)  # type: ignore[arg-type]


def test_index_matches_sql_search_on_random_queries(demo_engine: Engine) -> None:
    rng = random.Random(5)
    with demo_engine.connect() as conn:
        index = OpportunityIndex.load(conn)
        assert len(index) > 300
        for _ in range(300):
            query = random_query(rng)
            expected = [o.id for o in search(conn, query)]
            rows = index.ordered(index.mask(query, conn), query)
            assert index.ids[rows].tolist() == expected, query


def test_text_search_needs_the_database(demo_engine: Engine) -> None:
    with demo_engine.connect() as conn:
        index = OpportunityIndex.load(conn)
        query = SearchQuery(text="robot", limit=10_000)
        assert 0 < index.mask(query, conn).sum() == len(search(conn, query)) < len(index)
        with pytest.raises(ValueError, match="needs a database connection"):
            index.mask(query)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("FREQ=WEEKLY;BYDAY=MO", (0b1, 1)),
        ("FREQ=WEEKLY;BYDAY=WE,FR", (0b10100, 1)),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=WE", (0b100, 2)),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=WE;WKST=SU", (0, 0)),
        ("FREQ=WEEKLY;INTERVAL=20;BYDAY=WE", (0, 0)),
        ("FREQ=WEEKLY;BYDAY=WE;UNTIL=20270101T000000", (0, 0)),
        ("FREQ=MONTHLY;BYDAY=1SA", (0, 0)),
        ("FREQ=MINUTELY", (0, 0)),
        ("FREQ=WEEKLY", (0, 0)),
    ],
)
def test_weekly_rules_checked_without_expansion(rule: str, expected: tuple[int, int]) -> None:
    assert weekly_days(rule) == expected


def test_empty_index(engine: Engine) -> None:
    with engine.connect() as conn:
        index = OpportunityIndex.load(conn)
        query = SearchQuery(topics=("study",), near=(46.0, 14.0), date_from=TODAY)
        assert len(index) == 0
        assert index.ordered(index.mask(query, conn), query).tolist() == []


def test_snapshot_round_trip_and_version(demo_engine: Engine, tmp_path: pytest.TempPathFactory, geocoder: Geocoder) -> None:
    from pathlib import Path

    cache = Path(str(tmp_path))
    with demo_engine.connect() as conn:
        first = OpportunityIndex.cached(conn, cache)
        [snapshot] = list((cache / "search-index").glob("*.npz"))
        again = OpportunityIndex.cached(conn, cache)
    assert again.ids.tolist() == first.ids.tolist()
    assert again.schedules == first.schedules and again.city_names == first.city_names
    query = SearchQuery(topics=("digital-skills",), age=15, date_from=TODAY, limit=10_000)
    with demo_engine.connect() as conn:
        assert again.mask(query, conn).tolist() == first.mask(query, conn).tolist()
    # New data: a new snapshot replaces the old one, once no process has used the old one for a while.
    import os

    from opportunities.explore.index import SNAPSHOT_IN_USE_S

    unused_since = snapshot.stat().st_mtime - SNAPSHOT_IN_USE_S - 1
    os.utime(snapshot, (unused_since, unused_since))
    import_records(demo_engine, [template_row(title="Brand new")], geocoder, publish=True)
    with demo_engine.connect() as conn:
        fresh = OpportunityIndex.cached(conn, cache)
    assert len(fresh) == len(first) + 1
    assert not snapshot.exists()
    assert len(list((cache / "search-index").glob("*.npz"))) == 1


@pytest.mark.parametrize("limit", [1, 7, 50, 10_000])
def test_partial_order_is_a_prefix_of_the_full_order(demo_engine: Engine, limit: int) -> None:
    with demo_engine.connect() as conn:
        index = OpportunityIndex.load(conn)
    query = SearchQuery(limit=10_000)
    keep = index.mask(query)
    assert index.ordered(keep, query, limit).tolist() == index.ordered(keep, query)[:limit].tolist()


@pytest.fixture(scope="module")
def rules_engine(tmp_path_factory: pytest.TempPathFactory, databases: Databases, geocoder: Geocoder) -> Iterator[Engine]:
    """Published series with generated rules of every supported kind, plus two rows stored before
    rules were checked (a minutely and a secondly rule, written straight into the table)."""
    from sqlalchemy import update

    from opportunities.db.schema import opportunities
    from tests.test_recurrence import KINDS, generated_rule

    url = databases.create(tmp_path_factory.mktemp("rules"))
    engine = open_database(url)
    rng = random.Random(2)
    rows = []
    for kind in KINDS:
        for number in range(25):
            start = date(2026, 1, 1) + timedelta(days=rng.randint(0, 500))
            end = start + timedelta(days=rng.randint(0, 700)) if rng.random() < 0.5 else None
            hour = rng.choice(["", " 09:00", " 17:30"])
            rows.append(template_row(title=f"{kind} {number}", schedule=generated_rule(rng, kind), start=f"{start}{hour}",
                                     end=f"{end}" if end else ""))  # fmt: skip
    report = import_records(engine, rows, geocoder, publish=True)
    # Rules without any session between their start and end are rejected, the rest stored.
    assert report.stored > 150 and len(report.rejected) > 3 and all(r.field == "schedule" for r in report.rejected), (
        report.rejected[:3]
    )
    with engine.begin() as conn:
        for oid, legacy in zip(report.stored_ids[:2], ("FREQ=MINUTELY", "FREQ=SECONDLY"), strict=True):
            conn.execute(update(opportunities).where(opportunities.c.id == oid).values(schedule=legacy))
    yield engine
    engine.dispose()
    databases.drop(url)


def test_index_matches_sql_search_on_rules_of_every_kind(rules_engine: Engine) -> None:
    rng = random.Random(8)
    with rules_engine.connect() as conn:
        index = OpportunityIndex.load(conn)
        assert len(index.schedules) > 100  # most rows go through the recurrence module, not the weekly vectors
        for _ in range(150):
            date_from: date | None = date(2025, 12, 1) + timedelta(days=rng.randint(0, 1000))
            date_to: date | None = date_from + timedelta(days=rng.choice([0, 1, 2, 6, 7, 13, 30, 90, 365]))  # type: ignore[operator]
            if rng.random() < 0.15:
                date_from = None
            elif rng.random() < 0.15:
                date_to = None
            query = SearchQuery(date_from=date_from, date_to=date_to, limit=10_000)
            expected = [o.id for o in search(conn, query)]
            rows = index.ordered(index.mask(query, conn), query)
            assert index.ids[rows].tolist() == expected, query


def test_a_date_range_asked_for_every_row_is_kept_and_agrees_with_a_narrowed_check(rules_engine: Engine) -> None:
    """The rows in a range are kept once checked for every row (every search asks for the range
    from today): a narrower search then uses them, and finds what checking its own rows finds."""
    rng = np.random.default_rng(3)
    with rules_engine.connect() as conn:
        index = OpportunityIndex.load(conn)
    for date_from, date_to in [(date(2026, 3, 1), None), (date(2026, 6, 1), date(2026, 6, 14)), (None, date(2026, 2, 1))]:
        some = rng.random(len(index)) < 0.3
        narrowed = index._in_dates(date_from, date_to, some) & some
        assert np.array_equal(index._dates(date_from, date_to, some) & some, narrowed)  # not kept yet: checked for some
        every = index._dates(date_from, date_to, np.ones(len(index), dtype=bool))
        assert not every.flags.writeable
        assert np.array_equal(index._dates(date_from, date_to, some) & some, narrowed)  # kept now
        query = SearchQuery(date_from=date_from, date_to=date_to, limit=10_000)
        hits = index._date_masks.stats().hits
        assert np.array_equal(index.mask(query), every)
        assert index._date_masks.stats().hits == hits + 1


# --- any number of languages; damaged and concurrent snapshots -------------------------------


def _many_languages_engine(engine: Engine, geocoder: Geocoder) -> list[str]:
    """Store rows that hold 71 distinct language codes between them, 69 sorting before ``sv``."""
    import pycountry

    before_sv = sorted(code for code in (getattr(lang, "alpha_2", "") for lang in pycountry.languages) if code and code < "sv")[
        :69
    ]
    codes = [*before_sv, "sv", "zu"]
    rows = [template_row(title=f"Club {i}", languages=";".join(codes[i : i + 15])) for i in range(0, len(codes), 15)]
    rows.append(template_row(title="Kodklubb på svenska", languages="sv"))
    report = import_records(engine, rows, geocoder, publish=True)
    assert report.stored == len(rows), report.rejected
    return codes


def test_every_language_is_a_filter_however_many_there_are(engine: Engine, geocoder: Geocoder, tmp_path: Path) -> None:
    # The index kept only 64 codes: with 70, Swedish vanished from the Explore filter.
    codes = _many_languages_engine(engine, geocoder)
    with engine.connect() as conn:
        index = OpportunityIndex.load(conn)
        assert index.language_codes == tuple(sorted(codes))
        assert index.languages.shape == (len(index), 2)  # 71 codes: two 64-bit words per row
        for code in (*codes, "de"):
            query = SearchQuery(language=code, limit=10_000)
            expected = [o.id for o in search(conn, query)]
            assert index.ids[index.ordered(index.mask(query, conn), query)].tolist() == expected, code
        swedish = SearchQuery(language="sv", limit=10_000)
        titles = {o.title for o in search(conn, swedish)}
        assert "Kodklubb på svenska" in titles and len(titles) == 2
    snapshot, _ = _snapshot(engine, tmp_path)
    assert _same(OpportunityIndex.read(_snapshot(engine, tmp_path)[1]), snapshot)
    assert snapshot.mask(swedish).sum() == 2


def test_the_language_filter_offers_only_languages_of_published_rows(engine: Engine, geocoder: Geocoder) -> None:
    rows = [template_row(title="Published", languages="sv"), template_row(title="Waiting", languages="uk;sv")]
    report = import_records(engine, rows[:1], geocoder, publish=True)
    report = import_records(engine, rows[1:], geocoder)  # pending review
    assert report.stored == 1
    with engine.connect() as conn:
        assert OpportunityIndex.load(conn).language_codes == ("sv",)
        assert OpportunityIndex.load(conn, Status.PENDING).language_codes == ("sv", "uk")


def _snapshot(engine: Engine, cache: Path) -> tuple[OpportunityIndex, Path]:
    with engine.connect() as conn:
        index = OpportunityIndex.cached(conn, cache)
    [path] = (cache / "search-index").glob("*.npz")
    return index, path


def _same(a: OpportunityIndex, b: OpportunityIndex) -> bool:
    return (
        a.ids.tolist() == b.ids.tolist() and a.languages.tolist() == b.languages.tolist() and a.language_codes == b.language_codes
    )


def _damage_truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _damage_garbage(path: Path) -> None:
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)


def _damage_missing_array(path: Path) -> None:
    import numpy as np

    with np.load(path) as data:
        arrays = {name: data[name] for name in data.files if name != "languages"}
    with path.open("wb") as fh:
        np.savez(fh, **arrays)


def _damage_wrong_shape(path: Path) -> None:
    import numpy as np

    with np.load(path) as data:
        arrays = {name: data[name] for name in data.files}
    arrays["languages"] = arrays["languages"][:, 0]  # the old one-word layout
    arrays["age_min"] = arrays["age_min"][:-1]
    with path.open("wb") as fh:
        np.savez(fh, **arrays)


@pytest.mark.parametrize("damage", [_damage_truncated, _damage_garbage, _damage_missing_array, _damage_wrong_shape])
def test_a_damaged_snapshot_is_rebuilt(
    damage: Callable[[Path], None], engine: Engine, geocoder: Geocoder, tmp_path: Path
) -> None:
    _many_languages_engine(engine, geocoder)
    first, path = _snapshot(engine, tmp_path)
    damage(path)
    with pytest.raises(Exception):  # noqa: B017,PT011 - it is damaged: whatever numpy raises
        OpportunityIndex.read(path)
    rebuilt, again = _snapshot(engine, tmp_path)
    assert again == path
    assert _same(rebuilt, first)
    assert _same(OpportunityIndex.read(path), first)  # the damaged file was replaced


def test_concurrent_saves_and_reads_never_see_a_partial_file(engine: Engine, geocoder: Geocoder, tmp_path: Path) -> None:
    import threading

    _many_languages_engine(engine, geocoder)
    with engine.connect() as conn:
        index = OpportunityIndex.load(conn)
    path = tmp_path / "search-index" / "0123456789ab-0123456789abcdef.npz"
    index.save(path)
    errors: list[BaseException] = []
    stop = threading.Event()

    def write() -> None:
        try:
            for _ in range(20):
                index.save(path)
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    def read() -> None:
        try:
            while not stop.is_set():
                assert _same(OpportunityIndex.read(path), index)
        except BaseException as exc:
            errors.append(exc)

    writers = [threading.Thread(target=write) for _ in range(4)]
    reader = threading.Thread(target=read)
    for thread in [*writers, reader]:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    reader.join()
    assert errors == []
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind


def test_cleanup_spares_files_other_processes_may_be_using(engine: Engine, geocoder: Geocoder, tmp_path: Path) -> None:
    import os
    import time

    from opportunities.explore.index import SNAPSHOT_IN_USE_S, SNAPSHOT_WRITE_S

    _many_languages_engine(engine, geocoder)
    _, old_version = _snapshot(engine, tmp_path)
    folder = old_version.parent
    writing = folder / ".writing-abc123.tmp"  # another process is writing a snapshot
    writing.write_bytes(b"partial")
    crashed = folder / ".writing-def456.tmp"  # left by a process that died while writing
    crashed.write_bytes(b"partial")
    long_ago = time.time() - SNAPSHOT_WRITE_S - 1
    os.utime(crashed, (long_ago, long_ago))
    other_database = folder / "ffffffffffff-0123456789abcdef.npz"
    other_database.write_bytes(b"another database's snapshot, in use")
    unrelated = folder / "notes.txt"
    unrelated.write_text("not a snapshot", encoding="utf-8")

    import_records(engine, [template_row(title="Brand new")], geocoder, publish=True)
    with engine.connect() as conn:
        OpportunityIndex.cached(conn, tmp_path)
    # The older version was used a moment ago: a process still on the older data may read it.
    assert old_version.exists() and writing.exists() and other_database.exists() and unrelated.exists()
    assert not crashed.exists()

    unused_since = time.time() - SNAPSHOT_IN_USE_S - 1
    os.utime(old_version, (unused_since, unused_since))
    import_records(engine, [template_row(title="Newer still")], geocoder, publish=True)
    with engine.connect() as conn:
        newest = OpportunityIndex.cached(conn, tmp_path)
    assert not old_version.exists()
    assert writing.exists() and other_database.exists() and unrelated.exists()
    assert len(newest) == 8


def test_a_damaged_gazetteer_index_is_rebuilt(tmp_path: Path, geocoder: Geocoder) -> None:
    # The geocoder's index in CACHE_DIR has the same failure modes as the search snapshots.
    import os
    import shutil

    from opportunities.places.gazetteer import Gazetteer
    from opportunities.settings import load_settings

    cache = tmp_path / "cache"
    shutil.copytree(load_settings().cache_dir / "gazetteer", cache / "gazetteer")  # the session geocoder's
    keys = cache / "gazetteer" / "place_keys.npy"
    keys.write_bytes(keys.read_bytes()[: keys.stat().st_size // 2])  # a disk that filled up mid-copy
    (cache / ".gazetteer-crashed").mkdir()  # a build that died long ago
    os.utime(cache / ".gazetteer-crashed", (0, 0))
    (cache / ".gazetteer-building").mkdir()  # another process's build, in progress

    rebuilt = Gazetteer.open(cache)
    kranj = rebuilt.place("Kranj", "SI")
    assert kranj is not None and round(kranj.latitude, 2) == 46.24
    assert sorted(p.name for p in cache.iterdir()) == [".gazetteer-building", "gazetteer"]
    built = (cache / "gazetteer" / "manifest.json").stat().st_mtime_ns
    assert Gazetteer.open(cache).place("Göteborg", "SE") is not None
    assert (cache / "gazetteer" / "manifest.json").stat().st_mtime_ns == built  # opened, not built again


def test_a_cache_folder_that_cannot_be_written_still_gives_the_index(engine: Engine, geocoder: Geocoder, tmp_path: Path) -> None:
    # The command line promises that the app builds the index itself when the folder cannot be
    # written (a read-only deployment): the snapshot is a head start, not a requirement.
    _many_languages_engine(engine, geocoder)
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache folder should be")
    with engine.connect() as conn:
        index = OpportunityIndex.cached(conn, blocked)
        assert _same(index, OpportunityIndex.load(conn))


def test_a_snapshot_of_another_user_is_read(
    engine: Engine, geocoder: Geocoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The import ran as another user: its snapshot is readable, but its time cannot be touched.
    _many_languages_engine(engine, geocoder)
    first, path = _snapshot(engine, tmp_path)

    def not_yours(*_args: object, **_kwargs: object) -> None:
        raise PermissionError(1, "Operation not permitted", str(path))

    monkeypatch.setattr("opportunities.explore.index.os.utime", not_yours)
    monkeypatch.setattr(OpportunityIndex, "load", classmethod(lambda *_a, **_k: pytest.fail("rebuilt instead of read")))
    again, _ = _snapshot(engine, tmp_path)
    assert _same(again, first)
