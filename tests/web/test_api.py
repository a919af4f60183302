"""REST API: every endpoint, good and bad input (4xx with the one error body {"error": {"code", "message": 中文, "fields"}}, nothing changed), on SQLite and
PostgreSQL."""

from __future__ import annotations

import io
import random
import re
from decimal import Decimal

import openpyxl
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huiqi.data.credit_code import make_code
from huiqi.interfaces.web.state import DEMO_COUNTY

CJK = re.compile(r"[\u4e00-\u9fff]")


def chinese_error(r, status: int) -> str:
    assert r.status_code == status, (r.status_code, r.text)
    detail = r.json()["error"]["message"]
    assert isinstance(detail, str) and CJK.search(detail), detail
    return detail


# ------------------------------------------------------------------------------------------------ library
def test_documents_list_filters_and_one_document(web):
    c = web.client()
    all_docs = c.get("/api/documents").json()
    assert all_docs["total"] == 70
    level = c.get("/api/documents", params={"level": "自治区"}).json()
    assert 0 < level["total"] < 70 and all(d["level"] == "自治区" for d in level["documents"])
    draft = c.get("/api/documents", params={"status": "征求意见稿"}).json()
    assert draft["total"] >= 1 and all(d["status"] == "征求意见稿" for d in draft["documents"])
    year = c.get("/api/documents", params={"year": 2024}).json()
    assert year["total"] > 0 and all(d["year"] == 2024 for d in year["documents"])  # 成文年份, see TIME-4
    chinese_error(c.get("/api/documents", params={"status": "作废"}), 422)
    chinese_error(c.get("/api/documents", params={"year": "明年"}), 422)

    doc = c.get("/api/documents/gx2024q4").json()
    ids = [cl["id"] for cl in doc["clauses"]]
    assert "gx2024q4:0" in ids and len(ids) == doc["clause_count"]
    linked = {m for cl in doc["clauses"] for m in cl["measures"]}
    assert "gx2024q4-21" in linked and set(doc["measures"]) >= linked
    chinese_error(c.get("/api/documents/nosuch"), 404)


def test_clause_and_rules(web):
    c = web.client()
    rule = c.get("/api/rules/gx2024q4-21").json()
    cid = rule["clause"] if isinstance(rule["clause"], str) else rule["clause"][0]
    clause = c.get(f"/api/clauses/{cid}").json()
    assert "gx2024q4-21" in clause["measures"] and clause["url"].endswith(f"#{cid}")
    chinese_error(c.get("/api/clauses/gx2024q4:99.99"), 404)
    rules = c.get("/api/rules", params={"period": "2024Q4", "entity": "enterprise"}).json()
    assert rules["total"] >= 10 and all(m["entity"] == "enterprise" for m in rules["measures"])
    assert c.get("/api/rules", params={"document": "gx2023"}).json()["total"] >= 1
    chinese_error(c.get("/api/rules/nosuch-1"), 404)


@pytest.mark.parametrize("query, expect", [("技改", "技改"), ("贴息", "贴息"), ("桂工信综合〔2024〕328号", "328")])
def test_search(web, query, expect):
    c = web.client()
    out = c.get("/api/search", params={"q": query, "limit": 5}).json()
    assert out["total"] >= 1
    hit = out["hits"][0]
    assert {"clause_id", "document_id", "document_title", "wenhao", "level", "label", "snippet", "score",
            "measures", "url"} <= set(hit)
    assert "【" in hit["snippet"] and expect in hit["snippet"]


def test_search_bad_filters(web):
    c = web.client()
    chinese_error(c.get("/api/search", params={"q": "技改", "level": "省"}), 422)
    chinese_error(c.get("/api/search", params={"q": "技改", "document": "nosuch"}), 422)
    chinese_error(c.get("/api/search"), 422)
    chinese_error(c.get("/api/search", params={"q": "技改", "limit": 0}), 422)


