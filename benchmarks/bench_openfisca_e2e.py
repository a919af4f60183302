"""huiqi vs openfisca-core end to end: the same Parquet files in, a Parquet file of the awards out (issue 9).

Both start from the stored tables of docs/data-model.md (the benchmark data of bench_screening.py,
/tmp/huiqi-bench-<N>) and end with the awards of 2024Q4's three 002 measures (gx2024q4-21, -22a, -22b: the
period of the evaluation benchmark the peer encodes that this data covers) written to Parquet:

  peer   (``--peer DATA OUT``, a script of its own): polars reads only what the three measures need (enterprises'
         industry codes, the 2024Q4/2023Q4 rows of the indicator panel, the quarter's promotion/expo events) and
         derives the inputs → one OpenFisca simulation for the whole population (SimulationBuilder
         .build_default_simulation, set_input with numpy arrays, calculate) → the paid amounts (> 0) written as
         (credit_code, measure_id, amount_fen) Parquet.
  huiqi  in process (``--huiqi DATA OUT``): read the tables as ``huiqi screen`` does (cli_common.load_tables) → services.screening.screen
         (measures restricted to the three, explain=False) → award_list.write_tables (the real results writer:
         results.parquet, missing_summary.parquet, manifest.json);
         and as a product, a whole process: ``huiqi screen --period 2024Q4 --measures … --data DATA --out OUT``
         (which also writes the Excel award list).
Every figure comes from a fresh process run under /usr/bin/time -v (wall, peak RSS); the in-process figures are
timed inside those processes after imports and the one-off RuleSet / TaxBenefitSystem construction.

Identical amounts: for every (enterprise, measure) the peer's amount and huiqi's paid final_fen (符合, > 0) must
be equal to the 分 — both from the in-process results.parquet and the CLI's; any difference is listed and the
exit status is 1. OpenFisca has no "unknown": where huiqi says 待补充信息 (a missing figure) the peer reads 0, which
for these three measures means "not paid" too (every missing input fails a threshold or zeroes the amount).

Run: nice .venv/bin/python benchmarks/bench_openfisca_e2e.py --sizes 100000 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cli_screen import timed  # noqa: E402  (one /usr/bin/time -v wrapper for the benchmarks)


def _wall_rss(measured, stdout: str) -> tuple[float, float, str]:
    """(wall seconds, peak RSS GiB, stdout) of bench_cli_screen.timed's measures."""
    return measured.wall, measured.rss_gib, stdout

PERIOD = "2024Q4"
MEASURES = ["gx2024q4-21", "gx2024q4-22a", "gx2024q4-22b"]
HERE = Path(__file__).resolve()


