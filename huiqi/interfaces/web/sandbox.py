"""政策沙盘 in the web application: the REST API (``POST /api/simulations``, the Excel export of a comparison, the
options of a period) and the page ``/sandbox`` (form, one-click worked examples, results with htmx and ECharts).

Officers and the admin only (an enterprise user gets 403). Everything is computed by
``huiqi.services.simulation`` (one evaluator; money in integer 分): this module only checks the request, calls the
service and turns its Polars frames into JSON (money as strings of 元 with two decimals, or 万元 where the key says
so — never floats). The baseline starts from the active parameter set (as a screening would); ``base_params`` are
added to it (e.g. the numbers a draft leaves open), ``params`` are the scenario's changes on top.

A county officer sees the whole region's totals and distributions (a draft's cost is region-wide), but the
winners / losers lists — and those sheets of the Excel export — only for its own 县区.

Simulations run synchronously: on the 11,500-enterprise demo data a comparison takes 0.1–0.3 s, with an inverse
solve 0.2–0.5 s (figures in docs/web.md), so no background job is needed. The use case — presets, knobs, checking
values, simulators — is huiqi.services.scenarios; this module reads requests and presents answers. Every answer is
kept in the database by what it depends on (and the presets are answered with each screening), so the same request
is read, not computed, on any worker. Each run is written to the audit log (action 政策沙盘).
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal, Optional, Union

import polars as pl
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from huiqi.engine.evaluate import ParameterError
from huiqi.engine.inputs import InputError
from huiqi.interfaces.web import auth, schemas as S
from huiqi.interfaces.web.auth import User, check_csrf, officer_user
from huiqi.interfaces.web.state import WebError, WebState, yuan_text
from huiqi.interfaces.web.templating import POLICY_LABELS, fmt_wan, render, wan_text
from huiqi.services import scenarios
from huiqi.services.caching import Cache
from huiqi.services.precomputed import digest
# the use case lives in huiqi.services.scenarios (presets, knobs, checking, simulators); re-exported for the pages
from huiqi.services.scenarios import ASSUME_004, KIND_LABELS, PRESETS  # noqa: F401

api_router = APIRouter(prefix="/api", dependencies=[Depends(check_csrf)], tags=["政策沙盘"])
page_router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

MAX_RECORDS = 16  # comparisons kept in this process's memory for the Excel export (rebuilt on a miss)


def st(request: Request) -> WebState:
    return request.app.state.web


# ------------------------------------------------------------------------------------------------- options
def _periods(state: WebState) -> list[str]:
    return state.periods()


def check_period(state: WebState, period: str) -> str:
    from huiqi.core.periods import Period

    try:
        p = str(Period.parse(period))
    except ValueError as e:
        raise WebError(422, f"期间“{period}”格式不正确（应为季度，如 2025Q3）：{e}") from None
    periods = _periods(state)
    if p not in periods:
        raise WebError(422, f"期间“{period}”没有可测算的措施或数据（可选：{'、'.join(periods)}）")
    return p


def period_measures(state: WebState, period: str) -> list[dict]:
    return scenarios.period_measures(state.ruleset, period)


def scenario_service(state: WebState) -> scenarios.Scenarios:
    return state.attached("scenarios", lambda: scenarios.Scenarios(state.ruleset, state.library))


def options(state: WebState, period: str, measures: list[str] | None, sources: list[str] | None = None) -> dict:
    """What a scenario of ``period`` can change (huiqi.services.scenarios.Scenarios.options)."""
    return scenario_service(state).options(period, measures, sources, state.active_set())


def clean_params(state: WebState, values: Any, what: str) -> dict[str, object]:
    return scenarios.clean_params(state.ruleset, values, what)


def clean_assume(state: WebState, values: Any) -> dict[str, object]:
    return scenarios.clean_assume(state.ruleset, values)


# ------------------------------------------------------------------------------------------------ requests
class SolveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    parameter: str = Field(max_length=128, examples=["lz2026q3.rate"])
    budget_yuan: Optional[Union[int, str]] = Field(None, description="预算（元，字符串或整数）", examples=["10000000"])
    beneficiaries: Optional[int] = Field(None, ge=1, le=100_000_000, description="受益主体数")
    step: Optional[str] = Field(None, max_length=32)
    low: Optional[str] = Field(None, max_length=32)
    high: Optional[str] = Field(None, max_length=32)


class SimulationBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    period: str = Field(max_length=8, examples=["2026Q3"])
    measures: Optional[list[str]] = Field(None, description="只测算这些措施（默认：本期全部）")
    base_params: dict[str, Any] = Field(default_factory=dict, description="基线与情景共同的参数（在现行参数方案之上）",
                                        examples=[{"lz2026q3_budget": "10000000"}])
    params: dict[str, Any] = Field(default_factory=dict, description="情景的参数调整（可用 措施.rate、措施.cap、文件.rate）",
                                   examples=[{"lz2026q3-4.1b.cap": "100000"}])
    versions: dict[str, str] = Field(default_factory=dict, description="另一版本：本期措施 → 按其规则测算的措施",
                                     examples=[{"gx2025h2-01": "gx2024q4-02a"}])
    assume: dict[str, Any] = Field(default_factory=dict, description="测算假定：缺失数据按此值（只补缺，不覆盖）")
    budget_policy: Optional[Literal["pro_rata", "ranked"]] = None
    solve: Optional[SolveBody] = None
    top: int = Field(20, ge=1, le=500, description="增加/减少名单列出的主体数")


# ------------------------------------------------------------------------------------------------ the runs
@dataclass
class Record:
    id: str
    user_id: int
    period: str
    comparison: Any
    solution: Any
    created: float


def records(state: WebState) -> Cache:
    """This process's recent comparisons (for the Excel export); the request of each is in the database."""
    return state.attached("sandbox_records", lambda: Cache("sandbox comparisons", MAX_RECORDS))


