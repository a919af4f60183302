"""驾驶舱 (运行监测) in the web application: ``GET /api/monitoring`` (the report), ``GET /api/monitoring/lists/{key}``
(one list, paginated), ``GET /api/monitoring/export`` (the workbook), and the page ``/dashboard``.

Officers and the admin only (an enterprise user gets 403). Everything is computed by ``huiqi.services.monitoring``
(``monitor(tables, period, settings)``, the one evaluator for 临退规 and the 县区 award). A county officer sees only
its own 县区's rows in the enterprise lists (and in the Excel's list sheets); the sector growth and the 县区
composite ranking are region-wide views and are shown whole. Money: integer 分 from the service, given here as
strings of 元 (``*_yuan``) and 万元 (``*_wan``, two decimals, half-up) — never floats.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import date
from fractions import Fraction
from typing import Optional

import polars as pl
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse

from huiqi.interfaces.web import schemas as S
from huiqi.interfaces.web.auth import User, check_csrf, officer_user
from huiqi.interfaces.web.templating import render, wan_text
from huiqi.interfaces.web.state import DEFAULT_PERIOD, WebError, WebState, yuan_text

api_router = APIRouter(prefix="/api", dependencies=[Depends(check_csrf)], tags=["运行监测"])
page_router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

LIST_KEYS = ("positive", "negative", "new", "to_scale", "linggui", "lintuigui", "pending")
CARD_LABELS = {"positive": "正增长", "negative": "负增长", "new": "新建投产", "to_scale": "拟上规", "linggui": "临规",
               "lintuigui": "临退规", "pending": "待补充信息"}
COLUMN_LABELS = {
    "credit_code": "统一社会信用代码", "enterprise_name": "企业名称", "city_name": "设区市", "county_name": "县区",
    "sector": "行业", "output_this_wan": "本年累计产值（万元）", "output_last_wan": "上年同期（万元）",
    "output_change_wan": "增减（万元）", "entered_scale_on": "入库日期", "output_q_wan": "当季产值（万元）",
    "output_ytd_wan": "本年累计产值（万元）", "revenue_ytd_wan": "本年累计主营业务收入（万元）",
    "annualised_revenue_wan": "折算全年主营业务收入（万元）", "output_jan_sep_wan": "1—9月产值（万元）",
    "revenue_jan_sep_wan": "1—9月主营业务收入（万元）", "trigger": "触发情形", "list": "清单", "reason": "缺少的信息",
}
MAX_REPORTS = 6


def st(request: Request) -> WebState:
    return request.app.state.web


# ------------------------------------------------------------------------------------------------- compute
def monitor_periods(state: WebState) -> list[str]:
    ind = state.tables["indicators"]
    from huiqi.core.periods import Period, is_quarter

    have = sorted((p for p in ind["period"].unique().to_list() if is_quarter(p)), key=Period.parse, reverse=True) \
        if ind.height else []
    return have or [DEFAULT_PERIOD]


def check_period(state: WebState, period: str) -> str:
    from huiqi.core.periods import Period

    try:
        p = Period.parse((period or "").strip())
    except ValueError as e:
        raise WebError(422, f"期间“{period}”格式不正确（应为季度，如 2024Q4）：{e}") from None
    periods = monitor_periods(state)
    if str(p) not in periods:
        raise WebError(422, f"期间“{period}”没有监测数据（可选：{'、'.join(periods)}）")
    return str(p)


def settings_for(weight_invest: str | None, weight_output: str | None):
    from huiqi.services.monitoring import MonitorSettings

    overrides = {}
    for name, value, label in (("weight_invest", weight_invest, "投资完成率权重"),
                               ("weight_output", weight_output, "产值完成率权重")):
        if value is None or not str(value).strip():
            continue
        try:
            Fraction(str(value).strip())
        except (ValueError, ZeroDivisionError):
            raise WebError(422, f"{label}“{value}”不是数值（如 0.5 或 1/2）") from None
        overrides[name] = str(value).strip()
    try:
        return MonitorSettings().with_overrides(overrides)
    except (ValueError, ZeroDivisionError) as e:
        raise WebError(422, str(e)) from None


def report_for(state: WebState, period: str, settings):
    """The monitoring report of (period, settings, data): this process's cache, else the database (a screening
    precomputes its quarter's report there — precompute), else computed (1–2 s) and kept in both."""
    from huiqi.services.caching import Cache
    from huiqi.services.monitoring import monitor
    from huiqi.services.precomputed import digest

    cache = state.attached("monitor_reports", lambda: Cache("monitoring reports", MAX_REPORTS))
    key = digest(period, sorted(settings.as_dict().items()), state.ruleset.version, state.data_hash)
    tables = state.tables

    def compute():
        try:
            return monitor(tables, period, settings, ruleset=state.ruleset)
        except ValueError as e:
            raise WebError(422, str(e)) from None

    return cache.get_or_build(key, lambda: state.precomputed.get_or_compute("monitor", key, compute))


