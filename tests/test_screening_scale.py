"""Screening internals at scale: 待补充信息 summarised per measure and missing field (issue 9)."""

import polars as pl
import pytest

from huiqi.services.screening import screen


@pytest.fixture(scope="module")
def run():
    from huiqi.data.synthetic import generate

    return screen(generate(1_500, seed=13), "2024Q4")


def test_missing_summary_counts_the_rows_that_name_the_field(run):
    """The summary says as much as the per-row 待补充信息 text, in one row per (measure, field)."""
    summary = run.missing_fields
    assert summary is not None and summary.height > 0
    missing = run.results.filter(pl.col("status") == "待补充信息")
    for mid, label, source, n in summary.select("measure_id", "label", "source", "entities").iter_rows():
        text = f"{label}（来源：{source or '—'}）"
        # whole items of the "；"-joined text: 全年工业总产值 is also the tail of 上年全年工业总产值
        rows = missing.filter((pl.col("measure_id") == mid) & pl.col("missing").str.split("；").list.contains(text))
        assert rows.height == n, (mid, label)


def test_every_missing_row_is_summarised(run):
    missing = run.results.filter((pl.col("status") == "待补充信息") & (pl.col("missing") != ""))
    assert set(missing["measure_id"].unique()) <= set(run.missing_fields["measure_id"].unique())
