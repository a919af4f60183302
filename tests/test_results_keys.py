"""Issue 9 item 1: results.parquet keyed by an integer ``entity_key``, the names, codes and places once per entity in
entities.parquet (docs/decisions.md KEYS-1…). ``award_list.read_results`` gives every reader the frame the
earlier single file held — from the keyed files and from a folder of an earlier version alike."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huiqi.services import award_list
from huiqi.services.award_list import ENTITIES, RESULTS, read_results, write_results
from huiqi.services.screening import screen


def old_format(run, folder: Path) -> Path:
    """results.parquet as the writer before KEYS wrote it (names inline): the test's reference."""
    folder.mkdir(parents=True, exist_ok=True)
    frame = award_list.sort_results(run.results).with_columns(
        (pl.col("final_fen").cast(pl.Decimal(38, 2)) / 100).alias("final_yuan"))
    frame.write_parquet(folder / RESULTS, statistics=False)
    return folder / RESULTS


@pytest.fixture(scope="module")
def demo_runs():
    from huiqi.data.synthetic import generate

    demo = generate(3_000, seed=2024)  # `huiqi demo-data`'s seed
    other = generate(1_500, seed=11)
    return {"demo 2024Q4": screen(demo, "2024Q4"),
            "demo 2024Q4 counted": screen(demo, "2024Q4", list_pending=False),
            "demo 2023Q4": screen(demo, "2023Q4"),
            "generated 2024Q4": screen(other, "2024Q4", list_pending=False)}


@pytest.fixture(scope="module", params=["demo 2024Q4", "demo 2024Q4 counted", "demo 2023Q4", "generated 2024Q4"])
def written(request, demo_runs, tmp_path_factory):
    """(run, folder of the keyed files, the old-format results.parquet of the same run)."""
    run = demo_runs[request.param]
    folder = tmp_path_factory.mktemp("keys")
    award_list.write_data_files(run, folder / "new")
    return run, folder / "new", old_format(run, folder / "old")


def test_keyed_files_read_back_to_the_old_frame(written):
    _run, new, old = written
    reference = pl.read_parquet(old)
    assert reference.height > 0
    joined = read_results(new)
    assert joined.schema == reference.schema  # the same columns, in the same order, of the same types
    assert joined.equals(reference)
    assert read_results(new / RESULTS).equals(reference)  # the file's path as well as its folder


def test_old_format_folder_reads_as_it_is(written):
    _run, new, old = written
    assert read_results(old.parent).equals(pl.read_parquet(old))
    assert read_results(old.parent).equals(read_results(new))


@pytest.mark.parametrize("columns", [["entity_id", "measure_id", "final_fen"], ["status"],
                                     ["credit_code", "measure_id", "status", "final_fen"],
                                     ["reason", "name", "entity", "county_name"]])
def test_some_columns_in_the_order_asked(written, columns):
    _run, new, old = written
    assert read_results(new, columns).equals(pl.read_parquet(old, columns=columns).select(columns))


def test_the_keyed_files(written):
    """results.parquet holds no name or code; entities.parquet one row per entity, key = row number, in the
    documented order (entity type, then entity ID); the repeated strings are dictionary-encoded."""
    run, new, _old = written
    rows, entities = pl.read_parquet(new / RESULTS), pl.read_parquet(new / ENTITIES)
    assert rows.schema["entity_key"] == pl.UInt32 and entities.schema["entity_key"] == pl.UInt32
    assert not set(award_list.ENTITY_COLUMNS) & set(rows.columns)
    assert entities["entity_key"].to_list() == list(range(entities.height))
    assert entities.select("entity", "entity_id").is_unique().all()
    rank = {"enterprise": 0, "project": 1, "county": 2}
    order = [(rank[e], i) for e, i in entities.select("entity", "entity_id").iter_rows()]
    assert order == sorted(order)
    assert entities.height == run.results.select("entity", "entity_id").n_unique()  # only entities with rows
    meta = pq.ParquetFile(new / RESULTS).metadata
    group = meta.row_group(0)
    for i in range(group.num_columns):
        column = group.column(i)
        if column.path_in_schema in ("measure_id", "status", "missing", "reason", "allocation_note"):
            assert "RLE_DICTIONARY" in column.encodings, column.path_in_schema
        if column.path_in_schema == "entity_key":  # rising within a measure: small deltas (KEYS-2)
            assert "DELTA_BINARY_PACKED" in column.encodings


