"""The typed API (issue 11 item 4): every /api operation declares a response model (or its download media type)
and the one error body; every error the server sends is that body; docs/api.md shows what the server sends.
The same contract against the running server, with generated requests: test_openapi_contract.py."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from huiqi.interfaces.web.schemas import CheckOut, ErrorBody

CJK = re.compile(r"[\u4e00-\u9fff]")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def error_of(r, status: int) -> dict:
    """The one error body, with a Chinese message; returns its inner object."""
    assert r.status_code == status, (r.status_code, r.text[:500])
    assert r.headers["content-type"].startswith("application/json"), r.headers["content-type"]
    ErrorBody.model_validate(r.json())
    body = r.json()
    assert set(body) == {"error"} and CJK.search(body["error"]["message"]), r.text
    return body["error"]


@pytest.fixture(scope="module")
def sqlite_web(demo_dir, tmp_path_factory):
    from tests.web.conftest import sqlite_web  # noqa: PLC0415 - the same app as every web test, on SQLite only

    with sqlite_web(demo_dir, tmp_path_factory, "schemas") as w:
        yield w


def test_every_api_operation_declares_a_response_model_or_media_type(sqlite_web):
    """Issue 11: '0 of 40 API operations declare a response model' — every 2xx is a named model (or a list of
    one), or a download with its own media type."""
    spec = sqlite_web.app.openapi()
    ops = [(m.upper(), p, op) for p, ops in spec["paths"].items() if p.startswith("/api") for m, op in ops.items()]
    assert len(ops) >= 54
    missing = []
    for method, path, op in ops:
        ok = next(v for k, v in op["responses"].items() if k.startswith("2"))
        content = ok.get("content", {})
        if "application/json" in content:
            schema = content["application/json"]["schema"]
            if "$ref" not in schema and "$ref" not in schema.get("items", {}):
                missing.append(f"{method} {path}")
        elif not content:
            missing.append(f"{method} {path}")
    assert not missing, missing


def test_every_api_operation_declares_the_error_body_for_its_error_statuses(sqlite_web):
    spec = sqlite_web.app.openapi()
    for path, ops in spec["paths"].items():
        if not path.startswith("/api"):
            continue
        for method, op in ops.items():
            for status in ("400", "401", "403", "404", "409", "410", "422", "500"):
                ref = op["responses"][status]["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorBody"), (method, path, status)
            assert "HTTPValidationError" not in json.dumps(op)  # FastAPI's own 422 shape is not what we send
    assert spec["paths"]["/api/imports"]["post"]["responses"]["413"]
    assert spec["paths"]["/api/login"]["post"]["responses"]["429"]
    assert "application/json" not in spec["paths"]["/api/calendar.ics"]["get"]["responses"]["200"]["content"]


def test_documented_error_examples_are_what_the_server_sends(sqlite_web):
    """Issue 11: 'the documented 422 body is not what the server sends' — docs/api.md's examples are sent here."""
    text = DOCS.read_text(encoding="utf-8")
    examples = re.findall(r"<!-- response: (\w+) (\S+)(?: ([^\n]*?))? -->\n```json\n(.*?)\n```", text, re.S)
    assert len(examples) >= 4
    c = sqlite_web.client()
    for method, path, body, documented in examples:
        r = c.request(method, path, json=json.loads(body) if body else None, headers=c.csrf)
        assert r.json() == json.loads(documented), (method, path, r.text)
        ErrorBody.model_validate(r.json())


