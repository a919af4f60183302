"""REST API under /api. Every operation declares its response model (schemas.py); every refusal is a 4xx with
the one error body {"error": {"code", "message": "<中文说明>", "fields": [...]}} and changes nothing.

Money in responses: integer 分 (``*_fen``) and a string of 元 with two decimals (``*_yuan``), or of 万元 where the
key says so (``*_wan``); never a float.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any, Literal, Optional

import orjson
import polars as pl
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from huiqi.interfaces.web import auth, schemas as S, search_json, search_pool
from huiqi.interfaces.web.auth import User, admin_user, check_csrf, current_user, officer_user
from huiqi.interfaces.web.checking import batched_check, period_ok, stored_facts
from huiqi.interfaces.web.compression import batcher_encoding, encode, encoded_headers
from huiqi.interfaces.web.presenters import (
    MAX_OFFSET, MAX_PAGE, calculator_fields, check_json, clause_dict, document_dict, filter_documents, import_field,
    measure_dict, measures_by_clause, page_of, parameter_rows, public_job, result_rows, scoped_results,
    summary, visible_enterprise, visible_enterprises)
from huiqi.interfaces.web.state import WebError, WebState, yuan_text
from huiqi.interfaces.web.uploads import do_import


Entity = Literal["enterprise", "project", "county", "person", "bank", "parcel"]  # 主体类型
router = APIRouter(prefix="/api", dependencies=[Depends(check_csrf)])


def st(request: Request) -> WebState:
    return request.app.state.web


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
    auth.set_session_cookie(response, token, request)
    return response


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
        period_ok(state, period)
    rows = [m.id for m, f in state.ruleset.measures_for(period, entity) if not document or f.rules.document == document]
    return {"total": len(rows), "rules_version": state.ruleset.version,
            "measures": [measure_dict(state, mid) for mid in rows]}


@router.get("/rules/{measure_id}", response_model=S.RuleOut, tags=["规则"], summary="一项措施的完整规则")
def api_rule(measure_id: str, request: Request):
    state = st(request)
    if measure_id not in state.ruleset.measures:
        raise WebError(404, f"没有编号为 {measure_id} 的措施")
    return measure_dict(state, measure_id, full=True)


@router.get("/search", response_model=S.SearchOut, tags=["政策库"], summary="全文检索条款（命中词以【】标出）")
async def api_search(request: Request, q: str = Query(..., max_length=200), limit: int = Query(20, ge=1, le=100),
               level: Optional[str] = None, document: Optional[str] = None, status: Optional[str] = None):
    return Response(await search_answer(st(request), q, limit, level, document, status),
                    media_type="application/json")


async def search_answer(state: WebState, q: str, limit: int, level: str | None, document: str | None,
                        status: str | None) -> bytes:
    """The JSON body answering valid search parameters (a refusal raises WebError). Also called by
    web/check_fast.py, the same route without the framework's per-request machinery."""
    key = ("search", q, limit, level, document, status, date.today())  # status (有效/已失效) is as of today

    hit = state.cache_get(key)
    if hit is not None:
        return hit

    def compute() -> bytes:  # on a search thread: a search on a cache miss must not hold up the event loop
        return search_json.answer(q, limit, level, document, status)  # each clause's fields serialised once (SEARCH4)

    return await search_pool.run(state.cached, key, compute)  # asyncio's hand-off, not anyio's (SEARCH3-4)


@router.get("/fields", response_model=S.FieldsOut, tags=["规则"], summary="某期间的措施需要的输入字段（计算器表单）")
def api_fields(request: Request, period: str = Query(..., max_length=8), entity: Entity = "enterprise"):
    period_ok(st(request), period)  # a malformed period is a 422 in Chinese (was a 500)
    return {"period": period, "entity": entity, "fields": calculator_fields(st(request), period, entity)}


# ------------------------------------------------------------------------------------------------ calculator
class CheckBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    period: str = Field(max_length=8, examples=["2024Q4"])
    entity: Entity = "enterprise"
    facts: dict[str, Any] = Field(default_factory=dict, examples=[{"当季工业总产值（万元）": "898.61497"}])
    params: dict[str, Any] = Field(default_factory=dict)


def _canonical(value: dict) -> bytes | str:
    """A cache key for a request's facts or parameters: equal for equal JSON objects, whatever their key order
    (orjson, ~10× the json module). The json module where orjson refuses (an integer beyond 64 bits) or where its
    text has a null: orjson writes NaN and ±Infinity (which Python's JSON parser accepts) as null, and {"x": NaN}
    must not share a key with {"x": null}. The two kinds of key (bytes, str) never compare equal."""
    if not value:  # most requests send no parameters
        return b"{}"
    try:
        key = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        if b"null" not in key:
            return key
    except TypeError:
        pass
    return json.dumps(value, sort_keys=True, default=str)


