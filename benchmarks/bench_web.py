"""Web latency: the calculator endpoint and search under concurrent clients, over loopback.

For each variant it starts a real server process (`python -m huiqi.interfaces.cli_serve`) on a free 127.0.0.1
port with a fresh SQLite database and the demo data, logs in, drives it with a bounded number of requests at a
fixed concurrency, then stops it (SIGINT). Variants, measured in the same run so the figures are comparable:

  batched      the default: calculator requests computed in the batcher's worker thread, those arriving while
               it computes gathered (up to 8) into the next batch; each check runs the plan row by row
  unbatched    HUIQI_CALC_BATCH_MS=0: each check alone in the framework's thread pool
  workers2     batched, `--workers 2` (two server processes)
  batch64      batched with up to 64 requests a batch (HUIQI_CALC_BATCH_MAX=64; the default is 8)
  switch=MS    batched, the GIL's switch interval MS milliseconds (HUIQI_SWITCH_INTERVAL_MS; e.g. switch=1)
  before       optional (--before PATH): the same scenarios against another checkout's server, e.g. the code
               before this change (`--before /path/to/checkout`, run with that checkout's own venv python)
  before-w2    with --before and workers2: that checkout with `--workers 2`

Scenarios (each request distinct: nothing is answered from the server's result cache):

  calc 50 distinct      POST /api/check, 50 clients, each request a different real enterprise's facts
  search 50 uncached    GET /api/search, 50 clients, every (query, limit) pair new to the server
  stored 50             GET /api/enterprises/{code}/check, 50 clients, different enterprises
  calc 1 client         POST /api/check, one client at a time (the service time without queueing)

Every request carries the Accept-Encoding header of `--accept-encoding` (default the browser's, "gzip, deflate, br,
zstd", as Chromium sends: what the calculator's users send; "identity" for the uncompressed path). Several values
(the option repeated) are measured each on its own server, in the same run: the header is printed with every figure,
with the bytes of an answer as sent (decision COMPRESS11-1).

It prints p50/p95/p99, throughput, bytes per answer, the server's own CPU time per request (from /proc, all its processes), the
load client's own CPU per request and, for the raw client, the server's context switches per request (voluntary +
involuntary, all its threads: how often the event loop and the batcher's thread sleep and wake) and the CPU of its
main thread (the event loop) per request: the rest of the server's CPU is the other threads' (the batcher's). Two load
clients (`--client raw,wrk`), each with its own distinct requests:
  raw  a minimal asyncio HTTP/1.1 keep-alive client in this process (httpx only logs in: httpx.AsyncClient needs
       several ms of CPU per request at 50 connections); every status and every 25th body checked
  wrk  Debian's wrk (scripts/system-packages.sh) with benchmarks/bench_web_wrk.lua, by duration; every status
       counted (no body goes to Lua: that would double wrk's CPU); "stored 50" is raw only (decision WEB2-1)
Any non-200 or bad body makes the run exit non-zero. `--repeat N` alternates the variants (A B A B …) and prints
medians with every run's figure; start-up to the first 200 on /healthz is printed per variant.

    python benchmarks/bench_web.py [--clients 50] [--requests 600] [--variants batched,unbatched,workers2]
        [--client raw,wrk] [--repeat 3] [--before /path/to/checkout]
        [--accept-encoding browser --accept-encoding identity]
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
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parents[1]
BROWSER_ACCEPT_ENCODING = "gzip, deflate, br, zstd"  # Chromium's (and requests', httpx's with zstandard installed)
ENCODING_NAMES = {"browser": BROWSER_ACCEPT_ENCODING}


def accept_label(header: str) -> str:
    """The short name printed with every figure: "browser", "identity", or the header as given."""
    return next((name for name, value in ENCODING_NAMES.items() if value == header), header)


def decoded(body: bytes, encoding: str) -> bytes:
    """A sampled body as the client would read it (the marker is looked for in this)."""
    if encoding == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().decompressobj().decompress(body)
    if encoding in ("gzip", "x-gzip"):
        import zlib

        return zlib.decompress(body, 47)
    return body


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


def _server_cpu(stat_path) -> float:
    """user+system CPU so far of the server's processes, each read from ``stat_path(pid)`` (Linux /proc)."""
    if SERVER_PID is None:
        return float("nan")
    total = 0
    for pid in _tree(SERVER_PID):
        try:
            fields = Path(stat_path(pid)).read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def server_cpu_seconds() -> float:
    """user+system CPU of the server's processes so far, to tell server cost from client cost."""
    if SERVER_PID is not None and not Path(f"/proc/{SERVER_PID}/stat").exists():
        return float("nan")
    return _server_cpu(lambda pid: f"/proc/{pid}/stat")


