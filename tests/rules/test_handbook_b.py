"""手册（文件003）hb39—hb66 — tests from the text (clauses cited in each docstring)."""

from decimal import Decimal

import pytest

from huiqi.engine.evaluate import MET, MISSING, NOT_MET, PENDING

Y = "2024"


def ids(ruleset, period):
    return {m.id for m, _ in ruleset.measures_for(period)}


# ---------------------------------------------------------------- hb39 高技能人才
class TestHb39SkillAwards:
    @pytest.mark.parametrize("award,amount", [
        ("中华技能大奖", "300000"), ("全国技术能手", "150000"), ("广西技能大奖", "50000"), ("广西技术能手", "20000"),
    ])
    def test_each_award(self, run, award, amount):
        """hb39 八：分别一次性给予每人30万元、15万元…5万元、2万元奖励."""
        facts = {"hb39_skill_award": award, "hb39_skill_award_new": True, "hb39_skill_award_paid_before": False}
        assert run("hb-skill-awards", facts, Y) == (MET, Decimal(amount))

    def test_other_award_or_not_new(self, run):
        """hb39 八：only the four named awards, newly obtained (一次性)."""
        base = {"hb39_skill_award_new": True, "hb39_skill_award_paid_before": False}
        assert run("hb-skill-awards", {**base, "hb39_skill_award": "市级技术能手"}, Y)[0] == NOT_MET
        assert run("hb-skill-awards", {**base, "hb39_skill_award": "全国技术能手",
                                       "hb39_skill_award_paid_before": True}, Y)[0] == NOT_MET

    def test_missing(self, run):
        """hb39 八：a missing award type is 待补充信息."""
        assert run("hb-skill-awards", {"hb39_skill_award_new": True, "hb39_skill_award_paid_before": False}, Y)[0] == MISSING

    def test_outside_period(self, ruleset):
        """hb39 is evaluated for 2024 (no validity printed): not in 2023."""
        assert "hb-skill-awards" not in ids(ruleset, "2023")


class TestHb39EduFundAndSpouse:
    def test_frontline_60pct_boundary(self, run):
        """hb39 七：60%以上用于一线职工教育和培训 — exactly 60% meets; 1分 less fails."""
        assert run("hb-skill-edufund", {"hb39_edufund_frontline_year": 60000, "hb39_edufund_used_year": 100000}, Y)[0] == MET
        assert run("hb-skill-edufund", {"hb39_edufund_frontline_year": "59999.99", "hb39_edufund_used_year": 100000}, Y)[0] == NOT_MET
        assert run("hb-skill-edufund", {"hb39_edufund_used_year": 100000}, Y)[0] == MISSING

    def test_spouse_allowance(self, run):
        """hb39 八：按当地最低工资标准2倍发放不超过1年 — 12 months ok, 13 not."""
        facts = {"hb39_is_leader_family_unemployed": True, "hb39_local_min_wage_monthly": 1990,
                 "hb39_spouse_allowance_months": 12}
        assert run("hb-skill-spouse", facts, Y) == (MET, Decimal("47760"))
        assert run("hb-skill-spouse", {**facts, "hb39_spouse_allowance_months": 13}, Y)[0] == NOT_MET
        del facts["hb39_local_min_wage_monthly"]
        assert run("hb-skill-spouse", facts, Y)[0] == MISSING


# ---------------------------------------------------------------- hb40 人力资源服务
INTERN = {"hb40_intern_person_months": 10, "hb40_intern_retained_person_months": 4, "hb40_is_intern_base": True,
          "hb40_intern_completed_count": 4, "hb40_intern_retained_count": 2}


class TestHb40Intern:
    def test_retention_exactly_50pct_raises_to_2000(self, run):
        """hb40 一（2）：留用率达到50%以上的见习基地，留用人员提高至每人每月2000元 — 6×1500 + 4×2000."""
        assert run("hb-hr-intern", INTERN, Y) == (MET, Decimal("17000"))

    def test_retention_below_50pct_stays_1500(self, run):
        """hb40 一（1）：留用率 3/7 < 50% → all 10 person-months at 1500."""
        assert run("hb-hr-intern", {**INTERN, "hb40_intern_completed_count": 7, "hb40_intern_retained_count": 3}, Y) \
            == (MET, Decimal("15000"))

    def test_not_a_base_stays_1500(self, run):
        """hb40 一（2）applies to 就业见习基地 only."""
        assert run("hb-hr-intern", {**INTERN, "hb40_is_intern_base": False}, Y) == (MET, Decimal("15000"))

    def test_missing_retained_months(self, run):
        """Missing 留用人月数 is 待补充信息, not 0."""
        facts = dict(INTERN)
        del facts["hb40_intern_retained_person_months"]
        assert run("hb-hr-intern", facts, Y)[0] == MISSING


class TestHb40Individual:
    GRAD = {"hb40_grad_within_2y": True, "hb40_first_indiv_business_gx": True,
            "hb40_indiv_biz_employed_incl_owner": 2, "hb40_indiv_biz_si_years": 1}

    def test_gradbiz_thresholds(self, run):
        """hb40 三2：吸纳2人以上（含本数及经营者）且缴纳社会保险满1年以上 → 5000元."""
        assert run("hb-hr-gradbiz", self.GRAD, Y) == (MET, Decimal("5000"))
        assert run("hb-hr-gradbiz", {**self.GRAD, "hb40_indiv_biz_employed_incl_owner": 1}, Y)[0] == NOT_MET
        assert run("hb-hr-gradbiz", {**self.GRAD, "hb40_indiv_biz_si_years": "0.99"}, Y)[0] == NOT_MET
        facts = dict(self.GRAD)
        del facts["hb40_indiv_biz_si_years"]
        assert run("hb-hr-gradbiz", facts, Y)[0] == MISSING

    def test_validity_to_2025(self, ruleset):
        """hb40 三7：政策实施期限截至2025年12月31日 — in 2025, not in 2026."""
        assert {"hb-hr-gradbiz", "hb-hr-indiv-kuogang"} <= ids(ruleset, "2025")
        assert "hb-hr-gradbiz" not in ids(ruleset, "2026")
        assert "hb-hr-intern" not in ids(ruleset, "2025")

    def test_indiv_kuogang(self, run):
        """hb40 三3：签订1年（含）以上劳动合同、三险1个月以上 → 每招用1人1500元."""
        facts = {"hb40_employer_is_indiv_business": True, "hb40_hire_group": "高校毕业生", "hb40_grad_within_2y": True,
                 "hb40_hire_contract_years": 1, "hb40_hire_three_insurance_months": 1}
        assert run("hb-hr-indiv-kuogang", facts, Y) == (MET, Decimal("1500"))
        assert run("hb-hr-indiv-kuogang", {**facts, "hb40_hire_contract_years": "0.99"}, Y)[0] == NOT_MET
        assert run("hb-hr-indiv-kuogang", {**facts, "hb40_hire_three_insurance_months": "0.99"}, Y)[0] == NOT_MET
        del facts["hb40_hire_three_insurance_months"]
        assert run("hb-hr-indiv-kuogang", facts, Y)[0] == MISSING


