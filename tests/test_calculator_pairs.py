"""WEB5-2: the calculator normalises each (key, value) pair of a check's facts once (calculator.normalized_facts):
the same dict as normalize_facts — keys, order, values and their types — or the same refusal, cold and warm."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huiqi.engine.inputs import InputError, normalize_facts
from huiqi.rules.fields import default_dictionary
from huiqi.services import calculator
from huiqi.services.calculator import normalized_facts

D = default_dictionary()
KEYS = sorted({k for f in D.fields.values() for k in (f.name, f.label, *f.aliases)})
UNIT_KEYS = [f"{f.name}_万元" for f in D.fields.values() if f.type == "money"][:20]
ODD_KEYS = ["id", "entity_id", "no such", "a\x00b", "x" * 300]
VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-10**16, 10**16), st.integers(), st.floats(allow_nan=True),
    st.just(-0.0), st.just(0.0), st.just(1), st.just(1.0), st.just(True),
    st.sampled_from(["1.5", "2万元", "816.92万元", "-3", "是", "否", "2024-03-01", "2024年3月1日", "", " ", "abc",
                     "1e3", "0.001"]),
    st.text(max_size=8), st.lists(st.integers(), max_size=2))


def typed(facts: dict) -> list:
    """A dict's pairs with each value's type: True == 1 == 1.0 to Python, not as facts."""
    return [(k, type(v), v) for k, v in facts.items()]


def answer(normalise, facts, unit=None):
    try:
        return typed(normalise(facts, D, unit))
    except InputError as e:
        return ("refused", str(e))


def reference(facts, unit=None):
    return answer(normalize_facts, facts, unit)


def ours(facts, unit=None):
    return answer(normalized_facts, facts, unit)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.one_of(st.sampled_from(KEYS + UNIT_KEYS + ODD_KEYS), st.text(max_size=5)), VALUES,
                       max_size=8),
       st.sampled_from([None, "元", "万元"]))
def test_pairs_answer_as_normalize_facts_cold_and_warm(facts, unit):
    expected = reference(facts, unit)
    calculator._PAIRS.clear()
    assert ours(facts, unit) == expected  # cold: every pair normalised afresh
    assert ours(facts, unit) == expected  # warm: every pair remembered


def test_same_value_of_another_type_is_another_pair():
    calculator._PAIRS.clear()
    for facts in ({"promo_event_held_q": True}, {"promo_event_held_q": 1}, {"output_q": 1}, {"output_q": 1.0},
                  {"output_q": True}, {"output_q": "1"}):
        assert ours(facts) == reference(facts)


def test_duplicate_field_later_wins_in_first_place():
    label = D["output_q"].label
    facts = {"output_q": "1", "output_q_ly": "2", label: "3"}
    calculator._PAIRS.clear()
    assert ours(facts) == reference(facts)
    assert list(normalized_facts(facts, D)) == ["output_q", "output_q_ly"]
    assert normalized_facts(facts, D)["output_q"] == 300


def test_refused_pair_is_the_first_refusal_and_not_remembered():
    calculator._PAIRS.clear()
    facts = {"output_q": "1", "没有这个字段": "2", "output_q_ly": "abc"}
    for _ in range(2):
        with pytest.raises(InputError) as e:
            normalized_facts(facts, D)
        assert str(e.value) == reference(facts)[1]
    assert all(key[2] != "没有这个字段" for key in calculator._PAIRS)


def test_dates_and_non_string_keys_as_normalize_facts():
    calculator._PAIRS.clear()
    for facts in ({"output_q": "1", 5: "2"}, {"output_q": date(2024, 3, 1)}, {"output_q": ["1"]}):
        assert ours(facts) == reference(facts)


def test_full_table_is_cleared_and_still_answers(monkeypatch):
    monkeypatch.setattr(calculator, "_PAIRS_MAX", 3)
    calculator._PAIRS.clear()
    for i in range(10):
        facts = {"output_q": f"{i}.01", "output_q_ly": "7", "promo_event_held_q": True}
        assert ours(facts) == reference(facts)
        assert len(calculator._PAIRS) <= 3


def test_another_dictionary_object_is_not_answered_from_this_one():
    from huiqi.rules.fields import load_dictionary

    other = load_dictionary()
    calculator._PAIRS.clear()
    assert normalized_facts({"output_q": "1"}, D) == normalize_facts({"output_q": "1"}, other)
    assert all(hit[0] is D for hit in calculator._PAIRS.values())
    normalized_facts({"output_q": "1"}, other)
    assert any(hit[0] is other for hit in calculator._PAIRS.values())


def _key_by_get(facts: dict, value_fields: tuple, null_fields: tuple):
    """What ``calculator._key_function`` stands for, written with .get per field."""
    values = tuple(facts.get(f) for f in value_fields)
    nulls = tuple(facts.get(f) is None for f in null_fields)
    values = values[0] if len(values) == 1 else values
    nulls = nulls[0] if len(nulls) == 1 else nulls
    if not null_fields:
        return values if value_fields else None
    return nulls if not value_fields else (values, nulls)


def test_padded_fact_values_are_the_facts_read_one_by_one(ruleset):
    """WEB5-3, as WEB7-1 keys: a memo key reads the facts padded with None by itemgetter — the values a .get per
    field gives and whether each is missing — for the fields of every measure of three periods, on entities with
    and without each fact."""
    from huiqi.data.synthetic import generate
    from huiqi.policies.library import default_library
    from huiqi.services.calculator import _key_function, _shape
    from huiqi.services.calculator_rows import row_plan
    from huiqi.services.facts import enterprise_facts

    library = default_library()
    for period in ("2024Q4", "2023Q4", "2026Q3"):
        plan, _fast = row_plan(ruleset, period, "enterprise", ruleset.resolve_parameters(), None)
        shapes = [_shape(cm, library) for cm in plan]
        blank = dict.fromkeys(f for shape in shapes for f in shape.fields)
        splits = [(shape.fields[:k], shape.fields[k:]) for shape in shapes for k in range(len(shape.fields) + 1)]
        rows = enterprise_facts(generate(60, seed=5), period).iter_rows(named=True)
        for facts in [{}, *({k: v for k, v in row.items() if v is not None} for row in rows)]:
            padded = {**blank, **facts}
            for value_fields, null_fields in splits:
                key_of = _key_function(value_fields, null_fields)
                got = None if key_of is None else key_of(padded)
                assert got == _key_by_get(facts, value_fields, null_fields)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from("abcdef"), st.one_of(st.none(), st.integers(), st.text(max_size=2),
                                                            st.booleans()), max_size=6),
       st.lists(st.sampled_from("abcdef"), unique=True, max_size=4),
       st.lists(st.sampled_from("abcdef"), unique=True, max_size=4))
def test_key_function_is_the_facts_read_one_by_one(facts, value_fields, null_fields):
    from huiqi.services.calculator import _key_function

    padded = {**dict.fromkeys("abcdef"), **facts}
    key_of = _key_function(tuple(value_fields), tuple(null_fields))
    got = None if key_of is None else key_of(padded)
    assert got == _key_by_get(facts, tuple(value_fields), tuple(null_fields))
