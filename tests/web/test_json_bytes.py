"""json_bytes (interfaces/web/api.py) serialises with orjson for speed: the bytes are the json module's, for
calculator answers, search hits and the odd values (Decimal, dates, a dataclass, a non-string key, a huge int)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from huiqi.interfaces.web.presenters import check_payload, json_bytes
from huiqi.services.calculator import check
from huiqi.services.search import BENCHMARK_QUERIES, default_index


def reference(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":")).encode()


@dataclass
class Point:
    x: int


def test_calculator_answer_bytes_equal_json_module():
    facts = {"output_q": "898.614970万元", "output_q_ly": "816.9227万元", "promo_event_held_q": True, "county": "柳南区"}
    for period in ("2024Q4", "2023"):
        payload = check_payload(check(facts, period), period, "enterprise")
        assert json_bytes(payload) == reference(payload)


def test_search_answer_bytes_equal_json_module():
    for q in BENCHMARK_QUERIES:
        hits = [h.to_dict() for h in default_index().search(q, 30)]
        payload = {"query": q, "total": len(hits), "hits": hits}
        assert json_bytes(payload) == reference(payload)


def test_odd_values_serialise_as_the_json_module_does():
    value = {"money": Decimal("12.50"), "day": date(2024, 12, 31), "at": datetime(2024, 1, 2, 3, 4, 5),
             "point": Point(1), "ctrl": "a\x1fb\u2028c\U0001f600", "none": None, "score": 12.3456}
    assert json_bytes(value) == reference(value)
    assert json_bytes({1: "non-string key"}) == reference({1: "non-string key"})  # orjson refuses: json does it
    assert json_bytes({"big": 2**70}) == reference({"big": 2**70})


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | st.text(max_size=20) |
                    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15).map(
                        lambda f: round(f, 4)),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
                    max_leaves=20))
def test_generated_documents_parse_the_same(value):
    got = json_bytes(value)
    assert json.loads(got) == json.loads(reference(value))
