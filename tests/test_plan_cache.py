"""Compiled plans on disk (huiqi/engine/plan_cache.py): a hit answers exactly as a fresh compile, anything else
compiles afresh."""

from __future__ import annotations

import hashlib
import pickle

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huiqi.engine import expressions, plan_cache
from huiqi.engine.evaluate import RuleSet
from huiqi.rules import cache
from huiqi.rules.fields import FIELDS_DIR
from huiqi.rules.loader import RULES_DIR
from huiqi.services import calculator_rows
from huiqi.services.calculator import _evaluate_rows, check
from huiqi.services.calculator_rows import RowPlan, row_plan


@pytest.fixture(scope="module")
def demo_tables():
    from huiqi.data.synthetic import generate

    return generate(300, seed=11)


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("HUIQI_CACHE_DIR", str(tmp_path / "cache"))
    cache.load()  # the built-in rules through this directory, as default_rules() does once per process
    return tmp_path / "cache"


def _fresh() -> RuleSet:
    """The built-in rules compiled from their text (a rule set built from a source is never cached)."""
    from huiqi.rules.fields import default_dictionary
    from huiqi.rules.loader import default_rules

    return RuleSet(default_rules(), default_dictionary())


def _no_compiling(monkeypatch):
    monkeypatch.setattr(expressions.Compiler, "compile", lambda *a: pytest.fail("compiled on a cache hit"))


def _periods(rs: RuleSet) -> list[str]:
    return rs.quarters() + sorted({q[:4] for q in rs.quarters()})


def _same_plan(a, b):
    (plan_a, exprs_a), (plan_b, exprs_b) = a, b
    assert [cm.id for cm in plan_a] == [cm.id for cm in plan_b]
    for x, y in zip(plan_a, plan_b):
        assert (x.measure, x.source, x.group, x.rivals, x.as_of, x.rounding, x.fields) == \
               (y.measure, y.source, y.group, y.rivals, y.as_of, y.rounding, y.fields)
        assert [c.condition for c in x.conditions] == [c.condition for c in y.conditions]
    assert len(exprs_a) == len(exprs_b) and all(e.meta.eq(f) for e, f in zip(exprs_a, exprs_b))


def test_hit_equals_a_fresh_compile_on_every_period(cache_dir, monkeypatch, demo_tables):
    """Every demo period, every entity: the stored plan is the fresh one and evaluates to the same frame."""
    from huiqi.services.facts import enterprise_facts

    fresh = _fresh()
    writer = RuleSet()
    values = writer.resolve_parameters()
    periods = _periods(writer)
    for period in periods:
        for entity in ("enterprise", "project", "county"):
            writer._planned(period, entity, values, None)
    assert len(list(cache_dir.glob("plan-*.pickle"))) >= len(periods)
    facts = {period: enterprise_facts(demo_tables, period) for period in periods}
    plans = {(period, entity): fresh._planned(period, entity, values, None)
             for period in periods for entity in ("enterprise", "project", "county")}
    frames = {period: fresh.evaluate(facts[period], period).frame for period in periods}
    _no_compiling(monkeypatch)
    reader = RuleSet()
    for (period, entity), want_plan in plans.items():
        _same_plan(reader._planned(period, entity, values, None), want_plan)
    for period, want in frames.items():
        got = reader.evaluate(facts[period], period).frame
        assert got.equals(want, null_equal=True) and got.schema == want.schema, period


def test_check_from_a_hit_equals_a_fresh_compile(cache_dir, monkeypatch, demo_tables):
    """The calculator (row plan and explanations) on every demo period: same results, to the Chinese text."""
    from huiqi.services.facts import enterprise_facts

    from huiqi.policies.library import default_library

    library = default_library()

    def results(ruleset, period, rows):
        return [[r.to_dict() for r in one] for one in _evaluate_rows(rows, period, "enterprise", None, ruleset,
                                                                       library, None)]

    fresh = _fresh()
    writer = RuleSet()
    rows = {p: [{k: v for k, v in r.items() if v is not None and k in fresh.dictionary}
                for r in enterprise_facts(demo_tables, p).head(8).to_dicts()] + [{}] for p in _periods(fresh)}
    for period, facts in rows.items():
        results(writer, period, facts[:1])
    assert list(cache_dir.glob("rows-*.pickle"))
    want = {period: results(fresh, period, facts) for period, facts in rows.items()}
    _no_compiling(monkeypatch)
    monkeypatch.setattr(calculator_rows, "_straight_line", lambda *a: pytest.fail("row plan built on a hit"))
    reader = RuleSet()
    for period, facts in rows.items():
        assert results(reader, period, facts) == want[period], period


