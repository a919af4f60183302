"""WEB8-1: a serving process's GIL switch interval (web/serving_gc.py, HUIQI_SWITCH_INTERVAL_MS). Process-wide,
so install() is exercised in child interpreters."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from huiqi.interfaces.web import serving_gc


def child_interval(env_value: str | None) -> float:
    env = {k: v for k, v in os.environ.items() if k != "HUIQI_SWITCH_INTERVAL_MS"}
    if env_value is not None:
        env["HUIQI_SWITCH_INTERVAL_MS"] = env_value
    code = """
        import sys
        from huiqi.interfaces.web import serving_gc
        serving_gc.install()
        print(repr(sys.getswitchinterval()))
    """
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return float(done.stdout.strip())


def test_install_sets_the_default_interval():
    assert child_interval(None) == pytest.approx(serving_gc.SWITCH_INTERVAL_MS / 1000)


def test_install_sets_the_interval_from_the_environment():
    assert child_interval("20") == pytest.approx(0.020)


@pytest.mark.parametrize("raw", ["", "abc", "0", "-3", "nan", "inf", "1e9"])
def test_a_bad_value_gives_the_default(raw, monkeypatch):
    monkeypatch.setenv("HUIQI_SWITCH_INTERVAL_MS", raw)
    assert serving_gc.switch_interval_from_env() == serving_gc.SWITCH_INTERVAL_MS


@pytest.mark.parametrize("raw, ms", [("0.5", 0.5), ("1", 1.0), (" 10 ", 10.0), ("1000", 1000.0)])
def test_a_good_value_is_read(raw, ms, monkeypatch):
    monkeypatch.setenv("HUIQI_SWITCH_INTERVAL_MS", raw)
    assert serving_gc.switch_interval_from_env() == ms
