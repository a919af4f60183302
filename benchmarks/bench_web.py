"""Web latency: the calculator endpoint and search under concurrent clients, over loopback.

For each variant it starts a real server process (`python -m huiqi.interfaces.cli_serve`) on a free 127.0.0.1
port with a fresh SQLite database and the demo data, logs in, drives it with a bounded number of requests at a
fixed concurrency, then stops it (SIGINT). Variants, measured in the same run so the figures are comparable:

  batched      the default: calculator requests computed in the batcher's worker thread, those arriving while
               it computes gathered (up to 8) into the next batch; each check runs the plan row by row
  unbatched    HUIQI_CALC_BATCH_MS=0: each check alone in the framework's thread pool
  workers2     batched, `--workers 2` (two server processes)
  batch64      batched with up to 64 requests a batch (HUIQI_CALC_BATCH_MAX=64; the default is 8)
  before       optional (--before PATH): the same scenarios against another checkout's server, e.g. the code
               before this change (`--before /path/to/checkout`, run with that checkout's own venv python)
  before-w2    with --before and workers2: that checkout with `--workers 2`

Scenarios (each request distinct: nothing is answered from the server's result cache):

  calc 50 distinct      POST /api/check, 50 clients, each request a different real enterprise's facts
  search 50 uncached    GET /api/search, 50 clients, every (query, limit) pair new to the server
  stored 50             GET /api/enterprises/{code}/check, 50 clients, different enterprises
  calc 1 client         POST /api/check, one client at a time (the service time without queueing)

It prints p50/p95/p99, throughput and the server's own CPU time per request (from /proc, all its processes).
The load is sent over keep-alive connections by a minimal asyncio HTTP/1.1 client (httpx does the set-up):
httpx.AsyncClient itself needs several ms of CPU per request at 50 connections, which on a 2-CPU machine would
measure the client, not the server.

    python benchmarks/bench_web.py [--clients 50] [--requests 600] [--variants batched,unbatched,workers2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = max(0, min(len(values) - 1, int(round(p / 100 * len(values) + 0.5)) - 1))
    return values[k]


SERVER_PID: int | None = None


def _tree(pid: int) -> list[int]:
    """pid and its descendants (uvicorn's worker processes), from /proc."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += parents.get(p, [])
    return out


def server_cpu_seconds() -> float:
    """user+system CPU of the server's processes so far (Linux /proc), to tell server cost from client cost."""
    if SERVER_PID is None or not Path(f"/proc/{SERVER_PID}/stat").exists():
        return float("nan")
    total = 0
    for pid in _tree(SERVER_PID):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


class RawConnection:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams. httpx.AsyncClient costs several ms of CPU per
    request at 50 connections, which on a 2-CPU machine starves the server it measures; this costs ~0.1 ms."""

    def __init__(self, host: str, port: int, cookie: str):
        self.host, self.port, self.cookie = host, port, cookie
        self.reader = self.writer = None

    async def request(self, method: str, url: str, params=None, json=None, headers=None) -> int:
        import json as _json
        from urllib.parse import urlencode

        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        target = url + ("?" + urlencode(params) if params else "")
        body = _json.dumps(json, ensure_ascii=False).encode() if json is not None else b""
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Cookie: {self.cookie}",
                 f"Content-Length: {len(body)}"]
        if json is not None:
            lines.append("Content-Type: application/json")
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await self.reader.readexactly(length)
        return status


async def drive(client: httpx.AsyncClient, make_request, n: int, clients: int) -> dict:
    latencies: list[float] = []
    errors = 0
    counter = iter(range(n))
    url = client.base_url
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())

    async def worker():
        nonlocal errors
        conn = RawConnection(url.host, url.port, cookie)
        for i in counter:
            method, path, kwargs = make_request(i)
            t = time.perf_counter()
            status = await conn.request(method, path, **kwargs)
            latencies.append((time.perf_counter() - t) * 1000)
            if status != 200:
                errors += 1
        if conn.writer is not None:
            conn.writer.close()

    started, cpu = time.perf_counter(), server_cpu_seconds()
    await asyncio.gather(*[worker() for _ in range(clients)])
    wall = time.perf_counter() - started
    cpu = server_cpu_seconds() - cpu
    return {"n": len(latencies), "errors": errors, "p50": pct(latencies, 50), "p95": pct(latencies, 95),
            "p99": pct(latencies, 99), "mean": statistics.fmean(latencies), "rps": len(latencies) / wall,
            "server_ms": cpu * 1000 / max(1, len(latencies))}


async def run(base: str, clients: int, requests: int) -> list[tuple[str, dict]]:
    from huiqi.services.search import BENCHMARK_QUERIES

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as c:
        token = (await c.get("/api/csrf")).json()["csrf_token"]
        r = await c.post("/api/login", json={"username": "admin", "password": "Huiqi-Admin-2024"},
                         headers={"X-CSRF-Token": token})
        r.raise_for_status()
        headers = {"X-CSRF-Token": r.json()["csrf_token"]}
        listed = (await c.get("/api/enterprises", params={"limit": 500})).json()["enterprises"]
        codes = [e["credit_code"] for e in listed]
        facts = []
        for code in codes[:min(len(codes), requests)]:
            got = await c.get(f"/api/enterprises/{code}/facts", params={"period": "2024Q4"})
            facts.append(got.json()["facts"])
        base_facts = list(facts)
        while len(facts) < requests + 200:  # more distinct requests than enterprises: vary a number by 1 分
            f = dict(base_facts[len(facts) % len(base_facts)])
            f["output_q"] = f"{len(facts)}.01"
            facts.append(f)
        # warm the evaluator's plan for the period (compiled once per parameter set) in every process
        for _ in range(8):
            await c.post("/api/check", json={"period": "2024Q4", "facts": {"output_q": "1.01"}}, headers=headers)

        def check(i):
            return "POST", "/api/check", {"json": {"period": "2024Q4", "facts": facts[i]}, "headers": headers}

        def stored(i):
            return "GET", f"/api/enterprises/{codes[i % len(codes)]}/check", {"params": {"period": "2024Q4"}}

        def search(i):  # (query, limit) pairs never asked before: every one misses the result cache
            q = BENCHMARK_QUERIES[i % len(BENCHMARK_QUERIES)]
            return "GET", "/api/search", {"params": {"q": q, "limit": 1 + (i // len(BENCHMARK_QUERIES)) % 100}}

        out = [("calc 50 distinct", await drive(c, check, requests, clients)),
               ("search 50 uncached", await drive(c, search, min(requests, 100 * len(BENCHMARK_QUERIES)), clients)),
               ("stored 50", await drive(c, stored, min(requests, len(codes)), clients))]
        n1 = min(200, requests)
        out.append(("calc 1 client", await drive(c, lambda i: check(requests + i), n1, 1)))
        return out


def start_server(root: Path, python: str, data: str, extra: list[str], env: dict) -> tuple[subprocess.Popen, str, Path]:
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="huiqi-bench-web-"))
    cmd = [python, "-m", "huiqi.interfaces.cli_serve", "--host", "127.0.0.1", "--port", str(port),
           "--db", f"sqlite:///{tmp / 'bench.db'}", "--data", data, "--work", str(tmp / "work"),
           "--log-level", "warning", *extra]
    proc = subprocess.Popen(cmd, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, **env}, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 300
    while True:
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return proc, base, tmp
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            stop_server(proc)
            shutil.rmtree(tmp, ignore_errors=True)
            raise SystemExit(f"server did not start: {proc.stderr.read().decode()[-2000:]}")
        time.sleep(0.3)


def stop_server(proc: subprocess.Popen) -> None:
    """SIGINT to the server's own process group (uvicorn's workers included); kill if it does not stop."""
    try:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=600)
    ap.add_argument("--data", default=str(ROOT / "var" / "demo"))
    ap.add_argument("--variants", default="batched,unbatched,workers2")
    ap.add_argument("--before", help="another checkout to measure as the 'before' variant (its .venv/bin/python)")
    a = ap.parse_args()
    data = str(Path(a.data).resolve())
    variants = {"batched": (ROOT, sys.executable, [], {}),
                "unbatched": (ROOT, sys.executable, [], {"HUIQI_CALC_BATCH_MS": "0"}),
                "workers2": (ROOT, sys.executable, ["--workers", "2"], {}),
                "batch64": (ROOT, sys.executable, [], {"HUIQI_CALC_BATCH_MAX": "64"})}
    if a.before:
        before = Path(a.before).resolve()
        python = before / ".venv" / "bin" / "python"
        python = str(python if python.exists() else sys.executable)
        variants["before"] = (before, python, [], {})
        variants["before-w2"] = (before, python, ["--workers", "2"], {})
    chosen = [v for v in a.variants.split(",") if v]
    if a.before and not {"before", "before-w2"} & set(chosen):  # unless --variants places them (e.g. first)
        chosen += ["before"] + (["before-w2"] if "workers2" in chosen else [])
    global SERVER_PID
    table: dict[str, list[tuple[str, dict]]] = {}
    for name in chosen:
        root, python, extra, env = variants[name]
        proc, base, tmp = start_server(root, python, data, extra, env)
        SERVER_PID = proc.pid
        try:
            table[name] = asyncio.run(run(base, a.clients, a.requests))
        finally:
            stop_server(proc)
            shutil.rmtree(tmp, ignore_errors=True)  # the server's database and work directory
        print(f"  measured {name}", file=sys.stderr)
    print(f"{os.cpu_count()} CPUs (shared with other work: see the load average), load average "
          f"{os.getloadavg()[0]:.1f}; {a.clients} concurrent clients; loopback")
    print(f"{'scenario':22s} {'variant':10s} {'n':>5s} {'err':>4s} {'p50 ms':>8s} {'p95 ms':>8s} {'p99 ms':>8s} "
          f"{'req/s':>7s} {'server CPU ms/req':>18s}")
    scenarios = [s for s, _ in next(iter(table.values()))]
    for i, scenario in enumerate(scenarios):
        for name, results in table.items():
            r = results[i][1]
            print(f"{scenario:22s} {name:10s} {r['n']:5d} {r['errors']:4d} {r['p50']:8.1f} {r['p95']:8.1f} "
                  f"{r['p99']:8.1f} {r['rps']:7.0f} {r['server_ms']:18.2f}")
    if "batched" in table and "unbatched" in table:
        b, u = table["batched"][0][1], table["unbatched"][0][1]
        print(f"calc 50 distinct p99: batched {b['p99']:.0f} ms vs unbatched {u['p99']:.0f} ms "
              f"(×{u['p99'] / b['p99']:.1f}); target ≤ 50 ms")
    for name, results in table.items():
        print(f"search 50 uncached p95 ({name}): {results[1][1]['p95']:.0f} ms; target ≤ 50 ms")


if __name__ == "__main__":
    main()
