"""Clause search in process: CPU per search, this checkout against another (the code before a change), alternating.

Two request sets, each searched once per pass with its snippets (SearchIndex.search):
  web     the HTTP benchmark's requests (bench_web.py "search 50 uncached"): the 30 BENCHMARK_QUERIES with limits
          1…100, 3,000 searches
  novel   3,000 queries of 2–6 characters cut at random (fixed seed) from the library's own clause texts, limit 20:
          queries no run has seen, so what a per-query or per-term memo would save is not in the figure
and the web set once more as the server computes it on a cache miss:
  answer  the JSON body of GET /api/search (web/search_json.answer; before SEARCH4 the hit dicts and json_bytes)
Each checkout runs in a child interpreter (its code first on the path) and prints the best of --repeat passes of
process CPU time (not wall: the machine is shared) and a SHA-256 of every answer, which must agree.

    python benchmarks/bench_search.py --before /path/to/checkout [--rounds 3] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import hashlib, json, random, sys, time
from huiqi.services.search import BENCHMARK_QUERIES, default_index
index = default_index()
web = [(BENCHMARK_QUERIES[i % 30], 1 + (i // 30) % 100) for i in range(3000)]
rng = random.Random(2024)
texts = [u.display for u in index._units if len(u.display) > 8]
novel = []
for _ in range(3000):
    t = rng.choice(texts)
    n = rng.randint(2, 6)
    s = rng.randrange(0, len(t) - n)
    novel.append((t[s:s + n], 20))
try:
    from huiqi.interfaces.web.search_json import answer
except ImportError:  # a checkout before SEARCH4: the route's body as it was computed then
    from huiqi.interfaces.web.presenters import json_bytes, search_hits

    def answer(q, limit):
        hits = search_hits(q, limit)
        return json_bytes({"query": q, "total": len(hits), "hits": hits})
answer("技改", 1)  # each clause's serialised fields are made on the first answer, as in a server
out = {}
for name, requests, compute in (("web", web, lambda q, limit: repr(index.search(q, limit)).encode()),
                                ("novel", novel, lambda q, limit: repr(index.search(q, limit)).encode()),
                                ("answer", web, answer)):
    best, digest = None, None
    for _ in range(int(sys.argv[1])):
        h = hashlib.sha256()
        started = time.process_time()
        for q, limit in requests:
            h.update(compute(q, limit))
        spent = time.process_time() - started
        best = spent if best is None else min(best, spent)
        digest = h.hexdigest()
    out[name] = {"ms": round(best / len(requests) * 1000, 4), "sha256": digest[:16]}
print(json.dumps(out))
"""


def measure(checkout: Path, repeat: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    done = subprocess.run([sys.executable, "-c", CHILD, str(repeat)], env=env, cwd=checkout, check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True, help="the other checkout (e.g. the base commit)")
    ap.add_argument("--rounds", type=int, default=3, help="before/this pairs, alternating")
    ap.add_argument("--repeat", type=int, default=3, help="passes per child; the best is kept")
    a = ap.parse_args()
    rows = {"before": [], "this": []}
    for _ in range(a.rounds):
        for name, checkout in (("before", Path(a.before).resolve()), ("this", ROOT)):
            rows[name].append(measure(checkout, a.repeat))
            print(name, json.dumps(rows[name][-1]), f"load {os.getloadavg()[0]:.1f}", flush=True)
    for kind in ("web", "novel", "answer"):
        before = sorted(r[kind]["ms"] for r in rows["before"])
        this = sorted(r[kind]["ms"] for r in rows["this"])
        same = {r[kind]["sha256"] for r in rows["before"] + rows["this"]}
        mb, mt = before[len(before) // 2], this[len(this) // 2]
        print(f"{kind:6} CPU per search, median of {a.rounds}: before {mb:.3f} ms, this {mt:.3f} ms "
              f"({mt / mb:.2f}×); answers {'identical' if len(same) == 1 else 'DIFFER'}")
        if len(same) != 1:
            sys.exit(1)


if __name__ == "__main__":
    main()
