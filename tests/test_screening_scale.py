"""Screening internals at scale: 待补充信息 summarised per measure and missing field (issue 9)."""

import polars as pl
import pytest

from huiqi.services.screening import screen


@pytest.fixture(scope="module")
def run():
    from huiqi.data.synthetic import generate

    return screen(generate(1_500, seed=13), "2024Q4")


def test_missing_summary_counts_the_rows_that_name_the_field(run):
    """The summary counts every 待补充信息 (entity, measure) per missing fact; the rows listed per entity (those a
    data table could fill: facts some entity has) say the same for those facts."""
    summary = run.missing_fields
    assert summary is not None and summary.height > 0
    missing = run.results.filter(pl.col("status") == "待补充信息")
    facts = run.evaluations["enterprise"].inputs
    held = {c for c, n in zip(facts.columns, facts.null_count().row(0)) if n < facts.height}
    enterprise_measures = {cm.id for cm in run.evaluations["enterprise"].plan}
    summary = summary.filter(pl.col("field").is_in(list(held)) & pl.col("measure_id").is_in(list(enterprise_measures)))
    assert summary.height > 0
    for mid, label, source, n in summary.select("measure_id", "label", "source", "entities").iter_rows():
        text = f"{label}（来源：{source or '—'}）"
        # whole items of the "；"-joined text: 全年工业总产值 is also the tail of 上年全年工业总产值
        rows = missing.filter((pl.col("measure_id") == mid) & pl.col("missing").str.split("；").list.contains(text))
        assert rows.height == n, (mid, label)


def test_only_rows_a_table_could_fill_are_listed(run):
    """Issue 9: 待补充信息 listed per enterprise only where a table could supply the fact; the rest is counted."""
    facts = run.evaluations["enterprise"].inputs
    held = {c for c, n in zip(facts.columns, facts.null_count().row(0)) if n < facts.height}
    plans = {cm.id: cm for cm in run.evaluations["enterprise"].plan}
    missing = run.results.filter((pl.col("status") == "待补充信息") & (pl.col("entity") == "enterprise"))
    assert missing.height > 0
    assert all(plans[m].fields & held for m in missing["measure_id"].unique().to_list())
    listed = missing.height
    counted = int(run.missing_fields["entities"].sum())
    assert counted > listed  # most are facts no table has: counted, not listed


def test_every_missing_row_is_summarised(run):
    missing = run.results.filter((pl.col("status") == "待补充信息") & (pl.col("missing") != ""))
    assert set(missing["measure_id"].unique()) <= set(run.missing_fields["measure_id"].unique())


def test_constant_reason_of_yes_no_measures_equals_the_calculators(run):
    """A 符合 yes/no measure met every condition, so screening writes one sentence per measure instead of calling the
    explainer per row; it must be exactly the calculator's own text."""
    from huiqi.engine.explain import Explainer
    from huiqi.policies.library import default_library
    from huiqi.services.calculator import explain_row

    ev = run.evaluations["enterprise"]
    library = default_library()
    labels = {n: p.label for n, p in ev.ruleset.parameters.items()}
    yes_no = {cm.id: cm for cm in ev.plan if cm.measure.kind == "eligibility"}
    rows = run.results.filter((pl.col("status") == "符合") & pl.col("measure_id").is_in(list(yes_no))
                              & (pl.col("entity") == "enterprise")).head(200)
    assert rows.height > 0
    wide = {r["entity_id"]: r for r in ev.frame.iter_rows(named=True)}
    facts = {r["entity_id"]: r for r in ev.inputs.iter_rows(named=True)}
    for entity_id, measure_id, reason in rows.select("entity_id", "measure_id", "reason").iter_rows():
        explainer = Explainer(ev.ruleset.dictionary, library, facts[entity_id], ev.params, labels)
        assert reason == explain_row(yes_no[measure_id], wide[entity_id], explainer, library).reason
