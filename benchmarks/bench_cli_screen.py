"""The real `huiqi screen` as a whole process beside the floor script (benchmarks/floor_screen.py), same data.

Each runs as its own child under /usr/bin/time -v: wall time, CPU (user + system), peak RSS and minor page faults
are the whole process's (interpreter start, imports, rule loading, facts, evaluation, allocation, explanations, the
Excel award list, Parquet and CSV). On a shared machine the CPU and the faults are the steadier figures.
The paid rows and totals per measure must agree; the script exits 1 if they do not. The floor also runs a second
time with ``--excel`` (the paid rows written by Polars' ``write_excel``), printed for context: the issue's target is
the ratio to the floor without it.

Run: .venv/bin/python benchmarks/bench_cli_screen.py --size 100000   (data generated once under /tmp/huiqi-bench-N;
     --size 3000000 for the 3M memory target: ~8 min to generate once, ~7 GiB peak for `huiqi screen`)
Before/after a change: run it once per checkout with PYTHONPATH=<checkout> (the `huiqi` it starts imports that code).
--caches-beside: the same command with SCREEN10's run cache (huiqi.services.entity_order_cache) switched off in the
child, alternated with it as shipped: what the cache saves, apart from the host's noise.
Not a timed test: the machine is shared, so figures vary run to run; report the median of --repeat runs.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_screening import ensure_data  # noqa: E402  (same cached data as the screening benchmark)


@dataclass
class Measured:
    """One child process under /usr/bin/time -v: wall, CPU (user, system), peak RSS, minor page faults."""
    wall: float
    user: float
    sys: float
    rss_gib: float
    minor_faults: int

    @property
    def cpu(self) -> float:
        return self.user + self.sys


def timed(cmd: list[str]) -> tuple[Measured, str]:
    """The measures and stdout of one child process."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        proc = subprocess.run(["/usr/bin/time", "-v", "-o", report.name, *cmd], capture_output=True, text=True)
        if proc.returncode:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
        text = Path(report.name).read_text()
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", text)
    h, m, s = (float(x) if x else 0.0 for x in wall.groups())

    def number(label: str) -> float:
        return float(re.search(re.escape(label) + r": ([\d.]+)", text).group(1))

    return Measured(h * 3600 + m * 60 + s, number("User time (seconds)"), number("System time (seconds)"),
                    number("Maximum resident set size (kbytes)") / 2**20,
                    int(number("Minor (reclaiming a frame) page faults"))), proc.stdout


def summary(runs: list[Measured]) -> Measured:
    """Medians of each measure, peak RSS the largest."""
    med = statistics.median
    return Measured(med(r.wall for r in runs), med(r.user for r in runs), med(r.sys for r in runs),
                    max(r.rss_gib for r in runs), int(med(r.minor_faults for r in runs)))


def row(label: str, m: Measured) -> str:
    return (f"  {label:52s} {m.wall:7.2f} s  peak RSS {m.rss_gib:5.2f} GiB  CPU {m.cpu:6.2f} s "
            f"(sys {m.sys:5.2f})  minor faults {m.minor_faults:,}")


def cli_paid(out: Path) -> dict:
    import polars as pl

    from huiqi.services.award_list import read_results

    r = read_results(out, ["measure_id", "status", "final_fen"])
    paid = r.filter((pl.col("status") == "符合") & (pl.col("final_fen") > 0))
    return {m: {"rows": n, "total_fen": t} for m, n, t in
            paid.group_by("measure_id").agg(pl.len(), pl.col("final_fen").sum()).sort("measure_id").iter_rows()}


# `huiqi screen` with SCREEN10's cache (the entity order read back) switched off in the
# process, everything else as `python -m huiqi` (the allocator settings first): their effect alone, same code
WITHOUT_RUN_CACHES = """
import sys
import huiqi.interfaces.process_defaults
from huiqi.services import entity_order_cache
entity_order_cache.directory = lambda: None
from huiqi.interfaces.cli import main
sys.argv[0] = "huiqi"
main()
"""


