"""Byte-compare every output file of `huiqi screen` between two checkouts (a change that must not alter outputs).

Runs the real CLI of each checkout (PYTHONPATH=<checkout>) on the same data and periods, each into its own
temporary directory, and compares the sha256 of every file it writes (results.parquet, the workbook, the summaries,
the manifest). Exits 1 on any difference.

Run: .venv/bin/python benchmarks/compare_screen_outputs.py --base /tmp/base-checkout --data var/demo \
         --period 2024Q4 --period 2026Q3 [--all-periods] [--option=--list-pending]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ONE_CHECKOUT = """
import hashlib, json, sys, tempfile
from pathlib import Path
from typer.testing import CliRunner
from huiqi.interfaces.cli import app
data, options, periods = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3:]
out = {}
for period in periods:
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "out"
        r = CliRunner().invoke(app, ["screen", "--period", period, "--data", data, "--out", str(target), *options])
        if r.exit_code:
            raise SystemExit(f"{period}: {r.output}{r.exception}")
        out[period] = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(target.resolve().iterdir())}
import huiqi
print(json.dumps({"code": huiqi.__file__, "hashes": out}))
"""


def hashes(checkout: Path, data: Path, periods: list[str], options: list[str]) -> dict:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    proc = subprocess.run([sys.executable, "-c", ONE_CHECKOUT, str(data), json.dumps(options), *periods],
                          capture_output=True, text=True, env=env, cwd=tempfile.gettempdir())
    if proc.returncode:
        raise SystemExit(f"{checkout}: {proc.stderr[-3000:]}{proc.stdout[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    if not Path(out["code"]).resolve().is_relative_to(checkout.resolve()):  # PYTHONPATH took effect
        raise SystemExit(f"{checkout}: imported huiqi from {out['code']}")
    return out["hashes"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", type=Path, required=True, help="the other checkout (e.g. git worktree add --detach)")
    ap.add_argument("--new", type=Path, default=HERE.parent)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--period", action="append", default=[])
    ap.add_argument("--all-periods", action="store_true", help="every quarter of the rule set, 2024 and 2025H2")
    ap.add_argument("--option", action="append", default=[], help="an extra `huiqi screen` option, e.g. --csv")
    args = ap.parse_args()
    periods = list(args.period)
    if args.all_periods:
        from huiqi.engine.evaluate import RuleSet

        periods += [*RuleSet().quarters(), "2024", "2025H2"]
    base, new = (hashes(c, args.data.resolve(), periods, args.option) for c in (args.base, args.new))
    differ = [(p, f) for p in periods for f in sorted(set(base[p]) | set(new[p])) if base[p].get(f) != new[p].get(f)]
    files = sum(len(v) for v in new.values())
    print(f"{args.data}: {len(periods)} period(s), {files} files: " + ("identical" if not differ else f"DIFFER {differ}"))
    if differ:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
