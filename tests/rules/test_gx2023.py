"""《关于巩固回升向好势头加力振作工业经济的政策措施》（2023年，gx2023）— tests from the text."""

from decimal import Decimal

import pytest

from huiqi.engine.evaluate import MET, MISSING, NOT_MET, PENDING, ParameterError

TOP500 = {"is_top500_output": True, "is_manufacturing": True, "is_gx_leading_enterprise": False,
          "is_little_giant": False, "is_single_champion": False}
GIANT = {"is_top500_output": False, "is_manufacturing": True, "is_gx_leading_enterprise": False,
         "is_little_giant": True, "is_single_champion": False}


# 001 says "涉及奖补资金比例和限额均为上限": the 1% is a ceiling, so the rates default to unset (参数待定, RULES-3).
# These clause tests check the thresholds and arithmetic with the operator having set the rates at the ceiling.
AT_CEILING = {"gx2023_01_rate": "0.01", "gx2023_02_rate": "0.01", "gx2023_03_rate": "0.01"}


@pytest.fixture
def run(run):
    def _run(measure_id, facts, period, params=None, entity=None):
        return run(measure_id, facts, period, params={**AT_CEILING, **(params or {})}, entity=entity)

    return _run


def jf(**kw):
    """第（一）条 facts for 2023M02 (本年累计 = 1—2月)."""
    return {**TOP500, "gx2023_covid900_benefit": False, "output_ytd": "8000万元", "output_ytd_ly": "5000万元", **kw}


class TestClause1SpringFestival:
    M, P = "gx2023-01", "2023M02"

    def test_group_a_output_exactly_5000wan_fails_chaoguo(self, run):
        """第（一）条：1—2月工业总产值超过5000万元 — exactly 5000万 is not 超过."""
        assert run(self.M, jf(output_ytd="5000万元", output_ytd_ly="4000万元"), self.P)[0] == NOT_MET

    def test_group_a_one_fen_above_5000wan(self, run):
        """第（一）条：5000万 + 0.01元 qualifies; 1% of 10,000,000.01 is floored to 100,000.00."""
        assert run(self.M, jf(output_ytd="50000000.01", output_ytd_ly="4000万元"), self.P) == (MET, Decimal("100000"))

    def test_leading_enterprise_group_a(self, run):
        """第（一）条：自治区工业和信息化厅认定的工业龙头企业（不必为前500名）."""
        facts = jf(is_top500_output=False, is_manufacturing=False, is_gx_leading_enterprise=True)
        assert run(self.M, facts, self.P) == (MET, Decimal("300000"))

    def test_top500_non_manufacturing_not_group_a(self, run):
        """第（一）条：前500名企业中的“制造业企业” — a non-manufacturer in the top 500 does not qualify."""
        assert run(self.M, jf(is_manufacturing=False), self.P)[0] == NOT_MET

    def test_group_b_threshold_2000wan(self, run):
        """第（一）条：“小巨人”及单项冠军企业 1—2月工业总产值超过2000万元 (exclusive)."""
        assert run(self.M, jf(**GIANT, output_ytd="2000万元", output_ytd_ly="1500万元"), self.P)[0] == NOT_MET
        assert run(self.M, jf(**GIANT, output_ytd="20000000.01", output_ytd_ly="1500万元"), self.P) == \
            (MET, Decimal("50000"))

    def test_group_b_threshold_not_for_group_a(self, run):
        """第（一）条：前500名制造业企业需超过5000万元；3000万 meets only the 小巨人 threshold."""
        assert run(self.M, jf(output_ytd="3000万元", output_ytd_ly="2000万元"), self.P)[0] == NOT_MET

    def test_growth_exactly_12pct_meets_bu_di_yu(self, run):
        """第（一）条：累计增速不低于12% — exactly 12% qualifies, one 分 less does not."""
        assert run(self.M, jf(output_ytd="5600万元", output_ytd_ly="5000万元"), self.P) == (MET, Decimal("60000"))
        assert run(self.M, jf(output_ytd="55999999.99", output_ytd_ly="5000万元"), self.P)[0] == NOT_MET

    def test_cap_100wan(self, run):
        """第（一）条：每家企业最高奖励不超过100万元 — 1% of 1亿 = 100万; 1% of 1.5亿 → 100万."""
        assert run(self.M, jf(output_ytd="2亿元", output_ytd_ly="1亿元"), self.P) == (MET, Decimal("1000000"))
        assert run(self.M, jf(output_ytd="3亿元", output_ytd_ly="1.5亿元"), self.P) == (MET, Decimal("1000000"))

    def test_not_with_900_benefit(self, run):
        """第（一）条：按桂工信综合〔2022〕900号执行的，与春节抢抓生产政策不重复享受."""
        assert run(self.M, jf(gx2023_covid900_benefit=True), self.P)[0] == NOT_MET

    def test_missing_inputs_are_missing(self, run):
        """第（一）条：missing 上年同期产值 or 900号 flag gives 待补充信息, never 0."""
        facts = jf()
        del facts["output_ytd_ly"]
        assert run(self.M, facts, self.P)[0] == MISSING
        facts = jf()
        del facts["gx2023_covid900_benefit"]
        assert run(self.M, facts, self.P)[0] == MISSING

    def test_rate_is_upper_bound(self, run):
        """第（一）条“不超过…1%”、文件“比例和限额均为上限”：a lower rate may be set, a higher one is refused."""
        assert run(self.M, jf(), self.P, params={"gx2023_01_rate": "0.005"}) == (MET, Decimal("150000"))
        with pytest.raises(ParameterError):
            run(self.M, jf(), self.P, params={"gx2023_01_rate": "0.02"})

    def test_period(self, ruleset):
        """第（一）条 covers 2023年1—2月 only (period 2023M02)."""
        assert self.M in {m.id for m, _ in ruleset.measures_for("2023M02")}
        assert self.M not in {m.id for m, _ in ruleset.measures_for("2023Q1")}
        assert self.M not in {m.id for m, _ in ruleset.measures_for("2024M02")}


