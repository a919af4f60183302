"""WEB9-1: uvicorn with `one_write.OneWriteProtocol` sends the same bytes as with its own httptools protocol — for
plain, HEAD, chunked and streamed responses, keep-alive and pipelined requests, `Connection: close`, 100-continue,
and the error paths (an app that fails after starting its answer, a body longer or shorter than its length) —
and a head with its first body bytes in one write."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest
import uvicorn

from huiqi.interfaces.web import one_write
from huiqi.interfaces.web.one_write import HeadHolder, OneWriteProtocol

BIG = bytes(range(256)) * 700  # 179,200 bytes: larger than a socket buffer's first send


async def app(scope, receive, send):
    """A raw ASGI app with one path per way a response can be sent."""
    if scope["type"] != "http":
        return
    path = scope["path"]
    body = b""
    more = True
    while more:  # the request's body (100-continue is written by uvicorn when this first asks)
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    start = {"type": "http.response.start", "status": 200,
             "headers": [(b"content-type", b"application/json"), (b"x-path", path.encode())]}

    async def body_message(data: bytes, more_body: bool = False):
        await send({"type": "http.response.body", "body": data, "more_body": more_body})

    if path == "/plain":
        start["headers"].append((b"content-length", str(len(BIG)).encode()))
        await send(start)
        await body_message(BIG)
    elif path == "/echo":
        start["headers"].append((b"content-length", str(len(body)).encode()))
        await send(start)
        await body_message(body)
    elif path == "/chunked":  # no length: uvicorn chunks it
        await send(start)
        await body_message(b"", True)
        await body_message(b"first", True)
        await asyncio.sleep(0.01)
        await body_message(BIG[:5000], True)
        await body_message(b"")
    elif path == "/streamed":  # a length, the body in pieces with pauses between
        start["headers"].append((b"content-length", b"12"))
        await send(start)
        for piece in (b"abcd", b"efgh", b"ijkl"):
            await asyncio.sleep(0.01)
            await body_message(piece, piece != b"ijkl")
    elif path == "/no-content":
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await body_message(b"")
    elif path == "/close":
        start["headers"] += [(b"content-length", b"2"), (b"connection", b"close")]
        await send(start)
        await body_message(b"ok")
    elif path == "/fail-after-start":
        start["headers"].append((b"content-length", b"10"))
        await send(start)
        raise RuntimeError("the app fails after its head")
    elif path == "/too-long":
        start["headers"].append((b"content-length", b"3"))
        await send(start)
        await body_message(b"12345")
    elif path == "/too-short":
        start["headers"].append((b"content-length", b"10"))
        await send(start)
        await body_message(b"12345")
    elif path == "/unfinished":
        await send(start)
    elif path == "/fail-before-start":
        raise RuntimeError("the app fails before answering")
    else:
        start["status"] = 404
        start["headers"].append((b"content-length", b"0"))
        await send(start)
        await body_message(b"")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(http: str):
    """A uvicorn server of the raw app with the protocol given; no Date/Server headers (the bytes are compared)."""
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, http=http, lifespan="off", log_level="critical",
                            date_header=False, server_header=False, access_log=False)
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not srv.started:
        assert time.time() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    return srv, thread, port


@pytest.fixture(scope="module")
def ports():
    """{protocol: port}: uvicorn's own httptools protocol and this one, side by side."""
    running = {http: _serve(http) for http in ("httptools", one_write.SPEC)}
    yield {http: port for http, (_s, _t, port) in running.items()}
    for srv, thread, _port in running.values():
        srv.should_exit = True
        thread.join(timeout=30)


