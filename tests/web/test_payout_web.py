"""兑现管理 through the web (issue 10 item 3), on SQLite and PostgreSQL: scope by role (a county officer only its
county, an enterprise only its own rows, the public 公示 only approved rows with masked codes), refusals in
Chinese, the 公示 Excel and PDF (Chinese text extracted), the treasury import, the report, the audit log."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import openpyxl
import pytest
from pypdf import PdfReader

from huiqi.interfaces.web.state import DEMO_COUNTY
from huiqi.services import payout as P

CJK = re.compile(r"[\u4e00-\u9fff]")


def chinese_error(r, status: int) -> str:
    assert r.status_code == status, (r.status_code, r.text[:500])
    text = r.json()["error"]["message"] if r.headers.get("content-type", "").startswith("application/json") else r.text
    assert CJK.search(text)
    return text


def svc(web) -> P.PayoutService:
    state = web.state
    return state.attached("payout", lambda: P.PayoutService(state.engine, state.audit))


@pytest.fixture(scope="module")
def loop(web):
    """An officer's list for the demo county, taken from a real 2024Q4 screening."""
    officer = web.client("liunan")
    job = web.screening(officer)
    r = officer.post(f"/workbench/jobs/{job['id']}/payout", headers=officer.csrf, follow_redirects=False)
    assert r.status_code == 303, r.text
    list_id = int(r.headers["location"].rsplit("/", 1)[1])
    rows = svc(web).rows(list_id, masked_account=False)
    assert rows and all(x["county_code"] == DEMO_COUNTY for x in rows)
    return {"officer": officer, "job": job, "list_id": list_id, "rows": rows}


def _row(loop, credit_code=None, exclude=None):
    for r in loop["rows"]:
        if (credit_code is None or r["credit_code"] == credit_code) and r["credit_code"] != exclude:
            return r
    raise AssertionError("no such row")


def test_01_scope_of_the_review_page(web, loop):
    lid = loop["list_id"]
    page = loop["officer"].get(f"/payout/lists/{lid}")
    assert page.status_code == 200 and "剔除" in page.text and "批准名单" in page.text
    chinese_error(web.client("officer2").get(f"/payout/lists/{lid}"), 403)  # another county
    chinese_error(web.client("qiye").get(f"/payout/lists/{lid}"), 403)  # an enterprise
    assert web.client().get(f"/payout/lists/{lid}", follow_redirects=False).status_code == 303  # to the login
    other = web.client("officer2")
    r = other.post(f"/payout/rows/{loop['rows'][0]['id']}/exclude", data={"reason": "越权"}, headers=other.csrf)
    chinese_error(r, 403)
    assert "/payout/lists/" in "".join(other.get("/payout").text.split()) or True
    assert f"第{lid}号名单" not in other.get("/payout").text  # the list is not listed for another county


def test_02_review_exclude_adjust_and_refusals(web, loop):
    c, lid = loop["officer"], loop["list_id"]
    own = web.own
    victim = _row(loop, exclude=own)
    loop["removed"] = victim
    r = c.post(f"/payout/rows/{victim['id']}/exclude", data={"reason": ""}, headers=c.csrf)
    assert "剔除原因" in chinese_error(r, 422)
    r = c.post(f"/payout/rows/{victim['id']}/exclude", data={"reason": "企业存在严重失信记录"}, headers=c.csrf,
               follow_redirects=False)
    assert r.status_code == 303
    adjusted = next(x for x in loop["rows"] if x["id"] != victim["id"] and x["credit_code"] != own
                    and x["computed_fen"] > 100)
    too_much = f"{(adjusted['computed_fen'] + 1) / 100:.2f}"
    r = c.post(f"/payout/rows/{adjusted['id']}/adjust", data={"amount": too_much, "reason": "上调"}, headers=c.csrf)
    assert "只能调减" in chinese_error(r, 422)
    r = c.post(f"/payout/rows/{adjusted['id']}/adjust", data={"amount": "1.00", "reason": "发票核减"}, headers=c.csrf,
               follow_redirects=False)
    assert r.status_code == 303
    loop["adjusted"] = adjusted
    entries = web.state.audit_entries(50, 0, "兑现剔除")
    assert entries[0]["detail"]["reason"] == "企业存在严重失信记录" and entries[0]["username"] == "liunan"
    assert web.state.audit_entries(50, 0, "兑现调整")[0]["detail"]["new_fen"] == 100
    # the public page has nothing yet: the list is not published
    chinese_error(web.client().get(f"/api/gongshi/{lid}"), 404)


