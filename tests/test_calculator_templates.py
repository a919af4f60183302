"""The calculator's texts from templates compiled once per measure (engine/explain.py: GapTemplate, TextTemplate)
equal the per-row path's (the expression trees walked for each entity), byte for byte: every enterprise, project and
county of every period of the demo data, generated facts at the rules' thresholds, hypothesis draws, changed
parameters, and the fallback when a template cannot be compiled. Also the facts parsing's fast path (core.values)
against the general Decimal path."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings, strategies as st

from huiqi.core import money
from huiqi.core.values import InputError, to_hundredths
from huiqi.engine import explain
from huiqi.engine.explain import Explainer, GapTemplate
from huiqi.policies.library import default_library
from huiqi.services import calculator
from huiqi.services.calculator import CheckRequest, check_many, default_ruleset
from tests.test_explain_vector import _decided, _facts

LIBRARY = default_library()


def _both_paths(ev, params=None) -> int:
    """Each row of an evaluation explained with the measure's templates and by walking the trees: the same results."""
    ruleset = default_ruleset()
    values = ruleset.resolve_parameters(params)
    labels = {n: p.label for n, p in ruleset.parameters.items()}
    fields = [c for c in ev.frame.columns if c in ruleset.dictionary]
    compared = 0
    for row in ev.frame.iter_rows(named=True):
        facts = {f: row[f] for f in fields if row[f] is not None}
        explainer = Explainer(ruleset.dictionary, LIBRARY, facts, values, labels)
        for cm in ev.plan:
            shape = calculator._shape(cm, LIBRARY)
            templates = shape.templates or calculator._compile_templates(shape, explainer)
            fast = calculator._result(cm, row, explainer, LIBRARY, templates)
            slow = calculator._result(cm, row, explainer, LIBRARY)
            assert fast.to_dict() == slow.to_dict(), (cm.id, facts)
            compared += bool(slow.reason)
    return compared


@pytest.fixture(scope="module")
def demo():
    from huiqi.data.synthetic import generate

    return generate(600, seed=2024)


def test_every_entity_of_every_period_of_the_demo_data(demo):
    from huiqi.data.synthetic import PERIODS
    from huiqi.services import screening

    compared = 0
    for period in PERIODS:
        run = screening.screen(demo, period, explain=False)
        for _entity, ev in run.evaluations.items():
            compared += _both_paths(ev)
    assert compared > 10_000


def test_generated_facts_and_decided_parameters():
    """Facts at the rules' thresholds ±1 分 (gaps of every kind: 差0.01元, equality, growth), with the parameters
    the rule files leave undecided both undecided and decided."""
    from tests.test_explain_vector import _combos

    ruleset = default_ruleset()
    rng = random.Random(11)
    for params in (None, _decided(ruleset)):
        for period, entity, _plan in _combos(ruleset, params):
            plan = ruleset.plan(period, entity, ruleset.resolve_parameters(params))
            ev = ruleset.evaluate(_facts(rng, ruleset, plan, 120), period, entity=entity, params=params)
            _both_paths(ev, params)


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_hypothesis_facts(data):
    from huiqi.data.synthetic import PERIODS

    ruleset = default_ruleset()
    period = data.draw(st.sampled_from(PERIODS))
    entity = data.draw(st.sampled_from(["enterprise", "project", "county"]))
    plan = ruleset.plan(period, entity, ruleset.resolve_parameters(None))
    if not plan:
        return
    ev = ruleset.evaluate(_facts(random.Random(data.draw(st.integers(0, 10**9))), ruleset, plan, 20), period,
                          entity=entity)
    _both_paths(ev)


@pytest.mark.parametrize("params", [
    {"gx2024q4_23_days_per_year": 360, "gx2024q4_15a_rate": "0.015", "gx2024q4_15c_amount": 123456.78},
    {"gx2024q4_02a_amount": 50000, "gx2024q4_24_reward_per_kwh": "0.03", "gx2024q4_15b_rate": "0.02"},
])
def test_changed_parameters(params):
    ruleset = default_ruleset()
    known = {k: v for k, v in params.items() if k in ruleset.parameters}
    rng = random.Random(5)
    for entity in ("enterprise", "project"):
        plan = ruleset.plan("2024Q4", entity, ruleset.resolve_parameters(known))
        ev = ruleset.evaluate(_facts(rng, ruleset, plan, 150), "2024Q4", entity=entity, params=known)
        _both_paths(ev, known)


