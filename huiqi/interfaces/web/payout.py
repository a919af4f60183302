"""兑现管理 (issue 10 item 3): routes and templates only — the states and rules are huiqi.services.payout.

Officers: /payout (their 县区's lists), /payout/lists/{id} (per-row 剔除/调整 with a reason, approval, 公示,
objections, 拨付 import), /payout/report. Enterprises: /payout/mine (意愿确认 with the bank account). Everyone,
without logging in: /gongshi (lists in 公示, approved rows only, credit codes masked) with Excel and PDF.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Literal, Optional

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from huiqi.core import money
from huiqi.interfaces.web import auth, presenters, schemas as S
from huiqi.interfaces.web.auth import User, check_csrf, current_user, officer_user
from huiqi.interfaces.web.templating import register_filters, render
from huiqi.interfaces.web.state import WebError, WebState
from huiqi.services import payout as P
from huiqi.services import payout_docs as docs

page_router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])
api_router = APIRouter(prefix="/api", tags=["兑现管理"], dependencies=[Depends(check_csrf)])


def st(request: Request) -> WebState:
    return request.app.state.web


def service(request: Request) -> P.PayoutService:
    state = st(request)
    return state.attached("payout", lambda: P.PayoutService(state.engine, state.audit))


@contextmanager
def chinese_errors():
    try:
        yield
    except P.PayoutError as e:
        raise WebError(e.status, e.message) from None


def _county(state: WebState, code: str) -> str:
    return state.county_names.get(code, code)


def _visible_list(request: Request, user: User, list_id: int) -> dict:
    with chinese_errors():
        info = service(request).list_info(list_id)
    if not user.is_admin and info["county_code"] != user.county_code:
        raise WebError(403, "只能查看本县区的兑现名单")
    return info


def _download(path: Path, name: str, remove: bool = False) -> FileResponse:
    from starlette.background import BackgroundTask

    return FileResponse(path, filename=name, headers={"Cache-Control": "no-store"},
                        background=BackgroundTask(path.unlink, missing_ok=True) if remove else None)


def _public_file(request: Request, list_id: int, suffix: str, write) -> tuple[Path, str]:
    """The 公示 file for what the list shows now, written once per content (the public cannot make the server
    render a PDF per request; a row removed after an objection gives a new file)."""
    info, rows, county = _public(request, list_id)
    key = hashlib.sha256(json.dumps([{k: str(v) for k, v in info.items()}, rows, county], ensure_ascii=False,
                                    sort_keys=True, default=str).encode()).hexdigest()[:16]
    path = _scratch(request, f"公示_{list_id}_{key}{suffix}")
    if not path.exists():
        try:
            write(path, info, county, rows)
        except RuntimeError as e:  # no CJK font on this server: say so instead of a broken PDF
            raise WebError(503, str(e)) from None
    return path, f"{docs.notice_title(info, county)}{suffix}"


def _scratch(request: Request, name: str) -> Path:
    folder = st(request).work_dir / "payout"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


# ------------------------------------------------------------------------------------------- officers
@page_router.post("/workbench/jobs/{job_id}/payout")
def open_payout(request: Request, job_id: str, county: str = Form(""), user: User = Depends(officer_user)):
    """The county's list from a finished screening (the first visit takes the 符合 rows with an award > 0)."""
    state = st(request)
    job = state.finished_job(job_id)
    county = user.county_code if user.role == "officer" else county.strip()
    if county not in state.county_names:
        raise WebError(422, "请选择县区")
    frame = presenters.scoped_results(state, user, job_id, county=county, status="符合")
    if "entity" in frame.columns:  # enterprises only: projects and 县区 are paid otherwise (PAYOUT-7)
        frame = frame.filter(frame["entity"] == "enterprise")
    awards = presenters.result_rows(state, frame)
    for a, fen in zip(awards, frame["final_fen"].to_list()):
        a["final_fen"] = fen
    with chinese_errors():
        list_id = service(request).open_list(user, job_id, job["period"], county, awards)
    return RedirectResponse(f"/payout/lists/{list_id}", status_code=303)