def scope_key(user: User) -> str:
    return "all" if user.is_admin else (user.county_code or "—")


def prepare(state: WebState, body: SimulationBody) -> dict:
    """The request checked and cleaned (every refusal in Chinese) — what an answer depends on."""
    from huiqi.services.award_list import period_label

    period = check_period(state, body.period.strip())
    measures = None
    if body.measures:
        measures = list(dict.fromkeys(m.strip() for m in body.measures if m and m.strip())) or None
    if measures:
        unknown = [m for m in measures if m not in state.ruleset.measures]
        if unknown:
            raise WebError(422, f"没有这些措施：{'、'.join(unknown)}")
        here = {m["id"] for m in period_measures(state, period)}
        outside = [m for m in measures if m not in here]
        if outside:
            raise WebError(422, f"措施 {'、'.join(outside)} 不适用于{period_label(period)}（可用“另一版本”把其他期间的规则用于本期）")
    active = state.active_set()
    policy = body.budget_policy or active["budget_policy"]
    current = clean_params(state, state.params_for_engine(active["values"]), "现行参数方案")
    common = {**current, **clean_params(state, body.base_params, "基线参数")}
    changes = clean_params(state, body.params, "情景参数")
    versions = {str(k).strip(): str(v).strip() for k, v in body.versions.items() if str(k).strip() and str(v).strip()}
    assume = clean_assume(state, body.assume)
    solve = body.solve.model_copy() if body.solve is not None else None
    if solve is not None:
        if (solve.budget_yuan is None) == (solve.beneficiaries is None):
            raise WebError(422, "反向求解须给出预算（元）或受益主体数之一")
        if solve.budget_yuan is not None:
            solve.budget_yuan = scenarios.number_text("budget_yuan", "预算（元）", "money", solve.budget_yuan)
        solve.parameter = solve.parameter.strip()
        for v in (solve.step, solve.low, solve.high):
            if v is not None:
                try:
                    Fraction(str(v).strip())
                except (ValueError, ZeroDivisionError):
                    raise WebError(422, f"求解的步长或上下限“{v}”不是数值") from None
    return {"period": period, "measures": measures, "active": active, "policy": policy, "common": common,
            "changes": changes, "versions": versions, "assume": assume, "solve": solve, "top": body.top}