def test_error_body_for_every_kind_of_error(sqlite_web, tmp_path):
    w = sqlite_web
    anon = w.client()
    # RequestValidationError: each field with its Chinese reason
    e = error_of(anon.post("/api/check", json={"period": 5, "facts": []}, headers=anon.csrf), 422)
    assert e["code"] == "invalid_request"
    assert {f["field"] for f in e["fields"]} == {"period", "facts"}
    assert all(CJK.search(f["message"]) for f in e["fields"])
    # WebError 404 and Starlette's 404 for an unknown path
    assert error_of(anon.get("/api/documents/nosuch"), 404)["code"] == "not_found"
    assert error_of(anon.get("/api/no/such/thing"), 404)["message"] == "页面或资源不存在"
    # 405
    assert error_of(anon.delete("/api/documents"), 405)["code"] == "method_not_allowed"
    # 401 and 403 (no login; CSRF; another county's scope)
    assert error_of(anon.get("/api/enterprises"), 401)["code"] == "unauthenticated"
    assert error_of(anon.post("/api/check", json={"period": "2024Q4"}), 403)["code"] == "forbidden"
    officer = w.client("liunan")
    assert error_of(officer.get("/api/enterprises", params={"county": w.other_county}), 403)["code"] == "forbidden"
    # 401 from a wrong password, and a parameter refused with the parameter as the field
    e = error_of(anon.post("/api/login", json={"username": "admin", "password": "wrong"}, headers=anon.csrf), 401)
    assert e["message"] == "用户名或密码不正确"
    admin = w.client("admin")
    e = error_of(admin.post("/api/parameter-sets", json={"values": {"gx2023_01_rate": "0.5"}}, headers=admin.csrf),
                 422)
    assert [f["field"] for f in e["fields"]] == ["gx2023_01_rate"] and CJK.search(e["fields"][0]["message"])


def test_import_problems_are_error_fields_with_file_row_and_column(sqlite_web, tmp_path):
    o = sqlite_web.client("liunan")
    bad = tmp_path / "企业名录.csv"
    bad.write_text("统一社会信用代码,企业名称,县区代码,行业代码\n123,坏企业,450204,3421\n", encoding="utf-8")
    r = o.post("/api/imports", files=[("files", (bad.name, bad.read_bytes(), "text/csv"))], headers=o.csrf)
    e = error_of(r, 422)
    assert "未写入" in e["message"]
    first = e["fields"][0]
    assert first["file"] == "企业名录.csv" and first["row"] == 2 and first["column"]
    assert first["field"].startswith("企业名录.csv") and "第2行" in first["field"] and CJK.search(first["message"])


def test_unparsable_body_is_a_documented_chinese_400_not_an_english_one(sqlite_web):
    """schemathesis: a body that is not UTF-8 got FastAPI's undocumented 400 "There was an error parsing the body"."""
    c = sqlite_web.client("admin")
    r = c.put("/api/parameter-sets/1", content=b"\x81\xfe", headers={**c.csrf, "Content-Type": "application/json"})
    e = error_of(r, 400)
    assert e["code"] == "bad_request" and "parsing" not in e["message"]
    e = error_of(c.put("/api/parameter-sets/1", content=b"{", headers={**c.csrf, "Content-Type": "application/json"}),
                 422)
    assert e["fields"] == [{"field": "body", "message": "不是有效的 JSON"}] and "请求体" in e["message"]
    assert "400" in sqlite_web.app.openapi()["paths"]["/api/parameter-sets/{set_id}"]["put"]["responses"]


@pytest.mark.parametrize("path", ["/api/rules?period=%C2%81v", "/api/fields?period=2024%E5%B9%B4"])
def test_rules_and_fields_with_a_malformed_period_are_chinese_422_not_500(sqlite_web, path):
    """schemathesis: GET /api/rules?period=<not a period> raised PeriodError inside the handler (500)."""
    c = TestClient(sqlite_web.app, raise_server_exceptions=False)
    e = error_of(c.get(path), 422)
    assert "期间" in e["message"]


def test_unexpected_exception_is_the_error_body_500_without_internals(sqlite_web, monkeypatch):
    def boom(*_a, **_k):
        raise RuntimeError("/secret/path SELECT * FROM users")

    c = sqlite_web.client("admin")
    c._transport.raise_server_exceptions = False  # see the response a caller gets, not the exception
    monkeypatch.setattr(type(sqlite_web.state), "active_set", boom)
    r = c.get("/api/budgets")
    e = error_of(r, 500)
    assert e["code"] == "internal_error" and "secret" not in r.text and "SELECT" not in r.text


