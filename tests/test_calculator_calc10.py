"""CALC10: a check computed with less Python per result — gap texts worded once per entity and condition, the
commonest gaps in integer 分, rows read as the row plan's slot lists, AnyHorizontal written out, the summary with
C iterators. Every answer must stay byte for byte: the fast path (memo, templates, slots) against the plain path
(Polars, every result explained afresh from the expression trees) on generated facts for every measure of several
periods, at the rules' thresholds and with missing fields, cold and warm."""

from __future__ import annotations

import copy
from decimal import Decimal
from fractions import Fraction
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huiqi.engine.evaluate import MET, MISSING, NOT_MET, PENDING
from huiqi.engine.explain import Explainer, growth_gap, order_gap
from huiqi.interfaces.web.presenters import check_json, check_payload, json_bytes
from huiqi.policies.library import default_library
from huiqi.services import calculator
from huiqi.services.calculator import _evaluate_rows, summarize

from tests.test_calculator_rows import _facts

LIBRARY = default_library()
PERIODS = ("2024Q4", "2023Q4", "2026Q3", "2024", "2025Q2")


def _answers(ruleset, rows: list[dict], period: str, fast: bool) -> list[bytes]:
    results = _evaluate_rows(rows, period, "enterprise", None, ruleset, LIBRARY, None, fast=fast, shared=fast)
    if fast:
        return [check_json(r, period, "enterprise", shared=True) for r in results]
    return [json_bytes(check_payload(r, period, "enterprise")) for r in results]


@pytest.mark.parametrize("period", PERIODS)
def test_generated_facts_answer_byte_for_byte_as_the_plain_path(ruleset, period):
    """Facts drawn for every field the period's measures read: each present or missing, numbers at the rules'
    thresholds ±2 分 or anywhere; a batch answered cold (memo cleared) and again warm, in reverse order."""
    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(_facts(ruleset, period), min_size=1, max_size=8))
    def inner(rows):
        rows = [{k: v for k, v in r.items() if v is not None} for r in rows]
        want = _answers(ruleset, rows, period, fast=False)
        calculator._MEMO.clear()
        assert _answers(ruleset, rows, period, fast=True) == want
        assert _answers(ruleset, rows[::-1], period, fast=True) == want[::-1]

    inner()


def _gap_templates(ruleset, period: str):
    """Every distinct gap template of the period's enterprise measures, compiled as the calculator compiles them."""
    values = ruleset.resolve_parameters()
    labels = {n: p.label for n, p in ruleset.parameters.items()}
    like = Explainer(ruleset.dictionary, LIBRARY, {}, values, labels)
    _values, plan, _compiled, _labels = calculator._batch_context(ruleset, period, "enterprise", None, None)
    seen = {}
    for cm in plan:
        shape = calculator._shape(cm, LIBRARY)
        templates = shape.templates or calculator._compile_templates(shape, like)
        for template in templates.gaps:
            seen.setdefault(template.source, template)
    return like, list(seen.values())


def _general(template, ex):
    """The template's answer by its general steps (Fractions), its integer gap turned off."""
    plain = copy.copy(template)
    plain.integer = None
    return plain(ex)


def test_the_integer_gaps_cover_the_commonest_conditions(ruleset):
    _like, templates = _gap_templates(ruleset, "2024Q4")
    integer = {t.source for t in templates if t.op is not None and t._integer_gap() is not None}
    assert {"output_q >= wan(500)", "growth(output_q, output_q_ly) >= pct(10)"} <= integer


@pytest.mark.parametrize("period", ["2024Q4", "2023Q4", "2026Q3"])
def test_integer_gaps_equal_the_fraction_steps(ruleset, period):
    """Each comparison's gap from integer 分 equals the general steps' (Fractions), for values at and around the
    threshold, zero and negative bases, and values beyond money_pair_fen's bound (which go the general way)."""
    like, templates = _gap_templates(ruleset, period)
    templates = [t for t in templates if t.op is not None and t._integer_gap() is not None]
    assert templates
    edges = [0, 1, -1, 99, 100, 10**6, 5 * 10**8, 10**9, 10**22, -(10**22), 10**23]
    numbers = st.one_of(st.builds(lambda e, d: e + d, st.sampled_from(edges), st.integers(-2, 2)),
                        st.integers(-10**15, 10**15), st.none())

    @settings(max_examples=200, deadline=None)
    @given(st.sampled_from(templates), st.lists(numbers, min_size=2, max_size=2))
    def inner(template, drawn):
        names = [p[1] for p in template.programs if p[0] == "fact"]
        facts = {name: v for name, v in zip(names, drawn) if v is not None}
        ex = Explainer(like.dictionary, LIBRARY, facts, like.params, like.parameter_labels)
        assert template(ex) == _general(template, ex) == ex.gap(template.source)

    inner()