def wait_until_settled(quiet_s: float = 0.5, most: float = 0.05, timeout: float = 120) -> None:
    """Wait until the server's processes stop using CPU (< `most` s of CPU over `quiet_s`): the first 200 on
    /healthz comes from the first worker ready, and with `--workers N` the others may still be loading. Clients
    that connect meanwhile all land on the ready worker, whatever the variant, and its queue becomes the run's
    tail. The same wait for every variant, so start-up differences do not leak into the figures."""
    deadline = time.time() + timeout
    before = server_cpu_seconds()
    while time.time() < deadline:
        time.sleep(quiet_s)
        now = server_cpu_seconds()
        if now - before < most:
            return
        before = now


def server_main_thread_cpu_seconds() -> float:
    """user+system CPU so far of the server's main threads (their event loops; /proc/<pid>/task/<pid>/stat), to
    tell the loop's share of a request from the other threads' (the calculator's batcher above all)."""
    return _server_cpu(lambda pid: f"/proc/{pid}/task/{pid}/stat")


def server_switches() -> tuple[int, int]:
    """(voluntary, involuntary) context switches of every thread of the server's processes so far (/proc): how
    often the event loop and the batcher's thread sleep and wake, beside the CPU."""
    vol = invol = 0
    if SERVER_PID is None:
        return 0, 0
    for pid in _tree(SERVER_PID):
        for status in Path(f"/proc/{pid}/task").glob("*/status"):
            try:
                text = status.read_text()
            except OSError:
                continue
            for line in text.splitlines():
                if line.startswith("voluntary_ctxt_switches:"):
                    vol += int(line.split()[1])
                elif line.startswith("nonvoluntary_ctxt_switches:"):
                    invol += int(line.split()[1])
    return vol, invol


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, str]:
    """One HTTP/1.1 response with a Content-Length: (status, body as sent, its Content-Encoding or "")."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length, encoding = 0, ""
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
        elif line.lower().startswith(b"content-encoding:"):
            encoding = line.split(b":", 1)[1].strip().decode()
    return status, await reader.readexactly(length), encoding


class RawConnection:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams. httpx.AsyncClient costs several ms of CPU per
    request at 50 connections, which on a 2-CPU machine starves the server it measures; this costs ~0.1 ms."""

    def __init__(self, host: str, port: int, cookie: str):
        self.host, self.port, self.cookie = host, port, cookie
        self.reader = self.writer = None

    async def request(self, method: str, url: str, params=None, json=None, headers=None) -> tuple[int, bytes, str]:
        """(status, body as sent, its Content-Encoding or "")."""
        import json as _json

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
        return await read_response(self.reader)


