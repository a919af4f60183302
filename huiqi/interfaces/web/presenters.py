"""What the HTML pages and the JSON API both show: store content and results in page/API shapes.

Route modules (api, pages, payout, …) import these; none imports another route module (tests/test_layers.py).
Scoping to a user's 县区 or own enterprise is here too: every list a route shows passes through it.
"""

from __future__ import annotations

import json
import operator
from decimal import Decimal
from typing import Any

import orjson
import polars as pl

from huiqi.core import money
from huiqi.interfaces.web.auth import User
from huiqi.interfaces.web.state import WebError, WebState, wan_text, yuan_text

# Bounds of paging parameters: beyond them a database OFFSET or a slice overflows (a 500 before). Far above any
# real list (10⁶ pages of 500 rows); the validation message says 数值过大 with the maximum.


# Bounds of paging parameters: beyond them a database OFFSET or a slice overflows (a 500 before). Far above any
# real list (10⁶ pages of 500 rows); the validation message says 数值过大 with the maximum.
MAX_PAGE = 1_000_000


MAX_OFFSET = 100_000_000


def clause_url(document_id: str, clause_id: str | None = None) -> str:
    """The policy page of a document, at one of its clauses if given: where every cited clause links to."""
    return f"/policies/{document_id}#{clause_id}" if clause_id else f"/policies/{document_id}"


def document_dict(state: WebState, d, with_clauses: bool = False) -> dict:
    out = {"id": d.id, "title": d.title, "wenhao": d.wenhao, "issuer": d.issuer, "level": d.level,
           "status": d.status(), "status_reason": d.status_reason(), "issued": d.issued, "year": d.year,
           "department": d.department, "valid_from": d.valid_from, "valid_to": d.valid_to,
           "validity_basis": d.validity_basis, "draft": d.draft, "topics": d.topics, "note": d.note, "clause_count": len(d.clauses),
           "measures": measures_of_document(state, d.id), "url": f"/policies/{d.id}"}
    if with_clauses:
        by_clause = measures_by_clause(state)
        out["clauses"] = [clause_dict(c, by_clause) for c in d.clauses]
    return out


def clause_dict(c, by_clause: dict[str, list[str]]) -> dict:
    return {"id": c.id, "document_id": c.document_id, "label": c.label, "lines": list(c.lines), "text": c.text,
            "measures": by_clause.get(c.id, []), "url": clause_url(c.document_id, c.id)}


def measures_by_clause(state: WebState) -> dict[str, list[str]]:
    def build() -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for m, _f in state.ruleset.measures_for():
            for cid in m.clauses:
                out.setdefault(cid, []).append(m.id)
        return out

    return state.attached("measures_by_clause", build)


def measures_of_document(state: WebState, doc_id: str) -> list[str]:
    return [m.id for m, f in state.ruleset.measures_for() if f.rules.document == doc_id]


def measure_dict(state: WebState, measure_id: str, full: bool = False) -> dict:
    m, f = state.ruleset.measures[measure_id]
    periods = m.periods or f.rules.defaults.periods
    if not full:
        return {"id": m.id, "name": m.name, "document": f.rules.document, "clauses": m.clauses, "entity": m.entity,
                "kind": m.kind, "class": m.class_, "periods": periods, "url": f"/rules/{m.id}"}
    data = m.model_dump(mode="json", by_alias=True, exclude_none=True)
    data.update(document=f.rules.document, periods=periods, url=f"/rules/{m.id}",
                clause_urls={c: clause_url(f.rules.document, c) for c in m.clauses})
    return data


def result_dict(r) -> dict:
    d = r.to_dict()
    for k in ("amount", "computed"):  # exact 分 and its text with always two decimals
        value = getattr(r, f"{k}_yuan")
        d[f"{k}_fen"] = None if value is None else int(value * 100)
        d[f"{k}_yuan"] = money.yuan_text(d[f"{k}_fen"])
    doc = d["clauses"][0].split(":", 1)[0] if d["clauses"] else d["document_id"]
    d["clause_url"] = clause_url(doc, d["clauses"][0] if d["clauses"] else None)
    return d


def result_document(r) -> dict:
    """What ``result_dict(r)`` gives, keys in the same order, for serialising only: the conditions' and missing
    facts' own attribute dicts instead of copies, and no intermediate ``str`` of the amounts (a calculator memo
    miss serialises ~8 results a check; the copies were most of that). Not to be modified: it shares ``r``'s lists."""
    d = dict(r.__dict__)
    d["conditions"] = [c.__dict__ for c in r.conditions]
    d["missing"] = [m.__dict__ for m in r.missing]
    for k in ("amount", "computed"):
        value = d[f"{k}_yuan"]
        fen = d[f"{k}_fen"] = None if value is None else int(value * 100)
        d[f"{k}_yuan"] = money.yuan_text(fen)
    clauses = d["clauses"]
    doc = clauses[0].split(":", 1)[0] if clauses else d["document_id"]
    d["clause_url"] = clause_url(doc, clauses[0] if clauses else None)
    return d


