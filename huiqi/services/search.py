"""Clause-level search over the policy library (政策条款检索).

How it works (docs/search.md has the details and the measured figures):

* **Normalisation** — full-width letters and digits become half-width, ASCII is lower-cased, whitespace is
  removed except between two ASCII letters/digits (the texts put spaces around numbers: "5000 万元" →
  "5000万元"; line breaks fall inside words: "工业 经济" → "工业经济"). The mapping is character for character,
  so a position in the normalised text is the same position in the displayed text (for the snippet).
* **文号** — every form (〔2024〕, [2024], (2024), （2024）, "328 号") becomes one canonical token
  ``wh:<机关代字>|<年份>|<序号>``; because the characters before the bracket may run into the sentence
  ("根据桂工信综合〔2024〕328号"), every suffix of the 机关代字 is indexed, and a query uses the longest suffix
  that the index knows. A document's own 文号 (documents.yaml) is attached to each of its clauses.
* **Words** — rjieba (a private ``Jieba`` instance, so the process-wide default dictionary is untouched) with the
  domain dictionary ``search_dict.txt`` added (技改, 贴息, 增产增效, 专精特新, 小巨人 … are one word);
  documents are cut in search mode (a long word also yields its dictionary sub-words), queries in default mode;
  a dictionary term of three or more characters found in the text is counted even where the segmenter split it.
* **Bigrams** — every two consecutive Chinese characters are indexed as well, so any two-character query
  matches even when segmentation split it differently ("技改" inside "千企技改").
* **Ranking** — BM25 (k1 = 1.2, b = 0.75) over both fields, each term's postings also as numpy arrays (query words
  weigh 1.0; the shorter words inside a long query word 0.5; bigrams 0.5; synonyms 0.3). An exact 文号 match
  ranks first: clauses of the document carrying that 文号, then clauses citing it, then the rest by score.

Plain dicts rather than SQLite FTS5: the whole library is about 1,000 clauses and 140,000 characters, so the
postings fit in a few megabytes and a query touches a few thousand entries (well under a millisecond); the
文号 tiers, the weighted fields and the synonym weights are a dozen lines here but awkward in FTS5's
``bm25()``; and nothing is written to disk, so there is no index file to rebuild or to go stale.

Services never import interfaces; the CLI is ``huiqi.interfaces.cli_search``.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path

import numpy as np
import rjieba

from huiqi.policies.library import STATUSES, Library, default_library

DICT_PATH = Path(__file__).with_name("search_dict.txt")

LEVELS = ("国家", "自治区", "市")

K1, B = 1.2, 0.75
W_WORD, W_SUBWORD, W_BIGRAM, W_SYNONYM = 1.0, 0.5, 0.5, 0.3
SNIPPET_WIDTH = 120  # characters of clause text shown around the match
TIER_BONUS = {2: 100.0, 1: 50.0, 0: 0.0}  # added to the displayed score of 文号 matches (ordering uses the tier)
_BONUS = np.array([TIER_BONUS[0], TIER_BONUS[1], TIER_BONUS[2]])  # indexed by tier

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RUN = re.compile(f"[{_CJK}]+")
_HAS_CONTENT = re.compile(f"[{_CJK}0-9a-z]")
_ASCII_ALNUM = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_WS = re.compile(r"\s+")
_MARKDOWN = re.compile(r"^\s*#+\s*|\*\*", re.MULTILINE)

# character-for-character folding: full-width digits/letters → ASCII, ASCII upper → lower
_FOLD = {c: c - 0xFEE0 for c in range(0xFF10, 0xFF1A)}
_FOLD.update({c: c - 0xFEE0 + 32 for c in range(0xFF21, 0xFF3B)})
_FOLD.update({c: c - 0xFEE0 for c in range(0xFF41, 0xFF5B)})
_FOLD.update({c: c + 32 for c in range(0x41, 0x5B)})

# 文号: 〔2024〕 [2024] (2024) （2024） 【2024】 ［2024］ ﹝2024﹞; and 公告2023年第51号
_OPEN, _CLOSE = r"[〔\[（(【［﹝]", r"[〕\]）)】］﹞]"
_WENHAO = re.compile(rf"([{_CJK}]{{0,12}}){_OPEN}((?:19|20)\d\d){_CLOSE}第?(\d{{1,5}})号")
_GONGGAO = re.compile(rf"([{_CJK}]{{0,12}}?公告)((?:19|20)\d\d)年第(\d{{1,5}})号")

# single characters that carry no meaning on their own in a query (dropped when the query has other words)
_QUERY_STOP = frozenset("的了和与及或等在对为是有按以将于之其中并把被从向给由也")


# -- text handling ---------------------------------------------------------------------------------------
def clean(text: str) -> str:
    """The display form of a text: markdown markers dropped, typesetting whitespace removed.

    Whitespace is removed except between two ASCII letters/digits (kept as one space). Source 【】 become 〖〗
    so that 【】 in a snippet always marks a match.
    """
    text = _MARKDOWN.sub("", text).replace("【", "〖").replace("】", "〗").replace("\u3000", " ")

    def repl(m: re.Match) -> str:
        s, e = m.start(), m.end()
        if 0 < s and e < len(m.string) and m.string[s - 1] in _ASCII_ALNUM and m.string[e] in _ASCII_ALNUM:
            return " "
        return ""

    return _WS.sub(repl, text).strip()


def fold(text: str) -> str:
    """Full-width letters/digits → half-width, ASCII → lower case; one character for one character."""
    return text.translate(_FOLD)


def normalize_query(text: str) -> str:
    return fold(clean(text))


def _wenhao_matches(norm: str) -> list[tuple[int, int, list[str]]]:
    """(start, end, canonical tokens) for each 文号 in a normalised text.

    The tokens run from the longest 机关代字 suffix to the shortest (down to none for the bracket form, down to
    "公告" for the 公告 form), because the characters before the bracket may belong to the sentence.
    """
    out = []
    for pattern, kind, min_len in ((_WENHAO, "wh", 0), (_GONGGAO, "wg", 2)):
        for m in pattern.finditer(norm):
            prefix, rest = m.group(1), f"{int(m.group(2))}|{int(m.group(3))}"
            tokens = [f"{kind}:{prefix[i:]}|{rest}" for i in range(0, len(prefix) - min_len + 1)]
            out.append((m.start(), m.end(), tokens))
    return sorted(out)


def wenhao_tokens(norm: str) -> list[list[str]]:
    """For each 文号 in a normalised text, its canonical tokens (longest 机关代字 suffix first)."""
    return [tokens for _s, _e, tokens in _wenhao_matches(norm)]


def canonical_wenhao(text: str) -> str | None:
    """The canonical token of a 文号 as written anywhere (full 机关代字), or None if the text has no 文号."""
    found = wenhao_tokens(normalize_query(text))
    return found[0][0] if found else None


def _bigrams(norm: str) -> list[str]:
    out = []
    for run in _CJK_RUN.findall(norm):
        out.extend(run[i:i + 2] for i in range(len(run) - 1))
    return out


def _load_dictionary(path: Path) -> tuple[list[tuple[str, int | None]], dict[str, list[str]]]:
    """Terms (with optional frequency) and synonyms (``技改=技术改造``) from the dictionary file."""
    terms: list[tuple[str, int | None]] = []
    synonyms: dict[str, list[str]] = defaultdict(list)
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if "=" in line:
            left, right = (fold(s.strip()) for s in line.split("=", 1))
            synonyms[left].append(right)
            synonyms[right].append(left)
            terms += [(left, None), (right, None)]
            continue
        parts = line.split()
        terms.append((fold(parts[0]), int(parts[1]) if len(parts) > 1 else None))
    return terms, dict(synonyms)


class Analyzer:
    """Segmentation with the domain dictionary; the same normalisation for documents and queries."""

    def __init__(self, dictionary: Path = DICT_PATH):
        self.jieba = rjieba.Jieba()  # private instance: the global default dictionary stays as it is
        terms, self.synonyms = _load_dictionary(dictionary)
        for term, freq in terms:
            self.jieba.add_word(term, freq, None)
        self.terms = sorted({t for t, _ in terms if len(t) >= 2})
        self.long_terms = [t for t in self.terms if len(t) >= 3]

    def document_words(self, norm: str) -> Counter:
        words = Counter(w for w in self.jieba.cut_for_search(norm, False) if _HAS_CONTENT.search(w))
        for term in self.long_terms:  # a dictionary term the segmenter split in this context still counts
            if term in norm:
                n = norm.count(term)
                if words[term] < n:
                    words[term] = n
        return words

    def query_words(self, norm: str) -> list[str]:
        words = [w for w in self.jieba.cut(norm, False) if _HAS_CONTENT.search(w)]
        content = [w for w in words if w not in _QUERY_STOP]
        return list(dict.fromkeys(content or words))

    def query_subwords(self, words: list[str]) -> list[str]:
        """The shorter words inside the query's long words (规上工业企业 → 规上, 工业, 企业): the domain terms
        inside it and its cut by the segmenter's own dictionary (so no word straddles a domain term: not 上工)."""
        out: list[str] = []
        for word in words:
            if len(word) < 3:
                continue
            out += [t for t in self.terms if t != word and t in word]
            out += [w for w in rjieba.cut_for_search(word, False) if len(w) > 1 and _HAS_CONTENT.search(w)]
        return list(dict.fromkeys(w for w in out if w not in words))


