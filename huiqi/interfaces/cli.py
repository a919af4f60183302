"""The `huiqi` command line: policy library, rules, lint, and the one-entity calculator."""

from __future__ import annotations

# first: allocator settings must be in the environment before Polars or pyarrow load (docs/decisions.md ALLOC-1)
import huiqi.interfaces.process_defaults  # noqa: F401  (isort: skip)

import json
import sys
import time
from datetime import date
from pathlib import Path
from typing import Optional

import typer
import yaml
from rich.console import Console
from rich.table import Table

from huiqi.core import money
from huiqi.engine.inputs import InputError
from huiqi.interfaces.cli_common import DEFAULT_DATA, SCREEN_SCANS, fail as _fail, has_rows, import_in_background, load_tables as _load_tables, pairs as _pairs
from huiqi.rules.loader import RuleFileError

app = typer.Typer(help="huiqi 惠企：政策即代码（政策库、规则、计算器）", no_args_is_help=True, add_completion=False)
docs_app = typer.Typer(help="政策库：文件与条款", no_args_is_help=True)
rules_app = typer.Typer(help="规则：已编码的措施", no_args_is_help=True)
app.add_typer(docs_app, name="docs")
app.add_typer(rules_app, name="rules")
console = Console()


def _print_json(data) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


# -- docs -------------------------------------------------------------------------------------------
@docs_app.command("list")
def docs_list(level: Optional[str] = typer.Option(None, help="层级：国家/自治区/市"),
              as_of: Optional[str] = typer.Option(None, "--as-of", help="按此日期判断状态（默认今天）"),
              fmt: str = typer.Option("table", "--format", help="table|json")) -> None:
    """列出全部政策文件。"""
    from huiqi.policies.library import default_library

    when = date.fromisoformat(as_of) if as_of else None
    docs = [d for d in default_library() if not level or d.level == level]
    if fmt == "json":
        _print_json([{"id": d.id, "title": d.title, "wenhao": d.wenhao, "issuer": d.issuer, "level": d.level,
                      "department": d.department, "year": d.year, "issued": d.issued, "topics": d.topics,
                      "status": d.status(when), "valid_from": d.valid_from, "valid_to": d.valid_to,
                      "clauses": len(d.clauses)} for d in docs])
        return
    table = Table("编号", "标题", "文号", "层级", "状态", "条款数")
    for d in docs:
        table.add_row(d.id, d.title, d.wenhao or "", d.level, d.status(when), str(len(d.clauses)))
    console.print(table)


@docs_app.command("show")
def docs_show(doc_id: str, fmt: str = typer.Option("text", "--format", help="text|json")) -> None:
    """显示一份文件及其条款（条款编号可用于规则引用）。"""
    from huiqi.policies.library import default_library

    try:
        d = default_library().document(doc_id)
    except KeyError as e:
        _fail(str(e).strip("'\""))
    if fmt == "json":
        _print_json({"id": d.id, "title": d.title, "wenhao": d.wenhao, "issuer": d.issuer, "level": d.level,
                     "department": d.department, "issued": d.issued, "year": d.year, "topics": d.topics,
                     "status": d.status(), "status_reason": d.status_reason(), "valid_from": d.valid_from,
                     "valid_to": d.valid_to, "validity_basis": d.validity_basis, "note": d.note,
                     "clauses": [{"id": c.id, "label": c.label, "lines": c.lines, "text": c.text} for c in d.clauses]})
        return
    console.print(f"[bold]{d.title}[/bold]  {d.wenhao or ''}")
    console.print(f"发文：{d.issuer or '—'}  主管部门：{d.department or '未载明'}  层级：{d.level}  成文：{d.issued or d.year or '未载明'}")
    console.print(f"状态：{d.status()}（{d.status_reason()}）  主题：{'、'.join(d.topics) or '—'}")
    for c in d.clauses:
        console.print(f"\n[cyan]{c.id}[/cyan]（第{c.lines[0]}–{c.lines[1]}行）")
        console.print(c.text.strip(), markup=False)


