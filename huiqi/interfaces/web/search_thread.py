"""Clause searches computed on one thread of their own instead of the framework's pool of 40.

Under 50 clients the pool ran up to 40 searches at once, all of them Python that needs the GIL: the threads
handed it to each other every few microseconds (numpy lets go of it inside its calls), ~45 context switches a
search, and the server burned more CPU waiting for the GIL than searching (docs/decisions.md SEARCH3-1). One
thread runs the searches one after another, each in a fraction of a millisecond, so queueing adds little and
the hand-offs are gone; the event loop's side is asyncio's own executor call, not anyio's capacity limiter.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def _thread() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        with _lock:  # two event loops (tests) may ask at once; one thread for the process either way
            if _executor is None:
                _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="huiqi-search")
    return _executor


async def run(compute, *args):
    """compute(*args) on the search thread, awaited from the event loop."""
    return await asyncio.get_running_loop().run_in_executor(_thread(), compute, *args)
