"""The one evaluator: every measure of a period over a batch of entities (one entity is a batch of one).

For each measure it produces, per entity, in a single Polars ``select``:
  ``<m>|c|<condition>``  each condition's three-valued result (kept, so explanations and gaps cost nothing)
  ``<m>|status``         符合 / 不符合 / 待补充信息 / 参数待定
  ``<m>|computed``       the formula result in 分, before cap, rounding and minimum
  ``<m>|amount``         after cap, rounding and minimum (set only when 符合)
  ``<m>|award``          after exclusivity (0 for an eligible measure not chosen in its group)

Parameters are applied at evaluation time by recompiling the (cached, parsed) expressions: nothing is
reloaded. Row-independent throughout, so a batch can be split into partitions freely; caps across periods
and budgets are the allocation layer's job (huiqi.engine.allocate).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Mapping

import polars as pl

from huiqi.core.periods import Period
from huiqi.engine import plan_cache
from huiqi.engine.expressions import Compiler, ExpressionError, Value, region_code
from huiqi.rules.cache import compiled_marker, mark_compiled
from huiqi.rules.fields import SCALE, DataDictionary, default_dictionary
from huiqi.rules.loader import LoadedFile, RuleFileError, RuleSource, default_rules
from huiqi.rules.model import Condition, ExclusiveGroup, Measure, Parameter

MET, NOT_MET, MISSING, PENDING = "符合", "不符合", "待补充信息", "参数待定"
STATUSES = (MET, NOT_MET, MISSING, PENDING)
STATUS_DTYPE = pl.Enum(list(STATUSES))
AMOUNT_KINDS = ("money", "facility")  # measures with an amount (only money is an award)
SMALL_BATCH = 256  # below this many rows evaluate eagerly (the calculator's batch of one)

_ROUNDING_UNIT = {"floor_wan": 10_000 * SCALE, "floor_yuan": SCALE}
_POLARS_TYPES = {"money": pl.Int64, "number": pl.Int64, "bool": pl.Boolean, "date": pl.Date, "text": pl.String}


class ParameterError(ValueError):
    pass


@dataclass(frozen=True)
class CompiledCondition:
    condition: Condition
    value: Value
    is_gate: bool


@dataclass(frozen=True)
class CompiledMeasure:
    measure: Measure
    source: LoadedFile
    conditions: tuple[CompiledCondition, ...]
    amount: Value | None
    cap: Value | None
    minimum: Value | None
    rounding: str
    # the measure's own period when it is evaluated "as of" a finer one (a year measure in 2024Q4), else None
    as_of: str | None = None
    group: ExclusiveGroup | None = None  # its exclusive group, wherever defined
    rivals: tuple[str, ...] = ()  # the names of the group's other members (for explanations)

    @property
    def id(self) -> str:
        return self.measure.id

    @property
    def fields(self) -> frozenset:
        parts = [c.value for c in self.conditions] + [v for v in (self.amount, self.cap, self.minimum) if v]
        return frozenset().union(*(p.fields for p in parts))


def col(measure_id: str, what: str) -> str:
    return f"{measure_id}|{what}"


def period_span(text: str) -> tuple[date, date]:
    """First and last day of a rule period: 2024, 2024Q4, 2024H1, 2024M02 (the one Period type)."""
    p = Period.parse(text)
    return p.start, p.end


def measure_periods(m: Measure, f: LoadedFile, around: str | None = None) -> list[str]:
    """The periods a measure is written for: its own list or the document's, plus — for a standing policy
    (``recurring: year``) — every calendar year of its validity (up to ``around``'s year when open-ended)."""
    d = f.rules.defaults
    periods = list(m.periods if m.periods is not None else d.periods)
    if d.recurring == "year" and m.periods is None and d.valid_from:
        last = d.valid_to.year if d.valid_to else max(d.valid_from.year, period_span(around)[0].year if around
                                                        else date.today().year)
        periods += [str(y) for y in range(d.valid_from.year, last + 1) if str(y) not in periods]
    return periods


def applicable_period(m: Measure, f: LoadedFile, period: str) -> str | None:
    """The measure's period that ``period`` falls in, or None.

    A measure applies to its own periods and, "as of" a finer period, to every finer period inside one of them
    and inside the document's validity: evaluating 2024Q4 also evaluates a year-2024 measure (on the facts as of
    2024Q4 — full-year figures are unknown until the year is complete, hence 待补充信息, never 0). Allocation
    pays such a measure once per year (huiqi.engine.allocate).
    """
    periods = measure_periods(m, f, period)
    if period in periods:
        return period
    try:
        start, end = period_span(period)
    except ValueError:
        return None
    d = f.rules.defaults
    if (d.valid_from and end < d.valid_from) or (d.valid_to and start > d.valid_to):
        return None
    for own in periods:
        try:
            own_start, own_end = period_span(own)
        except ValueError:
            continue
        if own_start <= start and end <= own_end and (own_start, own_end) != (start, end):
            return own
    return None


class RuleSet:
    """Rule files + data dictionary, ready to evaluate."""

    def __init__(self, source: RuleSource | None = None, dictionary: DataDictionary | None = None):
        builtin = source is None and dictionary is None
        self.source = source or default_rules()
        self.dictionary = dictionary or default_dictionary()
        self.parameters: dict[str, Parameter] = {k: v[0] for k, v in self.source.parameters().items()}
        self.measures: dict[str, tuple[Measure, LoadedFile]] = {m.id: (m, f) for m, f in self.source.measures()}
        self.groups = exclusive_groups(self.source)
        self._plans: dict = {}
        # compiled plans on disk (huiqi.engine.plan_cache) for the built-in rules only, and only while this object's
        # own rules are in place: a sandbox's copy (services.simulation) replaces measures or parameters
        self._on_disk = (self.measures, self.parameters, self.groups, self.dictionary) if builtin else None
        # fail early, with file and line, on any bad expression — once per content of the built-in rules and of the
        # compiling code (huiqi.rules.cache.compiled_marker); other rule sets (a sandbox's, a test's) every time
        marker = compiled_marker() if builtin else None
        if marker is None or not marker.exists():
            self.compile_all()
            if marker is not None:
                mark_compiled(marker)

    @property
    def version(self) -> str:
        return self.source.version

    # -- parameters -----------------------------------------------------------------------------
    def resolve_parameters(self, overrides: Mapping[str, object] | None = None) -> dict[str, object]:
        """Defaults overlaid with overrides; checks names and the text's upper bounds."""
        values = {name: p.default for name, p in self.parameters.items()}
        for name, value in (overrides or {}).items():
            if name not in self.parameters:
                raise ParameterError(f"没有名为 {name} 的参数")
            p = self.parameters[name]
            if value is not None and p.kind != "bool" and not isinstance(value, str | bool):
                value = Fraction(str(value))
            if value is not None and p.max is not None and Fraction(str(value)) > Fraction(str(p.max)):
                raise ParameterError(f"参数 {name}（{p.label}）= {value} 超过文件规定的上限 {p.max}")
            if value is not None and p.min is not None and Fraction(str(value)) < Fraction(str(p.min)):
                raise ParameterError(f"参数 {name}（{p.label}）= {value} 低于下限 {p.min}")
            values[name] = value
        return values

    # -- compilation ----------------------------------------------------------------------------
    def measures_for(self, period: str | None = None, entity: str | None = None,
                     only: list[str] | None = None) -> list[tuple[Measure, LoadedFile]]:
        """The measures that apply to ``period`` — their own periods, or "as of" a finer period inside one
        (see :func:`applicable_period`)."""
        out = []
        for mid, (m, f) in self.measures.items():
            if only is not None and mid not in only:
                continue
            if entity and m.entity != entity:
                continue
            if period and applicable_period(m, f, period) is None:
                continue
            out.append((m, f))
        return out

    def quarters(self) -> list[str]:
        """Every quarter some measure applies to — its own quarters, and "as of" the quarters inside its year or
        half-year periods (within validity) — oldest first. Cached (the web lists them on every page); the key
        follows the measures (a sandbox copy replaces them) and the date (open-ended policies grow a year)."""
        key = (id(self.measures), len(self.measures), date.today())
        cached = getattr(self, "_quarters", None)
        if cached is not None and cached[0] == key:
            return list(cached[1])
        out: set[str] = set()
        for m, f in self.measures.values():
            for p in measure_periods(m, f):
                try:
                    start, end = period_span(p)
                except ValueError:
                    continue
                for year in range(start.year, end.year + 1):
                    for q in range(1, 5):
                        quarter = f"{year}Q{q}"
                        q_start, q_end = period_span(quarter)
                        if start <= q_start and q_end <= end and applicable_period(m, f, quarter):
                            out.add(quarter)
        self._quarters = (key, tuple(sorted(out)))
        return sorted(out)

    def plan(self, period: str | None, entity: str | None, params: Mapping[str, object],
             only: list[str] | None = None) -> list[CompiledMeasure]:
        return self._planned(period, entity, params, only)[0]

    def fields_read(self, period: str | None, entity: str | None, params: Mapping[str, object],
                    only: list[str] | None = None) -> frozenset[str]:
        """The facts the measures of a run read (their conditions and amounts): all a facts builder need build
        for it (docs/decisions.md FACTS-1). ``params`` resolved, as for :meth:`plan`."""
        return frozenset().union(*(cm.fields for cm in self.plan(period, entity, params, only)))

    def _planned(self, period, entity, params, only) -> tuple[list[CompiledMeasure], list[pl.Expr]]:
        """The compiled measures and their Polars expressions, cached per (period, entity, parameters, measures)."""
        key = (period, entity, tuple(sorted((k, str(v)) for k, v in params.items())), tuple(only or ()))
        if key not in self._plans:
            path = self._plan_path(period, entity, params, only)
            restored = self._restored(plan_cache.load(path))
            if restored is not None:
                self._plans[key] = restored
            else:
                compiler = Compiler(self.dictionary, params=params, declared=frozenset(self.parameters))
                plan = [self._compile_measure(m, f, compiler, period)
                        for m, f in self.measures_for(period, entity, only)]
                self._plans[key] = (plan, [e for cm in plan for e in _measure_exprs(cm)])
                plan_cache.store(path, self._storable(*self._plans[key]))
            if len(self._plans) > 64:
                self._plans.pop(next(iter(self._plans)))
        return self._plans[key]

    def _plan_path(self, period, entity, params, only):
        return self.cached_path("plan", period, entity, params, only)

    def cached_path(self, kind: str, period, entity, params, only, extra_code=()):
        """Where something compiled from this plan key is stored on disk (huiqi.engine.plan_cache), or None: a rule
        set other than the built-in one, or a copy whose rules were replaced, is never cached."""
        owner = self._on_disk
        if owner is None or any(a is not b for a, b in
                                zip(owner, (self.measures, self.parameters, self.groups, self.dictionary))):
            return None
        return plan_cache.plan_path(kind, (period, entity, plan_cache.parameter_key(params), tuple(only or ())),
                                    extra_code)

    @staticmethod
    def _storable(plan: list[CompiledMeasure], exprs: list[pl.Expr]) -> tuple:
        """The plan without what the rule files already hold (the measure, its file, its group), by measure ID."""
        slim = [dataclasses.replace(cm, measure=None, source=None, group=None) for cm in plan]
        return [cm.id for cm in plan], slim, exprs

    def _restored(self, stored) -> tuple | None:
        """A stored plan with this rule set's measures put back; None for anything not of the stored shape."""
        try:
            ids, slim, exprs = stored
            plan = [dataclasses.replace(cm, measure=self.measures[mid][0], source=self.measures[mid][1],
                                        group=group_of(mid, self.groups)) for mid, cm in zip(ids, slim, strict=True)]
        except Exception:  # noqa: BLE001 - nothing stored, or not what _storable writes: compile afresh
            return None
        if not all(isinstance(cm, CompiledMeasure) for cm in plan) or not all(isinstance(e, pl.Expr) for e in exprs):
            return None
        return plan, list(exprs)

    def compile_all(self) -> None:
        self.plan(None, None, self.resolve_parameters())

    def _compile_measure(self, m: Measure, f: LoadedFile, compiler: Compiler,
                         period: str | None = None) -> CompiledMeasure:
        def compile_at(source: str, *loc) -> Value:
            try:
                return compiler.compile(source)
            except ExpressionError as e:
                raise RuleFileError(f.path, f.measure_line(m.id, *loc), f"{m.id}: {e}") from None

        d = f.rules.defaults
        conditions = []
        where = jurisdiction_gate(f)
        if where is not None:  # a 设区市/县区 document: every measure, every entity type (RULES-1)
            gate = compiler.compile(where.when)  # checked as written; evaluated from the column evaluate() adds
            conditions.append(CompiledCondition(where, Value("bool", expr=pl.col(gate_column(f.rules.jurisdiction.code)),
                                                             fields=gate.fields), True))
        if m.entity in d.gates_apply_to:
            for g in d.gates:
                try:
                    conditions.append(CompiledCondition(g, compiler.compile(g.when), True))
                except ExpressionError as e:
                    raise RuleFileError(f.path, f.line("defaults", "gates"), f"{g.id}: {e}") from None
        for i, c in enumerate(m.conditions):
            value = compile_at(c.when, "conditions", i, "when")
            if value.kind != "bool":
                raise RuleFileError(f.path, f.measure_line(m.id, "conditions", i), f"{m.id}/{c.id}: 条件须为是/否表达式")
            conditions.append(CompiledCondition(c, value, False))
        amount = compile_at(m.amount, "amount") if m.amount else None
        caps = [compile_at(src, key) for key, src in (("cap", m.cap), ("cap_year", m.cap_year)) if src]
        cap = caps[0] if len(caps) == 1 else (_least_of(caps) if caps else None)
        minimum = compile_at(m.minimum, "minimum") if m.minimum else None
        if m.kind in AMOUNT_KINDS and amount is None:
            raise RuleFileError(f.path, f.measure_line(m.id), f"{m.id}: 资金类措施须有 amount 公式")
        own = applicable_period(m, f, period) if period else None
        group = group_of(m.id, self.groups)
        rivals = tuple(self.measures[x][0].name for x in group.members if x != m.id and x in self.measures) \
            if group else ()
        return CompiledMeasure(m, f, tuple(conditions), amount, cap, minimum, m.rounding or d.rounding,
                               own if own != period else None, group, rivals)

    # -- evaluation -----------------------------------------------------------------------------
    def prepare(self, frame: pl.DataFrame, plan: list[CompiledMeasure]) -> pl.DataFrame:
        """Add every field the plan reads but the frame lacks, as unknown (null) — never as zero."""
        needed = frozenset().union(*(m.fields for m in plan)) if plan else frozenset()
        missing = [n for n in sorted(needed) if n not in frame.columns]
        casts = [pl.col(n).cast(_POLARS_TYPES[self.dictionary[n].type]) for n in sorted(needed) if n in frame.columns]
        return frame.with_columns(*casts, *[pl.lit(None, dtype=_POLARS_TYPES[self.dictionary[n].type]).alias(n)
                                             for n in missing])

    def evaluate(self, frame: pl.DataFrame, period: str, entity: str = "enterprise",
                 params: Mapping[str, object] | None = None, measures: list[str] | None = None,
                 keep: list[str] | None = None) -> "Evaluation":
        values = self.resolve_parameters(params)
        plan, exprs = self._planned(period, entity, values, measures)
        frame = self.prepare(frame, plan)
        keep = keep if keep is not None else [c for c in ("entity_id",) if c in frame.columns]
        columns = [*[pl.col(k) for k in keep], *exprs]
        if frame.height >= SMALL_BATCH:
            # lazy so Polars shares the sub-expressions each status re-reads (common-subexpression elimination).
            # The (default) streaming engine returns about half the columns in morsel-sized chunks (12 at 1M); kept:
            # the in-memory engine takes twice the CPU, and a rechunk costs more than the later steps gain now
            # (docs/decisions.md SCREEN2-1)
            result = _with_gates(frame.lazy(), plan).select(columns).collect()
        else:
            result = _with_gates(frame, plan).select(columns)  # a few rows: the optimiser costs more than it saves
        result = _apply_exclusivity(result, plan, self.groups)  # once: a second pass recomputed the same columns
        return Evaluation(self, period, entity, values, plan, frame, result)


def gate_column(code: str) -> str:
    return f"{JURISDICTION_GATE_ID}|{code}"


def gate_expressions(plan: list[CompiledMeasure]) -> list[pl.Expr]:
    """The jurisdiction gates of the plan's documents as columns, once per area: in_region(county, '4502') looks a
    name up through two regular expressions and a table of names per row, and written into every measure of a
    设区市/县区 document (and again into its status and amount) it was most of the evaluation's time. One list of
    expressions serves the Polars path (``_with_gates``) and the calculator's row path alike."""
    prefix = gate_column("")
    codes = sorted({name[len(prefix):] for cm in plan for cc in cm.conditions if cc.is_gate and cc.value.expr is not None
                    for name in [cc.value.expr.meta.output_name(raise_if_undetermined=False) or ""]
                    if name.startswith(prefix)})
    county = pl.col("county")
    code = region_code(county).fill_null("")  # one sub-expression: Polars' lazy optimiser computes it once
    return [pl.when(county.is_null()).then(None).otherwise(code.str.starts_with(c)).alias(gate_column(c))
            for c in codes]


def _with_gates(frame, plan: list[CompiledMeasure]):
    gates = gate_expressions(plan)
    return frame.with_columns(gates) if gates else frame


JURISDICTION_GATE_ID = "适用地域"


def jurisdiction_gate(f: LoadedFile) -> Condition | None:
    """The condition a 设区市/县区 document puts on every measure: the entity's 所在县区 lies in its area."""
    j = f.rules.jurisdiction
    if j is None or not j.gated:
        return None
    return Condition(id=JURISDICTION_GATE_ID, text=f"所在县区属{j.name}（本文件适用于{j.name}行政区域）",
                     when=f"in_region(county, '{j.code}')")


def exclusive_groups(source: RuleSource) -> dict[str, ExclusiveGroup]:
    """Every exclusive group of every file by ID: a group may list measures of other documents (RULES-4)."""
    out: dict[str, tuple[ExclusiveGroup, LoadedFile]] = {}
    for f in source.files:
        for g in f.rules.exclusive_groups:
            if g.id in out:
                raise RuleFileError(f.path, f.line("exclusive_groups"),
                                    f"互斥组 {g.id} 重复（已在 {out[g.id][1].path.name} 中定义）")
            out[g.id] = (g, f)
    return {gid: g for gid, (g, _f) in out.items()}


def group_of(measure_id: str, groups: Mapping[str, ExclusiveGroup]) -> ExclusiveGroup | None:
    return next((g for g in groups.values() if measure_id in g.members), None)


def _least_of(values: list[Value]) -> Value:
    meta_pending = frozenset().union(*(v.pending for v in values))
    meta_fields = frozenset().union(*(v.fields for v in values))
    if meta_pending:
        return Value("num", pending=meta_pending, fields=meta_fields)
    if all(v.is_const for v in values):
        return Value("num", const=min(v.const for v in values))
    exprs = [v.polars() for v in values]
    any_null = pl.any_horizontal([e.is_null() for e in exprs])
    return Value("num", expr=pl.when(any_null).then(None).otherwise(pl.min_horizontal(exprs)), fields=meta_fields)


def _status(value: str) -> pl.Expr:
    """A status literal already of the Enum type (no per-row string cast)."""
    return pl.lit(value, dtype=STATUS_DTYPE)


def _fields_missing(fields: frozenset) -> pl.Expr:
    if not fields:
        return pl.lit(False)
    if len(fields) == 1:
        return pl.col(next(iter(fields))).is_null()
    return pl.any_horizontal([pl.col(f).is_null() for f in sorted(fields)])


def _measure_exprs(cm: CompiledMeasure, amount_by_status: bool = False) -> list[pl.Expr]:
    """The measure's columns (see the module docstring). ``amount_by_status``: the amount as ``status == 符合`` (the
    former form, which recomputes the status chain; the reference the tests compare)."""
    mid = cm.id
    out: list[pl.Expr] = []
    any_false, missing, pending = [], [], []
    for cc in cm.conditions:
        # columns are not visible within one select, so statuses are built from the condition expressions
        v = cc.value.polars()
        out.append(v.alias(col(mid, f"c|{cc.condition.id}")))
        data_missing = v.is_null() & _fields_missing(cc.value.fields)
        any_false.append(v.not_().fill_null(False))
        missing.append(data_missing)
        if cc.value.pending:
            pending.append(v.is_null() & ~data_missing)

    def any_of(items: list[pl.Expr]) -> pl.Expr:
        return pl.any_horizontal(items) if items else pl.lit(False)

    status = pl.when(any_of(any_false)).then(_status(NOT_MET)).when(any_of(missing)).then(_status(MISSING)) \
        .when(any_of(pending)).then(_status(PENDING))
    if cm.measure.kind in AMOUNT_KINDS:
        amount_pending = bool(cm.amount.pending or (cm.cap and cm.cap.pending) or (cm.minimum and cm.minimum.pending))
        computed = cm.amount.polars()
        final = computed
        if cm.cap is not None and not cm.cap.pending:
            cap = cm.cap.polars()
            final = pl.when(final.is_null() | cap.is_null()).then(None).otherwise(pl.min_horizontal(final, cap))
        unit = _ROUNDING_UNIT.get(cm.rounding)
        if unit:
            final = (final // unit) * unit
        below_minimum = pl.lit(False)
        if cm.minimum is not None and not cm.minimum.pending:
            below_minimum = (final < cm.minimum.polars()).fill_null(False)
        if amount_pending:
            status = status.when(pl.lit(True)).then(_status(PENDING))
        status = status.when(final.is_null()).then(_status(MISSING)) \
            .when(final <= 0).then(_status(NOT_MET)) \
            .when(below_minimum).then(_status(NOT_MET)).otherwise(_status(MET))
        out.append(status.alias(col(mid, "status")))
        out.append(computed.cast(pl.Int64).alias(col(mid, "computed")))
        # 符合 exactly when no branch above the status's ``otherwise`` is taken (each predicate is non-null; ``final >
        # 0`` is null when final is, and a null ``when`` takes ``otherwise``). Written as status == 符合 it recomputed
        # the whole status chain per row, which Polars' CSE does not share (docs/decisions.md SCREEN2-2)
        met = status == MET if amount_by_status else pl.lit(False) if amount_pending else \
            ~any_of(any_false) & ~any_of(missing) & ~any_of(pending) & (final > 0) & ~below_minimum
        out.append(pl.when(met).then(final).otherwise(None).cast(pl.Int64).alias(col(mid, "amount")))
    else:
        out.append(status.otherwise(_status(MET)).alias(col(mid, "status")))
    return out


def _apply_exclusivity(result: pl.DataFrame, plan: list[CompiledMeasure],
                       all_groups: Mapping[str, ExclusiveGroup]) -> pl.DataFrame:
    """Within each exclusive group (members of any file), keep the eligible member with the highest amount
    (ties: the group's order)."""
    by_id = {cm.id: cm for cm in plan}
    groups: dict[str, list[str]] = {}
    for gid, g in all_groups.items():
        members = [m for m in g.members if m in by_id]
        if members:
            groups[gid] = members
    exprs = []
    grouped = set()
    for gid, members in groups.items():
        money = [m for m in members if by_id[m].measure.kind == "money"]
        if not money:
            continue
        grouped.update(money)
        amounts = [pl.col(col(m, "amount")).fill_null(-1) for m in money]
        best = pl.max_horizontal(amounts)
        # the first member (in the group's order) that reaches the best amount wins
        chosen = pl.when(best < 0).then(None)
        for m, a in zip(money, amounts):
            chosen = chosen.when(a == best).then(pl.lit(m))
        chosen = chosen.otherwise(None)
        exprs.append(chosen.alias(f"group|{gid}"))
        for m in money:
            amt = pl.col(col(m, "amount"))
            exprs.append(pl.when(amt.is_null()).then(None).when(chosen == m).then(amt).otherwise(0)
                         .alias(col(m, "award")))
    for cm in plan:
        if cm.measure.kind == "money" and cm.id not in grouped:
            exprs.append(pl.col(col(cm.id, "amount")).alias(col(cm.id, "award")))
    return result.with_columns(exprs) if exprs else result


@dataclass
class Evaluation:
    ruleset: RuleSet
    period: str
    entity: str
    params: dict[str, object]
    plan: list[CompiledMeasure]
    inputs: pl.DataFrame
    frame: pl.DataFrame

    def status_counts(self) -> dict[str, dict[str, int]]:
        out = {}
        for cm in self.plan:
            counts = self.frame[col(cm.id, "status")].value_counts()
            out[cm.id] = {row[0]: row[1] for row in counts.iter_rows()}
        return out
