"""The application's in-process caches: each one a ``cachetools`` LRU behind its own lock, owned by one object.

``Cache.get_or_build`` builds a missing value once even when many threads ask at the same moment (single flight:
50 first requests used to build the same facts 50 times over), outside the cache's lock so other keys are served
meanwhile. What several ``huiqi serve --workers N`` processes must share is not kept here but in the database
(services.precomputed); these caches only spare recomputing what any process can rebuild (docs/architecture.md).
"""

from __future__ import annotations

import threading
from typing import Callable, Hashable, TypeVar

from cachetools import LRUCache, TTLCache

V = TypeVar("V")
_MISSING = object()


class Cache:
    def __init__(self, name: str, maxsize: int, ttl: float | None = None, timer: Callable[[], float] | None = None,
                 weigh: Callable[[object], int] | None = None):
        """``ttl``: seconds an entry is trusted (for values another process may change in the database);
        ``timer``: the TTL's clock (default time.monotonic; tests pass their own); ``weigh``: an entry's size,
        ``maxsize`` then bounds their sum (cachetools' getsizeof) and a value larger than it is not kept."""
        self.name = name
        sized = {"getsizeof": weigh} if weigh is not None else {}
        self._weigh = weigh
        self._data: LRUCache = LRUCache(maxsize=maxsize, **sized) if ttl is None else \
            TTLCache(maxsize=maxsize, ttl=ttl, **({"timer": timer} if timer is not None else {}), **sized)
        self._lock = threading.RLock()
        self._building: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable, default=None):
        with self._lock:
            return self._data.get(key, default)

    def put(self, key: Hashable, value) -> None:
        with self._lock:
            self._store(key, value)

    def _store(self, key: Hashable, value) -> None:
        """Under the lock: kept unless it alone outweighs the whole cache."""
        if self._weigh is None or self._weigh(value) <= self._data.maxsize:
            self._data[key] = value

    def pop(self, key: Hashable, default=None):
        with self._lock:
            return self._data.pop(key, default)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._data

    def get_or_build(self, key: Hashable, build: Callable[[], V]) -> V:
        with self._lock:
            hit = self._data.get(key, _MISSING)
            if hit is not _MISSING:
                return hit
            gate = self._building.setdefault(key, threading.Lock())
        with gate:  # one build per key; the others wait for it and then read the cache
            with self._lock:
                hit = self._data.get(key, _MISSING)
                if hit is not _MISSING:
                    return hit
            try:
                value = build()
                with self._lock:
                    self._store(key, value)
            finally:
                with self._lock:
                    self._building.pop(key, None)
        return value
