"""政策月历 in the web application: the page /calendar and the feed GET /api/calendar.ics (both open to all).

Filters: 县区, industry (GB/T 4754 code), year or month; an enterprise user may ask for its own matches
(the measures it qualifies for or could in a period, from its stored data).
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from huiqi.core.regions import COUNTIES
from huiqi.interfaces.web import schemas as S
from huiqi.interfaces.web.auth import User, check_csrf, maybe_user
from huiqi.interfaces.web.checking import run_check
from huiqi.interfaces.web.templating import render
from huiqi.interfaces.web.state import DEFAULT_PERIOD, WebError
from huiqi.services import calendar as cal

router = APIRouter(dependencies=[Depends(check_csrf)])


def _own_measures(request: Request, user: User | None, period: str) -> list[str]:
    if user is None or user.role != "enterprise" or not user.credit_code:
        raise WebError(403, "“只看本企业”需以企业账号登录")
    state = request.app.state.web
    row = state.facts_row(user.credit_code, period)
    facts = state.facts_for_check(row) if row else {}
    outcome = run_check(state, facts, period, "enterprise", None)
    return [r["measure_id"] for r in outcome["results"] if r["status"] != "不符合"]


def _entries(request: Request, user: User | None, county: str, industry: str, year: str, month: str, mine: bool,
             period: str) -> list[cal.Entry]:
    start = end = None
    try:
        if month:
            start, end = cal.month_range(month)
        elif year:
            if not year.isdigit() or len(year) != 4:
                raise ValueError(f"年份“{year}”应为四位数字")
            start, end = date(int(year), 1, 1), date(int(year), 12, 31)
        measures = _own_measures(request, user, period) if mine else None
        return cal.entries(county=county or None, industry=industry or None, measures=measures, start=start, end=end)
    except ValueError as e:
        raise WebError(422, str(e)) from None


@router.get("/calendar", include_in_schema=False)
def calendar_page(request: Request, county: str = Query("", max_length=20), industry: str = Query("", max_length=8),
                  year: str = Query("", max_length=4), month: str = Query("", max_length=7), mine: bool = False,
                  period: str = Query(DEFAULT_PERIOD, max_length=8), user: User | None = Depends(maybe_user)):
    items = _entries(request, user, county, industry, year, month, mine, period)
    months = [(m, f"{m[:4]}年{int(m[5:])}月", rows) for m, rows in cal.by_month(items).items()]
    undated = [(doc, p) for doc, p in cal.programmes(county or None, industry or None)
               if p.windows and all(w.opens is None and w.closes is None for w in p.windows)]
    query = request.url.query
    return render(request, "calendar.html", active_nav="calendar", months=months, undated=undated,
                  counties=COUNTIES, f={"county": county, "industry": industry, "year": year, "month": month,
                                        "mine": mine, "period": period},
                  ics_url="/api/calendar.ics" + (f"?{query}" if query else ""), today=date.today(),
                  window_text=cal.window_text)


@router.get("/api/calendar", response_model=S.CalendarOut, tags=["政策月历"], summary="政策月历：载明日期的申报窗口与截止日期（按日期排列）")
def calendar_json(request: Request, county: str = Query("", max_length=20), industry: str = Query("", max_length=8),
                  year: str = Query("", max_length=4), month: str = Query("", max_length=7), mine: bool = False,
                  period: str = Query(DEFAULT_PERIOD, max_length=8), user: User | None = Depends(maybe_user)):
    items = _entries(request, user, county, industry, year, month, mine, period)
    return {"total": len(items), "entries": [
        {"date": e.day.isoformat(), "kind": e.kind, "programme_id": e.programme_id, "programme": e.programme,
         "window": e.window, "office": e.office, "phones": list(e.phones), "document_id": e.document_id,
         "document_title": e.document_title, "quote": e.quote, "clause": e.clause, "measures": list(e.measures)}
        for e in items]}


@router.get("/api/calendar.ics", response_class=Response,
            responses=S.file_response("text/calendar", "iCalendar（RFC 5545）"), tags=["政策月历"], summary="政策月历 iCalendar 订阅（可按县区、行业、年份、月份筛选）")
def calendar_ics(request: Request, county: str = Query("", max_length=20), industry: str = Query("", max_length=8),
                 year: str = Query("", max_length=4), month: str = Query("", max_length=7), mine: bool = False,
                 period: str = Query(DEFAULT_PERIOD, max_length=8), user: User | None = Depends(maybe_user)):
    items = _entries(request, user, county, industry, year, month, mine, period)
    return Response(cal.ical(items), media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="huiqi-calendar.ics"'})
