"""SEARCH4: the search's JSON body joined from each clause's serialised fields (web/search_json.py) is, byte for byte,
the body the hit dicts gave (``json_bytes({"query", "total", "hits": search_hits(...)})``, itself tested against the
code before SEARCH2 in test_search_same.py): benchmark queries at every limit, the filters, drawn queries, texts
orjson refuses, and the same refusals."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huiqi.interfaces.web import search_json
from huiqi.interfaces.web.presenters import json_bytes, search_hits
from huiqi.interfaces.web.state import WebError
from huiqi.policies.library import STATUSES
from huiqi.services.search import BENCHMARK_QUERIES, LEVELS, default_index


def hit_dicts_body(q, limit, level=None, document=None, status=None) -> bytes:
    hits = search_hits(q, limit, level, document, status)
    return json_bytes({"query": q, "total": len(hits), "hits": hits})


def assert_same(q, limit=20, level=None, document=None, status=None):
    got = search_json.answer(q, limit, level, document, status)
    assert got == hit_dicts_body(q, limit, level, document, status), (q, limit, level, document, status)


@pytest.mark.parametrize("limit", [1, 7, 8, 20, 53, 100])
def test_benchmark_queries_as_the_hit_dicts(limit):
    for q in [*BENCHMARK_QUERIES, "企业", "工业企业 奖励", "", "的", "桂工信综合〔2024〕328号 奖励"]:
        assert_same(q, limit)


def test_filters_as_the_hit_dicts():
    documents = list(default_index().library.documents)[::9]
    for q in [*BENCHMARK_QUERIES[::4], "企业"]:
        for level in LEVELS:
            assert_same(q, 100, level=level)
        for status in STATUSES:
            assert_same(q, 100, status=status)
        for document in documents:
            assert_same(q, 100, document=document)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=12) | st.text(alphabet="".join(u.display for u in default_index()._units[:100]), max_size=8),
       st.integers(1, 100))
def test_drawn_queries_as_the_hit_dicts(q, limit):
    assert_same(q, limit)


def outcome(compute, *args):
    try:
        return compute(*args)
    except Exception as e:  # noqa: BLE001 — the same failure is the same outcome
        return type(e)


def test_a_text_orjson_refuses_has_the_outcome_of_the_general_path():
    for q in ("技改\ud800", "\udfff", "企业\ud800\udc00"):  # lone surrogates: orjson refuses them
        assert outcome(search_json.answer, q, 5) == outcome(hit_dicts_body, q, 5)


def test_refusals_are_in_chinese():
    for kwargs, message in [({"level": "省"}, "层级应为"), ({"status": "作废"}, "状态应为"),
                            ({"document": "nope"}, "没有编号为 nope 的政策文件")]:
        with pytest.raises(WebError, match=message) as e:
            search_json.answer("技改", 20, **kwargs)
        assert e.value.status == 422
