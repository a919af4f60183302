"""The payout loop's documents: the 公示 list as Excel and as a PDF in 公文 layout (title, body with the 公示期 and
its dates, the list, contact, 发布单位 and date as the 落款), the report workbook, and the treasury template.

PDF through fpdf2 with the Noto CJK fonts found by fontconfig (scripts/system-packages.sh installs them): Serif
Bold for the title (小标宋's place), Serif for the body. Money in 万元 with two decimals, rounded half up
(huiqi.core.money).
"""

from __future__ import annotations

import subprocess
from datetime import date
from functools import lru_cache
from pathlib import Path

import xlsxwriter

from huiqi.core import money
from huiqi.core.atomic import atomic_file

TEMPLATE_COLUMNS = ["统一社会信用代码", "措施/项目", "拨付金额（元）", "拨付日期", "凭证号"]


def cn_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


_QUARTERS = {"1": "第一季度", "2": "第二季度", "3": "第三季度", "4": "第四季度"}


def period_text(period: str) -> str:
    """'2024Q4' → '2024年第四季度' (a 公文 title writes the period out)."""
    year, _, q = period.partition("Q")
    return f"{year}年{_QUARTERS[q]}" if q in _QUARTERS else period


def notice_title(info: dict, county_name: str) -> str:
    return f"{county_name}{period_text(info['period'])}惠企政策免申即享拟兑现名单公示"


def notice_body(info: dict, count: int, total_fen: int) -> str:
    return (f"经数据比对和审核，{count}项惠企政策兑现事项拟予兑现，金额合计{money.wan_text(total_fen)}万元，"
            f"现予以公示。公示期为{info['publicity_days']}个工作日（{cn_date(info['publicity_start'])}至"
            f"{cn_date(info['publicity_end'])}）。公示期间，如对名单有异议，请以实名方式向{info['issuer']}反映，"
            f"并提供必要的证明材料。联系人及电话：{info['contact']}。")


def _workbook(path: Path):
    return xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False})


def publicity_xlsx(path: Path, info: dict, county_name: str, rows: list[dict]) -> Path:
    total = sum(r["amount_fen"] for r in rows)
    with atomic_file(path) as tmp:
        wb = _workbook(tmp)
        ws = wb.add_worksheet("公示名单")
        title = wb.add_format({"bold": True, "font_size": 16, "align": "center"})
        wrap = wb.add_format({"text_wrap": True, "valign": "top"})
        head = wb.add_format({"bold": True, "border": 1, "bg_color": "#EEEEEE", "align": "center"})
        cell = wb.add_format({"border": 1})
        num = wb.add_format({"border": 1, "num_format": "0.00"})
        ws.merge_range(0, 0, 0, 4, notice_title(info, county_name), title)
        ws.merge_range(1, 0, 1, 4, notice_body(info, len(rows), total), wrap)
        ws.set_row(1, 75)
        for j, h in enumerate(["序号", "企业名称", "统一社会信用代码", "政策措施", "兑现金额（万元）"]):
            ws.write(3, j, h, head)
        for i, r in enumerate(rows, start=1):
            ws.write_number(3 + i, 0, i, cell)
            ws.write_string(3 + i, 1, r["name"], cell)
            ws.write_string(3 + i, 2, r["credit_code_masked"], cell)
            ws.write_string(3 + i, 3, r["measure_name"], cell)
            ws.write_number(3 + i, 4, float(money.wan(r["amount_fen"])), num)  # 2 decimals, already rounded half up
        n = 4 + len(rows)
        ws.write_string(n, 3, "合计", head)
        ws.write_number(n, 4, float(money.wan(total)), num)
        ws.write_string(n + 2, 3, info["issuer"])
        ws.write_string(n + 3, 3, cn_date(info["publicity_start"]))
        ws.set_column(0, 0, 6)
        ws.set_column(1, 1, 36)
        ws.set_column(2, 2, 22)
        ws.set_column(3, 3, 44)
        ws.set_column(4, 4, 16)
        wb.close()
    return path


