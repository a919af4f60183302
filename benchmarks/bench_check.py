"""Time to check one entity against all measures of a period (target: one check ≤ 5 ms median).

Prints, per period, the median and p95 over repeated single-entity checks through the Python API (engine +
explanations): check() — the plan's compiled expressions run per row in Python (huiqi.services.calculator_rows) —
beside the Polars path (the same check evaluated by a Polars select of a one-row frame: the path before the row
plan, and still the path for plans the row compiler does not support), the row evaluation alone, and the cost per
request when 50 different requests go through check_many (what the web server's batcher calls). Samples of the
variants are interleaved, so load from other processes hits them alike. Batches of thousands:
benchmarks/bench_screening.py.

Then, for 2024Q4, what the web benchmark sends: real enterprises' facts (demo data, ~47 fields each, as the facts page
gives them) with 当季工业总产值 varied per request, in batches of 8 as the web batcher forms them — CPU per request
(the explanation memo cleared before each pass), the cyclic GC as the server sets it.
To measure the code before a change with this same script: `PYTHONPATH=/path/to/checkout python benchmarks/bench_check.py`.

`--varied-ab`: only CALC11-1's comparison in one process (a miss made from a remembered result, on and off).

Run: .venv/bin/python benchmarks/bench_check.py [--repeat 200] [--varied-ab]
"""

import argparse
import gc
import itertools
import os
import statistics
import time

from huiqi.engine.evaluate import RuleSet
from huiqi.engine.inputs import normalize_facts
from huiqi.interfaces.web.app import GC_YOUNG_THRESHOLD
from huiqi.policies.library import default_library
from huiqi.services import calculator
from huiqi.services.calculator import CheckRequest, _evaluate_rows, check, check_many
from huiqi.services.calculator_rows import row_plan

FACTS = {"output_q": "898.614970万元", "output_q_ly": "816.9227万元", "promo_event_held_q": True,
         "promo_event_cost_q": 700000, "large_expo_attended_q": True, "expo_booth_fee_q": "36800.50",
         "new_market_export_q": "99.99万元"}


def facts_variant(i: int) -> dict:
    return {**FACTS, "output_q": f"{8_000_000 + i * 1_000}.01", "promo_event_cost_q": 10_000 * (i % 90),
            "output_q_ly": f"{7_000_000 + i * 7}.02"}


def stats(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]


def enterprise_facts(n: int, period: str) -> list[dict]:
    """n demo enterprises' facts as the web's facts page gives them (元 as text, booleans, dates as text)."""
    from decimal import Decimal

    from huiqi.data.synthetic import generate
    from huiqi.services.facts import enterprise_facts as facts_frame

    dictionary = RuleSet().dictionary
    out = []
    for row in facts_frame(generate(n, seed=2024), period).iter_rows(named=True):
        out.append({k: v if isinstance(v, bool) else str(Decimal(v) / 100 if dictionary[k].type in ("money", "number")
                                                           else v)
                    for k, v in row.items()
                    if v is not None and k in dictionary and dictionary[k].entity == "enterprise"})
    return out


def web_like(rs, library, base: list[dict], passes: int = 5, n: int = 1_600, answer: bool = False,
             batch: int = 8) -> float:
    """CPU ms per request (best pass) through check_many in batches of 8, the explanation memo cleared before each
    pass: n requests over the enterprises, each with its own 产值 (so the measures reading it always miss).
    As the web's batcher calls it (the memo's own results, WEB3-1, where this checkout has them); ``answer``: each
    request's JSON answer built too (``presenters.check_json``, as the batcher's thread does); ``batch``: requests
    per check_many call (1: a single client's batches)."""
    import inspect

    from huiqi.interfaces.web.presenters import check_json

    shared = {"shared": True} if "shared" in inspect.signature(check_many).parameters else {}
    gc.set_threshold(*GC_YOUNG_THRESHOLD)  # as the served app sets it (web/app.py, CALCX-4)
    gc.freeze()  # as the web app does once everything is loaded
    best = float("inf")
    for p in range(passes):
        reqs = [CheckRequest({**base[i % len(base)], "output_q": f"{p * n + i}.01"}, "2024Q4") for i in range(n)]
        calculator._MEMO.clear()
        t = time.process_time()
        for k in range(0, n, batch):
            group = reqs[k:k + batch]
            results = check_many(group, rs, library, **shared)
            if answer:
                for req, rs_ in zip(group, results):
                    check_json(rs_, req.period, req.entity, **shared)
        best = min(best, (time.process_time() - t) / n * 1000)
    return best


def varied_ab(rs, library, base: list[dict], rounds: int = 4) -> list[tuple[float, float, float, float]]:
    """CALC11-1 in one process: ``web_like`` (without and with the JSON) with a memo miss made from a remembered
    result (``calculator._varied``) and with that switched off (every miss through ``_result``, the path before),
    alternated: the two differ by a few per cent, less than separate processes' noise on a shared host.
    Each round: (off, on) CPU ms a check, then (off, on) with the JSON."""
    varied = calculator._varied
    out = []
    try:
        for _ in range(rounds):
            figures = {}
            for name, fn in (("off", lambda *_a: None), ("on", varied)):
                calculator._varied = fn
                figures[name] = (web_like(rs, library, base, passes=3), web_like(rs, library, base, passes=3,
                                                                                  answer=True))
            out.append((figures["off"][0], figures["on"][0], figures["off"][1], figures["on"][1]))
    finally:
        calculator._varied = varied
    return out


