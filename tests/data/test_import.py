"""Import of enterprise data (.xlsx/.csv/.parquet): a good file imports exactly; every malformed file is rejected
with the right row and column, and nothing is written (all or nothing); re-importing changes nothing."""

from __future__ import annotations

import csv
import random
from datetime import date
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

from huiqi.data.credit_code import make_code
from huiqi.data.importer import import_file, import_files, parse_period
from huiqi.data.store import Store

RNG = random.Random(7)
CODES = [make_code(RNG, "450204") for _ in range(6)]
A, B, C_ = CODES[0], CODES[1], CODES[2]
BAD_CHECK = A[:17] + ("0" if A[17] != "0" else "1")

ENT_HEADER = ["统一社会信用代码", "企业名称", "县区代码", "行业代码", "行业", "成立日期", "是否国有"]
ENT_ROWS = [
    [A, "柳州甲汽车零部件有限公司", "450204", "3670", "汽车", date(2015, 3, 1), "否"],
    [B, "柳州乙机械有限公司", "450205", "3421", "机械", date(2018, 6, 30), "是"],
    [C_, "柳州丙钢铁有限公司", "450203", "3120", "钢铁", "2010-01-15", "否"],
]
WIDE_HEADER = ["统一社会信用代码", "企业名称", "期间", "工业总产值（万元）", "主营业务收入（元）", "利润总额（万元）",
               "用电量（千瓦时）", "从业人员（人）"]
WIDE_ROWS = [
    [A, "甲", "2024Q4", 898.61497, "8169227.00", -12.5, 1250000, 320],
    [A, "甲", "2023Q4", "816.92", 7000000, 3, 1100000.5, 300],
    [B, "乙", "2024Q4", 120, 1300000.25, None, 99000, 85],
]


def write_xlsx(path: Path, sheets: dict[str, list[list]], merges: dict[str, list[str]] | None = None,
               start_row: int = 0) -> Path:
    wb = xlsxwriter.Workbook(str(path), {"default_date_format": "yyyy-mm-dd"})
    for name, rows in sheets.items():
        ws = wb.add_worksheet(name)
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                if v is not None:
                    ws.write(start_row + i, j, v)
        for ref in (merges or {}).get(name, []):
            first = rows[0][0] if rows else ""
            ws.merge_range(ref, first)
    wb.close()
    return path


def write_csv(path: Path, rows: list[list], encoding: str = "utf-8") -> Path:
    with open(path, "w", newline="", encoding=encoding) as f:
        csv.writer(f).writerows([["" if v is None else str(v) for v in r] for r in rows])
    return path


def good_workbook(path: Path) -> Path:
    return write_xlsx(path, {"企业": [ENT_HEADER, *ENT_ROWS], "指标": [WIDE_HEADER, *WIDE_ROWS],
                             "认定": [["统一社会信用代码", "认定类型", "认定日期", "截止日期"],
                                      [A, "高新技术企业", "2023-12-01", None], [B, "little_giant", "2022/7/1", "2025-06-30"]],
                             "Sheet4": []})


# ------------------------------------------------------------------------------------------------- good files

def test_good_workbook_imports_exactly(tmp_path):
    res = import_file(good_workbook(tmp_path / "data.xlsx"))
    assert res.ok, res.to_text()
    assert res.rows() == {"enterprises": 3, "indicators": 14, "designations": 2}
    ent = res.tables["enterprises"]
    assert ent.filter(pl.col("credit_code") == A).row(0, named=True) == {
        "credit_code": A, "name": "柳州甲汽车零部件有限公司", "county_code": "450204", "industry_code": "3670",
        "sector": "汽车", "established": date(2015, 3, 1), "is_state_owned": False}
    ind = {(r["credit_code"], r["period"], r["indicator"]): r["value"] for r in res.tables["indicators"].to_dicts()}
    assert ind[(A, "2024Q4", "output")] == 898_614_970  # 898.61497万元 = 8,986,149.70 元, exactly
    assert ind[(A, "2024Q4", "revenue")] == 816_922_700
    assert ind[(A, "2024Q4", "profit")] == -12_500_000  # profit may be negative
    assert ind[(A, "2023Q4", "power")] == 110_000_050  # kWh × 100
    assert ind[(B, "2024Q4", "employees")] == 8_500
    assert (B, "2024Q4", "profit") not in ind  # an empty cell stays missing, never 0
    des = res.tables["designations"].sort("credit_code").to_dicts()
    assert {d["designation"] for d in des} == {"high_tech", "little_giant"}
    assert "检查通过" in res.to_text()


