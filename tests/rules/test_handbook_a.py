"""《政策宣传手册》（柳州，2024）收录文件 hb11—hb38 的可计算措施 — tests from the text."""

from decimal import Decimal

import pytest

from huiqi.engine.evaluate import MET, MISSING, NOT_MET, PENDING


def absent(ruleset, measure_id, period):
    return measure_id not in {m.id for m, _ in ruleset.measures_for(period)}


# ---------------------------------------------------------------- hb38 招商引资激励办法
class TestHb38Projects:
    Y = "2024"

    @pytest.mark.parametrize("fa,expected", [
        ("10亿元", Decimal("10000000")),        # 1% = 1000万 = cap exactly
        ("12亿元", Decimal("10000000")),        # capped
        ("999999999.99", Decimal("9999999.99")),  # one 分 below the cap point: 1% floored to the 分
        ("100.99", Decimal("1.00")),            # 1% of 100.99 = 1.0099 → floored 1.00
    ])
    def test_industrial_1pct_cap_1000wan(self, run, fa, expected):
        """hb38:1.1.1~2 重大工业项目：固定资产的1%，单个项目最高不超过1000万元."""
        assert run("hb-zs-industrial", {"hb_zs_major_industrial": True, "hb_zs_fa_from_funds": fa}, self.Y) == (MET, expected)

    def test_industrial_not_qualified(self, run):
        """hb38:1.1.1~2 only 符合条件的重大工业招商引资项目."""
        assert run("hb-zs-industrial", {"hb_zs_major_industrial": False, "hb_zs_fa_from_funds": "1亿元"}, self.Y)[0] == NOT_MET

    def test_industrial_missing_fa(self, run):
        """hb38:1.1.1~2 固定资产 missing → 待补充信息, never 0."""
        assert run("hb-zs-industrial", {"hb_zs_major_industrial": True}, self.Y)[0] == MISSING

    @pytest.mark.parametrize("fa,expected", [
        ("1亿元", Decimal("3000000")),
        ("166666666.67", Decimal("5000000")),   # 3% = 5,000,000.0001 → cap 500万
        ("166666666.66", Decimal("4999999.99")),  # just below the cap
        ("3亿元", Decimal("5000000")),
    ])
    def test_hitech_3pct_cap_500wan(self, run, fa, expected):
        """hb38:1.1.2~2 高新技术企业、总部企业项目：3%，最高不超过500万元."""
        assert run("hb-zs-hitech", {"hb_zs_hitech_hq": True, "hb_zs_fa_from_funds": fa}, self.Y) == (MET, expected)

    def test_hitech_missing(self, run):
        """hb38:1.1.2~2 missing qualification → 待补充信息."""
        assert run("hb-zs-hitech", {"hb_zs_fa_from_funds": "1亿元"}, self.Y)[0] == MISSING

    def test_outside_validity(self, ruleset):
        """hb38 施行自2022年1月1日：2021 is not evaluated."""
        assert absent(ruleset, "hb-zs-industrial", "2021")
        assert absent(ruleset, "hb-zs-hitech", "2021Q4")


class TestHb38Agents:
    Y = "2023"

    @pytest.mark.parametrize("fa,expected", [
        ("1亿元", Decimal("2000000")),      # 2% = 200万 = cap
        ("9999999.99", Decimal("199999.99")),
        ("2亿元", Decimal("2000000")),
    ])
    def test_major_2pct_cap_200wan(self, run, fa, expected):
        """hb38:1.1.1~3 中介引进重大招商引资项目：2%，最高不超过200万元."""
        facts = {"hb_zs_agent_project_type": "重大招商引资项目", "hb_zs_agent_fa_from_funds": fa}
        assert run("hb-zs-agent-a", facts, self.Y) == (MET, expected)

    @pytest.mark.parametrize("fa,expected", [
        ("4000万元", Decimal("2000000")),   # 5% = 200万 = cap
        ("39999999.99", Decimal("1999999.99")),
        ("1亿元", Decimal("2000000")),
    ])
    def test_hitech_5pct_cap_200wan(self, run, fa, expected):
        """hb38:1.1.2~3 中介引进高新技术企业、总部企业项目：5%，最高不超过200万元."""
        facts = {"hb_zs_agent_project_type": "高新技术企业、总部企业招商引资项目", "hb_zs_agent_fa_from_funds": fa}
        assert run("hb-zs-agent-b", facts, self.Y) == (MET, expected)

    def test_wrong_type_not_met(self, run):
        """hb38:1.1.1~3: a 高新 project is not a 重大项目 for measure a."""
        facts = {"hb_zs_agent_project_type": "高新技术企业、总部企业招商引资项目", "hb_zs_agent_fa_from_funds": "1亿元"}
        assert run("hb-zs-agent-a", facts, self.Y)[0] == NOT_MET

    @pytest.mark.parametrize("kind,expected", [
        ("瞪羚企业", (MET, Decimal("200000"))),
        ("独角兽企业", (MET, Decimal("500000"))),
        ("现代服务业招商引资项目", (NOT_MET, None)),
    ])
    def test_gazelle_unicorn(self, run, kind, expected):
        """hb38:1.1.3~2 “瞪羚企业”“独角兽企业”一次性分别给予20万元、50万元."""
        assert run("hb-zs-agent-c", {"hb_zs_agent_project_type": kind}, self.Y) == expected

    def test_agent_missing_type(self, run):
        """hb38:1.1.3~2 missing project type → 待补充信息."""
        assert run("hb-zs-agent-c", {}, self.Y)[0] == MISSING

    def test_service_eligibility_only(self, run):
        """hb38:1.1.3 / 1.1.4 现代服务业（7个等次未载明）: eligibility only."""
        assert run("hb-zs-service", {"hb_zs_modern_service": True}, self.Y) == (MET, None)
        assert run("hb-zs-agent-d", {"hb_zs_agent_project_type": "现代服务业招商引资项目"}, self.Y) == (MET, None)
        assert run("hb-zs-service", {}, self.Y)[0] == MISSING


