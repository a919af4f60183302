"""Issue 11 items 3 and 6: the web's use cases are services — screening jobs pass ``prior`` like the CLI, caches
are safe across threads, the 驾驶舱 and the sandbox presets are served from what the screening precomputed."""

from __future__ import annotations

import threading
import time

import polars as pl
import pytest

from .conftest import Web

RATES = {"gx2023_02_rate": "0.01", "gx2023_03_rate": "0.01"}  # 2023's measures with an annual cap (cap_year 500万)


@pytest.fixture(scope="module")
def web(demo_dir, tmp_path_factory):
    work = tmp_path_factory.mktemp("services")
    w = Web(f"sqlite:///{work / 'huiqi.db'}", demo_dir, work)
    admin = w.state.user("admin")
    active = w.state.active_set()
    w.state.save_parameter_set(admin, active["id"], None, RATES, None, "2023年增产增效奖励比例", activate=True)
    yield w
    w.state.shutdown()


def settled(web: Web, client, period: str) -> dict:
    """A screening, waited for until what it precomputes is there too (the job's step says 完成)."""
    job = web.screening(client, period)
    deadline = time.time() + 300
    while job["step"] != "完成" and time.time() < deadline:
        time.sleep(0.2)
        job = client.get(f"/api/screenings/{job['id']}").json()
    assert job["step"] == "完成", job
    return job


def test_web_screening_passes_prior_like_cli(web):
    """The web screened every quarter as if nothing had been paid before in the year: 2023Q2 ignored what 2023Q1
    paid against the 500万 annual cap. Now a later quarter gets the earlier quarters' awards (from the job table)
    exactly as `huiqi screen --prior <Q1 results.parquet>` does."""
    from huiqi.engine.allocate import AllocationOptions
    from huiqi.services.award_list import read_results
    from huiqi.services.screening import screen

    c = web.client("admin")
    q1 = settled(web, c, "2023Q1")
    q2 = settled(web, c, "2023Q2")
    assert q2["manifest"]["prior_jobs"] == [q1["id"]]
    state = web.state
    runs = state.runs_dir
    prev = read_results(runs / q1["id"] / "results.parquet")  # the CLI's --prior, read as the CLI reads it
    prior = prev.group_by("entity_id", "measure_id").agg(pl.col("final_fen").sum().alias("prior_fen"))
    params = state.params_for_engine(state.active_set()["values"])
    cli = screen(dict(state.tables), "2023Q2", params=params, options=AllocationOptions("pro_rata", prior),
                 ruleset=state.ruleset)
    without = screen(dict(state.tables), "2023Q2", params=params, ruleset=state.ruleset)
    key = ["entity_id", "measure_id", "final_fen"]
    web_q2 = read_results(runs / q2["id"]).select(key).sort(key)
    assert web_q2.equals(cli.results.select(key).sort(key))
    assert web_q2["final_fen"].sum() < without.total_fen()  # the cap binds: the defect would pay more
    # the ScreeningRun rebuilt on another worker (or after a restart) respects the same earlier run
    state.screenings.runs.clear()
    assert state.run_for(q2["id"]).manifest["run_id"] == q2["run_id"]


def test_cache_builds_once_under_concurrent_access():
    from huiqi.services.caching import Cache

    cache = Cache("test", 4)
    built = []
    gate = threading.Event()

    def build(key):
        gate.wait(5)
        built.append(key)
        return key * 2

    results: list[int] = []
    threads = [threading.Thread(target=lambda k=k: results.append(cache.get_or_build(k % 3, lambda: build(k % 3))))
               for k in range(30)]
    for t in threads:
        t.start()
    time.sleep(0.1)
    gate.set()
    for t in threads:
        t.join()
    assert sorted(built) == [0, 1, 2]  # one build per key, however many asked at once
    assert sorted(results) == sorted(2 * (k % 3) for k in range(30))
    errors = []

    def churn(n):  # eviction, clearing and reads at once never corrupt the LRU
        try:
            for i in range(2000):
                cache.put((n, i % 7), i)
                cache.get((n, (i + 3) % 7))
                if i % 500 == 0:
                    cache.clear()
        except Exception as e:  # pragma: no cover - the failure itself
            errors.append(e)

    workers = [threading.Thread(target=churn, args=(n,)) for n in range(8)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert not errors and len(cache) <= 4


def test_dashboard_and_presets_served_from_precomputed_store(web, monkeypatch):
    """After a screening the 驾驶舱 of its quarter and every sandbox preset are read from the database — also by a
    process that never computed them (its own caches empty): the evaluator is not called again."""
    from huiqi.interfaces.web.sandbox import PRESETS, preset_form
    from huiqi.services import monitoring, simulation

    c = web.client("admin")
    job = settled(web, c, "2023Q3")
    state = web.state
    for name in ("monitor_reports", "scenarios", "sandbox_records"):  # as a fresh worker process would start
        state._attachments.pop(name, None)

    def refuse(*_a, **_k):
        raise AssertionError("不应重新计算：应读取筛查时预先计算的结果")

    monkeypatch.setattr(monitoring, "monitor", refuse)
    monkeypatch.setattr(simulation.Simulator, "run", refuse)
    monkeypatch.setattr(simulation.Simulator, "__init__", refuse)
    for user in ("admin", "liunan"):
        client = c if user == "admin" else web.client(user)
        started = time.perf_counter()
        r = client.get(f"/dashboard?period={job['period']}")
        assert r.status_code == 200, r.text[:300]
        for key in PRESETS:
            r = client.post("/sandbox/run", data=dict(preset_form(state, key).multi_items()) | {
                "measures": preset_form(state, key).getlist("measures")}, headers=client.csrf)
            assert r.status_code == 200, r.text[:300]
        assert time.perf_counter() - started < 5


def test_sandbox_export_works_on_a_worker_that_did_not_run_it(web):
    """The last 16 comparisons lived in one process's memory: an export routed to another worker (or after a
    restart) answered 404. The request is now in the database and the comparison is re-run where it is asked."""
    c = web.client("liunan")
    body = {"period": "2026Q3", "measures": ["lz2026q3-4.1a", "lz2026q3-4.1b", "lz2026q3-4.2"],
            "base_params": {"lz2026q3_budget": "10000000"}, "params": {"lz2026q3-4.1b.cap": "50000"}}
    r = c.post("/api/simulations", json=body, headers=c.csrf)
    assert r.status_code == 200, r.text
    sim_id = r.json()["id"]
    for name in ("sandbox", "sandbox_records"):  # as another worker process (old and new holders)
        web.state._attachments.pop(name, None)
    r = c.get(f"/api/simulations/{sim_id}/export.xlsx")
    assert r.status_code == 200 and r.content[:2] == b"PK"
    other = web.client("officer2")
    assert other.get(f"/api/simulations/{sim_id}/export.xlsx").status_code == 403
