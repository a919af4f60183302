"""《促进2026年三季度柳州市工业稳增长的若干措施（征求意见稿）》（lz2026q3）— tests from the text."""

from decimal import Decimal

import pytest

from huiqi.engine.evaluate import MET, MISSING, NOT_MET

Q = "2026Q3"
GATES = {  # 六（二）申报条件，全部满足
    "lz2026q3_law_abiding": True, "lz2026q3_sound_financial_system": True, "lz2026q3_good_accounting_credit": True,
    "lz2026q3_good_tax_credit": True, "lz2026q3_serious_bad_record_2y": False,
    "lz2026q3_violates_joint_punishment": False, "lz2026q3_joint_punishment_target": False,
    "lz2026q3_materials_falsified": False,
}


class TestSection1CountyRanking:
    M = "lz2026q3-1"

    @pytest.mark.parametrize("rank,amount", [(1, 8_000_000), (2, 5_000_000), (3, 3_500_000), (4, 2_000_000),
                                             (5, 1_500_000)])
    def test_top_five(self, run, rank, amount):
        """一：综合评分前五名的县区（新区）给予800万元、500万元、350万元、200万元、150万元激励."""
        assert run(self.M, {"county_rank_q": rank}, Q) == (MET, Decimal(amount))

    def test_sixth_gets_nothing(self, run):
        """一：only the first five are rewarded."""
        assert run(self.M, {"county_rank_q": 6}, Q)[0] == NOT_MET

    def test_missing_rank(self, run):
        """一：no ranking yet → 待补充信息."""
        assert run(self.M, {}, Q, entity="county")[0] == MISSING

    def test_period(self, ruleset):
        """六（一）：政策有效期至2026年9月30日 — 2026Q4 is outside."""
        assert self.M not in {m.id for m, _ in ruleset.measures_for("2026Q4")}


class TestSection4_1Expo:
    M = "lz2026q3-4.1a"

    def f(self, **kw):
        return {**GATES, "is_above_scale": True, "large_expo_attended_q": True, "lz2026q3_expo_cost_q": 20_000, **kw}

    def test_floor_to_wan(self, run):
        """四（一）50% + 六（一）以万元为最小单位向下取整：50% of 20,000 = 1万; of 19,999 = 9,999.5 → 0 → 不符合."""
        assert run(self.M, self.f(), Q) == (MET, Decimal("10000"))
        assert run(self.M, self.f(lz2026q3_expo_cost_q=19_999), Q)[0] == NOT_MET
        assert run(self.M, self.f(lz2026q3_expo_cost_q="39999.98"), Q) == (MET, Decimal("10000"))

    def test_cap_10wan(self, run):
        """四（一）：最高不超过10万元 — 50% of 20万 = 10万; of 30万 → 10万."""
        assert run(self.M, self.f(lz2026q3_expo_cost_q="20万元"), Q) == (MET, Decimal("100000"))
        assert run(self.M, self.f(lz2026q3_expo_cost_q="30万元"), Q) == (MET, Decimal("100000"))

    def test_above_scale_only(self, run):
        """四（一）：规模以上工业企业."""
        assert run(self.M, self.f(is_above_scale=False), Q)[0] == NOT_MET

    def test_gates(self, run):
        """六（二）：纳税信用良好、未被列为失信联合惩戒对象 — a failed gate fails, a missing one is 待补充信息."""
        assert run(self.M, self.f(lz2026q3_good_tax_credit=False), Q)[0] == NOT_MET
        assert run(self.M, self.f(lz2026q3_joint_punishment_target=True), Q)[0] == NOT_MET
        facts = self.f()
        del facts["lz2026q3_materials_falsified"]
        assert run(self.M, facts, Q)[0] == MISSING

    def test_missing_cost(self, run):
        """四（一）：missing 费用 gives 待补充信息."""
        facts = self.f()
        del facts["lz2026q3_expo_cost_q"]
        assert run(self.M, facts, Q)[0] == MISSING

    def test_period(self, ruleset):
        """六（一）：政策有效期至2026年9月30日."""
        assert self.M in {m.id for m, _ in ruleset.measures_for(Q)}
        assert self.M not in {m.id for m, _ in ruleset.measures_for("2026Q4")}


