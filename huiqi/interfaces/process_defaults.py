"""Allocator settings for a `huiqi` process, set before Polars or pyarrow load (docs/decisions.md ALLOC-1).

Importing this module sets each variable below unless the environment already has it, so an operator can still
override any of them. It must be imported before ``polars`` and ``pyarrow``: each allocator reads its variable
once, when it first allocates. ``huiqi.interfaces.cli`` imports it first (the ``huiqi`` command, ``python -m
huiqi``), and ``huiqi serve --workers N`` hands the variables to its uvicorn workers through the exec's
environment. A program that imports huiqi as a library keeps its own allocator settings.

Why: at 1M enterprises ``huiqi screen`` spent ~2.3–2.8 s of its ~10 s of CPU in the kernel. Polars' bundled
jemalloc handed freed pages back to the kernel within milliseconds (6,300 ``madvise`` calls in one run: its
muzzy pages decay at once by default, and allocations of 8 MiB and more — a column of a million 8-byte values — go
to an arena that returns them immediately), and every page the next step allocated was faulted in and zeroed
afresh: ~700k minor faults for a 1.5 GiB peak. Keeping freed pages for 30 s lets the next step reuse them.
"""

from __future__ import annotations

import os

ALLOCATOR_DEFAULTS = {
    # Polars' jemalloc (the tikv-jemallocator build, prefix _rjem_): no separate arena for large allocations, and
    # freed pages kept 30 s before they go back to the kernel. Finite, not -1, so a long-lived `huiqi serve`
    # returns a screening job's memory once it is idle again (jemalloc purges on later allocator activity).
    "_RJEM_MALLOC_CONF": "oversize_threshold:0,dirty_decay_ms:30000,muzzy_decay_ms:30000",
}


def apply() -> None:
    """Set each default the environment does not already set (idempotent)."""
    for name, value in ALLOCATOR_DEFAULTS.items():
        os.environ.setdefault(name, value)


apply()