def precompute(state: WebState, period: str) -> None:
    """The 驾驶舱 of a screened quarter with the page's default weights, into the database (after a screening)."""
    if period in monitor_periods(state):
        report_for(state, period, settings_for(None, None))


def scope_filter(user: User) -> pl.Expr | None:
    if user.is_admin or user.role != "officer":
        return None
    return pl.col("county") == (user.county_code or "—")


def list_frame(report, key: str, user: User) -> pl.DataFrame:
    if key not in LIST_KEYS:
        raise WebError(404, f"没有名为“{key}”的清单（可用：{'、'.join(f'{k}（{CARD_LABELS[k]}）' for k in LIST_KEYS)}）")
    frame = report.pending if key == "pending" else report.lists[key]
    expr = scope_filter(user)
    return frame if expr is None else frame.filter(expr)


def exact_row(r: dict) -> dict:
    """One row as JSON: dates as ISO text, every *_fen also as *_yuan and *_wan strings (exact, half-up)."""
    out = {}
    for k, v in r.items():
        if isinstance(v, date):
            v = v.isoformat()
        out[k] = v
        if k.endswith("_fen"):
            out[k[:-4] + "_yuan"] = yuan_text(v)
            out[k[:-4] + "_wan"] = wan_text(v)
    return out


def report_dict(state: WebState, report, user: User, limit: int | None) -> dict:
    """report.to_dict() with the lists scoped to the user's 县区 and money as exact strings."""
    d = report.to_dict(limit=0)  # the structure and the texts; rows are rebuilt below
    expr = scope_filter(user)
    for key, item in d["lists"].items():
        frame = report.lists[key]
        item["region_count"] = frame.height
        if expr is not None:
            frame = frame.filter(expr)
        item["count"] = frame.height
        item["rows"] = [exact_row(r) for r in (frame if limit is None else frame.head(limit)).iter_rows(named=True)]
    pending = report.pending if expr is None else report.pending.filter(expr)
    d["pending_region_count"] = report.pending.height
    d["pending_count"] = pending.height
    d["pending"] = [exact_row(r) for r in (pending if limit is None else pending.head(limit)).iter_rows(named=True)]
    d["sectors"]["rows"] = [exact_row(r) for r in report.sectors.iter_rows(named=True)]
    d["ranking"]["rows"] = [exact_row(r) for r in report.ranking.iter_rows(named=True)]
    d["scope"] = "全区" if expr is None else state.county_names.get(user.county_code or "", user.county_code)
    d["scope_note"] = (None if expr is None else
                       "企业清单只列本县区的企业；行业增长与县区综合排名为全区口径。")
    return d


