"""CALC2: the per-request shortcuts of POST /api/check give what the general path gives."""

import json

import pytest

from huiqi.core.periods import Period, PeriodError
from huiqi.interfaces.web.api import _canonical
from huiqi.interfaces.web.checking import _parsed, period_ok
from huiqi.interfaces.web.state import WebError


def test_empty_params_key_is_what_orjson_gives():
    import orjson

    assert _canonical({}) == orjson.dumps({}, option=orjson.OPT_SORT_KEYS)
    assert _canonical({"a": 1}) != _canonical({})
    assert _canonical({"x": float("nan")}) == json.dumps({"x": float("nan")}, sort_keys=True)


@pytest.mark.parametrize("period", ["2024Q4", "2024q4", "2024H1", "2024M02", "2024", " 2023Q1"])
def test_remembered_period_equals_parse(period):
    assert _parsed(period) == Period.parse(period)
    assert _parsed(period) == Period.parse(period)  # second time from the cache
    period_ok(None, period)


@pytest.mark.parametrize("period", ["2024Q5", "abc", "2024M2", "1800Q1", ""])
def test_refused_period_same_message_every_time(period):
    with pytest.raises(PeriodError) as direct:
        Period.parse(period)
    for _ in range(2):  # a refusal is not remembered: the same message each time
        with pytest.raises(WebError) as refused:
            period_ok(None, period)
        assert refused.value.status == 422 and refused.value.message == str(direct.value)