def test_import_into_store_and_reimport_is_a_noop(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'h.db'}")
    store.create_all()
    path = good_workbook(tmp_path / "data.xlsx")
    first = import_files([path], store)
    assert first.ok and first.written == {"enterprises": 3, "indicators": 14, "designations": 2}
    h = store.snapshot_hash()
    again = import_files([path], store)
    assert again.ok and again.written == {"enterprises": 0, "indicators": 0, "designations": 0}
    assert store.snapshot_hash() == h
    assert "无变化" in again.to_text()


def test_long_indicators_with_unit_column_and_money_option(tmp_path):
    rows = [["credit_code", "period", "indicator", "value", "单位"],
            [A, "2024年第4季度", "工业总产值", "500", "万元"],
            [A, "2024-10", "power", "1.5", "万千瓦时"],
            [A, "2024Q4", "rd_expense", "1,234.56", None]]
    res = import_file(write_csv(tmp_path / "indicators.csv", rows), money_unit="元")
    assert res.ok, res.to_text()
    got = {(r["period"], r["indicator"]): r["value"] for r in res.tables["indicators"].to_dicts()}
    assert got == {("2024Q4", "output"): 500_000_000, ("2024M10", "power"): 1_500_000,
                   ("2024Q4", "rd_expense"): 123_456}


def test_gbk_csv_and_parquet_roundtrip(tmp_path):
    res = import_file(write_csv(tmp_path / "企业.csv", [ENT_HEADER, *ENT_ROWS], encoding="gbk"))
    assert res.ok, res.to_text()
    assert res.tables["enterprises"]["name"].to_list()[0] == "柳州甲汽车零部件有限公司"
    res.tables["enterprises"].write_parquet(tmp_path / "enterprises.parquet")
    again = import_file(tmp_path / "enterprises.parquet")
    assert again.ok and again.tables["enterprises"].equals(res.tables["enterprises"])


def test_header_not_in_row_one_keeps_excel_row_numbers(tmp_path):
    rows = [ENT_HEADER, ENT_ROWS[0], [BAD_CHECK, *ENT_ROWS[1][1:]]]
    res = import_file(write_xlsx(tmp_path / "enterprises.xlsx", {"企业": rows}, start_row=2))
    assert not res.ok
    assert res.errors.select("row", "column").rows() == [(5, "统一社会信用代码")]


@pytest.mark.parametrize("text,expected", [("2024Q4", "2024Q4"), ("2024q1", "2024Q1"), ("2024-Q2", "2024Q2"),
                                           ("2024年第三季度", "2024Q3"), ("2024M01", "2024M01"), ("2024-3", "2024M03"),
                                           ("2024年12月", "2024M12")])
def test_period_spellings(text, expected):
    assert parse_period(text) == expected


# -------------------------------------------------------------------------------------------- the bad files
# Each case builds a malformed file and says which (row, column, reason fragment) must be reported.

def _ent(path, rows, **kw):
    return write_xlsx(path / "enterprises.xlsx", {"企业": [ENT_HEADER, *rows]}, **kw)


def _wide(path, rows, header=WIDE_HEADER):
    return write_xlsx(path / "indicators.xlsx", {"指标": [header, *rows]})


def _row(base, **changes):
    r = list(base)
    for k, v in changes.items():
        r[ENT_HEADER.index(k)] = v
    return r


