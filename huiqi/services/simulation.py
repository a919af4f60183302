"""政策沙盘 (draft-policy simulation): a baseline against a scenario, on the same facts, through the one evaluator.

    tables ──facts (once)──▶ facts frame ─┬─ RuleSet.evaluate(baseline params) ──allocate──▶ baseline run
                                          └─ RuleSet.evaluate(scenario params) ──allocate──▶ scenario run
                                                         comparison: per measure, 县区 / 行业 / 企业规模, winners, losers,
                                                         why-not histogram; inverse solve by bisection

A **scenario** is what an officer would change in a draft:

* ``params``   — parameter overrides (rates, amounts, thresholds, budgets: every ``param('…')`` of the rules), plus
  *knobs* on numbers the text writes as constants: ``<measure>.rate`` (the ``pct(…)`` factor of the amount),
  ``<measure>.cap`` (a constant cap, 元) and ``<document>.rate`` (one rate for every measure of a document with
  a rate factor). Left at the text's value a knob changes nothing (the no-change property).
* ``versions`` — another version of a measure: ``{"gx2025h2-01": "gx2024q4-02a"}`` applies 002's 增产增效 rule
  (its conditions, amount, document gates and rounding) to the scenario's period, in place of 000's; a version
  whose target is its own id adds that measure to the period (e.g. 001's rule on 2024Q4 facts).
* ``edits``    — a measure's amount / cap / minimum / one condition rewritten as an expression (same language as
  the rule files), e.g. ``{"gx2024q4-21": {"当季产值": "output_q >= wan(400)"}}``.

Nothing is rebuilt for a scenario: the facts of the period are built once per entity type and every scenario is
one ``RuleSet.evaluate`` on that frame (the engine recompiles only the expressions for the new parameter set).
Scenario rule changes (versions, edits, knobs) are applied to a *copy* of the rule set's measure table — the
evaluator is the same object code, nothing is evaluated any other way.

Money is integer 分 throughout; parameter values are exact decimals (``Fraction``); the inverse solve walks a
grid of exact steps (rates 0.01%, money 1 元 — 1万元 when every measure it touches rounds down to 万元 —,
numbers 1) and proves its answer with two full forward runs (the answer meets the target, one step more does not).
"""

from __future__ import annotations

import copy
import dataclasses
import operator
import re
import time
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from math import ceil, floor
from pathlib import Path
from typing import Mapping

import polars as pl
from sqlglot import exp

from huiqi.core import money
from huiqi.core.periods import Period
from huiqi.engine.allocate import AllocationOptions, allocate
from huiqi.engine.evaluate import MET, MISSING, NOT_MET, PENDING, Evaluation, ParameterError, RuleSet, col
from huiqi.engine.expressions import Compiler, ExpressionError, parse
from huiqi.engine.inputs import normalize_facts
from huiqi.rules.fields import SCALE
from huiqi.rules.model import Parameter
from huiqi.services import facts as facts_mod
from huiqi.services.calculator import default_ruleset

DISPLAY = ["name", "credit_code", "county_code", "sector", "size_class"]
ENTITY_LABELS = {"enterprise": "企业", "project": "项目", "county": "县区"}
KNOBS = ("rate", "cap")

# 工信部联企业〔2011〕300号 第四条（十四）工业: 从业人员 (persons) and 营业收入 (元)
SIZE_CLASSES = ("大型", "中型", "小型", "微型", "未划型")
SIZE_DTYPE = pl.Enum([*SIZE_CLASSES, "—"])
_SIZE_THRESHOLDS = (("大型", 1000, 400_000_000), ("中型", 300, 20_000_000), ("小型", 20, 3_000_000))

STEP_RATE = Fraction(1, 10_000)  # 0.01%
STEP_YUAN = Fraction(1)
STEP_WAN = Fraction(10_000)


class SimulationError(ValueError):
    """A scenario or a solve request that cannot be run; the message says why, in Chinese."""


# ---------------------------------------------------------------------------------------------------------
# scenarios
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scenario:
    name: str = "基线"
    params: Mapping[str, object] = field(default_factory=dict)
    versions: Mapping[str, str] = field(default_factory=dict)  # measure id → id of the measure whose rule applies
    edits: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # measure → {amount|cap|minimum|条件: SQL}

    def with_params(self, name: str | None = None, **changes) -> "Scenario":
        return Scenario(name or self.name, {**self.params, **changes}, dict(self.versions),
                        {k: dict(v) for k, v in self.edits.items()})

    def describe(self) -> list[str]:
        out = [f"{k} = {v}" for k, v in sorted(self.params.items(), key=lambda kv: kv[0])]
        out += [f"{t} 按 {s} 的规则" if t != s else f"加入 {s}（按其规则，用本期数据）" for t, s in sorted(self.versions.items())]
        out += [f"{m}.{what}: {sql}" for m, e in sorted(self.edits.items()) for what, sql in sorted(e.items())]
        return out


def _knob_name(target: str, knob: str) -> str:
    return "sim_" + re.sub(r"[^a-z0-9]+", "_", target.lower()).strip("_") + "_" + knob


def split_knob(key: str) -> tuple[str, str] | None:
    if "." not in key:
        return None
    target, knob = key.rsplit(".", 1)
    return (target, knob) if knob in KNOBS else None


def rate_nodes(tree: exp.Expression, ruleset: RuleSet) -> list[exp.Expression]:
    """The rate factors of an amount: pct(…) or param('<a rate parameter>') in its top-level product."""
    found, stack = [], [tree]
    while stack:
        n = stack.pop()
        if isinstance(n, exp.Paren):
            stack.append(n.this)
        elif isinstance(n, exp.Mul):
            stack += [n.expression, n.this]
        elif isinstance(n, exp.Anonymous) and n.name.lower() == "pct":
            found.append(n)
        elif isinstance(n, exp.Anonymous) and n.name.lower() == "param":
            pname = n.expressions[0].this
            if pname in ruleset.parameters and ruleset.parameters[pname].kind == "rate":
                found.append(n)
    return found


def const_of(node: exp.Expression, ruleset: RuleSet) -> Fraction | None:
    v = Compiler(ruleset.dictionary, ruleset.resolve_parameters(), frozenset(ruleset.parameters)).node(node)
    return Fraction(v.const) if v.is_const and v.kind == "num" else None


def decimal_text(x: Fraction) -> str:
    """An exact decimal string for a Fraction with a terminating expansion (every grid value is one)."""
    d = Decimal(x.numerator) / Decimal(x.denominator)
    text = format(d.normalize(), "f")
    if Fraction(text) != x:
        return f"{x.numerator}/{x.denominator}"
    return text


