"""SEARCH3-4: a search that misses the result cache runs on the search's own thread pool (web/search_pool.py), handed
over by asyncio instead of anyio: the same bytes as computing the answer directly, off the event loop's thread, each
concurrent request its own answer, the cache still answering repeats, and a refusal still raised in Chinese."""

from __future__ import annotations

import asyncio
import threading
from datetime import date

import orjson
import pytest

from huiqi.interfaces.web import api, search_pool
from huiqi.interfaces.web.presenters import json_bytes, search_hits
from huiqi.interfaces.web.state import WebError
from huiqi.services.search import BENCHMARK_QUERIES


class _State:
    """The two cache calls search_answer makes (WebState's), recording which thread computed each answer."""

    def __init__(self):
        self.store, self.threads = {}, []

    def cache_get(self, key):
        return self.store.get(key)

    def cached(self, key, compute):
        if key not in self.store:
            self.threads.append(threading.current_thread().name)
            self.store[key] = compute()
        return self.store[key]


def direct(q, limit, level=None, document=None, status=None) -> bytes:
    hits = search_hits(q, limit, level, document, status)
    return json_bytes({"query": q, "total": len(hits), "hits": hits})


def test_concurrent_searches_each_get_their_own_answer_off_the_loop():
    state = _State()
    requests = [(q + " " * k, 1 + (7 * i + k) % 100) for k in range(3) for i, q in enumerate(BENCHMARK_QUERIES)]

    async def main():
        loop_thread = threading.current_thread().name
        got = await asyncio.gather(*[api.search_answer(state, q, limit, None, None, None) for q, limit in requests])
        return loop_thread, got

    loop_thread, got = asyncio.run(main())
    assert got == [direct(q, limit) for q, limit in requests]
    assert len(state.threads) == len(requests)
    assert all(name.startswith("huiqi-search") for name in state.threads) and loop_thread not in state.threads
    assert len(search_pool._executor()._threads) <= search_pool.THREADS


def test_a_repeat_is_answered_from_the_cache_and_keyed_by_today():
    state = _State()
    first = asyncio.run(api.search_answer(state, "技改", 5, "市", None, None))
    again = asyncio.run(api.search_answer(state, "技改", 5, "市", None, None))
    assert first is again and len(state.threads) == 1
    assert ("search", "技改", 5, "市", None, None, date.today()) in state.store
    assert orjson.loads(first)["query"] == "技改"


@pytest.mark.parametrize("kwargs, message", [({"level": "省"}, "层级应为"), ({"status": "作废"}, "状态应为"),
                                             ({"document": "nope"}, "没有编号为 nope 的政策文件")])
def test_refusals_still_raise_in_chinese(kwargs, message):
    state = _State()
    args = {"level": None, "document": None, "status": None, **kwargs}
    with pytest.raises(WebError, match=message) as refused:
        asyncio.run(api.search_answer(state, "技改", 20, args["level"], args["document"], args["status"]))
    assert refused.value.status == 422 and not state.store