def hand_off(n: int = 20_000) -> tuple[float, float]:
    """CPU µs of one round trip event loop → worker thread → event loop, as the batcher makes one per batch
    (``run_in_executor``, the result back by ``call_soon_threadsafe``), against a future resolved on the loop itself
    (what computing on the loop's thread would cost instead). uvloop, as the server runs, when installed."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    try:
        import uvloop

        new_loop = uvloop.new_event_loop
    except ImportError:
        new_loop = asyncio.new_event_loop
    executor = ThreadPoolExecutor(max_workers=1)

    def work():
        return sum(range(50))

    async def via_thread():
        loop = asyncio.get_running_loop()
        for _ in range(n):
            await loop.run_in_executor(executor, work)

    async def on_loop():
        loop = asyncio.get_running_loop()
        for _ in range(n):
            future = loop.create_future()
            loop.call_soon(lambda f=future: f.set_result(work()))
            await future

    out = []
    for body in (via_thread, on_loop):
        loop = new_loop()
        t = time.process_time()
        loop.run_until_complete(body())
        out.append((time.process_time() - t) / n * 1e6)
        loop.close()
    executor.shutdown()
    return out[0], out[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=200)
    ap.add_argument("--varied-ab", action="store_true", help="only CALC11-1's same-process comparison (varied_ab)")
    a = ap.parse_args()
    rs, library = RuleSet(), default_library()
    if a.varied_ab:
        base = enterprise_facts(500, "2024Q4")
        web_like(rs, library, base, passes=1)  # warm the plan and templates
        rounds = varied_ab(rs, library, base)
        for off, on, off_json, on_json in rounds:
            print(f"miss made from a remembered result off {off:.3f} / on {on:.3f} ms a check ({on / off:.2f}×); with"
                  f" the JSON off {off_json:.3f} / on {on_json:.3f} ({on_json / off_json:.2f}×)")
        return
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (shared machine: figures vary with it)")
    for period in ("2024Q4", "2023Q4", "2026Q3"):
        n_measures = len(rs.measures_for(period))
        batch = [CheckRequest(facts_variant(i), period) for i in range(50)]
        internal = normalize_facts(FACTS, rs.dictionary)
        counter = itertools.count(1000)
        _plan, fast = row_plan(rs, period, "enterprise", rs.resolve_parameters(), None)
        variants = {
            # a different fact set each call (output_q and a cost vary): explanations of measures reading them are
            # built afresh, the others come from the explanation memo as they would for real requests
            "check()": lambda: check(facts_variant(next(counter)), period, ruleset=rs, library=library),
            "polars": lambda: _evaluate_rows([internal], period, "enterprise", None, rs, library, None, fast=False),
            "rows": lambda: fast.evaluate(internal),
            "batch50": lambda: check_many(batch, rs, library),
        }
        for fn in variants.values():
            fn()  # warm the compiled plan
        samples: dict[str, list[float]] = {k: [] for k in variants}
        for i in range(a.repeat):
            for name, fn in variants.items():
                if name in ("batch50", "polars") and i % 10:
                    continue  # the slow ones: a tenth of the calls is plenty
                t = time.perf_counter()
                fn()
                samples[name].append((time.perf_counter() - t) * 1000)
        (med, p95), (pmed, pp95), (rmed, rp95), (b50, _b50p95) = (stats(samples[k]) for k in variants)
        print(f"{period}: {n_measures} measures | check(), different facts each time: median {med:.2f} ms p95 {p95:.2f} ms"
              f" | Polars path median {pmed:.1f} ms p95 {pp95:.1f} ms (×{pmed / med:.0f})"
              f" | row evaluation only median {rmed:.3f} ms p95 {rp95:.3f} ms"
              f" | 50 different requests through check_many: {b50:.1f} ms = {b50 / 50:.2f} ms per request")
    base = enterprise_facts(500, "2024Q4")
    cpu, with_json = web_like(rs, library, base), web_like(rs, library, base, answer=True)
    print(f"2024Q4, 1,600 checks of 500 real enterprises' facts (产值 varied), batches of 8: CPU {cpu:.3f} ms a check,"
          f" {with_json:.3f} ms with its JSON answer")
    alone = web_like(rs, library, base, answer=True, batch=1)
    print(f"the same checks one at a time (a single client's batches of one): {alone:.3f} ms a check with its JSON")
    thread_us, loop_us = hand_off()
    print(f"hand-off to the batcher's thread and back: {thread_us:.1f} µs of CPU a batch; a future resolved on the"
          f" event loop itself: {loop_us:.1f} µs")


if __name__ == "__main__":
    main()