# ------------------------------------------------------------------------------------------ auth and CSRF
def test_login_csrf_session_logout(web):
    c = web.client()
    chinese_error(c.get("/api/me"), 401)
    chinese_error(c.post("/api/login", json={"username": "admin", "password": web.passwords["admin"]}), 403)
    chinese_error(c.post("/api/login", json={"username": "admin", "password": "wrong-password"}, headers=c.csrf), 401)
    chinese_error(c.post("/api/login", json={"username": "nobody", "password": "x"}, headers=c.csrf), 401)
    chinese_error(c.post("/api/login", json={"username": "admin"}, headers=c.csrf), 422)
    a = web.client("admin")
    me = a.get("/api/me").json()
    assert me["user"]["role"] == "admin" and me["csrf_token"] == a.csrf["X-CSRF-Token"]
    # the session's token, not the pre-login cookie, is required now; a wrong one is refused
    chinese_error(a.post("/api/logout", headers={"X-CSRF-Token": "forged"}), 403)
    assert a.post("/api/logout", headers=a.csrf).status_code == 200
    chinese_error(a.get("/api/me"), 401)


def test_login_rate_limit(web):
    c = web.client()
    for _ in range(5):
        chinese_error(c.post("/api/login", json={"username": "qiye2", "password": "bad-guess"}, headers=c.csrf), 401)
    detail = chinese_error(c.post("/api/login", json={"username": "qiye2", "password": web.passwords["qiye2"]},
                                  headers=c.csrf), 429)
    assert "5分钟" in detail
    # another account from the same address is not affected
    assert web.client("qiye3").get("/api/me").status_code == 200
    # the lock expires with the window
    from huiqi.interfaces.web import db

    with web.state.engine.begin() as conn:
        conn.execute(db.login_failures.delete())
    assert web.client("qiye2").get("/api/me").status_code == 200


def test_passwords_are_argon2_hashed(web):
    import sqlalchemy as sa

    from huiqi.interfaces.web import db

    with web.state.engine.connect() as conn:
        hashes = conn.execute(sa.select(db.users.c.password_hash)).scalars().all()
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert not any(p in h for h in hashes for p in web.passwords.values())


# --------------------------------------------------------------------------------------------- calculator
FACTS = {"当季工业总产值（万元）": "898.61497", "output_q_ly": "8169227.00", "promo_event_held_q": True,
         "promo_event_cost_q": "600000", "is_industrial": True}


def test_check(web):
    c = web.client("qiye")
    r = c.post("/api/check", json={"period": "2024Q4", "facts": FACTS}, headers=c.csrf)
    assert r.status_code == 200, r.text
    out = r.json()
    by_id = {x["measure_id"]: x for x in out["results"]}
    m = by_id["gx2024q4-21"]
    assert m["status"] == "符合" and m["amount_yuan"] == "300000.00"  # 50% of 60万, capped at 30万
    assert "依据" in m["explanation"] and m["clause_url"].startswith("/policies/gx2024q4#")
    assert Decimal(out["summary"]["total_yuan"]) >= Decimal("300000")
    # same request → same bytes (cached), and equal to calling the service directly
    assert c.post("/api/check", json={"period": "2024Q4", "facts": FACTS}, headers=c.csrf).content == r.content