# -- the index -------------------------------------------------------------------------------------------
@dataclass
class Hit:
    clause_id: str
    document_id: str
    document_title: str
    wenhao: str | None
    level: str
    label: str  # the clause's own numbering, e.g. "六、21."
    snippet: str  # text around the match, matched terms in 【】
    score: float  # display only
    measures: list[str] = field(default_factory=list)  # measure ids encoded from this clause
    status: str = ""  # 有效 / 已失效 / 征求意见稿, as of the search

    def to_dict(self) -> dict:
        # asdict's deep copies were a tenth of an uncached search served over HTTP
        return {**self.__dict__, "measures": list(self.measures)}


@dataclass
class _Field:
    """One indexed field's postings. ``arrays`` holds each term's postings as numpy arrays (unit indices, term
    frequencies as floats, the BM25 denominators tf + norm), so a query's BM25 is a few array operations per term
    instead of a Python loop over every posting; ``terms`` is each unit's set of terms (which of a query's terms a
    hit matched)."""

    postings: dict[str, list[tuple[int, int]]]
    lengths: list[int]
    avg: float
    terms: list[frozenset[str]] = field(default_factory=list)
    arrays: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)
    norms: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @classmethod
    def build(cls, counters: list[Counter]) -> _Field:
        postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for i, counter in enumerate(counters):
            for term, tf in counter.items():
                postings[term].append((i, tf))
        lengths = [sum(c.values()) for c in counters]
        avg = (sum(lengths) / len(lengths)) if lengths else 1.0
        # each unit's BM25 length norm: the same Python float operations as per posting before
        norms = np.array([K1 * (1 - B + B * n / avg) for n in lengths], dtype=float)
        arrays = {}
        for term, plist in postings.items():  # each posting's BM25 denominator (tf + norm) too: the same addition
            units, tf = np.array([i for i, _ in plist], dtype=np.intp), np.array([tf for _, tf in plist], dtype=float)
            arrays[term] = (units, tf, tf + norms[units])
        return cls(dict(postings), lengths, avg, [frozenset(c) for c in counters], arrays, norms)

    def score(self, terms, weight: float, scores: np.ndarray, hit: np.ndarray) -> None:
        """Add each term's BM25 contribution to ``scores`` (one array per unit), term after term: every unit's
        score is the same sum, in the same order, of the same floats as the per-posting loop gave (numpy's
        element-wise ``*``, ``/`` and ``+`` are IEEE double operations, evaluated left to right as before)."""
        n = len(self.lengths)
        for term in terms:
            arrays = self.arrays.get(term)
            if arrays is None:
                continue
            units, tf, denominator = arrays
            df = len(units)
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            w_idf, k1_1 = weight * idf, K1 + 1
            contribution = w_idf * tf
            contribution *= k1_1  # in place: (w_idf * tf) * k1_1 / (tf + norm), left to right as before
            contribution /= denominator
            scores[units] += contribution
            hit[units] = True


