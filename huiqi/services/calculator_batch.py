"""Micro-batching for the calculator: concurrent requests become one batch, answered one by one.

Checks run in a worker thread of the batcher's own, never on the event loop; each caller gets its own result or its
own exception (a bad request fails alone, with its own Chinese message). Since a check runs the plan row by row
(huiqi.services.calculator_rows, ~1 ms a check) there is no large fixed cost left to share, so batches are small:
a request arriving while the worker is idle starts at once (no waiting window); requests arriving while a batch
computes gather, up to ``max_batch``, and go together when it finishes — fewer thread hand-offs under load, and
no request waits behind a long batch (with 50 in one batch, every caller waited for all 50).

    batcher = CheckBatcher(ruleset, library, finish=to_json_bytes)
    payload = await batcher.submit(CheckRequest(facts, "2024Q4"))

``window_ms=0`` turns batching off: each request is computed alone in the framework's thread pool (anyio's, 40
threads — the path before batching; kept for benchmarks and as an escape hatch: ``HUIQI_CALC_BATCH_MS=0``). A
positive window is how long an idle batcher waits for company before starting (default 0: start at once).
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from huiqi.engine.evaluate import RuleSet
from huiqi.policies.library import Library
from huiqi.services.calculator import CheckRequest, MeasureResult, check_many

DEFAULT_WINDOW_MS = -1.0  # start at once when idle (see the module's doc)
DEFAULT_MAX_BATCH = 8  # HUIQI_CALC_BATCH_MAX overrides (benchmarks)


def max_batch_from_env(default: int = DEFAULT_MAX_BATCH) -> int:
    try:
        return max(1, int(os.environ.get("HUIQI_CALC_BATCH_MAX", default)))
    except ValueError:
        return default

Finish = Callable[[CheckRequest, list[MeasureResult]], Any]


def window_from_env(default: float = DEFAULT_WINDOW_MS) -> float:
    """HUIQI_CALC_BATCH_MS: how long an idle batcher waits for company (ms); 0 = no batching; unset or negative =
    batching without a wait."""
    try:
        return float(os.environ.get("HUIQI_CALC_BATCH_MS", default))
    except ValueError:
        return default


class CheckBatcher:
    """Gathers ``submit``-ted requests on one event loop into batches for ``check_many``.

    ``finish(request, results)`` runs per request in the worker thread too (e.g. JSON serialisation), so the event
    loop only moves bytes. It must not modify the results: they are the calculator memo's own (shared with later
    requests), not copies. An exception from ``finish`` or from the request's own facts goes to that caller only.
    """

    def __init__(self, ruleset: RuleSet, library: Library, finish: Finish | None = None, *,
                 window_ms: float | None = None, max_batch: int | None = None, threads: int = 1):
        self.ruleset, self.library = ruleset, library
        self.finish = finish or (lambda _req, results: results)
        self.window = (window_from_env() if window_ms is None else window_ms) / 1000
        self.max_batch = max_batch_from_env() if max_batch is None else max_batch
        self.threads = threads
        # its own threads: a batch never waits behind the web framework's thread pool (40 threads of sync routes)
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="huiqi-calc")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: list[tuple[tuple[CheckRequest, Finish], asyncio.Future]] = []
        self._timer: asyncio.TimerHandle | asyncio.Handle | None = None
        self._running = 0
        self.batches = 0  # counters for tests and benchmarks
        self.largest = 0

    @property
    def enabled(self) -> bool:
        return self.window != 0

    async def submit(self, request: CheckRequest, finish: Finish | None = None) -> Any:
        """The request's ``finish(request, results)`` (default: the batcher's), or its own exception."""
        loop = asyncio.get_running_loop()
        item = (request, finish or self.finish)
        if not self.enabled:  # the path before batching: each check alone in the framework's thread pool
            import anyio.to_thread

            return await anyio.to_thread.run_sync(self._one, item)
        if loop is not self._loop:  # a new event loop (tests start one per client): start afresh
            self._loop, self._pending, self._timer, self._running = loop, [], None, 0
        future = loop.create_future()
        self._pending.append((item, future))
        if len(self._pending) >= self.max_batch:
            self._flush()
        elif self._timer is None and self._running < self.threads:
            # idle: start on the loop's next turn (requests already arrived in this one join), or after the window
            self._timer = loop.call_later(self.window, self._flush) if self.window > 0 else loop.call_soon(self._flush)
        return await future

    def _one(self, item: tuple[CheckRequest, Finish]) -> Any:
        result = self._compute([item])[0]
        if isinstance(result, BaseException):
            raise result
        return result

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        # while every thread is busy, requests keep gathering: the next batch starts when one finishes
        while self._pending and self._running < self.threads:
            batch, self._pending = self._pending[:self.max_batch], self._pending[self.max_batch:]
            batch = [(r, f) for r, f in batch if not f.done()]  # a caller that went away is skipped
            if not batch:
                continue
            self._running += 1
            asyncio.ensure_future(self._run(batch))

    async def _run(self, batch: list[tuple[tuple[CheckRequest, Finish], asyncio.Future]]) -> None:
        loop = asyncio.get_running_loop()
        try:
            results = await loop.run_in_executor(self._executor, self._compute, [r for r, _ in batch])
        except BaseException as e:  # the batch as a whole failed (a bug): every caller learns it
            results = [e] * len(batch)
        finally:
            self._running -= 1
        self.batches += 1
        self.largest = max(self.largest, len(batch))
        for (_, future), result in zip(batch, results):
            if future.done():
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
        if self._pending:
            self._flush()

    def _compute(self, items: list[tuple[CheckRequest, Finish]]) -> list[Any]:
        """In the worker thread: one evaluation for the batch, then each request's own ``finish``."""
        out: list[Any] = []
        requests = [r for r, _ in items]
        # the memo's own results, not copies: every ``finish`` only reads them (the web serialises them)
        for (request, finish), results in zip(items, check_many(requests, self.ruleset, self.library, shared=True)):
            if isinstance(results, BaseException):
                out.append(results)
                continue
            try:
                out.append(finish(request, results))
            except Exception as e:  # noqa: BLE001 — this request's own failure
                out.append(e)
        return out

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