def derive_ruleset(base: RuleSet, period: str, scenario: Scenario,
                   knobs: list[str] = ()) -> tuple[RuleSet, dict[str, object], dict[str, str]]:
    """A copy of ``base`` carrying the scenario's rule changes (versions, edits, knobs), the parameter values in
    the copy's names, and the knob → parameter name map. The base rule set is left untouched."""
    keys = list(dict.fromkeys([*scenario.params, *knobs]))
    if not scenario.versions and not scenario.edits and not any(split_knob(k) for k in keys):
        return base, dict(scenario.params), {}
    rs = copy.copy(base)
    rs.measures = dict(base.measures)
    rs.parameters = dict(base.parameters)
    rs._plans = {}
    for target, source in scenario.versions.items():
        if source not in base.measures:
            raise SimulationError(f"没有编号为 {source} 的措施")
        m, f = base.measures[source]
        if target != source:
            if target not in base.measures:
                raise SimulationError(f"没有编号为 {target} 的措施")
            tm, tf = base.measures[target]
            if tm.entity != m.entity:
                raise SimulationError(f"{source} 的对象（{m.entity}）与 {target}（{tm.entity}）不同，不能替换")
            budget = tm.budget_parameter or tf.rules.defaults.budget_parameter or m.budget_parameter
            m = m.model_copy(update={"id": target, "name": f"{m.name}（按{source}规则）", "periods": [period],
                                     "budget_parameter": budget, "exclusive_group": None})
            # the target document's area still bounds it: another document's rule does not widen where it pays
            f = dataclasses.replace(f, rules=f.rules.model_copy(update={"jurisdiction": tf.rules.jurisdiction}))
        else:
            m = m.model_copy(update={"periods": sorted({*(m.periods or f.rules.defaults.periods), period})})
        rs.measures[target] = (m, f)
    for mid, changes in scenario.edits.items():
        if mid not in rs.measures:
            raise SimulationError(f"没有编号为 {mid} 的措施")
        m, f = rs.measures[mid]
        update, conditions = {}, list(m.conditions)
        for what, sql in changes.items():
            if what in ("amount", "cap", "minimum"):
                update[what] = sql
                if what == "cap":
                    update["cap_year"] = None
                continue
            hit = [i for i, c in enumerate(conditions) if c.id == what]
            if not hit:
                raise SimulationError(f"{mid} 没有名为“{what}”的条件（可改：amount、cap、minimum 或条件 "
                                      f"{'、'.join(c.id for c in conditions)}）")
            c = conditions[hit[0]]
            conditions[hit[0]] = c.model_copy(update={"when": sql, "text": f"{c.text}（情景改为 {sql}）"})
        rs.measures[mid] = (m.model_copy(update={**update, "conditions": conditions}), f)
    names: dict[str, str] = {}
    for key in keys:
        split = split_knob(key)
        if not split:
            continue
        target, knob = split
        if target in rs.measures:
            members = [target]
        else:
            members = [mid for mid, (m, f) in rs.measures.items() if f.rules.document == target
                       and period in (m.periods if m.periods is not None else f.rules.defaults.periods)]
            if not members:
                raise SimulationError(f"“{key}”：没有编号为 {target} 的措施或文件")
        names[key] = _apply_knob(rs, key, target, knob, members)
    params = {}
    for k, v in scenario.params.items():
        params[names.get(k, k)] = v
    try:
        rs.compile_all()
    except Exception as e:  # a bad edit: report it in the officer's words
        raise SimulationError(f"情景规则无法编译：{e}") from None
    return rs, params, names


def _apply_knob(rs: RuleSet, key: str, target: str, knob: str, members: list[str]) -> str:
    pname = _knob_name(target, knob)
    defaults: set[Fraction | None] = set()
    touched = 0
    for mid in members:
        m, f = rs.measures[mid]
        if m.kind != "money":
            continue
        if knob == "rate":
            if not m.amount:
                continue
            tree = parse(m.amount).copy()
            nodes = rate_nodes(tree, rs)
            if not nodes:
                continue
            if len(nodes) > 1 and len(members) == 1:
                raise SimulationError(f"{mid} 的金额公式有多个比例，请用 edits 改写金额公式")
            node = nodes[0]
            if node.name.lower() == "param" and len(members) == 1:
                return node.expressions[0].this  # the rate is already a parameter: the knob is that parameter
            if node.name.lower() == "param":
                p = rs.parameters[node.expressions[0].this]
                defaults.add(None if p.default is None else Fraction(str(p.default)))
            else:
                defaults.add(const_of(node, rs))
            node.replace(parse(f"param('{pname}')").copy())
            rs.measures[mid] = (m.model_copy(update={"amount": tree.sql()}), f)
            touched += 1
        else:
            if m.cap is None:
                defaults.add(None)
            else:
                const = const_of(parse(m.cap), rs)
                if const is None:
                    raise SimulationError(f"{mid} 的上限不是常数（{m.cap}），请用 edits 改写")
                defaults.add(const)
            rs.measures[mid] = (m.model_copy(update={"cap": f"param('{pname}')", "cap_year": None}), f)
            touched += 1
    if not touched:
        raise SimulationError(f"“{key}”：{target} 没有可调整的{'比例' if knob == 'rate' else '上限'}")
    default = defaults.pop() if len(defaults) == 1 else None
    first = rs.measures[members[0]][0]
    what = "：比例" if knob == "rate" else "：上限（元）"
    origin = "原文无" if default is None else f"原文{decimal_text(default * 100) + '%' if knob == 'rate' else decimal_text(default) + '元'}"
    rs.parameters[pname] = Parameter.model_construct(
        name=pname, label=f"{target if len(members) > 1 else first.name}{what}（情景参数，{origin}）",
        kind="rate" if knob == "rate" else "money", default=None if default is None else decimal_text(default),
        max=None, min=None, clause=None, quote=None, note=None)
    return pname


def param_references(rs: RuleSet, measure_id: str, pname: str) -> bool:
    """Whether a measure's rule (conditions, gates, amount, cap, minimum) reads parameter ``pname``."""
    m, f = rs.measures[measure_id]
    texts = [c.when for c in m.conditions] + [x for x in (m.amount, m.cap, m.cap_year, m.minimum) if x]
    if m.entity in f.rules.defaults.gates_apply_to:
        texts += [g.when for g in f.rules.defaults.gates]
    pattern = re.compile(r"param\(\s*'" + re.escape(pname) + r"'\s*\)", re.IGNORECASE)
    return any(pattern.search(t) for t in texts)


# ---------------------------------------------------------------------------------------------------------
# size class 中小企业划型
# ---------------------------------------------------------------------------------------------------------
def size_class_expr(employees: str = "employees", revenue: str = "revenue_year_ly",
                    industrial: str = "is_industrial") -> pl.Expr:
    """工信部联企业〔2011〕300号, 工业: 大型 从业人员1000人及以上且营业收入4亿元及以上; 中型 300人及以上且2000万元及
    以上; 小型 20人及以上且300万元及以上; 其余微型. Inputs in hundredths (persons ×100, money 分); an unknown input
    or a non-industrial enterprise (other industries' standards are not implemented) → 未划型."""
    e, r = pl.col(employees), pl.col(revenue)
    out = pl.when(~pl.col(industrial).fill_null(False) | e.is_null() | r.is_null()).then(pl.lit("未划型"))
    for label, persons, yuan in _SIZE_THRESHOLDS:
        out = out.when((e >= persons * 100) & (r >= yuan * SCALE)).then(pl.lit(label))
    return out.otherwise(pl.lit("微型")).cast(SIZE_DTYPE).alias("size_class")


