"""Issue 9, LIST2: the data files' cheaper gathers write the same bytes (docs/decisions.md LIST2-1…2).

- each entity's first row found without a sort (`_first_rows`) is the row the sort found;
- entities.parquet's groups gathered from the span of rows they read give the reference frames whatever the
  columns' chunks (one per entity type, as the listing makes them, or any other cut);
- write_data_files with 元 set beside the listing's columns reads back as the listing with the 元 column added
  (demo and generated runs), and writes the same bytes whether the listing's columns come whole or in chunks."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huiqi.services import award_list
from huiqi.services.screening import screen
from tests.test_peer3_write_paths import _reference_groups
from tests.test_results_keys import results_frames


def _sorted_firsts(key: pl.Series) -> pl.Series:
    """The writer's first rows before LIST2: first distinct keys, sorted by key."""
    return pl.DataFrame({"key": key}).with_row_index("row").filter(pl.col("key").is_first_distinct()) \
        .sort("key")["row"]


def _chunked(frame: pl.DataFrame, cuts: list[int]) -> pl.DataFrame:
    """The same rows with every column in chunks cut at ``cuts`` (rows), as a listing appended part by part."""
    bounds = sorted({0, *(c % (frame.height + 1) for c in cuts), frame.height})
    parts = [frame.slice(a, b - a) for a, b in zip(bounds, bounds[1:])] or [frame]
    return pl.concat(parts, rechunk=False)


@pytest.fixture(scope="module")
def runs():
    from huiqi.data.synthetic import generate

    demo = generate(2_000, seed=2024)  # `huiqi demo-data`'s seed
    other = generate(1_200, seed=5)
    return [screen(demo, "2024Q4"), screen(demo, "2025Q2", list_pending=False),
            screen(other, "2024Q4", list_pending=False)]


@settings(max_examples=80, deadline=None)
@given(frame=results_frames())
def test_first_rows_are_the_sorted_first_rows(frame):
    key = award_list.entity_keys(frame)
    assert award_list._first_rows(key).to_list() == _sorted_firsts(key).to_list()


@settings(max_examples=60, deadline=None)
@given(keys=st.lists(st.one_of(st.none(), st.integers(0, 30)), max_size=40))
def test_first_rows_of_any_keys(keys):
    """Keys with gaps or nulls (never screening's, which are dense) give the sorted first rows too."""
    key = pl.Series("entity_key", keys, dtype=pl.UInt32)
    assert award_list._first_rows(key).to_list() == _sorted_firsts(key).to_list()


def test_first_rows_of_nothing():
    assert award_list._first_rows(pl.Series("entity_key", [], dtype=pl.UInt32)).to_list() == []


@settings(max_examples=60, deadline=None)
@given(frame=results_frames(), group=st.integers(1, 5), cuts=st.lists(st.integers(0, 60), max_size=4))
def test_entity_groups_from_any_chunks(frame, group, cuts):
    """Columns in any chunks, row groups of any size (a group's span across a chunk boundary included): the
    frames gathered per column from the whole columns."""
    old_group = award_list.RESULTS_ROW_GROUP
    award_list.RESULTS_ROW_GROUP = group  # (hypothesis and function-scoped monkeypatch do not mix)
    try:
        rows = _chunked(frame, cuts)
        key = award_list.entity_keys(rows)
        columns = [rows.get_column(c) for c in award_list.ENTITY_COLUMNS if c in rows.columns]
        firsts = award_list._first_rows(key)
        new = list(award_list._entity_groups(columns, firsts))
        old = list(_reference_groups(columns, _sorted_firsts(key)))
    finally:
        award_list.RESULTS_ROW_GROUP = old_group
    assert len(new) == len(old)
    for a, b in zip(new, old):
        assert a.equals(b)


def _digests(entries: dict) -> list[tuple[str, str]]:
    return [(p.name, e["sha256"]) for p, e in entries.items()]


def test_data_files_read_back_as_the_listing_with_yuan(runs, tmp_path):
    for i, run in enumerate(runs):
        award_list.write_data_files(run, tmp_path / str(i), csv=True)
        expected = run.results.with_columns(
            pl.col("final_fen").map_elements(lambda f: Decimal(f) / 100, return_dtype=pl.Decimal(38, 2))
            .alias("final_yuan"))
        back = award_list.read_results(tmp_path / str(i))
        assert back.columns == expected.columns
        assert back.equals(expected)


@pytest.mark.parametrize("cuts", [[1], [7, 300, 301], [5_000]])
def test_data_files_the_same_bytes_from_chunked_or_whole_columns(runs, tmp_path, cuts):
    """The listing's columns whole (one chunk each) or cut anywhere: the same files, byte for byte."""
    from dataclasses import replace

    for i, run in enumerate(runs):
        whole = replace(run, results=run.results.rechunk(), entity_keys=None)
        cut = replace(run, results=_chunked(run.results, cuts), entity_keys=None)
        a = award_list.write_data_files(whole, tmp_path / f"whole{i}")
        b = award_list.write_data_files(cut, tmp_path / f"cut{i}")
        c = award_list.write_data_files(run, tmp_path / f"run{i}")
        assert _digests(a) == _digests(b) == _digests(c)
        assert hashlib.sha256((tmp_path / f"run{i}" / "entities.parquet").read_bytes()).hexdigest() \
            == dict(_digests(c))["entities.parquet"]
