"""SEARCH3: each unit's 文号 are found once (``_Unit.wenhao``) instead of by a regex scan of the clause for every
hit of a 文号 query: the answers stay exactly those of the code before (tests/search_reference.py) — every 文号 of the library as a query, 文号 inside
longer queries, and generated corpora whose units cite 文号 (tiers 1 and 2 beside plain scores, ties included)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import search_reference as reference
from huiqi.services.search import (_Corpus, _Unit, _wenhao_matches, default_index, fold, normalize_query,
                                   wenhao_tokens)
from test_search_same import assert_same


@pytest.fixture(scope="module")
def index():
    return default_index()


def test_each_unit_remembers_exactly_its_wenhao(index):
    for unit in [*index._units, *index._doc_corpus.units]:
        assert unit.wenhao == _wenhao_matches(unit.norm)
        assert unit.wenhao is unit.wenhao  # found once, then kept


def test_every_wenhao_of_the_library_answers_as_before(index):
    numbers = sorted({d.wenhao for d in index.library if d.wenhao})
    assert numbers
    for number in numbers:
        for query in (number, f"{number} 奖励", f"根据{number}的规定，企业", number.replace("〔", "[").replace("〕", "]")):
            for limit in (1, 20, 100):
                assert_same(index, query, limit)
            assert index.search_documents(query, 20) == reference.search_documents(index, query, 20)


_NUMBERS = ["桂工信综合〔2024〕328号", "桂政办发[2024]10号", "南府发〔2023〕5号", "公告2023年第51号", "工信〔2024〕328号"]
_WORDS = ["企业", "技改", "贴息", "奖励", "工业", "根据", "给予", "万元", "的规定"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_NUMBERS + _WORDS), min_size=1, max_size=12).map("".join),
                min_size=1, max_size=40),
       st.lists(st.sampled_from(_NUMBERS), max_size=3),
       st.sampled_from([*_NUMBERS, "企业 " + _NUMBERS[0], _NUMBERS[1] + " 贴息", "技改奖励"]),
       st.integers(1, 50))
def test_corpora_citing_wenhao_rank_and_mark_as_before(texts, document_numbers, query, limit):
    """Units that cite 文号 (tier 1) and documents whose own 文号 is asked (tier 2), with duplicate texts (equal
    scores): the same ranking, and the same snippets, as the code before."""
    from huiqi.services.search import _snippet, _SnippetTerms

    units = [_Unit(f"u{i}", f"d{i % 4}", t, fold(t)) for i, t in enumerate(texts)]
    doc_wenhao = {f"d{k}": (wenhao_tokens(normalize_query(n))[:1] or [[]])[0]  # as SearchIndex builds it
                  for k, n in enumerate(document_numbers)}
    corpus = _Corpus(default_index().analyzer, units, doc_wenhao)
    q = corpus.parse(query)
    got = corpus.rank(q, None, limit)
    want = reference.rank(corpus, q, None)[:limit]
    assert [(i, t, repr(s), m) for i, t, s, m in got] == [(i, t, repr(s), m) for i, t, s, m in want]
    terms = _SnippetTerms.of(q, corpus.idf)
    for i, _t, _s, matched in got:
        snippet = _snippet(units[i], terms, terms.needles(corpus.words.terms[i], corpus.bigrams.terms[i]))
        assert snippet == reference.snippet(units[i], q, matched, corpus.idf)
