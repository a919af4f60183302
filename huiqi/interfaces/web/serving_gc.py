"""The serving process's cyclic garbage collector: short young collections, survivors kept out of later ones.

Under load a check's short-lived objects are freed by reference counting; what reaches a collection is mostly what
stays (the calculator's explanation memo, remembered JSON), so every collection walks objects that will survive
it, and the older generations grow with them: at the app's thresholds (50,000, 20, 100) a young collection paused
the process 8-11 ms about every 320 checks, and every 20th one also walked all earlier survivors (~100 ms in
process). Each pause stalls all ~50 requests in flight, hence the p95/p99 tail (docs/decisions.md CALC2-4, WEB2-2).

Here, only in `huiqi serve` processes (not in tests or embedding code, whose objects may form cycles that must be
collected):
- after every collection its survivors are frozen (``gc.freeze``), so no later collection walks them again;
- young collections are 5× more frequent and so ~5× shorter (same total work: each object is walked once);
- every ``FULL_EVERY_S`` a full collection unfreezes everything first, so cyclic garbage among survivors (none was
  found in the memo's entries, tests/web/test_serving_gc.py) is still freed, ten minutes late at most.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import time

YOUNG_THRESHOLD = (10_000, 20, 100)
FULL_EVERY_S = 600.0
# How long a thread holding the GIL runs before a waiting thread may ask for it. A serving process has two busy
# threads, the event loop and the calculator's batcher (a batch of ≤ 8 checks is ~3–5 ms of pure Python). 0.5–50 ms
# were measured and none beat CPython's own 5 ms beyond the machine's noise (docs/decisions.md WEB8-1), so it stays;
# HUIQI_SWITCH_INTERVAL_MS sets another for measurement or a quieter host.
SWITCH_INTERVAL_MS = 5.0


def switch_interval_from_env(default: float = SWITCH_INTERVAL_MS) -> float:
    """HUIQI_SWITCH_INTERVAL_MS (a positive number of ms; anything else: the default)."""
    try:
        value = float(os.environ.get("HUIQI_SWITCH_INTERVAL_MS", default))
    except ValueError:
        return default
    return value if 0 < value <= 1000 else default


def _freeze_survivors(phase: str, info: dict) -> None:
    if phase == "stop":
        gc.freeze()


def install(full_every_s: float = FULL_EVERY_S) -> None:
    """Once per serving process, after start-up has loaded everything (idempotent); also the GIL's switch
    interval, the other process-wide setting of a serving process."""
    sys.setswitchinterval(switch_interval_from_env() / 1000)
    gc.collect()
    gc.freeze()
    gc.set_threshold(*YOUNG_THRESHOLD)
    if _freeze_survivors in gc.callbacks:
        return
    gc.callbacks.append(_freeze_survivors)
    threading.Thread(target=_full_collections, args=(full_every_s,), name="huiqi-gc", daemon=True).start()


def full_collection() -> int:
    """Every object back in the collector's care, one full collection, then frozen again; the number collected."""
    gc.unfreeze()
    try:
        return gc.collect()
    finally:
        gc.freeze()


def _full_collections(every_s: float) -> None:
    while True:
        time.sleep(every_s)
        full_collection()
