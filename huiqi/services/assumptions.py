"""Stated assumptions for facts that have no data source (e.g. the 004 六（二） credit gates).

An assumption fills the field for every entity whose data lacks it; it never overwrites data that exists
(a fact from the data outranks an assumption). The run records each assumption as given, so the award list
says what was assumed.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from huiqi.engine.inputs import InputError, normalize_facts
from huiqi.rules.fields import DataDictionary


def resolve(assume: Mapping[str, object], dictionary: DataDictionary) -> tuple[dict, dict[str, str]]:
    """(field → internal value, field → value as written) — unknown fields and bad values are InputError."""
    values = normalize_facts(assume, dictionary)
    written: dict[str, str] = {}
    for key, value in assume.items():
        name = dictionary.resolve(key) or dictionary.resolve(key.split("（")[0])
        if name is None:
            raise InputError(f"未知字段“{key}”：请对照数据字典（docs/data-dictionary.md）")
        written[name] = str(value)
    return values, dict(sorted(written.items()))


def overlay(frame: pl.DataFrame, values: Mapping[str, object]) -> pl.DataFrame:
    """The frame with each assumed field filled where it is missing (a column overlay before evaluation)."""
    fills = [pl.col(k).fill_null(pl.lit(v, dtype=frame.schema[k])) for k, v in values.items()
             if k in frame.columns and v is not None]
    fills += [pl.lit(v).alias(k) for k, v in values.items() if k not in frame.columns and v is not None]
    return frame.with_columns(fills) if fills else frame
