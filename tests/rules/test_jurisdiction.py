"""A document's jurisdiction bounds every measure of it (issue 8 #1, RULES-1).

004 (柳州市) paid enterprises of 玉林、南宁、来宾、贵港、贺州: the rule files did not say where a document applies.
Now every rule file states ``jurisdiction``; a 设区市/县区 document gates every measure on the entity's 所在县区
(6-digit GB/T 2260 code or a Guangxi name), in the calculator, screening and the sandbox alike.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huiqi.core.regions import CITIES
from huiqi.engine.allocate import allocate, paid
from huiqi.engine.evaluate import MET, MISSING, NOT_MET, RuleSet, col
from huiqi.engine.inputs import facts_frame
from huiqi.rules.lint import Linter
from huiqi.rules.loader import RuleSource, load_file

Q = "2026Q3"
GATES = {"lz2026q3_law_abiding": True, "lz2026q3_sound_financial_system": True,
         "lz2026q3_good_accounting_credit": True, "lz2026q3_good_tax_credit": True,
         "lz2026q3_serious_bad_record_2y": False, "lz2026q3_violates_joint_punishment": False,
         "lz2026q3_joint_punishment_target": False, "lz2026q3_materials_falsified": False}
# facts under which every 004 enterprise measure pays (四（一）展会、活动，四（二）国际认证)
ELIGIBLE = {**GATES, "is_above_scale": True, "large_expo_attended_q": True, "lz2026q3_expo_cost_q": "10万元",
            "lz2026q3_event_held_q": True, "lz2026q3_event_cost_q": "10万元",
            "lz2026q3_intl_cert_date": "2026-08-01", "lz2026q3_intl_cert_fee": "10万元"}
COUNTY_CODES = sorted(code for _city, (_c, _w, counties) in CITIES.items() for code, _n, _ in counties)
LIUZHOU = [c for c in COUNTY_CODES if c.startswith("4502")]
MIXED = list(dict.fromkeys(LIUZHOU + COUNTY_CODES))


def _city_documents(rs: RuleSet) -> list[str]:
    return sorted({f.rules.document for _m, f in rs.measures.values() if f.rules.jurisdiction.level == "设区市"})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(counties=st.lists(st.one_of(st.sampled_from(MIXED), st.from_regex(r"\A[1-6]\d{5}\Z")), min_size=1, max_size=30),
       cost=st.integers(1, 10**9))
def test_lz2026q3_measures_pay_only_liuzhou(ruleset, counties, cost):
    """004 is a 柳州市 document (“促进2026年三季度柳州市工业稳增长的若干措施”): whatever the facts, no amount of
    any of its measures — nor of any other 设区市 document's — goes to an entity outside 柳州 (4502xx)."""
    facts = [{**ELIGIBLE, "county": c, "lz2026q3_expo_cost_q": cost, "lz2026q3_event_cost_q": cost} for c in counties]
    ev = ruleset.evaluate(facts_frame(facts), Q)
    assert {"lz2026q3-4.1a", "lz2026q3-4.1b", "lz2026q3-4.2"} <= {cm.id for cm in ev.plan}
    city_measures = [cm for cm in ev.plan if cm.source.rules.jurisdiction.gated and cm.measure.kind == "money"]
    long = allocate(ev)
    outside = [i + 1 for i, c in enumerate(counties) if not c.startswith("4502")]
    paid_outside = paid(long).filter(pl.col("measure_id").is_in([cm.id for cm in city_measures])
                                     & pl.col("entity_id").is_in([str(i) for i in outside]))
    assert paid_outside.height == 0
    for cm in city_measures:
        statuses = ev.frame[col(cm.id, "status")].cast(pl.String).to_list()
        assert all(s == NOT_MET for i, s in enumerate(statuses) if not counties[i].startswith("4502"))
    # and inside 柳州 the same facts are paid (the gate is not a blanket refusal)
    inside = [i for i, c in enumerate(counties) if c.startswith("4502")]
    if inside and cost >= 20_000:
        assert ev.frame[col("lz2026q3-4.1a", "status")][inside[0]] == MET


def test_lz2026q3_unknown_county_asks_for_it(ruleset):
    """The calculator without 所在县区: every 004 measure is 待补充信息 asking for 所在县区, never 符合."""
    from huiqi.services.calculator import check

    results = {r.measure_id: r for r in check(ELIGIBLE, Q)}
    for mid in ("lz2026q3-4.1a", "lz2026q3-4.1b", "lz2026q3-4.2"):
        r = results[mid]
        assert r.status == MISSING and r.amount_yuan is None
        assert [m.label for m in r.missing] == ["所在县区"]
        assert "所在县区" in r.explanation and "county" not in r.explanation
    liunan = {r.measure_id: r for r in check({**ELIGIBLE, "所在县区": "柳南区"}, Q)}
    assert liunan["lz2026q3-4.1a"].status == MET and liunan["lz2026q3-4.1a"].amount_yuan == Decimal("50000")
    yulin = {r.measure_id: r for r in check({**ELIGIBLE, "county": "450902"}, Q)}  # 玉林市玉州区
    assert yulin["lz2026q3-4.1a"].status == NOT_MET and "柳州市" in yulin["lz2026q3-4.1a"].explanation


