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
solve 0.2–0.5 s (figures in docs/web.md), so no background job is needed. Each run is written to the audit log (action 政策沙盘).
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal, Optional, Union

import polars as pl
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from huiqi.core import money
from huiqi.engine.allocate import AllocationOptions
from huiqi.engine.evaluate import ParameterError
from huiqi.engine.inputs import InputError
from huiqi.interfaces.web import auth, schemas as S
from huiqi.interfaces.web.auth import User, check_csrf, officer_user, optional_user
from huiqi.interfaces.web.state import WebError, WebState, yuan_text

api_router = APIRouter(prefix="/api", dependencies=[Depends(check_csrf)], tags=["政策沙盘"])
page_router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

KIND_LABELS = {"rate": "比例", "money": "金额（元）", "number": "数量", "bool": "是/否"}
POLICY_LABELS = {"pro_rata": "按比例核减", "ranked": "按金额从高到低兑现"}
MAX_RECORDS = 16  # comparisons kept in memory for the Excel export
MAX_SIMULATORS = 4  # facts built once per (period, measures, assumptions, data)

# 004 六（二）申报条件 without a data source in the register: assumed met for a cost estimate (docs/simulation.md)
ASSUME_004 = {"lz2026q3_law_abiding": "true", "lz2026q3_sound_financial_system": "true",
              "lz2026q3_good_accounting_credit": "true", "lz2026q3_good_tax_credit": "true",
              "lz2026q3_violates_joint_punishment": "false", "lz2026q3_materials_falsified": "false"}

PRESETS: dict[str, dict] = {
    "000": {
        "title": "000 2025年下半年措施（征求意见稿）：设定未定数值，降低增产增效增速门槛，按5亿元预算求奖励金额",
        "period": "2025Q3", "document": "gx2025h2",
        # 000（一） reads 产值、用电、利润、新增就业人数 (RULES-6): 用电、利润、新增就业人数 set to "不下降" (≥ 0%)
        "base_params": {"gx2025h2_01_growth_min": "0.1", "gx2025h2_01_power_growth_min": "0",
                        "gx2025h2_01_profit_growth_min": "0", "gx2025h2_01_jobs_growth_min": "0",
                        "gx2025h2_01_amount": "100000", "gx2025h2_03_rate": "0.05",
                        "gx2025h2_11_rate": "0.5", "gx2025h2_12_rate": "0.01"},
        "params": {"gx2025h2_01_growth_min": "0.08"},
        "solve": {"parameter": "gx2025h2_01_amount", "budget_yuan": "500000000"},
        "assume": {}, "versions": {},
    },
    "004": {
        "title": "004 柳州市2026年三季度措施（征求意见稿）：预算1000万元，4.1b上限降为10万元，求统一补助比例",
        "period": "2026Q3", "measures": ["lz2026q3-4.1a", "lz2026q3-4.1b", "lz2026q3-4.2"],
        "base_params": {"lz2026q3_budget": "10000000"},
        "params": {"lz2026q3-4.1b.cap": "100000"},
        "solve": {"parameter": "lz2026q3.rate", "budget_yuan": "10000000"},
        "assume": ASSUME_004, "versions": {},
    },
    "version": {
        "title": "另一版本：2025年三季度数据按2024年四季度（002）增产增效规则测算",
        "period": "2025Q3", "measures": ["gx2025h2-01"],
        "base_params": {"gx2025h2_01_growth_min": "0.1", "gx2025h2_01_amount": "100000",
                        "gx2024q4_02a_amount": "100000"},
        "params": {}, "versions": {"gx2025h2-01": "gx2024q4-02a"}, "assume": {}, "solve": None,
    },
}


def st(request: Request) -> WebState:
    return request.app.state.web


# ------------------------------------------------------------------------------------------------ formatting
def wan_text(fen: int | None) -> str | None:
    """分 → 万元 with two decimals, half-up (as the award lists and the Excel export)."""
    if fen is None:
        return None
    return money.wan_text(int(fen))


def fmt_wan(value) -> str:
    """A 万元 string for display: thousands separators, two decimals, '—' for none."""
    if value is None or value == "":
        return "—"
    return f"{money.in_unit(Decimal(str(value)) * 1_000_000):,}"


