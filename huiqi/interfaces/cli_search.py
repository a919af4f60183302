"""`huiqi search`: clause-level search over the policy library (a command for the main Typer app).

Registered in huiqi/interfaces/cli.py with one line::

    from huiqi.interfaces.cli_search import search as search_command; app.command("search")(search_command)
"""

from __future__ import annotations

import json
import re
import sys
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

_MARK = re.compile(r"【([^【】]*)】")


def _highlighted(snippet: str) -> Text:
    """The snippet with each 【match】 shown in bold (the brackets kept, so it reads the same without colour)."""
    text, pos = Text(), 0
    for m in _MARK.finditer(snippet):
        text.append(snippet[pos:m.start()])
        text.append(m.group(0), style="bold yellow")
        pos = m.end()
    text.append(snippet[pos:])
    return text


def search(query: str = typer.Argument(..., help="检索词：如 技改、贴息、桂工信综合〔2024〕328号"),
           limit: int = typer.Option(20, "--limit", "-n", help="最多显示多少条"),
           level: Optional[str] = typer.Option(None, "--level", help="层级：国家/自治区/市"),
           document: Optional[str] = typer.Option(None, "--document", help="只在这份文件中检索（文件编号，如 gx2024q4）"),
           status: Optional[str] = typer.Option(None, "--status", help="状态：有效/已失效/未载明有效期/尚未施行/征求意见稿（按今天判断）"),
           fmt: str = typer.Option("table", "--format", help="table|text|json")) -> None:
    """按条款检索政策库（支持两字词、政策用语和文号）。"""
    from huiqi.services.search import default_index

    try:
        hits = default_index().search(query, limit=limit, level=level, document=document, status=status)
    except ValueError as e:
        Console(stderr=True).print(f"[red]错误：[/red]{e}")
        raise typer.Exit(2) from None
    if fmt == "json":
        sys.stdout.write(json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=2) + "\n")
        return
    console = Console()
    if not hits:
        console.print(f"没有找到与“{query}”相关的条款。", markup=False)
        return
    if fmt == "text":
        for n, h in enumerate(hits, 1):
            title = h.document_title if h.document_title.startswith("《") else f"《{h.document_title}》"
            head = f"{n}. {h.clause_id}  {h.label}  {title}{h.wenhao or ''}  {h.level}·{h.status}"
            console.print(head, markup=False, highlight=False)
            console.print(_highlighted(h.snippet), highlight=False)
            if h.measures:
                console.print(f"   已编码措施：{'、'.join(h.measures)}", markup=False, highlight=False)
        return
    table = Table("条款", "文件", "层级·状态", "内容", "已编码措施", show_lines=True)
    for h in hits:
        table.add_row(Text(f"{h.clause_id}\n{h.label}"), Text(f"{h.document_title}\n{h.wenhao or ''}".strip()),
                      Text(f"{h.level}·{h.status}"), _highlighted(h.snippet), Text("\n".join(h.measures)))
    console.print(table)
    console.print(f"共 {len(hits)} 条（按相关度排序；文号完全匹配的文件排在最前）。", markup=False)
