"""WEB2-5: `huiqi serve --no-access-log` reaches uvicorn (one process and several); the default logs as before;
the serving process installs its garbage-collector policy after warming the calculator (WEB2-2)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from huiqi.interfaces import cli_serve
from huiqi.interfaces.cli import app


@pytest.fixture
def served(monkeypatch):
    calls: list = []
    import uvicorn

    from huiqi.interfaces import web
    from huiqi.interfaces.web import serving_gc

    monkeypatch.setattr(web, "create_app", lambda *a, **k: "APP")
    monkeypatch.setattr(cli_serve, "warm_calculator", lambda app: calls.append("warm"))
    monkeypatch.setattr(serving_gc, "install", lambda: calls.append("gc"))
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(kw))
    return calls


@pytest.mark.parametrize("flag, expected", [([], True), (["--no-access-log"], False), (["--access-log"], True)])
def test_access_log_switch_one_process(served, flag, expected):
    result = CliRunner().invoke(app, ["serve", *flag])
    assert result.exit_code == 0, result.output
    assert served[:2] == ["warm", "gc"]  # the collector's policy after everything start-up loads
    assert served[2]["access_log"] is expected and served[2]["proxy_headers"] is False


@pytest.mark.parametrize("flag, expected", [([], False), (["--no-access-log"], True)])
def test_access_log_switch_several_processes(serve_environment, monkeypatch, tmp_path, flag, expected):
    import os

    seen = {}
    monkeypatch.setattr(cli_serve, "_prepare", lambda *a: seen.setdefault("prepared", a))
    monkeypatch.setattr(os, "execv", lambda exe, argv: seen.setdefault("argv", argv))
    result = CliRunner().invoke(app, ["serve", "--workers", "2", "--db", f"sqlite:///{tmp_path / 'x.db'}", *flag])
    assert result.exit_code == 0, result.output
    assert ("--no-access-log" in seen["argv"]) is expected
    assert seen["prepared"][0] == f"sqlite:///{tmp_path / 'x.db'}"  # the database prepared once, before the exec
