"""The 政策计算器 page under load: POST /calculator/check (the htmx form) beside POST /api/check, same facts.

For this checkout, and with ``--before PATH`` another one (e.g. the base commit, run with this venv's python and
``PYTHONPATH=PATH``), it starts a real server process (``benchmarks/bench_web.py``'s ``start_server``: a fresh
SQLite database, the demo data, ``--log-level warning``), logs in, reads real enterprises' facts through the API,
and sends them

  page 50 distinct   the page's form (every calculator field of the period as ``f.<name>``, as the page shows
                     it; the CSRF token from ``GET /calculator`` in the form and as htmx's header), 50 clients
  api 50 distinct    the same kind of facts as JSON to ``/api/check``, 50 clients
  page 1 client      the form, one client at a time (the service time without queueing)
  api 1 client       the JSON, one client at a time

Every request carries different facts (no result-cache hit) and ``bench_web.drive``'s Accept-Encoding, a browser's
(``gzip, deflate, br, zstd``; compression is in the figures, as for a person at the page). It prints p50/p95/p99, requests per second and the server's own CPU per request (from /proc; "of which loop": its
event loop's thread, the rest is mostly the batcher's thread, where the check and the page's render run),
then the in-process breakdown of one page check (``--breakdown N`` checks; 0 skips it), each checkout in its own
process: reading the form, the field table, parsing the values, the check, the view and the render.

    python benchmarks/bench_calc_page.py [--clients 50] [--requests 600] [--before /tmp/base-checkout]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_web  # noqa: E402
from bench_web import RawConnection, drive, start_server, stop_server, wait_until_settled  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PERIOD = "2024Q4"
IDENTITY = {"Accept-Encoding": "identity"}


class FormConnection(RawConnection):
    """bench_web's raw keep-alive client, also sending a urlencoded form (``data``); the Accept-Encoding drive()
    sets wins over the identity default."""

    async def request(self, method, url, params=None, json=None, headers=None, data: bytes | None = None):
        if data is None:
            return await super().request(method, url, params=params, json=json, headers={**IDENTITY, **headers})
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        lines = [f"{method} {url} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Cookie: {self.cookie}",
                 f"Content-Length: {len(data)}", "Content-Type: application/x-www-form-urlencoded",
                 *(f"{k}: {v}" for k, v in {**IDENTITY, **(headers or {})}.items())]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + data)
        return await bench_web.read_response(self.reader)


bench_web.RawConnection = FormConnection  # drive() opens its connections through the module's name


def form_value(value, ftype: str) -> str:
    """A fact as the page's form shows it (pages._field_value): 是/否, plain numbers, ISO dates, text."""
    from decimal import Decimal

    from huiqi.interfaces.web.templating import fmt_plain

    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if ftype in ("money", "number"):
        return fmt_plain(Decimal(str(value)))
    return str(value)


async def fetch_facts(base: str, n: int) -> tuple[list[dict], list[dict]]:
    """n real enterprises' facts (the API's strings) and the period's calculator fields, as an officer reads them."""
    async with httpx.AsyncClient(base_url=base, timeout=120) as c:
        token = (await c.get("/api/csrf")).json()["csrf_token"]
        r = await c.post("/api/login", json={"username": "admin", "password": "Huiqi-Admin-2024"},
                         headers={"X-CSRF-Token": token})
        r.raise_for_status()
        listed = (await c.get("/api/enterprises", params={"limit": 500})).json()["enterprises"]
        facts = []
        for e in listed:
            got = await c.get(f"/api/enterprises/{e['credit_code']}/facts", params={"period": PERIOD})
            facts.append(got.json()["facts"])
        fields = (await c.get("/api/fields", params={"period": PERIOD})).json()["fields"]
    out = []
    for i in range(n):  # real enterprises' facts, then with 产值 varied in 1 分 steps: every request different
        f = dict(facts[i % len(facts)])
        if i >= len(facts):
            f["output_q"] = f"{i}.01"
        out.append(f)
    return out, fields


