"""One money module (issue 8): 1234565000 分 = 1234.565万元 displays as 1234.57 everywhere (四舍五入, half up).

Before, the web pages rounded half-even (1234.56), the CLI total went through a binary float (1234.56) and the
Excel award list rounded half up (1234.57)."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import openpyxl
import xlsxwriter

from huiqi.core import money

FEN = 1_234_565_000  # 12,345,650.00 元 = 1234.565万元: the half-way case
ROOT = Path(__file__).resolve().parents[1] / "huiqi"


def test_1234565000_fen_displays_identically_in_cli_api_web_and_excel(tmp_path):
    from huiqi.engine.explain import fmt_yuan
    from huiqi.interfaces.web import sandbox, state
    from huiqi.services import award_list, monitoring, simulation

    assert money.fmt_wan(FEN) == "1,234.57万元"
    # web (REST API and pages share state.wan_text; the sandbox has its own filters)
    assert state.wan_text(FEN) == sandbox.wan_text(FEN) == "1234.57"
    assert sandbox.fmt_wan("1234.565") == "1,234.57"
    assert simulation.fmt_wan(FEN) == "1,234.57万元"  # CLI simulate and the sandbox messages
    # Excel: the award list and monitoring write the rounded value with the #,##0.00 format
    assert award_list.wan2(FEN) == monitoring.wan2(FEN) == 1234.57
    path = tmp_path / "x.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    fmt = award_list._Formats(wb)
    wb.add_worksheet("s").write_number(0, 0, award_list.wan2(FEN), fmt.wan)
    wb.close()
    cell = openpyxl.load_workbook(path)["s"]["A1"]
    assert f"{cell.value:,.2f}" == "1,234.57" and cell.number_format == "#,##0.00"
    # explanations: a fraction of a 分 rounds half up too
    assert fmt_yuan(Decimal("0.005")) == "0.01元"


def test_cli_screen_total_uses_the_money_module():
    """The CLI total was `run.total_fen() / 1_000_000` (a binary float: 1234.565 → 1234.56)."""
    from huiqi.interfaces import cli

    assert money.wan_text(FEN, grouping=True) == "1,234.57"
    source = Path(cli.__file__).read_text(encoding="utf-8")
    assert "total_fen() / 1_000_000" not in source and "money.wan_text(run.total_fen()" in source


def test_no_display_site_formats_money_through_a_float():
    """Every display site goes through huiqi.core.money: no `fen / 1_000_000` or `/ SCALE:.2f` left."""
    pattern = re.compile(r"(/ ?1_000_000\b(?!\))|/ SCALE:\.2f|/ 100:\.2f|float\(Decimal\(fen\) / )")
    offenders = []
    for path in ROOT.rglob("*.py"):
        if path.name == "synthetic.py":  # generates data, displays nothing
            continue
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