class TestHb38Ranking:
    Y = "2024"

    @pytest.mark.parametrize("unit,rank,status", [
        ("县人民政府", 2, MET), ("县人民政府", 3, NOT_MET),
        ("城区人民政府", 2, MET), ("城区人民政府", 3, NOT_MET),
        ("开发区管委会", 1, MET), ("开发区管委会", 2, NOT_MET),
    ])
    def test_county_rank(self, run, unit, rank, status):
        """hb38:1.1.1 排位前2名的县、前2名的城区、第1名的开发区."""
        assert run("hb-zs-county", {"hb_zs_unit_type": unit, "hb_zs_perf_rank": rank}, self.Y)[0] == status

    def test_county_missing(self, run):
        """hb38:1.1.1 missing rank → 待补充信息."""
        assert run("hb-zs-county", {"hb_zs_unit_type": "县人民政府"}, self.Y)[0] == MISSING

    @pytest.mark.parametrize("rank,tier", [(1, "1"), (2, "1"), (3, "2"), (7, "2"), (8, "3"), (10, "3"), (11, None)])
    def test_dept_tiers_of_20(self, run, rank, tier):
        """hb38:1.1.2 前10%一等、前10%-35%二等、前35%-50%三等 (of 20 depts: 2 → 10%, 7 → 35%, 10 → 50%)."""
        facts = {"hb_zs_dept_target_met": True, "hb_zs_dept_rank": rank, "hb_zs_dept_count": 20}
        for t in "123":
            expected = MET if t == tier else NOT_MET
            assert run(f"hb-zs-dept-{t}", facts, self.Y)[0] == expected

    def test_dept_target_not_met(self, run):
        """hb38:1.1.2 only 完成年度目标任务的部门."""
        facts = {"hb_zs_dept_target_met": False, "hb_zs_dept_rank": 1, "hb_zs_dept_count": 20}
        assert run("hb-zs-dept-1", facts, self.Y)[0] == NOT_MET
        del facts["hb_zs_dept_target_met"]
        assert run("hb-zs-dept-1", facts, self.Y)[0] == MISSING


# ---------------------------------------------------------------- hb31 主席质量奖
class TestHb31QualityAward:
    Y = "2024"
    BASE = {"hb_qa_gx_established": True, "hb_qa_operating_years": 3, "hb_qa_no_major_accident_3y": True,
            "hb_qa_previously_awarded": False, "hb_qa_awarded": True}

    def test_award_100wan_at_3_years(self, run):
        """hb31:4 从事合法经营3年以上 (exactly 3 qualifies); hb31:4.6 100万元."""
        assert run("hb-quality-award", self.BASE, self.Y) == (MET, Decimal("1000000"))

    def test_below_3_years(self, run):
        """hb31:4 2.99 years is not 3年以上."""
        assert run("hb-quality-award", {**self.BASE, "hb_qa_operating_years": "2.99"}, self.Y)[0] == NOT_MET

    @pytest.mark.parametrize("years,status", [(5, MET), ("4.99", NOT_MET)])
    def test_reapply_after_5_years(self, run, years, status):
        """hb31:4.6 已获奖的需满5年后方可再次申报."""
        facts = {**self.BASE, "hb_qa_previously_awarded": True, "hb_qa_years_since_award": years}
        assert run("hb-quality-award", facts, self.Y)[0] == status

    def test_not_awarded(self, run):
        """hb31:4.6 only 获奖企业 receive the 100万 (提名奖 certificate only)."""
        assert run("hb-quality-award", {**self.BASE, "hb_qa_awarded": False}, self.Y)[0] == NOT_MET

    def test_missing(self, run):
        """hb31:4 missing operating years → 待补充信息."""
        facts = dict(self.BASE)
        del facts["hb_qa_operating_years"]
        assert run("hb-quality-award", facts, self.Y)[0] == MISSING

    def test_outside_period(self, ruleset):
        """hb31 encoded for the 2024 round only."""
        assert absent(ruleset, "hb-quality-award", "2023")


