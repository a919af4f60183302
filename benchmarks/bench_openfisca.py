"""huiqi vs openfisca-core: the same six measures, the same synthetic enterprises, the same run.

For each size N, synthetic facts are generated once (seeded, vectorised numpy), for six evaluation periods:
2023M02 (gx2023-01), 2023Q1..2023Q4 (gx2023-02, gx2023-03) and 2024Q4 (gx2024q4-21/22a/22b). Then, timed
end to end over all six periods (best of --repeat runs; the median is printed too):
  huiqi:     polars frame from the numpy arrays + RuleSet.evaluate(frame, period, measures=…) + amounts to numpy
  OpenFisca: SimulationBuilder().build_default_simulation + set_input for every input + calculate every measure
Not timed: RuleSet() / TaxBenefitSystem construction (one-off), data generation, the comparison.
Every amount of every enterprise must be identical (huiqi's null amount counts as 0); otherwise a diff summary
is printed and the exit status is 1.

The benchmark data has NO nulls: OpenFisca has no "unknown" (an unset input is 0/False), so identical results
are only defined on complete data. ``--extras`` (default on) also shows, on the smallest N, what happens with
~1% nulls in the output fields, and with openfisca-core's stock float32 money — informational, not timed.

Run: .venv/bin/python benchmarks/bench_openfisca.py [--sizes 100000 1000000] [--repeat 3] [--seed 7]
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import time
from math import gcd
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))

import openfisca_peer as peer  # noqa: E402
from huiqi.engine.evaluate import RuleSet  # noqa: E402

WAN, YI = peer.WAN, peer.YI
OUTPUT_FIELDS = ("output_q", "output_q_ly", "output_ytd", "output_ytd_ly")
MAX_FEN = 10**13  # 1000亿元: keeps every cross-multiplication (≤ ×112) far below 2**53


# -- synthetic data -------------------------------------------------------------------------------------------
def _fen(yuan: np.ndarray) -> np.ndarray:
    """元 (float) → integer 分, clipped to [0, MAX_FEN]."""
    return np.clip(np.rint(yuan * 100), 0, MAX_FEN).astype(np.int64)


def _lognormal_fen(rng, median_yuan: float, sigma: float, n: int) -> np.ndarray:
    return _fen(rng.lognormal(np.log(median_yuan), sigma, n))


def _pick(rng, n: int, p: float) -> np.ndarray:
    return rng.random(n) < p


def _exact_growth(rng, this: np.ndarray, last: np.ndarray, pct: int, share: float) -> tuple[np.ndarray, np.ndarray]:
    """On ~share of rows make this = last × (1 + pct%) exactly (and on as many, 1 分 below): boundary cases."""
    num, den = 100 + pct, 100
    g = gcd(num, den)
    num, den = num // g, den // g
    this, last = this.copy(), last.copy()
    at = _pick(rng, len(this), share) & (last > den)
    last[at] -= last[at] % den
    this[at] = last[at] // den * num
    below = _pick(rng, len(this), share) & ~at & (last > den)
    last[below] -= last[below] % den
    this[below] = last[below] // den * num - 1
    return this, last


def generate(n: int, seed: int = 7, null_rate: float = 0.0) -> tuple[dict, dict]:
    """Facts for n enterprises and the six periods: ({period: {field: array}}, {period: {field: null mask}}).

    Money in 分 (int64), flags bool. Quarterly output ~ lognormal, median 3000万元, σ = 1 (heavy tail: the top
    0.1% above 6亿元); growth uniform −30%..+40%; new-in-statistics enterprises have no base (last year = 0).
    About 1% of rows per period sit exactly on a growth boundary (and 1% one 分 below), and ~0.3% exactly on
    an output threshold, so that strict (超过) and inclusive (不低于/含) comparisons are both exercised.
    """
    rng = np.random.default_rng(seed)
    scale = rng.lognormal(np.log(3e7), 1.0, n)                       # quarterly output scale, 元
    flags = {
        "is_manufacturing": _pick(rng, n, 0.8),
        "is_top500_output": rng.random(n) < np.where(scale > 1e8, 0.6, 0.01),
        "is_gx_leading_enterprise": rng.random(n) < np.where(scale > 5e7, 0.08, 0.005),
        "is_little_giant": _pick(rng, n, 0.02),
        "is_single_champion": _pick(rng, n, 0.005),
        "is_new_in_statistics": _pick(rng, n, 0.03),
        "gx2023_covid900_benefit": _pick(rng, n, 0.01),
    }
    new = flags["is_new_in_statistics"]
    data: dict[str, dict[str, np.ndarray]] = {}

    def growth(last_yuan: np.ndarray) -> np.ndarray:
        return last_yuan * (1 + rng.uniform(-0.30, 0.40, n))

    def at_threshold(values: np.ndarray, thresholds: list[int], share: float = 0.003) -> np.ndarray:
        values = values.copy()
        for t in thresholds:
            values[_pick(rng, n, share)] = t
        return values

    # 2023M02: 1—2月 cumulative output (gx2023-01)
    ly_yuan = scale * rng.uniform(0.55, 0.72, n)
    ytd, ytd_ly = _fen(growth(ly_yuan)), np.where(new, 0, _fen(ly_yuan))
    ytd = at_threshold(ytd, [5000 * WAN, 2000 * WAN])
    ytd, ytd_ly = _exact_growth(rng, ytd, ytd_ly, 12, 0.01)
    data["2023M02"] = {**flags, "output_ytd": ytd, "output_ytd_ly": ytd_ly}

    # 2023Q1..Q4: quarterly output, cumulative to quarter end (gx2023-02, gx2023-03)
    ytd = np.zeros(n, np.int64)
    ytd_ly = np.zeros(n, np.int64)
    for k, season in enumerate((0.9, 1.0, 1.0, 1.1), start=1):
        ly_yuan = scale * season * rng.lognormal(0, 0.1, n)
        q_ly = np.where(new, 0, _fen(ly_yuan))
        q = at_threshold(_fen(growth(ly_yuan)), [2 * YI, 5000 * WAN, 3000 * WAN])
        new_ytd, new_ytd_ly = _exact_growth(rng, ytd + q, ytd_ly + q_ly, 12, 0.01)
        # the boundary adjustment lands on this quarter's figures (keep them ≥ 0)
        q_ly = np.maximum(new_ytd_ly - ytd_ly, 0)
        q = np.maximum(new_ytd - ytd, 0)
        ytd, ytd_ly = ytd + q, ytd_ly + q_ly
        data[f"2023Q{k}"] = {**flags, "output_q": q, "output_q_ly": q_ly, "output_ytd": ytd.copy(),
                             "output_ytd_ly": ytd_ly.copy()}

    # 2024Q4 (gx2024q4-21/22a/22b)
    ly_yuan = scale * 1.1 * rng.lognormal(0.05, 0.15, n)
    q, q_ly = _fen(growth(ly_yuan)), np.where(new, 0, _fen(ly_yuan))
    q = at_threshold(q, [500 * WAN, 500 * WAN - 1])
    q, q_ly = _exact_growth(rng, q, q_ly, 10, 0.01)
    held, attended, exporting = _pick(rng, n, 0.05), _pick(rng, n, 0.05), _pick(rng, n, 0.05)
    export = np.where(exporting, _lognormal_fen(rng, 1.5e6, 1.0, n), 0)
    export[exporting & _pick(rng, n, 0.05)] = 100 * WAN
    data["2024Q4"] = {
        "output_q": q, "output_q_ly": q_ly,
        "promo_event_held_q": held,
        "promo_event_cost_q": np.where(held, _lognormal_fen(rng, 3e5, 0.8, n), 0),
        "large_expo_attended_q": attended,
        "expo_booth_fee_q": np.where(attended, _lognormal_fen(rng, 6e4, 0.6, n), 0),
        "new_market_export_q": export,
    }

    masks: dict[str, dict[str, np.ndarray]] = {}
    if null_rate > 0:
        for period, cols in data.items():
            masks[period] = {f: _pick(rng, n, null_rate) for f in OUTPUT_FIELDS if f in cols}
    # only what each period's measures read, in the peer's order
    data = {p: {f: data[p][f] for f in peer.inputs_for(p)} for p in peer.PERIODS}
    return data, masks


# -- the two engines ------------------------------------------------------------------------------------------
def huiqi_frame(inputs: dict[str, np.ndarray], n: int, masks: dict[str, np.ndarray] | None = None) -> pl.DataFrame:
    frame = pl.DataFrame({"entity_id": np.arange(n, dtype=np.int64), **inputs})
    if masks:
        frame = frame.with_columns(pl.when(pl.Series(m)).then(None).otherwise(pl.col(f)).alias(f)
                                   for f, m in masks.items())
    return frame


# 001's rates are ceilings ("涉及奖补资金比例和限额均为上限"): huiqi leaves them 参数待定 until an operator sets them;
# the peer is written at 1%, so the operator's setting here is 1%. The peer's population are industrial enterprises
# (002 第21/22条 apply to 工业企业 only).
OPERATOR_PARAMS = {"gx2023_01_rate": "0.01", "gx2023_02_rate": "0.01", "gx2023_03_rate": "0.01"}


def run_huiqi(rs: RuleSet, period: str, inputs: dict, n: int, masks=None) -> tuple[dict, pl.DataFrame]:
    frame = huiqi_frame(inputs, n, masks).with_columns(pl.lit(True).alias("is_industrial"))
    ev = rs.evaluate(frame, period, measures=peer.PERIODS[period], params=OPERATOR_PARAMS)
    amounts = {m: ev.frame[f"{m}|amount"].fill_null(0).to_numpy() for m in peer.PERIODS[period]}
    return amounts, ev.frame


def run_openfisca(tbs, period: str, inputs: dict, n: int, masks=None) -> dict:
    if masks:  # OpenFisca has no null: an unknown value can only be given as 0
        inputs = {f: (np.where(masks[f], 0, a) if f in masks else a) for f, a in inputs.items()}
    return peer.run(tbs, period, inputs, n)


def timed_all(fn, data: dict, n: int) -> tuple[float, dict]:
    gc.collect()
    t = time.perf_counter()
    out = {p: fn(p, data[p], n) for p in peer.PERIODS}
    return time.perf_counter() - t, out


# -- comparison -----------------------------------------------------------------------------------------------
def compare(h: dict, o: dict) -> list[str]:
    """Every amount of every enterprise; returns diff lines (empty when identical)."""
    diffs = []
    for period in peer.PERIODS:
        for m in peer.PERIODS[period]:
            a, b = h[period][m], o[period][m]
            integral = np.isfinite(b) & (b == np.floor(b))
            bad = ~integral | (a != b.astype(np.int64))
            if bad.any():
                idx = np.flatnonzero(bad)
                eg = ", ".join(f"#{i}: huiqi {a[i]} vs OpenFisca {b[i]!r}" for i in idx[:3])
                diffs.append(f"{period} {m}: {len(idx)} of {len(a)} differ (e.g. {eg})")
    return diffs


def rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def extras(rs: RuleSet, n: int, seed: int) -> None:
    """Informational: nulls, and stock float32 money (not part of the identity check)."""
    data, masks = generate(n, seed, null_rate=0.01)
    tbs = peer.build_tax_benefit_system()
    print(f"\nWith ~1% nulls in the output fields (N={n:,}; OpenFisca given 0 where huiqi has null):")
    for period in peer.PERIODS:
        h, frame = run_huiqi(rs, period, data[period], n, masks[period])
        o = run_openfisca(tbs, period, data[period], n, masks[period])
        for m in peer.PERIODS[period]:
            pending = int((frame[f"{m}|status"] == "待补充信息").sum())
            differ = int((h[m] != o[m].astype(np.int64)).sum())
            print(f"  {period} {m:<13} huiqi 待补充信息 {pending:>6,}   amounts differing {differ:>5,}")
    data, _ = generate(n, seed)
    tbs32 = peer.build_tax_benefit_system(money_dtype=np.float32)
    h = {p: run_huiqi(rs, p, data[p], n)[0] for p in peer.PERIODS}
    o = {p: run_openfisca(tbs32, p, data[p], n) for p in peer.PERIODS}
    diffs = compare(h, o)
    total = sum(int(x.split(":")[1].split(" of ")[0]) for x in diffs)
    print(f"\nStock openfisca-core money (value_type float = float32), N={n:,}: {total:,} amounts differ"
          f" from huiqi across {len(diffs)} measure-periods")
    for d in diffs:
        print("  " + d)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per engine and size (best is reported)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-extras", dest="extras", action="store_false")
    args = ap.parse_args()

    rs = RuleSet()
    tbs = peer.build_tax_benefit_system()
    warm, _ = generate(1000, args.seed)  # compile huiqi's plans, import numpy paths: not timed
    for p in peer.PERIODS:
        run_huiqi(rs, p, warm[p], 1000)
        run_openfisca(tbs, p, warm[p], 1000)

    from importlib.metadata import version
    print(f"huiqi vs openfisca-core {version('openfisca-core')} | polars {pl.__version__} numpy {np.__version__}"
          f" | {os.cpu_count()} CPUs | POLARS_MAX_THREADS={os.environ.get('POLARS_MAX_THREADS', 'default')}")
    print("6 measures over 6 evaluation periods per enterprise (2023M02, 2023Q1-Q4, 2024Q4); "
          f"best of {args.repeat}; no nulls\n")
    rows, failed = [], False
    for n in args.sizes:
        data, _ = generate(n, args.seed)
        h_times, o_times = [], []
        for _ in range(args.repeat):
            th, h = timed_all(lambda p, d, k: run_huiqi(rs, p, d, k)[0], data, n)
            to, o = timed_all(lambda p, d, k: run_openfisca(tbs, p, d, k), data, n)
            h_times.append(th)
            o_times.append(to)
        diffs = compare(h, o)
        paid = {m: (int(sum((h[p][m] > 0).sum() for p in peer.PERIODS if m in peer.PERIODS[p])),
                    int(sum(h[p][m].sum() for p in peer.PERIODS if m in peer.PERIODS[p])))
                for m in peer.FORMULAS}
        rows.append((n, min(h_times), min(o_times), float(np.median(h_times)), float(np.median(o_times)),
                     not diffs))
        print(f"N={n:,}: paid (enterprise-periods, total 元) " +
              "; ".join(f"{m} {c:,} / {s / 100:,.2f}" for m, (c, s) in paid.items()))
        if diffs:
            failed = True
            print("RESULTS DIFFER:\n  " + "\n  ".join(diffs))
        del data, h, o
        gc.collect()

    print(f"\n{'N':>11} | {'huiqi s':>8} | {'OpenFisca s':>11} | {'ratio OF/huiqi':>14} | identical"
          f" | median huiqi s / OpenFisca s")
    print(f"{'-' * 11}-+-{'-' * 8}-+-{'-' * 11}-+-{'-' * 14}-+-{'-' * 9}-+-{'-' * 29}")
    for n, th, to, mh, mo, same in rows:
        print(f"{n:>11,} | {th:>8.3f} | {to:>11.3f} | {to / th:>14.2f} | {'yes' if same else 'NO':>9}"
              f" | {mh:.3f} / {mo:.3f}")
    print(f"\npeak RSS {rss_gb():.2f} GB")

    if args.extras:
        extras(rs, min(args.sizes), args.seed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