def fmt_signed(value) -> str:
    if value is None or value == "":
        return "—"
    d = Decimal(str(value))
    shown = f"{d.quantize(Decimal('0.01'), rounding=money.ROUNDING):,}" if d.as_tuple().exponent < 0 else f"{d:,}"
    return ("+" if d > 0 else "") + shown


def fmt_count(value) -> str:
    return "—" if value is None else f"{int(value):,}"


def install_filters(request: Request) -> None:
    env = request.app.state.templates.env
    if "wan" not in env.filters:
        env.filters.update(wan=fmt_wan, signed=fmt_signed, cnt=fmt_count)
    if "snippet" not in env.filters:
        from huiqi.interfaces.web.pages import install_filters as base_filters

        base_filters(env)


def render(request: Request, name: str, status: int = 200, **ctx):
    install_filters(request)
    ctx.setdefault("user", optional_user(request))
    ctx.setdefault("active_nav", "")
    return request.app.state.templates.TemplateResponse(request, name, ctx, status_code=status)


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
    rs = state.ruleset
    out = []
    for m, f in rs.measures_for(period):
        out.append({"id": m.id, "name": m.name, "document": f.rules.document, "entity": m.entity, "kind": m.kind})
    return out


_OPTIONS_CACHE: dict[tuple, dict] = {}
_OPTIONS_LOCK = threading.Lock()


def options(state: WebState, period: str, measures: list[str] | None, sources: list[str] | None = None) -> dict:
    """What a scenario of ``period`` can change: the open parameters read by the measures (with label, current
    value, the file's default and upper bound), the knobs on numbers the text writes (rates, caps), the measures
    another version can replace. ``sources``: measures whose rule another version applies (their parameters
    are listed too)."""
    from huiqi.services.simulation import param_references

    active = state.active_set()
    sources = [m for m in (sources or []) if m in state.ruleset.measures]
    key = (id(state), period, tuple(measures or ()), tuple(sources), active["id"], active["version"])
    with _OPTIONS_LOCK:
        hit = _OPTIONS_CACHE.get(key)
    if hit is not None:
        return hit
    rs = state.ruleset
    all_measures = period_measures(state, period)
    chosen = [m for m in all_measures if not measures or m["id"] in measures]
    names: list[str] = []
    for mid in [m["id"] for m in chosen] + sources:
        for pname in rs.parameters:
            if pname not in names and param_references(rs, mid, pname):
                names.append(pname)
        mm, f = rs.measures[mid]
        pool = mm.budget_parameter or f.rules.defaults.budget_parameter
        if pool and mm.kind == "money" and pool not in names:
            names.append(pool)
    from huiqi.interfaces.web.api import budget_parameters, parameter_rows

    budgets = set(budget_parameters(state))
    rows = {r["name"]: r for r in parameter_rows(state, active["values"])}
    params = []
    for n in names:
        r = rows[n]
        params.append({"name": n, "label": r["label"], "kind": r["kind"], "kind_label": KIND_LABELS.get(r["kind"], r["kind"]),
                       "default": _plain(r["default"]), "max": _plain(r["max"]), "min": _plain(r["min"]),
                       "current": _plain(r["effective"]), "clause": r["clause"], "is_budget": n in budgets,
                       "knob": False})
    params.sort(key=lambda p: (p["is_budget"], names.index(p["name"])))
    out = {"period": period, "measures": all_measures, "selected": [m["id"] for m in chosen],
           "parameters": params, "knobs": knobs(state, period, [m["id"] for m in chosen]),
           "version_sources": [{"id": mid, "name": m.name, "entity": m.entity}
                               for mid, (m, _f) in rs.measures.items() if m.kind == "money"],
           "budget_policy": active["budget_policy"]}
    with _OPTIONS_LOCK:
        if len(_OPTIONS_CACHE) > 64:
            _OPTIONS_CACHE.clear()
        _OPTIONS_CACHE[key] = out
    return out


def _plain(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):  # rule-file numbers read by YAML: print exactly as written
        return format(Decimal(repr(value)).normalize(), "f")
    if isinstance(value, (Fraction, Decimal)):
        from huiqi.services.simulation import decimal_text

        return decimal_text(Fraction(value))
    return str(value)


