"""`huiqi screen` as a pipeline (docs/decisions.md PIPE-1): the paid rows first, the workbook written while the full
listing and the data files are built. The paid rows equal ``paid()`` of the full results, the files are the same
bytes as from the sequential path, and an error on either thread leaves the previous run and is reported as before."""

import hashlib
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from huiqi.engine.allocate import AllocationOptions, paid
from huiqi.engine.evaluate import RuleSet
from huiqi.interfaces import cli
from huiqi.interfaces.cli_common import SCREEN_SCANS, load_tables
from huiqi.services import award_list, screening
from huiqi.services.screening import PaidFirst, screen


@pytest.fixture(scope="module")
def ruleset():
    return RuleSet()


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """The demo data (`huiqi demo-data`: 10,000 enterprises, seed 2024) as Parquet."""
    from huiqi.data.synthetic import generate, write_parquet

    out = tmp_path_factory.mktemp("demo")
    write_parquet(generate(), out)
    return out


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    from huiqi.data.synthetic import generate, write_parquet

    out = tmp_path_factory.mktemp("small")
    write_parquet(generate(600, seed=31), out)
    return out


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(folder).iterdir())}


def assert_paid_first(staged: PaidFirst, sequential) -> None:
    """The early run's paid rows are exactly paid() of the full results (columns, types, rows, order, text) and of the
    sequential run's; the manifests agree."""
    full = staged.full()
    assert_frame_equal(staged.early.results, paid(full.results))
    assert_frame_equal(full.results, sequential.results)
    assert staged.early.manifest == full.manifest == sequential.manifest
    assert_frame_equal(staged.early.counts, sequential.counts)


@pytest.mark.parametrize("period", ["2024Q4", "2025Q3", "2026Q3", "2024"])
def test_pipeline_files_equal_the_sequential_files_on_the_demo(ruleset, demo, tmp_path, period):
    for i, kwargs in enumerate(({"list_pending": False}, {})):
        tables = load_tables(demo, None, scan=SCREEN_SCANS)
        sequential = screen(tables, period, ruleset=ruleset, data_hash="demo", **kwargs)
        staged = screen(load_tables(demo, None, scan=SCREEN_SCANS), period, ruleset=ruleset, data_hash="demo",
                        paid_first=True, **kwargs)
        assert isinstance(staged, PaidFirst)
        assert_paid_first(staged, sequential)
        for todo in (False, True):
            a, b = tmp_path / f"seq-{i}-{todo}", tmp_path / f"pipe-{i}-{todo}"
            award_list.write_run(sequential, a, csv=True, todo=todo)
            award_list.write_run(staged, b, csv=True, todo=todo)
            assert digests(a) == digests(b)
        # an .xlsx target: the files staged beside it, each replaced in place
        a, b = tmp_path / f"seq-{i}" / "名单.xlsx", tmp_path / f"pipe-{i}" / "名单.xlsx"
        award_list.write_run(sequential, a)
        award_list.write_run(staged, b)
        assert digests(a.parent) == digests(b.parent)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(period=st.sampled_from(["2024Q4", "2025Q1", "2025Q4", "2026Q3", "2025H2"]),
       list_pending=st.booleans(), explain=st.booleans(), policy=st.sampled_from(["pro_rata", "ranked"]),
       budget=st.sampled_from([None, "1", "50000"]))
def test_paid_rows_first_equal_the_paid_rows_of_the_full_run(ruleset, small, period, list_pending, explain, policy,
                                                             budget):
    """Any period, listing, explanation, budget policy and (tight) budget: the paid rows of stage one are those of
    the finished run."""
    params = {"gx2023_budget": budget} if budget else None  # a tight budget cuts awards, some to 0
    how = dict(ruleset=ruleset, data_hash="x", list_pending=list_pending, explain=explain, params=params,
               options=AllocationOptions(policy))
    staged = screen(load_tables(small, None), period, paid_first=True, **how)
    assert_paid_first(staged, screen(load_tables(small, None), period, **how))


def previous_run(tmp_path: Path, run) -> tuple[Path, dict[str, str]]:
    out = tmp_path / "out"
    award_list.write_run(run, out)
    return out, digests(out)


@pytest.mark.parametrize("where", ["workbook", "listing", "tables"])
def test_an_error_on_either_thread_leaves_the_previous_run(ruleset, small, tmp_path, monkeypatch, where):
    out, before = previous_run(tmp_path, screen(load_tables(small, None), "2024Q4", ruleset=ruleset, data_hash="x"))

    def fail(*_a, **_k):
        raise ValueError("写出失败（测试）")

    if where == "workbook":
        monkeypatch.setattr(award_list, "write_excel", fail)
    elif where == "tables":
        monkeypatch.setattr(award_list, "write_data_files", fail)
    else:  # the full listing, on the screening's second thread; the paid rows are listed as before
        listing = screening._Assembly.listing
        monkeypatch.setattr(screening._Assembly, "listing",
                            lambda self, only_paid=False, *_: listing(self, True) if only_paid else fail())
    staged = screen(load_tables(small, None), "2024Q4", ruleset=ruleset, data_hash="y", paid_first=True)
    with pytest.raises(ValueError, match="写出失败（测试）"):
        award_list.write_run(staged, out)
    assert digests(out) == before
    xlsx = tmp_path / "book" / "名单.xlsx"
    with pytest.raises(ValueError, match="写出失败（测试）"):
        award_list.write_run(staged, xlsx)
    assert not xlsx.parent.exists() or not any(xlsx.parent.iterdir())


def test_the_cli_reports_a_listing_error_in_chinese_and_keeps_the_previous_run(small, tmp_path, monkeypatch):
    out = tmp_path / "out"
    args = ["screen", "--period", "2024Q4", "--data", str(small), "--out", str(out)]
    first = CliRunner().invoke(cli.app, args)
    assert first.exit_code == 0, first.output
    before = digests(out)
    listing = screening._Assembly.listing

    def broken(self, only_paid=False, *_):
        if only_paid:
            return listing(self, True)
        raise ValueError("结果清单无法生成（测试）")

    monkeypatch.setattr(screening._Assembly, "listing", broken)
    again = CliRunner().invoke(cli.app, args)
    assert again.exit_code != 0
    assert "结果清单无法生成（测试）" in again.output and "Traceback" not in again.output
    assert digests(out) == before


def test_the_cli_summary_line_reads_the_paid_rows(small, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(cli.app, ["screen", "--period", "2024Q4", "--data", str(small), "--out", str(out)])
    assert result.exit_code == 0, result.output
    run = screen(load_tables(small, None, scan=SCREEN_SCANS), "2024Q4", data_hash=screening.directory_hash(small),
                 list_pending=False)
    rows = paid(run.results)
    assert f"{rows.height:,} 项拟兑现" in result.output and run.manifest["run_id"] in result.output
    assert pl.read_parquet(out / "results.parquet").height == run.results.height
