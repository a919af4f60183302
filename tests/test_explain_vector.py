"""The paid rows' reasons compiled to columns (services/reason_columns.py) equal the per-row explainer's text, byte
for byte: the number formatting on integers against huiqi.core.money / engine.explain, every paid row of every
period of the demo data, generated facts (thresholds, caps binding, lookups, exclusive groups), changed parameters,
and the fallback to the per-row path."""

from __future__ import annotations

import random
from datetime import date, timedelta
from fractions import Fraction

import polars as pl
import pytest
from hypothesis import given, settings, strategies as st
from sqlglot import exp

from huiqi.engine.allocate import AllocationOptions, allocate_wide
from huiqi.engine.evaluate import MET, col
from huiqi.engine.explain import Explainer, fmt_number, fmt_wan, fmt_yuan
from huiqi.engine.explain_columns import Unsupported, decimal_text, show_column, yuan_column
from huiqi.engine.expressions import parse
from huiqi.engine.inputs import normalized_frame
from huiqi.policies.library import default_library
from huiqi.rules.fields import FieldDef
from huiqi.services import reason_columns, screening
from huiqi.services.calculator import default_ruleset, explain_row

LIBRARY = default_library()


# ------------------------------------------------------------------------------------------------ formatting

def _column(values: list, dtype=pl.Int64) -> pl.DataFrame:
    return pl.DataFrame({"v": values}, schema={"v": dtype})


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.integers(-10**15, 10**15), st.sampled_from([0, 1, -1, 99, 100, 999_999, 10**6,
                                                                              10**6 + 1, 30_000_000, 10**12])),
                min_size=1, max_size=40))
def test_money_texts_equal_the_decimal_formatting(fen):
    frame = _column(fen)
    yuan = frame.select(yuan_column(pl.col("v")).alias("v"))["v"].to_list()
    wan = frame.select(decimal_text(pl.col("v"), 6, 1_000_000).alias("v"))["v"].to_list()
    hundredths = frame.select(decimal_text(pl.col("v"), 2, 100).alias("v"))["v"].to_list()
    assert yuan == [fmt_yuan(Fraction(x, 100)) for x in fen]
    assert [f"{w}万元" for w in wan] == [fmt_wan(Fraction(x, 100)) for x in fen]
    assert hundredths == [fmt_number(Fraction(x, 100)) for x in fen]


FIELDS = [FieldDef(name="v", label="甲", type="money", unit="元"), FieldDef(name="v", label="甲", type="number"),
          FieldDef(name="v", label="甲", type="number", unit="名"), FieldDef(name="v", label="甲", type="number", unit="人")]


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(FIELDS), st.lists(st.integers(-10**12, 10**12), min_size=1, max_size=20))
def test_field_values_shown_as_the_explainer_shows_them(f, raw):
    explainer = Explainer(_Dictionary({"v": f}), LIBRARY, {}, {}, {})
    shown = _column(raw).select(show_column(f, pl.col("v"), pl.Int64).alias("v"))["v"].to_list()
    assert shown == [explainer.show("v", Fraction(x, 100)) for x in raw]


@given(st.lists(st.dates(date(1900, 1, 1), date(2100, 12, 31)), min_size=1, max_size=20))
def test_dates_and_booleans_shown_as_the_explainer_shows_them(days):
    f = FieldDef(name="v", label="日", type="date")
    explainer = Explainer(_Dictionary({"v": f}), LIBRARY, {}, {}, {})
    assert _column(days, pl.Date).select(show_column(f, pl.col("v"), pl.Date).alias("v"))["v"].to_list() == \
        [explainer.show("v", d) for d in days]
    b = FieldDef(name="v", label="是否", type="bool")
    assert _column([True, False], pl.Boolean).select(show_column(b, pl.col("v"), pl.Boolean).alias("v"))["v"].to_list() == \
        [explainer.show("v", True), explainer.show("v", False)]


def test_a_value_without_exact_column_formatting_is_unsupported():
    with pytest.raises(Unsupported):
        show_column(FieldDef(name="v", label="甲", type="money"), pl.col("v"), pl.Float64)


class _Dictionary(dict):
    def __getitem__(self, name):
        return dict.__getitem__(self, name)


# ------------------------------------------------------------------------------------------------ the reasons

