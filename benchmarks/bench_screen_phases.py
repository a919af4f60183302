"""`services.screening.screen()` phase by phase, for one or two checkouts interleaved in the same run.

Each run is its own child process (PYTHONPATH=<checkout>): the tables loaded as `huiqi screen` loads them (the panel
and the side tables as Parquet scans), then screen() of the period (list_pending=False, as the CLI), timed as a
whole (wall and process CPU) and per phase: enterprise/project/county facts, evaluation, and in the global step the
listed rows (and inside them the entity order and the gathers), explanations, 待补充信息 counts and status counts,
then the data files `huiqi screen` writes (write_data_files: results.parquet, entities.parquet, the summaries) —
each phase's wall time and its process CPU (user+sys of every thread: Polars' pool is invisible to cProfile, and on
a shared machine CPU is the steadier figure). The data files go to a temporary folder; their hashes must agree. With --base the two checkouts run alternately,
so a shared machine's load falls on both alike; the minimum and median of --repeat runs are shown.

Run: .venv/bin/python benchmarks/bench_screen_phases.py --size 1000000 --base /tmp/base-checkout --repeat 3

With --facts-beside (and --base), one process instead loads the base checkout's `services/facts.py` beside this one's
and times their enterprise and project facts alternately on the same tables (the fields a run reads), checking that
the frames are equal: a steadier comparison of the facts alone on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

CHILD = """
import json, os, sys, time
from pathlib import Path
data, period = Path(sys.argv[1]), sys.argv[2]
from huiqi.engine import allocate, evaluate
from huiqi.interfaces.cli_common import SCREEN_SCANS, load_tables
from huiqi.services import facts, screening
from huiqi.services.calculator import default_ruleset
default_ruleset()
from huiqi.policies.library import default_library
default_library()
phases = {}
def timed(owner, name, label):
    inner = getattr(owner, name, None)
    if inner is None:  # a phase another checkout does not have
        return
    def wrapper(*a, **k):
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return inner(*a, **k)
        finally:
            phases[label] = phases.get(label, 0.0) + time.perf_counter() - start
            phases[label + "_cpu"] = phases.get(label + "_cpu", 0.0) + time.process_time() - cpu
    setattr(owner, name, wrapper)
for name in ("enterprise_facts", "project_facts", "county_facts"):
    timed(facts, name, name)
timed(evaluate.RuleSet, "evaluate", "evaluate")
for name, label in (("listed_rows", "listed_rows"), ("_rows_in_entity_order", "rows_in_order"),
                    ("listed_order", "listed_order"), ("entity_order", "entity_order"), ("_gathered", "gathered"), ("_explain", "explain"),
                    ("_reason_columns", "reason_columns"), ("missing_fields", "missing_fields"),
                    ("status_counts", "status_counts")):
    timed(screening, name, label)
tables = load_tables(data, None, scan=SCREEN_SCANS)
data_hash = screening.directory_hash(data)
cpu, start = sum(os.times()[:2]), time.perf_counter()
run = screening.screen(tables, period, data_hash=data_hash, list_pending=False)
phases["screen"], phases["screen_cpu"] = time.perf_counter() - start, sum(os.times()[:2]) - cpu
phases["run_id"], phases["rows"] = run.manifest["run_id"], run.results.height
import tempfile
from huiqi.services import award_list
timed(award_list, "write_data_files", "write_data_files")
timed(award_list, "write_results", "write_results")
with tempfile.TemporaryDirectory() as out:  # the data files as `huiqi screen` writes them (no workbook)
    hashes = {p: e["sha256"] for p, e in award_list.write_data_files(run, Path(out)).items()}
phases["files"] = sorted((Path(p).name, h) for p, h in hashes.items())
import huiqi
phases["code"] = huiqi.__file__
print(json.dumps(phases))
"""
FACTS_BESIDE = """
import importlib.util, os, sys, time
from pathlib import Path
data, period, base_facts, repeat = Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
from huiqi.interfaces.cli_common import SCREEN_SCANS, load_tables
from huiqi.services import facts as this
from huiqi.services.calculator import default_ruleset
spec = importlib.util.spec_from_file_location("base_facts", base_facts)
base = importlib.util.module_from_spec(spec)
sys.modules["base_facts"] = base  # a dataclass looks its module up while it is being defined
spec.loader.exec_module(base)
ruleset = default_ruleset()
resolved = ruleset.resolve_parameters(None)
tables = load_tables(data, None, scan=SCREEN_SCANS)
fields = {e: ruleset.fields_read(period, e, resolved, None) for e in ("enterprise", "project")}
times, frames = {}, {}
for _ in range(repeat):
    for name, module in (("this", this), ("base", base)):
        for step, build in (("enterprise", module.enterprise_facts), ("project", module.project_facts)):
            cpu, start = sum(os.times()[:2]), time.perf_counter()
            frame = build(tables, period, fields[step])
            times.setdefault((step, name), []).append((time.perf_counter() - start, sum(os.times()[:2]) - cpu))
            if not frame.equals(frames.setdefault(step, frame)):
                raise SystemExit(f"{step} facts differ")
