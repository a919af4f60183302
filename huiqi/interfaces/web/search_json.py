"""The JSON body of ``GET /api/search``, built from each clause's serialised fields (docs/decisions.md SEARCH4-2).

A hit shows eleven fields, eight of which (clause, document, title, 文号, level, label, measures, URL) are the same for
every search that finds the clause. They are serialised once per clause, the first time the index is searched
here; a search then serialises only each hit's snippet, score and status and joins the pieces. The bytes are those
of ``json_bytes({"query": q, "total": n, "hits": search_hits(...)})`` (tests/test_search_json.py), without a Hit,
two dicts and a URL string formatted per hit. Where orjson refuses a text, the answer is the old path's.
"""

from __future__ import annotations

import threading

import orjson

from huiqi.interfaces.web.presenters import clause_url, json_bytes, search_hits
from huiqi.interfaces.web.state import WebError
from huiqi.policies.library import STATUSES

_STATUS = {state: orjson.dumps(state) for state in STATUSES}  # 有效 / 已失效 / 征求意见稿, serialised once
_lock = threading.Lock()
_parts: tuple[object, list[tuple[bytes, bytes, bytes]]] | None = None  # (the index, each clause's serialised pieces)


def _clause_pieces(index) -> list[tuple[bytes, bytes, bytes]]:
    """Each clause's hit in three pieces: the object up to ``"snippet":``, from ``"measures"`` to ``"status":``, and
    the URL to the closing brace."""
    global _parts
    parts = _parts
    if parts is None or parts[0] is not index:
        with _lock:
            parts = _parts
            if parts is None or parts[0] is not index:
                pieces = []
                for i in range(len(index.clauses)):
                    f = index.hit_fields(i)
                    head = {k: f[k] for k in ("clause_id", "document_id", "document_title", "wenhao", "level",
                                              "label")}
                    pieces.append((orjson.dumps(head)[:-1] + b',"snippet":',
                                   b',"measures":' + orjson.dumps(f["measures"]) + b',"status":',
                                   b',"url":' + orjson.dumps(clause_url(f["document_id"], f["clause_id"])) + b"}"))
                parts = _parts = (index, pieces)
    return parts[1]


def answer(q: str, limit: int, level=None, document=None, status=None) -> bytes:
    """The search's JSON body; a refused filter raises WebError 422 (the message in Chinese)."""
    from huiqi.services.search import default_index

    index = default_index()
    try:
        rows = index.search_rows(q, limit, level=level or None, document=document or None, status=status or None)
    except ValueError as e:
        raise WebError(422, str(e)) from None
    pieces = _clause_pieces(index)
    dumps = orjson.dumps
    try:
        hits = []
        for i, snippet, score, state in rows:
            head, middle, tail = pieces[i]
            hits.append(b"".join((head, dumps(snippet), b',"score":', dumps(score), middle,
                                  _STATUS.get(state) or dumps(state), tail)))
        return b"".join((b'{"query":', dumps(q), b',"total":', dumps(len(rows)), b',"hits":[', b",".join(hits),
                         b"]}"))
    except TypeError:  # orjson refuses a text (a lone surrogate): the general path decides what the answer is
        hits = search_hits(q, limit, level, document, status)
        return json_bytes({"query": q, "total": len(hits), "hits": hits})
