"""《加力推动工业经济稳中向好的政策措施（征求意见稿）》（2025年下半年） — tests from the text."""

from decimal import Decimal

import pytest

from huiqi.engine.evaluate import MET, MISSING, NOT_MET, PENDING, ParameterError

Q3, Q4 = "2025Q3", "2025Q4"


def ids_for(ruleset, period):
    return {m.id for m, _ in ruleset.measures_for(period)}


class TestDocumentLayer:
    def test_periods_q3_q4_only(self, ruleset):
        """注：本政策措施有效期至2025年12月31日 — measures run for 2025Q3 and 2025Q4 only."""
        for mid in ("gx2025h2-01", "gx2025h2-03", "gx2025h2-12"):
            assert mid in ids_for(ruleset, Q3) and mid in ids_for(ruleset, Q4)
            assert mid not in ids_for(ruleset, "2025Q2") and mid not in ids_for(ruleset, "2026Q1")

    def test_budget_parameter_default_15yi(self, ruleset):
        """（二十九）：直达专户额度提高至15亿元 — the budget parameter defaults to 15亿元."""
        assert ruleset.parameters["gx2025h2_budget"].default == 1_500_000_000


class TestClause1Output:
    SET = {"gx2025h2_01_growth_min": 0.1, "gx2025h2_01_power_growth_min": 0, "gx2025h2_01_profit_growth_min": 0,
           "gx2025h2_01_jobs_growth_min": 0, "gx2025h2_01_amount": 100000}
    FACTS = {"is_industrial": True, "output_q": "1100万元", "output_q_ly": "1000万元", "power_q": 1_100_000,
             "power_q_ly": 1_000_000, "profit_q": "110万元", "profit_q_ly": "100万元", "new_jobs_q": 11, "new_jobs_q_ly": 10}

    def test_pending_without_parameters(self, run):
        """（一）：根据…指标增长情况，分季度给予奖励 — no numbers in the draft → 参数待定."""
        assert run("gx2025h2-01", self.FACTS, Q3) == (PENDING, None)

    def test_growth_threshold_boundary_once_set(self, run):
        """（一）：with a 10% threshold set, exactly 10% meets and one 分 less fails."""
        assert run("gx2025h2-01", self.FACTS, Q4, params=self.SET) == (MET, Decimal("100000"))
        facts = {**self.FACTS, "output_q": "10999999.99"}
        assert run("gx2025h2-01", facts, Q4, params=self.SET)[0] == NOT_MET

    def test_missing_last_year(self, run):
        """（一）：missing 上年同季产值 → 待补充信息."""
        assert run("gx2025h2-01", {"is_industrial": True, "output_q": "1100万元"}, Q3, params=self.SET)[0] == MISSING


    @pytest.mark.parametrize("indicator, last", [("power_q", "power_q_ly"), ("profit_q", "profit_q_ly"),
                                                 ("new_jobs_q", "new_jobs_q_ly")])
    def test_gx2025h2_01_checks_every_listed_indicator(self, run, indicator, last):
        """（一）：“根据企业……当季产值、用电、利润、新增就业人数等指标增长情况，分季度给予奖励” — every listed
        indicator counts (RULES-6: all must reach their thresholds): a fall in 用电/利润/新增就业人数 is 不符合, a
        missing one 待补充信息 (the old rule read 产值 only and paid regardless)."""
        fell = {**self.FACTS, indicator: 9 if indicator == "new_jobs_q" else ("90万元" if indicator == "profit_q" else 900_000)}
        assert run("gx2025h2-01", fell, Q3, params=self.SET)[0] == NOT_MET
        missing = {k: v for k, v in self.FACTS.items() if k != last}
        assert run("gx2025h2-01", missing, Q3, params=self.SET)[0] == MISSING
        unset = {k: v for k, v in self.SET.items() if k != "gx2025h2_01_profit_growth_min"}
        assert run("gx2025h2-01", self.FACTS, Q3, params=unset)[0] == PENDING


class TestClause2Software:
    SET = {"gx2025h2_02_growth_min": 0, "gx2025h2_02_amount": 50000}

    def facts(self, **kw):
        return {"gx2025h2_software_it_enterprise": True, "gx2025h2_operating_revenue_q": "300万元",
                "gx2025h2_operating_revenue_q_ly": "300万元", **kw}

    def test_pending_then_paid(self, run):
        """（二）：根据当季营业收入、利润等指标增长情况分季度给予奖励 — 参数待定 until set."""
        assert run("gx2025h2-02", self.facts(), Q3) == (PENDING, None)
        assert run("gx2025h2-02", self.facts(), Q3, params=self.SET) == (MET, Decimal("50000"))

    def test_decline_fails_zero_threshold(self, run):
        """（二）：with threshold 0%, a revenue decline of one 分 fails."""
        facts = self.facts(gx2025h2_operating_revenue_q="2999999.99")
        assert run("gx2025h2-02", facts, Q3, params=self.SET)[0] == NOT_MET

    def test_not_software(self, run):
        """（二）：软件和信息服务业企业 only."""
        assert run("gx2025h2-02", self.facts(gx2025h2_software_it_enterprise=False), Q3, params=self.SET)[0] == NOT_MET

    def test_missing_revenue(self, run):
        """（二）：missing 当季营业收入 → 待补充信息."""
        facts = self.facts()
        del facts["gx2025h2_operating_revenue_q"]
        assert run("gx2025h2-02", facts, Q3, params=self.SET)[0] == MISSING


class TestClause3Investment:
    def test_rate_pending_then_paid(self, run):
        """（三）：按投资实际完成量的一定比例给予资金补助 — 5% of 1000万 = 50万 once the rate is set."""
        facts = {"gx2025h2_03_key_project": True, "project_invest_q": "1000万元"}
        assert run("gx2025h2-03", facts, Q3) == (PENDING, None)
        assert run("gx2025h2-03", facts, Q3, params={"gx2025h2_03_rate": 0.05}) == (MET, Decimal("500000"))

    def test_not_key_project(self, run):
        """（三）：重点项目 only."""
        facts = {"gx2025h2_03_key_project": False, "project_invest_q": "1000万元"}
        assert run("gx2025h2-03", facts, Q3, params={"gx2025h2_03_rate": 0.05})[0] == NOT_MET

    def test_missing_investment(self, run):
        """（三）：missing 当季投资实际完成量 → 待补充信息."""
        assert run("gx2025h2-03", {"gx2025h2_03_key_project": True}, Q3, params={"gx2025h2_03_rate": 0.05})[0] == MISSING


class TestClause4RevolvingFund:
    def test_exactly_1yi_is_yishang(self, run):
        """（四）：固定资产投资1亿元以上项目 — bare 以上 includes 1亿 (民法典第1259条)."""
        assert run("gx2025h2-04", {"gx2024q2_project_fixed_asset_invest": "1亿元"}, Q3) == (MET, None)

    def test_one_fen_below(self, run):
        """（四）：99,999,999.99 元 is below 1亿元."""
        assert run("gx2025h2-04", {"gx2024q2_project_fixed_asset_invest": "99999999.99"}, Q3)[0] == NOT_MET

    def test_missing(self, run):
        """（四）：missing 固定资产投资 → 待补充信息."""
        assert run("gx2025h2-04", {}, Q3)[0] == MISSING


class TestClause5TwoHigh:
    def test_exactly_5wan_tce(self, run):
        """（五）：5万吨标准煤…以下 includes 5万吨."""
        assert run("gx2025h2-05", {"gx2025h2_05_two_high": True, "gx2025h2_05_energy_tce": 50000}, Q3) == (MET, None)

    def test_electricity_alternative(self, run):
        """（五）：或年电力消费量1亿千瓦时以下 — either indicator suffices."""
        facts = {"gx2025h2_05_two_high": True, "gx2025h2_05_energy_tce": "50000.01", "gx2025h2_05_power_kwh": 100_000_000}
        assert run("gx2025h2-05", facts, Q3)[0] == MET
        facts["gx2025h2_05_power_kwh"] = "100000000.01"
        assert run("gx2025h2-05", facts, Q3)[0] == NOT_MET

    def test_missing_electricity_when_tce_over(self, run):
        """（五）：tce above 5万 and electricity unknown → 待补充信息."""
        assert run("gx2025h2-05", {"gx2025h2_05_two_high": True, "gx2025h2_05_energy_tce": 60000}, Q3)[0] == MISSING


class TestClause11Expo:
    FACTS = {"is_industrial": True, "gx2025h2_11_expo_attended_q": True, "gx2025h2_11_expo_cost_q": "10万元"}

    def test_pending_then_paid(self, run):
        """（十一）：对企业参展实际发生的展位费、展品运输费、人员费等给予支持 — rate open."""
        assert run("gx2025h2-11", self.FACTS, Q3) == (PENDING, None)
        assert run("gx2025h2-11", self.FACTS, Q3, params={"gx2025h2_11_rate": 0.5}) == (MET, Decimal("50000"))

    def test_rate_cannot_exceed_cost(self, run):
        """（十一）：support is of 实际发生的费用 — a rate above 100% is refused."""
        with pytest.raises(ParameterError):
            run("gx2025h2-11", self.FACTS, Q3, params={"gx2025h2_11_rate": 1.5})

    def test_missing_cost(self, run):
        """（十一）：missing 参展费用 → 待补充信息."""
        facts = {"is_industrial": True, "gx2025h2_11_expo_attended_q": True}
        assert run("gx2025h2-11", facts, Q3, params={"gx2025h2_11_rate": 0.5})[0] == MISSING


class TestClause12Export:
    RATE = {"gx2025h2_12_rate": 0.1}
    FACTS = {"is_industrial": True, "gx2025h2_12_meets_conditions": True, "export_q": "1200万元", "export_q_ly": "1000万元"}

    def test_increment_rate(self, run):
        """（十二）：按出口额增量的一定比例给予奖励 — 10% × 200万 = 20万 once set."""
        assert run("gx2025h2-12", self.FACTS, Q4) == (PENDING, None)
        assert run("gx2025h2-12", self.FACTS, Q4, params=self.RATE) == (MET, Decimal("200000"))

    def test_no_increment(self, run):
        """（十二）：出口额未增长 → no 增量 → 不符合."""
        assert run("gx2025h2-12", {**self.FACTS, "export_q": "1000万元"}, Q4, params=self.RATE)[0] == NOT_MET

    def test_missing_last_year_export(self, run):
        """（十二）：missing 上年同季出口额 → 待补充信息, never 0."""
        facts = {k: v for k, v in self.FACTS.items() if k != "export_q_ly"}
        assert run("gx2025h2-12", facts, Q4, params=self.RATE)[0] == MISSING


class TestClause25Multimodal:
    Y = "2025"

    def test_pending_then_paid_under_cap(self, run):
        """（二十五）：每个（条）给予最高1000万元的补助资金 — amount open, at most 1000万."""
        facts = {"gx2025h2_25_meets_requirements": True}
        assert run("gx2025h2-25", facts, self.Y) == (PENDING, None)
        assert run("gx2025h2-25", facts, self.Y, params={"gx2025h2_25_amount": 10_000_000}) == (MET, Decimal("10000000"))

    def test_amount_above_1000wan_refused(self, run):
        """（二十五）：最高1000万元 — a larger amount is refused."""
        with pytest.raises(ParameterError):
            run("gx2025h2-25", {"gx2025h2_25_meets_requirements": True}, self.Y,
                params={"gx2025h2_25_amount": 10_000_000.01})

    def test_missing_requirement(self, run):
        """（二十五）：unknown 符合要求 → 待补充信息."""
        assert run("gx2025h2-25", {}, self.Y, params={"gx2025h2_25_amount": 5_000_000})[0] == MISSING


class TestClause26Toll:
    def test_ten_trips(self, run):
        """（二十六）：月通行量达10次及以上 — 10 qualifies, 9 does not."""
        facts = {"gx2025h2_26_designated_stations": True, "gx2025h2_26_monthly_trips": 10}
        assert run("gx2025h2-26", facts, Q3) == (MET, None)
        assert run("gx2025h2-26", {**facts, "gx2025h2_26_monthly_trips": 9}, Q3)[0] == NOT_MET

    def test_missing_trips(self, run):
        """（二十六）：missing 月通行量 → 待补充信息."""
        assert run("gx2025h2-26", {"gx2025h2_26_designated_stations": True}, Q3)[0] == MISSING


class TestClause27RailSiding:
    def test_exactly_150wan_tons_is_not_chaoguo(self, run):
        """（二十七）：年货运量超过150万吨 — exactly 150万吨 does not qualify, 150万吨 + 1 does."""
        facts = {"gx2025h2_27_annual_freight_t": 1_500_000, "gx2025h2_27_has_rail_siding": False}
        assert run("gx2025h2-27", facts, Q3)[0] == NOT_MET
        assert run("gx2025h2-27", {**facts, "gx2025h2_27_annual_freight_t": 1_500_001}, Q3) == (MET, None)

    def test_with_siding(self, run):
        """（二十七）：无专用线 only."""
        facts = {"gx2025h2_27_annual_freight_t": 2_000_000, "gx2025h2_27_has_rail_siding": True}
        assert run("gx2025h2-27", facts, Q3)[0] == NOT_MET

    def test_missing(self, run):
        """（二十七）：missing 年货运量 → 待补充信息."""
        assert run("gx2025h2-27", {"gx2025h2_27_has_rail_siding": False}, Q3)[0] == MISSING