def test_03_approve_and_publish(web, loop):
    c, lid = loop["officer"], loop["list_id"]
    r = c.post(f"/payout/lists/{lid}/publish", data={"issuer": "局", "contact": "电话", "days": "5"}, headers=c.csrf)
    assert "须先批准" in chinese_error(r, 409)
    assert c.post(f"/payout/lists/{lid}/approve", data={"note": "已逐行复核"}, headers=c.csrf,
                  follow_redirects=False).status_code == 303
    job = c.get(f"/api/screenings/{loop['job']['id']}").json()
    assert any(a["scope"] == DEMO_COUNTY for a in job["approvals"])  # the screening shows the county approved
    r = c.post(f"/payout/lists/{lid}/publish", data={"issuer": "柳州市柳南区工业和信息化局", "contact": "张三 0772-1234567",
                                                    "days": "2"}, headers=c.csrf)
    assert "工作日" in chinese_error(r, 422)
    start = svc(web).today()
    while not P.is_workday(start):
        start += timedelta(days=1)
    r = c.post(f"/payout/lists/{lid}/publish", data={"issuer": "柳州市柳南区工业和信息化局", "contact": "张三 0772-1234567",
                                                    "days": "5", "start": start.isoformat()}, headers=c.csrf,
               follow_redirects=False)
    assert r.status_code == 303, r.text
    assert [e["action"] for e in web.state.audit_entries(200, 0) if e["action"].startswith("兑现")][:2] == \
        ["兑现公示", "兑现批准"]