def compare(ev, require_compiled: bool = False) -> int:
    """Every 符合 row of every money/facility measure: the column text equals explain_row's. Returns rows compared
    (column-covered rows only; rows the column form leaves null are explained per row by the caller)."""
    labels = {n: p.label for n, p in ev.ruleset.parameters.items()}
    schema = {**ev.inputs.schema, **ev.frame.schema}
    facts = ev.inputs.select([c for c in ev.inputs.columns if c not in ev.frame.columns])
    both = ev.frame.hstack(facts)
    compared = 0
    for cm in ev.plan:
        met = both.filter(pl.col(col(cm.id, "status")) == MET)
        if cm.measure.kind == "eligibility" or met.height == 0:
            continue
        expr = reason_columns.compile_reason(cm, ev.ruleset.dictionary, schema, LIBRARY, ev.params, labels)
        if expr is None:
            assert not require_compiled, cm.id
            continue
        texts = met.select(expr.alias("reason"))["reason"].to_list()
        for row, text in zip(met.iter_rows(named=True), texts):
            if text is None:
                assert not require_compiled, cm.id
                continue
            explainer = Explainer(ev.ruleset.dictionary, LIBRARY, row, ev.params, labels)
            assert text == explain_row(cm, row, explainer, LIBRARY).reason, (cm.id, row["entity_id"])
            compared += 1
    return compared


@pytest.fixture(scope="module")
def demo():
    from huiqi.data.synthetic import generate

    return generate(3_000, seed=7)


def test_every_paid_row_of_every_period_on_the_demo_data(demo):
    from huiqi.data.synthetic import PERIODS

    compared = 0
    for period in PERIODS:
        run = screening.screen(demo, period, explain=False)
        for entity, ev in run.evaluations.items():
            compared += compare(ev, require_compiled=True)
            long = screening.listed_rows(ev, allocate_wide(ev, AllocationOptions()), True, [])
            fast = screening._explain(long, ev, LIBRARY)
            slow = screening._explain(long, ev, LIBRARY, vectorised=False)
            assert fast.equals(slow), (period, entity)
    assert compared > 100


def test_a_screening_run_reads_as_before(demo):
    """The whole run (explain=True) against the per-row reference: the results frame is the same."""
    run = screening.screen(demo, "2024Q4")
    money = run.results.filter((pl.col("status") == MET) & pl.col("measure_id").is_in(
        [m for m, cm in run.plans.items() if cm.measure.kind != "eligibility"]))
    assert money.height > 50 and money["reason"].null_count() == 0
    assert money["reason"].str.contains("计算：").all()


# ------------------------------------------------------------------------------------------------ generated facts

def _literals(plan) -> tuple[list[str], list[int], dict[str, bool]]:
    """From the plan's rules: string literals (so lookups and 为“…” conditions are hit), numeric thresholds in 分
    and hundredths, and for each boolean field the value its conditions want (false under a NOT)."""
    texts, numbers, wanted = set(), set(), {}
    for cm in plan:
        m = cm.measure
        sources = [cc.condition.when for cc in cm.conditions] + [x for x in (m.amount, m.cap, m.minimum) if x]
        for source in sources:
            tree = parse(source)
            for lit in tree.find_all(exp.Literal):
                if lit.is_string:
                    texts.add(lit.this)
                else:
                    v = Fraction(lit.this)
                    numbers.update(int(v * k) for k in (100, 1_000_000, 10_000_000_000))
            for column in tree.find_all(exp.Column):
                negated = sum(isinstance(a, exp.Not) for a in _ancestors(column)) % 2 == 1
                wanted.setdefault(column.name, not negated)
    return sorted(texts), sorted(numbers), wanted


def _ancestors(node):
    while node.parent is not None:
        node = node.parent
        yield node


def _facts(rng: random.Random, ruleset, plan, n: int) -> pl.DataFrame:
    """n entities with every field the plan reads, biased to meet conditions: booleans mostly as the rules want
    them, money and numbers at the rules' thresholds ±1 or drawn widely, a few unknowns."""
    texts, numbers, wanted = _literals(plan)
    fields = sorted(frozenset().union(*(cm.fields for cm in plan)))
    rows = []
    for i in range(n):
        row = {"entity_id": f"E{i:05d}"}
        for name in fields:
            f = ruleset.dictionary[name]
            if rng.random() < 0.02:
                continue  # unknown
            if f.type == "bool":
                row[name] = wanted.get(name, True) if rng.random() < 0.95 else not wanted.get(name, True)
            elif f.type in ("money", "number"):
                pick = rng.random()
                row[name] = (rng.choice(numbers) + rng.choice((-1, 0, 1))) if pick < 0.5 and numbers else \
                    rng.randrange(0, 10**10) if pick < 0.8 else rng.randrange(0, 10**5)
            elif name == "county":  # the jurisdiction gates: 柳州 (4502) and 南宁 (4501) counties
                row[name] = rng.choice(["450202", "450203", "450102"])
            elif f.type == "date":
                row[name] = date(2022, 1, 1) + timedelta(days=rng.randrange(0, 5 * 365))
            else:
                row[name] = rng.choice(texts) if texts and rng.random() < 0.9 else "其他"
        rows.append(row)
    return normalized_frame(rows, ruleset.dictionary)


