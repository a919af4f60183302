"""Response compression (pure ASGI): zstd when the client accepts it, else gzip, at levels chosen by measurement.

Dynamic answers (a check's ~165 KB of JSON, pages, search) are compressed inline at a fast level: zstd level 1 takes
~0.18 ms for a check's answer (26 KB), gzip level 1 ~0.8 ms (29 KB); Starlette's GZipMiddleware took level 5 in a
worker thread, ~3 ms of server CPU a check with the hop (decision COMPRESS11-2). Static files never change between
requests: each is compressed once per (path, ETag, size, encoding) at a high level, in a worker thread, and kept in
a bounded cache (COMPRESS11-3). Responses to requests a browser says another site started (`Sec-Fetch-Site:
cross-site` / `same-site`) are not compressed: BREACH needs such requests (COMPRESS11-4).
"""

from __future__ import annotations

import os
import re
import threading
import zlib
from functools import lru_cache

import anyio.to_thread
import zstandard
from cachetools import LRUCache

ZSTD_LEVEL = 1  # measured on a check's answer: level 3 costs 40% more CPU for 5% fewer bytes
GZIP_LEVEL = 1  # level 5 (Starlette's setting here) doubles the CPU for 16% fewer bytes
STATIC_ZSTD_LEVEL = 19  # once per file: ECharts 1.1 MB → 312 KB in ~0.5 s (gzip 9: 368 KB)
STATIC_GZIP_LEVEL = 9
MINIMUM_SIZE = 1024  # below this the headers outweigh the saving
INLINE_MAX = 1 << 20  # larger bodies are compressed in a worker thread, not on the event loop
STATIC_CACHE_BYTES = 32 << 20  # all of /static compressed both ways is ~1.5 MB; room for more

# already compressed, or a stream a client reads as it arrives (Starlette's list, and ours: Excel and Parquet are
# zip/zstd inside, octet-stream is what downloads are sent as)
EXCLUDED_TYPES = frozenset({
    "application/grpc", "application/gzip", "application/x-gzip", "application/zip", "application/zstd",
    "audio/*", "font/woff", "font/woff2", "image/avif", "image/gif", "image/jpeg", "image/png", "image/webp",
    "text/event-stream", "video/*", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.apache.parquet", "application/octet-stream", "application/pdf",
})
NOT_COMPRESSED_STATUS = frozenset({204, 206, 304})
_SERVER_ORDER = ("zstd", "gzip")  # on equal q-values: zstd is both smaller and ~4× cheaper
_CODINGS = {"zstd": "zstd", "gzip": "gzip", "x-gzip": "gzip"}  # x-gzip: RFC 9110 §8.4.1.3
_CROSS_SITE = (b"cross-site", b"same-site")


_QVALUE = re.compile(r"0(\.[0-9]{0,3})?|1(\.0{0,3})?")


def _quality(text: str) -> float | None:
    """An RFC 9110 qvalue (0 … 1, up to three decimals), or None if it is not one."""
    text = text.strip()
    return float(text) if _QVALUE.fullmatch(text) else None


@lru_cache(maxsize=512)  # clients send a handful of distinct headers; junk costs one entry each
def choose_encoding(header: str | None) -> str:
    """"zstd", "gzip" or "identity" for an Accept-Encoding header: the acceptable coding the client ranks highest
    (q-values, `*` for codings not named, `q=0` refuses), zstd before gzip on a tie. No header, junk or nothing
    acceptable: identity (sent even when the header refuses it: an answer is better than a 406)."""
    if not header:
        return "identity"
    named: dict[str, float] = {}
    star: float | None = None
    for item in header.split(","):
        token, *params = item.split(";")
        token = token.strip().lower()
        q: float | None = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                q = _quality(value)
        if q is None or not token:
            continue  # an entry that is not well-formed says nothing
        if token == "*":
            star = q
        elif token in _CODINGS:
            coding = _CODINGS[token]
            named[coding] = max(named.get(coding, 0.0), q)
    best, best_q = "identity", 0.0
    for coding in _SERVER_ORDER:
        q = named.get(coding, star if star is not None else 0.0)
        if q > best_q:
            best, best_q = coding, q
    return best


_local = threading.local()  # a ZstdCompressor is not thread-safe; one per thread and level, kept


def _zstd(level: int) -> zstandard.ZstdCompressor:
    kept = getattr(_local, "zstd", None)
    if kept is None:
        kept = _local.zstd = {}
    if level not in kept:
        kept[level] = zstandard.ZstdCompressor(level=level)
    return kept[level]


def compress(body: bytes, encoding: str, level: int) -> bytes:
    """The whole body as one zstd frame or gzip member (the same bytes for the same input)."""
    if encoding == "zstd":
        return _zstd(level).compress(body)  # ~0.02 ms less a check than a new compressor each time
    return zlib.compress(body, level, wbits=31)  # a gzip member, mtime 0: the same bytes every time