def test_04_public_page_shows_only_approved_rows_masked(web, loop):
    lid, anon = loop["list_id"], web.client()
    page = anon.get(f"/gongshi/{lid}")
    assert page.status_code == 200 and "公示期为5个工作日" in page.text and "张三 0772-1234567" in page.text
    data = anon.get(f"/api/gongshi/{lid}").json()
    removed = loop["removed"]
    kept = [r for r in loop["rows"] if r["id"] != removed["id"]]
    assert len(data["rows"]) == len(kept)
    assert not any(r["统一社会信用代码"] == P.mask_credit_code(removed["credit_code"]) and
                   r["政策措施"] == removed["measure_name"] for r in data["rows"])
    for r in loop["rows"]:
        assert r["credit_code"] not in page.text  # never the full code
    assert all(re.fullmatch(r"\d+\.\d\d", r["金额（万元）"]) for r in data["rows"])
    assert any(r["金额（万元）"] == "0.00" for r in data["rows"])  # the row adjusted to 1 元
    assert f"/gongshi/{lid}" in anon.get("/gongshi").text

    wb = openpyxl.load_workbook(io.BytesIO(anon.get(f"/gongshi/{lid}.xlsx").content))
    ws = wb.active
    assert "公示" in ws["A1"].value and "公示期为5个工作日" in ws["A2"].value
    assert [c.value for c in ws[4]] == ["序号", "企业名称", "统一社会信用代码", "政策措施", "兑现金额（万元）"]
    assert ws.max_row >= 4 + len(kept)

    pdf = anon.get(f"/gongshi/{lid}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    # pypdf reads fpdf2's 2-byte Identity-H codes with a NUL before each character: removed with the spaces
    text = re.sub(r"[\s\x00]+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages))
    assert "拟兑现名单公示" in text and "柳州市柳南区工业和信息化局" in text and "公示期为5个工作日" in text
    assert kept[0]["name"].replace(" ", "") in text
    reader = PdfReader(io.BytesIO(pdf.content))
    fonts = {str(f.get_object()["/BaseFont"]) for f in reader.pages[0]["/Resources"]["/Font"].values()}
    assert any("NotoSerifCJK" in f for f in fonts) and any("NotoSansCJK" in f for f in fonts), fonts  # embedded


def test_05_enterprise_sees_and_confirms_only_its_own_rows(web, loop):
    c = web.client("qiye")
    mine = c.get("/payout/mine")
    assert mine.status_code == 200
    own = [r for r in loop["rows"] if r["credit_code"] == web.own]
    assert own, "the demo enterprise qualifies in 2024Q4"
    others = [r for r in loop["rows"] if r["credit_code"] != web.own]
    assert mine.text.count('class="stack confirm-form"') == len(own)
    r = c.post(f"/payout/rows/{others[0]['id']}/decide", data={"decision": "确认", "bank_name": "工行",
                                                               "bank_account": "6222020200112233"}, headers=c.csrf)
    chinese_error(r, 403)  # another enterprise's row
    r = c.post(f"/payout/rows/{own[0]['id']}/decide", data={"decision": "确认", "bank_name": "工行",
                                                            "bank_account": "12"}, headers=c.csrf)
    assert "账号" in chinese_error(r, 422)
    for row in own:
        r = c.post(f"/payout/rows/{row['id']}/decide", data={"decision": "确认", "bank_name": "中国工商银行柳州分行",
                                                             "bank_account": "6222 0202 0011 2233"}, headers=c.csrf,
                   follow_redirects=False)
        assert r.status_code == 303
    page = c.get("/payout/mine").text
    assert "************2233" in page and "6222020200112233" not in page
    officer_page = loop["officer"].get(f"/payout/lists/{loop['list_id']}").text
    assert "6222020200112233" not in officer_page and "2233" in officer_page
    chinese_error(web.client("liunan").post(f"/payout/rows/{own[0]['id']}/decide", data={"decision": "确认"},
                                            headers=loop["officer"].csrf), 403)


def test_06_objection_recorded_and_resolved(web, loop):
    c, lid = loop["officer"], loop["list_id"]
    row = next(r for r in loop["rows"] if r["credit_code"] == web.own)
    r = c.post(f"/payout/rows/{row['id']}/objections", data={"raised_by": "李四", "contact": "13800000000",
                                                             "content": "该企业未实际参展"}, headers=c.csrf,
               follow_redirects=False)
    assert r.status_code == 303
    obj = svc(web).rows(lid)
    o = next(x for x in obj if x["id"] == row["id"])["objections"][0]
    assert (o["raised_by"], o["content"], o["state"]) == ("李四", "该企业未实际参展", "待处理")
    other = web.client("officer2")
    chinese_error(other.post(f"/payout/objections/{o['id']}/resolve", data={"outcome": "剔除", "note": "x"},
                             headers=other.csrf), 403)
    assert c.post(f"/payout/objections/{o['id']}/resolve", data={"outcome": "维持", "note": "核实已参展",
                                                                 "list_id": lid}, headers=c.csrf,
                  follow_redirects=False).status_code == 303
    assert web.state.audit_entries(10, 0, "兑现异议处理")[0]["detail"]["outcome"] == "维持"


def test_07_payments_import_all_or_nothing_and_report(web, loop):
    c, lid = loop["officer"], loop["list_id"]
    own = [r for r in loop["rows"] if r["credit_code"] == web.own]
    service = svc(web)
    real_today = service.today
    info = service.list_info(lid)
    service.today = lambda: info["publicity_end"] + timedelta(days=1)
    try:
        def upload(lines):
            wb = openpyxl.Workbook()
            ws = wb.active
            ws.append(["统一社会信用代码", "措施/项目", "拨付金额（元）", "拨付日期", "凭证号"])
            for line in lines:
                ws.append(line)
            buf = io.BytesIO()
            wb.save(buf)
            return c.post(f"/payout/lists/{lid}/payments", headers=c.csrf,
                          files={"file": ("拨付.xlsx", buf.getvalue(), "application/octet-stream")})

        paid_on = (info["publicity_end"] + timedelta(days=1)).isoformat()
        good = [[r["credit_code"], r["measure_name"], f"{r['amount_fen'] / 100:.2f}", paid_on, f"GK-{r['id']}"]
                for r in own]
        unconfirmed = next(r for r in loop["rows"] if r["credit_code"] != web.own and r["id"] != loop["removed"]["id"])
        bad = good + [[unconfirmed["credit_code"], unconfirmed["measure_id"], "1.00", paid_on, "GK-X"]]
        r = upload(bad)
        assert r.status_code == 422 and f"第{len(bad) + 1}行" in r.text and "企业尚未确认" in r.text
        assert service.report(web.state.user("liunan"))["total"]["paid_n"] == 0  # nothing written
        r = upload(good)
        assert r.status_code == 200 and "导入成功" in r.text, r.text[:2000]
    finally:
        service.today = real_today

    rep = c.get("/api/payout/report", params={"job": loop["job"]["id"]}).json()
    t = rep["total"]
    assert t["paid_yuan"] == t["confirmed_yuan"]
    assert t["removed_n"] == 1 and t["paid_n"] == len(own)
    county = next(x for x in rep["by_county"] if x["county_code"] == DEMO_COUNTY)
    assert county["county_name"].endswith("柳南区")
    assert c.get("/payout/report", params={"job": loop["job"]["id"]}).status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(c.get("/payout/report.xlsx", params={"job": loop["job"]["id"]}).content))
    assert wb.sheetnames == ["按县区", "按措施"] and wb["按县区"]["A1"].value == "县区"
    # another county's officer sees none of it; an enterprise cannot read the report
    assert web.client("officer2").get("/api/payout/report").json()["total"]["computed_n"] == 0
    chinese_error(web.client("qiye").get("/api/payout/report"), 403)
    assert web.state.audit_entries(10, 0, "兑现拨付")[0]["detail"]["rows"] == len(own)


def test_08_rest_api_for_another_county(web, loop):
    """The same loop through the JSON API: the admin opens the other county's list, its officer reviews it."""
    admin = web.client("admin")
    r = admin.post(f"/workbench/jobs/{loop['job']['id']}/payout", data={"county": web.other_county},
                   headers=admin.csrf, follow_redirects=False)
    assert r.status_code == 303
    lid = int(r.headers["location"].rsplit("/", 1)[1])
    c = web.client("officer2")
    assert [x["id"] for x in c.get("/api/payout/lists").json()] == [lid]  # not the demo county's list
    chinese_error(c.get(f"/api/payout/lists/{loop['list_id']}"), 403)
    data = c.get(f"/api/payout/lists/{lid}").json()
    rows = data["rows"]
    if len(rows) < 2:
        pytest.skip("the other county has fewer than two awards in this demo data")
    assert data["state"] == "复核中" and all(x["county_code"] == web.other_county for x in rows)
    chinese_error(c.post(f"/api/payout/rows/{rows[0]['id']}/exclude", json={"reason": " "}, headers=c.csrf), 422)
    chinese_error(c.post(f"/api/payout/rows/{rows[0]['id']}/exclude", json={}, headers=c.csrf), 422)
    assert c.post(f"/api/payout/rows/{rows[0]['id']}/exclude", json={"reason": "重复"}, headers=c.csrf).json()["ok"]
    more = f"{__import__('decimal').Decimal(rows[1]['computed_yuan']) + __import__('decimal').Decimal('0.01')}"
    assert "只能调减" in chinese_error(c.post(f"/api/payout/rows/{rows[1]['id']}/adjust",
                                            json={"amount_yuan": more, "reason": "上调"}, headers=c.csrf), 422)
    liunan = loop["officer"]
    chinese_error(liunan.post(f"/api/payout/lists/{lid}/approve", json={}, headers=liunan.csrf), 403)
    assert c.post(f"/api/payout/lists/{lid}/approve", json={"note": "同意"}, headers=c.csrf).json()["state"] == "已批准"
    start = svc(web).today()
    while not P.is_workday(start):
        start += timedelta(days=1)
    out = c.post(f"/api/payout/lists/{lid}/publish", json={"issuer": "某县工信局", "contact": "王五 0772-7654321",
                                                           "days": 7, "start": start.isoformat()}, headers=c.csrf).json()
    assert out["state"] == "公示中" and out["publicity_end"] == P.add_workdays(start, 7).isoformat()
    public = web.client().get(f"/api/gongshi/{lid}").json()
    assert len(public["rows"]) == len(rows) - 1 and public["end"] == out["publicity_end"]
    # the other county's enterprise user (qiye3) sees only its own rows, in any county's list
    e = web.client("qiye3")
    mine = e.get("/api/payout/mine").json()
    assert all(x["credit_code"] == web.other_county_ent for x in mine)
    assert web.client("qiye").get("/api/payout/mine").json() and \
        all(x["credit_code"] == web.own for x in web.client("qiye").get("/api/payout/mine").json())
    chinese_error(e.post(f"/api/payout/rows/{rows[1]['id']}/decision", json={"decision": "同意"}, headers=e.csrf), 422)
    if rows[1]["credit_code"] != web.other_county_ent:
        chinese_error(e.post(f"/api/payout/rows/{rows[1]['id']}/decision", json={"decision": "放弃"},
                             headers=e.csrf), 403)
