"""Year-period measures are reachable "as of" any quarter inside their period and validity (issue 8 #8, RULES-8).

About 90 handbook measures are written for a year ("2024"). They were refused by the web calculator and never
evaluated in screening. Now evaluating 2024Q4 (or any quarter of 2024 inside the validity) also evaluates the
year-2024 measures, on the facts as of that quarter: full-year figures are unknown until the year is complete
(待补充信息, never 0), and allocation pays a year measure once a year.
"""

from __future__ import annotations

import polars as pl
import pytest

from huiqi.engine.evaluate import MET, MISSING, RuleSet, applicable_period, col
from huiqi.engine.inputs import facts_frame


def ids(rs: RuleSet, period: str) -> set[str]:
    return {m.id for m, _ in rs.measures_for(period)}


def test_year_measures_reachable_as_of_a_quarter(ruleset):
    """measures_for(2024Q1…Q4) contains the year-2024 measures; the plan records the measure's own period."""
    year = ids(ruleset, "2024")
    assert len(year) >= 80
    assert year <= ids(ruleset, "2024Q4")
    for q in ("2024Q1", "2024Q2", "2024Q3"):  # all but 002's 02c, whose document is valid in 2024Q4 only
        assert year - ids(ruleset, q) == {"gx2024q4-02c"}, q
    plan = {cm.id: cm for cm in ruleset.plan("2024Q4", "project", ruleset.resolve_parameters())}
    assert plan["hb-major-project"].as_of == "2024"


def test_as_of_respects_validity(ruleset):
    """hb58 runs 2023-06-25 to 2023-12-31: reached as of 2023Q3/Q4, not 2023Q1; 002's quarter measures are not
    widened to other quarters; a quarter never reaches a finer (month) measure."""
    m, f = ruleset.measures["hb-kuogang-2023"]
    assert applicable_period(m, f, "2023Q3") == "2023" and applicable_period(m, f, "2023Q1") is None
    assert "gx2024q4-21" not in ids(ruleset, "2024Q3") and "gx2024q4-21" not in ids(ruleset, "2024")
    assert "gx2023-01" not in ids(ruleset, "2023Q1")  # written for 2023M02 only


def test_full_year_facts_missing_before_year_end_is_not_zero(ruleset):
    """gx2024q4-02c (第2条 小升规, 全年产值增速) as of 2024Q2 without full-year output: 待补充信息, not 0 / 不符合."""
    facts = {"upgraded_to_scale_this_year": True, "is_industrial": True}
    ev = ruleset.evaluate(facts_frame([facts]), "2024Q4", measures=["gx2024q4-02c"],
                          params={"gx2024q4_02c_amount": 50000})
    assert ev.frame[col("gx2024q4-02c", "status")][0] == MISSING


def test_calculator_reaches_handbook_measures_as_of_a_quarter():
    """The calculator for 2024Q4 lists the handbook year measures (e.g. hb55 重大产业项目) with their answers."""
    from huiqi.services.calculator import check

    results = {r.measure_id: r for r in check({}, "2024Q4", entity="project")}
    assert "hb-major-project" in results and results["hb-major-project"].status == MISSING


@pytest.fixture(scope="module")
def tables():
    from huiqi.data.synthetic import generate

    return generate(2_000, seed=7)


def test_year_measures_screened_as_of_2024q4(tables):
    """Screening 2024Q4 evaluates the year measures: gx2024q4-02c on full-year 2024 data (complete in Q4)."""
    from huiqi.services.screening import screen

    run = screen(tables, "2024Q4", explain=False, params={"gx2024q4_02c_amount": 50000})
    as_of = {mid for mid, cm in run.plans.items() if cm.as_of == "2024"}
    assert "gx2024q4-02c" in as_of and len(as_of) >= 40
    c02 = run.results.filter(pl.col("measure_id") == "gx2024q4-02c")
    assert c02.height > 0 and set(c02["status"]) <= {MET, MISSING}
    facts = run.facts_for("enterprise")
    assert facts["output_year"].null_count() < facts.height  # Q4: the year is complete


def test_web_calculator_accepts_year_measures(tmp_path, tables):
    """The web calculator and REST API: 2024Q1 (a quarter only year measures reach) is offered, not refused with
    HTTP 422, and /api/check answers a year period and a quarter with the year measures."""
    from fastapi.testclient import TestClient

    from huiqi.data.synthetic import write_parquet
    from huiqi.interfaces.web import create_app

    demo = tmp_path / "demo"
    demo.mkdir()
    write_parquet(tables, demo)
    app = create_app(f"sqlite:///{tmp_path / 'w.db'}", demo, tmp_path / "work", announce=lambda _t: None)
    c = TestClient(app)
    assert c.get("/calculator", params={"period": "2024Q1"}).status_code == 200
    token = c.get("/api/csrf").json()["csrf_token"]
    from huiqi.interfaces.web.state import DEMO_PASSWORDS

    r = c.post("/api/login", json={"username": "admin", "password": DEMO_PASSWORDS["admin"]},
               headers={"X-CSRF-Token": token})
    headers = {"X-CSRF-Token": r.json()["csrf_token"]}
    for period in ("2024", "2024Q4"):
        r = c.post("/api/check", json={"period": period, "entity": "project", "facts": {}}, headers=headers)
        assert r.status_code == 200, r.text
        assert "hb-major-project" in {x["measure_id"] for x in r.json()["results"]}
    r = c.post("/calculator/check", data={"period": "2024Q4", "f.county": "柳南区"}, headers=headers)
    assert r.status_code == 200, r.text
