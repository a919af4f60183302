"""LEAN-1: 参数待定 counted per measure and parameter instead of one row per entity (issue 9)."""

import polars as pl
import pytest

from huiqi.services import award_list
from huiqi.services.award_list import read_results, sort_results
from huiqi.services.screening import screen


@pytest.fixture(scope="module")
def runs():
    from huiqi.data.synthetic import generate

    tables = generate(1_500, seed=13)
    return screen(tables, "2024Q4"), screen(tables, "2024Q4", list_pending=False)


def test_unlisted_pending_leaves_every_other_row_unchanged(runs):
    listed, counted = runs
    assert listed.pending_listed and not counted.pending_listed
    old = sort_results(listed.results).filter(pl.col("status") != "参数待定")
    assert old.height > 0
    assert counted.results.filter(pl.col("status") == "参数待定").height == 0
    assert sort_results(counted.results).equals(old)


def test_pending_summary_counts_equal_the_old_per_row_counts(runs):
    """Every (measure, parameter) of the summary holds up as many entities as the old 参数待定 rows of the measure,
    and each of those rows named the parameter by its label."""
    listed, counted = runs
    rows = listed.results.filter(pl.col("status") == "参数待定")
    assert rows.height > 0
    per_row = dict(rows.group_by("measure_id").agg(pl.len()).iter_rows())
    summary = counted.pending_fields
    assert set(summary["measure_id"]) == set(per_row)
    for mid, _param, label, n in summary.iter_rows():
        assert n == per_row[mid]
        assert rows.filter(pl.col("measure_id") == mid)["reason"].str.contains(label, literal=True).all()
    assert summary.equals(listed.pending_fields)  # counted the same whether the rows are listed or not


def test_pending_summary_is_written_and_shown_in_chinese(runs, tmp_path):
    _listed, counted = runs
    files = award_list.write_run(counted, tmp_path / "out")
    names = {p.name for p in files}
    assert "pending_summary.parquet" in names
    assert pl.read_parquet(tmp_path / "out" / "pending_summary.parquet").equals(
        counted.pending_fields.sort(["measure_id", "parameter"]))
    assert counted.manifest["pending_rows"] == "counted"
    from openpyxl import load_workbook

    wb = load_workbook(tmp_path / "out" / "拟兑现名单_2024Q4.xlsx", read_only=True)
    cells = [str(c) for row in wb["待补充信息"].iter_rows(values_only=True) for c in row if c is not None]
    assert any("参数待定汇总" in c for c in cells)
    label = counted.pending_fields["label"][0]
    assert label in cells and not any(c.startswith("param") or "_" in c for c in cells if c == label)
    summary_cells = [str(c) for row in wb["汇总"].iter_rows(values_only=True) for c in row if c is not None]
    assert any("参数尚未确定" in c for c in summary_cells)


def test_default_run_keeps_listing_pending_and_its_run_id(runs):
    listed, _ = runs
    assert "pending_rows" not in listed.manifest


def test_cli_screen_counts_pending_unless_asked_to_list(tmp_path):
    """`huiqi screen` writes pending_summary.parquet and no 参数待定 rows; --list-pending lists them as before."""
    from typer.testing import CliRunner

    from huiqi.data.synthetic import generate, write_parquet
    from huiqi.interfaces.cli import app

    data = tmp_path / "data"
    data.mkdir()
    write_parquet(generate(400, seed=3), data)
    statuses = {}
    for flag in ([], ["--list-pending"]):
        out = tmp_path / f"out{len(flag)}"
        r = CliRunner().invoke(app, ["screen", "--period", "2024Q4", "--data", str(data), "--out", str(out), *flag])
        assert r.exit_code == 0, r.output
        statuses[bool(flag)] = set(read_results(out, ["status"])["status"])
        assert (out / "pending_summary.parquet").exists() is not bool(flag)
    assert "参数待定" in statuses[True] and "参数待定" not in statuses[False]
