"""SEARCH2: the faster clause search (numpy BM25, top-``limit`` selection, snippet terms once per search) answers
exactly as the code before it (tests/search_reference.py): the same hits in the same order, the same scores'
text, the same snippets — on every benchmark query with limits and filters, on hypothesis-drawn queries over the
demo library, on generated corpora full of ties, and the same refusals for bad input."""

from __future__ import annotations

import random

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import search_reference as reference
from huiqi.policies.library import STATUSES
from huiqi.services.search import (BENCHMARK_QUERIES, LEVELS, Analyzer, _Corpus, _ParsedQuery, _Unit,
                                   default_index, fold)


@pytest.fixture(scope="module")
def index():
    return default_index()


def answer(hits) -> bytes:
    """What the web answer is made of: every field, the scores as JSON writes them."""
    return orjson.dumps([h.to_dict() for h in hits])


def assert_same(index, query, limit=20, **filters):
    new, old = index.search(query, limit, **filters), reference.search(index, query, limit, **filters)
    assert answer(new) == answer(old), (query, limit, filters)
    assert repr(new) == repr(old)


@pytest.mark.parametrize("limit", [1, 2, 5, 20, 37, 100])
def test_every_benchmark_query_answers_as_before(index, limit):
    for query in [*BENCHMARK_QUERIES, "企业", "工业企业 奖励", "桂工信综合〔2024〕328号 奖励", "桂政办发[2024]10号 企业"]:
        assert_same(index, query, limit)
        assert index.search_documents(query, limit) == reference.search_documents(index, query, limit)


def test_filters_answer_as_before(index):
    documents = list(index.library.documents)[::7]
    for query in BENCHMARK_QUERIES[::3] + ["企业"]:
        for level in LEVELS:
            assert_same(index, query, 50, level=level)
        for status in STATUSES:
            assert_same(index, query, 50, status=status)
        for document in documents:
            assert_same(index, query, 50, document=document)
            assert_same(index, query, 10, level="市", document=document)


_library_text = "".join(u.display for u in default_index()._units[:200])
_pieces = st.one_of(
    st.text(alphabet=_library_text, min_size=1, max_size=8),  # the library's own characters
    st.sampled_from([*BENCHMARK_QUERIES, "〔2024〕", "[2024]10号", "第51号", "公告2023年第51号", "ＡＢＣ１２３"]),
    st.text(alphabet=" \t\n\u3000,.;:!?，。；：！？、（）()【】〖〗《》“”\"'\x00-—…", max_size=5),
    st.text(max_size=6),  # any code points: mixed scripts, NUL, surrogates' neighbours, emoji
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_pieces, max_size=12).map("".join), st.integers(1, 100))
def test_drawn_queries_answer_as_before(query, limit):
    index = default_index()
    assert_same(index, query, limit)
    assert index.search_documents(query, limit) == reference.search_documents(index, query, limit)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=_library_text, min_size=150, max_size=400), st.integers(1, 100))
def test_very_long_queries_answer_as_before(query, limit):
    assert_same(default_index(), query, limit)


def test_bad_input_is_refused_as_before(index):
    for kwargs, message in [({"level": "省"}, "层级应为"), ({"status": "作废"}, "状态应为"),
                            ({"document": "nope"}, "没有编号为 nope 的政策文件")]:
        with pytest.raises(ValueError, match=message):
            index.search("技改", 20, **kwargs)
    for limit in (0, -1):
        assert index.search("技改", limit) == [] and index.search_documents("技改", limit) == []
    for empty in ("", "   ", "的", "，。", "\x00"):
        assert_same(index, empty)


def test_generated_corpora_with_ties_rank_as_before():
    """Many identical and near-identical units: equal scores are ordered by unit index, and the top-limit cut
    keeps the units a rounded score ties with."""
    analyzer = default_index().analyzer
    rng = random.Random(9)
    words = ["企业", "技改", "贴息", "奖励", "工业", "设备更新", "专精特新", "研发", "万元", "给予"]
    for _ in range(20):
        texts = []
        for _ in range(rng.randint(1, 120)):
            text = "".join(rng.choice(words) for _ in range(rng.randint(1, 30)))
            texts += [text] * rng.randint(1, 4)  # duplicates: exactly equal scores
        units = [_Unit(f"u{i}", f"d{i % 5}", t, fold(t)) for i, t in enumerate(texts)]
        corpus = _Corpus(analyzer, units, {})
        for query in ("企业", "技改贴息", "工业企业奖励", "设备更新 研发", "专精特新企业"):
            q = corpus.parse(query)
            allowed = set(rng.sample(range(len(units)), k=len(units) // 2)) if rng.random() < 0.3 else None
            for limit in (1, 3, 10, 1000):
                got = corpus.rank(q, allowed, limit)
                want = reference.rank(corpus, q, allowed)[:limit]
                assert [(i, t, repr(s), m) for i, t, s, m in got] == [(i, t, repr(s), m) for i, t, s, m in want]


def test_rank_gives_python_floats(index):
    q = index._corpus.parse("技改")
    assert isinstance(q, _ParsedQuery)
    assert all(type(s) is float and type(i) is int and type(t) is int for i, t, s, _m in index._corpus.rank(q, None, 5))
    assert isinstance(index.analyzer, Analyzer)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([0.0, 1.0, 1.0000000001, 1.0000000004, 1.0000000006, 0.9999999996, 2.5, 7.25]),
                min_size=1, max_size=60), st.integers(1, 70))
def test_the_top_limit_cut_keeps_units_that_tie_once_rounded(values, limit):
    """Scores that differ below the 9th decimal tie in the order and are then ordered by unit index: the cut at
    the limit-th exact score must keep every unit the rounded key places in the top ``limit``."""
    import numpy as np

    from huiqi.services.search import TIER_BONUS

    analyzer = default_index().analyzer
    units = [_Unit(f"u{i}", "d", "企业", "企业") for i in range(len(values))]
    corpus = _Corpus(analyzer, units, {})

    calls = []

    def injected(terms, weight, scores, hit):  # every unit scored once with the drawn values (0.0 = not found)
        if not calls:
            scores += np.array(values)
            hit |= np.array(values) > 0
        calls.append(terms)

    corpus.words.score = injected
    corpus.bigrams.score = lambda *a: None
    got = [(i, s) for i, _t, s, _m in corpus.rank(corpus.parse("企业"), None, limit)]
    found = [(i, v + TIER_BONUS[0]) for i, v in enumerate(values) if v > 0]
    want = sorted(found, key=lambda r: (-round(r[1], 9), r[0]))[:limit]
    assert got == want