def list_page(report, key: str, user: User, page: int, page_size: int) -> dict:
    frame = list_frame(report, key, user).sort(["county", "credit_code"], nulls_last=True)
    pages = max(1, (frame.height + page_size - 1) // page_size)
    page = min(max(page, 1), pages)
    rows = [exact_row(r) for r in frame.slice((page - 1) * page_size, page_size).iter_rows(named=True)]
    return {"key": key, "name": CARD_LABELS[key], "total": frame.height, "page": page, "pages": pages,
            "page_size": page_size, "rows": rows}


def ranking_view(report) -> list[dict]:
    rows = []
    for r in report.ranking.iter_rows(named=True):
        d = exact_row(r)
        d["award_text"] = (wan_text(r["award_fen"]) if r["award_fen"] else
                           ("—" if r["award_status"] is None else "0"))
        rows.append(d)
    return rows


# ------------------------------------------------------------------------------------------------------ API
@api_router.get("/monitoring", response_model=S.MonitoringOut, summary="运行监测（驾驶舱数据）：四张清单、临规、临退规、行业增长对照目标、县区综合排名")
def api_monitoring(request: Request, period: str = Query(..., max_length=8),
                   weight_invest: Optional[str] = Query(None, max_length=16),
                   weight_output: Optional[str] = Query(None, max_length=16),
                   limit: int = Query(50, ge=0, le=100_000, description="每张清单最多列出的企业数（0 = 全部）"),
                   user: User = Depends(officer_user)):
    state = st(request)
    period = check_period(state, period)
    report = report_for(state, period, settings_for(weight_invest, weight_output))
    return report_dict(state, report, user, limit or None)


@api_router.get("/monitoring/lists/{key}", response_model=S.MonitoringListOut, summary="一张清单（分页；县区工信部门只见本县区）")
def api_monitoring_list(key: str, request: Request, period: str = Query(..., max_length=8),
                        page: int = Query(1, ge=1), page_size: int = Query(50, ge=1, le=500),
                        user: User = Depends(officer_user)):
    state = st(request)
    period = check_period(state, period)
    report = report_for(state, period, settings_for(None, None))
    return {"period": period, **list_page(report, key, user, page, page_size)}


@api_router.get("/monitoring/export", response_class=FileResponse,
                responses=S.file_response(S.XLSX, "运行监测（Excel）"), summary="运行监测 Excel（县区工信部门：清单只含本县区）")
def api_monitoring_export(request: Request, period: str = Query(..., max_length=8),
                          weight_invest: Optional[str] = Query(None, max_length=16),
                          weight_output: Optional[str] = Query(None, max_length=16),
                          user: User = Depends(officer_user)):
    from huiqi.services.monitoring import write_excel

    state = st(request)
    period = check_period(state, period)
    settings = settings_for(weight_invest, weight_output)
    report = report_for(state, period, settings)
    expr = scope_filter(user)
    scope = "全区" if expr is None else user.county_code
    if expr is not None:
        report = replace(report, lists={k: v.filter(expr) for k, v in report.lists.items()},
                         pending=report.pending.filter(expr))
    tag = f"{settings.weight_invest}_{settings.weight_output}".replace("/", "-")
    path = state.work_dir / "monitoring" / f"运行监测_{period}_{scope}_{tag}_{state.data_hash}.xlsx"
    if not path.exists():
        tmp = path.with_suffix(f".{threading.get_ident()}.tmp.xlsx")
        write_excel(report, tmp)
        tmp.replace(path)
    name = f"运行监测_{period}.xlsx" if expr is None else f"运行监测_{period}_{scope}.xlsx"
    return FileResponse(path, filename=name,
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


# ---------------------------------------------------------------------------------------------------- pages
@page_router.get("/dashboard")
def dashboard_page(request: Request, period: str = "", weight_invest: str = "0.5", weight_output: str = "0.5",
                   user: User = Depends(officer_user)):
    state = st(request)
    periods = monitor_periods(state)
    period = check_period(state, period or (DEFAULT_PERIOD if DEFAULT_PERIOD in periods else periods[0]))
    settings = settings_for(weight_invest, weight_output)
    report = report_for(state, period, settings)
    data = report_dict(state, report, user, 0)
    cards = [{"key": k, "label": CARD_LABELS[k], "count": data["lists"][k]["count"],
              "region_count": data["lists"][k]["region_count"], "rule": data["lists"][k]["rule"]}
             for k in LIST_KEYS if k != "pending"]
    cards.append({"key": "pending", "label": "待补充信息", "count": data["pending_count"],
                  "region_count": data["pending_region_count"], "rule": "数据缺失、无法判断是否列入的企业（缺什么见清单）"})
    return render(request, "dashboard.html", active_nav="dashboard", periods=periods, period=period, d=data,
                  cards=cards, chart=report.sector_chart, ranking=ranking_view(report),
                  weights={"invest": weight_invest, "output": weight_output}, officer_scope=data["scope_note"])


@page_router.get("/dashboard/list")
def dashboard_list(request: Request, period: str = "", key: str = "positive", page: int = 1,
                   user: User = Depends(officer_user)):
    state = st(request)
    period = check_period(state, period)
    report = report_for(state, period, settings_for(None, None))
    data = list_page(report, key, user, page, 50)
    columns = [c for c in (data["rows"][0].keys() if data["rows"] else []) if c in COLUMN_LABELS]
    rule = None
    if key != "pending":
        from huiqi.services.monitoring import list_rules

        rule = list_rules(report.settings)[key]
    return render(request, "_dashboard_list.html", period=period, data=data, columns=columns, labels=COLUMN_LABELS,
                  rule=rule)
