"""A batch's context (resolved parameters, plan, row function, labels) remembered per (rule set, period, entity,
parameters, measures) (WEB7-2): the same results as resolving afresh, parameters of another type or value get their
own, a refusal is raised every time, and a copy of the rule set (a sandbox's) never gets the original's."""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huiqi.engine.evaluate import ParameterError
from huiqi.policies.library import default_library
from huiqi.services import calculator
from huiqi.services.calculator import CheckRequest, _batch_context, check_many
from huiqi.services.calculator_rows import row_plan

LIBRARY = default_library()
FACTS = {"output_q": "6000万元", "output_q_ly": "5000万元", "is_new_in_statistics": False}


def _fresh(ruleset, period, params, measures=None):
    values = ruleset.resolve_parameters(params)
    plan, compiled = row_plan(ruleset, period, "enterprise", values, measures)
    return values, plan, compiled


def _answers(ruleset, params, period="2024Q4"):
    return [[r.to_dict() for r in one] for one in
            check_many([CheckRequest(FACTS, period, params=params)], ruleset, LIBRARY)]


@pytest.mark.parametrize("params", [None, {}, {"gx2024q4_02a_amount": 50000}, {"gx2024q4_02a_amount": "50000"},
                                    {"gx2024q4_24_reward_per_kwh": "0.03", "gx2024q4_15b_rate": "0.02"}])
def test_the_context_is_what_resolving_afresh_gives(ruleset, params):
    for period in ("2024Q4", "2026Q3"):
        values, plan, compiled, labels = _batch_context(ruleset, period, "enterprise", params, None)
        again = _batch_context(ruleset, period, "enterprise", params, None)
        assert again[0] is values and again[1] is plan  # remembered
        fresh_values, fresh_plan, _ = _fresh(ruleset, period, params)
        assert values == fresh_values and {k: type(v) for k, v in values.items()} == \
            {k: type(v) for k, v in fresh_values.items()}
        assert [cm.id for cm in plan] == [cm.id for cm in fresh_plan]
        assert labels == {n: p.label for n, p in ruleset.parameters.items()}


def test_parameters_change_the_answer_and_are_not_mixed_up(ruleset):
    calculator._CONTEXTS.clear()
    base = _answers(ruleset, None)
    changed = _answers(ruleset, {"gx2024q4_02a_amount": 50000})
    assert changed != base  # 02a's award is that parameter
    assert _answers(ruleset, None) == base
    assert _answers(ruleset, {"gx2024q4_02a_amount": 50000}) == changed
    calculator._CONTEXTS.clear()
    assert _answers(ruleset, {"gx2024q4_02a_amount": 50000}) == changed  # the same when built afresh
    assert _answers(ruleset, None) == base


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.sampled_from(["gx2024q4_02a_amount", "gx2024q4_24_reward_per_kwh", "gx2024q4_15b_rate"]),
                          st.one_of(st.integers(0, 10**6), st.sampled_from(["0.01", "0.02", "1", "50000"]),
                                    st.none())), max_size=3))
def test_drawn_parameters_equal_a_fresh_resolution(params):
    from huiqi.services.calculator import default_ruleset

    ruleset = default_ruleset()
    params = dict(params)
    try:
        want = ruleset.resolve_parameters(params)
    except ParameterError as e:
        with pytest.raises(ParameterError, match=str(e)[:10]):
            _batch_context(ruleset, "2024Q4", "enterprise", params, None)
        return
    for _ in range(2):
        got = _batch_context(ruleset, "2024Q4", "enterprise", params, None)[0]
        assert got == want and {k: type(v) for k, v in got.items()} == {k: type(v) for k, v in want.items()}


def test_a_refused_parameter_is_refused_every_time(ruleset):
    for _ in range(2):
        with pytest.raises(ParameterError):
            _batch_context(ruleset, "2024Q4", "enterprise", {"no_such_parameter": 1}, None)
        got = check_many([CheckRequest(FACTS, "2024Q4", params={"no_such_parameter": 1})], ruleset, LIBRARY)[0]
        assert isinstance(got, ParameterError)


def test_a_copy_of_the_rule_set_gets_its_own_context(ruleset):
    a = _batch_context(ruleset, "2024Q4", "enterprise", None, None)
    sandbox = copy.copy(ruleset)  # as services.simulation.derive_ruleset makes one
    sandbox.measures = dict(ruleset.measures)
    sandbox.parameters = dict(ruleset.parameters)
    sandbox._plans = {}
    b = _batch_context(sandbox, "2024Q4", "enterprise", None, None)
    assert b[1] is not a[1]
    ruleset_measures = ruleset.measures
    try:  # the same object with its measures replaced (nothing does this; still not served stale)
        ruleset.measures = dict(ruleset_measures)
        assert _batch_context(ruleset, "2024Q4", "enterprise", None, None)[0] is not a[0]
    finally:
        ruleset.measures = ruleset_measures


def test_the_shapes_follow_a_cleared_shape_store(ruleset):
    _values, plan, _compiled, _labels = _batch_context(ruleset, "2024Q4", "enterprise", None, None)
    shapes, _blank, _getters = calculator._plan_shapes(plan, LIBRARY)
    assert calculator._plan_shapes(plan, LIBRARY)[0] is shapes
    calculator._SHAPES.clear()
    again, _blank, _getters = calculator._plan_shapes(plan, LIBRARY)
    assert again is not shapes and all(s is calculator._shape(cm, LIBRARY) for cm, s in again)