def qf(**kw):
    """第（二）条 facts for a quarter: 累计增速 25%, 当季增量 5000万."""
    return {**TOP500, "output_q": "2.5亿元", "output_q_ly": "2亿元", "output_ytd": "5亿元", "output_ytd_ly": "4亿元", **kw}


class TestClause2Quarterly:
    M, P = "gx2023-02", "2023Q2"

    def test_group_a_2yi_exclusive(self, run):
        """第（二）条：当季工业总产值超过2亿元 — exactly 2亿 fails, 2亿 + 0.01元 qualifies."""
        assert run(self.M, qf(output_q="2亿元", output_q_ly="1.5亿元"), self.P)[0] == NOT_MET
        assert run(self.M, qf(output_q="200000000.01", output_q_ly="1.5亿元"), self.P) == (MET, Decimal("500000"))

    def test_group_b_5000wan_exclusive(self, run):
        """第（二）条：“小巨人”及单项冠军企业当季工业总产值超过5000万元."""
        facts = {**GIANT, "output_ytd": "2亿元", "output_ytd_ly": "1亿元", "output_q_ly": "4000万元"}
        assert run(self.M, qf(**facts, output_q="5000万元"), self.P)[0] == NOT_MET
        assert run(self.M, qf(**facts, output_q="50000000.01"), self.P) == (MET, Decimal("100000"))

    def test_cumulative_growth_12pct(self, run):
        """第（二）条：累计增速不低于12% (本年累计) — exactly 12% meets, one 分 below fails."""
        assert run(self.M, qf(output_ytd="5.6亿元", output_ytd_ly="5亿元"), self.P)[0] == MET
        assert run(self.M, qf(output_ytd="559999999.99", output_ytd_ly="5亿元"), self.P)[0] == NOT_MET

    def test_negative_quarter_increment_gives_nothing(self, run):
        """第（二）条：按当季度产值同比增量 — YTD growth met but the quarter fell: no award."""
        assert run(self.M, qf(output_q="2.5亿元", output_q_ly="2.6亿元"), self.P)[0] == NOT_MET

    def test_cap_500wan(self, run):
        """第（二）条：每家企业全年最高奖励不超过500万元 — 1% of 7亿 = 700万 → 500万 (single quarter)."""
        assert run(self.M, qf(output_q="10亿元", output_q_ly="3亿元", output_ytd="20亿元", output_ytd_ly="10亿元"),
                   self.P) == (MET, Decimal("5000000"))

    def test_missing_ytd_base(self, run):
        """第（二）条：missing 上年同期累计产值 gives 待补充信息."""
        facts = qf()
        del facts["output_ytd_ly"]
        assert run(self.M, facts, self.P)[0] == MISSING

    def test_period(self, ruleset):
        """第（二）条 covers the four quarters of 2023 only."""
        ids = lambda p: {m.id for m, _ in ruleset.measures_for(p)}  # noqa: E731
        assert self.M in ids("2023Q4") and self.M in ids("2023Q1")
        assert self.M not in ids("2024Q1")