class TestSection4_1Events:
    M = "lz2026q3-4.1b"

    def f(self, **kw):
        return {**GATES, "is_above_scale": True, "lz2026q3_event_held_q": True, "lz2026q3_event_cost_q": 20_000, **kw}

    def test_floor_to_wan(self, run):
        """四（一）+ 六（一）：50% of 19,999 → 0 → 不符合; 50% of 299,999.98 = 149,999.99 → 14万."""
        assert run(self.M, self.f(), Q) == (MET, Decimal("10000"))
        assert run(self.M, self.f(lz2026q3_event_cost_q=19_999), Q)[0] == NOT_MET
        assert run(self.M, self.f(lz2026q3_event_cost_q="299999.98"), Q) == (MET, Decimal("140000"))

    def test_cap_15wan(self, run):
        """四（一）：最高不超过15万元 — 50% of 30万 = 15万; of 40万 → 15万."""
        assert run(self.M, self.f(lz2026q3_event_cost_q="30万元"), Q) == (MET, Decimal("150000"))
        assert run(self.M, self.f(lz2026q3_event_cost_q="40万元"), Q) == (MET, Decimal("150000"))

    def test_conditions_and_missing(self, run):
        """四（一）：举办活动的规模以上工业企业; missing 活动 flag → 待补充信息."""
        assert run(self.M, self.f(lz2026q3_event_held_q=False), Q)[0] == NOT_MET
        facts = self.f()
        del facts["lz2026q3_event_held_q"]
        assert run(self.M, facts, Q)[0] == MISSING

    def test_period(self, ruleset):
        """六（一）：有效期至2026年9月30日."""
        assert self.M not in {m.id for m, _ in ruleset.measures_for("2026Q4")}


class TestSection4_2Certification:
    M = "lz2026q3-4.2"

    def f(self, **kw):
        return {**GATES, "lz2026q3_intl_cert_date": "2026-03-15", "lz2026q3_intl_cert_fee": "6万元", **kw}

    def test_certified_in_2026(self, run):
        """四（二）：2026年新取得国际产品认证 — 2026-01-01 counts, 2025-12-31 does not."""
        assert run(self.M, self.f(lz2026q3_intl_cert_date="2026-01-01"), Q) == (MET, Decimal("30000"))
        assert run(self.M, self.f(lz2026q3_intl_cert_date="2025-12-31"), Q)[0] == NOT_MET

    def test_floor_and_cap(self, run):
        """四（二）+ 六（一）：50% 补贴，单一企业最高5万元，以万元向下取整."""
        assert run(self.M, self.f(lz2026q3_intl_cert_fee=19_999), Q)[0] == NOT_MET
        assert run(self.M, self.f(lz2026q3_intl_cert_fee=20_000), Q) == (MET, Decimal("10000"))
        assert run(self.M, self.f(lz2026q3_intl_cert_fee="10万元"), Q) == (MET, Decimal("50000"))
        assert run(self.M, self.f(lz2026q3_intl_cert_fee="12万元"), Q) == (MET, Decimal("50000"))

    def test_not_limited_to_above_scale(self, run):
        """四（二）：“企业” — no 规上 requirement."""
        assert run(self.M, self.f(is_above_scale=False), Q) == (MET, Decimal("30000"))

    def test_missing_date(self, run):
        """四（二）：missing 取得认证日期 gives 待补充信息."""
        facts = self.f()
        del facts["lz2026q3_intl_cert_date"]
        assert run(self.M, facts, Q)[0] == MISSING

    def test_period(self, ruleset):
        """六（一）：有效期至2026年9月30日."""
        assert self.M not in {m.id for m, _ in ruleset.measures_for("2026Q4")}
