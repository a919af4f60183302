"""The gap texts' integer arithmetic (engine/explain.py, WEB6-2) gives the Decimal steps' strings exactly:
``ratio_failing_side`` against ``decimal_failing_side``, ``growth_gap`` against its Fraction form before WEB6-2, and
every condition's gap template of three periods on drawn facts with the integer paths swapped for the Decimal ones."""

from __future__ import annotations

import random
from fractions import Fraction
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huiqi.engine import explain
from huiqi.engine.explain import (Explainer, GapTemplate, decimal_failing_side, failing_side, fmt_pct,
                                  ratio_failing_side)
from huiqi.policies.library import default_library
from huiqi.services.calculator import default_ruleset

LIBRARY = default_library()
DIGITS = [(2, 8), (0, 6), (2, 2), (6, 6), (1, 12)]

# numerators and denominators of every size: the facts' (×100), the parameters', and beyond the exact bound
_INTS = st.one_of(st.integers(-10**6, 10**6), st.integers(-10**15, 10**15), st.integers(-10**30, 10**30))
_DENS = st.one_of(st.integers(1, 1_000), st.sampled_from([100, 10_000, 3, 7, 300, 10**6, 2**40, 5**20]),
                  st.integers(1, 10**25))


@settings(max_examples=3_000, deadline=None)
@given(_INTS, _DENS, _INTS, _DENS, st.sampled_from(DIGITS))
def test_ratio_failing_side_equals_the_decimal_steps(vn, vd, tn, td, digits):
    threshold = Fraction(tn, td)
    if Fraction(vn, vd) == threshold:
        return  # never called at equality (the gap words equality itself)
    places, most = digits
    before = _outcome(decimal_failing_side, Fraction(vn, vd), threshold, places, most)
    assert _outcome(ratio_failing_side, vn, vd, threshold, places, most) == before
    assert _outcome(failing_side, Fraction(vn, vd), threshold, places, most) == before


def _outcome(fn, *args):
    """The texts, or the exception's type: numbers beyond Decimal's 28 digits raise, before and after alike."""
    try:
        return fn(*args)
    except ArithmeticError as e:
        return type(e)


@pytest.mark.parametrize("value, threshold", [
    (Fraction(2 * 10**8 + 1, 2 * 10**8 * 10**2), Fraction(1, 3)),  # exactly half at 8 places, rounded up
    (Fraction(-5, 1000), Fraction(0)),  # -0.005 → -0.01 (half away from zero)
    (Fraction(-4, 1000), Fraction(1)),  # -0.004 → "0", not "-0"
    (Fraction(10**20 + 1, 10**20), Fraction(1)),  # beyond 8 places: rounded away from each other
    (Fraction(1, 3), Fraction(1, 3) + Fraction(1, 10**30)),
    (Fraction(10**26 + 1, 7), Fraction(10**25)),  # beyond the exact bound: Decimal steps (which raise here)
    (Fraction(10**19 + 1, 7), Fraction(10**18)),  # beyond the exact bound: Decimal steps
])
def test_ratio_failing_side_edges(value, threshold):
    for places, most in DIGITS:
        assert _outcome(ratio_failing_side, value.numerator, value.denominator, threshold, places, most) == \
            _outcome(decimal_failing_side, value, threshold, places, most)
    # an unreduced ratio gives the same texts
    assert _outcome(ratio_failing_side, value.numerator * 6, value.denominator * 6, threshold, 2, 8) == \
        _outcome(decimal_failing_side, value, threshold, 2, 8)


def _growth_gap_before(op, label, a, b, target, last):
    """growth_gap as it was before WEB6-2 (Fractions, Decimal steps): the reference."""
    if not all(isinstance(x, Fraction) for x in (a, b, target)):
        return None
    label = label()
    if b <= 0:
        return f"{label}上年同期无基数（{last.show(b)}），无法计算同比增速"
    g = a / b - 1
    if g == target:
        return f"{label}同比增速{fmt_pct(g)}，须{'超过' if op == '>' else '低于'}{fmt_pct(target)}（等于不算）"
    shown_g, shown_t, diff = decimal_failing_side(g * 100, target * 100, 2, 8)
    if g > target:
        return f"{label}同比增速{shown_g}%，超过{shown_t}%的上限，超出{diff}个百分点"
    return f"{label}同比增速{shown_g}%，低于{shown_t}%的要求，差{diff}个百分点"