class TestClause3NewInStatistics:
    M, P = "gx2023-03", "2023Q3"

    def test_threshold_3000wan_exclusive(self, run):
        """第（三）条：当季形成无基数工业总产值超过3000万元 — exactly 3000万 fails; +0.01元 gets 1% floored."""
        assert run(self.M, {"is_new_in_statistics": True, "output_q": "3000万元"}, self.P)[0] == NOT_MET
        assert run(self.M, {"is_new_in_statistics": True, "output_q": "30000000.01"}, self.P) == (MET, Decimal("300000"))

    def test_cap_500wan(self, run):
        """第（三）条：每家企业全年最高奖励不超过500万元 — 1% of 6亿 → 500万."""
        assert run(self.M, {"is_new_in_statistics": True, "output_q": "6亿元"}, self.P) == (MET, Decimal("5000000"))

    def test_not_new_enterprise(self, run):
        """第（三）条：对新建入规企业 — an existing enterprise does not qualify."""
        assert run(self.M, {"is_new_in_statistics": False, "output_q": "6亿元"}, self.P)[0] == NOT_MET

    def test_missing_output(self, run):
        """第（三）条：missing 当季产值 gives 待补充信息."""
        assert run(self.M, {"is_new_in_statistics": True}, self.P)[0] == MISSING

    def test_period(self, ruleset):
        """第（三）条 covers 2023 quarters only."""
        assert self.M not in {m.id for m, _ in ruleset.measures_for("2024Q3")}


class TestClause5ChinaEuropeRail:
    M, P = "gx2023-05", "2023"
    F = {"gx2023_china_europe_rail_export": True, "is_above_scale": True, "is_manufacturing": True}

    def test_amount_pending_until_set(self, run):
        """第（五）条：按总量和增速给予“一定补贴” — 参数待定 until the operator sets it."""
        assert run(self.M, self.F, self.P)[0] == PENDING

    def test_amount_and_cap_200wan(self, run):
        """第（五）条：最高不超过200万元."""
        assert run(self.M, self.F, self.P, params={"gx2023_05_amount": 1_500_000}) == (MET, Decimal("1500000"))
        assert run(self.M, self.F, self.P, params={"gx2023_05_amount": 3_000_000}) == (MET, Decimal("2000000"))

    def test_not_rail_or_not_above_scale(self, run):
        """第（五）条：通过中欧班列出口的规模以上制造业企业."""
        p = {"gx2023_05_amount": 1_000_000}
        assert run(self.M, {**self.F, "gx2023_china_europe_rail_export": False}, self.P, params=p)[0] == NOT_MET
        assert run(self.M, {**self.F, "is_above_scale": False}, self.P, params=p)[0] == NOT_MET

    def test_missing(self, run):
        """第（五）条：missing 规上 flag gives 待补充信息."""
        facts = dict(self.F)
        del facts["is_above_scale"]
        assert run(self.M, facts, self.P, params={"gx2023_05_amount": 1_000_000})[0] == MISSING