# -- rules ------------------------------------------------------------------------------------------
def _ruleset():
    from huiqi.services.calculator import default_ruleset

    try:
        return default_ruleset()
    except RuleFileError as e:
        _fail(str(e))


@rules_app.command("list")
def rules_list(document: Optional[str] = typer.Option(None, help="只列此文件的措施"),
               period: Optional[str] = typer.Option(None, help="只列适用于此期间的措施，如 2024Q4"),
               fmt: str = typer.Option("table", "--format", help="table|json")) -> None:
    """列出已编码的措施。"""
    rs = _ruleset()
    rows = [(m, f) for m, f in rs.measures_for(period) if not document or f.rules.document == document]
    if fmt == "json":
        _print_json([{"id": m.id, "name": m.name, "document": f.rules.document, "clause": m.clauses,
                      "entity": m.entity, "kind": m.kind, "class": m.class_,
                      "periods": m.periods or f.rules.defaults.periods} for m, f in rows])
        return
    table = Table("编号", "名称", "文件", "条款", "对象", "类别")
    for m, f in rows:
        table.add_row(m.id, m.name, f.rules.document, ",".join(m.clauses), m.entity, m.class_)
    console.print(table)
    console.print(f"共 {len(rows)} 项措施（规则版本 {rs.version}）")


