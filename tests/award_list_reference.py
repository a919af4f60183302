"""The award-list writer as it was before issue 9's EXCEL work (huiqi/services/award_list.py at 654d8f9), kept
unchanged as the oracle the faster writer is compared with cell by cell (tests/test_award_list_excel.py). Not product
code: only the tests import it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Iterable, Sequence

import polars as pl
import xlsxwriter

from huiqi.services.award_list import (
    _indicator_columns,
    _pending_rows,
    _write_assumptions,
    _write_table_at,
    period_label,
    suppliable_missing,
    wan2,
    yuan,
)
from huiqi.services.presenters import MONITORING_MEASURES, missing_grid, sheet_names
from huiqi.services.screening import ScreeningRun
from huiqi.services.xlsx_style import SheetFormats
from huiqi.services.xlsx_style import SheetFormats as _Formats


def _sheet_table(ws, fmt: _Formats, title: str, headers: list[tuple[str, int]], rows: Iterable[Sequence],
                 kinds: list[str],
                 total_cols: dict[int, float] | None = None) -> None:
    ws.merge_range(0, 0, 0, len(headers) - 1, title, fmt.title)
    ws.merge_range(1, 0, 1, len(headers) - 1, "单位：万元", fmt.unit)
    for c, (h, width) in enumerate(headers):
        ws.write_string(2, c, h, fmt.head)
        ws.set_column(c, c, width)
    ws.set_row(2, 30)
    styles = {"text": fmt.text, "wrap": fmt.wrap, "wan": fmt.wan, "yuan": fmt.yuan, "pct": fmt.pct, "int": fmt.int}
    r = 2
    for r, row in enumerate(rows, start=3):
        for c, (value, kind) in enumerate(zip(row, kinds)):
            if value is None:
                ws.write_blank(r, c, None, styles[kind])
            elif kind in ("text", "wrap"):
                ws.write_string(r, c, str(value), styles[kind])  # 统一社会信用代码 stays text
            else:
                ws.write_number(r, c, value, styles[kind])
    if total_cols is not None:
        r += 1
        ws.write_string(r, 0, "合计", fmt.total_text)
        for c in range(1, len(headers)):
            if c in total_cols:
                ws.write_number(r, c, total_cols[c], fmt.total)  # a value, not a formula
            else:
                ws.write_blank(r, c, None, fmt.total)
    ws.freeze_panes(3, 0)
    # printable as an officer files it: landscape A4, one page wide, header rows repeated
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(2)


def write_excel(run: ScreeningRun, path: Path, *, per_enterprise: bool = False) -> Path:
    """The 拟兑现名单 workbook for a screening run: 汇总, one sheet per paid measure, 待补充信息 counted per measure
    and missing fact. With ``per_enterprise`` (a county's download) also the per-enterprise to-do sheets
    (:func:`write_todo`); a whole province's would pass Excel's 1,048,576 rows a sheet (docs/decisions.md SCREEN-1)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False})
    created = datetime.combine(run.period_end, datetime.min.time())
    wb.set_properties({"title": f"{period_label(run.period)}拟兑现名单", "author": "huiqi", "created": created,
                       "comments": f"规则版本 {run.manifest['rules_version']}；数据快照 {run.manifest['data_hash']}"})
    fmt = SheetFormats(wb)
    label = period_label(run.period)
    paid = run.paid()
    dictionary = run.ruleset.dictionary

    # summary sheet
    ws = wb.add_worksheet("汇总")
    by_measure = paid.group_by("measure_id", maintain_order=True).agg(pl.len().alias("n"), pl.col("final_fen").sum())
    rows = []
    for mid, n, total in by_measure.sort("measure_id").iter_rows():
        m = run.plans[mid].measure
        rows.append([len(rows) + 1, m.name, run.citations[mid], n, wan2(total)])
    # officers read measure names; the ID stays in results.csv and the API (issue 11)
    _sheet_table(ws, fmt, f"{label}惠企政策免申即享拟兑现名单汇总（按措施）",
                 [("序号", 6), ("措施名称", 40), ("依据", 50), ("户数", 8), ("金额", 14)],
                 rows, ["int", "wrap", "wrap", "int", "wan"],
                 {3: float(sum(r[3] for r in rows)), 4: wan2(int(paid["final_fen"].sum() or 0))})
    start = len(rows) + 6
    waiting = _pending_rows(run, {mid: cm.measure.name for mid, cm in run.plans.items()})
    if waiting:  # the officer sees on the first sheet that some amounts wait on a decision, not on data
        per_measure = {m: n for _i, m, _p, _b, n in waiting}  # a measure's count stands for each of its parameters
        ws.write_string(start - 2, 0, f"另有 {len(per_measure)} 项措施共 {sum(per_measure.values()):,} 户次因 "
                        f"{len({p for _i, _m, p, _b, _n in waiting})} 个参数尚未确定而暂不能核定，"
                        "逐项见“待补充信息”表“参数待定汇总”。", fmt.text)
    paid = paid.with_columns(pl.concat_str([pl.col("city_name"), pl.col("county_name")], ignore_nulls=True)
                             .alias("place"))
    for dim, dim_label in (("place", "设区市·县区"), ("sector", "行业")):
        grouped = paid.group_by(dim).agg(pl.col("entity_id").n_unique().alias("n"), pl.col("final_fen").sum()) \
            .sort(dim, nulls_last=True)
        ws.write_string(start, 0, f"按{dim_label}汇总", fmt.head)
        ws.write_string(start, 1, dim_label, fmt.head)
        ws.write_string(start, 2, "户数", fmt.head)
        ws.write_string(start, 3, "金额", fmt.head)
        for i, (name, n, total) in enumerate(grouped.iter_rows(), start=1):
            ws.write_number(start + i, 0, i, fmt.int)
            ws.write_string(start + i, 1, name or "（未填）", fmt.text)
            ws.write_number(start + i, 2, n, fmt.int)
            ws.write_number(start + i, 3, wan2(total), fmt.wan)
        start += len(grouped) + 3
    _write_assumptions(ws, fmt, run, start)

    # one sheet per measure with payments, named by the measure's Chinese name (Excel: ≤31 chars, unique)
    paid_ids = sorted(by_measure["measure_id"].to_list())
    sheet_of = dict(zip(paid_ids, sheet_names(["汇总", "待补充信息", "待补充信息明细", "待补充信息（按企业）",
                                               *(run.plans[i].measure.name for i in paid_ids)])[4:]))
    for mid in paid_ids:
        m = run.plans[mid].measure
        rows_m = paid.filter(pl.col("measure_id") == mid).sort(["county_name", "entity_id"], nulls_last=True)
        indicators = _indicator_columns(run, mid)
        headers = [("序号", 6), ("企业名称", 34), ("统一社会信用代码", 22), ("县区", 12), ("行业", 10)]
        kinds = ["int", "text", "text", "text", "text"]
        for f in indicators:
            unit = "万元" if dictionary[f].type == "money" else dictionary[f].unit or ""
            headers.append((f"{dictionary[f].label}（{unit}）" if unit else dictionary[f].label, 16))
            kinds.append("wan" if dictionary[f].type == "money" else "yuan")
        headers += [("拟兑现金额", 14), ("拟兑现金额（元）", 16), ("说明", 70), ("依据条款", 40)]
        kinds += ["wan", "yuan", "wrap", "wrap"]
        facts = run.facts_for(m.entity).select(["entity_id", *indicators]) if indicators else None
        data = rows_m.join(facts, on="entity_id", how="left") if facts is not None else rows_m
        out_rows = []
        for i, row in enumerate(data.iter_rows(named=True), start=1):
            values = [i, row.get("name") or row["entity_id"], row.get("credit_code") or row["entity_id"],
                      row.get("county_name"), row.get("sector")]
            for f in indicators:
                v = row.get(f)
                values.append(None if v is None else (wan2(v) if dictionary[f].type == "money" else v / 100))
            note = row.get("reason") or ""
            if row.get("allocation_note"):
                note += f"（{row['allocation_note']}）"
            values += [wan2(row["final_fen"]), yuan(row["final_fen"]), note, run.citations[mid]]
            out_rows.append(values)
        n = len(headers)
        total_fen = int(rows_m["final_fen"].sum() or 0)
        _sheet_table(wb.add_worksheet(sheet_of[mid]), fmt, f"{label}{m.name}拟兑现名单", headers, out_rows, kinds,
                     {n - 4: wan2(total_fen), n - 3: yuan(total_fen)})

    # what is missing: first how many lack each fact (the officer's to-do list), then, per enterprise, only the
    # rows a data table could fill — facts nobody in the data has (application-only facts) are not listed row by row
    ws = wb.add_worksheet("待补充信息")
    names = {mid: cm.measure.name for mid, cm in run.plans.items()}
    summary = run.missing_fields if run.missing_fields is not None else pl.DataFrame(
        schema={"measure_id": pl.String, "field": pl.String, "label": pl.String, "source": pl.String,
                "entities": pl.Int64})
    summary = summary.filter(~pl.col("measure_id").is_in(list(MONITORING_MEASURES))) \
        .sort(["entities", "measure_id", "field"], descending=[True, False, False])
    rows = [[i, names.get(mid, mid), lab, src or "—", n]
            for i, (mid, _f, lab, src, n) in enumerate(summary.iter_rows(), start=1)]
    _sheet_table(ws, fmt, f"{label}待补充信息汇总（按措施与所缺数据；补齐后方可判断是否符合）",
                 [("序号", 6), ("受影响措施", 36), ("缺少的数据", 30), ("数据来源", 30), ("涉及主体数", 12)],
                 rows, ["int", "wrap", "text", "wrap", "int"])
    start = len(rows) + 5
    pending = _pending_rows(run, names)
    if pending:  # 参数待定: what the operator must still decide, and how many it holds up
        _write_table_at(ws, fmt, start, "参数待定汇总（以下参数尚未确定，确定后方可核定；按措施与参数）",
                        [("序号", 6), ("受影响措施", 36), ("尚未确定的参数", 30), ("", 30), ("涉及主体数", 12)], pending)
        start += len(pending) + 3
    if per_enterprise:
        _write_todo_sheets(wb, fmt, run, label, names)
    else:
        ws.write_string(start, 0, "逐户的待补充信息清单按县区另行导出（县区工信部门下载本县区名单时附带），"
                        "可据以补齐数据后重新导入。", fmt.text)
    wb.close()
    return path