def _web_facts(demo, period: str, n: int) -> list[dict]:
    """Stored enterprises' facts as the web's facts page gives them (元 as text, booleans, dates as text)."""
    from huiqi.services.facts import enterprise_facts

    dictionary = default_ruleset().dictionary
    out = []
    for row in enterprise_facts(demo, period).head(n).iter_rows(named=True):
        facts = {}
        for name, value in row.items():
            if value is None or name not in dictionary or dictionary[name].entity != "enterprise":
                continue
            kind = dictionary[name].type
            facts[name] = value if isinstance(value, bool) else str(
                Decimal(value) / 100 if kind in ("money", "number") else value)
        out.append(facts)
    return out


def test_check_answers_equal_the_reference_path(demo):
    """What the web answers: check_many (row plan, templates, memo) against the Polars evaluation explained per
    row, as JSON."""
    ruleset = default_ruleset()
    for period in ("2024Q4", "2023Q4", "2026Q3"):
        facts = _web_facts(demo, period, 60)
        calculator._MEMO.clear()
        fast = check_many([CheckRequest(f, period) for f in facts], ruleset, LIBRARY)
        internal = [calculator.normalize_facts(f, ruleset.dictionary) for f in facts]
        slow = calculator._evaluate_rows(internal, period, "enterprise", None, ruleset, LIBRARY, None, fast=False)
        for a, b in zip(fast, slow):
            assert json.dumps([r.to_dict() for r in a], ensure_ascii=False) == \
                json.dumps([r.to_dict() for r in b], ensure_ascii=False)


def test_a_template_that_cannot_be_compiled_falls_back_per_row(demo, monkeypatch):
    """A label or formula that reads a value no placeholder stands for is worded per entity: the same texts."""
    from huiqi.services import screening

    monkeypatch.setattr(explain, "text_template", lambda like, word: None)
    monkeypatch.setenv("HUIQI_CACHE_DIR", "off")  # compiled here, not the stored templates (START2-1)
    calculator._SHAPES.clear()
    explain.forget_templates()
    try:
        run = screening.screen(demo, "2024Q4", explain=False)
        for ev in run.evaluations.values():
            _both_paths(ev)
    finally:
        calculator._SHAPES.clear()
        explain.forget_templates()


def test_a_gap_template_of_a_non_comparison_is_none():
    ruleset = default_ruleset()
    like = Explainer(ruleset.dictionary, LIBRARY, {}, {}, {})
    assert GapTemplate("is_high_tech", like)(like) is None
    ex = Explainer(ruleset.dictionary, LIBRARY, {"output_q": 100}, {}, {})
    assert GapTemplate("output_q + output_q_ly >= wan(1)", like)(ex) is None  # a side unknown: no gap
    text = "output_q * 0.5 >= wan(250)"
    assert GapTemplate(text, like)(ex) == ex.gap(text)


# ------------------------------------------------------------------------------------------------ facts parsing

@settings(max_examples=2000, deadline=None)
@given(st.one_of(st.from_regex(r"-?[0-9]{0,17}(\.[0-9]{0,3})?", fullmatch=True),
                 st.from_regex(r"[ +-]?[0-9０-９,]{0,6}(\.[0-9]{0,3})?\s?(元|万元|亿元|分)?", fullmatch=True),
                 st.integers(-10**17, 10**17), st.booleans()),
       st.sampled_from([None, "元", "万元", "亿元", "美元"]))
def test_amount_fast_path_equals_the_decimal_path(value, unit):
    """core.values.to_hundredths reads plain decimals and integers without Decimal: the same number or refusal."""
    def reference():
        if isinstance(value, str) and value.strip() in ("", "-", "—"):
            return None
        if isinstance(value, str) and money.split_unit(value)[1] == "分":
            return "refused"
        if unit not in (None, "元", "万元", "亿元"):
            return "refused"
        try:
            return money.parse_fen(value, unit)
        except money.MoneyError:
            return "refused"

    try:
        got = to_hundredths(value, unit, "当季工业总产值")
    except InputError:
        got = "refused"
    assert got == reference()


# ------------------------------------------------------------------------------------------------ money gaps in 分

_FEN = st.one_of(st.sampled_from([0, 1, -1, 5, 49, 50, 51, 99, 100, 9_999, 10_000, 10_001, 499_999, 500_000,
                                  500_001, 999_999, 10**6, 10**6 + 1, 5 * 10**8 - 1, 5 * 10**8, 10**15]),
                 st.integers(-10**7, 10**7), st.integers(-10**17, 10**17))


@settings(max_examples=3000, deadline=None)
@given(_FEN, st.one_of(_FEN, st.integers(-1_000, 1_000)), st.booleans())
def test_money_gap_in_fen_equals_the_fraction_path(a, b, near):
    """explain.money_pair_fen (integers) words a failed money comparison as money_pair (Fraction, Decimal) does."""
    if near:
        b = a + b  # thresholds a few 分 to 10元 away: the digits-added cases
    if a == b:
        return
    assert explain.money_pair_fen(a, b) == explain.money_pair(Fraction(a, 100), Fraction(b, 100))
