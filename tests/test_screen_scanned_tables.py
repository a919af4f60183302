"""Screening on Parquet scans of the register, the projects and the side tables (as bench_openfisca_e2e reads
them, docs/decisions.md PEER2-2) equals screening on the tables read whole: facts, results, counts, summaries,
evaluation frames and run ID, every period."""


import polars as pl
import pytest

from huiqi.engine.evaluate import RuleSet
from huiqi.interfaces.cli_common import SCREEN_SCANS, load_tables
from huiqi.services import facts as facts_mod
from huiqi.services.screening import screen
from tests.test_facts_pruned import assert_same_run as same_run
from tests.synthetic_dirs import panel_directory

SCANNED = (*SCREEN_SCANS, "enterprises", "projects")


@pytest.fixture(scope="module")
def ruleset():
    return RuleSet()


@pytest.fixture(scope="module")
def directory(tmp_path_factory):
    return panel_directory(tmp_path_factory.mktemp("scanned"), 400, seed=11)


def assert_same_run(eager, lazy) -> None:
    """The pruning test's comparison of two runs, and here every fact column too (scanning prunes nothing)."""
    same_run(eager, lazy)
    for entity, ev in eager.evaluations.items():
        assert lazy.facts_for(entity).equals(ev.inputs)


def test_enterprise_facts_from_a_scanned_register_equal_the_eager_ones(ruleset, directory):
    eager, lazy = load_tables(directory, None), load_tables(directory, None, scan=SCANNED)
    assert isinstance(lazy["enterprises"], pl.LazyFrame) and isinstance(eager["enterprises"], pl.DataFrame)
    for period in [*ruleset.quarters(), "2024", "2025H2"]:
        assert facts_mod.enterprise_facts(lazy, period).equals(facts_mod.enterprise_facts(eager, period))
        assert facts_mod.project_facts(lazy, period).equals(facts_mod.project_facts(eager, period))


@pytest.mark.parametrize("kwargs", [{}, {"explain": False, "measures": ["gx2024q4-21", "gx2024q4-22a", "gx2024q4-22b"]},
                                    {"list_pending": False}])
def test_screening_on_scanned_tables_equals_the_eager_tables(ruleset, directory, kwargs):
    eager, lazy = load_tables(directory, None), load_tables(directory, None, scan=SCANNED)
    periods = [*ruleset.quarters(), "2024", "2025H2"] if not kwargs else ["2024Q4", "2026Q3"]
    for period in periods:
        if kwargs.get("measures") and period != "2024Q4":
            continue
        assert_same_run(screen(eager, period, ruleset=ruleset, data_hash="x", **kwargs),
                        screen(lazy, period, ruleset=ruleset, data_hash="x", **kwargs))