def test_keyed_results_are_smaller(written):
    _run, new, old = written
    assert (new / RESULTS).stat().st_size < old.stat().st_size / 2


# ------------------------------------------------------------------------------ keys carried from screening
def test_screening_carries_the_keys_the_writer_would_rank(demo_runs):
    """MERGE5-4: a screening run carries its rows' entity keys from its own integer order; they are exactly what
    entity_keys ranks (demo periods, with and without 参数待定 rows, generated data, projects included)."""
    for name, run in demo_runs.items():
        assert run.entity_keys is not None, name
        frame, keys = run.entity_keys
        assert frame is run.results
        assert keys.equals(award_list.entity_keys(run.results)), name
    assert "project" in set(demo_runs["demo 2024Q4"].results["entity"])


def test_keys_of_another_frame_are_not_used(demo_runs, tmp_path):
    """A run whose results were replaced (a county's list: dataclasses.replace) writes the keys of its own rows."""
    from dataclasses import replace

    run = demo_runs["demo 2024Q4"]
    county = run.results["county_code"].drop_nulls()[0]
    scoped = replace(run, results=run.results.filter(pl.col("county_code") == county))
    award_list.write_data_files(scoped, tmp_path / "carried")
    award_list.write_data_files(replace(scoped, entity_keys=None), tmp_path / "ranked")
    for name in (RESULTS, ENTITIES):
        assert (tmp_path / "carried" / name).read_bytes() == (tmp_path / "ranked" / name).read_bytes()
    full = award_list.write_data_files(run, tmp_path / "full")
    again = award_list.write_data_files(replace(run, entity_keys=None), tmp_path / "full-ranked")
    assert [e["sha256"] for e in full.values()] == [e["sha256"] for e in again.values()]


# ------------------------------------------------------------------------------------------- properties
ENTITY = st.sampled_from(["enterprise", "project", "county"])
TEXT = st.one_of(st.none(), st.text(alphabet="南宁柳州=+ 0123abc", max_size=6))


@st.composite
def results_frames(draw):
    """Result rows of a few entities in any order: each entity's describing columns the same on all its rows
    (as screening makes them), nulls and formula-looking names included."""
    n = draw(st.integers(1, 12))
    ids = draw(st.lists(st.tuples(ENTITY, st.text(alphabet="0123456789AB", min_size=1, max_size=4)),
                        min_size=n, max_size=n, unique=True))
    described = {k: {"name": draw(TEXT), "credit_code": draw(TEXT), "county_code": draw(TEXT),
                     "county_name": draw(TEXT), "city_name": draw(TEXT), "sector": draw(TEXT)} for k in ids}
    picks = draw(st.lists(st.tuples(st.sampled_from(ids), st.sampled_from(["m1", "m2", "gx-3"]),
                                    st.sampled_from(["符合", "待补充信息", "参数待定"]),
                                    st.one_of(st.none(), st.integers(-10**12, 10**12)), TEXT),
                          min_size=1, max_size=40))
    rows = [{"entity_id": k[1], **described[k], "measure_id": m, "status": s, "final_fen": f, "entity": k[0],
             "missing": t, "reason": t} for k, m, s, f, t in picks]
    schema = {"entity_id": pl.String, "name": pl.String, "credit_code": pl.String, "county_code": pl.String,
              "county_name": pl.String, "city_name": pl.String, "sector": pl.String, "measure_id": pl.String,
              "status": pl.String, "final_fen": pl.Int64, "entity": pl.String, "missing": pl.String,
              "reason": pl.String}
    return pl.DataFrame(rows, schema=schema)


