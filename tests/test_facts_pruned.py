"""Facts built for the fields a run reads (docs/decisions.md FACTS-1) equal the full build: column by column, and
screening on them gives the same results, counts, summaries and run ID — every period, with --measures, with the
long indicator table and with the panel layout."""

from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from huiqi.data.panel import write_panel
from huiqi.engine.evaluate import RuleSet
from huiqi.services import facts as facts_mod
from huiqi.services.screening import screen


@pytest.fixture(scope="module")
def ruleset():
    return RuleSet()


@pytest.fixture(scope="module")
def tables():
    from huiqi.data.synthetic import generate

    return generate(400, seed=7)


@pytest.fixture(scope="module")
def panel_tables(tables, tmp_path_factory):
    """The same tables with the indicators in the panel layout (huiqi.data.panel), as the CLI reads them."""
    from huiqi.data.synthetic import write_parquet

    directory = tmp_path_factory.mktemp("panel")
    write_parquet(tables, directory)
    write_panel(directory)
    out = {k: v for k, v in tables.items() if k != "indicators"}
    out["indicator_panel"] = pl.scan_parquet(Path(directory) / "indicator_panel.parquet")
    return out


def periods(ruleset) -> list[str]:
    return [*ruleset.quarters(), "2024", "2025H2"]


def assert_narrowed(full: pl.DataFrame, pruned: pl.DataFrame, wanted: frozenset, identity) -> None:
    assert pruned.columns == [c for c in full.columns if c in pruned.columns]  # same relative order
    assert set(pruned.columns) == {c for c in full.columns if c in wanted or c in identity}
    assert pruned.equals(full.select(pruned.columns))


@pytest.mark.parametrize("layout", ["long", "panel"])
def test_pruned_facts_equal_the_full_build_every_period(ruleset, tables, panel_tables, layout):
    data = tables if layout == "long" else panel_tables
    params = ruleset.resolve_parameters()
    for period in periods(ruleset):
        plan = ruleset.plan(period, "enterprise", params)
        wanted = frozenset().union(*(cm.fields for cm in plan))
        assert_narrowed(facts_mod.enterprise_facts(data, period), facts_mod.enterprise_facts(data, period, wanted),
                        wanted, facts_mod.ENTERPRISE_IDENTITY)
        wanted = frozenset().union(*(cm.fields for cm in ruleset.plan(period, "project", params)))
        assert_narrowed(facts_mod.project_facts(data, period), facts_mod.project_facts(data, period, wanted),
                        wanted, facts_mod.PROJECT_IDENTITY)
        wanted = frozenset().union(*(cm.fields for cm in ruleset.plan(period, "county", params)))
        assert_narrowed(facts_mod.county_facts(data, period, 0.5, 0.5),
                        facts_mod.county_facts(data, period, 0.5, 0.5, wanted), wanted, facts_mod.COUNTY_IDENTITY)


ALL_FIELDS = sorted(set(facts_mod.INDICATOR_DERIVED) | {
    "industry_code", "is_manufacturing", "is_industrial", "is_above_scale", "is_new_in_statistics",
    "gx2024q2_library_entry_date", "is_high_tech", "is_little_giant", "lz2026q3_serious_bad_record_2y",
    "lz2026q3_joint_punishment_target", "promo_event_cost_q", "large_expo_attended_q", "lz2026q3_intl_cert_fee",
    "gx2024q4_23_on_list", "gx2024q4_23_loan_draw_date", "no_such_field"})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(wanted=st.frozensets(st.sampled_from(ALL_FIELDS)), period=st.sampled_from(["2024Q4", "2024Q2", "2026Q3",
                                                                                     "2025Q3", "2024", "2023Q1"]))
def test_any_subset_of_fields_is_the_full_build_narrowed(tables, wanted, period):
    """Whatever is asked for (unknown names ignored), each column is the full build's."""
    assert_narrowed(facts_mod.enterprise_facts(tables, period), facts_mod.enterprise_facts(tables, period, wanted),
                    wanted, facts_mod.ENTERPRISE_IDENTITY)


def _runs(data, period, monkeypatch, **kwargs):
    """(full, pruned): the same screening with every fact built (as before FACTS-1), and as it is."""
    pruned = screen(data, period, **kwargs)
    with monkeypatch.context() as m:
        for name in ("enterprise_facts", "project_facts"):
            real = getattr(facts_mod, name)
            m.setattr(facts_mod, name, lambda tables, p, fields=None, _real=real: _real(tables, p))
        real_county = facts_mod.county_facts
        m.setattr(facts_mod, "county_facts",
                  lambda tables, p, wi=None, wo=None, fields=None: real_county(tables, p, wi, wo))
        full = screen(data, period, **kwargs)
    return full, pruned


def assert_same_run(full, pruned) -> None:
    assert pruned.manifest == full.manifest  # run ID included
    assert pruned.results.equals(full.results)
    assert pruned.counts.equals(full.counts)
    for a, b in ((full.missing_fields, pruned.missing_fields), (full.pending_fields, pruned.pending_fields)):
        assert (a is None and b is None) or a.equals(b)
    for entity, ev in full.evaluations.items():
        assert pruned.evaluations[entity].frame.equals(ev.frame)
        # what the award list, the web and the simulation read from a run's facts: the plan's fields and identity
        pruned_facts = pruned.facts_for(entity)
        assert pruned_facts.equals(ev.inputs.select(pruned_facts.columns))


def test_screening_on_pruned_facts_equals_the_full_build_every_period(ruleset, tables, monkeypatch):
    for period in periods(ruleset):
        assert_same_run(*_runs(tables, period, monkeypatch, ruleset=ruleset))


def test_screening_on_pruned_facts_equals_with_measures_panel_and_assumptions(ruleset, panel_tables, monkeypatch):
    full, pruned = _runs(panel_tables, "2024Q4", monkeypatch, ruleset=ruleset,
                         measures=["gx2024q4-21", "gx2024q4-22a", "gx2024q4-22b"], data_hash="x")
    assert_same_run(full, pruned)
    assert pruned.facts_for("enterprise").width < full.facts_for("enterprise").width / 2  # it did prune
    assert_same_run(*_runs(panel_tables, "2024Q4", monkeypatch, ruleset=ruleset, data_hash="x", explain=False,
                           assume={"is_high_tech": True}))
    assert_same_run(*_runs(panel_tables, "2026Q3", monkeypatch, ruleset=ruleset, data_hash="x"))
