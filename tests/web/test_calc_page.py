"""PAGE11: the calculator page's results fragment, rendered from remembered articles, is byte for byte the old one.

The reference is the page as it was before PAGE11, kept here: the results as JSON-like dicts (``check_payload``),
the old view (``_old_outcome_view``, the former ``pages._outcome_view``) and the old template
(``reference_calc_results.html``, rendering every article on every request). The form is read by the standard
library now; it must give the pairs Starlette's parser gives.
"""

from __future__ import annotations

import asyncio
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.web.conftest import sqlite_web

PERIODS = ["2024Q4", "2024Q1", "2025Q2", "2026Q3"]
STATUS_ORDER = {"符合": 0, "待补充信息": 1, "参数待定": 2, "不符合": 3}
REFERENCE = (Path(__file__).parent / "reference_calc_results.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def web(demo_dir, tmp_path_factory):
    with sqlite_web(demo_dir, tmp_path_factory, "calc_page") as w:
        yield w


@pytest.fixture(scope="module")
def anon(web):
    return web.client()


def _old_outcome_view(outcome: dict, today: date) -> dict:
    from huiqi.services import calendar as cal
    from huiqi.services.calculator import default_ruleset
    from huiqi.services.presenters import MONITORING_MEASURES

    results = [r for r in outcome["results"] if r["measure_id"] not in MONITORING_MEASURES]
    labels = {n: p.label for n, p in default_ruleset().parameters.items()}
    for r in results:
        r["pending_labels"] = [labels.get(p, "待定参数") for p in r.get("pending_parameters") or []]
    counts: dict[str, int] = {}
    for r in results:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    results = sorted(results, key=lambda r: (-Decimal(r["amount_yuan"] or 0), STATUS_ORDER.get(r["status"], 9)))
    open_ids = [r["measure_id"] for r in results if r["status"] != "不符合"]
    apply = cal.how_to_apply(r["measure_id"] for r in results)
    for r in results:
        r["apply"] = apply.get(r["measure_id"])
    upcoming = cal.upcoming(today, measures=open_ids) if open_ids else []
    return {**outcome, "summary": {**outcome["summary"], "counts": counts}, "results": results, "upcoming": upcoming}


def reference(web, data: dict, today: date | None = None, field_names: list | None = None) -> tuple[int, str]:
    """What the page answered before PAGE11 for this form (status, HTML)."""
    from huiqi.interfaces.web import checking, presenters as P
    from huiqi.interfaces.web.state import WebError
    from huiqi.services.form_values import parse_form

    period = data.get("period") or "2024Q4"
    fields = {f["name"]: f for f in P.calculator_fields(web.state, period)}
    facts = {k[2:]: v.strip() for k, v in data.items() if k.startswith("f.") and v.strip()}
    kinds = {n: "money" if fields[n]["type"] == "money" else "points" if fields[n]["unit"] == "%" else "number"
             for n in facts if fields[n]["type"] in ("money", "number")}
    clean, errors = parse_form({n: facts[n] for n in kinds}, kinds, allow_negative=frozenset(kinds))
    env = web.app.state.templates.env
    if errors:
        return 422, env.get_template("_calc_errors.html").render(
            errors=[(n, fields[n]["label"], e) for n, e in errors.items()], fields=list(fields), user=None)
    facts.update(clean)
    try:
        outcome = checking.run_check(web.state, facts, period, "enterprise", None)
    except WebError as e:  # a value the evaluator refuses (a date that is not one): the app's Chinese error
        return e.status, e.message
    view = _old_outcome_view(outcome, today or date.today())
    names = list(fields) if field_names is None else field_names
    return 200, env.from_string(REFERENCE).render(outcome=view, fields=names, user=None)


def form_of(web, code: str, period: str) -> dict:
    """The page's form filled with a stored enterprise's facts, as GET /calculator?enterprise= shows them."""
    from huiqi.interfaces.web import pages, presenters as P

    row = web.state.facts_row(code, period)
    facts = web.state.facts_for_check(row) if row else {}
    data = {"period": period}
    for f in P.calculator_fields(web.state, period):
        data[f"f.{f['name']}"] = pages._field_value(facts.get(f["name"]), f["type"])
    return data


def post(anon, data: dict):
    return anon.post("/calculator/check", data=data, headers=anon.csrf)


def test_demo_enterprises_across_periods_render_as_before(web, anon):
    """Real demo enterprises over four periods, each twice (the second time every article is a remembered one)."""
    codes = web.state.enterprises["credit_code"].to_list()[:30]
    periods = [p for p in PERIODS if p in web.state.periods()]
    assert len(periods) >= 3
    for _round in range(2):
        for period in periods:
            for code in codes:
                data = form_of(web, code, period)
                r = post(anon, data)
                assert (r.status_code, r.text) == reference(web, data), (period, code)
                assert r.headers["content-type"] == "text/html; charset=utf-8"


def test_a_multipart_form_is_read_as_before(web, anon):
    """Another encoding than htmx's (multipart) goes through Starlette's parser, with the same answer."""
    data = form_of(web, web.own, "2024Q4")
    r = anon.post("/calculator/check", data=data, files={"unused": ("a.txt", b"x")}, headers=anon.csrf)
    assert (r.status_code, r.text) == reference(web, data)


def test_a_form_with_its_token_in_the_form_is_read_as_before(web):
    """No htmx header: the CSRF check reads the form itself (Starlette), and the page reads that reading."""
    from fastapi.testclient import TestClient

    c = TestClient(web.app)
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/calculator").text).group(1)
    data = form_of(web, web.own, "2024Q4")
    r = c.post("/calculator/check", data={"csrf_token": token, **data})
    assert (r.status_code, r.text) == reference(web, data)
    assert c.post("/calculator/check", data={"csrf_token": "wrong", **data}).status_code == 403


def test_deadlines_follow_today_as_before(web, anon, monkeypatch):
    from huiqi.interfaces.web import pages

    for today in (date(2026, 9, 20), date(2026, 8, 1), date(2026, 9, 16)):
        monkeypatch.setattr(pages, "_today", lambda today=today: today)
        data = {"period": "2026Q3"}
        assert (post(anon, data).text) == reference(web, data, today)[1]


def test_bad_input_gives_the_same_chinese_422(web, anon):
    data = {"period": "2024Q4", "f.output_q": "abc", "f.output_q_ly": "十万", "f.output_jan_sep": "-"}
    r = post(anon, data)
    assert r.status_code == 422 and (r.status_code, r.text) == reference(web, data)
    assert "共" in r.text and "处填写有误" in r.text
    r = post(anon, {"period": "2024Q4", "f.no_such_field": "1"})
    assert r.status_code == 422 and "未知字段“no_such_field”" in r.text
    assert "HTTP" not in r.text


def test_the_last_period_sent_is_the_one_checked(web, anon):
    """As Starlette's form.get: a repeated name gives its last value."""
    r = anon.post("/calculator/check", content="period=2024Q1&period=2024Q4".encode(),
                  headers={**anon.csrf, "Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200 and "计算结果（2024Q4）" in r.text


def test_enterprise_page_shows_its_own_check_as_before(web):
    """GET /calculator for an enterprise user: the same results; its error spans are the form's own (the old page
    also printed one span per field with the field's whole dict as its id: dropped)."""
    c = web.client("qiye")
    page = c.get("/calculator", params={"period": "2024Q4"}).text
    _status, html = reference(web, form_of(web, web.own, "2024Q4"), field_names=[])
    assert html in page
    assert 'id="err-{' not in page


def _field_kinds(web, period: str) -> dict:
    from huiqi.interfaces.web import presenters as P

    return {f["name"]: f for f in P.calculator_fields(web.state, period)}


EDGES = ["", " ", "0", "1", "-1", "0.005", "100", "2000万", "2,000万元", "20000000", "19999999.99", "20000000.01",
         "5%", "3.8", "10.5%", "abc", "1e3", "十万", "5000000", "4999999.99", "是", "否", "2024-06-30"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_drawn_facts_render_as_before(web, anon, data):
    """Hypothesis: some of the period's fields filled with blanks, 以上/超过 edges (amounts a 分 either side of
    round thresholds), rates, text and errors; the answer (200 or 422) is the old one byte for byte."""
    period = data.draw(st.sampled_from([p for p in PERIODS if p in web.state.periods()]))
    fields = _field_kinds(web, period)
    names = data.draw(st.lists(st.sampled_from(sorted(fields)), max_size=12, unique=True))
    form = {"period": period}
    for n in names:
        f = fields[n]
        if f["type"] == "bool":
            form[f"f.{n}"] = data.draw(st.sampled_from(["", "是", "否"]))
        elif f["type"] in ("money", "number"):
            form[f"f.{n}"] = data.draw(st.one_of(st.sampled_from(EDGES),
                                                 st.integers(-10**9, 10**11).map(lambda i: f"{i / 100:.2f}")))
        else:
            form[f"f.{n}"] = data.draw(st.sampled_from(["", "是", "2024-06-30", "柳南区", "制造业"]))
    r = post(anon, form)
    status, html = reference(web, form)
    assert r.status_code == status
    assert r.text == html if status == 200 or "处填写有误" in html else html in r.text


# ------------------------------------------------------------------------------------------------ reading the form
def _both_readings(body: bytes) -> tuple[list, list]:
    from starlette.requests import Request

    from huiqi.interfaces.web.pages import _form_items

    def request():
        async def receive():
            return {"type": "http.request", "body": body, "more_body": False}

        return Request({"type": "http", "method": "POST", "path": "/calculator/check",
                        "headers": [(b"content-type", b"application/x-www-form-urlencoded"),
                                    (b"x-csrf-token", b"as htmx sends it")]}, receive)

    async def read():
        ours = request()
        items = await _form_items(ours)
        assert ours._form is None  # read by urllib, not through Starlette's parser
        return list((await request().form()).multi_items()), items

    return asyncio.run(read())


TEXT = st.text(alphabet=st.sampled_from(list("ab0.,%+&=;_ 万元柳州\n")), max_size=8)


@settings(max_examples=200, deadline=None)
@given(pairs=st.lists(st.tuples(TEXT.filter(bool), TEXT), max_size=10))
def test_form_reading_equals_starlettes(pairs):
    """Names and values with spaces, +, %, &, =, Chinese, repeats: the same pairs in the same order."""
    starlette, ours = _both_readings(urlencode(pairs).encode())
    assert ours == starlette


@pytest.mark.parametrize("body", [b"", b"period=2024Q4&f.a=&f.b=1", b"f.a=%E4%B8%87%E5%85%83+1",
                                  b"f.a=1&&f.b=2", b"f.a=%zz", b"f.a=%E4%B8"])
def test_form_reading_equals_starlettes_on_odd_bodies(body):
    starlette, ours = _both_readings(body)
    assert ours == starlette


def test_a_copy_renders_as_the_remembered_result(web):
    """``article`` by identity: a result's copy (remember=False) gives the remembered HTML."""
    import copy

    from huiqi.interfaces.web import calc_page, checking
    from huiqi.services.calculator import CheckRequest, check_many

    env = web.app.state.templates.env
    req = CheckRequest({"output_q": "8986149.70"}, "2024Q4", "enterprise", checking.engine_params(web.state, None))
    shared = check_many([req], web.state.ruleset, web.state.library, shared=True)[0]
    for r in shared:
        assert calc_page.article(env, r) == calc_page.article(env, copy.deepcopy(r), remember=False)
        assert calc_page.article(env, r) is calc_page.article(env, r)  # the second time from memory
    assert re.search(r"^\n<article .*</article>\n$", calc_page.article(env, shared[0]).decode(), re.S)
