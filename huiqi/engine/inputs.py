"""Turn facts as people write them (元 or 万元, Chinese or English names) into the engine's exact columns.

Money: a number is 元 unless the key or the value says 万元/亿元 ("output_q_万元", "当季工业总产值（万元）",
"499.9万元"). Values are parsed as Decimal (huiqi.core.money); anything finer than 1 分 is an error, never
silently rounded. Every value is checked against the bounds of its field kind (huiqi.core.bounds) — the same
checks as the importer's — so a negative 产值, 1e308, NaN or a NUL byte is a Chinese message naming the field.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterable, Mapping

import polars as pl

from huiqi.core import bounds, money
from huiqi.rules.fields import DataDictionary, FieldDef, default_dictionary

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
    """An exact integer in hundredths (分 for money) from 8169227.00, '816.92万元', Decimal('1.5') …

    Not bounded here (the caller knows the field kind: check_bounds)."""
    if value is None or (isinstance(value, str) and value.strip() in ("", "-", "—")):
        return None
    if isinstance(value, str):
        _, written = money.split_unit(value)
        if written == "分":  # "分" is not a unit people write in facts
            raise InputError(f"{label}：不认识的单位“分”（可用 元、万元、亿元）")
    if unit not in (None, *UNIT_FACTORS):
        raise InputError(f"{label}：不认识的单位“{unit}”（可用 元、万元、亿元）")
    try:
        return money.parse_fen(value, unit)
    except money.MoneyError as e:
        raise InputError(f"{label}：{e}") from None


def check_bounds(value: int | None, f: FieldDef, label: str) -> int | None:
    """The bounds of the field's kind (huiqi.core.bounds); negative only for a field that can be negative."""
    if value is None:
        return None
    try:
        return bounds.check_number(value, bounds.kind_for(f.type, f.unit), signed=bounds.may_be_negative(f.label))
    except bounds.OutOfBounds as e:
        raise InputError(f"{label}：{e}") from None


def to_text(value: Any, label: str) -> str | None:
    if value is None:
        return None
    try:
        return bounds.check_text(str(value))
    except bounds.OutOfBounds as e:
        raise InputError(f"{label}：{e}") from None


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
        d = value.date()
    elif isinstance(value, date):
        d = value
    else:
        text = str(value).strip().replace("/", "-").replace(".", "-")
        m = re.match(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$", text)
        if m:
            text = f"{m.group(1)}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"
        try:
            d = date.fromisoformat(text)
        except ValueError:
            raise InputError(f"{label}：“{value}”不是有效日期（应为 YYYY-MM-DD）") from None
    try:
        return bounds.check_date(d)
    except bounds.OutOfBounds as e:
        raise InputError(f"{label}：{e}") from None


def normalize_facts(facts: Mapping[str, Any], dictionary: DataDictionary | None = None,
                    default_money_unit: str | None = None) -> dict[str, Any]:
    """One entity's facts → {field name: internal value}. Unknown keys are an error (a typo is not a fact)."""
    dictionary = dictionary or default_dictionary()
    out: dict[str, Any] = {}
    for key, value in facts.items():
        key = to_text(key, "字段名") if isinstance(key, str) else str(key)
        if key in ("entity_id", "id"):
            out["entity_id"] = to_text(value, "主体编号")
            continue
        base, unit = split_unit(key)
        name = dictionary.resolve(base) or dictionary.resolve(key)
        if name is None:
            raise InputError(f"未知字段“{key[:50]}”：请对照数据字典")
        f = dictionary[name]
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
