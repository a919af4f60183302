"""Turn facts as people write them (元 or 万元, Chinese or English names) into the engine's exact columns.

Money: a number is 元 unless the key or the value says 万元/亿元 ("output_q_万元", "当季工业总产值（万元）",
"499.9万元"). Values are parsed as Decimal (huiqi.core.money); anything finer than 1 分 is an error, never
silently rounded. Every value is checked against the bounds of its field kind (huiqi.core.bounds) — the same
checks as the importer's — so a negative 产值, 1e308, NaN or a NUL byte is a Chinese message naming the field.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Iterable, Mapping

import polars as pl

from huiqi.core import bounds
from huiqi.core.values import (  # noqa: F401  (re-exported: the engine's facts are read with the same functions)
    UNIT_FACTORS, InputError, split_unit, to_bool, to_date, to_hundredths, to_text,
)
from huiqi.rules.fields import DataDictionary, FieldDef, default_dictionary

_POLARS_TYPES = {"money": pl.Int64, "number": pl.Int64, "bool": pl.Boolean, "date": pl.Date, "text": pl.String}


def check_bounds(value: int | None, f: FieldDef, label: str) -> int | None:
    """The bounds of the field's kind (huiqi.core.bounds); negative only for a field that can be negative."""
    if value is None:
        return None
    try:
        return bounds.check_number(value, bounds.kind_for(f.type, f.unit), signed=bounds.may_be_negative(f.label))
    except bounds.OutOfBounds as e:
        raise InputError(f"{label}：{e}") from None


def normalize_facts(facts: Mapping[str, Any], dictionary: DataDictionary | None = None,
                    default_money_unit: str | None = None) -> dict[str, Any]:
    """One entity's facts → {field name: internal value}. Unknown keys are an error (a typo is not a fact)."""
    dictionary = dictionary or default_dictionary()
    out: dict[str, Any] = {}
    for key, value in facts.items():
        name, f, unit = _resolved_key(dictionary, key) if isinstance(key, str) else _resolve_key(dictionary, str(key))
        if f is None:
            out["entity_id"] = to_text(value, "主体编号")
            continue
        label = f.label  # Chinese only: people read it, not the field code
        if isinstance(value, str):
            value = to_text(value, label)
        if f.type == "money":
            out[name] = check_bounds(to_hundredths(value, unit or default_money_unit, label), f, label)
        elif f.type == "number":
            out[name] = check_bounds(to_hundredths(value, None, label), f, label)
        elif f.type == "bool":
            out[name] = to_bool(value, label)
        elif f.type == "date":
            out[name] = to_date(value, label)
        else:
            out[name] = to_text(value, label)
    return out


def _resolve_key(dictionary: DataDictionary, key: str) -> tuple[str, FieldDef | None, str | None]:
    """A facts key → (field name, its definition, the unit the key names); ("entity_id", None, None) for the
    entity's own ID. An unknown or out-of-bounds key raises InputError (in Chinese)."""
    key = to_text(key, "字段名")
    if key in ("entity_id", "id"):
        return "entity_id", None, None
    base, unit = split_unit(key)
    name = dictionary.resolve(base) or dictionary.resolve(key)
    if name is None:
        raise InputError(f"未知字段“{key[:50]}”：请对照数据字典")
    return name, dictionary[name], unit


# Keys come from a small vocabulary (field names, labels, aliases, with units): resolved once per dictionary and
# key rather than per request (~a fifth of a served check). A refusal raises and is not remembered; the bound
# keeps a client sending many different keys from growing it.
_resolved_key = lru_cache(maxsize=4096)(_resolve_key)


def facts_frame(records: Iterable[Mapping[str, Any]], dictionary: DataDictionary | None = None,
                default_money_unit: str | None = None) -> pl.DataFrame:
    """Several entities' facts → one typed frame (the evaluator's input)."""
    dictionary = dictionary or default_dictionary()
    return normalized_frame([normalize_facts(r, dictionary, default_money_unit) for r in records], dictionary)


def normalized_frame(rows: list[dict], dictionary: DataDictionary) -> pl.DataFrame:
    """Normalised facts (internal values) → the evaluator's typed frame; a field absent from a row is null."""
    names = sorted({k for r in rows for k in r})
    schema = {n: (pl.String if n == "entity_id" else _POLARS_TYPES[dictionary[n].type]) for n in names}
    data = {n: [r.get(n) for r in rows] for n in names}
    if "entity_id" not in data:
        schema["entity_id"] = pl.String
        data["entity_id"] = [str(i + 1) for i in range(len(rows))]
    return pl.DataFrame(data, schema=schema)