def caches_beside(data: Path, period: str, repeat: int) -> None:
    """The CLI alternately with the run caches as shipped and switched off, after two rounds not counted (a new
    entity table is kept on its second run and copied from the third)."""
    variants = {"caches on": [sys.executable, "-m", "huiqi"], "caches off": [sys.executable, "-c", WITHOUT_RUN_CACHES]}
    runs: dict[str, list[Measured]] = {k: [] for k in variants}
    for k in range(repeat + 2):
        for name, command in variants.items():
            with tempfile.TemporaryDirectory() as tmp:
                measured, _ = timed([*command, "screen", "--period", period, "--data", str(data),
                                     "--out", str(Path(tmp) / "out")])
            if k >= 2:
                runs[name].append(measured)
    on, off = summary(runs["caches on"]), summary(runs["caches off"])
    print(f"{repeat} alternated run(s) each after two warming rounds, medians")
    print(row("huiqi screen, run caches on (SCREEN10):", on))
    print(row("huiqi screen, run caches off:", off))
    print(f"  on / off: {on.wall / off.wall:.2f}× time, {on.cpu / off.cpu:.2f}× CPU; CPU of each run: "
          f"on {', '.join(f'{m.cpu:.2f}' for m in runs['caches on'])}; off "
          f"{', '.join(f'{m.cpu:.2f}' for m in runs['caches off'])}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--period", default="2024Q4")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--data", type=Path, help="a data directory of --size enterprises (default /tmp/huiqi-bench-N)")
    ap.add_argument("--caches-beside", action="store_true",
                    help="instead: the CLI with SCREEN10's run caches on and off, alternated --repeat times")
    args = ap.parse_args()
    if args.caches_beside:
        caches_beside(ensure_data(args.size, args.data), args.period, args.repeat)
        return
    if args.period != "2024Q4":
        raise SystemExit("the floor script encodes 2024Q4's measures only")
    data = ensure_data(args.size, args.data)
    huiqi = shutil.which("huiqi") or str(Path(sys.executable).with_name("huiqi"))
    cli, floor, floor_excel = [], [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out"  # screen publishes `out` as a link to a version folder beside it
            measured, _ = timed([huiqi, "screen", "--period", args.period, "--data", str(data), "--out", str(out)])
            cli.append(measured)
            paid_cli = cli_paid(Path(out))
            sizes = {p.name: p.stat().st_size for p in Path(out).iterdir()}
        measured, stdout = timed([sys.executable, str(HERE / "floor_screen.py"), str(data)])
        floor.append(measured)
        paid_floor = json.loads(stdout.strip().splitlines()[-1])["paid"]
        with tempfile.TemporaryDirectory() as tmp:
            measured, _ = timed([sys.executable, str(HERE / "floor_screen.py"), str(data), "--excel",
                                 str(Path(tmp) / "floor.xlsx")])
            floor_excel.append(measured)
    c, f, x = summary(cli), summary(floor), summary(floor_excel)
    print(f"{args.size:,} enterprises (+ synthetic big-firm extras), period {args.period}, {args.repeat} run(s), "
          "medians (peak RSS: the largest)")
    print(row("huiqi screen (whole process, Excel + Parquet):", c))
    print(row("floor_screen.py (four measures, plain Polars):", f))
    print(f"  ratio: {c.wall / f.wall:.1f}× time, {c.cpu / f.cpu:.1f}× CPU, {c.rss_gib / f.rss_gib:.1f}× memory")
    print(row("floor_screen.py --excel (+ paid rows by write_excel):", x) + f"  (huiqi screen {c.wall / x.wall:.1f}× this)")
    for i, m in enumerate(cli, 1):  # each run: the wall time swings on a shared machine, CPU and faults far less
        print(row(f"huiqi screen, run {i}:", m))
    print("  output files: " + ", ".join(f"{k} {v / 2**20:.1f} MiB" for k, v in sorted(sizes.items())))
    agree = paid_cli == paid_floor
    total = sum(v["total_fen"] for v in paid_cli.values())
    print(f"  paid totals agree: {agree} (CLI {total / 100:,.2f} 元 over {sum(v['rows'] for v in paid_cli.values()):,} rows)")
    if not agree:
        print(json.dumps({"cli": paid_cli, "floor": paid_floor}, ensure_ascii=False, indent=1))
        raise SystemExit(1)


if __name__ == "__main__":
    main()