# ---------------------------------------------------------------- hb36 电子商务
class TestHb36Ecommerce:
    Y = "2024"
    LIVE = {"hb_ec_live_local_entity": True, "hb_ec_gmv_ly": "1亿元", "hb_ec_live_award_received": False}

    def test_live_exactly_1yi(self, run):
        """hb36:4 电子商务交易额达到1亿元以上 → 一次性奖励30万元."""
        assert run("hb-ecom-live", self.LIVE, self.Y) == (MET, Decimal("300000"))

    def test_live_one_fen_below(self, run):
        """hb36:4 99,999,999.99 is not 达到1亿元; cross-border 1亿 alone suffices."""
        facts = {**self.LIVE, "hb_ec_gmv_ly": "99999999.99", "hb_ec_crossborder_ly": 0}
        assert run("hb-ecom-live", facts, self.Y)[0] == NOT_MET
        facts["hb_ec_crossborder_ly"] = "1亿元"
        assert run("hb-ecom-live", facts, self.Y) == (MET, Decimal("300000"))

    def test_live_once_only(self, run):
        """hb36:4 一次性奖励：已获得的不再给予."""
        assert run("hb-ecom-live", {**self.LIVE, "hb_ec_live_award_received": True}, self.Y)[0] == NOT_MET

    def test_live_missing(self, run):
        """hb36:4 missing GMV and cross-border → 待补充信息."""
        facts = dict(self.LIVE)
        del facts["hb_ec_gmv_ly"]
        assert run("hb-ecom-live", facts, self.Y)[0] == MISSING

    def test_live_outside_validity(self, ruleset):
        """hb36:10 有效期至2025年12月31日."""
        assert absent(ruleset, "hb-ecom-live", "2026")

    def test_retail_pending_then_capped(self, run):
        """hb36:1 “达到规定数额”“最高可达100万元” — 参数待定 until set; the award is capped at 100万."""
        facts = {"hb_ec_is_wholesale_retail": True, "hb_ec_retail_sales_ly": "2亿元", "hb_ec_retail_sales_ly2": "1亿元",
                 "hb_ec_online_retail_ly": "5000万元", "hb_ec_online_retail_ly2": "4000万元"}
        assert run("hb-ecom-retail", facts, self.Y)[0] == PENDING
        params = {"hb36_retail_threshold": 50_000_000, "hb36_retail_award": 1_000_000}
        assert run("hb-ecom-retail", facts, self.Y, params=params) == (MET, Decimal("1000000"))
        params["hb36_retail_threshold"] = 50_000_001
        assert run("hb-ecom-retail", facts, self.Y, params=params)[0] == NOT_MET

    def test_retail_no_growth(self, run):
        """hb36:1 零售额须增长: flat retail sales fail even before parameters are set."""
        facts = {"hb_ec_is_wholesale_retail": True, "hb_ec_retail_sales_ly": "1亿元", "hb_ec_retail_sales_ly2": "1亿元",
                 "hb_ec_online_retail_ly": "5000万元", "hb_ec_online_retail_ly2": "4000万元"}
        assert run("hb-ecom-retail", facts, self.Y)[0] == NOT_MET

    def test_retail_award_above_text_maximum_rejected(self, ruleset):
        """hb36:1 最高可达100万元: an operator may not set more."""
        from huiqi.engine.evaluate import ParameterError
        with pytest.raises(ParameterError):
            ruleset.resolve_parameters({"hb36_retail_award": 1_000_001})

    def test_other_awards_pending(self, run):
        """hb36:2/4 示范基地、区域品牌、快递协同示范区：金额未载明 → 参数待定, then the set amount."""
        assert run("hb-ecom-other-a", {"hb_ec_new_national_demo": True}, self.Y)[0] == PENDING
        assert run("hb-ecom-other-a", {"hb_ec_new_national_demo": True}, self.Y,
                   params={"hb36_demo_award": 200000}) == (MET, Decimal("200000"))
        assert run("hb-ecom-other-c", {"hb_ec_new_national_express_demo": True}, self.Y)[0] == PENDING
        assert run("hb-ecom-other-d", {"hb_ec_gx_express_demo": False}, self.Y)[0] == NOT_MET
        assert run("hb-ecom-other-b", {"hb_ec_regional_brand": True}, self.Y)[0] == MISSING
        facts = {"hb_ec_regional_brand": True, "hb_ec_brand_online_retail_ly": "500万元"}
        assert run("hb-ecom-other-b", facts, self.Y,
                   params={"hb36_brand_threshold": 5_000_000, "hb36_brand_award": 100000}) == (MET, Decimal("100000"))


# ---------------------------------------------------------------- hb13 螺蛳粉电商产业园房租补贴
class TestHb13LuosifenRent:
    BASE = {"hb_ls_approved_tenant": True, "hb_ls_major_dishonesty": False, "hb_ls_compliance": True,
            "hb_ls_tenure_years": 1, "hb_ls_cleared_out": False, "hb_ls_office_normal": True,
            "hb_ls_city_similar_award": False, "hb_ls_stage_rent": "123456.78"}

    def test_ecommerce_100pct_all_stages(self, run):
        """hb13:1 螺蛳粉电商企业第一、二、三阶段按租金的100%补贴; tenure exactly 1 year (不满一年 excluded)."""
        facts = {**self.BASE, "hb_ls_tenant_type": "螺蛳粉电商企业"}
        for stage in ("2023H1", "2024H1", "2024H2"):
            assert run("hb-luosifen-rent-a", facts, stage) == (MET, Decimal("123456.78"))

    def test_tenure_just_below_one_year(self, run):
        """hb13:5.2 集中申报前入驻不满一年的不予补贴 — 0.99 year fails."""
        facts = {**self.BASE, "hb_ls_tenant_type": "螺蛳粉生产企业销售公司", "hb_ls_tenure_years": "0.99"}
        assert run("hb-luosifen-rent-a", facts, "2024H1")[0] == NOT_MET

    def test_service_70pct_then_50pct(self, run):
        """hb13:2 配套服务企业第一、二阶段70%，第三阶段50% (floored to the 分)."""
        facts = {**self.BASE, "hb_ls_tenant_type": "其他配套和服务企业"}
        assert run("hb-luosifen-rent-b", facts, "2023H1") == (MET, Decimal("86419.74"))  # 86419.746 → floor
        assert run("hb-luosifen-rent-c", facts, "2024H2") == (MET, Decimal("61728.39"))
        assert run("hb-luosifen-rent-a", facts, "2024H2")[0] == NOT_MET  # not the 100% category

    def test_stage_periods(self, ruleset):
        """hb13:2 70% applies to stages 1–2 only, 50% to stage 3 only; hb13:6.3 有效期至2024年12月31日."""
        assert absent(ruleset, "hb-luosifen-rent-b", "2024H2")
        assert absent(ruleset, "hb-luosifen-rent-c", "2024H1")
        assert absent(ruleset, "hb-luosifen-rent-a", "2025H1")

    @pytest.mark.parametrize("key,value", [("hb_ls_cleared_out", True), ("hb_ls_office_normal", False),
                                           ("hb_ls_city_similar_award", True), ("hb_ls_major_dishonesty", True)])
    def test_exclusions(self, run, key, value):
        """hb13:5.2 / 6.2 / 四（一）: 清退、未正常办公、已享受市本级同类奖励、重大失信 → 不予补贴."""
        facts = {**self.BASE, "hb_ls_tenant_type": "螺蛳粉电商企业", key: value}
        assert run("hb-luosifen-rent-a", facts, "2024H1")[0] == NOT_MET

    def test_missing_rent(self, run):
        """hb13:1 missing rent → 待补充信息."""
        facts = {**self.BASE, "hb_ls_tenant_type": "螺蛳粉电商企业"}
        del facts["hb_ls_stage_rent"]
        assert run("hb-luosifen-rent-a", facts, "2024H1")[0] == MISSING


