"""WEB2-2: the serving process's garbage-collector policy (web/serving_gc.py). The policy is process-wide, so
install() itself is exercised in child interpreters."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap

import pytest

from huiqi.interfaces.web import presenters, serving_gc
from huiqi.interfaces.web.checking import stored_facts
from huiqi.services import calculator
from huiqi.services.calculator import CheckRequest, check_many


@pytest.fixture(scope="module")
def web_state(demo_dir, tmp_path_factory):
    from tests.web.conftest import sqlite_web  # noqa: PLC0415 - the same app as every web test, on SQLite only

    with sqlite_web(demo_dir, tmp_path_factory, "servinggc") as w:
        yield w.state


def run_child(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


def test_install_once_sets_the_policy():
    out = run_child("""
        import gc, threading
        from huiqi.interfaces.web import serving_gc
        serving_gc.install(); serving_gc.install()
        print(gc.callbacks.count(serving_gc._freeze_survivors), gc.get_threshold() == serving_gc.YOUNG_THRESHOLD,
              sum(t.name == "huiqi-gc" for t in threading.enumerate()))
    """)
    assert out == "1 True 1"


def test_survivors_frozen_and_cycles_among_them_freed_by_the_full_collection():
    out = run_child("""
        import gc, time, weakref
        from huiqi.interfaces.web import serving_gc

        class Node:
            pass

        serving_gc.install(full_every_s=0.3)
        a, b = Node(), Node()
        a.other, b.other = b, a  # a cycle that outlives a collection, then becomes garbage
        gone = weakref.ref(a)
        frozen = gc.get_freeze_count()
        gc.collect(0)  # a young collection: its survivors (the cycle) are frozen after it
        print(gc.get_freeze_count() > frozen)
        del a, b
        print(gc.collect() == 0 and gone() is not None)  # frozen: not walked by ordinary collections
        for _ in range(50):  # the periodic full collection unfreezes, collects, freezes again
            time.sleep(0.1)
            if gone() is None:
                break
        time.sleep(0.1)  # the collector's thread freezes right after its collection
        print(gone() is None, gc.get_freeze_count() > 0)
    """)
    assert out.split() == ["True", "True", "True", "True"]


def test_full_collection_frees_frozen_cycles_and_freezes_the_rest():
    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a
    gc.freeze()
    del a, b
    try:
        assert gc.collect() == 0  # frozen: invisible to the collector
    finally:
        freed = serving_gc.full_collection()
        gc.unfreeze()  # this test process keeps the ordinary policy
    assert freed >= 2


def test_served_checks_leave_no_cyclic_garbage(web_state):
    """What survives under load (the calculator's memo, remembered JSON) holds no reference cycles, nor does a
    check leave any once its period's plan and templates are compiled: freezing survivors loses nothing to the
    collector (the first checks of a period may; the periodic full collection frees that)."""
    state = web_state
    codes = state.enterprises["credit_code"].to_list()[:60]
    facts = [{k: str(v) for k, v in stored_facts(state, code, "2024Q4").items()} for code in codes]

    def serve(step: int) -> None:
        requests = [CheckRequest({**f, "output_q": f"{step}{i}.01"}, "2024Q4") for i, f in enumerate(facts)]
        for k in range(0, len(requests), 8):
            batch = requests[k:k + 8]
            for request, results in zip(batch, check_many(batch, state.ruleset, state.library)):
                presenters.check_json(results, request.period, request.entity)

    serve(1)  # compiles what the period needs once
    gc.collect()
    gc.disable()
    try:
        serve(2)
        calculator._MEMO.clear()
        presenters._RESULT_JSON.clear()
        assert gc.collect() == 0
    finally:
        gc.enable()