class TestHb40Sisub:
    def test_grad_needs_sme_and_one_year_contract(self, run):
        """hb40 二：高校毕业生须为中小微企业招用、签订1年（含）以上合同；补贴 = 实际缴纳社保费."""
        facts = {"hb40_hire_group": "高校毕业生", "hb40_employer_is_sme": True, "hb40_hire_contract_years": 1,
                 "hb40_hire_si_paid": True, "hb40_within_sisub_period": True, "hb40_hire_employer_si_paid_period": "8123.45"}
        assert run("hb-hr-sisub", facts, Y) == (MET, Decimal("8123.45"))
        assert run("hb-hr-sisub", {**facts, "hb40_employer_is_sme": False}, Y)[0] == NOT_MET
        assert run("hb-hr-sisub", {**facts, "hb40_hire_group": "就业困难人员", "hb40_employer_is_sme": False}, Y)[0] == MET
        del facts["hb40_hire_employer_si_paid_period"]
        assert run("hb-hr-sisub", facts, Y)[0] == MISSING


class TestHb40Talent:
    def test_expert_pending_then_amount(self, run):
        """hb40 五：生活补助100万元、科研补助300万元，按年拨付 — yearly share is 参数待定."""
        facts = {"hb40_is_gx_special_expert": True}
        assert run("hb-hr-expert", facts, Y)[0] == PENDING
        assert run("hb-hr-expert", facts, Y, params={"hb40_expert_year_share": "0.25"}) == (MET, Decimal("1000000"))
        assert run("hb-hr-expert", {}, Y, params={"hb40_expert_year_share": "0.25"})[0] == MISSING

    def test_postdoc(self, run):
        """hb40 六：新设工作站30万元；博士后每人每年8万元；“桂博新”15万元；实践基地参数待定."""
        assert run("hb-hr-postdoc-station", {"hb40_new_postdoc_station": True}, Y) == (MET, Decimal("300000"))
        assert run("hb-hr-postdoc-station", {}, Y)[0] == MISSING
        pd = {"hb40_is_station_postdoc": True, "hb40_postdoc_within_two_years": True}
        assert run("hb-hr-postdoc-daily", pd, Y) == (MET, Decimal("80000"))
        assert run("hb-hr-postdoc-daily", {**pd, "hb40_postdoc_within_two_years": False}, Y)[0] == NOT_MET
        assert run("hb-hr-postdoc-guiboxin", {"hb40_is_guiboxin": True, "hb40_postdoc_within_two_years": True}, Y) \
            == (MET, Decimal("150000"))
        assert run("hb-hr-postdoc-base", {"hb40_new_postdoc_base": True}, Y)[0] == PENDING
        assert run("hb-hr-postdoc-base", {"hb40_new_postdoc_base": True}, Y,
                   params={"hb40_postdoc_base_amount": 100000}) == (MET, Decimal("100000"))

    @pytest.mark.parametrize("level,pay,expected", [
        ("A", "30万元", "150000"), ("A", "40万元", "150000"), ("A", "299999.99", "149999.99"),
        ("B", "30万元", "100000"), ("C", "30万元", "80000"), ("D", "30万元", "50000"), ("E", "30万元", "30000"),
        ("E", "50000.01", "25000.00"),  # half of 0.01 floors to 0
    ])
    def test_flexible_half_with_level_caps(self, run, level, pay, expected):
        """hb40 七：按报酬的一半补助，A/B/C/D/E 每年分别最高15/10/8/5/3万元."""
        facts = {"hb40_flex_introduced_outside_gx": True, "hb40_talent_level": level, "hb40_flex_support_year_no": 1,
                 "hb40_flex_contract_pay_year": pay}
        assert run("hb-hr-flexible", facts, Y) == (MET, Decimal(expected))

    def test_flexible_max_three_years(self, run):
        """hb40 七：补助时间最长3年 — year 3 ok, year 4 not."""
        facts = {"hb40_flex_introduced_outside_gx": True, "hb40_talent_level": "C", "hb40_flex_support_year_no": 3,
                 "hb40_flex_contract_pay_year": "10万元"}
        assert run("hb-hr-flexible", facts, Y) == (MET, Decimal("50000"))
        assert run("hb-hr-flexible", {**facts, "hb40_flex_support_year_no": 4}, Y)[0] == NOT_MET
        del facts["hb40_flex_contract_pay_year"]
        assert run("hb-hr-flexible", facts, Y)[0] == MISSING

    def test_flexible_share_cannot_be_changed(self, ruleset):
        """hb40 七：“一半” is fixed by the text; the parameter cannot be raised."""
        from huiqi.engine.evaluate import ParameterError
        with pytest.raises(ParameterError):
            ruleset.resolve_parameters({"hb40_flex_share": "0.6"})


class TestHb40Training:
    def test_training_sum(self, run):
        """hb40 九：初级1800、中级2500、高级4000、技师6000、高级技师8000、专项800元/人."""
        facts = {"hb40_organized_skill_training": True, "hb40_cert_junior": 1, "hb40_cert_mid": 1, "hb40_cert_senior": 1,
                 "hb40_cert_technician": 1, "hb40_cert_senior_technician": 1, "hb40_cert_special": 1}
        assert run("hb-hr-training", facts, Y) == (MET, Decimal("23100"))
        del facts["hb40_cert_special"]
        assert run("hb-hr-training", facts, Y)[0] == MISSING

    def test_apprentice_sum(self, run):
        """hb40 十：中级5000、高级6000、技师8000、高级技师10000元/人/年."""
        facts = {"hb40_apprentice_training": True, "hb40_appr_mid": 2, "hb40_appr_senior": 0, "hb40_appr_technician": 0,
                 "hb40_appr_senior_technician": 1}
        assert run("hb-hr-apprentice", facts, Y) == (MET, Decimal("20000"))

    def test_platform(self, run):
        """hb40 十一：分别给予300万元、50万元一次性补贴."""
        assert run("hb-hr-platform-base", {"hb40_new_gx_skill_base": True}, Y) == (MET, Decimal("3000000"))
        assert run("hb-hr-platform-studio", {"hb40_new_gx_master_studio": True}, Y) == (MET, Decimal("500000"))
        assert run("hb-hr-platform-studio", {"hb40_new_gx_master_studio": False}, Y)[0] == NOT_MET

    def test_agency(self, run):
        """hb40 十二：6个月（含）以上合同、养老保险满3个月以上；标准由各地确定（参数待定）."""
        facts = {"hb40_placed_group": "农村劳动力", "hb40_by_commercial_hr_agency": True,
                 "hb40_placed_contract_months": 6, "hb40_placed_pension_months": 3}
        assert run("hb-hr-agency", facts, Y)[0] == PENDING
        assert run("hb-hr-agency", facts, Y, params={"hb40_agency_amount": 300}) == (MET, Decimal("300"))
        assert run("hb-hr-agency", {**facts, "hb40_placed_contract_months": "5.99"}, Y)[0] == NOT_MET
        assert run("hb-hr-agency", {**facts, "hb40_placed_pension_months": "2.99"}, Y)[0] == NOT_MET


