"""The partition entry point: enterprise facts and evaluation as a function from Arrow batches to Arrow batches.

Evaluation is row-independent (docs/architecture.md), and so are an enterprise's facts: they read only that
enterprise's own rows of the indicator, scale, designation, credit and event tables. So a partition is a batch
of **self-contained enterprise rows** — the ``enterprises`` columns plus, per related table, a list of that
enterprise's rows (``list<struct>``, as Spark's ``collect_list(struct(*))`` makes them) — and each partition
runs the very functions a single process runs (:func:`huiqi.services.facts.enterprise_facts`,
:meth:`RuleSet.evaluate`). Nothing here needs Spark; :mod:`huiqi.services.spark` ships it to ``mapInArrow``.

The output is the wide evaluation frame (one row per enterprise: display columns, per measure the kept
conditions, status, amounts) with a fixed schema: statuses as text (Arrow has no Polars Enum), amounts Int64,
conditions Boolean. The allocation step (caps across periods, budget pools) needs all rows and runs afterwards
on the collected frame (:func:`evaluation_from_frame`).
"""

from __future__ import annotations

from typing import Iterable, Iterator, Mapping

import polars as pl
import pyarrow as pa

from huiqi.data.panel import INDEX
from huiqi.engine.evaluate import STATUS_DTYPE, CompiledMeasure, Evaluation, RuleSet, col

# the tables an enterprise's facts read besides ``enterprises`` (each keyed by credit_code)
RELATED = ("indicators", "indicator_panel", "scale_status", "designations", "credit_records", "events")
DISPLAY = ["name", "credit_code", "county_code", "sector"]


def output_schema(plan: list[CompiledMeasure]) -> pa.Schema:
    """The schema every partition yields for this plan (the same whatever rows a partition holds)."""
    fields = [pa.field("entity_id", pa.large_string()), *[pa.field(c, pa.large_string()) for c in DISPLAY]]
    for cm in plan:
        fields += [pa.field(col(cm.id, f"c|{cc.condition.id}"), pa.bool_()) for cc in cm.conditions]
        fields.append(pa.field(col(cm.id, "status"), pa.large_string()))
        if cm.measure.kind == "money":
            fields += [pa.field(col(cm.id, w), pa.int64()) for w in ("computed", "amount", "award")]
    return pa.schema(fields)


def unpack(frame: pl.DataFrame, schemas: Mapping[str, Mapping[str, pl.DataType]]) -> dict[str, pl.DataFrame]:
    """Self-contained enterprise rows → the tables of docs/data-model.md (only these enterprises' rows)."""
    nested = [t for t in RELATED if t in frame.columns]
    tables = {"enterprises": frame.drop(nested)}
    for t in nested:
        rows = frame.select(pl.col(t).explode()).drop_nulls(t)  # an enterprise without rows has an empty list
        rows = rows.unnest(t) if rows.height else pl.DataFrame(schema=dict(schemas[t]))
        # a stored enterprise_index numbers the whole register's rows, never this partition's: not carried over
        tables[t] = rows.select([pl.col(c).cast(d) for c, d in schemas[t].items() if c != INDEX])
    return tables


def evaluate_frame(frame: pl.DataFrame, period: str, ruleset: RuleSet, schemas: Mapping[str, Mapping[str, pl.DataType]],
                   params: Mapping[str, object] | None = None, measures: list[str] | None = None) -> pl.DataFrame:
    """One partition in Polars: facts of its enterprises, then the evaluator; the output of :func:`output_schema`."""
    from huiqi.services.facts import enterprise_facts

    # only the facts the measures read, as in a single process (docs/decisions.md FACTS-1)
    fields = ruleset.fields_read(period, "enterprise", ruleset.resolve_parameters(params), measures)
    facts = enterprise_facts(unpack(frame, schemas), period, fields)
    ev = ruleset.evaluate(facts, period, entity="enterprise", params=params, measures=measures,
                          keep=["entity_id", *DISPLAY])
    schema = output_schema(ev.plan)
    return ev.frame.select([pl.col(f.name).cast(pl.String if pa.types.is_large_string(f.type) else
                                                pl.Boolean if pa.types.is_boolean(f.type) else pl.Int64)
                            for f in schema])


def evaluate_batches(batches: Iterable[pa.RecordBatch], period: str, schemas: Mapping[str, Mapping[str, pl.DataType]],
                     params: Mapping[str, object] | None = None, measures: list[str] | None = None,
                     ruleset: RuleSet | None = None) -> Iterator[pa.RecordBatch]:
    """The ``mapInArrow`` function: each input batch of enterprise rows → one batch of their evaluation."""
    from huiqi.services.calculator import default_ruleset

    ruleset = ruleset or default_ruleset()  # loaded once per worker process (workers are reused)
    schema = None
    for batch in batches:
        if batch.num_rows == 0:
            continue
        out = evaluate_frame(pl.from_arrow(batch), period, ruleset, schemas, params, measures)
        table = out.to_arrow()
        schema = schema or output_schema(ruleset.plan(period, "enterprise", ruleset.resolve_parameters(params),
                                                      measures))
        yield from table.cast(schema).to_batches()


def nest_locally(tables: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """The self-contained enterprise rows built in Polars (what the Spark job builds with collect_list):
    for tests, and for a partitioned run without a cluster."""
    out = tables["enterprises"]
    for t in RELATED:
        if t in tables:
            nested = tables[t].with_columns(pl.col("credit_code").alias("_key")).group_by("_key").agg(
                pl.struct(pl.all()).alias(t))  # the struct keeps credit_code, as Spark's struct(*) does
            out = out.join(nested, left_on="credit_code", right_on="_key", how="left", maintain_order="left")
    return out


def evaluation_from_frame(frame: pl.DataFrame, period: str, ruleset: RuleSet,
                          params: Mapping[str, object] | None = None, measures: list[str] | None = None) -> Evaluation:
    """The collected partition outputs as an :class:`Evaluation` for the allocation step (statuses back to the
    evaluator's Enum; entity order made deterministic by sorting on the entity ID)."""
    values = ruleset.resolve_parameters(params)
    plan = ruleset.plan(period, "enterprise", values, measures)
    frame = frame.sort("entity_id").with_columns(
        [pl.col(col(cm.id, "status")).cast(STATUS_DTYPE) for cm in plan])
    return Evaluation(ruleset, period, "enterprise", values, plan, frame.select(["entity_id", *DISPLAY]), frame)
