"""Outputs that are complete or absent, never half-written (issue 8: a killed `huiqi screen` left a 0-byte
workbook beside an old manifest).

- One file: :func:`atomic_file` writes to a temporary file in the same folder and ``os.replace``-s it into place.
- A set of files (a screening run): :func:`run_folder` writes them into a new versioned folder; the user's output
  path is a symbolic link that is swapped atomically (``os.replace`` of a symlink) to the new folder once every
  file is on disk. Renaming a directory over a non-empty one is not atomic on POSIX; swapping a link is.

    out  ->  .out.runs/run-20261201T033000-1a2b3c/   (拟兑现名单_2024Q4.xlsx, results.*, manifest.json)

Killed at any moment, ``out`` shows the previous complete run or the new one. Leftovers of killed runs are removed
at the next run. An ``out`` folder written by an earlier version (a plain directory) is moved aside into
``.out.runs/`` on the first run. A version folder holding files that the run did not write (someone saved a file
into ``out/``) is never deleted: it is kept and reported.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator


def fsync_path(path: Path) -> None:
    """Flush a file's or a folder's content to disk (a rename is only durable after its folder is synced)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block succeeds it replaces ``path`` in one step."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        fsync_path(tmp_path)
        os.replace(tmp_path, path)
        fsync_path(path.parent)
    finally:
        tmp_path.unlink(missing_ok=True)


def versions_dir(out: Path) -> Path:
    return out.parent / f".{out.name}.runs"


def _listed(folder: Path, listed: Callable[[Path], set[str] | None]) -> bool:
    """True if every file in ``folder`` is one the run wrote (so the folder may be deleted)."""
    names = listed(folder)
    if names is None:
        return False
    present = {p.name for p in folder.iterdir()}
    return present <= names


@contextlib.contextmanager
def run_folder(out: str | Path, listed: Callable[[Path], set[str] | None],
               notice: Callable[[str], None] = lambda _m: None) -> Iterator[Path]:
    """Yield a new empty folder for a run's files; when the block succeeds, ``out`` becomes (atomically) a link
    to it. ``listed(folder)`` names the files a finished run folder is known to hold (from its manifest), or None
    if it has none — folders with other files are kept. One run at a time per ``out`` (a lock file)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"输出路径 {out} 已存在且不是目录")
    store = versions_dir(out)
    store.mkdir(parents=True, exist_ok=True)
    with open(store / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _clean(out, store, listed, notice)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        folder = store / f"run-{stamp}-{secrets.token_hex(3)}"
        folder.mkdir()
        try:
            yield folder
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        for f in folder.iterdir():
            fsync_path(f)
        fsync_path(folder)
        _point(out, folder, store, notice)
        _clean(out, store, listed, notice)


def _point(out: Path, folder: Path, store: Path, notice: Callable[[str], None]) -> None:
    """Make ``out`` a link to ``folder`` in one atomic step."""
    link = out.parent / f".{out.name}.link-{secrets.token_hex(4)}"
    os.symlink(os.path.relpath(folder, out.parent), link)
    if out.is_dir() and not out.is_symlink():  # a plain folder from an earlier version: move it aside first
        legacy = store / f"legacy-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{secrets.token_hex(3)}"
        os.rename(out, legacy)
        notice(f"原输出目录 {out} 已移至 {legacy}，{out} 今后指向每次筛查的完整结果")
    os.replace(link, out)
    fsync_path(out.parent)


def _clean(out: Path, store: Path, listed: Callable[[Path], set[str] | None], notice: Callable[[str], None]) -> None:
    """Remove what killed or superseded runs left: temporary links, unfinished and old run folders."""
    for stray in out.parent.glob(f".{out.name}.link-*"):
        stray.unlink(missing_ok=True)
    current = (out.parent / os.readlink(out)).resolve() if out.is_symlink() else None
    for entry in store.iterdir():
        if entry.name == ".lock" or (current is not None and entry.resolve() == current):
            continue
        if not entry.is_dir() or not entry.name.startswith(("run-", "legacy-")):
            continue
        if entry.name.startswith("run-") and listed(entry) is None:
            shutil.rmtree(entry, ignore_errors=True)  # killed before it was finished: never shown, ours alone
        elif _listed(entry, listed):
            shutil.rmtree(entry, ignore_errors=True)  # superseded, and holds only what its run wrote
        elif not (entry / ".kept").exists():
            (entry / ".kept").touch()
            notice(f"{entry} 中有不属于筛查结果的文件，已保留，请自行处理")


@contextlib.contextmanager
def fresh_dir(out: str | Path, owned: Callable[[str], bool]) -> Iterator[Path]:
    """Yield an empty folder; when the block succeeds it takes the place of ``out`` (a folder of files for which
    ``owned(name)`` is true, e.g. the demo data's ``<table>.parquet``). The old folder is renamed aside, the new
    one renamed in, the old one deleted: killed in between, ``out`` is missing (and restored from the old one at the
    next call), never a mix. If ``out`` holds other files, nothing of them is touched: the new files are moved in
    one by one (each replaced in one step) instead."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    olds = sorted(out.parent.glob(f".{out.name}.old-*"))
    if not out.exists() and olds:  # killed between the two renames last time: put the previous data back
        os.rename(olds.pop(), out)
    for stray in [*olds, *out.parent.glob(f".{out.name}.tmp-*")]:
        shutil.rmtree(stray, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield tmp
        for f in tmp.iterdir():
            fsync_path(f)
        fsync_path(tmp)
        if out.is_dir() and not out.is_symlink() and not all(owned(p.name) for p in out.iterdir()):
            for f in sorted(tmp.iterdir()):
                os.replace(f, out / f.name)
            fsync_path(out)
            return
        old = out.parent / f".{out.name}.old-{secrets.token_hex(4)}"
        if out.exists():
            os.rename(out, old)
        os.rename(tmp, out)
        fsync_path(out.parent)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