def request_encoding(scope) -> str:
    """The coding this middleware answers the request with: the client's Accept-Encoding (all its headers), or
    identity for a request another site started (no length oracle for BREACH, COMPRESS11-4)."""
    accept = None
    for name, value in scope["headers"]:
        if name == b"accept-encoding":
            accept = value if accept is None else accept + b"," + value
        elif name == b"sec-fetch-site" and value.strip().lower() in _CROSS_SITE:
            return "identity"
    return choose_encoding(accept.decode("latin-1")) if accept else "identity"


# HUIQI_COMPRESS_IN_BATCHER=0: the calculator's answers leave the batcher plain and this middleware compresses them
# on the event loop (the path before WEB12-2), for measuring one against the other
IN_BATCHER = os.environ.get("HUIQI_COMPRESS_IN_BATCHER", "1").strip() != "0"


def batcher_encoding(scope) -> str:
    """The coding a calculator answer is compressed with where it is built (``request_encoding``), or identity when
    that is switched off (the middleware then compresses the plain answer itself, as for every other answer)."""
    return request_encoding(scope) if IN_BATCHER else "identity"


def encode(body: bytes, encoding: str) -> tuple[bytes, str]:
    """A whole dynamic answer as this middleware would send it: (compressed body, coding) at the dynamic level, or
    (body, "identity") for identity or a body under the minimum. For callers that compress off the event loop (the
    calculator's answers, in the batcher's thread: WEB12-2) and hand the middleware a body already encoded."""
    if encoding == "identity" or len(body) < MINIMUM_SIZE:
        return body, "identity"
    return compress(body, encoding, _level(encoding)), encoding


def encoded_headers(encoding: str) -> dict[str, str]:
    """The headers of an answer ``encode`` gave: what the middleware sets on a body it compressed (it passes a
    body with Content-Encoding untouched); none for identity (the middleware adds Vary to a plain answer itself)."""
    return {} if encoding == "identity" else {"content-encoding": encoding, "vary": "Accept-Encoding"}


class _Stream:
    """Incremental compression of a streamed body: each chunk flushed, so the client sees it as it is sent."""

    def __init__(self, encoding: str):
        if encoding == "zstd":
            # its own compressor: streams interleave on the event loop, and one compressor has one context
            self._zstd = zstandard.ZstdCompressor(level=ZSTD_LEVEL).compressobj()
            self._zlib = None
        else:
            self._zstd, self._zlib = None, zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)

    def chunk(self, body: bytes, last: bool) -> bytes:
        if self._zstd is not None:
            out = self._zstd.compress(body)
            return out + self._zstd.flush(zstandard.COMPRESSOBJ_FLUSH_FINISH if last
                                          else zstandard.COMPRESSOBJ_FLUSH_BLOCK)
        return self._zlib.compress(body) + self._zlib.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


def _excluded(content_type: bytes) -> bool:
    media = content_type.decode("latin-1").partition(";")[0].strip().lower()
    return media in EXCLUDED_TYPES or media.partition("/")[0] + "/*" in EXCLUDED_TYPES


class Compression:
    """The middleware. ``static_prefix``: paths whose 200 answers are files (StaticFiles), compressed once."""

    def __init__(self, app, *, minimum_size: int = MINIMUM_SIZE, static_prefix: str = "/static/",
                 static_cache_bytes: int = STATIC_CACHE_BYTES):
        self.app = app
        self.minimum_size = minimum_size
        self.static_prefix = static_prefix
        self.static = LRUCache(maxsize=static_cache_bytes, getsizeof=len)
        self.pending: dict[tuple, anyio.Event] = {}  # static files being compressed: later asks wait for it

    async def static_body(self, key: tuple | None, body: bytes, encoding: str) -> bytes:
        """A static file's compressed bytes: from the cache, or compressed once in a worker thread while any other
        request for the same version waits (50 pages loading ECharts after a restart: one 0.5 s job, not 50)."""
        level = STATIC_ZSTD_LEVEL if encoding == "zstd" else STATIC_GZIP_LEVEL
        if key is None:
            return await anyio.to_thread.run_sync(compress, body, encoding, level)
        while (packed := self.static.get(key)) is None and (running := self.pending.get(key)) is not None:
            await running.wait()
        if packed is not None:  # compressed meanwhile, by the request that went first
            return packed
        self.pending[key] = done = anyio.Event()
        try:
            packed = await anyio.to_thread.run_sync(compress, body, encoding, level)
            if len(packed) <= self.static.maxsize:  # LRUCache refuses a value larger than the whole cache
                self.static[key] = packed
        finally:
            del self.pending[key]
            done.set()
        return packed

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] == "HEAD":
            return await self.app(scope, receive, send)
        encoding = request_encoding(scope)
        static = scope["path"].startswith(self.static_prefix)
        await _Response(self, encoding, static, send).run(scope, receive)


