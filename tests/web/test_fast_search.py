"""WEB3-2: GET /api/search's fast path (web/check_fast.py) answers every request exactly as the FastAPI route:
status, headers and bytes, for valid searches (computed on each path) and for everything it hands to the framework."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huiqi.interfaces.web import check_fast
from huiqi.services.search import BENCHMARK_QUERIES


@pytest.fixture(scope="module")
def web(demo_dir, tmp_path_factory):
    from tests.web.conftest import sqlite_web  # noqa: PLC0415 - the same app as every web test, on SQLite only

    with sqlite_web(demo_dir, tmp_path_factory, "fastsearch") as w:
        yield w


def both(web, client, monkeypatch, method="GET", url="/api/search", **kwargs):
    """(fast path, framework) responses to the same request, each computed afresh, as (status, headers, body)."""
    out = []
    for enabled in (True, False):
        monkeypatch.setattr(check_fast, "ENABLED", enabled)
        web.state._calc_cache.clear()  # each path computes (not one answering from the other's cache entry)
        r = client.request(method, url, **kwargs)
        out.append((r.status_code, sorted(r.headers.items()), r.content))
    return out


def test_valid_searches_equal_the_framework_route(web, monkeypatch):
    c = web.client()
    for i, q in enumerate(BENCHMARK_QUERIES):
        params = {"q": q + " " * (i % 3)} if i % 4 == 0 else {"q": q, "limit": str(1 + (7 * i) % 100)}
        fast, framework = both(web, c, monkeypatch, params=params)
        assert fast[0] == 200 and fast == framework


def test_filters_and_logged_in_equal(web, monkeypatch):
    c = web.client("officer2")
    for params in ({"q": "企业", "level": "自治区"}, {"q": "奖励", "status": "有效", "limit": "100"},
                   {"q": "补贴", "level": "", "document": "", "status": ""}, {"q": ""}, {"q": "的"},
                   {"q": "桂政办发〔2024〕12号", "limit": "1"}, {"q": "x" * 200}, {"q": "%_*?\\'\"<>&"}):
        fast, framework = both(web, c, monkeypatch, params=params)
        assert fast[0] == 200 and fast == framework


HANDED_ON = [  # what the fast path leaves to the framework: refusals and unusual spellings
    {}, {"limit": "5"}, {"q": "x" * 201}, {"q": "企业", "limit": "0"}, {"q": "企业", "limit": "101"},
    {"q": "企业", "limit": "abc"}, {"q": "企业", "limit": "5.0"}, {"q": "企业", "limit": "+5"},
    {"q": "企业", "limit": "05"}, {"q": "企业", "limit": " 5"}, {"q": "企业", "limit": ""},
    {"q": "企业", "level": "省"}, {"q": "企业", "status": "作废"}, {"q": "企业", "document": "no-such-doc"},
    {"q": "企业", "page": "2"}, [("q", "企业"), ("q", "奖励")], [("q", "企业"), ("limit", "3"), ("limit", "4")],
]


@pytest.mark.parametrize("params", HANDED_ON)
def test_what_the_framework_answers_is_unchanged(web, monkeypatch, params):
    c = web.client()
    fast, framework = both(web, c, monkeypatch, params=params)
    assert fast == framework


def test_other_methods_and_paths_are_the_framework_s(web, monkeypatch):
    c = web.client()
    for method, url in (("HEAD", "/api/search"), ("POST", "/api/search"), ("GET", "/api/search/"),
                        ("GET", "/api/searches")):
        fast, framework = both(web, c, monkeypatch, method=method, url=url, params={"q": "企业"})
        assert fast == framework


def test_the_fast_path_answers_valid_searches_itself(web, monkeypatch):
    called = []

    async def spy(*args):
        called.append(args[1:])
        return await real(*args)

    mw = _fast_check(web.app)
    real = mw.search
    monkeypatch.setattr(mw, "search", spy)
    monkeypatch.setattr(check_fast, "ENABLED", True)
    r = web.client().get("/api/search", params={"q": "研发", "limit": "7", "level": "国家"})
    assert r.status_code == 200 and called == [("研发", 7, "国家", None, None)]


def _fast_check(app):
    """The FastCheck instance in the built middleware stack."""
    node = app.middleware_stack
    while node is not None and not isinstance(node, check_fast.FastCheck):
        node = getattr(node, "app", None)
    assert node is not None
    return node


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=st.text(max_size=30), limit=st.one_of(st.none(), st.integers(-5, 120).map(str), st.text(max_size=4)))
def test_drawn_queries_equal_the_framework_route(web, monkeypatch, q, limit):
    params = {"q": q} if limit is None else {"q": q, "limit": limit}
    fast, framework = both(web, web.client(), monkeypatch, params=params)
    assert fast == framework


# ------------------------------------------------------------------------------ the check body's JSON reader
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12)


def _same(a, b) -> bool:
    """Equal values of the same types, dict orders and float signs (NaN equal to NaN)."""
    return repr(a) == repr(b)


@settings(max_examples=400, deadline=None)
@given(value=json_values)
def test_fast_loads_reads_what_json_loads_reads(value):
    import json
    import math

    text = json.dumps(value, ensure_ascii=False)  # NaN and ±Infinity as json writes them
    assert _same(check_fast.loads(text.encode()), json.loads(text.encode()))
    if not (isinstance(value, float) and math.isnan(value)):
        ascii_text = json.dumps(value).encode()  # \\u escapes, lone surrogates included
        assert _same(check_fast.loads(ascii_text), json.loads(ascii_text))


@pytest.mark.parametrize("raw", [
    b'123456789012345678901234567890', b'18446744073709551616', b'-9223372036854775809', b'9223372036854775807',
    b'{"a":1,"a":2}', b'1e400', b'-1e400', b'NaN', b'-Infinity', b'"\\ud800"', b'1.0000000000000001', b'-0',
    b'-0.0', b'1E2', b'"\\u0000"', b' {} ', b'\xef\xbb\xbf{"a":1}', '{"a":"企业"}'.encode("utf-16"),
    '{"a":"企业"}'.encode("utf-32"), b'{"facts":{"x":"1234567890123456789"}}',
    b'0.1000000000000000055511151231257827', b'2.2250738585072011e-308', b'4.9e-324', b'1.7976931348623157e308',
])
def test_fast_loads_on_edge_documents(raw):
    import json

    try:
        expected = json.loads(raw)
    except ValueError as e:
        with pytest.raises(type(e)):
            check_fast.loads(raw)
        return
    assert _same(check_fast.loads(raw), expected)


@pytest.mark.parametrize("raw", [b"", b"{", b"[1,]", b"\xff\xfe\x00", b"{'a':1}", b'{"a":1}x'])
def test_fast_loads_refuses_what_json_refuses(raw):
    import json

    with pytest.raises(ValueError):
        json.loads(raw)
    with pytest.raises(ValueError):
        check_fast.loads(raw)