@rules_app.command("show")
def rules_show(measure_id: str, fmt: str = typer.Option("yaml", "--format", help="yaml|json")) -> None:
    """显示一项措施的完整规则。"""
    rs = _ruleset()
    if measure_id not in rs.measures:
        _fail(f"没有编号为 {measure_id} 的措施（huiqi rules list 可查看全部）")
    m, f = rs.measures[measure_id]
    data = m.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["document"] = f.rules.document
    data["periods"] = m.periods or f.rules.defaults.periods
    if fmt == "json":
        _print_json(data)
    else:
        sys.stdout.write(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


# -- lint -------------------------------------------------------------------------------------------
@app.command()
def lint(rules_dir: Optional[Path] = typer.Option(None, "--rules-dir", help="规则目录（默认内置规则）")) -> None:
    """核对规则与原文：引文逐字一致、数字见于原文、措辞与运算符一致、分档无重叠缺口、单位一致。"""
    from huiqi.rules.application_lint import lint_applications
    from huiqi.rules.lint import Linter
    from huiqi.rules.loader import load_rules

    try:
        source = load_rules(rules_dir) if rules_dir else None
        findings = Linter(source).run() + lint_applications(rules=source)
    except RuleFileError as e:
        _fail(str(e), 1)
    for f in findings:
        console.print(str(f), markup=False)
    rs_count = len(list(load_rules(rules_dir).measures())) if rules_dir else len(list(_ruleset().measures))
    if findings:
        console.print(f"[red]lint 未通过：{len(findings)} 个问题[/red]")
        raise typer.Exit(1)
    from huiqi.rules.application import default_applications

    console.print(f"[green]lint 通过[/green]：{rs_count} 项措施、{len(default_applications())} 项申报事项，引文与数字均与原文一致")


# -- check ------------------------------------------------------------------------------------------
def _read_facts(path: Path) -> tuple[dict, dict]:
    """A facts file: either flat {field: value} or {period?, entity?, money_unit?, facts: {...}}."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        _fail(f"无法读取 {path}：{e}")
    if not isinstance(raw, dict):
        _fail(f"{path}：内容应为字段与取值的映射")
    if "facts" in raw:
        meta = {k: v for k, v in raw.items() if k != "facts"}
        return raw["facts"] or {}, meta
    return raw, {}


@app.command()
def check(file: Path = typer.Argument(..., help="一个主体的数据（JSON 或 YAML）"),
          period: Optional[str] = typer.Option(None, help="评估期间，如 2024Q4（默认取文件中的 period）"),
          entity: Optional[str] = typer.Option(None, help="主体类型：enterprise/project/county/person"),
          param: list[str] = typer.Option([], "--param", help="参数覆盖 name=value，可多次"),
          money_unit: Optional[str] = typer.Option(None, "--money-unit", help="未标单位的金额按此单位（元/万元）"),
          fmt: str = typer.Option("table", "--format", help="table|json")) -> None:
    """政策计算器：一个主体在某期间可享受的全部措施、金额、依据与差距。"""
    from huiqi.engine.evaluate import ParameterError
    from huiqi.services.calculator import check as run_check, summarize

    facts, meta = _read_facts(file)
    period = period or meta.get("period")
    if not period:
        _fail("请用 --period 指定评估期间（如 2024Q4），或在文件中写 period")
    params = {**(meta.get("params") or {}), **_pairs(param)}
    started = time.perf_counter()
    try:
        results = run_check(facts, str(period), entity=entity or meta.get("entity", "enterprise"), params=params,
                            ruleset=_ruleset(), money_unit=money_unit or meta.get("money_unit"))
    except (InputError, ParameterError) as e:
        _fail(str(e))
    elapsed = (time.perf_counter() - started) * 1000
    summary = summarize(results)
    if fmt == "json":
        _print_json({"period": period, "summary": summary, "results": [r.to_dict() for r in results]})
        return
    colors = {"符合": "green", "不符合": "red", "待补充信息": "yellow", "参数待定": "blue"}
    for r in results:
        amount = "" if r.amount_yuan is None else f"  {money.yuan_text(r.amount_yuan * 100, grouping=True)} 元"
        color = colors.get(r.status, "white")
        shown = f"{r.status}·未选（与同组措施不可兼得）" if r.selected is False else r.status
        console.print(f"[bold]{r.measure_id}[/bold] {r.name}  [{color}]【{shown}】[/]{amount}", markup=True)
        console.print("  " + r.explanation, markup=False, soft_wrap=False)
        console.print()
    console.print(f"合计可享：{summary['total_yuan']} 元；" +
                  "，".join(f"{k}{v}项" for k, v in summary["counts"].items()) + f"（用时 {elapsed:.1f} 毫秒）")


def main() -> None:
    app()


if __name__ == "__main__":
    main()


@app.command()
def fields(fmt: str = typer.Option("table", "--format", help="table|markdown|json")) -> None:
    """数据字典：规则可读取的全部输入字段（名称、中文标签、类型、单位、期间、来源）。"""
    from huiqi.rules.fields import default_dictionary

    items = sorted(default_dictionary(), key=lambda f: (f.entity, f.name))
    if fmt == "json":
        _print_json([f.model_dump() for f in items])
    elif fmt == "markdown":
        sys.stdout.write(data_dictionary_markdown())
    else:
        table = Table("字段", "中文标签", "类型", "单位", "期间", "对象", "来源")
        for f in items:
            table.add_row(f.name, f.label, f.type, f.unit or "", f.period or "", f.entity, f.source or "")
        console.print(table)


def data_dictionary_markdown() -> str:
    """docs/data-dictionary.md, generated from huiqi/rules/fields/*.yaml (a test keeps the two in step)."""
    from huiqi.rules.fields import default_dictionary

    lines = ["# 数据字典 (data dictionary)", "",
             "Generated by `huiqi fields --format markdown` from `huiqi/rules/fields/*.yaml`; do not edit by hand.",
             "", "Money fields are entered in 元 (or 万元/亿元 where the header or value says so) and computed in",
             "integer 分. Periods are relative to the period being evaluated: 当季 = that quarter, 上年同季 = the same",
             "quarter a year earlier, 本年累计 = January to the end of that period.", ""]
    entity = None
    for f in sorted(default_dictionary(), key=lambda f: (f.entity, f.name)):
        if f.entity != entity:
            entity = f.entity
            lines += ["", f"## {entity}", "", "| 字段 | 中文标签 | 类型 | 单位 | 期间 | 来源 | 别名 |", "|---|---|---|---|---|---|---|"]
        lines.append(f"| `{f.name}` | {f.label} | {f.type} | {f.unit or ''} | {f.period or ''} | {f.source or ''} | "
                     f"{'、'.join(f.aliases)} |")
    return "\n".join(lines) + "\n"


@rules_app.command("coverage")
def rules_coverage(fmt: str = typer.Option("table", "--format", help="table|markdown")) -> None:
    """对照措施目录：哪些已编码、哪些未编码（及原因）。"""
    text = coverage_markdown()
    if fmt == "markdown":
        sys.stdout.write(text)
    else:
        console.print(text, markup=False)


def coverage_markdown() -> str:
    """docs/coverage.md: each catalog entry → the measures that encode it, or the reason it is not encoded."""
    from huiqi.rules.loader import RULES_DIR, default_rules

    catalog = yaml.safe_load((RULES_DIR.parent / "catalog.yaml").read_text(encoding="utf-8"))["entries"]
    source = default_rules()
    encoded: dict[str, list[str]] = {}
    reasons: dict[str, str] = {}
    layers: dict[str, str] = {}
    for f in source.files:
        for m in f.rules.measures:
            encoded.setdefault(m.catalog_id or m.id, []).append(m.id)
        for item in f.rules.not_encoded:
            reasons[str(item.get("catalog_id"))] = str(item.get("reason", ""))
        d = f.rules.defaults
        layer = [x for x, on in (("有效期", d.valid_to), ("取整", d.rounding != "none"), ("申报门槛", d.gates),
                                 ("预算参数", d.budget_parameter), ("比例限额为上限", d.rates_are_upper_bounds)) if on]
        layers[f.rules.document] = "、".join(layer)
    rows, counts = [], {"encoded": 0, "not": 0, "missing": 0}
    for e in catalog:
        cid = e["id"]
        if e.get("layer"):
            doc = cid.split("-")[0]
            state = f"文件级规则（{layers.get(doc) or '未编码'}）"
        elif cid in encoded:
            state, counts["encoded"] = "已编码：" + ", ".join(encoded[cid]), counts["encoded"] + 1
        elif cid in reasons:
            state, counts["not"] = "不编码：" + reasons[cid], counts["not"] + 1
        else:
            state, counts["missing"] = "尚未编码", counts["missing"] + 1
        rows.append(f"| `{cid}` | {e['class']} | {e['name']} | {state} |")
    head = ["# 措施覆盖 (coverage of the rules catalog)", "",
            "Generated by `huiqi rules coverage --format markdown`; do not edit by hand.", "",
            f"Of {sum(1 for e in catalog if not e.get('layer'))} computable catalog measures: {counts['encoded']} encoded, "
            f"{counts['not']} deliberately not encoded (reason given), {counts['missing']} not yet encoded.", "",
            "| 目录编号 | 类别 | 名称 | 状态 |", "|---|---|---|---|"]
    return "\n".join(head + rows) + "\n"


# -- data and screening -----------------------------------------------------------------------------
def _progress():
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                    TimeElapsedColumn(), console=Console(stderr=True), transient=False)


@app.command("demo-data")
def demo_data(out: Path = typer.Option(DEFAULT_DATA, "--out", help="输出目录（Parquet）"),
              enterprises: int = typer.Option(10_000, "--enterprises", help="规上工业企业数"),
              seed: int = typer.Option(2024, help="随机种子（同一种子生成完全相同的数据）")) -> None:
    """生成广西工业企业模拟数据（确定性，可复现），作为内置演示数据。"""
    from huiqi.data.synthetic import generate, write_parquet

    from huiqi.core.atomic import fresh_dir
    from huiqi.data.columns import TABLES

    started = time.perf_counter()
    tables = generate(enterprises, seed=seed)
    with fresh_dir(out, lambda name: name in {f"{t}.parquet" for t in TABLES}) as tmp:  # all tables or none
        write_parquet(tables, tmp)
    sizes = "，".join(f"{k} {v.height:,}行" for k, v in tables.items())
    console.print(f"已生成 {out}（{time.perf_counter() - started:.1f} 秒）：{sizes}")


@app.command()
def screen(period: str = typer.Option(..., help="期间，如 2024Q4"),
           measures: Optional[str] = typer.Option(None, help="只筛查这些措施（逗号分隔）"),
           data: Path = typer.Option(DEFAULT_DATA, "--data", help="数据目录（Parquet）"),
           db: Optional[str] = typer.Option(None, "--db", help="数据库 URL（替代 --data）"),
           out: Path = typer.Option(Path("out"), "--out", help="输出目录（每次整体替换，中断不留半成品）或 .xlsx 文件"),
           param: list[str] = typer.Option([], "--param", help="参数覆盖 name=value，可多次"),
           budget_policy: str = typer.Option("pro_rata", "--budget-policy", help="超预算时：pro_rata 按比例 / ranked 按金额排序"),
           prior: Optional[Path] = typer.Option(None, "--prior", help="本年度此前各期已兑现结果（结果文件夹或其中的 results.parquet），用于年度累计封顶"),
           assume: list[str] = typer.Option([], "--assume", help="无数据来源的事实按此值计入每个主体（字段=值，只补缺，不覆盖已有数据；记入 manifest 与汇总表）"),
           csv: bool = typer.Option(False, "--csv", help="另外输出 results.csv（默认只输出 Excel 与 Parquet）"),
           todo: bool = typer.Option(False, "--todo", help="另外按县区输出逐户待补充信息表（待补充信息_县区.xlsx，可补齐后重新导入）"),
           list_pending: bool = typer.Option(False, "--list-pending", help="结果表逐户列出“参数待定”的行（默认只按措施与参数计数，记入汇总表与参数待定汇总）")) -> None:
    """免申即享筛查：全部企业逐项判断、核定金额，输出拟兑现名单（Excel）与结果表。"""
    from huiqi.engine.allocate import AllocationOptions
    from huiqi.engine.evaluate import ParameterError
    from huiqi.services.award_list import period_label, write_run
    from huiqi.services.screening import directory_hash, screen as run_screen

    params = _pairs(param)
    if budget_policy not in ("pro_rata", "ranked"):
        _fail("--budget-policy 只能是 pro_rata 或 ranked")
    import_in_background("pyarrow.parquet")  # the result files' writer, imported while the data is screened
    # the large side tables as Parquet scans: the facts read a period's rows of them, and nothing holds them after
    tables = _load_tables(data, db, scan=SCREEN_SCANS)
    if "enterprises" not in tables or not has_rows(tables["enterprises"]):
        _fail("没有企业数据：请先导入（huiqi import）或生成演示数据（huiqi demo-data）")
    prior_frame = None
    if prior:
        import polars as pl

        from huiqi.services.award_list import read_results

        if not prior.exists():
            _fail(f"--prior 指定的 {prior} 不存在")
        try:  # either results format, the folder or its results.parquet (entities.parquet beside it)
            prev = read_results(prior, ["entity_id", "measure_id", "final_fen"])
        except (OSError, ValueError, pl.exceptions.PolarsError) as e:
            _fail(f"--prior 无法读取 {prior}：{e}")
        prior_frame = prev.group_by("entity_id", "measure_id").agg(pl.col("final_fen").sum().alias("prior_fen"))
    with _progress() as bar:
        task = bar.add_task("筛查", total=1)

        def tick(desc, done, total):
            bar.update(task, description=desc, completed=done, total=total)

        try:  # paid rows first: the workbook is written while the full listing is built (docs/decisions.md PIPE-1)
            staged = run_screen(tables, period, params=params, measures=measures.split(",") if measures else None,
                                options=AllocationOptions(budget_policy, prior_frame), progress=tick,
                                assume=_pairs(assume, "--assume") or None, list_pending=list_pending,
                                data_hash=None if db else directory_hash(data),  # every file, the panel too
                                paid_first=True)
        except (ParameterError, ValueError) as e:
            _fail(str(e))
        try:  # all files or none: a kill leaves the previous complete run (huiqi.core.atomic)
            xlsx, *files = write_run(staged, out, notice=lambda m: console.print(m, markup=False), csv=csv, todo=todo)
        except ValueError as e:  # from the listing (screening's) or from writing
            _fail(str(e))
    run = staged.early  # the paid rows and the manifest: all the summary line reads
    paid = run.paid()
    console.print(f"{period_label(period)}筛查完成：{paid['entity_id'].n_unique():,} 个主体、{paid.height:,} 项拟兑现，"
                  f"合计 {money.wan_text(run.total_fen(), grouping=True)} 万元（运行编号 {run.manifest['run_id']}，规则版本 "
                  f"{run.manifest['rules_version']}，数据快照 {run.manifest['data_hash']}）")
    console.print(f"拟兑现名单：{xlsx}")
    for f in files:
        console.print(f"结果：{f}")


@app.command("import")
def import_(files: list[Path] = typer.Argument(..., help="Excel（.xlsx）、CSV 或 Parquet 文件，可多个"),
            db: str = typer.Option("sqlite:///var/huiqi.db", "--db", help="数据库 URL（默认内置 SQLite）"),
            table: Optional[str] = typer.Option(None, "--table", help="目标表（默认按表头/工作表名识别）"),
            money_unit: Optional[str] = typer.Option(None, "--money-unit", help="表头未标单位的金额列按此单位（元/万元）"),
            check_only: bool = typer.Option(False, "--check", help="只检查，不写入"),
            county: Optional[str] = typer.Option(None, "--county", help="以县区工信部门身份导入：每行须属于此县区（按文件与库中已有数据判断）")) -> None:
    """导入企业数据：全部通过才写入（全有或全无），同一文件重复导入不产生变化。"""
    from huiqi.data.importer import import_files
    from huiqi.data.store import Store

    started = time.perf_counter()
    store = None
    if not check_only:
        if db.startswith("sqlite:///"):
            Path(db.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        from huiqi.migrations import upgrade

        upgrade(db)
        store = Store(db)
    if county is not None and store is None:  # --check with a county scope: judge against the database too
        store = Store(db)
        held, store = store, None
    else:
        held = store
    result = import_files(files, store, table, money_unit=money_unit, county=county, held=held)
    console.print(result.to_text(), markup=False)
    console.print(f"（用时 {time.perf_counter() - started:.1f} 秒）")
    if not result.ok:
        raise typer.Exit(1)


# sub-commands that live in their own modules
from huiqi.interfaces.cli_search import search as _search_command  # noqa: E402

app.command("search", help="政策库条款检索（中文分词 + BM25，支持两字词与文号）")(_search_command)
from huiqi.interfaces.cli_monitor import monitor as _monitor_command  # noqa: E402

app.command("monitor", help="运行监测：四张重点企业清单、临规/临退规、行业增长对标、县区综合排名")(_monitor_command)
from huiqi.interfaces.cli_simulate import simulate as _simulate_command  # noqa: E402

app.command("simulate", help="政策沙盘：参数或版本调整后的成本、受益面、分布、得失与反向求解")(_simulate_command)
from huiqi.interfaces.cli_serve import serve as _serve_command  # noqa: E402

app.command("serve", help="启动网页应用（政策库、政策计算器、工作台）与 REST API")(_serve_command)
from huiqi.interfaces.cli_calendar import calendar as _calendar_command  # noqa: E402

app.command("calendar", help="政策月历：申报窗口与截止日期（按县区、行业、本企业筛选；可导出 iCalendar）")(_calendar_command)
