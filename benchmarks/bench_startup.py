"""Start-up of the real `huiqi serve` as a whole process: exec → the first 200 on /healthz, beside a floor.

Variants, alternated in one run so that the machine's load swings hit them alike:
  floor    a bare Starlette app on uvicorn answering /healthz (none of huiqi's imports or work)
  this     `huiqi serve` of this checkout
  base     `huiqi serve` of another checkout (``--base DIR``, e.g. a `git worktree add --detach` of the base commit)
Scenarios: ``fresh`` (a new database: migrations from nothing, demo accounts seeded), ``existing`` (a restart on
that database), ``workers2`` (``--workers 2`` on an existing database: the first 200, and when each worker said
"Application startup complete", both from the exec). The demo data folder is generated once, before timing; the
first run of each variant is a warm-up (byte code, the rule cache), as on a server that has started once before.
Also ``huiqi check`` of one enterprise as a whole process (``cli``), and the same with the cache off (``cli-off``:
what every process paid before the compiled plan was cached, and what a miss costs), and ``plans``: in one
process of this checkout, compiling every period's plan against loading it. The children use a private
cache directory (``HUIQI_CACHE_DIR`` under the run's temporary directory), so the warm-up run fills it and other
processes' caches play no part.

    python benchmarks/bench_startup.py [--base /tmp/base] [--repeat 3] [--scenarios fresh,existing,workers2,cli,cli-off]
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FLOOR_APP = """
import sys
import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

async def healthz(request):
    return JSONResponse({"ok": True})

uvicorn.run(Starlette(routes=[Route("/healthz", healthz)]), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""

SERVE = "import sys; from huiqi.interfaces.cli import main; sys.argv[0] = 'huiqi'; sys.exit(main())"

CHECK_FACTS = ROOT / "examples" / "enterprise_2024q4.yaml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answered(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/healthz")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


def session_cpu(sid: int) -> float:
    """CPU seconds (user + system, with reaped children's) of every process in a session so far: less swung by
    the other work on the machine than the wall time."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:  # after ")": state ppid pgrp session … utime(11) stime cutime cstime
            ticks += sum(int(f) for f in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


CACHE: list[Path] = []  # the run's private cache directory (set in main)


def child_env(pythonpath: Path | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")}
    if CACHE:
        env["HUIQI_CACHE_DIR"] = str(CACHE[0])
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return env


def run_server(cmd: list[str], env: dict, cwd: Path, port: int, workers: int = 1) -> dict:
    """Times from the exec: the first 200, and each worker's "Application startup complete" (workers > 1)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True, text=True)
    ready: list[float] = []
    tail: list[str] = []

    def read_log():
        for line in proc.stderr:
            tail.append(line)
            if "Application startup complete" in line:
                ready.append(time.perf_counter() - started)

    reader = threading.Thread(target=read_log, daemon=True)
    reader.start()
    try:
        deadline = time.time() + 300
        while not answered(port):
            if proc.poll() is not None or time.time() > deadline:
                raise SystemExit(f"server did not start: {''.join(tail)[-2000:]}")
            time.sleep(0.01)
        first = time.perf_counter() - started
        cpu = session_cpu(proc.pid)
        while workers > 1 and len(ready) < workers and time.time() < deadline:
            time.sleep(0.01)
        return {"first": first, "cpu": cpu, "workers": sorted(ready)}
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        reader.join(timeout=5)


def serve_cmd(data: Path, db: Path, work: Path, port: int, workers: int) -> list[str]:
    return [sys.executable, "-c", SERVE, "serve", "--host", "127.0.0.1", "--port", str(port), "--db", f"sqlite:///{db}",
            "--data", str(data), "--work", str(work), "--workers", str(workers), "--log-level", "info",
            "--no-access-log"]


def one_run(variant: str, checkout: Path | None, scenario: str, data: Path, tmp: Path) -> dict:
    port = free_port()
    if variant == "floor":
        if scenario.startswith("cli"):
            return {"first": timed_cli([sys.executable, "-c", "import typer, polars, yaml"], None, tmp)}
        return run_server([sys.executable, "-c", FLOOR_APP, str(port)], child_env(None), tmp, port)
    env = child_env(checkout)
    if scenario == "cli-off":
        env["HUIQI_CACHE_DIR"] = "off"
    if scenario.startswith("cli"):
        return {"first": timed_cli([sys.executable, "-c", SERVE, "check", str(CHECK_FACTS), "--format", "json"], env,
                                   tmp)}
    home = tmp / f"{variant}-{scenario}"
    if scenario == "fresh":
        shutil.rmtree(home, ignore_errors=True)
    home.mkdir(exist_ok=True)
    db, work = home / "huiqi.db", home / "web"
    if scenario in ("existing", "workers2") and not db.exists():  # the database of an earlier start
        run_server(serve_cmd(data, db, work, port, 1), env, tmp, port)
        port = free_port()
    workers = 2 if scenario == "workers2" else 1
    return run_server(serve_cmd(data, db, work, port, workers), env, tmp, port, workers)