# -- the peer: polars + openfisca-core ---------------------------------------------------------------------------
def peer_inputs(data: Path) -> tuple[pl.DataFrame, int]:
    """The 8 inputs of the three measures, one row per enterprise (in the enterprises table's order)."""
    ent = pl.read_parquet(data / "enterprises.parquet", columns=["credit_code", "industry_code"])
    division = pl.col("industry_code").str.slice(0, 2).cast(pl.Int32, strict=False)
    ent = ent.select("credit_code", division.is_between(6, 46).fill_null(False).alias("is_industrial"))
    panel = pl.scan_parquet(data / "indicator_panel.parquet")

    def quarter(period: str, cols: dict[str, str]) -> pl.DataFrame:
        return panel.filter(pl.col("period") == period).select(
            "credit_code", *[pl.col(c).alias(a) for c, a in cols.items()]).collect()

    start, end = date(2024, 10, 1), date(2024, 12, 31)
    events = (pl.scan_parquet(data / "events.parquet")
              .filter(pl.col("kind").is_in(["promo_event", "large_expo"]) & pl.col("date").is_between(start, end))
              .group_by("credit_code")
              .agg(*[(pl.col("kind") == k).any().alias(held) for k, held in
                     (("promo_event", "promo_event_held_q"), ("large_expo", "large_expo_attended_q"))],
                   # a cost any of whose items is unknown is unknown: 0 for OpenFisca (then nothing is paid)
                   *[pl.when((pl.col("kind") == k) & pl.col("cost_fen").is_null()).then(1).otherwise(0).sum()
                     .alias(f"{k}_unknown") for k in ("promo_event", "large_expo")],
                   *[pl.col("cost_fen").filter(pl.col("kind") == k).sum().alias(c) for k, c in
                     (("promo_event", "promo_event_cost_q"), ("large_expo", "expo_booth_fee_q"))])
              .with_columns(pl.when(pl.col("promo_event_unknown") > 0).then(0)
                            .otherwise(pl.col("promo_event_cost_q")).alias("promo_event_cost_q"),
                            pl.when(pl.col("large_expo_unknown") > 0).then(0)
                            .otherwise(pl.col("expo_booth_fee_q")).alias("expo_booth_fee_q"))
              .drop("promo_event_unknown", "large_expo_unknown").collect())
    frame = (ent.join(quarter("2024Q4", {"output": "output_q", "new_market_export": "new_market_export_q"}),
                      on="credit_code", how="left", maintain_order="left")
             .join(quarter("2023Q4", {"output": "output_q_ly"}), on="credit_code", how="left", maintain_order="left")
             .join(events, on="credit_code", how="left", maintain_order="left")
             .fill_null(0).with_columns(pl.col("promo_event_held_q", "large_expo_attended_q").cast(pl.Boolean)))
    return frame, frame.height


def run_peer(data: Path, out: Path) -> dict:
    sys.path.insert(0, str(HERE.parent))
    from openfisca_core.simulations import SimulationBuilder

    import openfisca_peer as peer

    tbs = peer.build_tax_benefit_system(industrial_input=True)  # one-off, like huiqi's RuleSet
    t0, cpu = time.perf_counter(), time.process_time()
    frame, n = peer_inputs(data)
    t_read = time.perf_counter()
    simulation = SimulationBuilder().build_default_simulation(tbs, count=n)
    year = PERIOD[:4]
    for name in ["is_industrial", *peer.inputs_for(PERIOD)]:
        simulation.set_input(name, year, frame[name].to_numpy())
    amounts = {m: simulation.calculate(peer.variable_name(m), year) for m in MEASURES}
    t_sim = time.perf_counter()
    codes = frame["credit_code"]
    awards = pl.concat([
        pl.DataFrame({"credit_code": codes, "measure_id": m, "amount_fen": pl.Series(a).cast(pl.Int64)})
        .filter(pl.col("amount_fen") > 0) for m, a in amounts.items()])
    awards.write_parquet(out)
    t_end = time.perf_counter()
    return {"rows": n, "awards": awards.height, "read_s": t_read - t0, "compute_s": t_sim - t_read,
            "write_s": t_end - t_sim, "total_s": t_end - t0, "cpu_s": time.process_time() - cpu}


