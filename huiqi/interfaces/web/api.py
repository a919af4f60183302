"""REST API under /api. Every operation declares its response model (schemas.py); every refusal is a 4xx with
the one error body {"error": {"code", "message": "<中文说明>", "fields": [...]}} and changes nothing.

Money in responses: integer 分 (``*_fen``) and a string of 元 with two decimals (``*_yuan``), or of 万元 where the
key says so (``*_wan``); never a float.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, Optional

import orjson
import polars as pl
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from huiqi.engine.evaluate import ParameterError
from huiqi.core import money
from huiqi.engine.inputs import InputError
from huiqi.interfaces.web import auth, schemas as S
from huiqi.interfaces.web.auth import User, admin_user, check_csrf, current_user, maybe_user, officer_user
from huiqi.interfaces.web.state import WebError, WebState, wan_text, yuan_text

# Bounds of paging parameters: beyond them a database OFFSET or a slice overflows (a 500 before). Far above any
# real list (10⁶ pages of 500 rows); the validation message says 数值过大 with the maximum.
MAX_PAGE = 1_000_000
MAX_OFFSET = 100_000_000


Entity = Literal["enterprise", "project", "county", "person", "bank", "parcel"]  # 主体类型
router = APIRouter(prefix="/api", dependencies=[Depends(check_csrf)])
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
ALLOWED_UPLOADS = (".xlsx", ".xlsm", ".csv", ".txt", ".tsv", ".parquet")


def st(request: Request) -> WebState:
    return request.app.state.web


# ------------------------------------------------------------------------------------------- serialisers
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
            "measures": by_clause.get(c.id, []), "url": f"/policies/{c.document_id}#{c.id}"}


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
                clause_urls={c: f"/policies/{f.rules.document}#{c}" for c in m.clauses})
    return data


def result_dict(r) -> dict:
    d = r.to_dict()
    for k in ("amount", "computed"):  # exact 分 and its text with always two decimals
        value = getattr(r, f"{k}_yuan")
        d[f"{k}_fen"] = None if value is None else int(value * 100)
        d[f"{k}_yuan"] = money.yuan_text(d[f"{k}_fen"])
    doc = d["clauses"][0].split(":", 1)[0] if d["clauses"] else d["document_id"]
    d["clause_url"] = f"/policies/{doc}#{d['clauses'][0]}" if d["clauses"] else f"/policies/{doc}"
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


# ----------------------------------------------------------------------------------------------- account
class LoginBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(max_length=64)
    password: str = Field(max_length=256)


@router.get("/csrf", response_model=S.CsrfOut, tags=["账户"], summary="取得 CSRF 令牌（登录前用于登录请求）")
def api_csrf(request: Request):
    return {"csrf_token": auth.csrf_token(request)}


@router.post("/login", response_model=S.SessionOut, responses=S.LOGIN_ERRORS, tags=["账户"], summary="登录（失败过多→429：同一用户名默认5次/5分钟，同一地址默认20次/5分钟）")
def api_login(body: LoginBody, request: Request):
    state = st(request)
    ip = auth.client_ip(request)
    try:
        user = auth.authenticate(state.engine, body.username, body.password, ip, state.settings)
    except auth.LoginError as e:
        if e.status == 429:
            state.audit(None, "登录受限", body.username, auth.limit_detail(e, state.settings), ip)
        return S.error_json(e.status, e.message)
    token, csrf = auth.start_session(state.engine, user)
    state.audit(user, "登录", user.username, None, ip)
    response = JSONResponse({"user": user.to_dict(), "csrf_token": csrf})
    set_session_cookie(response, token, request)
    return response


def set_session_cookie(response: Response, token: str, request: Request) -> None:
    response.set_cookie(auth.SESSION_COOKIE, token, httponly=True, samesite="lax", path="/",
                        max_age=auth.SESSION_HOURS * 3600, secure=request.url.scheme == "https")


@router.post("/logout", response_model=S.OkOut, tags=["账户"], summary="退出登录")
def api_logout(request: Request):
    auth.end_session(st(request).engine, request.cookies.get(auth.SESSION_COOKIE))
    response = JSONResponse({"ok": True})
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return response


@router.get("/me", response_model=S.SessionOut, tags=["账户"], summary="当前用户")
def api_me(request: Request, user: User = Depends(current_user)):
    return {"user": user.to_dict(), "csrf_token": request.state.session_csrf}


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(max_length=64)
    password: str = Field(max_length=256)
    role: Literal["admin", "officer", "enterprise"]
    display_name: str = Field("", max_length=128)
    county_code: Optional[str] = None
    credit_code: Optional[str] = None


@router.get("/users", response_model=list[S.UserOut], tags=["账户"], summary="用户列表（管理员）")
def api_users(request: Request, user: User = Depends(admin_user)):
    return st(request).users()


@router.post("/users", response_model=S.NewUserOut, tags=["账户"], summary="新建用户（管理员）", status_code=201)
def api_new_user(body: NewUser, request: Request, user: User = Depends(admin_user)):
    uid = st(request).add_user(user, body.username, body.password, body.role, body.display_name, body.county_code,
                               body.credit_code)
    return {"id": uid, "username": body.username}


@router.get("/audit", response_model=list[S.AuditEntryOut], tags=["账户"], summary="审计日志（管理员）")
def api_audit(request: Request, user: User = Depends(admin_user), limit: int = Query(200, ge=1, le=1000),
              offset: int = Query(0, ge=0, le=MAX_OFFSET), action: Optional[str] = None):
    return st(request).audit_entries(limit, offset, action)


# ------------------------------------------------------------------------------------------ policy library
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


@router.get("/documents", response_model=S.DocumentListOut, tags=["政策库"], summary="政策文件列表（可按层级、发文单位、状态、年份、主题筛选）")
def api_documents(request: Request, level: Optional[str] = None, issuer: Optional[str] = None,
                  status: Optional[Literal["有效", "已失效", "未载明有效期", "尚未施行", "征求意见稿"]] = None,
                  year: Optional[int] = Query(None, ge=1949, le=2100), topic: Optional[str] = None,
                  q: Optional[str] = Query(None, max_length=200)):
    state = st(request)
    docs = filter_documents(state, level, issuer, status, year, topic, q)
    return {"total": len(docs), "documents": [document_dict(state, d) for d in docs]}


@router.get("/documents/{doc_id}", response_model=S.DocumentOut, tags=["政策库"], summary="一份政策文件及其全部条款")
def api_document(doc_id: str, request: Request):
    state = st(request)
    try:
        d = state.library.document(doc_id)
    except KeyError:
        raise WebError(404, f"没有编号为 {doc_id} 的政策文件") from None
    return document_dict(state, d, with_clauses=True)


@router.get("/clauses/{clause_id}", response_model=S.ClauseOut, tags=["政策库"], summary="一个条款（原文及由此编码的措施）")
def api_clause(clause_id: str, request: Request):
    state = st(request)
    try:
        c = state.library.clause(clause_id)
    except KeyError:
        raise WebError(404, f"没有编号为 {clause_id} 的条款") from None
    d = clause_dict(c, measures_by_clause(state))
    d["document_title"] = state.library.document(c.document_id).title
    return d


@router.get("/rules", response_model=S.RuleListOut, tags=["规则"], summary="已编码的措施（可按期间、文件、对象筛选）")
def api_rules(request: Request, period: Optional[str] = Query(None, max_length=8), document: Optional[str] = None,
              entity: Optional[Entity] = None):
    state = st(request)
    if period:  # a malformed period is a 422 in Chinese (was a 500)
        _period_ok(state, period)
    rows = [m.id for m, f in state.ruleset.measures_for(period, entity) if not document or f.rules.document == document]
    return {"total": len(rows), "rules_version": state.ruleset.version,
            "measures": [measure_dict(state, mid) for mid in rows]}


@router.get("/rules/{measure_id}", response_model=S.RuleOut, tags=["规则"], summary="一项措施的完整规则")
def api_rule(measure_id: str, request: Request):
    state = st(request)
    if measure_id not in state.ruleset.measures:
        raise WebError(404, f"没有编号为 {measure_id} 的措施")
    return measure_dict(state, measure_id, full=True)


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
        d["url"] = f"/policies/{d['document_id']}#{d['clause_id']}"
        out.append(d)
    return out


@router.get("/search", response_model=S.SearchOut, tags=["政策库"], summary="全文检索条款（命中词以【】标出）")
async def api_search(request: Request, q: str = Query(..., max_length=200), limit: int = Query(20, ge=1, le=100),
               level: Optional[str] = None, document: Optional[str] = None, status: Optional[str] = None):
    state = st(request)
    key = ("search", q, limit, level, document, status, date.today())  # status (有效/已失效) is as of today

    def compute() -> bytes:  # in the thread pool: a search on a cache miss must not hold up the event loop
        hits = search_hits(q, limit, level, document, status)
        return json_bytes({"query": q, "total": len(hits), "hits": hits})

    return Response(await cached_or_thread(state, key, compute), media_type="application/json")


@router.get("/fields", response_model=S.FieldsOut, tags=["规则"], summary="某期间的措施需要的输入字段（计算器表单）")
def api_fields(request: Request, period: str = Query(..., max_length=8), entity: Entity = "enterprise"):
    _period_ok(st(request), period)  # a malformed period is a 422 in Chinese (was a 500)
    return {"period": period, "entity": entity, "fields": calculator_fields(st(request), period, entity)}


def calculator_fields(state: WebState, period: str, entity: str = "enterprise") -> list[dict]:
    """The inputs the period's measures read, in the order the measures first use them."""
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