def bad_check_digit(p):
    return _ent(p, [ENT_ROWS[0], _row(ENT_ROWS[1], 统一社会信用代码=BAD_CHECK)]), {}, [(3, "统一社会信用代码", "校验码")]


def bad_wan_yuan_mixup(p):
    rows = [WIDE_ROWS[0], [B, "乙", "2024Q4", 81_692_270_000, 1, 1, 1, 1]]
    return _wide(p, rows), {}, [(3, "工业总产值（万元）", "疑似以元填入万元列")]


def bad_text_in_number(p):
    rows = [WIDE_ROWS[0], [B, "乙", "2024Q4", 1, 1, "约100", 1, 1]]
    return _wide(p, rows), {}, [(3, "利润总额（万元）", "不是数值")]


def bad_duplicate_rows(p):
    return _ent(p, [*ENT_ROWS, ENT_ROWS[0]]), {}, [(5, "统一社会信用代码", "与第2行重复")]


def bad_duplicate_wide_rows(p):
    return _wide(p, [WIDE_ROWS[0], WIDE_ROWS[2], WIDE_ROWS[0]]), {}, [(4, "统一社会信用代码、期间", "与第2行重复")]


def bad_missing_required_column(p):
    rows = [[c for c, h in zip(r, ENT_HEADER) if h != "县区代码"] for r in [ENT_HEADER, *ENT_ROWS]]
    return write_xlsx(p / "enterprises.xlsx", {"企业": rows}), {}, [(1, "县区代码", "缺少必填列")]


def bad_empty_sheet(p):
    return write_xlsx(p / "enterprises.xlsx", {"Sheet1": []}), {}, [(None, None, "工作表为空")]


def bad_header_only(p):
    return write_xlsx(p / "enterprises.xlsx", {"企业": [ENT_HEADER]}), {}, [(1, None, "没有数据行")]


def bad_merged_header(p):
    header = ["统一社会信用代码", None, "县区代码", "行业代码"]
    rows = [header, [A, "甲", "450204", "3670"]]
    path = write_xlsx(p / "enterprises.xlsx", {"企业": rows}, merges={"企业": ["A1:B1"]})
    return path, {}, [(1, "A1:B1", "合并单元格"), (1, "第B列", "表头为空")]


def bad_date_month13(p):
    return _ent(p, [_row(ENT_ROWS[0], 成立日期="2024-13-01")]), {}, [(2, "成立日期", "不是有效日期")]


def bad_date_feb30(p):
    return _ent(p, [ENT_ROWS[0], _row(ENT_ROWS[1], 成立日期="2024/2/30")]), {}, [(3, "成立日期", "不是有效日期")]


def bad_negative_output(p):
    rows = [[A, "甲", "2024Q4", -1, 1, -1, 1, 1]]  # profit -1 is fine, output -1 is not
    return _wide(p, rows), {}, [(2, "工业总产值（万元）", "不能为负数")]


def bad_negative_power_long(p):
    rows = [["统一社会信用代码", "期间", "指标", "数值（万元）"], [A, "2024Q4", "用电量", "-3"],
            [A, "2024Q4", "利润总额", "-3"]]
    return write_csv(p / "indicators.csv", rows), {}, [(2, "数值（万元）", "不能为负数")]


def bad_unknown_county(p):
    return _ent(p, [_row(ENT_ROWS[0], 县区代码="450299")]), {}, [(2, "县区代码", "未知的县区代码")]


def bad_period_q5(p):
    rows = [[A, "甲", "2024Q5", 1, 1, 1, 1, 1]]
    return _wide(p, rows), {}, [(2, "期间", "季度只有")]


def bad_blank_header(p):
    header = ["统一社会信用代码", "企业名称", None, "县区代码", "行业代码"]
    rows = [header, [A, "甲", "多余的数据", "450204", "3670"]]
    return write_xlsx(p / "enterprises.xlsx", {"企业": rows}), {}, [(1, "第C列", "表头为空")]