# -- huiqi in process --------------------------------------------------------------------------------------------
def run_huiqi(data: Path, out: Path) -> dict:
    from huiqi.engine.allocate import AllocationOptions
    from huiqi.interfaces.cli_common import SCREEN_SCANS, load_tables
    from huiqi.policies.library import default_library
    from huiqi.services.award_list import write_tables
    from huiqi.services.calculator import default_ruleset
    from huiqi.services.screening import files_hash, screen

    # start-up, as for the peer's TaxBenefitSystem: loading and compiling the rules, and the policy texts the
    # results cite (docs/decisions.md PEER2-1); and pyarrow, which the writer imports on first use (PEER3-5; the
    # CLI imports it on a thread beside the screening)
    ruleset = default_ruleset()
    default_library()
    import pyarrow.parquet  # noqa: F401  (the result files' writer: an import, like the peer's, before the clock)
    t0, cpu = time.perf_counter(), time.process_time()
    files = sorted(p for p in data.glob("*.parquet") if p.stem not in ("indicators", "results"))
    # read as `huiqi screen` reads (FACTS-3), the panel, the large side tables, the enterprise register and the
    # projects as Parquet scans (PEER2-2, PEER3-3): only the rows and columns the measures ask for are read — as
    # the peer reads only what its measures need
    tables = load_tables(data, None, scan=SCREEN_SCANS)
    t_read = time.perf_counter()
    run = screen(tables, PERIOD, measures=MEASURES, ruleset=ruleset, explain=False, options=AllocationOptions(),
                 data_hash=files_hash(files))
    t_screen = time.perf_counter()
    write_tables(run, out)
    t_end = time.perf_counter()
    return {"rows": run.manifest["entities"].get("enterprise", 0), "awards": run.paid().height,
            "read_s": t_read - t0, "compute_s": t_screen - t_read, "write_s": t_end - t_screen,
            "total_s": t_end - t0, "cpu_s": time.process_time() - cpu}


# -- driver --------------------------------------------------------------------------------------------------------
def huiqi_paid(results: Path) -> pl.DataFrame:
    from huiqi.services.award_list import read_results

    return (read_results(results, ["credit_code", "measure_id", "status", "final_fen"])
            .filter((pl.col("status") == "符合") & (pl.col("final_fen") > 0))
            .select("credit_code", "measure_id", pl.col("final_fen").cast(pl.Int64).alias("huiqi_fen")))


def compare(huiqi: pl.DataFrame, peer: pl.DataFrame) -> list[str]:
    """Per enterprise and measure, to the 分; returns difference lines (empty when identical)."""
    both = huiqi.join(peer.rename({"amount_fen": "peer_fen"}), on=["credit_code", "measure_id"], how="full",
                      coalesce=True).fill_null(0)
    bad = both.filter(pl.col("huiqi_fen") != pl.col("peer_fen"))
    lines = []
    for m in MEASURES:
        d = bad.filter(pl.col("measure_id") == m)
        if d.height:
            eg = ", ".join(f"{r['credit_code']}: huiqi {r['huiqi_fen']} vs OpenFisca {r['peer_fen']}"
                           for r in d.head(3).iter_rows(named=True))
            lines.append(f"{m}: {d.height} enterprises differ (e.g. {eg})")
    return lines


def totals(paid: pl.DataFrame, col: str) -> str:
    t = paid.group_by("measure_id").agg(pl.len(), pl.col(col).sum()).sort("measure_id")
    return "; ".join(f"{r['measure_id']} {r['len']:,} / {r[col] / 100:,.2f} 元" for r in t.iter_rows(named=True))