# ------------------------------------------------------------------------------------------------ calculator
class CheckBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    period: str = Field(max_length=8, examples=["2024Q4"])
    entity: Entity = "enterprise"
    facts: dict[str, Any] = Field(default_factory=dict, examples=[{"当季工业总产值（万元）": "898.61497"}])
    params: dict[str, Any] = Field(default_factory=dict)


def _period_ok(state: WebState, period: str) -> None:
    from huiqi.core.periods import Period

    try:
        Period.parse(period)
    except ValueError as e:
        raise WebError(422, str(e)) from None


def engine_params(state: WebState, params: dict | None) -> dict:
    """The active parameter set overlaid with the request's own (checked: a refusal is a 422 in Chinese)."""
    base = state.active_set()["values"]
    return state.params_for_engine({**base, **state.validate_values(params or {})}) if params else \
        state.params_for_engine(base)


def check_payload(results, period: str, entity: str) -> dict:
    return {"period": period, "entity": entity, "summary": summary_dict(results),
            "results": [result_dict(r) for r in results]}


def run_check(state: WebState, facts: dict, period: str, entity: str, params: dict | None) -> dict:
    _period_ok(state, period)
    merged = engine_params(state, params)
    try:
        results = state.check(facts, period, entity, merged)
    except (InputError, ParameterError) as e:
        raise WebError(422, str(e)) from None
    return check_payload(results, period, entity)


