"""The bounds every input value must respect, per field kind — one validation for every input path.

Used by the calculator's facts (huiqi.engine.inputs: Python API, CLI facts file, web form, REST API) and by the
importer (huiqi.data.importer: xlsx/csv/parquet). A value outside its bounds is rejected with a Chinese reason;
the caller adds the field name (and the row/column of a file). Internal numbers are integers in hundredths
(money in 分, other quantities ×100).

Why these maxima (docs/import.md, 「取值范围」): the engine computes in Int64 (Polars). Its largest products
(huiqi/engine/expressions.py):
  * a field × a constant fraction (``pct(50) * x`` → ``x * 1 // 2``; ``wan(x)`` → ``x * 10000``) and the
    cross-multiplied comparisons (``growth(a, b) >= pct(10)`` → ``a * 10 >= b * 11``; ``x >= 1/3`` → ``x * 3``):
    |money| ≤ MONEY_MAX_FEN = 10¹⁴ 分 times any factor up to 92,233 stays below 2⁶³ ≈ 9.22 × 10¹⁸;
  * a field × a field, ``(a * b) // 100``, computed before the division. The rules multiply money only by a
    bounded quantity: 应急周转金 × 费率 × 天数 (hb46) reaches 7.3 × 10¹⁸, the largest; 贷款本金 × least(计息天数,
    365 天) ≤ 10¹⁴ × 36,500 = 3.65 × 10¹⁸; 发票金额 × 年数差 ≈ 2 × 10¹⁸; 税额标准（元/平方米）× 面积 = 5 × 10¹⁷.
    tests/data/test_bounds.py walks every rule expression with these bounds (parameters at their declared
    extremes) and fails if any product or cross-multiplication could reach 2⁶³ — so a larger bound, or a new rule
    multiplying two large fields, is caught before it can overflow.
The allocation step's budget product uses Int128 (huiqi/engine/allocate.py). 10¹⁴ 分 is 1万亿元 — ten times the
annual revenue of the largest Guangxi enterprise, 92,000 times below the Int64 limit.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

INT64_MAX = 2**63 - 1
MONEY_MAX_FEN = 10**14  # 1万亿元
TEXT_MAX_CHARS = 500  # a name, an address, a remark; longer text is a pasted document or an attack
DATE_MIN, DATE_MAX = date(1900, 1, 1), date(2100, 12, 31)


class OutOfBounds(ValueError):
    """A value that is readable but not acceptable; the argument is the Chinese reason (without the field)."""


@dataclass(frozen=True)
class Kind:
    name: str
    label: str  # what the value is, in Chinese, for messages
    maximum: int  # largest magnitude, in internal hundredths (分 for money)
    shown: str  # the maximum as a person reads it


# Number kinds by the data dictionary's unit. Magnitudes in hundredths.
KINDS: dict[str, Kind] = {k.name: k for k in [
    Kind("money", "金额", MONEY_MAX_FEN, "1万亿元"),
    Kind("unit_price", "单价", 10**8, "100万元"),  # 元/平方米, 元/月 …
    Kind("people", "人数", 10**7 * 100, "1000万人"),
    Kind("count", "数量", 10**9 * 100, "10亿"),
    Kind("kwh", "电量", 10**12 * 100, "1万亿千瓦时"),
    Kind("energy", "能耗/重量", 10**10 * 100, "100亿吨"),
    Kind("area", "面积", 10**8 * 100, "1亿平方米"),
    Kind("days", "天数", 36_600 * 100, "36600天（100年）"),
    Kind("months", "月数", 1_200 * 100, "1200个月（100年）"),
    Kind("years", "年数", 200 * 100, "200年"),
    Kind("age", "年龄", 150 * 100, "150岁"),
    Kind("rate", "比率", 100_000 * 100, "100000%"),
    Kind("number", "数值", 10**12 * 100, "1万亿"),
]}

_UNIT_KIND = {
    "元": "money", "人": "people", "名": "people", "户": "count", "个": "count", "次": "count", "家": "count",
    "件": "count", "项": "count", "场": "count", "人月": "count", "千瓦时": "kwh", "度": "kwh", "吨": "energy",
    "吨标准煤": "energy", "平方米": "area", "亩": "area", "天": "days", "工作日": "days", "月": "months",
    "年": "years", "岁": "age", "%": "rate",
}

# Fields that may be negative: a result or a change, not a stock or a flow (利润总额 can be a loss; 增量 and 增长率
# can fall). Decided by the Chinese label (INPUT-2 in docs/decisions.md); every other number is ≥ 0.
_SIGNED = re.compile(r"利润|增量|增加额|增长额|增长率|增速|差额|净额|净利|变动|盈亏")


def kind_for(field_type: str, unit: str | None) -> Kind:
    """The bounds of a data-dictionary field (type money/number, unit 元, 人, 千瓦时, '%' …)."""
    if field_type == "money":
        return KINDS["unit_price" if unit and "/" in unit else "money"]
    if unit and "/" in unit:
        return KINDS["number"]
    return KINDS[_UNIT_KIND.get(unit or "", "number")]


@lru_cache(maxsize=4096)  # labels are the dictionary's: searched once each
def may_be_negative(label: str) -> bool:
    return bool(_SIGNED.search(label or ""))


def check_number(hundredths: int, kind: Kind, *, signed: bool = False) -> int:
    """Raise OutOfBounds unless 0 ≤ value ≤ maximum (or |value| ≤ maximum for a signed field)."""
    if hundredths < 0 and not signed:
        raise OutOfBounds("不能为负数")
    if abs(hundredths) > kind.maximum:
        raise OutOfBounds(f"超出合理范围（{kind.label}不超过{kind.shown}），请核对单位和数值")
    return hundredths


def check_float(value: float) -> None:
    """NaN and ±∞ are not numbers a person can mean; −0.0 is 0."""
    if math.isnan(value) or math.isinf(value):
        raise OutOfBounds(f"“{value}”不是有效数值")


def check_date(d: date) -> date:
    if not DATE_MIN <= d <= DATE_MAX:
        raise OutOfBounds(f"日期“{d.isoformat()}”超出合理范围（{DATE_MIN.year}–{DATE_MAX.year}年）")
    return d


def check_text(text: str, max_chars: int = TEXT_MAX_CHARS) -> str:
    """Reject NUL, other control characters (tab and line breaks inside a cell are allowed) and over-long text.

    A NUL byte crashes PostgreSQL and truncates C strings; other control characters are invisible in the
    report and in Excel. Unicode format characters (zero-width, bidi overrides) hide what a name says."""
    if len(text) <= max_chars and BAD_TEXT.search(text) is None:  # the common case at C speed (one regex pass)
        return text
    for i, ch in enumerate(text):
        if ch == "\x00":
            raise OutOfBounds(f"含有空字符（NUL，第{i + 1}个字符），请删除")
        cat = unicodedata.category(ch)
        if (cat == "Cc" and ch not in "\t\n\r") or ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069":
            raise OutOfBounds(f"含有不可见的控制字符（U+{ord(ch):04X}，第{i + 1}个字符），请删除")
    if len(text) > max_chars:
        raise OutOfBounds(f"文字过长（{len(text)}个字符，最多{max_chars}个）")
    return text


@dataclass(frozen=True)
class ImportLimits:
    """What the importer reads before it parses anything (docs/import.md, 「文件大小与行数限制」).

    Each can be set by an environment variable (HUIQI_IMPORT_MAX_FILE_MB, HUIQI_IMPORT_MAX_ROWS,
    HUIQI_IMPORT_MAX_INFLATED_MB, HUIQI_IMPORT_MAX_RATIO) or passed as `limits=` to import_file(s)."""

    max_file_bytes: int = 100 * 2**20  # the file on disk (xlsx, csv, parquet)
    max_rows: int = 1_048_575  # data rows per sheet / file: what one Excel sheet can hold below its header
    max_inflated_bytes: int = 1024 * 2**20  # xlsx: all zip members; parquet: all column chunks, uncompressed
    xlsx_max_ratio: int = 200  # uncompressed / compressed, per member above 1 MiB (real sheets: 5–30×)
    xlsx_max_members: int = 10_000

    @classmethod
    def from_env(cls) -> "ImportLimits":
        import os

        def mb(name: str, default: int) -> int:
            v = os.environ.get(name)
            return int(float(v) * 2**20) if v else default

        d = cls()
        return cls(max_file_bytes=mb("HUIQI_IMPORT_MAX_FILE_MB", d.max_file_bytes),
                   max_rows=int(os.environ.get("HUIQI_IMPORT_MAX_ROWS") or d.max_rows),
                   max_inflated_bytes=mb("HUIQI_IMPORT_MAX_INFLATED_MB", d.max_inflated_bytes),
                   xlsx_max_ratio=int(os.environ.get("HUIQI_IMPORT_MAX_RATIO") or d.xlsx_max_ratio),
                   xlsx_max_members=d.xlsx_max_members)


# The characters check_text refuses, as one regex for the importer's fast path over millions of cells.
BAD_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
