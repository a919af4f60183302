"""Micro-batched calculator (huiqi.services.calculator_batch): the same answers as one check at a time, a bad
request fails alone with its own Chinese message, and the event loop keeps answering while a batch computes."""

from __future__ import annotations

import asyncio
import re
import time

import httpx
import pytest

from huiqi.engine.inputs import InputError
from huiqi.services.calculator import CheckRequest, check, check_many

CJK = re.compile(r"[\u4e00-\u9fff]")
PERIOD = "2024Q4"
# facts that cannot be read: each must get its own message naming the field, in Chinese
INVALID = [{"当季产量": 1}, {"output_q": "1.001"}, {"output_q": "-5"}, {"promo_event_held_q": "也许"},
           {"output_q": "1e400"}]


def fact_sets(web, n: int = 50) -> list[dict]:
    """n different fact sets: real enterprises' stored facts, some varied, some invalid, one empty."""
    from huiqi.interfaces.web.checking import stored_facts

    codes = web.state.enterprises["credit_code"].to_list()
    out: list[dict] = [{}]
    for i, code in enumerate(codes):
        if len(out) >= n - len(INVALID):
            break
        # as a client sends them (the API's own /facts form: text, booleans as booleans)
        facts = {k: (v if isinstance(v, bool) else str(v)) for k, v in stored_facts(web.state, code, PERIOD).items()}
        if i % 3 == 0:  # vary a fact: distinct requests, and a row whose fields differ from its neighbours'
            facts = {**facts, "output_q": f"{5_000_000 + i}.01"}
        out.append(facts)
    for i, bad in enumerate(INVALID):
        out.insert(3 + i * 9, bad)  # among the valid ones, not at the end
    return out[:n]


def as_dicts(results) -> list[dict]:
    return [r.to_dict() for r in results]


def test_check_many_equals_check_one_by_one(web):
    """50 different fact sets in one check_many give exactly what check() gives each alone; invalid ones get
    their own InputError (the same Chinese message) without failing the others."""
    state = web.state
    facts = fact_sets(web)
    assert len(facts) == 50 and len({repr(sorted(f.items())) for f in facts}) == 50
    params = state.params_for_engine(state.active_set()["values"])
    batched = check_many([CheckRequest(f, PERIOD, params=params) for f in facts], state.ruleset, state.library)
    errors = 0
    for f, got in zip(facts, batched):
        try:
            alone = check(f, PERIOD, params=params, ruleset=state.ruleset, library=state.library)
        except InputError as e:
            assert isinstance(got, InputError) and str(got) == str(e) and CJK.search(str(got))
            errors += 1
            continue
        assert not isinstance(got, Exception), got
        assert as_dicts(got) == as_dicts(alone)
    assert errors == len(INVALID)


def test_check_many_groups_by_period_and_parameters(web):
    """Requests for different periods or parameter overrides in one batch are evaluated in their own groups."""
    state = web.state
    facts = fact_sets(web, 8)
    requests = [CheckRequest(f, p, params=prm) for f in facts for p in ("2024Q4", "2023Q4")
                for prm in (None, {"gx2024q4_15a_rate": "0.005"} if p == "2024Q4" else None)]
    bad_param = CheckRequest(facts[1], "2024Q4", params={"no_such_parameter": "1"})
    got = check_many([*requests, bad_param], state.ruleset, state.library)
    assert isinstance(got[-1], ValueError) and CJK.search(str(got[-1]))
    for req, res in zip(requests, got):
        try:
            alone = check(req.facts, req.period, params=req.params, ruleset=state.ruleset, library=state.library)
        except (InputError, ValueError) as e:
            assert str(res) == str(e)
            continue
        assert as_dicts(res) == as_dicts(alone)


async def _login(client: httpx.AsyncClient, username: str, password: str) -> dict:
    token = (await client.get("/api/csrf")).json()["csrf_token"]
    r = await client.post("/api/login", json={"username": username, "password": password},
                          headers={"X-CSRF-Token": token})
    assert r.status_code == 200, r.text
    return {"X-CSRF-Token": r.json()["csrf_token"]}


