"""WEB12: POST /calculator/check's fast path (web/check_fast.py) answers exactly as the FastAPI route — status,
headers, cookies and decoded bytes — for anonymous, enterprise and officer sessions, valid and refused input, with
and without htmx's headers; every security refusal is the route's; answers compressed in the batcher's thread decode
to the plain answer for zstd and gzip, and the API's result cache keeps one entry per coding."""

from __future__ import annotations

import zlib
from urllib.parse import urlencode

import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huiqi.interfaces.web import check_fast, compression, pages
from huiqi.interfaces.web.checking import stored_facts
from huiqi.interfaces.web.presenters import calculator_field_table

PERIOD = "2024Q4"
FORM = "application/x-www-form-urlencoded"
ENCODINGS = ("identity", "gzip", "zstd")


@pytest.fixture(scope="module")
def web(demo_dir, tmp_path_factory):
    from tests.web.conftest import sqlite_web  # noqa: PLC0415 - the same app as every web test, on SQLite only

    with sqlite_web(demo_dir, tmp_path_factory, "pagefast") as w:
        yield w


def raw_body(client, path: str, **kwargs):
    """(status, headers, body exactly as sent, decoded by us): httpx's own decoding bypassed."""
    with client.stream("POST", path, **kwargs) as r:
        sent = b"".join(r.iter_raw())
        coding = r.headers.get("content-encoding", "identity")
        plain = (zstandard.ZstdDecompressor().decompressobj().decompress(sent) if coding == "zstd" else
                 zlib.decompress(sent, 47) if coding == "gzip" else sent)
        return r.status_code, dict(r.headers), sent, plain


def both(client, monkeypatch, path="/calculator/check", **kwargs):
    """(fast path, framework) answers to the same request: status, headers (cookies among them), decoded body."""
    out = []
    for enabled in (True, False):
        monkeypatch.setattr(check_fast, "ENABLED", enabled)
        status, headers, _sent, plain = raw_body(client, path, **kwargs)
        out.append((status, sorted(headers.items()), plain))
    return out


def form(state, facts: dict, token: str | None = None, period: str = PERIOD, extra=()) -> bytes:
    """The page's form: every field of the period (blank where no fact), as the page posts it."""
    pairs = [("csrf_token", token)] if token else []
    pairs += [("period", period)]
    pairs += [(f"f.{name}", facts.get(name, "")) for name in calculator_field_table(state, PERIOD)]
    return urlencode([*pairs, *extra]).encode()


def headers(client, accept: str = "gzip, deflate, br, zstd", htmx: bool = True, **more) -> dict:
    h = {**client.csrf, "Content-Type": FORM, "Accept-Encoding": accept, **more}
    if htmx:
        h.update({"HX-Request": "true", "HX-Target": "results", "HX-Current-URL": "http://testserver/calculator"})
    return h


def demo_facts(web, i: int) -> dict:
    code = web.state.enterprises["credit_code"].to_list()[i % 30]
    facts = {k: str(v) for k, v in stored_facts(web.state, code, PERIOD).items() if not isinstance(v, bool)}
    facts["output_q"] = f"{i}.01"  # each one new on both paths
    return facts


@pytest.mark.parametrize("user", [None, "qiye", "officer2", "qiye3"])
@pytest.mark.parametrize("accept", ["gzip, deflate, br, zstd", "gzip", "identity"])
def test_valid_forms_equal_the_route(web, monkeypatch, user, accept):
    c = web.client(user)
    for i in range(4):
        for htmx in (True, False):
            body = form(web.state, demo_facts(web, 7 * i + htmx))
            fast, framework = both(c, monkeypatch, content=body, headers=headers(c, accept, htmx))
            assert fast[0] == 200 and fast == framework
            assert b'class="result' in fast[2]


@pytest.mark.parametrize("facts,period,extra", [
    ({"output_q": "abc"}, PERIOD, ()),  # a refused amount: the route's 422 fragment
    ({"output_q": "1,000万元", "rd_expense": "5%%"}, PERIOD, ()),
    ({}, PERIOD, (("f.没有这个字段", "1"),)),  # an unknown field
    ({}, "2024Q5", ()),  # a refused period
    ({}, "2024", ()),  # not a quarter: no fields (every field unknown)
    ({}, "", ()),  # blank period: the default
    ({"output_q": "  "}, PERIOD, (("period", PERIOD), ("period", "2024Q3"))),  # the last period wins
])
def test_refused_and_odd_forms_equal_the_route(web, monkeypatch, facts, period, extra):
    c = web.client("qiye")
    fast, framework = both(c, monkeypatch, content=form(web.state, facts, period=period, extra=extra),
                           headers=headers(c))
    assert fast == framework


