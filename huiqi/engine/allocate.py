"""The global allocation step, after row-independent evaluation: annual caps across periods, minimums, budgets.

Evaluation (huiqi.engine.evaluate) already applied, per entity: the per-period cap, the prescribed rounding, the
minimum and exclusivity. What needs more than one row or more than one period happens here, in this order:

1. **Annual cumulative cap** (``cap_year``): what earlier periods of the same year awarded (``prior``) is
   subtracted from the cap; the award is cut to what remains.
2. **Rounding and minimum again** on any amount the annual cap cut.
3. **Budget pools** (a document's ``budget_parameter``): if the document's awards exceed the budget, either
   *pro rata* (every award × budget ÷ total, floored to the rounding unit, so the sum never exceeds the budget)
   or *ranked* (largest first, ties by entity ID; paid in full while the budget lasts, then nothing).

Every change is explained in the ``allocation_note`` column. Exact integer arithmetic (Int128 for products).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import polars as pl

from huiqi.engine.evaluate import MET, Evaluation, col
from huiqi.engine.expressions import Compiler
from huiqi.rules.fields import SCALE

BudgetPolicy = Literal["pro_rata", "ranked"]
_UNIT = {"floor_wan": 10_000 * SCALE, "floor_yuan": SCALE, "none": 1}


@dataclass(frozen=True)
class AllocationOptions:
    budget_policy: BudgetPolicy = "pro_rata"
    prior: pl.DataFrame | None = None  # entity_id, measure_id, prior_fen: awarded earlier in the same year


def long_results(ev: Evaluation) -> pl.DataFrame:
    """One row per (entity, measure) with its status and amounts (分), measures in plan order."""
    parts = []
    for cm in ev.plan:
        money = cm.measure.kind == "money"
        parts.append(ev.frame.select(
            pl.col("entity_id"),
            pl.lit(cm.id).alias("measure_id"),
            pl.col(col(cm.id, "status")).cast(pl.String).alias("status"),
            (pl.col(col(cm.id, "computed")) if money else pl.lit(None, dtype=pl.Int64)).alias("computed_fen"),
            (pl.col(col(cm.id, "amount")) if money else pl.lit(None, dtype=pl.Int64)).alias("amount_fen"),
            (pl.col(col(cm.id, "award")) if money else pl.lit(None, dtype=pl.Int64)).alias("award_fen"),
        ))
    if not parts:
        return pl.DataFrame(schema={"entity_id": pl.String, "measure_id": pl.String, "status": pl.String,
                                    "computed_fen": pl.Int64, "amount_fen": pl.Int64, "award_fen": pl.Int64})
    return pl.concat(parts)


def _const(ev: Evaluation, source: str | None) -> int | None:
    """A cap or minimum that is a constant (or a set parameter), in 分."""
    if not source:
        return None
    v = Compiler(ev.ruleset.dictionary, ev.params, frozenset(ev.ruleset.parameters)).compile(source)
    if not v.is_const:
        return None
    return int(Fraction(v.const) * SCALE)


def allocate(ev: Evaluation, options: AllocationOptions = AllocationOptions()) -> pl.DataFrame:
    """Long results with ``final_fen`` (what is paid) and ``allocation_note`` (why it differs from award)."""
    out = long_results(ev).with_columns(pl.col("award_fen").alias("final_fen"),
                                        pl.lit(None, dtype=pl.String).alias("allocation_note"))
    by_id = {cm.id: cm for cm in ev.plan}

    # 1–2. annual cumulative caps, then rounding and minimum on what was cut
    prior = options.prior if options.prior is not None else pl.DataFrame(
        schema={"entity_id": pl.String, "measure_id": pl.String, "prior_fen": pl.Int64})
    out = out.join(prior, on=["entity_id", "measure_id"], how="left")
    for mid, cm in by_id.items():
        cap_year = _const(ev, cm.measure.cap_year)
        if cap_year is None:
            continue
        unit = _UNIT[cm.rounding]
        minimum = _const(ev, cm.measure.minimum) or 0
        this = pl.col("measure_id") == mid
        remaining = (pl.lit(cap_year) - pl.col("prior_fen").fill_null(0)).clip(lower_bound=0)
        cut = this & (pl.col("final_fen") > remaining)
        capped = (remaining // unit) * unit
        capped = pl.when(capped < minimum).then(0).otherwise(capped)
        out = out.with_columns(
            pl.when(cut).then(capped).otherwise(pl.col("final_fen")).alias("final_fen"),
            pl.when(cut).then(pl.format("本年度此前已获{}分，年度累计上限{}分，本期按剩余额度核减", pl.col("prior_fen").fill_null(0),
                                        pl.lit(cap_year)))
            .otherwise(pl.col("allocation_note")).alias("allocation_note"))

    # 3. budget pools per document
    budgets: dict[str, tuple[int, list[str]]] = {}
    for cm in ev.plan:
        d = cm.source.rules.defaults
        name = cm.measure.budget_parameter or d.budget_parameter
        if not name or ev.params.get(name) is None or cm.measure.kind != "money":
            continue
        budget = int(Fraction(str(ev.params[name])) * SCALE)
        budgets.setdefault(name, (budget, []))[1].append(cm.id)
    for name, (budget, members) in budgets.items():
        in_pool = pl.col("measure_id").is_in(members) & (pl.col("final_fen") > 0)
        total = out.filter(in_pool)["final_fen"].sum()
        if total <= budget:
            continue
        unit = max(_UNIT[by_id[m].rounding] for m in members)
        if options.budget_policy == "pro_rata":
            scaled = (pl.col("final_fen").cast(pl.Int128) * budget // total).cast(pl.Int64)
            scaled = (scaled // unit) * unit
            note = pl.lit(f"申报总额{total}分超过预算{budget}分（{name}），按比例核减")
            out = out.with_columns(pl.when(in_pool).then(scaled).otherwise(pl.col("final_fen")).alias("final_fen"),
                                   pl.when(in_pool).then(note).otherwise(pl.col("allocation_note")).alias("allocation_note"))
        else:
            ordered = out.with_row_index("_row").filter(in_pool).sort(["final_fen", "entity_id", "measure_id"],
                                                                     descending=[True, False, False])
            ordered = ordered.with_columns(pl.col("final_fen").cum_sum().alias("_cum"))
            first_over = ordered.filter(pl.col("_cum") > budget)["_row"].head(1).to_list()
            if first_over:
                cutoff = ordered["_row"].to_list().index(first_over[0])
                unpaid = ordered["_row"].to_list()[cutoff:]
                out = out.with_row_index("_row").with_columns(
                    pl.when(pl.col("_row").is_in(unpaid)).then(0).otherwise(pl.col("final_fen")).alias("final_fen"),
                    pl.when(pl.col("_row").is_in(unpaid))
                    .then(pl.lit(f"预算{budget}分（{name}）按金额从高到低排序兑现，额度已用完"))
                    .otherwise(pl.col("allocation_note")).alias("allocation_note")).drop("_row")
    return out.drop("prior_fen").sort(["measure_id", "entity_id"], maintain_order=True)


def paid(results: pl.DataFrame) -> pl.DataFrame:
    """The rows that are paid: status 符合 and a final amount above 0."""
    return results.filter((pl.col("status") == MET) & (pl.col("final_fen") > 0))

