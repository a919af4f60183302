"""Award lists (拟兑现名单) as an officer expects them: Excel with a title row, 单位：万元, 序号, 统一社会信用代码 as text,
the deciding indicators, amount to 2 decimals, explanation and clause per row, and a 合计 row written as values;
one sheet per measure, a summary by 县区 / 行业 / 措施, and a 待补充信息 sheet. Also Parquet and CSV.

The same run gives byte-identical files: rows are sorted (result tables by entity type, measure ID, entity ID —
whatever the data source), no timestamps are written, and the workbook's creation date is fixed to the period end.
`write_run` writes all of a run's files atomically (a kill leaves the previous complete run); the manifest lists
every file with its size and sha256.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import polars as pl
import xlsxwriter

from huiqi.core import money
from huiqi.core.periods import Period
from huiqi.engine.evaluate import MISSING
from huiqi.services import xlsx_rows, xlsx_zip
from huiqi.services.csv_safe import write_csv
from huiqi.services.presenters import MONITORING_MEASURES, missing_grid, sheet_names
from huiqi.services.screening import ENTITY_ORDER, PaidFirst, ScreeningRun, beside
from huiqi.services.xlsx_style import SheetFormats as _Formats

WAN = Decimal(1_000_000)  # 分 per 万元
ZIP_LEVEL = 1  # zlib level of the award list's zip (docs/decisions.md XLSX2-2): a third of level 6's time at 1M


def wan2(fen: int | None) -> float | None:
    """分 → 万元 rounded half-up to 2 decimals (the displayed and summed value)."""
    if fen is None:
        return None
    return float(money.wan(fen))  # the float nearest the rounded value: Excel shows it as 1234.57


def yuan(fen: int | None) -> float | None:
    return None if fen is None else float(money.yuan(fen))


def period_label(period: str) -> str:
    p = Period.parse(period)
    return f"{p.year}年{'一二三四'[p.quarter - 1]}季度" if p.quarter else p.label


TEXT_KINDS = ("text", "wrap")


def _sheet_table(ws, fmt: _Formats, title: str, headers: list[tuple[str, int]], rows: Iterable[Sequence] | pl.DataFrame,
                 kinds: list[str],
                 total_cols: dict[int, float] | None = None) -> None:
    """A titled table: title and unit rows merged across, a header row, the body (``rows``, or a frame whose columns
    are the body's in order), a 合计 row of values when ``total_cols`` is given; frozen below the header, printable."""
    ws.merge_range(0, 0, 0, len(headers) - 1, title, fmt.title)
    ws.merge_range(1, 0, 1, len(headers) - 1, "单位：万元", fmt.unit)
    for c, (h, width) in enumerate(headers):
        ws.write_string(2, c, h, fmt.head)
        ws.set_column(c, c, width)
    ws.set_row(2, 30)
    r = _write_body(ws, fmt, rows, kinds, first=3)
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


def _write_body(ws, fmt: _Formats, rows: Iterable[Sequence] | pl.DataFrame, kinds: list[str], first: int) -> int:
    """Write the body cells from row ``first`` and return the last row written (``first - 1`` for none). Each cell
    carries its column's format: a written cell shows its own style, a column format only applies to cells typed
    later. A frame's rows are serialised vectorised straight into the sheet's row stream: the per-cell path's XML,
    each number as the shortest text of the same double (huiqi.services.xlsx_rows, docs/decisions.md XLSX-1,
    XLSX2-1); other rows, and any frame that path cannot take, go cell by cell through xlsxwriter."""
    styles = {"text": fmt.text, "wrap": fmt.wrap, "wan": fmt.wan, "yuan": fmt.yuan, "pct": fmt.pct, "int": fmt.int}
    formats = [styles[kind] for kind in kinds]
    is_text = [kind in TEXT_KINDS for kind in kinds]

    def per_cell(cell_rows: Iterable[Sequence], start: int) -> int:
        return _write_cells(ws, formats, is_text, cell_rows, start)

    if isinstance(rows, pl.DataFrame):
        return xlsx_rows.write_frame(ws, rows, formats, is_text, first, per_cell)
    return per_cell(rows, first)


def _write_cells(ws, formats: list, is_text: list[bool], rows: Iterable[Sequence], first: int) -> int:
    """The per-cell path (the reference for xlsx_rows): one xlsxwriter call per cell, ~5.8 µs each."""
    blank, text, number = ws.write_blank, ws.write_string, ws.write_number
    cells = list(enumerate(zip(is_text, formats)))
    r = first - 1
    for r, row in enumerate(rows, start=first):
        for (c, (is_text_cell, style)), value in zip(cells, row):
            if value is None:
                blank(r, c, None, style)
            elif is_text_cell:
                text(r, c, value if value.__class__ is str else str(value), style)  # 统一社会信用代码 stays text
            else:
                number(r, c, value, style)
    return r


def _hundredths(units: pl.Expr) -> pl.Expr:
    """An integer count of hundredths as the float nearest its value: through an exact decimal, since Polars'
    float division by 100 is off by an ulp for about one value in eight (84624.90000000001 for 8,462,490 分)."""
    return (units.cast(pl.Decimal(38, 2)) / 100).cast(pl.Float64)


def wan2_expr(fen: pl.Expr) -> pl.Expr:
    """:func:`wan2` over a column of integer 分: 分 → 万元 rounded half up (away from zero, as ROUND_HALF_UP) to
    hundredths in integers, then the float nearest — what ``wan2`` gives, -0.0 for a small negative amount too
    (``float(Decimal('-0.00'))``)."""
    wan = _hundredths((fen.abs() + 5_000) // 10_000)
    return pl.when(fen < 0).then(-wan).otherwise(wan)


def yuan_expr(fen: pl.Expr) -> pl.Expr:
    """:func:`yuan` over a column of integer 分 (and ``v / 100`` for a number field): the float nearest 分 ÷ 100."""
    return _hundredths(fen)


def _text_or_id(frame: pl.DataFrame, column: str) -> pl.Expr:
    """``row.get(column) or row["entity_id"]``: the column's text, the entity ID where it is missing or empty."""
    if column not in frame.columns:
        return pl.col("entity_id").cast(pl.String)
    value = pl.col(column).cast(pl.String)
    return pl.when(value.is_null() | (value == "")).then(pl.col("entity_id").cast(pl.String)).otherwise(value)


def _measure_body(run: ScreeningRun, measure_id: str, rows: pl.DataFrame, indicators: list[str],
                  facts: pl.DataFrame | None = None) -> pl.DataFrame:
    """A measure sheet's body as a frame, one column per sheet column, built vectorised: 序号, 企业名称, 统一社会信用代码,
    县区, 行业, the deciding indicators (money in 万元, numbers ÷ 100), 拟兑现金额 in 万元 and in 元, 说明 (the reason,
    the allocation note in brackets), 依据条款. ``facts``: the entity's facts with at least ``indicators`` (e.g. only
    the paid entities' rows: :func:`_paid_facts`); all of them by default."""
    dictionary = run.ruleset.dictionary
    entity = run.plans[measure_id].measure.entity
    data = rows
    if indicators:  # only the deciding columns of the facts, joined to the few paid rows
        facts = run.facts_for(entity) if facts is None else facts
        data = rows.join(facts.select(["entity_id", *indicators]), on="entity_id", how="left")
    schema = data.schema

    def present(column: str) -> pl.Expr:
        return pl.col(column) if column in schema else pl.lit(None, dtype=pl.String)

    def indicator(f: str) -> pl.Expr:
        money_field = dictionary[f].type == "money"
        if not schema[f].is_integer():  # not integer 分 (not met in the data model): the scalar path, exactly
            return pl.col(f).map_elements(wan2 if money_field else (lambda v: v / 100), return_dtype=pl.Float64,
                                          skip_nulls=True)
        return wan2_expr(pl.col(f)) if money_field else yuan_expr(pl.col(f))

    note = pl.col("allocation_note") if "allocation_note" in schema else pl.lit(None, dtype=pl.String)
    reason = present("reason").cast(pl.String).fill_null("")
    return data.select(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("i"),
        _text_or_id(data, "name").alias("name"), _text_or_id(data, "credit_code").alias("code"),
        present("county_name").cast(pl.String).alias("county"), present("sector").cast(pl.String).alias("sector"),
        *[indicator(f).alias(f"f{k}") for k, f in enumerate(indicators)],
        wan2_expr(pl.col("final_fen")).alias("wan"), yuan_expr(pl.col("final_fen")).alias("yuan"),
        pl.when(note.is_not_null() & (note != "")).then(reason + "（" + note.cast(pl.String) + "）")
        .otherwise(reason).alias("note"),
        pl.lit(run.citations[measure_id], dtype=pl.String).alias("clause"))


def _paid_facts(run: ScreeningRun, paid: pl.DataFrame, indicators: dict[str, list[str]]) -> dict[str, pl.DataFrame]:
    """Per entity type, the deciding columns (``indicators`` per measure) of the facts of the entities paid by
    those measures: one pass over each facts table, so that each measure sheet joins its rows to a few thousand
    facts rather than building a join over all of them (~0.35 s for four sheets at a million enterprises)."""
    by_entity: dict[str, dict[str, list[str]]] = {}
    for mid, fields in indicators.items():
        if fields:
            by_entity.setdefault(run.plans[mid].measure.entity, {})[mid] = fields
    out = {}
    for entity, measures in by_entity.items():
        ids = paid.filter(pl.col("measure_id").is_in(list(measures))).select(pl.col("entity_id").unique())
        columns = list(dict.fromkeys(f for fields in measures.values() for f in fields))
        out[entity] = run.facts_for(entity).select(["entity_id", *columns]).join(ids, on="entity_id", how="semi")
    return out


def _indicator_columns(run: ScreeningRun, measure_id: str) -> list[str]:
    """The fields that decide a measure (its conditions and amount), money and numbers first, at most four."""
    cm = run.plans[measure_id]
    fields = []
    for cc in cm.conditions:
        if cc.is_gate:
            continue
        fields += sorted(cc.value.fields)
    if cm.amount is not None:
        fields += sorted(cm.amount.fields)
    dictionary = run.ruleset.dictionary
    numeric = [f for f in dict.fromkeys(fields) if dictionary[f].type in ("money", "number")]
    return numeric[:4]


def _write_assumptions(ws, fmt, run: ScreeningRun, start: int) -> None:
    """The run's stated assumptions (huiqi screen --assume), so no one reads them as data."""
    assumed = run.manifest.get("assumptions") or {}
    if not assumed:
        return
    ws.write_string(start, 0, "测算假定（无数据来源，按下列取值计入每个缺少该数据的主体）", fmt.head)
    for i, (name, value) in enumerate(assumed.items(), start=1):
        ws.write_string(start + i, 1, run.ruleset.dictionary[name].label, fmt.text)
        ws.write_string(start + i, 2, f"假定为：{value}", fmt.text)


def write_excel(run: ScreeningRun, path: Path, *, per_enterprise: bool = False) -> Path:
    """The 拟兑现名单 workbook for a screening run: 汇总, one sheet per paid measure, 待补充信息 counted per measure
    and missing fact. With ``per_enterprise`` (a county's download) also the per-enterprise to-do sheets
    (:func:`write_todo`); a whole province's would pass Excel's 1,048,576 rows a sheet (docs/decisions.md SCREEN-1)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # cells as given (a name like "=1+1" or "0012" stays text); constant_memory: each sheet is written top to bottom,
    # so its rows go to disk as they are written instead of sitting in memory as cell objects (EXCEL-2)
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                                         "constant_memory": True})
    created = datetime.combine(run.period_end, datetime.min.time())
    wb.set_properties({"title": f"{period_label(run.period)}拟兑现名单", "author": "huiqi", "created": created,
                       "comments": f"规则版本 {run.manifest['rules_version']}；数据快照 {run.manifest['data_hash']}"})
    fmt = _Formats(wb)
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
    indicators_of = {mid: _indicator_columns(run, mid) for mid in paid_ids}
    paid_facts = _paid_facts(run, paid, indicators_of)
    for mid in paid_ids:
        m = run.plans[mid].measure
        rows_m = paid.filter(pl.col("measure_id") == mid).sort(["county_name", "entity_id"], nulls_last=True)
        indicators = indicators_of[mid]
        headers = [("序号", 6), ("企业名称", 34), ("统一社会信用代码", 22), ("县区", 12), ("行业", 10)]
        kinds = ["int", "text", "text", "text", "text"]
        for f in indicators:
            unit = "万元" if dictionary[f].type == "money" else dictionary[f].unit or ""
            headers.append((f"{dictionary[f].label}（{unit}）" if unit else dictionary[f].label, 16))
            kinds.append("wan" if dictionary[f].type == "money" else "yuan")
        headers += [("拟兑现金额", 14), ("拟兑现金额（元）", 16), ("说明", 70), ("依据条款", 40)]
        kinds += ["wan", "yuan", "wrap", "wrap"]
        body = _measure_body(run, mid, rows_m, indicators, paid_facts.get(m.entity))
        n = len(headers)
        total_fen = int(rows_m["final_fen"].sum() or 0)
        _sheet_table(wb.add_worksheet(sheet_of[mid]), fmt, f"{label}{m.name}拟兑现名单", headers, body, kinds,
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
    with xlsx_zip.compress_level(ZIP_LEVEL):
        wb.close()
    return path


def _pending_rows(run: ScreeningRun, names: dict[str, str]) -> list[list]:
    """The 参数待定 summary as sheet rows: 序号, measure name, parameter label, (blank), entities — most first."""
    summary = run.pending_fields
    if summary is None or summary.height == 0:
        return []
    summary = summary.filter(~pl.col("measure_id").is_in(list(MONITORING_MEASURES))) \
        .sort(["entities", "measure_id", "parameter"], descending=[True, False, False])
    return [[i, names.get(mid, mid), lab, None, n] for i, (mid, _p, lab, n) in enumerate(summary.iter_rows(), start=1)]


def _write_table_at(ws, fmt: _Formats, start: int, title: str, headers: list[tuple[str, int]], rows: list[list]) -> None:
    """A small titled table below another on the same sheet (kinds: int, wrap, text, text, int)."""
    ws.write_string(start, 0, title, fmt.head)
    for c, (h, _w) in enumerate(headers):
        if h:
            ws.write_string(start + 1, c, h, fmt.head)
    for r, row in enumerate(rows, start=start + 2):
        for c, v in enumerate(row):
            if v is None:
                continue
            if isinstance(v, str):
                ws.write_string(r, c, v, fmt.wrap if c == 1 else fmt.text)
            else:
                ws.write_number(r, c, v, fmt.int)


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
                 detail, ["int", "text", "text", "text", "wrap", "wrap"])
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
                 grid, ["int", "text", "text", "text", "wrap", *["text"] * len(labels)])


def write_todo(run: ScreeningRun, path: Path) -> Path:
    """The to-do workbook of a run (scope it to one 县区 first — :func:`write_todo_by_county`): the 待补充信息 summary
    and the per-enterprise sheets, to fill in and import back."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                                         "constant_memory": True})
    wb.set_properties({"title": f"{period_label(run.period)}待补充信息", "author": "huiqi",
                       "created": datetime.combine(run.period_end, datetime.min.time())})
    names = {mid: cm.measure.name for mid, cm in run.plans.items()}
    _write_todo_sheets(wb, _Formats(wb), run, period_label(run.period), names)
    wb.close()
    return path


def write_todo_by_county(run: ScreeningRun, folder: Path) -> list[Path]:
    """One to-do workbook per 县区 with enterprises to ask (待补充信息_<设区市县区>.xlsx), in county-code order: each
    county officer gets their own list to fill and re-import (the whole province's passes Excel's row limit)."""
    from dataclasses import replace

    listed = suppliable_missing(run).filter(~pl.col("measure_id").is_in(list(MONITORING_MEASURES))
                                            & pl.col("county_code").is_not_null())
    counties = listed.select("county_code", "city_name", "county_name").unique("county_code").sort("county_code")
    titles = [f"{city or ''}{county or code}" for code, city, county in counties.iter_rows()]
    out = []
    for (code, *_), title in zip(counties.iter_rows(), sheet_names(titles, limit=60)):
        scoped = replace(run, results=listed.filter(pl.col("county_code") == code))
        out.append(write_todo(scoped, Path(folder) / f"待补充信息_{title}.xlsx"))
    return out


def suppliable_missing(run: ScreeningRun) -> pl.DataFrame:
    """The 待补充信息 rows a data table could fill (the run lists only those: huiqi.services.screening.listed_rows),
    sorted by measure and entity."""
    return run.results.lazy().filter(pl.col("status") == MISSING).sort(["measure_id", "entity_id"]).collect()


SORT_KEY = ("entity", "measure_id", "entity_id")  # docs/data-model.md "Result files"


def _entity_rank() -> pl.Expr:
    """An entity type's place in the documented order (enterprise, project, county; any other type after them)."""
    return pl.col("entity").replace_strict(ENTITY_ORDER, list(range(len(ENTITY_ORDER))), default=len(ENTITY_ORDER),
                                           return_dtype=pl.Int8)


def sort_results(results: pl.DataFrame, key: pl.Series | None = None) -> pl.DataFrame:
    """Result rows in the documented order — entity type (enterprise, project, county), measure ID, entity ID — so
    the same run gives the same bytes whether its data came from Parquet or a database. ``key``: the rows'
    :func:`entity_keys`, if known (screening's carried keys): the order is then checked on those integers instead of
    the ID strings — within an entity type the key orders as the ID does, being a dense rank of type, then ID
    (at 1M, 3.17M rows: 0.35 → 0.11 s)."""
    if results.height == 0 or not set(SORT_KEY) <= set(results.columns):
        return results
    keys = [_entity_rank(), pl.col("entity"), pl.col("measure_id"), pl.col("entity_id")]
    by_key = key is not None and len(key) == results.height and key.null_count() == 0
    if _in_order(results, [*keys[:3], pl.lit(key)] if by_key else keys):
        return results  # a screening run's rows already are (huiqi.services.screening.listed_rows)
    return results.sort(keys, maintain_order=True)


def _in_order(frame: pl.DataFrame, keys: list[pl.Expr]) -> bool:
    """Whether every row's key is ≥ the previous row's (lexicographic over ``keys``), vectorised: a check costs a
    few comparisons, a sort of the whole table a gather of every column. Each key and its shift are computed once
    as columns first (built into one expression, the entity rank was evaluated anew for each comparison: 1.2 s
    instead of 0.4 s on 3.2M rows)."""
    names = [f"_key{i}" for i in range(len(keys))]
    pairs = frame.lazy().select([k.alias(n) for k, n in zip(keys, names)]) \
        .with_columns([pl.col(n).shift(1).alias(f"{n}_before") for n in names])
    after = pl.lit(False)  # "this row's key is greater than the previous one's" so far, built from the last key
    for n in reversed(names):
        this, before = pl.col(n), pl.col(f"{n}_before")
        after = (this > before) | ((this == before) & after)
    same = pl.all_horizontal([pl.col(n) == pl.col(f"{n}_before") for n in names])
    ok = pairs.select(((pl.int_range(pl.len()) == 0) | after | same).fill_null(False).all())  # a null key: sort
    return bool(ok.collect().item())


def file_entry(path: Path) -> dict:
    """Size and sha256 of a file, as the manifest lists it."""
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return {"bytes": Path(path).stat().st_size, "sha256": h.hexdigest()}


def write_tables(run: ScreeningRun, directory: Path, extra: list[Path] = (), *, csv: bool = False) -> list[Path]:
    """results.parquet (paid, 参数待定, and the 待补充信息 a data table could fill: huiqi.services.screening.listed_rows;
    amounts in 分 and in 元; rows in the documented order),
    missing_summary.parquet (待补充信息 per measure and missing fact, with counts), pending_summary.parquet (参数待定 per
    measure and parameter, with counts; when the run did not list those rows), results.csv only when asked
    (cells safe from formula injection), then manifest.json listing each of them and of ``extra`` (e.g. the
    workbook) with its size and sha256 — written last, so a manifest always describes complete files."""
    entries = write_data_files(run, directory, csv=csv)
    return [*entries, write_manifest(run, directory, {**{p: file_entry(p) for p in extra}, **entries})]


RESULTS_ROW_GROUP = 2**18  # rows per Parquet row group of results.parquet and entities.parquet
RESULTS, ENTITIES = "results.parquet", "entities.parquet"
# what describes the entity, not the (entity, measure) row: written once per entity to entities.parquet (KEYS-1)
ENTITY_COLUMNS = ("entity", "entity_id", "name", "credit_code", "county_code", "county_name", "city_name", "sector")
COLUMNS_KEY = "huiqi:columns"  # results.parquet's metadata: the joined frame's column order (read_results)


def write_data_files(run: ScreeningRun, directory: Path, *, csv: bool = False) -> dict[Path, dict]:
    """The data files of :func:`write_tables` (not the manifest), each with its manifest entry (size, sha256) —
    computed here so that :func:`write_run` can do all of it on a second thread beside the workbook."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    carried = run.entity_keys
    if carried is not None and carried[0] is run.results:  # screening's own keys for exactly these rows (MERGE5-4)
        ordered = sort_results(run.results, carried[1])
        key = carried[1] if ordered is run.results else None
    else:
        with ThreadPoolExecutor(1, thread_name_prefix="huiqi-keys") as pool:
            # the keys do not depend on the row order: computed beside the order check, used if no sort was needed
            # (a screening run's rows are in order; at 1M each of the two costs ~0.45-0.9 s)
            early = pool.submit(entity_keys, run.results) if "entity_id" in run.results.columns else None
            ordered = sort_results(run.results)
            key = early.result() if early is not None and ordered is run.results else None
    # 元 as an exact decimal (never a binary float): 分 ÷ 100 at scale 2, computed alone and set beside the other
    # columns, which stay as they are — an eager with_columns on a table whose columns are chunked differently
    # copies every column (+1.2 GiB at a million enterprises), a lazy one returned every column cut into dozens of
    # chunks, and a gather of the entities from those cost ~5× (entities.parquet at 1M: 0.54 → 0.10 s CPU)
    results = beside(ordered, ordered.lazy().select(
        (pl.col("final_fen").cast(pl.Decimal(38, 2)) / 100).alias("final_yuan")).collect())
    files = write_results(results, directory, key=key)
    if run.missing_fields is not None:
        summary = directory / "missing_summary.parquet"
        run.missing_fields.sort(["measure_id", "field"]).write_parquet(summary, statistics=False)
        files.append(summary)
    if not run.pending_listed and run.pending_fields is not None:  # the only record of the 参数待定 rows
        pending = directory / "pending_summary.parquet"
        run.pending_fields.sort(["measure_id", "parameter"]).write_parquet(pending, statistics=False)
        files.append(pending)
    if csv:  # the joined frame: the columns officers know
        files.append(directory / "results.csv")
        write_csv(results, files[-1])
    return {p: file_entry(p) for p in files}


def entity_keys(results: pl.DataFrame) -> pl.Series:
    """Each row's ``entity_key``: the entity's position (from 0) among the run's entities in the documented order —
    entity type (enterprise, project, county), then entity ID — so the same results give the same keys, whether
    the data came from Parquet or a database. A dense rank over the rows: no string join, no sort of the rows."""
    rank = _entity_rank() if "entity" in results.columns else pl.lit(0, pl.Int8)
    kind = pl.col("entity") if "entity" in results.columns else pl.lit("", pl.String)
    key = pl.struct(rank.alias("_rank"), kind.alias("_kind"), pl.col("entity_id")).rank("dense") - 1
    return results.select(key.cast(pl.UInt32).alias("entity_key")).to_series()


def write_results(results: pl.DataFrame, directory: Path, *, key: pl.Series | None = None) -> list[Path]:
    """results.parquet keyed by ``entity_key`` and entities.parquet beside it (docs/data-model.md "Result files";
    KEYS-1): the names, codes and places are written once per entity, in key order (key = row number), instead of
    once per (entity, measure). :func:`read_results` joins them back into ``results``. A frame without
    ``entity_id`` is written whole (no entities). ``key``: :func:`entity_keys` of these rows, if already computed."""
    written = [Path(directory) / RESULTS]
    metadata = {COLUMNS_KEY: json.dumps(results.columns)}
    if "entity_id" not in results.columns:
        _write_parquet(_row_groups(results), written[0], metadata)
        return written
    key = entity_keys(results) if key is None else key
    described = [c for c in ENTITY_COLUMNS if c in results.columns]

    def keyed_rows() -> None:
        # in one plan: the key is cut to the columns' chunks instead of the columns being copied to match the key
        rows = results.lazy().select(pl.lit(key), *[c for c in results.columns if c not in described]).collect()
        _write_parquet(_row_groups(rows), written[0], metadata)

    def entities() -> None:
        firsts = _first_rows(key)
        _write_parquet(_entity_groups([results.get_column(c) for c in described], firsts), written[1])

    written.append(Path(directory) / ENTITIES)
    # the two files on two threads: Polars and pyarrow release the interpreter lock while they gather and encode
    # (at 1M: write_results 2.4 → 2.0 s on an idle machine)
    with ThreadPoolExecutor(1, thread_name_prefix="huiqi-entities") as pool:
        side = pool.submit(entities)
        keyed_rows()
        side.result()
    return written


def _first_rows(key: pl.Series) -> pl.Series:
    """Each entity's first row, in key order (``key``: dense, 0 … n−1): the first occurrences placed at their key —
    no sort, no frame (at 1M, 3.17M rows: 0.18 → 0.07 s CPU)."""
    rows = key.arg_unique()  # the first row of each key, in the order the keys first occur
    if key.null_count() or (len(rows) and key.max() != len(rows) - 1):  # not dense: sorted by key instead
        return pl.DataFrame({"key": key}).with_row_index("row").filter(pl.col("key").is_first_distinct()) \
            .sort("key")["row"]
    return pl.zeros(len(rows), dtype=pl.UInt32, eager=True).scatter(key.gather(rows), rows).alias("row")


def _entity_groups(columns: list[pl.Series], firsts: pl.Series) -> Iterator[pl.DataFrame]:
    """entities.parquet's row groups: key, then each column's value at the entity's first row. A group at a time:
    the whole table at once, or a select of the columns (which rechunks them when the frame's columns are chunked
    differently), costs ~0.55 GiB more at a million enterprises (KEYS-2). Each group is gathered from the span of
    rows it reads, not from the whole columns: the listing's columns come in chunks (one per entity type), and a
    gather across chunks took ~10× as long as one from a single chunk (0.41 → 0.04 s CPU at 1M for the eight
    columns); a group's first rows lie within one entity type but at the boundary. The columns of a group are
    gathered together, one column per core, and the next group while pyarrow encodes this one (:func:`_ahead`)."""
    table = pl.DataFrame(columns)

    def group(start: int) -> pl.DataFrame:
        rows = firsts.slice(start, RESULTS_ROW_GROUP)
        key = pl.int_range(start, start + len(rows), dtype=pl.UInt32, eager=True).alias("entity_key")
        low = rows.min() or 0
        span = table.slice(low, (rows.max() or 0) + 1 - low) if len(rows) else table  # a slice: nothing copied
        return span[rows - low].insert_column(0, key)

    return _ahead(map(group, range(0, max(len(firsts), 1), RESULTS_ROW_GROUP)))


def _ahead(items: Iterator[pl.DataFrame]) -> Iterator[pl.DataFrame]:
    """``items``, each computed on a second thread while the caller works on the one before (Polars and pyarrow
    release the interpreter lock): at most two held at once."""
    with ThreadPoolExecutor(1, thread_name_prefix="huiqi-ahead") as pool:
        pending = pool.submit(next, items, None)
        while (item := pending.result()) is not None:
            pending = pool.submit(next, items, None)
            yield item


def _row_groups(frame: pl.DataFrame) -> Iterator[pl.DataFrame]:
    """The frame in slices of one row group each (at least one slice, so an empty frame gives a file too)."""
    return (frame.slice(start, RESULTS_ROW_GROUP) for start in range(0, max(frame.height, 1), RESULTS_ROW_GROUP))


UNIQUE_PER_ENTITY = ("entity_id", "name", "credit_code")  # strings a dictionary would not shorten


def _write_parquet(groups: Iterable[pl.DataFrame], path: Path, metadata: dict[str, str] | None = None) -> None:
    """A result file from its row groups (each ≤ RESULTS_ROW_GROUP rows), through pyarrow's writer for its
    per-column encodings (KEYS-2): ``entity_key`` delta-encoded (rows of one measure have rising keys: 8.6 → 0.6
    MiB at 1M), the repeated strings dictionary-encoded, the per-entity ones plain. zstd 1: smaller and faster than
    the default 3 here. Row groups of a fixed size: otherwise they follow how the frame happens to be chunked, which
    varies run to run, and the same run gave different bytes (FACTS-7). No statistics, no timestamps: the same
    frame gives the same bytes."""
    import pyarrow.parquet as pq

    writer = None
    try:
        for group in groups:
            table = group.to_arrow(compat_level=pl.CompatLevel.newest())  # string views as they are, not copied
            if writer is None:
                strings = [c for c, t in group.schema.items() if t == pl.String and c not in UNIQUE_PER_ENTITY]
                schema = table.schema.with_metadata({**(table.schema.metadata or {}), **(metadata or {})})
                writer = pq.ParquetWriter(
                    path, schema, compression="zstd", compression_level=1, write_statistics=False,
                    use_dictionary=strings,
                    column_encoding={"entity_key": "DELTA_BINARY_PACKED"} if "entity_key" in group.columns else None)
            writer.write_table(table, row_group_size=RESULTS_ROW_GROUP)
    finally:
        if writer is not None:
            writer.close()


def read_results(source: Path, columns: Sequence[str] | None = None) -> pl.DataFrame:
    """A run's results as one frame with the familiar columns (entity_id, name, credit_code, county, measure_id,
    status, amounts …, in the order they were written), from a run folder or its results.parquet: the keyed format
    joined with entities.parquet beside it, or a results.parquet of an earlier version (names inline) as it is.
    ``columns``: only these (a keyed file's entities.parquet is then read only for the entity columns asked).
    Anything that is not such a file is refused in words (ValueError), never with the Parquet reader's message."""
    path = Path(source)
    path = path / RESULTS if path.is_dir() else path
    if not path.is_file():
        raise ValueError(f"{source} 中没有筛查结果文件 {RESULTS}")
    try:
        return _read_results(path, columns)
    except (OSError, pl.exceptions.PolarsError) as e:
        raise ValueError(f"{path.name}（及旁边的 {ENTITIES}）不是可读的筛查结果文件：请使用 huiqi screen 写出的结果文件夹") from e


def _read_results(path: Path, columns: Sequence[str] | None) -> pl.DataFrame:
    written = json.loads(pl.read_parquet_metadata(path).get(COLUMNS_KEY) or "null")
    if written is None:  # an earlier version's file: the names are in it
        return pl.read_parquet(path, columns=list(columns) if columns is not None else None)
    wanted = list(columns) if columns is not None else written
    unknown = [c for c in wanted if c not in written]
    if unknown:
        raise ValueError(f"结果文件 {path.name} 中没有这些列：{'、'.join(unknown)}")
    described = [c for c in wanted if c in ENTITY_COLUMNS]
    rows = pl.read_parquet(path, columns=[c for c in written if c in wanted and c not in ENTITY_COLUMNS]
                           + (["entity_key"] if described else []))
    if not described:
        return rows.select(wanted)
    side = path.with_name(ENTITIES)
    if not side.exists():
        raise ValueError(f"结果文件 {path.name} 旁缺少企业（主体）表 {ENTITIES}：请把同一次筛查的两个文件放在同一文件夹")
    entities = pl.read_parquet(side, columns=["entity_key", *described])
    keys = rows["entity_key"]
    if rows.height and (keys.max() >= entities.height
                        or not entities["entity_key"].equals(pl.int_range(entities.height, dtype=pl.UInt32,
                                                                          eager=True).alias("entity_key"))):
        raise ValueError(f"{ENTITIES} 与 {path.name} 不是同一次筛查写出的（主体编号对不上）")
    # the entities are in key order, key = row number: a gather, not a join (0.4 s instead of 1.8 s at 3M rows)
    named = entities.select(pl.col(described).gather(keys))
    return pl.concat([rows.drop("entity_key"), named], how="horizontal").select(wanted)


def write_manifest(run: ScreeningRun, directory: Path, entries: dict[Path, dict]) -> Path:
    """manifest.json: the run's manifest with every file of ``entries`` (size, sha256), by name."""
    manifest = {**run.manifest, "files": {p.name: entries[p] for p in sorted(entries, key=lambda p: p.name)}}
    path = Path(directory) / MANIFEST
    path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True), encoding="utf-8")
    return path


