"""The explanation memo keyed by exactly the facts a result's texts read (WEB7-1): a measure's row columns decide
which facts (a failing comparison's values, the computation's amount facts, whether an unknown condition's facts
are missing), so two entities that share that key get one text. Proved against the reference path (Polars, each
result explained afresh from the expression trees, no memo) on entities that differ from each other in one fact at
a time — the entities most likely to share a key wrongly — on the demo data, generated facts and hypothesis."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huiqi.engine.inputs import normalize_facts
from huiqi.policies.library import Library, default_library
from huiqi.services import calculator
from huiqi.services.calculator import CheckRequest, _evaluate_rows, check_many

from tests.test_calculator_rows import _facts, _value

LIBRARY = default_library()
PERIODS = ("2024Q4", "2023Q4", "2026Q3", "2024", "2025Q2")


def _dicts(results) -> list[list[dict]]:
    return [[r.to_dict() for r in one] for one in results]


def _reference(ruleset, rows: list[dict], period: str) -> list[list[dict]]:
    return _dicts(_evaluate_rows(rows, period, "enterprise", None, ruleset, LIBRARY, None, fast=False))


def _memoised(ruleset, rows: list[dict], period: str) -> list[list[dict]]:
    return _dicts(_evaluate_rows(rows, period, "enterprise", None, ruleset, LIBRARY, None, fast=True))


def _neighbours(ruleset, rows: list[dict], period: str, rng: random.Random) -> list[dict]:
    """For each row: one copy with a field the plan reads changed (scaled, negated, flipped, shifted by 1 分), one
    with a present field removed, one with an absent field added from another row."""
    plan = ruleset.plan(period, "enterprise", ruleset.resolve_parameters())
    fields = sorted(frozenset().union(*(cm.fields for cm in plan)))
    out = []
    for row in rows:
        present = [f for f in fields if f in row]
        if present:
            f = rng.choice(present)
            v = row[f]
            if isinstance(v, bool):
                changed = not v
            elif isinstance(v, int):
                changed = rng.choice([v + 1, v - 1, v * 3, -v, 0, v // 2])
            else:
                changed = None
            if changed is not None:
                out.append({**row, f: changed})
            out.append({k: x for k, x in row.items() if k != f})
        other = rng.choice(rows)
        absent = [f for f in fields if f not in row and f in other]
        if absent:
            f = rng.choice(absent)
            out.append({**row, f: other[f]})
    return out


@pytest.mark.parametrize("period", PERIODS)
def test_neighbouring_entities_get_their_own_texts_on_the_demo_data(ruleset, period):
    from huiqi.data.synthetic import generate
    from huiqi.services.facts import enterprise_facts

    rows = [{k: v for k, v in r.items() if v is not None and k in ruleset.dictionary}
            for r in enterprise_facts(generate(150, seed=31), period).to_dicts()]
    calculator._MEMO.clear()
    assert _memoised(ruleset, rows, period) == _reference(ruleset, rows, period)
    neighbours = _neighbours(ruleset, rows, period, random.Random(period))
    # answered with the memo warm from the rows they differ from by one fact
    assert _memoised(ruleset, neighbours, period) == _reference(ruleset, neighbours, period)


def test_what_the_web_benchmark_sends_equals_the_reference(ruleset):
    """Real enterprises' facts with 产值 varied: most results are hits now (a measure failing a condition that is
    not a comparison, 未满足…, reads no 产值), and every text is still the entity's own."""
    from huiqi.data.synthetic import generate
    from huiqi.services.facts import enterprise_facts

    period = "2024Q4"
    base = [{k: v for k, v in r.items() if v is not None and k in ruleset.dictionary}
            for r in enterprise_facts(generate(60, seed=5), period).to_dicts()]
    rows = [{**base[i % len(base)], "output_q": i * 100 + 1} for i in range(240)]
    calculator._MEMO.clear()
    for k in range(0, len(rows), 8):
        batch = rows[k:k + 8]
        assert _memoised(ruleset, batch, period) == _reference(ruleset, batch, period)


@pytest.mark.parametrize("period", ["2024Q4", "2026Q3"])
def test_drawn_entities_and_their_neighbours_equal_the_reference(ruleset, period):
    fields = sorted(frozenset().union(*(cm.fields for cm in ruleset.plan(period, "enterprise",
                                                                         ruleset.resolve_parameters()))))

    @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_facts(ruleset, period), st.lists(st.tuples(st.sampled_from(fields), st.data()), min_size=1, max_size=6))
    def inner(base, changes):
        base = {k: v for k, v in base.items() if v is not None}
        rows = [base]
        for field, data in changes:  # each a copy of the base with one field changed or removed
            value = data.draw(st.one_of(st.none(), _value(ruleset, field)))
            rows.append({k: v for k, v in {**base, field: value}.items() if v is not None})
        want = _reference(ruleset, rows, period)
        calculator._MEMO.clear()
        assert _memoised(ruleset, rows[:1], period) == want[:1]
        assert _memoised(ruleset, rows, period) == want  # the others, after the base's results are remembered
        assert _memoised(ruleset, rows[::-1], period) == want[::-1]  # all from the memo

    inner()


def test_a_failing_condition_worded_without_values_is_one_text_for_any_value(ruleset):
    """gx2024q4-02a fails its 产值 condition with "未满足…" (not a comparison with a gap): two entities differing
    only in 产值 get the one remembered result, and it is each one's reference text."""
    facts = {"output_q": "600.01", "output_q_ly": "1000000", "is_new_in_statistics": False}
    a, b = (check_many([CheckRequest({**facts, "output_q": q}, "2024Q4")], ruleset, LIBRARY, shared=True)[0]
            for q in ("600.01", "601.01"))
    shared = [(x, y) for x, y in zip(a, b) if x is y]
    assert shared, "no result shared between two entities differing in 产值"
    for q, got in (("600.01", a), ("601.01", b)):
        internal = normalize_facts({**facts, "output_q": q}, ruleset.dictionary)
        assert _dicts([got]) == _reference(ruleset, [internal], "2024Q4")
    # and a comparison's gap, which words 产值, is not shared
    assert not any(x is y and any(c.gap and "产值" in c.gap for c in x.conditions) for x, y in zip(a, b))


def test_memo_bound_clears_and_stays_right(ruleset, monkeypatch):
    from huiqi.data.synthetic import generate
    from huiqi.services.facts import enterprise_facts

    monkeypatch.setattr(calculator, "_MEMO_MAX", 40)
    rows = [{k: v for k, v in r.items() if v is not None and k in ruleset.dictionary}
            for r in enterprise_facts(generate(30, seed=2), "2024Q4").to_dicts()]
    calculator._MEMO.clear()
    assert _memoised(ruleset, rows, "2024Q4") == _reference(ruleset, rows, "2024Q4")
    assert calculator._MEMO.size <= 40
    assert sum(len(results) for shape in calculator._SHAPES.values() for _r, results in shape.memo.values()) <= 40


def test_another_library_object_gets_its_own_shapes(ruleset):
    """A shape (and its memo) belongs to one library object: another one, even at a reused address, gets its own."""
    other = Library()
    plan = ruleset.plan("2024Q4", "enterprise", ruleset.resolve_parameters())
    assert calculator._shape(plan[0], LIBRARY) is not calculator._shape(plan[0], other)
    assert calculator._shape(plan[0], other).library is other
