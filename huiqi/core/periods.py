"""One period type for the whole project: a calendar year, half-year, quarter or month.

Canonical spellings (``parse`` ⇄ ``str`` round-trip): ``2024`` (year), ``2024H2`` (half-year), ``2024Q4``
(quarter), ``2024M02`` (month, two digits). ``parse_loose`` also reads what people type in spreadsheets
(``2024-Q4``, ``2024年第四季度``, ``2024年下半年``, ``2024-3``, ``2024年12月``).

Accepted years: 2000–2100 (``MIN_YEAR``–``MAX_YEAR``). A data period names a period of enterprise statistics
or of a policy's application; the oldest figures any measure here looks back to are a few years before 2023 and
the longest policy horizon printed in the texts is 2035. 2000 leaves room for long historical panels and 2100
for any plan horizon, while a typo such as ``1800Q1``, ``2999Q4`` or ``0202Q4`` is rejected instead of silently
producing an empty screening.

Ordering is by (start date, end date): chronological for periods of one kind; of periods starting the same day
the shorter comes first (``2024M01 < 2024Q1 < 2024H1 < 2024``). Two different periods never share both dates, so
the order agrees with equality.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import total_ordering

MIN_YEAR, MAX_YEAR = 2000, 2100
YEAR, HALF, QUARTER, MONTH = "year", "half", "quarter", "month"

_CANONICAL = re.compile(r"(\d{4})(?:([HQM])(\d{1,2}))?")
_CN_NUM = {"一": 1, "二": 2, "三": 3, "四": 4}
_FORMS = "应为年度 2024、半年 2024H2、季度 2024Q4 或月份 2024M02"


class PeriodError(ValueError):
    """A period that cannot be read; the message is Chinese and names the text as given."""


@total_ordering
@dataclass(frozen=True)
class Period:
    """A calendar period. ``Period(2024, 4)`` is 2024Q4 and ``Period(2024, None)`` the year 2024 (the older
    positional form is kept); ``Period(2024, half=2)`` and ``Period(2024, month=2)`` the others."""

    year: int
    quarter: int | None = None
    half: int | None = None
    month: int | None = None

    def __post_init__(self) -> None:
        set_parts = [x for x in (self.quarter, self.half, self.month) if x is not None]
        if len(set_parts) > 1:
            raise PeriodError("期间只能是年度、半年、季度、月份之一")
        if not (isinstance(self.year, int) and MIN_YEAR <= self.year <= MAX_YEAR):
            raise PeriodError(f"期间年份 {self.year} 超出可接受范围（{MIN_YEAR}—{MAX_YEAR} 年）")
        if self.quarter is not None and not 1 <= self.quarter <= 4:
            raise PeriodError(f"期间“{self.year}Q{self.quarter}”有误：季度只有 Q1–Q4")
        if self.half is not None and not 1 <= self.half <= 2:
            raise PeriodError(f"期间“{self.year}H{self.half}”有误：半年只有 H1（上半年）、H2（下半年）")
        if self.month is not None and not 1 <= self.month <= 12:
            raise PeriodError(f"期间“{self.year}M{self.month:02d}”有误：月份只有 01–12")

    # ------------------------------------------------------------------ reading and writing
    @classmethod
    def parse(cls, text: str | Period) -> Period:
        """The canonical spelling (letters in either case, surrounding blanks ignored)."""
        if isinstance(text, Period):
            return text
        t = str(text).strip().upper()
        m = _CANONICAL.fullmatch(t)
        if not m:
            raise PeriodError(f"期间“{text}”格式错误：{_FORMS}")
        year = int(m.group(1))
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise PeriodError(f"期间“{text}”的年份超出可接受范围（{MIN_YEAR}—{MAX_YEAR} 年）")
        letter, num = m.group(2), m.group(3)
        if letter is None:
            return cls(year)
        n = int(num)
        if letter == "Q":
            if len(num) != 1 or not 1 <= n <= 4:
                raise PeriodError(f"期间“{text}”格式错误：季度只有 Q1–Q4")
            return cls(year, n)
        if letter == "H":
            if len(num) != 1 or not 1 <= n <= 2:
                raise PeriodError(f"期间“{text}”格式错误：半年只有 H1（上半年）、H2（下半年）")
            return cls(year, half=n)
        if len(num) != 2 or not 1 <= n <= 12:
            raise PeriodError(f"期间“{text}”格式错误：月份只有 01–12，写两位（如 2024M02）")
        return cls(year, month=n)

    @classmethod
    def parse_loose(cls, text: str) -> Period:
        """Canonical spellings plus the ones people type: 2024-Q4, 2024年第四季度, 2024年下半年, 2024-3, 2024年12月,
        2024年."""
        t = str(text).strip()
        try:
            return cls.parse(t)
        except PeriodError as strict_error:
            err = strict_error
        if m := re.fullmatch(r"(\d{4})\s*[-_]?\s*[Qq]\s*(\d+)", t) or \
                re.fullmatch(r"(\d{4})\s*年\s*第?\s*(\d+|[一二三四])\s*季度?", t):
            q = _CN_NUM.get(m.group(2)) or int(m.group(2))
            return cls._checked(text, m.group(1), quarter=q)
        if m := re.fullmatch(r"(\d{4})\s*[-_]?\s*[Hh]\s*(\d+)", t):
            return cls._checked(text, m.group(1), half=int(m.group(2)))
        if m := re.fullmatch(r"(\d{4})\s*年\s*([上下])半年", t):
            return cls._checked(text, m.group(1), half=1 if m.group(2) == "上" else 2)
        if m := re.fullmatch(r"(\d{4})\s*(?:[Mm]|-|/|年|\.)\s*(\d{1,2})\s*月?", t):
            return cls._checked(text, m.group(1), month=int(m.group(2)))
        if m := re.fullmatch(r"(\d{4})\s*年(?:度)?", t):
            return cls._checked(text, m.group(1))
        raise err

    @classmethod
    def _checked(cls, text: str, year: str, **part: int) -> Period:
        try:
            return cls(int(year), **part)
        except PeriodError as e:
            detail = str(e).split("：", 1)[-1] if "：" in str(e) else f"年份超出可接受范围（{MIN_YEAR}—{MAX_YEAR} 年）"
            raise PeriodError(f"期间“{text}”格式错误：{detail}") from None

    def __str__(self) -> str:
        if self.quarter is not None:
            return f"{self.year}Q{self.quarter}"
        if self.half is not None:
            return f"{self.year}H{self.half}"
        if self.month is not None:
            return f"{self.year}M{self.month:02d}"
        return str(self.year)

    @property
    def label(self) -> str:
        """Chinese, as officers write it: 2024年第四季度, 2024年下半年, 2024年2月, 2024年."""
        if self.quarter is not None:
            return f"{self.year}年第{'一二三四'[self.quarter - 1]}季度"
        if self.half is not None:
            return f"{self.year}年{'上下'[self.half - 1]}半年"
        if self.month is not None:
            return f"{self.year}年{self.month}月"
        return f"{self.year}年"

    # ------------------------------------------------------------------ what it covers
    @property
    def kind(self) -> str:
        if self.quarter is not None:
            return QUARTER
        if self.half is not None:
            return HALF
        if self.month is not None:
            return MONTH
        return YEAR

    @property
    def _months(self) -> tuple[int, int]:
        """First and last month covered."""
        if self.quarter is not None:
            return 3 * self.quarter - 2, 3 * self.quarter
        if self.half is not None:
            return 6 * self.half - 5, 6 * self.half
        if self.month is not None:
            return self.month, self.month
        return 1, 12

    @property
    def start(self) -> date:
        return date(self.year, self._months[0], 1)

    @property
    def end(self) -> date:
        last = self._months[1]
        return (date(self.year + 1, 1, 1) if last == 12 else date(self.year, last + 1, 1)) - timedelta(days=1)

    @property
    def last_quarter(self) -> int:
        """The quarter in which the period ends (a year → 4, 2024H1 → 2, 2024M02 → 1)."""
        return (self._months[1] - 1) // 3 + 1

    def quarters_covered(self) -> list[Period]:
        """The calendar quarters the period overlaps, in order (a month → the quarter containing it)."""
        first, last = self._months
        return [Period(self.year, q) for q in range((first - 1) // 3 + 1, (last - 1) // 3 + 2)]

    def years_earlier(self, n: int = 1) -> Period:
        """The same part of the calendar ``n`` years earlier (2024Q4 → 2023Q4): the base of a year-on-year growth."""
        return replace(self, year=self.year - n)

    def contains(self, other: Period | date | str) -> bool:
        """Whether a date, or the whole of another period, lies within this period."""
        if isinstance(other, date):
            return self.start <= other <= self.end
        o = Period.parse(other)
        return self.start <= o.start and o.end <= self.end

    @staticmethod
    def quarters(year: int, upto: int) -> list[str]:
        """Quarter labels ``year``Q1 … Q``upto`` (used to name year-to-date columns)."""
        return [f"{year}Q{q}" for q in range(1, upto + 1)]

    # ------------------------------------------------------------------ order
    def _key(self) -> tuple[date, date]:
        return self.start, self.end

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Period):
            return NotImplemented
        return self._key() < other._key()


def is_quarter(text: str | Period | None) -> bool:
    """Whether a data period label is a calendar quarter (False for anything that is not a period)."""
    try:
        return text is not None and Period.parse(text).kind == QUARTER
    except PeriodError:
        return False