# ---------------------------------------------------------------- hb41 柳州高端人才
class TestHb41Talent:
    INNOV = {"hb41_talent_class": "B", "hb41_leads_key_project": True, "hb41_contract_years": 5,
             "hb41_months_in_lz_per_year": 9, "hb41_waiver_approved": False, "hb41_is_foreign": False}

    def test_innovation_thresholds(self, run):
        """hb41 第五条：5年及以上聘用、每年来柳达到9个月及以上（可放宽）."""
        assert run("hb-lz-talent-a", self.INNOV, Y)[0] == MET
        assert run("hb-lz-talent-a", {**self.INNOV, "hb41_contract_years": "4.99"}, Y)[0] == NOT_MET
        assert run("hb-lz-talent-a", {**self.INNOV, "hb41_months_in_lz_per_year": "8.99"}, Y)[0] == NOT_MET
        assert run("hb-lz-talent-a", {**self.INNOV, "hb41_months_in_lz_per_year": 6, "hb41_waiver_approved": True}, Y)[0] == MET
        assert run("hb-lz-talent-a", {**self.INNOV, "hb41_is_foreign": True}, Y)[0] == MISSING

    def test_startup_thresholds(self, run):
        """hb41 第六条：实到资本1000万元以上、货币资金不低于50%、占股30%及以上."""
        f = {"hb41_talent_class": "A", "hb41_paid_in_capital": "1000万元", "hb41_paid_in_cash": "500万元",
             "hb41_is_chair_or_gm": True, "hb41_shareholding_pct": 30, "hb41_waiver_approved": False}
        assert run("hb-lz-talent-b", f, Y)[0] == MET
        assert run("hb-lz-talent-b", {**f, "hb41_paid_in_capital": "9999999.99", "hb41_paid_in_cash": "9999999.99"}, Y)[0] == NOT_MET
        assert run("hb-lz-talent-b", {**f, "hb41_paid_in_cash": "4999999.99"}, Y)[0] == NOT_MET
        assert run("hb-lz-talent-b", {**f, "hb41_shareholding_pct": "29.99"}, Y)[0] == NOT_MET

    @pytest.mark.parametrize("cls,proposed,total,equity,expected", [
        ("A", "1.5亿元", "10亿元", "0", (MET, Decimal("100000000"))),      # class cap 1亿
        ("B", "3000万元", "10亿元", "0", (MET, Decimal("25000000"))),      # class cap 2500万
        ("C", "1000万元", "5000万元", "0", (MET, Decimal("10000000"))),    # 20% × 5000万 = 1000万 exactly
        ("C", "1000万元", "5000万元", "500万元", (MET, Decimal("5000000"))),  # 20% cap shared with equity
        ("C", "1000万元", "5000万元", "1000万元", (NOT_MET, None)),          # equity uses the whole 20%
    ])
    def test_support_caps(self, run, cls, proposed, total, equity, expected):
        """hb41 第七条：A/B/C 项目支持最高1亿/2500万/1000万，且支持资金额不超过审定总投资的20%."""
        f = {"hb41_project_talent_class": cls, "hb41_project_support_proposed": proposed,
             "hb41_project_total_investment_reviewed": total, "hb41_equity_investment": equity}
        assert run("hb-lz-talent-c", f, Y) == expected

    def test_disbursement(self, run):
        """hb41 第十三条：分4年每年不高于25%，最后一年一次性拨付剩余."""
        f = {"hb41_disburse_year_no": 1, "hb41_annual_review_passed": True, "hb41_project_support_approved": "1000万元",
             "hb41_disbursed_before": 0}
        share = {"hb41_annual_share": "0.25"}  # the ceiling as set by an operator (default: unset)
        assert run("hb-lz-talent-d", f, Y, params=share) == (MET, Decimal("2500000"))
        assert run("hb-lz-talent-d4", {**f, "hb41_disburse_year_no": 4, "hb41_disbursed_before": "600万元"}, Y) \
            == (MET, Decimal("4000000"))
        assert run("hb-lz-talent-d", {**f, "hb41_disburse_year_no": 5}, Y, params=share)[0] == NOT_MET
        f4 = {k: v for k, v in f.items() if k != "hb41_disbursed_before"}
        assert run("hb-lz-talent-d4", {**f4, "hb41_disburse_year_no": 4}, Y)[0] == MISSING

    def test_hb41_annual_share_ceiling_is_not_paid(self, run):
        """hb41 第十三条：“分4年按每年不高于25%的比例逐年划拨” — 25% is a ceiling: years 1—3 are 参数待定 until
        the share is set (the old rule paid exactly 25%); a share above 25% is refused."""
        f = {"hb41_disburse_year_no": 2, "hb41_annual_review_passed": True, "hb41_project_support_approved": "1000万元",
             "hb41_disbursed_before": "250万元"}
        assert run("hb-lz-talent-d", f, Y) == (PENDING, None)
        assert run("hb-lz-talent-d", f, Y, params={"hb41_annual_share": "0.2"}) == (MET, Decimal("2000000"))
        from huiqi.engine.evaluate import ParameterError
        with pytest.raises(ParameterError):
            run("hb-lz-talent-d", f, Y, params={"hb41_annual_share": "0.26"})

    def test_validity(self, ruleset):
        """hb41：有效期至2025年12月31日."""
        assert "hb-lz-talent-c" in ids(ruleset, "2025") and "hb-lz-talent-c" not in ids(ruleset, "2026")


# ---------------------------------------------------------------- hb42 人才飞地
class TestHb42Enclave:
    def test_construction_support(self, run):
        """hb42 （二）1、2：认定研发机构50万元、离岸科技创新中心500万元."""
        assert run("hb-lz-enclave-a", {"hb42_recognized_this_period": True, "hb42_enclave_type": "研发机构"}, Y) \
            == (MET, Decimal("500000"))
        assert run("hb-lz-enclave-a", {"hb42_recognized_this_period": True, "hb42_enclave_type": "离岸科技创新中心"}, Y) \
            == (MET, Decimal("5000000"))
        assert run("hb-lz-enclave-a", {"hb42_recognized_this_period": True}, Y)[0] == MISSING

    def test_acceptance_award_and_change_rule(self, run):
        """hb42 （二）、（四）3：验收合格奖励100万/300万；重大变化须3个月内申请并经同意."""
        f = {"hb42_enclave_type": "离岸科技创新中心", "hb42_acceptance_passed": True, "hb42_major_change": False}
        assert run("hb-lz-enclave-b", f, Y) == (MET, Decimal("3000000"))
        chg = {**f, "hb42_major_change": True, "hb42_change_applied_months": 3, "hb42_change_approved": True}
        assert run("hb-lz-enclave-b", chg, Y) == (MET, Decimal("3000000"))
        assert run("hb-lz-enclave-b", {**chg, "hb42_change_applied_months": "3.01"}, Y)[0] == NOT_MET
        assert run("hb-lz-enclave-b", {**chg, "hb42_change_approved": False}, Y)[0] == NOT_MET
        assert run("hb-lz-enclave-b", {**f, "hb42_enclave_type": "研发机构"}, Y) == (MET, Decimal("1000000"))

    def test_validity(self, ruleset):
        """hb42：有效期限2025年12月31日."""
        assert "hb-lz-enclave-b" in ids(ruleset, "2025") and "hb-lz-enclave-b" not in ids(ruleset, "2026")


