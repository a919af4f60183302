"""Issue 9, PEER3: the result files' faster paths give the same bytes (docs/decisions.md PEER3-1…3).

- the order check on screening's carried integer keys decides as the check on the ID strings;
- entities.parquet's row groups gathered a frame at a time, the next one ahead, write the bytes the per-column
  gathers wrote (several row groups, the empty table, an error in a group);
- `huiqi screen` with the register and the projects scanned writes the same files as with them read whole, and
  still refuses an empty register in words."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from huiqi.interfaces import cli_common
from huiqi.services import award_list
from huiqi.services.screening import screen
from tests.test_results_keys import results_frames
from tests.synthetic_dirs import panel_directory


@pytest.fixture(scope="module")
def runs():
    from huiqi.data.synthetic import generate

    demo = generate(3_000, seed=2024)  # `huiqi demo-data`'s seed
    other = generate(1_500, seed=11)
    return [screen(demo, "2024Q4"), screen(demo, "2023Q4", list_pending=False),
            screen(demo, "2026Q3", explain=False, list_pending=False), screen(other, "2024Q4", list_pending=False),
            screen(demo, "2024Q4", measures=["gx2024q4-21", "gx2024q4-22a", "gx2024q4-22b"], explain=False)]


# -------------------------------------------------------------------------------------------- the order check
def test_carried_keys_check_the_order_as_the_ids_do(runs):
    for run in runs:
        assert run.entity_keys is not None and run.entity_keys[0] is run.results
        key = run.entity_keys[1]
        assert award_list.sort_results(run.results, key) is run.results  # a screening run is in order
        # rows out of order (two rows of one measure swapped): found on the keys too, and sorted as without them
        swapped = pl.concat([run.results[1:2], run.results[0:1], run.results[2:]])
        swapped_key = pl.concat([key[1:2], key[0:1], key[2:]])
        assert award_list.sort_results(swapped, swapped_key).equals(award_list.sort_results(swapped))
        assert award_list.sort_results(swapped, swapped_key) is not swapped


@settings(max_examples=80, deadline=None)
@given(frame=results_frames(), seed=st.integers(0, 2**32 - 1))
def test_the_key_check_decides_as_the_string_check(frame, seed):
    """On any rows (entities of every type, repeated, any order), in order or shuffled: the check on the keys
    entity_keys gives says "in order" exactly when the check on the IDs does, and the sorted rows are the same."""
    for rows in (frame, award_list.sort_results(frame), frame.sample(fraction=1.0, shuffle=True, seed=seed)):
        key = award_list.entity_keys(rows)
        by_key, by_id = award_list.sort_results(rows, key), award_list.sort_results(rows)
        assert (by_key is rows) == (by_id is rows)
        assert by_key.equals(by_id)


def test_a_key_of_another_length_is_not_used(runs):
    run = runs[0]
    shuffled = run.results.reverse()
    short = run.entity_keys[1][:-1]
    assert award_list.sort_results(shuffled, short).equals(award_list.sort_results(shuffled))


# -------------------------------------------------------------------------------------------- entities.parquet
def _reference_groups(columns: list[pl.Series], firsts: pl.Series):
    """entities.parquet's row groups as the writer before PEER3 built them: each column gathered as a Series."""
    for start in range(0, max(len(firsts), 1), award_list.RESULTS_ROW_GROUP):
        rows = firsts.slice(start, award_list.RESULTS_ROW_GROUP)
        yield pl.DataFrame([pl.int_range(start, start + len(rows), dtype=pl.UInt32, eager=True).alias("entity_key"),
                            *(c.gather(rows) for c in columns)])


def _entity_files(results: pl.DataFrame, folder: Path) -> tuple[bytes, bytes]:
    key = award_list.entity_keys(results)
    firsts = pl.DataFrame({"key": key}).with_row_index("row").filter(pl.col("key").is_first_distinct()) \
        .sort("key")["row"]
    columns = [results.get_column(c) for c in award_list.ENTITY_COLUMNS if c in results.columns]
    folder.mkdir(parents=True, exist_ok=True)
    award_list._write_parquet(award_list._entity_groups(columns, firsts), folder / "new.parquet")
    award_list._write_parquet(_reference_groups(columns, firsts), folder / "old.parquet")
    return (folder / "new.parquet").read_bytes(), (folder / "old.parquet").read_bytes()


@pytest.mark.parametrize("group", [award_list.RESULTS_ROW_GROUP, 97, 1])
def test_entity_groups_write_the_reference_bytes(runs, tmp_path, monkeypatch, group):
    """Demo and generated runs, in one row group and in many (the next group gathered ahead of each)."""
    monkeypatch.setattr(award_list, "RESULTS_ROW_GROUP", group)
    for i, run in enumerate(runs[:2] if group == 1 else runs):
        new, old = _entity_files(run.results, tmp_path / str(i))
        assert new == old


