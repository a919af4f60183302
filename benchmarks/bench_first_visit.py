"""First-visit times of the 驾驶舱 and the 政策沙盘 presets after the first screening (issue 11 item 6).

A fresh app (empty database, the demo data of ``generate(N)``) through the ASGI test client: log in as admin,
screen a quarter (waiting for the job as the page's htmx polling does), then time the first GET of the dashboard
of that quarter, the first run of each sandbox preset (the form's POST), and a second visit of each.

    python benchmarks/bench_first_visit.py [--enterprises 10000] [--period 2024Q4]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path


def preset_form(state, key: str) -> dict[str, list[str]]:
    from huiqi.interfaces.web.sandbox import preset_values

    period, measures, values = preset_values(key, state)
    form = [("period", period)] + [("measures", m) for m in measures or ()]
    form += [(f"b.{k}", v) for k, v in values["base"].items()] + [(f"s.{k}", v) for k, v in values["scen"].items()]
    for k in ("v_target", "v_source", "assume", "solve_parameter", "solve_budget", "solve_beneficiaries",
              "budget_policy"):
        form.append((k, str(values.get(k) or "")))
    out: dict[str, list[str]] = {}
    for k, v in form:
        out.setdefault(k, []).append(v)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--enterprises", type=int, default=10_000)
    ap.add_argument("--period", default="2024Q4")
    args = ap.parse_args()
    from fastapi.testclient import TestClient

    from huiqi.data.synthetic import generate, write_parquet
    from huiqi.interfaces.web import create_app
    from huiqi.interfaces.web.state import DEMO_PASSWORDS

    with tempfile.TemporaryDirectory() as tmp:
        data, work = Path(tmp) / "demo", Path(tmp) / "web"
        write_parquet(generate(args.enterprises), data)
        app = create_app(f"sqlite:///{Path(tmp) / 'huiqi.db'}", data, work, announce=lambda _t: None)
        state = app.state.web
        c = TestClient(app)
        token = c.get("/api/csrf").json()["csrf_token"]
        r = c.post("/api/login", json={"username": "admin", "password": DEMO_PASSWORDS["admin"]},
                   headers={"X-CSRF-Token": token})
        h = {"X-CSRF-Token": r.json()["csrf_token"]}
        t = time.perf_counter()
        job = c.post("/api/screenings", json={"period": args.period}, headers=h).json()["job_id"]
        steps: dict[str, float] = {}
        while True:  # as the page's htmx polling does; each step's first sighting
            j = c.get(f"/api/screenings/{job}").json()
            steps.setdefault(j["step"] or "", time.perf_counter() - t)
            if j["status"] in ("已完成", "失败"):
                break
            time.sleep(0.1)
        print(f"screening job {args.period}: {time.perf_counter() - t:.2f} s; steps seen at: "
              + "; ".join(f"{k} {v:.1f} s" for k, v in steps.items() if k.startswith(("写出", "预先", "完成"))))
        rows = []

        def timed(label, call):
            t0 = time.perf_counter()
            resp = call()
            assert resp.status_code == 200, (label, resp.status_code, resp.text[:300])
            rows.append((label, time.perf_counter() - t0))

        for visit in ("first", "second"):
            timed(f"GET /dashboard?period={args.period} ({visit})",
                  lambda: c.get(f"/dashboard?period={args.period}"))
            for key in ("000", "004", "version"):
                timed(f"GET /sandbox?preset={key} ({visit})", lambda: c.get(f"/sandbox?preset={key}"))
                form = preset_form(state, key)
                timed(f"POST /sandbox/run preset {key} ({visit})",
                      lambda: c.post("/sandbox/run", data=form, headers=h))
        for label, s in rows:
            print(f"{label:48s} {s:6.2f} s")
        state.shutdown()


if __name__ == "__main__":
    sys.exit(main())
