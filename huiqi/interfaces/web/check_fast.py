"""POST /api/check without the framework's per-request machinery, for the requests that need none of it.

Under 50 clients the event loop, not the check, is a served check's bottleneck: FastAPI's routing, dependency
resolution, body handling and exception wrappers were ~40% of the server's CPU for this route (py-spy, docs/
decisions.md CALC2-2). This innermost middleware answers the happy path itself with the route's own pieces — the
router's CSRF dependency (`auth.check_csrf`), the route's body model (`api.CheckBody`, after the same `json.loads`
FastAPI does), the route's body (`api.encoded_check_answer`, compressed where it is built) and the same `Response` — and hands **everything else**
untouched to the FastAPI route, the request body replayed message for message: a CSRF refusal, a body that is
not JSON or not a valid CheckBody, an unusual content type, a refused check (it is recomputed there), any error.
So there is no second set of refusals or validation: every refusal is the framework's, worded as before.

``GET /api/search`` likewise (WEB3-2): a query string of plain parameters the route declares (``q`` of at most 200
characters, ``limit`` written as 1…100, ``level``, ``document``, ``status``, none repeated) is answered by the
route's body (``api.search_answer``); any other query string, or any refusal, goes to the framework's route.

``POST /calculator/check`` likewise (WEB12-1): a urlencoded form sent with htmx's ``X-CSRF-Token`` header (what
the page sends), at most ``PAGE_BODY_MAX`` bytes, is answered by the route's own steps (``pages.calculator_answer``)
after the page router's CSRF dependency (``auth.check_csrf``, which also reads the session as the route's
``maybe_user`` does; the route restricts no one). Anything else — a refused token, a value the route refuses (its
422 fragment), multipart, a token in the form, a bigger body, any error — goes to the framework's route.

The check's answer is compressed where it is built, in the batcher's worker thread, when the request accepts zstd
or gzip (``compression.batcher_encoding``: the middleware's own choice; ``HUIQI_COMPRESS_IN_BATCHER=0`` leaves it to
the middleware, on the loop) and handed to the compression middleware already encoded, which passes it untouched
(WEB12-2).

``HUIQI_FAST_CHECK=0`` (or ``ENABLED = False``) sends every request through FastAPI (the path before this).
"""

from __future__ import annotations

import json
import os
import re

import orjson

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from huiqi.interfaces.web import auth
from huiqi.interfaces.web.compression import batcher_encoding, encoded_headers

PATH = "/api/check"
PAGE_PATH = "/calculator/check"
PAGE_TYPE = "application/x-www-form-urlencoded"  # the route reads the form itself only for this type (pages.py)
PAGE_BODY_MAX = 256 << 10  # the page's form is ~5 KB; a larger body is left to the route, read as it always was
# the content types FastAPI parses as JSON that clients actually send; anything else goes the framework's way
JSON_TYPES = frozenset({"application/json", "application/json; charset=utf-8"})
ENABLED = os.environ.get("HUIQI_FAST_CHECK", "1").strip() != "0"
SEARCH_PATH = "/api/search"
SEARCH_PARAMS = frozenset({"q", "limit", "level", "document", "status"})
Q_MAX = 200  # the route's Query(max_length=200)
LIMIT = re.compile(r"[1-9][0-9]?|100")  # the route's 1 ≤ limit ≤ 100, in the one spelling every client sends


