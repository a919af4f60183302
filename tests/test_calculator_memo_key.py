"""The explanation memo's key reads a measure's row columns with one itemgetter (WEB3): the same tuple as a .get
per column, and a row without one of the columns still keys (and answers) as before."""

from __future__ import annotations

from huiqi.policies.library import default_library
from huiqi.services import calculator
from huiqi.services.calculator import _evaluate_rows, _shape
from huiqi.services.calculator_rows import row_plan

FACTS = {"output_q": "898.61497万元", "output_q_ly": "816.9227万元", "promo_event_held_q": True}


def test_row_values_are_the_columns_read_one_by_one(ruleset):
    """A shape's columns read from the row plan's slot list (``columns_getter``, CALC10) are the row dict's, a
    column the plan lacks (an eligibility measure's award) reading None as row.get gives."""
    from huiqi.engine.inputs import normalize_facts

    library = default_library()
    for period in ("2024Q4", "2023Q4", "2026Q3"):
        plan, fast = row_plan(ruleset, period, "enterprise", ruleset.resolve_parameters(), None)
        internal = normalize_facts(FACTS, ruleset.dictionary)
        row, slots = fast.evaluate(internal), fast.slot_values(internal)
        lacking = 0
        for cm in plan:
            shape = _shape(cm, library)
            expected = tuple(map(row.get, shape.row_cols))
            assert fast.columns_getter(shape.row_cols)(slots) == shape.row_get(row) == expected
            lacking += any(c not in row for c in shape.row_cols)
        assert lacking  # the None column is exercised


def test_a_row_without_a_column_keys_as_before(ruleset, monkeypatch):
    """The fallback: a missing column reads as None, as row.get gave; the results are the full row's whenever
    the column's value was None anyway, and nothing raises."""
    from huiqi.engine.inputs import normalize_facts

    library = default_library()
    internal = normalize_facts({}, ruleset.dictionary)
    plan, fast = row_plan(ruleset, "2024Q4", "enterprise", ruleset.resolve_parameters(), None)
    row = fast.evaluate(internal)
    cm = plan[0]
    shape = _shape(cm, library)
    dropped = next(c for c in shape.row_cols if row.get(c) is None)  # a column whose value is None
    partial = {k: v for k, v in row.items() if k != dropped}
    from huiqi.engine.explain import Explainer

    explainer = Explainer(ruleset.dictionary, library, internal, ruleset.resolve_parameters(),
                          {n: p.label for n, p in ruleset.parameters.items()})
    calculator._MEMO.clear()
    full = calculator._remembered(cm, row, explainer, library, shape)
    assert calculator._remembered(cm, partial, explainer, library, shape) is full  # the same key: a memo hit
    expected = _evaluate_rows([internal], "2024Q4", "enterprise", None, ruleset, library, None)[0][0]
    assert full.to_dict() == expected.to_dict()