# ---------------------------------------------------------------------------------------------------------
# runs
# ---------------------------------------------------------------------------------------------------------
@dataclass
class ScenarioRun:
    scenario: Scenario
    period: str
    ruleset: RuleSet
    params: dict[str, object]  # resolved, in the derived rule set's names
    knobs: dict[str, str]
    evaluations: dict[str, Evaluation]
    results: pl.DataFrame  # long, allocated: every (entity, measure) that is 符合 (statuses: see by_measure)
    names: dict[str, str]  # measure id → name
    seconds: float = 0.0
    _why_not: pl.DataFrame | None = None

    def measure_ids(self) -> list[str]:
        return [cm.id for ev in self.evaluations.values() for cm in ev.plan]

    def by_measure(self) -> pl.DataFrame:
        """Per measure: 符合 count, beneficiaries and cost before budget pools (unconstrained: after cap, rounding,
        minimum, exclusivity), and after allocation (budget pools pro rata/ranked, annual caps); 待补充信息, 参数待定."""
        rows = []
        res = self.results
        for ev in self.evaluations.values():
            for cm in ev.plan:
                status = ev.frame[col(cm.id, "status")]
                counts = {s: int((status == s).sum()) for s in (MET, MISSING, PENDING, NOT_MET)}
                rows.append({"measure_id": cm.id, "name": self.names[cm.id], "entity": ev.entity,
                             "kind": cm.measure.kind, "met": counts[MET], "missing": counts[MISSING],
                             "pending": counts[PENDING], "not_met": counts[NOT_MET]})
        frame = pl.DataFrame(rows, schema={"measure_id": pl.String, "name": pl.String, "entity": pl.String,
                                           "kind": pl.String, "met": pl.Int64, "missing": pl.Int64,
                                           "pending": pl.Int64, "not_met": pl.Int64})
        money = res.filter(pl.col("status") == MET).group_by("measure_id").agg(
            (pl.col("award_fen") > 0).sum().cast(pl.Int64).alias("beneficiaries"),
            pl.col("award_fen").sum().cast(pl.Int64).alias("cost_fen"),
            (pl.col("final_fen") > 0).sum().cast(pl.Int64).alias("paid_count"),
            pl.col("final_fen").sum().cast(pl.Int64).alias("paid_fen"))
        frame = frame.join(money, on="measure_id", how="left", maintain_order="left")
        return frame.with_columns(
            pl.when(pl.col("kind") == "money").then(pl.col(c).fill_null(0)).otherwise(None).alias(c)
            for c in ("beneficiaries", "cost_fen", "paid_count", "paid_fen"))

    def total_cost_fen(self, measures: list[str] | None = None) -> int:
        """Unconstrained cost (before budget pools) of the given measures (default all)."""
        r = self.results.filter(pl.col("status") == MET)
        if measures is not None:
            r = r.filter(pl.col("measure_id").is_in(measures))
        return int(r["award_fen"].sum() or 0)

    def beneficiaries(self, measures: list[str] | None = None) -> int:
        r = self.results.filter((pl.col("status") == MET) & (pl.col("award_fen") > 0))
        if measures is not None:
            r = r.filter(pl.col("measure_id").is_in(measures))
        return r.select("entity", "entity_id").n_unique() if r.height else 0

    def paid_fen(self) -> int:
        return int(self.paid()["final_fen"].sum() or 0)

    def paid(self) -> pl.DataFrame:
        return self.results.filter((pl.col("status") == MET) & (pl.col("final_fen") > 0))

    def per_entity(self) -> pl.DataFrame:
        """What each entity is paid in this run (after allocation), with the measures it is paid under."""
        return self.paid().group_by("entity", "entity_id", maintain_order=True).agg(
            *[pl.col(c).first() for c in ("name", "credit_code", "county_name", "sector")],
            pl.col("size_class").cast(pl.String).first(),
            pl.col("final_fen").sum().alias("total_fen"), pl.col("measure_id").sort().str.join("、").alias("measures"))

    def distribution(self, dim: str) -> pl.DataFrame:
        """Beneficiaries (distinct entities paid) and amount paid by ``county`` (设区市·县区), ``sector`` or ``size``."""
        paid = self.paid()
        key = {"county": pl.concat_str([pl.col("city_name"), pl.col("county_name")], ignore_nulls=True),
               "sector": pl.col("sector"), "size": pl.col("size_class").cast(pl.String)}[dim]
        paid = paid.with_columns(key.fill_null("（未填）").alias("group"))
        return paid.group_by("group").agg(pl.struct("entity", "entity_id").n_unique().cast(pl.Int64).alias("n"),
                                          pl.col("final_fen").sum().cast(pl.Int64).alias("fen")).sort("group")

    def why_not(self) -> pl.DataFrame:
        if self._why_not is None:
            self._why_not = why_not(self)
        return self._why_not


def _exact_compare(value: pl.Expr, c: Fraction, op) -> pl.Expr:
    scaled = c * SCALE
    return op(value * scaled.denominator, pl.lit(scaled.numerator, dtype=pl.Int64))


def _near_miss(when: str | exp.Expression, compiler: Compiler) -> tuple[pl.Expr, str] | None:
    """For a simple threshold condition (field op constant, or growth(a, b) op constant): an expression true where
    the value is within 10% of the threshold on the failing side (≥ 90% of a lower bound, ≤ 110% of an upper
    bound; for a growth target r: growth ≥ r − |r|/10), and a description. For A OR B: near either simple
    threshold among the alternatives. Otherwise (flags, dates, two fields) None."""
    try:
        n = parse(when) if isinstance(when, str) else when
    except ExpressionError:
        return None
    while isinstance(n, exp.Paren):
        n = n.this
    if isinstance(n, exp.Or):
        found = [x for x in (_near_miss(n.this, compiler), _near_miss(n.expression, compiler)) if x is not None]
        if not found:
            return None
        return pl.any_horizontal([f[0] for f in found]), "或".join(f[1] for f in found)
    ops = {exp.GTE: operator.ge, exp.GT: operator.gt, exp.LTE: operator.le, exp.LT: operator.lt}
    if type(n) not in ops:
        return None
    op = ops[type(n)]
    a, b = n.this, n.expression
    try:
        va, vb = compiler.node(a), compiler.node(b)
    except ExpressionError:
        return None
    flip = {operator.ge: operator.le, operator.gt: operator.lt, operator.le: operator.ge, operator.lt: operator.gt}
    if va.is_const and not vb.is_const:
        a, b, va, vb, op = b, a, vb, va, flip[op]
    if not vb.is_const or vb.kind != "num" or Fraction(vb.const) == 0:
        return None
    t = Fraction(vb.const)
    lower = op in (operator.ge, operator.gt)
    bound = t - abs(t) / 10 if lower else t + abs(t) / 10
    near_op = operator.ge if lower else operator.le
    sign = "≥" if lower else "≤"
    pct = "90%" if lower else "110%"
    if isinstance(a, exp.Column) and va.kind == "num":
        f = compiler.dictionary[a.name]
        if f.type == "money":
            show = lambda x: f"{decimal_text(x / 10_000)}万元"  # noqa: E731
        else:
            show = lambda x: f"{decimal_text(x)}{f.unit or ''}"  # noqa: E731
        expr = _exact_compare(pl.col(a.name), bound, near_op)
        return expr.fill_null(False), f"{f.label}{sign}{show(bound)}（{show(t)}的{pct}）"
    if va.kind == "growth" and all(isinstance(x, exp.Column) for x in a.expressions):
        num, den = (p.polars() for p in va.parts)
        q = 1 + bound
        expr = pl.when(den <= 0).then(False).otherwise(near_op(num * q.denominator, den * q.numerator))
        label = compiler.dictionary[a.expressions[0].name].label
        return expr.fill_null(False), f"{label}同比增速{sign}{decimal_text(bound * 100)}%（目标{decimal_text(t * 100)}%的{pct}）"
    return None


