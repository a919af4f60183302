"""《2024年二季度推动工业经济稳增长若干政策措施》（桂工信综合〔2024〕328号，gx2024q2）— tests from the text."""

from decimal import Decimal

from huiqi.engine.evaluate import MET, MISSING, NOT_MET, PENDING, col

Q = "2024Q2"


class TestItem2WithBase:
    M = "gx2024q2-02b"
    P = {"gx2024q2_02b_rate": "0.05"}

    def f(self, **kw):
        return {"is_above_scale": True, "output_q": "2000万元", "output_q_ly": "1000万元", **kw}

    def test_pending_until_rate_set(self, run):
        """第2条：分行业分类给予奖励 — 标准未载明 → 参数待定."""
        assert run(self.M, self.f(), Q)[0] == PENDING

    def test_minimum_5wan_inclusive(self, run):
        """第2条：单个企业奖励金额低于5万元的，不给予奖励 — exactly 5万 is paid, 49,999.99 is not."""
        assert run(self.M, self.f(output_q="1100万元"), Q, params=self.P) == (MET, Decimal("50000"))
        assert run(self.M, self.f(output_q="10999999.99"), Q, params=self.P)[0] == NOT_MET

    def test_cap_100wan(self, run):
        """第2条：最高不超100万元 — 5% of 3000万 = 150万 → 100万."""
        assert run(self.M, self.f(output_q="4000万元"), Q, params=self.P) == (MET, Decimal("1000000"))

    def test_needs_base_and_increment(self, run):
        """第2条：有基数的在库企业，按同比增量 — no base or no increment: nothing."""
        assert run(self.M, self.f(output_q_ly=0), Q, params=self.P)[0] == NOT_MET
        assert run(self.M, self.f(output_q="900万元"), Q, params=self.P)[0] == NOT_MET
        assert run(self.M, self.f(is_above_scale=False), Q, params=self.P)[0] == NOT_MET

    def test_missing_base(self, run):
        """第2条：missing 上年同季产值 gives 待补充信息."""
        facts = self.f()
        del facts["output_q_ly"]
        assert run(self.M, facts, Q, params=self.P)[0] == MISSING

    def test_period(self, ruleset):
        """The measures apply to 2024年二季度 only."""
        assert self.M in {m.id for m, _ in ruleset.measures_for(Q)}
        assert self.M not in {m.id for m, _ in ruleset.measures_for("2024Q3")}


class TestItem2NewEnterprise:
    M = "gx2024q2-02c"
    P = {"gx2024q2_02c_rate": "0.1"}

    def f(self, **kw):
        return {"is_new_in_statistics": True, "gx2024q2_library_entry_date": "2023-07-01", "output_q": "50万元", **kw}

    def test_entry_date_from_1_july_2023(self, run):
        """第2条：2023年7月1日后入库 — 7月1日 counts (decided), 6月30日 does not."""
        assert run(self.M, self.f(), Q, params=self.P) == (MET, Decimal("50000"))
        assert run(self.M, self.f(gx2024q2_library_entry_date="2023-06-30"), Q, params=self.P)[0] == NOT_MET

    def test_minimum_and_cap(self, run):
        """第2条：低于5万元不奖励；最高不超100万元."""
        assert run(self.M, self.f(output_q="499999.99"), Q, params=self.P)[0] == NOT_MET
        assert run(self.M, self.f(output_q="2000万元"), Q, params=self.P) == (MET, Decimal("1000000"))

    def test_pending_and_missing(self, run):
        """第2条：参数待定 without a rate; missing 入库日期 gives 待补充信息."""
        assert run(self.M, self.f(), Q)[0] == PENDING
        facts = self.f()
        del facts["gx2024q2_library_entry_date"]
        assert run(self.M, facts, Q, params=self.P)[0] == MISSING


class TestItem13Investment:
    P = {"gx2024q2_13a_rate": "0.02", "gx2024q2_13b_rate": "0.01"}

    def test_increment_threshold_1000wan(self, run):
        """第13条：实际完成投资1000万元及以上且同比增长 — exactly 1000万 qualifies, one 分 less does not."""
        f = {"project_invest_q": "1000万元", "project_invest_q_ly": "500万元"}
        assert run("gx2024q2-13a", f, Q, params=self.P) == (MET, Decimal("100000"))
        assert run("gx2024q2-13a", {**f, "project_invest_q": "9999999.99"}, Q, params=self.P)[0] == NOT_MET
        assert run("gx2024q2-13a", {**f, "project_invest_q_ly": "1000万元"}, Q, params=self.P)[0] == NOT_MET

    def test_major_project_2yi_inclusive(self, run):
        """第13条：实际完成投资2亿元(含)以上."""
        assert run("gx2024q2-13b", {"project_invest_q": "2亿元"}, Q, params=self.P) == (MET, Decimal("2000000"))
        assert run("gx2024q2-13b", {"project_invest_q": "199999999.99"}, Q, params=self.P)[0] == NOT_MET

    def test_pending_and_missing(self, run):
        """第13条：“一定比例” → 参数待定; missing 上年同季投资 → 待补充信息."""
        assert run("gx2024q2-13b", {"project_invest_q": "2亿元"}, Q)[0] == PENDING
        assert run("gx2024q2-13a", {"project_invest_q": "2亿元"}, Q, params=self.P)[0] == MISSING

    def test_only_one_of_the_two(self, run_full):
        """第13条：同时符合投资增量补助和重大项目补助的项目，仅享受其中一类补助 (the higher)."""
        row = run_full({"project_invest_q": "3亿元", "project_invest_q_ly": "1亿元"}, Q, entity="project",
                       params=self.P, measures=["gx2024q2-13a", "gx2024q2-13b"])
        # 13a: 2% × 2亿 = 400万; 13b: 1% × 3亿 = 300万
        assert row[col("gx2024q2-13a", "award")] == 4_000_000 * 100
        assert row[col("gx2024q2-13b", "award")] == 0