async def run(base: str, facts: list[dict], fields: list[dict], clients: int, requests: int, n1: int) -> list:
    async with httpx.AsyncClient(base_url=base, timeout=120) as c:  # an enterprise visitor: no login
        page = (await c.get("/calculator", params={"period": PERIOD})).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        headers = {"X-CSRF-Token": token, "HX-Request": "true"}

        def form(i: int) -> bytes:
            pairs = [("csrf_token", token), ("period", PERIOD)]
            pairs += [(f"f.{f['name']}", form_value(facts[i].get(f["name"]), f["type"])) for f in fields]
            return urlencode(pairs).encode()

        forms = [form(i) for i in range(len(facts))]
        bodies = [{"period": PERIOD, "facts": f} for f in facts]
        for i in range(8):  # the period's plan, the templates and the batcher's thread, warmed
            await c.post("/calculator/check", content=forms[-1 - i], headers={
                **headers, **IDENTITY, "Content-Type": "application/x-www-form-urlencoded"})
            await c.post("/api/check", json=bodies[-1 - i], headers=headers)
        wait_until_settled()

        def page_req(first):
            return lambda i: ("POST", "/calculator/check", {"data": forms[first + i], "headers": headers})

        def api_req(first):
            return lambda i: ("POST", "/api/check", {"json": bodies[first + i], "headers": headers})

        out = []
        # distinct facts throughout: page and API take turns over disjoint slices
        plan = [("page 50 distinct", page_req(0), requests, clients, b'class="result'),
                ("api 50 distinct", api_req(requests), requests, clients, b'"results":['),
                ("page 1 client", page_req(2 * requests), n1, 1, b'class="result'),
                ("api 1 client", api_req(2 * requests + n1), n1, 1, b'"results":[')]
        for name, make, n, conns, marker in plan:
            out.append((name, await drive(c, make, n, conns, marker)))
        return out


def serve_and_run(root: Path, python: str, data: str, env: dict, facts, fields, args) -> list:
    proc, base, tmp = start_server(root, python, data, [], env)
    bench_web.SERVER_PID = proc.pid
    try:
        wait_until_settled()
        return asyncio.run(run(base, facts, fields, args.clients, args.requests, args.n1))
    finally:
        stop_server(proc)
        bench_web.SERVER_PID = None
        shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------------------------------------ in-process breakdown