def _decided(ruleset) -> dict:
    """A value for every parameter the rule files leave undecided (so 参数待定 measures are paid too)."""
    out = {}
    for name, p in ruleset.parameters.items():
        if ruleset.resolve_parameters(None).get(name) is not None:
            continue
        value = {"rate": "0.05", "money": 20000}.get(p.kind, 1)
        if p.max is not None and Fraction(str(value)) > Fraction(str(p.max)):
            value = p.max
        try:
            ruleset.resolve_parameters({name: value})
        except ValueError:
            continue
        out[name] = value
    return out


def _combos(ruleset, params=None):
    from huiqi.data.synthetic import PERIODS

    for period in PERIODS:
        for entity in ("enterprise", "project", "county"):
            plan = [cm for cm in ruleset.plan(period, entity, ruleset.resolve_parameters(params))
                    if cm.measure.kind != "eligibility"]
            if plan:
                yield period, entity, plan


def test_generated_facts_for_every_money_measure_of_every_period():
    ruleset = default_ruleset()
    rng = random.Random(9)
    compared, measures = 0, set()
    for params in (None, _decided(ruleset)):
        for period, entity, plan in _combos(ruleset, params):
            ev = ruleset.evaluate(_facts(rng, ruleset, plan, 300), period, entity=entity, params=params)
            compared += compare(ev)
            measures.update(cm.id for cm in ev.plan if cm.measure.kind != "eligibility"
                            and (ev.frame[col(cm.id, "status")] == MET).any())
    assert compared > 1_000 and len(measures) > 70


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_hypothesis_facts_at_thresholds_caps_and_groups(data):
    """The 2024Q4 measures with caps (21, 22a, 22b, 23) and the exclusive group of 15a/b/c, facts drawn around
    the thresholds and caps."""
    ruleset = default_ruleset()
    entity = data.draw(st.sampled_from(["enterprise", "project"]))
    plan = [cm for cm in ruleset.plan("2024Q4", entity, ruleset.resolve_parameters(None))
            if cm.measure.kind != "eligibility"]
    ev = ruleset.evaluate(_facts(random.Random(data.draw(st.integers(0, 10**9))), ruleset, plan, 40), "2024Q4",
                          entity=entity)
    compare(ev)


@pytest.mark.parametrize("params", [
    {"gx2024q4_23_days_per_year": 360, "gx2024q4_15a_rate": "0.015", "gx2024q4_15c_amount": 123456.78},
    {"gx2024q4_02a_amount": 50000, "gx2024q4_24_reward_per_kwh": "0.03", "gx2024q4_15b_rate": "0.02"},
])
def test_changed_parameters(params):
    ruleset = default_ruleset()
    known = {k: v for k, v in params.items() if k in ruleset.parameters}
    assert known
    rng = random.Random(3)
    for entity in ("enterprise", "project"):
        plan = [cm for cm in ruleset.plan("2024Q4", entity, ruleset.resolve_parameters(known))
                if cm.measure.kind != "eligibility"]
        ev = ruleset.evaluate(_facts(rng, ruleset, plan, 400), "2024Q4", entity=entity, params=known)
        compare(ev)


# ------------------------------------------------------------------------------------------------ fallback

def test_unsupported_measures_and_rows_are_explained_per_row(demo, monkeypatch):
    """A measure the column form cannot compile, and rows it leaves null, get the per-row text: the run is the same."""
    run = screening.screen(demo, "2024Q4", explain=False)
    ev = run.evaluations["enterprise"]
    long = screening.listed_rows(ev, allocate_wide(ev, AllocationOptions()), True, [])
    slow = screening._explain(long, ev, LIBRARY, vectorised=False)

    def unsupported(*_a, **_k):
        raise Unsupported("test")

    with monkeypatch.context() as m:  # no measure compiles
        m.setattr("huiqi.engine.explain_columns.show_column", unsupported)
        assert screening._explain(long, ev, LIBRARY).equals(slow)
    real = reason_columns.compile_reason

    def half(cm, *args):  # every second row left to the per-row path
        e = real(cm, *args)
        return None if e is None else pl.when(pl.int_range(pl.len()) % 2 == 0).then(e)

    with monkeypatch.context() as m:
        m.setattr(screening, "compile_reason", half)
        assert screening._explain(long, ev, LIBRARY).equals(slow)