class TestItem22Innovation:
    M = "gx2024q2-22"

    def test_rate_pending_then_amount(self, run):
        """第22条：按照固定资产投资的一定比例给予支持."""
        f = {"gx2024q2_innovation_scaleup_effective": True, "gx2024q2_project_fixed_asset_invest": "1亿元"}
        assert run(self.M, f, Q)[0] == PENDING
        assert run(self.M, f, Q, params={"gx2024q2_22_rate": "0.03"}) == (MET, Decimal("3000000"))
        assert run(self.M, {**f, "gx2024q2_innovation_scaleup_effective": False}, Q,
                   params={"gx2024q2_22_rate": "0.03"})[0] == NOT_MET
        assert run(self.M, {"gx2024q2_innovation_scaleup_effective": True}, Q,
                   params={"gx2024q2_22_rate": "0.03"})[0] == MISSING


class TestItem24RD:
    M = "gx2024q2-24"

    def f(self, **kw):
        return {"is_above_scale": True, "gx2024q2_new_rd_activity_certified": True,
                "gx2024q2_rd_input_apply_year": "50万元", **kw}

    def test_threshold_50wan_inclusive(self, run):
        """第24条：实际研发投入达到50万元以上（含）; 不超过研发投入的10% — 50万 → at most 5万."""
        p = {"gx2024q2_24_amount": 100_000}
        assert run(self.M, self.f(), Q, params=p) == (MET, Decimal("50000"))
        assert run(self.M, self.f(gx2024q2_rd_input_apply_year="499999.99"), Q, params=p)[0] == NOT_MET

    def test_cap_100wan(self, run):
        """第24条：最高不超过100万元."""
        p = {"gx2024q2_24_amount": 2_000_000}
        assert run(self.M, self.f(gx2024q2_rd_input_apply_year="5000万元"), Q, params=p) == (MET, Decimal("1000000"))

    def test_pending_and_missing(self, run):
        """第24条：分档次 → 参数待定; missing 研发认定 → 待补充信息."""
        assert run(self.M, self.f(), Q)[0] == PENDING
        facts = self.f()
        del facts["gx2024q2_new_rd_activity_certified"]
        assert run(self.M, facts, Q, params={"gx2024q2_24_amount": 100_000})[0] == MISSING


class TestItem25Digital:
    M = "gx2024q2-25"
    P = {"gx2024q2_25_amount": 200_000}

    def f(self, **kw):
        return {"gx2024q2_digital_project_category": "链式数字化转型项目", "gx2024q2_project_total_invest": "500万元", **kw}

    def test_total_investment_500wan_inclusive(self, run):
        """第25条：总投资500万元以上 — 500万 qualifies, one 分 less does not."""
        assert run(self.M, self.f(), Q, params=self.P) == (MET, Decimal("200000"))
        assert run(self.M, self.f(gx2024q2_project_total_invest="4999999.99"), Q, params=self.P)[0] == NOT_MET

    def test_category_pending_missing(self, run):
        """第25条：only the three listed project types; amount 未载明 → 参数待定."""
        assert run(self.M, self.f(gx2024q2_digital_project_category="其他"), Q, params=self.P)[0] == NOT_MET
        assert run(self.M, self.f(), Q)[0] == PENDING
        assert run(self.M, {"gx2024q2_digital_project_category": "链式数字化转型项目"}, Q, params=self.P)[0] == MISSING


class TestItem28Power:
    M = "gx2024q2-28"
    P = {"gx2024q2_28_unit_reward": "0.1"}

    def f(self, **kw):
        return {"gx2024q2_in_two_high_catalog": False, "gx2024q2_independent_metering": True, "is_above_scale": True,
                "is_manufacturing": True, "output_q": "1100万元", "output_q_ly": "1000万元",
                "purchased_power_q": 200_000, "gx2024q2_base_power_q": 100_000, **kw}

    def test_growth_10pct_inclusive(self, run):
        """第28条：产值同比增长10%以上 — exactly 10% qualifies (0.1元 × 10万千瓦时 = 1万元); one 分 less fails."""
        assert run(self.M, self.f(), Q, params=self.P) == (MET, Decimal("10000"))
        assert run(self.M, self.f(output_q="10999999.99"), Q, params=self.P)[0] == NOT_MET

    def test_exclusions(self, run):
        """第28条：不在“两高”目录范围；外购电量较基数电量有增量."""
        assert run(self.M, self.f(gx2024q2_in_two_high_catalog=True), Q, params=self.P)[0] == NOT_MET
        assert run(self.M, self.f(purchased_power_q=90_000), Q, params=self.P)[0] == NOT_MET

    def test_pending_and_missing(self, run):
        """第28条：“一定奖励” → 参数待定; missing 基数电量 → 待补充信息."""
        assert run(self.M, self.f(), Q)[0] == PENDING
        facts = self.f()
        del facts["gx2024q2_base_power_q"]
        assert run(self.M, facts, Q, params=self.P)[0] == MISSING