def calc_batcher(state: WebState):
    """The process's calculator batcher (huiqi.services.calculator_batch), created on first use."""
    from huiqi.services.calculator_batch import CheckBatcher

    return state.attached("calc_batcher", lambda: CheckBatcher(state.ruleset, state.library))


async def batched_check(state: WebState, facts: dict, period: str, entity: str, params: dict | None,
                        finish=None):
    """One check through the batcher: gathered with concurrent ones into one evaluation in a worker thread.

    ``finish(request, results)`` also runs in that thread (default: the JSON response body as bytes)."""
    from huiqi.services.calculator import CheckRequest

    _period_ok(state, period)
    request = CheckRequest(facts, period, entity, engine_params(state, params))
    if finish is None:
        def finish(req, results):
            return json_bytes(check_payload(results, req.period, req.entity))
    try:
        return await calc_batcher(state).submit(request, finish)
    except (InputError, ParameterError) as e:
        raise WebError(422, str(e)) from None


@router.post("/check", response_model=S.CheckOut, tags=["政策计算器"], summary="一个主体在某期间可享受的全部措施（事实以元计，可用中文字段名）")
async def api_check(body: CheckBody, request: Request, user: User | None = Depends(maybe_user)):
    """Open without login, like the calculator page (the facts are the caller's own; nothing is stored)."""
    state = st(request)
    active = state.active_set()
    key = ("check", body.period, body.entity, json.dumps(body.facts, sort_keys=True, default=str),
           json.dumps(body.params, sort_keys=True, default=str), active["id"], active["version"])
    payload = state.cache_get(key)
    if payload is None:
        payload = await batched_check(state, body.facts, body.period, body.entity, body.params)
        payload = state.cached(key, lambda: payload)
    return Response(payload, media_type="application/json")


