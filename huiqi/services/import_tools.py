"""Import helpers for people (issue 11): an Excel template with Chinese headers for every import table, and a
preview of what an import would change (rows added / changed / unchanged per table) before anything is written.

The template's sheet names and headers are the tables' and columns' Chinese labels (huiqi.data.columns), which
the importer reads back as they are — a filled-in template imports unchanged."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import xlsxwriter

from huiqi.data.columns import TABLES


def write_template(path: Path) -> Path:
    """下载导入模板: one sheet per import table, row 1 = the Chinese headers (required ones marked in a note)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False})
    head = wb.add_format({"bold": True, "bg_color": "#EEF2F7", "border": 1})
    need = wb.add_format({"bold": True, "bg_color": "#FDECEA", "border": 1})
    for table in TABLES.values():
        ws = wb.add_worksheet(table.label)
        for i, c in enumerate(table.columns):
            ws.write_string(0, i, c.label, need if c.required else head)
            ws.set_column(i, i, max(12, 2 * len(c.label) + 4))
            note = "必填" if c.required else "选填"
            if c.aliases:
                note += "；也可写作：" + "、".join(c.aliases[:4])
            ws.write_comment(0, i, note)
        ws.freeze_panes(1, 0)
    wb.close()
    return path


def preview(held: dict[str, pl.DataFrame], new: dict[str, pl.DataFrame]) -> list[dict]:
    """Per table (Chinese label): rows the import would add, change and leave unchanged, compared by the table's
    key with the data held now."""
    out = []
    for name, frame in new.items():
        if frame.height == 0:
            continue
        t = TABLES[name]
        key = list(t.key)
        frame = frame.select([pl.col(c).cast(d) for c, d in t.schema.items()]).unique(subset=key, keep="last")
        old = held.get(name)
        if old is None or old.height == 0:
            out.append({"table": t.label, "added": frame.height, "changed": 0, "unchanged": 0})
            continue
        old = old.select([pl.col(c).cast(d) for c, d in t.schema.items()]).unique(subset=key, keep="last")
        added = frame.join(old.select(key), on=key, how="anti", nulls_equal=True).height
        others = [c for c in t.schema if c not in key]
        both = frame.join(old, on=key, how="inner", suffix="__old", nulls_equal=True)
        if others:
            same = pl.all_horizontal([pl.col(c).eq_missing(pl.col(f"{c}__old")) for c in others])
            unchanged = both.filter(same).height
        else:
            unchanged = both.height
        out.append({"table": t.label, "added": added, "changed": both.height - unchanged, "unchanged": unchanged})
    return out


def table_label(name: str) -> str:
    """'enterprises' → '企业' (import messages name tables in Chinese)."""
    t = TABLES.get(name)
    return t.label if t else name