def _write_read(frame: pl.DataFrame, folder: Path) -> pl.DataFrame:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    write_results(frame, folder)
    return read_results(folder)


@settings(max_examples=60, deadline=None)
@given(frame=results_frames(), cut=st.integers(0, 40))
def test_any_results_read_back_equal(tmp_path_factory, frame, cut):
    folder = tmp_path_factory.mktemp("prop")
    assert _write_read(frame, folder / "a").equals(frame)
    # the keys belong to the entities, not to the rows' order or chunks: shuffled and re-cut, the same entity
    # gets the same key, and the entity table the same bytes
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=cut)
    shuffled = pl.concat([shuffled.slice(0, cut), shuffled.slice(cut)], rechunk=False)
    assert _write_read(shuffled, folder / "b").equals(shuffled)
    keys = [pl.read_parquet(folder / d / ENTITIES).select("entity", "entity_id", "entity_key").sort("entity_key")
            for d in ("a", "b")]
    assert keys[0].equals(keys[1])
    digest = [hashlib.sha256((folder / d / ENTITIES).read_bytes()).hexdigest() for d in ("a", "b")]
    assert digest[0] == digest[1]


def test_the_same_results_give_the_same_bytes(written, tmp_path):
    run, new, _old = written
    award_list.write_data_files(run, tmp_path / "again")
    for name in (RESULTS, ENTITIES):
        assert (tmp_path / "again" / name).read_bytes() == (new / name).read_bytes(), name


def test_a_frame_without_entity_ids_is_written_whole(tmp_path):
    frame = pl.DataFrame({"measure_id": ["m1"], "final_fen": [5]})
    assert write_results(frame, tmp_path) == [tmp_path / RESULTS]
    assert read_results(tmp_path).equals(frame)


# ------------------------------------------------------------------------------------------- bad input
def test_missing_entities_file_is_refused_in_words(written, tmp_path):
    _run, new, _old = written
    shutil.copy(new / RESULTS, tmp_path / RESULTS)
    with pytest.raises(ValueError, match="缺少.*entities.parquet"):
        read_results(tmp_path)
    # the amounts alone need no names: a --prior file without its entity table still sums
    assert read_results(tmp_path, ["measure_id", "final_fen"]).height == pl.read_parquet(new / RESULTS).height


def test_entities_of_another_run_are_refused(written, demo_runs, tmp_path):
    _run, new, _old = written
    shutil.copy(new / RESULTS, tmp_path / RESULTS)
    pl.read_parquet(new / ENTITIES).head(3).write_parquet(tmp_path / ENTITIES)
    with pytest.raises(ValueError, match="不是同一次筛查"):
        read_results(tmp_path)
    shuffled = pl.read_parquet(new / ENTITIES).reverse()
    shuffled.write_parquet(tmp_path / ENTITIES)
    with pytest.raises(ValueError, match="不是同一次筛查"):
        read_results(tmp_path)


def test_unknown_column_is_refused(written):
    _run, new, _old = written
    with pytest.raises(ValueError, match="没有这些列：no_such"):
        read_results(new, ["entity_id", "no_such"])


@pytest.mark.parametrize("case", ["garbage bytes", "empty folder", "a data table", "entities of another table",
                                  "an old file without the columns"])