def test_check_bad_input(web):
    c = web.client("qiye")
    chinese_error(c.post("/api/check", json={"period": "2024Q4", "facts": {"当季产量": 1}}, headers=c.csrf), 422)
    chinese_error(c.post("/api/check", json={"period": "2024Q4", "facts": {"output_q": "1.001"}}, headers=c.csrf), 422)
    chinese_error(c.post("/api/check", json={"period": "2024年", "facts": {}}, headers=c.csrf), 422)
    chinese_error(c.post("/api/check", json={"facts": {}}, headers=c.csrf), 422)
    chinese_error(c.post("/api/check", json={"period": "2024Q4", "facts": {}, "params": {"gx2023_01_rate": "0.5"}},
                         headers=c.csrf), 422)  # above the text's 1% ceiling
    chinese_error(c.post("/api/check", json={"period": "2024Q4", "facts": {}, "params": {"nosuch": 1}},
                         headers=c.csrf), 422)
    chinese_error(c.post("/api/check", json={"period": "2024Q4", "facts": {}}), 403)  # no CSRF token
    chinese_error(web.client().post("/api/check", json={"period": "2024Q4", "facts": {}},
                                    headers=web.client().csrf), 403)  # another client's token
    anon = web.client()  # the calculator is open without login (issue 10), its API too
    assert anon.post("/api/check", json={"period": "2024Q4", "facts": {}}, headers=anon.csrf).status_code == 200


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(output=st.integers(0, 10**10), last=st.integers(0, 10**10), cost=st.integers(0, 10**8))
def test_check_api_equals_service_exactly(web, output, last, cost):
    """The API adds nothing to the evaluator: amounts are the service's, as exact 2-decimal strings."""
    from huiqi.services.calculator import check

    facts = {"output_q": f"{output / 100:.2f}", "output_q_ly": f"{last / 100:.2f}", "promo_event_held_q": True,
             "promo_event_cost_q": f"{cost / 100:.2f}"}
    c = web.client("admin")
    api = {x["measure_id"]: x for x in c.post("/api/check", json={"period": "2024Q4", "facts": facts},
                                             headers=c.csrf).json()["results"]}
    direct = {r.measure_id: r for r in check(facts, "2024Q4")}
    assert set(api) == set(direct)
    for mid, r in direct.items():
        assert api[mid]["status"] == r.status
        assert (api[mid]["amount_yuan"] is None) == (r.amount_yuan is None)
        if api[mid]["amount_yuan"] is not None:
            assert Decimal(api[mid]["amount_yuan"]) == r.amount_yuan
            assert re.fullmatch(r"\d+\.\d{2}", api[mid]["amount_yuan"]), api[mid]["amount_yuan"]


def test_fields_for_calculator_form(web):
    c = web.client()
    fields = {f["name"]: f for f in c.get("/api/fields", params={"period": "2024Q4"}).json()["fields"]}
    assert fields["output_q"]["label"] == "当季工业总产值" and fields["output_q"]["unit"] == "元"
    assert fields["promo_event_cost_q"]["source"]


# --------------------------------------------------------------------------------- enterprises: isolation
def test_enterprise_sees_only_itself(web):
    c = web.client("qiye")
    listed = c.get("/api/enterprises").json()
    assert listed["total"] == 1 and listed["enterprises"][0]["credit_code"] == web.own
    assert c.get(f"/api/enterprises/{web.own}").status_code == 200
    out = c.get(f"/api/enterprises/{web.own}/check", params={"period": "2024Q4"}).json()
    assert any(r["status"] == "符合" for r in out["results"])
    assert c.get(f"/api/enterprises/{web.own}/facts", params={"period": "2024Q4"}).json()["facts"]
    for other in (web.same_county_other, web.other_county_ent, "91450204MA0000000X"):
        for path in ("", "/check?period=2024Q4", "/facts?period=2024Q4"):
            chinese_error(c.get(f"/api/enterprises/{other}{path}"), 403)


def test_officer_sees_only_own_county(web):
    c = web.client("liunan")
    listed = c.get("/api/enterprises", params={"limit": 500}).json()
    assert listed["total"] > 0 and {e["county_code"] for e in listed["enterprises"]} == {DEMO_COUNTY}
    assert c.get(f"/api/enterprises/{web.same_county_other}/check", params={"period": "2024Q4"}).status_code == 200
    chinese_error(c.get(f"/api/enterprises/{web.other_county_ent}"), 403)
    chinese_error(c.get(f"/api/enterprises/{web.other_county_ent}/check", params={"period": "2024Q4"}), 403)
    chinese_error(c.get("/api/enterprises", params={"county": web.other_county}), 403)
    admin = web.client("admin")
    assert admin.get(f"/api/enterprises/{web.other_county_ent}").status_code == 200
    chinese_error(admin.get("/api/enterprises/91450204MA0000000X"), 404)
    chinese_error(admin.get(f"/api/enterprises/{web.own}/check", params={"period": "2024第四季度"}), 422)


# ------------------------------------------------------------------------------------ parameters, budgets
def test_parameters_and_budgets(web):
    c = web.client("liunan")
    params = c.get("/api/parameters").json()
    rows = {p["name"]: p for p in params["parameters"]}
    assert rows["gx2023_01_rate"]["max"] == 0.01 and rows["gx2023_01_rate"]["label"]
    budgets = c.get("/api/budgets").json()
    assert budgets["budget_policy"] in ("pro_rata", "ranked") and all(b["is_budget"] for b in budgets["budgets"])
    assert {"lz2026q3_budget", "gx2025h2_budget"} <= {b["name"] for b in budgets["budgets"]}