def summary_dict(results) -> dict:
    from huiqi.services.calculator import summarize

    s = summarize(results)
    fen = int(Decimal(s["total_yuan"]) * 100)  # summarize writes str(Decimal): "0", "898.6" — two decimals here
    return {"total_fen": fen, "total_yuan": money.yuan_text(fen), "counts": s["counts"]}


_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS  # to default=str, as json does


def json_bytes(value: Any) -> bytes:
    """Compact UTF-8 JSON: orjson (a 170 KB calculator answer in 0.05 ms instead of 0.7 ms); the json module where
    orjson refuses (a non-string key, an integer beyond 64 bits). Both give the same document (tested)."""
    try:
        return orjson.dumps(value, default=str, option=_ORJSON_OPTIONS)
    except TypeError:
        return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":")).encode()


def filter_documents(state: WebState, level=None, issuer=None, status=None, year=None, topic=None, q=None) -> list:
    docs = list(state.library)
    if level:
        docs = [d for d in docs if d.level == level]
    if issuer:
        docs = [d for d in docs if d.issuer and issuer in d.issuer]
    if status:
        docs = [d for d in docs if d.status() == status]
    if year:
        docs = [d for d in docs if d.year == year]
    if topic:
        docs = [d for d in docs if topic in d.topics]
    if q:
        from huiqi.services.search import default_index

        ranked = [doc_id for doc_id, _ in default_index().search_documents(q, limit=100)]
        order = {doc_id: i for i, doc_id in enumerate(ranked)}
        docs = sorted((d for d in docs if d.id in order), key=lambda d: order[d.id])
    return docs


def search_hits(query: str, limit: int, level=None, document=None, status=None) -> list[dict]:
    from huiqi.services.search import default_index

    try:
        hits = default_index().search(query, limit, level=level or None, document=document or None,
                                      status=status or None)
    except ValueError as e:
        raise WebError(422, str(e)) from None
    out = []
    for h in hits:
        d = h.to_dict() if hasattr(h, "to_dict") else dict(h)
        d["url"] = clause_url(d["document_id"], d["clause_id"])
        out.append(d)
    return out


def calculator_fields(state: WebState, period: str, entity: str = "enterprise") -> list[dict]:
    """The inputs the period's measures read, in the order the measures first use them (copies: callers add the
    values they show)."""
    return [dict(f) for f in calculator_field_table(state, period, entity).values()]


_FIELD_TABLES_MAX = 64  # (period, entity) pairs remembered per process: a client naming many periods is bounded


def calculator_field_table(state: WebState, period: str, entity: str = "enterprise") -> dict[str, dict]:
    """Field name → what ``calculator_fields`` gives for it, built once per (period, entity) for the state's rules
    (fixed for the process): the calculator form reads it on every check. Not to be modified."""
    tables = state.attached("calculator_field_tables", dict)
    table = tables.get((period, entity))
    if table is None:
        table = {f["name"]: f for f in _calculator_fields(state, period, entity)}
        if len(tables) >= _FIELD_TABLES_MAX:
            tables.clear()
        tables[(period, entity)] = table
    return table


def _calculator_fields(state: WebState, period: str, entity: str) -> list[dict]:
    values = state.ruleset.resolve_parameters()
    plan = state.ruleset.plan(period, entity, values)
    seen: dict[str, list[str]] = {}
    for cm in plan:
        ordered = []
        for cc in cm.conditions:
            ordered += sorted(cc.value.fields)
        for v in (cm.amount, cm.cap, cm.minimum):
            if v is not None:
                ordered += sorted(v.fields)
        for f in ordered:
            seen.setdefault(f, [])
            if cm.id not in seen[f]:
                seen[f].append(cm.id)
    out = []
    for name, mids in seen.items():
        f = state.ruleset.dictionary[name]
        unit = "元" if f.type == "money" else (f.unit or "")
        out.append({"name": name, "label": f.label, "type": f.type, "unit": unit, "period": f.period,
                    "source": f.source, "note": f.note, "measures": mids})
    return out


def check_payload(results, period: str, entity: str) -> dict:
    return {"period": period, "entity": entity, "summary": summary_dict(results),
            "results": [result_dict(r) for r in results]}