def why_not(run: ScenarioRun) -> pl.DataFrame:
    """Per measure and condition (gates included): how many entities fail it, for how many it is the only failing
    condition, and, for a simple threshold, how many of those failing are within 10% of it. One row per measure
    also counts the 不符合 not due to a condition (amount 0 or below the minimum)."""
    parts = []
    for ev in run.evaluations.values():
        compiler = Compiler(ev.ruleset.dictionary, ev.params, frozenset(ev.ruleset.parameters))
        for cm in ev.plan:
            ccols = [col(cm.id, f"c|{cc.condition.id}") for cc in cm.conditions]
            if not ccols:
                continue
            fails = [(pl.col(c) == False).fill_null(False) for c in ccols]  # noqa: E712
            n_fail = pl.sum_horizontal([f.cast(pl.Int32) for f in fails])
            status = pl.col(col(cm.id, "status"))
            exprs, meta = [], []
            for i, (cc, fail) in enumerate(zip(cm.conditions, fails)):
                near = _near_miss(cc.condition.when, compiler)
                exprs += [fail.sum().alias(f"f{i}"), (fail & (n_fail == 1)).sum().alias(f"o{i}")]
                if near is not None:
                    exprs.append((fail & near[0]).sum().alias(f"n{i}"))
                meta.append((cc, near))
            exprs.append(((status == NOT_MET) & (n_fail == 0)).sum().alias("amount0"))
            exprs.append((status == NOT_MET).sum().alias("not_met"))
            both = ev.frame.select([*ccols, col(cm.id, "status")]).hstack(
                ev.inputs.select(sorted(cm.fields)) if cm.fields else pl.DataFrame())
            counts = both.select(exprs).row(0, named=True)
            for i, (cc, near) in enumerate(meta):
                parts.append({"measure_id": cm.id, "condition_id": cc.condition.id, "text": cc.condition.text,
                              "gate": cc.is_gate, "not_met": counts["not_met"], "failing": counts[f"f{i}"],
                              "only_failing": counts[f"o{i}"],
                              "within_10pct": counts.get(f"n{i}") if near is not None else None,
                              "threshold": near[1] if near is not None else None})
            if cm.measure.kind == "money":
                parts.append({"measure_id": cm.id, "condition_id": "（金额）", "text": "条件均满足但金额为0或低于最低额",
                              "gate": False, "not_met": counts["not_met"], "failing": counts["amount0"],
                              "only_failing": counts["amount0"], "within_10pct": None, "threshold": None})
    schema = {"measure_id": pl.String, "condition_id": pl.String, "text": pl.String, "gate": pl.Boolean,
              "not_met": pl.Int64, "failing": pl.Int64, "only_failing": pl.Int64, "within_10pct": pl.Int64,
              "threshold": pl.String}
    frame = pl.DataFrame(parts, schema=schema)
    return frame.sort(["measure_id", "failing", "condition_id"], descending=[False, True, False])