@dataclass
class _Unit:
    """One searchable unit: a clause (or, for document search, a document)."""

    key: str
    document_id: str
    display: str  # cleaned text
    norm: str  # folded display text, same length
    plain: bool = field(init=False)  # folding changed nothing: a match in ``norm`` is the same text in ``display``

    def __post_init__(self):
        self.plain = self.display == self.norm

    @cached_property
    def wenhao(self) -> list[tuple[int, int, list[str]]]:
        """The 文号 written in the unit (``_wenhao_matches``), found on first use and kept: a 文号 query's snippets
        scanned every hit's whole clause with the regex, ~30–45 µs a hit (docs/decisions.md SEARCH3-3)."""
        return _wenhao_matches(self.norm)


@dataclass
class _ParsedQuery:
    words: list[str]
    subwords: list[str]
    bigrams: list[str]
    synonyms: list[str]
    wenhao: list[str]  # canonical tokens the index knows

    @property
    def empty(self) -> bool:
        return not (self.words or self.subwords or self.bigrams or self.synonyms or self.wenhao)

    @cached_property
    def word_set(self) -> set[str]:  # the terms looked up in the words field (a set: `&` then gives a new set)
        return {*self.words, *self.subwords, *self.synonyms}

    @cached_property
    def bigram_set(self) -> set[str]:
        return set(self.bigrams)