class FastCheck:
    """Pure ASGI middleware, innermost (inside the security headers and gzip, as the route's response is)."""

    def __init__(self, app, body_model, answer, search=None, page=None):
        # the routes' body model and bodies (api.CheckBody, api.encoded_check_answer, api.search_answer,
        # pages.calculator_answer), given by app.py: only the app's wiring imports route modules (tests/test_layers.py)
        self.app, self.body_model, self.answer, self.search, self.page = app, body_model, answer, search, page

    async def __call__(self, scope, receive, send):
        if not (ENABLED and scope["type"] == "http" and not scope.get("root_path")):
            return await self.app(scope, receive, send)
        if scope["path"] == PAGE_PATH and scope["method"] == "POST" and self.page is not None:
            return await self._page(scope, receive, send)
        if scope["path"] == SEARCH_PATH and scope["method"] == "GET" and self.search is not None:
            payload = await _search(scope, self.search)
            if payload is None:
                return await self.app(scope, receive, send)
            return await Response(payload, media_type="application/json")(scope, receive, send)
        if not (scope["path"] == PATH and scope["method"] == "POST"):
            return await self.app(scope, receive, send)
        received: list[dict] = []
        try:
            body = await _read_body(receive, received)
        except Exception as e:  # noqa: BLE001 — the framework meets the same error at the same point
            return await self.app(scope, _replay(received, receive, e), send)
        answer = await _answer(scope, body, self.body_model, self.answer) if body else None
        if answer is None:
            return await self.app(scope, _replay(received, receive), send)
        payload, coding = answer
        await Response(payload, media_type="application/json", headers=encoded_headers(coding))(scope, receive, send)

    async def _page(self, scope, receive, send):
        request = Request(scope)
        if not (request.headers.get(auth.CSRF_HEADER)
                and request.headers.get("content-type", "").startswith(PAGE_TYPE)):
            return await self.app(scope, receive, send)  # the route reads such a form through Starlette
        received: list[dict] = []
        try:
            body = await _read_body(receive, received, PAGE_BODY_MAX)
        except Exception as e:  # noqa: BLE001 — the framework meets the same error at the same point
            return await self.app(scope, _replay(received, receive, e), send)
        answer = None
        if body is not None:
            try:
                await auth.check_csrf(request)  # the page router's dependency, unchanged (a refusal: the route's)
                answer = await self.page(request, body, batcher_encoding(scope))
            except Exception:  # noqa: BLE001 — refused (HTTPException, WebError) or unusual: the route answers it
                answer = None
        if answer is None:
            return await self.app(scope, _replay(received, receive), send)
        html, coding = answer
        await HTMLResponse(html, headers=encoded_headers(coding))(scope, receive, send)


_LONG_INTEGER = re.compile(rb"\d{19}")  # orjson reads an integer beyond 64 bits as a float, json as an int


def loads(body: bytes):
    """``json.loads(body)`` (what FastAPI calls), by orjson where it gives the same value (~4× faster for a check's
    body): a UTF-8 document without an integer of 19 digits or more. orjson refuses what json reads differently
    or not at all (NaN, Infinity, 1e400, lone surrogates, UTF-16/32, a BOM); those, and any digit run of 19 or more
    (even inside a string), are read by the json module itself (tests/web/test_fast_search.py)."""
    if not _LONG_INTEGER.search(body):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    return json.loads(body)


async def _read_body(receive, received: list[dict], limit: int | None = None) -> bytes | None:
    """The whole request body (None if the client went away first, or once more than ``limit`` bytes came: the
    rest is left for the framework to read); every message kept for a replay."""
    chunks, size = [], 0
    while True:
        message = await receive()
        received.append(message)
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if limit is not None and size > limit:
            return None
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(received: list[dict], receive, error: Exception | None = None):
    """A receive that gives the framework the messages already read, in order (then the error reading stopped
    at, once), then the client's own."""
    pending = list(received)

    async def replay():
        nonlocal error
        if pending:
            return pending.pop(0)
        if error is not None:
            e, error = error, None
            raise e
        return await receive()

    return replay


async def _answer(scope, body: bytes, body_model, answer) -> tuple[bytes, str] | None:
    """The route's JSON answer as (bytes, coding), or None for anything the framework should handle (refusals
    included)."""
    request = Request(scope)
    if (request.headers.get("content-type") or "").lower() not in JSON_TYPES:
        return None
    try:
        await auth.check_csrf(request)  # the API router's dependency, unchanged
        checked = body_model.model_validate(loads(body))
        return await answer(scope["app"].state.web, checked, batcher_encoding(scope))
    except Exception:  # noqa: BLE001 — refused (HTTPException, ValueError, ValidationError, WebError) or unusual:
        return None  # the framework's route answers it (and words any refusal) exactly as without this path


async def _search(scope, search) -> bytes | None:
    """The search route's JSON answer, or None for anything the framework should handle (refusals included)."""
    params = Request(scope).query_params  # the framework's own parsing of the query string
    items = params.multi_items()
    if len(items) != len(params) or not params.keys() <= SEARCH_PARAMS:  # a repeated or undeclared parameter
        return None
    q, limit = params.get("q"), params.get("limit", "20")
    if q is None or len(q) > Q_MAX or not LIMIT.fullmatch(limit):
        return None
    try:
        return await search(scope["app"].state.web, q, int(limit), params.get("level"), params.get("document"),
                            params.get("status"))
    except Exception:  # noqa: BLE001 — refused (WebError: a level, status or document the index does not know)
        return None  # the framework's route answers it exactly as without this path