def test_what_is_not_a_results_file_is_refused_in_words(written, tmp_path, case):
    """Never the Parquet reader's own (English) message: the web and `--prior` show this text to an officer."""
    _run, new, _old = written
    folder = tmp_path / "f"
    folder.mkdir()
    if case == "garbage bytes":
        (folder / RESULTS).write_bytes(b"PAR1\x00\x00not parquet")
    elif case == "a data table":
        pl.DataFrame({"credit_code": ["91450100MA5K000001"], "name": ["某公司"]}).write_parquet(folder / RESULTS)
    elif case == "entities of another table":
        shutil.copy(new / RESULTS, folder / RESULTS)
        pl.DataFrame({"credit_code": ["91450100MA5K000001"]}).write_parquet(folder / ENTITIES)
    elif case == "an old file without the columns":
        pl.DataFrame({"entity_id": ["a"], "measure_id": ["m"]}).write_parquet(folder / RESULTS)
    with pytest.raises(ValueError) as refused:
        read_results(folder, ["entity_id", "measure_id", "final_fen"])
    text = str(refused.value)
    assert "筛查结果文件" in text and not any(w in text for w in ("error", "column", "os error", "PAR1"))


# ---------------------------------------------------------------------------------------- huiqi screen
@pytest.fixture(scope="module")
def q1_out(tmp_path_factory):
    """A small data folder and `huiqi screen` of its 2023Q1 (the year's first quarter, read by 2023Q2's caps)."""
    from typer.testing import CliRunner

    from huiqi.data.synthetic import generate, write_parquet
    from huiqi.interfaces.cli import app

    base = tmp_path_factory.mktemp("cli")
    write_parquet(generate(800, seed=3), base / "data")
    r = CliRunner().invoke(app, ["screen", "--period", "2023Q1", "--data", str(base / "data"), "--out",
                                 str(base / "q1"), "--param", "gx2023_02_rate=0.01", "--param", "gx2023_03_rate=0.01"])
    assert r.exit_code == 0, r.output
    return base


def _screen_q2(base: Path, prior: Path):
    import json

    from typer.testing import CliRunner

    from huiqi.interfaces.cli import app

    out = base / f"q2-{hashlib.sha256(str(prior).encode()).hexdigest()[:8]}"
    r = CliRunner().invoke(app, ["screen", "--period", "2023Q2", "--data", str(base / "data"), "--out", str(out),
                                 "--param", "gx2023_02_rate=0.01", "--param", "gx2023_03_rate=0.01",
                                 "--prior", str(prior)])
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8")) if r.exit_code == 0 else None
    return r, manifest


def test_prior_from_new_and_old_format_gives_the_same_run(q1_out):
    q1 = q1_out / "q1"
    assert (q1 / ENTITIES).exists()
    assert read_results(q1, ["final_fen"])["final_fen"].sum() > 0  # Q1 paid: the caps have something to read
    old = q1_out / "q1-old"
    old.mkdir()
    read_results(q1).write_parquet(old / RESULTS)  # what an earlier version's folder holds: names inline
    runs = {name: _screen_q2(q1_out, path) for name, path in
            {"folder": q1, "file": q1 / RESULTS, "old file": old / RESULTS}.items()}
    for name, (r, _m) in runs.items():
        assert r.exit_code == 0, (name, r.output)
    manifests = [m for _r, m in runs.values()]
    assert manifests[0]["prior_awards_hash"] is not None
    assert {m["run_id"] for m in manifests} == {manifests[0]["run_id"]}
    frames = [read_results(q1_out / f"q2-{hashlib.sha256(str(p).encode()).hexdigest()[:8]}")
              for p in (q1, q1 / RESULTS, old / RESULTS)]
    assert frames[0].equals(frames[1]) and frames[0].equals(frames[2])


def test_prior_that_cannot_be_read_is_refused_in_words(q1_out, tmp_path):
    lone = tmp_path / "lone"
    lone.mkdir()
    (lone / RESULTS).write_bytes(b"not parquet")
    r, _ = _screen_q2(q1_out, lone / RESULTS)
    assert r.exit_code != 0
    assert "--prior 无法读取" in r.output and "Traceback" not in r.output
    r, _ = _screen_q2(q1_out, tmp_path / "nowhere" / RESULTS)
    assert r.exit_code != 0 and "不存在" in r.output
