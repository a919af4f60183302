"""The panel layout of the indicators: one row per enterprise and quarter, one column per indicator.

The long `indicators` table (docs/data-model.md) is the import and database layout. For screening at scale the
same facts are stored as a panel — the shape of the statistics return itself (统计联网直报: one form per
enterprise per period, many indicators) — so building a period's facts is a few joins instead of a pivot of
tens of millions of rows. `indicator_panel.parquet` beside the other tables is used when present.

Like a warehouse surrogate key, each panel row also carries `enterprise_index`: the row number of its
enterprise in `enterprises.parquet`, so the per-quarter joins are on an integer, not an 18-character string
(`credit_code` stays in the file and is checked against the index before it is trusted).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from huiqi.data.columns import INDICATORS as _INDICATOR_DEFS

INDICATOR_CODES = list(_INDICATOR_DEFS)


def long_to_panel(long: pl.DataFrame) -> pl.DataFrame:
    """indicators (credit_code, period, indicator, value) → (credit_code, period, <one column per indicator>)."""
    wide = long.pivot(on="indicator", index=["credit_code", "period"], values="value", aggregate_function="first")
    missing = [c for c in INDICATOR_CODES if c not in wide.columns]
    return wide.with_columns([pl.lit(None, dtype=pl.Int64).alias(c) for c in missing]) \
        .select("credit_code", "period", *INDICATOR_CODES)


def write_panel(directory: str | Path) -> Path:
    """Write <directory>/indicator_panel.parquet from <directory>/indicators.parquet, one quarter at a time."""
    import pyarrow.parquet as pq

    d = Path(directory)
    source = pl.scan_parquet(d / "indicators.parquet")
    index = pl.read_parquet(d / "enterprises.parquet", columns=["credit_code"]).with_row_index(
        "enterprise_index")
    periods = sorted(source.select(pl.col("period").unique()).collect()["period"].to_list())
    target = d / "indicator_panel.parquet"
    writer = None
    try:
        for period in periods:  # sorted by period, so a reader's period filter skips whole row groups
            part = long_to_panel(source.filter(pl.col("period") == period).collect())
            part = part.join(index, on="credit_code", how="left").sort("enterprise_index") \
                .select("enterprise_index", *part.columns)
            table = part.to_arrow()
            if writer is None:
                writer = pq.ParquetWriter(target, table.schema, compression="zstd")
            writer.write_table(table, row_group_size=1 << 20)
    finally:
        if writer is not None:
            writer.close()
    return target