def bad_gbk_csv_value(p):
    rows = [ENT_HEADER, ENT_ROWS[0], _row(ENT_ROWS[1], 是否国有="也许")]
    return write_csv(p / "企业名录.csv", rows, encoding="gbk"), {}, [(3, "是否国有", "应为 是/否")]


def bad_money_without_unit(p):
    header = ["统一社会信用代码", "期间", "利润总额"]
    return _wide(p, [[A, "2024Q4", 5]], header=header), {}, [(1, "利润总额", "未注明单位")]


def bad_finer_than_fen(p):
    rows = [[A, "甲", "2024Q4", 1, "100.005", 1, 1, 1]]
    return _wide(p, rows), {}, [(2, "主营业务收入（元）", "精度超过0.01元")]


def bad_unknown_indicator(p):
    rows = [["统一社会信用代码", "期间", "指标", "数值（元）"], [A, "2024Q4", "产能", "3"]]
    return write_csv(p / "indicators.csv", rows), {}, [(2, "指标", "未知的指标")]


def bad_industry_code(p):
    return _ent(p, [_row(ENT_ROWS[0], 行业代码="367")]), {}, [(2, "行业代码", "4位数字")]


def bad_sector(p):
    return _ent(p, [_row(ENT_ROWS[0], 行业="汽配")]), {}, [(2, "行业", "未知的行业")]


def bad_unknown_column(p):
    rows = [[*ENT_HEADER, "联系电话"], [*ENT_ROWS[0], "0772-1234567"]]
    return write_xlsx(p / "enterprises.xlsx", {"企业": rows}), {}, [(1, "联系电话", "无法识别的列名")]


def bad_required_cell_empty(p):
    return _ent(p, [_row(ENT_ROWS[0], 企业名称=None)]), {}, [(2, "企业名称", "必填项为空")]


def bad_year(p):
    rows = [["统一社会信用代码", "年度", "是否规上", "入库日期"], [A, "24", "是", "2024-01-01"]]
    return write_csv(p / "scale_status.csv", rows), {}, [(2, "年度", "不是有效年度")]


def bad_month_for_quarter(p):
    rows = [["项目编号", "期间", "完成投资（万元）"], ["P001", "2024M01", "10"]]
    return write_csv(p / "project_investment.csv", rows), {}, [(2, "期间", "应为季度")]


def bad_unknown_unit(p):
    header = ["统一社会信用代码", "期间", "工业总产值（千元）"]
    return _wide(p, [[A, "2024Q4", 5]], header=header), {}, [(1, "工业总产值（千元）", "不认识的金额单位")]


def bad_duplicate_header(p):
    rows = [["credit_code", *ENT_HEADER], [A, *ENT_ROWS[0]]]
    return write_xlsx(p / "enterprises.xlsx", {"企业": rows}), {}, [(1, "统一社会信用代码", "列重复")]


def bad_designation(p):
    rows = [["统一社会信用代码", "认定类型", "认定日期"], [A, "瞪羚企业", "2024-01-01"]]
    return write_csv(p / "designations.csv", rows), {}, [(2, "认定类型", "未知的认定类型")]


def bad_xls(p):
    path = p / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0")
    return path, {}, [(None, None, "不支持的文件类型")]


def bad_duplicate_across_sheets(p):
    rows = [WIDE_HEADER[:4], [A, "甲", "2024Q4", 5]]
    long = [["统一社会信用代码", "期间", "指标", "数值（万元）"], [A, "2024Q4", "output", 5]]
    path = write_xlsx(p / "indicators.xlsx", {"宽表": rows, "长表": long})
    return path, {"table": "indicators"}, [(2, "统一社会信用代码、期间、指标", "与indicators.xlsx〔宽表〕第2行重复")]


def bad_many_problems_in_one_file(p):
    rows = [_row(ENT_ROWS[0], 统一社会信用代码=BAD_CHECK), _row(ENT_ROWS[1], 成立日期="2024/2/30"),
            _row(ENT_ROWS[2], 县区代码="999999", 行业="汽配")]
    return _ent(p, rows), {}, [(2, "统一社会信用代码", "校验码"), (3, "成立日期", "不是有效日期"),
                               (4, "行业", "未知的行业"), (4, "县区代码", "未知的县区代码")]