def compute(state: WebState, prep: dict):
    """(Comparison, Solution or None): baseline and scenario (and the solve) on the period's simulator."""
    from huiqi.services.simulation import Comparison, Scenario, SimulationError

    sim, lock = scenario_service(state).simulator(*state.data_and_hash(), prep["period"], prep["measures"],
                                                  prep["assume"], prep["policy"])
    baseline = Scenario("基线", prep["common"])
    scenario = Scenario("情景", {**prep["common"], **prep["changes"]}, prep["versions"])
    solve = prep["solve"]
    try:
        with lock:  # one run at a time per simulator (its facts cache is filled on first use)
            base_run = sim.run(baseline)
            scen_run = sim.run(scenario) if prep["changes"] or prep["versions"] else base_run
            cmp = Comparison(base_run, scen_run)
            solution = None
            if solve is not None:
                solution = sim.solve(solve.parameter, budget_yuan=solve.budget_yuan, beneficiaries=solve.beneficiaries,
                                     base=scenario, step=solve.step, low=solve.low, high=solve.high)
    except SimulationError as e:
        raise WebError(422, str(e)) from None
    except (InputError, ParameterError) as e:
        raise WebError(422, str(e)) from None
    return cmp, solution


def answer_key(state: WebState, prep: dict, scope: str) -> str:
    solve = prep["solve"].model_dump() if prep["solve"] is not None else None
    return digest(prep["period"], prep["measures"], prep["common"], prep["changes"], prep["versions"], prep["assume"],
                  prep["policy"], solve, prep["top"], state.ruleset.version, state.data_hash, scope)


def answer(state: WebState, user: User, prep: dict):
    """The presented comparison (and solve) of a request for the user's scope: read from the database when this
    request was answered before — a preset is answered with each screening (precompute_presets) — else computed
    and kept there. Returns (answer, Comparison or None, Solution or None)."""
    key = answer_key(state, prep, scope_key(user))
    stored = state.precomputed.get("scenario", key)
    if stored is not None:
        return stored, None, None
    cmp, solution = compute(state, prep)
    try:
        out = comparison_dict(state, user, cmp, prep["top"])
    except (InputError, ParameterError) as e:
        raise WebError(422, str(e)) from None
    out["solve"] = solution_dict(solution) if solution is not None else None
    state.precomputed.put("scenario", key, out)
    return out, cmp, solution


def simulate(state: WebState, user: User, body: SimulationBody, ip: str | None) -> dict:
    """Check the request, run baseline and scenario (and the solve) and return the JSON-ready answer."""
    from huiqi.services.award_list import period_label
    from huiqi.services.simulation import Scenario

    started = time.perf_counter()
    prep = prepare(state, body)
    period, active, policy, changes = prep["period"], prep["active"], prep["policy"], prep["changes"]
    out, cmp, solution = answer(state, user, prep)
    out = dict(out)
    sim_id = secrets.token_hex(6)
    # the request, in the database: the Excel export works on any worker (re-run there if not in its memory)
    state.precomputed.put("simulation", sim_id, {"user_id": user.id, "period": period,
                                                 "body": body.model_dump(mode="json")})
    if cmp is not None:
        records(state).put(sim_id, Record(sim_id, user.id, period, cmp, solution, time.time()))
    with state.lock:
        state.attached("sandbox_last", dict)[user.id] = sim_id
    seconds = time.perf_counter() - started
    baseline = Scenario("基线", prep["common"])
    scenario = Scenario("情景", {**prep["common"], **changes}, prep["versions"])
    changed = bool(changes or prep["versions"])
    assume, solve = prep["assume"], prep["solve"]
    out.update({
        "id": sim_id, "period": period, "period_label": period_label(period), "rules_version": state.ruleset.version,
        "data_hash": state.data_hash, "budget_policy": policy, "budget_policy_label": POLICY_LABELS[policy],
        "parameter_set": {"id": active["id"], "name": active["name"], "version": active["version"]},
        "measures_selected": prep["measures"], "changed": changed,
        "baseline": {"name": "基线", "describe": baseline.describe()},
        "scenario": {"name": "情景", "describe": scenario.describe() if changed else []},
        "assume": [{"field": k, "label": _field_label(state, k), "value": str(v)} for k, v in assume.items()],
        "assume_note": ("测算假定：以上字段在登记数据中缺失时按所填值计算（只补缺，不覆盖已有数据）。"
                        "这是为估算草案成本所作的假定，不代表企业实际符合这些条件。") if assume else None,
        "export_url": f"/api/simulations/{sim_id}/export.xlsx",
        "seconds": round(seconds, 3),
        "scope": "全区" if user.is_admin or not user.county_code else state.county_names.get(user.county_code,
                                                                                               user.county_code),
    })
    state.audit(user, "政策沙盘", period, {
        "id": sim_id, "measures": prep["measures"], "base_params": {k: str(v) for k, v in body.base_params.items()},
        "params": {k: str(v) for k, v in changes.items()}, "versions": prep["versions"],
        "assume": {k: str(v) for k, v in assume.items()}, "budget_policy": policy,
        "solve": solve.model_dump() if solve is not None else None,
        "answer": out["solve"]["value"] if out["solve"] else None, "seconds": out["seconds"]}, ip)
    return out