class _Corpus:
    """BM25 over words and bigrams, with 文号 tokens, for a list of units."""

    def __init__(self, analyzer: Analyzer, units: list[_Unit], doc_wenhao: dict[str, list[str]]):
        self.analyzer, self.units = analyzer, units
        word_counts, bigram_counts = [], []
        self.wh_text: dict[str, set[int]] = defaultdict(set)
        for i, u in enumerate(units):
            word_counts.append(self.analyzer.document_words(u.norm))
            bigram_counts.append(Counter(_bigrams(u.norm)))
            for tokens in wenhao_tokens(u.norm):
                for t in tokens:
                    self.wh_text[t].add(i)
        self.words = _Field.build(word_counts)
        self.bigrams = _Field.build(bigram_counts)
        self.wh_doc: dict[str, set[str]] = defaultdict(set)
        for doc_id, tokens in doc_wenhao.items():
            for t in tokens:
                self.wh_doc[t].add(doc_id)
        n = len(units)  # the IDF of each document frequency, the same expression as per term before
        self._idf_of_df = [math.log(1 + (n - df + 0.5) / (df + 0.5)) for df in range(n + 1)]

    def idf(self, term: str) -> float:
        """How rare a term is (the larger of its word and bigram IDF, i.e. that of the smaller document frequency);
        文号 tokens count as rarest (a document frequency of 0)."""
        dfs = [len(p) for p in (self.words.postings.get(term), self.bigrams.postings.get(term)) if p is not None]
        return self._idf_of_df[min(dfs) if dfs else 0]

    def parse(self, query: str) -> _ParsedQuery:
        norm = normalize_query(query or "")
        wenhao: list[str] = []
        rest = norm
        for s, e, tokens in _wenhao_matches(norm):
            known = next((t for t in tokens if t in self.wh_text or t in self.wh_doc), None)
            if known:  # an unknown 文号 is searched as ordinary text
                wenhao.append(known)
                rest = rest[:s] + " " * (e - s) + rest[e:]
        words = self.analyzer.query_words(rest) if rest.strip() else []
        subwords = self.analyzer.query_subwords(words)
        bigrams = list(dict.fromkeys(b for b in _bigrams(rest) if not (set(b) & {"的", "了"})))
        synonyms = [s for w in words for s in self.analyzer.synonyms.get(w, []) if s not in words]
        return _ParsedQuery(words, subwords, bigrams, list(dict.fromkeys(synonyms)), list(dict.fromkeys(wenhao)))

    def ranked(self, q: _ParsedQuery, allowed: set[int] | None, limit: int) -> list[tuple[int, int, float]]:
        """The best ``limit`` of (unit index, tier, score), best first: ordered by tier, then score rounded to 9
        places (descending), then unit index."""
        n = len(self.units)
        scores, hit = np.zeros(n), np.zeros(n, dtype=bool)
        self.words.score(q.words, W_WORD, scores, hit)
        self.words.score(q.subwords, W_SUBWORD, scores, hit)
        self.bigrams.score(q.bigrams, W_BIGRAM, scores, hit)
        self.words.score(q.synonyms, W_SYNONYM, scores, hit)
        tiers = np.zeros(n, dtype=np.int8)
        for token in q.wenhao:
            docs = self.wh_doc.get(token, set())
            for i, u in enumerate(self.units):
                if u.document_id in docs:
                    tiers[i] = 2
            for i in self.wh_text.get(token, ()):
                tiers[i] = max(tiers[i], 1)
        hit |= tiers > 0
        if allowed is not None:
            hit &= self._mask(allowed)
        found = np.flatnonzero(hit)
        totals = scores[found] + _BONUS[tiers[found]]  # the same float additions as score + TIER_BONUS[tier]
        found_tiers = tiers[found]
        if len(found) > limit:
            # the limit-th unit by exact score; a unit that can still be in the top ``limit`` once scores are
            # rounded has a higher tier or, in that tier, a rounded score at least the limit-th's (rounding is
            # monotone), so it is within 1e-6 of it: sort only those with the rounded key
            order = np.lexsort((found, -totals, -found_tiers))
            kth = order[limit - 1]
            tier_k, total_k = found_tiers[kth], totals[kth]
            keep = (found_tiers > tier_k) | ((found_tiers == tier_k) & (totals >= total_k - 1e-6))
            found, totals, found_tiers = found[keep], totals[keep], found_tiers[keep]
        return sorted(zip(found.tolist(), found_tiers.tolist(), totals.tolist()),
                      key=lambda r: (-r[1], -round(r[2], 9), r[0]))[:limit]

    def rank(self, q: _ParsedQuery, allowed: set[int] | None, limit: int) -> list[tuple[int, int, float, set]]:
        """``ranked`` with the query terms each unit matched (what the per-posting loop gave)."""
        return [(i, tier, total, self._matched(i, q)) for i, tier, total in self.ranked(q, allowed, limit)]

    def _mask(self, allowed: set[int]) -> np.ndarray:
        mask = np.zeros(len(self.units), dtype=bool)
        mask[list(allowed)] = True
        return mask

    def _matched(self, i: int, q: _ParsedQuery) -> set:
        """The query terms unit ``i`` matched (the snippet marks these): those of its words and bigrams, and the
        文号 tokens written in its text."""
        matched = q.word_set & self.words.terms[i]
        if q.bigrams:
            matched |= q.bigram_set & self.bigrams.terms[i]
        for t in q.wenhao:
            if i in self.wh_text.get(t, ()):
                matched.add(t)
        return matched


