"""Accounts, sessions, CSRF and login rate limiting.

- Passwords: argon2id (argon2-cffi), never stored or logged in clear.
- Sessions: server-side rows; the cookie carries a random token, the table stores only its sha256. HttpOnly,
  SameSite=Lax, 8 hours.
- CSRF: every state-changing request (POST/PUT/PATCH/DELETE) must carry the token in the ``X-CSRF-Token`` header
  or a ``csrf_token`` form field. Signed in, it is the session's own token (per session, rotated at login);
  before login (the login form) it is a double-submit cookie.
- Login rate limits (huiqi.interfaces.web.settings, docs/web.md): 5 failures for one user name from one address,
  or 20 from one address across all user names (password spraying), within 5 minutes → 429 until the oldest
  failure leaves the window. The address is the real client's when the request came through a trusted proxy.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from fastapi import HTTPException, Request, Response

from huiqi.interfaces.web import db
from huiqi.interfaces.web.settings import WebSettings
from huiqi.services.caching import Cache

SESSION_COOKIE = "huiqi_session"
CSRF_COOKIE = "huiqi_csrf"
CSRF_HEADER = "X-CSRF-Token"
SESSION_HOURS = 8
DEFAULT_SETTINGS = WebSettings()
ROLES = {"admin": "管理员", "officer": "县区工信部门", "enterprise": "企业"}

_hasher = PasswordHasher()


def stored_hash(precomputed: str, password: str) -> str:
    """``precomputed`` (an argon2 hash of ``password`` made once, offline) if it has this hasher's parameters, else
    a fresh hash: the same strength either way, without ~0.25 s of hashing per password at start-up (START-2)."""
    return _hasher.hash(password) if _hasher.check_needs_rehash(precomputed) else precomputed


# verify against it for unknown users: equal timing (tests verify that it is this password's hash)
DUMMY_PASSWORD = "huiqi-dummy-password"
_DUMMY_HASH = stored_hash("$argon2id$v=19$m=65536,t=3,p=4$+o0fVVDO48YqTjenSFtgwg$YaIaK1KTIWyu2Zv33yZ74UXKsiYo8yzm/+1M15hV+ZM",
                          DUMMY_PASSWORD)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    role: str
    county_code: str | None
    credit_code: str | None

    @property
    def role_label(self) -> str:
        return ROLES.get(self.role, self.role)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_officer(self) -> bool:
        return self.role in ("admin", "officer")

    def to_dict(self) -> dict:
        return {"id": self.id, "username": self.username, "display_name": self.display_name, "role": self.role,
                "role_label": self.role_label, "county_code": self.county_code, "credit_code": self.credit_code}


def _user_from_row(row) -> User:
    return User(row.id, row.username, row.display_name, row.role, row.county_code, row.credit_code)


@lru_cache(maxsize=4096)
def _token_id(token: str) -> str:
    """The stored id of a session cookie. Remembered per cookie value: every request of a session asks (its
    SHA-256 was ~3% of the event loop's time under load, WEB8-3); bounded, so random cookies only evict."""
    return hashlib.sha256(token.encode()).hexdigest()


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# ----------------------------------------------------------------------------------------------------- users
def create_user(engine: sa.Engine, username: str, password: str, role: str, display_name: str,
                county_code: str | None = None, credit_code: str | None = None, *, password_hash: str | None = None) -> int:
    """``password_hash``: the password's hash if already made (stored_hash), else it is hashed here."""
    with engine.begin() as conn:
        result = conn.execute(db.users.insert().values(
            username=username, display_name=display_name, password_hash=password_hash or hash_password(password), role=role,
            county_code=county_code, credit_code=credit_code, active=True, created_at=db.now()))
        return int(result.inserted_primary_key[0])


def get_user(engine: sa.Engine, username: str):
    with engine.connect() as conn:
        return conn.execute(sa.select(db.users).where(db.users.c.username == username)).first()


# ----------------------------------------------------------------------------------------------- rate limit
def _failures(engine: sa.Engine, since, username: str | None, ip: str) -> tuple[int, object]:
    """(number of failures since ``since``, the oldest of them) for one address, one user name or all."""
    t = db.login_failures
    q = sa.select(sa.func.count(), sa.func.min(t.c.at)).where(t.c.ip == ip, t.c.at > since)
    if username is not None:
        q = q.where(t.c.username == username)
    with engine.connect() as conn:
        n, oldest = conn.execute(q).one()
    return int(n), oldest


def recent_failures(engine: sa.Engine, username: str, ip: str, settings: WebSettings = DEFAULT_SETTINGS) -> int:
    return _failures(engine, settings.clock() - settings.login_window, username, ip)[0]


def record_failure(engine: sa.Engine, username: str, ip: str, settings: WebSettings = DEFAULT_SETTINGS) -> None:
    now = settings.clock()
    with engine.begin() as conn:
        conn.execute(db.login_failures.insert().values(username=username, ip=ip, at=now))
        # keep the table small: anything older than the window no longer counts
        conn.execute(db.login_failures.delete().where(db.login_failures.c.at < now - 2 * settings.login_window))


def clear_failures(engine: sa.Engine, username: str, ip: str) -> None:
    with engine.begin() as conn:
        conn.execute(db.login_failures.delete().where(db.login_failures.c.username == username,
                                                      db.login_failures.c.ip == ip))


class LoginError(Exception):
    def __init__(self, status: int, message: str, limit: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.limit = limit  # which limit refused a 429: "user" (one account) or "ip" (one address, all accounts)


def _limited(engine: sa.Engine, username: str, ip: str, settings: WebSettings) -> LoginError | None:
    now = settings.clock()
    since = now - settings.login_window
    for limit, who, most in (("user", username, settings.login_max_failures),
                             ("ip", None, settings.login_max_failures_per_ip)):
        n, oldest = _failures(engine, since, who, ip)
        if n >= most:
            wait = db.aware(oldest) + settings.login_window - now  # until the oldest failure leaves the window
            minutes = max(1, math.ceil(wait.total_seconds() / 60))
            return LoginError(429, f"登录尝试过于频繁，请{minutes}分钟后再试", limit)
    return None


def limit_detail(e: LoginError, settings: WebSettings = DEFAULT_SETTINGS) -> dict:
    """The audit-log detail of a refused login: which limit, its size and window."""
    per_ip = e.limit == "ip"
    return {"限制": "同一地址多个用户名（疑似密码喷洒）" if per_ip else "同一用户名同一地址",
            "上限次数": settings.login_max_failures_per_ip if per_ip else settings.login_max_failures,
            "时间窗（分钟）": int(settings.login_window.total_seconds() // 60)}


def authenticate(engine: sa.Engine, username: str, password: str, ip: str,
                 settings: WebSettings = DEFAULT_SETTINGS) -> User:
    """The user, or LoginError(401/429) with a Chinese message. Failures count toward both rate limits: per
    user name and address, and per address across all user names (password spraying)."""
    username = (username or "").strip()
    refused = _limited(engine, username, ip, settings)
    if refused is not None:
        raise refused
    row = get_user(engine, username) if username else None
    ok = verify_password(row.password_hash if row is not None else _DUMMY_HASH, password or "")
    if row is None or not ok or not row.active:
        record_failure(engine, username, ip, settings)
        raise LoginError(401, "用户名或密码不正确")
    clear_failures(engine, username, ip)
    return _user_from_row(row)


# -------------------------------------------------------------------------------------------------- sessions
def start_session(engine: sa.Engine, user: User) -> tuple[str, str]:
    """A new session: (cookie token, its CSRF token)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(db.sessions.delete().where(db.sessions.c.expires_at < db.now()))
        conn.execute(db.sessions.insert().values(id=_token_id(token), user_id=user.id, csrf=csrf, created_at=db.now(),
                                                 expires_at=db.now() + timedelta(hours=SESSION_HOURS)))
    return token, csrf


SESSION_CACHE_SECONDS = 5.0  # a session row is re-read at most every 5 s (saves a query per request)
# (engine, session id) → (user, csrf, expires): locked, bounded, entries expire by themselves (services.caching)
SESSIONS = Cache("sessions", 10_000, ttl=SESSION_CACHE_SECONDS)


def end_session(engine: sa.Engine, token: str | None) -> None:
    if token:
        SESSIONS.pop((id(engine), _token_id(token)))
        with engine.begin() as conn:
            conn.execute(db.sessions.delete().where(db.sessions.c.id == _token_id(token)))


def session_user(engine: sa.Engine, token: str | None) -> tuple[User, str] | None:
    """(user, session CSRF token) for a valid, unexpired session cookie."""
    if not token:
        return None
    key = (id(engine), _token_id(token))
    hit = SESSIONS.get(key)
    if hit is not None:
        user, csrf, expires = hit
        return (user, csrf) if expires > db.now() else None
    j = db.sessions.join(db.users, db.sessions.c.user_id == db.users.c.id)
    with engine.connect() as conn:
        row = conn.execute(sa.select(db.users, db.sessions.c.csrf, db.sessions.c.expires_at).select_from(j)
                           .where(db.sessions.c.id == key[1])).first()
    if row is None or not row.active or db.aware(row.expires_at) < db.now():
        SESSIONS.pop(key)
        return None
    SESSIONS.put(key, (_user_from_row(row), row.csrf, db.aware(row.expires_at)))
    return _user_from_row(row), row.csrf


def load_user(request: Request) -> None:
    """Attach request.state.user / request.state.csrf (once per request)."""
    if getattr(request.state, "auth_loaded", False):
        return
    found = session_user(request.app.state.web.engine, request.cookies.get(SESSION_COOKIE))
    request.state.user, request.state.session_csrf = (found if found else (None, None))
    request.state.auth_loaded = True


def csrf_token(request: Request) -> str:
    """The token a page must embed: the session's, or (signed out) the double-submit cookie's."""
    load_user(request)
    if request.state.session_csrf:
        return request.state.session_csrf
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf_cookie", None)
    if not token:
        token = secrets.token_urlsafe(32)
        request.state.new_csrf_cookie = token  # set on the response by the middleware
    return token


async def check_csrf(request: Request) -> None:
    """Raise 403 unless a state-changing request carries the right CSRF token."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    load_user(request)
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith("application/x-www-form-urlencoded") or ctype.startswith("multipart/form-data"):
            form = await request.form()
            value = form.get("csrf_token")
            sent = value if isinstance(value, str) else None
    expected = request.state.session_csrf or request.cookies.get(CSRF_COOKIE)
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        raise HTTPException(403, "安全校验失败（CSRF 令牌缺失或不正确），请刷新页面后重试")


# ---------------------------------------------------------------------------------------------- dependencies
# async (run on the event loop, no thread hop): a session is read from the database at most every few seconds
def optional_user(request: Request) -> User | None:
    load_user(request)
    return request.state.user


async def maybe_user(request: Request) -> User | None:
    return optional_user(request)


async def current_user(request: Request) -> User:
    user = optional_user(request)
    if user is None:
        raise HTTPException(401, "请先登录")
    return user


async def officer_user(request: Request) -> User:
    user = await current_user(request)
    if not user.is_officer:
        raise HTTPException(403, "无权访问：仅限工信部门工作人员")
    return user


async def admin_user(request: Request) -> User:
    user = await current_user(request)
    if not user.is_admin:
        raise HTTPException(403, "无权访问：仅限管理员")
    return user


def set_session_cookie(response: Response, token: str, request: Request) -> None:
    """The session cookie of a login, by the API and the login page alike (Secure over https)."""
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", path="/",
                        max_age=SESSION_HOURS * 3600, secure=request.url.scheme == "https")