# ---------------------------------------------------------------- hb43 创业孵化基地
class TestHb43Incubator:
    RECOG = {"hb43_founder_operator_qualified": True, "hb43_site_term_years": 3, "hb43_qualified_staff_count": 3,
             "hb43_base_level": "市级", "hb43_site_area_m2": 1000, "hb43_incubation_area_m2": 600,
             "hb43_capacity_entities": 30, "hb43_resident_entities": 20, "hb43_public_area_m2": 50,
             "hb43_activities_per_year": 6}

    def test_recognition_boundaries(self, run):
        """hb43 认定条件：市级不低于1000㎡、孵化区域不低于60%、容纳不少于30个、入驻不少于20个…"""
        assert run("hb-lz-incubator-recog", self.RECOG, Y)[0] == MET
        for k, v in [("hb43_site_area_m2", "999.99"), ("hb43_resident_entities", 19), ("hb43_public_area_m2", "49.99"),
                     ("hb43_activities_per_year", 5), ("hb43_site_term_years", "2.99"), ("hb43_incubation_area_m2", "599.99")]:
            assert run("hb-lz-incubator-recog", {**self.RECOG, k: v}, Y)[0] == NOT_MET, k
        county = {**self.RECOG, "hb43_base_level": "县级", "hb43_site_area_m2": 600, "hb43_incubation_area_m2": 360,
                  "hb43_capacity_entities": 20, "hb43_resident_entities": 15}
        assert run("hb-lz-incubator-recog", county, Y)[0] == MET
        assert run("hb-lz-incubator-recog", {**county, "hb43_resident_entities": 14}, Y)[0] == NOT_MET

    def test_mgmt(self, run):
        """hb43 （一）1：成功运营一年并带动3人及以上就业，1.3万元/年，最长不超过2年."""
        f = {"hb43_in_recognized_base": True, "hb43_operating_years": 1, "hb43_jobs_created": 3,
             "hb43_mgmt_subsidy_years_incl_this": 2, "hb43_actually_operating": True}
        assert run("hb-lz-incubator-mgmt", f, Y) == (MET, Decimal("13000"))
        assert run("hb-lz-incubator-mgmt", {**f, "hb43_jobs_created": 2}, Y)[0] == NOT_MET
        assert run("hb-lz-incubator-mgmt", {**f, "hb43_mgmt_subsidy_years_incl_this": 3}, Y)[0] == NOT_MET
        assert run("hb-lz-incubator-mgmt", {**f, "hb43_operating_years": "0.99"}, Y)[0] == NOT_MET

    def test_hatch_cap(self, run):
        """hb43 （一）2：每户2000元，每个基地每年最高不超过20万元."""
        assert run("hb-lz-incubator-hatch", {"hb43_is_recognized_base": True, "hb43_teams_hatched_year": 99}, Y) \
            == (MET, Decimal("198000"))
        assert run("hb-lz-incubator-hatch", {"hb43_is_recognized_base": True, "hb43_teams_hatched_year": 100}, Y) \
            == (MET, Decimal("200000"))
        assert run("hb-lz-incubator-hatch", {"hb43_is_recognized_base": True, "hb43_teams_hatched_year": 101}, Y) \
            == (MET, Decimal("200000"))
        assert run("hb-lz-incubator-hatch", {"hb43_is_recognized_base": True}, Y)[0] == MISSING

    def test_rent(self, run):
        """hb43 （二）1：按实际成本，最高不超过1500元/户/月，最长不超过2年."""
        f = {"hb43_has_site_lease": True, "hb43_rent_subsidy_years_incl_this": 2, "hb43_actually_operating": True,
             "hb43_rent_months": 12, "hb43_rent_utility_property_cost": "17999.99"}
        assert run("hb-lz-incubator-rent", f, Y) == (MET, Decimal("17999.99"))
        assert run("hb-lz-incubator-rent", {**f, "hb43_rent_utility_property_cost": "25000"}, Y) == (MET, Decimal("18000"))
        assert run("hb-lz-incubator-rent", {**f, "hb43_rent_subsidy_years_incl_this": "2.01"}, Y)[0] == NOT_MET

    def test_startup(self, run):
        """hb43 （二）2：入孵后正常经营满1年、期间缴纳社保 → 5000元/户；不可与其他创业补贴重复."""
        f = {"hb43_operating_years": 1, "hb43_si_paid_during": True, "hb43_received_other_startup_subsidy": False,
             "hb43_actually_operating": True}
        assert run("hb-lz-incubator-startup", f, Y) == (MET, Decimal("5000"))
        assert run("hb-lz-incubator-startup", {**f, "hb43_operating_years": "0.99"}, Y)[0] == NOT_MET
        assert run("hb-lz-incubator-startup", {**f, "hb43_received_other_startup_subsidy": True}, Y)[0] == NOT_MET

    JOB = {"hb43_hire_contract_date": "2024-03-02", "hb43_incubation_agreement_date": "2024-03-01",
           "hb43_is_dispatched_worker": False, "hb43_hire_si_months": 3,
           "hb43_hire_received_other_employment_subsidy": False, "hb43_person_claimed_elsewhere_in_base": False,
           "hb43_employer_actually_operating": True}

    def test_jobs(self, run):
        """hb43 （二）3：合同在入孵协议之后、社保满3个月 → 2000元/人；劳务派遣除外."""
        assert run("hb-lz-incubator-jobs", self.JOB, Y) == (MET, Decimal("2000"))
        assert run("hb-lz-incubator-jobs", {**self.JOB, "hb43_hire_contract_date": "2024-03-01"}, Y)[0] == NOT_MET
        assert run("hb-lz-incubator-jobs", {**self.JOB, "hb43_hire_si_months": "2.99"}, Y)[0] == NOT_MET
        assert run("hb-lz-incubator-jobs", {**self.JOB, "hb43_is_dispatched_worker": True}, Y)[0] == NOT_MET
        f = dict(self.JOB)
        del f["hb43_incubation_agreement_date"]
        assert run("hb-lz-incubator-jobs", f, Y)[0] == MISSING

    def test_jobs_exclusive_with_kuogang(self, run):
        """hb43 注意事项1 / hb58：一次性带动就业补贴与一次性扩岗补助不能重复享受."""
        assert run("hb-lz-incubator-jobs", {**self.JOB, "hb43_hire_received_other_employment_subsidy": True}, Y)[0] == NOT_MET

    def test_hb43_applies_in_every_period_of_its_validity(self, ruleset):
        """hb43 柳人社规〔2023〕3号：“本办法自印发之日起施行”, no end date — a standing policy from 2023 on, not
        only 2024 (the old rule): every year from 2023, and "as of" any quarter inside one (RULES-7, RULES-8)."""
        for period in ("2023", "2024", "2025", "2026", "2024Q4", "2026Q3"):
            assert "hb-lz-incubator-jobs" in ids(ruleset, period), period
        assert "hb-lz-incubator-jobs" not in ids(ruleset, "2022")