def knobs(state: WebState, period: str, measure_ids: list[str]) -> list[dict]:
    """Scenario knobs on numbers the text writes as constants: ``<measure>.rate`` (the pct(…) factor of the
    amount), ``<measure>.cap`` (a constant cap, 元), ``<document>.rate`` (one rate for its measures)."""
    from huiqi.engine.expressions import parse
    from huiqi.services.simulation import const_of, decimal_text, rate_nodes

    rs = state.ruleset
    out: list[dict] = []
    by_doc: dict[str, list[Fraction | None]] = {}
    for mid in measure_ids:
        m, f = rs.measures[mid]
        if m.kind != "money":
            continue
        try:
            nodes = rate_nodes(parse(m.amount).copy(), rs) if m.amount else []
        except Exception:  # an amount the knob cannot read: no knob
            nodes = []
        if len(nodes) == 1 and nodes[0].name.lower() == "pct":
            const = const_of(nodes[0], rs)
            by_doc.setdefault(f.rules.document, []).append(const)
            out.append({"name": f"{mid}.rate", "label": f"{m.name}：比例（原文{decimal_text(const * 100)}%）" if const is not None
                        else f"{m.name}：比例", "kind": "rate", "kind_label": "比例", "current": None if const is None
                        else decimal_text(const), "default": None if const is None else decimal_text(const), "max": None, "min": None,
                        "clause": None, "is_budget": False, "knob": True})
        if m.cap:
            try:
                const = const_of(parse(m.cap), rs)
            except Exception:
                const = None
            if const is not None:
                out.append({"name": f"{mid}.cap", "label": f"{m.name}：单户上限（原文{decimal_text(const)}元）", "kind": "money",
                            "kind_label": "金额（元）", "current": decimal_text(const), "default": decimal_text(const), "max": None,
                            "min": None, "clause": None, "is_budget": False, "knob": True})
    for doc, consts in by_doc.items():
        if len(consts) > 1:
            same = consts[0] if len(set(consts)) == 1 else None
            text = f"（原文均为{decimal_text(same * 100)}%）" if same is not None else ""
            title = state.library.documents[doc].title if doc in state.library.documents else "本文件"
            out.insert(0, {"name": f"{doc}.rate", "label": f"《{title}》各措施统一比例{text}", "kind": "rate",
                           "kind_label": "比例", "current": None if same is None else decimal_text(same),
                           "default": None if same is None else decimal_text(same), "max": None, "min": None, "clause": None,
                           "is_budget": False, "knob": True})
    return out


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


def _number_text(name: str, label: str, kind: str, value: Any, *, allow_negative: bool = False) -> str:
    """A parameter value as exact decimal text, read by the one input language of every form
    (services.form_values: 5% / 0.05, 1,000万元 / 1000万 / 1,000,000元)."""
    from huiqi.services.form_values import FormValueError, parse_value

    try:
        text = parse_value(kind, value, allow_negative=allow_negative)
    except FormValueError as e:
        raise WebError(422, f"{label}：{e}", fields={name: str(e)}) from None
    if text is None:
        raise WebError(422, f"{label}：未填写", fields={name: "未填写"})
    return text


def clean_params(state: WebState, values: Any, what: str) -> dict[str, object]:
    """Parameter overrides checked by name (a rule parameter, or a knob ``x.rate`` / ``x.cap``), as numbers, and —
    for rule parameters — against the text's bounds (RuleSet.resolve_parameters)."""
    from huiqi.services.simulation import split_knob

    if not isinstance(values, dict):
        raise WebError(422, f"{what}应为“参数名: 取值”的对象")
    rs = state.ruleset
    out: dict[str, object] = {}
    for name, value in values.items():
        name = str(name).strip()
        if value is None or (isinstance(value, str) and not value.strip()):
            continue  # blank: unchanged
        knob = split_knob(name)
        if name in rs.parameters:
            p = rs.parameters[name]
            text = _number_text(name, p.label, p.kind, value, allow_negative=name.endswith("growth_min"))
            out[name] = (text == "true") if p.kind == "bool" else text
        elif knob is not None:
            target, kind = knob
            if target not in rs.measures and not any(f.rules.document == target for _m, f in rs.measures.values()):
                raise WebError(422, f"{what}：“{name}”中没有编号为 {target} 的措施或文件")
            out[name] = _number_text(name, "情景参数", "rate" if kind == "rate" else "money", value)
        else:
            raise WebError(422, f"{what}：没有名为 {name} 的参数（可用规则参数，或 措施编号.rate、措施编号.cap、文件编号.rate）")
    plain = {k: v for k, v in out.items() if k in rs.parameters}
    try:
        rs.resolve_parameters(plain)
    except ParameterError as e:
        raise WebError(422, f"{what}：{e}") from None
    return out


