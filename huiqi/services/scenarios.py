"""政策沙盘 as a use case: what a scenario may change (open parameters, knobs on the numbers a text writes, other
versions of a measure), the checking of a scenario's values, the worked presets, and one Simulator per (period,
measures, assumptions, policy, data) kept in a lock-guarded cache (issue 11 item 3; the web's sandbox only reads
requests and presents answers).

Refusals are ``Refused`` (a Chinese message; per-field reasons where a form can show them).
"""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from fractions import Fraction
from typing import Any

from huiqi.engine.allocate import AllocationOptions
from huiqi.engine.evaluate import ParameterError, RuleSet
from huiqi.engine.inputs import InputError
from huiqi.services import parameters
from huiqi.services.caching import Cache
from huiqi.services.errors import Refused

KIND_LABELS = {"rate": "比例", "money": "金额（元）", "number": "数量", "bool": "是/否"}
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


def period_measures(ruleset: RuleSet, period: str) -> list[dict]:
    return [{"id": m.id, "name": m.name, "document": f.rules.document, "entity": m.entity, "kind": m.kind}
            for m, f in ruleset.measures_for(period)]


def preset_measures(ruleset: RuleSet, key: str) -> list[str] | None:
    p = PRESETS[key]
    if p.get("measures") is None and p.get("document"):
        return [m["id"] for m in period_measures(ruleset, p["period"]) if m["document"] == p["document"]]
    return p.get("measures")


def plain(value) -> str | None:
    """A rule file's number as exact text (YAML floats printed as written)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format(Decimal(repr(value)).normalize(), "f")
    if isinstance(value, (Fraction, Decimal)):
        from huiqi.services.simulation import decimal_text

        return decimal_text(Fraction(value))
    return str(value)


def knobs(ruleset: RuleSet, library, measure_ids: list[str]) -> list[dict]:
    """Scenario knobs on numbers the text writes as constants: ``<measure>.rate`` (the pct(…) factor of the
    amount), ``<measure>.cap`` (a constant cap, 元), ``<document>.rate`` (one rate for its measures)."""
    from huiqi.engine.expressions import parse
    from huiqi.services.simulation import const_of, decimal_text, rate_nodes

    rs = ruleset
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
            title = library.documents[doc].title if doc in library.documents else "本文件"
            out.insert(0, {"name": f"{doc}.rate", "label": f"《{title}》各措施统一比例{text}", "kind": "rate",
                           "kind_label": "比例", "current": None if same is None else decimal_text(same),
                           "default": None if same is None else decimal_text(same), "max": None, "min": None, "clause": None,
                           "is_budget": False, "knob": True})
    return out


def number_text(name: str, label: str, kind: str, value: Any, *, allow_negative: bool = False) -> str:
    """A parameter value as exact decimal text, read by the one input language of every form
    (services.form_values: 5% / 0.05, 1,000万元 / 1000万 / 1,000,000元)."""
    from huiqi.services.form_values import FormValueError, parse_value

    try:
        text = parse_value(kind, value, allow_negative=allow_negative)
    except FormValueError as e:
        raise Refused(422, f"{label}：{e}", fields={name: str(e)}) from None
    if text is None:
        raise Refused(422, f"{label}：未填写", fields={name: "未填写"})
    return text


def clean_params(ruleset: RuleSet, values: Any, what: str) -> dict[str, object]:
    """Parameter overrides checked by name (a rule parameter, or a knob ``x.rate`` / ``x.cap``), as numbers, and —
    for rule parameters — against the text's bounds (RuleSet.resolve_parameters)."""
    from huiqi.services.simulation import split_knob

    if not isinstance(values, dict):
        raise Refused(422, f"{what}应为“参数名: 取值”的对象")
    rs = ruleset
    out: dict[str, object] = {}
    for name, value in values.items():
        name = str(name).strip()
        if value is None or (isinstance(value, str) and not value.strip()):
            continue  # blank: unchanged
        knob = split_knob(name)
        if name in rs.parameters:
            p = rs.parameters[name]
            text = number_text(name, p.label, p.kind, value, allow_negative=name.endswith("growth_min"))
            out[name] = (text == "true") if p.kind == "bool" else text
        elif knob is not None:
            target, kind = knob
            if target not in rs.measures and not any(f.rules.document == target for _m, f in rs.measures.values()):
                raise Refused(422, f"{what}：“{name}”中没有编号为 {target} 的措施或文件")
            out[name] = number_text(name, "情景参数", "rate" if kind == "rate" else "money", value)
        else:
            raise Refused(422, f"{what}：没有名为 {name} 的参数（可用规则参数，或 措施编号.rate、措施编号.cap、文件编号.rate）")
    plain_params = {k: v for k, v in out.items() if k in rs.parameters}
    try:
        rs.resolve_parameters(plain_params)
    except ParameterError as e:
        raise Refused(422, f"{what}：{e}") from None
    return out


