"""Web latency: the calculator endpoint and search under concurrent clients, over loopback.

Starts `huiqi serve` (one uvicorn process) on a free 127.0.0.1 port with a fresh SQLite database and the demo
data, logs in, then drives it with an httpx.AsyncClient from this process:

  calculator, distinct facts  POST /api/check, each request a different real enterprise's facts (no cache hit)
  calculator, repeated facts  POST /api/check, the same 200 enterprises again (answered from the result cache)
  stored enterprise           GET /api/enterprises/{code}/check (facts from the loaded data, then cached)
  search                      GET /api/search over huiqi.services.search.BENCHMARK_QUERIES

Each scenario has a bounded request count and a fixed concurrency; it prints p50/p95/p99, throughput and the
server's own CPU time per request (from /proc). The load is sent over keep-alive connections by a minimal asyncio
HTTP/1.1 client (httpx does the set-up): httpx.AsyncClient itself needs several ms of CPU per request at 50
connections, which on a 2-CPU machine would measure the client, not the server.

    python benchmarks/bench_web.py [--clients 50] [--requests 1000] [--data var/demo]
"""

from __future__ import annotations

import argparse
import asyncio
import os
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


def server_cpu_seconds() -> float:
    """user+system CPU of the server process so far (Linux /proc), to tell server cost from client cost."""
    if SERVER_PID is None or not Path(f"/proc/{SERVER_PID}/stat").exists():
        return float("nan")
    fields = Path(f"/proc/{SERVER_PID}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as c:
        token = (await c.get("/api/csrf")).json()["csrf_token"]
        r = await c.post("/api/login", json={"username": "admin", "password": "Huiqi-Admin-2024"},
                         headers={"X-CSRF-Token": token})
        r.raise_for_status()
        headers = {"X-CSRF-Token": r.json()["csrf_token"]}
        listed = (await c.get("/api/enterprises", params={"limit": 500})).json()["enterprises"]
        codes = [e["credit_code"] for e in listed]
        facts = []
        for code in codes[:max(200, requests)]:
            got = await c.get(f"/api/enterprises/{code}/facts", params={"period": "2024Q4"})
            facts.append(got.json()["facts"])
        while len(facts) < requests:  # more distinct requests than enterprises: vary a number by 1 分
            base_facts = dict(facts[len(facts) % len(codes)])
            base_facts["output_q"] = f"{len(facts)}.01"
            facts.append(base_facts)
        # warm the evaluator's plan for the period (compiled once per parameter set)
        await c.post("/api/check", json={"period": "2024Q4", "facts": {}}, headers=headers)

        def check(i):
            return "POST", "/api/check", {"json": {"period": "2024Q4", "facts": facts[i]}, "headers": headers}

        def check_repeat(i):
            return "POST", "/api/check", {"json": {"period": "2024Q4", "facts": facts[i % 200]}, "headers": headers}

        def stored(i):
            return "GET", f"/api/enterprises/{codes[i % len(codes)]}/check", {"params": {"period": "2024Q4"}}

        def search(i):
            return "GET", "/api/search", {"params": {"q": BENCHMARK_QUERIES[i % len(BENCHMARK_QUERIES)],
                                                     "limit": 20}}

        out = []
        for name, fn in (("calculator, distinct facts", check), ("calculator, repeated facts", check_repeat),
                         ("stored enterprise", stored), ("search", search)):
            if fn is check_repeat:
                await drive(c, check_repeat, 200, clients)  # fill the cache (already filled by the first run)
            out.append((name, await drive(c, fn, requests, clients)))
        # one client at a time: the service time without queueing
        fresh = [{**facts[i % len(facts)], "output_q": f"{10_000_000 + i}.02"} for i in range(200)]
        out.append(("calculator, 1 client, distinct", await drive(
            c, lambda i: ("POST", "/api/check", {"json": {"period": "2024Q4", "facts": fresh[i]}, "headers": headers}),
            200, 1)))
        out.append(("calculator, 1 client, repeated", await drive(c, check_repeat, 200, 1)))
        out.append(("search, 1 client", await drive(c, search, 300, 1)))
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--data", default=str(ROOT / "var" / "demo"))
    a = ap.parse_args()
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="huiqi-bench-web-"))
    cmd = [sys.executable, "-m", "huiqi.interfaces.cli_serve", "--host", "127.0.0.1", "--port", str(port),
           "--db", f"sqlite:///{tmp / 'bench.db'}", "--data", a.data, "--work", str(tmp / "work"),
           "--log-level", "warning"]
    global SERVER_PID
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    SERVER_PID = proc.pid
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 180
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                raise SystemExit(f"server did not start: {proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.3)
        results = asyncio.run(run(base, a.clients, a.requests))
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    print(f"{os.cpu_count()} CPUs, {a.clients} concurrent clients, {a.requests} requests per scenario, loopback")
    print(f"{'scenario':32s} {'n':>6s} {'err':>4s} {'p50 ms':>8s} {'p95 ms':>8s} {'p99 ms':>8s} {'req/s':>8s} "
          f"{'server CPU ms/req':>18s}")
    for name, r in results:
        print(f"{name:32s} {r['n']:6d} {r['errors']:4d} {r['p50']:8.1f} {r['p95']:8.1f} {r['p99']:8.1f} {r['rps']:8.0f} "
              f"{r['server_ms']:18.2f}")


if __name__ == "__main__":
    main()
