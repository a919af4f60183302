"""WEB5-4: the row plan places an entity's facts by walking them (not its ~230 inputs) and reads its outputs with one
itemgetter: the same row, value for value and in the same order, as placing every input and reading each output,
fresh and after a pickle round trip (the plan cache's form)."""

from __future__ import annotations

import pickle

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huiqi.data.synthetic import generate
from huiqi.services.calculator_rows import row_plan
from huiqi.services.facts import enterprise_facts

PERIODS = ("2024Q4", "2023Q4", "2026Q3")


def old_evaluate(plan, facts: dict) -> dict:
    """The row plan's evaluate before WEB5-4, term for term."""
    v = plan._template.copy()
    for name, i in plan.inputs:
        v[i] = facts.get(name)
    plan._fn(v)
    return {name: v[i] for name, i in plan.outputs}


def typed(row: dict) -> list:
    return [(k, type(v), v) for k, v in row.items()]


def _fast(ruleset, period):
    return row_plan(ruleset, period, "enterprise", ruleset.resolve_parameters(), None)[1]


def test_rows_equal_the_old_placement_on_generated_enterprises(ruleset):
    for period in PERIODS:
        fast = _fast(ruleset, period)
        restored = pickle.loads(pickle.dumps(fast))
        assert not {"_slots", "_output_names", "_output_values"} & set(fast.__getstate__())
        rows = list(enterprise_facts(generate(150, seed=11), period).iter_rows(named=True))
        for facts in [{}, {"not a field": 1, "entity_id": "x"}, *rows,
                      *({k: v for k, v in r.items() if v is not None} for r in rows[:30])]:
            expected = typed(old_evaluate(fast, facts))
            assert typed(fast.evaluate(facts)) == expected
            assert typed(restored.evaluate(facts)) == expected


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_rows_equal_the_old_placement_on_drawn_facts(ruleset, data):
    period = data.draw(st.sampled_from(PERIODS))
    fast = _fast(ruleset, period)
    base = next(enterprise_facts(generate(5, seed=data.draw(st.integers(0, 50))), period)
                .iter_rows(named=True))
    facts = {}
    for name in data.draw(st.lists(st.sampled_from(sorted(base)), unique=True)):
        value = base[name]
        if type(value) is int:
            value = data.draw(st.sampled_from([value, value + 1, value - 1, 0, -value, None]))
        facts[name] = value
    assert typed(fast.evaluate(facts)) == typed(old_evaluate(fast, facts))