async def cached_or_thread(state: WebState, key: tuple, compute):
    """A cached answer straight from the event loop; a miss is computed in the thread pool."""
    from starlette.concurrency import run_in_threadpool

    hit = state.cache_get(key)
    if hit is not None:
        return hit
    return await run_in_threadpool(state.cached, key, compute)


def visible_enterprise(state: WebState, user: User, credit_code: str) -> dict:
    if not state.can_see_enterprise(user, credit_code):
        raise WebError(403, "无权查看该企业的信息")
    ent = state.enterprise(credit_code)
    if ent is None:
        raise WebError(404, f"没有统一社会信用代码为 {credit_code} 的企业")
    return ent


@router.get("/enterprises", response_model=S.EnterpriseListOut, tags=["企业"], summary="可查看的企业（企业用户只有自己，县区只有本县区）")
def api_enterprises(request: Request, user: User = Depends(current_user), q: Optional[str] = Query(None, max_length=64),
                    county: Optional[str] = Query(None, max_length=6), limit: int = Query(50, ge=1, le=500),
                    offset: int = Query(0, ge=0, le=MAX_OFFSET)):
    state = st(request)
    frame = visible_enterprises(state, user, q, county)
    rows = frame.slice(offset, limit).select("credit_code", "name", "county_code", "county_name", "industry_code",
                                             "sector").to_dicts()
    return {"total": frame.height, "enterprises": rows}


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


@router.get("/enterprises/{credit_code}", response_model=S.EnterpriseOut, tags=["企业"], summary="一家企业的登记信息")
def api_enterprise(credit_code: str, request: Request, user: User = Depends(current_user)):
    ent = visible_enterprise(st(request), user, credit_code)
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in ent.items()}


def stored_facts(state: WebState, credit_code: str, period: str) -> dict:
    _period_ok(state, period)
    row = state.facts_row(credit_code, period)
    if row is None:
        raise WebError(404, f"没有企业 {credit_code} 在 {period} 的数据")
    return state.facts_for_check(row)


@router.get("/enterprises/{credit_code}/facts", response_model=S.FactsOut, tags=["企业"], summary="一家企业某期间的事实（元；缺失的不列出）")
def api_enterprise_facts(credit_code: str, request: Request, period: str = Query(..., max_length=8),
                         user: User = Depends(current_user)):
    state = st(request)
    visible_enterprise(state, user, credit_code)
    facts = stored_facts(state, credit_code, period)
    return {"credit_code": credit_code, "period": period,
            "facts": {k: (str(v) if not isinstance(v, bool) else v) for k, v in facts.items()}}


@router.get("/enterprises/{credit_code}/check", response_model=S.CheckOut, tags=["政策计算器"], summary="一家已登记企业的计算结果（按现行参数）")
async def api_enterprise_check(credit_code: str, request: Request, period: str = Query(..., max_length=8),
                               user: User = Depends(current_user)):
    state = st(request)
    visible_enterprise(state, user, credit_code)
    active = state.active_set()
    key = ("stored", credit_code, period, state.data_hash, active["id"], active["version"])

    hit = state.cache_get(key)
    if hit is None:
        from starlette.concurrency import run_in_threadpool

        facts = await run_in_threadpool(stored_facts, state, credit_code, period)

        def finish(req, results) -> bytes:
            return json_bytes({**check_payload(results, req.period, req.entity), "credit_code": credit_code})

        payload = await batched_check(state, facts, period, "enterprise", None, finish)
        hit = state.cached(key, lambda: payload)
    return Response(hit, media_type="application/json")


# ------------------------------------------------------------------------------------------ parameters
def budget_parameters(state: WebState) -> list[str]:
    from huiqi.services.parameters import budget_parameters as names  # the service owns it (issue 11 item 3)

    return names(state.ruleset)


def parameter_rows(state: WebState, values: dict[str, str]) -> list[dict]:
    from huiqi.services.parameters import parameter_rows as rows

    return rows(state.ruleset, values)


