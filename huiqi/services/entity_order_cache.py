"""The listing's entity order remembered per register (docs/decisions.md SCREEN10-2).

Every run ranks its entities' IDs (``screening.entity_order``: ~0.35 s of CPU for the 1.15M credit codes at a
million enterprises) although the order of a register's codes changes only when the register does. The rank of
all of a frame's IDs is kept in the user's cache (``huiqi.rules.cache.cache_dir()``; ``HUIQI_CACHE_DIR=off`` turns
it off) under the SHA-256 of the IDs in row order (``huiqi.data.panel.register_fingerprint``, ~0.03 s at 1M: equal
fingerprints, equal IDs at every row), so the next run over the same register — any period — reads it back. The
rank of a subset of the rows (the rows a period lists) follows from the whole rank without a sort
(:func:`subset_order`). Each file's SHA-256 is in its name and checked on reading: a damaged file is ranked afresh.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Callable

import polars as pl

FORMAT = 1  # bump if the rank's definition changes
KEEP = 8  # ranks kept (a register's enterprises and its projects are two)
SMALLEST = 50_000  # fewer IDs rank faster than a file is read: not cached


def directory() -> Path | None:
    from huiqi.rules.cache import cache_dir

    base = cache_dir()
    return None if base is None else base / "orders"


def remembered(ids: pl.Series, rank: Callable[[pl.Series], pl.Series], *, or_rank: bool = True) -> pl.Series | None:
    """``rank(ids)`` (a permutation of 1 … n), from the cache when these IDs were ranked before, else ranked and
    stored — unless not ``or_rank`` (the caller needs only a few rows' rank: ranking all would cost more than it
    saves). None when the cache is off, the frame is small or an ID is null: the caller ranks as before."""
    folder = directory()
    if folder is None or len(ids) < SMALLEST or ids.null_count():
        return None
    from huiqi.data.panel import register_fingerprint

    # the type too: the same text of other types (integers) ranks in another order
    key = hashlib.sha256(f"{FORMAT}|{ids.dtype}|{register_fingerprint(ids)}".encode()).hexdigest()[:32]
    for cached in folder.glob(f"{key}.*.u32"):
        try:
            data = cached.read_bytes()
        except OSError:
            continue
        if hashlib.sha256(data).hexdigest() == cached.name.split(".")[1] and len(data) == 4 * len(ids):
            try:
                os.utime(cached)  # recently used: kept longest
            except OSError:
                pass
            import numpy as np

            return pl.Series("", np.frombuffer(data, dtype="<u4"), dtype=pl.UInt32)
    if not or_rank:
        return None
    order = rank(ids)
    if order.null_count() == 0:
        _store(folder, key, order.cast(pl.UInt32).to_numpy().astype("<u4").tobytes())
    return order


def _store(folder: Path, key: str, data: bytes) -> None:
    """Atomically (a concurrent run reads all of it or nothing); the least recently used beyond :data:`KEEP`
    dropped. A cache that cannot be written is ignored."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        staged = folder / f".{key}.{os.getpid()}.tmp"
        staged.write_bytes(data)
        os.replace(staged, folder / f"{key}.{hashlib.sha256(data).hexdigest()}.u32")
        kept = sorted(folder.glob("*.u32"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in kept[KEEP:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass


def subset_order(whole: pl.Series, listed: pl.Series) -> pl.Series:
    """The rank (1 … len(listed)) among the ``listed`` rows (ascending row numbers) that ranking their IDs alone
    gives, from ``whole`` (the rank of every row's ID, ties in row order), placed at those rows, 0 elsewhere: the
    listed rows keep their relative order in ``whole``, ties included, since a subset in row order breaks ties as
    the whole does. Counting the listed rows along the sorted order replaces the sort (O(n), no strings)."""
    n = len(whole)
    position = whole.cast(pl.Int64) - 1  # each row's place in sorted order
    chosen = pl.zeros(n, dtype=pl.UInt32, eager=True).scatter(position.gather(listed), 1)
    counted = chosen.cum_sum()  # at each sorted place: how many listed rows up to it
    return pl.zeros(n, dtype=pl.UInt32, eager=True).scatter(listed, counted.gather(position.gather(listed)))
