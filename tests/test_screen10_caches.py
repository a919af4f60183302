"""SCREEN10: what a run over an unchanged register reads back from the user's cache instead of computing again —
entities.parquet (copied when an earlier run wrote an equal entity table) and the listing's entity order (the rank
of a register's IDs). Both must give exactly what computing afresh gives: the same ranks, the same file bytes;
a damaged cache entry is computed afresh, and ``HUIQI_CACHE_DIR=off`` computes as before."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huiqi.services import award_list, entity_file_cache, entity_order_cache, screening
from huiqi.services.award_list import ENTITIES, RESULTS, write_results

ASCII_IDS = st.one_of(st.sampled_from(["91450100MA5K", "91450100MA5K0", "b", "a", "2024-45", ""]),
                      st.text(st.characters(min_codepoint=1, max_codepoint=127), max_size=40),
                      st.text(max_size=4))


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("HUIQI_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(entity_order_cache, "SMALLEST", 0)  # small frames cached too
    return tmp_path / "cache"


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


# --- the entity order ---------------------------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(ASCII_IDS, st.booleans()), max_size=80))
def test_the_listed_rows_rank_from_the_whole_rank_is_the_rank_of_their_ids_alone(rows):
    ids = pl.Series([i for i, _ in rows], dtype=pl.String)
    listed = pl.Series([k for k, (_, on) in enumerate(rows) if on], dtype=pl.UInt32)
    expected = pl.zeros(len(ids), dtype=pl.UInt32, eager=True).scatter(
        listed, screening.entity_order(ids.gather(listed)))
    assert entity_order_cache.subset_order(screening.entity_order(ids), listed).to_list() == expected.to_list()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(ASCII_IDS, st.booleans()), min_size=1, max_size=60))
def test_listed_order_with_the_cache_is_listed_order_without_it(tmp_path_factory, rows):
    ids = pl.Series([i for i, _ in rows], dtype=pl.String)
    listed = pl.Series([k for k, (_, on) in enumerate(rows) if on], dtype=pl.UInt32)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HUIQI_CACHE_DIR", "off")
        expected = screening.listed_order(ids, listed).to_list()
        mp.setenv("HUIQI_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        mp.setattr(entity_order_cache, "SMALLEST", 0)
        cold = screening.listed_order(ids, listed).to_list()  # ranked and stored
        warm = screening.listed_order(ids, listed).to_list()  # read back
    assert cold == warm == expected


def test_a_rank_is_stored_once_and_read_back_and_another_register_ranks_afresh(cache):
    ids = pl.Series([f"9145{k * 7919 % 1000:06d}" for k in range(1000)])
    calls = []

    def rank(s):
        calls.append(len(s))
        return screening.entity_order(s)

    first = entity_order_cache.remembered(ids, rank)
    again = entity_order_cache.remembered(ids, rank)
    assert calls == [1000] and again.to_list() == first.to_list() == screening.entity_order(ids).to_list()
    other = ids.reverse()  # the same codes in another row order: another register
    assert entity_order_cache.remembered(other, rank).to_list() == screening.entity_order(other).to_list()
    assert calls == [1000, 1000] and len(list((cache / "orders").glob("*.u32"))) == 2


def test_a_damaged_rank_file_is_ranked_afresh(cache):
    ids = pl.Series([f"C{k * 37 % 101:04d}" for k in range(101)])
    entity_order_cache.remembered(ids, screening.entity_order)
    (stored,) = (cache / "orders").glob("*.u32")
    data = bytearray(stored.read_bytes())
    data[0], data[4] = data[4], data[0]  # still a permutation, not the one stored
    stored.write_bytes(bytes(data))
    assert entity_order_cache.remembered(ids, screening.entity_order).to_list() == \
        screening.entity_order(ids).to_list()


def test_no_cache_for_null_ids_small_frames_or_when_turned_off(cache, monkeypatch):
    assert entity_order_cache.remembered(pl.Series(["a", None]), screening.entity_order) is None
    monkeypatch.setattr(entity_order_cache, "SMALLEST", 50_000)
    assert entity_order_cache.remembered(pl.Series(["b", "a"]), screening.entity_order) is None
    monkeypatch.setattr(entity_order_cache, "SMALLEST", 0)
    monkeypatch.setenv("HUIQI_CACHE_DIR", "off")
    assert entity_order_cache.remembered(pl.Series(["b", "a"]), screening.entity_order) is None


def test_the_cache_keeps_only_the_most_recent_ranks(cache, monkeypatch):
    monkeypatch.setattr(entity_order_cache, "KEEP", 2)
    for k in range(4):
        entity_order_cache.remembered(pl.Series([f"{k}-{j}" for j in range(5)]), screening.entity_order)
    assert len(list((cache / "orders").glob("*.u32"))) == 2


# --- entities.parquet ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def runs():
    from huiqi.data.synthetic import generate

    demo = generate(3_000, seed=2024)  # `huiqi demo-data`'s seed
    return {"demo 2024Q4": screening.screen(demo, "2024Q4"),
            "demo 2023Q4": screening.screen(demo, "2023Q4", list_pending=False),
            "generated 2024Q4": screening.screen(generate(1_500, seed=11), "2024Q4", list_pending=False)}


@pytest.mark.parametrize("name", ["demo 2024Q4", "demo 2023Q4", "generated 2024Q4"])
def test_the_data_files_are_the_same_bytes_written_copied_or_without_a_cache(runs, name, tmp_path, monkeypatch):
    run = runs[name]
    monkeypatch.setenv("HUIQI_CACHE_DIR", "off")
    award_list.write_data_files(run, tmp_path / "reference")
    monkeypatch.setenv("HUIQI_CACHE_DIR", str(tmp_path / "cache"))
    kept = tmp_path / "cache" / "entities"
    award_list.write_data_files(run, tmp_path / "cold")  # a new shape: written, remembered
    assert not list(kept.glob("*.parquet")) and len(list(kept.glob("*.seen"))) == 1
    award_list.write_data_files(run, tmp_path / "second")  # seen before: hashed as written, kept
    assert len(list(kept.glob("*.parquet"))) == 1
    monkeypatch.setattr(award_list, "_write_parquet", refuse_entities(award_list._write_parquet))
    award_list.write_data_files(run, tmp_path / "warm")  # entities.parquet copied: encoding it would raise
    assert digests(tmp_path / "reference") == digests(tmp_path / "cold") == digests(tmp_path / "second") \
        == digests(tmp_path / "warm")
    assert len(list(kept.glob("*.parquet"))) == 1


def refuse_entities(write):
    def guarded(groups, path, metadata=None):
        if Path(path).name == ENTITIES:
            raise AssertionError("entities.parquet encoded again")
        return write(groups, path, metadata)
    return guarded


def test_a_damaged_cached_file_is_not_used(runs, tmp_path, monkeypatch):
    monkeypatch.setenv("HUIQI_CACHE_DIR", str(tmp_path / "cache"))
    run = runs["generated 2024Q4"]
    award_list.write_data_files(run, tmp_path / "cold")
    award_list.write_data_files(run, tmp_path / "second")
    (stored,) = (tmp_path / "cache" / "entities").glob("*.parquet")
    stored.write_bytes(stored.read_bytes()[:-10] + b"0123456789")
    award_list.write_data_files(run, tmp_path / "again")
    assert digests(tmp_path / "again") == digests(tmp_path / "cold")
    assert [p.name for p in (tmp_path / "cache" / "entities").glob("*.parquet")] == [stored.name]  # stored afresh
    assert stored.read_bytes() == (tmp_path / "cold" / ENTITIES).read_bytes()


def test_another_entity_table_is_not_taken_for_the_cached_one(runs, tmp_path, monkeypatch):
    monkeypatch.setenv("HUIQI_CACHE_DIR", str(tmp_path / "cache"))
    results = award_list.sort_results(runs["generated 2024Q4"].results)
    for folder in ("first", "renamed", "reference"):
        (tmp_path / folder).mkdir()
    write_results(results, tmp_path / "first")
    write_results(results, tmp_path / "first")  # the second time kept
    assert len(list((tmp_path / "cache" / "entities").glob("*.parquet"))) == 1
    renamed = results.with_columns(pl.when(pl.col("entity_id") == results["entity_id"][0])
                                   .then(pl.lit("另一家企业")).otherwise(pl.col("name")).alias("name"))
    write_results(renamed, tmp_path / "renamed")
    monkeypatch.setenv("HUIQI_CACHE_DIR", "off")
    write_results(renamed, tmp_path / "reference")
    assert digests(tmp_path / "renamed") == digests(tmp_path / "reference")
    assert (tmp_path / "renamed" / ENTITIES).read_bytes() != (tmp_path / "first" / ENTITIES).read_bytes()
    assert (tmp_path / "renamed" / RESULTS).read_bytes() == (tmp_path / "first" / RESULTS).read_bytes()
    assert len(list((tmp_path / "cache" / "entities").glob("*.parquet"))) == 2  # same shape, another table


def test_the_second_write_of_a_shape_keeps_the_file_the_fingerprint_names(runs, tmp_path, monkeypatch):
    monkeypatch.setenv("HUIQI_CACHE_DIR", str(tmp_path / "cache"))
    run = runs["demo 2023Q4"]
    for folder in ("a", "b"):
        award_list.write_data_files(run, tmp_path / folder)
    (kept,) = (tmp_path / "cache" / "entities").glob("*.parquet")
    table = pl.read_parquet(tmp_path / "b" / ENTITIES)
    groups = [table.slice(k, award_list.RESULTS_ROW_GROUP) for k in range(0, table.height, award_list.RESULTS_ROW_GROUP)]
    assert kept.name.split(".")[1] == entity_file_cache.fingerprint(groups)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=6)), min_size=1, max_size=30), st.data())
def test_the_fingerprint_tells_tables_apart_exactly_when_their_values_differ(values, data):
    changed = list(values)
    k = data.draw(st.integers(0, len(values) - 1))
    changed[k] = data.draw(st.one_of(st.none(), st.text(max_size=6)))
    a = [pl.DataFrame({"entity_key": range(len(values)), "name": values}, schema_overrides={"name": pl.String})]
    b = [pl.DataFrame({"entity_key": range(len(values)), "name": changed}, schema_overrides={"name": pl.String})]
    assert (entity_file_cache.fingerprint(a) == entity_file_cache.fingerprint(b)) == (values == changed)


def test_a_register_is_ranked_whole_only_when_half_its_rows_are_listed_then_any_subset_reads_it(cache):
    ids = pl.Series([f"9145{k * 7919 % 1000:06d}" for k in range(1000)])
    few = pl.int_range(0, 1000, 7, dtype=pl.UInt32, eager=True)
    most = pl.int_range(0, 1000, dtype=pl.UInt32, eager=True).filter(pl.int_range(0, 1000, eager=True) % 5 != 0)
    expected = {name: pl.zeros(1000, dtype=pl.UInt32, eager=True).scatter(
        rows, screening.entity_order(ids.gather(rows))).to_list() for name, rows in (("few", few), ("most", most))}
    assert screening.listed_order(ids, few).to_list() == expected["few"]
    assert not (cache / "orders").exists()  # a seventh listed: only they were ranked
    assert screening.listed_order(ids, most).to_list() == expected["most"]
    assert len(list((cache / "orders").glob("*.u32"))) == 1  # four fifths: ranked whole, stored
    assert screening.listed_order(ids, few).to_list() == expected["few"]  # from the stored rank


def test_a_cache_that_cannot_be_written_changes_nothing(runs, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("HUIQI_CACHE_DIR", "off")
    award_list.write_data_files(runs["demo 2024Q4"], tmp_path / "reference")
    monkeypatch.setenv("HUIQI_CACHE_DIR", str(blocker / "cache"))  # a folder that cannot be made
    monkeypatch.setattr(entity_order_cache, "SMALLEST", 0)
    for k in range(3):
        award_list.write_data_files(runs["demo 2024Q4"], tmp_path / f"run{k}")
        assert digests(tmp_path / f"run{k}") == digests(tmp_path / "reference")
    ids = pl.Series(["b", "a", "c"])
    assert entity_order_cache.remembered(ids, screening.entity_order).to_list() == [2, 1, 3]


def test_integer_ids_are_not_taken_for_the_same_text(cache):
    numbers = pl.Series([10, 9, 100])
    texts = numbers.cast(pl.String)
    assert entity_order_cache.remembered(texts, screening.entity_order).to_list() == [1, 3, 2]
    assert entity_order_cache.remembered(numbers, lambda s: s.rank("ordinal")).to_list() == [2, 1, 3]
