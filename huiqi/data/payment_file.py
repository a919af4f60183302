"""The treasury's 拨付 file: one row per payment (docs/payout.md, 「拨付文件模板」).

    统一社会信用代码 | 措施/项目 | 拨付金额（元） | 拨付日期 | 凭证号

Read through the importer's guarded readers (size, zip-bomb, formula and control-character checks), every cell
validated with huiqi.core.money / huiqi.core.bounds; every problem names the row (the header is row 1) and the
column. Whether a payment matches an approved row is the service's business (huiqi.services.payout).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from huiqi.core import bounds, money
from huiqi.data import importer

COLUMNS = {  # canonical header → accepted spellings (after removing spaces and unifying brackets)
    "统一社会信用代码": ("统一社会信用代码", "信用代码"),
    "措施/项目": ("措施/项目", "措施", "项目", "措施名称", "项目名称"),
    "拨付金额（元）": ("拨付金额（元）", "拨付金额", "金额（元）"),
    "拨付日期": ("拨付日期", "日期"),
    "凭证号": ("凭证号", "拨付凭证号", "凭证编号"),
}
MAX_ROWS = 100_000


def _norm(header: str | None) -> str:
    h = re.sub(r"\s+", "", header or "").replace("(", "（").replace(")", "）").replace("／", "/")
    return h


@dataclass
class Payment:
    row: int  # the row as the spreadsheet shows it
    credit_code: str
    measure: str  # an ID or a measure's Chinese name, as written
    amount_fen: int
    paid_on: date
    voucher: str


@dataclass
class PaymentFile:
    file: str
    sheet: str = ""
    payments: list[Payment] = field(default_factory=list)
    problems: list[tuple] = field(default_factory=list)  # (file, sheet, row, column, value, reason)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, row: int | None, column: str | None, value, reason: str) -> None:
        self.problems.append((self.file, self.sheet, row, column, None if value is None else str(value), reason))


def problem_lines(problems: list[tuple], limit: int = 200) -> list[str]:
    """Each problem as one Chinese line: 文件〔表〕 第n行 “列”＝“值”：原因."""
    lines = []
    for file, sheet, row, column, value, reason in problems[:limit]:
        where = Path(file).name + (f"〔{sheet}〕" if sheet else "")
        where += f" 第{row}行" if row else ""
        what = f" “{column}”" if column else ""
        what += f"＝“{importer._shown(value)}”" if value not in (None, "") else ""
        lines.append(f"{where}{what}：{reason}")
    if len(problems) > limit:
        lines.append(f"……另有{len(problems) - limit}个问题未列出")
    return lines


def read_payments(path: str | Path, display_name: str | None = None) -> PaymentFile:
    path = Path(path)
    out = PaymentFile(display_name or path.name)
    try:
        sheets = [s for s in importer._read(path, None, bounds.ImportLimits.from_env()) if not s.blank]
    except importer._Bad as e:
        out.add(None, None, None, str(e))
        return out
    if not sheets:
        out.add(None, None, None, "文件中没有数据")
        return out
    sheet = sheets[0]
    out.sheet = sheet.name
    for r, c, value, reason in sheet.cells:  # formulas without values, Excel error values …
        out.add(r, importer._col_letter(c), value, reason)
    where: dict[str, int] = {}
    for i, h in enumerate(sheet.header):
        for canon, spellings in COLUMNS.items():
            if _norm(h) in spellings and canon not in where:
                where[canon] = i
    for canon in COLUMNS:
        if canon not in where:
            out.add(sheet.first_row, canon, None, f"缺少“{canon}”列（模板列：{'、'.join(COLUMNS)}）")
    if out.problems:
        return out
    if sheet.height > MAX_ROWS:
        out.add(None, None, None, f"行数过多（{sheet.height}行，最多{MAX_ROWS}行）")
        return out
    for i in range(sheet.height):
        row = sheet.row_number(i)
        cells = {canon: sheet.columns[j][i] for canon, j in where.items()}
        if all(v in (None, "") for v in cells.values()):
            continue  # an empty line between blocks
        parsed = {}
        for canon, value in cells.items():
            try:
                parsed[canon] = _parse(canon, value)
            except (importer._Bad, money.MoneyError, bounds.OutOfBounds) as e:
                out.add(row, canon, value, str(e))
        if len(parsed) == len(COLUMNS):
            out.payments.append(Payment(row, parsed["统一社会信用代码"], parsed["措施/项目"], parsed["拨付金额（元）"],
                                        parsed["拨付日期"], parsed["凭证号"]))
    if not out.payments and not out.problems:
        out.add(None, None, None, "文件中没有拨付记录")
    return out


def _parse(column: str, value: str | None):
    if value is None or str(value).strip() == "":
        raise importer._Bad("不能为空")
    text = bounds.check_text(str(value).strip(), 256)
    if column == "统一社会信用代码":
        return importer._credit(text)
    if column == "拨付金额（元）":
        fen = money.parse_fen(text, "元")
        if fen is None or fen <= 0:
            raise importer._Bad("拨付金额应大于0")
        if fen > bounds.MONEY_MAX_FEN:
            raise importer._Bad("拨付金额超出合理范围，请核对单位和数值")
        return fen
    if column == "拨付日期":
        return importer.parse_date(text)
    if column == "凭证号":
        if len(text) > 64:
            raise importer._Bad("凭证号过长（最多64个字符）")
        return text
    return text