@settings(max_examples=40, deadline=None)
@given(frame=results_frames(), group=st.integers(1, 5))
def test_entity_groups_on_any_rows(tmp_path_factory, frame, group):
    old_group = award_list.RESULTS_ROW_GROUP
    award_list.RESULTS_ROW_GROUP = group  # (hypothesis and function-scoped monkeypatch do not mix)
    try:
        new, old = _entity_files(frame, tmp_path_factory.mktemp("groups"))
    finally:
        award_list.RESULTS_ROW_GROUP = old_group
    assert new == old


def test_no_entities_still_write_a_file(tmp_path):
    empty = pl.DataFrame(schema={"entity_id": pl.String, "name": pl.String, "measure_id": pl.String})
    new, old = _entity_files(empty, tmp_path)
    assert new == old


def test_ahead_keeps_the_order_and_passes_errors_on():
    frames = [pl.DataFrame({"x": [i]}) for i in range(5)]
    assert [f["x"][0] for f in award_list._ahead(iter(frames))] == list(range(5))
    assert list(award_list._ahead(iter([]))) == []

    def failing():
        yield frames[0]
        raise ValueError("组内出错")

    with pytest.raises(ValueError, match="组内出错"):
        list(award_list._ahead(failing()))


def test_full_runs_write_the_same_files_as_the_reference_writer(runs, tmp_path, monkeypatch):
    """write_data_files as a whole (carried keys, the order check on them, the groups ahead) against the same
    writer with the reference gathers and the string order check: every file the same sha256."""
    for i, run in enumerate(runs):
        new = award_list.write_data_files(run, tmp_path / f"new{i}")
        with monkeypatch.context() as m:
            m.setattr(award_list, "_entity_groups", _reference_groups)
            plain = award_list.sort_results
            m.setattr(award_list, "sort_results", lambda results, key=None: plain(results))
            old = award_list.write_data_files(run, tmp_path / f"old{i}")
        assert [(p.name, e) for p, e in new.items()] == [(p.name, e) for p, e in old.items()]


# -------------------------------------------------------------------------------------------- the CLI's scans
@pytest.fixture(scope="module")
def panel_dir(tmp_path_factory):
    return panel_directory(tmp_path_factory.mktemp("panel"), 600, seed=7)


def test_screen_reads_the_register_and_projects_as_scans(panel_dir):
    assert {"enterprises", "projects"} <= set(cli_common.SCREEN_SCANS)
    tables = cli_common.load_tables(panel_dir, None, scan=cli_common.SCREEN_SCANS)
    assert isinstance(tables["enterprises"], pl.LazyFrame) and isinstance(tables["projects"], pl.LazyFrame)
    assert cli_common.has_rows(tables["enterprises"]) and cli_common.has_rows(tables["enterprises"].collect())
    assert not cli_common.has_rows(pl.DataFrame({"a": []})) and not cli_common.has_rows(pl.LazyFrame({"a": []}))


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.mark.parametrize("measures", [None, "gx2024q4-21,gx2024q4-22a,gx2024q4-22b"])
def test_cli_writes_the_same_files_with_the_tables_scanned(panel_dir, tmp_path, monkeypatch, measures):
    from huiqi.interfaces import cli

    def run(out: Path) -> dict[str, str]:
        args = ["screen", "--period", "2024Q4", "--data", str(panel_dir), "--out", str(out)]
        result = CliRunner().invoke(cli.app, args + (["--measures", measures] if measures else []))
        assert result.exit_code == 0, result.output
        return _digests(out)

    scanned = run(tmp_path / "scanned")
    monkeypatch.setattr(cli, "SCREEN_SCANS", tuple(t for t in cli_common.SCREEN_SCANS
                                                   if t not in ("enterprises", "projects")))
    assert run(tmp_path / "read") == scanned


def test_cli_refuses_an_empty_register_in_words(panel_dir, tmp_path):
    import shutil

    from huiqi.interfaces import cli

    data = tmp_path / "data"
    shutil.copytree(panel_dir, data)
    pl.read_parquet(data / "enterprises.parquet").clear().write_parquet(data / "enterprises.parquet")
    result = CliRunner().invoke(cli.app, ["screen", "--period", "2024Q4", "--data", str(data),
                                          "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "没有企业数据" in result.output


def test_import_in_background_loads_the_module_and_ignores_a_missing_one():
    import sys
    import threading

    sys.modules.pop("colorsys", None)
    cli_common.import_in_background("no_such_module_huiqi", "colorsys")  # the missing one stops the thread quietly
    cli_common.import_in_background("colorsys")
    for thread in [t for t in threading.enumerate() if t.name == "huiqi-imports"]:
        thread.join(timeout=30)
    assert "colorsys" in sys.modules