def _active(web):
    return web.client("admin").get("/api/parameters").json()["active_set"]


def test_parameter_changes_admin_only_validated_and_recorded(web):
    before = _active(web)
    set_id = before["id"]
    body = {"values": {**before["values"], "lz2026q3_budget": "3000000"}, "comment": "测试预算"}
    for who in ("liunan", "qiye"):
        c = web.client(who)
        chinese_error(c.put(f"/api/parameter-sets/{set_id}", json=body, headers=c.csrf), 403)
        chinese_error(c.post("/api/parameter-sets", json={**body, "name": "越权方案"}, headers=c.csrf), 403)
    assert _active(web) == before

    a = web.client("admin")
    bad = [{"gx2023_01_rate": "0.02"}, {"gx2023_01_rate": "百分之一"}, {"nosuch": "1"},
           {"lz2026q3_budget": "100.001"}, {"lz2026q3_budget": "-5"}]
    for values in bad:
        chinese_error(a.put(f"/api/parameter-sets/{set_id}", json={"values": values}, headers=a.csrf), 422)
    chinese_error(a.put(f"/api/parameter-sets/{set_id}", json={"values": {}, "budget_policy": "random"},
                        headers=a.csrf), 422)
    chinese_error(a.put("/api/parameter-sets/9999", json={"values": {}}, headers=a.csrf), 404)
    assert _active(web) == before

    r = a.put(f"/api/parameter-sets/{set_id}", json=body, headers=a.csrf)
    assert r.status_code == 200, r.text
    after = r.json()
    assert after["version"] == before["version"] + 1 and after["values"]["lz2026q3_budget"] == "3000000"
    last = after["history"][0]
    assert last["comment"] == "测试预算" and last["by"] == "admin"
    assert {"name": "lz2026q3_budget", "label": last["changes"][0]["label"], "old": None, "new": "3000000"} in \
        last["changes"]
    audit = a.get("/api/audit", params={"action": "参数变更"}).json()
    assert audit and audit[0]["detail"]["changes"]

    r = a.post("/api/parameter-sets", json={"name": "测算方案", "values": {"gx2023_01_rate": "0.005"}},
               headers=a.csrf)
    assert r.status_code == 201 and not r.json()["active"]
    chinese_error(a.post("/api/parameter-sets", json={"name": "测算方案", "values": {}}, headers=a.csrf), 409)
    assert any(s["name"] == "测算方案" for s in a.get("/api/parameter-sets").json())
    # restore
    a.put(f"/api/parameter-sets/{set_id}", json={"values": before["values"], "comment": "恢复"}, headers=a.csrf)


# ---------------------------------------------------------------------------------------------- screening
@pytest.fixture(scope="module")
def job(web):
    return web.screening(web.client("liunan"))


def test_screening_job_and_scoped_results(web, job):
    assert job["percent"] == 100 and job["run_id"] and job["manifest"]["period"] == "2024Q4"
    officer = web.client("liunan").get(f"/api/screenings/{job['id']}/results", params={"page_size": 500}).json()
    assert officer["total"] > 0 and {r["county_code"] for r in officer["rows"]} == {DEMO_COUNTY}
    admin = web.client("admin").get(f"/api/screenings/{job['id']}/results", params={"page_size": 500}).json()
    assert admin["total"] > officer["total"]
    assert len({r["county_code"] for r in admin["rows"]}) > 1
    ent = web.client("qiye").get(f"/api/screenings/{job['id']}/results").json()
    assert {r["credit_code"] for r in ent["rows"]} <= {web.own}
    other = web.client("officer2").get(f"/api/screenings/{job['id']}/results", params={"page_size": 500}).json()
    assert {r["county_code"] for r in other["rows"]} <= {web.other_county}
    # pagination and order: amounts descending, exact strings
    p1 = web.client("admin").get(f"/api/screenings/{job['id']}/results", params={"page_size": 10}).json()
    p2 = web.client("admin").get(f"/api/screenings/{job['id']}/results",
                                 params={"page_size": 10, "page": 2}).json()
    amounts = [Decimal(r["final_yuan"] or "0") for r in p1["rows"] + p2["rows"]]
    assert amounts == sorted(amounts, reverse=True)
    assert not {r["entity_id"] + r["measure_id"] for r in p1["rows"]} & {r["entity_id"] + r["measure_id"] for r in p2["rows"]}
    by_measure = web.client("admin").get(f"/api/screenings/{job['id']}/results",
                                         params={"measure": "gx2024q4-21"}).json()
    assert all(r["measure_id"] == "gx2024q4-21" for r in by_measure["rows"])
    a = web.client("admin")
    chinese_error(a.get(f"/api/screenings/{job['id']}/results", params={"sort": "password"}), 422)
    chinese_error(a.get(f"/api/screenings/{job['id']}/results", params={"status": "不符合"}), 422)
    chinese_error(a.get("/api/screenings/nosuchjob/results"), 404)
    chinese_error(web.client("liunan").get(f"/api/screenings/{job['id']}/results",
                                           params={"county": web.other_county}), 403)