class SearchIndex:
    """The searchable library: built once from the policy library and the rule files."""

    def __init__(self, library: Library | None = None, measures_by_clause: dict[str, list[str]] | None = None,
                 dictionary: Path = DICT_PATH):
        started = time.perf_counter()
        self.library = library or default_library()
        if measures_by_clause is None:
            from huiqi.rules.loader import default_rules

            measures_by_clause = defaultdict(list)
            for measure, _file in default_rules().measures():
                for cid in measure.clauses:
                    if measure.id not in measures_by_clause[cid]:
                        measures_by_clause[cid].append(measure.id)
        self.measures_by_clause = dict(measures_by_clause)
        self.analyzer = Analyzer(dictionary)

        doc_wenhao = {d.id: (wenhao_tokens(normalize_query(d.wenhao))[:1] or [[]])[0] if d.wenhao else []
                      for d in self.library}
        self.clauses = []
        units = []
        for d in self.library:
            for c in d.clauses:
                display = clean(c.text)
                units.append(_Unit(c.id, d.id, display, fold(display)))
                self.clauses.append(c)
        self._units = units
        # what every hit of a clause shows besides its snippet, score and status, looked up once
        self._hit_parts = [(self.library.document(u.document_id), c.id, c.label,
                            tuple(self.measures_by_clause.get(c.id, ()))) for u, c in zip(units, self.clauses)]
        self._corpus = _Corpus(self.analyzer, units, doc_wenhao)
        self._by_document: dict[str, set[int]] = defaultdict(set)
        self._by_level: dict[str, set[int]] = defaultdict(set)
        for i, u in enumerate(units):
            self._by_document[u.document_id].add(i)
            self._by_level[self.library.document(u.document_id).level].add(i)

        doc_units = []
        for d in self.library:
            parts = [d.title, d.wenhao or "", d.issuer or "", " ".join(d.topics)]
            display = clean("\n".join(parts))
            doc_units.append(_Unit(d.id, d.id, display, fold(display)))
        self._doc_corpus = _Corpus(self.analyzer, doc_units, doc_wenhao)
        self.build_seconds = time.perf_counter() - started

    # -- clauses -----------------------------------------------------------------------------------------
    def search(self, query: str, limit: int = 20, level: str | None = None, document: str | None = None,
               status: str | None = None, as_of: date | None = None) -> list[Hit]:
        """Clauses matching the query, best first. Filters: 层级 (国家/自治区/市), 文件编号, 状态 (有效/已失效/征求意见稿,
        as of ``as_of``, today by default). An empty or meaningless query gives []."""
        hits = []
        for i, snippet, score, state in self.search_rows(query, limit, level, document, status, as_of):
            d, clause_id, label, measures = self._hit_parts[i]
            hits.append(Hit(clause_id, d.id, d.title, d.wenhao, d.level, label, snippet, score, list(measures), state))
        return hits

    def search_rows(self, query: str, limit: int = 20, level: str | None = None, document: str | None = None,
                    status: str | None = None, as_of: date | None = None) -> list[tuple[int, str, float, str]]:
        """``search`` as (clause index, snippet, score, status) rows: what differs between two searches' hits of one
        clause; the rest is ``hit_fields(index)``. The web answer builds its JSON from these (SEARCH4)."""
        level, document, status = level or None, document or None, status or None
        if level is not None and level not in LEVELS:
            raise ValueError(f"层级应为 {'、'.join(LEVELS)} 之一，收到“{level}”")
        if status is not None and status not in STATUSES:
            raise ValueError(f"状态应为 {'、'.join(STATUSES)} 之一，收到“{status}”")
        if document is not None and document not in self.library.documents:
            raise ValueError(f"没有编号为 {document} 的政策文件")
        if limit <= 0:
            return []
        corpus = self._corpus
        q = corpus.parse(query)
        if q.empty:
            return []
        allowed = self._allowed(level, document, status, as_of)
        if allowed is not None and not allowed:
            return []
        rows = []
        terms = _SnippetTerms.of(q, corpus.idf)
        as_of = as_of or date.today()  # what status() takes for None; asked once, not once per document
        statuses: dict[str, str] = {}  # each document's status once per search, not once per hit
        ranked = corpus.ranked(q, allowed, limit)
        for (i, _tier, score), needles in zip(ranked, terms.needles_of([r[0] for r in ranked], corpus)):
            u = self._units[i]
            state = statuses.get(u.document_id)
            if state is None:
                state = statuses[u.document_id] = self._hit_parts[i][0].status(as_of)
            rows.append((i, _snippet(u, terms, needles), round(score, 4), state))
        return rows

    def hit_fields(self, i: int) -> dict:
        """What every hit of clause ``i`` shows besides its snippet, score and status, in the order of ``Hit``."""
        d, clause_id, label, measures = self._hit_parts[i]
        return {"clause_id": clause_id, "document_id": d.id, "document_title": d.title, "wenhao": d.wenhao,
                "level": d.level, "label": label, "measures": list(measures)}

    def _allowed(self, level, document, status, as_of) -> set[int] | None:
        allowed: set[int] | None = None
        if level is not None:
            allowed = set(self._by_level.get(level, ()))
        if document is not None:
            docs = self._by_document.get(document, set())
            allowed = set(docs) if allowed is None else allowed & docs
        if status is not None:
            chosen = set()
            for d in self.library:
                if d.status(as_of) == status:
                    chosen |= self._by_document.get(d.id, set())
            allowed = chosen if allowed is None else allowed & chosen
        return allowed

    # -- documents ---------------------------------------------------------------------------------------
    def search_documents(self, query: str, limit: int = 20) -> list[tuple[str, float]]:
        """Documents by title, 文号, issuer and topics: [(document id, score)], best first (exact 文号 first)."""
        if limit <= 0:
            return []
        q = self._doc_corpus.parse(query)
        if q.empty:
            return []
        return [(self._doc_corpus.units[i].key, round(score, 4))
                for i, _tier, score in self._doc_corpus.ranked(q, None, limit)]


