"""Response compression (web/compression.py): negotiation, what is compressed and what is not, the decoded bytes
equal to the identity answer's, streamed bodies, the static files' cache (decisions COMPRESS11)."""

from __future__ import annotations

import os
import zlib

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.testclient import TestClient

from huiqi.interfaces.web.compression import Compression, choose_encoding
from tests.web import test_browser
from tests.web.test_browser import browser, page, server  # noqa: F401 - fixtures for the Chromium test below

BROWSER = "gzip, deflate, br, zstd"  # what Chromium sends
TEXT = ("惠企政策 研发费用加计扣除 " * 400).encode()  # ~12 KB


def decode(body: bytes, encoding: str) -> bytes:
    """Independent of httpx's decoders: the raw bytes as the server sent them."""
    if encoding == "zstd":
        return zstandard.ZstdDecompressor().decompressobj().decompress(body)
    if encoding == "gzip":
        return zlib.decompress(body, 47)
    return body


def raw(client, method, url, accept, **kw):
    """(headers, bytes as sent) — the body not decoded by the client."""
    with client.stream(method, url, headers={"Accept-Encoding": accept, **kw.pop("headers", {})}, **kw) as r:
        return r, b"".join(r.iter_raw())


# ------------------------------------------------------------------------------------------------- negotiation

@pytest.mark.parametrize("header, chosen", [
    (None, "identity"), ("", "identity"), ("identity", "identity"), ("gzip", "gzip"), ("GZip", "gzip"),
    ("x-gzip", "gzip"), ("zstd", "zstd"), (BROWSER, "zstd"), ("gzip, deflate, br", "gzip"),
    ("gzip;q=1, zstd;q=0.5", "gzip"), ("gzip;q=0.5, zstd;q=1", "zstd"), ("zstd;q=0, gzip", "gzip"),
    ("zstd;q=0, gzip;q=0", "identity"), ("*", "zstd"), ("*;q=0", "identity"), ("*;q=0, gzip", "gzip"),
    ("zstd;q=0, *", "gzip"), ("gzip ; Q=0.8 , zstd ; q=0.9", "zstd"), ("br", "identity"),
    ("zstd;q=2", "identity"), ("zstd;q=abc, gzip", "gzip"), ("zstd;q=1.0001", "identity"), (",,,;;;", "identity"),
    ("gzip;q=0.000", "identity"), ("gzip;q=0.001", "gzip"), ("identity;q=0", "identity"), ("\x00\xff", "identity"),
])
def test_negotiation_table(header, chosen):
    assert choose_encoding(header) == chosen


def _accepts(header: str, coding: str) -> bool:
    """An independent reading of the header: the coding (or *) listed with a q that is not zero."""
    for item in header.lower().split(","):
        token, *params = [p.strip() for p in item.split(";")]
        if token in (coding, "*") or (coding == "gzip" and token == "x-gzip"):
            q = next((p.split("=", 1)[1].strip() for p in params if p.replace(" ", "").startswith("q=")), "1")
            try:
                if float(q) > 0:
                    return True
            except ValueError:
                pass
    return False


TOKENS = st.sampled_from(["gzip", "zstd", "br", "deflate", "identity", "*", "x-gzip", "GZIP", "Zstd", "", "junk"])
ITEMS = st.tuples(TOKENS, st.one_of(st.just(""), st.sampled_from([";q=0", ";q=1", ";q=0.5", ";q=0.000", ";Q=0.3",
                                                                    ";q=", ";q=x", "; q=0.9", ";level=1"])))
HEADERS = st.one_of(st.lists(ITEMS, max_size=5).map(lambda xs: ", ".join(t + p for t, p in xs)),
                    st.text(max_size=40))


@settings(max_examples=400, deadline=None)
@given(HEADERS)
def test_negotiation_never_fails_and_picks_an_accepted_coding(header):
    chosen = choose_encoding(header)
    assert chosen in ("zstd", "gzip", "identity")
    if chosen != "identity":
        assert _accepts(header, chosen)


# ------------------------------------------------------------------------------------------------- a small app

def _streamed():
    async def chunks():
        import anyio

        for k in range(20):
            await anyio.sleep(0)  # other responses' turn: streams interleave as they would on the event loop
            yield TEXT[k * 500:(k + 1) * 500]
    return StreamingResponse(chunks(), media_type="text/plain; charset=utf-8")


@pytest.fixture()
def small_app(tmp_path):
    (tmp_path / "big.js").write_bytes(b"function f(){return 1}\n" * 2000)
    (tmp_path / "tiny.css").write_bytes(b"a{}")
    routes = [
        Route("/text", lambda r: PlainTextResponse(TEXT.decode())),
        Route("/small", lambda r: PlainTextResponse("小")),
        Route("/xlsx", lambda r: Response(TEXT, media_type="application/vnd.openxmlformats-officedocument."
                                                                   "spreadsheetml.sheet")),
        Route("/png", lambda r: Response(TEXT, media_type="image/png")),
        Route("/events", lambda r: Response(TEXT, media_type="text/event-stream")),
        Route("/encoded", lambda r: Response(zlib.compress(TEXT, 6, 31), media_type="text/plain",
                                             headers={"Content-Encoding": "gzip"})),
        Route("/partial", lambda r: Response(TEXT, status_code=206, media_type="text/plain")),
        Route("/vary", lambda r: PlainTextResponse(TEXT.decode(), headers={"Vary": "Cookie"})),
        Route("/stream", lambda r: _streamed()),
        Mount("/static", StaticFiles(directory=tmp_path)),
    ]
    middleware = Compression(Starlette(routes=routes))
    return TestClient(middleware), middleware, tmp_path


