"""Fixes of this work that are not about equality: the benchmark of one check runs again (it called the
exclusivity pass with an old signature), an idle batcher starts a request at once instead of waiting a window,
and the server process compiles the calculator's plan before it serves."""

from __future__ import annotations

import asyncio
import runpy
import sys
from pathlib import Path

from huiqi.services.calculator import CheckRequest

ROOT = Path(__file__).resolve().parents[1]


def test_bench_check_runs_and_prints_both_paths(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["bench_check.py", "--repeat", "1"])
    runpy.run_path(str(ROOT / "benchmarks" / "bench_check.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert out.count("Polars path median") == 3 and "2024Q4" in out


def test_idle_batcher_starts_at_once_without_a_window(ruleset, monkeypatch):
    """No 3 ms wait for a lone request: the batch is started on the loop's next turn (call_soon), never by a
    timer; a positive HUIQI_CALC_BATCH_MS still waits."""
    from huiqi.policies.library import default_library
    from huiqi.services.calculator_batch import CheckBatcher

    monkeypatch.delenv("HUIQI_CALC_BATCH_MS", raising=False)
    batcher = CheckBatcher(ruleset, default_library())
    assert batcher.enabled and batcher.window < 0 and batcher.max_batch == 8

    async def go():
        loop = asyncio.get_running_loop()

        def no_timer(*_a, **_k):
            raise AssertionError("an idle batcher must not wait for a window")

        monkeypatch.setattr(loop, "call_later", no_timer)
        return await batcher.submit(CheckRequest({"output_q": "1.01"}, "2024Q4"))

    results = asyncio.run(go())
    assert results and batcher.batches == 1
    batcher.close()


def test_server_process_compiles_the_calculator_plan_before_serving(monkeypatch):
    from huiqi.interfaces.cli_serve import warm_calculator
    from huiqi.services import calculator_rows

    calls = []

    class State:
        from huiqi.engine.evaluate import RuleSet

        ruleset = RuleSet()

        def params_for_engine(self, values):
            return {}

        def active_set(self):
            return {"values": {}}

    class App:
        class state:
            web = State()

    monkeypatch.setattr(calculator_rows, "row_plan", lambda *a: calls.append(a) or (None, None))
    warm_calculator(App())
    assert calls and calls[0][1] == "2024Q4" and calls[0][2] == "enterprise"
