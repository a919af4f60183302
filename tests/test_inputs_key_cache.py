"""CALC2-3: normalize_facts resolves each key once per dictionary (engine/inputs._resolved_key); answers and
refusals are those of resolving afresh."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huiqi.engine import inputs
from huiqi.engine.inputs import InputError, normalize_facts
from huiqi.rules.fields import default_dictionary

D = default_dictionary()
KEYS = sorted({k for f in D.fields.values() for k in (f.name, f.label, *f.aliases)})[:200]
VALUES = st.one_of(st.none(), st.text(max_size=6), st.integers(-10**6, 10**6), st.sampled_from(["1.5", "2万元", "是"]))


def fresh(facts):
    inputs._resolved_key.cache_clear()
    try:
        return normalize_facts(facts, D)
    except InputError as e:
        return ("refused", str(e))


def warm(facts):
    try:
        return normalize_facts(facts, D)
    except InputError as e:
        return ("refused", str(e))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.one_of(st.sampled_from(KEYS + ["id", "entity_id", "no such", "a\x00b", "output_q_万元"]),
                                 st.text(max_size=5)), VALUES, max_size=6))
def test_cached_keys_answer_as_fresh(facts):
    assert warm(facts) == fresh(facts) == warm(facts)


@pytest.mark.parametrize("key", ["没有这个字段", "x" * 300, "bad\x00key"])
def test_refused_key_same_message_every_time(key):
    inputs._resolved_key.cache_clear()
    messages = set()
    for _ in range(3):
        with pytest.raises(InputError) as e:
            normalize_facts({key: "1"}, D)
        messages.add(str(e.value))
    assert len(messages) == 1
