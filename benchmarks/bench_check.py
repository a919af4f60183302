"""Time to check one entity against all measures of a period (target: well under 50 ms).

Prints the median and p95 over repeated single-entity checks through the Python API (engine + explanations)
and through the bare evaluator (a batch of one). Batches: benchmarks/bench_screening.py.
Run: .venv/bin/python benchmarks/bench_check.py
"""

import statistics
import time

from huiqi.engine.evaluate import RuleSet
from huiqi.engine.inputs import facts_frame
from huiqi.services.calculator import check

FACTS = {"output_q": "898.614970万元", "output_q_ly": "816.9227万元", "promo_event_held_q": True,
         "promo_event_cost_q": 700000, "large_expo_attended_q": True, "expo_booth_fee_q": "36800.50",
         "new_market_export_q": "99.99万元"}


def timed(fn, n):
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    out.sort()
    return statistics.median(out), out[int(len(out) * 0.95) - 1]


def main():
    rs = RuleSet()
    for period in ("2024Q4", "2023Q4", "2026Q3"):
        n_measures = len(rs.measures_for(period))
        check(FACTS, period, ruleset=rs)  # warm the compiled plan
        med, p95 = timed(lambda: check(FACTS, period, ruleset=rs), 200)
        frame = facts_frame([FACTS])
        emed, ep95 = timed(lambda: rs.evaluate(frame, period), 200)
        print(f"{period}: {n_measures} measures | check() with explanations median {med:.2f} ms p95 {p95:.2f} ms"
              f" | evaluator only median {emed:.2f} ms p95 {ep95:.2f} ms")


if __name__ == "__main__":
    main()
