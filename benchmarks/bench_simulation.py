"""政策沙盘 benchmark: a scenario against the baseline over N synthetic enterprises, and an inverse solve.

In one fresh process per size (data cached under /tmp/huiqi-bench-<N>, see bench_screening.ensure_data):
  1. baseline screening, end to end from the Parquet tables (huiqi.services.screening.screen) — the reference;
  2. the simulator: the period's facts built once, then the baseline run (evaluate + allocate);
  3. a scenario on the same facts (parameters and knobs changed, nothing rebuilt), then the comparison outputs
     (per measure, 县区 / 行业 / 企业规模, winners and losers, why-not histogram of both runs);
  4. an inverse solve (a rate to a budget) with its two verifying forward runs.

Run: .venv/bin/python benchmarks/bench_simulation.py --sizes 100000 1000000
Targets (issue 5): a scenario over 1M takes no longer than a baseline screening; an inverse solve over 1M ≤ 30 s.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_screening import ensure_data  # noqa: E402

PERIOD = "2024Q4"
BASE_PARAMS = {"gx2024q4_02a_amount": "200000", "gx2024q4_02b_amount": "100000", "gx2024q4_15a_rate": "0.05"}
SCENARIO = {"gx2024q4_02a_amount": "250000", "gx2024q4-21.rate": "0.4", "gx2024q4-22a.cap": "40000",
            "gx2024q4_02a_difficult_growth_min": "0.08"}


def timed_run(directory: Path) -> dict:
    import polars as pl

    from huiqi.engine.allocate import AllocationOptions
    from huiqi.services.calculator import default_ruleset
    from huiqi.services.screening import files_hash, screen
    from huiqi.services.simulation import Comparison, Scenario, Simulator

    ruleset = default_ruleset()
    files = sorted(p for p in directory.glob("*.parquet") if p.stem not in ("indicators", "results"))
    t0 = time.perf_counter()
    tables = {p.stem: (pl.scan_parquet(p) if p.stem == "indicator_panel" else pl.read_parquet(p)) for p in files}
    t_read = time.perf_counter()
    run = screen(tables, PERIOD, params=BASE_PARAMS, ruleset=ruleset, explain=False, options=AllocationOptions(),
                 data_hash=files_hash(files))
    t_screen = time.perf_counter()

    sim = Simulator(tables, PERIOD, ruleset=ruleset)
    baseline = Scenario("基线", BASE_PARAMS)
    base = sim.run(baseline)
    t_base = time.perf_counter()
    scen = sim.run(Scenario("情景", {**BASE_PARAMS, **SCENARIO}))
    t_scen = time.perf_counter()
    cmp = Comparison(base, scen)
    bm = cmp.by_measure()
    dists = [cmp.distribution(d) for d in ("county", "sector", "size")]
    winners, losers = cmp.winners(), cmp.losers()
    why = cmp.why_not()
    t_outputs = time.perf_counter()
    assert base.paid_fen() == run.total_fen(), "simulator baseline differs from screening"

    budget_yuan = base.total_cost_fen(["gx2024q4-21"]) // 100 // 2  # half of what 21 costs at 50%
    sol = sim.solve("gx2024q4-21.rate", budget_yuan=budget_yuan, base=baseline)
    t_solve = time.perf_counter()
    # a threshold (decreasing, its condition reads the parameter, so few rows can be set aside): 000's open
    # growth threshold for 2025Q3 with a 10万元 award, to a 5亿元 budget
    sim3 = Simulator(tables, "2025Q3", ruleset=ruleset)
    base3 = Scenario("基线", {"gx2025h2_01_growth_min": "0.1", "gx2025h2_01_amount": "100000"})
    sim3.facts("enterprise", {})
    t_facts3 = time.perf_counter()
    sol3 = sim3.solve("gx2025h2_01_growth_min", budget_yuan=500_000_000, base=base3, low=-1, high=2)
    t_solve3 = time.perf_counter()
    return {
        "solve2_s": round(t_solve3 - t_facts3, 2), "solve2_evaluations": sol3.evaluations,
        "solve2": sol3.message, "solve2_verified": sol3.verified,
        "enterprises": base.evaluations["enterprise"].inputs.height,
        "read_s": round(t_read - t0, 2),
        "screening_s": round(t_screen - t_read, 2),
        "facts_and_baseline_s": round(t_base - t_screen, 2),
        "scenario_s": round(t_scen - t_base, 2),
        "comparison_outputs_s": round(t_outputs - t_scen, 2),
        "scenario_with_outputs_s": round(t_outputs - t_base, 2),
        "solve_s": round(t_solve - t_outputs, 2),
        "solve_evaluations": sol.evaluations,
        "solve_search_s": round(sol.search_seconds, 2),
        "solve": sol.message,
        "solve_verified": sol.verified,
        "delta_cost_yuan": int(bm["delta_cost_fen"].sum() or 0) // 100,
        "winners": winners.height, "losers": losers.height, "why_not_rows": why.height,
        "groups": [d.height for d in dists],
        "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(timed_run(Path(args.child)), ensure_ascii=False))
        return
    print(f"simulation benchmark, period {PERIOD}")
    for n in args.sizes:
        directory = ensure_data(n)
        proc = subprocess.run([sys.executable, __file__, "--child", str(directory)], capture_output=True, text=True)
        if proc.returncode:
            print(proc.stderr[-3000:])
            raise SystemExit(proc.returncode)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"  {n:>9,} enterprises: baseline screening {r['screening_s']:.2f} s (read {r['read_s']:.2f}); "
              f"simulator facts + baseline {r['facts_and_baseline_s']:.2f} s; scenario {r['scenario_s']:.2f} s "
              f"(+ comparison outputs {r['comparison_outputs_s']:.2f} s = {r['scenario_with_outputs_s']:.2f} s); "
              f"inverse solve {r['solve_s']:.2f} s ({r['solve_evaluations']} evaluations, search "
              f"{r['solve_search_s']:.2f} s, verified {r['solve_verified']}); peak RSS {r['peak_rss_gib']:.2f} GiB")
        print(f"      {r['solve']}")
        print(f"      inverse solve of a threshold (2025Q3, facts already built): {r['solve2_s']:.2f} s "
              f"({r['solve2_evaluations']} evaluations, verified {r['solve2_verified']})")
        print(f"      {r['solve2']}")
        print(f"      winners {r['winners']:,}, losers {r['losers']:,}, cost change {r['delta_cost_yuan']:,} 元")


if __name__ == "__main__":
    main()
