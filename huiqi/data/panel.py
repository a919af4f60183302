"""The panel layout of the indicators: one row per enterprise and quarter, one column per indicator.

The long `indicators` table (docs/data-model.md) is the import and database layout. For screening at scale the
same facts are stored as a panel — the shape of the statistics return itself (统计联网直报: one form per
enterprise per period, many indicators) — so building a period's facts is a few joins instead of a pivot of
tens of millions of rows. `indicator_panel.parquet` beside the other tables is used when present.

Like a warehouse surrogate key, each panel row also carries `enterprise_index`: the row number of its
enterprise in `enterprises.parquet`, so the per-quarter joins are on an integer, not an 18-character string
(`credit_code` stays in the file). The index is trusted only for the register it was written from: the panel's
Parquet metadata holds that register's fingerprint (:func:`register_fingerprint`), and a directory whose register
has changed since is read without the index (:func:`panel_index_current`, docs/decisions.md MERGE9-1). The side tables the
enterprise facts group per enterprise (:data:`SIDE_TABLES`) carry the same column (:func:`write_side_indexes`), so
their rows are grouped by that integer instead of looking up millions of codes in the register at every run
(docs/decisions.md FACTS4).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from huiqi.data.columns import INDICATORS as _INDICATOR_DEFS

if TYPE_CHECKING:  # pyarrow is imported where it is used: a web worker's start-up does not load it
    import pyarrow as pa

INDICATOR_CODES = list(_INDICATOR_DEFS)


def long_to_panel(long: pl.DataFrame) -> pl.DataFrame:
    """indicators (credit_code, period, indicator, value) → (credit_code, period, <one column per indicator>)."""
    wide = long.pivot(on="indicator", index=["credit_code", "period"], values="value", aggregate_function="first")
    missing = [c for c in INDICATOR_CODES if c not in wide.columns]
    return wide.with_columns([pl.lit(None, dtype=pl.Int64).alias(c) for c in missing]) \
        .select("credit_code", "period", *INDICATOR_CODES)


# the panel's Parquet key-value metadata: the fingerprint of the register its enterprise_index was written from
REGISTER_FINGERPRINT = b"huiqi.register_sha256"


def register_fingerprint(codes: pl.Series | pa.Array | pa.ChunkedArray) -> str:
    """SHA-256 of the register's credit codes in row order: equal fingerprints, equal codes at every row, so an index
    of row numbers written for one register is right for the other. Hashed from the Arrow buffers as they are read
    (each code's byte length, -1 for a null, in one digest; the codes' bytes in another), the same however the
    column is split into chunks: ~4× cheaper at 1M than joining the codes into one text (docs/decisions.md MERGE9-3)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    column = codes.to_arrow() if isinstance(codes, pl.Series) else codes
    lengths, data = hashlib.sha256(), hashlib.sha256()
    for chunk in (column.chunks if isinstance(column, pa.ChunkedArray) else [column]):
        if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
            chunk = chunk.cast(pa.large_string())
        nulls = chunk.is_null().to_numpy(zero_copy_only=False) if chunk.null_count else None
        if nulls is not None:  # a null's slot may hold bytes: not the code's, so not hashed
            chunk = pc.fill_null(chunk, "")
        _, offsets_buffer, data_buffer = chunk.buffers()
        width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        offsets = np.frombuffer(offsets_buffer, dtype=width, count=len(chunk) + 1, offset=chunk.offset * width().itemsize)
        sizes = np.diff(offsets).astype("<i8")
        if nulls is not None:
            sizes[nulls] = -1
        lengths.update(sizes.tobytes())
        if data_buffer is not None:
            data.update(memoryview(data_buffer)[int(offsets[0]):int(offsets[-1])])
    return hashlib.sha256(lengths.digest() + data.digest()).hexdigest()


def _register_codes(directory: Path) -> pl.Series:
    return pl.read_parquet(directory / "enterprises.parquet", columns=["credit_code"]).get_column("credit_code")


