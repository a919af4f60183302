"""The calculator's row path (huiqi.services.calculator_rows) gives exactly the Polars evaluator's rows: the same
compiled expressions, run in Python per row. Checked on every period's plan over synthetic demo enterprises, on
hypothesis-generated facts (boundaries, unknowns, negatives, odd 所在县区 text), under operator parameters, and
through check()/check_many() down to the Chinese explanation; an unsupported expression falls back to Polars."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huiqi.engine.inputs import normalized_frame
from huiqi.services import calculator_rows
from huiqi.services.calculator import CheckRequest, _evaluate_rows, check, check_many
from huiqi.services.calculator_rows import row_plan


@pytest.fixture(scope="module")
def demo_tables():
    from huiqi.data.synthetic import generate

    return generate(250, seed=7)


def assert_rows_equal(ruleset, frame: pl.DataFrame, period: str, entity: str = "enterprise", params=None):
    """Polars evaluation of ``frame`` vs the row plan on each of its rows: same columns, values and types."""
    ev = ruleset.evaluate(frame, period, entity=entity, params=params)
    plan, fast = row_plan(ruleset, period, entity, ruleset.resolve_parameters(params), None)
    assert fast is not None, f"{period}/{entity}: the row compiler does not support this plan"
    assert [cm.id for cm in plan] == [cm.id for cm in ev.plan]
    for inputs, want in zip(frame.to_dicts(), ev.frame.iter_rows(named=True)):
        got = fast.evaluate(inputs)
        want = {k: v for k, v in want.items() if k != "entity_id"}
        assert set(got) == set(want)
        diff = {k: (want[k], got[k]) for k in want if want[k] != got[k] or type(want[k]) is not type(got[k])}
        assert not diff, f"{period}/{entity} {inputs.get('entity_id', inputs.get('credit_code'))}: {diff}"


def test_row_plan_equals_polars_on_every_period_over_demo_enterprises(ruleset, demo_tables):
    from huiqi.services.facts import enterprise_facts

    periods = ruleset.quarters() + sorted({q[:4] for q in ruleset.quarters()})
    for period in periods:
        assert_rows_equal(ruleset, enterprise_facts(demo_tables, period), period)


def test_row_plan_equals_polars_for_projects_and_counties(ruleset, demo_tables):
    from huiqi.services.facts import county_facts, project_facts

    for period in ("2024Q4", "2025Q2"):
        assert_rows_equal(ruleset, project_facts(demo_tables, period), period, entity="project")
        assert_rows_equal(ruleset, county_facts(demo_tables, period, 0.5, 0.5), period, entity="county")


def test_row_plan_equals_polars_with_operator_parameters(ruleset, demo_tables):
    """Set parameters change the compiled constants (a pending one is unknown): both paths agree either way."""
    from huiqi.services.facts import enterprise_facts

    params = {n: (p.max if p.max is not None else 1) for n, p in ruleset.parameters.items()
              if p.kind not in ("bool", "text")}
    frame = enterprise_facts(demo_tables, "2024Q4")
    assert_rows_equal(ruleset, frame, "2024Q4", params=params)
    assert_rows_equal(ruleset, frame, "2023", params=params)


# -- hypothesis: facts nobody wrote down ----------------------------------------------------------------------
_MONEY_EDGES = [0, 1, 99, 100, 10_000, 999_999, 1_000_000, 5_000_000, 10**7, 10**8, 10**9, 5 * 10**9, 10**10]


def _number():
    near_edge = st.builds(lambda e, d, s: s * e + d, st.sampled_from(_MONEY_EDGES), st.integers(-2, 2),
                          st.sampled_from([1, 1, 1, -1]))
    return st.one_of(near_edge, st.integers(-10**14, 10**14), st.integers(0, 10**6))


def _text(name: str):
    if name == "county":
        from huiqi.engine.expressions import _region_names

        names = sorted(_region_names())[:200]
        return st.one_of(st.sampled_from(names), st.sampled_from(sorted(set(_region_names().values()))),
                         st.sampled_from(["450204\x1c", " 450204 ", "\u3000柳南区", "柳南区\n", "4502", "450204\n",
                                          "４５０２０４", ""]),
                         st.text(max_size=8))
    return st.one_of(st.text(max_size=6), st.sampled_from(["C", "3311", "制造业", ""]))


def _value(ruleset, name: str):
    kind = ruleset.dictionary[name].type
    if kind in ("money", "number"):
        return _number()
    if kind == "bool":
        return st.booleans()
    if kind == "date":
        return st.dates(date(1990, 1, 1), date(2030, 12, 31))
    return _text(name)


def _facts(ruleset, period: str, entity: str = "enterprise"):
    plan = ruleset.plan(period, entity, ruleset.resolve_parameters())
    fields = sorted(frozenset().union(*(cm.fields for cm in plan)))
    # each field present (any value) or absent (unknown), independently
    return st.fixed_dictionaries({}, optional={f: st.one_of(st.none(), _value(ruleset, f)) for f in fields})


@pytest.mark.parametrize("period", ["2024Q4", "2023", "2024", "2025Q2"])
def test_row_plan_equals_polars_on_generated_facts(ruleset, period):
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(_facts(ruleset, period), min_size=1, max_size=12))
    def inner(rows):
        rows = [{k: v for k, v in r.items() if v is not None} for r in rows]
        assert_rows_equal(ruleset, normalized_frame(rows, ruleset.dictionary), period)

    inner()


def test_whitespace_and_newline_in_county_match_polars_regex(ruleset):
    """Rust's \\s is not Python's (\\x1c–\\x1f), and Python's $ matches before a final newline: the row path uses
    Polars' meaning, so an odd 所在县区 gets the same answer on both paths."""
    rows = [{"county": c, "output_q": 10**9} for c in ("450204\x1c", "450204\n", "柳南\u3000区", "450204\x1f",
                                                        "\u2028450204", "４５０２０４", "45020４")]
    assert_rows_equal(ruleset, normalized_frame(rows, ruleset.dictionary), "2024Q4")


