"""entities.parquet copied from an earlier run that wrote the same entity table (docs/decisions.md SCREEN10-1).

A run's entities.parquet (the names, codes and places, once per listed entity) depends on the register and on
which entities the run lists, not on the amounts: a quarter's runs over an unchanged register write the same file
again (at a million enterprises 1.2M rows, ~0.45 s of CPU to encode). Its bytes are a function of the table
written and of the writing code (FACTS-7: no statistics, no timestamps, fixed row groups), so a file written for an
equal table by the same code and libraries is the file this run would write. Each written file is kept in the
user's cache (``huiqi.rules.cache.cache_dir()``, ``HUIQI_CACHE_DIR=off`` turns it off) under a fingerprint of the
table's content, and the next run with the same fingerprint copies it instead of encoding it again.

The fingerprint is SHA-256 over Polars' 64-bit hash of every value (column by column, with the names, types and
null positions) and over the versions of huiqi's writing code, Polars and pyarrow. The cached file's own SHA-256
is in its name and checked on the copy, so a damaged cache entry is written afresh, never used. The cache keeps the
last few tables only (a register or two, each ~25 MiB at a million enterprises).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Iterable

import polars as pl

FORMAT = 1  # bump when what the fingerprint covers changes
KEEP = 4  # entity tables kept: a few registers' runs, each table one file
_CODE = ("award_list.py", "entity_file_cache.py")  # the code that turns the table into bytes


def directory() -> Path | None:
    from huiqi.rules.cache import cache_dir

    base = cache_dir()
    return None if base is None else base / "entities"


def fingerprint(groups: Iterable[pl.DataFrame]) -> str:
    """A digest of the table (its row groups, in order) and of everything that turns it into file bytes."""
    import pyarrow

    h = hashlib.sha256(f"{FORMAT}|{pl.__version__}|{pyarrow.__version__}".encode())
    here = Path(__file__).resolve().parent
    for name in _CODE:
        h.update((here / name).read_bytes())
    for group in groups:
        h.update(f"\n{group.height}|{list(group.schema.items())}".encode())
        for column in group.get_columns():
            h.update(column.hash(0).to_numpy().data)
            if column.null_count():
                h.update(column.is_null().arg_true().to_numpy().data)
    return h.hexdigest()[:32]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def reuse(key: str, path: Path) -> bool:
    """Copy the cached file for ``key`` to ``path`` if there is one and its bytes are those it was stored with."""
    folder = directory()
    if folder is None:
        return False
    for cached in folder.glob(f"{key}.*.parquet"):
        try:
            shutil.copyfile(cached, path)
            if _sha256(path) == cached.name.split(".")[1]:
                os.utime(cached)  # recently used: kept longest
                return True
            cached.unlink()  # damaged: never used again
        except OSError:
            pass
    return False


def keep(key: str, path: Path) -> None:
    """Store the file just written for ``key`` (atomically: a concurrent run sees all of it or nothing) and drop
    the least recently used beyond :data:`KEEP`. A cache that cannot be written is ignored."""
    folder = directory()
    if folder is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{key}.{_sha256(path)}.parquet"
        staged = folder / f".{key}.{os.getpid()}.tmp"
        shutil.copyfile(path, staged)
        os.replace(staged, target)
        kept = sorted(folder.glob("*.parquet"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in kept[KEEP:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass
