"""《关于做好2024年四季度工业经济工作的政策措施》第2、8、11、20、23、24条 — tests from the text."""

from decimal import Decimal

import pytest

from huiqi.engine.evaluate import MET, MISSING, NOT_MET, PENDING, ParameterError

Q = "2024Q4"


def ids_for(ruleset, period):
    return {m.id for m, _ in ruleset.measures_for(period)}


# ---------------------------------------------------------------------------------------------
# 第2条 增产增效奖励（有基数 02a / 无基数 02b / 小升规 02c）
# ---------------------------------------------------------------------------------------------
def base_firm(**kw):
    return {"is_new_in_statistics": False, "gx2024q4_02_difficult_industry": False,
            "output_q": "5000万元", "output_q_ly": "4545.4545万元", **kw}


class TestClause2WithBase:
    AMOUNT = {"gx2024q4_02a_amount": 200000}

    def test_exactly_5000wan_and_10pct_is_pending_until_amount_set(self, run):
        """第2条：有基数的企业，当季产值应达到5000万元（含）以上 — amount 分行业分类 → 参数待定."""
        assert run("gx2024q4-02a", base_firm(), Q) == (PENDING, None)

    def test_amount_once_parameter_passed(self, run):
        """第2条：分行业分类给予奖励 — the operator's amount is paid once set."""
        assert run("gx2024q4-02a", base_firm(), Q, params=self.AMOUNT) == (MET, Decimal("200000"))

    def test_one_fen_below_5000wan_fails(self, run):
        """第2条：4999.9999万 is not 达到5000万元（含）."""
        facts = base_firm(output_q="49999999.99", output_q_ly="4000万元")
        assert run("gx2024q4-02a", facts, Q, params=self.AMOUNT)[0] == NOT_MET

    def test_growth_exactly_10pct_meets_and_just_below_fails(self, run):
        """第2条：同比增速达到10%（含）以上 — 6000万 vs 5454.5454…万."""
        assert run("gx2024q4-02a", base_firm(output_q="5500万元", output_q_ly="5000万元"), Q,
                   params=self.AMOUNT)[0] == MET
        assert run("gx2024q4-02a", base_firm(output_q="54999999.99", output_q_ly="5000万元"), Q,
                   params=self.AMOUNT)[0] == NOT_MET

    def test_new_enterprise_without_base_is_not_02a(self, run):
        """第2条：02a is for 有基数的企业 only."""
        assert run("gx2024q4-02a", base_firm(is_new_in_statistics=True), Q, params=self.AMOUNT)[0] == NOT_MET

    def test_missing_last_year_output_is_missing(self, run):
        """第2条：a missing 上年同季产值 gives 待补充信息, never 0."""
        facts = base_firm()
        del facts["output_q_ly"]
        assert run("gx2024q4-02a", facts, Q, params=self.AMOUNT)[0] == MISSING

    def test_difficult_industry_standard_applies_until_lowered(self, run):
        """第2条：困难行业…可适当降低标准 — by default the standard (5000万, 10%) still applies."""
        facts = base_firm(gx2024q4_02_difficult_industry=True, output_q="4000万元", output_q_ly="3000万元")
        assert run("gx2024q4-02a", facts, Q, params=self.AMOUNT)[0] == NOT_MET
        lowered = {**self.AMOUNT, "gx2024q4_02a_difficult_output_min": 40_000_000}
        assert run("gx2024q4-02a", facts, Q, params=lowered) == (MET, Decimal("200000"))

    def test_difficult_industry_growth_lowered(self, run):
        """第2条：困难行业增速标准可适当降低 — 5% growth meets a lowered 5% threshold, not the standard."""
        facts = base_firm(gx2024q4_02_difficult_industry=True, output_q="5250万元", output_q_ly="5000万元")
        assert run("gx2024q4-02a", facts, Q, params=self.AMOUNT)[0] == NOT_MET
        lowered = {**self.AMOUNT, "gx2024q4_02a_difficult_growth_min": 0.05}
        assert run("gx2024q4-02a", facts, Q, params=lowered)[0] == MET
        # a non-difficult enterprise does not benefit from the lowered standard
        assert run("gx2024q4-02a", {**facts, "gx2024q4_02_difficult_industry": False}, Q, params=lowered)[0] == NOT_MET

    def test_lowered_standard_cannot_be_raised(self, run):
        """第2条：“降低标准” — the relaxed threshold may not exceed the standard 5000万元."""
        with pytest.raises(ParameterError):
            run("gx2024q4-02a", base_firm(), Q, params={"gx2024q4_02a_difficult_output_min": 60_000_000})


class TestClause2WithoutBase:
    AMOUNT = {"gx2024q4_02b_amount": 100000}

    def firm(self, **kw):
        return {"is_new_in_statistics": True, "gx2024q4_02_difficult_industry": False, "output_q": "2500万元", **kw}

    def test_exactly_2500wan(self, run):
        """第2条：无基数的新建投产企业，四季度当季产值应达到2500万元（含）以上."""
        assert run("gx2024q4-02b", self.firm(), Q) == (PENDING, None)
        assert run("gx2024q4-02b", self.firm(), Q, params=self.AMOUNT) == (MET, Decimal("100000"))

    def test_one_fen_below_2500wan(self, run):
        """第2条：2499.9999万 does not reach 2500万元（含）."""
        assert run("gx2024q4-02b", self.firm(output_q="24999999.99"), Q, params=self.AMOUNT)[0] == NOT_MET

    def test_no_growth_condition(self, run):
        """第2条：无基数企业 has no 同比增速 requirement."""
        assert run("gx2024q4-02b", self.firm(output_q_ly="9000万元"), Q, params=self.AMOUNT)[0] == MET

    def test_enterprise_with_base_is_not_02b(self, run):
        """第2条：02b is for 无基数的新建投产企业 only."""
        assert run("gx2024q4-02b", self.firm(is_new_in_statistics=False), Q, params=self.AMOUNT)[0] == NOT_MET

    def test_missing_output_is_missing(self, run):
        """第2条：missing 当季产值 → 待补充信息."""
        facts = self.firm()
        del facts["output_q"]
        assert run("gx2024q4-02b", facts, Q, params=self.AMOUNT)[0] == MISSING

    def test_difficult_industry_lowered(self, run):
        """第2条：困难行业可适当降低标准 — 2000万 meets a lowered 2000万 threshold."""
        facts = self.firm(gx2024q4_02_difficult_industry=True, output_q="2000万元")
        assert run("gx2024q4-02b", facts, Q, params=self.AMOUNT)[0] == NOT_MET
        params = {**self.AMOUNT, "gx2024q4_02b_difficult_output_min": 20_000_000}
        assert run("gx2024q4-02b", facts, Q, params=params)[0] == MET


class TestClause2SmallToScale:
    Y = "2024"

    def test_growth_exactly_10pct_full_year(self, run):
        """第2条：今年以来小升规且全年产值增速达到10%（含）以上 — 一定奖励 → 参数待定, then paid."""
        facts = {"upgraded_to_scale_this_year": True, "output_year": "2200万元", "output_year_ly": "2000万元"}
        assert run("gx2024q4-02c", facts, self.Y) == (PENDING, None)
        assert run("gx2024q4-02c", facts, self.Y, params={"gx2024q4_02c_amount": 50000}) == (MET, Decimal("50000"))

    def test_growth_just_below_10pct(self, run):
        """第2条：21,999,999.99 vs 2000万 is below 10%."""
        facts = {"upgraded_to_scale_this_year": True, "output_year": "21999999.99", "output_year_ly": "2000万元"}
        assert run("gx2024q4-02c", facts, self.Y, params={"gx2024q4_02c_amount": 50000})[0] == NOT_MET

    def test_not_small_to_scale(self, run):
        """第2条：only 今年以来小升规 enterprises."""
        facts = {"upgraded_to_scale_this_year": False, "output_year": "2200万元", "output_year_ly": "2000万元"}
        assert run("gx2024q4-02c", facts, self.Y, params={"gx2024q4_02c_amount": 50000})[0] == NOT_MET

    def test_missing_last_year_output(self, run):
        """第2条：missing 上年全年产值 → 待补充信息."""
        facts = {"upgraded_to_scale_this_year": True, "output_year": "2200万元"}
        assert run("gx2024q4-02c", facts, self.Y)[0] == MISSING

    def test_evaluated_on_full_year_data_only(self, ruleset):
        """第2条：“全年产值增速” — a year-2024 measure; a 2024Q4 run evaluates it "as of" 2024Q4 (RULES-8) on the
        full-year fields, which stay unknown (待补充信息) until the year's data are in — never 0."""
        assert "gx2024q4-02c" in ids_for(ruleset, "2024")
        assert "gx2024q4-02c" in ids_for(ruleset, "2024Q4")
        plan = {cm.id: cm for cm in ruleset.plan("2024Q4", "enterprise", ruleset.resolve_parameters())}
        assert plan["gx2024q4-02c"].as_of == "2024"
        assert {"output_year", "output_year_ly"} <= plan["gx2024q4-02c"].fields


# ---------------------------------------------------------------------------------------------
# 第8条 电子信息首次建立供需关系奖励
# ---------------------------------------------------------------------------------------------
class TestClause8:
    FACTS = {"gx2024q4_08_electronics_key": True, "gx2024q4_08_first_supply_chain": True}

    def test_pending_then_paid(self, run):
        """第8条：对首次建立供需关系并形成有效供应链的电子信息制造业重点企业给予奖励 — amount unset → 参数待定."""
        assert run("gx2024q4-08", self.FACTS, Q) == (PENDING, None)
        assert run("gx2024q4-08", self.FACTS, Q, params={"gx2024q4_08_amount": 300000}) == (MET, Decimal("300000"))

    def test_not_first_relationship(self, run):
        """第8条：首次建立供需关系 is required."""
        facts = {**self.FACTS, "gx2024q4_08_first_supply_chain": False}
        assert run("gx2024q4-08", facts, Q, params={"gx2024q4_08_amount": 300000})[0] == NOT_MET

    def test_missing_flag(self, run):
        """第8条：unknown 重点企业 status → 待补充信息."""
        assert run("gx2024q4-08", {"gx2024q4_08_first_supply_chain": True}, Q)[0] == MISSING


# ---------------------------------------------------------------------------------------------
# 第11条 周转资金支持范围；第20条 设备更新支持对象（资格类）
# ---------------------------------------------------------------------------------------------
class TestClause11:
    def test_exactly_5yi_is_not_gaoyu(self, run):
        """第11条：固定资产投资高于5亿元 — exactly 5亿 is not 高于."""
        facts = {"gx2024q4_11_shuangbai_shuangxin": True, "gx2024q2_project_fixed_asset_invest": "5亿元"}
        assert run("gx2024q4-11", facts, Q)[0] == NOT_MET

    def test_one_fen_above_5yi(self, run):
        """第11条：500,000,000.01 元 is 高于5亿元."""
        facts = {"gx2024q4_11_shuangbai_shuangxin": True, "gx2024q2_project_fixed_asset_invest": "500000000.01"}
        assert run("gx2024q4-11", facts, Q) == (MET, None)

    def test_not_shuangbai(self, run):
        """第11条：only “双百双新”项目."""
        facts = {"gx2024q4_11_shuangbai_shuangxin": False, "gx2024q2_project_fixed_asset_invest": "10亿元"}
        assert run("gx2024q4-11", facts, Q)[0] == NOT_MET

    def test_missing_investment(self, run):
        """第11条：missing 固定资产投资 → 待补充信息."""
        assert run("gx2024q4-11", {"gx2024q4_11_shuangbai_shuangxin": True}, Q)[0] == MISSING


class TestClause20:
    def project(self, **kw):
        return {"project_type": "技术改造", "gx2024q4_20_key_direction": True, "gx2024q4_20_equipment_invest": "500万元", **kw}

    def test_exactly_500wan(self, run):
        """第20条：设备投资500万元（含）以上的技术改造项目."""
        assert run("gx2024q4-20", self.project(), Q) == (MET, None)

    def test_one_fen_below(self, run):
        """第20条：4,999,999.99 元 does not reach 500万元（含）."""
        assert run("gx2024q4-20", self.project(gx2024q4_20_equipment_invest="4999999.99"), Q)[0] == NOT_MET

    def test_new_build_project_is_not_covered(self, run):
        """第20条：技术改造项目 only."""
        assert run("gx2024q4-20", self.project(project_type="新建"), Q)[0] == NOT_MET

    def test_missing_direction(self, run):
        """第20条：unknown 重点方向领域 → 待补充信息."""
        facts = self.project()
        del facts["gx2024q4_20_key_direction"]
        assert run("gx2024q4-20", facts, Q)[0] == MISSING


# ---------------------------------------------------------------------------------------------
# 第23条 “桂惠贷”工业流动资金贷贴息（F）
# ---------------------------------------------------------------------------------------------
def loan(**kw):
    return {"gx2024q4_23_on_list": True, "gx2024q4_23_loan_principal": "100万元",
            "gx2024q4_23_loan_draw_date": "2024-11-15", "gx2024q4_23_interest_days": 365, **kw}


class TestClause23:
    def test_full_year_is_two_percentage_points(self, run):
        """第23条：贴息比例为2个百分点，贴息期限一年 — 100万 × 2% = 2万."""
        assert run("gx2024q4-23", loan(), Q) == (MET, Decimal("20000"))

    def test_term_capped_at_one_year(self, run):
        """第23条：贴息期限一年 — 400 days count as 365."""
        assert run("gx2024q4-23", loan(gx2024q4_23_interest_days=400), Q) == (MET, Decimal("20000"))

    def test_partial_year_pro_rata(self, run):
        """第23条：100 days → 100万 × 2% × 100/365 = 5,479.452… → 5,479.45 (floored)."""
        assert run("gx2024q4-23", loan(gx2024q4_23_interest_days=100), Q) == (MET, Decimal("5479.45"))

    def test_rounding_floors_to_fen(self, run):
        """第23条：1万 × 2% × 1/365 = 0.5479… → 0.54, never rounded up to 0.55."""
        facts = loan(gx2024q4_23_loan_principal=10000, gx2024q4_23_interest_days=1)
        assert run("gx2024q4-23", facts, Q) == (MET, Decimal("0.54"))

    def test_cap_150wan(self, run):
        """第23条：单个企业累计贴息上限额度150万元 — 7500万 × 2% is exactly 150万; 1亿 × 2% → 150万."""
        assert run("gx2024q4-23", loan(gx2024q4_23_loan_principal="7500万元"), Q) == (MET, Decimal("1500000"))
        assert run("gx2024q4-23", loan(gx2024q4_23_loan_principal="1亿元"), Q) == (MET, Decimal("1500000"))
        assert run("gx2024q4-23", loan(gx2024q4_23_loan_principal="7499.99万元"), Q) == (MET, Decimal("1499998"))

    def test_draw_date_window(self, run):
        """第23条：产品期限实施至2024年12月31日 (含), 四季度贷款 from 2024-10-01."""
        assert run("gx2024q4-23", loan(gx2024q4_23_loan_draw_date="2024-12-31"), Q)[0] == MET
        assert run("gx2024q4-23", loan(gx2024q4_23_loan_draw_date="2025-01-01"), Q)[0] == NOT_MET
        assert run("gx2024q4-23", loan(gx2024q4_23_loan_draw_date="2024-10-01"), Q)[0] == MET
        assert run("gx2024q4-23", loan(gx2024q4_23_loan_draw_date="2024-09-30"), Q)[0] == NOT_MET

    def test_not_on_list(self, run):
        """第23条：名单制特色产品 — an enterprise not on the list gets nothing."""
        assert run("gx2024q4-23", loan(gx2024q4_23_on_list=False), Q)[0] == NOT_MET

    def test_day_basis_parameter(self, run):
        """第23条：day-count basis is an operator parameter (default 365); 360 → 5,555.55 for 100 days."""
        params = {"gx2024q4_23_days_per_year": 360}
        assert run("gx2024q4-23", loan(gx2024q4_23_interest_days=100), Q, params=params) == (MET, Decimal("5555.55"))
        assert run("gx2024q4-23", loan(), Q, params=params) == (MET, Decimal("20000"))

    def test_missing_draw_date(self, run):
        """第23条：missing 放款日期 → 待补充信息."""
        facts = loan()
        del facts["gx2024q4_23_loan_draw_date"]
        assert run("gx2024q4-23", facts, Q)[0] == MISSING

    def test_missing_interest_days(self, run):
        """第23条：missing 计息天数 → 待补充信息, never 0."""
        facts = loan()
        del facts["gx2024q4_23_interest_days"]
        assert run("gx2024q4-23", facts, Q)[0] == MISSING

    def test_outside_validity(self, ruleset):
        """第23条 is a 2024年四季度 measure: not evaluated for 2025Q1."""
        assert "gx2024q4-23" in ids_for(ruleset, Q)
        assert "gx2024q4-23" not in ids_for(ruleset, "2025Q1")


# ---------------------------------------------------------------------------------------------
# 第24条 增量用电奖励
# ---------------------------------------------------------------------------------------------
def power_firm(**kw):
    return {"is_industrial": True, "gx2024q2_in_two_high_catalog": False, "gx2024q2_independent_metering": True,
            "output_q": "1000万元", "output_q_ly": "909.0909万元",
            "purchased_power_q": 1_200_000, "gx2024q2_base_power_q": 1_000_000, **kw}


class TestClause24:
    RATE = {"gx2024q4_24_reward_per_kwh": 0.05}

    def test_pending_then_paid(self, run):
        """第24条：按四季度外购电量较基数电量增量部分给予一定奖励 — 20万千瓦时 × 0.05元 = 1万元 once set."""
        assert run("gx2024q4-24", power_firm(), Q) == (PENDING, None)
        assert run("gx2024q4-24", power_firm(), Q, params=self.RATE) == (MET, Decimal("10000"))

    def test_output_threshold(self, run):
        """第24条：当季产值达到1000万元（含）以上 — one 分 below fails."""
        assert run("gx2024q4-24", power_firm(output_q="9999999.99", output_q_ly="800万元"), Q,
                   params=self.RATE)[0] == NOT_MET

    def test_growth_exactly_10pct(self, run):
        """第24条：同比增速达到10%（含）以上."""
        assert run("gx2024q4-24", power_firm(output_q="1100万元", output_q_ly="1000万元"), Q, params=self.RATE)[0] == MET
        assert run("gx2024q4-24", power_firm(output_q="10999999.99", output_q_ly="1000万元"), Q,
                   params=self.RATE)[0] == NOT_MET

    def test_two_high_excluded(self, run):
        """第24条：不在广西“两高”项目管理目录规定的工序或产品范围."""
        assert run("gx2024q4-24", power_firm(gx2024q2_in_two_high_catalog=True), Q, params=self.RATE)[0] == NOT_MET

    def test_no_increment_no_award(self, run):
        """第24条：外购电量未超过基数电量 → no increment → 不符合."""
        assert run("gx2024q4-24", power_firm(purchased_power_q=1_000_000), Q, params=self.RATE)[0] == NOT_MET

    def test_missing_base_power(self, run):
        """第24条：missing 基数电量 → 待补充信息."""
        facts = power_firm()
        del facts["gx2024q2_base_power_q"]
        assert run("gx2024q4-24", facts, Q, params=self.RATE)[0] == MISSING
