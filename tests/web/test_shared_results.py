"""The batcher's results are the calculator memo's own objects, serialised by identity (docs/decisions.md WEB3-1):
the same answers, byte for byte, as copies serialised field by field."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huiqi.interfaces.web import presenters
from huiqi.interfaces.web.checking import engine_params, stored_facts
from huiqi.interfaces.web.presenters import check_json, result_dict, json_bytes, shared_result_json
from huiqi.services import calculator
from huiqi.services.calculator import CheckRequest, check_many
from tests.web.test_hot_paths import PERIOD, nearby_facts, old_bytes, web  # noqa: F401 - the module's app fixture

__all__ = ["web"]


def _requests(state, facts_list, period=PERIOD):
    params = engine_params(state, None)
    return [CheckRequest(f, period, "enterprise", params) for f in facts_list]


def _demo_facts(state, n=None):
    codes = state.enterprises["credit_code"].to_list()
    return [stored_facts(state, c, PERIOD) for c in codes[:n] if state.facts_row(c, PERIOD) is not None]


def test_shared_answers_equal_copied_answers_for_every_demo_enterprise(web):  # noqa: F811
    state = web.state
    requests = _requests(state, _demo_facts(state))
    assert len(requests) > 1000
    for _round in range(2):  # cold (misses remembered as they are built), then every result a memo hit
        shared = check_many(requests, state.ruleset, state.library, shared=True)
        copied = check_many(requests, state.ruleset, state.library)
        for a, b in zip(shared, copied):
            assert [r.to_dict() for r in a] == [r.to_dict() for r in b]
            assert check_json(a, PERIOD, "enterprise", shared=True) == old_bytes(b)
            assert check_json(a, PERIOD, "enterprise", "X1", shared=True) == old_bytes(b, credit_code="X1")


def test_shared_results_are_the_memo_objects_and_copies_are_not(web):  # noqa: F811
    state = web.state
    requests = _requests(state, _demo_facts(state, 3))
    first = check_many(requests, state.ruleset, state.library, shared=True)[0]
    again = check_many(requests, state.ruleset, state.library, shared=True)[0]
    copied = check_many(requests, state.ruleset, state.library)[0]
    assert all(a is b for a, b in zip(first, again))
    assert not any(a is c for a, c in zip(first, copied))
    assert [r.to_dict() for r in first] == [r.to_dict() for r in copied]


def test_shared_json_is_found_by_identity_and_rebuilt_for_another_object(web):  # noqa: F811
    state = web.state
    results = check_many(_requests(state, _demo_facts(state, 1)), state.ruleset, state.library, shared=True)[0]
    r = results[0]
    presenters._SHARED_JSON.clear()
    built = shared_result_json(r)
    assert built == json_bytes(result_dict(r))
    assert shared_result_json(r) is built  # remembered
    other = calculator._copy(r)
    other.explanation += "（改）"  # another object (a copy altered): serialised afresh, never the remembered bytes
    assert shared_result_json(other) == json_bytes(result_dict(other)) != built


def test_a_full_shared_json_table_is_cleared_and_still_answers(web, monkeypatch):  # noqa: F811
    state = web.state
    results = check_many(_requests(state, _demo_facts(state, 2)), state.ruleset, state.library, shared=True)
    monkeypatch.setattr(presenters, "_RESULT_JSON_MAX", 5)
    presenters._SHARED_JSON.clear()
    for rs in results:
        assert check_json(rs, PERIOD, "enterprise", shared=True) == old_bytes(rs)
    assert len(presenters._SHARED_JSON) <= 5


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_shared_answers_equal_copied_answers_for_varied_facts(web, data):  # noqa: F811
    """Facts drawn around a real enterprise's (missing, zero, nearby amounts): the shared path's bytes are the
    copied path's, whichever results are fresh and which remembered."""
    facts = nearby_facts(data, stored_facts(web.state, web.own, PERIOD))
    requests = _requests(web.state, [facts])
    shared = check_many(requests, web.state.ruleset, web.state.library, shared=True)[0]
    copied = check_many(requests, web.state.ruleset, web.state.library)[0]
    if isinstance(copied, Exception):
        assert type(shared) is type(copied) and str(shared) == str(copied)
        return
    assert check_json(shared, PERIOD, "enterprise", shared=True) == old_bytes(copied)
