"""SCREEN10-2: the listing's entity order (the rank of a register's IDs), read back from the user's cache by a run
over a register ranked before instead of ranked again. It must give exactly what ranking afresh gives; a damaged
cache entry is ranked afresh, and ``HUIQI_CACHE_DIR=off`` ranks as before. (SCREEN10-1's entities.parquet copy
was not kept: MERGE10-1.)"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huiqi.services import entity_order_cache, screening

ASCII_IDS = st.one_of(st.sampled_from(["91450100MA5K", "91450100MA5K0", "b", "a", "2024-45", ""]),
                      st.text(st.characters(min_codepoint=1, max_codepoint=127), max_size=40),
                      st.text(max_size=4))


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("HUIQI_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(entity_order_cache, "SMALLEST", 0)  # small frames cached too
    return tmp_path / "cache"


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


def test_a_cache_that_cannot_be_written_changes_nothing(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("HUIQI_CACHE_DIR", str(blocker / "cache"))  # a folder that cannot be made
    monkeypatch.setattr(entity_order_cache, "SMALLEST", 0)
    ids = pl.Series(["b", "a", "c"])
    for _ in range(2):
        assert entity_order_cache.remembered(ids, screening.entity_order).to_list() == [2, 1, 3]


def test_integer_ids_are_not_taken_for_the_same_text(cache):
    numbers = pl.Series([10, 9, 100])
    texts = numbers.cast(pl.String)
    assert entity_order_cache.remembered(texts, screening.entity_order).to_list() == [1, 3, 2]
    assert entity_order_cache.remembered(numbers, lambda s: s.rank("ordinal")).to_list() == [2, 1, 3]