def _client(web) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=web.app), base_url="http://testserver", timeout=120)


def test_concurrent_api_checks_are_batched_and_each_answered_as_alone(web):
    """50 concurrent POST /api/check with different facts: gathered into batches (not 50 evaluations), and
    every response is byte-for-byte the response of that request computed alone; an invalid request gets its own
    422 with a Chinese message naming the field, the others 200."""
    from huiqi.interfaces.web.checking import calc_batcher, run_check
    from huiqi.interfaces.web.presenters import json_bytes
    from huiqi.interfaces.web.state import WebError

    state = web.state
    # distinct from every other test's facts: no answer may come from the result cache
    facts = [{**f, "output_q": f"{7_000_000 + i}.03"} if len(f) > 1 else f
             for i, f in enumerate(fact_sets(web))]
    expected = []
    for f in facts:
        try:
            expected.append((200, json_bytes(run_check(state, f, PERIOD, "enterprise", None))))
        except WebError as e:
            expected.append((e.status, e.message))
    batcher = calc_batcher(state)
    before = batcher.batches

    async def go():
        async with _client(web) as c:
            headers = await _login(c, "admin", web.passwords["admin"])
            return await asyncio.gather(*[c.post("/api/check", json={"period": PERIOD, "facts": f}, headers=headers)
                                          for f in facts])

    responses = asyncio.run(go())
    for r, (status, body) in zip(responses, expected):
        assert r.status_code == status, (r.status_code, r.text)
        if status == 200:
            assert r.content == body
        else:
            assert r.json()["error"]["message"] == body and CJK.search(body)
    assert sum(1 for r in responses if r.status_code == 422) >= len(INVALID)
    assert batcher.batches - before < 25 and batcher.largest > 1  # batched, not one evaluation per request


def test_web_form_check_goes_through_the_batcher(web):
    """The calculator form (htmx POST /calculator/check) is answered through the same batcher."""
    from huiqi.interfaces.web.checking import calc_batcher

    c = web.client("admin")
    batcher = calc_batcher(web.state)
    before = batcher.batches
    r = c.post("/calculator/check", data={"period": PERIOD, "f.output_q": "8986149.70", "csrf_token": c.csrf["X-CSRF-Token"]},
               headers=c.csrf)
    assert r.status_code == 200 and "当季工业总产值" in r.text
    assert batcher.batches == before + 1


def test_event_loop_answers_while_a_batch_computes(web, monkeypatch):
    """A slow batch runs in a worker thread: /healthz answers at once while the check is still computing."""
    import huiqi.services.calculator_batch as cb

    real = cb.check_many

    def slow(*args, **kwargs):
        time.sleep(1.5)
        return real(*args, **kwargs)

    monkeypatch.setattr(cb, "check_many", slow)

    async def go():
        async with _client(web) as c:
            headers = await _login(c, "admin", web.passwords["admin"])
            started = time.perf_counter()
            task = asyncio.ensure_future(c.post("/api/check", json={"period": PERIOD, "facts": {"output_q": "123.45"}},
                                                headers=headers))
            await asyncio.sleep(0.2)
            assert not task.done()
            health = await c.get("/healthz")
            health_at = time.perf_counter() - started
            r = await task
            return health, health_at, r, time.perf_counter() - started

    health, health_at, r, done_at = asyncio.run(go())
    assert health.status_code == 200 and r.status_code == 200
    assert health_at < 1.2 < done_at


def test_search_miss_does_not_block_the_event_loop(web, monkeypatch):
    """A search that is not cached runs in the thread pool: /healthz answers while it computes."""
    from huiqi.interfaces.web import search_json

    real = search_json.answer

    def slow(*args, **kwargs):
        time.sleep(1.5)
        return real(*args, **kwargs)

    monkeypatch.setattr(search_json, "answer", slow)

    async def go():
        async with _client(web) as c:
            started = time.perf_counter()
            task = asyncio.ensure_future(c.get("/api/search", params={"q": "技改贴息 不缓存"}))
            await asyncio.sleep(0.2)
            health = await c.get("/healthz")
            health_at = time.perf_counter() - started
            r = await task
            return health, health_at, r, time.perf_counter() - started

    health, health_at, r, done_at = asyncio.run(go())
    assert health.status_code == 200 and r.status_code == 200
    assert health_at < 1.2 < done_at