# -- through the calculator: results and explanations --------------------------------------------------------
def test_check_fast_path_equals_reference_path_to_the_explanation(ruleset, demo_tables):
    """check()'s results (status, amounts, conditions, gaps, missing facts, Chinese explanation) are the same on
    the row path and on the Polars reference path."""
    from huiqi.services.facts import enterprise_facts

    from huiqi.policies.library import default_library

    library = default_library()
    for period in ("2024Q4", "2023", "2024Q4"):  # the third pass answers from the explanation memo
        rows = [{k: v for k, v in r.items() if v is not None and k in ruleset.dictionary}
                for r in enterprise_facts(demo_tables, period).head(60).to_dicts()]
        rows.append({})
        fast = _evaluate_rows(rows, period, "enterprise", None, ruleset, library, None, fast=True)
        slow = _evaluate_rows(rows, period, "enterprise", None, ruleset, library, None, fast=False)
        assert [[r.to_dict() for r in one] for one in fast] == [[r.to_dict() for r in one] for one in slow]


def test_unsupported_expression_falls_back_to_polars(ruleset, monkeypatch):
    """A node the row compiler does not know (here: Plus, as if a Polars version renamed it) leaves that plan to
    Polars, with the same results: the fast path never guesses."""
    facts = {"output_q": "898.614970万元", "output_q_ly": "816.9227万元", "promo_event_held_q": True}
    want = [r.to_dict() for r in check(facts, "2024Q4", ruleset=ruleset)]
    monkeypatch.setattr(calculator_rows, "_CACHE", {})
    monkeypatch.delitem(calculator_rows._BINARY, "Plus")
    _plan, fast = row_plan(ruleset, "2024Q4", "enterprise", ruleset.resolve_parameters(), None)
    assert fast is None
    assert [r.to_dict() for r in check(facts, "2024Q4", ruleset=ruleset)] == want
    assert [r.to_dict() for r in check_many([CheckRequest(facts, "2024Q4")], ruleset)[0]] == want


def test_row_plan_is_compiled_once_per_plan(ruleset):
    values = ruleset.resolve_parameters()
    _, a = row_plan(ruleset, "2024Q4", "enterprise", values, None)
    _, b = row_plan(ruleset, "2024Q4", "enterprise", values, None)
    assert a is b and a is not None


def test_remembered_explanations_equal_fresh_ones_on_generated_facts(ruleset):
    """The explanation memo (keyed by a measure's own facts and row columns) never hands one entity another's
    text: generated fact sets, evaluated twice (the second time from the memo), equal the reference path."""
    from huiqi.policies.library import default_library

    library = default_library()
    period = "2024Q4"

    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(_facts(ruleset, period), min_size=2, max_size=8))
    def inner(rows):
        rows = [{k: v for k, v in r.items() if v is not None} for r in rows]
        want = [[r.to_dict() for r in one] for one in
                _evaluate_rows(rows, period, "enterprise", None, ruleset, library, None, fast=False)]
        for _ in range(2):
            got = _evaluate_rows(rows, period, "enterprise", None, ruleset, library, None, fast=True)
            assert [[r.to_dict() for r in one] for one in got] == want

    inner()


def test_row_path_error_at_run_time_falls_back_to_polars(ruleset, monkeypatch):
    """Should a value combination ever trip the row path (none is known), the batch is evaluated by Polars: the
    caller gets the right answer, not a server error."""
    facts = {"output_q": "898.614970万元", "output_q_ly": "816.9227万元", "promo_event_held_q": True}
    want = [r.to_dict() for r in check(facts, "2024Q4", ruleset=ruleset)]

    def broken(self, _facts):
        raise TypeError("unorderable")

    monkeypatch.setattr(calculator_rows.RowPlan, "evaluate", broken)
    assert [r.to_dict() for r in check(facts, "2024Q4", ruleset=ruleset)] == want