@dataclass
class _SnippetTerms:
    """What a query marks in its snippets, with each term's weight (its IDF), worked out once per search rather
    than once per hit: its words of two characters or more (any length for a one-word query), sorted; its
    bigrams, sorted (shown only where no word matched, else 工业企业 would mark 业企 in 行业企业); its 文号 tokens."""

    words: list[tuple[str, float]]
    bigrams: list[tuple[str, float]]
    wenhao: dict[str, float]
    both: frozenset[str]  # the query's terms looked up in both fields (a two-character word is also a bigram)
    self_overlapping: frozenset[str]  # terms that can overlap themselves (企企, aba): their occurrences merge

    @classmethod
    def of(cls, q: _ParsedQuery, idf) -> _SnippetTerms:
        words = {t for t in (*q.words, *q.subwords, *q.synonyms) if len(t) > 1 or len(q.words) == 1}
        return cls([(t, idf(t)) for t in sorted(words)], [(t, idf(t)) for t in sorted(set(q.bigrams))],
                   {t: idf(t) for t in q.wenhao}, frozenset(q.word_set & q.bigram_set),
                   frozenset(t for t in (*words, *q.bigrams) if any(t[:k] == t[-k:] for k in range(1, len(t)))))

    def needles(self, word_terms: frozenset, bigram_terms: frozenset) -> list[tuple[str, float]]:
        """What a unit's snippet marks: the words it matched, or else the bigrams it matched. ``word_terms`` and
        ``bigram_terms`` are the unit's indexed terms: a query term the unit has is one it matched, and a term asked
        both as a word and as a bigram is matched if the unit has it in either field."""
        both = self.both
        return ([tw for tw in self.words if tw[0] in word_terms or tw[0] in both and tw[0] in bigram_terms]
                or [tw for tw in self.bigrams if tw[0] in bigram_terms or tw[0] in both and tw[0] in word_terms])

    def needles_of(self, units: list[int], corpus: _Corpus) -> list[list[tuple[str, float]]]:
        """``needles`` of each unit, from one bit per query term set in an array over the corpus (a few array
        operations per term instead of a Python test per term and hit); hits with the same bits share one list."""
        words, bigrams = corpus.words, corpus.bigrams
        if len(units) < 8 or len(self.words) > 62 or len(self.bigrams) > 62:  # not worth it, or bits run out
            return [self.needles(words.terms[i], bigrams.terms[i]) for i in units]
        word_bits = self._bits(self.words, words, bigrams, units)
        bigram_bits = self._bits(self.bigrams, bigrams, words, units) if 0 in word_bits else word_bits
        chosen: dict[tuple[int, int], list[tuple[str, float]]] = {}
        out = []
        for key in zip(word_bits, bigram_bits):
            needles = chosen.get(key)
            if needles is None:
                pairs, bits = (self.words, key[0]) if key[0] else (self.bigrams, key[1])
                needles = chosen[key] = [tw for j, tw in enumerate(pairs) if bits >> j & 1]
            out.append(needles)
        return out

    def _bits(self, pairs: list[tuple[str, float]], own: _Field, other: _Field, units: list[int]) -> list[int]:
        """For each unit, bit j set if it has term j of ``pairs`` in ``own`` (or in ``other``, for a term of both)."""
        bits = np.zeros(len(own.terms), dtype=np.int64)
        for j, (term, _w) in enumerate(pairs):
            for f in (own, other) if term in self.both else (own,):
                arrays = f.arrays.get(term)
                if arrays is not None:
                    bits[arrays[0]] |= 1 << j
        return bits[units].tolist()


