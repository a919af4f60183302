"""免申即享 screening benchmark: N synthetic enterprises × all measures of a period, end to end.

End to end = read the Parquet tables (the indicator panel scanned lazily, only the two years involved) → build the
period's facts → evaluate every measure → allocate (caps, exclusivity, budgets) → write results.parquet.
Explanations are not generated (they are produced for the award lists, not for a 1M-row table).
Each size runs in a fresh process so its peak RSS is its own. Data is generated once per size (not timed),
cached under /tmp/huiqi-bench-<N>.

Run: .venv/bin/python benchmarks/bench_screening.py --sizes 100000 1000000 --period 2024Q4
Targets (issue 3): 1M ≤ 10 s on 2 cores, peak RSS ≤ 4 GiB.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path


def ensure_data(n: int, directory: Path | None = None) -> Path:
    """The data of ``n`` enterprises (in ``directory``, by default the cache /tmp/huiqi-bench-<n>), prepared for
    scale: generated if absent, the indicator panel written and the side tables' enterprise_index stored."""
    directory = directory or Path(f"/tmp/huiqi-bench-{n}")
    if not (directory / "enterprises.parquet").exists():
        from huiqi.data.synthetic import write_synthetic

        t = time.perf_counter()
        write_synthetic(directory, n)
        print(f"  generated {n:,} enterprises in {time.perf_counter() - t:.1f} s → {directory}", flush=True)
    from huiqi.data.panel import panel_index_current, write_panel, write_side_indexes

    # a panel written before it stored its register's fingerprint (MERGE9-1) is read without its index: write it again
    if not (directory / "indicator_panel.parquet").exists() or not panel_index_current(directory):
        t = time.perf_counter()
        write_panel(directory)
        print(f"  wrote the indicator panel in {time.perf_counter() - t:.1f} s", flush=True)
    if not _sides_indexed(directory):  # a directory prepared before the side tables carried it (FACTS4-1)
        t = time.perf_counter()
        written = write_side_indexes(directory)
        print(f"  stored enterprise_index in {', '.join(written) or 'no table'} in {time.perf_counter() - t:.1f} s",
              flush=True)
    return directory


def _sides_indexed(directory: Path) -> bool:
    """Whether every side table present has an enterprise_index column (from the files' schemas alone)."""
    import pyarrow.parquet as pq

    try:
        from huiqi.data.panel import INDEX, SIDE_TABLES
    except ImportError:  # a checkout from before the side tables carried it (a base run): the directory as it is
        return True
    paths = [directory / f"{name}.parquet" for name in SIDE_TABLES]
    return all(INDEX in pq.read_schema(p).names for p in paths if p.exists())


def timed_run(directory: Path, period: str, out: Path) -> dict:
    import polars as pl

    from huiqi.engine.allocate import AllocationOptions
    from huiqi.interfaces.cli_common import SCREEN_SCANS
    from huiqi.services.calculator import default_ruleset
    from huiqi.services.screening import files_hash, screen

    ruleset = default_ruleset()  # loading and compiling the rules is start-up, not per-run work
    t0 = time.perf_counter()
    # as `huiqi screen` reads them: the panel layout replaces the long indicator table (huiqi.data.panel); it and
    # the large side tables are scanned lazily (docs/decisions.md FACTS-3)
    files = sorted(p for p in directory.glob("*.parquet") if p.stem not in ("indicators", "results"))
    tables = {p.stem: (pl.scan_parquet(p) if p.stem in ("indicator_panel", *SCREEN_SCANS) else pl.read_parquet(p))
              for p in files}
    t_read = time.perf_counter()
    run = screen(tables, period, ruleset=ruleset, explain=False, options=AllocationOptions(),
                 data_hash=files_hash(files))
    t_screen = time.perf_counter()
    run.results.write_parquet(out, statistics=False)
    t_end = time.perf_counter()
    paid = run.paid()
    return {
        "enterprises": run.manifest["entities"].get("enterprise", 0),
        "measures": len(run.manifest["measures"]),
        "read_s": round(t_read - t0, 2), "screen_s": round(t_screen - t_read, 2),
        "write_s": round(t_end - t_screen, 2), "total_s": round(t_end - t0, 2),
        "paid_rows": paid.height, "paid_total_yuan": int(paid["final_fen"].sum() or 0) // 100,
        "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--period", default="2024Q4")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        result = timed_run(Path(args.child), args.period, Path(args.child) / "results.parquet")
        print(json.dumps(result))
        return
    print(f"screening benchmark, period {args.period}")
    for n in args.sizes:
        directory = ensure_data(n)
        proc = subprocess.run([sys.executable, __file__, "--child", str(directory), "--period", args.period],
                              capture_output=True, text=True, check=True)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"  {n:>9,} enterprises × {r['measures']} measures: total {r['total_s']:.2f} s "
              f"(read {r['read_s']:.2f}, facts+evaluate+allocate {r['screen_s']:.2f}, write {r['write_s']:.2f}); "
              f"peak RSS {r['peak_rss_gib']:.2f} GiB; {r['paid_rows']:,} awards, {r['paid_total_yuan']:,} 元")


if __name__ == "__main__":
    main()