# ---------------------------------------------------------------- hb14 再贷款
class TestHb14Relending:
    def test_60pct_of_principal(self, run):
        """hb14:0 按贷款本金的60%向金融机构发放再贷款 (floored)."""
        facts = {"hb_pboc_eligible_institution": True, "hb_pboc_listed_loan_principal": "1000000.01"}
        assert run("hb-pboc-relending", facts, "2024") == (MET, Decimal("600000.00"))

    def test_not_eligible_institution_and_missing(self, run):
        """hb14:0 21家金融机构 only; missing principal → 待补充信息."""
        assert run("hb-pboc-relending", {"hb_pboc_eligible_institution": False,
                                         "hb_pboc_listed_loan_principal": 100}, "2024")[0] == NOT_MET
        assert run("hb-pboc-relending", {"hb_pboc_eligible_institution": True}, "2024")[0] == MISSING

    def test_outside_period(self, ruleset):
        """hb14 encoded for 2024."""
        assert absent(ruleset, "hb-pboc-relending", "2023")


# ---------------------------------------------------------------- hb22 设备器具一次性扣除
class TestHb22Equipment:
    @pytest.mark.parametrize("date,value,expected", [
        ("2024-01-01", "500万元", (MET, Decimal("5000000"))),    # first day, exactly 500万（不超过）
        ("2027-12-31", "100", (MET, Decimal("100"))),           # last day
        ("2023-12-31", "100", (NOT_MET, None)),                 # before the window
        ("2028-01-01", "100", (NOT_MET, None)),
        ("2024-06-01", "5000000.01", (NOT_MET, None)),          # one 分 over 500万
    ])
    def test_window_and_500wan(self, run, date, value, expected):
        """hb22:1 2024年1月1日至2027年12月31日新购进、单位价值不超过500万元."""
        facts = {"hb_eq_purchase_date": date, "hb_eq_unit_value": value, "hb_eq_is_building": False}
        assert run("hb-tax-equip", facts, "2024") == expected

    def test_building_excluded(self, run):
        """hb22:2 设备、器具是指除房屋、建筑物以外的固定资产."""
        facts = {"hb_eq_purchase_date": "2024-05-01", "hb_eq_unit_value": 100, "hb_eq_is_building": True}
        assert run("hb-tax-equip", facts, "2024")[0] == NOT_MET

    def test_missing_date(self, run):
        """hb22:1 missing purchase date → 待补充信息."""
        assert run("hb-tax-equip", {"hb_eq_unit_value": 100, "hb_eq_is_building": False}, "2025")[0] == MISSING

    def test_outside_period(self, ruleset):
        """hb22:1 from 2024: 2023 not evaluated."""
        assert absent(ruleset, "hb-tax-equip", "2023")


# ---------------------------------------------------------------- hb23 研发费用加计扣除
class TestHb23IcRd:
    def test_120pct_and_220pct(self, run):
        """hb23:1 再按实际发生额的120%扣除；无形资产成本的220%摊销."""
        assert run("hb-tax-icrd-a", {"hb_icrd_on_list": True, "hb_icrd_rd_expensed_year": "1000000.01"}, "2024") == \
            (MET, Decimal("1200000.01"))  # 1.2 × 1,000,000.01 = 1,200,000.012 → floored
        assert run("hb-tax-icrd-b", {"hb_icrd_on_list": True, "hb_icrd_intangible_cost": "100万元"}, "2023") == \
            (MET, Decimal("2200000"))

    def test_not_on_list_and_missing(self, run):
        """hb23:2/3 清单企业 only; missing R&D → 待补充信息."""
        assert run("hb-tax-icrd-a", {"hb_icrd_on_list": False, "hb_icrd_rd_expensed_year": 1000}, "2024")[0] == NOT_MET
        assert run("hb-tax-icrd-a", {"hb_icrd_on_list": True}, "2024")[0] == MISSING

    def test_outside_period(self, ruleset):
        """hb23:1 2023—2027 only."""
        assert absent(ruleset, "hb-tax-icrd-a", "2028")
        assert absent(ruleset, "hb-tax-icrd-b", "2022")


