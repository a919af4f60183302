"""`huiqi calendar`: the 政策月历 — application windows and deadlines by month, or an iCalendar feed.

Registered in huiqi/interfaces/cli.py with one line, like the other sub-commands.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from huiqi.interfaces.cli_common import fail


def _enterprise_measures(facts_file: Path, period: str) -> list[str]:
    """The measures an enterprise qualifies for or could (every status but 不符合)."""
    import yaml

    from huiqi.engine.inputs import InputError
    from huiqi.services.calculator import check

    try:
        raw = yaml.safe_load(facts_file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        fail(f"无法读取企业信息文件：{e}")
    facts = raw.get("facts", raw) if isinstance(raw, dict) else None
    if not isinstance(facts, dict):
        fail("企业信息文件应为字段与取值的映射")
    try:
        return [r.measure_id for r in check(facts, period) if r.status != "不符合"]
    except (InputError, ValueError) as e:
        fail(str(e))


def calendar(month: Optional[str] = typer.Option(None, "--month", help="只看这个月，如 2024-06"),
             year: Optional[int] = typer.Option(None, "--year", help="只看这一年"),
             county: Optional[str] = typer.Option(None, "--county", help="县区名称或代码，如 柳南区、450204"),
             industry: Optional[str] = typer.Option(None, "--industry", help="国民经济行业代码（GB/T 4754），如 3670"),
             facts: Optional[Path] = typer.Option(None, "--facts", help="企业信息文件：只列本企业符合或可能符合的事项"),
             period: Optional[str] = typer.Option(None, "--period", help="与 --facts 一起：按哪一期判断，如 2024Q4"),
             fmt: str = typer.Option("table", "--format", help="table|json|ics")) -> None:
    """政策月历：按月列出申报窗口与截止日期（可按县区、行业、本企业可享受的措施筛选；可导出 iCalendar）。"""
    from huiqi.services import calendar as cal

    start = end = None
    try:
        if month:
            start, end = cal.month_range(month)
        elif year:
            start, end = date(year, 1, 1), date(year, 12, 31)
        measures = None
        if facts:
            if not period:
                fail("使用 --facts 时请用 --period 指明期间，如 2024Q4")
            measures = _enterprise_measures(facts, period)
        items = cal.entries(county=county, industry=industry, measures=measures, start=start, end=end)
    except ValueError as e:
        fail(str(e))
    if fmt == "ics":
        sys.stdout.buffer.write(cal.ical(items))
        return
    if fmt == "json":
        rows = [{"date": e.day.isoformat(), "kind": e.kind, "programme": e.programme, "window": e.window,
                 "office": e.office, "phones": list(e.phones), "document": e.document_title, "quote": e.quote,
                 "clause": e.clause, "programme_id": e.programme_id, "measures": list(e.measures)} for e in items]
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return
    if fmt != "table":
        fail("--format 只能是 table、json 或 ics")
    console = Console()
    if not items:
        console.print("所选范围内没有载明日期的申报窗口。")
    for m, rows in cal.by_month(items).items():
        year_s, mon = m.split("-")
        table = Table(title=f"{year_s}年{int(mon)}月", show_lines=False)
        for col in ("日期", "", "申报事项", "窗口", "受理/主管", "咨询电话"):
            table.add_column(col)
        for e in rows:
            table.add_row(f"{e.day.month}月{e.day.day}日", e.kind, e.programme, e.window, e.office or "",
                          "；".join(e.phones))
        console.print(table)
    undated = [p for _doc, p in cal.programmes(county, industry, measures)
               if p.windows and all(w.opens is None and w.closes is None for w in p.windows)]
    if undated:
        console.print("申报时间以通知为准或常年受理的事项：")
        for p in undated:
            office = f"（{p.office.label}）" if p.office else ""
            console.print(f"  · {p.name}：{'；'.join(cal.window_text(w) for w in p.windows)}{office}", markup=False,
                          soft_wrap=True)
