"""Reading one value as people write it — numbers with 元/万元/亿元, 是/否, dates, text — exactly, bounded, with a
Chinese message naming the field. The lowest layer: the calculator's facts (huiqi.engine.inputs) and the importer
(huiqi.data.importer) read values through the same functions.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from huiqi.core import bounds, money

UNIT_FACTORS = {"元": Decimal(1), "万元": Decimal(10_000), "亿元": Decimal(100_000_000)}
_UNIT_IN_KEY = re.compile(r"^(?P<name>.+?)\s*(?:[（(](?P<unit>[^）)]+)[）)]|_(?P<unit2>万元|亿元|元))$")
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