# ---------------------------------------------------------------- hb44 创业担保贷款
class TestHb44Loans:
    IND = {"hb44_applicant_group": "退役军人", "hb44_has_other_loans": False, "hb44_consumer_loan_balance": "5万元",
           "hb44_loan_principal": "30万元", "hb44_loan_rate_pct": "4.95", "hb44_lpr_1y_pct": "3.45",
           "hb44_renewal_count": 3, "hb44_interest_paid_period": "14850.01"}

    def test_individual_interest_subsidy(self, run):
        """hb44 一：贴息为实际利率的50%；额度30万元；利率上限LPR+150BPs（3.45+1.50=4.95 恰好）；累计不超过3次."""
        assert run("hb-startup-loan-terms-ind", self.IND, Y) == (MET, Decimal("7425.00"))
        assert run("hb-startup-loan-terms-ind", {**self.IND, "hb44_loan_rate_pct": "4.96"}, Y)[0] == NOT_MET
        assert run("hb-startup-loan-terms-ind", {**self.IND, "hb44_loan_principal": "300000.01"}, Y)[0] == NOT_MET
        assert run("hb-startup-loan-terms-ind", {**self.IND, "hb44_renewal_count": 4}, Y)[0] == NOT_MET
        assert run("hb-startup-loan-terms-ind", {**self.IND, "hb44_consumer_loan_balance": "50000.01"}, Y)[0] == NOT_MET
        f = dict(self.IND)
        del f["hb44_lpr_1y_pct"]
        assert run("hb-startup-loan-terms-ind", f, Y)[0] == MISSING

    ENT = {"is_small_micro": True, "hb44_current_staff": 50, "hb44_new_eligible_hires_12m": 5,
           "hb44_wage_si_arrears_record": False, "hb44_ent_loan_principal": "400万元", "hb44_ent_loan_rate_pct": "4.95",
           "hb44_ent_lpr_1y_pct": "3.45", "hb44_ent_renewal_count": 0, "hb44_ent_interest_paid_period": "198000"}

    def test_enterprise_hiring_ratio(self, run):
        """hb44 二（二）2：新招用达到在职职工10%（超过100人的企业达到5%）."""
        assert run("hb-startup-loan-terms-ent", self.ENT, Y) == (MET, Decimal("99000"))
        assert run("hb-startup-loan-terms-ent", {**self.ENT, "hb44_new_eligible_hires_12m": 4}, Y)[0] == NOT_MET
        assert run("hb-startup-loan-terms-ent", {**self.ENT, "hb44_current_staff": 100, "hb44_new_eligible_hires_12m": 9}, Y)[0] == NOT_MET
        assert run("hb-startup-loan-terms-ent", {**self.ENT, "hb44_current_staff": 101, "hb44_new_eligible_hires_12m": 6}, Y)[0] == MET
        assert run("hb-startup-loan-terms-ent", {**self.ENT, "hb44_current_staff": 101, "hb44_new_eligible_hires_12m": 5}, Y)[0] == NOT_MET
        assert run("hb-startup-loan-terms-ent", {**self.ENT, "hb44_ent_loan_principal": "4000000.01"}, Y)[0] == NOT_MET

    def test_guarantee_fee(self, run):
        """hb44 五：按贷款总额的0.6%给予担保机构担保费补贴."""
        f = {"hb44_is_guaranteed_startup_loan": True, "hb44_loan_principal": "30万元"}
        assert run("hb-startup-loan-guarantee-fee", f, Y) == (MET, Decimal("1800"))
        assert run("hb-startup-loan-guarantee-fee", {**f, "hb44_loan_principal": "100.01"}, Y) == (MET, Decimal("0.60"))
        assert run("hb-startup-loan-guarantee-fee", {"hb44_is_guaranteed_startup_loan": True}, Y)[0] == MISSING

    def test_counter_guarantee_waiver(self, run):
        """hb44 五：个人10万元以下；委托担保机构运营的30万元以下."""
        base = {"hb44_fund_entrusted_to_guarantor": False, "hb44_other_waiver_ground": False}
        assert run("hb-startup-loan-counter-guarantee", {**base, "hb44_loan_principal": "10万元"}, Y)[0] == MET
        assert run("hb-startup-loan-counter-guarantee", {**base, "hb44_loan_principal": "100000.01"}, Y)[0] == NOT_MET
        assert run("hb-startup-loan-counter-guarantee", {**base, "hb44_fund_entrusted_to_guarantor": True,
                                                          "hb44_loan_principal": "30万元"}, Y)[0] == MET

    def test_bonus(self, run):
        """hb44 六：稳定经营6个月（含）以上 → 5000元/户."""
        f = {"hb44_received_startup_loan": True, "hb44_stable_operation_months": 6, "hb44_founder_group": "农民工",
             "hb44_meets_fund_rules": True}
        assert run("hb-startup-loan-bonus", f, Y) == (MET, Decimal("5000"))
        assert run("hb-startup-loan-bonus", {**f, "hb44_stable_operation_months": "5.99"}, Y)[0] == NOT_MET
        del f["hb44_stable_operation_months"]
        assert run("hb-startup-loan-bonus", f, Y)[0] == MISSING


# ---------------------------------------------------------------- hb58 一次性扩岗补助（2023）
class TestHb58Kuogang:
    F = {"hb58_hire_group": "登记失业青年", "hb58_hire_age": 24, "hb58_si_enrol_date": "2023-06-25",
         "hb58_three_insurance_months": 1, "hb58_si_normal_at_review": True, "hb58_employer_is_labor_dispatch": False,
         "hb58_received_incubator_jobs_subsidy": False}

    def test_boundaries(self, run):
        """hb58 二：执行期2023-06-25至12-31；16至24岁；缴费时长大于（含）1个月 → 1500元/人."""
        assert run("hb-kuogang-2023", self.F, "2023") == (MET, Decimal("1500"))
        assert run("hb-kuogang-2023", {**self.F, "hb58_si_enrol_date": "2023-06-24"}, "2023")[0] == NOT_MET
        assert run("hb-kuogang-2023", {**self.F, "hb58_si_enrol_date": "2023-12-31"}, "2023")[0] == MET
        assert run("hb-kuogang-2023", {**self.F, "hb58_hire_age": 25}, "2023")[0] == NOT_MET
        assert run("hb-kuogang-2023", {**self.F, "hb58_hire_age": 16}, "2023")[0] == MET
        assert run("hb-kuogang-2023", {**self.F, "hb58_three_insurance_months": "0.99"}, "2023")[0] == NOT_MET
        assert run("hb-kuogang-2023", {**self.F, "hb58_employer_is_labor_dispatch": True}, "2023")[0] == NOT_MET

    def test_exclusive_with_incubator_jobs(self, run):
        """hb58 二：一次性扩岗补助和一次性吸纳就业补贴（即一次性带动就业补贴）政策不能重复享受."""
        assert run("hb-kuogang-2023", {**self.F, "hb58_received_incubator_jobs_subsidy": True}, "2023")[0] == NOT_MET

    def test_missing(self, run):
        """A missing 参保日期 gives 待补充信息."""
        f = dict(self.F)
        del f["hb58_si_enrol_date"]
        assert run("hb-kuogang-2023", f, "2023")[0] == MISSING

    def test_outside_validity(self, ruleset):
        """hb58 applies to 2023 only."""
        assert "hb-kuogang-2023" in ids(ruleset, "2023") and "hb-kuogang-2023" not in ids(ruleset, "2024")


