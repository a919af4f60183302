"""Issue 8: what `huiqi screen` writes — never a half-written set of files (kill -9 at random moments), the same
bytes from Parquet and from the database, and no spreadsheet formula in an exported cell."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from huiqi.services import award_list
from huiqi.services.screening import screen


def write_run(*args, **kw):  # looked up at call time: each test fails on its own on code without it
    return award_list.write_run(*args, **kw)

EVIL = ["=HYPERLINK(\"http://evil\",\"点我\")", "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\r=1+1"]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """1,200 synthetic enterprises as Parquet (and in memory), the first six renamed to formula-looking names."""
    from huiqi.data.synthetic import generate, write_parquet

    tables = generate(1_200, seed=5)
    ent = tables["enterprises"]
    names = ent["name"].to_list()
    names[:len(EVIL)] = EVIL
    tables["enterprises"] = ent.with_columns(pl.Series("name", names))
    d = tmp_path_factory.mktemp("data")
    write_parquet(tables, d)
    return d, tables


@pytest.fixture(scope="module")
def run_q4(small):
    return screen(small[1], "2024Q4")


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def verify_folder(out: Path) -> dict:
    """The folder holds exactly the files its manifest lists, each with the listed size and sha256."""
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    present = sorted(p.name for p in out.iterdir())
    assert present == sorted(["manifest.json", *manifest["files"]]), (present, manifest["files"])
    for name, entry in manifest["files"].items():
        assert (out / name).stat().st_size == entry["bytes"], name
        assert sha(out / name) == entry["sha256"], name
    return manifest


# ------------------------------------------------------------------------------------------- formula injection
def test_results_csv_neutralises_formula_injection(run_q4, tmp_path):
    """Names starting with = + - @ tab CR reach results.csv as text (a leading apostrophe), amounts stay numbers."""
    award_list.write_tables(run_q4, tmp_path, csv=True)
    with (tmp_path / "results.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    names = {r["name"] for r in rows}
    evil_seen = [n for n in names if n.lstrip("'") in EVIL]
    assert evil_seen, "the test data should put at least one formula-looking name into the results"
    for value in (v for r in rows for v in r.values()):
        assert not value or value[0] not in "=+@\t\r" and not (value[0] == "-" and not _number(value)), value
    assert all(not r["final_yuan"].startswith("'") for r in rows)


def _number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def test_award_list_xlsx_writes_formula_names_as_strings(run_q4, tmp_path):
    """XlsxWriter with strings_to_formulas off: read back with openpyxl, no cell is a formula. (The award list
    already had the option; this guards it. The monitoring and simulation workbooks set it too.)"""
    # the names reach the workbooks through the per-enterprise to-do sheets: a county's download and its to-do book
    paths = [award_list.write_excel(run_q4, tmp_path / "拟兑现名单_2024Q4.xlsx", per_enterprise=True),
             *award_list.write_todo_by_county(run_q4, tmp_path / "todo")]
    seen = set()
    for ws in (ws for path in paths for ws in openpyxl.load_workbook(path).worksheets):
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if cell.value in EVIL:
                    assert cell.data_type == "s"
                    seen.add(cell.value)
    assert seen, "a formula-looking name should appear in the workbook as text"


# --------------------------------------------------------------------------------------------- sort key
def test_parquet_and_database_runs_give_byte_identical_result_files(small, tmp_path):
    """Same data from Parquet and from the database, same run ID → the same bytes in every result file."""
    from huiqi.data.store import Store
    from huiqi.data.synthetic import read_parquet

    data_dir, tables = small
    store = Store(f"sqlite:///{tmp_path / 'h.db'}")
    store.create_all()
    store.write_many(tables)
    from_db = store.read_all()
    store.close()
    from_parquet = read_parquet(data_dir)
    # the database returns rows by key; the Parquet files keep the generator's order — a real difference
    assert from_db["enterprises"]["credit_code"].to_list() != from_parquet["enterprises"]["credit_code"].to_list()
    a = screen(from_parquet, "2024Q4")
    b = screen(from_db, "2024Q4")
    assert a.manifest["run_id"] == b.manifest["run_id"]
    for run, d in ((a, tmp_path / "a"), (b, tmp_path / "b")):
        award_list.write_excel(run, d / "拟兑现名单_2024Q4.xlsx")
        award_list.write_tables(run, d, csv=True)
    for name in ("results.parquet", "entities.parquet", "missing_summary.parquet", "results.csv",
                 "拟兑现名单_2024Q4.xlsx", "manifest.json"):
        assert sha(tmp_path / "a" / name) == sha(tmp_path / "b" / name), name
    key = award_list.read_results(tmp_path / "a", ["entity", "measure_id", "entity_id"])
    rank = {"enterprise": 0, "project": 1, "county": 2}
    rows = [(rank[e], m, i) for e, m, i in key.iter_rows()]
    assert rows == sorted(rows)


def test_results_parquet_bytes_do_not_depend_on_how_the_frame_is_chunked(run_q4, tmp_path, monkeypatch):
    """The same results cut into other chunks (Polars' chunking varies run to run at scale) → the same bytes
    (decisions FACTS-7: row groups of a fixed size, not one per chunk)."""
    from dataclasses import replace

    monkeypatch.setattr(award_list, "RESULTS_ROW_GROUP", 1000)  # several groups at this size, as at 1M
    r = run_q4.results
    cuts = [0, 7, 1500, r.height // 2, r.height]
    rechunked = pl.concat([r.slice(a, b - a) for a, b in zip(cuts, cuts[1:])], rechunk=False)
    assert rechunked.n_chunks() > r.rechunk().n_chunks()
    award_list.write_data_files(run_q4, tmp_path / "a")
    award_list.write_data_files(replace(run_q4, results=rechunked), tmp_path / "b")
    for name in ("results.parquet", "entities.parquet"):
        assert sha(tmp_path / "a" / name) == sha(tmp_path / "b" / name), name


# ---------------------------------------------------------------------------------------------- atomic runs
def test_manifest_lists_every_file_with_size_and_sha256(run_q4, tmp_path):
    out = tmp_path / "out"
    files = write_run(run_q4, out, csv=True)
    assert [p.name for p in files] == ["拟兑现名单_2024Q4.xlsx", "results.parquet", "entities.parquet",
                                       "missing_summary.parquet", "results.csv", "manifest.json"]
    assert out.is_symlink()
    assert verify_folder(out)["run_id"] == run_q4.manifest["run_id"]
    # a second run replaces the first as a whole and removes it
    write_run(run_q4, out)
    verify_folder(out)
    runs = [p for p in (tmp_path / ".out.runs").iterdir() if p.name != ".lock"]
    assert len(runs) == 1


def test_screen_replaces_a_plain_out_folder_from_earlier_versions(run_q4, tmp_path):
    """An `out/` folder written by an earlier version is moved aside; one with a file of the user's is kept."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text(json.dumps({"period": "2024Q3"}), encoding="utf-8")
    (out / "results.csv").write_text("x\n", encoding="utf-8")
    (out / "我的笔记.txt").write_text("不要删", encoding="utf-8")
    notes = []
    write_run(run_q4, out, notice=notes.append)
    verify_folder(out)
    kept = [p for p in (tmp_path / ".out.runs").glob("legacy-*")]
    assert len(kept) == 1 and (kept[0] / "我的笔记.txt").read_text(encoding="utf-8") == "不要删"
    assert any("保留" in n for n in notes)
    assert award_list.manifest_files(out) == {"manifest.json", "results.parquet", "entities.parquet",
                                              "missing_summary.parquet", "拟兑现名单_2024Q4.xlsx"}


def test_screen_cleans_up_leftovers_of_killed_runs(run_q4, tmp_path):
    out = tmp_path / "out"
    write_run(run_q4, out)
    store = tmp_path / ".out.runs"
    half = store / "run-20260101T000000-dead00"
    half.mkdir()
    (half / "拟兑现名单_2024Q4.xlsx").write_bytes(b"")
    (tmp_path / ".out.link-deadbeef").symlink_to(half.name)
    write_run(run_q4, out)
    assert not half.exists() and not (tmp_path / ".out.link-deadbeef").exists()
    verify_folder(out)


def test_screen_killed_at_random_moments_leaves_a_complete_run(small, tmp_path):
    """kill -9 of a real `huiqi screen` at 10 random moments: the output folder is always the previous complete run
    or the new one (every file checked against the manifest's hashes), never a mix. Runs alternate between two
    periods, so a mix would show as two workbooks or a hash mismatch."""
    data_dir, _ = small
    out = tmp_path / "out"
    cmd = [sys.executable, "-c", "from huiqi.interfaces.cli import main; main()", "screen", "--data", str(data_dir), "--out", str(out)]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    started = time.perf_counter()
    subprocess.run([*cmd, "--period", "2024Q3"], check=True, env=env, capture_output=True)
    full = time.perf_counter() - started
    previous = verify_folder(out)
    assert previous["period"] == "2024Q3"
    rng = random.Random(8)
    periods = ["2024Q4", "2024Q3"]
    store = tmp_path / ".out.runs"
    outcomes, while_writing = [], 0
    for i in range(10):
        period = periods[i % 2]
        before = set(store.iterdir())
        proc = subprocess.Popen([*cmd, "--period", period], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        if i % 2 == 0:  # any moment: startup, screening, writing, publishing
            time.sleep(rng.uniform(0.1, 1.1) * full)
        else:  # a moment while the files are being written: once the run's folder appears
            deadline = time.perf_counter() + 3 * full + 10
            while not (set(store.iterdir()) - before) and proc.poll() is None and time.perf_counter() < deadline:
                time.sleep(0.005)
            time.sleep(rng.uniform(0, 0.5))
        writing = bool(set(store.iterdir()) - before) and proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        while_writing += writing
        manifest = verify_folder(out)
        assert manifest["period"] in (previous["period"], period)
        outcomes.append(manifest["period"] == period and manifest["period"] != previous["period"])
        previous = manifest
    assert while_writing, "no kill landed while the files were being written"
    # leftovers of the killed runs are cleaned at the next run
    subprocess.run([*cmd, "--period", "2024Q4"], check=True, env=env, capture_output=True)
    verify_folder(out)
    assert [p.name for p in (tmp_path / ".out.runs").iterdir() if p.name != ".lock"] == [os.readlink(out).split("/")[-1]]
    print(f"one run {full:.1f} s; kills while writing: {while_writing}/10; after the swap: {sum(outcomes)}/10")


# ------------------------------------------------------------------------------------------------ demo data
def test_demo_data_killed_half_way_leaves_no_half_written_data(tmp_path):
    """`huiqi demo-data` wrote table after table into var/demo: killed after enterprises.parquet, run.sh (which
    checks that file) served a demo without indicators for ever. Now the tables appear together or not at all."""
    from huiqi.core.atomic import fresh_dir

    out = tmp_path / "demo"
    owned = lambda name: name.endswith(".parquet")  # noqa: E731
    with fresh_dir(out, owned) as d:
        (d / "enterprises.parquet").write_text("v1")
        (d / "indicators.parquet").write_text("v1")
    with pytest.raises(KeyboardInterrupt):
        with fresh_dir(out, owned) as d:
            (d / "enterprises.parquet").write_text("v2")
            raise KeyboardInterrupt  # killed before indicators.parquet
    assert {p.name: p.read_text() for p in out.iterdir()} == {"enterprises.parquet": "v1", "indicators.parquet": "v1"}
    # killed between the two renames: the next run puts the previous data back first
    os.rename(out, tmp_path / ".demo.old-dead")
    with fresh_dir(out, owned) as d:
        assert (out / "indicators.parquet").read_text() == "v1"
        (d / "enterprises.parquet").write_text("v3")
    assert [p.name for p in out.iterdir()] == ["enterprises.parquet"]
    assert not list(tmp_path.glob(".demo.*"))
    # a folder with someone else's file: that file is kept, the tables replaced one by one
    (out / "说明.txt").write_text("mine")
    with fresh_dir(out, owned) as d:
        (d / "enterprises.parquet").write_text("v4")
    assert (out / "说明.txt").read_text() == "mine" and (out / "enterprises.parquet").read_text() == "v4"


def test_every_workbook_writer_turns_formula_strings_off():
    """Each XlsxWriter workbook the product writes is opened with strings_to_formulas off."""
    import re as _re

    root = Path(__file__).resolve().parents[1] / "huiqi"
    calls = [(p, m.group(0)) for p in root.rglob("*.py")
             for m in _re.finditer(r"xlsxwriter\.Workbook\(.*?\}\)", p.read_text(encoding="utf-8"), _re.S)]
    assert calls
    for path, call in calls:
        assert '"strings_to_formulas": False' in call, (path, call)


def test_a_runs_files_in_a_data_folder_are_not_data(small, run_q4, tmp_path):
    """`huiqi screen --out` may write into the data folder itself. Every Parquet file a run writes is named in
    RUN_OUTPUT_STEMS, so the snapshot hash and the tables the CLI loads are the same with or without them."""
    import shutil

    from huiqi.interfaces.cli_common import load_tables
    from huiqi.services.screening import RUN_OUTPUT_STEMS, directory_hash

    data = tmp_path / "data"
    shutil.copytree(small[0], data)
    (data / "indicator_panel.parquet").write_bytes(b"")  # the panel layout's loader: every *.parquet is a table
    before, loaded = directory_hash(data), sorted(load_tables(data, None, scan=("indicator_panel",)))
    written = award_list.write_data_files(run_q4, data, csv=True)
    assert {p.stem for p in written if p.suffix == ".parquet"} <= RUN_OUTPUT_STEMS
    assert directory_hash(data) == before
    assert sorted(load_tables(data, None, scan=("indicator_panel",))) == loaded