def test_region_documents_apply_to_all_of_guangxi(ruleset):
    """国家/自治区 documents apply to every Guangxi entity and need no 所在县区 (002 第21条 in 玉林 and unknown)."""
    facts = {"is_industrial": True, "promo_event_held_q": True, "promo_event_cost_q": 200_000,
             "output_q": "500万元", "output_q_ly": "400万元"}
    for where in ({}, {"county": "450902"}, {"county": "450204"}):
        ev = ruleset.evaluate(facts_frame([{**facts, **where}]), "2024Q4", measures=["gx2024q4-21"])
        assert ev.frame[col("gx2024q4-21", "status")][0] == MET
    assert not any(cc.condition.id == "适用地域" for cm in ev.plan for cc in cm.conditions)


def test_every_city_document_is_gated(ruleset):
    """All 柳州市 documents (hb13, hb34 … lz2026q3) carry the gate on every measure, whatever the entity type."""
    docs = _city_documents(ruleset)
    assert "lz2026q3" in docs and "hb43" in docs
    plan = [cm for p in ("2023", "2024", "2025", Q) for e in ("enterprise", "project", "county", "person")
            for cm in ruleset.plan(p, e, ruleset.resolve_parameters())]
    for cm in plan:
        gated = any(cc.condition.id == "适用地域" for cc in cm.conditions)
        assert gated == (cm.source.rules.document in docs), cm.id


@pytest.fixture(scope="module")
def tables():
    from huiqi.data.synthetic import generate

    return generate(2_000, seed=7)


def test_lz2026q3_screening_2026q3_pays_only_liuzhou(tables, monkeypatch):
    """Screening 2026Q3 on the synthetic data (every enterprise meeting 六（二）): 004 pays only 柳州 enterprises.
    On the old rules 13 other cities were paid (南宁 31 awards, 贵港 13, 来宾 8, 贺州 6 …)."""
    from huiqi.services import screening

    built = screening.facts_mod.enterprise_facts
    monkeypatch.setattr(screening.facts_mod, "enterprise_facts",
                        lambda t, p, fields=None: built(t, p, fields).with_columns(*[pl.lit(v).alias(k) for k, v in GATES.items()]))
    run = screening.screen(tables, Q, explain=False)
    lz = run.paid().filter(pl.col("measure_id").str.starts_with("lz2026q3"))
    assert lz.height > 0
    assert lz["county_code"].str.starts_with("4502").all()
    assert set(lz["city_name"].unique()) == {"柳州市"}
    # the 县区 award (一) is Liuzhou's 县区 ranking: county entities outside 柳州 never appear as paid
    counties = run.results.filter((pl.col("entity") == "county") & pl.col("measure_id").str.starts_with("lz2026q3"))
    assert counties.filter(~pl.col("county_code").str.starts_with("4502") & (pl.col("status") == MET)).height == 0


def test_lz2026q3_sandbox_preset_pays_only_liuzhou(tables):
    """The 政策沙盘 004 preset (huiqi.services.simulation) goes through the same gate."""
    from huiqi.services.simulation import Scenario, Simulator

    sim = Simulator(tables, Q, assume={k: v for k, v in GATES.items()})
    run = sim.run(Scenario("004", {"lz2026q3_budget": "10000000", "lz2026q3-4.1b.cap": "100000"}))
    lz = run.paid().filter(pl.col("measure_id").str.starts_with("lz2026q3") & (pl.col("entity") == "enterprise"))
    assert lz.height > 0
    codes = pl.DataFrame({"entity_id": tables["enterprises"]["credit_code"],
                          "code": tables["enterprises"]["county_code"]})
    assert lz.join(codes, on="entity_id")["code"].str.starts_with("4502").all()


def test_lint_requires_jurisdiction(tmp_path):
    """Lint: every rule file states its jurisdiction, at the level of the document in the library."""
    text = _rule_path("hb46.yaml").read_text(encoding="utf-8")
    missing = tmp_path / "hb46.yaml"
    missing.write_text("\n".join(ln for ln in text.splitlines() if not ln.startswith("jurisdiction:")), encoding="utf-8")
    messages = [f.message for f in Linter(RuleSource((load_file(missing),))).run()]
    assert any("缺少 jurisdiction" in m for m in messages)
    wrong = tmp_path / "hb46b.yaml"
    wrong.write_text(text.replace('jurisdiction: {level: 设区市, code: "4502", name: 柳州市}',
                                  'jurisdiction: {level: 自治区, code: "45", name: 广西壮族自治区}'), encoding="utf-8")
    messages = [f.message for f in Linter(RuleSource((load_file(wrong),))).run()]
    assert any("与政策库中文件层级" in m for m in messages)


def _rule_path(name: str):
    from huiqi.rules.loader import RULES_DIR

    return RULES_DIR / name