@page_router.get("/payout")
def payout_index(request: Request, user: User = Depends(current_user)):
    register_filters(request)
    if user.role == "enterprise":
        return RedirectResponse("/payout/mine", status_code=303)
    state = st(request)
    lists = service(request).lists(user)
    for lst in lists:
        lst["county_name"] = _county(state, lst["county_code"])
    jobs = [j for j in state.jobs(20) if j["status"] == "已完成"]
    counties = sorted(state.county_names.items()) if user.is_admin else []
    return render(request, "payout_index.html", active_nav="payout", lists=lists, jobs=jobs, counties=counties)


@page_router.get("/payout/lists/{list_id:int}")
def payout_list(request: Request, list_id: int, user: User = Depends(officer_user)):
    register_filters(request)
    info = _visible_list(request, user, list_id)
    rows = service(request).rows(list_id)
    info["county_name"] = _county(st(request), info["county_code"])
    kept = [r for r in rows if r["state"] != P.ROW_REMOVED]
    totals = {"computed": money.wan_text(sum(r["computed_fen"] for r in rows)),
              "kept": money.wan_text(sum(r["amount_fen"] for r in kept)), "kept_n": len(kept),
              "removed_n": len(rows) - len(kept)}
    return render(request, "payout_list.html", active_nav="payout", info=info, rows=rows, totals=totals,
                  today=service(request).today().isoformat(), P=P)


def _back(list_id: int) -> RedirectResponse:
    return RedirectResponse(f"/payout/lists/{list_id}", status_code=303)


def _row_list(request: Request, row_id: int) -> int:
    with chinese_errors(), service(request).engine.connect() as conn:
        return service(request)._row(conn, row_id).list_id


@page_router.post("/payout/rows/{row_id:int}/exclude")
def row_exclude(request: Request, row_id: int, reason: str = Form(""), user: User = Depends(officer_user)):
    with chinese_errors():
        service(request).exclude(user, row_id, reason)
    return _back(_row_list(request, row_id))


@page_router.post("/payout/rows/{row_id:int}/restore")
def row_restore(request: Request, row_id: int, reason: str = Form(""), user: User = Depends(officer_user)):
    with chinese_errors():
        service(request).restore(user, row_id, reason)
    return _back(_row_list(request, row_id))


@page_router.post("/payout/rows/{row_id:int}/adjust")
def row_adjust(request: Request, row_id: int, amount: str = Form(""), reason: str = Form(""),
               user: User = Depends(officer_user)):
    with chinese_errors():
        service(request).adjust(user, row_id, amount.strip()[:32], reason)
    return _back(_row_list(request, row_id))


@page_router.post("/payout/lists/{list_id:int}/approve")
def list_approve(request: Request, list_id: int, note: str = Form(""), user: User = Depends(officer_user)):
    info = _visible_list(request, user, list_id)
    with chinese_errors():
        service(request).approve(user, list_id, note[:500])
    try:  # the screening's own record shows the county as approved too
        st(request).approve(user, info["job_id"], info["county_code"], note[:500] or "经逐行复核批准",
                            auth.client_ip(request))
    except WebError:
        pass  # already approved there as a whole list
    return _back(list_id)


@page_router.post("/payout/lists/{list_id:int}/publish")
def list_publish(request: Request, list_id: int, issuer: str = Form(""), contact: str = Form(""),
                 days: str = Form("5"), start: str = Form(""), user: User = Depends(officer_user)):
    _visible_list(request, user, list_id)
    with chinese_errors():
        service(request).publish(user, list_id, issuer, contact, days, start.strip() or None)
    return _back(list_id)