def record(state: WebState, user: User, sim_id: str) -> Record:
    """A comparison for the Excel export: from this process's memory, else re-run from the stored request."""
    if sim_id == "last":
        with state.lock:
            sim_id = state.attached("sandbox_last", dict).get(user.id, "")
    stored = state.precomputed.get("simulation", sim_id) if sim_id else None
    if stored is None:
        raise WebError(404, "没有这次测算（只保留最近的测算，请重新测算）")
    if stored["user_id"] != user.id and not user.is_admin:
        raise WebError(403, "只能下载本人发起的测算")

    def rebuild() -> Record:
        cmp, solution = compute(state, prepare(state, SimulationBody(**stored["body"])))
        return Record(sim_id, stored["user_id"], stored["period"], cmp, solution, time.time())

    return records(state).get_or_build(sim_id, rebuild)


def precompute_presets(state: WebState) -> None:
    """Answer every preset, for the whole region and for each officer's 县区, into the database (run after a
    screening): the first click on a preset reads instead of computing (issue 11 item 6)."""
    import sqlalchemy as sa

    from huiqi.interfaces.web import db

    with state.engine.connect() as conn:
        counties = sorted({c for c in conn.execute(sa.select(db.users.c.county_code).where(
            db.users.c.role == "officer", db.users.c.active.is_(True))).scalars() if c})
    users = [User(0, "system", "系统", "admin", None, None)] + \
            [User(0, "system", "系统", "officer", c, None) for c in counties]
    for key in PRESETS:
        body = body_from_form(preset_form(state, key))
        prep = prepare(state, body)
        cmp = solution = None
        for user in users:
            k = answer_key(state, prep, scope_key(user))
            if state.precomputed.get("scenario", k) is not None:
                continue
            if cmp is None:
                cmp, solution = compute(state, prep)
            out = comparison_dict(state, user, cmp, prep["top"])
            out["solve"] = solution_dict(solution) if solution is not None else None
            state.precomputed.put("scenario", k, out)


def preset_form(state: WebState, key: str):
    """The sandbox form exactly as the page fills it for a preset (so its answer key is the click's)."""
    from starlette.datastructures import MultiDict

    period, measures, values = preset_values(key, state)
    items = [("period", period)] + [("measures", m) for m in measures or ()]
    items += [(f"b.{k}", v) for k, v in values["base"].items()] + [(f"s.{k}", v) for k, v in values["scen"].items()]
    items += [(k, str(values.get(k) or "")) for k in ("v_target", "v_source", "assume", "solve_parameter",
                                                      "solve_budget", "solve_beneficiaries", "budget_policy")]
    return MultiDict(items)


def _plain_value(v: Any) -> str:
    return "是" if v is True else "否" if v is False else str(v)


def _field_label(state: WebState, name: str) -> str:
    d = state.ruleset.dictionary
    resolved = d.resolve(name) if hasattr(d, "resolve") else name
    try:
        return d[resolved or name].label
    except KeyError:
        return name