class TestClause24Land:
    def test_baozhangfang_output_over_1yi(self, run):
        """第（二十四）条：年工业总产值超1亿元的制造业企业 — exactly 1亿 fails."""
        assert run("gx2023-24a", {"output_year": "1亿元", "is_manufacturing": True}, "2023")[0] == NOT_MET
        assert run("gx2023-24a", {"output_year": "100000000.01", "is_manufacturing": True}, "2023")[0] == MET
        assert run("gx2023-24a", {"output_year": "2亿元", "is_manufacturing": False}, "2023")[0] == NOT_MET
        assert run("gx2023-24a", {"is_manufacturing": True}, "2023")[0] == MISSING

    def test_mixed_land_industrial_share_50pct(self, run):
        """第（二十四）条：工业建筑面积占比不得低于50% — exactly 50% complies, just below does not."""
        base = {"gx2023_parcel_mixed_use_auction": True, "gx2023_parcel_total_floor_area": 10000}
        assert run("gx2023-24b", {**base, "gx2023_parcel_industrial_floor_area": 5000}, "2023Q2")[0] == MET
        assert run("gx2023-24b", {**base, "gx2023_parcel_industrial_floor_area": "4999.99"}, "2023Q2")[0] == NOT_MET
        assert run("gx2023-24b", base, "2023Q2")[0] == MISSING

    def test_mixed_land_zero_total_area_not_compliant(self, run):
        """第（二十四）条：no floor area, no share — never read as compliant."""
        facts = {"gx2023_parcel_mixed_use_auction": True, "gx2023_parcel_total_floor_area": 0,
                 "gx2023_parcel_industrial_floor_area": 0}
        assert run("gx2023-24b", facts, "2023Q2")[0] == NOT_MET

    def test_energy_plan_exemption(self, run):
        """第（二十四）条：能耗强度低于“十四五”控制值 (strict); 控制值未载明 → 参数待定."""
        facts = {"gx2023_in_city_energy_plan": True, "gx2023_project_energy_intensity": 100}
        assert run("gx2023-24c", facts, "2023Q2")[0] == PENDING
        p = {"gx2023_24c_energy_intensity_limit": 100}
        assert run("gx2023-24c", facts, "2023Q2", params=p)[0] == NOT_MET
        assert run("gx2023-24c", {**facts, "gx2023_project_energy_intensity": "99.99"}, "2023Q2", params=p)[0] == MET
        assert run("gx2023-24c", {"gx2023_in_city_energy_plan": True}, "2023Q2", params=p)[0] == MISSING


@pytest.mark.parametrize("measure_id, facts, period", [
    ("gx2023-01", jf(), "2023M02"),
    ("gx2023-02", {**TOP500, "output_q": "3亿元", "output_q_ly": "2亿元", "output_ytd": "3亿元", "output_ytd_ly": "2亿元"},
     "2023Q1"),
])
def test_gx2023_ceiling_rate_is_not_the_entitlement(ruleset, measure_id, facts, period):
    """001：“均按不超过……的1%予以奖励”、“涉及奖补资金比例和限额均为上限” — 1% is a ceiling, not the rate:
    until an operator sets the rate the amount is 参数待定, never the ceiling."""
    from huiqi.engine.evaluate import col
    from huiqi.engine.inputs import facts_frame

    ev = ruleset.evaluate(facts_frame([facts]), period, measures=[measure_id])
    row = ev.frame.row(0, named=True)
    assert row[col(measure_id, "status")] == PENDING
    assert row[col(measure_id, "amount")] is None
