"""`huiqi serve`: the web application (政策库、政策计算器、工作台) on one uvicorn process.

Registered in huiqi/interfaces/cli.py with ``app.command()(serve)``.
"""

from __future__ import annotations

from pathlib import Path

import typer


def serve(host: str = typer.Option("127.0.0.1", "--host", help="监听地址（对外提供服务请置于反向代理之后）"),
          port: int = typer.Option(8000, "--port", help="端口"),
          db: str = typer.Option("sqlite:///var/huiqi.db", "--db", help="数据库 URL（SQLite 或 postgresql://…）"),
          data: Path = typer.Option(Path("var/demo"), "--data", help="演示数据目录（Parquet；不存在则自动生成）"),
          work: Path = typer.Option(None, "--work", help="筛查结果文件目录（默认 <data>/../web）"),
          log_level: str = typer.Option("info", "--log-level", help="uvicorn 日志级别"),
          trusted_proxies: str = typer.Option(None, "--trusted-proxies",
                                              help="受信任的反向代理地址（逗号分隔，如 127.0.0.1）；默认取环境变量 HUIQI_TRUSTED_PROXIES，未设则不信任任何代理头")) -> None:
    """启动网页应用与 REST API（接口文档 /api/docs）。首次启动时创建演示账号并在控制台显示一次密码。"""
    from dataclasses import replace

    import uvicorn

    from huiqi.interfaces.web import create_app
    from huiqi.interfaces.web.settings import WebSettings

    try:
        settings = WebSettings.from_env()
        if trusted_proxies is not None:
            settings = replace(settings, trusted_proxies=tuple(p.strip() for p in trusted_proxies.split(",") if p.strip()))
    except ValueError as e:
        typer.echo(f"错误：{e}", err=True)
        raise typer.Exit(2)
    app = create_app(db, data, work, settings=settings)
    typer.echo(f"惠企政策服务平台：http://{host}:{port}/  （接口文档 http://{host}:{port}/api/docs，Ctrl+C 退出）")
    # uvicorn's own proxy handling stays off: the app's setting (trusted proxies, default none) is the one switch
    uvicorn.run(app, host=host, port=port, log_level=log_level, proxy_headers=False)


if __name__ == "__main__":  # python -m huiqi.interfaces.cli_serve
    typer.run(serve)
