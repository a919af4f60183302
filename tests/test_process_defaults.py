"""ALLOC-1: the `huiqi` command sets its allocator defaults before Polars or pyarrow load, an operator's own
setting wins, Polars' jemalloc accepts the settings, and `huiqi serve --workers N` hands them to its workers."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from hypothesis import given, strategies as st
from typer.testing import CliRunner

from huiqi.interfaces import cli_serve, process_defaults
from huiqi.interfaces.cli import app

JEMALLOC = process_defaults.JEMALLOC_CONF
OURS = process_defaults.jemalloc_conf(None)


def _child(code: str, **env: str) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter, with the allocator variables unset unless given."""
    clean = {k: v for k, v in os.environ.items() if k != JEMALLOC}
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
    assert _effective(conf)["dirty_decay_ms"] == "1000"
    assert _effective(conf)["muzzy_decay_ms"] == "30000"  # the options it did not choose: ours


def test_polars_own_value_inherited_from_a_parent_is_no_choice():
    """A parent that imported Polars (a test runner, a benchmark) exports Polars' own defaults to its children."""
    done = _child("""
        import os
        import huiqi.interfaces.cli  # noqa: F401
        print(os.environ["_RJEM_MALLOC_CONF"])
    """, _RJEM_MALLOC_CONF="dirty_decay_ms:500,muzzy_decay_ms:1000")
    assert done.returncode == 0, done.stderr[-2000:]
    assert _effective(done.stdout.strip().splitlines()[-1]) == _effective(OURS)


def _effective(conf: str) -> dict[str, str]:
    """jemalloc's reading of a conf string: the last value of each option wins."""
    return dict(pair.split(":", 1) for pair in conf.split(",") if pair)


OPTION_NAMES = st.sampled_from(["dirty_decay_ms", "muzzy_decay_ms", "oversize_threshold", "narenas", "thp"])


@given(operator=st.lists(st.tuples(OPTION_NAMES, st.sampled_from(["0", "-1", "1000", "always"])), max_size=5),
       inherited=st.integers(0, 2), thp=st.booleans())
def test_conf_keeps_operator_options_and_adds_the_rest(operator, inherited, thp):
    """Whatever Polars wrote before (any number of generations) and whatever the operator chose: every option the
    operator set keeps its value, every other default is ours, and applying twice changes nothing."""
    own = process_defaults.POLARS_OWN[0] + (process_defaults.POLARS_OWN[1] if thp else "")
    chosen = ",".join(f"{k}:{v}" for k, v in operator)
    current = ",".join([own] * inherited + ([chosen] if chosen else [])) or None
    conf = process_defaults.jemalloc_conf(current)
    effective = _effective(conf)
    for k, v in dict(operator).items():
        assert effective[k] == v
    for k, v in process_defaults.JEMALLOC_DEFAULTS.items():
        if k not in dict(operator):
            assert effective[k] == v
    assert process_defaults.jemalloc_conf(conf) == conf
    assert process_defaults.jemalloc_conf(own + "," + conf) == own + "," + conf  # after Polars loads in a child


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


def test_serve_workers_inherit_the_settings(serve_environment, monkeypatch, tmp_path):
    """`huiqi serve --workers N` becomes `python -m huiqi.interfaces.serve_workers` (uvicorn's supervisor) by exec: the workers get this process's environment,
    so Polars in each worker reads the defaults before it loads."""
    seen = {}
    monkeypatch.setattr(cli_serve, "_prepare", lambda *a: None)
    monkeypatch.setattr(os, "execv", lambda exe, argv: seen.setdefault("conf", os.environ.get(JEMALLOC)))
    result = CliRunner().invoke(app, ["serve", "--workers", "2", "--db", f"sqlite:///{tmp_path / 'x.db'}"])
    assert result.exit_code == 0, result.output
    assert seen["conf"] == OURS


def test_apply_keeps_what_is_set(monkeypatch):
    monkeypatch.setenv(JEMALLOC, "dirty_decay_ms:0,muzzy_decay_ms:0,oversize_threshold:8388608")
    process_defaults.apply()
    assert os.environ[JEMALLOC] == "dirty_decay_ms:0,muzzy_decay_ms:0,oversize_threshold:8388608"
    monkeypatch.delenv(JEMALLOC)
    process_defaults.apply()
    assert os.environ[JEMALLOC] == OURS == "oversize_threshold:0,dirty_decay_ms:30000,muzzy_decay_ms:30000"
