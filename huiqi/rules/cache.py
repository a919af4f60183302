"""A serialised cache of the loaded rule files and data dictionary, keyed by their content.

Loading validates every rule file with pure-Python YAML (kept for its line marks) and Pydantic: 1–3 s per
process, paid by every CLI command and every Spark worker. The validated result is pickled once under a key
that hashes every rule and field file's bytes (plus the versions of huiqi, Pydantic and Python), so any edit to
a rule file, or an upgrade, misses the cache and loads afresh; a hit never skips validation of changed text.

The YAML node trees (for "file:line" messages) are not stored: they are ten times the size of the rules and
are composed from the file's text only when a message needs a line (libyaml's C parser gives the same line marks).

Location: ``$HUIQI_CACHE_DIR``, else ``$XDG_CACHE_HOME/huiqi``, else ``~/.cache/huiqi``; ``HUIQI_CACHE_DIR=off``
disables it. An unreadable or unwritable cache is ignored (the rules are then loaded as without it).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
import sys
import tempfile
from pathlib import Path

from huiqi.rules.fields import FIELDS_DIR, DataDictionary, load_dictionary
from huiqi.rules.loader import RULES_DIR, RuleSource, load_rules

FORMAT = 2  # bump when the pickled layout changes


def cache_dir() -> Path | None:
    configured = os.environ.get("HUIQI_CACHE_DIR")
    if configured:
        return None if configured.lower() in ("off", "0", "none") else Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "huiqi"


def _texts(directory: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(directory.glob("*.yaml"))}


def content_key(rule_texts: dict[Path, bytes], field_texts: dict[Path, bytes]) -> str:
    from importlib.metadata import PackageNotFoundError, version

    import pydantic

    try:
        huiqi_version = version("huiqi")
    except PackageNotFoundError:
        huiqi_version = "?"
    h = hashlib.sha256(f"{FORMAT}|{huiqi_version}|{pydantic.VERSION}|{sys.version_info[:2]}".encode())
    for group in (rule_texts, field_texts):
        for path, data in group.items():
            h.update(f"\n#{path}\n".encode())
            h.update(data)
    return h.hexdigest()[:24]


# the content key of what load() returned, per (rules, fields) directory: the compiled marker is keyed by it
_LOADED: dict[tuple[Path, Path], str] = {}
# the code that compiles rules into Polars expressions: any edit to it checks every expression again
_COMPILER_CODE = ("engine", "rules", "core")


def load(rules_dir: Path = RULES_DIR, fields_dir: Path = FIELDS_DIR) -> tuple[RuleSource, DataDictionary]:
    """The rule source and data dictionary, from the cache when the files are unchanged."""
    rule_texts, field_texts = _texts(rules_dir), _texts(fields_dir)
    directory = cache_dir()
    key = content_key(rule_texts, field_texts)
    _LOADED[(Path(rules_dir), Path(fields_dir))] = key
    path = directory / f"rules-{key}.pickle" if directory else None
    if path is not None:
        try:
            files, dictionary = pickle.loads(path.read_bytes())
            # the node trees for line numbers are composed only if an error message needs one (LoadedFile.tree)
            files = tuple(dataclasses.replace(f, node=None, text=rule_texts[f.path].decode("utf-8")) for f in files)
            return RuleSource(files), dictionary
        except Exception:  # noqa: BLE001 - a missing, stale or damaged cache only means loading afresh
            pass
    source, dictionary = load_rules(rules_dir), load_dictionary(fields_dir)
    if path is not None:
        _store(path, (tuple(dataclasses.replace(f, node=None) for f in source.files), dictionary))
    return source, dictionary


def _store(path: Path, payload) -> None:
    try:
        store_atomically(path, pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))
    except OSError:
        pass


def store_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a concurrent reader sees the old file or the whole new one."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".rules-", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError:
        pass


def compiled_key(rules_dir: Path = RULES_DIR, fields_dir: Path = FIELDS_DIR) -> str | None:
    """A hash of the rules load() returned for these directories and of the code that compiles them (huiqi/engine,
    huiqi/rules, huiqi/core): what a compiled result (the marker below, a plan in huiqi.engine.plan_cache) is
    keyed by. None when the cache is off or the rules were not loaded through it."""
    key = _LOADED.get((Path(rules_dir), Path(fields_dir)))
    if cache_dir() is None or key is None:
        return None
    h = hashlib.sha256(key.encode())
    package = Path(__file__).resolve().parent.parent
    for sub in _COMPILER_CODE:  # ~50 files, ~1 ms: read each time, so an edit in a long process is seen too
        for path in sorted((package / sub).glob("*.py")):
            h.update(f"\n#{sub}/{path.name}\n".encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:24]


def compiled_marker(rules_dir: Path = RULES_DIR, fields_dir: Path = FIELDS_DIR) -> Path | None:
    """The file whose presence says that the rules load() returned for these directories, with this code, compile
    without error — so a process may skip compiling every measure of every period up front (RuleSet.compile_all,
    0.3–0.5 s) and compile only the periods it evaluates. Keyed by :func:`compiled_key`; None when the cache is off
    or the rules were not loaded through it."""
    key = compiled_key(rules_dir, fields_dir)
    return None if key is None else cache_dir() / f"compiled-{key}.ok"


def mark_compiled(marker: Path) -> None:
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    except OSError:
        pass