@router.get("/parameters", response_model=S.ParametersOut, tags=["参数与预算"], summary="全部可设参数（含预算）及现行取值")
def api_parameters(request: Request, user: User = Depends(current_user)):
    state = st(request)
    active = state.active_set()
    return {"active_set": active, "parameters": parameter_rows(state, active["values"])}


@router.get("/budgets", response_model=S.BudgetsOut, tags=["参数与预算"], summary="预算参数及现行取值（元）")
def api_budgets(request: Request, user: User = Depends(current_user)):
    state = st(request)
    active = state.active_set()
    return {"budget_policy": active["budget_policy"],
            "budgets": [r for r in parameter_rows(state, active["values"]) if r["is_budget"]]}


class ParameterSetBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Optional[str] = Field(None, max_length=128)
    values: dict[str, Any] = Field(default_factory=dict)
    budget_policy: Optional[Literal["pro_rata", "ranked"]] = None
    comment: Optional[str] = Field(None, max_length=1000)
    activate: bool = False


@router.get("/parameter-sets", response_model=list[S.ParameterSetOut], tags=["参数与预算"], summary="参数方案列表")
def api_parameter_sets(request: Request, user: User = Depends(current_user)):
    return st(request).parameter_sets()


@router.get("/parameter-sets/{set_id}", response_model=S.ParameterSetOut, tags=["参数与预算"], summary="一个参数方案及其变更历史")
def api_parameter_set(set_id: S.DbId, request: Request, user: User = Depends(current_user)):
    return st(request).parameter_set(set_id)


@router.post("/parameter-sets", response_model=S.ParameterSetOut, tags=["参数与预算"], summary="新建参数方案（管理员）", status_code=201)
def api_new_parameter_set(body: ParameterSetBody, request: Request, user: User = Depends(admin_user)):
    return st(request).save_parameter_set(user, None, body.name, body.values, body.budget_policy, body.comment,
                                          body.activate, auth.client_ip(request))


@router.put("/parameter-sets/{set_id}", response_model=S.ParameterSetOut, tags=["参数与预算"], summary="修改参数方案（管理员；整体替换取值，留痕）")
def api_update_parameter_set(set_id: S.DbId, body: ParameterSetBody, request: Request, user: User = Depends(admin_user)):
    return st(request).save_parameter_set(user, set_id, None, body.values, body.budget_policy, body.comment,
                                          body.activate or None, auth.client_ip(request))


# ---------------------------------------------------------------------------------------------- screening
class ScreeningBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    period: str = Field(max_length=8, examples=["2024Q4"])
    parameter_set_id: Optional[int] = Field(None, ge=1, le=S.MAX_ID)
    measures: Optional[list[str]] = None
    budget_policy: Optional[Literal["pro_rata", "ranked"]] = None


@router.post("/screenings", response_model=S.JobStartOut, tags=["免申即享筛查"], summary="发起筛查（后台任务，返回任务编号）", status_code=202)
def api_start_screening(body: ScreeningBody, request: Request, user: User = Depends(officer_user)):
    job_id = st(request).start_screening(user, body.period, body.parameter_set_id, body.measures, body.budget_policy,
                                         auth.client_ip(request))
    return {"job_id": job_id, "url": f"/api/screenings/{job_id}"}


@router.get("/screenings", response_model=list[S.JobOut], tags=["免申即享筛查"], summary="筛查任务列表")
def api_screenings(request: Request, user: User = Depends(current_user)):
    return [public_job(j, user) for j in st(request).jobs()]


def public_job(job: dict, user: User) -> dict:
    out = dict(job)
    if not user.is_admin and out.get("manifest"):
        out["manifest"] = {k: v for k, v in out["manifest"].items() if k != "paid_total_fen"}  # province-wide total
    return out


@router.get("/screenings/{job_id}", response_model=S.JobOut, tags=["免申即享筛查"], summary="任务状态与进度")
def api_screening(job_id: str, request: Request, user: User = Depends(current_user)):
    return public_job(st(request).job(job_id), user)


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