# ---------------------------------------------------------------- hb45 小巨人
XJR = {"hb45_filing_date": "2024-05-19", "hb45_years_established": 3, "hb45_main_revenue_ly": "7000万元",
       "hb45_revenue_ly": "1亿元", "hb45_revenue_y2": "9000万元", "hb45_is_third_batch_review": False,
       "hb45_main_rev_avg_growth_pct": 5, "hb45_core_business_on_is": True, "hb45_has_certification": True,
       "hb45_liabilities_ly_end": "70万元", "hb45_assets_ly_end": "100万元", "hb45_niche_market_share_pct": 10,
       "hb45_has_own_brand": True, "hb45_rd_y1": "300万元", "hb45_rd_y2": "270万元", "hb45_equity_financing_2y": 0,
       "hb45_rd_staff": 1, "hb45_staff": 100, "hb45_has_rd_institution": True, "hb45_class1_ip_count": 2,
       "hb45_national_st_award_top3": False, "hb45_maker_china_top50": False, "hb45_key_chain_position": True,
       "hb45_key_field": True, "hb45_major_incident_3y": False, "is_specialized_sme": True, "hb45_audit_report_filed": True}


class TestHb45Xiaojuren:
    def test_all_at_boundaries(self, run):
        """hb45：成立3年以上、主营占比不低于70%、增长不低于5%、负债率不高于70%、占有率10%以上、1亿以上研发均不低于3%."""
        assert run("hb-xiaojuren", XJR, Y)[0] == MET

    @pytest.mark.parametrize("key,value", [
        ("hb45_filing_date", "2024-05-20"), ("hb45_years_established", "2.99"), ("hb45_main_revenue_ly", "69999999.99"),
        ("hb45_main_rev_avg_growth_pct", "4.99"), ("hb45_liabilities_ly_end", "700000.01"),
        ("hb45_niche_market_share_pct", "9.99"), ("hb45_rd_y2", "2699999.99"), ("hb45_class1_ip_count", 1),
    ])
    def test_just_outside(self, run, key, value):
        """hb45：one unit past each boundary fails."""
        assert run("hb-xiaojuren", {**XJR, key: value}, Y)[0] == NOT_MET

    def test_revenue_bands(self, run):
        """hb45 9(2)：5000万–1亿 band needs 6% each year; 9999.99万 falls in it."""
        f = {**XJR, "hb45_revenue_ly": "99999999.99", "hb45_main_revenue_ly": "9000万元"}
        assert run("hb-xiaojuren", f, Y)[0] == NOT_MET  # 300万/9999.99万 ≈ 3% < 6%
        f.update({"hb45_rd_y1": "600万元", "hb45_rd_y2": "540万元"})
        assert run("hb-xiaojuren", f, Y)[0] == MET
        assert run("hb-xiaojuren", {**XJR, "hb45_class1_ip_count": 0, "hb45_maker_china_top50": True}, Y)[0] == MET

    def test_growth_waived_for_review_and_missing(self, run):
        """hb45 3：第三批复核企业不作要求；缺填报日期为待补充信息."""
        assert run("hb-xiaojuren", {**XJR, "hb45_main_rev_avg_growth_pct": 1, "hb45_is_third_batch_review": True}, Y)[0] == MET
        f = dict(XJR)
        del f["hb45_filing_date"]
        assert run("hb-xiaojuren", f, Y)[0] == MISSING


# ---------------------------------------------------------------- hb46 应急周转资金
EMG = {"hb46_registered_in_lz": True, "is_sme": True, "is_industrial": True, "hb46_policy_fit": True,
       "hb46_renewal_qualified": True, "hb46_operating_2y_plus": True, "hb46_mode": "担保模式",
       "hb46_partner_guarantor_client": True, "hb46_amount": "200万元", "hb46_renewal_approved": "2222222.23",
       "hb46_uses_this_year_incl": 6, "hb46_used_this_year_before": "4800万元", "hb46_working_days": 20,
       "hb46_loan_days": 20}


class TestHb46Emergency:
    def test_boundaries(self, run):
        """hb46：单笔不低于200万、不高于2500万、不高于续贷的90%；年内不超过6次、累计不超过5000万；担保模式不超过20个工作日."""
        assert run("hb-lz-emergency", EMG, Y)[0] == MET
        for k, v in [("hb46_amount", "1999999.99"), ("hb46_renewal_approved", "2222222.22"), ("hb46_uses_this_year_incl", 7),
                     ("hb46_used_this_year_before", "48000000.01"), ("hb46_working_days", 21)]:
            assert run("hb-lz-emergency", {**EMG, k: v}, Y)[0] == NOT_MET, k
        bank = {**EMG, "hb46_mode": "银行模式", "hb46_partner_bank_borrower": True, "hb46_working_days": 10}
        assert run("hb-lz-emergency", bank, Y)[0] == MET
        assert run("hb-lz-emergency", {**bank, "hb46_working_days": 11}, Y)[0] == NOT_MET
        big = {**EMG, "hb46_amount": "25000000.01", "hb46_renewal_approved": "1亿元", "hb46_used_this_year_before": 0}
        assert run("hb-lz-emergency", big, Y) == (MET, Decimal("25000000"))  # the grantable amount, not 不符合

    def test_hb46_grantable_amount_under_the_limits(self, run):
        """hb46：“单笔使用额度不低于200万元，不高于2500万元，……不得高于贷款银行同意续贷资金金额的90%……累计使用总额度
        不得超过5000万元” — asked 2800万 → 2500万 can be used (the old rule only said 不符合); the least limit wins."""
        f = {**EMG, "hb46_amount": "2800万元", "hb46_renewal_approved": "1亿元", "hb46_used_this_year_before": 0}
        assert run("hb-lz-emergency", f, Y) == (MET, Decimal("25000000"))
        assert run("hb-lz-emergency", {**f, "hb46_renewal_approved": "2000万元"}, Y) == (MET, Decimal("18000000"))
        assert run("hb-lz-emergency", {**f, "hb46_used_this_year_before": "3000万元"}, Y) == (MET, Decimal("20000000"))
        assert run("hb-lz-emergency", {**f, "hb46_used_this_year_before": "4900万元"}, Y)[0] == NOT_MET  # 100万 < 200万

    def test_hb46_grantable_amount_is_not_an_award(self):
        """A usable bridge-fund amount is shown but never summed as an award."""
        from huiqi.services.calculator import check, summarize

        f = {**EMG, "hb46_amount": "2800万元", "hb46_renewal_approved": "1亿元", "hb46_used_this_year_before": 0,
             "county": "450204"}
        results = check(f, Y, measures=["hb-lz-emergency"])
        assert results[0].amount_yuan == Decimal("25000000") and "可用额度" in results[0].explanation
        assert summarize(results)["total_yuan"] == "0"

    def test_fee(self, run):
        """hb46 担保模式：应急周转金额×代偿服务年费率×借款期限/360，年费率不得超过2%（上限：未设时参数待定）."""
        assert run("hb-lz-emergency-fee", EMG, Y) == (PENDING, None)
        assert run("hb-lz-emergency-fee", EMG, Y, params={"hb46_fee_rate": "0.02"}) == (MET, Decimal("2222.22"))
        assert run("hb-lz-emergency-fee", EMG, Y, params={"hb46_fee_rate": "0.01"}) == (MET, Decimal("1111.11"))
        from huiqi.engine.evaluate import ParameterError
        with pytest.raises(ParameterError):
            run("hb-lz-emergency-fee", EMG, Y, params={"hb46_fee_rate": "0.021"})
        f = dict(EMG)
        del f["hb46_loan_days"]
        assert run("hb-lz-emergency-fee", f, Y, params={"hb46_fee_rate": "0.02"})[0] == MISSING