def test_a_threshold_met_exactly_and_the_bound_go_the_general_way(ruleset):
    like, templates = _gap_templates(ruleset, "2024Q4")
    template = next(t for t in templates if t.source == "output_q >= wan(500)")
    integer = template._integer_gap()
    assert integer({"output_q": 5 * 10**8}) is None  # equal: the general steps word it
    assert integer({"output_q": 10**22}) is None  # beyond money_pair_fen's bound
    assert integer({"output_q": True}) is None  # not a 分 integer
    assert integer({}) is None
    assert integer({"output_q": 49_999_999_99}) is not None
    ex = Explainer(like.dictionary, LIBRARY, {"output_q": 49_999_999}, like.params, like.parameter_labels)
    assert template(ex) == ex.gap(template.source) == "当季工业总产值49.999999万元，低于500万元（含）的要求，差450.000001万元"


def test_gaps_wrapped_around_the_integer_path_match_their_fraction_form():
    """order_gap and growth_gap (the Fraction entry points) give the texts they gave before CALC10 (written down from
    af29917)."""
    from huiqi.engine.explain import _Side

    money, pct = _Side(True, None), _Side(False, "%")
    cases = [
        (order_gap(">=", True, lambda: "产值", Fraction(4999, 100), Fraction(50), money),
         "产值0.004999万元，低于0.005万元（含）的要求，差0.01元"),
        (order_gap(">", True, lambda: "产值", Fraction(50), Fraction(50), money), "产值0.005万元，须超过0.005万元（等于不算）"),
        (growth_gap(">=", lambda: "产值", Fraction(105), Fraction(100), Fraction(1, 10), pct),
         "产值同比增速5%，低于10%的要求，差5个百分点"),
        (growth_gap(">", lambda: "产值", Fraction(110), Fraction(100), Fraction(1, 10), pct),
         "产值同比增速10%，须超过10%（等于不算）"),
        (growth_gap(">=", lambda: "产值", Fraction(1), Fraction(0), Fraction(1, 10), money),
         "产值上年同期无基数（0万元），无法计算同比增速"),
        (growth_gap("<=", lambda: "产值", Fraction(1234567, 100), Fraction(1000001, 100), Fraction(1, 10), money),
         "产值同比增速23.46%，超过10%的上限，超出13.46个百分点"),
    ]
    for got, want in cases:
        assert got == want


def test_a_gap_is_worded_once_per_entity_and_source(ruleset, monkeypatch):
    """Measures sharing a condition (产值不低于500万元) word it once a check: the second is the explainer's text."""
    calls = []
    from huiqi.engine import explain

    real = explain.GapTemplate.__call__

    def counted(self, ex):
        calls.append((id(ex), self.source))
        return real(self, ex)

    monkeypatch.setattr(explain.GapTemplate, "__call__", counted)
    calculator._MEMO.clear()
    rows = [{"output_q": 12_345, "output_q_ly": 10_000}, {"output_q": 12_346, "output_q_ly": 10_000}]
    got = _evaluate_rows(rows, "2024Q4", "enterprise", None, ruleset, LIBRARY, None, shared=True)
    want = _evaluate_rows(rows, "2024Q4", "enterprise", None, ruleset, LIBRARY, None, fast=False)
    assert [[r.to_dict() for r in one] for one in got] == [[r.to_dict() for r in one] for one in want]
    assert len(calls) == len(set(calls))  # no (entity, source) worded twice
    shared = [c for c in {s for _e, s in calls} if "output_q >= wan(500)" == c]
    assert shared and sum(
        1 for one in want for r in one for c in r.conditions if c.gap and c.gap.startswith("当季工业总产值0.012345")
    ) >= 2  # the one text is used by more than one measure


_RESULTS = st.lists(st.builds(
    lambda status, kind, amount: SimpleNamespace(status=status, kind=kind, amount_yuan=amount),
    st.sampled_from([MET, NOT_MET, MISSING, PENDING]), st.sampled_from(["money", "eligibility", "facility"]),
    st.one_of(st.none(), st.integers(-10**12, 10**12).map(lambda fen: Decimal(fen) / 100))), max_size=70)


@settings(max_examples=300, deadline=None)
@given(_RESULTS)
def test_summary_equals_the_loops_it_replaced(results):
    total = sum((r.amount_yuan or Decimal(0)) for r in results if r.status == MET and r.kind == "money")
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    got = summarize(results)
    assert got == {"total_yuan": str(total), "counts": counts}
    assert list(got["counts"]) == list(counts)  # the statuses in the order they first occur