BAD_CASES = [f for name, f in sorted(globals().items()) if name.startswith("bad_") and callable(f)]


@pytest.fixture(scope="module")
def loaded_store(tmp_path_factory):
    d = tmp_path_factory.mktemp("store")
    store = Store(f"sqlite:///{d / 'h.db'}")
    store.create_all()
    assert import_files([good_workbook(d / "good.xlsx")], store).ok
    return store


def test_at_least_twenty_bad_cases():
    assert len(BAD_CASES) >= 20


@pytest.mark.parametrize("case", BAD_CASES, ids=[f.__name__[4:] for f in BAD_CASES])
def test_bad_file_is_rejected_and_nothing_is_written(case, tmp_path, loaded_store):
    path, kwargs, expected = case(tmp_path)
    before = loaded_store.snapshot_hash()
    res = import_files([path], loaded_store, **kwargs)
    assert not res.ok
    assert res.written is None
    assert loaded_store.snapshot_hash() == before
    errors = res.errors
    assert errors.height == len(res.problems) >= len(expected)
    for row, column, fragment in expected:
        hits = errors.filter(pl.col("reason").str.contains(fragment, literal=True))
        if row is not None:
            hits = hits.filter(pl.col("row") == row)
        if column is not None:
            hits = hits.filter(pl.col("column") == column)
        assert hits.height >= 1, f"expected row {row} column {column} “{fragment}”, got:\n{res.to_text()}"
    assert "未写入任何数据" in res.to_text()
    assert all(Path(f).name == path.name for f in errors["file"].to_list())


def test_all_or_nothing_across_files(tmp_path, loaded_store):
    good = write_csv(tmp_path / "enterprises.csv", [ENT_HEADER, [CODES[4], "新企业", "450204", "3670", "汽车",
                                                                 "2020-01-01", "否"]])
    bad = write_csv(tmp_path / "scale_status.csv", [["统一社会信用代码", "年度", "是否规上"], [CODES[4], "2024", "可能"]])
    before = loaded_store.snapshot_hash()
    res = import_files([good, bad], loaded_store)
    assert not res.ok and loaded_store.snapshot_hash() == before
    assert res.errors.select("file", "row", "column").rows() == [(str(bad), 2, "是否规上")]


def test_duplicate_across_files_names_both(tmp_path):
    f1 = write_csv(tmp_path / "a.csv", [ENT_HEADER, ENT_ROWS[0]])
    f2 = write_csv(tmp_path / "b.csv", [ENT_HEADER, ENT_ROWS[1], ENT_ROWS[0]])
    res = import_files([f1, f2], None, table="enterprises")
    assert not res.ok
    (file, _, row, _, _, reason), = res.problems
    assert (Path(file).name, row) == ("b.csv", 3) and "a.csv第2行" in reason


def test_error_frame_and_text_report(tmp_path):
    path, _, _ = bad_many_problems_in_one_file(tmp_path)
    res = import_file(path)
    assert res.errors.columns == ["file", "sheet", "row", "column", "value", "reason"]
    text = res.to_text()
    assert text.startswith("导入失败：发现4个问题")
    assert "enterprises.xlsx〔企业〕 第3行 “成立日期”＝“2024/2/30”" in text


def test_money_unit_option_supplies_the_unit(tmp_path):
    header = ["统一社会信用代码", "期间", "利润总额"]
    res = import_file(_wide(tmp_path, [[A, "2024Q4", 5]], header=header), money_unit="万元")
    assert res.ok and res.tables["indicators"]["value"].to_list() == [5_000_000]


def test_repeated_wide_row_is_reported_once(tmp_path):
    path, _, _ = bad_duplicate_wide_rows(tmp_path)
    res = import_file(path)
    assert res.errors.select("row", "column").rows() == [(4, "统一社会信用代码、期间")]