@pytest.mark.parametrize("accept, encoding", [(BROWSER, "zstd"), ("gzip", "gzip"), ("identity", None)])
def test_a_body_decodes_to_the_identity_bytes(small_app, accept, encoding):
    client, _, _ = small_app
    r, body = raw(client, "GET", "/text", accept)
    assert r.headers.get("content-encoding") == encoding
    assert decode(body, encoding or "identity") == TEXT
    assert int(r.headers["content-length"]) == len(body)
    assert r.headers["vary"] == "Accept-Encoding"


@pytest.mark.parametrize("path", ["/small", "/xlsx", "/png", "/events", "/partial"])
def test_small_bodies_and_excluded_types_are_untouched(small_app, path):
    client, _, _ = small_app
    r, body = raw(client, "GET", path, BROWSER)
    assert "content-encoding" not in r.headers
    assert body == ("小".encode() if path == "/small" else TEXT)


def test_an_encoded_body_passes_untouched(small_app):
    client, _, _ = small_app
    r, body = raw(client, "GET", "/encoded", BROWSER)
    assert r.headers["content-encoding"] == "gzip" and zlib.decompress(body, 47) == TEXT


def test_head_is_not_compressed(small_app):
    client, _, _ = small_app
    r = client.head("/text", headers={"Accept-Encoding": BROWSER})
    assert "content-encoding" not in r.headers and int(r.headers["content-length"]) == len(TEXT)


def test_vary_is_added_to_the_one_there(small_app):
    client, _, _ = small_app
    r, _ = raw(client, "GET", "/vary", BROWSER)
    assert r.headers["vary"] == "Cookie, Accept-Encoding"


@pytest.mark.parametrize("site, encoding", [("cross-site", None), ("same-site", None), ("same-origin", "zstd"),
                                            ("none", "zstd")])
def test_requests_another_site_started_are_not_compressed(small_app, site, encoding):
    client, _, _ = small_app
    r, body = raw(client, "GET", "/text", BROWSER, headers={"Sec-Fetch-Site": site})
    assert r.headers.get("content-encoding") == encoding and decode(body, encoding or "identity") == TEXT


@pytest.mark.parametrize("accept, encoding", [(BROWSER, "zstd"), ("gzip", "gzip")])
def test_a_streamed_body_is_compressed_as_it_goes_and_decodes_whole(small_app, accept, encoding):
    client, _, _ = small_app
    r, body = raw(client, "GET", "/stream", accept)
    assert r.headers["content-encoding"] == encoding and "content-length" not in r.headers
    assert decode(body, encoding) == TEXT[:10_000]


