"""listed_rows ranks only the IDs of the rows some measure lists (docs/decisions.md PEER2-3): the listed rows come
out in the same order as when every ID is ranked — ties (repeated IDs) in row order, ASCII or not."""

import polars as pl
from hypothesis import given, settings, strategies as st

from huiqi.services import screening


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.sampled_from(["91450100MA5K", "91450100MA5K0", "", "b", "a", "2024-45"]),
                                    st.text(st.characters(min_codepoint=1, max_codepoint=127), max_size=20),
                                    st.text(max_size=4)),
                          st.booleans()), max_size=80))
def test_listed_order_orders_the_listed_rows_as_the_whole_rank(rows):
    ids = pl.Series([i for i, _ in rows], dtype=pl.String)
    listed = pl.Series([k for k, (_, on) in enumerate(rows) if on], dtype=pl.UInt32)
    whole = screening.entity_order(ids).cast(pl.Int64).gather(listed)
    part = screening.listed_order(ids, listed).cast(pl.Int64).gather(listed)
    assert listed.gather(part.arg_sort()).to_list() == listed.gather(whole.arg_sort()).to_list()
    assert part.n_unique() == len(part)  # no two listed rows share a place: sorting by it needs no tie rule