@page_router.post("/payout/rows/{row_id:int}/objections")
def row_objection(request: Request, row_id: int, raised_by: str = Form(""), contact: str = Form(""),
                  content: str = Form(""), user: User = Depends(current_user)):
    with chinese_errors():
        service(request).object(user, row_id, raised_by, contact, content)
    if user.role == "enterprise":
        return RedirectResponse("/payout/mine?objected=1", status_code=303)
    return _back(_row_list(request, row_id))


@page_router.post("/payout/objections/{objection_id:int}/resolve")
def objection_resolve(request: Request, objection_id: int, outcome: str = Form(""), note: str = Form(""),
                      list_id: int = Form(0), user: User = Depends(officer_user)):
    with chinese_errors():
        service(request).resolve(user, objection_id, outcome, note)
    return _back(list_id) if list_id else RedirectResponse("/payout", status_code=303)


@page_router.post("/payout/lists/{list_id:int}/payments")
def list_payments(request: Request, list_id: int, file: UploadFile = File(...), user: User = Depends(officer_user)):
    register_filters(request)
    _visible_list(request, user, list_id)
    from huiqi.data.payment_file import problem_lines, read_payments

    name = Path(file.filename or "拨付.xlsx").name
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("upload" + Path(name).suffix.lower())
        with open(path, "wb") as out:
            while chunk := file.file.read(1 << 20):
                out.write(chunk)
        parsed = read_payments(path, name)
    with chinese_errors():
        outcome = service(request).record_payments(user, list_id, parsed)
    return render(request, "payout_payments.html", status=200 if outcome["ok"] else 422, active_nav="payout",
                  outcome=outcome, lines=problem_lines(outcome["problems"]), list_id=list_id, file=name)


@page_router.get("/payout/template.xlsx")
def payment_template(request: Request, user: User = Depends(officer_user)):
    path = _scratch(request, "拨付记录模板.xlsx")
    if not path.exists():
        docs.template_xlsx(path)
    return _download(path, "拨付记录模板.xlsx")


def _report(request: Request, user: User, job: str) -> dict:
    with chinese_errors():
        return service(request).report(user, job or None)


@page_router.get("/payout/report")
def report_page(request: Request, job: str = "", user: User = Depends(officer_user)):
    register_filters(request)
    state = st(request)
    rep = _report(request, user, job[:16])
    return render(request, "payout_report.html", active_nav="payout", report=rep, job=job[:16],
                  county_names=state.county_names, wan=money.wan_text)


@page_router.get("/payout/report.xlsx")
def report_xlsx(request: Request, job: str = "", user: User = Depends(officer_user)):
    rep = _report(request, user, job[:16])
    scope = "全部" if user.is_admin else user.county_code
    path = _scratch(request, f"兑现报告_{scope}_{job[:16] or '全部'}_{secrets.token_hex(4)}.xlsx")
    docs.report_xlsx(path, rep, st(request).county_names)
    return _download(path, f"兑现情况报告_{job[:16] or '全部'}.xlsx", remove=True)


@api_router.get("/payout/report", response_model=S.PayoutReportOut, summary="兑现情况：批准、确认、拨付（按县区、按措施；金额为元）")
def api_report(request: Request, job: str = "", user: User = Depends(officer_user)):
    rep = _report(request, user, job[:16])

    def yuan(acc: dict) -> dict:
        return {k.replace("_fen", "_yuan"): money.yuan_text(v) if k.endswith("_fen") else v for k, v in acc.items()}

    return {"total": yuan(rep["total"]),
            "by_county": [{"county_code": k, "county_name": _county(st(request), k), **yuan(v)}
                          for k, v in rep["by_county"].items()],
            "by_measure": [{"measure_id": k, "measure_name": rep["measure_names"].get(k, k), **yuan(v)}
                           for k, v in rep["by_measure"].items()]}


# ------------------------------------------------------------------------------------------ enterprises
@page_router.get("/payout/mine")
def payout_mine(request: Request, user: User = Depends(current_user)):
    register_filters(request)
    if user.role != "enterprise":
        return RedirectResponse("/payout", status_code=303)
    with chinese_errors():
        rows = service(request).enterprise_rows(user)
    return render(request, "payout_mine.html", active_nav="payout_mine", rows=rows, P=P,
                  enterprise=st(request).enterprise(user.credit_code or ""))


