"""What dictionary-typed (`pl.Enum`) text columns would save a run, measured on its own listing (docs/decisions.md
LIST3-2; the product question MERGE7-3 left open).

One process: `screen()` the period as `huiqi screen` does (list_pending=False), then time, on the listed rows, what
the repeated text columns (measure_id, status, allocation_note, missing, reason) cost as String and what they would
cost as Enum — in the listing (the gathers, the status cast), in results.parquet (pyarrow's writer as
award_list._write_parquet uses it: String columns dictionary-encoded by pyarrow, against dictionary arrays made from
the Enum codes) and reading it back (as read_results does, and with the cast back to String that every consumer
reading text would need). Process CPU (user+sys of every thread), the minimum of --repeat; the two files' contents
are checked equal after casting to String. Nothing of the run's own output is changed.

Run: .venv/bin/python benchmarks/bench_categorical_results.py --size 1000000 [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_screening import ensure_data  # noqa: E402

TEXT = ["measure_id", "status", "allocation_note", "missing", "reason"]
REPEATED = ["measure_id", "status", "allocation_note", "missing"]  # reason: one text per paid row (tens of thousands)


def cpu(fn, repeat: int):
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.process_time()
        out = fn()
        best = min(best, time.process_time() - start)
    return best, out


def parquet_bytes(frame: pl.DataFrame, dictionary_arrays: bool) -> bytes:
    """results.parquet as award_list._write_parquet writes it; ``dictionary_arrays``: the Enum columns handed to pyarrow
    as dictionary arrays built from their codes (Polars' own export of an Enum as a string-view dictionary is refused
    by pyarrow's Parquet writer)."""
    from huiqi.services.award_list import RESULTS_ROW_GROUP, _row_groups

    sink, writer = io.BytesIO(), None
    for group in _row_groups(frame):
        table = group.to_arrow(compat_level=pl.CompatLevel.newest())
        if dictionary_arrays:
            for name, dtype in group.schema.items():
                if isinstance(dtype, pl.Enum):
                    codes = group[name].to_physical().to_arrow().cast(pa.int32())
                    values = pa.array(dtype.categories.to_list(), pa.string())
                    table = table.set_column(table.schema.get_field_index(name), name,
                                             pa.DictionaryArray.from_arrays(codes, values))
        if writer is None:
            encoded = [c for c, t in group.schema.items() if t == pl.String or isinstance(t, pl.Enum)]
            writer = pq.ParquetWriter(sink, table.schema, compression="zstd", compression_level=1,
                                      write_statistics=False, use_dictionary=encoded,
                                      column_encoding={"entity_key": "DELTA_BINARY_PACKED"})
        writer.write_table(table, row_group_size=RESULTS_ROW_GROUP)
    writer.close()
    return sink.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--period", default="2024Q4")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from huiqi.interfaces.cli_common import SCREEN_SCANS, load_tables
    from huiqi.services import award_list, screening

    data = ensure_data(args.size)
    tables = load_tables(data, None, scan=SCREEN_SCANS)
    run = screening.screen(tables, args.period, data_hash=screening.directory_hash(data), list_pending=False)
    results, key = run.entity_keys
    keyed = results.lazy().select(pl.lit(key), *[c for c in results.columns
                                                 if c not in award_list.ENTITY_COLUMNS]).collect()
    enums = {c: pl.Enum(sorted(keyed[c].drop_nulls().unique().to_list())) for c in TEXT}
    print(f"{args.size:,} enterprises, {args.period}: {results.height:,} listed rows; process CPU, min of {args.repeat}")
    print("  distinct values: " + ", ".join(f"{c} {keyed[c].n_unique() - (keyed[c].null_count() > 0):,}"
                                            for c in TEXT))
    rows = []

    def timed(label: str, fn):
        seconds, out = cpu(fn, args.repeat)
        rows.append((label, seconds))
        return out

    as_enum = timed("the five text columns cast String → Enum", lambda: keyed.with_columns(
        pl.col(c).cast(e) for c, e in enums.items()))
    timed("status Enum → String (the listing's cast now)", lambda: as_enum["status"].cast(pl.String))
    shuffled = pl.int_range(keyed.height, dtype=pl.UInt32, eager=True).shuffle(seed=1)
    timed("gather the five as String (any order)", lambda: keyed.select(TEXT)[shuffled])
    timed("gather the five as Enum (any order)", lambda: as_enum.select(TEXT)[shuffled])
    four = keyed.with_columns(pl.col(c).cast(enums[c]) for c in REPEATED)
    now = timed("results.parquet, String columns (as written now)", lambda: parquet_bytes(keyed, False))
    dict_file = timed("results.parquet, four Enum columns as dictionaries", lambda: parquet_bytes(four, True))
    timed("read results.parquet, String columns", lambda: pl.read_parquet(io.BytesIO(now)))
    read = timed("read the dictionary file (Polars: Categorical)", lambda: pl.read_parquet(io.BytesIO(dict_file)))
    back = timed("read the dictionary file, cast back to String",
                 lambda: pl.read_parquet(io.BytesIO(dict_file)).with_columns(pl.col(REPEATED).cast(pl.String)))
    for label, seconds in rows:
        print(f"  {label:55s} {seconds * 1000:8.0f} ms")
    print(f"  results.parquet: {len(now):,} bytes now, {len(dict_file):,} with dictionary columns; read back as "
          + ", ".join(sorted({str(read.schema[c]).split('(')[0] for c in REPEATED})))
    if not back.equals(pl.read_parquet(io.BytesIO(now))):
        raise SystemExit("the two files' contents differ after casting to String")
    print("  contents equal after casting to String")
    print(json.dumps({label: round(seconds, 4) for label, seconds in rows}, ensure_ascii=False))


if __name__ == "__main__":
    main()
