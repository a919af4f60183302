"""The calculator and search under load (docs/decisions.md WEB): what was made cheaper per request answers exactly
as before — the assembled check JSON, the routes tried first, the row indexes, the cache key — and a cached
session still ends when it should."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huiqi.interfaces.web import api, auth
from huiqi.interfaces.web.checking import engine_params, stored_facts
from huiqi.interfaces.web.presenters import check_json, check_payload, json_bytes
from huiqi.services.calculator import CheckRequest, check, check_many

PERIOD = "2024Q4"


@pytest.fixture(scope="module")
def web(demo_dir, tmp_path_factory):
    from tests.web.conftest import sqlite_web  # noqa: PLC0415 - the same app as every web test, on SQLite only

    with sqlite_web(demo_dir, tmp_path_factory, "hot") as w:
        yield w


def answers(state, facts_list, period=PERIOD):
    params = engine_params(state, None)
    requests = [CheckRequest(f, period, "enterprise", params) for f in facts_list]
    return check_many(requests, state.ruleset, state.library)


def old_bytes(results, period=PERIOD, credit_code=None) -> bytes:
    """The bytes the endpoints sent before (one dict, then json_bytes)."""
    payload = check_payload(results, period, "enterprise")
    if credit_code is not None:
        payload = {**payload, "credit_code": credit_code}
    return json_bytes(payload)


# ------------------------------------------------------------------------------------- the assembled JSON
def test_check_json_equals_the_old_bytes_for_every_demo_enterprise(web):
    state = web.state
    codes = state.enterprises["credit_code"].to_list()
    facts = [stored_facts(state, c, PERIOD) for c in codes if state.facts_row(c, PERIOD) is not None]
    assert len(facts) > 1000
    for _round in range(2):  # the second round: every result a memo hit, every JSON remembered
        for code, results in zip(codes, answers(state, facts)):
            assert check_json(results, PERIOD, "enterprise") == old_bytes(results)
            assert check_json(results, PERIOD, "enterprise", code) == old_bytes(results, credit_code=code)


def test_an_altered_copy_is_serialised_afresh(web):
    facts = stored_facts(web.state, web.own, PERIOD)
    results = answers(web.state, [facts, facts])
    check_json(results[0], PERIOD, "enterprise")  # remembered
    altered = [replace(r, explanation=r.explanation + "（改）") if i == 0 else r for i, r in enumerate(results[1])]
    altered[1].status = "变了"  # a copy's own field replaced: its values are no longer the remembered ones
    assert check_json(altered, PERIOD, "enterprise") == old_bytes(altered)
    assert b"\xef\xbc\x88\xe6\x94\xb9\xef\xbc\x89" in check_json(altered, PERIOD, "enterprise")  # （改）


def nearby_facts(data, base: dict) -> dict:
    """A drawn subset of an enterprise's facts (the rest missing), each number kept or replaced by one nearby, to the
    分 (missing, zero and the thresholds' neighbourhoods all occur)."""
    facts = {}
    for name in data.draw(st.lists(st.sampled_from(sorted(base)), unique=True, max_size=len(base))):
        value = base[name]
        if isinstance(value, bool) or not hasattr(value, "as_integer_ratio"):
            facts[name] = value
        else:
            facts[name] = str(data.draw(st.integers(-1, 10**11)) / 100 if data.draw(st.booleans()) else value)
    return facts


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_check_json_equals_the_old_bytes_for_varied_facts(web, data):
    facts = nearby_facts(data, stored_facts(web.state, web.own, PERIOD))
    try:
        results = answers(web.state, [facts])[0]
    except ValueError:
        return
    if isinstance(results, Exception):
        return
    assert check_json(results, PERIOD, "enterprise") == old_bytes(results)


def test_served_checks_are_the_old_bytes(web):
    """Over HTTP: POST /api/check and GET /api/enterprises/{code}/check, twice (the second from the cache)."""
    c = web.client("admin")
    state = web.state
    for code in state.enterprises["credit_code"].to_list()[:25]:
        facts = {k: (str(v) if not isinstance(v, bool) else v) for k, v in stored_facts(state, code, PERIOD).items()}
        for _ in range(2):
            got = c.post("/api/check", json={"period": PERIOD, "facts": facts}, headers=c.csrf)
            assert got.status_code == 200
            assert got.content == old_bytes(answers(state, [facts])[0])
            stored = c.get(f"/api/enterprises/{code}/check", params={"period": PERIOD})
            assert stored.content == old_bytes(answers(state, [stored_facts(state, code, PERIOD)])[0],
                                               credit_code=code)


# --------------------------------------------------------------------------------------- the cache key
def test_check_cache_key_tells_apart_what_json_parsing_can_give():
    key = api._canonical
    assert key({"a": 1, "b": "x"}) == key({"b": "x", "a": 1})
    assert key({"a": math.nan}) != key({"a": None})  # orjson writes NaN and Infinity as null
    assert key({"a": math.inf}) != key({"a": None}) != key({"a": -math.inf})
    assert key({"a": 2**70}) != key({"a": 2**70 + 1})  # beyond orjson: the json module
    assert key({"a": 1}) != key({"a": 1.0}) and key({"a": True}) != key({"a": 1})
    assert key({"a": "null"}) == key({"a": "null"})


def test_infinite_fact_is_refused_even_after_null_was_answered(web):
    c = web.client()
    ok = c.post("/api/check", json={"period": PERIOD, "facts": {"output_q": None}}, headers=c.csrf)
    assert ok.status_code == 200
    bad = c.post("/api/check", content=b'{"period":"2024Q4","facts":{"output_q":Infinity}}',
                 headers={**c.csrf, "Content-Type": "application/json"})
    assert bad.status_code == 422


# ------------------------------------------------------------------------------------------ routes order
def _routes(routes):
    for r in routes:
        inner = getattr(r, "original_router", None)
        if inner is not None:
            yield from _routes(inner.routes)
        else:
            yield r


def test_no_other_route_matches_a_hot_path(web):
    samples = {"/api/check": "/api/check", "/api/search": "/api/search",
               "/api/enterprises/{credit_code}/check": "/api/enterprises/91450200MA5XXXXXXX/check"}
    assert set(samples) == set(api.HOT_PATHS)
    routes = list(_routes(web.app.routes))
    assert len(routes) > 50
    for path, sample in samples.items():
        matching = [r.path for r in routes if getattr(r, "path_regex", None) is not None
                    and r.path_regex.match(sample)]
        assert matching == [path], (path, matching)


def test_hot_routes_are_tried_first_and_openapi_keeps_the_declared_order(web):
    assert {r.path for r in api.router.routes[:3]} == set(api.HOT_PATHS)
    paths = [p for p in web.app.openapi()["paths"] if p in set(api.DECLARED_PATHS)]
    assert paths == [p for p in api.DECLARED_PATHS if p in set(paths)]
    assert list(web.app.openapi()["paths"])[0] == api.DECLARED_PATHS[0]


# ------------------------------------------------------------------------------------------- row indexes
def test_row_indexes_give_the_rows_a_filter_gives(web):
    state = web.state
    facts = state.enterprise_facts(PERIOD)
    for code in state.enterprises["credit_code"].to_list() + ["NOPE", ""]:
        rows = state.enterprises.filter(pl.col("credit_code") == code)
        assert state.enterprise(code) == (rows.row(0, named=True) if rows.height else None)
        rows = facts.filter(pl.col("credit_code") == code)
        assert state.facts_row(code, PERIOD) == (rows.row(0, named=True) if rows.height else None)


# ---------------------------------------------------------------------------------------- cached sessions
class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def clock(monkeypatch):
    from huiqi.services.caching import Cache

    clock = Clock()
    monkeypatch.setattr(auth, "SESSIONS", Cache("sessions", 100, ttl=auth.SESSION_CACHE_SECONDS, timer=clock))
    return clock


def _set_user(web, username, **values):
    from huiqi.interfaces.web import db

    with web.state.engine.begin() as conn:
        conn.execute(db.users.update().where(db.users.c.username == username).values(**values))


def test_logout_ends_a_cached_session_at_once(web, clock):
    c = web.client("qiye2")
    assert c.get("/api/me").status_code == 200  # cached now
    cookie = c.cookies.get(auth.SESSION_COOKIE)
    assert c.post("/api/logout", headers=c.csrf).status_code == 200
    c.cookies.set(auth.SESSION_COOKIE, cookie)  # the old cookie, replayed
    assert c.get("/api/me").status_code == 401


def test_role_change_and_deactivation_reach_a_cached_session_within_its_ttl(web, clock):
    c = web.client("officer2")
    assert c.get("/api/me").json()["user"]["role"] == "officer"
    try:
        _set_user(web, "officer2", role="admin")  # as another process (or an operator) would, in the database
        clock.now += auth.SESSION_CACHE_SECONDS + 0.1
        assert c.get("/api/me").json()["user"]["role"] == "admin"
        _set_user(web, "officer2", active=False)
        clock.now += auth.SESSION_CACHE_SECONDS + 0.1
        assert c.get("/api/me").status_code == 401
    finally:
        _set_user(web, "officer2", role="officer", active=True)


def test_a_new_login_after_a_password_change_needs_the_new_password(web, clock):
    c = web.client("qiye3")
    assert c.get("/api/me").status_code == 200
    try:
        _set_user(web, "qiye3", password_hash=auth.hash_password("Changed-Password-2024"))
        fresh = web.client()
        r = fresh.post("/api/login", json={"username": "qiye3", "password": web.passwords["qiye3"]},
                       headers=fresh.csrf)
        assert r.status_code == 401
        r = fresh.post("/api/login", json={"username": "qiye3", "password": "Changed-Password-2024"},
                       headers=fresh.csrf)
        assert r.status_code == 200
    finally:
        _set_user(web, "qiye3", password_hash=auth.hash_password(web.passwords["qiye3"]))


def test_json_module_reference_agrees_on_assembled_bytes(web):
    results = answers(web.state, [stored_facts(web.state, web.own, PERIOD)])[0]
    reference = json.dumps(check_payload(results, PERIOD, "enterprise"), ensure_ascii=False, default=str,
                           separators=(",", ":")).encode()
    assert check_json(results, PERIOD, "enterprise") == reference


def test_check_json_of_no_results_and_of_one():
    for results in ([], check({"output_q": "898.61497万元"}, PERIOD)[:1]):
        assert check_json(results, PERIOD, "enterprise") == old_bytes(results)
        assert check_json(results, PERIOD, "enterprise", "X") == old_bytes(results, credit_code="X")
