"""screening.entity_order sorts IDs as 16-byte words, least significant first (docs/decisions.md LIST3-4): the same
ranks as sorting the strings, ties in row order — across word boundaries (15/16/17, 31/32/33 bytes), shared prefixes
longer than a word, a last word of ≤ 8 bytes (UInt64) or more (UInt128), duplicates, and the fallbacks
(non-ASCII, NUL, over 64 bytes)."""

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from huiqi.services import screening

PREFIXES = ["", "9145010", "91450100MA5K0ABC", "2024-450702-29-03-", "A" * 31, "A" * 32, "Z" * 47]


def _ranks(ids: list[str]) -> tuple[list[int], list[int]]:
    s = pl.Series(ids, dtype=pl.String)
    return (screening.entity_order(s).cast(pl.UInt32).to_list(), s.rank("ordinal").cast(pl.UInt32).to_list())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.builds(lambda p, tail: p + tail, st.sampled_from(PREFIXES),
                          st.text(st.sampled_from("019AZaz-"), max_size=18)), max_size=80))
def test_word_order_is_the_string_rank(ids):
    ordered, reference = _ranks(ids)
    assert ordered == reference


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["X" * 15, "X" * 16, "X" * 17, "X" * 16 + "\x01", "X" * 24, "X" * 25, "X" * 32,
                                 "X" * 33, "X" * 8, "X" * 9, "", "Y", "é", "X" * 65, "a\x00b", "X" * 64]),
                max_size=60))
def test_boundaries_duplicates_and_fallbacks(ids):
    ordered, reference = _ranks(ids)
    assert ordered == reference


def test_credit_codes_at_scale_equal_the_string_rank():
    ids = pl.Series([f"9145{(i * 7919) % 100_003:09d}{i % 37:03d}X{i % 5}" for i in range(60_000)] * 2)
    assert screening.entity_order(ids).to_list() == ids.rank("ordinal").cast(pl.UInt32).to_list()