def test_huiqi_check_from_a_hit_prints_the_same(tmp_path):
    """The command as a whole process: cache off, then a miss that writes, then a hit — the same text (but the
    line that says how long the evaluation took)."""
    import os
    import re
    import subprocess
    import sys
    from pathlib import Path

    example = Path(__file__).resolve().parent.parent / "examples" / "enterprise_2024q4.yaml"

    def printed(cache_setting):
        env = {**os.environ, "HUIQI_CACHE_DIR": cache_setting, "COLUMNS": "160"}
        out = subprocess.run([sys.executable, "-m", "huiqi.interfaces.cli", "check", str(example)], env=env,
                             capture_output=True, text=True, check=True).stdout
        return re.sub(r"[0-9.]+ 毫秒", "… 毫秒", out)

    want = printed("off")
    assert "符合" in want
    where = str(tmp_path / "cache")
    assert printed(where) == want
    assert list((tmp_path / "cache").glob("plan-*.pickle")) and list((tmp_path / "cache").glob("rows-*.pickle"))
    assert printed(where) == want


def test_screening_from_a_hit_writes_the_same_bytes(cache_dir, monkeypatch, demo_tables, tmp_path):
    from huiqi.services.award_list import write_tables
    from huiqi.services.screening import screen

    def written(ruleset, name):
        run = screen(demo_tables, "2024Q4", ruleset=ruleset)
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in write_tables(run, tmp_path / name)}

    want = written(_fresh(), "fresh")
    written(RuleSet(), "writer")
    _no_compiling(monkeypatch)
    assert written(RuleSet(), "hit") == want


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_pickled_row_plan_evaluates_as_the_built_one(data):
    """A row plan through pickle (its marshalled code, its functions made again) gives the built one's row for any
    facts (each field present with an edge-prone value, or absent)."""
    rs = _shared_ruleset()
    period = data.draw(st.sampled_from(["2024Q4", "2023", "2025Q2"]))
    plan, exprs = rs._planned(period, "enterprise", rs.resolve_parameters(), None)
    built = RowPlan(rs, plan, exprs)
    again = pickle.loads(pickle.dumps(built))
    names = [n for n, _ in built.inputs]
    ints = st.one_of(st.none(), st.integers(-10**12, 10**12), st.sampled_from([0, 1, 99, 100, 10**6, 10**8]))
    values = {n: (ints if rs.dictionary[n].type in ("money", "number") else
                  st.one_of(st.none(), st.booleans()) if rs.dictionary[n].type == "bool" else
                  st.one_of(st.none(), st.text(max_size=6), st.sampled_from(["450204", "柳南区", " 4502"]))
                  if rs.dictionary[n].type == "text" else st.none())
              for n in names if n in rs.dictionary}
    facts = data.draw(st.fixed_dictionaries({}, optional=values))
    assert again.evaluate(facts) == built.evaluate(facts)


_RS: list[RuleSet] = []


def _shared_ruleset() -> RuleSet:
    if not _RS:
        _RS.append(_fresh())
    return _RS[0]


def test_changed_rules_code_or_polars_miss(cache_dir, monkeypatch, tmp_path):
    rs = RuleSet()
    values = rs.resolve_parameters()
    first = rs.cached_path("plan", "2024Q4", "enterprise", values, None)
    assert first is not None and first.parent == cache_dir
    # an edited rule file: another content key for the rules the built-in rule set was loaded from
    import shutil

    edited = tmp_path / "rules"
    shutil.copytree(RULES_DIR, edited)
    victim = sorted(edited.glob("*.yaml"))[0]
    victim.write_text(victim.read_text(encoding="utf-8") + "\n# 修改\n", encoding="utf-8")
    cache.load(edited, FIELDS_DIR)
    monkeypatch.setitem(cache._LOADED, (RULES_DIR, FIELDS_DIR), cache._LOADED[(edited, FIELDS_DIR)])
    assert rs.cached_path("plan", "2024Q4", "enterprise", values, None) != first
    monkeypatch.undo()
    monkeypatch.setenv("HUIQI_CACHE_DIR", str(cache_dir))
    assert rs.cached_path("plan", "2024Q4", "enterprise", values, None) == first
    monkeypatch.setattr(pl, "__version__", "0.0.1")  # another Polars: its binary expressions may differ
    assert rs.cached_path("plan", "2024Q4", "enterprise", values, None) != first
    monkeypatch.undo()
    monkeypatch.setenv("HUIQI_CACHE_DIR", str(cache_dir))
    package = tmp_path / "pkg"  # another compiling code (as test_screen_startup does for the marker)
    for sub in ("engine", "rules", "core"):
        (package / sub).mkdir(parents=True)
        (package / sub / "x.py").write_text("x = 1\n")
    monkeypatch.setattr(cache, "__file__", str(package / "rules" / "cache.py"))
    assert rs.cached_path("plan", "2024Q4", "enterprise", values, None) != first


