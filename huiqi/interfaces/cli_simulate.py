"""`huiqi simulate` — 政策沙盘: a baseline against a scenario, and the inverse solve, from the command line.

Registered in huiqi/interfaces/cli.py with ``app.command("simulate")(simulate)``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from huiqi.interfaces.cli_common import DEFAULT_DATA, fail as _fail, load_tables as _load_tables, pairs as _pairs

console = Console()


def _edits(items: list[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for key, sql in _pairs(items, "--edit").items():
        if ":" not in key:
            _fail(f"--edit 应写作 措施编号:amount|cap|minimum|条件编号=表达式：{key}")
        mid, what = key.split(":", 1)
        out.setdefault(mid.strip(), {})[what.strip()] = sql
    return out


def _wan(fen) -> str:
    from huiqi.services.simulation import fmt_wan

    return fmt_wan(fen).removesuffix("万元") if fen is not None else "—"


def _n(v) -> str:
    return "—" if v is None else f"{v:,}"


def simulate(period: str = typer.Option(..., help="期间，如 2025Q3"),
             param: list[str] = typer.Option([], "--param", help="基线与情景共同的参数 name=value（可多次）"),
             compare_param: list[str] = typer.Option([], "--compare-param",
                                                     help="情景的参数调整 name=value（可多次；可用 措施.rate、措施.cap、文件.rate）"),
             version: list[str] = typer.Option([], "--version",
                                               help="情景中以另一版本的措施替换：本期措施=另一措施（如 gx2025h2-01=gx2024q4-02a）"),
             edit: list[str] = typer.Option([], "--edit", help="情景中改写措施：措施:amount|cap|minimum|条件=表达式"),
             assume: list[str] = typer.Option([], "--assume", help="测算假定：缺失数据按此值（字段=值，只补缺，不覆盖已有数据）"),
             measures: Optional[str] = typer.Option(None, help="只测算这些措施（逗号分隔）"),
             solve: Optional[str] = typer.Option(None, "--solve", help="反向求解的参数（如 gx2025h2_01_amount、lz2026q3.rate）"),
             budget: Optional[str] = typer.Option(None, "--budget", help="求解目标：预算（元）"),
             beneficiaries: Optional[int] = typer.Option(None, "--beneficiaries", help="求解目标：受益主体数"),
             step: Optional[str] = typer.Option(None, "--step", help="求解步长（默认：比例0.01%，金额1元或1万元，数量1）"),
             low: Optional[str] = typer.Option(None, "--low", help="求解下限（默认参数下限或0）"),
             high: Optional[str] = typer.Option(None, "--high", help="求解上限（默认参数上限；比例默认100%）"),
             data: Path = typer.Option(DEFAULT_DATA, "--data", help="数据目录（Parquet）"),
             db: Optional[str] = typer.Option(None, "--db", help="数据库 URL（替代 --data）"),
             budget_policy: str = typer.Option("pro_rata", "--budget-policy", help="超预算时：pro_rata 按比例 / ranked 按金额排序"),
             out: Optional[Path] = typer.Option(None, "--out", help="测算对比 Excel（.xlsx）"),
             fmt: str = typer.Option("table", "--format", help="table|json")) -> None:
    """政策沙盘：基线与情景对比（按措施、县区、行业、企业规模，增加/减少名单，未符合原因），可反向求解比例或上限。"""
    from huiqi.engine.allocate import AllocationOptions
    from huiqi.engine.inputs import InputError
    from huiqi.services.award_list import period_label
    from huiqi.services.simulation import Comparison, Scenario, SimulationError, Simulator, write_comparison

    if budget_policy not in ("pro_rata", "ranked"):
        _fail("--budget-policy 只能是 pro_rata 或 ranked")
    if solve and (budget is None) == (beneficiaries is None):
        _fail("--solve 需要 --budget（元）或 --beneficiaries（个）之一")
    common = _pairs(param, "--param")
    changes = _pairs(compare_param, "--compare-param")
    versions = _pairs(version, "--version")
    edits = _edits(edit)
    tables = _load_tables(data, db)
    try:
        sim = Simulator(tables, period, measures=measures.split(",") if measures else None,
                        options=AllocationOptions(budget_policy), assume=_pairs(assume, "--assume") or None)
        baseline = Scenario("基线", common)
        scenario = Scenario("情景", {**common, **changes}, versions, edits)
        base_run = sim.run(baseline)
        changed = bool(changes or versions or edits)
        scen_run = sim.run(scenario) if changed else base_run
        cmp = Comparison(base_run, scen_run)
        solution = None
        if solve:
            solution = sim.solve(solve, budget_yuan=budget, beneficiaries=beneficiaries, base=scenario, step=step,
                                 low=low, high=high)
    except (SimulationError, InputError, ValueError) as e:
        _fail(str(e))

    if fmt == "json":
        bm = cmp.by_measure()
        sys.stdout.write(json.dumps({
            "period": period, "baseline": baseline.describe(), "scenario": scenario.describe(),
            "measures": bm.to_dicts(), "winners": cmp.winners().height, "losers": cmp.losers().height,
            "why_not": cmp.scenario.why_not().to_dicts(),
            "solution": solution.as_dict() if solution else None}, ensure_ascii=False, indent=2, default=str) + "\n")
    else:
        label = period_label(sim.period)
        console.print(f"[bold]{label}政策沙盘[/bold]")
        console.print(f"基线：{'；'.join(baseline.describe()) or '现行参数'}", markup=False, soft_wrap=True)
        if changed:
            console.print(f"情景：{'；'.join(scenario.describe())}", markup=False, soft_wrap=True)
        bm = cmp.by_measure().filter(pl_money())
        table = Table("措施", "名称", "基线受益", "情景受益", "基线测算（万元）", "情景测算（万元）", "变化（万元）",
                      "情景兑现（万元）", "待补充信息", "参数待定", title="按措施（测算金额：预算控制前；兑现：预算控制后）")
        for r in bm.iter_rows(named=True):
            table.add_row(r["measure_id"], r["name"], _n(r["base_beneficiaries"]), _n(r["scen_beneficiaries"]),
                          _wan(r["base_cost_fen"]), _wan(r["scen_cost_fen"]), _wan(r["delta_cost_fen"]),
                          _wan(r["scen_paid_fen"]), _n(r["scen_missing"]), _n(r["scen_pending"]))
        table.add_row("合计", "", "", "", _wan(int(bm["base_cost_fen"].sum() or 0)),
                      _wan(int(bm["scen_cost_fen"].sum() or 0)), _wan(int(bm["delta_cost_fen"].sum() or 0)),
                      _wan(int(bm["scen_paid_fen"].sum() or 0)), "", "")
        console.print(table)
        if changed:
            size = cmp.distribution("size")
            t2 = Table("企业规模", "基线户数", "情景户数", "基线兑现（万元）", "情景兑现（万元）", "变化（万元）",
                       title="按企业规模（工信部联企业〔2011〕300号，工业）")
            for r in size.iter_rows(named=True):
                t2.add_row(r["group"], _n(r["base_n"]), _n(r["scen_n"]), _wan(r["base_fen"]), _wan(r["scen_fen"]),
                           _wan(r["delta_fen"]))
            console.print(t2)
            console.print(f"兑现金额增加的主体 {cmp.winners().height:,} 个，减少的 {cmp.losers().height:,} 个。")
        wn = cmp.scenario.why_not().filter(pl_failing())
        t3 = Table("措施", "排除最多的条件", "未满足此条件", "仅此条件未满足", "差距在10%以内", title="未符合原因（情景）")
        for mid in wn["measure_id"].unique(maintain_order=True).to_list():
            top = wn.filter(measure_id_is(mid)).row(0, named=True)
            t3.add_row(mid, f"{top['condition_id']}：{top['text']}", _n(top["failing"]), _n(top["only_failing"]),
                       _n(top["within_10pct"]))
        if wn.height:
            console.print(t3)
        if solution is not None:
            console.print(f"[bold]反向求解[/bold]（{solution.evaluations}次测算，{solution.seconds:.1f}秒）：")
            console.print(solution.message, markup=False, soft_wrap=True)
        if out is None:
            console.print(f"（用时：基线 {base_run.seconds:.2f} 秒，情景 {scen_run.seconds:.2f} 秒；--out 文件.xlsx 可导出明细）")
    if out is not None:
        final_cmp = cmp
        if solution is not None and solution.forward is not None:
            final_cmp = Comparison(base_run, solution.forward)
        from huiqi.core.atomic import atomic_file

        with atomic_file(out) as tmp:  # a kill leaves the previous workbook, never half of one
            write_comparison(final_cmp, tmp, solution=solution)
        if fmt != "json":
            console.print(f"测算对比：{out}")


def pl_money():
    import polars as pl

    return pl.col("kind") == "money"


def pl_failing():
    import polars as pl

    return pl.col("failing") > 0


def measure_id_is(mid: str):
    import polars as pl

    return pl.col("measure_id") == mid


app = typer.Typer(add_completion=False)
app.command("simulate")(simulate)

if __name__ == "__main__":  # pragma: no cover
    app()
