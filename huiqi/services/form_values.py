"""One input language for money and rates in every form (参数与预算, 政策沙盘, 政策计算器) — issue 11.

People write amounts and rates the way they speak and the way the policy texts print them:

* rates: ``5%``, ``5 ％``, ``0.05``, ``1/20`` → exactly 1/20 (a bare number is the fraction itself: 0.05, not 5%);
* money: ``1,000万元``, ``1000万``, ``1,000,000元``, ``1000000``, ``0.1亿`` → exact integer 分 (huiqi.core.money;
  a bare number is 元).

Full-width digits and punctuation (１，０００万元, ５％) are read as their ASCII forms. Every error is a Chinese
reason without the field name; `parse_form` collects all errors of a form at once, keyed by field, so a page
can show each beside its field.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from fractions import Fraction
from typing import Any, Mapping

from huiqi.core import money

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)|[+-]?\d+/\d+")


class FormValueError(ValueError):
    """A value that cannot be read; the argument is the Chinese reason (the caller names the field)."""


def _normalise(value: Any) -> str:
    text = unicodedata.normalize("NFKC", str(value)).strip()
    return text.replace(",", "").replace(" ", "")


def parse_rate(value: Any) -> Fraction | None:
    """'5%' / '0.05' / '1/20' → Fraction(1, 20); None when blank."""
    if value is None or isinstance(value, bool):
        if isinstance(value, bool):
            raise FormValueError(f"“{value}”不是比例")
        return None
    text = _normalise(value)
    if text in ("", "-", "—"):
        return None
    percent = text.endswith("%")
    if percent:
        text = text[:-1]
    if not _NUMBER.fullmatch(text):
        raise FormValueError(f"“{value}”不是数值（比例可写 5% 或 0.05）")
    try:
        number = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise FormValueError(f"“{value}”不是数值（比例可写 5% 或 0.05）") from None
    return number / 100 if percent else number


def parse_money_fen(value: Any, default_unit: str = "元") -> int | None:
    """'1,000万元' / '1000万' / '1,000,000元' / '0.1亿' → exact integer 分; None when blank."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise FormValueError(f"“{value}”不是金额")
    text = _normalise(value)
    if text in ("", "-", "—"):
        return None
    if text.endswith(("万", "亿")):  # "1000万" as people say it: 万元 / 亿元
        text += "元"
    number, unit = money.split_unit(text)
    if not _NUMBER.fullmatch(number) or "/" in number:
        raise FormValueError(f"“{value}”不是数值（金额可写 1,000万元、1000万 或 1,000,000元）")
    try:
        return money.parse_fen(number, unit or default_unit)
    except money.MoneyError as e:
        raise FormValueError(str(e)) from None


def parse_value(kind: str, value: Any, *, allow_negative: bool = False) -> str | None:
    """A form value as the exact decimal text the engine stores: rate → '0.05', money → 元 ('10000000'),
    number → '3' (points: a number in %, '3.8%' → '3.8'), bool → 'true'/'false'. None when blank (back to the default / unknown)."""
    if kind == "bool":
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        text = _normalise(value).lower()
        if text not in ("true", "false", "是", "否"):
            raise FormValueError("应为 是/否")
        return "true" if text in ("true", "是") else "false"
    if kind == "rate":
        number = parse_rate(value)
    elif kind == "money":
        fen = parse_money_fen(value)
        number = None if fen is None else Fraction(fen, 100)
    else:
        if isinstance(value, bool):
            raise FormValueError(f"“{value}”不是数值")
        if value is None or not _normalise(value):
            return None
        text = _normalise(value)
        if kind == "points" and text.endswith("%"):  # a field whose unit is %: "3.8%" is 3.8 (percentage points)
            text = text[:-1]
        if not _NUMBER.fullmatch(text):
            raise FormValueError(f"“{value}”不是数值")
        number = Fraction(text)
    if number is None:
        return None
    if number < 0 and not allow_negative:
        raise FormValueError("不能为负数")
    return decimal_text(number)


def decimal_text(number: Fraction) -> str:
    """An exact Fraction as plain decimal text when it terminates (0.05, 10000000), else 'p/q'."""
    if number.denominator == 1:
        return str(number.numerator)
    d = number.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    if d != 1:
        return f"{number.numerator}/{number.denominator}"
    text = format(Decimal(number.numerator) / Decimal(number.denominator), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def parse_form(values: Mapping[str, Any], kinds: Mapping[str, str], *,
               allow_negative: frozenset[str] = frozenset()) -> tuple[dict[str, str], dict[str, str]]:
    """Every field of a form at once → (clean values, errors by field). Blank fields are left out of both."""
    clean: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name, value in values.items():
        try:
            text = parse_value(kinds.get(name, "number"), value, allow_negative=name in allow_negative)
        except FormValueError as e:
            errors[name] = str(e)
            continue
        if text is not None:
            clean[name] = text
    return clean, errors