@router.get("/screenings/{job_id}/results", response_model=S.ResultPageOut, tags=["免申即享筛查"], summary="筛查结果（分页；按角色限定范围）")
def api_screening_results(job_id: str, request: Request, user: User = Depends(current_user),
                          page: int = Query(1, ge=1, le=MAX_PAGE), page_size: int = Query(50, ge=1, le=500),
                          measure: Optional[str] = None, county: Optional[str] = Query(None, max_length=6),
                          status: Optional[Literal["符合", "待补充信息", "参数待定"]] = None,
                          q: Optional[str] = Query(None, max_length=64), sort: str = "final_fen", desc: bool = True):
    state = st(request)
    frame = scoped_results(state, user, job_id, measure, county, status, q)
    rows = page_of(frame, page, page_size, sort, desc)
    paid = frame.filter(pl.col("final_fen") > 0)
    return {"job_id": job_id, "total": frame.height, "page": page, "page_size": page_size,
            "paid_count": paid.height, "paid_total_fen": int(paid["final_fen"].sum() or 0),
            "paid_total_yuan": yuan_text(int(paid["final_fen"].sum() or 0)),
            "rows": result_rows(state, rows)}


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


@router.get("/screenings/{job_id}/summary", response_model=S.ScreeningSummaryOut, tags=["免申即享筛查"], summary="汇总（按县区、行业、措施；图表数据）")
def api_screening_summary(job_id: str, request: Request, user: User = Depends(current_user)):
    state = st(request)
    return summary(state, scoped_results(state, user, job_id))


@router.get("/screenings/{job_id}/export.xlsx", response_class=FileResponse,
            responses=S.file_response(S.XLSX, "拟兑现名单（Excel）"), tags=["免申即享筛查"], summary="拟兑现名单 Excel（按角色限定范围）")