class Simulator:
    """Facts of one period built once; any number of scenarios evaluated on them."""

    def __init__(self, tables: Mapping[str, pl.DataFrame], period: str, *, ruleset: RuleSet | None = None,
                 measures: list[str] | None = None, options: AllocationOptions = AllocationOptions(),
                 assume: Mapping[str, object] | None = None):
        self.tables = tables
        self.period = str(Period.parse(period))
        self.ruleset = ruleset or default_ruleset()
        self.measures = list(measures) if measures else None
        self.options = options
        self.assume = normalize_facts(assume, self.ruleset.dictionary) if assume else {}
        self._facts: dict[tuple, pl.DataFrame] = {}
        self.counties = tables["counties"].select("county_code", "county_name", "city_name")

    # -- facts --------------------------------------------------------------------------------------
    def facts(self, entity: str, resolved: Mapping[str, object]) -> pl.DataFrame:
        p = Period.parse(self.period)
        if entity == "county":
            wi, wo = resolved.get("lz2026q3_1_weight_invest"), resolved.get("lz2026q3_1_weight_output")
            key = ("county", str(wi), str(wo))
        else:
            key = (entity,)
        if key not in self._facts:
            if entity == "enterprise":
                frame = facts_mod.enterprise_facts(self.tables, p)
                frame = frame.with_columns(size_class_expr())
            elif entity == "project":
                frame = facts_mod.project_facts(self.tables, p)
                sizes = self.facts("enterprise", resolved).select("credit_code", "size_class")
                frame = frame.join(sizes, on="credit_code", how="left", maintain_order="left") \
                    .with_columns(pl.col("size_class").fill_null(pl.lit("未划型", dtype=SIZE_DTYPE)))
            else:
                frame = facts_mod.county_facts(self.tables, p, wi, wo).with_columns(
                    pl.lit("—", dtype=SIZE_DTYPE).alias("size_class"))
            fills = [pl.col(k).fill_null(pl.lit(v, dtype=frame.schema[k])) for k, v in self.assume.items()
                     if k in frame.columns and v is not None]
            fills += [pl.lit(v).alias(k) for k, v in self.assume.items() if k not in frame.columns and v is not None]
            self._facts[key] = frame.with_columns(fills) if fills else frame
        return self._facts[key]

    # -- runs ---------------------------------------------------------------------------------------
    def _only(self, scenario: Scenario) -> list[str] | None:
        if self.measures is None:
            return None
        return list(dict.fromkeys([*self.measures, *scenario.versions]))

    def run(self, scenario: Scenario = Scenario(), *, allocate_results: bool = True) -> ScenarioRun:
        started = time.perf_counter()
        rs, params, knobs = derive_ruleset(self.ruleset, self.period, scenario)
        try:
            resolved = rs.resolve_parameters(params)
        except ParameterError as e:
            raise SimulationError(str(e)) from None
        only = self._only(scenario)
        evaluations, parts = {}, []
        for entity in ("enterprise", "project", "county"):
            if not rs.measures_for(self.period, entity, only):
                continue
            frame = self.facts(entity, resolved)
            ev = rs.evaluate(frame, self.period, entity=entity, params=params, measures=only,
                             keep=["entity_id", *[c for c in DISPLAY if c in frame.columns]])
            evaluations[entity] = ev
            if allocate_results:
                long = allocate(ev, self.options, keep=[c for c in DISPLAY if c in frame.columns], drop_not_met=True)
                long = long.filter(pl.col("status") == MET)  # statuses are counted on the evaluation frame
                parts.append(long.join(self.counties, on="county_code", how="left", maintain_order="left")
                             .with_columns(pl.lit(entity).alias("entity")))
        results = pl.concat(parts, how="diagonal_relaxed") if parts else _empty_results()
        names = {cm.id: cm.measure.name for ev in evaluations.values() for cm in ev.plan}
        return ScenarioRun(scenario, self.period, rs, resolved, knobs, evaluations, results, names,
                           time.perf_counter() - started)

    def compare(self, baseline: Scenario = Scenario(), scenario: Scenario | None = None) -> "Comparison":
        base = self.run(baseline)
        other = self.run(scenario if scenario is not None else baseline)
        return Comparison(base, other)

    # -- inverse solve ------------------------------------------------------------------------------
    def solve(self, parameter: str, *, budget_yuan: object = None, beneficiaries: int | None = None,
              base: Scenario = Scenario(), measures: list[str] | None = None, step: object = None,
              low: object = None, high: object = None) -> "Solution":
        """The value of ``parameter`` (a rule parameter or a knob such as ``lz2026q3.rate``) that brings the
        unconstrained cost of the measures it affects to ``budget_yuan`` (the largest spend within the budget), or
        that reaches ``beneficiaries`` entities (the least spend that reaches them). Bisection on a grid of exact
        steps over the same facts; the answer is verified by forward runs at the answer and one step beyond."""
        if (budget_yuan is None) == (beneficiaries is None):
            raise SimulationError("请给出预算（--budget）或受益主体数（--beneficiaries）之一")
        started = time.perf_counter()
        rs, params, knobs = derive_ruleset(self.ruleset, self.period, base, knobs=[parameter])
        pname = knobs.get(parameter, parameter)
        if pname not in rs.parameters:
            raise SimulationError(f"没有名为 {parameter} 的参数")
        p = rs.parameters[pname]
        if p.kind == "bool":
            raise SimulationError(f"参数 {parameter} 是是/否参数，不能求解")
        only = self._only(base)
        planned = [m.id for e in ("enterprise", "project", "county") for m, _ in rs.measures_for(self.period, e, only)]
        if measures:
            scope = list(measures)
        else:
            scope = [m for m in planned if param_references(rs, m, pname)]
            if not scope:
                raise SimulationError(f"参数 {parameter} 不影响 {self.period} 的任何措施")
            # the budget is the pool's: every money measure sharing a budget parameter with the affected ones
            pools = {_pool(rs, m) for m in scope} - {None}
            scope += [m for m in planned if m not in scope and _pool(rs, m) in pools
                      and rs.measures[m][0].kind == "money"]
        scope = _with_group_peers(rs, scope, planned)
        money = [m for m in scope if rs.measures[m][0].kind == "money"]
        if step is not None:
            grid = Fraction(str(step))
        elif p.kind == "rate":
            grid = STEP_RATE
        elif p.kind == "money":
            roundings = {rs.measures[m][0].rounding or rs.measures[m][1].rules.defaults.rounding for m in money}
            grid = STEP_WAN if roundings == {"floor_wan"} else STEP_YUAN
        else:
            grid = Fraction(1)
        lo = Fraction(str(low)) if low is not None else Fraction(str(p.min)) if p.min is not None else Fraction(0)
        hi_cap = Fraction(str(high)) if high is not None else Fraction(str(p.max)) if p.max is not None else \
            (Fraction(1) if p.kind == "rate" else None)
        k_lo = ceil(lo / grid)
        k_max = floor(hi_cap / grid) if hi_cap is not None else None
        target = int(Fraction(str(budget_yuan)) * SCALE) if budget_yuan is not None else int(beneficiaries)
        mode = "budget" if budget_yuan is not None else "beneficiaries"
        objective = _Objective(self, rs, params, pname, grid, scope)

        def metric(k: int) -> int:
            cost, count = objective(k)
            return cost if mode == "budget" else count

        # direction: does spending grow with the parameter? (rates, amounts, caps: yes; thresholds: no)
        limit = floor(Fraction(10**12) / grid)  # no money parameter is searched beyond 1万亿元
        cost_lo = objective(k_lo)[0]
        k_probe = k_max if k_max is not None else k_lo + max(1, ceil(Fraction(10_000) / grid))
        while objective(k_probe)[0] == cost_lo and k_max is None and k_probe < limit:
            k_probe = k_probe * 2 + 1
        if objective(k_probe)[0] == cost_lo:
            sol = Solution(parameter=parameter, internal_name=pname, label=p.label, kind=p.kind, mode=mode,
                           target=target, step=grid, increasing=True, status="constant", scope=scope,
                           evaluations=objective.calls, search_seconds=time.perf_counter() - started)
            sol.message = f"{p.label}：在允许范围内不改变措施 {'、'.join(scope)} 的测算金额，无需求解。"
            return sol
        increasing = objective(k_probe)[0] > cost_lo

        def ok(k: int) -> bool:
            v = metric(k)
            return v <= target if mode == "budget" else v >= target

        # ok(k) is true on a prefix of the grid (answer: its last point) when more budget means a higher value,
        # otherwise on a suffix (answer: its first point)
        prefix = (mode == "budget") == increasing
        hi = k_max if k_max is not None else k_probe
        if k_max is None:
            while (ok(hi) if prefix else not ok(hi)) and hi < limit:
                hi = hi * 2 + 1
        if prefix:
            if not ok(k_lo):
                answer, status = None, "infeasible"
            elif ok(hi):
                answer, status = hi, "bound"
            else:
                a, b = k_lo, hi
                while b - a > 1:
                    m = (a + b) // 2
                    a, b = (m, b) if ok(m) else (a, m)
                answer, status = a, "solved"
            nxt = None if answer is None else answer + 1
        else:
            if not ok(hi):
                answer, status = None, "infeasible"
            elif ok(k_lo):
                answer, status = k_lo, "bound"
            else:
                a, b = k_lo, hi
                while b - a > 1:
                    m = (a + b) // 2
                    a, b = (a, m) if ok(m) else (m, b)
                answer, status = b, "solved"
            nxt = None if answer is None else answer - 1
        note = ""
        sol = Solution(parameter=parameter, internal_name=pname, label=p.label, kind=p.kind, mode=mode,
                       target=target, step=grid, increasing=increasing, status=status, scope=scope,
                       evaluations=objective.calls, search_seconds=time.perf_counter() - started, note=note)
        if answer is None:
            sol.message = _solve_message(sol)
            return sol
        sol.value = answer * grid
        forward = self.run(base.with_params(f"求解：{parameter}={decimal_text(sol.value)}", **{parameter: decimal_text(sol.value)}))
        sol.forward = forward
        sol.achieved_cost_fen = forward.total_cost_fen(scope)
        sol.achieved_beneficiaries = forward.beneficiaries(scope)
        if status == "solved":
            sol.next_value = nxt * grid
            nrun = self.run(base.with_params(None, **{parameter: decimal_text(sol.next_value)}))
            sol.next_cost_fen = nrun.total_cost_fen(scope)
            sol.next_beneficiaries = nrun.beneficiaries(scope)
        achieved = sol.achieved_cost_fen if mode == "budget" else sol.achieved_beneficiaries
        nxt_v = sol.next_cost_fen if mode == "budget" else sol.next_beneficiaries
        meets = achieved <= target if mode == "budget" else achieved >= target
        beyond = nxt_v is None or (nxt_v > target if mode == "budget" else nxt_v < target)
        sol.verified = meets and beyond and achieved == metric(answer)
        sol.seconds = time.perf_counter() - started
        sol.message = _solve_message(sol)
        return sol


