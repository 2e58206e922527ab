"""The cache shared by visitors' threads: bounded, computed once per key, errors not kept, tied to its owner."""

from __future__ import annotations

import gc
import threading
import time

import pytest

from opportunities.shared_cache import SharedCache


class Owner:
    """Stands for an index: compared by identity, referenced weakly."""


def test_a_value_is_computed_once_and_then_found() -> None:
    cache: SharedCache[int] = SharedCache(4)
    calls: list[str] = []
    assert cache.get("a", lambda: calls.append("a") or 1) == 1
    assert cache.get("a", lambda: calls.append("a again") or 2) == 1
    assert calls == ["a"]
    assert (cache.stats().hits, cache.stats().misses) == (1, 1)


@pytest.mark.parametrize(
    ("max_entries", "asked", "kept"),
    [
        (2, ["a", "b", "c"], ["b", "c"]),  # the oldest goes
        (2, ["a", "b", "a", "c"], ["a", "c"]),  # asking again makes it the newest
        (1, ["a", "b"], ["b"]),
        (3, ["a", "a", "a"], ["a"]),
    ],
)
def test_the_least_recently_used_go_first(max_entries: int, asked: list[str], kept: list[str]) -> None:
    cache: SharedCache[str] = SharedCache(max_entries)
    for key in asked:
        cache.get(key, lambda k=key: k)  # type: ignore[misc]
    assert len(cache) == len(kept)
    computed: list[str] = []
    for key in kept:
        cache.get(key, lambda k=key: computed.append(k) or k)  # type: ignore[misc]
    assert computed == []


def test_no_room_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        SharedCache(0)


def test_threads_asking_at_once_wait_for_one_computation() -> None:
    cache: SharedCache[int] = SharedCache(4)
    started = threading.Event()
    calls = 0

    def slow() -> int:
        nonlocal calls
        calls += 1
        started.set()
        time.sleep(0.2)
        return 42

    results: list[int] = []
    first = threading.Thread(target=lambda: results.append(cache.get("k", slow)))
    first.start()
    started.wait(5)
    others = [threading.Thread(target=lambda: results.append(cache.get("k", slow))) for _ in range(5)]
    for t in others:
        t.start()
    for t in [first, *others]:
        t.join(5)
    assert results == [42] * 6
    assert calls == 1
    assert cache.stats().waits == 5


def test_an_error_is_not_kept_and_a_waiting_thread_computes_again() -> None:
    cache: SharedCache[int] = SharedCache(4)
    started, release = threading.Event(), threading.Event()

    def failing() -> int:
        started.set()
        release.wait(5)
        raise RuntimeError("the database went away")

    errors: list[BaseException] = []

    def first() -> None:
        try:
            cache.get("k", failing)
        except RuntimeError as exc:
            errors.append(exc)

    thread = threading.Thread(target=first)
    thread.start()
    started.wait(5)
    results: list[int] = []
    waiter = threading.Thread(target=lambda: results.append(cache.get("k", lambda: 7)))
    waiter.start()
    time.sleep(0.05)
    release.set()
    thread.join(5)
    waiter.join(5)
    assert len(errors) == 1
    assert results == [7]
    assert cache.get("k", lambda: 8) == 8  # the failure was not kept; neither was the waiter's own value
    assert len(cache) == 1


def test_a_value_belongs_to_its_owner_only() -> None:
    cache: SharedCache[str] = SharedCache(4)
    old, new = Owner(), Owner()
    assert cache.get("q", lambda: "old rows", owner=old) == "old rows"
    assert cache.get("q", lambda: "new rows", owner=new) == "new rows"
    assert cache.get("q", lambda: "recomputed", owner=old) == "old rows"


def test_an_owner_is_not_kept_alive_and_a_reused_id_finds_nothing() -> None:
    cache: SharedCache[str] = SharedCache(4)
    owner = Owner()
    cache.get("q", lambda: "rows of a dropped index", owner=owner)
    number = id(owner)
    del owner
    gc.collect()
    # Whatever object gets the same id later, the value of the dropped owner is not its own.
    for _ in range(1000):
        candidate = Owner()
        if id(candidate) == number:
            assert cache.get("q", lambda: "fresh", owner=candidate) == "fresh"
            break


def test_peek_finds_only_what_is_computed() -> None:
    cache: SharedCache[int] = SharedCache(2)
    owner = Owner()
    assert cache.peek("k") is None
    cache.get("k", lambda: 1)
    cache.get("o", lambda: 2, owner=owner)
    assert (cache.peek("k"), cache.peek("o", owner=owner), cache.peek("o", owner=Owner())) == (1, 2, None)
