"""The FastAPI application: REST API under /api (OpenAPI at /api/docs) and Chinese pages (Jinja2 + htmx).

    from huiqi.interfaces.web import create_app
    app = create_app("sqlite:///var/huiqi.db", "var/demo")
"""

from __future__ import annotations

import re
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.datastructures import MutableHeaders

from huiqi.core.bounds import OutOfBounds
from huiqi.interfaces.web import auth, schemas
from huiqi.interfaces.web.settings import WebSettings
from huiqi.interfaces.web.state import WebError, WebState

HERE = Path(__file__).parent
CJK = re.compile(r"[\u4e00-\u9fff]")
# what people read when a framework's own exception carries an English reason phrase
_STATUS_TEXT = {400: "请求体无法解析（应为 UTF-8 编码的 JSON 或表单）", 401: "请先登录", 403: "无权访问",
                413: "请求内容过大", 429: "请求过于频繁，请稍后再试", 500: "服务器内部错误，请稍后重试"}

_VALIDATION = {
    "missing": "缺少此项", "string_type": "应为文本", "int_parsing": "应为整数", "int_type": "应为整数",
    "float_parsing": "应为数值", "bool_parsing": "应为 是/否", "dict_type": "应为对象", "list_type": "应为列表",
    "json_invalid": "不是有效的 JSON", "model_attributes_type": "应为对象", "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大", "string_too_long": "文本过长", "string_too_short": "文本过短",
    "literal_error": "取值不在允许范围内", "extra_forbidden": "不认识的字段", "string_pattern_mismatch": "格式不正确",
    "value_error": "取值有误",
}


_PARAM_LABELS = {"body": "请求体", "page": "页码", "offset": "起始位置", "limit": "条数", "page_size": "每页条数"}


def _validation_fields(exc: RequestValidationError) -> list[dict]:
    """Each problem as {field, message}: the field as the request names it, the reason in Chinese."""
    fields = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err.get("loc", ()) if x not in ("body", "query", "path", "form"))
        if err.get("type") == "json_invalid":  # FastAPI locates it at ("body", <character offset>)
            loc = "body"
        reason = _VALIDATION.get(err.get("type", ""), "取值有误")
        if err.get("type") == "literal_error" and err.get("ctx", {}).get("expected"):
            reason += f"（可选：{err['ctx']['expected']}）"
        limit = err.get("ctx", {}).get("le", err.get("ctx", {}).get("ge"))
        if err.get("type") in ("less_than_equal", "greater_than_equal") and limit is not None:
            reason += f"（{'最大' if err['type'] == 'less_than_equal' else '最小'}为{limit}）"
        fields.append({"field": loc or "请求", "message": reason})
    return fields


def _validation_message(fields: list[dict]) -> str:
    parts = [f"{_PARAM_LABELS.get(f['field'], f['field'])}：{f['message']}" for f in fields[:5]]
    return "请求数据有误：" + "；".join(parts)


_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'")