def _pool(rs: RuleSet, measure_id: str) -> str | None:
    m, f = rs.measures[measure_id]
    return m.budget_parameter or f.rules.defaults.budget_parameter


def _with_group_peers(rs: RuleSet, scope: list[str], planned: list[str]) -> list[str]:
    """Exclusive-group peers change what a measure awards, so they belong to the solve's scope."""
    out = list(scope)
    for mid in scope:
        for g in rs.groups.values():  # groups may list measures of several documents
            if mid in g.members:
                out += [x for x in g.members if x in planned]
    return list(dict.fromkeys(out))


class _Objective:
    """Cost (分, unconstrained: after cap, rounding, minimum and exclusivity, before budget pools) and beneficiaries
    of the scope measures at grid point k. Rows that fail, for every scope measure that reads the parameter, a
    condition that does not read it, cannot change: they are evaluated once and their contribution kept."""

    def __init__(self, sim: Simulator, rs: RuleSet, params: dict, pname: str, grid: Fraction, scope: list[str]):
        self.sim, self.rs, self.params, self.pname, self.grid, self.scope = sim, rs, params, pname, grid, scope
        self.cache: dict[int, tuple[int, int]] = {}
        self.calls = 0
        self.frames: dict[str, pl.DataFrame] | None = None
        self.constant = (0, 0)

    def _eval(self, entity: str, frame: pl.DataFrame, k: int) -> Evaluation:
        values = {**self.params, self.pname: decimal_text(k * self.grid)}
        try:
            return self.rs.evaluate(frame, self.sim.period, entity=entity, params=values, measures=self.scope)
        except ParameterError as e:
            raise SimulationError(str(e)) from None

    @staticmethod
    def _sums(ev: Evaluation, mask: pl.Series | None = None) -> tuple[int, int]:
        awards = [pl.col(col(cm.id, "award")).fill_null(0) for cm in ev.plan if cm.measure.kind == "money"]
        if not awards:
            return 0, 0
        frame = ev.frame if mask is None else ev.frame.filter(mask)
        row = frame.select(pl.sum_horizontal(awards).sum().alias("c"),
                           (pl.max_horizontal(awards) > 0).sum().alias("n")).row(0)
        return int(row[0] or 0), int(row[1] or 0)

    def __call__(self, k: int) -> tuple[int, int]:
        if k in self.cache:
            return self.cache[k]
        self.calls += 1
        if self.frames is None:
            self.cache[k] = self._first(k)
            return self.cache[k]
        cost, count = self.constant
        for entity, frame in self.frames.items():
            c, n = self._sums(self._eval(entity, frame, k))
            cost, count = cost + c, count + n
        self.cache[k] = (cost, count)
        return self.cache[k]

    def _first(self, k: int) -> tuple[int, int]:
        """The whole frame once; then only the rows whose result can depend on the parameter are kept."""
        resolved = self.rs.resolve_parameters({**self.params, self.pname: decimal_text(k * self.grid)})
        self.frames, const_c, const_n, cost, count = {}, 0, 0, 0, 0
        for entity in ("enterprise", "project", "county"):
            if not self.rs.measures_for(self.sim.period, entity, self.scope):
                continue
            frame = self.sim.facts(entity, resolved)
            ev = self._eval(entity, frame, k)
            c, n = self._sums(ev)
            cost, count = cost + c, count + n
            dependent = [cm for cm in ev.plan if param_references(self.rs, cm.id, self.pname)]
            if not dependent:
                const_c, const_n = const_c + c, const_n + n
                continue
            fixed = ev.frame.select(pl.all_horizontal([
                pl.any_horizontal([(pl.col(col(cm.id, f"c|{cc.condition.id}")) == False).fill_null(False)  # noqa: E712
                                   for cc in cm.conditions if self.pname not in _text_params(cc.condition.when)]
                                  or [pl.lit(False)]) for cm in dependent])).to_series()
            c0, n0 = self._sums(ev, fixed) if fixed.any() else (0, 0)
            const_c, const_n = const_c + c0, const_n + n0
            self.frames[entity] = frame.filter(~fixed)
        self.constant = (const_c, const_n)
        return cost, count


def _text_params(sql: str) -> set[str]:
    return set(re.findall(r"param\(\s*'([^']+)'\s*\)", sql, re.IGNORECASE))


def _empty_results() -> pl.DataFrame:
    return pl.DataFrame(schema={"entity_id": pl.String, "measure_id": pl.String, "status": pl.String,
                                "computed_fen": pl.Int64, "amount_fen": pl.Int64, "award_fen": pl.Int64,
                                "final_fen": pl.Int64, "allocation_note": pl.String, "name": pl.String,
                                "credit_code": pl.String, "county_code": pl.String, "sector": pl.String,
                                "size_class": SIZE_DTYPE, "county_name": pl.String, "city_name": pl.String,
                                "entity": pl.String})