def _money(fen) -> dict:
    return {"yuan": yuan_text(fen), "wan": wan_text(fen)}


def comparison_dict(state: WebState, user: User, cmp, top: int) -> dict:
    bm = cmp.by_measure()
    rows = []
    for r in bm.iter_rows(named=True):
        def side(prefix: str) -> dict:
            return {"met": r[f"{prefix}_met"], "missing": r[f"{prefix}_missing"], "pending": r[f"{prefix}_pending"],
                    "beneficiaries": r[f"{prefix}_beneficiaries"], "cost_yuan": yuan_text(r[f"{prefix}_cost_fen"]),
                    "cost_wan": wan_text(r[f"{prefix}_cost_fen"]), "paid_count": r[f"{prefix}_paid_count"],
                    "paid_yuan": yuan_text(r[f"{prefix}_paid_fen"]), "paid_wan": wan_text(r[f"{prefix}_paid_fen"])}
        money = r["kind"] == "money"
        rows.append({"measure_id": r["measure_id"], "name": r["name"], "entity": r["entity"], "kind": r["kind"],
                     "baseline": side("base"), "scenario": side("scen"),
                     "delta": {"beneficiaries": r["delta_beneficiaries"] if money else None,
                               "cost_yuan": yuan_text(r["delta_cost_fen"]) if money else None,
                               "cost_wan": wan_text(r["delta_cost_fen"]) if money else None,
                               "paid_yuan": yuan_text(r["delta_paid_fen"]) if money else None,
                               "paid_wan": wan_text(r["delta_paid_fen"]) if money else None}})
    money_bm = bm.filter(pl.col("kind") == "money")

    def total(c: str) -> int:
        return int(money_bm[c].fill_null(0).sum() or 0)

    totals = {k: {"yuan": yuan_text(total(c)), "wan": wan_text(total(c))} for k, c in
              (("base_cost", "base_cost_fen"), ("scen_cost", "scen_cost_fen"), ("delta_cost", "delta_cost_fen"),
               ("base_paid", "base_paid_fen"), ("scen_paid", "scen_paid_fen"), ("delta_paid", "delta_paid_fen"))}
    totals["base_beneficiaries"] = cmp.baseline.beneficiaries()
    totals["scen_beneficiaries"] = cmp.scenario.beneficiaries()

    dists = {}
    for dim in ("county", "sector", "size"):
        d = cmp.distribution(dim)
        dists[dim] = [{"group": r["group"], "base_n": r["base_n"], "scen_n": r["scen_n"], "delta_n": r["delta_n"],
                       "base_yuan": yuan_text(r["base_fen"]), "scen_yuan": yuan_text(r["scen_fen"]),
                       "delta_yuan": yuan_text(r["delta_fen"]), "base_wan": wan_text(r["base_fen"]),
                       "scen_wan": wan_text(r["scen_fen"]), "delta_wan": wan_text(r["delta_fen"])}
                      for r in d.iter_rows(named=True)]
    scoped = scoped_comparison(user, cmp)
    lists = {}
    for key, frame in (("winners", scoped.winners()), ("losers", scoped.losers())):
        lists[key] = {"total": frame.height, "delta_yuan": yuan_text(int(frame["delta_fen"].sum() or 0)),
                      "rows": [change_row(r) for r in frame.head(top).iter_rows(named=True)]}
    wn = cmp.scenario.why_not()
    why = [{"measure_id": r["measure_id"], "condition_id": r["condition_id"], "text": r["text"], "gate": r["gate"],
            "not_met": r["not_met"], "failing": r["failing"], "only_failing": r["only_failing"],
            "within_10pct": r["within_10pct"], "threshold": r["threshold"]}
           for r in wn.filter(pl.col("failing") > 0).iter_rows(named=True)]
    return {"measures": rows, "totals": totals, "distributions": dists, **lists, "why_not": why}