def test_screening_summary_and_exports(web, job):
    jid = job["id"]
    s = web.client("liunan").get(f"/api/screenings/{jid}/summary").json()
    assert [x["key"] for x in s["by_county"]] in ([DEMO_COUNTY], [])
    total = sum(Decimal(x["amount_wan"]) for x in s["by_measure"])
    assert abs(total - Decimal(s["paid_total_wan"])) <= Decimal("0.01") * len(s["by_measure"])
    xlsx = web.client("liunan").get(f"/api/screenings/{jid}/export.xlsx")
    assert xlsx.status_code == 200 and xlsx.headers["content-type"].startswith("application/vnd.openxml")
    wb = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert "汇总" in wb.sheetnames and "待补充信息" in wb.sheetnames
    listed = [ws for ws in wb.worksheets[1:] if ws.title != "待补充信息"]  # that one counts; the others list enterprises
    codes = {str(row[2]) for ws in listed for row in ws.iter_rows(min_row=4, values_only=True)
             if row[2] and len(str(row[2])) == 18}
    assert codes and {web.state.county_of.get(c) for c in codes} == {DEMO_COUNTY}
    full = web.client("admin").get(f"/api/screenings/{jid}/export.xlsx")
    assert full.status_code == 200 and len(full.content) > len(xlsx.content)
    chinese_error(web.client("qiye").get(f"/api/screenings/{jid}/export.xlsx"), 403)
    csv = web.client("liunan").get(f"/api/screenings/{jid}/export.csv")
    frame = pl.read_csv(io.BytesIO(csv.content.removeprefix(b"\xef\xbb\xbf")), infer_schema=False)
    assert set(frame["county_code"].unique().to_list()) == {DEMO_COUNTY} and "final_yuan" in frame.columns


def test_screening_permissions_and_bad_input(web, job):
    for who in ("qiye",):
        c = web.client(who)
        chinese_error(c.post("/api/screenings", json={"period": "2024Q4"}, headers=c.csrf), 403)
    c = web.client("liunan")
    chinese_error(c.post("/api/screenings", json={"period": "2024年四季度"}, headers=c.csrf), 422)
    chinese_error(c.post("/api/screenings", json={"period": "2024"}, headers=c.csrf), 422)
    chinese_error(c.post("/api/screenings", json={"period": "2024Q4", "measures": ["nosuch"]}, headers=c.csrf), 422)
    chinese_error(c.post("/api/screenings", json={"period": "2024Q4", "budget_policy": "lottery"}, headers=c.csrf), 422)
    chinese_error(c.post("/api/screenings", json={"period": "2024Q4", "parameter_set_id": 999}, headers=c.csrf), 404)
    chinese_error(c.post("/api/screenings", json={"period": "2024Q4"}), 403)  # no CSRF
    jobs = web.client("admin").get("/api/screenings").json()
    assert all(j["status"] in ("已完成", "失败") for j in jobs)