PLAN_TIMINGS = """
import json, os, statistics, sys, time
from huiqi.rules import cache
from huiqi.rules.syntax import parse
from huiqi.engine.evaluate import RuleSet
from huiqi.services import calculator_rows
from huiqi.services.calculator_rows import RowPlan, row_plan

cache.load()
probe = RuleSet()
values = probe.resolve_parameters()
periods = probe.quarters() + sorted({q[:4] for q in probe.quarters()})
out = {"compile": [], "load": [], "rows build": [], "rows load": []}
for period in periods:
    for kind in ("compile", "load"):
        if kind == "compile":
            parse.cache_clear()  # as in a new process: every expression read afresh
            for p in os.scandir(os.environ["HUIQI_CACHE_DIR"]):
                if p.name.startswith(("plan-", "rows-")):
                    os.unlink(p.path)
        rs = RuleSet()
        t = time.perf_counter()
        plan, exprs = rs._planned(period, "enterprise", values, None)
        out[kind].append(time.perf_counter() - t)
        calculator_rows._CACHE.clear()
        t = time.perf_counter()
        _, fast = row_plan(rs, period, "enterprise", values, None)
        out["rows build" if kind == "compile" else "rows load"].append(time.perf_counter() - t)
print(json.dumps({"periods": len(periods), **{k: sum(v) for k, v in out.items()}}))
"""


def plan_timings(tmp: Path) -> None:
    """In one process of this checkout, every period's enterprise plan compiled then loaded (same run, alternated
    per period): the compile a cache hit skips, and the row plan's build against its load."""
    env = child_env(ROOT) | {"HUIQI_CACHE_DIR": str(tmp / "plan-cache")}
    done = subprocess.run([sys.executable, "-c", PLAN_TIMINGS], cwd=tmp, env=env, capture_output=True, text=True,
                          check=True)
    import json

    t = json.loads(done.stdout)
    print(f"  plans     every period's enterprise plan ({t['periods']}), one process: compile {t['compile']:.2f} s, "
          f"load {t['load']:.2f} s ({t['load'] / t['compile']:.2f}); row plan build {t['rows build']:.2f} s, "
          f"load {t['rows load']:.2f} s ({t['rows load'] / t['rows build']:.2f})")


def timed_cli(cmd: list[str], env: dict | None, cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env or child_env(None), capture_output=True, text=True)
    if done.returncode not in (0, 1):  # `check` exits 1 when no measure is met; anything else is a failure
        raise SystemExit(f"{cmd[:3]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", type=Path, help="another checkout to compare (run with this interpreter)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scenarios", default="fresh,existing,workers2,cli,cli-off")
    args = ap.parse_args()
    variants: dict[str, Path | None] = {"floor": None, "this": ROOT}
    if args.base:
        variants["base"] = args.base.resolve()
    scenarios = args.scenarios.split(",")
    timings = "plans" in scenarios
    scenarios = [x for x in scenarios if x != "plans"]
    with tempfile.TemporaryDirectory(prefix="huiqi-bench-startup-") as name:
        tmp = Path(name)
        CACHE.append(tmp / "cache")
        data = tmp / "demo"
        subprocess.run([sys.executable, "-c", SERVE, "demo-data", "--out", str(data)], cwd=tmp, env=child_env(ROOT),
                       check=True, capture_output=True)
        times: dict[tuple[str, str], list[dict]] = {}
        for scenario in scenarios:
            for variant, checkout in variants.items():  # warm-up: byte code and the rule cache, not timed
                one_run(variant, checkout, scenario, data, tmp)
            for _ in range(args.repeat):
                for variant, checkout in variants.items():
                    times.setdefault((variant, scenario), []).append(one_run(variant, checkout, scenario, data, tmp))
        print(f"start-up, exec → first 200 on /healthz (`huiqi check` for cli), median of {args.repeat}, "
              f"variants alternated; load average after: {os.getloadavg()[0]:.1f}. CPU: the server's processes' "
              "user + system seconds until that answer")
        for scenario in scenarios:
            floor = statistics.median(r["first"] for r in times[("floor", scenario)])
            this = statistics.median(r["first"] for r in times[("this", scenario)])
            for variant in variants:
                runs = times[(variant, scenario)]
                med = statistics.median(r["first"] for r in runs)
                line = (f"  {scenario:9s} {variant:6s} {med:6.2f} s  ({med / floor:4.1f}× floor)  runs "
                        + ", ".join(f"{r['first']:.2f}" for r in runs))
                if "cpu" in runs[0]:
                    line += f"  CPU {statistics.median(r['cpu'] for r in runs):.2f} s"
                if variant == "base":
                    line += f"  this/base {this / med:.2f}"
                    if "cpu" in runs[0]:
                        cpu = [statistics.median(r["cpu"] for r in times[(v, scenario)]) for v in ("this", "base")]
                        line += f" (CPU {cpu[0] / cpu[1]:.2f})"
                if scenario == "workers2" and variant != "floor":
                    line += "  workers ready " + "; ".join(", ".join(f"{t:.2f}" for t in r["workers"]) for r in runs)
                print(line)
        if timings:
            plan_timings(tmp)


if __name__ == "__main__":
    main()