def bench(data: Path, work: Path) -> tuple[dict, list[str]]:
    py = sys.executable
    huiqi_cli = str(Path(py).with_name("huiqi"))
    peer_out, huiqi_out, cli_out = work / "peer_awards.parquet", work / "huiqi", work / "cli"
    p_wall, p_rss, p_out = _wall_rss(*timed([py, str(HERE), "--peer", str(data), str(peer_out)]))
    h_wall, h_rss, h_out = _wall_rss(*timed([py, str(HERE), "--huiqi", str(data), str(huiqi_out)]))
    c_wall, c_rss, _ = _wall_rss(*timed([huiqi_cli, "screen", "--period", PERIOD, "--measures", ",".join(MEASURES),
                                      "--data", str(data), "--out", str(cli_out)]))
    peer = pl.read_parquet(peer_out)
    diffs = [f"in process: {d}" for d in compare(huiqi_paid(huiqi_out / "results.parquet"), peer)]
    diffs += [f"huiqi screen: {d}" for d in compare(huiqi_paid(cli_out / "results.parquet"), peer)]
    fig = {"peer": {**json.loads(p_out.strip().splitlines()[-1]), "wall_s": p_wall, "rss_gib": p_rss},
           "huiqi": {**json.loads(h_out.strip().splitlines()[-1]), "wall_s": h_wall, "rss_gib": h_rss},
           "cli": {"wall_s": c_wall, "rss_gib": c_rss}, "paid": totals(peer, "amount_fen")}
    return fig, diffs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000],
                    help="benchmark data /tmp/huiqi-bench-<N> (generated by bench_screening.ensure_data if absent)")
    ap.add_argument("--data", type=Path, nargs="+", help="data directories instead of --sizes")
    ap.add_argument("--peer", nargs=2, type=Path, metavar=("DATA", "OUT"), help="run the peer only (a child)")
    ap.add_argument("--huiqi", nargs=2, type=Path, metavar=("DATA", "OUT"), help="run huiqi in process (a child)")
    args = ap.parse_args()
    if args.peer or args.huiqi:
        print(json.dumps(run_peer(*args.peer) if args.peer else run_huiqi(*args.huiqi)))
        return 0
    if args.data:
        dirs = args.data
    else:
        from bench_screening import ensure_data
        dirs = [ensure_data(n) for n in args.sizes]

    from importlib.metadata import version
    print(f"huiqi vs openfisca-core {version('openfisca-core')} end to end, Parquet in → Parquet out | period "
          f"{PERIOD}, measures {', '.join(MEASURES)} | polars {pl.__version__} | {os.cpu_count()} CPUs")
    rows, failed = [], False
    for data in dirs:
        load = os.getloadavg()
        with tempfile.TemporaryDirectory(prefix="huiqi-e2e-") as work:
            fig, diffs = bench(Path(data), Path(work))
        n = fig["huiqi"]["rows"]
        print(f"\n{data}: {n:,} enterprises; load average before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        print(f"  paid (awards / total), identical in both: {fig['paid']}" if not diffs else
              "  AMOUNTS DIFFER:\n    " + "\n    ".join(diffs))
        failed |= bool(diffs)
        for key, label in (("peer", "OpenFisca (script)"), ("huiqi", "huiqi in process (screen + write_tables)")):
            f = fig[key]
            print(f"  {label}: in process {f['total_s']:.2f} s (read {f['read_s']:.2f}, compute {f['compute_s']:.2f},"
                  f" write {f['write_s']:.2f}; CPU {f['cpu_s']:.2f} s of all threads); whole process {f['wall_s']:.2f} s, peak RSS {f['rss_gib']:.2f} GiB;"
                  f" {f['awards']:,} awards")
        print(f"  huiqi screen (CLI, with the Excel list): whole process {fig['cli']['wall_s']:.2f} s, "
              f"peak RSS {fig['cli']['rss_gib']:.2f} GiB")
        rows.append((n, fig, not diffs))
    print(f"\n{'N':>10} | {'in process OF/huiqi':>25} | {'process OF/huiqi':>24} | {'OF script/huiqi screen':>24}"
          f" | identical")
    for n, f, same in rows:
        p, h, c = f["peer"], f["huiqi"], f["cli"]
        print(f"{n:>10,} | {p['total_s']:6.2f}/{h['total_s']:6.2f} = {p['total_s'] / h['total_s']:5.2f}× |"
              f" {p['wall_s']:6.2f}/{h['wall_s']:6.2f} = {p['wall_s'] / h['wall_s']:5.2f}× |"
              f" {p['wall_s']:6.2f}/{c['wall_s']:6.2f} = {p['wall_s'] / c['wall_s']:5.2f}× | {'yes' if same else 'NO'}")
    worst = min(f["peer"]["total_s"] / f["huiqi"]["total_s"] for _, f, _ in rows)
    print(f"target: huiqi ≥ 5× faster (ratio ≥ 5) — {'met' if worst >= 5 else 'NOT met'} (worst in-process ratio"
          f" {worst:.2f}×; a ratio below 1 means huiqi is slower)")
    print(f"(driver peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2:.2f} GiB)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    sys.exit(main())
