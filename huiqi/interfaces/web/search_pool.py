"""The threads clause searches run on when the result cache misses: asyncio's own executor call into a pool of
the search's own, in place of the framework's `run_in_threadpool`.

anyio's hand-off (a cancel scope, the capacity limiter, its run variables, its worker queue) cost the event loop
60–95 µs of CPU a call with 50 requests in flight, against 17–40 µs for `loop.run_in_executor` (docs/decisions.md
SEARCH3-4). The pool has as many threads as anyio's default limiter (40), so searches overlap as they did: one
thread for every search was measured and is worse (SEARCH3-2).
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

THREADS = 40  # anyio's default thread limiter, which the searches ran under before
_pool: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        with _lock:  # event loops in several threads (tests) may ask at once; one pool for the process
            if _pool is None:
                _pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="huiqi-search")
    return _pool


async def run(compute, *args):
    """compute(*args) on a search thread, awaited from the event loop (threads start only as they are needed)."""
    return await asyncio.get_running_loop().run_in_executor(_executor(), compute, *args)
