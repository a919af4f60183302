"""政策月历 page and iCalendar feed; the public calculator (open without login, sorted by amount, how to apply,
即将截止（14天内））."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from icalendar import Calendar

FACTS = {"f.output_q": "8986149.70", "f.output_q_ly": "8169227.00", "f.promo_event_held_q": "true",
         "f.promo_event_cost_q": "600000", "f.is_industrial": "true"}


def test_calendar_page_is_public_and_filters_by_county(web):
    anon = web.client()
    r = anon.get("/calendar", params={"year": "2024"})
    assert r.status_code == 200, r.text
    assert "政策月历" in r.text and "2024年6月" in r.text and "千企技改" in r.text
    # a Liuzhou-only programme is shown for 柳南区 and not for a Nanning county
    lz = anon.get("/calendar", params={"county": "450204"}).text
    nn = anon.get("/calendar", params={"county": "450103"}).text
    assert "柳州市中小工业企业应急周转资金" in lz or "人才飞地" in lz
    assert "人才飞地" in lz and "人才飞地" not in nn
    assert 'href="/calendar"' in r.text  # the nav link


def test_calendar_bad_filters_are_chinese_errors(web):
    anon = web.client()
    for params in ({"county": "火星区"}, {"month": "2024-13"}, {"year": "abcd"}):
        r = anon.get("/calendar", params=params)
        assert r.status_code == 422, (params, r.status_code)
        assert re.search(r"[\u4e00-\u9fff]", r.text)


def test_calendar_ics_feed(web):
    r = web.client().get("/api/calendar.ics", params={"month": "2024-06"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
    cal = Calendar.from_ical(r.content)
    events = list(cal.walk("VEVENT"))
    days = {e.decoded("dtstart") for e in events}
    assert date(2024, 6, 15) in days and date(2024, 6, 20) in days
    assert all(d.month == 6 and d.year == 2024 for d in days)
    assert any("重大产业项目" in str(e.get("summary")) for e in events)
    # the same request gives the same bytes (stable UIDs, fixed stamp)
    assert web.client().get("/api/calendar.ics", params={"month": "2024-06"}).content == r.content


def test_calendar_mine_needs_an_enterprise_login(web):
    assert web.client().get("/calendar", params={"mine": "true"}).status_code == 403
    c = web.client("qiye")
    r = c.get("/calendar", params={"mine": "true", "period": "2024Q4"})
    assert r.status_code == 200, r.text


def test_calculator_is_open_without_login(web):
    """README: the calculator's form is open without logging in (it was behind a login)."""
    anon = web.client()
    page = anon.get("/calculator", params={"period": "2024Q4"})
    assert page.status_code == 200 and "政策计算器" in page.text
    r = anon.post("/calculator/check", data={"period": "2024Q4", **FACTS}, headers=anon.csrf)
    assert r.status_code == 200, r.text
    assert "计算结果" in r.text
    # a stored enterprise's data still needs a login
    r = anon.get("/calculator", params={"period": "2024Q4", "enterprise": web.own}, follow_redirects=False)
    assert r.status_code in (302, 303, 307) and r.headers["location"].startswith("/login")


def test_calculator_results_sorted_by_amount_then_status(web):
    anon = web.client()
    html = anon.post("/calculator/check", data={"period": "2024Q4", **FACTS}, headers=anon.csrf).text
    blocks = re.findall(r'<article class="result[^"]*" id="m-[^"]+" data-status="([^"]+)">(.*?)</article>', html, re.S)
    assert blocks
    amounts = []
    for _status, body in blocks:
        m = re.search(r'<span class="amount">([\d,]+\.\d{2}) 元</span>', body)
        amounts.append(Decimal(m.group(1).replace(",", "")) if m else Decimal(0))
    assert amounts == sorted(amounts, reverse=True)
    order = {"符合": 0, "待补充信息": 1, "参数待定": 2, "不符合": 3}
    for (s1, _), (s2, _), a1, a2 in zip(blocks, blocks[1:], amounts, amounts[1:]):
        if a1 == a2:
            assert order[s1] <= order[s2]


def test_calculator_shows_how_to_apply_and_deadlines_within_14_days(web, monkeypatch):
    """A measure linked to a 申报事项 shows its window and office; deadlines within 14 days are listed."""
    from huiqi.interfaces.web import pages

    monkeypatch.setattr(pages, "_today", lambda: date(2026, 9, 20))  # 10 days before lz2026q3 ends (六（一）)
    anon = web.client()
    fields = {f["name"] for f in anon.get("/api/fields", params={"period": "2026Q3"}).json()["fields"]}
    assert fields
    html = anon.post("/calculator/check", data={"period": "2026Q3"}, headers=anon.csrf).text
    assert "即将截止（14天内）" in html and "9月30日" in html
    assert "怎么申报" in html
    monkeypatch.setattr(pages, "_today", lambda: date(2026, 8, 1))
    html = anon.post("/calculator/check", data={"period": "2026Q3"}, headers=anon.csrf).text
    assert "即将截止（14天内）" not in html


def test_mine_page_lists_deadlines_within_14_days(web, monkeypatch):
    """The enterprise's results page: its 2026Q3 screening rows (004 measures, 待补充信息 while the 六（二） gates
    have no data) lead to 004's end of validity, 2026-09-30, listed under 即将截止 from 2026-09-16."""
    from huiqi.interfaces.web import pages

    admin = web.client("admin")
    web.screening(admin, "2026Q3")
    c = web.client("qiye")
    monkeypatch.setattr(pages, "_today", lambda: date(2026, 9, 16))
    html = c.get("/mine").text
    assert "lz2026q3" in html  # the enterprise has 004 rows in this screening
    assert "即将截止（14天内）" in html and "9月30日" in html
    monkeypatch.setattr(pages, "_today", lambda: date(2026, 9, 15))  # 15 days before: not yet listed
    assert "即将截止（14天内）" not in c.get("/mine").text


def test_measure_page_shows_the_application_guide(web):
    """The structured 申报事项 (who, materials, steps, office, phones) on the measure's page, each with its clause."""
    html = web.client().get("/rules/hb-lz-emergency").text
    assert "申报指南：柳州市中小工业企业应急周转资金申请" in html and 'id="apply"' in html
    assert "柳州市中小工业企业应急周转资金申请书" in html  # hb46 【申报材料】2
    assert "0772-2830598" in html and "/policies/hb46#hb46:2" in html


def test_calendar_json_api(web):
    r = web.client().get("/api/calendar", params={"month": "2024-04", "county": "柳南区"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["total"] == len(out["entries"]) > 0
    assert all(e["date"].startswith("2024-04") for e in out["entries"])
    assert any(e["programme_id"] == "hb28-iclist" and e["kind"] == "截止" for e in out["entries"])
