"""ALLOC-1: the `huiqi` command sets its allocator defaults before Polars or pyarrow load, an operator's own
setting wins, Polars' jemalloc accepts the settings, and `huiqi serve --workers N` hands them to its workers."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from typer.testing import CliRunner

from huiqi.interfaces import cli_serve, process_defaults
from huiqi.interfaces.cli import app

JEMALLOC = "_RJEM_MALLOC_CONF"
OURS = process_defaults.ALLOCATOR_DEFAULTS[JEMALLOC]


def _child(code: str, **env: str) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter, with the allocator variables unset unless given."""
    clean = {k: v for k, v in os.environ.items() if k not in process_defaults.ALLOCATOR_DEFAULTS}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120,
                          env={**clean, **env})


def test_set_before_polars_and_pyarrow_load():
    """The order of first imports when the command line loads: the defaults come before either library."""
    done = _child("""
        import os, sys

        seen = []

        class Recorder:
            def find_spec(self, name, path=None, target=None):
                seen.append(name)
                return None

        sys.meta_path.insert(0, Recorder())
        import huiqi.interfaces.cli  # noqa: F401
        import pyarrow  # noqa: F401  (imported later by screening; must still come after)
        first = seen.index("huiqi.interfaces.process_defaults")
        print(first < seen.index("polars"), first < seen.index("pyarrow"))
        print(os.environ["_RJEM_MALLOC_CONF"])
    """)
    assert done.returncode == 0, done.stderr[-2000:]
    order, conf = done.stdout.strip().splitlines()[-2:]
    assert order == "True True"
    # Polars puts its own defaults first and appends what it found: ours, the later keys, win
    assert conf.endswith("," + OURS)


def test_an_operators_setting_wins():
    done = _child("""
        import os
        import huiqi.interfaces.cli  # noqa: F401
        print(os.environ["_RJEM_MALLOC_CONF"])
    """, _RJEM_MALLOC_CONF="dirty_decay_ms:1000")
    assert done.returncode == 0, done.stderr[-2000:]
    conf = done.stdout.strip().splitlines()[-1]
    assert conf.endswith(",dirty_decay_ms:1000") and OURS not in conf


def test_polars_jemalloc_accepts_the_settings():
    """jemalloc reports an option it cannot parse on stderr ("<jemalloc>: …") and goes on; none here. The same
    check on a malformed setting shows that it would be seen."""
    work = """
        import huiqi.interfaces.cli  # noqa: F401
        import polars as pl
        print(pl.Series(range(2_000_000)).cast(pl.Int64).sum())  # large enough for jemalloc's big allocations
    """
    done = _child(work)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == str(sum(range(2_000_000)))
    assert "<jemalloc>" not in done.stderr
    bad = _child(work, _RJEM_MALLOC_CONF="no_such_option:1")
    assert "<jemalloc>" in bad.stderr


def test_python_dash_m_huiqi_is_the_command_line():
    done = subprocess.run([sys.executable, "-m", "huiqi", "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "screen" in done.stdout and "serve" in done.stdout


def test_serve_workers_inherit_the_settings(monkeypatch, tmp_path):
    """`huiqi serve --workers N` becomes `python -m uvicorn` by exec: the workers get this process's environment,
    so Polars in each worker reads the defaults before it loads."""
    seen = {}
    monkeypatch.setattr(cli_serve, "_prepare", lambda *a: None)
    monkeypatch.setattr(os, "execv", lambda exe, argv: seen.setdefault("conf", os.environ.get(JEMALLOC)))
    for name in ("HUIQI_DB", "HUIQI_DATA", "HUIQI_WORK", "HUIQI_PREPARED", JEMALLOC):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(app, ["serve", "--workers", "2", "--db", f"sqlite:///{tmp_path / 'x.db'}"])
    assert result.exit_code == 0, result.output
    assert seen["conf"] == OURS


def test_apply_keeps_what_is_set(monkeypatch):
    monkeypatch.setenv(JEMALLOC, "dirty_decay_ms:0")
    process_defaults.apply()
    assert os.environ[JEMALLOC] == "dirty_decay_ms:0"
    monkeypatch.delenv(JEMALLOC)
    process_defaults.apply()
    assert os.environ[JEMALLOC] == OURS
