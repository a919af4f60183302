"""What every `huiqi` sub-command shares: a Chinese error exit, name=value options, loading the data tables."""

from __future__ import annotations

from pathlib import Path
from typing import Collection, Optional

import typer
from rich.console import Console

DEFAULT_DATA = Path("var/demo")
# the large tables screening reads a period's rows of: Parquet scans, not held whole (docs/decisions.md FACTS-3);
# the register and the projects too, of which the facts read a few columns, the projects only for project measures
# (PEER2-2, PEER3-3)
SCREEN_SCANS = ("scale_status", "designations", "credit_records", "events", "project_investment", "enterprises",
                "projects")


def fail(message: str, code: int = 2) -> None:
    """Print a Chinese error on stderr and exit (2 = bad input)."""
    Console(stderr=True).print(f"[red]错误：[/red]{message}")
    raise typer.Exit(code)


def pairs(items: list[str], option: str = "--param") -> dict[str, str]:
    """['a=1', 'b=2'] → {'a': '1', 'b': '2'}; a malformed item is a clear error."""
    out = {}
    for item in items:
        if "=" not in item:
            fail(f"{option} 应写作 name=value：{item}")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def load_tables(data: Path, db: Optional[str], scan: Collection[str] = ()):
    """The data tables from a database URL, or from a Parquet directory (the panel layout when present).

    From a panel-layout directory, the indicator panel and the tables named in ``scan`` are Parquet scans (lazy
    frames), read only for the rows and columns a computation asks for and not held afterwards: screening names
    the register, designation, credit, event and investment tables, of which a period reads a fraction."""
    if db:
        from huiqi.data.store import Store

        return Store(db).read_all()
    if not data.exists():
        fail(f"数据目录 {data} 不存在：先运行 huiqi demo-data，或用 --data 指定")
    if (data / "indicator_panel.parquet").exists():  # the panel layout for large data (huiqi.data.panel)
        import polars as pl

        from huiqi.data.panel import INDEX, panel_index_current
        from huiqi.services.screening import RUN_OUTPUT_STEMS

        files = sorted(p for p in data.glob("*.parquet") if p.stem != "indicators" and p.stem not in RUN_OUTPUT_STEMS)
        lazy = {"indicator_panel", *scan}
        tables = {p.stem: (pl.scan_parquet(p) if p.stem in lazy else pl.read_parquet(p)) for p in files}
        if not panel_index_current(data):  # the register changed since the panel was written: its row numbers lie
            tables["indicator_panel"] = tables["indicator_panel"].drop(INDEX, strict=False)
        return tables
    from huiqi.data.synthetic import read_parquet

    return read_parquet(data)


def has_rows(table) -> bool:
    """Whether a table (a frame, or a Parquet scan: then from the file's metadata) holds any row."""
    import polars as pl

    if isinstance(table, pl.LazyFrame):
        return bool(table.select(pl.len()).collect().item())
    return table.height > 0


def import_in_background(*modules: str) -> None:
    """Start importing ``modules`` on a daemon thread, for a command that will need them only later: screening
    writes its result files through pyarrow, whose import (~0.1–0.2 s) then runs beside the reading and the
    evaluation (native Polars work, outside the interpreter lock) instead of before the write. An import the
    command reaches first simply waits for this one to finish (the import system's per-module lock)."""
    import importlib
    import threading

    def load() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except ImportError:  # the command's own import reports it, in its place
                return

    threading.Thread(target=load, name="huiqi-imports", daemon=True).start()
