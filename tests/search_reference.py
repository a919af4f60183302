"""The clause search as it was before SEARCH2 (pure-Python BM25 over every posting, every snippet built from
scratch): the reference the faster path must equal byte for byte. Reads the index's own postings and units."""

from __future__ import annotations

import math
from functools import lru_cache

from huiqi.services.search import K1, TIER_BONUS, W_BIGRAM, W_SUBWORD, W_SYNONYM, W_WORD, Hit, _window, _wenhao_matches


def _score(field, terms, weight, scores, allowed, matched):
    n = len(field.lengths)
    norms = [K1 * (1 - 0.75 + 0.75 * length / field.avg) for length in field.lengths]
    for term in terms:
        plist = field.postings.get(term)
        if not plist:
            continue
        idf = math.log(1 + (n - len(plist) + 0.5) / (len(plist) + 0.5))
        w_idf, k1_1 = weight * idf, K1 + 1
        for i, tf in plist:
            if allowed is not None and i not in allowed:
                continue
            scores[i] = scores.get(i, 0.0) + w_idf * tf * k1_1 / (tf + norms[i])
            matched.setdefault(i, set()).add(term)


def rank(corpus, q, allowed):
    scores, matched, tiers = {}, {}, {}
    _score(corpus.words, q.words, W_WORD, scores, allowed, matched)
    _score(corpus.words, q.subwords, W_SUBWORD, scores, allowed, matched)
    _score(corpus.bigrams, q.bigrams, W_BIGRAM, scores, allowed, matched)
    _score(corpus.words, q.synonyms, W_SYNONYM, scores, allowed, matched)
    for token in q.wenhao:
        docs = corpus.wh_doc.get(token, set())
        for i, u in enumerate(corpus.units):
            if u.document_id in docs and (allowed is None or i in allowed):
                tiers[i] = 2
        for i in corpus.wh_text.get(token, ()):
            if allowed is None or i in allowed:
                tiers[i] = max(tiers.get(i, 0), 1)
                matched.setdefault(i, set()).add(token)
    out = [(i, tiers.get(i, 0), scores.get(i, 0.0) + TIER_BONUS[tiers.get(i, 0)], matched.get(i, set()))
           for i in set(scores) | set(tiers)]
    out.sort(key=lambda r: (-r[1], -round(r[2], 9), r[0]))
    return out


def snippet(unit, q, matched, idf) -> str:
    norm, display = unit.norm, unit.display
    needles = [t for t in (*q.words, *q.subwords, *q.synonyms) if t in matched and (len(t) > 1 or len(q.words) == 1)]
    if not needles:
        needles = [t for t in q.bigrams if t in matched]
    spans = []
    for needle in sorted(set(needles)):
        weight = idf(needle)
        start = norm.find(needle)
        while start != -1:
            spans.append((start, start + len(needle), weight))
            start = norm.find(needle, start + 1)
    if q.wenhao:
        wanted = set(q.wenhao)
        for s, e, tokens in _wenhao_matches(norm):
            for k, token in enumerate(tokens):
                if token in wanted:
                    spans.append((s + k, e, idf(token)))
                    break
    merged = []
    for s, e, w in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
            merged[-1][2] = max(merged[-1][2], w)
        else:
            merged.append([s, e, w])
    lo, hi = _window(merged, len(display))
    parts, pos = [], lo
    for s, e, _w in merged:
        s, e = max(s, lo), min(e, hi)
        if s >= e:
            continue
        parts += [display[pos:s], "【", display[s:e], "】"]
        pos = e
    parts.append(display[pos:hi])
    return ("…" if lo > 0 else "") + "".join(parts) + ("…" if hi < len(display) else "")


def search(index, query, limit=20, level=None, document=None, status=None, as_of=None) -> list[Hit]:
    """SearchIndex.search before SEARCH2 (the same validation is assumed: call with valid filters)."""
    level, document, status = level or None, document or None, status or None
    if limit <= 0:
        return []
    q = index._corpus.parse(query)
    if q.empty:
        return []
    allowed = index._allowed(level, document, status, as_of)
    if allowed is not None and not allowed:
        return []
    hits = []
    idf = lru_cache(maxsize=None)(index._corpus.idf)
    for i, tier, score, matched in rank(index._corpus, q, allowed)[:limit]:
        c, u = index.clauses[i], index._units[i]
        d = index.library.document(u.document_id)
        hits.append(Hit(clause_id=c.id, document_id=d.id, document_title=d.title, wenhao=d.wenhao, level=d.level,
                        label=c.label, snippet=snippet(u, q, matched, idf), score=round(score, 4),
                        measures=list(index.measures_by_clause.get(c.id, [])), status=d.status(as_of)))
    return hits


def search_documents(index, query, limit=20):
    if limit <= 0:
        return []
    q = index._doc_corpus.parse(query)
    if q.empty:
        return []
    return [(index._doc_corpus.units[i].key, round(score, 4))
            for i, _tier, score, _m in rank(index._doc_corpus, q, None)[:limit]]
