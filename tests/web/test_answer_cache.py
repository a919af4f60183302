"""The result cache is bounded by its answers' bytes (docs/decisions.md WEB4-2): a weighed Cache keeps at most its
budget, forgets the least recently used first, never keeps a value larger than the budget, and still builds once."""

from __future__ import annotations

import threading

from hypothesis import given
from hypothesis import strategies as st

from huiqi.interfaces.web import state as web_state
from huiqi.services.caching import Cache


def test_a_weighed_cache_keeps_at_most_its_budget_least_recently_used_out_first():
    c = Cache("t", 10, weigh=len)
    c.put("a", b"1234")
    c.put("b", b"1234")
    assert c.get("a") == b"1234"  # a is now the most recently used
    c.put("c", b"1234")  # 12 bytes > 10: b goes
    assert "b" not in c and c.get("a") == b"1234" and c.get("c") == b"1234"


def test_a_value_larger_than_the_budget_is_answered_but_not_kept():
    c = Cache("t", 10, weigh=len)
    c.put("small", b"12")
    assert c.get_or_build("big", lambda: b"x" * 11) == b"x" * 11
    c.put("big2", b"y" * 11)
    assert "big" not in c and "big2" not in c and c.get("small") == b"12"


def test_get_or_build_still_builds_once_under_concurrency():
    c = Cache("t", 1000, weigh=len)
    calls = []
    barrier = threading.Barrier(8)

    def build():
        calls.append(1)
        return b"v" * 10

    def ask():
        barrier.wait()
        assert c.get_or_build("k", build) == b"v" * 10

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1


@given(st.lists(st.tuples(st.integers(0, 20), st.binary(max_size=40)), max_size=60))
def test_the_sum_of_kept_sizes_never_exceeds_the_budget(puts):
    c = Cache("t", 64, weigh=len)
    for k, v in puts:
        c.put(k, v)
        assert sum(len(x) for x in c._data.values()) <= 64
        if len(v) <= 64:
            assert c.get(k) == v  # what was just put is kept


def test_the_web_result_cache_is_bounded_by_bytes(web):
    cache = web.state._calc_cache
    assert cache._data.maxsize == web_state.ANSWER_CACHE_BYTES
    assert cache._weigh is len