@router.post("/check", response_model=S.CheckOut, tags=["政策计算器"], summary="一个主体在某期间可享受的全部措施（事实以元计，可用中文字段名）")
async def api_check(body: CheckBody, request: Request):  # no user dependency: the answer is the same for anyone
    """Open without login, like the calculator page (the facts are the caller's own; nothing is stored)."""
    return Response(await check_answer(st(request), body), media_type="application/json")


async def check_answer(state: WebState, body: CheckBody) -> bytes:
    """The JSON body answering a valid CheckBody (a refusal raises WebError): from the result cache or the batcher."""
    return (await encoded_check_answer(state, body, "identity"))[0]


async def encoded_check_answer(state: WebState, body: CheckBody, encoding: str) -> tuple[bytes, str]:
    """The answer as sent with ``encoding`` (zstd, gzip or identity; compression.encode): (bytes, coding), from
    the result cache or the batcher (``answer_per_coding``). Also called by web/check_fast.py, the same route without
    the framework's per-request machinery."""
    active = state.active_set()
    key = ("check", body.period, body.entity, _canonical(body.facts), _canonical(body.params), active["id"],
           active["version"])

    def check(also):
        return batched_check(state, body.facts, body.period, body.entity, body.params,
                             lambda req, results: also(check_json(results, req.period, req.entity, shared=True)))

    return await answer_per_coding(state, key, encoding, check)


async def answer_per_coding(state: WebState, key: tuple, encoding: str, check) -> tuple[bytes, str]:
    """A calculator answer as sent with ``encoding``: (bytes, coding). ``check(also)`` awaits the batcher with
    ``also(json)`` applied to the JSON in its worker thread, so a miss is compressed there, not on the event loop;
    the result cache keeps one entry per coding sent (key + coding), so a hit costs no compression (WEB12-2)."""
    hit = state.cache_get((*key, encoding))
    if hit is not None:
        return hit, encoding
    plain = state.cache_get((*key, "identity"))
    if plain is not None:  # kept plain for an earlier client: compressed once (here), then kept too
        packed, coding = encode(plain, encoding)
    else:
        plain, (packed, coding) = await check(lambda payload: (payload, encode(payload, encoding)))
        plain = state.cached((*key, "identity"), lambda: plain)
    if coding == "identity":  # asked for, or a body under the minimum size (sent plain): the plain entry only
        return plain, coding
    return state.cached((*key, coding), lambda: packed), coding


@router.get("/enterprises", response_model=S.EnterpriseListOut, tags=["企业"], summary="可查看的企业（企业用户只有自己，县区只有本县区）")
def api_enterprises(request: Request, user: User = Depends(current_user), q: Optional[str] = Query(None, max_length=64),
                    county: Optional[str] = Query(None, max_length=6), limit: int = Query(50, ge=1, le=500),
                    offset: int = Query(0, ge=0, le=MAX_OFFSET)):
    state = st(request)
    frame = visible_enterprises(state, user, q, county)
    rows = frame.slice(offset, limit).select("credit_code", "name", "county_code", "county_name", "industry_code",
                                             "sector").to_dicts()
    return {"total": frame.height, "enterprises": rows}


@router.get("/enterprises/{credit_code}", response_model=S.EnterpriseOut, tags=["企业"], summary="一家企业的登记信息")
def api_enterprise(credit_code: str, request: Request, user: User = Depends(current_user)):
    ent = visible_enterprise(st(request), user, credit_code)
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in ent.items()}


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

    async def check(also):
        from starlette.concurrency import run_in_threadpool

        facts = await run_in_threadpool(stored_facts, state, credit_code, period)
        return await batched_check(state, facts, period, "enterprise", None, lambda req, results: also(
            check_json(results, req.period, req.entity, credit_code, shared=True)))

    payload, coding = await answer_per_coding(state, key, batcher_encoding(request.scope), check)
    return Response(payload, media_type="application/json", headers=encoded_headers(coding))


# ------------------------------------------------------------------------------------------ parameters
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


@router.get("/screenings/{job_id}", response_model=S.JobOut, tags=["免申即享筛查"], summary="任务状态与进度")
def api_screening(job_id: str, request: Request, user: User = Depends(current_user)):
    return public_job(st(request).job(job_id), user)


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


# Routes are matched in order, each by a regular expression plus FastAPI's bookkeeping, and an included router's
# list is walked twice per request: the routes under load (the calculator, search) are tried first, instead of
# after fifteen others. No other route matches their paths (tests/web/test_hot_routes.py), so no request finds a
# different route; the OpenAPI document keeps the declared order (app.declared_openapi_order).
HOT_PATHS = ("/api/check", "/api/search", "/api/enterprises/{credit_code}/check")
DECLARED_PATHS = list(dict.fromkeys(r.path for r in router.routes))
router.routes.sort(key=lambda r: r.path not in HOT_PATHS)  # stable: otherwise the declared order