def test_approval(web, job):
    jid = job["id"]
    q = web.client("qiye")
    chinese_error(q.post(f"/api/screenings/{jid}/approve", json={}, headers=q.csrf), 403)
    o2 = web.client("officer2")
    chinese_error(o2.post(f"/api/screenings/{jid}/approve", json={"scope": DEMO_COUNTY}, headers=o2.csrf), 403)
    assert not web.client("admin").get(f"/api/screenings/{jid}").json()["approvals"]
    o = web.client("liunan")
    r = o.post(f"/api/screenings/{jid}/approve", json={"note": "已核对"}, headers=o.csrf)
    assert r.status_code == 200 and r.json()["approvals"][0]["scope"] == DEMO_COUNTY
    chinese_error(o.post(f"/api/screenings/{jid}/approve", json={}, headers=o.csrf), 409)
    a = web.client("admin")
    chinese_error(a.post(f"/api/screenings/{jid}/approve", json={"scope": "999999"}, headers=a.csrf), 422)
    assert a.post(f"/api/screenings/{jid}/approve", json={}, headers=a.csrf).json()["approvals"][-1]["scope"] == "all"
    actions = [e["action"] for e in a.get("/api/audit").json()]
    assert "审核" in actions and "筛查" in actions and "筛查完成" in actions


# ------------------------------------------------------------------------------------------------- import
def _import_files(tmp_path, county: str, n: int = 2, seed: int = 11):
    rng = random.Random(seed)
    codes = [make_code(rng, county) for _ in range(n)]
    ent = tmp_path / "企业.csv"
    ent.write_text("统一社会信用代码,企业名称,县区代码,行业代码,行业\n" + "".join(
        f"{c},柳州测试{i}机械有限公司,{county},3421,机械\n" for i, c in enumerate(codes)), encoding="utf-8")
    ind = tmp_path / "指标.csv"
    ind.write_text("统一社会信用代码,期间,工业总产值（万元）,主营业务收入（万元）\n" + "".join(
        f"{c},2024Q4,{600 + i},{580 + i}\n{c},2023Q4,500,480\n" for i, c in enumerate(codes)), encoding="utf-8")
    return codes, [ent, ind]


def _upload(client, paths, **data):
    files = [("files", (p.name, p.read_bytes(), "text/csv")) for p in paths]
    return client.post("/api/imports", files=files, data=data, headers=client.csrf)


def test_import_good_bad_and_scoped(web, tmp_path):
    o = web.client("liunan")
    before = web.state.enterprises.height
    # a file with errors: nothing is written, problems by row and column
    bad = tmp_path / "企业名录.csv"
    bad.write_text("统一社会信用代码,企业名称,县区代码,行业代码\n123,坏企业,450204,3421\n", encoding="utf-8")
    r = _upload(o, [bad])
    detail = chinese_error(r, 422)
    assert "未写入" in detail and r.json()["error"]["fields"][0]["row"] == 2
    assert web.state.enterprises.height == before
    # another county's rows: refused for a county officer, nothing written
    (tmp_path / "o").mkdir()
    _, other = _import_files(tmp_path / "o", web.other_county)
    chinese_error(_upload(o, other), 403)
    assert web.state.enterprises.height == before
    # wrong type, no file, bad unit
    xls = tmp_path / "data.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0")
    chinese_error(_upload(o, [xls]), 422)
    chinese_error(o.post("/api/imports", data={}, headers=o.csrf), 422)
    (tmp_path / "g").mkdir()
    codes, good = _import_files(tmp_path / "g", DEMO_COUNTY)
    chinese_error(_upload(o, good, money_unit="美元"), 422)
    # enterprise users may not import
    q = web.client("qiye")
    chinese_error(_upload(q, good), 403)
    assert web.state.enterprises.height == before
    # the good files: written, visible to the county officer, and screened from then on
    r = _upload(o, good)
    assert r.status_code == 200 and r.json()["ok"], r.text
    assert r.json()["rows"] == {"enterprises": 2, "indicators": 8}
    assert web.state.enterprises.height == before + 2
    facts = o.get(f"/api/enterprises/{codes[0]}/facts", params={"period": "2024Q4"}).json()["facts"]
    assert Decimal(facts["output_q"]) == Decimal("6000000") and Decimal(facts["output_q_ly"]) == Decimal("5000000")
    again = _upload(o, good).json()
    assert again["ok"] and not any(again["written"].values())  # importing twice changes nothing
    # persisted in the database: a restart sees the imported rows
    assert web.state.store.count("enterprises") >= 2


