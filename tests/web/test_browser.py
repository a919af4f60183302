"""The pages in a real browser (Debian chromium through Playwright) against a uvicorn server on a free loopback
port: live search, the calculator (a qualifying enterprise; missing data → 待补充信息 with its questions), an
officer's import → screening → Excel download, role isolation, Chinese text and a CJK font.

Screenshots go to tests/web/artifacts/ (not committed)."""

from __future__ import annotations

import random
import re
import socket
import threading
import time
from pathlib import Path

import openpyxl
import pytest

from huiqi.data.credit_code import make_code
from huiqi.interfaces.web.state import DEMO_COUNTY, DEMO_PASSWORDS

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium "
                                                               "(apt-get install -y chromium)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(demo_dir, tmp_path_factory):
    import uvicorn

    from huiqi.interfaces.web import create_app

    work = tmp_path_factory.mktemp("browser")
    app = create_app(f"sqlite:///{work / 'huiqi.db'}", demo_dir, work, announce=lambda _t: None)
    state = app.state.web
    state.add_user(state.user("admin"), "officer2", "Other-Password-2024", "officer", "外县区工信局",
                   next(c for c in state.county_names if c != DEMO_COUNTY and
                        c in set(state.enterprises["county_code"].to_list())), None)
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not srv.started:
        if time.time() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield {"url": f"http://127.0.0.1:{port}", "state": state}
    srv.should_exit = True
    thread.join(timeout=30)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN", accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    # 4xx pages are expected in these tests ("Failed to load resource"); anything else is a script or CSP error
    pg.on("console", lambda m: errors.append(m.text)
          if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
    yield pg
    context.close()
    assert not errors, errors  # no script errors and no Content-Security-Policy violations


def login(page, server, username: str, password: str | None = None) -> None:
    page.goto(server["url"] + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password or DEMO_PASSWORDS[username])
    page.click("form.stack button[type=submit]")
    page.wait_for_load_state("networkidle")


def assert_chinese_and_cjk_font(page) -> None:
    text = page.inner_text("main")
    cjk = len(re.findall(r"[\u4e00-\u9fff]", text))
    assert cjk > 20, text[:200]
    family = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert "Noto Sans CJK SC" in family, family
    assert page.evaluate("document.fonts.check('16px \"Noto Sans CJK SC\"', '惠企政策')")
    # the heading really renders with glyph width (no tofu/zero-width fallback)
    assert page.evaluate("document.querySelector('h1').getBoundingClientRect().width") > 40


def test_search_live(page, server):
    page.goto(server["url"] + "/policies")
    assert page.title().startswith("政策库")
    page.fill("#q", "技改")
    page.wait_for_selector("#search-results .hit mark")
    marks = page.locator("#search-results .hit mark").all_inner_texts()
    assert any("技改" in m for m in marks), marks
    assert_chinese_and_cjk_font(page)
    page.screenshot(path=str(ARTIFACTS / "search_jigai.png"))
    page.fill("#q", "桂工信综合〔2024〕328号")
    page.wait_for_function("() => (document.querySelector('#search-results .hit mark') || {innerText: ''})"
                           ".innerText.includes('328号')")
    page.locator("#search-results .hit a").first.click()
    page.wait_for_load_state()
    assert "/policies/gx2024q2" in page.url
    assert page.locator(".clause:target").count() == 1  # the anchor of the clause


def test_calculator_enterprise_qualifies(page, server):
    login(page, server, "qiye")
    page.goto(server["url"] + "/calculator")
    page.wait_for_selector("#results .result")
    assert page.locator("#enterprise-card").inner_text().count(server["state"].enterprise_of("qiye")) == 1
    met = page.locator("#results .result.met")
    assert met.count() >= 1
    first = met.first.inner_text()
    assert "依据" in first and "元" in first
    assert met.first.locator("mark.quote").count() == 1  # the cited clause text is highlighted
    assert page.locator("#results .result.notmet .gap").count() >= 1  # a miss shows its gap
    assert_chinese_and_cjk_font(page)
    page.screenshot(path=str(ARTIFACTS / "calculator_enterprise.png"), full_page=True)
    # an enterprise user cannot look at another enterprise
    other = server["state"].enterprises["credit_code"].to_list()[-1]
    page.goto(server["url"] + f"/calculator?enterprise={other}")
    assert "无权" in page.inner_text("main")


def test_calculator_missing_data_asks_questions(page, server):
    login(page, server, "admin")
    page.goto(server["url"] + "/calculator?period=2024Q4")
    page.select_option("#f-is_industrial", "是")  # 第21条 is for 工业企业 (issue 8 #2)
    page.fill("#f-output_q", "8986149.70")
    page.fill("#f-output_q_ly", "7000000")
    page.select_option("#f-promo_event_held_q", "是")
    page.click("#calc-form button[type=submit]")
    card = page.locator("#m-gx2024q4-21")
    card.wait_for()
    assert card.get_attribute("data-status") == "待补充信息"
    questions = card.locator(".questions").inner_text()
    assert "当季促销活动场地租赁、会场搭建等费用" in questions and "企业申报" in questions
    card.locator(".questions a").first.click()
    assert page.evaluate("document.activeElement.id") == "f-promo_event_cost_q"
    page.screenshot(path=str(ARTIFACTS / "calculator_missing.png"), full_page=True)
    # filling it in settles the measure
    page.fill("#f-promo_event_cost_q", "600000")
    page.click("#calc-form button[type=submit]")
    page.wait_for_function("() => document.querySelector('#m-gx2024q4-21').dataset.status === '符合'")
    assert "300,000.00" in page.locator("#m-gx2024q4-21 .amount").inner_text()


def test_officer_import_screen_download(page, server, tmp_path):
    rng = random.Random(23)
    codes = [make_code(rng, DEMO_COUNTY) for _ in range(2)]
    ent = tmp_path / "企业.csv"
    ent.write_text("统一社会信用代码,企业名称,县区代码,行业代码,行业\n" + "".join(
        f"{c},柳州浏览器测试{i}有限公司,{DEMO_COUNTY},3421,机械\n" for i, c in enumerate(codes)), encoding="utf-8")
    bad = tmp_path / "企业名录.csv"
    bad.write_text("统一社会信用代码,企业名称,县区代码,行业代码\n123,坏,450204,3421\n", encoding="utf-8")
    login(page, server, "liunan")
    assert page.url.endswith("/workbench")
    # a bad file: the validation report by row and column, nothing written
    page.set_input_files("#import-form input[type=file]", str(bad))
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-errors")
    assert "未写入" in page.inner_text("#import-report")
    assert page.locator("#import-errors tbody tr").first.inner_text().split("\t")[2].strip() == "2"
    page.screenshot(path=str(ARTIFACTS / "import_errors.png"))
    page.set_input_files("#import-form input[type=file]", str(ent))
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-report .alert.ok")
    assert codes[0] in server["state"].county_of
    # screening with live progress
    page.click("#screen-form button[type=submit]")
    page.wait_for_selector("#job-progress progress")
    page.wait_for_selector("#open-job", timeout=120_000)
    page.screenshot(path=str(ARTIFACTS / "screening_done.png"))
    page.click("#open-job")
    page.wait_for_selector("#results-table tbody tr")
    page.wait_for_function("() => document.querySelector('#chart-county canvas') !== null")
    counties = set(page.locator("#results-table tbody tr td:nth-child(4)").all_inner_texts())
    assert counties <= {"柳南区"}, counties
    page.select_option("#rows-filter select[name=status]", "符合")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#results-table tbody .badge')].every(b => b.innerText === '符合')")
    page.locator("#results-table details summary").first.click()
    assert_chinese_and_cjk_font(page)
    page.screenshot(path=str(ARTIFACTS / "award_list.png"), full_page=True)
    with page.expect_download() as info:
        page.click("#download-xlsx")
    path = tmp_path / "list.xlsx"
    info.value.save_as(path)
    wb = openpyxl.load_workbook(path)
    assert "汇总" in wb.sheetnames
    assert "拟兑现名单" in str(wb["汇总"]["A1"].value)
    # approval, recorded
    page.fill("#approve-form input[name=note]", "已核对，同意")
    page.click("#approve-form button[type=submit]")
    page.wait_for_selector("#approvals .badge.met")


def test_role_isolation_in_browser(page, server):
    login(page, server, "qiye")
    for path in ("/workbench", "/workbench/parameters", "/admin/audit", "/admin/users"):
        page.goto(server["url"] + path)
        assert "无权访问" in page.inner_text("main"), path
    page.screenshot(path=str(ARTIFACTS / "enterprise_forbidden.png"))
    page.goto(server["url"] + "/mine")
    assert "我的结果" in page.inner_text("main")
    page.context.clear_cookies()
    login(page, server, "liunan")
    page.goto(server["url"] + "/admin/audit")
    assert "无权访问" in page.inner_text("main")
    other = server["state"].enterprises.filter(
        server["state"].enterprises["county_code"] != DEMO_COUNTY)["credit_code"][0]
    page.goto(server["url"] + f"/calculator?enterprise={other}")
    assert "无权" in page.inner_text("main")
    page.goto(server["url"] + "/workbench/parameters")
    assert page.locator("#params-form input[name^='p.']").count() == 0  # officers see parameters read-only
    page.context.clear_cookies()
    login(page, server, "admin")
    page.goto(server["url"] + "/admin/audit")
    assert page.locator("#audit tbody tr").count() >= 1
    page.screenshot(path=str(ARTIFACTS / "audit_admin.png"))
    page.goto(server["url"] + "/workbench/parameters")
    page.fill("#params-form input[name='p.gx2023_01_rate']", "0.5")
    page.click("#params-form button[type=submit]")
    assert "超过文件规定的上限" in page.inner_text("main")
    page.fill("#params-form input[name='p.gx2023_01_rate']", "0.005")
    page.fill("#params-form input[name=comment]", "浏览器测试")
    page.click("#params-form button[type=submit]")
    page.wait_for_selector(".alert.ok")
    assert "浏览器测试" in page.inner_text("#history")


def test_login_page_and_rate_limit(page, server):
    page.goto(server["url"] + "/workbench")
    assert "/login" in page.url  # not signed in → the login page
    for _ in range(5):
        login(page, server, "officer2", "wrong-password-x")
        assert "用户名或密码不正确" in page.inner_text("main")
    login(page, server, "officer2", "Other-Password-2024")
    assert "登录尝试过于频繁" in page.inner_text("main")
    page.screenshot(path=str(ARTIFACTS / "login_rate_limited.png"))