def test_parameters_and_measures_are_in_the_key(cache_dir):
    rs = RuleSet()
    values = rs.resolve_parameters()
    base = rs.cached_path("plan", "2024Q4", "enterprise", values, None)
    assert base != rs.cached_path("plan", "2024Q3", "enterprise", values, None)
    assert base != rs.cached_path("plan", "2024Q4", "enterprise", values, ["x"])
    name = next(iter(values))
    for other in (1, "1", 1.5, None, True):
        if values[name] != other or type(values[name]) is not type(other):
            assert base != rs.cached_path("plan", "2024Q4", "enterprise", {**values, name: other}, None)


@pytest.mark.parametrize("damage", [b"not a pickle", pickle.dumps(42), pickle.dumps(([], [], [])),
                                    pickle.dumps((["no-such-measure"], [None], []))])
def test_damaged_cache_is_ignored(cache_dir, monkeypatch, demo_tables, damage):
    from huiqi.services.facts import enterprise_facts

    values = RuleSet().resolve_parameters()
    RuleSet()._planned("2024Q4", "enterprise", values, None)
    check({}, "2024Q4", ruleset=RuleSet())
    for p in [*cache_dir.glob("plan-*.pickle"), *cache_dir.glob("rows-*.pickle")]:
        p.write_bytes(damage)
    facts = enterprise_facts(demo_tables, "2024Q4")
    rs = RuleSet()
    assert rs.evaluate(facts, "2024Q4").frame.equals(_fresh().evaluate(facts, "2024Q4").frame, null_equal=True)
    _plan, fast = row_plan(rs, "2024Q4", "enterprise", values, None)
    assert isinstance(fast, RowPlan)
    assert [r.to_dict() for r in check({}, "2024Q4", ruleset=rs)] == \
           [r.to_dict() for r in check({}, "2024Q4", ruleset=_fresh())]


def test_off_and_unwritable_caches_compile_as_before(tmp_path, monkeypatch, demo_tables):
    from huiqi.services.facts import enterprise_facts

    facts = enterprise_facts(demo_tables, "2024Q4")
    want = _fresh().evaluate(facts, "2024Q4").frame
    monkeypatch.setenv("HUIQI_CACHE_DIR", "off")
    cache.load()
    rs = RuleSet()
    assert rs.cached_path("plan", "2024Q4", "enterprise", rs.resolve_parameters(), None) is None
    assert rs.evaluate(facts, "2024Q4").frame.equals(want, null_equal=True)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("HUIQI_CACHE_DIR", str(blocker / "cache"))  # a directory that cannot be made
    cache.load()
    rs = RuleSet()
    assert rs.evaluate(facts, "2024Q4").frame.equals(want, null_equal=True)
    assert check({}, "2024Q4", ruleset=rs)


def test_a_sandbox_copy_is_never_cached(cache_dir):
    import copy

    rs = RuleSet()
    values = rs.resolve_parameters()
    assert rs.cached_path("plan", "2024Q4", "enterprise", values, None) is not None
    sandbox = copy.copy(rs)
    sandbox.measures = dict(rs.measures)  # what services.simulation.derive_ruleset does before its edits
    assert sandbox.cached_path("plan", "2024Q4", "enterprise", values, None) is None
    assert _fresh().cached_path("plan", "2024Q4", "enterprise", values, None) is None


def test_unsupported_plans_are_not_stored(cache_dir, monkeypatch):
    monkeypatch.delitem(calculator_rows._BINARY, "Plus")
    rs = RuleSet()
    _plan, fast = row_plan(rs, "2024Q4", "enterprise", rs.resolve_parameters(), None)
    assert fast is None and not list(cache_dir.glob("rows-*.pickle"))


def test_a_stored_row_plan_needing_an_operation_no_longer_known_is_built_afresh(cache_dir, monkeypatch):
    """Plus is inlined in the generated code, yet a row compiler without it refuses the stored plan too."""
    rs = RuleSet()
    assert row_plan(rs, "2024Q4", "enterprise", rs.resolve_parameters(), None)[1] is not None
    assert list(cache_dir.glob("rows-*.pickle"))
    monkeypatch.delitem(calculator_rows._BINARY, "Plus")
    rs = RuleSet()
    assert row_plan(rs, "2024Q4", "enterprise", rs.resolve_parameters(), None)[1] is None


def test_plan_path_needs_a_cache_and_the_loaded_rules(monkeypatch):
    monkeypatch.setenv("HUIQI_CACHE_DIR", "off")
    assert plan_cache.plan_path("plan", ("2024Q4",)) is None
    assert plan_cache.load(None) is None
    plan_cache.store(None, object())  # nothing to write to: nothing happens


def test_old_plans_are_pruned(cache_dir, monkeypatch):
    monkeypatch.setattr(plan_cache, "KEEP", 3)
    rs = RuleSet()
    name = next(iter(rs.parameters))
    for value in range(6):
        rs._planned("2024Q4", "enterprise", rs.resolve_parameters({name: value}), None)
    assert len(list(cache_dir.glob("plan-*.pickle"))) == 3