def change_row(r: dict) -> dict:
    return {"entity": r["entity"], "entity_id": r["entity_id"], "name": r["name"] or r["entity_id"],
            "credit_code": r["credit_code"], "county_code": r.get("county_code"), "county_name": r["county_name"],
            "sector": r["sector"], "size_class": r["size_class"], "base_yuan": yuan_text(r["base_fen"]),
            "scen_yuan": yuan_text(r["scen_fen"]), "delta_yuan": yuan_text(r["delta_fen"]),
            "base_wan": wan_text(r["base_fen"]), "scen_wan": wan_text(r["scen_fen"]),
            "delta_wan": wan_text(r["delta_fen"]), "base_measures": r["base_measures"] or "",
            "scen_measures": r["scen_measures"] or ""}


def _entity_counties(cmp) -> pl.DataFrame:
    parts = [run.results.select("entity", "entity_id", "county_code") for run in (cmp.baseline, cmp.scenario)]
    return pl.concat(parts).unique(["entity", "entity_id"], keep="first")


def scoped_comparison(user: User, cmp):
    """The comparison whose winners / losers (and those sheets of the Excel) are the user's 县区 only (an officer);
    totals and distributions stay region-wide."""
    from huiqi.services.simulation import Comparison

    counties = _entity_counties(cmp)
    county = None if user.is_admin else (user.county_code or "—")

    @dataclass
    class Scoped(Comparison):
        def changes(self) -> pl.DataFrame:
            out = super().changes().join(counties, on=["entity", "entity_id"], how="left")
            return out if county is None else out.filter(pl.col("county_code") == county)

    return Scoped(cmp.baseline, cmp.scenario)


def solution_dict(sol) -> dict:
    from huiqi.services.simulation import fmt_param

    d = sol.as_dict()
    budget = sol.mode == "budget"
    d.update({
        "value_text": fmt_param(sol.kind, sol.value) if sol.value is not None else None,
        "next_value_text": fmt_param(sol.kind, sol.next_value) if sol.next_value is not None else None,
        "step_text": fmt_param(sol.kind, sol.step),
        "target_yuan": yuan_text(sol.target) if budget else None,
        "target_beneficiaries": None if budget else sol.target,
        "cost_yuan": yuan_text(sol.achieved_cost_fen), "cost_wan": wan_text(sol.achieved_cost_fen),
        "next_cost_yuan": yuan_text(sol.next_cost_fen), "next_cost_wan": wan_text(sol.next_cost_fen),
        "within_budget": (sol.achieved_cost_fen <= sol.target) if budget and sol.achieved_cost_fen is not None else None,
        "verification": ("已用正向测算复核：取值处满足目标，再进一个步长即不满足" if sol.verified else
                         ("复核未通过：该措施对此参数可能不单调" if sol.value is not None and sol.status == "solved" else
                          {"bound": "整个允许范围都满足目标，取范围端点", "infeasible": "允许范围内无法达到目标",
                           "constant": "该参数不改变测算金额"}.get(sol.status, ""))),
    })
    for k in ("cost_fen", "next_cost_fen", "target"):
        d.pop(k, None)
    d["target_text"] = (f"{fmt_wan(wan_text(sol.target))}万元" if budget else f"{sol.target:,}个主体")
    return d


def export_path(state: WebState, user: User, rec: Record) -> Path:
    from huiqi.services.simulation import write_comparison

    scope = "全区" if user.is_admin else (user.county_code or "本人")
    out = state.work_dir / "sandbox" / f"政策沙盘_{rec.period}_{rec.id}_{scope}.xlsx"
    if not out.exists():
        write_comparison(scoped_comparison(user, rec.comparison), out, solution=rec.solution)
    return out


# ------------------------------------------------------------------------------------------------------ API
@api_router.post("/simulations", response_model=S.SimulationOut, summary="政策沙盘：基线与情景对比，可反向求解（同步；工信部门、管理员）")
def api_simulate(body: SimulationBody, request: Request, user: User = Depends(officer_user)):
    return simulate(st(request), user, body, auth.client_ip(request))