class SecurityHeaders:
    """Pure ASGI middleware (cheaper than @app.middleware): security headers on every response, and the
    double-submit CSRF cookie when a page handed out a new pre-login token."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        state = scope.setdefault("state", {})
        docs = scope["path"].startswith("/api/docs")

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                new = state.get("new_csrf_cookie")
                if new:
                    secure = "; Secure" if scope.get("scheme") == "https" else ""
                    headers.append("set-cookie", f"{auth.CSRF_COOKIE}={new}; Path=/; SameSite=Strict{secure}")
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "same-origin")
                if not docs:  # Swagger UI starts itself with an inline script
                    headers.setdefault("Content-Security-Policy", _CSP)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def telemetry_config(environ=None) -> dict | None:
    """FastAPI's own OpenTelemetry instrumentation asks the global providers on every request whether any is set
    up (~8 µs, 5% of the event loop's time for a served check). Nothing in huiqi sets one up, so it is off unless
    the deployment asks for it: HUIQI_TELEMETRY=1, or any OTEL_* variable (as `opentelemetry-instrument` and the
    OpenTelemetry SDK's environment configuration use). None: FastAPI's defaults."""
    import os

    environ = os.environ if environ is None else environ
    if environ.get("HUIQI_TELEMETRY", "").lower() in ("1", "true", "on") or any(k.startswith("OTEL_") for k in environ):
        return None
    return {"tracing": False, "metrics": False, "logs": False}


def declared_openapi_order(app: FastAPI, declared: list[str]) -> None:
    """/api/openapi.json lists the paths in the order they were declared, although the routes under load are
    matched first (api.HOT_PATHS): the document, and Swagger UI's order of tags and operations, stay as written."""
    generate = app.openapi

    def openapi() -> dict:
        spec = generate()
        paths = spec.get("paths", {})
        rank = {p: i for i, p in enumerate(declared)}
        order = sorted(paths, key=lambda p: (0, rank[p]) if p in rank else (1, 0))  # stable for the others
        if list(paths) != order:
            spec["paths"] = {p: paths[p] for p in order}
        return spec

    app.openapi = openapi


def create_app(db_url: str = "sqlite:///var/huiqi.db", data_dir: str | Path = "var/demo",
               work_dir: str | Path | None = None, *, seed_demo: bool = True, announce=print,
               settings: WebSettings | None = None, recover_jobs: bool = True) -> FastAPI:
    """The web application. On start: creates the tables, loads the demo data (generating it if ``data_dir`` is
    missing), seeds the demo accounts (passwords printed once), and creates the current parameter set.
    ``settings``: trusted proxies and login limits (default: from the environment, huiqi.interfaces.web.settings)."""
    settings = settings if settings is not None else WebSettings.from_env()
    state = WebState(db_url, data_dir, work_dir, seed_demo=seed_demo, announce=announce, recover_jobs=recover_jobs)
    state.settings = settings

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        import asyncio

        # the search index a moment after the server is up: built at once, its thread took ~0.25 s of CPU from the
        # first answers (measured); a search before then builds it itself (START-5)
        timer = asyncio.get_running_loop().call_later(SEARCH_INDEX_AFTER_S, state.build_search_index)
        state.watch_data()  # another worker's (or `huiqi import`'s) data, reloaded here within ~1 s (SYNC-1)
        yield
        timer.cancel()
        batcher = state.attachment("calc_batcher")
        if batcher is not None:
            batcher.close()
        state.shutdown()

    app = FastAPI(title="惠企 huiqi — 惠企政策服务平台 API", version="0.1.0", docs_url=None, telemetry=telemetry_config(),
                  redoc_url=None, openapi_url="/api/openapi.json", lifespan=lifespan,
                  description="政策库、政策计算器、免申即享筛查、参数与预算、数据导入。金额为整数分（*_fen）和两位小数的"
                              "元字符串（*_yuan），或万元字符串（*_wan），从不用浮点数。状态变更请求须带 X-CSRF-Token "
                              "请求头（GET /api/csrf 或登录后获取）。所有错误的响应体都是 "
                              '{"error": {"code", "message", "fields"}}（docs/api.md）。')
    app.state.web = state
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals["csrf_token"] = auth.csrf_token
    app.state.templates = templates
    from huiqi.interfaces.web.templating import install_filters

    install_filters(templates.env)
    # measure names for lists that carry only IDs (issue 11: the name is shown, the ID stays in a hover)
    templates.env.globals["MEASURE_NAMES"] = {mid: m.name for mid, (m, _f) in state.ruleset.measures.items()}
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    from huiqi.interfaces.web import api as api_routes, pages as page_routes
    from huiqi.interfaces.web.check_fast import FastCheck

    # innermost: POST /api/check's happy path without the framework, with the route's own model and body (CALC2-2)
    app.add_middleware(FastCheck, body_model=api_routes.CheckBody, answer=api_routes.encoded_check_answer,
                       search=api_routes.search_answer,  # and GET /api/search's (WEB3-2)
                       page=page_routes.calculator_answer)  # and the calculator page's form (WEB12-1)
    app.add_middleware(SecurityHeaders)
    # zstd or gzip for answers of 1 KB and more, inline at a fast level; static files once, at a high level, kept
    # (web/compression.py, decisions COMPRESS11). Excel and Parquet are already compressed.
    from huiqi.interfaces.web.compression import Compression

    app.add_middleware(Compression)
    if settings.trusted_proxies:
        # outermost: the client address and scheme are the original ones before anything else reads them (the
        # login limit keys on the address, the session cookie gets Secure for https); only from these proxies
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))

    def wants_json(request: Request) -> bool:
        return request.url.path.startswith("/api")

    def error_response(request: Request, status: int, message: str, fields: list[dict] | None = None,
                       headers=None):
        if wants_json(request):  # the API's one error body (schemas.ErrorBody, docs/api.md)
            return schemas.error_json(status, message, fields, headers)
        if status == 401 and request.method == "GET" and not request.headers.get("HX-Request"):
            return RedirectResponse(f"/login?next={quote(str(request.url.path))}", status_code=303)
        name = "_error.html" if request.headers.get("HX-Request") else "error.html"
        try:
            user = auth.optional_user(request)
        except Exception:  # the database itself failing: still say so in Chinese
            user = None
        return templates.TemplateResponse(request, name, {"status": status, "message": message, "user": user,
                                                          "active_nav": ""}, status_code=status)

    @app.exception_handler(WebError)
    async def _web_error(request: Request, exc: WebError):
        fields = [{"field": k, "message": v} for k, v in exc.fields.items()]
        return error_response(request, exc.status, exc.message, fields)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException):
        message = exc.detail if isinstance(exc.detail, str) else "请求有误"
        if exc.status_code == 404 and message == "Not Found":
            message = "页面或资源不存在"
        if exc.status_code == 405:
            message = "不支持此请求方法"
        if not CJK.search(message):  # FastAPI's own English texts ("There was an error parsing the body") are not shown
            message = _STATUS_TEXT.get(exc.status_code, "请求有误")
        return error_response(request, exc.status_code, message, headers=getattr(exc, "headers", None))

    from starlette.exceptions import HTTPException as StarletteHTTPException

    @app.exception_handler(StarletteHTTPException)
    async def _starlette_error(request: Request, exc: StarletteHTTPException):
        message = {404: "页面或资源不存在", 405: "不支持此请求方法"}.get(exc.status_code)
        if message is None:  # Starlette's own English reason phrases are not shown to people
            message = exc.detail if CJK.search(str(exc.detail)) else _STATUS_TEXT.get(exc.status_code, "请求有误")
        return error_response(request, exc.status_code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        fields = _validation_fields(exc)
        return error_response(request, 422, _validation_message(fields), fields)

    @app.exception_handler(OutOfBounds)
    async def _out_of_bounds(request: Request, exc: OutOfBounds):
        # a service's own bounds check (core/bounds.py: a control character in a reason, an amount too large)
        # that no handler turned into a WebError: the value's fault, a 422 with its Chinese reason — not a 500
        # (schemathesis: POST /api/payout/rows/{id}/decision with U+0096 in the reason)
        return error_response(request, 422, f"输入有误：{exc}")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        # the server's fault: Starlette's ServerErrorMiddleware re-raises after this, so the server logs the
        # traceback; the caller gets the one error body or the Chinese error page — no traceback, path or SQL
        return error_response(request, 500, "服务器内部错误，请稍后重试；如持续出现请联系管理员")

    from huiqi.interfaces.web import api, dashboard, pages, payout, sandbox
    from huiqi.interfaces.web import calendar as calendar_routes

    # a screening job's last steps: what the 驾驶舱 and the sandbox would compute on a first visit, into the
    # database (item 6); registered here so that the store (state.py) imports no route module
    state.screenings.after_run += [
        ("预先计算驾驶舱", lambda job, _run: dashboard.precompute(state, job["period"])),
        ("预先计算政策沙盘示例", lambda _job, _run: sandbox.precompute_presets(state))]

    # every /api operation declares the one error body for its error statuses (schemas.ERROR_RESPONSES)
    app.include_router(api.router, responses=schemas.ERROR_RESPONSES)
    app.include_router(sandbox.api_router, responses=schemas.ERROR_RESPONSES)  # 政策沙盘 POST /api/simulations …
    app.include_router(dashboard.api_router, responses=schemas.ERROR_RESPONSES)  # 运行监测 GET /api/monitoring …
    app.include_router(pages.router)
    app.include_router(sandbox.page_router)  # /sandbox
    app.include_router(dashboard.page_router)  # /dashboard
    app.include_router(calendar_routes.router, responses=schemas.ERROR_RESPONSES)  # 政策月历 /calendar, /api/calendar.ics
    app.include_router(payout.router, responses=schemas.ERROR_RESPONSES)  # 兑现管理 /payout, 公示 /gongshi, /api/payout …

    declared_openapi_order(app, api.DECLARED_PATHS)

    @app.get("/", include_in_schema=False)
    def index(request: Request):
        user = auth.optional_user(request)
        if user is None:
            return RedirectResponse("/policies", status_code=303)
        target = "/workbench" if user.is_officer else "/calculator"
        return RedirectResponse(target, status_code=303)

    @app.get("/api/docs", include_in_schema=False)
    def api_docs():
        from fastapi.openapi.docs import get_swagger_ui_html

        # served from the app's own static folder: no CDN
        return get_swagger_ui_html(openapi_url="/api/openapi.json", title="惠企 API 文档",
                                   swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
                                   swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
                                   swagger_favicon_url="/static/favicon.svg")

    @app.get("/healthz", include_in_schema=False)
    def healthz():
        return {"ok": True, "data_hash": state.data_hash, "rules_version": state.ruleset.version}

    # everything loaded so far (library, rules, data) lives as long as the process: keep it out of the cyclic
    # garbage collector's full passes, which otherwise stall every request now and then. Only the young generations
    # are collected first: a full pass walked every object start-up made (0.07–0.17 s) to find ~40 garbage objects,
    # and serving_gc's periodic full collection unfreezes and frees those (START-8)
    import gc

    gc.collect(1)
    gc.freeze()
    # The cyclic collector's default (a young collection every 700 net allocations) ran hundreds of times a second
    # under load: each check allocates thousands of short-lived objects and the explanation memo keeps some. Measured
    # with 50 clients: ~15-20% of the server's CPU per check and a third of its p99 (docs/decisions.md CALCX-4).
    # The serving process's policy, so set here beside the freeze (it was in the batcher's constructor).
    if gc.get_threshold()[0] < GC_YOUNG_THRESHOLD[0]:
        gc.set_threshold(*GC_YOUNG_THRESHOLD)
    return app


SEARCH_INDEX_AFTER_S = 1.0  # seconds after start-up before the search index is built on a thread
GC_YOUNG_THRESHOLD = (50_000, 20, 100)  # gc.set_threshold for the serving process (CALCX-4)


def app_from_env() -> FastAPI:
    """For `uvicorn --factory huiqi.interfaces.web.app:app_from_env` (HUIQI_DB, HUIQI_DATA, HUIQI_WORK; the settings
    of huiqi.interfaces.web.settings, e.g. HUIQI_TRUSTED_PROXIES).

    ``huiqi serve --workers N`` starts N processes with this factory after preparing the database once
    (HUIQI_PREPARED=1): a worker then neither seeds the demo accounts nor fails "interrupted" screening jobs —
    a job still running belongs to another worker, not to a crashed process."""
    import os

    from huiqi.interfaces.cli_serve import warm_calculator

    prepared = os.environ.get("HUIQI_PREPARED") == "1"
    app = create_app(os.environ.get("HUIQI_DB", "sqlite:///var/huiqi.db"), os.environ.get("HUIQI_DATA", "var/demo"),
                     os.environ.get("HUIQI_WORK") or None, seed_demo=not prepared, recover_jobs=not prepared)
    warm_calculator(app)  # each worker compiles the calculator's plan before it accepts requests
    from huiqi.interfaces.web import serving_gc

    serving_gc.install()  # a serving process: its collector's policy (web/serving_gc.py)
    return app
