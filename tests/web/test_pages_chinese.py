"""Issue 11 acceptance: every page, as admin, county officer and enterprise, at 1440 px and 390 px.

No visible text contains a measure ID, a data-dictionary field code, SQL, a function name, "422", "docs/" or
".md"; at 390 px nothing overflows the screen (tables scroll inside their own box). Screenshots of every page
at both widths go to tests/web/artifacts/pages/ (not committed)."""

from __future__ import annotations

import pytest

from tests.leaks import leaks
from tests.web.test_browser import ARTIFACTS, CHROMIUM, browser, login, server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium")

PAGES = {
    "admin": ["/policies", "/policies/gx2024q4", "/rules/gx2024q4-21", "/rules/lz2026q3-1", "/calculator",
              "/workbench", "/workbench/parameters", "/sandbox", "/dashboard", "/admin/audit", "/admin/users"],
    "liunan": ["/workbench", "/workbench/parameters", "/sandbox", "/dashboard", "/calculator?period=2024Q4",
               "/policies"],
    "qiye": ["/mine", "/calculator", "/policies", "/rules/hb-hr-intern"],
}
WIDTHS = (1440, 390)


def _visible_text(page) -> str:
    page.wait_for_load_state("networkidle")
    return page.evaluate("document.body.innerText")


def _check(page, name: str, width: int, problems: list) -> None:
    text = _visible_text(page)
    found = leaks(text)
    if found:
        problems.append((name, width, sorted(set(found))[:8]))
    if width == 390:
        sw = page.evaluate("document.scrollingElement.scrollWidth")
        if sw > 390:
            problems.append((name, width, f"scrollWidth {sw} > 390"))
    (ARTIFACTS / "pages").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "pages" / f"{name}_{width}.png"), full_page=True)


@pytest.fixture(scope="module")
def screened(browser, server):  # noqa: F811
    """One finished screening (so the award list, the job page and 我的结果 have rows)."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(120_000)
    login(page, server, "admin")
    page.goto(server["url"] + "/workbench")
    page.click("#screen-form button[type=submit]")
    page.wait_for_selector("#open-job")
    href = page.get_attribute("#open-job", "href")
    context.close()
    return href


@pytest.mark.parametrize("user", list(PAGES))
def test_pages_speak_chinese_and_fit_a_phone(browser, server, screened, user):  # noqa: F811
    """Issue 11: officers and enterprises read measure names and plain Chinese — never gx2024q4-21, field codes,
    `CASE WHEN … WAN(800)`, 错误（422） or docs/….md — and no page is wider than a 390 px phone."""
    problems: list = []
    pages = list(PAGES[user]) + ([screened] if user != "qiye" else [])
    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(60_000)
        login(page, server, user)
        for path in pages:
            page.goto(server["url"] + path)
            if "/workbench/jobs/" in path:
                page.wait_for_selector("#results-table tbody tr")
            name = f"{user}{path.replace('/', '_').replace('?', '_').replace('=', '-')}"
            _check(page, name, width, problems)
        # an explanation-heavy calculator result: the rank table of lz2026q3 and the 50% × cost of gx2024q4-21
        if user == "admin":
            page.goto(server["url"] + "/calculator?period=2024Q4")
            page.fill("#f-output_q", "8986149.70")
            page.fill("#f-output_q_ly", "7000000")
            page.select_option("#f-promo_event_held_q", "是")
            page.select_option("#f-is_industrial", "是")  # 002 第21条 is for 工业企业 (RULES-2)
            page.fill("#f-promo_event_cost_q", "600000")
            page.click("#calc-form button[type=submit]")
            page.wait_for_function("() => { const e = document.querySelector('#m-gx2024q4-21');"
                                   " return e && e.dataset.status === '符合'; }")
            assert "50% × " in page.inner_text("#m-gx2024q4-21")
            _check(page, f"{user}_calculator_result", width, problems)
        context.close()
    assert not problems, "\n".join(map(str, problems))