def _write_todo_sheets(wb, fmt: _Formats, run: ScreeningRun, label: str, names: dict[str, str]) -> None:
    """待补充信息明细 (one row per enterprise and measure) and 待补充信息（按企业） (one row per enterprise, one column per
    missing fact by its Chinese label): only the rows a data table could fill. Built vectorised (huiqi.services.
    presenters.missing_grid); the cells go through xlsxwriter's constant-memory mode row by row."""
    listed = suppliable_missing(run).filter(~pl.col("measure_id").is_in(list(MONITORING_MEASURES)))
    named = pl.col("measure_id").replace_strict(names, default=pl.col("measure_id"), return_dtype=pl.String)
    detail = listed.select(
        pl.int_range(1, pl.len() + 1).alias("i"), pl.coalesce("name", "entity_id"),
        pl.coalesce("credit_code", "entity_id"), "county_name", named, pl.col("missing").fill_null(""))
    _sheet_table(wb.add_worksheet("待补充信息明细"), fmt, f"{label}待补充信息明细（仅列数据表可补齐的项目）",
                 [("序号", 6), ("企业名称", 34), ("统一社会信用代码", 22), ("县区", 12), ("受影响措施", 36),
                  ("缺少的数据及来源", 70)],
                 detail.iter_rows(), ["int", "text", "text", "text", "wrap", "wrap"])
    labels, grouped = missing_grid(listed, names)
    if grouped.height == 0:
        return
    grid = grouped.select(
        pl.int_range(1, pl.len() + 1).alias("i"), "name", "credit_code", "county_name",
        pl.col("measures").list.join("、"),
        *[pl.when(pl.col("facts").list.contains(x)).then(pl.lit("待补充")).alias(f"f{k}")
          for k, x in enumerate(labels)])
    _sheet_table(wb.add_worksheet("待补充信息（按企业）"), fmt, f"{label}待补充信息（按企业，每户一行，每项缺少的数据一列）",
                 [("序号", 6), ("企业名称", 34), ("统一社会信用代码", 22), ("县区", 12), ("涉及措施", 40),
                  *[(x, max(10, min(30, len(x) * 2))) for x in labels]],
                 grid.iter_rows(), ["int", "text", "text", "text", "wrap", *["text"] * len(labels)])


def _in_order(frame: pl.DataFrame, keys: list[pl.Expr]) -> bool:
    """Whether every row's key is ≥ the previous row's (lexicographic over ``keys``), vectorised: a check costs a
    few comparisons, a sort of the whole table a gather of every column."""
    after = pl.lit(False)  # "this row's key is greater than the previous one's" so far, built from the last key
    for k in reversed(keys):
        after = (k > k.shift(1)) | ((k == k.shift(1)) & after)
    same = pl.all_horizontal([k == k.shift(1) for k in keys])
    ok = frame.select(((pl.int_range(pl.len()) == 0) | after | same).fill_null(False))  # a null key: sort
    return bool(ok.to_series().all())