# ---------------------------------------------------------------------------------------------------------
# solutions
# ---------------------------------------------------------------------------------------------------------
@dataclass
class Solution:
    parameter: str
    internal_name: str
    label: str
    kind: str
    mode: str  # budget | beneficiaries
    target: int  # 分 for a budget, a count for beneficiaries
    step: Fraction
    increasing: bool
    status: str  # solved | bound (the whole range meets the target) | infeasible
    scope: list[str]
    evaluations: int
    search_seconds: float
    note: str = ""
    value: Fraction | None = None
    next_value: Fraction | None = None
    achieved_cost_fen: int | None = None
    achieved_beneficiaries: int | None = None
    next_cost_fen: int | None = None
    next_beneficiaries: int | None = None
    verified: bool = False
    seconds: float = 0.0
    message: str = ""
    forward: ScenarioRun | None = None

    def as_dict(self) -> dict:
        return {"parameter": self.parameter, "label": self.label, "mode": self.mode,
                "target": self.target, "status": self.status, "value": None if self.value is None else decimal_text(self.value),
                "step": decimal_text(self.step), "next_value": None if self.next_value is None else decimal_text(self.next_value),
                "cost_fen": self.achieved_cost_fen, "beneficiaries": self.achieved_beneficiaries,
                "next_cost_fen": self.next_cost_fen, "next_beneficiaries": self.next_beneficiaries,
                "verified": self.verified, "scope": self.scope, "evaluations": self.evaluations,
                "seconds": round(self.seconds, 2), "message": self.message}


def fmt_param(kind: str, value: Fraction | None) -> str:
    if value is None:
        return "—"
    if kind == "rate":
        return f"{decimal_text(value * 100)}%"
    if kind == "money":
        return f"{decimal_text(value)}元" if value < 10_000 or value % 10_000 else f"{decimal_text(value / 10_000)}万元"
    return decimal_text(value)


def fmt_wan(fen: int | None) -> str:
    return money.fmt_wan(fen)  # '1,234.57万元', half up (huiqi.core.money)


def _solve_message(s: Solution) -> str:
    goal = f"预算{fmt_wan(s.target)}" if s.mode == "budget" else f"受益主体{s.target:,}个"
    step = fmt_param(s.kind, s.step)
    if s.status == "infeasible":
        return f"{s.label}：在允许范围内无法达到{goal}（措施 {'、'.join(s.scope)}）。"
    got = (f"测算金额{fmt_wan(s.achieved_cost_fen)}（{s.achieved_beneficiaries:,}个主体）")
    text = f"{s.label} 取 {fmt_param(s.kind, s.value)}：{got}，{'不超过' if s.mode == 'budget' else '达到'}{goal}"
    if s.status == "bound":
        return text + "；已是允许范围的端点，整个范围内都满足。"
    nxt = (f"；再{'提高' if (s.next_value or 0) > (s.value or 0) else '降低'}一个步长（{step}）取"
           f"{fmt_param(s.kind, s.next_value)}，测算金额{fmt_wan(s.next_cost_fen)}（{s.next_beneficiaries:,}个主体），"
           f"{'超过预算' if s.mode == 'budget' else '达不到目标'}")
    return text + nxt + ("。已用正向测算复核。" if s.verified else "。【复核未通过：该措施对此参数可能不单调】")


# ---------------------------------------------------------------------------------------------------------
# comparison
# ---------------------------------------------------------------------------------------------------------
@dataclass
class Comparison:
    baseline: ScenarioRun
    scenario: ScenarioRun

    def by_measure(self) -> pl.DataFrame:
        a, b = self.baseline.by_measure(), self.scenario.by_measure()
        cols = ["met", "missing", "pending", "beneficiaries", "cost_fen", "paid_count", "paid_fen"]
        joined = a.select("measure_id", "name", "entity", "kind", *[pl.col(c).alias(f"base_{c}") for c in cols]).join(
            b.select("measure_id", pl.col("name").alias("name_s"), pl.col("entity").alias("entity_s"),
                     pl.col("kind").alias("kind_s"),
                     *[pl.col(c).alias(f"scen_{c}") for c in cols]),
            on="measure_id", how="full", coalesce=True, maintain_order="left")
        joined = joined.with_columns(pl.coalesce("name_s", "name").alias("name"),
                                     pl.coalesce("entity", "entity_s").alias("entity"),
                                     pl.coalesce("kind_s", "kind").alias("kind")).drop("name_s", "entity_s", "kind_s")
        return joined.with_columns(
            (pl.col("scen_beneficiaries").fill_null(0) - pl.col("base_beneficiaries").fill_null(0)).alias("delta_beneficiaries"),
            (pl.col("scen_cost_fen").fill_null(0) - pl.col("base_cost_fen").fill_null(0)).alias("delta_cost_fen"),
            (pl.col("scen_paid_fen").fill_null(0) - pl.col("base_paid_fen").fill_null(0)).alias("delta_paid_fen"))

    def distribution(self, dim: str) -> pl.DataFrame:
        a, b = self.baseline.distribution(dim), self.scenario.distribution(dim)
        out = a.rename({"n": "base_n", "fen": "base_fen"}).join(
            b.rename({"n": "scen_n", "fen": "scen_fen"}), on="group", how="full", coalesce=True)
        out = out.with_columns([pl.col(c).fill_null(0) for c in ("base_n", "base_fen", "scen_n", "scen_fen")])
        out = out.with_columns((pl.col("scen_n") - pl.col("base_n")).alias("delta_n"),
                               (pl.col("scen_fen") - pl.col("base_fen")).alias("delta_fen"))
        if dim == "size":
            order = {s: i for i, s in enumerate(SIZE_CLASSES)}
            return out.with_columns(pl.col("group").replace_strict(order, default=99).alias("_o")).sort("_o", "group").drop("_o")
        return out.sort("group")

    def changes(self) -> pl.DataFrame:
        """Every entity whose paid total differs between the runs (after allocation)."""
        a, b = self.baseline.per_entity(), self.scenario.per_entity()
        info = ["name", "credit_code", "county_name", "sector", "size_class"]
        out = a.rename({"total_fen": "base_fen", "measures": "base_measures"}).join(
            b.rename({"total_fen": "scen_fen", "measures": "scen_measures"}), on=["entity", "entity_id"], how="full",
            coalesce=True, suffix="_s")
        out = out.with_columns([pl.coalesce(c, f"{c}_s").alias(c) for c in info]).drop([f"{c}_s" for c in info])
        out = out.with_columns(pl.col("base_fen").fill_null(0), pl.col("scen_fen").fill_null(0))
        return out.with_columns((pl.col("scen_fen") - pl.col("base_fen")).alias("delta_fen")) \
            .filter(pl.col("delta_fen") != 0)

    def winners(self) -> pl.DataFrame:
        return self.changes().filter(pl.col("delta_fen") > 0).sort(["delta_fen", "entity_id"], descending=[True, False])

    def losers(self) -> pl.DataFrame:
        return self.changes().filter(pl.col("delta_fen") < 0).sort(["delta_fen", "entity_id"])

    def why_not(self) -> pl.DataFrame:
        a = self.baseline.why_not().with_columns(pl.lit("基线").alias("run"))
        b = self.scenario.why_not().with_columns(pl.lit("情景").alias("run"))
        return pl.concat([a, b])

    def write_excel(self, path: Path, *, max_rows: int = 20_000) -> Path:
        return write_comparison(self, path, max_rows=max_rows)


