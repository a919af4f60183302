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
          log_level: str = typer.Option("info", "--log-level", help="uvicorn 日志级别")) -> None:
    """启动网页应用与 REST API（接口文档 /api/docs）。首次启动时创建演示账号并在控制台显示一次密码。"""
    import uvicorn

    from huiqi.interfaces.web import create_app

    app = create_app(db, data, work)
    typer.echo(f"惠企政策服务平台：http://{host}:{port}/  （接口文档 http://{host}:{port}/api/docs，Ctrl+C 退出）")
    uvicorn.run(app, host=host, port=port, log_level=log_level, proxy_headers=False)


if __name__ == "__main__":  # python -m huiqi.interfaces.cli_serve
    typer.run(serve)