@page_router.post("/payout/rows/{row_id:int}/decide")
def row_decide(request: Request, row_id: int, decision: str = Form(""), bank_name: str = Form(""),
               bank_account: str = Form(""), reason: str = Form(""), user: User = Depends(current_user)):
    if decision not in ("确认", "放弃"):
        raise WebError(422, "请选择“确认”或“放弃”")
    with chinese_errors():
        service(request).decide(user, row_id, decision == "确认", bank_name[:128], bank_account[:64], reason[:500])
    return RedirectResponse("/payout/mine?done=1", status_code=303)


# ---------------------------------------------------------------------------------------------- 公示
def _public(request: Request, list_id: int) -> tuple[dict, list[dict], str]:
    with chinese_errors():
        rows = service(request).public_rows(list_id)
        info = service(request).list_info(list_id)
    return info, rows, _county(st(request), info["county_code"])


@page_router.get("/gongshi")
def gongshi_index(request: Request):
    register_filters(request)
    state = st(request)
    lists = service(request).lists(public=True)
    for lst in lists:
        lst["county_name"] = _county(state, lst["county_code"])
        lst["title"] = docs.notice_title(lst, lst["county_name"])
    return render(request, "payout_gongshi_index.html", active_nav="gongshi", lists=lists)


@page_router.get("/gongshi/{list_id:int}")
def gongshi_page(request: Request, list_id: int):
    register_filters(request)
    info, rows, county = _public(request, list_id)
    total = sum(r["amount_fen"] for r in rows)
    return render(request, "payout_gongshi.html", active_nav="gongshi", info=info, rows=rows,
                  title=docs.notice_title(info, county), body=docs.notice_body(info, len(rows), total),
                  total_wan=money.wan_text(total), cn_date=docs.cn_date)


@page_router.get("/gongshi/{list_id:int}.xlsx")
def gongshi_xlsx(request: Request, list_id: int):
    return _download(*_public_file(request, list_id, ".xlsx", docs.publicity_xlsx))


@page_router.get("/gongshi/{list_id:int}.pdf")
def gongshi_pdf(request: Request, list_id: int):
    return _download(*_public_file(request, list_id, ".pdf", docs.publicity_pdf))


@api_router.get("/gongshi/{list_id:int}", response_model=S.GongshiOut, summary="公示名单（公开；只含批准的行，信用代码中间隐去，金额为万元）")
def api_gongshi(request: Request, list_id: S.DbId):
    info, rows, county = _public(request, list_id)
    return {"title": docs.notice_title(info, county), "issuer": info["issuer"], "contact": info["contact"],
            "publicity_days": info["publicity_days"], "start": info["publicity_start"].isoformat(),
            "end": info["publicity_end"].isoformat(),
            "rows": [{"企业名称": r["name"], "统一社会信用代码": r["credit_code_masked"], "政策措施": r["measure_name"],
                      "金额（万元）": r["amount_wan"]} for r in rows]}


# ------------------------------------------------------------------------------------------- REST API
class ReasonBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(max_length=500)


class AdjustBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount_yuan: str = Field(max_length=32, examples=["18400.25"])
    reason: str = Field(max_length=500)


class NoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Optional[str] = Field(None, max_length=500)


class PublishBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    issuer: str = Field(max_length=128)
    contact: str = Field(max_length=128)
    days: int = Field(5, ge=1, le=60)
    start: Optional[str] = Field(None, max_length=10, examples=["2024-12-02"])


class DecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["确认", "放弃"]
    bank_name: Optional[str] = Field(None, max_length=128)
    bank_account: Optional[str] = Field(None, max_length=64)
    reason: Optional[str] = Field(None, max_length=500)