def test_security_refusals_are_the_routes(web, monkeypatch):
    c = web.client("qiye")
    body = form(web.state, {"output_q": "1"})
    cases = [
        {"Content-Type": FORM},  # no token at all
        {"Content-Type": FORM, "X-CSRF-Token": "wrong"},  # a wrong token in the header
        {"Content-Type": FORM, "X-CSRF-Token": ""},  # an empty one
    ]
    for h in cases:
        fast, framework = both(c, monkeypatch, content=body, headers=h)
        assert fast == framework
        assert fast[0] in (403, 200)  # no header but no token in the form: 403
    # the token only in the form (a plain form post): read through Starlette, by the route
    fast, framework = both(c, monkeypatch, content=form(web.state, {"output_q": "1"}, c.csrf["X-CSRF-Token"]),
                           headers={"Content-Type": FORM})
    assert fast[0] == 200 and fast == framework
    # another session's token, and a signed-out client's cookie token used with a session
    other = web.client("officer2")
    fast, framework = both(c, monkeypatch, content=body, headers={**other.csrf, "Content-Type": FORM})
    assert fast[0] == 403 and fast == framework


def test_expired_session_is_the_routes(web, monkeypatch):
    """A session the server no longer knows (logged out): the token it carried is refused on both paths alike."""
    c = web.client("qiye")
    stale = dict(c.csrf)
    assert c.post("/api/logout", headers=c.csrf).status_code in (200, 204)
    fast, framework = both(c, monkeypatch, content=form(web.state, {"output_q": "1"}),
                           headers={**stale, "Content-Type": FORM})
    assert fast == framework and fast[0] == 403


def test_multipart_and_odd_types_go_to_the_route(web, monkeypatch):
    c = web.client()
    fast, framework = both(c, monkeypatch, data={"period": PERIOD, "f.output_q": "12"}, files={"x": ("a", b"b")},
                           headers=c.csrf)
    assert fast == framework and fast[0] == 200
    for ctype in ("text/plain", "application/json", "APPLICATION/X-WWW-FORM-URLENCODED"):
        fast, framework = both(c, monkeypatch, content=b"period=2024Q4&f.output_q=1",
                               headers={**c.csrf, "Content-Type": ctype})
        assert fast == framework


def test_oversized_body_goes_to_the_route(web, monkeypatch):
    c = web.client()
    big = form(web.state, {"output_q": "1"}, extra=[("padding", "x" * (check_fast.PAGE_BODY_MAX + 10))])
    assert len(big) > check_fast.PAGE_BODY_MAX
    calls = []
    original = check_fast.FastCheck._page

    async def spy(self, scope, receive, send):
        calls.append(scope["path"])
        return await original(self, scope, receive, send)

    monkeypatch.setattr(check_fast.FastCheck, "_page", spy)
    fast, framework = both(c, monkeypatch, content=big, headers=headers(c))
    assert fast[0] == 200 and fast == framework and calls


def test_fast_path_is_taken_for_the_pages_form(web, monkeypatch):
    """The happy path really is answered around the framework (the route's function is not called)."""
    from huiqi.interfaces.web import pages

    called = []
    original = pages._form_items  # read by the route only

    async def counting(request):
        called.append(1)
        return await original(request)

    monkeypatch.setattr(pages, "_form_items", counting)
    c = web.client()
    monkeypatch.setattr(check_fast, "ENABLED", True)
    r = c.post("/calculator/check", content=form(web.state, demo_facts(web, 99)), headers=headers(c))
    assert r.status_code == 200 and not called
    r = c.post("/calculator/check", content=form(web.state, {"output_q": "abc"}), headers=headers(c))
    assert r.status_code == 422 and called  # a refusal: the route's own answer


@pytest.mark.parametrize("path", ["/calculator/check", "/api/check"])
@pytest.mark.parametrize("accept", ["zstd", "gzip", "gzip;q=0.5, zstd;q=0.1"])
def test_encoded_answers_decode_to_the_plain_one(web, monkeypatch, path, accept):
    c = web.client()
    monkeypatch.setattr(check_fast, "ENABLED", True)
    facts = demo_facts(web, 200 + len(accept))
    kwargs = ({"content": form(web.state, facts)} if path.startswith("/calc") else {"json": {"period": PERIOD,
                                                                                             "facts": facts}})
    h = headers(c, accept) if path.startswith("/calc") else {**c.csrf, "Accept-Encoding": accept}
    status, got, sent, plain = raw_body(c, path, headers=h, **kwargs)
    expected = compression.choose_encoding(accept)
    assert status == 200 and got["content-encoding"] == expected and got["vary"] == "Accept-Encoding"
    assert int(got["content-length"]) == len(sent) < len(plain)
    h_plain = {**h, "Accept-Encoding": "identity"}
    _s, got_plain, sent_plain, _p = raw_body(c, path, headers=h_plain, **kwargs)
    assert "content-encoding" not in got_plain and sent_plain == plain
    # a cross-site request is answered plain (BREACH, COMPRESS11-4), on the fast path too
    _s, got_x, sent_x, _p = raw_body(c, path, headers={**h, "Sec-Fetch-Site": "cross-site"}, **kwargs)
    assert "content-encoding" not in got_x and sent_x == plain


