"""Compiled plans on disk, so that a second process skips compiling the rules (issue 9 item 3).

Compiling a period's measures reads every expression with sqlglot and builds its Polars expression (~0.15–0.3 s
per period and process). A compiled plan — the measures' compiled values (Polars expressions, exact constants,
fields read, pending parameters) and the plan's Polars expressions — is pickled once per plan key: Polars pickles
an expression in its own binary serialisation (``Expr.meta.serialize``), which is not stable across Polars versions,
so the Polars version is part of the key, beside the rules' content key and a hash of the compiling code
(``huiqi.rules.cache.compiled_key``: any edit to huiqi/engine, huiqi/rules or huiqi/core misses).

Only the built-in rule set, loaded through the rule cache, uses it; a miss, a damaged or unwritable file, or
``HUIQI_CACHE_DIR=off`` compiles as before. Each file holds the SHA-256 of its pickle (a truncated file is never
half a plan); the oldest files beyond ``KEEP`` are removed when one is written. A hit is trusted as the compile it replaces: it was written by the same
code from the same rule files and parameter values.
"""

from __future__ import annotations

import hashlib
import pickle
import sys
from pathlib import Path

import polars as pl

from huiqi.rules.cache import cache_dir, compiled_key, store_atomically

FORMAT = 1  # bump when the pickled layout changes


def plan_path(kind: str, key: tuple, extra_code: tuple[Path, ...] = ()) -> Path | None:
    """The file of one plan (``kind`` names what is stored), or None when there is no cache or the built-in rules
    were not loaded through it. ``extra_code``: source files beyond the compiler whose edit must also miss."""
    directory, code = cache_dir(), compiled_key()
    if directory is None or code is None:
        return None
    h = hashlib.sha256(f"{FORMAT}|{kind}|{code}|{pl.__version__}|{sys.version_info[:2]}|{key!r}".encode())
    for path in extra_code:
        h.update(path.read_bytes())
    return directory / f"{kind}-{h.hexdigest()[:32]}.pickle"


def load(path: Path | None):
    """The stored payload, or None (no file, a damaged file, another layout)."""
    if path is None:
        return None
    try:
        data = path.read_bytes()
        digest, body = data[:_DIGEST], data[_DIGEST:]
        if hashlib.sha256(body).digest() != digest:  # a truncated or altered file: never half a plan
            return None
        return pickle.loads(body)
    except Exception:  # noqa: BLE001 - a missing or damaged cache only means compiling afresh
        return None


def store(path: Path | None, payload) -> None:
    if path is not None:
        try:
            body = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - something unpicklable: the plan is simply not cached
            return
        store_atomically(path, hashlib.sha256(body).digest() + body)
        _prune(path.parent)


# plans are per parameter set, and the web calculator takes any values: the oldest files beyond this many go
# (a few hundred KB each; also what earlier code or rules left behind)
KEEP = 200


def _prune(directory: Path) -> None:
    try:
        files = [(p.stat().st_mtime_ns, p) for pattern in ("plan-*.pickle", "rows-*.pickle", "tmpl-*.pickle")
                 for p in directory.glob(pattern)]
        for _, p in sorted(files)[:-KEEP]:
            p.unlink(missing_ok=True)
    except OSError:  # another process pruned first, or the directory is read-only: nothing to do
        pass


_DIGEST = 32  # a stored file is the SHA-256 of its pickle, then the pickle


def parameter_key(params) -> tuple:
    """Parameter values with their types (``1`` and ``"1"`` compile differently)."""
    return tuple(sorted((k, type(v).__name__, repr(v)) for k, v in params.items()))
