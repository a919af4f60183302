"""`huiqi monitor`: 运行监测（驾驶舱数据）— the enterprise lists, sector growth vs targets, the 县区 ranking.

Registered in huiqi/interfaces/cli.py with ``app.command("monitor")(monitor)``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from huiqi.interfaces.cli_common import DEFAULT_DATA, fail as _fail, load_tables as _load_tables

console = Console()


def _num(v, fmt: str = "{:,.2f}") -> str:
    return "—" if v is None else fmt.format(v)


def monitor(period: str = typer.Option(..., help="期间，如 2024Q4"),
            data: Path = typer.Option(DEFAULT_DATA, "--data", help="数据目录（Parquet）"),
            db: Optional[str] = typer.Option(None, "--db", help="数据库 URL（替代 --data）"),
            out: Optional[Path] = typer.Option(None, "--out", help="Excel 文件（默认 out/运行监测_<期间>.xlsx）"),
            weight_invest: str = typer.Option("1/2", "--weight-invest", help="县区综合评分：投资完成率权重（如 0.5、1/2）"),
            weight_output: str = typer.Option("1/2", "--weight-output", help="县区综合评分：产值完成率权重"),
            linggui_lower: str = typer.Option("1500万元", "--linggui-lower", help="临规下限（含），如 1500万元"),
            growth_basis: str = typer.Option("ytd", "--growth-basis", help="正/负增长口径：ytd 本年累计 / q 当季"),
            new_months: int = typer.Option(12, "--new-months", help="新建投产：入库在期末前几个月内"),
            targets: Optional[str] = typer.Option(None, "--targets", help="行业目标文件：gx2024q4 / gx2024q2 / lz2026q3"),
            fmt: str = typer.Option("table", "--format", help="table|json（json 为驾驶舱数据）"),
            limit: int = typer.Option(50, "--limit", help="json 中每张清单最多列出的企业数（0 = 全部）")) -> None:
    """运行监测：四张重点企业清单、临规、临退规、行业增长对照目标、县区综合评分排名，导出 Excel。"""
    from huiqi.core.periods import Period
    from huiqi.services.monitoring import LISTS, MonitorSettings, list_rules, monitor as run_monitor
    from huiqi.services.monitoring import period_label, wan2, write_excel

    try:
        Period.parse(period)
        settings = MonitorSettings().with_overrides({
            "weight_invest": weight_invest, "weight_output": weight_output, "linggui_lower_fen": linggui_lower,
            "growth_basis": growth_basis, "new_within_months": new_months, "targets": targets})
    except (ValueError, ZeroDivisionError, ArithmeticError) as e:
        _fail(str(e))
    if fmt not in ("table", "json"):
        _fail("--format 只能是 table 或 json")
    tables = _load_tables(data, db)
    started = time.perf_counter()
    try:
        report = run_monitor(tables, period, settings)
    except ValueError as e:
        _fail(str(e))
    xlsx = out or Path("out") / f"运行监测_{period}.xlsx"
    from huiqi.core.atomic import atomic_file

    with atomic_file(xlsx) as tmp:  # a kill leaves the previous workbook, never half of one
        write_excel(report, tmp)
    elapsed = time.perf_counter() - started
    if fmt == "json":
        sys.stdout.write(json.dumps(report.to_dict(limit=limit or None), ensure_ascii=False, indent=2, default=str) + "\n")
        return

    label = period_label(period)
    rules = list_rules(settings)
    console.print(f"[bold]{label}工业运行监测[/bold]（规则版本 {report.rules_version}，用时 {elapsed:.1f} 秒）")
    t = Table("清单", "户数", "判定规则", title="重点企业清单")
    for key, name in LISTS.items():
        t.add_row(name, f"{report.lists[key].height:,}", rules[key])
    t.add_row("待补充信息", f"{report.pending.height:,}", "数据缺失、无法判断是否列入的企业（见 Excel“待补充信息”）")
    console.print(t)

    doc = report.target_document
    title = f"行业增长（{doc.title}：{doc.period_label}，范围{doc.region}）" if doc else "行业增长（本年累计产值同比）"
    t = Table("行业", "对应数据行业", "目标", "实际增速%", "上年同期%", "完成情况", "差距(百分点)", "计入/规上户数", title=title)
    for r in report.sectors.iter_rows(named=True):
        target = "—" if r["kind"] is None else (f"增长{r['target_pct']:g}%以上" if r["target_pct"] is not None else r["kind"])
        t.add_row(r["sector"], r["data_sectors"] or "—", target, _num(r["actual_pct"]),
                  _num(r["prev_actual_pct"]), r["status"], _num(r["gap_pp"]), f"{r['used']}/{r['members']}")
    console.print(t)

    if report.ranking.height:
        t = Table("名次", "县区", "投资完成率%", "产值完成率%", "综合评分", "激励（万元）",
                  title=f"县区综合评分排名（权重：投资 {settings.weight_invest}，产值 {settings.weight_output}；并列取较前名次）")
        for r in report.ranking.iter_rows(named=True):
            rank = "—" if r["rank"] is None else f"{r['rank']}{'（并列）' if r['tied'] else ''}"
            t.add_row(rank, f"{r['city_name'] or ''}{r['county_name'] or r['county_code']}", _num(r["invest_rate_pct"]),
                      _num(r["output_rate_pct"]), _num(r["score_pct"], "{:.4f}"),
                      _num(wan2(r["award_fen"])) if r["award_fen"] else ("—" if r["award_status"] is None else "0"))
        console.print(t)
    for note in report.notes:
        console.print(f"注：{note}")
    console.print(f"监测清单：{xlsx}")
