"""Gap messages near a threshold never contradict the failure (huiqi/engine/explain.py)."""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from huiqi.engine.explain import Explainer, failing_side
from huiqi.policies.library import default_library
from huiqi.services.calculator import default_ruleset

WAN = 10_000 * 100  # 1万元 in 分


def explainer(**facts) -> Explainer:
    return Explainer(default_ruleset().dictionary, default_library(), facts, {}, {})


def _numbers(text: str) -> list[Decimal]:
    return [Decimal(x) for x in re.findall(r"\d+(?:\.\d+)?", text)]


def test_gap_growth_one_part_in_a_million_below_threshold_is_not_shown_as_equal():
    """gx2024q4 第1条: 当季同比增长10%以上. 9.9999% must not read "增速10%，低于10%的要求，差0个百分点"."""
    msg = explainer(output_q=109_999_900, output_q_ly=100_000_000).gap("growth(output_q, output_q_ly) >= pct(10)")
    assert "同比增速9.9999%，低于10%的要求，差0.0001个百分点" in msg
    assert "差0个" not in msg


def test_gap_growth_9_9996_percent():
    msg = explainer(output_q=109_999_600, output_q_ly=100_000_000).gap("growth(output_q, output_q_ly) >= pct(10)")
    assert "同比增速9.9996%，低于10%的要求，差0.0004个百分点" in msg


def test_gap_money_at_threshold_minus_one_fen():
    """gx2024q4 第1条: 当季工业总产值500万元（含）以上; one 分 short is "差0.01元", not 0.000001万元."""
    msg = explainer(output_q=500 * WAN - 1).gap("output_q >= wan(500)")
    assert msg.endswith("499.999999万元，低于500万元（含）的要求，差0.01元"), msg


def test_gap_money_fraction_of_a_fen_never_rounds_onto_threshold_or_zero():
    """A computed value half a 分 short of the threshold: shown strictly below it, the difference at least 1分."""
    msg = explainer(output_q=500 * WAN - 1).gap("output_q * 0.5 >= wan(250)")
    assert "249.999999万元，低于250万元（含）的要求，差0.01元" in msg, msg
    assert "差0元" not in msg and "差0万元" not in msg


@pytest.mark.parametrize("short_fen", [1, 99, 100, 12_345, 10 * WAN])
def test_gap_money_difference_is_shown_difference(short_fen):
    msg = explainer(output_q=500 * WAN - short_fen).gap("output_q >= wan(500)")
    value, threshold, diff = _numbers(msg.split("工业总产值", 1)[1])[:3]
    diff_wan = diff if msg.endswith("万元") else diff / 10_000
    assert value < threshold and threshold - value == diff_wan and diff > 0


def test_gap_readme_example_unchanged():
    msg = explainer(output_q=4_999 * WAN // 10).gap("output_q >= wan(500)")
    assert msg.endswith("499.9万元，低于500万元（含）的要求，差0.1万元")


@given(st.fractions(min_value=-10**6, max_value=10**6), st.fractions(min_value=-10**6, max_value=10**6))
@example(Fraction(1_000_000), Fraction(128165382227739309228813189047591567, 128165382227739309228813189048))
def test_gap_failing_side_never_contradicts(value, threshold):
    """Whatever the two numbers, the shown value is strictly on the failing side and the gap is shown − shown, > 0."""
    assume(value != threshold)
    v, t, d = (Decimal(x) for x in failing_side(value, threshold, 2, 8))
    assert (v < t) if value < threshold else (v > t)
    assert d == abs(t - v) and d > 0
