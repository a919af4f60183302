"""The cell formats of every huiqi workbook (award lists, monitoring lists): 宋体 11, bordered cells, a blue
header row, 万元 with two decimals — one definition so the workbooks look the same."""

from __future__ import annotations


class SheetFormats:
    def __init__(self, wb, *, title_size: int = 16, title_wrap: bool = False, pct_format: str = "0.00%"):
        base = {"font_name": "宋体", "font_size": 11, "valign": "vcenter"}
        cell = {**base, "border": 1}
        self.title = wb.add_format({**base, "bold": True, "font_size": title_size, "align": "center",
                                    **({"text_wrap": True} if title_wrap else {})})
        self.unit = wb.add_format({**base, "align": "right"})
        self.head = wb.add_format({**cell, "bold": True, "align": "center", "text_wrap": True, "bg_color": "#DDEBF7"})
        self.text = wb.add_format(cell)
        self.wrap = wb.add_format({**cell, "text_wrap": True})
        self.wan = wb.add_format({**cell, "num_format": "#,##0.00"})
        self.yuan = wb.add_format({**cell, "num_format": "#,##0.00"})
        self.pct = wb.add_format({**cell, "num_format": pct_format})
        self.int = wb.add_format({**cell, "num_format": "0"})
        self.total = wb.add_format({**cell, "bold": True, "num_format": "#,##0.00"})
        self.total_text = wb.add_format({**cell, "bold": True, "align": "center"})
