"""entities.parquet copied from an earlier run that wrote the same entity table (docs/decisions.md SCREEN10-1).

A run's entities.parquet (the names, codes and places, once per listed entity) depends on the register and on
which entities the run lists — so on the period too — not on the amounts: a period run again over an unchanged
register writes the same file again (at a million enterprises 1.2M rows, ~0.45 s of CPU to encode). Its bytes are
a function of the table and of the writing code (FACTS-7: no statistics, no timestamps, fixed row groups), so a
file written for an equal table by the same code and libraries is the file this run would write. Such files are
kept in the user's cache (``huiqi.rules.cache.cache_dir()``; ``HUIQI_CACHE_DIR=off`` turns it off) and copied.

Telling tables apart costs ~0.2 s at 1M (every value hashed), so it is paid only where a copy is likely:
- the table's *shape* — the run's entity keys row by row (which result rows belong to one entity; ~0.01 s) — is
  remembered after each run; a shape seen for the first time is written as before (a quarterly run on new data
  pays ~0.01 s);
- a shape seen before is hashed while it is written and the file kept under its *fingerprint* — SHA-256 over
  Polars' 64-bit hash of every value (column by column, with names, types and null positions) and the versions of
  the writing code, Polars and pyarrow;
- a shape with a kept file is hashed first and, when the fingerprint matches, the file copied; its own SHA-256 is
  in its name and checked on the copy, so a damaged file is written afresh, never used.
The cache keeps the last few tables only (each ~25 MiB at a million enterprises).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Callable, Iterable, Iterator

import polars as pl

FORMAT = 1  # bump when what the fingerprint covers changes
KEEP = 4  # entity tables kept: a few registers' or periods' runs, each table one file
KEEP_SHAPES = 32  # shapes remembered (empty files)
_CODE = ("award_list.py", "entity_file_cache.py")  # the code that turns the table into bytes

Groups = Callable[[], Iterator[pl.DataFrame]]
Writer = Callable[[Iterable[pl.DataFrame], Path], None]


def directory() -> Path | None:
    from huiqi.rules.cache import cache_dir

    base = cache_dir()
    return None if base is None else base / "entities"


def write(path: Path, key: pl.Series, groups: Groups, writer: Writer) -> None:
    """``writer(groups(), path)``, or the kept file of an equal table copied to ``path`` (``key``: each result row's
    entity key, the table's shape). ``groups`` is called again for each pass over the table: gathering a group
    again costs less than holding them all (~145 MiB at 1M, in page faults)."""
    folder = directory()
    if folder is None:
        writer(groups(), path)
        return
    shape = _shape(key)
    if any(folder.glob(f"{shape}.*.parquet")):  # an equal table is likely: compare
        digest = fingerprint(groups())
        if _reuse(folder, shape, digest, path):
            return
        writer(groups(), path)
    elif not (folder / f"{shape}.seen").exists():  # new: written as before, its shape remembered
        writer(groups(), path)
        _mark(folder, shape)
        return
    else:  # seen once: hashed as it is written, then kept
        h = _hasher()
        writer((_hashed(h, g) for g in groups()), path)
        digest = h.hexdigest()[:32]
    _keep(folder, shape, digest, path)


def _shape(key: pl.Series) -> str:
    h = hashlib.sha256(f"{FORMAT}|{len(key)}|{key.dtype}|{key.null_count()}".encode())
    h.update(key.fill_null(0).to_numpy().data)
    return h.hexdigest()[:24]


def _hasher():
    import pyarrow

    h = hashlib.sha256(f"{FORMAT}|{pl.__version__}|{pyarrow.__version__}".encode())
    here = Path(__file__).resolve().parent
    for name in _CODE:
        h.update((here / name).read_bytes())
    return h


def _hashed(h, group: pl.DataFrame) -> pl.DataFrame:
    h.update(f"\n{group.height}|{list(group.schema.items())}".encode())
    for column in group.get_columns():
        h.update(column.hash(0).to_numpy().data)
        if column.null_count():
            h.update(column.is_null().arg_true().to_numpy().data)
    return group


def fingerprint(groups: Iterable[pl.DataFrame]) -> str:
    """A digest of the table (its row groups, in order) and of everything that turns it into file bytes."""
    h = _hasher()
    for group in groups:
        _hashed(h, group)
    return h.hexdigest()[:32]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _reuse(folder: Path, shape: str, digest: str, path: Path) -> bool:
    """Copy the kept file of this table to ``path`` if there is one and its bytes are those it was kept with."""
    for kept in folder.glob(f"{shape}.{digest}.*.parquet"):
        try:
            shutil.copyfile(kept, path)
            if _sha256(path) == kept.name.split(".")[2]:
                os.utime(kept)  # recently used: kept longest
                return True
            kept.unlink()  # damaged: never used again
        except OSError:
            pass
    return False


def _keep(folder: Path, shape: str, digest: str, path: Path) -> None:
    """Store the file just written (atomically: a concurrent run sees all of it or nothing); drop the least
    recently used beyond :data:`KEEP`. A cache that cannot be written is ignored."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        staged = folder / f".{shape}.{os.getpid()}.tmp"
        shutil.copyfile(path, staged)
        os.replace(staged, folder / f"{shape}.{digest}.{_sha256(path)}.parquet")
        _prune(folder, "*.parquet", KEEP)
    except OSError:
        pass


def _mark(folder: Path, shape: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{shape}.seen").touch()
        _prune(folder, "*.seen", KEEP_SHAPES)
    except OSError:
        pass


def _prune(folder: Path, pattern: str, keep: int) -> None:
    for old in sorted(folder.glob(pattern), key=lambda p: p.stat().st_mtime_ns, reverse=True)[keep:]:
        old.unlink(missing_ok=True)
