"""Turn facts as people write them (元 or 万元, Chinese or English names) into the engine's exact columns.

Money: a number is 元 unless the key or the value says 万元/亿元 ("output_q_万元", "当季工业总产值（万元）",
"499.9万元"). Values are parsed as Decimal; anything finer than 1 分 is an error, never silently rounded.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Mapping

import polars as pl

from huiqi.rules.fields import SCALE, DataDictionary, default_dictionary

UNIT_FACTORS = {"元": Decimal(1), "万元": Decimal(10_000), "亿元": Decimal(100_000_000)}
_UNIT_IN_KEY = re.compile(r"^(?P<name>.+?)\s*(?:[（(](?P<unit>[^）)]+)[）)]|_(?P<unit2>万元|亿元|元))$")
_POLARS_TYPES = {"money": pl.Int64, "number": pl.Int64, "bool": pl.Boolean, "date": pl.Date, "text": pl.String}
_TRUE = {"true", "1", "是", "yes", "y", "有", "√"}
_FALSE = {"false", "0", "否", "no", "n", "无", "×"}


class InputError(ValueError):
    """A fact that cannot be read; the message names the field and says why, in Chinese."""


def split_unit(key: str) -> tuple[str, str | None]:
    """'当季工业总产值（万元）' → ('当季工业总产值', '万元'); 'output_q_万元' → ('output_q', '万元')."""
    m = _UNIT_IN_KEY.match(key.strip())
    if m:
        unit = m.group("unit") or m.group("unit2")
        return m.group("name").strip(), unit
    return key.strip(), None


def to_hundredths(value: Any, unit: str | None, label: str) -> int | None:
    """An exact integer in hundredths (分 for money) from 8169227.00, '816.92万元', Decimal('1.5') …"""
    if value is None or (isinstance(value, str) and value.strip() in ("", "-", "—")):
        return None
    if isinstance(value, bool):
        raise InputError(f"{label}：应为数值，得到的是“{value}”")
    if isinstance(value, float):
        value = repr(value)  # the shortest text that round-trips; never the binary expansion
    text = str(value).strip().replace(",", "").replace("，", "")
    for u in ("亿元", "万元", "元"):
        if text.endswith(u):
            text, unit = text[: -len(u)].strip(), u
            break
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise InputError(f"{label}：“{value}”不是数值") from None
    if unit not in (None, *UNIT_FACTORS):
        raise InputError(f"{label}：不认识的单位“{unit}”（可用 元、万元、亿元）")
    scaled = number * UNIT_FACTORS.get(unit or "元", Decimal(1)) * SCALE
    if scaled != scaled.to_integral_value():
        raise InputError(f"{label}：“{value}”精度超过0.01元（分），请核对")
    return int(scaled)


def to_bool(value: Any, label: str) -> bool | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InputError(f"{label}：“{value}”应为 是/否")


def to_date(value: Any, label: str) -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip().replace("/", "-").replace(".", "-")
    m = re.match(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$", text)
    if m:
        text = f"{m.group(1)}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{label}：“{value}”不是有效日期（应为 YYYY-MM-DD）") from None


def normalize_facts(facts: Mapping[str, Any], dictionary: DataDictionary | None = None,
                    default_money_unit: str | None = None) -> dict[str, Any]:
    """One entity's facts → {field name: internal value}. Unknown keys are an error (a typo is not a fact)."""
    dictionary = dictionary or default_dictionary()
    out: dict[str, Any] = {}
    for key, value in facts.items():
        if key in ("entity_id", "id"):
            out["entity_id"] = str(value)
            continue
        base, unit = split_unit(key)
        name = dictionary.resolve(base) or dictionary.resolve(key)
        if name is None:
            raise InputError(f"未知字段“{key}”：请对照数据字典（docs/data-dictionary.md）")
        f = dictionary[name]
        label = f"{f.label}（{name}）"
        if f.type == "money":
            out[name] = to_hundredths(value, unit or default_money_unit, label)
        elif f.type == "number":
            out[name] = to_hundredths(value, None, label)
        elif f.type == "bool":
            out[name] = to_bool(value, label)
        elif f.type == "date":
            out[name] = to_date(value, label)
        else:
            out[name] = None if value is None else str(value)
    return out


def facts_frame(records: Iterable[Mapping[str, Any]], dictionary: DataDictionary | None = None,
                default_money_unit: str | None = None) -> pl.DataFrame:
    """Several entities' facts → one typed frame (the evaluator's input)."""
    dictionary = dictionary or default_dictionary()
    rows = [normalize_facts(r, dictionary, default_money_unit) for r in records]
    names = sorted({k for r in rows for k in r})
    schema = {n: (pl.String if n == "entity_id" else _POLARS_TYPES[dictionary[n].type]) for n in names}
    data = {n: [r.get(n) for r in rows] for n in names}
    if "entity_id" not in data:
        schema["entity_id"] = pl.String
        data["entity_id"] = [str(i + 1) for i in range(len(rows))]
    return pl.DataFrame(data, schema=schema)