# ---------------------------------------------------------------------------------------------------------
# Excel export
# ---------------------------------------------------------------------------------------------------------
def write_comparison(cmp: Comparison, path: Path, *, max_rows: int = 20_000,
                     solution: Solution | None = None) -> Path:
    """The scenario comparison workbook: settings, per measure, by 县区 / 行业 / 企业规模, winners and losers
    (at most ``max_rows`` each, largest changes first), why-not histogram. Amounts in 万元, 2 decimals."""
    import xlsxwriter

    from huiqi.services.award_list import _Formats, _sheet_table, period_label, wan2

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    base, scen = cmp.baseline, cmp.scenario
    label = period_label(base.period)
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False})
    end = Period.parse(base.period).end
    from datetime import datetime

    wb.set_properties({"title": f"{label}政策沙盘测算", "author": "huiqi",
                       "created": datetime.combine(end, datetime.min.time()),
                       "comments": f"规则版本 {base.ruleset.version}"})
    fmt = _Formats(wb)

    ws = wb.add_worksheet("情景设置")
    rows = [[1, "期间", label], [2, "规则版本", base.ruleset.version],
            [3, f"基线（{base.scenario.name}）", "；".join(base.scenario.describe()) or "按现行参数"],
            [4, f"情景（{scen.scenario.name}）", "；".join(scen.scenario.describe()) or "与基线相同"],
            [5, "金额口径", "测算金额：封顶、取整、最低额、互斥之后，预算总额控制之前；兑现金额：再经年度累计封顶与预算总额控制"]]
    if solution is not None:
        rows.append([6, "反向求解", solution.message])
    _sheet_table(ws, fmt, f"{label}政策沙盘测算：情景设置", [("序号", 6), ("项目", 24), ("内容", 100)], rows,
                 ["int", "text", "wrap"])

    bm = cmp.by_measure()
    rows = []
    for r in bm.iter_rows(named=True):
        rows.append([len(rows) + 1, r["measure_id"], r["name"], r["base_beneficiaries"], r["scen_beneficiaries"],
                     r["delta_beneficiaries"] if r["base_beneficiaries"] is not None or r["scen_beneficiaries"] is not None else None,
                     wan2(r["base_cost_fen"]), wan2(r["scen_cost_fen"]), wan2(r["delta_cost_fen"]),
                     wan2(r["base_paid_fen"]), wan2(r["scen_paid_fen"]), wan2(r["delta_paid_fen"]),
                     r["scen_missing"], r["scen_pending"]])

    def total(key):
        return wan2(int(bm[key].fill_null(0).sum()))

    _sheet_table(wb.add_worksheet("措施对比"), fmt, f"{label}政策沙盘测算：按措施对比",
                 [("序号", 6), ("措施编号", 16), ("措施名称", 36), ("基线受益主体数", 10), ("情景受益主体数", 10),
                  ("受益主体变化", 10), ("基线测算金额", 14), ("情景测算金额", 14), ("测算金额变化", 14),
                  ("基线兑现金额", 14), ("情景兑现金额", 14), ("兑现金额变化", 14), ("情景待补充信息", 10),
                  ("情景参数待定", 10)],
                 rows, ["int", "text", "wrap", "int", "int", "int", "wan", "wan", "wan", "wan", "wan", "wan", "int", "int"],
                 {6: total("base_cost_fen"), 7: total("scen_cost_fen"), 8: total("delta_cost_fen"),
                  9: total("base_paid_fen"), 10: total("scen_paid_fen"), 11: total("delta_paid_fen")})

    for dim, title in (("county", "设区市·县区"), ("sector", "行业"), ("size", "企业规模（中小企业划型）")):
        d = cmp.distribution(dim)
        rows = [[i, r["group"], r["base_n"], r["scen_n"], r["delta_n"], wan2(r["base_fen"]), wan2(r["scen_fen"]),
                 wan2(r["delta_fen"])] for i, r in enumerate(d.iter_rows(named=True), start=1)]
        _sheet_table(wb.add_worksheet(f"按{title[:4] if dim == 'size' else title}"), fmt, f"{label}政策沙盘测算：按{title}",
                     [("序号", 6), (title, 24), ("基线户数", 10), ("情景户数", 10), ("户数变化", 10), ("基线兑现金额", 14),
                      ("情景兑现金额", 14), ("金额变化", 14)],
                     rows, ["int", "text", "int", "int", "int", "wan", "wan", "wan"],
                     {5: wan2(int(d["base_fen"].sum() or 0)), 6: wan2(int(d["scen_fen"].sum() or 0)),
                      7: wan2(int(d["delta_fen"].sum() or 0))})

    for frame, sheet, what in ((cmp.winners(), "增加名单", "兑现金额增加"), (cmp.losers(), "减少名单", "兑现金额减少")):
        shown = frame.head(max_rows)
        rows = [[i, r["name"] or r["entity_id"], r["credit_code"] or r["entity_id"], r["county_name"], r["sector"],
                 r["size_class"], wan2(r["base_fen"]), wan2(r["scen_fen"]), wan2(r["delta_fen"]),
                 r["base_measures"] or "", r["scen_measures"] or ""]
                for i, r in enumerate(shown.iter_rows(named=True), start=1)]
        title = f"{label}政策沙盘测算：{what}的主体（共{frame.height:,}个" + \
            (f"，列出变化最大的{max_rows:,}个）" if frame.height > max_rows else "）")
        _sheet_table(wb.add_worksheet(sheet), fmt, title,
                     [("序号", 6), ("名称", 34), ("统一社会信用代码", 22), ("县区", 12), ("行业", 10), ("企业规模", 8),
                      ("基线兑现金额", 14), ("情景兑现金额", 14), ("变化", 14), ("基线享受措施", 24), ("情景享受措施", 24)],
                     rows, ["int", "text", "text", "text", "text", "text", "wan", "wan", "wan", "wrap", "wrap"],
                     {8: wan2(int(frame["delta_fen"].sum() or 0))})

    wn = cmp.why_not()
    rows = [[i, r["run"], r["measure_id"], r["condition_id"], r["text"], r["not_met"], r["failing"], r["only_failing"],
             r["within_10pct"], r["threshold"] or "—"] for i, r in enumerate(wn.iter_rows(named=True), start=1)]
    ws = wb.add_worksheet("未符合原因")
    _sheet_table(ws, fmt, f"{label}政策沙盘测算：未符合原因（哪个条件排除的主体最多，多少在门槛10%以内）",
                 [("序号", 6), ("测算", 6), ("措施编号", 16), ("条件", 16), ("原文条件", 40), ("不符合主体数", 10),
                  ("未满足此条件", 10), ("仅此条件未满足", 10), ("差距在10%以内", 10), ("接近门槛的口径", 40)],
                 rows, ["int", "text", "text", "text", "wrap", "int", "int", "int", "int", "wrap"])
    ws.write_string(1, 0, "单位：户", fmt.unit)
    wb.close()
    return path