for step in ("enterprise", "project"):
    (wt, ct), (wb, cb) = ([min(x[i] for x in times[(step, n)]) for i in (0, 1)] for n in ("this", "base"))
    print(f"  {step} facts: wall {wt:.3f} / {wb:.3f} s ({wt / wb:.2f}x), CPU {ct:.2f} / {cb:.2f} s ({ct / cb:.2f}x); "
          f"this / base, min of {repeat}, equal frames")
"""
# (phase, indent): the indented ones are parts of the phase above them
ORDER = [("screen", 0), ("enterprise_facts", 0), ("project_facts", 0), ("county_facts", 0), ("evaluate", 0),
         ("listed_rows", 0), ("rows_in_order", 2), ("listed_order", 4), ("entity_order", 6), ("gathered", 2),
         ("explain", 0), ("reason_columns", 2), ("missing_fields", 0), ("status_counts", 0),
         ("write_data_files", 0), ("write_results", 2)]


def one(checkout: Path, data: Path, period: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    # run from a neutral directory: `python -c` puts the working directory first on sys.path, before PYTHONPATH
    proc = subprocess.run([sys.executable, "-c", CHILD, str(data), period], capture_output=True, text=True, env=env,
                          cwd=tempfile.gettempdir())
    if proc.returncode:
        raise SystemExit(f"{checkout}: {proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    if not Path(out["code"]).resolve().is_relative_to(checkout.resolve()):
        raise SystemExit(f"{checkout}: imported huiqi from {out['code']}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--period", default="2024Q4")
    ap.add_argument("--base", type=Path, help="a second checkout to run alternately (e.g. the base commit)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--data", type=Path, help="a data directory of --size enterprises (default /tmp/huiqi-bench-N)")
    ap.add_argument("--facts-beside", action="store_true", help="the base's facts.py beside this one's, one process")
    args = ap.parse_args()
    from bench_screening import ensure_data

    data = ensure_data(args.size, args.data)
    if args.facts_beside:
        if not args.base:
            raise SystemExit("--facts-beside needs --base")
        print(f"{args.size:,} enterprises, {args.period}: facts of this checkout and of {args.base}, in one process")
        subprocess.run([sys.executable, "-c", FACTS_BESIDE, str(data), args.period,
                        str(args.base / "huiqi" / "services" / "facts.py"), str(args.repeat)],
                       env={**os.environ, "PYTHONPATH": str(HERE.parent)}, cwd=tempfile.gettempdir(), check=True)
        return
    checkouts = {"this": HERE.parent, **({"base": args.base} if args.base else {})}
    runs: dict[str, list[dict]] = {k: [] for k in checkouts}
    for _ in range(args.repeat):
        for name, path in checkouts.items():
            runs[name].append(one(path, data, args.period))
    ids = {r["run_id"] for rs in runs.values() for r in rs}
    print(f"{args.size:,} enterprises, {args.period}, {args.repeat} run(s) each, interleaved; seconds, min (median);"
          " CPU: the process's user+sys during the phase")
    header = "".join(f"{name + ' ' + what:>20s}" for name in checkouts for what in ("wall", "CPU"))
    print(f"  {'phase':18s}" + header + ("   CPU ratio of mins" if args.base else ""))
    for phase, indent in ORDER:
        cells, mins = [], []
        for name in checkouts:
            for key in (phase, phase + "_cpu"):
                values = [r.get(key, 0.0) for r in runs[name]]
                cells.append(f"{min(values):9.3f} ({statistics.median(values):6.3f})")
                mins.append(min(values))
        ratio = f"   {mins[1] / mins[3]:.2f}×" if args.base and mins[3] else ""
        print(f"  {' ' * indent + phase:18s}" + "".join(f"{c:>20s}" for c in cells) + ratio)
    print(f"  run IDs: {', '.join(sorted(ids))} ({'the same' if len(ids) == 1 else 'DIFFERENT'}); "
          f"rows {runs['this'][0]['rows']:,}")
    files = {json.dumps(r["files"]) for rs in runs.values() for r in rs}
    print(f"  data files: {'the same bytes' if len(files) == 1 else 'DIFFERENT'} in every run")
    if len(ids) != 1 or len(files) != 1:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