def clean_assume(state: WebState, values: Any) -> dict[str, object]:
    from huiqi.engine.inputs import normalize_facts

    if not isinstance(values, dict):
        raise WebError(422, "测算假定应为“字段: 取值”的对象")
    values = {str(k).strip(): v for k, v in values.items() if v is not None and str(v).strip() != ""}
    # people write the Chinese label (守法经营=是); the simulator works on field names
    values = {(state.ruleset.dictionary.resolve(k) or k): v for k, v in values.items()}
    try:
        normalize_facts(values, state.ruleset.dictionary)
    except (InputError, ValueError) as e:
        raise WebError(422, f"测算假定有误：{e}") from None
    return values


# ------------------------------------------------------------------------------------------------ the runs
@dataclass
class Record:
    id: str
    user_id: int
    period: str
    comparison: Any
    solution: Any
    created: float


class SandboxStore:
    """Simulators (facts built once per period, measures, assumptions and data) and the recent comparisons."""

    def __init__(self):
        self.lock = threading.Lock()
        self.simulators: OrderedDict = OrderedDict()
        self.sim_locks: dict[tuple, threading.Lock] = {}
        self.records: OrderedDict[str, Record] = OrderedDict()
        self.last: dict[int, str] = {}

    def simulator(self, state: WebState, period: str, measures: list[str] | None, assume: dict,
                  policy: str):
        from huiqi.services.simulation import Simulator

        key = (period, tuple(measures or ()), json.dumps(assume, sort_keys=True, default=str), policy, state.data_hash)
        with self.lock:
            sim = self.simulators.get(key)
            if sim is not None:
                self.simulators.move_to_end(key)
                return sim, self.sim_locks[key]
        try:
            sim = Simulator(state.tables, period, ruleset=state.ruleset, measures=measures,
                            options=AllocationOptions(policy), assume=assume or None)
        except (InputError, ValueError) as e:
            raise WebError(422, f"测算假定有误：{e}") from None
        with self.lock:
            if key not in self.simulators:
                self.simulators[key] = sim
                self.sim_locks[key] = threading.Lock()
                while len(self.simulators) > MAX_SIMULATORS:
                    old, _ = self.simulators.popitem(last=False)
                    self.sim_locks.pop(old, None)
            return self.simulators[key], self.sim_locks[key]

    def keep(self, record: Record) -> None:
        with self.lock:
            self.records[record.id] = record
            self.last[record.user_id] = record.id
            while len(self.records) > MAX_RECORDS:
                self.records.popitem(last=False)

    def get(self, user: User, sim_id: str) -> Record:
        with self.lock:
            if sim_id == "last":
                sim_id = self.last.get(user.id, "")
            rec = self.records.get(sim_id)
        if rec is None:
            raise WebError(404, "没有这次测算（测算结果只在内存中保留最近16次，服务重启后需重新测算）")
        if rec.user_id != user.id and not user.is_admin:
            raise WebError(403, "只能下载本人发起的测算")
        return rec


def store(state: WebState) -> SandboxStore:
    return state.attached("sandbox", SandboxStore)