# ---------------------------------------------------------------- hb24 增值税加计抵减
class TestHb24VatAdd:
    Q = "2024Q2"
    BASE = {"hb_va_on_list": True, "hb_va_input_tax": "100000.00", "hb_va_input_excluded": "20000.00",
            "hb_va_input_transferred_out": "0"}

    def test_accrual_5pct(self, run):
        """hb24:2/5 可抵扣进项税额的5%计提，出口对应进项不得计提，转出相应调减."""
        assert run("hb-tax-vatadd-a", self.BASE, self.Q) == (MET, Decimal("4000"))
        facts = {**self.BASE, "hb_va_input_transferred_out": "10000"}
        assert run("hb-tax-vatadd-a", facts, self.Q) == (MET, Decimal("3500"))

    def test_accrual_floor(self, run):
        """hb24:2 5% of 0.19元 = 0.0095 → 0 (floored, never rounded up) → 不符合 at zero."""
        facts = {**self.BASE, "hb_va_input_tax": "0.19", "hb_va_input_excluded": "0"}
        assert run("hb-tax-vatadd-a", facts, self.Q)[0] == NOT_MET

    @pytest.mark.parametrize("payable,expected", [
        ("10000", (MET, Decimal("5000"))),   # 大于可抵减额 (1000 + 4000): 全额抵减
        ("5000", (MET, Decimal("5000"))),    # 等于: 抵减至零
        ("3000", (MET, Decimal("3000"))),    # 小于: 抵减至零, rest carried
        ("0", (NOT_MET, None)),              # 等于零: 全部结转下期
    ])
    def test_deduction_cases(self, run, payable, expected):
        """hb24:3 抵减前的应纳税额 vs 当期可抵减加计抵减额 (carry-in 1000 + accrual 4000)."""
        facts = {**self.BASE, "hb_va_carry_in": "1000", "hb_va_payable_before": payable}
        assert run("hb-tax-vatadd-b", facts, self.Q) == expected

    def test_not_on_list_and_missing(self, run):
        """hb24:1 名单企业 only; missing carry-in → 待补充信息."""
        assert run("hb-tax-vatadd-a", {**self.BASE, "hb_va_on_list": False}, self.Q)[0] == NOT_MET
        assert run("hb-tax-vatadd-b", {**self.BASE, "hb_va_payable_before": 100}, self.Q)[0] == MISSING

    def test_outside_period(self, ruleset):
        """hb24:1 2023-01-01—2027-12-31."""
        assert absent(ruleset, "hb-tax-vatadd-a", "2028Q1")
        assert absent(ruleset, "hb-tax-vatadd-b", "2022Q4")


# ---------------------------------------------------------------- hb25 重点群体
class TestHb25KeyGroups:
    Y = "2025"

    def test_indiv_pending_then_limit(self, run):
        """hb25:1 每户每年20000元为限额，可上浮20%（省定）: 参数待定 until set; min(tax, limit)."""
        facts = {"hb_kg_indiv_eligible_person": True, "hb_kg_indiv_month_index": 36, "hb_kg_indiv_tax_due_year": "30000"}
        assert run("hb-tax-keygroup-indiv", facts, self.Y)[0] == PENDING
        assert run("hb-tax-keygroup-indiv", facts, self.Y, params={"hb25_indiv_uplift": 0.2}) == (MET, Decimal("24000"))
        assert run("hb-tax-keygroup-indiv", facts, self.Y, params={"hb25_indiv_uplift": 0}) == (MET, Decimal("20000"))
        facts["hb_kg_indiv_tax_due_year"] = "1234.56"
        assert run("hb-tax-keygroup-indiv", facts, self.Y, params={"hb25_indiv_uplift": 0.2}) == (MET, Decimal("1234.56"))

    def test_indiv_36_months(self, run):
        """hb25:1 在3年（36个月）内: month 37 no longer qualifies."""
        facts = {"hb_kg_indiv_eligible_person": True, "hb_kg_indiv_month_index": 37, "hb_kg_indiv_tax_due_year": "30000"}
        assert run("hb-tax-keygroup-indiv", facts, self.Y, params={"hb25_indiv_uplift": 0.2})[0] == NOT_MET

    def test_uplift_bounds(self, ruleset):
        """hb25:1/2 最高可上浮20% / 30%."""
        from huiqi.engine.evaluate import ParameterError
        with pytest.raises(ParameterError):
            ruleset.resolve_parameters({"hb25_indiv_uplift": 0.21})
        with pytest.raises(ParameterError):
            ruleset.resolve_parameters({"hb25_hire_uplift": 0.31})

    def test_hire_quota(self, run):
        """hb25:2 每人每年6000元（可上浮30%）× 实际招用人数，以当年实际应缴税费为限."""
        facts = {"hb_kg_hire_persons": 3, "hb_kg_hire_tax_due_year": "100000"}
        assert run("hb-tax-keygroup-hire", facts, self.Y)[0] == PENDING
        assert run("hb-tax-keygroup-hire", facts, self.Y, params={"hb25_hire_uplift": 0.3}) == (MET, Decimal("23400"))
        facts["hb_kg_hire_tax_due_year"] = "20000"
        assert run("hb-tax-keygroup-hire", facts, self.Y, params={"hb25_hire_uplift": 0.3}) == (MET, Decimal("20000"))

    def test_hire_missing(self, run):
        """hb25:2 missing tax due → 待补充信息 once the parameter is set."""
        assert run("hb-tax-keygroup-hire", {"hb_kg_hire_persons": 3}, self.Y, params={"hb25_hire_uplift": 0})[0] == MISSING

    def test_outside_period(self, ruleset):
        """hb25 2023—2027."""
        assert absent(ruleset, "hb-tax-keygroup-hire", "2028")


