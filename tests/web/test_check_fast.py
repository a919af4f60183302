"""CALC2-2: POST /api/check's fast path (web/check_fast.py) answers every request exactly as the FastAPI route:
status, headers and bytes, for valid checks and for every kind of refusal it hands to the framework."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huiqi.interfaces.web import check_fast
from huiqi.interfaces.web.checking import stored_facts

PERIOD = "2024Q4"


@pytest.fixture(scope="module")
def web(demo_dir, tmp_path_factory):
    from tests.web.conftest import sqlite_web  # noqa: PLC0415 - the same app as every web test, on SQLite only

    with sqlite_web(demo_dir, tmp_path_factory, "fastcheck") as w:
        yield w


def both(client, monkeypatch, **kwargs):
    """(fast path, framework) responses to the same request, as (status, headers, body)."""
    out = []
    for enabled in (True, False):
        monkeypatch.setattr(check_fast, "ENABLED", enabled)
        r = client.post("/api/check", **kwargs)
        out.append((r.status_code, sorted(r.headers.items()), r.content))
    return out


def test_valid_checks_equal_the_framework_route(web, monkeypatch):
    c = web.client()
    codes = web.state.enterprises["credit_code"].to_list()[:40]
    for i, code in enumerate(codes):
        facts = {k: str(v) for k, v in stored_facts(web.state, code, PERIOD).items()}
        facts["output_q"] = f"{i}.01"  # not cached: each computed on both paths
        fast, framework = both(c, monkeypatch, json={"period": PERIOD, "facts": facts}, headers=c.csrf)
        assert fast[0] == 200 and fast == framework
    for body in ({"period": PERIOD}, {"period": "2024q4", "entity": "enterprise", "facts": {"output_q": "1"}},
                 {"period": PERIOD, "facts": {"当季工业总产值（万元）": "898.61497"}, "params": {}}):
        fast, framework = both(c, monkeypatch, json=body, headers=c.csrf)
        assert fast == framework


def test_logged_in_and_charset_equal(web, monkeypatch):
    c = web.client("officer2")
    body = json.dumps({"period": PERIOD, "facts": {"output_q": "3.5"}}).encode()
    for ctype in ("application/json", "application/json; charset=utf-8", "Application/JSON"):
        fast, framework = both(c, monkeypatch, content=body, headers={**c.csrf, "Content-Type": ctype})
        assert fast[0] == 200 and fast == framework


REFUSED = [
    ({"period": "2024Q5", "facts": {}}, None),  # a refused period (422 in Chinese)
    ({"period": PERIOD, "facts": {"output_q": "abc"}}, None),  # a refused amount
    ({"period": PERIOD, "facts": {"没有这个字段": "1"}}, None),  # an unknown field
    ({"period": PERIOD, "facts": {}, "extra": 1}, None),  # extra="forbid"
    ({"period": "2024Q4xxxxx", "facts": {}}, None),  # max_length
    ({"period": PERIOD, "entity": "alien"}, None),
    ({"period": PERIOD, "facts": {}, "params": {"no_such_param": "1"}}, None),
    ({"facts": {}}, None),  # period missing
    ([1, 2], None), ("text", None), (None, None),
    ({"period": PERIOD, "facts": {"x": float("nan")}}, None),
]


@pytest.mark.parametrize("body,_", REFUSED)
def test_refusals_equal_the_framework_route(web, monkeypatch, body, _):
    c = web.client()
    fast, framework = both(c, monkeypatch, content=json.dumps(body).encode(),
                           headers={**c.csrf, "Content-Type": "application/json"})
    assert fast[0] != 200 and fast == framework


@pytest.mark.parametrize("content,headers", [
    (b"{not json", {"Content-Type": "application/json"}),
    (b"", {"Content-Type": "application/json"}),
    (b'{"period": "2024Q4"}', {"Content-Type": "text/plain"}),
    (b'{"period": "2024Q4"}', {}),
    (b'{"period": "2024Q4"}', {"Content-Type": "application/x-www-form-urlencoded"}),
    (b"period=2024Q4", {"Content-Type": "application/x-www-form-urlencoded"}),
])
def test_unusual_bodies_equal_the_framework_route(web, monkeypatch, content, headers):
    c = web.client()
    fast, framework = both(c, monkeypatch, content=content, headers={**c.csrf, **headers})
    assert fast == framework


def test_csrf_refusals_equal_the_framework_route(web, monkeypatch):
    c = web.client("admin")
    body = {"period": PERIOD, "facts": {"output_q": "1"}}
    for headers in ({}, {"X-CSRF-Token": "wrong"}, {"X-CSRF-Token": ""}):
        fast, framework = both(c, monkeypatch, json=body, headers=headers)
        assert fast[0] == 403 and fast == framework
    anonymous = web.client()
    anonymous.cookies.clear()
    fast, framework = both(anonymous, monkeypatch, json=body, headers={"X-CSRF-Token": "x"})
    assert fast[0] == 403 and fast == framework


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(facts=st.dictionaries(st.sampled_from(["output_q", "当季工业总产值（万元）", "employees", "revenue_y", "bad key"]),
                             st.one_of(st.text(max_size=8), st.integers(-10**20, 10**20), st.none(), st.booleans(),
                                       st.floats(allow_nan=False, allow_infinity=False)), max_size=4))
def test_drawn_facts_equal_the_framework_route(web, monkeypatch, facts):
    c = web.client()
    fast, framework = both(c, monkeypatch, json={"period": PERIOD, "facts": facts}, headers=c.csrf)
    assert fast == framework


def test_other_paths_and_methods_are_not_taken(web, monkeypatch):
    c = web.client()
    for method, path in (("GET", "/api/check"), ("POST", "/api/check/"), ("PUT", "/api/check")):
        got = []
        for enabled in (True, False):
            monkeypatch.setattr(check_fast, "ENABLED", enabled)
            r = c.request(method, path, json={"period": PERIOD}, headers=c.csrf)
            got.append((r.status_code, r.content))
        assert got[0] == got[1]


def test_the_fast_path_answers_valid_checks_itself(web, monkeypatch):
    answered = []
    real = check_fast._answer

    async def spy(scope, body, *route):
        got = await real(scope, body, *route)
        answered.append(got is not None)
        return got

    monkeypatch.setattr(check_fast, "_answer", spy)
    monkeypatch.setattr(check_fast, "ENABLED", True)
    c = web.client()
    assert c.post("/api/check", json={"period": PERIOD, "facts": {"output_q": "7.01"}}, headers=c.csrf).status_code == 200
    assert c.post("/api/check", json={"period": PERIOD, "facts": {"output_q": "x"}}, headers=c.csrf).status_code == 422
    assert c.post("/api/check", json={"period": PERIOD}, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    assert answered == [True, False, False]  # the refusals were the framework's