def simulate(state: WebState, user: User, body: SimulationBody, ip: str | None) -> dict:
    """Check the request, run baseline and scenario (and the solve) and return the JSON-ready answer."""
    from huiqi.services.award_list import period_label
    from huiqi.services.simulation import Comparison, Scenario, SimulationError

    started = time.perf_counter()
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
    solve = body.solve
    if solve is not None:
        if (solve.budget_yuan is None) == (solve.beneficiaries is None):
            raise WebError(422, "反向求解须给出预算（元）或受益主体数之一")
        if solve.budget_yuan is not None:
            solve.budget_yuan = _number_text("budget_yuan", "预算（元）", "money", solve.budget_yuan)
        solve.parameter = solve.parameter.strip()
        for v in (solve.step, solve.low, solve.high):
            if v is not None:
                try:
                    Fraction(str(v).strip())
                except (ValueError, ZeroDivisionError):
                    raise WebError(422, f"求解的步长或上下限“{v}”不是数值") from None
    sim, lock = store(state).simulator(state, period, measures, assume, policy)
    baseline = Scenario("基线", common)
    scenario = Scenario("情景", {**common, **changes}, versions)
    changed = bool(changes or versions)
    try:
        with lock:  # one run at a time per simulator (its facts cache is filled on first use)
            base_run = sim.run(baseline)
            scen_run = sim.run(scenario) if changed else base_run
            cmp = Comparison(base_run, scen_run)
            solution = None
            if solve is not None:
                solution = sim.solve(solve.parameter, budget_yuan=solve.budget_yuan, beneficiaries=solve.beneficiaries,
                                     base=scenario, step=solve.step, low=solve.low, high=solve.high)
            out = comparison_dict(state, user, cmp, body.top)
    except SimulationError as e:
        raise WebError(422, str(e)) from None
    except (InputError, ParameterError) as e:
        raise WebError(422, str(e)) from None
    sim_id = secrets.token_hex(6)
    store(state).keep(Record(sim_id, user.id, period, cmp, solution, time.time()))
    seconds = time.perf_counter() - started
    out.update({
        "id": sim_id, "period": period, "period_label": period_label(period), "rules_version": state.ruleset.version,
        "data_hash": state.data_hash, "budget_policy": policy, "budget_policy_label": POLICY_LABELS[policy],
        "parameter_set": {"id": active["id"], "name": active["name"], "version": active["version"]},
        "measures_selected": measures, "changed": changed,
        "baseline": {"name": "基线", "describe": baseline.describe()},
        "scenario": {"name": "情景", "describe": scenario.describe() if changed else []},
        "assume": [{"field": k, "label": _field_label(state, k), "value": str(v)} for k, v in assume.items()],
        "assume_note": ("测算假定：以上字段在登记数据中缺失时按所填值计算（只补缺，不覆盖已有数据）。"
                        "这是为估算草案成本所作的假定，不代表企业实际符合这些条件。") if assume else None,
        "solve": solution_dict(solution) if solution is not None else None,
        "export_url": f"/api/simulations/{sim_id}/export.xlsx",
        "seconds": round(seconds, 3),
        "scope": "全区" if user.is_admin or not user.county_code else state.county_names.get(user.county_code,
                                                                                               user.county_code),
    })
    state.audit(user, "政策沙盘", period, {
        "id": sim_id, "measures": measures, "base_params": {k: str(v) for k, v in body.base_params.items()},
        "params": {k: str(v) for k, v in changes.items()}, "versions": versions,
        "assume": {k: str(v) for k, v in assume.items()}, "budget_policy": policy,
        "solve": solve.model_dump() if solve is not None else None,
        "answer": out["solve"]["value"] if out["solve"] else None, "seconds": out["seconds"]}, ip)
    return out


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
    rec = store(state).get(user, sim_id)
    path = export_path(state, user, rec)
    return FileResponse(path, filename=f"政策沙盘_{rec.period}.xlsx",
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


# ---------------------------------------------------------------------------------------------------- pages
def _form_context(state: WebState, period: str, measures: list[str] | None, values: dict) -> dict:
    opts = options(state, period, measures, [values["v_source"]] if values.get("v_source") else None)
    return {"opts": opts, "values": values}


def _preset_values(key: str, state: WebState) -> tuple[str, list[str] | None, dict]:
    p = PRESETS[key]
    period = p["period"]
    measures = p.get("measures")
    if measures is None and p.get("document"):
        measures = [m["id"] for m in period_measures(state, period) if m["document"] == p["document"]]
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
        period, measures, values = _preset_values(preset, state)
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
