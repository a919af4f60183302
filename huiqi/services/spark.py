"""免申即享 screening on an existing Spark cluster (docs/scale-out.md).

    Spark: enterprises ⟕ collect_list(struct(*)) of each related table, by credit_code  (one shuffle)
           └─ mapInArrow(huiqi.services.partition.evaluate_batches)   facts + evaluation, per partition
    driver: collect the wide evaluation → huiqi.services.screening.assemble (allocation, counts, manifest)

Projects and 县区 are a few thousand rows: they are evaluated on the driver exactly as a single process does.
PySpark is imported here only, so nothing else in huiqi needs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import polars as pl

from huiqi.engine.allocate import AllocationOptions
from huiqi.engine.evaluate import RuleSet
from huiqi.services import facts as facts_mod
from huiqi.services import partition
from huiqi.services.screening import DISPLAY, ScreeningRun, assemble

ENTERPRISE_TABLES = ("enterprises", *partition.RELATED)


def _quarters(period: str) -> list[str]:
    p = facts_mod.Period.parse(period)
    return [*p.quarters(p.year - 1, 4), *p.quarters(p.year, 4)]


def nested_enterprises(spark_tables: Mapping[str, Any], period: str):
    """The self-contained enterprise rows as a Spark DataFrame: each related table grouped by credit_code into a
    list of structs and left-joined to the enterprises (indicators filtered to the two years the facts read)."""
    from pyspark.sql import functions as F

    out = spark_tables["enterprises"]
    indicator_table = "indicator_panel" if "indicator_panel" in spark_tables else "indicators"
    for name in partition.RELATED:
        if name not in spark_tables or (name in ("indicators", "indicator_panel") and name != indicator_table):
            continue
        df = spark_tables[name]
        if name in ("indicators", "indicator_panel"):
            df = df.filter(F.col("period").isin(_quarters(period)))
        nested = df.groupBy(F.col("credit_code").alias("_key")).agg(
            F.collect_list(F.struct(*df.columns)).alias(name))
        out = out.join(nested, out["credit_code"] == nested["_key"], "left").drop("_key")
    return out


def screen_on_spark(spark, tables: Mapping[str, Any], period: str, *, params: Mapping[str, object] | None = None,
                    measures: list[str] | None = None, options: AllocationOptions = AllocationOptions(),
                    ruleset: RuleSet | None = None, data_hash: str | None = None,
                    partitions: int | None = None) -> ScreeningRun:
    """Screen ``period`` with the enterprise facts and evaluation on Spark and the allocation on the driver.

    ``tables``: the frames of docs/data-model.md; the enterprise tables may be Spark DataFrames (a cluster reads
    them from Parquet: :func:`read_tables`) or Polars frames (sent to Spark), the rest are Polars frames.
    The result equals :func:`huiqi.services.screening.screen` with ``explain=False``, row for row once sorted.
    """
    from pyspark.sql.pandas.types import from_arrow_schema

    from huiqi.services.calculator import default_ruleset

    ruleset = ruleset or default_ruleset()
    p = facts_mod.Period.parse(period)
    resolved = ruleset.resolve_parameters(params)
    local = {k: v for k, v in tables.items() if isinstance(v, pl.DataFrame)}
    if data_hash is None:
        if len(local) < len(tables):
            raise ValueError("数据在集群上时须给出数据快照哈希（data_hash，见 docs/scale-out.md）")
        from huiqi.data.store import snapshot_hash

        data_hash = snapshot_hash(local)[:16]  # the single-process run's hash of the same frames
    spark_tables, schemas = {}, {}
    for name in ENTERPRISE_TABLES:
        if name not in tables:
            continue
        t = tables[name]
        if isinstance(t, (pl.DataFrame, pl.LazyFrame)):
            frame = t.collect() if isinstance(t, pl.LazyFrame) else t
            schemas[name] = dict(frame.schema)
            unsigned = [c for c, d in frame.schema.items() if d.is_unsigned_integer()]  # Spark has none
            spark_tables[name] = spark.createDataFrame(frame.with_columns(pl.col(unsigned).cast(pl.Int64)).to_arrow())
        else:
            spark_tables[name] = t
            schemas[name] = dict(pl.from_arrow(_empty_arrow(t)).schema)
    evaluations = {}
    plan = ruleset.plan(period, "enterprise", resolved, measures)
    if plan:
        nested = nested_enterprises(spark_tables, period)
        if partitions:
            nested = nested.repartition(partitions, "credit_code")
        schema = from_arrow_schema(partition.output_schema(plan))

        def run(batches, _period=period, _schemas=schemas, _params=dict(params or {}), _measures=measures):
            from huiqi.services.partition import evaluate_batches

            return evaluate_batches(batches, _period, _schemas, _params, _measures)

        table = nested.mapInArrow(run, schema).toArrow()
        frame = pl.from_arrow(table)
        evaluations["enterprise"] = partition.evaluation_from_frame(frame, period, ruleset, params, measures)
    small = {
        "project": lambda fields: facts_mod.project_facts({**local, "enterprises": _owners(spark_tables, local)},
                                                          p, fields),
        "county": lambda fields: facts_mod.county_facts(tables, p, resolved.get("lz2026q3_1_weight_invest"),
                                                        resolved.get("lz2026q3_1_weight_output"), fields),
    }
    for entity, build in small.items():
        if ruleset.measures_for(period, entity, measures):
            fields = ruleset.fields_read(period, entity, resolved, measures)  # as a single process (FACTS-1)
            evaluations[entity] = ruleset.evaluate(build(fields), period, entity=entity, params=params,
                                                   measures=measures, keep=["entity_id", *DISPLAY])
    return assemble(evaluations, local, period, ruleset, params=params, options=options, explain=False,
                    data_hash=data_hash)


def _owners(spark_tables: Mapping[str, Any], local: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """The enterprises that own projects (their names label the projects), collected to the driver."""
    from pyspark.sql import functions as F

    codes = local["projects"]["credit_code"].unique().to_list() if "projects" in local else []
    return pl.from_arrow(spark_tables["enterprises"].filter(F.col("credit_code").isin(codes)).toArrow())


def _empty_arrow(df):
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(df.schema).empty_table()


def read_tables(spark, directory: str | Path) -> dict[str, Any]:
    """A data directory (``<table>.parquet`` on any file system Spark reads: HDFS, S3, local): the enterprise
    tables as Spark DataFrames, the small tables (县区, projects, targets) collected to the driver as Polars."""
    from huiqi.data.columns import TABLES

    d = str(directory).rstrip("/")
    out: dict[str, Any] = {}
    for name in [*TABLES, "indicator_panel"]:
        try:
            df = spark.read.parquet(f"{d}/{name}.parquet")
        except Exception:  # noqa: BLE001 - an absent optional table (Spark raises AnalysisException)
            continue
        out[name] = df if name in ENTERPRISE_TABLES else pl.from_arrow(df.toArrow())
    if "indicator_panel" in out:
        out.pop("indicators", None)  # the panel replaces the long table for screening (huiqi.data.panel)
    return out