def panel_index_current(directory: str | Path) -> bool:
    """Whether ``directory``'s indicator panel was written from its register as it is now (the stored fingerprint
    equals the register's): only then does its enterprise_index point at the right rows. A panel written before
    the fingerprint was stored, or a register edited, replaced or re-sorted since, is not current."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    d = Path(directory)
    try:
        stored = (pq.read_schema(d / "indicator_panel.parquet").metadata or {}).get(REGISTER_FINGERPRINT)
        return stored is not None and stored.decode() == register_fingerprint(_register_codes(d))
    except (OSError, pa.ArrowException, pl.exceptions.PolarsError):  # unreadable: not current (its reader says why)
        return False


def write_panel(directory: str | Path) -> Path:
    """Write <directory>/indicator_panel.parquet from <directory>/indicators.parquet, one quarter at a time, with
    the register's fingerprint in its metadata; then the side tables' enterprise_index (:func:`write_side_indexes`)."""
    import pyarrow.parquet as pq

    d = Path(directory)
    source = pl.scan_parquet(d / "indicators.parquet")
    codes = _register_codes(d)
    index = codes.to_frame().with_row_index("enterprise_index")
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
                schema = table.schema.with_metadata({REGISTER_FINGERPRINT: register_fingerprint(codes)})
                writer = pq.ParquetWriter(target, schema, compression="zstd")
            writer.write_table(table, row_group_size=1 << 20)
    finally:
        if writer is not None:
            writer.close()
    write_side_indexes(d)
    return target


# the tables whose rows the enterprise facts group per enterprise (huiqi.services.facts._side_columns), and the
# projects, placed beside their owner's register row (facts._with_owners)
SIDE_TABLES = ("scale_status", "designations", "events", "credit_records", "projects")
INDEX = "enterprise_index"


def register_index(register: pl.Series, codes: pl.Series) -> pl.Series:
    """For each of ``codes``, the first row of ``register`` holding it (UInt32; null: absent, or a null code)."""
    first = register.to_frame("credit_code").with_row_index(INDEX).drop_nulls("credit_code") \
        .unique("credit_code", keep="first")
    return codes.to_frame("credit_code").join(first, on="credit_code", how="left", maintain_order="left") \
        .get_column(INDEX)


def write_side_indexes(directory: str | Path) -> list[str]:
    """Store ``enterprise_index`` (the enterprise's row in enterprises.parquet, null for a code the register lacks)
    as the last column of each side table of ``directory`` present; returns the tables rewritten.

    Idempotent: a table whose index already equals the one this register gives is left alone (same bytes, so the
    data hash does not change). Each rewrite goes to a temporary file renamed over the table, row group by row
    group, so the rows, their order, row groups (the year and date statistics a scan prunes by) and compression
    stay as they were. Readers of the data model (huiqi.data.synthetic.read_parquet, the database) select their
    own columns and ignore this one; the facts trust it only after checking it (huiqi.services.facts)."""
    import pyarrow.parquet as pq

    d = Path(directory)
    register = _register_codes(d)
    rewritten = []
    for name in SIDE_TABLES:
        path = d / f"{name}.parquet"
        if not path.exists():
            continue
        source = pq.ParquetFile(path)
        names = source.schema_arrow.names
        stored = pl.read_parquet(path, columns=["credit_code", *([INDEX] if INDEX in names else [])])
        index = register_index(register, stored.get_column("credit_code"))
        if INDEX in names and stored.get_column(INDEX).cast(pl.UInt32, strict=False).equals(index):
            continue
        _write_with_index(source, path, index)
        rewritten.append(name)
    return rewritten


def _write_with_index(source, path: Path, index: pl.Series) -> None:
    """``path``'s rows with ``index`` as the last column (an older one replaced), through a temporary file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    meta = source.metadata
    compression = meta.row_group(0).column(0).compression.lower() if meta.num_row_groups else "zstd"
    schema = source.schema_arrow
    if INDEX in schema.names:
        schema = schema.remove(schema.get_field_index(INDEX))
    schema = schema.append(pa.field(INDEX, pa.uint32()))
    temporary = path.with_name(path.name + ".tmp")  # not *.parquet: no reader of the directory sees it half written
    # row numbers as deltas: plain (a million distinct values defeat the dictionary) made the 1M register's
    # scale_status 52% larger, deltas 1.5% (docs/decisions.md FACTS4-1)
    encoding = {"use_dictionary": [n for n in schema.names if n != INDEX], "column_encoding": {INDEX: "DELTA_BINARY_PACKED"}}
    try:
        with pq.ParquetWriter(temporary, schema, compression=compression, **encoding) as writer:
            start = 0
            for group in range(meta.num_row_groups):
                table = source.read_row_group(group)
                if INDEX in table.column_names:
                    table = table.drop_columns([INDEX])
                table = table.append_column(INDEX, index.slice(start, table.num_rows).to_arrow())
                start += table.num_rows
                writer.write_table(table, row_group_size=max(table.num_rows, 1))
            if not meta.num_row_groups:
                writer.write_table(schema.empty_table())
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)