# ---------------------------------------------------------------- hb26 小微贷款利息免征增值税
class TestHb26SmeLoanVat:
    Y = "2024"
    BASE = {"hb_sl_institution_ok": True, "hb_sl_borrower_small_micro": True, "hb_sl_credit_line": "1000万元",
            "hb_sl_separately_accounted": True, "hb_sl_lpr_pct": "3.45", "hb_sl_interest_income": "50000",
            "hb_sl_interest_at_150lpr": "45000"}

    @pytest.mark.parametrize("rate,expected", [
        ("5.17", (MET, Decimal("50000"))),   # 150% × 3.45 = 5.175: 5.17 ≤ → fully exempt
        ("5.18", (NOT_MET, None)),           # 高于 → taxable
    ])
    def test_method_one(self, run, rate, expected):
        """hb26:1.1 利率不高于LPR的150%（含本数）的，利息收入免征增值税."""
        facts = {**self.BASE, "hb_sl_method": "方法一", "hb_sl_loan_rate_pct": rate}
        assert run("hb-tax-smeloan-vat-a", facts, self.Y) == expected

    def test_method_one_exact_150(self, run):
        """hb26:1.1 exactly 150% of LPR（含本数）: LPR 3.10 → 4.65."""
        facts = {**self.BASE, "hb_sl_method": "方法一", "hb_sl_lpr_pct": "3.10", "hb_sl_loan_rate_pct": "4.65"}
        assert run("hb-tax-smeloan-vat-a", facts, self.Y)[0] == MET
        facts["hb_sl_loan_rate_pct"] = "4.66"
        assert run("hb-tax-smeloan-vat-a", facts, self.Y)[0] == NOT_MET

    def test_method_two(self, run):
        """hb26:1.2 不高于按LPR150%计算的利息部分免征，超过部分缴纳."""
        facts = {**self.BASE, "hb_sl_method": "方法二", "hb_sl_loan_rate_pct": "6"}
        assert run("hb-tax-smeloan-vat-b", facts, self.Y) == (MET, Decimal("45000"))
        assert run("hb-tax-smeloan-vat-a", facts, self.Y)[0] == NOT_MET  # the other method is not used this year

    def test_small_loan_threshold(self, run):
        """hb26:4 单户授信小于1000万元（含本数）；无授信的看合同金额且余额."""
        facts = {**self.BASE, "hb_sl_method": "方法二", "hb_sl_credit_line": "10000000.01"}
        assert run("hb-tax-smeloan-vat-b", facts, self.Y)[0] == NOT_MET
        facts = {**self.BASE, "hb_sl_method": "方法二", "hb_sl_credit_line": None,
                 "hb_sl_contract_amount": "1000万元", "hb_sl_balance": "800万元"}
        assert run("hb-tax-smeloan-vat-b", facts, self.Y)[0] == MET

    def test_not_separately_accounted(self, run):
        """hb26:5 未单独核算的，不得免征增值税."""
        facts = {**self.BASE, "hb_sl_method": "方法二", "hb_sl_separately_accounted": False}
        assert run("hb-tax-smeloan-vat-b", facts, self.Y)[0] == NOT_MET

    def test_missing_rate(self, run):
        """hb26:1.1 missing loan rate under 方法一 → 待补充信息."""
        assert run("hb-tax-smeloan-vat-a", {**self.BASE, "hb_sl_method": "方法一"}, self.Y)[0] == MISSING

    def test_outside_period(self, ruleset):
        """hb26:7 执行至2027年12月31日."""
        assert absent(ruleset, "hb-tax-smeloan-vat-a", "2028")


# ---------------------------------------------------------------- hb27 物流仓储用地
class TestHb27LogisticsLand:
    BASE = {"hb_ll_is_logistics_enterprise": True, "hb_ll_facility_site_area": 6000, "hb_ll_bulk_goods": True,
            "hb_ll_tax_standard": "6", "hb_ll_storage_land_area": 10000}

    def test_half_rate_at_6000_sqm(self, run):
        """hb27:1/2 占地面积6000平方米及以上，减按税额标准的50%计征 — relief 6 × 10000 × 50%."""
        assert run("hb-tax-logistics-land", self.BASE, "2024", entity="parcel") == (MET, Decimal("30000"))

    def test_below_6000(self, run):
        """hb27:2 5999.99平方米 is below 6000."""
        facts = {**self.BASE, "hb_ll_facility_site_area": "5999.99"}
        assert run("hb-tax-logistics-land", facts, "2024", entity="parcel")[0] == NOT_MET

    def test_rounding_and_missing(self, run):
        """hb27:1 amounts are floored to the 分; missing area → 待补充信息."""
        facts = {**self.BASE, "hb_ll_tax_standard": "0.75", "hb_ll_storage_land_area": "6001.5"}
        # 0.75 × 50% = 0.375 → 0.37 (floor) × 6001.5 = 2220.555 → 2220.55
        assert run("hb-tax-logistics-land", facts, "2023", entity="parcel") == (MET, Decimal("2220.55"))
        facts = dict(self.BASE)
        del facts["hb_ll_storage_land_area"]
        assert run("hb-tax-logistics-land", facts, "2024", entity="parcel")[0] == MISSING

    def test_outside_period(self, ruleset):
        """hb27:1 2023—2027."""
        assert absent(ruleset, "hb-tax-logistics-land", "2022")


# ---------------------------------------------------------------- hb35 标准厂房
class TestHb35StandardFactory:
    BASE = {"hb_sf_investor_type": "国有平台公司", "hb_sf_land_indicators_ok": True, "hb_sf_total_area": 10000,
            "hb_sf_self_attract_area": 5000, "hb_sf_land_price": "1000万元"}

    def test_seventy_pct_price_at_50pct(self, run):
        """hb35:1/2 承诺50%以上面积自主招商 → 七折地价：优惠额 = 30%."""
        assert run("hb-stdfactory-land", self.BASE, "2024", entity="project") == (MET, Decimal("3000000"))

    def test_below_50pct(self, run):
        """hb35:1 49.99% is not 50%以上."""
        facts = {**self.BASE, "hb_sf_self_attract_area": "4999.99"}
        assert run("hb-stdfactory-land", facts, "2024", entity="project")[0] == NOT_MET

    def test_investor_type_and_missing(self, run):
        """hb35:0 适用对象; missing land price → 待补充信息."""
        assert run("hb-stdfactory-land", {**self.BASE, "hb_sf_investor_type": "个人"}, "2024", entity="project")[0] == NOT_MET
        facts = dict(self.BASE)
        del facts["hb_sf_land_price"]
        assert run("hb-stdfactory-land", facts, "2024", entity="project")[0] == MISSING

    def test_factor_fixed(self, ruleset):
        """hb35:2 七折 is fixed by the text: no other factor accepted."""
        from huiqi.engine.evaluate import ParameterError
        with pytest.raises(ParameterError):
            ruleset.resolve_parameters({"hb35_land_price_factor": 0.6})

    def test_outside_validity(self, ruleset):
        """hb35:4 有效期限至2027年12月31日."""
        assert absent(ruleset, "hb-stdfactory-land", "2028")

    def test_county_pending(self, run):
        """hb35:3/4 县区奖励：金额/分配未载明 → 参数待定; with a parameter, the amount."""
        assert run("hb-stdfactory-county", {"hb_sf_county_good": True}, "2024", entity="county")[0] == PENDING
        assert run("hb-stdfactory-county", {"hb_sf_county_good": True}, "2024", entity="county",
                   params={"hb35_county_award": 2_000_000}) == (MET, Decimal("2000000"))
        assert run("hb-stdfactory-county", {}, "2024", entity="county")[0] == MISSING


