"""Money, one way everywhere: parsing (元/万元/亿元 → integer 分, exact), rounding and display.

* Parsing is exact: a value is read as a Decimal (a float by its shortest round-trip text, never its binary
  expansion) and scaled to 分; anything finer than 1 分 is an error, never rounded. NaN, ±∞ and values beyond
  any plausible amount are errors (bounds: huiqi.core.bounds).
* Display rounds **half up (四舍五入)**, the convention of Chinese financial statements and of the policy texts'
  own figures: 1234565000 分 = 1234.565万元 shows as 1234.57万元 in the CLI, the REST API, the web pages and the
  Excel files alike. Rounding is for display only; amounts, sums and comparisons stay in integer 分.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from huiqi.core import bounds

FEN_PER_UNIT = {"分": 1, "元": 100, "万元": 1_000_000, "亿元": 10_000_000_000}
ROUNDING = ROUND_HALF_UP  # 四舍五入 (docs/architecture.md, 「金额」)
_CENT = Decimal("0.01")
_EMPTY = ("", "-", "—", "－")


class MoneyError(ValueError):
    """A money value that cannot be read; the argument is the Chinese reason (without the field name)."""


def split_unit(text: str) -> tuple[str, str | None]:
    """'499.9万元' → ('499.9', '万元'); '1,000' → ('1,000', None)."""
    t = text.strip()
    for u in ("亿元", "万元", "元", "分"):
        if t.endswith(u):
            return t[: -len(u)].strip(), u
    return t, None


def to_decimal(value: Any) -> Decimal | None:
    """A number as people and files give it → Decimal (None when empty); MoneyError if it is not a number."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise MoneyError(f"应为数值，得到的是“{value}”")
    if isinstance(value, float):
        try:
            bounds.check_float(value)
        except bounds.OutOfBounds as e:
            raise MoneyError(str(e)) from None
        value = repr(value)  # the shortest text that round-trips
    if isinstance(value, Decimal):
        number = value
    else:
        text = str(value).strip().replace(",", "").replace("，", "")
        if text in _EMPTY:
            return None
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise MoneyError(f"“{value}”不是数值") from None
    if not number.is_finite():
        raise MoneyError(f"“{value}”不是有效数值")
    if number.adjusted() > 30:  # 10³⁰: far beyond any bound; stops int() from building a huge integer
        raise MoneyError(f"“{value}”超出合理范围，请核对单位和数值")
    return number + 0  # −0 → 0


def scaled(value: Any, factor: int) -> int | None:
    """value × factor as an exact integer (None when empty); MoneyError when finer than 1/factor."""
    number = to_decimal(value)
    if number is None:
        return None
    s = number * factor
    if s != s.to_integral_value():
        raise MoneyError(f"“{value}”精度超过0.01（分），请核对")
    return int(s)


def parse_fen(value: Any, unit: str | None = None) -> int | None:
    """'499.9万元', 8169227.00 (元), Decimal('1.5') with unit 万元 … → exact integer 分 (None when empty).

    A unit written in the value wins over `unit`; without either the value is in 元."""
    if isinstance(value, str):
        value, written = split_unit(value)
        unit = written or unit
    if (unit or "元") not in FEN_PER_UNIT:
        raise MoneyError(f"不认识的单位“{unit}”（可用 元、万元、亿元）")
    try:
        return scaled(value, FEN_PER_UNIT[unit or "元"])
    except MoneyError as e:
        if "精度" in str(e):
            raise MoneyError(f"“{value}{unit or ''}”精度超过0.01元（分），请核对") from None
        raise


# ---------------------------------------------------------------------------------------------------- display

def _dec(fen: int | Fraction | Decimal) -> Decimal:
    if isinstance(fen, Fraction):
        return Decimal(fen.numerator) / Decimal(fen.denominator)
    return Decimal(fen)


def in_unit(fen: int | Fraction | Decimal, unit: str = "万元", places: int = 2) -> Decimal:
    """分 → the unit, rounded half up to `places` decimals."""
    return (_dec(fen) / FEN_PER_UNIT[unit]).quantize(Decimal(1).scaleb(-places), rounding=ROUNDING)


def wan(fen: int | Fraction | Decimal | None) -> Decimal | None:
    """分 → 万元, 2 decimals, half up (the value shown in lists and Excel cells)."""
    return None if fen is None else in_unit(fen, "万元")


def yuan(fen: int | Fraction | Decimal | None) -> Decimal | None:
    """分 → 元, 2 decimals (exact for integer 分; half up for a fraction of a 分)."""
    return None if fen is None else in_unit(fen, "元")


def wan_text(fen, grouping: bool = False) -> str | None:
    """'1234.57' (or '1,234.57')."""
    d = wan(fen)
    return None if d is None else (f"{d:,}" if grouping else str(d))


def yuan_text(fen, grouping: bool = False) -> str | None:
    d = yuan(fen)
    return None if d is None else (f"{d:,}" if grouping else str(d))


def fmt_wan(fen, grouping: bool = True) -> str:
    """'1,234.57万元'; '—' for none."""
    return "—" if fen is None else f"{wan_text(fen, grouping)}万元"


def fmt_yuan(fen, grouping: bool = True) -> str:
    """'12,345,650.00元'; '—' for none."""
    return "—" if fen is None else f"{yuan_text(fen, grouping)}元"


def fmt_wan_exact(fen) -> str:
    """For explanations and gaps: the exact 万元 value, trailing zeros dropped ('499.9万元', '0.000001万元');
    a fraction of a 分 is rounded half up to the 分."""
    d = in_unit(fen, "万元", 6).normalize()
    return f"{format(d, 'f')}万元"