def test_a_met_row_with_an_undecided_condition_is_left_to_the_per_row_path():
    ruleset = default_ruleset()
    plan = [cm for cm in ruleset.plan("2024Q4", "enterprise", ruleset.resolve_parameters(None))
            if cm.id == "gx2024q4-22a"]
    cm = plan[0]
    frame = pl.DataFrame({col(cm.id, "status"): [MET], col(cm.id, "computed"): [100], col(cm.id, "amount"): [100],
                          **{col(cm.id, f"c|{cc.condition.id}"): [None if i == 0 else True]
                             for i, cc in enumerate(cm.conditions)},
                          **{f: [1] for f in cm.fields}},
                         schema_overrides={col(cm.id, f"c|{cc.condition.id}"): pl.Boolean for cc in cm.conditions})
    frame = frame.with_columns([pl.col(f).cast(pl.Boolean) if ruleset.dictionary[f].type == "bool" else pl.col(f)
                                for f in cm.fields])
    expr = reason_columns.compile_reason(cm, ruleset.dictionary, dict(frame.schema), LIBRARY, {}, {})
    assert frame.select(expr)[0, 0] is None


# ------------------------------------------------------------------------------------------------ listed rows

def _named(tables, entity):
    counties = tables["counties"].select("county_code", "county_name", "city_name").unique("county_code",
                                                                                          keep="first",
                                                                                          maintain_order=True)
    return [*[pl.col("county_code").replace_strict(counties["county_code"], counties[c], default=None,
                                                   return_dtype=pl.String).alias(c)
              for c in ("county_name", "city_name")], pl.lit(entity).alias("entity")]


@pytest.mark.parametrize("list_pending", [True, False])
def test_listed_rows_by_pattern_equal_the_per_row_text(demo, list_pending):
    """``missing`` worded once per pattern of absent fields, and the names looked up once: the same frame as the
    per-row concat_str (the reference), every period and entity type; without explanations the same rows."""
    from huiqi.data.synthetic import PERIODS

    missing_rows = 0
    for period in PERIODS:
        run = screening.screen(demo, period, explain=False)
        for entity, ev in run.evaluations.items():
            wide = allocate_wide(ev, AllocationOptions())
            named = _named(demo, entity)
            fast = screening.listed_rows(ev, wide, True, named, list_pending)
            slow = screening.listed_rows(ev, wide, True, named, list_pending, by_pattern=False)
            assert fast.schema == slow.schema and fast.equals(slow), (period, entity)
            bare = screening.listed_rows(ev, wide, False, named, list_pending)
            assert bare.equals(slow.drop("missing", "pending")), (period, entity)
            missing_rows += fast["missing"].is_not_null().sum()
    assert missing_rows > 1_000


def test_listed_rows_by_pattern_on_generated_facts():
    """Facts with fields absent at random: many patterns per measure, every one worded as concat_str words it."""
    ruleset = default_ruleset()
    rng = random.Random(5)
    for period, entity, plan in list(_combos(ruleset))[::3]:
        frame = _facts(rng, ruleset, plan, 200)
        frame = frame.with_columns([pl.when(pl.int_range(pl.len()) % (2 + i % 5) == 0).then(None).otherwise(pl.col(c))
                                    .alias(c) for i, c in enumerate(frame.columns) if c != "entity_id"])
        ev = ruleset.evaluate(frame, period, entity=entity, keep=["entity_id"])
        ev.frame = ev.frame.with_columns(*(pl.lit(None, dtype=pl.String).alias(c) for c in screening.DISPLAY
                                           if c not in ev.frame.columns))
        ev.inputs = ev.inputs.with_columns(*(pl.lit(None, dtype=pl.String).alias(c) for c in screening.DISPLAY
                                             if c not in ev.inputs.columns))
        wide = allocate_wide(ev, AllocationOptions())
        fast = screening.listed_rows(ev, wide, True, [pl.lit(entity).alias("entity")])
        slow = screening.listed_rows(ev, wide, True, [pl.lit(entity).alias("entity")], by_pattern=False)
        assert fast.equals(slow), (period, entity)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.text(st.characters(min_codepoint=1, max_codepoint=127), max_size=70),
                          st.sampled_from(["91450100MA5K", "91450100MA5K0", "", "2024-450702-29-03-000002"]),
                          st.text(max_size=5)), max_size=60))
def test_entity_order_is_the_string_rank(ids):
    """The radix order of listed_rows equals ranking the IDs as strings (ties in row order), ASCII or not."""
    s = pl.Series(ids, dtype=pl.String)
    assert screening.entity_order(s).cast(pl.UInt32).to_list() == s.rank("ordinal").cast(pl.UInt32).to_list()
