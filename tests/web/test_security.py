"""Issue 8 (security) through the web application: county takeover by upload, formula injection in the CSV
download, trusted proxy headers (Secure cookie, the real client address) and the per-address login limit."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import polars as pl
import pytest
import sqlalchemy as sa

from huiqi.interfaces.web import db
from huiqi.interfaces.web.state import DEMO_COUNTY

CJK = re.compile(r"[\u4e00-\u9fff]")


def chinese_error(r, status: int) -> str:
    assert r.status_code == status, (r.status_code, r.text)
    detail = r.json()["error"]["message"]
    assert isinstance(detail, str) and CJK.search(detail), detail
    return detail


# ------------------------------------------------------------------------------------------ county takeover
def test_county_officer_cannot_take_over_another_countys_enterprise_by_upload(web, tmp_path):
    """柳南区's officer uploads 柳北区's (another county's) enterprise with 柳南区's code: the file alone looks fine,
    the database says otherwise. 403, the message names row and column, nothing is written."""
    victim = web.other_county_ent
    before = web.state.county_of[victim]
    f = tmp_path / "企业名录.csv"
    f.write_text("统一社会信用代码,企业名称,县区代码,行业代码,行业\n"
                 f"{victim},被改名的企业,{DEMO_COUNTY},3421,机械\n", encoding="utf-8")
    o = web.client("liunan")
    r = o.post("/api/imports", files=[("files", (f.name, f.read_bytes(), "text/csv"))], headers=o.csrf)
    detail = chinese_error(r, 403)
    assert "第2行" in detail and "统一社会信用代码" in detail and "其他县区" in detail
    assert "/tmp" not in detail and "credit_code" not in detail
    assert web.state.county_of[victim] == before
    stored = web.state.store.read("enterprises", where={"credit_code": victim})
    assert stored.height == 0 or stored["county_code"].to_list() == [before]


# --------------------------------------------------------------------------------------- formula injection
def test_csv_download_neutralises_formula_injection(web, monkeypatch):
    """An enterprise named =HYPERLINK(…) (or +, -, @, tab, CR) reaches the downloaded CSV as text."""
    evil = ["=HYPERLINK(\"http://evil\")", "+1+cmd", "-1+2", "@SUM(A1)", "\t=1", "\r=1"]
    frame = pl.DataFrame({"entity": ["enterprise"] * len(evil), "entity_id": [f"E{i}" for i in range(len(evil))],
                          "measure_id": ["m"] * len(evil), "name": evil, "county_code": [DEMO_COUNTY] * len(evil),
                          "status": ["符合"] * len(evil), "final_fen": [-150, 0, 1, 2, 3, 4]})
    monkeypatch.setattr(web.state, "results", lambda job_id: frame)
    monkeypatch.setattr(web.state, "job", lambda job_id: {"period": "2024Q4"})
    r = web.client("admin").get("/api/screenings/x/export.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"), newline="")))
    assert [row["name"] for row in rows] == ["'" + e for e in evil]
    assert rows[0]["final_yuan"] == "-1.50"  # a number stays a number


# ----------------------------------------------------------------------------------------- behind a proxy
class Clock:
    def __init__(self):
        self.now = db.now()

    def __call__(self):
        return self.now


@pytest.fixture(scope="module")
def proxied(demo_dir, tmp_path_factory):
    """An app behind a TLS proxy at 127.0.0.1 (trusted), with a clock the test moves."""
    from huiqi.interfaces.web import create_app
    from huiqi.interfaces.web.settings import WebSettings

    work = tmp_path_factory.mktemp("proxied")
    clock = Clock()
    settings = WebSettings(trusted_proxies=("127.0.0.1",), clock=clock)
    app = create_app(f"sqlite:///{work / 'huiqi.db'}", demo_dir, work, announce=lambda _t: None, settings=settings)
    app.clock = clock
    yield app
    app.state.web.shutdown()


def client(app, address: str):
    from fastapi.testclient import TestClient

    c = TestClient(app, client=(address, 40000), base_url="http://huiqi.example")
    c.csrf = {"X-CSRF-Token": c.get("/api/csrf").json()["csrf_token"]}
    return c


def login(c, username: str, password: str, forwarded_for: str | None = None, proto: str | None = None):
    headers = dict(c.csrf)
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    if proto:
        headers["X-Forwarded-Proto"] = proto
    return c.post("/api/login", json={"username": username, "password": password}, headers=headers)


def _clear_failures(app):
    with app.state.web.engine.begin() as conn:
        conn.execute(db.login_failures.delete())


def test_session_cookie_is_secure_behind_a_tls_proxy(proxied):
    """X-Forwarded-Proto: https from the trusted proxy → the session cookie gets Secure; the same header from an
    untrusted address is ignored."""
    from huiqi.interfaces.web.state import DEMO_PASSWORDS

    r = login(client(proxied, "127.0.0.1"), "admin", DEMO_PASSWORDS["admin"], "198.51.100.7", "https")
    assert r.status_code == 200, r.text
    cookie = [v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith("huiqi_session=")]
    assert cookie and "secure" in cookie[0].lower()
    r = login(client(proxied, "192.0.2.99"), "admin", DEMO_PASSWORDS["admin"], "198.51.100.7", "https")
    cookie = [v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith("huiqi_session=")]
    assert cookie and "secure" not in cookie[0].lower()


def test_login_limit_keys_on_the_real_client_behind_a_proxy(proxied):
    """Five failures from one client through the proxy lock that client out, not everyone behind the proxy; the
    audit log records the client's address."""
    from huiqi.interfaces.web.state import DEMO_PASSWORDS

    _clear_failures(proxied)
    c = client(proxied, "127.0.0.1")
    for _ in range(5):
        chinese_error(login(c, "liunan", "bad-guess", "203.0.113.5"), 401)
    chinese_error(login(c, "liunan", DEMO_PASSWORDS["liunan"], "203.0.113.5"), 429)
    assert login(c, "liunan", DEMO_PASSWORDS["liunan"], "203.0.113.6").status_code == 200
    with proxied.state.web.engine.connect() as conn:
        ips = set(conn.execute(sa.select(db.login_failures.c.ip)).scalars())
    assert ips == {"203.0.113.5"}
    # a client that is not a trusted proxy cannot choose its address by header
    spoof = client(proxied, "192.0.2.50")
    chinese_error(login(spoof, "liunan", "bad-guess", "203.0.113.77"), 401)
    with proxied.state.web.engine.connect() as conn:
        ips = set(conn.execute(sa.select(db.login_failures.c.ip)).scalars())
    assert "192.0.2.50" in ips and "203.0.113.77" not in ips
    _clear_failures(proxied)


def test_password_spraying_across_user_names_is_limited(proxied):
    """20 failures from one address over 20 different user names → that address is refused (429, Chinese, with the
    minutes to wait) even for a correct password, with an audit entry; other addresses are not; the lock lifts when
    the window has passed (injected clock: no waiting)."""
    from huiqi.interfaces.web.state import DEMO_PASSWORDS

    _clear_failures(proxied)
    c = client(proxied, "127.0.0.1")
    for i in range(20):
        chinese_error(login(c, f"user{i:02d}", "Winter2024!", "203.0.113.9"), 401)
    detail = chinese_error(login(c, "qiye", DEMO_PASSWORDS["qiye"], "203.0.113.9"), 429)
    assert detail == "登录尝试过于频繁，请5分钟后再试"
    assert login(client(proxied, "127.0.0.1"), "qiye", DEMO_PASSWORDS["qiye"], "203.0.113.10").status_code == 200
    with proxied.state.web.engine.connect() as conn:
        entry = conn.execute(sa.select(db.audit_log).where(db.audit_log.c.action == "登录受限")
                             .order_by(db.audit_log.c.id.desc())).first()
    assert entry.ip == "203.0.113.9" and entry.target == "qiye"
    assert "密码喷洒" in json.loads(entry.detail)["限制"]
    proxied.clock.now += timedelta(minutes=3)
    assert chinese_error(login(c, "qiye", DEMO_PASSWORDS["qiye"], "203.0.113.9"), 429) == "登录尝试过于频繁，请2分钟后再试"
    proxied.clock.now += timedelta(minutes=2, seconds=1)
    assert login(c, "qiye", DEMO_PASSWORDS["qiye"], "203.0.113.9").status_code == 200
    _clear_failures(proxied)


def test_login_limits_are_settings():
    from huiqi.interfaces.web.settings import WebSettings

    s = WebSettings.from_env({"HUIQI_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8", "HUIQI_LOGIN_MAX_FAILURES": "3",
                              "HUIQI_LOGIN_MAX_FAILURES_PER_IP": "50", "HUIQI_LOGIN_WINDOW_MINUTES": "10"})
    assert s.trusted_proxies == ("127.0.0.1", "10.0.0.0/8")
    assert (s.login_max_failures, s.login_max_failures_per_ip, s.login_window) == (3, 50, timedelta(minutes=10))
    assert WebSettings.from_env({}).trusted_proxies == ()
    with pytest.raises(ValueError, match="受信任代理"):
        WebSettings.from_env({"HUIQI_TRUSTED_PROXIES": "proxy.example"})
    with pytest.raises(ValueError, match="正整数"):
        WebSettings.from_env({"HUIQI_LOGIN_MAX_FAILURES": "many"})