async def drive(client: httpx.AsyncClient, make_request, n: int, clients: int, marker: bytes = b"",
                accept: str = BROWSER_ACCEPT_ENCODING) -> dict:
    """n requests over `clients` keep-alive connections of the raw asyncio client, each with Accept-Encoding
    `accept`; every status checked, every 25th body decoded and must contain `marker`. Reports the client's own CPU
    per request beside the server's, and the bytes of a body as sent."""
    latencies: list[float] = []
    errors = sampled = bad_bodies = sent_bytes = 0
    counter = iter(range(n))
    url = client.base_url
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())

    async def worker():
        nonlocal errors, sampled, bad_bodies, sent_bytes
        conn = RawConnection(url.host, url.port, cookie)
        for i in counter:
            method, path, kwargs = make_request(i)
            kwargs = {**kwargs, "headers": {**kwargs.get("headers", {}), "Accept-Encoding": accept}}
            t = time.perf_counter()
            status, body, encoding = await conn.request(method, path, **kwargs)
            latencies.append((time.perf_counter() - t) * 1000)
            sent_bytes += len(body)
            if status != 200:
                errors += 1
            if i % 25 == 24:
                sampled += 1
                bad_bodies += marker not in decoded(body, encoding)
        if conn.writer is not None:
            conn.writer.close()

    switches = server_switches()
    started, cpu, own = time.perf_counter(), server_cpu_seconds(), time.process_time()
    loop_cpu = server_main_thread_cpu_seconds()
    await asyncio.gather(*[worker() for _ in range(clients)])
    wall = time.perf_counter() - started
    cpu, own = server_cpu_seconds() - cpu, time.process_time() - own
    loop_cpu = server_main_thread_cpu_seconds() - loop_cpu
    out = summary(latencies, wall, cpu, own, errors, sampled, bad_bodies)
    out["kb"] = sent_bytes / 1024 / out["n"]
    out["loop_ms"] = loop_cpu * 1000 / out["n"]  # the event loop's thread (workers' main threads with --workers)
    vol, invol = (after - before for after, before in zip(server_switches(), switches))
    out["switches"] = f"{vol / out['n']:.1f}+{invol / out['n']:.1f}"  # per request, all threads
    return out


def summary(latencies: list[float], wall: float, server_cpu: float, client_cpu: float, errors: int, sampled: int,
            bad_bodies: int) -> dict:
    n = max(1, len(latencies))
    return {"n": len(latencies), "errors": errors, "p50": pct(latencies, 50), "p95": pct(latencies, 95),
            "p99": pct(latencies, 99), "mean": statistics.fmean(latencies), "rps": len(latencies) / wall,
            "server_ms": server_cpu * 1000 / n, "client_ms": client_cpu * 1000 / n, "sampled": sampled,
            "bad_bodies": bad_bodies}


WRK_SCRIPT = ROOT / "benchmarks" / "bench_web_wrk.lua"


def drive_wrk(client: httpx.AsyncClient, make_request, listed: int, clients: int, seconds: int,
              headers: dict) -> dict:
    """The same kind of requests sent by wrk (C, one thread, keep-alive) for `seconds`, from a list of `listed`
    distinct ones (a run that outlasts the list is refused: repeats would be cache hits). wrk counts every non-2xx
    status; bodies are sampled by the raw client. Its own CPU from wait4's rusage."""
    import json as _json

    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", prefix="huiqi-bench-wrk-", delete=False) as f:
        f.write("\t".join(f"{k}: {v}" for k, v in {"Cookie": cookie, **headers}.items()) + "\n")
        for i in range(listed):
            method, path, kwargs = make_request(i)
            target = path + ("?" + urlencode(kwargs["params"]) if kwargs.get("params") else "")
            body = _json.dumps(kwargs["json"], ensure_ascii=False) if "json" in kwargs else ""
            f.write(f"{method}\t{target}" + (f"\t{body}" if body else "") + "\n")
    try:
        cmd = ["wrk", "-t1", f"-c{clients}", f"-d{seconds}s", "--timeout", "30s", "-s", str(WRK_SCRIPT),
               str(client.base_url), "--", f.name]
        cpu = server_cpu_seconds()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        out = proc.stdout.read()
        _pid, _status, usage = os.wait4(proc.pid, 0)  # wrk's own CPU (user + system), not the server's
        proc.returncode = 0
        cpu = server_cpu_seconds() - cpu
    finally:
        os.unlink(f.name)
    line = next((ln for ln in out.splitlines() if ln.startswith("WRK-RESULT ")), None)
    if line is None:
        raise SystemExit(f"wrk failed: {out[-2000:]}")
    r = _json.loads(line.split(" ", 1)[1])
    kb = r["bytes"] / 1024 / max(1, r["n"])  # the whole response, head included (wrk counts what it reads)
    if r["wrapped"]:
        raise SystemExit(f"wrk sent more than the {listed} distinct requests listed: raise the list or lower the time")
    n = max(1, r["n"])
    return {"n": r["n"], "errors": r["bad_status"] + r["socket_errors"], "p50": r["p50"], "p95": r["p95"],
            "p99": r["p99"], "mean": r["mean"], "rps": r["n"] / r["seconds"], "server_ms": cpu * 1000 / n,
            "client_ms": (usage.ru_utime + usage.ru_stime) * 1000 / n, "sampled": 0, "bad_bodies": 0, "kb": kb}