def test_result_cache_keeps_one_entry_per_coding(web, monkeypatch):
    monkeypatch.setattr(check_fast, "ENABLED", True)
    c = web.client()
    body = {"period": PERIOD, "facts": demo_facts(web, 500)}
    sizes = set()
    calls = []
    original = compression.compress

    def counting(data, encoding, level):
        calls.append(encoding)
        return original(data, encoding, level)

    monkeypatch.setattr(compression, "compress", counting)
    answers = {}
    for accept in ("zstd", "gzip", "identity", "zstd", "gzip", "identity"):
        status, got, sent, plain = raw_body(c, "/api/check", json=body, headers={**c.csrf, "Accept-Encoding": accept})
        assert status == 200
        answers.setdefault(accept, sent)
        assert sent == answers[accept]  # a hit: the same bytes
        sizes.add(len(plain))
    assert len(sizes) == 1
    assert calls == ["zstd", "gzip"]  # each coding compressed once; the hits cost none


settings_ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@settings_
@given(values=st.lists(st.sampled_from(["", "1", "12.5", "1,000万元", "5%", "-3", "abc", "是", "否", "1e9", " 7 "]),
                       min_size=6, max_size=6),
       user=st.sampled_from([None, "qiye", "officer2"]), htmx=st.booleans(),
       accept=st.sampled_from(["gzip, deflate, br, zstd", "gzip", "identity", ""]))
def test_drawn_forms_equal_the_route(web, monkeypatch, values, user, htmx, accept):
    c = web.client(user)
    names = ["output_q", "output_prev_q", "revenue_q", "rd_expense_q", "employees", "tax_q"]
    fields = calculator_field_table(web.state, PERIOD)
    facts = {n: v for n, v in zip(names, values) if n in fields}
    fast, framework = both(c, monkeypatch, content=form(web.state, facts), headers=headers(c, accept, htmx))
    assert fast == framework


def test_stored_check_encoded_in_the_batchers_thread(web):
    """GET /api/enterprises/{code}/check: the same answer in every coding, a hit per coding the same bytes."""
    c = web.client("qiye")
    url = f"/api/enterprises/{web.own}/check"
    sent = {}
    for accept in ("zstd", "gzip", "identity", "zstd", "gzip"):
        with c.stream("GET", url, params={"period": PERIOD}, headers={"Accept-Encoding": accept}) as r:
            raw = b"".join(r.iter_raw())
            assert r.status_code == 200 and r.headers.get("content-encoding", "identity") == accept
            assert r.headers["vary"] == "Accept-Encoding"
        plain = (zstandard.ZstdDecompressor().decompressobj().decompress(raw) if accept == "zstd" else
                 zlib.decompress(raw, 47) if accept == "gzip" else raw)
        assert sent.setdefault(accept, raw) == raw
        assert plain == sent.get("identity", plain)
    assert b'"results":[' in sent["identity"]
    # another enterprise's: refused as before (the route's own visibility check comes first)
    assert c.get(f"/api/enterprises/{web.other_county_ent}/check", params={"period": PERIOD}).status_code in (403, 404)


@pytest.mark.parametrize("path", ["/calculator/check", "/api/check"])
def test_compressed_in_the_batcher_or_on_the_loop_the_same_bytes(web, monkeypatch, path):
    """HUIQI_COMPRESS_IN_BATCHER=0 (the middleware compresses on the loop) sends the same headers and bytes."""
    monkeypatch.setattr(check_fast, "ENABLED", True)
    c = web.client()
    out = []
    facts = demo_facts(web, 700)
    kwargs = ({"content": form(web.state, facts)} if path.startswith("/calc") else
              {"json": {"period": PERIOD, "facts": facts}})
    h = headers(c, "zstd") if path.startswith("/calc") else {**c.csrf, "Accept-Encoding": "zstd"}
    for in_batcher in (True, False):
        monkeypatch.setattr(compression, "IN_BATCHER", in_batcher)
        status, got, sent, _plain = raw_body(c, path, headers=h, **kwargs)
        assert status == 200 and got["content-encoding"] == "zstd"
        out.append((sorted(got.items()), sent))
    assert out[0] == out[1]  # the same level and compressor: the very bytes the middleware sends


@pytest.mark.parametrize("fields, size", [(pages.FORM_MAX_FIELDS + 1, 0), (300, pages.FORM_MAX_BYTES + 1)])
def test_a_form_past_the_limits_is_refused_in_chinese_on_both_paths(web, monkeypatch, fields, size):
    """A form of more fields than Starlette's own parser takes (1,000), or over 1 MB, is refused before it is
    parsed, as the form without htmx's header always was: a 36 MB form of 2M fields had been answered after ~2 s
    of the event loop. The legitimate form (~240 fields, ~5 KB) is far from both."""
    c = web.client()
    extra = [(f"x{i}", "1") for i in range(fields)] + ([("padding", "x" * size)] if size else [])
    fast, framework = both(c, monkeypatch, content=form(web.state, {"output_q": "1"}, extra=extra), headers=headers(c))
    assert fast == framework
    status, _headers, body = fast
    assert status == (400 if not size else 413)
    assert ("字段过多" if not size else "表单过大") in body.decode()
    assert len(calculator_field_table(web.state, PERIOD)) + 2 < pages.FORM_MAX_FIELDS