class _Response:
    """One response through the middleware: the start held until the first body says whether to compress."""

    __slots__ = ("owner", "encoding", "static", "send", "start", "mode", "stream", "parts", "key")

    def __init__(self, owner: Compression, encoding: str, static: bool, send):
        self.owner, self.encoding, self.static, self.send = owner, encoding, static, send
        self.start = None
        self.mode = "wait"  # wait → pass | stream | collect (a static file) | done (sent from the cache)
        self.stream: _Stream | None = None
        self.parts: list[bytes] = []
        self.key = None

    async def run(self, scope, receive):
        self.key = scope["path"]
        await self.owner.app(scope, receive, self.on_message)

    async def on_message(self, message):
        kind = message["type"]
        if self.mode == "pass":
            return await self.send(message)
        if self.mode == "done":
            return None
        if kind == "http.response.start":
            return await self._on_start(message)
        if kind != "http.response.body":  # pathsend, trailers, early hints: sent as they are, the start first
            if self.start is not None and kind == "http.response.pathsend":
                await self.send(self.start)
                self.start, self.mode = None, "pass"
            return await self.send(message)
        body, more = message.get("body", b""), message.get("more_body", False)
        if self.mode == "stream":
            message["body"] = self.stream.chunk(body, last=not more)
            return await self.send(message)
        if self.mode == "collect":
            return await self._collect(body, more)
        # the first body
        if not more and len(body) < self.owner.minimum_size:
            self.mode = "pass"
            await self.send(self.start)
            return await self.send(message)
        headers = self.start["headers"]
        _add_vary(headers)
        if self.encoding == "identity":
            self.mode = "pass"
            await self.send(self.start)
            return await self.send(message)
        if self.static and self.start["status"] == 200:
            self.mode = "collect"
            return await self._collect(body, more)
        if not more:
            self.mode = "pass"
            packed = (compress(body, self.encoding, _level(self.encoding)) if len(body) <= INLINE_MAX else
                      await anyio.to_thread.run_sync(compress, body, self.encoding, _level(self.encoding)))
            _set_encoded(headers, self.encoding, len(packed))
            await self.send(self.start)
            return await self.send({"type": "http.response.body", "body": packed})
        self.mode, self.stream = "stream", _Stream(self.encoding)
        _set_encoded(headers, self.encoding, None)
        await self.send(self.start)
        message["body"] = self.stream.chunk(body, last=False)
        return await self.send(message)

    async def _on_start(self, message):
        headers = message["headers"] = list(message.get("headers", ()))
        status = message["status"]
        compressible = status >= 200 and status not in NOT_COMPRESSED_STATUS
        for name, value in headers:
            if name == b"content-encoding" or (name == b"content-type" and _excluded(value)):
                compressible = False
        if not compressible:
            self.mode = "pass"
            return await self.send(message)
        self.start = message
        if self.static and status == 200 and self.encoding != "identity":
            self.key = _static_key(self.key, headers, self.encoding)
            packed = self.owner.static.get(self.key) if self.key else None
            if packed is not None:  # the file as it is on disk now (its ETag and size are in the key)
                self.mode = "done"
                _add_vary(headers)
                _set_encoded(headers, self.encoding, len(packed))
                await self.send(message)
                await self.send({"type": "http.response.body", "body": packed})
        return None

    async def _collect(self, body: bytes, more: bool):
        self.parts.append(body)
        if more:
            return None
        whole = b"".join(self.parts)
        self.parts = []
        packed = await self.owner.static_body(self.key, whole, self.encoding)
        self.mode = "done"
        _set_encoded(self.start["headers"], self.encoding, len(packed))
        await self.send(self.start)
        await self.send({"type": "http.response.body", "body": packed})


def _level(encoding: str) -> int:
    return ZSTD_LEVEL if encoding == "zstd" else GZIP_LEVEL


def _static_key(path: str, headers: list, encoding: str):
    """(path, ETag, size, encoding): StaticFiles' ETag is a hash of the file's mtime and size, so a file changed on
    disk gets a new key. None (not cached) without an ETag."""
    etag = size = None
    for name, value in headers:
        if name == b"etag":
            etag = value
        elif name == b"content-length":
            size = value
    return (path, etag, size, encoding) if etag else None


def _add_vary(headers: list) -> None:
    for i, (name, value) in enumerate(headers):
        if name == b"vary":
            if b"accept-encoding" not in value.lower() and value.strip() != b"*":
                headers[i] = (name, value + b", Accept-Encoding")
            return
    headers.append((b"vary", b"Accept-Encoding"))


def _set_encoded(headers: list, encoding: str, length: int | None) -> None:
    """The start's headers for an encoded body: Content-Encoding, the new length (none for a stream), and a weak
    ETag (the bytes differ from the file's; StaticFiles still answers If-None-Match with W/ as a 304)."""
    kept = []
    for name, value in headers:
        if name == b"content-length":
            continue
        if name == b"etag" and not value.startswith(b"W/"):
            value = b"W/" + value
        kept.append((name, value))
    kept.append((b"content-encoding", encoding.encode()))
    if length is not None:
        kept.append((b"content-length", str(length).encode()))
    headers[:] = kept
