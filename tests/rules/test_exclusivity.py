"""“不能重复享受” across documents and across periods (issue 8 #4, RULES-4).

hb58 (桂人社发〔2023〕63号): “一次性扩岗补助和一次性吸纳就业补贴（即一次性带动就业补贴）政策不能重复享受” — the
other member is hb43's 一次性带动就业补贴 (柳人社规〔2023〕3号). One exclusive group lists both; the engine resolves
groups over all rule files, and allocation reads earlier awards (``prior``).
"""

from __future__ import annotations

import polars as pl

from huiqi.engine.allocate import AllocationOptions, allocate
from huiqi.engine.evaluate import MET, RuleSet, col
from huiqi.engine.inputs import facts_frame

KUOGANG = {"hb58_hire_group": "登记失业青年", "hb58_hire_age": 24, "hb58_si_enrol_date": "2023-07-01",
           "hb58_three_insurance_months": 1, "hb58_si_normal_at_review": True, "hb58_employer_is_labor_dispatch": False,
           "hb58_received_incubator_jobs_subsidy": False}
JOBS = {"hb43_hire_contract_date": "2023-08-02", "hb43_incubation_agreement_date": "2023-08-01",
        "hb43_is_dispatched_worker": False, "hb43_hire_si_months": 3,
        "hb43_hire_received_other_employment_subsidy": False, "hb43_person_claimed_elsewhere_in_base": False,
        "hb43_employer_actually_operating": True, "county": "450204"}
PAIR = ["hb-kuogang-2023", "hb-lz-incubator-jobs"]


def test_hb58_hb43_group_spans_two_files(ruleset: RuleSet):
    """The group is defined in hb58.yaml and lists a measure of hb43.yaml; the engine knows it for both."""
    plan = {cm.id: cm for cm in ruleset.plan("2023", "person", ruleset.resolve_parameters(), PAIR)}
    assert plan["hb-kuogang-2023"].group is plan["hb-lz-incubator-jobs"].group is not None
    assert plan["hb-lz-incubator-jobs"].source.rules.document == "hb43"


def test_hb58_hb43_not_both_in_one_period(ruleset: RuleSet):
    """2023: the same person qualifies for both — only one is paid (the larger: 2000元 带动就业 over 1500元 扩岗)."""
    ev = ruleset.evaluate(facts_frame([{**KUOGANG, **JOBS}]), "2023", entity="person", measures=PAIR)
    row = ev.frame.row(0, named=True)
    assert row[col("hb-kuogang-2023", "status")] == MET and row[col("hb-lz-incubator-jobs", "status")] == MET
    assert (row[col("hb-kuogang-2023", "award")], row[col("hb-lz-incubator-jobs", "award")]) == (0, 200_000)


def test_hb58_hb43_not_both_across_periods(ruleset: RuleSet):
    """2024: a person paid the 2023 扩岗补助 earlier is not paid the 带动就业补贴 now, and the note says why in Chinese."""
    facts = {**JOBS, "hb43_hire_contract_date": "2024-03-02", "hb43_incubation_agreement_date": "2024-03-01"}
    ev = ruleset.evaluate(facts_frame([{**facts, "entity_id": "p1"}, {**facts, "entity_id": "p2"}]), "2024",
                          entity="person", measures=["hb-lz-incubator-jobs"])
    prior = pl.DataFrame({"entity_id": ["p1"], "measure_id": ["hb-kuogang-2023"], "prior_fen": [150_000],
                          "period": ["2023"]})
    out = allocate(ev, AllocationOptions(prior=prior)).sort("entity_id")
    assert out["final_fen"].to_list() == [0, 200_000]
    note = out["allocation_note"][0]
    assert "一次性扩岗补助" in note and "1500.00元" in note and "不能重复享受" in note
    assert "hb-" not in note and out["allocation_note"][1] is None
    # without the earlier award both are paid as before
    assert allocate(ev)["final_fen"].to_list() == [200_000, 200_000]


def test_year_measure_as_of_a_quarter_is_paid_once_a_year(ruleset: RuleSet):
    """A year measure evaluated "as of" 2024Q3 and again as of 2024Q4 is paid once for 2024 (RULES-8)."""
    facts = {**JOBS, "hb43_hire_contract_date": "2024-03-02", "hb43_incubation_agreement_date": "2024-03-01"}
    ev = ruleset.evaluate(facts_frame([{**facts, "entity_id": "p1"}]), "2024Q4", entity="person",
                          measures=["hb-lz-incubator-jobs"])
    assert ev.plan[0].as_of == "2024"
    paid_q3 = pl.DataFrame({"entity_id": ["p1"], "measure_id": ["hb-lz-incubator-jobs"], "prior_fen": [200_000],
                            "period": ["2024Q3"]})
    out = allocate(ev, AllocationOptions(prior=paid_q3))
    assert out["final_fen"].to_list() == [0] and "2024年度此前已兑现2000.00元" in out["allocation_note"][0]
    last_year = paid_q3.with_columns(pl.lit("2023Q4").alias("period"))
    assert allocate(ev, AllocationOptions(prior=last_year))["final_fen"].to_list() == [200_000]


def test_duplicate_exclusivity_pass_removed():
    """RuleSet.evaluate applies exclusivity once (it was called twice in a row)."""
    import inspect

    from huiqi.engine import evaluate

    assert inspect.getsource(evaluate.RuleSet.evaluate).count("_apply_exclusivity(") == 1


def test_once_per_own_period_reads_only_that_period():
    """A half-year measure (hb13: 2024H1, 2024H2) paid in 2024Q1 is not cut in 2024Q3: only earlier awards inside
    the measure's own period count."""
    from huiqi.engine.allocate import _within

    prior = pl.DataFrame({"entity_id": ["e"] * 4, "measure_id": ["m"] * 4, "prior_fen": [1, 2, 3, 4],
                          "period": ["2023Q4", "2024Q1", "2024Q3", "2024"]})
    assert _within(prior, "2024H2")["prior_fen"].to_list() == [3]
    assert _within(prior, "2024")["prior_fen"].to_list() == [2, 3, 4]