def _exchange(port: int, requests: list[bytes], together: bool = False) -> bytes:
    """Everything the server sends back until it closes the connection (the last request asks it to)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        if together:  # pipelined: all requests in one send
            s.sendall(b"".join(requests))
        else:
            for r in requests:
                s.sendall(r)
                time.sleep(0.03)  # the answer (or its part) has come before the next request
        out = bytearray()
        while chunk := s.recv(65536):
            out += chunk
    return bytes(out)


def _get(path: str, *, method: str = "GET", close: bool = False, body: bytes = b"", extra: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: t\r\n".encode() + extra
    if body:
        head += b"content-type: application/json\r\ncontent-length: %d\r\n" % len(body)
    return head + (b"connection: close\r\n" if close else b"") + b"\r\n" + body


CONVERSATIONS = {
    "keep-alive": ([_get("/plain"), _get("/plain", method="HEAD"), _get("/chunked"), _get("/streamed"),
                    _get("/no-content"), _get("/echo", method="POST", body=b'{"a": 1}'), _get("/missing"),
                    _get("/plain", close=True)], False),
    "pipelined": ([_get("/plain"), _get("/echo", method="POST", body=b"[1,2]"), _get("/plain", method="HEAD"),
                   _get("/chunked", close=True)], True),
    "server closes": ([_get("/plain"), _get("/close")], False),
    "HTTP/1.0": ([b"GET /plain HTTP/1.0\r\nHost: t\r\n\r\n"], False),
    "HEAD, close": ([_get("/plain", method="HEAD", close=True)], False),
    "100-continue": ([_get("/echo", method="POST", body=b"x" * 3000, extra=b"expect: 100-continue\r\n", close=True)],
                     False),
    "fails after start": ([_get("/plain"), _get("/fail-after-start")], False),
    "fails before start": ([_get("/fail-before-start")], False),
    "too long": ([_get("/too-long")], False),
    "too short": ([_get("/too-short")], False),
    "unfinished": ([_get("/plain"), _get("/unfinished")], False),
    "bad request": ([_get("/plain"), b"NOT HTTP AT ALL\r\n\r\n"], False),
}

@pytest.mark.parametrize("name", list(CONVERSATIONS))
def test_same_bytes_on_the_wire(ports, name):
    requests, together = CONVERSATIONS[name]
    before = _exchange(ports["httptools"], requests, together)
    assert before.startswith(b"HTTP/1.")
    assert _exchange(ports[one_write.SPEC], requests, together) == before


class Recorded:
    """A transport that records its writes."""

    def __init__(self):
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data):
        self.writes.append(bytes(data))

    def writelines(self, parts):
        self.writes.append(b"".join(parts))

    def close(self):
        self.closed = True

    def is_closing(self):
        return self.closed

    def get_extra_info(self, name, default=None):
        return default


def test_head_and_body_in_one_write():
    t = Recorded()
    h = HeadHolder(t)
    h.holding = True
    h.write(b"HEAD\r\n\r\n")
    h.holding = False
    assert t.writes == []
    h.write(b"body")
    h.write(b"more")
    assert t.writes == [b"HEAD\r\n\r\nbody", b"more"]


def test_held_head_goes_out_before_anything_else():
    for use in (lambda h: h.flush(), lambda h: h.close(), lambda h: h.is_closing(),
                lambda h: h.get_extra_info("peername")):
        t = Recorded()
        h = HeadHolder(t)
        h.holding = True
        h.write(b"HEAD")
        h.holding = False
        use(h)
        assert t.writes == [b"HEAD"]
        h.flush()
        assert t.writes == [b"HEAD"]  # once


def test_nothing_written_to_a_closed_connection():
    t = Recorded()
    h = HeadHolder(t)
    h.holding = True
    h.write(b"HEAD")
    h.holding = False
    t.closed = True  # the peer went away
    h.close()
    assert t.writes == []


class Counting:
    """A real transport, its writes counted (writelines as one: uvloop makes it one writev)."""

    def __init__(self, transport, log: list[int]):
        self.transport, self.log = transport, log

    def write(self, data):
        self.log.append(len(data))
        self.transport.write(data)

    def writelines(self, parts):
        parts = list(parts)
        self.log.append(sum(map(len, parts)))
        self.transport.writelines(parts)

    def __getattr__(self, name):
        return getattr(self.transport, name)


def test_an_answer_is_one_write(ports, monkeypatch):
    """Through a real server: the head and a body sent in one message go out in one write."""
    log: list[int] = []
    init = HeadHolder.__init__
    monkeypatch.setattr(HeadHolder, "__init__", lambda self, transport: init(self, Counting(transport, log)))
    got = _exchange(ports[one_write.SPEC], [_get("/plain", close=True)])
    assert got.endswith(BIG)
    assert log == [len(got)]  # the whole answer, head and body, in one write


def test_http_option():
    assert one_write.http_option({}) == "auto"  # off by default: uvicorn's own choice, as before (WEB9-1)
    assert one_write.http_option({"HUIQI_ONE_WRITE": "0"}) == "auto"
    assert one_write.http_option({"HUIQI_ONE_WRITE": "1"}) == one_write.SPEC
    assert uvicorn.Config(lambda: None, http=one_write.SPEC).http == one_write.SPEC
    assert issubclass(OneWriteProtocol, uvicorn.protocols.http.httptools_impl.HttpToolsProtocol)


@pytest.fixture(scope="module")
def app_ports(demo_dir, tmp_path_factory):
    """The huiqi app itself served twice from one database: uvicorn's protocol and this one."""
    from huiqi.interfaces.web import create_app

    work = tmp_path_factory.mktemp("one-write")
    web = create_app(f"sqlite:///{work / 'huiqi.db'}", demo_dir, work, announce=lambda _t: None)
    running = {}
    for http in ("httptools", one_write.SPEC):
        port = _free_port()
        srv = uvicorn.Server(uvicorn.Config(web, host="127.0.0.1", port=port, http=http, lifespan="off",
                                            log_level="critical", date_header=False, server_header=False))
        thread = threading.Thread(target=srv.run, daemon=True)
        thread.start()
        running[http] = (srv, thread, port)
    deadline = time.time() + 30
    while not all(srv.started for srv, _t, _p in running.values()):
        assert time.time() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield {http: port for http, (_s, _t, port) in running.items()}
    for srv, thread, _port in running.values():
        srv.should_exit = True
        thread.join(timeout=30)