def test_pages_keep_their_chinese_error_pages(sqlite_web):
    c = sqlite_web.client()
    r = c.get("/policies/nosuch")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert CJK.search(r.text) and not r.text.lstrip().startswith("{")
    r = c.get("/workbench", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_check_summary_total_has_two_decimals_and_fen(sqlite_web):
    """The calculator's summary total was str(Decimal): "0" or "898.6" where every other 元 has two decimals."""
    c = sqlite_web.client()
    r = c.post("/api/check", json={"period": "2024Q4", "facts": {}}, headers=c.csrf)
    body = CheckOut.model_validate(r.json())
    assert r.json()["summary"]["total_yuan"] == "0.00" and body.summary.total_fen == 0
    facts = {"is_industrial": True, "promo_event_held_q": True, "output_q": "6000000", "output_q_ly": "5000000",
             "promo_event_cost_q": "123456.70"}
    r = c.post("/api/check", json={"period": "2024Q4", "facts": facts}, headers=c.csrf)
    res = next(x for x in r.json()["results"] if x["measure_id"] == "gx2024q4-21")
    assert res["status"] == "符合" and res["amount_fen"] == 6172835 and res["amount_yuan"] == "61728.35"
    total = r.json()["summary"]
    assert total["total_yuan"] == f"{total['total_fen'] // 100}.{total['total_fen'] % 100:02d}"


def test_screening_rows_and_summary_carry_fen(sqlite_web):
    a = sqlite_web.client("admin")
    job = sqlite_web.screening(a)
    page = a.get(f"/api/screenings/{job['id']}/results", params={"page_size": 5}).json()
    assert isinstance(page["paid_total_fen"], int)
    for row in page["rows"]:
        if row["final_fen"] is not None:
            assert row["final_yuan"] == f"{row['final_fen'] // 100}.{row['final_fen'] % 100:02d}"
    summary = a.get(f"/api/screenings/{job['id']}/summary").json()
    assert summary["paid_total_fen"] == page["paid_total_fen"]
    assert sum(g["amount_fen"] for g in summary["by_measure"]) == summary["paid_total_fen"]


@pytest.mark.parametrize("method,path", [
    ("GET", "/api/parameter-sets/351920603642093713227776"), ("GET", "/api/gongshi/351920603642093713227776"),
    ("GET", "/api/payout/lists/351920603642093713227776"),
    ("POST", "/api/payout/lists/7585745645908208075020427067392/approve"),
    ("POST", "/api/payout/rows/99999999999999999999/exclude")])
def test_database_ids_beyond_integer_range_are_422_not_500(sqlite_web, method, path):
    """schemathesis: a path ID beyond 64 bits overflowed SQLite inside the handler (500)."""
    c = sqlite_web.client("admin")
    c._transport.raise_server_exceptions = False
    body = {"reason": "测试"} if path.endswith("exclude") else ({} if method == "POST" else None)
    e = error_of(c.request(method, path, json=body, headers=c.csrf), 422)
    assert e["fields"] and e["fields"][0]["message"].startswith("数值过大")


def test_screening_with_a_parameter_set_id_beyond_integer_range_is_422(sqlite_web):
    c = sqlite_web.client("admin")
    e = error_of(c.post("/api/screenings", json={"period": "2024Q4", "parameter_set_id": 2**70}, headers=c.csrf), 422)
    assert e["fields"][0]["field"] == "parameter_set_id"


def test_payout_list_times_carry_their_utc_offset(sqlite_web):
    """schemathesis: on SQLite /api/payout/lists gave "2026-12-01T06:16:33.465394" — no offset, not an RFC 3339
    date-time (the stored value is UTC; SQLite drops the zone)."""
    o = sqlite_web.client("liunan")
    job = sqlite_web.screening(o)
    r = o.post(f"/workbench/jobs/{job['id']}/payout", data={"county": ""}, headers=o.csrf, follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    lists = o.get("/api/payout/lists").json()
    assert lists
    for lst in lists:
        at = datetime.fromisoformat(lst["created_at"].replace("Z", "+00:00"))
        assert at.utcoffset() == timedelta(0), lst["created_at"]
    detail = o.get(f"/api/payout/lists/{lists[0]['id']}").json()
    assert detail["rows"] and all(isinstance(row["amount_yuan"], str) for row in detail["rows"])


def test_a_service_bounds_refusal_is_a_chinese_422_not_500(sqlite_web):
    """schemathesis: POST /api/payout/rows/{id}/decision with a control character (U+0096) in the reason raised
    core.bounds.OutOfBounds inside the payout service, which nothing turned into a refusal (500)."""
    q = sqlite_web.client("qiye")
    q._transport.raise_server_exceptions = False
    r = q.post("/api/payout/rows/9781727/decision", json={"decision": "放弃", "reason": "îÛ\u0096lb"}, headers=q.csrf)
    e = error_of(r, 422)
    assert "控制字符" in e["message"] and e["code"] == "invalid_request"
