"""Start-up of `huiqi screen` (docs/decisions.md FACTS-4, FACTS-5): the screening path loads no web or database
library, scans the large side tables of a panel-layout directory, and compiles the built-in rules up front only
once per content of the rules and of the compiling code."""

import subprocess
import sys
import textwrap

import polars as pl
import pytest

from huiqi.engine.evaluate import RuleSet
from huiqi.rules import cache
from tests.synthetic_dirs import panel_directory

WEB_OR_DATABASE = ("sqlalchemy", "fastapi", "starlette", "uvicorn", "alembic", "jinja2")


@pytest.fixture(scope="module")
def panel_dir(tmp_path_factory):
    return panel_directory(tmp_path_factory.mktemp("data"), 150, seed=5)


@pytest.mark.slow
def test_screen_command_imports_no_web_or_database_library(panel_dir, tmp_path):
    """A whole `huiqi screen` in a fresh interpreter; afterwards none of those modules was ever imported."""
    script = textwrap.dedent(f"""
        import sys
        from typer.testing import CliRunner
        from huiqi.interfaces.cli import app
        result = CliRunner().invoke(app, ["screen", "--period", "2024Q4", "--data", {str(panel_dir)!r},
                                          "--out", {str(tmp_path / "out")!r}])
        assert result.exit_code == 0, result.output
        print(sorted(m for m in sys.modules if m.split(".")[0] in {WEB_OR_DATABASE!r}))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert (tmp_path / "out" / "results.parquet").exists()


def test_screen_scans_the_large_side_tables(panel_dir):
    from huiqi.interfaces.cli_common import load_tables

    tables = load_tables(panel_dir, None, scan=("events", "scale_status"))
    assert isinstance(tables["events"], pl.LazyFrame) and isinstance(tables["scale_status"], pl.LazyFrame)
    assert isinstance(tables["indicator_panel"], pl.LazyFrame)
    assert isinstance(tables["enterprises"], pl.DataFrame)
    assert isinstance(load_tables(panel_dir, None)["events"], pl.DataFrame)  # other commands: as before


def test_screening_on_scanned_tables_equals_on_read_tables(panel_dir):
    from huiqi.interfaces.cli_common import SCREEN_SCANS, load_tables
    from huiqi.services.screening import screen

    scanned = load_tables(panel_dir, None, scan=SCREEN_SCANS)
    read = {k: v for k, v in load_tables(panel_dir, None).items()}
    for period in ("2024Q4", "2026Q3"):
        a = screen(scanned, period, data_hash="x", explain=False)
        b = screen(read, period, data_hash="x", explain=False)
        assert a.manifest == b.manifest and a.results.equals(b.results)


@pytest.fixture
def cache_here(tmp_path, monkeypatch):
    monkeypatch.setenv("HUIQI_CACHE_DIR", str(tmp_path / "cache"))
    cache.load()  # the built-in rules through this cache directory (what default_rules() does once per process)
    return tmp_path / "cache"


def test_builtin_rules_are_compiled_up_front_once(cache_here, monkeypatch):
    marker = cache.compiled_marker()
    assert marker is not None and marker.parent == cache_here and not marker.exists()
    RuleSet()
    assert marker.exists()
    monkeypatch.setattr(RuleSet, "compile_all", lambda self: pytest.fail("compiled again"))
    rs = RuleSet()  # the marker says this content compiles: only the periods evaluated are compiled
    assert rs.plan("2024Q4", "enterprise", rs.resolve_parameters())


def test_other_rule_sets_are_always_compiled_up_front(cache_here, monkeypatch):
    from huiqi.rules.fields import default_dictionary
    from huiqi.rules.loader import default_rules

    RuleSet()
    calls = []
    monkeypatch.setattr(RuleSet, "compile_all", lambda self: calls.append(1))
    RuleSet(default_rules(), default_dictionary())  # a sandbox's or a test's source: no marker consulted
    assert calls == [1]


def test_no_marker_without_a_cache(monkeypatch):
    monkeypatch.setenv("HUIQI_CACHE_DIR", "off")
    assert cache.compiled_marker() is None


def test_marker_follows_the_compiling_code(cache_here, monkeypatch, tmp_path):
    """An edit to the code that compiles rules gives another marker (so the next process checks every expression)."""
    first = cache.compiled_marker()
    package = tmp_path / "pkg"
    for sub in ("engine", "rules", "core"):
        (package / sub).mkdir(parents=True)
        (package / sub / "x.py").write_text("x = 1\n")
    monkeypatch.setattr(cache, "__file__", str(package / "rules" / "cache.py"))
    second = cache.compiled_marker()
    (package / "engine" / "x.py").write_text("x = 2\n")
    assert len({first, second, cache.compiled_marker()}) == 3