def api_export_xlsx(job_id: str, request: Request, user: User = Depends(current_user)):
    state = st(request)
    if user.role == "enterprise":
        raise WebError(403, "企业用户不能下载拟兑现名单；本企业结果见“我的结果”")
    path = state.export_excel(user, job_id)
    return FileResponse(path, filename=path.name,
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@router.get("/screenings/{job_id}/export.csv", response_class=Response,
            responses=S.file_response("text/csv", "结果表（CSV，UTF-8 带 BOM）"), tags=["免申即享筛查"], summary="结果表 CSV（分与元；按角色限定范围）")
def api_export_csv(job_id: str, request: Request, user: User = Depends(current_user)):
    state = st(request)
    frame = scoped_results(state, user, job_id)
    frame = frame.with_columns(pl.col("final_fen").map_elements(yuan_text, return_dtype=pl.String).alias("final_yuan"))
    job = state.job(job_id)
    name = f"results_{job['period']}_{job_id}.csv"
    from huiqi.services.award_list import sort_results
    from huiqi.services.csv_safe import write_csv

    frame = sort_results(frame)  # the order of results.csv; cells safe from formula injection
    return Response("\ufeff" + write_csv(frame), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename={name}"})


class ApproveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scope: Optional[str] = Field(None, max_length=16)
    note: Optional[str] = Field(None, max_length=1000)


@router.post("/screenings/{job_id}/approve", response_model=S.JobOut, tags=["免申即享筛查"], summary="审核拟兑现名单（县区审本县区；管理员可审全部）")
def api_approve(job_id: str, body: ApproveBody, request: Request, user: User = Depends(officer_user)):
    return st(request).approve(user, job_id, body.scope, body.note, auth.client_ip(request))


# ------------------------------------------------------------------------------------------------- import
def import_field(e: dict) -> dict:
    """One import problem as an error field: where (file〔sheet〕 第N行 列) and why, plus the parts for machines."""
    where = (e.get("file") or "") + (f"〔{e['sheet']}〕" if e.get("sheet") else "")
    where += (f" 第{e['row']}行" if e.get("row") else "") + (f" {e['column']}" if e.get("column") else "")
    value = e.get("value")
    return {"field": where.strip() or "文件", "message": e.get("reason") or "取值有误", "file": e.get("file"),
            "sheet": e.get("sheet"), "row": e.get("row"), "column": e.get("column"),
            "value": None if value is None else str(value)}


def do_import(state: WebState, user: User, uploads: list[UploadFile], money_unit: str | None, ip: str,
              preview: bool = False) -> dict:
    """Validate every uploaded file; write all (one transaction) only if there is no problem anywhere.

    preview: validate and report what would change (rows added / changed / unchanged per table), write nothing."""
    from huiqi.data.importer import import_files

    if not uploads:
        raise WebError(422, "请选择要导入的文件（.xlsx、.csv 或 .parquet）")
    if money_unit not in (None, "", "元", "万元", "亿元"):
        raise WebError(422, f"不认识的金额单位“{money_unit}”（可用 元、万元、亿元）")
    tmp = Path(tempfile.mkdtemp(prefix="huiqi-import-"))
    try:
        paths = []
        for i, up in enumerate(uploads):
            name = Path(up.filename or f"upload{i}").name
            if not name.lower().endswith(ALLOWED_UPLOADS):
                raise WebError(422, f"不支持的文件类型：{name}（可用 .xlsx、.csv、.parquet；.xls 请另存为 .xlsx）")
            target = tmp / f"{i:02d}" / name
            target.parent.mkdir()
            size = 0
            with target.open("wb") as out:
                while chunk := up.file.read(1 << 20):
                    size += len(chunk)
                    if size > MAX_UPLOAD_BYTES:
                        raise WebError(413, f"文件 {name} 超过 {MAX_UPLOAD_BYTES // (1 << 20)}MB，请分批导入")
                    out.write(chunk)
            paths.append(target)
        try:
            result = import_files(paths, None, money_unit=money_unit or None)
        except ValueError as e:
            raise WebError(422, str(e)) from None
        errors = [{k: v for k, v in row.items()} for row in result.errors.to_dicts()]
        for e in errors:
            e["file"] = Path(e["file"]).name if e.get("file") else e.get("file")
        names = [p.name for p in paths]
        if not result.ok:
            state.audit(user, "导入", "、".join(names), {"ok": False, "problems": len(errors)}, ip)
            return {"ok": False, "text": result.to_text().replace(str(tmp), ""), "errors": errors, "rows": {},
                    "written": None}
        with state.lock:  # check and write under one lock: no other import can change the owners in between
            if user.role == "officer":
                from huiqi.data.scope import county_scope_problems

                # against what is held (demo data + database), not only the file: no county takeover
                result.problems += county_scope_problems(result, user.county_code, state.tables)
                if result.problems:
                    state.audit(user, "导入", "、".join(names), {"ok": False, "outside_county": len(result.problems)}, ip)
                    raise WebError(403, "只能导入本县区的数据。" + result.to_text(limit=20).replace(str(tmp), ""))
            if preview:
                from huiqi.services.import_tools import preview as diff

                changes = diff(state.tables, result.tables)
                return {"ok": True, "preview": changes, "errors": [], "rows": result.rows(), "written": None,
                        "text": result.to_text() + "以下为预览，尚未写入。"}
            written = state.apply_import(result.tables)
        from huiqi.services.import_tools import table_label

        state.audit(user, "导入", "、".join(names), {"ok": True, "rows": result.rows(), "written": written}, ip)
        done = "，".join(f"{table_label(t)}{n}行" for t, n in written.items() if n) or "无变化（数据已是最新）"
        return {"ok": True, "text": result.to_text() + "已写入：" + done + "。",
                "errors": [], "rows": result.rows(), "written": written}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@router.get("/imports/template.xlsx", response_class=FileResponse,
            responses=S.file_response(S.XLSX, "导入模板（Excel）"), tags=["数据导入"], summary="导入模板（每张导入表一个工作表，中文表头）")
def api_import_template(request: Request, user: User = Depends(officer_user)):
    from huiqi.services.import_tools import write_template

    path = write_template(st(request).work_dir / "templates" / "惠企数据导入模板.xlsx")
    return FileResponse(path, filename=path.name,
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@router.post("/imports", response_model=S.ImportOut, responses=S.UPLOAD_ERRORS, tags=["数据导入"], summary="上传 Excel/CSV/Parquet 导入（全部通过才写入）")
def api_import(request: Request, files: list[UploadFile] = File(...), money_unit: Optional[str] = Form(None),
               preview: bool = Form(False), user: User = Depends(officer_user)):
    state = st(request)
    out = do_import(state, user, files, money_unit, auth.client_ip(request), preview=preview)
    if not out["ok"]:  # the one error body: the report's first line, every problem by file, row and column
        return S.error_json(422, out["text"].splitlines()[0], [import_field(e) for e in out["errors"]])
    return out