def _snippet(unit: _Unit, terms: _SnippetTerms, needles: list[tuple[str, float]]) -> str:
    """About SNIPPET_WIDTH characters of the clause where the rarest matched terms are densest, matches in 【】.
    ``needles``: the (term, weight) the unit matched that its snippet marks (``_SnippetTerms.needles``)."""
    norm, display = unit.norm, unit.display
    if len(needles) == 1 and not terms.wenhao and unit.plain and needles[0][0] not in terms.self_overlapping:
        return _one_term_snippet(display, *needles[0])
    spans: list[tuple[int, int, float]] = []  # (start, end, weight per character)
    find, add = norm.find, spans.append
    for needle, weight in needles:
        size = len(needle)
        start = find(needle)
        while start != -1:
            add((start, start + size, weight))
            start = find(needle, start + 1)
    if terms.wenhao:
        for s, e, tokens in unit.wenhao:
            for k, token in enumerate(tokens):  # tokens[k] drops the first k characters of the 机关代字
                if token in terms.wenhao:
                    spans.append((s + k, e, terms.wenhao[token]))
                    break
    spans.sort()
    merged: list[list] = []  # [start, end, weight]: overlapping or touching spans joined, the larger weight kept
    if spans:
        start, end, weight = spans[0]
        for s, e, w in spans:
            if s <= end:
                if e > end:
                    end = e
                if w > weight:
                    weight = w
            else:
                merged.append([start, end, weight])
                start, end, weight = s, e, w
        merged.append([start, end, weight])
    length = len(display)
    lo, hi = _window(merged, length)
    parts, pos = [], lo
    if lo > 0 or hi < length:  # only the spans that reach into the window (a common term has hundreds)
        merged = merged[bisect_right([e for _s, e, _w in merged], lo):bisect_left([s for s, _e, _w in merged], hi)]
    for s, e, _w in merged:
        if s < lo:
            s = lo
        if e > hi:
            e = hi
        if s >= e:
            continue
        parts += [display[pos:s], "【", display[s:e], "】"]
        pos = e
    parts.append(display[pos:hi])
    return ("…" if lo > 0 else "") + "".join(parts) + ("…" if hi < length else "")


def _one_term_snippet(display: str, needle: str, weight: float) -> str:
    """``_snippet`` for one matched term that cannot overlap itself, in a unit whose display text is its folded
    text: the term's occurrences are disjoint, so the merged spans are the runs of adjacent occurrences, and
    ``str.replace`` marks them (``】【`` joins a run: a display text never holds 【 or 】, ``clean`` turned them
    into 〖〗). The window never cuts a span, so marking inside the window's slice marks the same spans."""
    length = len(display)
    if length <= SNIPPET_WIDTH:
        lo, hi = 0, length
    else:
        size, merged = len(needle), []
        start = display.find(needle)
        while start != -1:
            if merged and start == merged[-1][1]:
                merged[-1][1] = start + size
            else:
                merged.append([start, start + size, weight])
            start = display.find(needle, start + size)
        lo, hi = _window(merged, length)
    marked = display[lo:hi].replace(needle, f"【{needle}】").replace("】【", "")
    return ("…" if lo > 0 else "") + marked + ("…" if hi < length else "")


