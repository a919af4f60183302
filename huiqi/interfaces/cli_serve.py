"""`huiqi serve`: the web application (政策库、政策计算器、工作台) on one or several uvicorn processes.

Registered in huiqi/interfaces/cli.py with ``app.command()(serve)``.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer


def _prepare(db: str, data: str, work: str | None) -> None:
    """Everything a first start does once (tables, demo data, demo accounts, the parameter set, interrupted
    jobs), before the workers start: N workers starting together would race on it and print the passwords N times.
    The store alone, in this process before it becomes uvicorn's: a child interpreter building the whole app (routes,
    search index) took ~1.5–2 s before any worker started (START-6)."""
    from huiqi.interfaces.web.state import WebState

    WebState(db, data, work).shutdown()


def warm_calculator(app) -> None:
    """Compile the calculator's row plan for the default period under the active parameters, and build that
    period's stored enterprise facts with their index, before serving (~0.3–1 s and ~0.2 s on the demo data, once
    per process): otherwise the first checks each worker receives queue behind them (WEB10-2: a second worker's
    first stored-enterprise checks waited ~0.5 s under 50 clients)."""
    from huiqi.interfaces.web.state import DEFAULT_PERIOD
    from huiqi.services.calculator_rows import row_plan

    state = app.state.web
    values = state.ruleset.resolve_parameters(state.params_for_engine(state.active_set()["values"]))
    row_plan(state.ruleset, DEFAULT_PERIOD, "enterprise", values, None)
    try:
        state.facts_row("", DEFAULT_PERIOD)  # builds the period's facts frame and its credit-code index
    except Exception:  # noqa: BLE001 — only a warm-up: data that cannot give facts are reported to whoever asks
        pass


def serve(host: str = typer.Option("127.0.0.1", "--host", help="监听地址（对外提供服务请置于反向代理之后）"),
          port: int = typer.Option(8000, "--port", help="端口"),
          db: str = typer.Option("sqlite:///var/huiqi.db", "--db", help="数据库 URL（SQLite 或 postgresql://…）"),
          data: Path = typer.Option(Path("var/demo"), "--data", help="演示数据目录（Parquet；不存在则自动生成）"),
          work: Path = typer.Option(None, "--work", help="筛查结果文件目录（默认 <data>/../web）"),
          workers: int = typer.Option(1, "--workers", min=1, max=64,
                                      help="服务进程数（多核时可设为核数；各进程的限制见 docs/web.md）"),
          log_level: str = typer.Option("info", "--log-level", help="uvicorn 日志级别"),
          access_log: bool = typer.Option(True, "--access-log/--no-access-log",
                                          help="逐条记录访问日志（高负载且反向代理已记录时可关闭，省去每个请求的日志开销）"),
          trusted_proxies: str = typer.Option(None, "--trusted-proxies",
                                              help="受信任的反向代理地址（逗号分隔，如 127.0.0.1）；默认取环境变量 HUIQI_TRUSTED_PROXIES，未设则不信任任何代理头")) -> None:
    """启动网页应用与 REST API（接口文档 /api/docs）。首次启动时创建演示账号并在控制台显示一次密码。"""
    from dataclasses import replace

    import uvicorn

    from huiqi.interfaces.web import serving_gc
    from huiqi.interfaces.web.settings import WebSettings

    try:
        settings = WebSettings.from_env()
        if trusted_proxies is not None:
            settings = replace(settings, trusted_proxies=tuple(p.strip() for p in trusted_proxies.split(",") if p.strip()))
    except ValueError as e:
        typer.echo(f"错误：{e}", err=True)
        raise typer.Exit(2)
    banner = f"惠企政策服务平台：http://{host}:{port}/  （接口文档 http://{host}:{port}/api/docs，Ctrl+C 退出）"
    if workers == 1:
        from huiqi.interfaces.web import create_app

        app = create_app(db, data, work, settings=settings)
        warm_calculator(app)
        serving_gc.install()
        typer.echo(banner)
        # uvicorn's own proxy handling stays off: the app's setting (trusted proxies, default none) is the one switch
        uvicorn.run(app, host=host, port=port, log_level=log_level, proxy_headers=False, access_log=access_log)
        return
    import sys

    # uvicorn's workers are new processes that import the app by name: they read these settings
    os.environ.update(HUIQI_DB=db, HUIQI_DATA=str(data), HUIQI_WORK=str(work or ""))
    if settings.trusted_proxies:
        os.environ["HUIQI_TRUSTED_PROXIES"] = ",".join(settings.trusted_proxies)
    _prepare(db, str(data), str(work) if work else None)  # the database and its files are closed before the exec
    os.environ["HUIQI_PREPARED"] = "1"
    from huiqi.interfaces import process_defaults

    process_defaults.apply()  # the workers' allocator settings, read by Polars as each worker loads it (ALLOC-1)
    typer.echo(f"{banner}（{workers}个服务进程）")
    sys.stdout.flush()  # the exec drops anything still buffered: the demo passwords printed once
    sys.stderr.flush()
    # uvicorn spawns its workers, and a spawned child re-imports the main module: replace this process by
    # `python -m huiqi.interfaces.serve_workers` (uvicorn's supervisor, one listening socket per worker; its main
    # module is guarded) rather than whatever script started `huiqi`
    os.execv(sys.executable, [sys.executable, "-m", "huiqi.interfaces.serve_workers", "--workers", str(workers),
                              "--host", host, "--port", str(port), "--log-level", log_level,
                              *([] if access_log else ["--no-access-log"])])


if __name__ == "__main__":  # python -m huiqi.interfaces.cli_serve
    typer.run(serve)
