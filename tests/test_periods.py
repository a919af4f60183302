"""The one Period type (huiqi/core/periods.py): parsing, round trip, dates, ordering, and rule files at load."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huiqi.core.periods import MAX_YEAR, MIN_YEAR, Period, PeriodError
from huiqi.rules.loader import RuleFileError, load_file, load_rules

years = st.integers(MIN_YEAR, MAX_YEAR)
periods = st.one_of(
    years.map(Period),
    st.builds(lambda y, h: Period(y, half=h), years, st.integers(1, 2)),
    st.builds(Period, years, st.integers(1, 4)),
    st.builds(lambda y, m: Period(y, month=m), years, st.integers(1, 12)),
)


@given(periods)
def test_period_str_parse_round_trip(p):
    assert Period.parse(str(p)) == p
    assert Period.parse_loose(str(p)) == p
    assert str(Period.parse(str(p))) == str(p)


@given(periods, periods)
def test_period_ordering_follows_dates(a, b):
    assert (a < b) == ((a.start, a.end) < (b.start, b.end))
    assert (a == b) == ((a.start, a.end) == (b.start, b.end))
    assert (a <= b) or (b < a)


@given(periods)
def test_period_dates_and_quarters_cover_it(p):
    assert p.start <= p.end and p.start.year == p.end.year == p.year
    assert p.contains(p.start) and p.contains(p.end)
    assert not p.contains(p.start - timedelta(days=1)) and not p.contains(p.end + timedelta(days=1))
    qs = p.quarters_covered()
    assert qs == sorted(qs) and qs[0].contains(p.start) and qs[-1].contains(p.end)
    assert all(Period(p.year).contains(q) for q in qs)
    assert p.last_quarter == qs[-1].quarter


def test_rule_file_periods_2024H2_and_2023M02_parse():
    """hb13 uses 2024H2 (第三阶段 2024-07-01—2024-12-31) and gx2023 uses 2023M02; both must be periods."""
    h2, feb = Period.parse("2024H2"), Period.parse("2023M02")
    assert (h2.start, h2.end) == (date(2024, 7, 1), date(2024, 12, 31))
    assert (feb.start, feb.end) == (date(2023, 2, 1), date(2023, 2, 28))
    assert [str(q) for q in h2.quarters_covered()] == ["2024Q3", "2024Q4"]
    assert Period.parse("2024").contains("2024H2") and not Period.parse("2024H2").contains("2024Q2")
    # the old type keeps working under its old name, positional quarter included
    from huiqi.services.facts import Period as FactsPeriod
    assert FactsPeriod is Period and Period(2024, 4) == Period.parse("2024Q4") and str(Period(2024, None)) == "2024"


@pytest.mark.parametrize("text,fragment", [
    ("1800Q1", "2000—2100"), ("2999Q4", "2000—2100"), ("2024Q5", "季度只有"), ("2024M13", "月份只有"),
    ("2024H3", "半年只有"), ("二〇二四", "格式错误"), ("", "格式错误"), ("2024Q", "格式错误"),
])
def test_period_rejects_nonsense_with_chinese_message(text, fragment):
    with pytest.raises(PeriodError, match=fragment):
        Period.parse(text)


@pytest.mark.parametrize("text,expected", [
    ("2024-Q2", "2024Q2"), ("2024年第三季度", "2024Q3"), ("2024年下半年", "2024H2"), ("2024-3", "2024M03"),
    ("2024年12月", "2024M12"), ("2024年", "2024"), (" 2024q4 ", "2024Q4"), ("2024m2", "2024M02"),
])
def test_period_loose_spellings(text, expected):
    assert str(Period.parse_loose(text)) == expected


def test_period_typo_in_rule_file_rejected_at_load_with_line(tmp_path: Path):
    src = Path(__file__).parents[1] / "huiqi/rules/files/hb13.yaml"
    text = src.read_text(encoding="utf-8")
    bad = tmp_path / "hb13.yaml"
    bad.write_text(text.replace("periods: ['2024H2']", "periods: ['2024H3']", 1), encoding="utf-8")
    line = next(i for i, ln in enumerate(bad.read_text(encoding="utf-8").splitlines(), 1) if "2024H3" in ln)
    with pytest.raises(RuleFileError) as e:
        load_file(bad)
    assert e.value.line == line and "hb13.yaml" in str(e.value) and "半年只有" in str(e.value)


def test_every_rule_file_period_parses():
    src = load_rules()
    for f in src.files:
        for text in [*f.rules.defaults.periods, *(p for m in f.rules.measures for p in m.periods or [])]:
            Period.parse(text)


def test_is_quarter_for_data_period_labels():
    from huiqi.core.periods import is_quarter

    assert is_quarter("2024Q4") and not is_quarter("2024M10") and not is_quarter("2024H2")
    assert not is_quarter("2024Q5") and not is_quarter("") and not is_quarter(None)
