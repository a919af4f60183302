"""The snippet window (huiqi.services.search._window) found by bisection is the one the quadratic scan chose:
the same window for any set of match spans, so every snippet — and so every search result — is unchanged."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from huiqi.services.search import SNIPPET_WIDTH, _window, default_index, BENCHMARK_QUERIES


def window_reference(merged: list[list], length: int) -> tuple[int, int]:
    """The scan before the change: every candidate window summed over every span."""
    if length <= SNIPPET_WIDTH:
        return 0, length
    if not merged:
        return 0, SNIPPET_WIDTH
    best, lo = -1.0, 0
    for s, _e, _w in merged:
        start = max(0, min(s - 20, length - SNIPPET_WIDTH))
        for s2, e2, _w2 in merged:
            if s2 < start < e2:
                start = s2
        covered = sum(w2 * max(0, min(e2, start + SNIPPET_WIDTH) - max(s2, start)) for s2, e2, w2 in merged)
        if covered > best + 1e-9:
            best, lo = covered, start
    hi = min(length, lo + SNIPPET_WIDTH)
    for s2, e2, _w2 in merged:
        if s2 < hi < e2:
            hi = e2
    return lo, hi


@st.composite
def spans(draw):
    """Sorted, disjoint [start, end, weight] spans (as _snippet merges them) in a text of some length."""
    length = draw(st.integers(1, 2_000))
    cuts = sorted(set(draw(st.lists(st.integers(0, length), max_size=80))))
    merged, pos = [], 0
    for a, b in zip(cuts[::2], cuts[1::2]):
        if a > pos - (1 if merged else 0) and b > a and (not merged or a > merged[-1][1]):
            merged.append([a, b, draw(st.sampled_from([0.3, 1.0, 2.5, 7.123456789, 11.0]))])
            pos = b
    return merged, length


@settings(max_examples=400, deadline=None)
@given(spans())
def test_window_by_bisection_equals_the_quadratic_scan(case):
    merged, length = case
    assert _window(merged, length) == window_reference(merged, length)


def test_long_clauses_with_many_matches_keep_their_snippets():
    """Real queries with hundreds of spans per clause (企业): the snippet window is the reference scan's."""
    import huiqi.services.search as search

    index = default_index()
    seen = []
    original = search._window

    def both(merged, length):
        got = original(merged, length)
        assert got == window_reference(merged, length)
        seen.append(len(merged))
        return got

    search._window = both
    try:
        for q in [*BENCHMARK_QUERIES, "企业", "工业企业 奖励"]:
            index.search(q, 100)
    finally:
        search._window = original
    assert max(seen) > 20