def check_json(results, period: str, entity: str, credit_code: str | None = None, shared: bool = False) -> bytes:
    """``json_bytes(check_payload(...))`` (with ``"credit_code"`` last when given), byte for byte, assembled from
    each result's JSON: the calculator's memo hands out copies of the same result to many requests, so a result's
    JSON is built once (``result_json``) instead of once per request (a third of a served check's CPU).
    ``shared``: the results are the memo's own, never modified (``check_many(shared=True)``): their JSON is found
    by identity alone (``shared_result_json``)."""
    parts = [b'{"period":', json_bytes(period), b',"entity":', json_bytes(entity), b',"summary":',
             json_bytes(summary_dict(results)), b',"results":[']
    add = parts.append
    if shared:  # shared_result_json's lookup written out: a call per result was a tenth of this function
        get = _SHARED_JSON.get
        for r in results:  # one join of the whole answer (~165 KB), not one for the list and another for the rest
            hit = get(id(r))
            add(hit[1] if hit is not None and hit[0] is r else shared_result_json(r))
            add(b",")
    else:
        for r in results:
            add(result_json(r))
            add(b",")
    if results:
        parts.pop()
    add(b"]")
    if credit_code is not None:
        parts += [b',"credit_code":', json_bytes(credit_code)]
    parts.append(b"}")
    return b"".join(parts)


# id(result.conditions) → (every field value of the result, its JSON). A memo hit (calculator._remembered) is a
# shallow copy whose field values are the very objects of the remembered result, so a copy whose values are all
# identical (``is``) to an entry's has the same JSON; the entry keeps those objects alive, so no id is reused while
# it exists. A fresh or altered result fails the check and is serialised afresh. Plain dict operations (atomic
# under the GIL); cleared when full, like the calculator's memo.
_RESULT_JSON: dict[int, tuple[tuple, bytes]] = {}
_RESULT_JSON_MAX = 20_000  # ~3 KB each: at most about 60 MB per process


def result_json(r) -> bytes:
    """``json_bytes(result_dict(r))``, remembered for results the calculator's memo shares."""
    values = tuple(r.__dict__.values())
    key = id(r.conditions)
    hit = _RESULT_JSON.get(key)
    if hit is not None and len(hit[0]) == len(values) and all(map(operator.is_, hit[0], values)):
        return hit[1]
    out = json_bytes(result_document(r))
    if len(_RESULT_JSON) >= _RESULT_JSON_MAX:
        _RESULT_JSON.clear()
    _RESULT_JSON[key] = (values, out)
    return out


# id(result) → (the result, its JSON), for the calculator memo's own results (never modified: check_many's
# ``shared``): the entry holds the result, so its id is not reused while the entry exists, and one ``is`` replaces
# result_json's comparison of every field (~1 µs × 59 results a check). Cleared when full, like the memo.
_SHARED_JSON: dict[int, tuple[Any, bytes]] = {}


def remembered_for(memo: dict, r, build, limit: int):
    """``build(r)`` for a result that is never modified (the calculator memo's own), remembered in ``memo`` by its
    identity: the entry holds ``r``, so its id is not reused while the entry exists. Cleared when ``limit`` entries
    are held, like the memo. The page's articles are remembered the same way (web/calc_page.py)."""
    hit = memo.get(id(r))
    if hit is not None and hit[0] is r:
        return hit[1]
    out = build(r)
    if len(memo) >= limit:
        memo.clear()
    memo[id(r)] = (r, out)
    return out


def shared_result_json(r) -> bytes:
    """``json_bytes(result_dict(r))`` for a result that is never modified, remembered by identity."""
    return remembered_for(_SHARED_JSON, r, lambda r: json_bytes(result_document(r)), _RESULT_JSON_MAX)


def public_job(job: dict, user: User) -> dict:
    out = dict(job)
    if not user.is_admin and out.get("manifest"):
        out["manifest"] = {k: v for k, v in out["manifest"].items() if k != "paid_total_fen"}  # province-wide total
    return out


SORTABLE = {"final_fen", "name", "county_code", "measure_id", "status", "credit_code"}


def scoped_results(state: WebState, user: User, job_id: str, measure=None, county=None, status=None, q=None,
                   entity=None) -> pl.DataFrame:
    frame = state.results(job_id)
    expr = state.scope_expr(user)
    if expr is not None:
        frame = frame.filter(expr)
    if county:
        if user.role == "officer" and county != user.county_code:
            raise WebError(403, "只能查看本县区的筛查结果")
        frame = frame.filter(pl.col("county_code") == county)
    if measure:
        frame = frame.filter(pl.col("measure_id") == measure)
    if status:
        frame = frame.filter(pl.col("status") == status)
    if entity:
        frame = frame.filter(pl.col("entity") == entity)
    if q:
        frame = frame.filter(pl.col("name").str.contains(q, literal=True) |
                             pl.col("entity_id").str.starts_with(q))
    return frame


