"""Fixtures for the web application: demo data (2,000 synthetic enterprises, seed 7), an app per database
backend (SQLite, and PostgreSQL through tests/pg.py when its binaries are installed), logged-in clients."""

from __future__ import annotations

import sys
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pg import postgres_url  # noqa: E402,F401  (a pytest fixture)

warnings.filterwarnings("ignore", message=".*httpx.*", category=DeprecationWarning)

from huiqi.interfaces.web.state import DEMO_COUNTY, DEMO_PASSWORDS  # noqa: E402

OTHER_PASSWORD = "Other-Password-2024"


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    from huiqi.data.synthetic import generate, write_parquet

    d = tmp_path_factory.mktemp("demo")
    write_parquet(generate(2_000, seed=7), d)
    return d


def reset_database(url: str) -> None:
    """Drop the web tables and the data tables (PostgreSQL is shared by the whole test session)."""
    from huiqi.data.store import Store
    from huiqi.interfaces.web import db

    from huiqi.data.payout_tables import metadata as payout_metadata

    engine = db.make_engine(url)
    payout_metadata.drop_all(engine)
    db.drop_all(engine)
    engine.dispose()
    store = Store(url)
    store.drop_all()
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")  # the next app start migrates afresh
    store.close()


class Web:
    """An app with its demo accounts plus a second officer (another county) and two more enterprise users."""

    def __init__(self, url: str, demo_dir: Path, work: Path):
        from huiqi.interfaces.web import create_app

        self.url = url
        self.app = create_app(url, demo_dir, work, announce=lambda _text: None)
        self.state = self.app.state.web
        ent = self.state.enterprises
        self.own = self.state.enterprise_of("qiye")
        lz = ent.filter(pl.col("county_code") == DEMO_COUNTY)["credit_code"].to_list()
        self.same_county_other = next(c for c in lz if c != self.own)  # enterprise B, same county as A
        counts = ent.filter(pl.col("county_code") != DEMO_COUNTY).group_by("county_code").len() \
            .sort(["len", "county_code"], descending=[True, False])
        self.other_county = counts["county_code"][0]
        self.other_county_ent = ent.filter(pl.col("county_code") == self.other_county)["credit_code"][0]
        admin = self.state.user("admin")
        self.state.add_user(admin, "officer2", OTHER_PASSWORD, "officer", "另一县区工信局", self.other_county, None)
        self.state.add_user(admin, "qiye2", OTHER_PASSWORD, "enterprise", "同县区另一企业", None, self.same_county_other)
        self.state.add_user(admin, "qiye3", OTHER_PASSWORD, "enterprise", "外县区企业", None, self.other_county_ent)
        self.passwords = {**DEMO_PASSWORDS, "officer2": OTHER_PASSWORD, "qiye2": OTHER_PASSWORD,
                          "qiye3": OTHER_PASSWORD}

    def client(self, username: str | None = None):
        """A TestClient (own cookie jar), logged in as ``username``; .csrf holds the headers to send."""
        from fastapi.testclient import TestClient

        c = TestClient(self.app)
        token = c.get("/api/csrf").json()["csrf_token"]
        c.csrf = {"X-CSRF-Token": token}
        if username:
            r = c.post("/api/login", json={"username": username, "password": self.passwords[username]},
                       headers=c.csrf)
            assert r.status_code == 200, r.text
            c.csrf = {"X-CSRF-Token": r.json()["csrf_token"]}
        return c

    def screening(self, client, period: str = "2024Q4", timeout: float = 120) -> dict:
        r = client.post("/api/screenings", json={"period": period}, headers=client.csrf)
        assert r.status_code == 202, r.text
        job_id = r.json()["job_id"]
        deadline = time.time() + timeout
        while time.time() < deadline:
            job = client.get(f"/api/screenings/{job_id}").json()
            if job["status"] in ("已完成", "失败"):
                assert job["status"] == "已完成", job
                return job
            time.sleep(0.2)
        raise AssertionError("筛查超时")


@contextmanager
def sqlite_web(demo_dir: Path, tmp_path_factory, name: str):
    """The same app as every web test on its own SQLite file (for tests that need one backend only)."""
    work = tmp_path_factory.mktemp(name)
    w = Web(f"sqlite:///{work / 'huiqi.db'}", demo_dir, work)
    try:
        yield w
    finally:
        w.state.shutdown()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def web(request, demo_dir, tmp_path_factory):
    work = tmp_path_factory.mktemp("web")
    if request.param == "sqlite":
        url = f"sqlite:///{work / 'huiqi.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
        reset_database(url)
    w = Web(url, demo_dir, work)
    yield w
    w.state.shutdown()


def pytest_configure(config):
    config.addinivalue_line("filterwarnings", "ignore:Using `httpx` with `starlette.testclient`")