@api_router.get("/simulations/options", response_model=S.SimulationOptionsOut, summary="某期间可调整的参数、情景参数（比例/上限）和可替换的措施")
def api_simulation_options(request: Request, period: str = Query(..., max_length=8),
                           measures: Optional[str] = Query(None, max_length=2000, description="逗号分隔"),
                           user: User = Depends(officer_user)):
    state = st(request)
    period = check_period(state, period)
    chosen = [m.strip() for m in measures.split(",") if m.strip()] if measures else None
    if chosen:
        unknown = [m for m in chosen if m not in state.ruleset.measures]
        if unknown:
            raise WebError(422, f"没有这些措施：{'、'.join(unknown)}")
    return options(state, period, chosen)


@api_router.get("/simulations/{sim_id}/export.xlsx", response_class=FileResponse,
                responses=S.file_response(S.XLSX, "测算对比（Excel）"), summary="测算对比 Excel（sim_id 可写 last：本人最近一次）")
def api_simulation_export(sim_id: str, request: Request, user: User = Depends(officer_user)):
    state = st(request)
    rec = record(state, user, sim_id)
    path = export_path(state, user, rec)
    return FileResponse(path, filename=f"政策沙盘_{rec.period}.xlsx",
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


# ---------------------------------------------------------------------------------------------------- pages
def _form_context(state: WebState, period: str, measures: list[str] | None, values: dict) -> dict:
    opts = options(state, period, measures, [values["v_source"]] if values.get("v_source") else None)
    return {"opts": opts, "values": values}


def preset_values(key: str, state: WebState) -> tuple[str, list[str] | None, dict]:
    p = PRESETS[key]
    period = p["period"]
    measures = scenarios.preset_measures(state.ruleset, key)
    values = {"base": dict(p["base_params"]), "scen": dict(p["params"]),
              "v_target": next(iter(p["versions"]), ""), "v_source": next(iter(p["versions"].values()), ""),
              "assume": "\n".join(f"{_field_label(state, k)}={_plain_value(v)}" for k, v in p["assume"].items()),
              "solve_parameter": (p["solve"] or {}).get("parameter", ""),
              "solve_budget": (p["solve"] or {}).get("budget_yuan", ""),
              "solve_beneficiaries": (p["solve"] or {}).get("beneficiaries", ""), "budget_policy": ""}
    return period, measures, values


@page_router.get("/sandbox")
def sandbox_page(request: Request, period: str = "", preset: str = "", user: User = Depends(officer_user)):
    state = st(request)
    if preset and preset not in PRESETS:
        raise WebError(404, f"没有名为“{preset}”的示例")
    if preset:
        period, measures, values = preset_values(preset, state)
    else:
        periods = _periods(state)
        period = period or ("2025Q3" if "2025Q3" in periods else periods[0])
        period = check_period(state, period)
        measures, values = None, {"base": {}, "scen": {}, "assume": "", "budget_policy": ""}
    ctx = _form_context(state, period, measures, values)
    assume_fields = [{"name": k, "label": _field_label(state, k)} for k in ASSUME_004]
    return render(request, "sandbox.html", active_nav="sandbox", periods=_periods(state), period=period,
                  measures_selected=set(measures or ()), presets=PRESETS, preset=preset, assume_fields=assume_fields, policy_labels=POLICY_LABELS, **ctx)


@page_router.get("/sandbox/fields")
def sandbox_fields(request: Request, user: User = Depends(officer_user)):
    """The parameter table, version and solve boxes for the period and measures chosen (htmx), keeping the
    values already typed."""
    state = st(request)
    q = request.query_params
    period = check_period(state, q.get("period", ""))
    here = {m["id"] for m in period_measures(state, period)}
    measures = [m for m in q.getlist("measures") if m in here] or None
    values = _values_from_form(q)
    return render(request, "_sandbox_fields.html", period=period, **_form_context(state, period, measures, values))


def _values_from_form(form) -> dict:
    values = {"base": {}, "scen": {}}
    for k, v in form.multi_items():
        if not isinstance(v, str):
            continue
        if k.startswith("b.") and v.strip():
            values["base"][k[2:]] = v.strip()
        elif k.startswith("s.") and v.strip():
            values["scen"][k[2:]] = v.strip()
    for k in ("v_target", "v_source", "assume", "solve_parameter", "solve_budget", "solve_beneficiaries",
              "budget_policy"):
        values[k] = str(form.get(k) or "").strip()
    return values


def _assume_from_text(text: str) -> dict[str, str]:
    out = {}
    for line in re.split(r"[\n;；]+", text or ""):
        line = line.strip()
        if not line:
            continue
        if "=" not in line:
            raise WebError(422, f"测算假定应写作“字段=值”，每行一个：{line}")
        k, v = line.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def body_from_form(form) -> SimulationBody:
    values = _values_from_form(form)
    solve = None
    if values["solve_parameter"]:
        budget, count = values["solve_budget"], values["solve_beneficiaries"]
        if bool(budget) == bool(count):
            raise WebError(422, "反向求解请填写预算（元）或受益户数之一")
        if count and not count.isdigit():
            raise WebError(422, f"受益户数应为正整数，得到“{count}”")
        solve = {"parameter": values["solve_parameter"], "budget_yuan": budget or None,
                 "beneficiaries": int(count) if count else None}
    versions = {}
    if values["v_target"] or values["v_source"]:
        if not (values["v_target"] and values["v_source"]):
            raise WebError(422, "另一版本：请同时选择本期措施和按其规则测算的措施")
        versions = {values["v_target"]: values["v_source"]}
    data = {"period": str(form.get("period") or ""), "measures": [m for m in form.getlist("measures") if m] or None,
            "base_params": values["base"], "params": values["scen"], "versions": versions,
            "assume": _assume_from_text(values["assume"]), "budget_policy": values["budget_policy"] or None,
            "solve": solve}
    try:
        return SimulationBody(**data)
    except ValidationError as e:
        raise WebError(422, "请求数据有误：" + "；".join(str(x.get("msg")) for x in e.errors()[:3])) from None


@page_router.post("/sandbox/run")
async def sandbox_run(request: Request, user: User = Depends(officer_user)):
    state = st(request)
    form = await request.form()
    errors, keys = _form_errors(state, form)
    if errors:  # every bad value at once, each beside its field (the API still answers with the first)
        return render(request, "_sandbox_errors.html", status=422, errors=errors, keys=keys)
    body = body_from_form(form)
    from starlette.concurrency import run_in_threadpool

    out = await run_in_threadpool(simulate, state, user, body, auth.client_ip(request))
    money = [m for m in out["measures"] if m["kind"] == "money"]
    other = [m for m in out["measures"] if m["kind"] != "money"]
    chart = {"county": _chart_rows(out["distributions"]["county"]), "sector": _chart_rows(out["distributions"]["sector"])}
    return render(request, "_sandbox_results.html", r=out, money=money, other=other, chart=chart, keys=keys)


def _form_errors(state: WebState, form) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(dom id, label, reason) for every baseline / scenario value the one input language cannot read, and the dom
    ids of all parameter fields (their old messages are cleared)."""
    from huiqi.services.form_values import FormValueError, parse_value
    from huiqi.services.simulation import split_knob

    errors, keys = [], []
    for key, value in form.multi_items():
        if key[:2] not in ("b.", "s.") or not isinstance(value, str):
            continue
        name, dom = key[2:], f"err-{key[0]}-{key[2:].replace('.', '_')}"
        keys.append(dom)
        if not value.strip():
            continue
        p = state.ruleset.parameters.get(name)
        knob = split_knob(name)
        if p is not None:
            kind, label = p.kind, p.label
        elif knob is not None:
            kind, label = ("rate" if knob[1] == "rate" else "money"), "情景参数"
        else:
            continue  # an unknown name: simulate() refuses it with its own message
        try:
            parse_value(kind, value, allow_negative=name.endswith("growth_min"))
        except FormValueError as e:
            errors.append((dom, ("基线：" if key[0] == "b" else "情景：") + label, str(e)))
    return errors, keys


def _chart_rows(rows: list[dict], limit: int = 20) -> list[dict]:
    ordered = sorted(rows, key=lambda x: (-Decimal(x["scen_yuan"]), -Decimal(x["base_yuan"]), x["group"]))[:limit]
    return [{"label": x["group"], "base_wan": x["base_wan"], "scen_wan": x["scen_wan"], "base_n": x["base_n"],
             "scen_n": x["scen_n"]} for x in ordered]
