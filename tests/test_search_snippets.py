"""SEARCH4: the snippet's terms from one bit per query term (``_SnippetTerms.needles_of``), one non-overlapping term
marked by ``str.replace`` (``_one_term_snippet``) and the IDF table give the snippets of the code before
(tests/search_reference.py) — on generated corpora with terms that overlap themselves, adjacent and folded
(full-width, upper-case) occurrences, clauses longer and shorter than the window, duplicate texts and 文号."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

import search_reference as reference
from huiqi.services.search import (_Corpus, _one_term_snippet, _snippet, _SnippetTerms, _Unit, _window,
                                   default_index, fold, normalize_query, wenhao_tokens)
from test_search_window import window_reference

_WORDS = ["企业", "技改", "贴息", "奖励", "工业", "设备更新", "专精特新", "研发", "万元", "给予", "企企", "企企企",
          "工业企业", "业企", "技改技改", "ABC", "ａｂｃ", "Abc", "5000", "５０００", "，", "。", "的", "桂工信综合〔2024〕328号",
          "工信〔2024〕328号", "公告2023年第51号"]
_QUERIES = ["企业", "企企", "企企企", "工业企业", "技改贴息", "业企", "abc", "ABC 企业", "5000万元", "技改技改",
            "设备更新 研发 企业", "专精特新企业奖励", "桂工信综合〔2024〕328号", "328号 企业", "公告2023年第51号 奖励",
            "工业企业企业", "给予 万元"]
# every text holds a Chinese word, so each field has postings (a corpus without any makes BM25's average length 0)
_texts = st.lists(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=90).map(lambda ws: "".join(ws) + "研发"),
                  min_size=1, max_size=30)


def _corpus(texts: list[str], doc_numbers=("桂工信综合〔2024〕328号",)) -> tuple[list[_Unit], _Corpus]:
    units = [_Unit(f"u{i}", f"d{i % 3}", t, fold(t)) for i, t in enumerate(texts)]
    doc_wenhao = {f"d{k}": (wenhao_tokens(normalize_query(n))[:1] or [[]])[0] for k, n in enumerate(doc_numbers)}
    return units, _Corpus(default_index().analyzer, units, doc_wenhao)


@settings(max_examples=150, deadline=None)
@given(_texts, st.sampled_from(_QUERIES), st.integers(1, 60))
def test_generated_corpora_snippets_as_before(texts, query, limit):
    units, corpus = _corpus(texts)
    q = corpus.parse(query)
    terms = _SnippetTerms.of(q, corpus.idf)
    ranked = corpus.rank(q, None, limit)
    needles = terms.needles_of([i for i, *_ in ranked], corpus)
    for (i, _t, _s, matched), chosen in zip(ranked, needles):
        assert _snippet(units[i], terms, chosen) == reference.snippet(units[i], q, matched, corpus.idf), i


@settings(max_examples=150, deadline=None)
@given(_texts, st.sampled_from(_QUERIES))
def test_needles_by_bits_equal_needles_by_sets(texts, query):
    """Every unit of the corpus (more than the eight hits below which the sets are used directly)."""
    units, corpus = _corpus(texts * 8)
    terms = _SnippetTerms.of(corpus.parse(query), corpus.idf)
    everyone = list(range(len(units)))
    assert terms.needles_of(everyone, corpus) == [
        terms.needles(corpus.words.terms[i], corpus.bigrams.terms[i]) for i in everyone]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["企业", "企", "业", "工", "技改", "〖", "〗", "A", " "]), max_size=120).map("".join),
       st.sampled_from(["企业", "技改", "工企", "业企"]))
def test_one_term_snippet_marks_as_the_general_path(text, needle):
    """A term that cannot overlap itself, in a text of any length: the runs of adjacent occurrences marked once."""
    unit = _Unit("u", "d", text, text)
    weight = 1.5
    terms = _SnippetTerms([(needle, weight)], [], {}, frozenset(), frozenset())
    general = _SnippetTerms([(needle, weight)], [], {}, frozenset(), frozenset([needle]))  # forces the general path
    assert _one_term_snippet(text, needle, weight) == _snippet(unit, general, [(needle, weight)])
    assert _snippet(unit, terms, [(needle, weight)]) == _snippet(unit, general, [(needle, weight)])


def test_idf_table_equals_the_formula():
    corpus = default_index()._corpus
    n = len(corpus.units)
    for term in [*list(corpus.words.postings)[:3000], *list(corpus.bigrams.postings)[:3000], "wh:none|2024|1"]:
        dfs = [len(f.postings[term]) for f in (corpus.words, corpus.bigrams) if term in f.postings]
        want = max(math.log(1 + (n - df + 0.5) / (df + 0.5)) for df in dfs) if dfs else math.log(1 + (n + 0.5) / 0.5)
        assert corpus.idf(term) == want


@st.composite
def _dense_spans(draw):
    """Many short spans close together in a clause a little longer than the window (every window is cut at its
    end, many start at the text's end clamp): the cases where only the last span is cut."""
    length = draw(st.integers(121, 400))
    merged, pos = [], draw(st.integers(0, 5))
    while pos < length:
        size = draw(st.integers(1, 6))
        if pos + size > length:
            break
        merged.append([pos, pos + size, draw(st.sampled_from([0.3, 1.0, 2.5, 7.123456789]))])
        pos += size + draw(st.integers(1, 9))
    return merged, length


@settings(max_examples=300, deadline=None)
@given(_dense_spans())
def test_window_over_dense_spans_equals_the_quadratic_scan(case):
    merged, length = case
    assert _window(merged, length) == window_reference(merged, length)