# ---------------------------------------------------------------------------------------- admin-only reads
def test_audit_and_users_admin_only(web):
    for who in ("liunan", "qiye", "officer2"):
        c = web.client(who)
        chinese_error(c.get("/api/audit"), 403)
        chinese_error(c.get("/api/users"), 403)
        chinese_error(c.post("/api/users", json={"username": "x1", "password": "0123456789", "role": "admin"},
                             headers=c.csrf), 403)
    chinese_error(web.client().get("/api/audit"), 401)
    a = web.client("admin")
    assert any(e["action"] == "登录" for e in a.get("/api/audit").json())
    users = {u["username"]: u for u in a.get("/api/users").json()}
    assert users["liunan"]["county_code"] == DEMO_COUNTY and users["qiye"]["credit_code"] == web.own
    chinese_error(a.post("/api/users", json={"username": "x2", "password": "short", "role": "officer",
                                             "county_code": DEMO_COUNTY}, headers=a.csrf), 422)
    chinese_error(a.post("/api/users", json={"username": "x3", "password": "0123456789", "role": "officer",
                                             "county_code": "999999"}, headers=a.csrf), 422)
    chinese_error(a.post("/api/users", json={"username": "x4", "password": "0123456789", "role": "enterprise",
                                             "credit_code": "91450204MA0000000X"}, headers=a.csrf), 422)
    chinese_error(a.post("/api/users", json={"username": "x5", "password": "0123456789", "role": "root"},
                         headers=a.csrf), 422)
    chinese_error(a.post("/api/users", json={"username": "liunan", "password": "0123456789", "role": "officer",
                                             "county_code": DEMO_COUNTY}, headers=a.csrf), 409)
    assert len(a.get("/api/users").json()) == len(users)
    r = a.post("/api/users", json={"username": "new_officer", "password": "0123456789", "role": "officer",
                                   "county_code": web.other_county}, headers=a.csrf)
    assert r.status_code == 201


def test_openapi_and_docs_are_local(web):
    c = web.client()
    spec = c.get("/api/openapi.json").json()
    assert "/api/check" in spec["paths"] and "/api/screenings/{job_id}/results" in spec["paths"]
    html = c.get("/api/docs").text
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html and "cdn" not in html.lower()


# ----------------------------------------------------------------------------------- bad input (issue 8, INPUT)
@pytest.mark.parametrize("facts", [
    {"当季工业总产值（万元）": "-5"}, {"output_q": "99999999999999999999999"}, {"output_q": "92233720368547758"},
    {"output_q": 1e308}, {"output_q": "1e308"}, {"output_q": "inf"}, {"output_q": "NaN"}, {"output_q": "0.001"},
    {"output_q": "1\u0000"}, {"当季用电量": -1}, {"output_q": str(2**63)}])
def test_check_api_bad_number_is_chinese_422_not_500(web, facts):
    """Negative, huge, 1e308, inf, NaN, finer than 分 and NUL facts: a Chinese message naming the field."""
    c = web.client("admin")
    detail = chinese_error(c.post("/api/check", json={"period": "2024Q4", "facts": facts}, headers=c.csrf), 422)
    assert "当季" in detail and "output_q" not in detail


@pytest.mark.parametrize("url", ["/api/audit?offset=99999999999999999999999", "/api/audit?offset=9223372036854775808",
                                 "/api/enterprises?offset=99999999999999999999999",
                                 "/admin/audit?page=99999999999999999999999", "/admin/audit?page=-1"])
def test_huge_page_or_offset_is_a_chinese_4xx_not_500(web, url):
    c = web.client("admin")
    r = c.get(url, headers={"accept": "application/json"})
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    assert CJK.search(r.text)


@pytest.mark.parametrize("value", ["-5", "1e308", "99999999999999999999999", "inf", "1\u0000"])
def test_calculator_form_bad_number_is_chinese_not_500(web, value):
    """The web form (POST /calculator/check) goes through the same bounds as the API and the importer."""
    c = web.client("admin")
    r = c.post("/calculator/check", data={"period": "2024Q4", "f.output_q": value}, headers=c.csrf)
    assert r.status_code == 422, (r.status_code, r.text[:300])
    assert "当季工业总产值" in r.text