def test_the_apps_answers_are_the_same_bytes(app_ports):
    """A served check (the fast path), a refused one, a check gzipped, a page's 404, a static file gzipped and HEAD:
    byte for byte with and without the protocol."""
    token = b"t" * 43  # the double-submit CSRF pair of a signed-out caller
    check = b'{"period": "2024Q4", "facts": {"output_q": "898.61\\u4e07\\u5143", "output_q_ly": "800\\u4e07\\u5143"}}'
    auth_headers = b"cookie: huiqi_csrf=" + token + b"\r\nx-csrf-token: " + token + b"\r\n"
    conversation = [
        _get("/api/check", method="POST", body=check, extra=auth_headers),
        _get("/api/check", method="POST", body=check, extra=auth_headers + b"accept-encoding: gzip\r\n"),
        _get("/api/check", method="POST", body=b'{"period": "2024Q9", "facts": {}}', extra=auth_headers),
        _get("/api/check", method="POST", body=check),  # no CSRF token: refused by the framework
        _get("/no-such-page", extra=auth_headers + b"accept: text/html\r\n"),  # its token: the cookie's
        _get("/static/favicon.svg", extra=b"accept-encoding: gzip\r\n"),
        _get("/static/favicon.svg", method="HEAD"),
        _get("/healthz", close=True),
    ]
    before = _exchange(app_ports["httptools"], conversation)
    assert before.count(b"HTTP/1.1 200") >= 5 and b"HTTP/1.1 403" in before and b'"results":[' in before
    assert b"content-encoding: gzip" in before  # the gzipped check: its head and body as gzip sends them
    assert _exchange(app_ports[one_write.SPEC], conversation) == before


@pytest.mark.parametrize("environ, expected", [({}, "auto"), ({"HUIQI_ONE_WRITE": "1"}, one_write.SPEC)])
def test_huiqi_serve_gives_uvicorn_the_protocol(serve_environment, monkeypatch, tmp_path, environ, expected):
    """`huiqi serve` hands the protocol chosen to uvicorn in one process (``http=``) and with --workers (``--http``)."""
    import os

    from typer.testing import CliRunner

    from huiqi.interfaces import cli_serve, web
    from huiqi.interfaces.cli import app as cli
    from huiqi.interfaces.web import serving_gc

    for k, v in environ.items():
        monkeypatch.setenv(k, v)
    runs: list[dict] = []
    monkeypatch.setattr(web, "create_app", lambda *a, **k: "APP")
    monkeypatch.setattr(cli_serve, "warm_calculator", lambda _app: None)
    monkeypatch.setattr(serving_gc, "install", lambda: None)
    monkeypatch.setattr(uvicorn, "run", lambda _app, **kw: runs.append(kw))
    assert CliRunner().invoke(cli, ["serve"]).exit_code == 0
    assert runs[0]["http"] == expected
    seen = {}
    monkeypatch.setattr(cli_serve, "_prepare", lambda *a: None)
    monkeypatch.setattr(os, "execv", lambda exe, argv: seen.setdefault("argv", argv))
    result = CliRunner().invoke(cli, ["serve", "--workers", "2", "--db", f"sqlite:///{tmp_path / 'x.db'}"])
    assert result.exit_code == 0, result.output
    argv = seen["argv"]
    assert argv[argv.index("--http") + 1] == expected
