"""The payout loop walked in a real browser (issue 10 item 3 acceptance): import → screen → review (剔除 one row
with a reason) → approve → 公示 page (no login) → the enterprise confirms with its bank account → 拨付 import →
the report shows paid = approved − 剔除. Same server and chromium fixtures as test_browser.py; screenshots go to
tests/web/artifacts/payout_*.png."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import timedelta

import openpyxl
import pytest

from huiqi.core import money
from huiqi.data.credit_code import make_code
from huiqi.interfaces.web.state import DEMO_COUNTY
from huiqi.services import payout as P

from .test_browser import ARTIFACTS, assert_chinese_and_cjk_font, browser, login, page, server  # noqa: F401

pytestmark = pytest.mark.skipif(not __import__("pathlib").Path("/usr/bin/chromium").exists(),
                                reason="Debian chromium is not installed at /usr/bin/chromium")


@dataclass
class Enterprise:  # another enterprise of the list confirming outside the browser
    username: str
    credit_code: str
    role: str = "enterprise"
    county_code: str | None = None
    display_name: str = "企业"


def test_payout_loop_in_browser(page, server, tmp_path):  # noqa: F811
    state = server["state"]
    service = state.attached("payout", lambda: P.PayoutService(state.engine, state.audit))
    url = server["url"]

    # import (a small enterprise register, as an officer does) and screen
    rng = random.Random(101)
    codes = [make_code(rng, DEMO_COUNTY) for _ in range(2)]
    ent = tmp_path / "企业.csv"
    ent.write_text("统一社会信用代码,企业名称,县区代码,行业代码,行业\n" + "".join(
        f"{c},柳州兑现测试{i}有限公司,{DEMO_COUNTY},3421,机械\n" for i, c in enumerate(codes)), encoding="utf-8")
    login(page, server, "liunan")
    page.set_input_files("#import-form input[type=file]", str(ent))
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-report .alert.ok")
    page.click("#screen-form button[type=submit]")
    page.wait_for_selector("#open-job", timeout=180_000)
    page.click("#open-job")
    page.wait_for_selector("#open-payout")

    # review: open the county's list, 剔除 one row (not the demo enterprise's) with a reason
    page.click("#open-payout button[type=submit]")
    page.wait_for_selector("#payout-rows")
    own = state.enterprise_of("qiye")
    rows = page.locator("#payout-rows tbody tr")
    n_rows = rows.count()
    assert n_rows >= 2
    victim = page.locator(f"#payout-rows tbody tr[data-state='待复核']:not([data-credit='{own}'])").first
    victim_credit = victim.get_attribute("data-credit")
    victim_measure = victim.get_attribute("data-measure")
    victim.locator("form.row-exclude input[name=reason]").fill("企业存在严重失信记录，不予兑现")
    victim.locator("form.row-exclude button").click()
    page.wait_for_selector(f"#payout-rows tr[data-credit='{victim_credit}'][data-measure='{victim_measure}']"
                           "[data-state='已剔除']")
    assert "企业存在严重失信记录" in page.inner_text("#payout-rows")
    assert page.inner_text("#removed-count") == "1"
    assert_chinese_and_cjk_font(page)
    page.screenshot(path=str(ARTIFACTS / "payout_review.png"), full_page=True)

    # approve, then publish the 公示
    page.fill("#approve-list input[name=note]", "已逐行复核，同意兑现")
    page.click("#approve-list button[type=submit]")
    page.wait_for_selector("#publish-list")
    assert page.inner_text("#list-state") == "已批准"
    page.fill("#publish-list input[name=contact]", "张三 0772-1234567")
    start = service.today()
    while not P.is_workday(start):
        start += timedelta(days=1)
    page.fill("#publish-list input[name=start]", start.isoformat())
    page.click("#publish-list button[type=submit]")
    page.wait_for_selector("#gongshi-link")
    list_id = int(page.url.rstrip("/").rsplit("/", 1)[1])

    # the public page, without logging in
    page.context.clear_cookies()
    page.goto(url + "/gongshi")
    page.click(f"#gongshi-lists a[href='/gongshi/{list_id}']")
    page.wait_for_selector("#gongshi-rows")
    body = page.inner_text("main")
    assert "公示期为5个工作日" in body and "张三 0772-1234567" in body and "柳南区工业和信息化局" in body
    public_codes = page.locator("#gongshi-rows tbody tr td:nth-child(3)").all_inner_texts()
    assert all("*" in c for c in public_codes[:-1])  # masked in the middle (the last row is the total)
    assert len(public_codes) - 1 == n_rows - 1  # the removed row is not shown
    assert victim_credit not in body
    assert_chinese_and_cjk_font(page)
    page.screenshot(path=str(ARTIFACTS / "payout_gongshi.png"), full_page=True)
    with page.expect_download() as dl:
        page.click("#gongshi-pdf")
    pdf = tmp_path / "公示.pdf"
    dl.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")

    # the enterprise confirms its own rows with its bank account
    login(page, server, "qiye")
    page.goto(url + "/payout/mine")
    forms = page.locator("form.confirm-form")
    mine_n = forms.count()
    assert mine_n >= 1
    for _ in range(mine_n):
        form = page.locator("form.confirm-form").first
        form.locator("input[name=bank_name]").fill("中国工商银行柳州分行")
        form.locator("input[name=bank_account]").fill("6222 0202 0011 2233")
        form.locator("button[value=确认]").click()
        page.wait_for_load_state("networkidle")
    assert page.locator("form.confirm-form").count() == 0
    assert "************2233" in page.inner_text("#mine-rows")
    page.screenshot(path=str(ARTIFACTS / "payout_confirm.png"), full_page=True)

    # the other enterprises on the list confirm too (each as itself, through the same service)
    for r in service.rows(list_id, [P.ROW_APPROVED]):
        service.decide(Enterprise(f"e{r['id']}", r["credit_code"]), r["id"], True, "柳州银行", "6222000011112222")

    # after the 公示 period: the treasury's file → 拨付
    rows_now = service.rows(list_id, masked_account=False)
    info = service.list_info(list_id)
    real_today = service.today
    service.today = lambda: info["publicity_end"] + timedelta(days=1)
    try:
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.append(["统一社会信用代码", "措施/项目", "拨付金额（元）", "拨付日期", "凭证号"])
        for r in rows_now:
            if r["state"] == P.ROW_CONFIRMED:
                ws.append([r["credit_code"], r["measure_name"], money.yuan_text(r["amount_fen"]),
                           (info["publicity_end"] + timedelta(days=1)).isoformat(), f"GK2026-{r['id']:06d}"])
        treasury = tmp_path / "国库拨付.xlsx"
        wb.save(treasury)
        page.context.clear_cookies()
        login(page, server, "liunan")
        page.goto(url + f"/payout/lists/{list_id}")
        page.set_input_files("#payments-form input[type=file]", str(treasury))
        page.click("#payments-form button[type=submit]")
        page.wait_for_selector("#payments-report .alert.ok")
        page.screenshot(path=str(ARTIFACTS / "payout_payments.png"), full_page=True)
    finally:
        service.today = real_today

    # the report: paid = approved − 剔除
    page.goto(url + f"/payout/report?job={info['job_id']}")
    computed = sum(r["computed_fen"] for r in rows_now)
    removed = sum(r["computed_fen"] for r in rows_now if r["state"] == P.ROW_REMOVED)
    assert removed > 0
    assert page.inner_text("#paid-wan") == money.wan_text(computed - removed)
    assert page.inner_text("#approved-wan") == money.wan_text(computed - removed)
    assert page.inner_text("#removed-wan") == money.wan_text(removed)
    assert re.search(r"柳南区", page.inner_text("#report-by_county"))
    assert_chinese_and_cjk_font(page)
    page.screenshot(path=str(ARTIFACTS / "payout_report.png"), full_page=True)