# ---------------------------------------------------------------- hb47 / hb53 / hb55 项目资金
class TestProjectFunds:
    INNOV = {"hb47_gx_manufacturing_project": True, "hb47_total_investment": "1000万元", "hb47_fai_planned": "500万元",
             "hb47_is_future_industry": False, "hb47_fai_completed": "1500000.01", "hb47_construction_years": 3,
             "hb47_tech_source_valid": True, "hb47_other_gx_fiscal_support": False}

    def test_innov_scale(self, run):
        """hb47：总投资1000万以上、固投500万以上；进度超过30%；一定比例（参数待定）；首次不超过全部支持金额70%."""
        assert run("hb-innov-scale", self.INNOV, Y)[0] == PENDING
        assert run("hb-innov-scale", self.INNOV, Y, params={"hb47_support_rate": "0.2"}) == (MET, Decimal("300000.00"))
        assert run("hb-innov-scale", {**self.INNOV, "hb47_fai_completed": "150万元"}, Y,
                   params={"hb47_support_rate": "0.2"})[0] == NOT_MET  # exactly 30% is not 超过30%
        assert run("hb-innov-scale", {**self.INNOV, "hb47_fai_completed": "500万元"}, Y,
                   params={"hb47_support_rate": "0.2"}) == (MET, Decimal("700000"))  # capped at 70%
        assert run("hb-innov-scale", {**self.INNOV, "hb47_total_investment": "9999999.99"}, Y,
                   params={"hb47_support_rate": "0.2"})[0] == NOT_MET
        f = {**self.INNOV, "hb47_is_future_industry": True, "hb47_total_investment": "500万元", "hb47_fai_planned": "400万元",
             "hb47_fai_completed": "200万元"}
        assert run("hb-innov-scale", f, Y, params={"hb47_support_rate": "0.2"}) == (MET, Decimal("400000"))  # 20% × 200万; cap 56万

    MAJOR = {"hb55_gx_manufacturing_project": True, "hb55_started_in_statistics": True, "hb55_fai_total": "10亿元",
             "hb55_fai_planned_support_year": "2亿元", "hb55_fai_completed": "3亿元", "hb55_construction_within_3y": True,
             "hb55_other_special_fund": False}

    def test_major_project(self, run):
        """hb55：固投10亿元及以上、年度计划投资不低于2亿元、完成30%及以上；最高不超过固投10%且不超过1亿元."""
        top = {"hb55_support_rate": "0.10"}  # the ceiling, set by an operator (default: unset → 参数待定)
        assert run("hb-major-project", self.MAJOR, Y) == (PENDING, None)
        assert run("hb-major-project", self.MAJOR, Y, params=top) == (MET, Decimal("100000000"))
        assert run("hb-major-project", {**self.MAJOR, "hb55_fai_total": "12亿元", "hb55_fai_completed": "4亿元"}, Y,
                   params=top) == (MET, Decimal("100000000"))
        assert run("hb-major-project", self.MAJOR, Y, params={"hb55_support_rate": "0.05"}) == (MET, Decimal("50000000"))
        for k, v in [("hb55_fai_total", "999999999.99"), ("hb55_fai_planned_support_year", "199999999.99"),
                     ("hb55_fai_completed", "299999999.99")]:
            assert run("hb-major-project", {**self.MAJOR, k: v}, Y)[0] == NOT_MET, k
        from huiqi.engine.evaluate import ParameterError
        with pytest.raises(ParameterError):
            run("hb-major-project", self.MAJOR, Y, params={"hb55_support_rate": "0.11"})

    def test_upgrade(self, run):
        """hb53 一4、5：固投5000万元以上（技改3000万元及以上）；首次申报完成30%及以上."""
        f = {"hb53_gx_manufacturing_project": True, "hb53_started_in_statistics": True, "hb53_construction_within_3y": True,
             "hb53_is_tech_renovation": True, "hb53_fai_total": "3000万元", "hb53_fai_completed": "900万元",
             "hb53_other_special_fund": False}
        assert run("hb-upgrade", f, Y)[0] == MET
        assert run("hb-upgrade", {**f, "hb53_is_tech_renovation": False}, Y)[0] == NOT_MET
        assert run("hb-upgrade", {**f, "hb53_fai_completed": "8999999.99"}, Y)[0] == NOT_MET
        assert run("hb-upgrade", {**f, "hb53_is_tech_renovation": False, "hb53_fai_total": "5000万元",
                                  "hb53_fai_completed": "1500万元"}, Y)[0] == MET

    COMP = {"hb53_production_date": "2023-12-31", "hb53_owner_is_private": True, "is_above_scale": True,
            "hb53_output_rank_gx": 500, "is_manufacturing": True, "is_industrial": True,
            "hb53_gx_manufacturing_project": True, "hb53_filed_approved": True, "hb53_fai_completed": "1000万元",
            "hb53_env_facilities_ok": True, "hb53_agreement_support_received": False,
            "hb53_other_fiscal_support_received": "30万元"}

    def test_completion_award(self, run):
        """hb53 二：2022或2023年建成投产、固投1000万元以上；额度参数待定，须扣除已享受财政扶持."""
        assert run("hb-completion", self.COMP, Y)[0] == PENDING
        assert run("hb-completion", self.COMP, Y, params={"hb53_completion_award": 1000000}) == (MET, Decimal("700000"))
        assert run("hb-completion", self.COMP, Y, params={"hb53_completion_award": 300000})[0] == NOT_MET
        p = {"hb53_completion_award": 1000000}
        assert run("hb-completion", {**self.COMP, "hb53_production_date": "2024-01-01"}, Y, params=p)[0] == NOT_MET
        assert run("hb-completion", {**self.COMP, "hb53_fai_completed": "9999999.99"}, Y, params=p)[0] == NOT_MET
        soe = {**self.COMP, "hb53_owner_is_private": False, "hb53_output_rank_gx": 110, "hb53_production_date": "2023-03-01"}
        assert run("hb-completion", soe, Y, params=p)[0] == MET
        assert run("hb-completion", {**soe, "hb53_output_rank_gx": 111}, Y, params=p)[0] == NOT_MET
        assert run("hb-completion", {**soe, "hb53_output_rank_gx": 111, "hb53_production_date": "2023-07-01"}, Y, params=p)[0] == MET
        f = dict(self.COMP)
        del f["hb53_other_fiscal_support_received"]
        assert run("hb-completion", f, Y, params=p)[0] == MISSING


