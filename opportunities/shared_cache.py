"""A bounded cache shared by every visitor's thread: what one visitor computed, the next one reuses.

Streamlit runs each visitor's page in a thread of one process, and the search index is shared by
them all, so what depends only on the index and on what was asked (the matches of a filter set,
a list page, a map layer drawn for a view) is worth computing once for a whole school class
clicking the same filters. :class:`SharedCache` is a least-recently-used map of bounded length:

- a value is computed once: a second thread asking for a key being computed waits for it
  instead of computing it again (25 pupils clicking "Free only" at once cost one computation);
- an error is not cached: the thread that raised it re-raises it, and a thread that waited
  computes again (and raises its own error, or succeeds);
- values may be tied to an ``owner`` (the index they were computed from) by identity: a value is
  found only for that very object, never for a newer one that happens to reuse its ``id``, and
  the cache holds only a weak reference to the owner, so an index a newer one replaced is freed.

Values are shared between threads: they must not be changed once returned (make arrays
read-only, use frozen dataclasses, tuples and strings).
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

V = TypeVar("V")


@dataclass
class _Entry(Generic[V]):
    owner: weakref.ReferenceType[Any] | None
    ready: threading.Event = field(default_factory=threading.Event)
    value: V | None = None
    failed: bool = False


@dataclass(frozen=True)
class CacheStats:
    """How a cache has served so far: found, computed, and waited for another thread's computation."""

    entries: int
    hits: int
    misses: int
    waits: int


class SharedCache(Generic[V]):
    """A thread-safe least-recently-used cache of at most ``max_entries`` values."""

    def __init__(self, max_entries: int) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, _Entry[V]] = OrderedDict()
        self._hits = self._misses = self._waits = 0

    def __len__(self) -> int:
        return len(self._entries)

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(len(self._entries), self._hits, self._misses, self._waits)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def peek(self, key: Hashable, *, owner: object | None = None) -> V | None:
        """The value for ``key`` when computed already, else None (nothing computed, nothing waited for)."""
        full: Hashable = (id(owner), key) if owner is not None else key
        with self._lock:
            entry = self._entries.get(full)
            if entry is None or not entry.ready.is_set() or entry.failed:
                return None
            if entry.owner is not None and entry.owner() is not owner:
                return None
            self._entries.move_to_end(full)
            self._hits += 1
            return entry.value

    def get(self, key: Hashable, compute: Callable[[], V], *, owner: object | None = None) -> V:
        """The value for ``key`` (and ``owner``, by identity), computed by ``compute`` when missing."""
        full: Hashable = (id(owner), key) if owner is not None else key
        with self._lock:
            entry = self._entries.get(full)
            if entry is not None and entry.owner is not None and entry.owner() is not owner:
                del self._entries[full]  # an older owner's value, under an id now reused
                entry = None
            if entry is None:
                entry = _Entry(weakref.ref(owner) if owner is not None else None)
                self._entries[full] = entry
                self._misses += 1
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)  # a thread still computing it keeps its entry
                mine = True
            else:
                self._entries.move_to_end(full)
                mine = False
                if entry.ready.is_set():
                    self._hits += 1
                    return entry.value  # type: ignore[return-value]  # set before ready
                self._waits += 1
        if not mine:
            entry.ready.wait()
            return compute() if entry.failed else entry.value  # type: ignore[return-value]
        try:
            value = compute()
        except BaseException:
            with self._lock:
                if self._entries.get(full) is entry:
                    del self._entries[full]
            entry.failed = True
            entry.ready.set()
            raise
        entry.value = value
        entry.ready.set()
        return value
