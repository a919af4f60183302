"""Time to check one entity against all measures of a period (target: one check ≤ 5 ms median).

Prints, per period, the median and p95 over repeated single-entity checks through the Python API (engine +
explanations), beside the path before this change measured in the same run (facts parsed twice, the exclusivity
pass applied twice — reproduced here), the bare evaluator (a batch of one), and the cost per request when 50
different requests are evaluated as one batch (huiqi.services.calculator.check_many, what the web server's
micro-batching does). Samples of the variants are interleaved, so load from other processes hits them alike.
Batches of thousands: benchmarks/bench_screening.py.

Run: .venv/bin/python benchmarks/bench_check.py [--repeat 200]
"""

import argparse
import os
import statistics
import time

from huiqi.engine.evaluate import Evaluation, RuleSet, _apply_exclusivity
from huiqi.engine.explain import Explainer
from huiqi.engine.inputs import facts_frame, normalize_facts
from huiqi.policies.library import default_library
from huiqi.services.calculator import CheckRequest, _result, check, check_many

FACTS = {"output_q": "898.614970万元", "output_q_ly": "816.9227万元", "promo_event_held_q": True,
         "promo_event_cost_q": 700000, "large_expo_attended_q": True, "expo_booth_fee_q": "36800.50",
         "new_market_export_q": "99.99万元"}


def check_before(facts, period, rs, library):
    """The single-check path before this change: facts parsed twice, exclusivity applied twice."""
    internal = normalize_facts(facts, rs.dictionary)
    ev = rs.evaluate(facts_frame([facts], rs.dictionary), period)
    frame = _apply_exclusivity(ev.frame, ev.plan, rs.groups)  # the second pass the evaluator used to make
    ev = Evaluation(rs, period, ev.entity, ev.params, ev.plan, ev.inputs, frame)
    row = ev.frame.row(0, named=True)
    labels = {n: p.label for n, p in rs.parameters.items()}
    explainer = Explainer(rs.dictionary, library, internal, ev.params, labels)
    return [_result(cm, row, explainer, library) for cm in ev.plan]


def facts_variant(i: int) -> dict:
    return {**FACTS, "output_q": f"{8_000_000 + i * 1_000}.01", "promo_event_cost_q": 10_000 * (i % 90)}


def stats(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=200)
    a = ap.parse_args()
    rs, library = RuleSet(), default_library()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (shared machine: figures vary with it)")
    for period in ("2024Q4", "2023Q4", "2026Q3"):
        n_measures = len(rs.measures_for(period))
        batch = [CheckRequest(facts_variant(i), period) for i in range(50)]
        frame = facts_frame([FACTS])
        variants = {
            "check()": lambda: check(FACTS, period, ruleset=rs, library=library),
            "before": lambda: check_before(FACTS, period, rs, library),
            "evaluator": lambda: rs.evaluate(frame, period),
            "batch50": lambda: check_many(batch, rs, library),
        }
        for fn in variants.values():
            fn()  # warm the compiled plan
        samples: dict[str, list[float]] = {k: [] for k in variants}
        for i in range(a.repeat):
            for name, fn in variants.items():
                if name == "batch50" and i % 10:
                    continue  # 50 checks per call: a tenth of the calls is plenty
                t = time.perf_counter()
                fn()
                samples[name].append((time.perf_counter() - t) * 1000)
        (med, p95), (bmed, bp95), (emed, ep95), (b50, b50p95) = (stats(samples[k]) for k in variants)
        print(f"{period}: {n_measures} measures | check() median {med:.2f} ms p95 {p95:.2f} ms"
              f" | before (parse twice, exclusivity twice) median {bmed:.2f} ms p95 {bp95:.2f} ms"
              f" (×{bmed / med:.2f}) | evaluator only median {emed:.2f} ms p95 {ep95:.2f} ms"
              f" | 50 different requests as one batch: {b50:.1f} ms = {b50 / 50:.2f} ms per request"
              f" (×{med / (b50 / 50):.1f} vs one by one)")


if __name__ == "__main__":
    main()