MANIFEST = "manifest.json"


def manifest_files(folder: Path) -> set[str] | None:
    """The files a finished run folder holds by its manifest (with the manifest), or None if it has none. Folders
    written before manifests listed their files hold the fixed names of that version."""
    try:
        manifest = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if "files" in manifest:
        return {MANIFEST, *manifest["files"]}
    return {MANIFEST, "results.parquet", "results.csv", f"拟兑现名单_{manifest.get('period')}.xlsx"}


def write_run(run: ScreeningRun | PaidFirst, out: Path, notice=lambda _m: None, *, csv: bool = False,
              todo: bool = False) -> list[Path]:
    """Every output of a run, complete or not at all: the workbook, results.parquet, missing_summary.parquet,
    results.csv (only with ``csv``), the per-county to-do workbooks 待补充信息_<县区>.xlsx (only with ``todo``),
    manifest.json.

    ``run`` may be a :class:`~huiqi.services.screening.PaidFirst` (``screen(..., paid_first=True)``): the workbook
    reads only its paid rows, so it is written while the second thread builds the full listing and the data files
    from it (docs/decisions.md PIPE-1); the files are the same bytes as from the finished run.

    ``out`` a folder: the files go into a new version folder and ``out`` becomes a link to it in one atomic step
    (huiqi.core.atomic.run_folder) — a kill leaves the previous complete run. ``out`` an .xlsx file: the files are
    written beside it, each replaced atomically, the manifest last."""
    from huiqi.core.atomic import fsync_path, run_folder

    staged = run if isinstance(run, PaidFirst) else None
    early = staged.early if staged is not None else run  # what the workbook reads: the paid rows suffice

    def finished() -> ScreeningRun:
        return staged.full() if staged is not None else run

    def write_all(folder: Path) -> tuple[list[Path], list[Path]]:
        """The workbook on this thread and the listing (if not built yet) and the tables on a second one at the
        same time — Polars builds the listing and writes Parquet mostly outside the GIL while xlsxwriter holds it
        (EXCEL-3, PIPE-1) — then the to-do workbooks (they read the full listing), then the manifest, last."""
        name = out.name if out.suffix == ".xlsx" else f"拟兑现名单_{early.period}.xlsx"
        with ThreadPoolExecutor(1, thread_name_prefix="huiqi-tables") as pool:
            tables = pool.submit(lambda: write_data_files(finished(), folder, csv=csv))
            books = [write_excel(early, folder / name)]
            if todo and staged is None:  # a finished run: its to-do workbooks beside the tables too
                books += write_todo_by_county(run, folder)
            entries = tables.result()
        if todo and staged is not None:
            books += write_todo_by_county(staged.full(), folder)
        manifest = write_manifest(early, folder, {**{p: file_entry(p) for p in books}, **entries})
        return books, [*entries, manifest]

    out = Path(out)
    if out.suffix != ".xlsx":
        with run_folder(out, manifest_files, notice) as folder:
            books, written = write_all(folder)
        return [out / p.name for p in (*books, *written)]
    out.parent.mkdir(parents=True, exist_ok=True)
    for stray in out.parent.glob(f".{out.stem}.tmp-*"):  # what a killed run left
        shutil.rmtree(stray, ignore_errors=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.stem}.tmp-", dir=out.parent))
    try:
        books, written = write_all(stage)
        for f in (*books, *written):  # each replaced in one step, the manifest last: it describes files in place
            fsync_path(f)
            os.replace(f, out.parent / f.name)
        fsync_path(out.parent)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return [out.parent / p.name for p in (*books, *written)]