def test_a_static_file_is_compressed_once_and_kept(small_app):
    client, middleware, _ = small_app
    first, body1 = raw(client, "GET", "/static/big.js", BROWSER)
    second, body2 = raw(client, "GET", "/static/big.js", BROWSER)
    assert first.headers["content-encoding"] == "zstd" and body1 == body2
    assert decode(body2, "zstd") == b"function f(){return 1}\n" * 2000
    assert len(middleware.static) == 1
    assert first.headers["etag"].startswith("W/")  # not the file's bytes
    again = client.get("/static/big.js", headers={"Accept-Encoding": BROWSER, "If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    g, gz = raw(client, "GET", "/static/big.js", "gzip")
    assert g.headers["content-encoding"] == "gzip" and decode(gz, "gzip") == decode(body2, "zstd")
    assert len(middleware.static) == 2
    tiny, body = raw(client, "GET", "/static/tiny.css", BROWSER)
    assert "content-encoding" not in tiny.headers and body == b"a{}"


def test_a_static_file_changed_on_disk_is_not_served_from_the_old_copy(small_app):
    client, _, directory = small_app
    path = directory / "big.js"
    raw(client, "GET", "/static/big.js", BROWSER)
    new = b"function g(){return 2}\n" * 2500
    path.write_bytes(new)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # a later mtime, whatever the clock
    r, body = raw(client, "GET", "/static/big.js", BROWSER)
    assert decode(body, r.headers["content-encoding"]) == new


def test_the_static_cache_is_bounded(tmp_path):
    for k in range(5):
        (tmp_path / f"f{k}.txt").write_bytes(os.urandom(8000).hex().encode())  # ~8 KB compressed each
    middleware = Compression(Starlette(routes=[Mount("/static", StaticFiles(directory=tmp_path))]),
                             static_cache_bytes=20_000)
    client = TestClient(middleware)
    for k in range(5):
        r, body = raw(client, "GET", f"/static/f{k}.txt", BROWSER)
        assert decode(body, "zstd") == (tmp_path / f"f{k}.txt").read_bytes()
    assert 0 < middleware.static.currsize <= 20_000


# ------------------------------------------------------------------------------------------------- the real app

@pytest.fixture(scope="module")
def web1(demo_dir, tmp_path_factory):
    from tests.web.conftest import sqlite_web  # noqa: PLC0415 - the same app as every web test, on SQLite only

    with sqlite_web(demo_dir, tmp_path_factory, "compression") as w:
        yield w


def _facts(web1, client) -> dict:
    code = client.get("/api/enterprises", params={"limit": 1}).json()["enterprises"][0]["credit_code"]
    return client.get(f"/api/enterprises/{code}/facts", params={"period": "2024Q4"}).json()["facts"]


@pytest.mark.parametrize("accept, encoding", [(BROWSER, "zstd"), ("gzip, deflate", "gzip")])
def test_the_real_answers_decode_to_the_identity_bytes(web1, accept, encoding):
    c = web1.client("admin")
    facts = _facts(web1, c)
    requests = [("POST", "/api/check", {"json": {"period": "2024Q4", "facts": facts}, "headers": c.csrf}),
                ("GET", "/api/search?q=%E7%A0%94%E5%8F%91&limit=50", {}),
                ("GET", "/calculator", {}),
                ("GET", "/static/vendor/htmx.min.js", {}),
                ("GET", "/api/documents", {})]
    for method, url, kw in requests:
        plain, plain_body = raw(c, method, url, "identity", **{**kw, "headers": dict(kw.get("headers", {}))})
        packed, packed_body = raw(c, method, url, accept, **{**kw, "headers": dict(kw.get("headers", {}))})
        assert plain.status_code == packed.status_code == 200, url
        assert "content-encoding" not in plain.headers, url
        assert packed.headers["content-encoding"] == encoding, url
        assert "accept-encoding" in packed.headers["vary"].lower(), url
        assert len(packed_body) < len(plain_body) / 2, url
        assert decode(packed_body, encoding) == plain_body, url


# ------------------------------------------------------------------------------------------------- Chromium

@pytest.mark.skipif(not test_browser.CHROMIUM.exists(), reason="Debian chromium is not installed")
def test_chromium_gets_zstd_and_the_page_works(server, page):  # noqa: F811 - test_browser's fixtures
    """Chromium asks for zstd and gets it, for the calculator's page and htmx; the page's own checks
    (no script error, no CSP violation) are those of test_browser.py's `page` fixture."""
    seen: dict[str, str | None] = {}
    page.on("response", lambda r: seen.setdefault(r.url.split("?")[0].removeprefix(server["url"]),
                                                  r.all_headers().get("content-encoding")))
    test_browser.login(page, server, "admin")
    page.goto(server["url"] + "/calculator")
    page.wait_for_load_state("networkidle")
    assert seen.get("/calculator") == "zstd", seen
    assert seen.get("/static/vendor/htmx.min.js") == "zstd", seen
    assert page.evaluate("typeof htmx") == "object"  # the script decoded and ran


def test_two_streams_at_once_each_decode_whole(small_app):
    """Streams interleave on the event loop: each needs its own compressor context."""
    import anyio
    import httpx

    _, middleware, _ = small_app

    async def both():
        transport = httpx.ASGITransport(app=middleware)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            async def one():
                async with c.stream("GET", "/stream", headers={"Accept-Encoding": "zstd"}) as r:
                    return r.headers["content-encoding"], b"".join([b async for b in r.aiter_raw()])
            results = []
            async with anyio.create_task_group() as tg:
                for _ in range(3):
                    tg.start_soon(lambda: _append(results, one))
            return results

    async def _append(results, make):
        results.append(await make())

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:  # a thread of its own: Playwright's sync API keeps a loop in this one
        results = pool.submit(anyio.run, both).result()
    for encoding, body in results:
        assert encoding == "zstd" and decode(body, encoding) == TEXT[:10_000]


def test_a_static_file_asked_for_at_once_is_compressed_once(small_app, monkeypatch):
    """Many pages loading the same script right after a restart: one high-level compression, the others wait."""
    import anyio
    import httpx

    from huiqi.interfaces.web import compression

    _, middleware, directory = small_app
    calls = []
    real = compression.compress
    monkeypatch.setattr(compression, "compress", lambda body, enc, level: calls.append(level) or real(body, enc, level))

    async def many():
        transport = httpx.ASGITransport(app=middleware)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            bodies = []

            async def one():
                r = await c.get("/static/big.js", headers={"Accept-Encoding": "zstd"})
                bodies.append((r.headers["content-encoding"], r.content))
            async with anyio.create_task_group() as tg:
                for _ in range(6):
                    tg.start_soon(one)
            return bodies

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        bodies = pool.submit(anyio.run, many).result()
    assert calls == [compression.STATIC_ZSTD_LEVEL]
    assert len(bodies) == 6 and all(b == ("zstd", (directory / "big.js").read_bytes()) for b in bodies)