def _window(merged: list[list], length: int) -> tuple[int, int]:
    """The snippet's [lo, hi): the SNIPPET_WIDTH window (starting 20 characters before a match) covering the most
    match weight, never cutting a match in two. ``merged``: sorted, disjoint [start, end, weight] spans.

    Each candidate window sums only the spans it overlaps, found by bisection, in their order — the same floats
    as summing every span (the others add exactly 0), in O(m log m) instead of O(m²): a common term (企业) has
    hundreds of spans in a long clause. A window never starts inside a span (it is moved to the span's start), so
    only the last span it reaches can be cut; the others add their whole weight × length, computed once per span
    (the same product the cut formula gives for an uncut span)."""
    if length <= SNIPPET_WIDTH:
        return 0, length
    if not merged:
        return 0, SNIPPET_WIDTH
    if len(merged) == 1:  # the one candidate window starts at or before the span, so no span is cut at its start
        s, e, _w = merged[0]
        lo = max(0, min(s - 20, length - SNIPPET_WIDTH))
        hi = min(length, lo + SNIPPET_WIDTH)
        return lo, (e if s < hi < e else hi)
    last_lo = length - SNIPPET_WIDTH
    first = max(0, min(merged[0][0] - 20, last_lo))  # never inside a span: the first starts at or after it
    if merged[-1][1] <= first + SNIPPET_WIDTH:
        # the first candidate window holds every span whole: any later one holds a part of them, and a float sum of
        # positive terms is never larger without its first terms, so none passes ``best + 1e-9``
        return first, min(length, first + SNIPPET_WIDTH)
    starts = [s for s, _e, _w in merged]
    ends = [e for _s, e, _w in merged]
    whole = [w * (e - s) for s, e, w in merged]
    best, lo, previous = -1.0, 0, -1
    for s in starts:
        start = s - 20
        if start > last_lo:
            start = last_lo
        if start < 0:
            start = 0
        k = bisect_right(starts, start) - 1  # the last span starting at or before the window
        if k >= 0 and start < ends[k]:  # the window starts inside it (or at its start): it starts with it
            start, a = starts[k], k
        else:
            a = k + 1  # the first span reaching into the window; it starts inside it (never cut at the start)
        if start == previous:  # the same window again (spans near either end): the same sum cannot beat best
            continue
        previous = start
        stop = start + SNIPPET_WIDTH
        b = bisect_left(starts, stop, a)  # spans a … b-1 reach into the window (at least the one at s)
        end = ends[b - 1]
        if b - a == 1:  # 0 + the one term, as sum() gave; only the last span can be cut (at the window's end)
            covered = merged[a][2] * ((end if end < stop else stop) - starts[a])
        elif end <= stop:
            covered = sum(whole[a:b])
        else:
            inner = whole[a:b - 1]
            inner.append(merged[b - 1][2] * (stop - starts[b - 1]))
            covered = sum(inner)
        if covered > best + 1e-9:
            best, lo = covered, start
    hi = min(length, lo + SNIPPET_WIDTH)
    k = bisect_right(starts, hi) - 1  # the span with start < hi < end, if any: the window ends with it
    if k >= 0 and starts[k] < hi < ends[k]:
        hi = ends[k]
    return lo, hi


_lock = threading.Lock()
_default: SearchIndex | None = None


def default_index() -> SearchIndex:
    """The index of the default library and rules, built on first use and kept for the process."""
    global _default
    if _default is None:
        with _lock:
            if _default is None:
                _default = SearchIndex()
    return _default


# -- measurement ----------------------------------------------------------------------------------------
BENCHMARK_QUERIES = [
    "技改", "贴息", "展会", "增产增效奖励", "小巨人", "桂工信综合〔2024〕328号", "新开拓境外市场", "用电", "研发",
    "贷款贴息", "人才", "创业担保贷款", "认证", "专精特新", "免申即享", "桂惠贷", "展位费", "规上工业企业",
    "设备更新", "加计扣除", "工业设计中心", "稳岗", "出口", "应急周转资金", "桂政办发[2024]10号", "链主企业",
    "数字化转型", "知识产权质押融资", "5000万元", "主席质量奖",
]


def benchmark(queries: list[str] | None = None, repeat: int = 5) -> dict:
    """Build a fresh index and time every query ``repeat`` times (limit 20, snippets included)."""
    started = time.perf_counter()
    index = SearchIndex()
    build = time.perf_counter() - started
    timings = []
    for _ in range(repeat):
        for query in queries or BENCHMARK_QUERIES:
            t = time.perf_counter()
            index.search(query)
            timings.append(time.perf_counter() - t)
    timings.sort()

    def pct(p: float) -> float:
        return timings[min(len(timings) - 1, math.ceil(p * len(timings)) - 1)] * 1000

    return {"build_ms": round(build * 1000, 1), "clauses": len(index.clauses), "queries": len(timings),
            "p50_ms": round(pct(0.50), 3), "p95_ms": round(pct(0.95), 3), "max_ms": round(timings[-1] * 1000, 3)}


if __name__ == "__main__":  # python -m huiqi.services.search
    import json

    print(json.dumps(benchmark(), ensure_ascii=False))
