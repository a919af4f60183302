"""Allocator settings for a `huiqi` process, set before Polars loads (docs/decisions.md ALLOC-1).

Importing this module adds the options below to ``_RJEM_MALLOC_CONF`` (Polars' bundled jemalloc) for each option
the environment does not already choose, so an operator can still override any of them. It must be imported before
``polars``: jemalloc reads the variable once, when it first allocates. ``huiqi.interfaces.cli`` imports it first
(the ``huiqi`` command, ``python -m huiqi``), and ``huiqi serve --workers N`` hands the variable to its uvicorn
workers through the exec's environment. A program that imports huiqi as a library keeps its own settings.

Why: at 1M enterprises ``huiqi screen`` spent ~2.3–2.8 s of its ~10 s of CPU in the kernel. Polars' jemalloc handed
freed pages back to the kernel within a second (Polars sets dirty 500 ms, muzzy 1 s; allocations of 8 MiB and
more — a column of a million 8-byte values — go to an arena that returns them at once): 6,300 ``madvise`` calls in
one run, and every page the next step allocated was faulted in and zeroed afresh, ~700k minor faults for a
1.5 GiB peak. Keeping freed pages for 30 s lets the next step reuse them.
"""

from __future__ import annotations

import os

JEMALLOC_CONF = "_RJEM_MALLOC_CONF"
# No separate arena for large allocations, and freed pages kept 30 s before they go back to the kernel. Finite,
# not -1 (never), so a long-lived `huiqi serve` returns a screening job's memory once it is idle again (jemalloc
# purges on later allocator activity).
JEMALLOC_DEFAULTS = {"oversize_threshold": "0", "dirty_decay_ms": "30000", "muzzy_decay_ms": "30000"}
# What Polars' __init__ writes into the variable itself, before appending the value it found: every child of a
# process that imported Polars (a test runner, a benchmark harness) inherits it, so it is no operator's choice.
POLARS_OWN = ("dirty_decay_ms:500,muzzy_decay_ms:1000", ",thp:always,metadata_thp:always")


def jemalloc_conf(current: str | None) -> str:
    """``current`` with each default option it does not set appended (in jemalloc's conf the last value of an
    option wins, so Polars' own defaults, which it puts first, give way; an operator's option stays)."""
    rest = current or ""
    while rest.startswith(POLARS_OWN[0]):  # inherited, possibly once per generation of processes
        rest = rest.removeprefix(POLARS_OWN[0]).removeprefix(POLARS_OWN[1]).removeprefix(",")
    chosen = {pair.split(":", 1)[0].strip() for pair in rest.split(",")}
    extra = [f"{k}:{v}" for k, v in JEMALLOC_DEFAULTS.items() if k not in chosen]
    return ",".join(part for part in (current, *extra) if part)


def apply() -> None:
    """Set the defaults the environment does not already choose (idempotent)."""
    os.environ[JEMALLOC_CONF] = jemalloc_conf(os.environ.get(JEMALLOC_CONF))


apply()