@lru_cache(maxsize=4)
def cjk_font(pattern: str) -> tuple[str, int]:
    """(file, index in the collection) of a Noto CJK font, by fontconfig."""
    try:
        out = subprocess.run(["fc-match", "-f", "%{file}|%{index}", pattern], capture_output=True, text=True,
                             timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    file, _, index = out.partition("|")
    if "CJK" not in file:
        raise RuntimeError("未安装 Noto CJK 字体，无法生成 PDF（见 scripts/system-packages.sh）")
    return file, int(index or 0)


def publicity_pdf(path: Path, info: dict, county_name: str, rows: list[dict]) -> Path:
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    class Notice(FPDF):
        def footer(self):  # 公文 page numbers: “— 1 —” centred at the foot
            self.set_y(-25)
            self.set_font("serif", size=14)
            self.cell(0, 8, f"— {self.page_no()} —", align="C")

    total = sum(r["amount_fen"] for r in rows)
    pdf = Notice(format="A4")
    pdf.set_margins(26, 37, 26)  # GB/T 9704 版心: 天头37mm, 订口28mm — rounded to a symmetric page
    pdf.set_auto_page_break(True, 35)
    for name, pattern in (("serif", "Noto Serif CJK SC"), ("title", "Noto Serif CJK SC:bold"),
                          ("sans", "Noto Sans CJK SC")):
        file, index = cjk_font(pattern)
        pdf.add_font(name, fname=file, collection_font_number=index)
    pdf.set_title(notice_title(info, county_name))
    pdf.set_creator("惠企 huiqi")
    pdf.add_page()
    pdf.set_font("title", size=22)  # 二号
    pdf.multi_cell(0, 12, notice_title(info, county_name), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("serif", size=14)
    pdf.set_x(pdf.l_margin + 2 * 14 * 0.3528)  # 首行缩进两字 (14 pt = 4.94 mm a character)
    pdf.write(8, notice_body(info, len(rows), total))
    pdf.ln(12)
    pdf.set_font("sans", size=9)
    with pdf.table(col_widths=(10, 46, 38, 44, 22), text_align=("CENTER", "LEFT", "CENTER", "LEFT", "RIGHT"),
                   headings_style=FontFace(emphasis=None, fill_color=(235, 235, 235)), line_height=6) as table:
        table.row(["序号", "企业名称", "统一社会信用代码", "政策措施", "金额（万元）"])
        for i, r in enumerate(rows, start=1):
            table.row([str(i), r["name"], r["credit_code_masked"], r["measure_name"], r["amount_wan"]])
        table.row(["", "合计", "", f"{len(rows)}项", money.wan_text(total)])
    pdf.ln(10)
    pdf.set_font("serif", size=14)
    pdf.cell(0, 8, info["issuer"], align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 8, cn_date(info["publicity_start"]), align="R", new_x="LMARGIN", new_y="NEXT")
    with atomic_file(path) as tmp:
        pdf.output(str(tmp))
    return path


def report_xlsx(path: Path, report: dict, county_names: dict[str, str]) -> Path:
    cols = [("拟兑现项数", "computed_n"), ("拟兑现金额（万元）", "computed_fen"), ("剔除项数", "removed_n"),
            ("剔除金额（万元）", "removed_fen"), ("批准项数", "approved_n"), ("批准金额（万元）", "approved_fen"),
            ("确认项数", "confirmed_n"), ("确认金额（万元）", "confirmed_fen"), ("放弃项数", "declined_n"),
            ("已拨付项数", "paid_n"), ("已拨付金额（万元）", "paid_fen")]
    with atomic_file(path) as tmp:
        wb = _workbook(tmp)
        head = wb.add_format({"bold": True, "bg_color": "#EEEEEE", "border": 1})
        num = wb.add_format({"num_format": "0.00"})
        for sheet, key, label in (("按县区", "by_county", "县区"), ("按措施", "by_measure", "政策措施")):
            ws = wb.add_worksheet(sheet)
            ws.write_row(0, 0, [label] + [c for c, _ in cols], head)
            items = list(report[key].items()) + [("合计", report["total"])]
            for i, (k, acc) in enumerate(items, start=1):
                name = ("合计" if k == "合计" else county_names.get(k, k)) if key == "by_county" else \
                    ("合计" if k == "合计" else report["measure_names"].get(k, k))
                ws.write_string(i, 0, name)
                for j, (_c, f) in enumerate(cols, start=1):
                    if f.endswith("_fen"):
                        ws.write_number(i, j, float(money.wan(acc[f])), num)
                    else:
                        ws.write_number(i, j, acc[f])
            ws.set_column(0, 0, 40)
            ws.set_column(1, len(cols), 14)
        wb.close()
    return path


def template_xlsx(path: Path) -> Path:
    with atomic_file(path) as tmp:
        wb = _workbook(tmp)
        ws = wb.add_worksheet("拨付记录")
        ws.write_row(0, 0, TEMPLATE_COLUMNS, wb.add_format({"bold": True}))
        ws.set_column(0, 4, 24)
        notes = wb.add_worksheet("填写说明")  # the first sheet is the one read: instructions stay out of it
        for i, line in enumerate([
                "每行一笔拨付；只读取第一个工作表，表头为第1行。",
                "统一社会信用代码：18位；措施/项目：措施的中文名称（与公示名单一致）或措施编号；",
                "拨付金额（元）：精确到分，须与批准金额一致；拨付日期：YYYY-MM-DD；凭证号：国库支付凭证号，不得重复。",
                "整个文件全部通过校验才写入；任何一行有误，都不写入，并按行、列列出问题。"]):
            notes.write_string(i, 0, line)
        wb.close()
    return path