def breakdown(n: int) -> dict:
    """ms per page check, step by step, in this process (whichever huiqi is on sys.path): the route's own steps
    in order, the check through check_many(shared=True) as the batcher runs it."""
    import warnings

    warnings.filterwarnings("ignore")
    from huiqi.data.synthetic import generate, write_parquet
    from huiqi.interfaces.web import create_app, pages, presenters as P
    from huiqi.services.calculator import CheckRequest, check_many
    from huiqi.services.form_values import parse_form
    from huiqi.interfaces.web import checking
    from starlette.requests import Request

    try:
        from huiqi.interfaces.web import calc_page
    except ImportError:
        calc_page = None  # the checkout before PAGE11: the old view and template
    tmp = Path(tempfile.mkdtemp(prefix="huiqi-calc-page-"))
    try:
        write_parquet(generate(2_000, seed=7), tmp / "demo")
        app = create_app(f"sqlite:///{tmp / 'b.db'}", tmp / "demo", tmp / "work", announce=lambda _t: None)
        state, env = app.state.web, app.state.templates.env
        fields0 = P.calculator_fields(state, PERIOD)
        codes = state.enterprises["credit_code"].to_list()
        bodies = []
        for i in range(n + 20):
            row = state.facts_row(codes[i % len(codes)], PERIOD)
            facts = state.facts_for_check(row) if row else {}
            pairs = [("period", PERIOD)] + [(f"f.{f['name']}", pages._field_value(facts.get(f["name"]), f["type"]))
                                            for f in fields0]
            if i >= len(codes):
                pairs.append(("f.output_q", f"{i}.01"))
            bodies.append(urlencode(pairs).encode())
        params = checking.engine_params(state, None)
        loop = asyncio.new_event_loop()
        steps = dict.fromkeys(["read form", "field table", "parse values", "check", "view", "render"], 0.0)

        def one(body: bytes) -> None:
            clock = time.process_time
            t0 = clock()

            async def receive():
                return {"type": "http.request", "body": body, "more_body": False}

            scope = {"type": "http", "method": "POST", "path": "/calculator/check", "app": app,
                     "headers": [(b"content-type", b"application/x-www-form-urlencoded"),
                                 (b"x-csrf-token", b"htmx sends the token as a header")]}
            if hasattr(pages, "_form_items"):  # PAGE11: the urlencoded body split by the standard library
                form = loop.run_until_complete(pages._form_items(Request(scope, receive)))
            else:
                form = loop.run_until_complete(Request(scope, receive).form()).multi_items()
            t1 = clock()
            if calc_page is not None:
                fields = P.calculator_field_table(state, PERIOD)
            else:
                fields = {f["name"]: f for f in P.calculator_fields(state, PERIOD)}
            t2 = clock()
            facts = {}
            for key, value in form:
                if key.startswith("f.") and value.strip():
                    facts[key[2:]] = value.strip()
            kinds = {k: "money" if fields[k]["type"] == "money" else "points" if fields[k]["unit"] == "%"
                     else "number" for k in facts if fields[k]["type"] in ("money", "number")}
            clean, _errors = parse_form({k: facts[k] for k in kinds}, kinds, allow_negative=frozenset(kinds))
            facts.update(clean)
            t3 = clock()
            results = check_many([CheckRequest(facts, PERIOD, "enterprise", params)], state.ruleset, state.library,
                                 shared=True)[0]
            t4 = clock()
            if calc_page is not None:  # the view and the render are one step: the fragment
                calc_page.fragment(env, results, PERIOD, pages._today(), tuple(fields))
                t5 = t4
            else:
                view = pages._outcome_view(P.check_payload(results, PERIOD, "enterprise"))
                t5 = clock()
                env.get_template("_calc_results.html").render(outcome=view, fields=list(fields), user=None)
            t6 = clock()
            for name, spent in zip(steps, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5)):
                steps[name] += spent

        for body in bodies[:20]:
            one(body)
        steps = dict.fromkeys(steps, 0.0)
        for body in bodies[20:]:
            one(body)
        out = {k: v * 1000 / n for k, v in steps.items()}
        out["total"] = sum(out.values())
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def breakdown_in(checkout: Path | None, n: int) -> dict:
    """``breakdown`` in a fresh process of this python, importing huiqi from ``checkout`` (None: this one)."""
    env = {**os.environ, "PYTHONPATH": str(checkout or ROOT)}
    got = subprocess.run([sys.executable, __file__, "--breakdown-only", str(n)], cwd=tempfile.gettempdir(), env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(got.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=600)
    ap.add_argument("--n1", type=int, default=200, help="requests of the one-client scenarios")
    ap.add_argument("--before", type=Path, help="another checkout, served and broken down the same way")
    ap.add_argument("--data", type=Path, help="demo data directory (default: generated once in a temporary one)")
    ap.add_argument("--breakdown", type=int, default=300, help="checks of the in-process breakdown (0: none)")
    ap.add_argument("--no-server", action="store_true", help="the in-process breakdown only")
    ap.add_argument("--breakdown-only", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.breakdown_only:
        print(json.dumps(breakdown(args.breakdown_only)))
        return
    variants = [("this", ROOT)] + ([("before", args.before.resolve())] if args.before else [])
    if not args.no_server:
        tmp = Path(tempfile.mkdtemp(prefix="huiqi-calc-page-data-"))
        data = str(args.data or tmp / "demo")  # the first server generates the demo data; the others read it
        try:
            rows = []
            facts = fields = None
            for name, root in variants:
                env = {"PYTHONPATH": str(root)}
                if facts is None:
                    proc, base, stmp = start_server(root, sys.executable, data, [], env)
                    try:
                        facts, fields = asyncio.run(fetch_facts(base, 2 * args.requests + 2 * args.n1))
                    finally:
                        stop_server(proc)
                        shutil.rmtree(stmp, ignore_errors=True)
                for scenario, r in serve_and_run(root, sys.executable, data, env, facts, fields, args):
                    rows.append((scenario, name, r))
                    if r["errors"] or r["bad_bodies"]:
                        raise SystemExit(f"{name} {scenario}: {r['errors']} errors, {r['bad_bodies']} bad bodies")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        print(f"{'scenario':<18} {'variant':<7} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>7} "
              f"{'server CPU ms/req':>18} {'of which loop':>13}")
        for scenario, name, r in sorted(rows, key=lambda x: (x[0], x[1] != "this")):
            print(f"{scenario:<18} {name:<7} {r['n']:>5} {r['p50']:>8.1f} {r['p95']:>8.1f} {r['p99']:>8.1f} "
                  f"{r['rps']:>7.0f} {r['server_ms']:>18.2f} {r['loop_ms']:>13.2f}")
        got = {(s, n): r["server_ms"] for s, n, r in rows}
        for name, _root in variants:
            for clients in ("50 distinct", "1 client"):
                page, api = got[(f"page {clients}", name)], got[(f"api {clients}", name)]
                print(f"{name}, {clients}: page / API server CPU = {page / api:.2f}×")
        if args.before:
            for scenario in sorted({s for s, _n, _r in rows}):
                print(f"{scenario}: server CPU this / before = {got[(scenario, 'this')] / got[(scenario, 'before')]:.2f}×")
    if args.breakdown:
        print(f"\nin-process breakdown of one page check, ms (mean of {args.breakdown}):")
        for name, root in variants:
            steps = breakdown_in(root, args.breakdown)
            print(f"  {name:<7} " + "  ".join(f"{k} {v:.3f}" for k, v in steps.items()))


if __name__ == "__main__":
    main()
