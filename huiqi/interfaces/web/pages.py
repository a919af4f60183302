"""Chinese pages: 政策库, 政策计算器, 工作台 (import, screening, award list, parameters, charts), 管理.

Server-rendered (Jinja2); htmx for live search, the calculator, uploads and the screening progress bar.
Every form carries the CSRF token (and htmx sends it as a header on every request).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from urllib.parse import parse_qsl, urlencode

import polars as pl
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup

from huiqi.core.periods import is_quarter
from huiqi.engine.evaluate import STATUSES
from huiqi.policies.library import STATUSES as DOCUMENT_STATUSES
from huiqi.interfaces.web import auth, calc_page, checking, presenters as P, uploads
from huiqi.interfaces.web.compression import encode
from huiqi.interfaces.web.auth import User, admin_user, check_csrf, current_user, maybe_user, officer_user
from huiqi.services import parameters
from huiqi.services.presenters import MONITORING_MEASURES
from huiqi.interfaces.web.state import DEFAULT_PERIOD, STATUS_DONE, WebError, WebState
from huiqi.interfaces.web.templating import fmt_plain, register_filters, render

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])


def st(request: Request) -> WebState:
    return request.app.state.web


@router.get("/login")
def login_page(request: Request, next: str = "/"):
    register_filters(request)
    return render(request, "login.html", next=_safe_next(next), error=None)


def _safe_next(target: str | None) -> str:
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.post("/login")
def login_submit(request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/")):
    register_filters(request)
    state = st(request)
    ip = auth.client_ip(request)
    try:
        user = auth.authenticate(state.engine, username, password, ip, state.settings)
    except auth.LoginError as e:
        if e.status == 429:
            state.audit(None, "登录受限", username[:64], auth.limit_detail(e, state.settings), ip)
        return render(request, "login.html", status=e.status, next=_safe_next(next), error=e.message,
                      username=username)
    token, _csrf = auth.start_session(state.engine, user)
    state.audit(user, "登录", user.username, None, ip)
    response = RedirectResponse(_safe_next(next), status_code=303)
    auth.set_session_cookie(response, token, request)
    return response


@router.post("/logout")
def logout(request: Request):
    auth.end_session(st(request).engine, request.cookies.get(auth.SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return response


# ------------------------------------------------------------------------------------------------- 政策库
@router.get("/policies")
def policies(request: Request, level: str = "", issuer: str = "", status: str = "", year: str = "", topic: str = "",
             q: str = ""):
    register_filters(request)
    state = st(request)
    year_int = int(year) if year.isdigit() else None
    docs = P.filter_documents(state, level or None, issuer or None, status or None, year_int, topic or None)
    lib = list(state.library)
    facets = {
        "levels": sorted({d.level for d in lib}),
        "issuers": sorted({d.issuer for d in lib if d.issuer}),
        "statuses": list(DOCUMENT_STATUSES),
        "years": sorted({d.year for d in lib if d.year}, reverse=True),
        "topics": sorted({t for d in lib for t in d.topics}),
    }
    hits = P.search_hits(q, 20, level or None, None, status or None) if q.strip() else []
    docs_view = [P.document_dict(state, d) for d in docs]
    return render(request, "policies.html", active_nav="policies", docs=docs_view, facets=facets,
                  f={"level": level, "issuer": issuer, "status": status, "year": year, "topic": topic, "q": q},
                  hits=hits)


@router.get("/policies/search")
def policies_search(request: Request, q: str = "", level: str = "", status: str = ""):
    register_filters(request)
    q = q[:200]
    hits = P.search_hits(q, 20, level or None, None, status or None) if q.strip() else []
    return render(request, "_search_results.html", hits=hits, q=q)


@router.get("/policies/{doc_id}")
def policy_document(request: Request, doc_id: str):
    register_filters(request)
    state = st(request)
    try:
        d = state.library.document(doc_id)
    except KeyError:
        raise WebError(404, f"没有编号为 {doc_id} 的政策文件") from None
    doc = P.document_dict(state, d, with_clauses=True)
    names = {mid: m.name for mid, (m, _f) in state.ruleset.measures.items()}
    return render(request, "document.html", active_nav="policies", doc=doc, names=names)


@router.get("/rules/{measure_id}")
def rule_page(request: Request, measure_id: str):
    register_filters(request)
    state = st(request)
    if measure_id not in state.ruleset.measures:
        raise WebError(404, f"没有编号为 {measure_id} 的措施")
    m = P.measure_dict(state, measure_id, full=True)
    doc = state.library.document(m["document"])
    clauses = []
    for cid in ([m["clause"]] if isinstance(m["clause"], str) else m["clause"]):
        try:
            clauses.append(state.library.clause(cid))
        except KeyError:
            pass
    own = {p["name"] for p in m.get("parameters", [])}
    params = [r for r in parameters.parameter_rows(state.ruleset, state.active_set()["values"]) if r["name"] in own]
    from huiqi.services import calendar as cal
    from huiqi.services.presenters import measure_formulas

    applications = [p for _doc, p in cal.programmes(measures=[measure_id])]
    formulas = measure_formulas(state.ruleset, state.library, m,
                                {r["name"]: r["effective"] for r in params if r.get("effective") is not None})
    return render(request, "measure.html", active_nav="policies", m=m, doc=doc, clauses=clauses, params=params,
                  fields=state.ruleset.dictionary, formulas=formulas, applications=applications,
                  window_text=cal.window_text)


# ------------------------------------------------------------------------------------------------ 计算器
def _field_value(value, ftype: str) -> str:
    if value is None:
        return ""
    if ftype in ("money", "number"):
        return fmt_plain(Decimal(str(value)))
    return fmt_plain(value)


def _calc_context(request: Request, user: User, period: str, enterprise: str | None) -> dict:
    state = st(request)
    periods = state.periods()
    if period not in periods:
        raise WebError(422, f"期间“{period}”没有可计算的措施或数据（可选：{'、'.join(periods[:12])}……）")
    if user is None and enterprise:
        raise WebError(401, "查看已登记企业的信息请先登录")
    if user is not None and user.role == "enterprise":
        if enterprise and enterprise != user.credit_code:
            raise WebError(403, "企业用户只能查看本企业的信息")
        enterprise = user.credit_code
    ent = P.visible_enterprise(state, user, enterprise) if enterprise else None
    fields = P.calculator_fields(state, period)
    facts = {}
    if ent is not None:
        row = state.facts_row(enterprise, period)
        facts = state.facts_for_check(row) if row else {}
    for f in fields:
        f["value"] = _field_value(facts.get(f["name"]), f["type"])
    options = []
    if user is not None and user.role == "officer":
        options = P.visible_enterprises(state, user).select("credit_code", "name").to_dicts()
    results_html = None
    if ent is not None:  # the enterprise's own check, as the form would show it (its error spans are in the form)
        results = checking.check_results(state, facts, period, "enterprise", None)
        results_html = Markup(calc_page.fragment(request.app.state.templates.env, results, period, _today(), (),
                                                 remember=False).decode())
    return {"periods": periods, "period": period, "enterprise": ent, "fields": fields, "options": options,
            "results_html": results_html}


def _today() -> date:
    return date.today()


@router.get("/calculator")
def calculator(request: Request, period: str = DEFAULT_PERIOD, enterprise: str = "",
               user: User | None = Depends(maybe_user)):  # open to all, as the README promises
    register_filters(request)
    ctx = _calc_context(request, user, period, enterprise.strip() or None)
    return render(request, "calculator.html", active_nav="calculator", **ctx)


# the calculator's form is ~5 KB of ~240 fields: a body past these limits is refused before it is parsed, as
# Starlette's own form parser refuses more than 1,000 fields (a 36 MB form of 2M fields took ~2 s of the loop)
FORM_MAX_BYTES = 1 << 20
FORM_MAX_FIELDS = 1000


async def _form_items(request: Request) -> list[tuple[str, object]]:
    """The posted form's (name, value) pairs in order. A urlencoded body (what htmx sends) is split by the standard
    library in one call (``form_pairs``): Starlette's parser calls back per field, ~0.4 ms for the calculator's 237
    fields. Any other body (multipart), and a form whose CSRF token came in the form rather than htmx's header
    (auth.check_csrf has read it through Starlette already, and the body cannot be read twice), through Starlette."""
    if request.headers.get(auth.CSRF_HEADER) and \
            request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > FORM_MAX_BYTES:
                raise WebError(413, "提交的表单过大，请刷新页面后重试")
        return form_pairs(bytes(body))
    return list((await request.form()).multi_items())


def form_pairs(body: bytes) -> list[tuple[str, str]]:
    """A urlencoded body's pairs, decoded as Starlette decodes it (Latin-1, then %-escapes as UTF-8); more than
    FORM_MAX_FIELDS fields (or FORM_MAX_BYTES) are refused, as Starlette refuses them."""
    if len(body) > FORM_MAX_BYTES:
        raise WebError(413, "提交的表单过大，请刷新页面后重试")
    try:
        return parse_qsl(body.decode("latin-1"), keep_blank_values=True, max_num_fields=FORM_MAX_FIELDS)
    except ValueError:  # parse_qsl's "Max number of fields exceeded"
        raise WebError(400, "提交的表单字段过多，请刷新页面后重试") from None


@router.post("/calculator/check")
async def calculator_check(request: Request, user: User | None = Depends(maybe_user)):
    register_filters(request)
    period, fields, facts, errors = _calculator_facts(st(request), await _form_items(request))
    if errors:
        return render(request, "_calc_errors.html", status=422,
                      errors=[(n, fields[n]["label"], e) for n, e in errors.items()], fields=list(fields))
    html, _ = await _calculator_fragment(request, period, fields, facts, "identity")
    return HTMLResponse(html)  # UTF-8 bytes already: built in the worker thread


async def calculator_answer(request: Request, body: bytes, encoding: str) -> tuple[bytes, str] | None:
    """The route's answer to a valid urlencoded form (``body``), as sent with ``encoding`` — or None where the
    route answers otherwise (a value it refuses: its 422 fragment is the route's own). For web/check_fast.py,
    which has already made the route's CSRF check and read its user (WEB12-1)."""
    register_filters(request)
    period, fields, facts, errors = _calculator_facts(st(request), form_pairs(body))
    if errors:
        return None
    return await _calculator_fragment(request, period, fields, facts, encoding)


def _calculator_facts(state: WebState, form: list) -> tuple[str, dict, dict, dict]:
    """(period, the period's field table, the facts given, the values refused) of the calculator form's pairs; an
    unknown field is refused (WebError 422)."""
    periods = [v for k, v in form if k == "period"]  # the last one, as Starlette's form.get gives
    period = str(periods[-1] if periods and periods[-1] else DEFAULT_PERIOD)
    checking.period_ok(state, period)  # a malformed period: a 422 in Chinese (it was a 500 from is_quarter)
    fields = P.calculator_field_table(state, period) if is_quarter(period) else {}
    facts: dict = {}
    for key, value in form:
        if not key.startswith("f.") or not isinstance(value, str):
            continue
        name = key[2:]
        if name not in fields:
            raise WebError(422, f"未知字段“{name}”")
        value = value.strip()
        if value == "":
            continue  # left blank: unknown (待补充信息), never 0
        facts[name] = value
    # money and rates in the one input language of every form (1,000万元, 1000万, 5%); all errors at once
    from huiqi.services.form_values import parse_form

    kinds = {n: "money" if fields[n]["type"] == "money" else "points" if fields[n]["unit"] == "%" else "number"
             for n in facts if fields[n]["type"] in ("money", "number")}
    clean, errors = parse_form({n: facts[n] for n in kinds}, kinds, allow_negative=frozenset(kinds))
    facts.update(clean)
    return period, fields, facts, errors


async def _calculator_fragment(request: Request, period: str, fields: dict, facts: dict,
                               encoding: str) -> tuple[bytes, str]:
    """The results fragment as sent with ``encoding`` (compression.encode): batched with concurrent checks; the
    fragment is rendered and compressed in the batcher's worker thread too, each result's article once per shared
    result (huiqi.services.calculator_batch, calc_page; WEB12-2)."""
    env, today, names = request.app.state.templates.env, _today(), tuple(fields)
    return await checking.batched_check(
        st(request), facts, period, "enterprise", None,
        lambda req, results: encode(calc_page.fragment(env, results, req.period, today, names), encoding))


# ------------------------------------------------------------------------------------------------ 工作台
@router.get("/workbench")
def workbench(request: Request, user: User = Depends(officer_user)):
    register_filters(request)
    state = st(request)
    return render(request, "workbench.html", active_nav="workbench", periods=state.periods(),
                  default_period=DEFAULT_PERIOD, sets=state.parameter_sets(), active=state.active_set(),
                  jobs=state.jobs(20), county=state.county_names.get(user.county_code or "", "全区"))


@router.post("/workbench/import")
def workbench_import(request: Request, files: list[UploadFile] = File(default=[]), money_unit: str = Form(""),
                     mode: str = Form(""), user: User = Depends(officer_user)):
    register_filters(request)
    state = st(request)
    files = [f for f in files if f.filename]
    out = uploads.do_import(state, user, files, money_unit or None, auth.client_ip(request), preview=mode == "preview")
    return render(request, "_import_report.html", status=200 if out["ok"] else 422, report=out)


@router.post("/workbench/screen")
def workbench_screen(request: Request, period: str = Form(...), parameter_set_id: str = Form(""),
                     budget_policy: str = Form(""), user: User = Depends(officer_user)):
    register_filters(request)
    state = st(request)
    set_id = int(parameter_set_id) if parameter_set_id.isdigit() else None
    job_id = state.start_screening(user, period, set_id, None, budget_policy or None, auth.client_ip(request))
    return render(request, "_job_progress.html", job=state.job(job_id))


@router.get("/workbench/jobs/{job_id}/progress")
def job_progress(request: Request, job_id: str, user: User = Depends(current_user)):
    register_filters(request)
    return render(request, "_job_progress.html", job=st(request).job(job_id))


@router.get("/workbench/jobs/{job_id}")
def job_page(request: Request, job_id: str, user: User = Depends(officer_user)):
    register_filters(request)
    state = st(request)
    job = P.public_job(state.job(job_id), user)
    ctx = {"job": job, "summary": None, "measures": [], "counties": []}
    if job["status"] == STATUS_DONE:
        frame = P.scoped_results(state, user, job_id)
        ctx["summary"] = P.summary(state, frame)
        ctx["measures"] = [(mid, state.ruleset.measures[mid][0].name) for mid in
                           sorted(frame["measure_id"].unique().to_list())
                           if mid in state.ruleset.measures and mid not in MONITORING_MEASURES]
        if user.is_admin:
            ctx["counties"] = sorted((c, state.county_names.get(c, c)) for c in
                                     frame["county_code"].drop_nulls().unique().to_list())
        approved = {a["scope"] for a in job["approvals"]}
        ctx["can_approve"] = (user.role == "officer" and user.county_code not in approved) or \
                             (user.is_admin and "all" not in approved)
    return render(request, "job.html", active_nav="workbench", **ctx)


@router.get("/workbench/jobs/{job_id}/rows")
def job_rows(request: Request, job_id: str, page: int = Query(1, ge=1, le=P.MAX_PAGE), measure: str = "", county: str = "", status: str = "",
             q: str = "", sort: str = "final_fen", user: User = Depends(current_user)):
    register_filters(request)
    state = st(request)
    if status and status not in STATUSES:
        raise WebError(422, f"状态应为 {'、'.join(STATUSES)} 之一")
    frame = P.scoped_results(state, user, job_id, measure or None, county or None, status or None, q[:64] or None)
    frame = frame.filter(~pl.col("measure_id").is_in(list(MONITORING_MEASURES)))  # 临退规: a 驾驶舱 list, not an award
    page_size = 50
    pages = max(1, (frame.height + page_size - 1) // page_size)
    page = min(max(page, 1), pages)
    desc = sort == "final_fen"
    rows = P.result_rows(state, P.page_of(frame, page, page_size, sort, desc))
    base = {"measure": measure, "county": county, "status": status, "q": q, "sort": sort}
    return render(request, "_results_table.html", rows=rows, total=frame.height, page=page, pages=pages,
                  page_size=page_size, job_id=job_id, query=lambda p: urlencode({**base, "page": p}))


@router.post("/workbench/jobs/{job_id}/approve")
def job_approve(request: Request, job_id: str, scope: str = Form(""), note: str = Form(""),
                user: User = Depends(officer_user)):
    st(request).approve(user, job_id, scope or None, note[:1000], auth.client_ip(request))
    return RedirectResponse(f"/workbench/jobs/{job_id}?approved=1", status_code=303)


@router.get("/workbench/parameters")
def parameters_page(request: Request, saved: int = 0, user: User = Depends(officer_user)):
    register_filters(request)
    return _parameters(request, user, saved=bool(saved))


def _parameters(request: Request, user: User, status: int = 200, error: str | None = None, saved: bool = False,
                posted: dict | None = None, field_errors: dict | None = None):
    state = st(request)
    active = state.active_set()
    rows = parameters.parameter_rows(state.ruleset, active["values"])
    from huiqi.engine.explain import citation

    for r in rows:  # the clause as people cite it; its ID stays in the link
        try:
            r["clause_text"] = citation(state.library, r["clause"]) if r.get("clause") else None
        except KeyError:
            r["clause_text"] = None
    if posted is not None:
        for r in rows:
            r["value"] = posted.get(r["name"], r["value"])
    full = state.parameter_set(active["id"])
    return render(request, "parameters.html", status=status, active_nav="parameters", active=active, history=full["history"],
                  budgets=[r for r in rows if r["is_budget"]], others=[r for r in rows if not r["is_budget"]],
                  error=error, saved=saved, editable=user.is_admin, field_errors=field_errors or {})


@router.post("/workbench/parameters")
async def parameters_save(request: Request, user: User = Depends(admin_user)):
    register_filters(request)
    state = st(request)
    form = await request.form()
    values = {k[2:]: str(v) for k, v in form.multi_items() if k.startswith("p.") and isinstance(v, str)}
    policy = str(form.get("budget_policy") or "") or None
    comment = str(form.get("comment") or "")[:1000]
    active = state.active_set()
    try:
        state.save_parameter_set(user, active["id"], None, values, policy, comment, None, auth.client_ip(request))
    except WebError as e:
        message = f"共{len(e.fields)}处填写有误，见各参数旁的提示" if e.fields else e.message
        return _parameters(request, user, status=e.status, error=message, posted=values, field_errors=e.fields)
    return RedirectResponse("/workbench/parameters?saved=1", status_code=303)


# ------------------------------------------------------------------------------------------- 企业：我的结果
@router.get("/mine")
def mine(request: Request, user: User = Depends(current_user)):
    register_filters(request)
    state = st(request)
    if user.role != "enterprise":
        return RedirectResponse("/workbench" if user.is_officer else "/calculator", status_code=303)
    ent = state.enterprise(user.credit_code or "")
    blocks, seen = [], set()
    for job in state.jobs(10):  # newest first: one block per period, from its latest finished run
        if job["status"] != STATUS_DONE or job["period"] in seen:
            continue
        try:
            frame = P.scoped_results(state, user, job["id"])
        except WebError:
            continue
        seen.add(job["period"])
        # monitoring lists (临退规) are not measures an enterprise missed
        frame = frame.filter(~pl.col("measure_id").is_in(list(MONITORING_MEASURES)))
        blocks.append({"job": job, "rows": P.result_rows(state, frame.sort("measure_id"))})
    from huiqi.services import calendar as cal

    own = {r["measure_id"] for b in blocks for r in b["rows"]}  # screening lists only rows that are not 不符合
    upcoming = cal.upcoming(_today(), measures=own) if own else []
    return render(request, "mine.html", active_nav="mine", enterprise=ent, blocks=blocks, upcoming=upcoming)


# ------------------------------------------------------------------------------------------------- 管理
@router.get("/admin/audit")
def audit_page(request: Request, action: str = "", who: str = "", q: str = "",
               page: int = Query(1, ge=1, le=P.MAX_PAGE), user: User = Depends(admin_user)):
    """审计日志 as a readable table: 北京时间, who, action, target and details in Chinese (services.presenters)."""
    from huiqi.services.presenters import audit_view

    register_filters(request)
    state = st(request)
    page = max(page, 1)
    entries = state.audit_entries(100, (page - 1) * 100, action or None)
    names = {mid: m.name for mid, (m, _f) in state.ruleset.measures.items()}
    names.update({n: p.label for n, p in state.ruleset.parameters.items()})
    rows = [audit_view(e, names, state.county_names) for e in entries]
    who, q = who.strip()[:64], q.strip()[:64]
    if who:
        rows = [r for r in rows if who in r["user"]]
    if q:
        rows = [r for r in rows if q in r["target"] or any(q in k or q in v for k, v in r["details"])]
    return render(request, "audit.html", active_nav="admin", entries=rows, action=action, who=who, q=q, page=page,
                  full=len(entries) == 100,
                  actions=["登录", "登录受限", "参数变更", "筛查", "筛查完成", "筛查失败", "审核", "导入", "用户", "政策沙盘",
                           "兑现名单生成", "兑现剔除", "兑现恢复", "兑现调整", "兑现批准", "兑现公示", "兑现异议",
                           "兑现异议处理", "兑现意愿确认", "兑现拨付"])


@router.get("/admin/users")
def users_page(request: Request, user: User = Depends(admin_user)):
    register_filters(request)
    return render(request, "users.html", active_nav="admin", users=st(request).users(), error=None)


@router.post("/admin/users")
def users_create(request: Request, username: str = Form(""), password: str = Form(""), role: str = Form(""),
                 display_name: str = Form(""), county_code: str = Form(""), credit_code: str = Form(""),
                 user: User = Depends(admin_user)):
    register_filters(request)
    state = st(request)
    try:
        state.add_user(user, username, password, role, display_name, county_code.strip() or None,
                       credit_code.strip() or None)
    except WebError as e:
        return render(request, "users.html", status=e.status, active_nav="admin", users=state.users(), error=e.message)
    return RedirectResponse("/admin/users", status_code=303)


# the calculator's form is this router's request under load: matched first (as api.HOT_PATHS), the others in the
# declared order (its path is literal, so it takes no other route's requests)
router.routes.sort(key=lambda r: r.path != "/calculator/check")
