"""A result's JSON document built without copies (docs/decisions.md WEB4-1) is ``result_dict``'s, byte for byte
and key for key: every demo enterprise in three periods, and hypothesis-drawn facts."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huiqi.interfaces.web.presenters import result_document, json_bytes, result_dict
from huiqi.services.calculator import CheckRequest, check_many
from tests.web.test_hot_paths import PERIOD, web  # noqa: F401 - the module's app fixture
from tests.web.test_shared_results import _demo_facts, _requests

__all__ = ["web"]


def _same(results) -> None:
    for r in results:
        old, new = result_dict(r), result_document(r)
        assert list(new) == list(old)  # the same keys in the same order
        assert json_bytes(new) == json_bytes(old)


def test_every_demo_enterprise_in_three_periods(web):  # noqa: F811
    state = web.state
    facts = _demo_facts(state)
    for period in (PERIOD, "2023Q4", "2026Q3"):
        for shared in (True, False):
            for results in check_many(_requests(state, facts, period), state.ruleset, state.library, shared=shared):
                _same(results)


def test_the_document_does_not_change_the_result(web):  # noqa: F811
    state = web.state
    results = check_many(_requests(state, _demo_facts(state, 5)), state.ruleset, state.library)[0]
    before = [r.to_dict() for r in results]
    for r in results:
        result_document(r)
    assert [r.to_dict() for r in results] == before


_AMOUNT = st.one_of(st.none(), st.integers(0, 10**12).map(lambda f: f"{f // 100}.{f % 100:02d}"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(output=_AMOUNT, dropped=st.sets(st.integers(0, 60), max_size=8), which=st.integers(0, 50))
def test_drawn_facts(web, output, dropped, which):  # noqa: F811
    """A real enterprise's facts with 产值 drawn (or missing) and a few other facts left out."""
    state = web.state
    base = _demo_facts(state, 60)[which]
    facts = {k: v for i, (k, v) in enumerate(base.items()) if i not in dropped and k != "output_q"}
    if output is not None:
        facts["output_q"] = output
    results = check_many([CheckRequest(facts, PERIOD)], state.ruleset, state.library)[0]
    assert isinstance(results, list), results
    _same(results)