# ---------------------------------------------------------------- hb21 土地增值税
class TestHb21Lvat:
    Y = "2025"

    @pytest.mark.parametrize("kind,investor,developer,status", [
        ("整体改制", True, False, MET), ("合并", False, False, NOT_MET), ("作价入股", None, False, MET),
        ("分设", True, True, NOT_MET),
    ])
    def test_exemption(self, run, kind, investor, developer, status):
        """hb21:1—5 改制重组暂不征收；任意一方为房地产开发企业的不适用."""
        facts = {"hb_lvat_restructure_type": kind, "hb_lvat_investor_test": investor,
                 "hb_lvat_party_is_developer": developer}
        assert run("hb-tax-lvat-a", facts, self.Y)[0] == status

    def test_exemption_missing(self, run):
        """hb21:5 missing developer flag → 待补充信息."""
        assert run("hb-tax-lvat-a", {"hb_lvat_restructure_type": "作价入股"}, self.Y)[0] == MISSING

    def test_deduction_5pct_per_year(self, run):
        """hb21:6 发票金额从购买年度起至转让年度止每年加计5% — counting convention is a parameter."""
        facts = {"hb_lvat_invoice_amount": "100万元", "hb_lvat_invoice_date": "2019-06-30",
                 "hb_lvat_transfer_date": "2025-01-15"}
        assert run("hb-tax-lvat-b", facts, self.Y)[0] == PENDING
        assert run("hb-tax-lvat-b", facts, self.Y, params={"hb21_year_count_offset": 0}) == (MET, Decimal("1300000"))
        assert run("hb-tax-lvat-b", facts, self.Y, params={"hb21_year_count_offset": 1}) == (MET, Decimal("1350000"))

    def test_outside_validity(self, ruleset):
        """hb21:9 执行至2027年12月31日."""
        assert absent(ruleset, "hb-tax-lvat-b", "2028")


