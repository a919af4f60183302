"""Imported data reach every server process (issue 9 item 4, docs/decisions.md SYNC-1).

A write that changes data rows raises the data's version in the database, in its own transaction; each process of
`huiqi serve --workers N` watches that version and reloads the data when it moves. Every process computes the data
from the same files and rows the same way, so they hold equal tables and an equal data hash — and so does a
restarted server, which before this held another hash after a second import and refused the earlier jobs' Excel as
数据已变化.
"""

from __future__ import annotations

import time

import polars as pl
import pytest
import requests

from huiqi.data.store import Store  # the version's own tests: tests/data/test_store.py
from huiqi.interfaces.web.state import WebState
from tests.web.served import served

QUIET = {"announce": lambda _text: None}


@pytest.fixture()
def served_data(tmp_path):
    from huiqi.data.synthetic import generate, write_parquet

    data = tmp_path / "data"
    data.mkdir()
    write_parquet(generate(300, seed=11), data)
    return f"sqlite:///{tmp_path / 'web.db'}", data, tmp_path / "work"  # WebState's order


def _renamed(state: WebState, rows: slice, name: str) -> dict[str, pl.DataFrame]:
    ent = state.tables["enterprises"].slice(rows.start, rows.stop - rows.start)
    return {"enterprises": ent.with_columns(pl.lit(name).alias("name"))}


def _names(state: WebState, name: str) -> list[str]:
    return sorted(state.tables["enterprises"].filter(pl.col("name") == name)["credit_code"].to_list())


def _worker(url, data, work) -> WebState:
    """Another process's state on the same database: a worker does not seed accounts nor recover jobs."""
    return WebState(url, data, work, seed_demo=False, recover_jobs=False, **QUIET)


def test_an_import_in_one_process_reaches_another_with_the_same_hash_as_a_restart(served_data):
    """Two imports in process A; B reloads each (refresh_data) and a new process C computes the same hash. Before,
    A's hash after the second import (chained from its own earlier one) differed from any restarted server's."""
    a, b = WebState(*served_data, **QUIET), _worker(*served_data)
    assert a.data_hash == b.data_hash and a.data_version == b.data_version == 0
    assert b.refresh_data() is False  # nothing changed: no reload
    first = a.data_hash
    assert a.apply_import(_renamed(a, slice(0, 2), "新名称机械有限公司")) == {"enterprises": 2}
    assert a.data_hash != first and a.data_version == 1
    assert _names(b, "新名称机械有限公司") == []  # not yet seen by B
    assert b.refresh_data() is True and b.data_hash == a.data_hash
    a.apply_import(_renamed(a, slice(5, 8), "再改名称机械有限公司"))
    assert b.refresh_data() is True
    restarted = _worker(*served_data)
    assert a.data_hash == b.data_hash == restarted.data_hash
    for state in (b, restarted):
        assert _names(state, "新名称机械有限公司") == _names(a, "新名称机械有限公司") and len(_names(a, "新名称机械有限公司")) == 2
        assert _names(state, "再改名称机械有限公司") == _names(a, "再改名称机械有限公司")
        assert state.tables["enterprises"].equals(a.tables["enterprises"])
        assert state.enterprise(_names(a, "再改名称机械有限公司")[0])["name"] == "再改名称机械有限公司"
    for state in (a, b, restarted):
        state.shutdown()


def test_an_import_that_changes_nothing_keeps_the_hash(served_data):
    a = WebState(*served_data, **QUIET)
    renamed = _renamed(a, slice(0, 1), "新名称机械有限公司")
    a.apply_import(renamed)
    kept = (a.data_hash, a.data_version)
    assert a.apply_import(renamed) == {"enterprises": 0}
    assert (a.data_hash, a.data_version) == kept
    a.shutdown()


def test_huiqi_import_on_the_same_database_reaches_a_running_server(served_data):
    """`huiqi import --db` writes through the Store: the served process reloads it too."""
    url = served_data[0]
    served = WebState(*served_data, **QUIET)
    code = served.tables["enterprises"]["credit_code"][3]
    changed = _renamed(served, slice(3, 4), "命令行导入机械有限公司")
    store = Store(url)
    assert store.write_many(changed) == {"enterprises": 1}
    store.close()
    assert served.refresh_data() is True
    assert served.enterprise(code)["name"] == "命令行导入机械有限公司"
    served.shutdown()


def test_the_watch_reloads_within_seconds_and_stops_at_shutdown(served_data):
    a, b = WebState(*served_data, **QUIET), _worker(*served_data)
    watcher = b.watch_data(every=0.05)
    a.apply_import(_renamed(a, slice(0, 3), "新名称机械有限公司"))
    deadline = time.monotonic() + 20
    while b.data_hash != a.data_hash:
        assert time.monotonic() < deadline, "the watch did not reload the imported data"
        time.sleep(0.05)
    assert _names(b, "新名称机械有限公司") == _names(a, "新名称机械有限公司")
    b.shutdown()
    assert not watcher.is_alive()
    a.shutdown()


@pytest.mark.slow
def test_an_import_over_http_reaches_every_worker_of_the_real_server(demo_dir, tmp_path):
    """`huiqi serve --workers 2`: an enterprise renamed by an upload to whichever worker takes it is shown renamed
    within seconds on 40 new connections (spread over both workers by the kernel: tests/web/test_serve_workers.py)."""
    with served(demo_dir, tmp_path) as (proc, port, log):
        base, deadline = f"http://127.0.0.1:{port}", time.time() + 180
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=5).ok:
                    break
            except requests.ConnectionError:
                pass
            assert proc.poll() is None and time.time() < deadline, log.read_text()[-3000:]
            time.sleep(0.3)
        time.sleep(3)  # the second worker up too (each answers /healthz once it serves)

        def session() -> requests.Session:
            s = requests.Session()
            token = s.get(f"{base}/api/csrf", timeout=30).json()["csrf_token"]
            r = s.post(f"{base}/api/login", json={"username": "admin", "password": "Huiqi-Admin-2024"},
                       headers={"X-CSRF-Token": token}, timeout=30)
            assert r.status_code == 200, r.text
            s.headers["X-CSRF-Token"] = r.json()["csrf_token"]
            return s

        admin = session()
        one = admin.get(f"{base}/api/enterprises", params={"limit": 1}, timeout=30).json()["enterprises"][0]
        code = one["credit_code"]
        full = admin.get(f"{base}/api/enterprises/{code}", timeout=30).json()
        csv = tmp_path / "企业.csv"
        csv.write_text("统一社会信用代码,企业名称,县区代码,行业代码,行业\n"
                       f"{code},多进程同步测试机械有限公司,{full['county_code']},{full['industry_code']},{full['sector']}\n",
                       encoding="utf-8")
        r = admin.post(f"{base}/api/imports", files=[("files", (csv.name, csv.read_bytes(), "text/csv"))], timeout=60)
        assert r.status_code == 200 and r.json()["ok"], r.text
        deadline = time.time() + 30
        while True:  # every new connection (a new session each: its own socket) sees the new name
            names = [session().get(f"{base}/api/enterprises/{code}", timeout=30).json()["name"] for _ in range(40)]
            if set(names) == {"多进程同步测试机械有限公司"}:
                break
            assert time.time() < deadline, f"a worker still shows the old name: {names}"
            time.sleep(0.5)