# ---------------------------------------------------------------- other eligibility rules
class TestEligibilityRules:
    def test_qianqi(self, run):
        """hb54（四）（五）：500万元以上；500—2000万年度内竣工；高于2000万预期完成30%以上；投产后年产值2000万元以上."""
        f = {"hb54_unit_qualified": True, "hb54_tech_renovation_2024_filed": True, "hb54_fai": "2000万元",
             "hb54_completes_within_year": True, "hb54_expected_invest_this_year": 0, "hb54_expected_output_after": "2000万元",
             "hb54_already_submitted_this_year": False}
        assert run("hb-qianqi", f, Y)[0] == MET
        assert run("hb-qianqi", {**f, "hb54_fai": "4999999.99"}, Y)[0] == NOT_MET
        big = {**f, "hb54_fai": "20000000.01", "hb54_completes_within_year": False, "hb54_expected_invest_this_year": "6000000.01"}
        assert run("hb-qianqi", big, Y)[0] == MET
        assert run("hb-qianqi", {**big, "hb54_expected_invest_this_year": "6000000"}, Y)[0] == NOT_MET
        assert run("hb-qianqi", {**f, "hb54_expected_output_after": "19999999.99"}, Y)[0] == NOT_MET

    def test_ai_fusion(self, run):
        """hb57（三）：累计完成总投资70%以上；应用场景1个以上."""
        f = {"hb57_lead_unit_qualified": True, "hb57_funds_secured": True, "hb57_invest_completed": "700万元",
             "hb57_total_investment": "1000万元", "hb57_basically_built": True, "hb57_ai_scenarios": 1,
             "hb57_has_ai_ip": True, "hb57_other_gx_fiscal_support": False}
        assert run("hb-ai-fusion", f, Y)[0] == MET
        assert run("hb-ai-fusion", {**f, "hb57_invest_completed": "6999999.99"}, Y)[0] == NOT_MET
        assert run("hb-ai-fusion", {**f, "hb57_ai_scenarios": 0}, Y)[0] == NOT_MET

    def test_chainleader_soft_scale(self, run):
        """hb48：配套企业6家以上为硬条件；产值10亿元/纳税3000万元为参考指标（不一票否决）."""
        f = {"is_gx_leading_enterprise": True, "is_manufacturing": True, "hb48_in_listed_sector": True,
             "hb48_gx_supporting_firms": 6, "hb48_innovation_ok": True, "hb48_market_rank": 20, "hb48_parts_rank": 99,
             "hb48_energy_benchmark": True, "hb48_clean_record_3y": True}
        assert run("hb-chainleader", f, Y)[0] == MET
        assert run("hb-chainleader", {**f, "hb48_gx_supporting_firms": 5}, Y)[0] == NOT_MET
        assert run("hb-chainleader", {**f, "hb48_market_rank": 21}, Y)[0] == NOT_MET
        assert run("hb-chainleader-scale", {"output_year": "999999999.99", "revenue_year": 0, "hb48_tax_year": "3000万元"}, Y)[0] == MET
        assert run("hb-chainleader-scale", {"output_year": "999999999.99", "revenue_year": 0, "hb48_tax_year": "29999999.99"}, Y)[0] == NOT_MET

    def test_patent_sme(self, run):
        """hb60：产业化率不低于50%；研发投入占比不低于10%或不低于500万元；研发人员不低于20%或产学研合作."""
        f = {"is_sme": True, "is_specialized_sme": False, "is_high_tech": True, "hb60_ip_demo_or_pilot": False,
             "hb60_patent_intensive_industry": True, "hb60_core_patent_product_filed": True,
             "hb60_patent_industrialization_rate_pct": 50, "hb60_rd_ly": "4999999.99", "hb60_revenue_ly": "49999999.90",
             "hb60_rd_staff": 20, "hb60_staff": 100, "hb60_university_cooperation": False, "hb60_own_brand": True,
             "hb60_ip_management_system": True, "hb60_bad_record": False}
        assert run("hb-patent-sme", f, Y)[0] == MET
        assert run("hb-patent-sme", {**f, "hb60_revenue_ly": "5000万元"}, Y)[0] == NOT_MET
        assert run("hb-patent-sme", {**f, "hb60_revenue_ly": "5000万元", "hb60_rd_ly": "500万元"}, Y)[0] == MET
        assert run("hb-patent-sme", {**f, "hb60_patent_industrialization_rate_pct": "49.99"}, Y)[0] == NOT_MET
        assert run("hb-patent-sme", {**f, "hb60_rd_staff": 19}, Y)[0] == NOT_MET

    def test_digital_city(self, run):
        """hb63：超过15000家的省份最多推荐2个城市，其他1个；2024年5月31日前报送；90%以上."""
        f = {"hb63_city_in_first_batch": False, "hb63_province_above_scale_smes_2023": 15001, "hb63_recommend_order": 2,
             "hb63_submission_date": "2024-05-31"}
        assert run("hb-digital-city", f, Y)[0] == MET
        assert run("hb-digital-city", {**f, "hb63_province_above_scale_smes_2023": 15000}, Y)[0] == NOT_MET
        assert run("hb-digital-city", {**f, "hb63_submission_date": "2024-06-01"}, Y)[0] == NOT_MET
        t = {"hb63_target_smes_level2": 90, "hb63_target_smes_total": 100, "hb63_little_giants_all_level2": True}
        assert run("hb-digital-city-target", t, Y)[0] == MET
        assert run("hb-digital-city-target", {**t, "hb63_target_smes_level2": 89}, Y)[0] == NOT_MET

    def test_dates(self, run, ruleset):
        """hb51 30日内备案；hb56 2024-03-06至10-20；hb50 每季度末月30日前."""
        assert run("hb-recycle-filing", {"hb51_license_date": "2024-01-01", "hb51_filing_date": "2024-01-31"}, Y)[0] == MET
        assert run("hb-recycle-filing", {"hb51_license_date": "2024-01-01", "hb51_filing_date": "2024-02-01"}, Y)[0] == NOT_MET
        assert run("hb-recycle-filing", {"hb51_license_date": "2024-01-01"}, Y)[0] == MISSING
        g = {"hb56_unit_qualified": True, "hb56_ready_and_funded": True}
        assert run("hb-techinnov-dates", {**g, "hb56_submit_date": "2024-10-20"}, Y)[0] == MET
        assert run("hb-techinnov-dates", {**g, "hb56_submit_date": "2024-03-05"}, Y)[0] == NOT_MET
        assert run("hb-pool-dates-q1", {"hb50_city_review_date": "2024-03-30"}, "2024Q1")[0] == MET
        assert run("hb-pool-dates-q1", {"hb50_city_review_date": "2024-03-31"}, "2024Q1")[0] == NOT_MET
        assert "hb-pool-dates-q1" not in ids(ruleset, "2024Q2")