# ---------------------------------------------------------------- eligibility: hb11 / hb19 / hb28 / hb34
class TestEligibility:
    DC = {"hb_dc_gx_legal_person": True, "hb_dc_operating_years": 2, "hb_dc_basic_conditions": True,
          "hb_dc_no_major_accident_2y": True, "hb_dc_serious_dishonest": False, "hb_dc_major_violation": False,
          "hb_dc_applicant_type": "企业工业设计中心", "hb_dc_independent_unit": True, "hb_dc_team_size": 15,
          "hb_dc_designers": "7.5", "hb_dc_ip_annual_avg_2y": 10, "hb_dc_ip_cumulative": 29}

    def test_design_center_thresholds(self, run):
        """hb11:2.6 两年以上; 2.6.3 15人以上、设计人员50%以上; 2.6.4 年均10件以上或累计30件以上."""
        assert run("hb-design-center", self.DC, "2024")[0] == MET
        for key, value in (("hb_dc_operating_years", "1.99"), ("hb_dc_team_size", 14),
                           ("hb_dc_ip_annual_avg_2y", "9.5")):
            assert run("hb-design-center", {**self.DC, key: value}, "2024")[0] == NOT_MET
        assert run("hb-design-center", {**self.DC, "hb_dc_ip_annual_avg_2y": 0, "hb_dc_ip_cumulative": 30}, "2024")[0] == MET
        assert run("hb-design-center", {**self.DC, "hb_dc_designers": "7.49"}, "2024")[0] == NOT_MET
        # 年均9.5件 and 累计 unknown: the 累计30件 alternative may still hold → 待补充信息, not 不符合
        facts = {**self.DC, "hb_dc_ip_annual_avg_2y": "9.5"}
        del facts["hb_dc_ip_cumulative"]
        assert run("hb-design-center", facts, "2024")[0] == MISSING

    def test_design_firm(self, run):
        """hb11:2.6.3/2.6.4 工业设计企业：20人以上；年均营收不低于300万元、占比不低于50%."""
        firm = {**self.DC, "hb_dc_applicant_type": "工业设计企业", "hb_dc_team_size": 20, "hb_dc_designers": 10,
                "hb_dc_design_revenue_avg_2y": "300万元", "hb_dc_total_revenue_avg_2y": "600万元"}
        assert run("hb-design-center", firm, "2024")[0] == MET
        assert run("hb-design-center", {**firm, "hb_dc_team_size": 19, "hb_dc_designers": 10}, "2024")[0] == NOT_MET
        assert run("hb-design-center", {**firm, "hb_dc_design_revenue_avg_2y": "2999999.99"}, "2024")[0] == NOT_MET
        assert run("hb-design-center", {**firm, "hb_dc_total_revenue_avg_2y": "6000000.01"}, "2024")[0] == NOT_MET
        del firm["hb_dc_design_revenue_avg_2y"]
        assert run("hb-design-center", firm, "2024")[0] == MISSING

    @pytest.mark.parametrize("revoked,reason,years,status", [
        (False, None, None, MET),
        (True, "未按规定参加复核/复核不合格/自行要求撤销", 2, MET),
        (True, "未按规定参加复核/复核不合格/自行要求撤销", "1.99", NOT_MET),
        (True, "弄虚作假/重大事故/严重失信/重大违法", 4, MET),
        (True, "弄虚作假/重大事故/严重失信/重大违法", "3.99", NOT_MET),
        (True, "弄虚作假/重大事故/严重失信/重大违法", 2, NOT_MET),  # a (四) revocation waits 4 years, not 2
        (True, "未按规定参加复核/复核不合格/自行要求撤销", None, MISSING),
        (True, None, None, MISSING),
    ])
    def test_design_center_reapply(self, run, revoked, reason, years, status):
        """hb11:2.11.1 撤销后2年内/4年内不得重新申报 (满2年/4年含本数)."""
        facts = {"hb_dc_revoked": revoked, "hb_dc_revocation_reason": reason, "hb_dc_years_since_revocation": years}
        assert run("hb-design-center-reapply", facts, "2024")[0] == status

    def test_design_center_reapply_unknown_is_not_never_revoked(self, run):
        """hb11:2.11.1 applies to 此类单位 (revoked centres): a blank revocation record is unknown, not "never revoked"
        (BRIEF §5 missing is not zero; docs/decisions.md REAPPLY-1) — a register without revocations lists no one."""
        assert run("hb-design-center-reapply", {}, "2024")[0] == MISSING
        assert run("hb-design-center-reapply", {"hb_dc_revocation_reason": None}, "2024")[0] == MISSING

    def test_boc_jobloan(self, run):
        """hb19:2 成立1年以上、用工不少于5人、上年度未减少、不低于上年末."""
        ok = {"is_small_micro": True, "hb_bj_established_years": 1, "hb_bj_staff_now": 5, "hb_bj_staff_end_ly": 5,
              "hb_bj_staff_end_ly2": 5, "hb_bj_wages_si_paid": True}
        assert run("hb-boc-jobloan-a", ok, "2024")[0] == MET
        assert run("hb-boc-jobloan-a", {**ok, "hb_bj_staff_now": 4, "hb_bj_staff_end_ly": 4,
                                        "hb_bj_staff_end_ly2": 4}, "2024")[0] == NOT_MET
        assert run("hb-boc-jobloan-a", {**ok, "hb_bj_staff_end_ly2": 6}, "2024")[0] == NOT_MET
        assert run("hb-boc-jobloan-a", {**ok, "hb_bj_established_years": "0.99"}, "2024")[0] == NOT_MET
        facts = dict(ok)
        del facts["hb_bj_staff_end_ly2"]
        assert run("hb-boc-jobloan-a", facts, "2024")[0] == MISSING

    @pytest.mark.parametrize("term,rate,status", [(1, 4, MET), (1, "4.01", NOT_MET), ("1.5", 5, MET), ("1.5", "5.01", NOT_MET)])
    def test_boc_loan_terms(self, run, term, rate, status):
        """hb19:3.2.8 一年以内（含一年）不超过4%，一年以上不超过5%；授信最高3000万元."""
        facts = {"hb_bj_credit_line": "3000万元", "hb_bj_guihuidai": False, "hb_bj_loan_term_years": term,
                 "hb_bj_loan_rate_pct": rate}
        assert run("hb-boc-jobloan-b", facts, "2023")[0] == status
        facts.update(hb_bj_credit_line="30000000.01", hb_bj_loan_rate_pct=1)
        assert run("hb-boc-jobloan-b", facts, "2023")[0] == NOT_MET

    @pytest.mark.parametrize("date,status", [("2024-03-25", MET), ("2024-04-16", MET), ("2024-03-24", NOT_MET),
                                             ("2024-04-17", NOT_MET), (None, MISSING)])
    def test_iclist_window(self, run, date, status):
        """hb28:2 应于2024年3月25日至4月16日提交申请."""
        assert run("hb-iclist-dates-a", {"hb_ic_application_date": date}, "2024")[0] == status

    @pytest.mark.parametrize("reported,status", [("2024-06-30", MET), ("2024-07-01", NOT_MET)])
    def test_iclist_change_60_days(self, run, reported, status):
        """hb28:5 完成变更登记之日起60日内（开始当日不计入）: 2024-05-01 + 60 = 2024-06-30."""
        facts = {"hb_ic_change_registered_date": "2024-05-01", "hb_ic_change_reported_date": reported}
        assert run("hb-iclist-dates-b", facts, "2024")[0] == status

    @pytest.mark.parametrize("area,status", [(50, MET), ("49.99", NOT_MET), (80, MET), (None, MISSING)])
    def test_private_land_50mu(self, run, area, status):
        """hb34:1.10 用地面积大于或等于50亩、确需分期建设."""
        facts = {"hb_pl_land_area_mu": area, "hb_pl_phasing_needed": True}
        assert run("hb-lz-private-land-a", facts, "2024", entity="project")[0] == status

    @pytest.mark.parametrize("years,status", [(3, MET), ("3.01", NOT_MET)])
    def test_private_land_reserve(self, run, years, status):
        """hb34:1.10 预留用地原则上不超过3年."""
        assert run("hb-lz-private-land-b", {"hb_pl_reserve_years": years}, "2023", entity="project")[0] == status

    def test_private_land_validity(self, ruleset):
        """hb34 自2023年11月30日起施行: 2022 not evaluated."""
        assert absent(ruleset, "hb-lz-private-land-a", "2022")
