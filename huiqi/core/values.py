"""Reading one value as people write it — numbers with 元/万元/亿元, 是/否, dates, text — exactly, bounded, with a
Chinese message naming the field. The lowest layer: the calculator's facts (huiqi.engine.inputs) and the importer
(huiqi.data.importer) read values through the same functions.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache
from decimal import Decimal
from typing import Any

from huiqi.core import bounds, money

UNIT_FACTORS = {"元": Decimal(1), "万元": Decimal(10_000), "亿元": Decimal(100_000_000)}
_UNIT_IN_KEY = re.compile(r"^(?P<name>.+?)\s*(?:[（(](?P<unit>[^）)]+)[）)]|_(?P<unit2>万元|亿元|元))$")
# a plain decimal of at most 15 digits and 2 places, in ASCII (anything else goes through huiqi.core.money)
_PLAIN = re.compile(r"(-?)([0-9]{1,15})(?:\.([0-9]{1,2}))?")
_PLAIN_MAX = 10**15
_FEN_PER = {None: money.FEN_PER_UNIT["元"], **{u: money.FEN_PER_UNIT[u] for u in ("元", "万元", "亿元")}}
_TRUE = {"true", "1", "是", "yes", "y", "有", "√"}
_FALSE = {"false", "0", "否", "no", "n", "无", "×"}


class InputError(ValueError):
    """A fact that cannot be read; the message names the field and says why, in Chinese."""


@lru_cache(maxsize=4096)  # facts' keys come from a small vocabulary: each is split once per process
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
    fen_per = _FEN_PER.get(unit, 0)
    if fen_per:  # the common cases, exact without Decimal: what the general path below gives for them
        if value.__class__ is str:
            m = _PLAIN.fullmatch(value)
            if m:
                sign, whole, cents = m.groups()
                n = (int(whole) * 100 + (int(cents) * (10 if len(cents) == 1 else 1) if cents else 0)) * fen_per // 100
                return -n if sign else n
        elif value.__class__ is int and -_PLAIN_MAX < value < _PLAIN_MAX:
            return value * fen_per
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
