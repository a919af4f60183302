"""The global allocation step, after row-independent evaluation: annual caps across periods, minimums, budgets.

Evaluation (huiqi.engine.evaluate) already applied, per entity: the per-period cap, the prescribed rounding, the
minimum and exclusivity. What needs more than one row or more than one period happens here, in this order:

0. **Earlier awards** (``prior``): an entity already paid one member of an exclusive group (of any document, in
   any earlier period) is not paid another member now ("不能重复享受"); a measure evaluated "as of" a finer period
   (a year measure in 2024Q4) is paid once for its own period — if prior shows it paid within that period, not
   again.
1. **Annual cumulative cap** (``cap_year``): what earlier periods of the same year awarded (``prior``) is
   subtracted from the cap; the award is cut to what remains.
2. **Rounding and minimum again** on any amount the annual cap cut.
3. **Budget pools** (a document's ``budget_parameter``): if the document's awards exceed the budget, either
   *pro rata* (every award × budget ÷ total, floored to the rounding unit, so the sum never exceeds the budget)
   or *ranked* (largest first, ties by entity ID; paid in full while the budget lasts, then nothing).

It works on the wide evaluation frame (one row per entity, columns per measure), so nothing is sorted or
joined per row of the long result; the long table (one row per entity and measure) is produced at the end, in
plan order and entity order, which are deterministic. Every change is explained in ``allocation_note``.
Exact integer arithmetic (Int128 for products).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import polars as pl

from huiqi.core import money
from huiqi.engine.evaluate import MET, NOT_MET, STATUS_DTYPE, STATUSES, Evaluation, col, period_span
from huiqi.engine.expressions import Compiler
from huiqi.rules.fields import SCALE

BudgetPolicy = Literal["pro_rata", "ranked"]
_UNIT = {"floor_wan": 10_000 * SCALE, "floor_yuan": SCALE, "none": 1}


@dataclass(frozen=True)
class AllocationOptions:
    budget_policy: BudgetPolicy = "pro_rata"
    # entity_id, measure_id, prior_fen (optional period): awarded earlier. Annual caps and once-a-year measures
    # read the rows of the same year (all rows when there is no period column); exclusive groups read every row.
    prior: pl.DataFrame | None = None


def _const(ev: Evaluation, source: str | None) -> int | None:
    """A cap or minimum that is a constant (or a set parameter), in 分."""
    if not source:
        return None
    v = Compiler(ev.ruleset.dictionary, ev.params, frozenset(ev.ruleset.parameters)).compile(source)
    if not v.is_const:
        return None
    return int(Fraction(v.const) * SCALE)


def _final(mid: str) -> str:
    return col(mid, "final")


def _note(mid: str) -> str:
    return col(mid, "note")


def _yuan_text(fen: pl.Expr) -> pl.Expr:
    """分 → "1500.00" (exact, no float)."""
    return pl.concat_str([(fen // SCALE).cast(pl.String), pl.lit("."),
                          (fen % SCALE).cast(pl.String).str.zfill(2)])


def _same_year(prior: pl.DataFrame | None, period: str) -> pl.DataFrame | None:
    if prior is None or "period" not in prior.columns:
        return prior
    return prior.filter(pl.col("period").cast(pl.String).str.slice(0, 4) == str(period)[:4])


def _within(prior: pl.DataFrame, own: str) -> pl.DataFrame:
    """The prior rows of periods inside ``own`` (a measure's own period); all rows if prior has no period column
    (then prior is, as documented, this year's awards)."""
    if "period" not in prior.columns:
        return prior
    start, end = period_span(own)
    inside = []
    for p in prior["period"].cast(pl.String).unique().drop_nulls().to_list():
        try:
            p_start, p_end = period_span(p)
        except ValueError:
            continue
        if start <= p_start and p_end <= end:
            inside.append(p)
    return prior.filter(pl.col("period").cast(pl.String).is_in(inside))


def _period_label(own: str) -> str:
    if own.isdigit():
        return f"{own}年度"
    return {"H1": f"{own[:4]}年上半年", "H2": f"{own[:4]}年下半年"}.get(own[4:], own)


def _prior_paid(prior: pl.DataFrame, measure_ids: list[str]) -> pl.DataFrame:
    """entity_id → what it was paid earlier for any of ``measure_ids`` (only entities paid something)."""
    return (prior.filter(pl.col("measure_id").is_in(measure_ids) & (pl.col("prior_fen") > 0))
            .group_by("entity_id").agg(pl.col("prior_fen").sum().alias("_prior"),
                                       pl.col("measure_id").sort().first().alias("_prior_measure")))


def _cut_where_paid(wide: pl.DataFrame, mid: str, earlier: pl.DataFrame, note: pl.Expr) -> pl.DataFrame:
    if earlier.height == 0:
        return wide
    wide = wide.join(earlier, on="entity_id", how="left", maintain_order="left")
    cut = pl.col("_prior").is_not_null() & (pl.col(_final(mid)) > 0)
    return wide.with_columns(
        pl.when(cut).then(0).otherwise(pl.col(_final(mid))).alias(_final(mid)),
        pl.when(cut).then(note).otherwise(pl.col(_note(mid))).alias(_note(mid)),
    ).drop("_prior", "_prior_measure")


def _earlier_awards(ev: Evaluation, wide: pl.DataFrame, prior: pl.DataFrame | None) -> pl.DataFrame:
    if prior is None or prior.height == 0:
        return wide
    names = {mid: m.name for mid, (m, _f) in ev.ruleset.measures.items()}
    for cm in ev.plan:
        if cm.measure.kind != "money":
            continue
        if cm.group is not None:
            others = [x for x in cm.group.members if x != cm.id]
            earlier = _prior_paid(prior, others)
            label = pl.col("_prior_measure").replace(names)
            note = pl.format("此前已享受“{}”{}元，依“{}”，本期不再兑现本项", label,
                             _yuan_text(pl.col("_prior")), pl.lit(cm.group.quote))
            wide = _cut_where_paid(wide, cm.id, earlier, note)
        if cm.as_of is not None:
            earlier = _prior_paid(_within(prior, cm.as_of), [cm.id])
            label = _period_label(cm.as_of)
            note = pl.format("本项按{}兑现一次，{}此前已兑现{}元，本期不再重复兑现", pl.lit(label), pl.lit(label),
                             _yuan_text(pl.col("_prior")))
            wide = _cut_where_paid(wide, cm.id, earlier, note)
    return wide


def _annual_caps(ev: Evaluation, wide: pl.DataFrame, prior: pl.DataFrame | None) -> pl.DataFrame:
    for cm in ev.plan:
        cap_year = _const(ev, cm.measure.cap_year)
        if cap_year is None or cm.measure.kind != "money":
            continue
        mine = None if prior is None else prior.filter(pl.col("measure_id") == cm.id)
        if mine is None or mine.height == 0:
            continue  # nothing paid earlier this year: the per-period cap (≤ cap_year) already holds
        mine = mine.group_by("entity_id").agg(pl.col("prior_fen").sum().alias("_prior"))
        wide = wide.join(mine, on="entity_id", how="left", maintain_order="left")
        unit = _UNIT[cm.rounding]
        minimum = _const(ev, cm.measure.minimum) or 0
        remaining = (pl.lit(cap_year) - pl.col("_prior").fill_null(0)).clip(lower_bound=0)
        final = pl.col(_final(cm.id))
        cut = final > remaining
        capped = (remaining // unit) * unit
        capped = pl.when(capped < minimum).then(0).otherwise(capped)
        note = pl.format("本年度此前已获{}元，年度累计上限{}元，本期按剩余额度核减",
                         (pl.col("_prior").fill_null(0) / SCALE), pl.lit(cap_year // SCALE))
        wide = wide.with_columns(
            pl.when(cut).then(capped).otherwise(final).alias(_final(cm.id)),
            pl.when(cut).then(note).otherwise(pl.col(_note(cm.id))).alias(_note(cm.id)),
        ).drop("_prior")
    return wide


def _budgets(ev: Evaluation, wide: pl.DataFrame, policy: BudgetPolicy) -> pl.DataFrame:
    pools: dict[str, list] = {}
    for cm in ev.plan:
        name = cm.measure.budget_parameter or cm.source.rules.defaults.budget_parameter
        if name and ev.params.get(name) is not None and cm.measure.kind == "money":
            pools.setdefault(name, []).append(cm)
    for name, members in pools.items():
        budget = int(Fraction(str(ev.params[name])) * SCALE)
        finals = [pl.col(_final(cm.id)).fill_null(0) for cm in members]
        total = int(wide.select(pl.sum_horizontal(finals).sum()).item() or 0)
        if total <= budget:
            continue
        unit = max(_UNIT[cm.rounding] for cm in members)
        if policy == "pro_rata":
            note = pl.lit(f"申报总额{money.yuan_text(total)}元超过预算{money.yuan_text(budget)}元（{name}），按比例核减")
            updates = []
            for cm in members:
                final = pl.col(_final(cm.id))
                scaled = ((final.cast(pl.Int128) * budget // total).cast(pl.Int64) // unit) * unit
                updates += [pl.when(final > 0).then(scaled).otherwise(final).alias(_final(cm.id)),
                            pl.when(final > 0).then(note).otherwise(pl.col(_note(cm.id))).alias(_note(cm.id))]
            wide = wide.with_columns(updates)
        else:
            # ranked: every (entity, measure) award of the pool, largest first, ties by entity then measure
            claims = pl.concat([wide.select(pl.col("entity_id"), pl.lit(i).alias("_m"),
                                            pl.col(_final(cm.id)).alias("_amount")).filter(pl.col("_amount") > 0)
                                for i, cm in enumerate(members)])
            claims = claims.sort(["_amount", "entity_id", "_m"], descending=[True, False, False])
            claims = claims.with_columns((pl.col("_amount").cum_sum() > budget).cum_max().alias("_unpaid"))
            note = pl.lit(f"预算{money.yuan_text(budget)}元（{name}）按金额从高到低排序兑现，额度已用完")
            for i, cm in enumerate(members):
                unpaid = claims.filter((pl.col("_m") == i) & pl.col("_unpaid")).select("entity_id",
                                                                                        pl.lit(True).alias("_cut"))
                if unpaid.height == 0:
                    continue
                wide = wide.join(unpaid, on="entity_id", how="left", maintain_order="left").with_columns(
                    pl.when(pl.col("_cut")).then(0).otherwise(pl.col(_final(cm.id))).alias(_final(cm.id)),
                    pl.when(pl.col("_cut")).then(note).otherwise(pl.col(_note(cm.id))).alias(_note(cm.id)),
                ).drop("_cut")
    return wide


def allocate_wide(ev: Evaluation, options: AllocationOptions = AllocationOptions()) -> pl.DataFrame:
    """The evaluation frame with, per money measure, ``<m>|final`` (what is paid) and ``<m>|note`` (why it was cut)."""
    money = [cm for cm in ev.plan if cm.measure.kind == "money"]
    wide = ev.frame.with_columns(
        *[pl.col(col(cm.id, "award")).alias(_final(cm.id)) for cm in money],
        *[pl.lit(None, dtype=pl.String).alias(_note(cm.id)) for cm in money])
    wide = _earlier_awards(ev, wide, options.prior)
    wide = _annual_caps(ev, wide, _same_year(options.prior, ev.period))
    return _budgets(ev, wide, options.budget_policy)


LONG_SCHEMA = {"entity_id": pl.String, "measure_id": pl.String, "status": pl.String, "computed_fen": pl.Int64,
               "amount_fen": pl.Int64, "award_fen": pl.Int64, "final_fen": pl.Int64, "allocation_note": pl.String}


def long_part(wide: pl.LazyFrame, cm, keep: list[str], where: pl.Expr | None = None,
              extra: list[pl.Expr] = ()) -> pl.LazyFrame:
    """One measure's rows of the long result from the allocated wide frame — filtered first (``where`` over the wide
    columns), so rows not wanted (不符合) are never materialised — with ``keep`` columns and ``extra`` expressions."""
    is_money = cm.measure.kind == "money"

    def pick(what: str, dtype) -> pl.Expr:
        return pl.col(col(cm.id, what)) if is_money else pl.lit(None, dtype=dtype)

    if where is not None:
        wide = wide.filter(where)
    return wide.select(
        pl.col("entity_id"), *[pl.col(k) for k in keep],
        pl.lit(cm.id).alias("measure_id"),
        pl.col(col(cm.id, "status")).cast(pl.String).alias("status"),
        pick("computed", pl.Int64).alias("computed_fen"), pick("amount", pl.Int64).alias("amount_fen"),
        pick("award", pl.Int64).alias("award_fen"), pick("final", pl.Int64).alias("final_fen"),
        pick("note", pl.String).alias("allocation_note"), *extra)


def allocate(ev: Evaluation, options: AllocationOptions = AllocationOptions(), *,
             keep: list[str] | None = None, drop_not_met: bool = False) -> pl.DataFrame:
    """Long results: entity_id, measure_id, status, computed_fen, amount_fen, award_fen, final_fen (what is
    paid) and allocation_note, plus the ``keep`` columns of the evaluation frame (names, county …). One lazy plan,
    one collect."""
    keep = keep or []
    if not ev.plan:
        return pl.DataFrame(schema=LONG_SCHEMA)
    wide = allocate_wide(ev, options).lazy()
    parts = [long_part(wide, cm, keep, (pl.col(col(cm.id, "status")) != NOT_MET) if drop_not_met else None)
             for cm in ev.plan]
    return pl.concat(parts).collect()


COUNTS_SCHEMA = {"measure_id": pl.String, "status": pl.String, "n": pl.UInt32}


def status_counts(ev: Evaluation) -> pl.DataFrame:
    """Entities per measure and status (every status, 不符合 included).

    Status columns of the status Enum are counted in one select — a sum per column and status (and the nulls) —
    rather than a group-by per measure (~90 hash group-bys over a million rows at 1M; docs/decisions.md SCREEN-4).
    Other columns (a status read back as text) are grouped as before; both give the same frame."""
    columns = [col(cm.id, "status") for cm in ev.plan]
    if columns and all(ev.frame.schema[c] == STATUS_DTYPE for c in columns):
        counted = ev.frame.select(
            *[(pl.col(c) == s).sum().alias(f"{c}={s}") for c in columns for s in STATUSES],
            *[pl.col(c).null_count().alias(f"{c}=") for c in columns]).row(0, named=True)
        rows = [(cm.id, s, counted[f"{c}={s or ''}"]) for cm, c in zip(ev.plan, columns) for s in (*STATUSES, None)
                if counted[f"{c}={s or ''}"]]
        return pl.DataFrame(rows, schema=COUNTS_SCHEMA, orient="row").sort(["measure_id", "status"])
    frame = ev.frame.lazy()
    parts = [frame.group_by(col(cm.id, "status")).agg(pl.len().alias("n"))
             .select(pl.lit(cm.id).alias("measure_id"), pl.col(col(cm.id, "status")).cast(pl.String).alias("status"), "n")
             for cm in ev.plan]
    return pl.concat(parts).sort(["measure_id", "status"]).collect() if parts else pl.DataFrame()  # one plan


def is_paid(status: pl.Expr, final_fen: pl.Expr) -> pl.Expr:
    """What makes a row paid: status 符合 and a final amount above 0 (the one definition; screening's paid-first
    listing applies it to a measure's wide columns)."""
    return (status == MET) & (final_fen > 0)


def paid(results: pl.DataFrame) -> pl.DataFrame:
    """The rows that are paid (:func:`is_paid`)."""
    # lazy: an eager filter of a table whose columns are chunked differently copies every column first
    return results.lazy().filter(is_paid(pl.col("status"), pl.col("final_fen"))).collect()
