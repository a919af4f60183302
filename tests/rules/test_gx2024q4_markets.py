"""《关于做好2024年四季度工业经济工作的政策措施》第21、22条（促销活动、展会、新开拓境外市场）— tests from the text."""

from decimal import Decimal

import pytest

from huiqi.engine.evaluate import MET, MISSING, NOT_MET

Q = "2024Q4"
# 500万; 4,545,454.54 × 1.1 < 500万, so growth ≥ 10%; 第21、22条 are for 工业企业 (issue 8: was not checked)
BASE = {"is_industrial": True, "output_q": "5000000", "output_q_ly": "4545454.54"}


def promo(**kw):
    return {"promo_event_held_q": True, "promo_event_cost_q": 200_000, **BASE, **kw}


class TestClause21Promotion:
    def test_output_exactly_500wan_meets_daodao_yishang(self, run):
        """第21条：当季度工业产值达到500万元（含）以上 — exactly 500万 qualifies."""
        assert run("gx2024q4-21", promo(output_q="500万元", output_q_ly="400万元"), Q) == (MET, Decimal("100000"))

    def test_output_one_fen_below_500wan_fails(self, run):
        """第21条：499.99万 (one 分 less than 500万) is not 达到500万."""
        assert run("gx2024q4-21", promo(output_q="4999999.99", output_q_ly="400万元"), Q)[0] == NOT_MET

    def test_growth_exactly_10pct_with_float_hostile_values(self, run):
        """第21条：同比增速达到10%（含）— 8,169,227.00 → 8,986,149.70 is exactly +10% (float says 0.0999…)."""
        assert run("gx2024q4-21", promo(output_q="8986149.70", output_q_ly="8169227.00"), Q)[0] == MET
        assert run("gx2024q4-21", promo(output_q="898.614970万元", output_q_ly="816.9227万元"), Q)[0] == MET
        assert run("gx2024q4-21", promo(output_q="8986149.69", output_q_ly="8169227.00"), Q)[0] == NOT_MET

    def test_cap_30wan(self, run):
        """第21条：每家企业补助金额最高不超过30万元 — 50% of 80万 = 40万 → 30万."""
        assert run("gx2024q4-21", promo(promo_event_cost_q="80万元"), Q) == (MET, Decimal("300000"))
        assert run("gx2024q4-21", promo(promo_event_cost_q="60万元"), Q) == (MET, Decimal("300000"))

    def test_half_fen_is_floored(self, run):
        """50% of 0.03元 is 0.015元: amounts are floored to the 分, never rounded up."""
        assert run("gx2024q4-21", promo(promo_event_cost_q="100.03"), Q) == (MET, Decimal("50.01"))

    def test_missing_last_year_output_is_missing_not_zero(self, run):
        """A missing 上年同季产值 gives 待补充信息, never 0 or 不符合."""
        facts = promo()
        del facts["output_q_ly"]
        assert run("gx2024q4-21", facts, Q)[0] == MISSING

    def test_outside_validity_not_evaluated(self, ruleset):
        """第21条 applies to 2024年四季度 only: a 2025Q1 evaluation does not include it."""
        assert "gx2024q4-21" not in {m.id for m, _ in ruleset.measures_for("2025Q1")}


class TestClause22Expo:
    def test_booth_fee_half_capped_at_5wan(self, run):
        """第22条：展位费给予50%的补助，每家企业最高不超过5万元."""
        facts = {"is_industrial": True, "large_expo_attended_q": True, "expo_booth_fee_q": "12万元", "output_q": "500万元"}
        assert run("gx2024q4-22a", facts, Q) == (MET, Decimal("50000"))
        facts["expo_booth_fee_q"] = "8万元"
        assert run("gx2024q4-22a", facts, Q) == (MET, Decimal("40000"))

    def test_no_growth_test_for_expo(self, run):
        """第22条 (展会) has no growth condition: a falling output of 500万 still qualifies."""
        facts = {"is_industrial": True, "large_expo_attended_q": True, "expo_booth_fee_q": 10000, "output_q": "500万元",
                 "output_q_ly": "900万元"}
        assert run("gx2024q4-22a", facts, Q)[0] == MET


class TestClause22NewMarkets:
    @pytest.mark.parametrize("export,expected", [
        ("100万元", (MET, Decimal("10000"))),         # exactly 100万（含）
        ("999999.99", (NOT_MET, None)),               # just below
        ("5000万元", (MET, Decimal("500000"))),       # 1% = 50万 = the cap
        ("6000万元", (MET, Decimal("500000"))),       # capped
    ])
    def test_threshold_rate_cap(self, run, export, expected):
        """第22条：新开拓境外市场出口额100万元（含）以上…按1%，最高不超过50万元."""
        assert run("gx2024q4-22b", {"is_industrial": True, "new_market_export_q": export, "output_q": "500万元"}, Q) == expected


@pytest.mark.parametrize("measure_id, facts", [
    ("gx2024q4-21", {"promo_event_held_q": True, "promo_event_cost_q": 200_000}),
    ("gx2024q4-22a", {"large_expo_attended_q": True, "expo_booth_fee_q": 50_000}),
    ("gx2024q4-22b", {"new_market_export_q": "200万元"}),
])
def test_gx2024q4_21_22_require_industrial_enterprise(run, measure_id, facts):
    """第21条“……的工业企业，对企业发生的……费用给予50%的补助”；第22条“……的工业企业的展位费给予50%的补助”、
    “……的工业企业，按照其新开拓境外市场出口额的1%”：a non-industrial enterprise is 不符合, unknown → 待补充信息."""
    facts = {**facts, "output_q": "5000000", "output_q_ly": "4545454.54"}
    assert run(measure_id, {**facts, "is_industrial": True}, Q)[0] == MET
    assert run(measure_id, {**facts, "is_industrial": False}, Q)[0] == NOT_MET
    assert run(measure_id, facts, Q)[0] == MISSING