_FACT = st.one_of(st.integers(-10**6, 10**6), st.integers(-10**16, 10**16)).map(lambda n: Fraction(n, 100))
_TARGET = st.one_of(st.integers(-200, 500).map(lambda n: Fraction(n, 100)),
                    st.fractions(min_value=-10, max_value=10, max_denominator=10**6))


@settings(max_examples=2_000, deadline=None)
@given(st.sampled_from([">=", ">", "<=", "<"]), _FACT, _FACT, _TARGET,
       st.one_of(st.none(), st.just("x")))
def test_growth_gap_equals_the_fraction_form(op, a, b, target, other):
    last = explain._Side(True, "万元")
    label = lambda: "当季工业总产值"  # noqa: E731
    assert explain.growth_gap(op, label, a, b, target, last) == _growth_gap_before(op, label, a, b, target, last)
    # at equality (growth exactly the target) and with a value that is not a number
    if b > 0:
        a_at = b * (1 + target)
        assert explain.growth_gap(op, label, a_at, b, target, last) == \
            _growth_gap_before(op, label, a_at, b, target, last)
    assert explain.growth_gap(op, label, other, b, target, last) is None


def _decimal_paths():
    """explain's integer paths replaced by the Decimal steps (the texts before WEB6-2)."""
    def ratio(vn, vd, threshold, places, most):
        return decimal_failing_side(Fraction(vn, vd), threshold, places, most)
    return mock.patch.multiple(explain, ratio_failing_side=ratio, growth_gap=_growth_gap_before,
                               failing_side=decimal_failing_side)


def _conditions(period: str) -> list[str]:
    ruleset = default_ruleset()
    values = ruleset.resolve_parameters(None)
    seen: dict[str, None] = {}
    for entity in ("enterprise", "project", "county"):
        for cm in ruleset.plan(period, entity, values):
            for cc in cm.conditions:
                seen.setdefault(cc.condition.when)
    return list(seen)


PERIODS = ("2024Q4", "2023Q4", "2026Q3")


@pytest.fixture(scope="module")
def templates():
    ruleset = default_ruleset()
    values = ruleset.resolve_parameters(None)
    labels = {n: p.label for n, p in ruleset.parameters.items()}
    like = Explainer(ruleset.dictionary, LIBRARY, {}, values, labels)
    out = {period: [GapTemplate(src, like) for src in _conditions(period)] for period in PERIODS}
    return ruleset, values, labels, out


def _drawn_facts(rng: random.Random, ruleset, near: list[int]) -> dict:
    """Every numeric field: at a threshold ±1 分, near each other, or anywhere (×100 integers, as stored)."""
    facts = {}
    for name, field in ruleset.dictionary.fields.items():
        if field.type in ("money", "number") and rng.random() < 0.9:
            pick = rng.random()
            facts[name] = (rng.choice(near) + rng.randint(-2, 2) if pick < 0.5 else
                           rng.randint(-10**4, 10**6) if pick < 0.8 else rng.randint(0, 10**14))
    return facts


def test_every_gap_template_of_three_periods(templates):
    """Each condition's template of three periods, on drawn facts near the thresholds and far: the same text with
    the integer paths and with the Decimal steps (compared > 3,000 worded gaps)."""
    ruleset, values, labels, by_period = templates
    rng = random.Random(6)
    near = [0, 100, 10_000, 5_000_000 * 100, 500 * 10_000 * 100, 110 * 100, 2_000 * 10_000 * 100]
    worded = 0
    for period in PERIODS:
        gaps = [g for g in by_period[period] if g.op is not None]
        assert gaps
        for _ in range(60):
            ex = Explainer(ruleset.dictionary, LIBRARY, _drawn_facts(rng, ruleset, near), values, labels)
            fast = [g(ex) for g in gaps]
            with _decimal_paths():
                slow = [g(ex) for g in gaps]
            assert fast == slow
            worded += sum(t is not None for t in fast)
    assert worded > 3_000


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(PERIODS), st.integers(0, 10**9))
def test_gap_templates_on_hypothesis_facts(templates, period, seed):
    ruleset, values, labels, by_period = templates
    rng = random.Random(seed)
    near = [rng.randint(0, 10**12) for _ in range(5)]
    ex = Explainer(ruleset.dictionary, LIBRARY, _drawn_facts(rng, ruleset, near), values, labels)
    gaps = [g for g in by_period[period] if g.op is not None]
    fast = [g(ex) for g in gaps]
    with _decimal_paths():
        assert [g(ex) for g in gaps] == fast