def clean_assume(ruleset: RuleSet, values: Any) -> dict[str, object]:
    from huiqi.engine.inputs import normalize_facts

    if not isinstance(values, dict):
        raise Refused(422, "测算假定应为“字段: 取值”的对象")
    values = {str(k).strip(): v for k, v in values.items() if v is not None and str(v).strip() != ""}
    # people write the Chinese label (守法经营=是); the simulator works on field names
    values = {(ruleset.dictionary.resolve(k) or k): v for k, v in values.items()}
    try:
        normalize_facts(values, ruleset.dictionary)
    except (InputError, ValueError) as e:
        raise Refused(422, f"测算假定有误：{e}") from None
    return values


class Scenarios:
    """The sandbox's caches, one owner: simulators (facts built once) and the options of a period."""

    def __init__(self, ruleset: RuleSet, library):
        self.ruleset = ruleset
        self.library = library
        self.simulators = Cache("simulators", MAX_SIMULATORS)
        self._locks: dict[tuple, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self.options_cache = Cache("scenario options", 64)

    def simulator(self, tables: dict, data_hash: str, period: str, measures: list[str] | None, assume: dict,
                  policy: str):
        """(the Simulator, the lock that lets one run at a time use it — its facts cache fills on first use)."""
        from huiqi.services.simulation import Simulator

        key = (period, tuple(measures or ()), json.dumps(assume, sort_keys=True, default=str), policy, data_hash)

        def build():
            try:
                return Simulator(tables, period, ruleset=self.ruleset, measures=measures,
                                 options=AllocationOptions(policy), assume=assume or None)
            except (InputError, ValueError) as e:
                raise Refused(422, f"测算假定有误：{e}") from None

        sim = self.simulators.get_or_build(key, build)
        with self._locks_guard:
            return sim, self._locks.setdefault(key, threading.Lock())

    def options(self, period: str, measures: list[str] | None, sources: list[str] | None, active: dict) -> dict:
        """What a scenario of ``period`` can change: the open parameters read by the measures (with label, current
        value, the file's default and upper bound), the knobs, the measures another version can replace.
        ``sources``: measures whose rule another version applies (their parameters are listed too)."""
        sources = [m for m in (sources or []) if m in self.ruleset.measures]
        key = (period, tuple(measures or ()), tuple(sources), active["id"], active["version"])
        return self.options_cache.get_or_build(key, lambda: self._options(period, measures, sources, active))

    def _options(self, period: str, measures: list[str] | None, sources: list[str], active: dict) -> dict:
        from huiqi.services.simulation import param_references

        rs = self.ruleset
        all_measures = period_measures(rs, period)
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
        budgets = set(parameters.budget_parameters(rs))
        rows = {r["name"]: r for r in parameters.parameter_rows(rs, active["values"])}
        params = []
        for n in names:
            r = rows[n]
            params.append({"name": n, "label": r["label"], "kind": r["kind"],
                           "kind_label": KIND_LABELS.get(r["kind"], r["kind"]), "default": plain(r["default"]),
                           "max": plain(r["max"]), "min": plain(r["min"]), "current": plain(r["effective"]),
                           "clause": r["clause"], "is_budget": n in budgets, "knob": False})
        params.sort(key=lambda p: (p["is_budget"], names.index(p["name"])))
        return {"period": period, "measures": all_measures, "selected": [m["id"] for m in chosen],
                "parameters": params, "knobs": knobs(rs, self.library, [m["id"] for m in chosen]),
                "version_sources": [{"id": mid, "name": m.name, "entity": m.entity}
                                    for mid, (m, _f) in rs.measures.items() if m.kind == "money"],
                "budget_policy": active["budget_policy"]}