def _api_row(r: dict) -> dict:
    keep = ("id", "list_id", "credit_code", "name", "county_code", "measure_id", "measure_name", "state",
            "review_reason", "bank_name", "bank_account", "paid_on", "voucher", "objections")
    out = {k: r.get(k) for k in keep}
    out.update(computed_yuan=money.yuan_text(r["computed_fen"]), amount_yuan=money.yuan_text(r["amount_fen"]),
               paid_yuan=money.yuan_text(r["paid_fen"]) if r.get("paid_fen") is not None else None)
    return out


@api_router.get("/payout/lists", response_model=list[S.PayoutListOut], summary="兑现名单（县区只见本县区）")
def api_lists(request: Request, user: User = Depends(officer_user)):
    return [{k: v for k, v in lst.items()} for lst in service(request).lists(user)]


@api_router.get("/payout/lists/{list_id:int}", response_model=S.PayoutListDetailOut, summary="一份兑现名单及其每一行（金额为元）")
def api_list(request: Request, list_id: S.DbId, user: User = Depends(officer_user)):
    info = _visible_list(request, user, list_id)
    return {**info, "rows": [_api_row(r) for r in service(request).rows(list_id)]}


@api_router.post("/payout/rows/{row_id:int}/exclude", response_model=S.OkOut, summary="剔除一行（须填原因）")
def api_exclude(request: Request, row_id: S.DbId, body: ReasonBody, user: User = Depends(officer_user)):
    with chinese_errors():
        service(request).exclude(user, row_id, body.reason)
    return {"ok": True}


@api_router.post("/payout/rows/{row_id:int}/restore", response_model=S.OkOut, summary="恢复一行被剔除的记录（须填原因）")
def api_restore(request: Request, row_id: S.DbId, body: ReasonBody, user: User = Depends(officer_user)):
    with chinese_errors():
        service(request).restore(user, row_id, body.reason)
    return {"ok": True}


@api_router.post("/payout/rows/{row_id:int}/adjust", response_model=S.OkOut, summary="调减一行的金额（只能调减；须填原因）")
def api_adjust(request: Request, row_id: S.DbId, body: AdjustBody, user: User = Depends(officer_user)):
    with chinese_errors():
        service(request).adjust(user, row_id, body.amount_yuan.strip(), body.reason)
    return {"ok": True}


@api_router.post("/payout/lists/{list_id:int}/approve", response_model=S.PayoutListOut, summary="批准名单（剔除的行不在名单中）")
def api_approve(request: Request, list_id: S.DbId, body: NoteBody, user: User = Depends(officer_user)):
    _visible_list(request, user, list_id)
    with chinese_errors():
        service(request).approve(user, list_id, body.note)
    return service(request).list_info(list_id)


@api_router.post("/payout/lists/{list_id:int}/publish", response_model=S.PayoutListOut, summary="发布公示（公示期为工作日）")
def api_publish(request: Request, list_id: S.DbId, body: PublishBody, user: User = Depends(officer_user)):
    _visible_list(request, user, list_id)
    with chinese_errors():
        service(request).publish(user, list_id, body.issuer, body.contact, body.days, body.start)
    return service(request).list_info(list_id)


@api_router.get("/payout/mine", response_model=list[S.PayoutRowOut], summary="本企业在公示中的兑现事项（企业用户）")
def api_mine(request: Request, user: User = Depends(current_user)):
    with chinese_errors():
        return [_api_row(r) for r in service(request).enterprise_rows(user)]


@api_router.post("/payout/rows/{row_id:int}/decision", response_model=S.OkOut, summary="意愿确认：确认（须填开户行、账号）或放弃（企业用户）")
def api_decision(request: Request, row_id: S.DbId, body: DecisionBody, user: User = Depends(current_user)):
    with chinese_errors():
        service(request).decide(user, row_id, body.decision == "确认", body.bank_name, body.bank_account, body.reason)
    return {"ok": True}


router = APIRouter()  # what app.py includes
router.include_router(page_router)
router.include_router(api_router)