def test_large_responses_and_static_files_are_gzipped(web):
    c = web.client()
    r = c.get("/static/vendor/htmx.min.js", headers={"Accept-Encoding": "gzip"})
    if r.status_code == 404:
        pytest.skip("htmx not at the expected path")
    assert r.status_code == 200 and r.headers.get("content-encoding") == "gzip"
    small = c.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers  # under 1 KB: not worth it
    big = c.get("/api/documents", headers={"Accept-Encoding": "gzip"})
    assert big.headers.get("content-encoding") == "gzip" and big.json()
    # a browser's header: zstd, the encoding negotiated for every current browser (COMPRESS11)
    for url in ("/static/vendor/htmx.min.js", "/api/documents"):
        z = c.get(url, headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
        assert z.headers.get("content-encoding") == "zstd" and z.content == c.get(url, headers={
            "Accept-Encoding": "identity"}).content


def test_batching_off_gives_the_same_answers(web):
    """HUIQI_CALC_BATCH_MS=0 (window 0): each request alone in the worker thread — the benchmark's baseline."""
    from huiqi.interfaces.web.presenters import json_bytes, check_payload
    from huiqi.services.calculator_batch import CheckBatcher

    state = web.state
    facts = fact_sets(web, 12)
    off = CheckBatcher(state.ruleset, state.library, window_ms=0)
    on = CheckBatcher(state.ruleset, state.library, window_ms=5)

    def finish(req, results):
        return json_bytes(check_payload(results, req.period, req.entity))

    async def run(b):
        return await asyncio.gather(*[b.submit(CheckRequest(f, PERIOD), finish) for f in facts],
                                    return_exceptions=True)

    a, b = asyncio.run(run(off)), asyncio.run(run(on))
    assert [x if isinstance(x, bytes) else str(x) for x in a] == [x if isinstance(x, bytes) else str(x) for x in b]
    assert off.batches == 0 and on.largest > 1
    off.close(), on.close()


def test_result_to_dict_is_what_asdict_gave(web):
    """MeasureResult.to_dict is built directly (asdict deep-copied and cost as much as the check): same dict,
    same key order, for met, unmet, missing and pending results."""
    from dataclasses import asdict

    state = web.state
    statuses = set()
    for facts in fact_sets(web, 12):
        try:
            results = check(facts, PERIOD, ruleset=state.ruleset, library=state.library)
        except InputError:
            continue
        for r in results:
            expected = asdict(r)
            for k in ("amount_yuan", "computed_yuan"):
                expected[k] = None if expected[k] is None else str(expected[k])
            got = r.to_dict()
            assert got == expected and list(got) == list(expected)
            statuses.add(r.status)
    assert len(statuses) >= 3


def test_concurrent_first_requests_build_period_facts_once(web, monkeypatch):
    """50 clients asking a fresh worker for stored enterprises at once each built the whole period's facts (p99 of
    25 s with two workers in benchmarks/bench_web.py): now the first builds them and the others wait for it."""
    import threading

    import huiqi.services.facts as facts_module

    state = web.state
    real = facts_module.enterprise_facts
    calls = []

    def counted(*args, **kwargs):
        calls.append(1)
        time.sleep(0.3)
        return real(*args, **kwargs)

    monkeypatch.setattr(facts_module, "enterprise_facts", counted)
    with state.lock:
        state._facts.clear()
    frames = []
    threads = [threading.Thread(target=lambda: frames.append(state.enterprise_facts(PERIOD))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(frames) == 8 and all(f is frames[0] for f in frames)