WRK_SECONDS = {"calc 50 distinct": 3, "search 50 uncached": 2, "calc 1 client": 1}  # whole seconds (wrk)
WRK_LISTED = 20_000  # distinct requests listed per wrk scenario (~2× what 3 s of the fastest variant sends)


CACHED_SET = 40  # distinct facts sent over and over by "calc 50 cached" (their answers fit the server's result cache)


async def run(base: str, clients: int, requests: int, kinds: list[str], cached: bool = False,
              accept: str = BROWSER_ACCEPT_ENCODING) -> list[tuple[str, str, dict]]:
    """Every scenario with each load client in `kinds` ("raw", "wrk"); each client's requests are distinct from the
    other's (different facts, different search texts), so neither is answered from the server's result cache.
    wrk runs each scenario for WRK_SECONDS (it is a load generator by duration), the raw client sends `requests`;
    "stored 50" only with the raw client (there are 500 enterprises: a second pass would be cache hits)."""
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
        n1 = min(200, requests)
        base_facts = []
        for code in codes[:min(len(codes), requests + n1)]:
            got = await c.get(f"/api/enterprises/{code}/facts", params={"period": "2024Q4"})
            base_facts.append(got.json()["facts"])

        def facts(i: int) -> dict:  # the i-th distinct facts: real enterprises', then with 产值 varied by 1 分 steps
            if i < len(base_facts):
                return base_facts[i]
            return {**base_facts[i % len(base_facts)], "output_q": f"{i}.01"}

        # warm the evaluator's plan for the period (compiled once per parameter set) in every process
        for _ in range(8):
            await c.post("/api/check", json={"period": "2024Q4", "facts": {"output_q": "1.01"}}, headers=headers)

        out = []
        start = 0  # the next unused facts index: no two requests of the run send the same facts
        for k, kind in enumerate(kinds):
            wrk = kind == "wrk"

            def check(i, first=start):
                return "POST", "/api/check", {"json": {"period": "2024Q4", "facts": facts(first + i)},
                                              "headers": headers}

            def search(i, kind=k):  # (query, limit) pairs never asked before: every one misses the cache
                q = BENCHMARK_QUERIES[i % len(BENCHMARK_QUERIES)]
                pairs = 100 * len(BENCHMARK_QUERIES)
                q += " " * (kind + len(kinds) * (i // pairs))  # each client, each pass its own trailing spaces
                return "GET", "/api/search", {"params": {"q": q, "limit": 1 + (i // len(BENCHMARK_QUERIES)) % 100}}

            def stored(i):
                return "GET", f"/api/enterprises/{codes[i % len(codes)]}/check", {"params": {"period": "2024Q4"}}

            calc_n = WRK_LISTED if wrk else requests
            scenarios = [("calc 50 distinct", check, calc_n, clients, b'"results":['),
                         ("search 50 uncached", search, WRK_LISTED if wrk else requests, clients, b'"hits":['),
                         ("stored 50", stored, min(requests, len(codes)), clients, b'"results":['),
                         ("calc 1 client", lambda i, check=check, calc_n=calc_n: check(calc_n + i),
                          WRK_LISTED if wrk else n1, 1, b'"results":[')]
            if cached and not wrk:  # every request a result-cache hit: what serving the answer alone costs
                first_cached = start + requests + n1
                for i in range(CACHED_SET):  # computed once, before the clock
                    await c.post("/api/check", json={"period": "2024Q4", "facts": facts(first_cached + i)},
                                 headers=headers)
                def again(i, first=first_cached):
                    return "POST", "/api/check", {"json": {"period": "2024Q4", "facts": facts(first + i % CACHED_SET)},
                                                  "headers": headers}
                scenarios.insert(1, ("calc 50 cached", again, requests, clients, b'"results":['))
                start += CACHED_SET
            start += 2 * WRK_LISTED if wrk else requests + n1
            for name, make, n, conns, marker in scenarios:
                if not wrk:
                    out.append((name, kind, await drive(c, make, n, conns, marker, accept)))
                elif name in WRK_SECONDS:
                    out.append((name, kind, drive_wrk(c, make, n, conns, WRK_SECONDS[name],
                                                      {**headers, "Accept-Encoding": accept})))
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
    started = time.perf_counter()
    deadline = time.time() + 300
    while True:
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                proc.startup_s = time.perf_counter() - started  # to the first 200 (a fresh database: first start)
                return proc, base, tmp
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            stop_server(proc)
            shutil.rmtree(tmp, ignore_errors=True)
            raise SystemExit(f"server did not start: {proc.stderr.read().decode()[-2000:]}")
        time.sleep(0.02)


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
    ap.add_argument("--client", default="raw,wrk" if shutil.which("wrk") else "raw",
                    help="load clients, in this order: raw (the asyncio client in this process), wrk (Debian's wrk, "
                         "with benchmarks/bench_web_wrk.lua); default both if wrk is installed")
    ap.add_argument("--repeat", type=int, default=1,
                    help="measure the variants this many times, alternating (A B A B …), and print medians: on a "
                         "shared machine one run of each says little")
    ap.add_argument("--before", help="another checkout to measure as the 'before' variant (its .venv/bin/python)")
    ap.add_argument("--cached", action="store_true",
                    help="also 'calc 50 cached' (raw client): the same 40 facts over and over, every answer from the "
                         "server's result cache, to tell the cost of sending an answer from the cost of computing it")
    ap.add_argument("--accept-encoding", action="append", dest="accept",
                    help="the Accept-Encoding header every load request carries; repeat it to measure several, each "
                         "on its own server in the same run. 'browser' = Chromium's 'gzip, deflate, br, zstd' (the "
                         "default: what the calculator's users send), 'identity' = uncompressed answers")
    a = ap.parse_args()
    accepts = [ENCODING_NAMES.get(h, h) for h in (a.accept or ["browser"])]
    data = str(Path(a.data).resolve())
    variants = {"batched": (ROOT, sys.executable, [], {}),
                "unbatched": (ROOT, sys.executable, [], {"HUIQI_CALC_BATCH_MS": "0"}),
                "workers2": (ROOT, sys.executable, ["--workers", "2"], {}),
                "batch64": (ROOT, sys.executable, [], {"HUIQI_CALC_BATCH_MAX": "64"})}
    if a.before:
        before = Path(a.before).resolve()
        python = before / ".venv" / "bin" / "python"
        python = str(python if python.exists() else sys.executable)
        # without a venv of its own the checkout runs with this python, its code first on the path
        env = {} if python != sys.executable else {"PYTHONPATH": str(before)}
        variants["before"] = (before, python, [], env)
        variants["before-w2"] = (before, python, ["--workers", "2"], env)
    chosen = [v for v in a.variants.split(",") if v]
    for name in chosen:  # "switch=MS": batched with the GIL's switch interval set (HUIQI_SWITCH_INTERVAL_MS)
        if name.startswith("switch=") and name not in variants:
            variants[name] = (ROOT, sys.executable, [], {"HUIQI_SWITCH_INTERVAL_MS": name.split("=", 1)[1]})
    if a.before and not {"before", "before-w2"} & set(chosen):  # unless --variants places them (e.g. first)
        chosen += ["before"] + (["before-w2"] if "workers2" in chosen else [])
    if len(accepts) > 1:  # each variant with each header, its own server: "batched/identity", "batched/browser"
        for name in list(chosen):
            for header in accepts:
                variants[f"{name}/{accept_label(header)}"] = (*variants[name], header)
        chosen = [f"{name}/{accept_label(h)}" for name in chosen for h in accepts]
    else:
        variants = {name: (*v, accepts[0]) for name, v in variants.items()}
    kinds = [k for k in a.client.split(",") if k]
    if "wrk" in kinds and not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (scripts/system-packages.sh installs it)")
    global SERVER_PID
    runs: dict[str, list[list[tuple[str, str, dict]]]] = {name: [] for name in chosen}
    startup: dict[str, list[float]] = {name: [] for name in chosen}
    for k in range(a.repeat):
        for name in chosen:
            root, python, extra, env, accept = variants[name]
            proc, base, tmp = start_server(root, python, data, extra, env)
            SERVER_PID = proc.pid
            startup[name].append(proc.startup_s)
            wait_until_settled()
            try:
                runs[name].append(asyncio.run(run(base, a.clients, a.requests, kinds, a.cached, accept)))
            finally:
                stop_server(proc)
                shutil.rmtree(tmp, ignore_errors=True)  # the server's database and work directory
            print(f"  measured {name} ({k + 1}/{a.repeat}), load average {os.getloadavg()[0]:.1f}", file=sys.stderr)
    print(f"{os.cpu_count()} CPUs (shared with other work: see the load average), load average "
          f"{os.getloadavg()[0]:.1f}; {a.clients} concurrent clients; loopback; Accept-Encoding: "
          + "; ".join(f"{accept_label(h)} = {h!r}" for h in accepts))
    print(f"{'scenario':20s} {'variant':20s} {'client':6s} {'n':>5s} {'err':>4s} {'body':>7s} {'KB/ans':>7s} {'p50 ms':>7s} "
          f"{'p95 ms':>7s} {'p99 ms':>7s} {'req/s':>6s} {'server CPU ms/req':>17s} {'client CPU ms/req':>17s} {'switches/req':>12s} {'loop ms/req':>11s}")
    first = runs[chosen[0]][0]
    for scenario, kind in dict.fromkeys((s, k) for s, k, _ in first):
        for name in chosen:
            for k, results in enumerate(runs[name]):
                r = next(r for s, c, r in results if (s, c) == (scenario, kind))
                body = f"{r['sampled'] - r['bad_bodies']}/{r['sampled']}" if r["sampled"] else "-"
                label = name if a.repeat == 1 else f"{name}#{k + 1}"
                print(f"{scenario:20s} {label:20s} {kind:6s} {r['n']:5d} {r['errors']:4d} {body:>7s} {r['kb']:7.1f} {r['p50']:7.1f} "
                      f"{r['p95']:7.1f} {r['p99']:7.1f} {r['rps']:6.0f} {r['server_ms']:17.3f} {r['client_ms']:17.3f} "
                      f"{r.get('switches', '—'):>12s} {r.get('loop_ms', float('nan')):11.3f}")
    med = statistics.median
    print(f"medians over {a.repeat} run(s) each; target calc p99 ≤ 50 ms, search p95 ≤ 50 ms")
    for name in chosen:
        for scenario, kind, figure in [("calc 50 distinct", c, "p99") for c in kinds] + \
                                      [("search 50 uncached", c, "p95") for c in kinds]:
            got = [r for results in runs[name] for s, c, r in results if (s, c) == (scenario, kind)]
            print(f"  {name:18s} {kind:4s} {scenario:19s} {figure} {med(r[figure] for r in got):6.1f} ms "
                  f"(runs {', '.join(f'{r[figure]:.0f}' for r in got)}); server CPU "
                  f"{med(r['server_ms'] for r in got):.3f} ms/req; client CPU {med(r['client_ms'] for r in got):.3f}; "
                  f"{med(r['kb'] for r in got):.1f} KB/answer"
                  + (f"; loop thread {med(r['loop_ms'] for r in got):.3f} ms/req" if kind == "raw" else ""))
        print(f"  {name:18s} start-up to the first 200 on /healthz (fresh database): {med(startup[name]):.2f} s "
              f"(runs {', '.join(f'{t:.2f}' for t in startup[name])})")
    if any(r["errors"] or r["bad_bodies"] for name in chosen for results in runs[name] for _s, _k, r in results):
        raise SystemExit("some responses were not 200 or lacked the expected body: see the err and body columns")

if __name__ == "__main__":
    main()