def result_rows(state: WebState, frame: pl.DataFrame) -> list[dict]:
    names = {mid: m.name for mid, (m, _f) in state.ruleset.measures.items()}
    rows = []
    for r in frame.iter_rows(named=True):
        rows.append({
            "entity_id": r["entity_id"], "entity": r.get("entity"), "name": r.get("name"),
            "credit_code": r.get("credit_code"), "county_code": r.get("county_code"),
            "county_name": r.get("county_name"), "city_name": r.get("city_name"), "sector": r.get("sector"),
            "measure_id": r["measure_id"], "measure_name": names.get(r["measure_id"], r["measure_id"]),
            "status": r["status"], "amount_fen": r.get("amount_fen"), "amount_yuan": yuan_text(r.get("amount_fen")),
            "final_fen": r.get("final_fen"), "final_yuan": yuan_text(r.get("final_fen")), "allocation_note": r.get("allocation_note"),
            "reason": r.get("reason"), "missing": r.get("missing"),
        })
    return rows


def page_of(frame: pl.DataFrame, page: int, page_size: int, sort: str, desc: bool) -> pl.DataFrame:
    if sort not in SORTABLE:
        raise WebError(422, f"不能按“{sort}”排序（可用：{'、'.join(sorted(SORTABLE))}）")
    frame = frame.sort([sort, "entity_id", "measure_id"], descending=[desc, False, False], nulls_last=True)
    return frame.slice((page - 1) * page_size, page_size)


def summary(state: WebState, frame: pl.DataFrame) -> dict:
    paid = frame.filter(pl.col("final_fen") > 0)
    names = {mid: m.name for mid, (m, _f) in state.ruleset.measures.items()}

    def group(by: str, label) -> list[dict]:
        g = paid.group_by(by).agg(pl.col("entity_id").n_unique().alias("n"), pl.col("final_fen").sum().alias("fen")) \
            .sort("fen", descending=True)
        return [{"key": k, "label": label(k), "n": n, "amount_fen": fen, "amount_wan": wan_text(fen)}
                for k, n, fen in g.iter_rows()]

    # 临退规 and other monitoring rules are lists for the 驾驶舱, not awards: kept off the status counts
    from huiqi.services.presenters import MONITORING_MEASURES

    awards = frame.filter(~pl.col("measure_id").is_in(list(MONITORING_MEASURES)))
    by_status = awards.group_by("status").agg(pl.len().alias("n")).sort("status")
    return {
        "paid_count": paid.height, "paid_entities": paid["entity_id"].n_unique(),
        "paid_total_fen": int(paid["final_fen"].sum() or 0),
        "paid_total_wan": wan_text(int(paid["final_fen"].sum() or 0)),
        "paid_total_yuan": yuan_text(int(paid["final_fen"].sum() or 0)),
        "by_county": group("county_code", lambda k: state.county_names.get(k, k or "（未填）")),
        "by_sector": group("sector", lambda k: k or "（县区）"),
        "by_measure": group("measure_id", lambda k: names.get(k, k)),
        "by_status": [{"status": s, "n": n} for s, n in by_status.iter_rows()],
    }


def visible_enterprise(state: WebState, user: User, credit_code: str) -> dict:
    if not state.can_see_enterprise(user, credit_code):
        raise WebError(403, "无权查看该企业的信息")
    ent = state.enterprise(credit_code)
    if ent is None:
        raise WebError(404, f"没有统一社会信用代码为 {credit_code} 的企业")
    return ent


def visible_enterprises(state: WebState, user: User, q: str | None = None, county: str | None = None) -> pl.DataFrame:
    frame = state.enterprises
    if user.role == "officer":
        if county and county != user.county_code:
            raise WebError(403, "只能查看本县区的企业")
        frame = frame.filter(pl.col("county_code") == user.county_code)
    elif user.role == "enterprise":
        frame = frame.filter(pl.col("credit_code") == (user.credit_code or "—"))
    if county:
        frame = frame.filter(pl.col("county_code") == county)
    if q:
        frame = frame.filter(pl.col("name").str.contains(q, literal=True) | pl.col("credit_code").str.starts_with(q))
    return frame


def budget_parameters(state: WebState) -> list[str]:
    from huiqi.services.parameters import budget_parameters as names  # the service owns it (issue 11 item 3)

    return names(state.ruleset)


def parameter_rows(state: WebState, values: dict[str, str]) -> list[dict]:
    from huiqi.services.parameters import parameter_rows as rows

    return rows(state.ruleset, values)


def import_field(e: dict) -> dict:
    """One import problem as an error field: where (file〔sheet〕 第N行 列) and why, plus the parts for machines."""
    where = (e.get("file") or "") + (f"〔{e['sheet']}〕" if e.get("sheet") else "")
    where += (f" 第{e['row']}行" if e.get("row") else "") + (f" {e['column']}" if e.get("column") else "")
    value = e.get("value")
    return {"field": where.strip() or "文件", "message": e.get("reason") or "取值有误", "file": e.get("file"),
            "sheet": e.get("sheet"), "row": e.get("row"), "column": e.get("column"),
            "value": None if value is None else str(value)}
