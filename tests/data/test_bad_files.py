"""Bad input, issue 8: every malformed or hostile file is rejected with its row and column in Chinese — no crash,
no silent wrong value, no partial write (the database is unchanged after each rejected import).

Each `bad_*` case builds a file and names the (row, column, reason fragment) that must be reported; the cases
add to the 31 of test_import.py (the acceptance is ≥ 75 together). The calculator's facts go through the same
bounds (huiqi.core.bounds): the last tests check the Python API for the same values.
"""

from __future__ import annotations

import sys
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from huiqi.core import bounds, money
from huiqi.data.importer import import_file, import_files
from huiqi.data.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pg import postgres_url  # noqa: E402,F401  (a pytest fixture: a real PostgreSQL server)

from .test_import import (A, B, BAD_CASES as OLD_CASES, CODES, ENT_HEADER, ENT_ROWS, WIDE_HEADER, good_workbook, write_csv, write_xlsx)

SMALL = bounds.ImportLimits(max_file_bytes=200_000, max_rows=5, max_inflated_bytes=2_000_000)
LONG = ["统一社会信用代码", "期间", "指标", "数值"]


def _wide_csv(p: Path, *rows, header=WIDE_HEADER, name="indicators.csv", encoding="utf-8"):
    return write_csv(p / name, [header, *rows], encoding=encoding)


def _wide_row(**changes):
    r = [A, "甲", "2024Q4", 1, 1, 1, 1, 1]
    for k, v in changes.items():
        r[WIDE_HEADER.index(k)] = v
    return r


def _ent_csv(p: Path, *rows, name="enterprises.csv", encoding="utf-8"):
    return write_csv(p / name, [ENT_HEADER, *rows], encoding=encoding)


def _ent_row(**changes):
    r = list(ENT_ROWS[0])
    for k, v in changes.items():
        r[ENT_HEADER.index(k)] = v
    return r


def _openpyxl(p: Path, rows: list[list], name="enterprises.xlsx", title="企业") -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for r in rows:
        ws.append(r)
    wb.save(p / name)
    return p / name


# ------------------------------------------------------------------------------------------ numbers: bounds

def bad_negative_revenue_yuan(p):
    return _wide_csv(p, _wide_row(**{"主营业务收入（元）": "-100"})), {}, [(2, "主营业务收入（元）", "不能为负数")]


def bad_negative_employees(p):
    return _wide_csv(p, _wide_row(**{"从业人员（人）": "-3"})), {}, [(2, "从业人员（人）", "不能为负数")]


def bad_negative_zero_point_one_power(p):
    return _wide_csv(p, _wide_row(**{"用电量（千瓦时）": "-0.1"})), {}, [(2, "用电量（千瓦时）", "不能为负数")]


def bad_huge_23_digits_yuan(p):
    row = _wide_row(**{"主营业务收入（元）": "99999999999999999999999"})
    return _wide_csv(p, row), {}, [(2, "主营业务收入（元）", "超出合理范围")]


def bad_int64_overflowing_yuan(p):
    """92233720368547758 元 × 100 overflowed Int64 into a 153722867180.91% growth."""
    row = _wide_row(**{"主营业务收入（元）": "92233720368547758"})
    return _wide_csv(p, row), {}, [(2, "主营业务收入（元）", "超出合理范围")]


def bad_two_pow_63_yuan(p):
    return _wide_csv(p, _wide_row(**{"主营业务收入（元）": str(2**63)})), {}, [(2, "主营业务收入（元）", "超出合理范围")]


def bad_two_pow_63_fen_column(p):
    rows = [["项目编号", "统一社会信用代码", "项目名称", "项目类型", "县区代码", "入库日期", "total_investment_fen"],
            ["P1", A, "技改一期", "技改", "450204", "2024-01-01", str(2**63)]]
    return write_csv(p / "projects.csv", rows), {}, [(2, "total_investment_fen", "超出合理范围")]


def bad_fen_column_with_decimals(p):
    rows = [["项目编号", "统一社会信用代码", "项目名称", "项目类型", "县区代码", "入库日期", "total_investment_fen"],
            ["P1", A, "技改一期", "技改", "450204", "2024-01-01", "1.5"]]
    return write_csv(p / "projects.csv", rows), {}, [(2, "total_investment_fen", "应为整数")]


def bad_1e308_xlsx_number(p):
    rows = [WIDE_HEADER, _wide_row(**{"主营业务收入（元）": 1e308})]
    return write_xlsx(p / "indicators.xlsx", {"指标": rows}), {}, [(2, "主营业务收入（元）", "超出合理范围")]


def bad_1e308_power(p):
    return _wide_csv(p, _wide_row(**{"用电量（千瓦时）": "1e308"})), {}, [(2, "用电量（千瓦时）", "超出合理范围")]


def bad_inf_text(p):
    return _wide_csv(p, _wide_row(**{"主营业务收入（元）": "inf"})), {}, [(2, "主营业务收入（元）", "不是有效数值")]


def bad_minus_infinity_employees(p):
    return _wide_csv(p, _wide_row(**{"从业人员（人）": "-Infinity"})), {}, [(2, "从业人员（人）", "不是有效数值")]


def bad_nan_text(p):
    return _wide_csv(p, _wide_row(**{"利润总额（万元）": "NaN"})), {}, [(2, "利润总额（万元）", "不是有效数值")]


def bad_profit_beyond_minus_one_trillion(p):
    """Profit may be negative, but not beyond the bound of money."""
    row = _wide_row(**{"利润总额（万元）": "-100000001"})
    return _wide_csv(p, row), {}, [(2, "利润总额（万元）", "超出合理范围")]


def bad_finer_than_fen_1e_3_yuan(p):
    return _wide_csv(p, _wide_row(**{"主营业务收入（元）": "1e-3"})), {}, [(2, "主营业务收入（元）", "精度超过0.01元")]


def bad_employees_beyond_bound(p):
    return _wide_csv(p, _wide_row(**{"从业人员（人）": "1e9"})), {}, [(2, "从业人员（人）", "超出合理范围")]


def bad_text_in_number_chinese_numerals(p):
    return _wide_csv(p, _wide_row(**{"主营业务收入（元）": "一百万"})), {}, [(2, "主营业务收入（元）", "不是数值")]


def bad_percent_in_money(p):
    return _wide_csv(p, _wide_row(**{"主营业务收入（元）": "12%"})), {}, [(2, "主营业务收入（元）", "不是数值")]


def bad_long_value_huge_exponent(p):
    """Decimal('1E+999999999') would make int() build a billion-digit integer."""
    rows = [LONG, [A, "2024Q4", "用电量", "1E+999999999"]]
    return write_csv(p / "indicators.csv", rows), {}, [(2, "数值", "超出合理范围")]


def bad_parquet_nan_and_inf(p):
    frame = pl.DataFrame({"credit_code": [A, B], "period": ["2024Q4", "2024Q4"], "indicator": ["power", "employees"],
                          "value": [float("nan"), float("inf")]})
    frame.write_parquet(p / "indicators.parquet")
    return p / "indicators.parquet", {}, [(2, "value", "不是有效数值"), (3, "value", "不是有效数值")]


def bad_parquet_int64_max_internal(p):
    frame = pl.DataFrame({"credit_code": [A], "period": ["2024Q4"], "indicator": ["output"], "value": [2**63 - 1]})
    frame.write_parquet(p / "indicators.parquet")
    return p / "indicators.parquet", {}, [(2, "value", "超出合理范围")]


# ------------------------------------------------------------------------------------ Excel errors, formulas

def bad_div0_error_value(p):
    path = _openpyxl(p, [WIDE_HEADER, [A, "甲", "2024Q4", "#DIV/0!", 1, 1, 1, 1]], "indicators.xlsx", "指标")
    return path, {}, [(2, "工业总产值（万元）", "Excel 错误值")]


def bad_na_error_in_name(p):
    path = _openpyxl(p, [ENT_HEADER, _ent_row(企业名称="#N/A")])
    return path, {}, [(2, "企业名称", "Excel 错误值")]


def bad_ref_error_in_date(p):
    return _openpyxl(p, [ENT_HEADER, _ent_row(成立日期="#REF!")]), {}, [(2, "成立日期", "Excel 错误值")]


def bad_value_error_text_in_csv(p):
    return _wide_csv(p, _wide_row(**{"利润总额（万元）": "#VALUE!"})), {}, [(2, "利润总额（万元）", "Excel 错误值")]


def bad_formula_without_cached_value(p):
    """openpyxl writes the formula and no value: calamine reads an empty cell."""
    path = _openpyxl(p, [WIDE_HEADER, [A, "甲", "2024Q4", "=1+1", 1, 1, 1, 1]], "indicators.xlsx", "指标")
    return path, {}, [(2, "工业总产值（万元）", "公式单元格没有计算结果")]


def bad_formula_written_as_zero(p):
    """xlsxwriter writes <v>0</v> for a formula it cannot calculate (and fullCalcOnLoad): it read as 0."""
    import xlsxwriter

    path = p / "indicators.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("指标")
    ws.write_row(0, 0, WIDE_HEADER)
    ws.write_row(1, 0, [A, "甲", "2024Q4"])
    ws.write_formula(1, 3, "=500*2")
    ws.write_row(1, 4, [1, 1, 1, 1])
    wb.close()
    return path, {}, [(2, "工业总产值（万元）", "公式单元格没有计算结果")]


def bad_formula_in_text_column(p):
    return _openpyxl(p, [ENT_HEADER, _ent_row(企业名称='=CONCAT("甲","乙")')]), {}, [(2, "企业名称", "公式")]


def bad_formula_offset_columns(p):
    """A sheet that starts in column C: the column is still named by its header."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "指标"
    for i, r in enumerate([WIDE_HEADER, [A, "甲", "2024Q4", 1, "=2*3", 1, 1, 1]]):
        for j, v in enumerate(r):
            ws.cell(row=3 + i, column=3 + j, value=v)
    wb.save(p / "indicators.xlsx")
    return p / "indicators.xlsx", {}, [(4, "主营业务收入（元）", "公式单元格没有计算结果")]


# ---------------------------------------------------------------------------------------------------- text

def bad_nul_in_name_xlsx(p):
    """A NUL byte (_x0000_ in the xlsx XML) truncated the name, and crashed PostgreSQL."""
    return _openpyxl(p, [ENT_HEADER, _ent_row(企业名称="柳州_x0000_甲公司")]), {}, [(2, "企业名称", "空字符")]


def bad_nul_in_name_csv(p):
    return _ent_csv(p, _ent_row(企业名称="柳州\x00甲公司")), {}, [(2, "企业名称", "空字符")]


def bad_nul_in_period(p):
    return _wide_csv(p, _wide_row(期间="2024Q4\x00")), {}, [(2, "期间", "空字符")]


def bad_bell_control_char(p):
    return _ent_csv(p, _ent_row(企业名称="柳州\x07甲公司")), {}, [(2, "企业名称", "控制字符")]


def bad_bidi_override_in_name(p):
    return _ent_csv(p, _ent_row(企业名称="柳州\u202e司公甲")), {}, [(2, "企业名称", "控制字符")]


def bad_overlong_name(p):
    return _ent_csv(p, _ent_row(企业名称="甲" * 501)), {}, [(2, "企业名称", "文字过长")]


def bad_overlong_remark_in_events(p):
    rows = [["事项编号", "统一社会信用代码", "事项类型", "日期", "说明"],
            ["E1", A, "促销活动", "2024-10-01", "说" * 5000]]
    return write_csv(p / "events.csv", rows), {}, [(2, "说明", "文字过长")]


def bad_nul_in_header(p):
    """A NUL in a header: rejected, and the report shows it as \\x00 (the report is stored and shown too)."""
    header = [*ENT_HEADER[:-1], "是否\x00国有"]
    return write_csv(p / "enterprises.csv", [header, ENT_ROWS[0]]), {}, [(1, "是否\\x00国有", "无法识别的列名")]


# ------------------------------------------------------------------------------------ headers, empty files

def bad_duplicate_header_same_text(p):
    rows = [[*ENT_HEADER, "企业名称"], [*ENT_ROWS[0], "别名"]]
    return write_csv(p / "enterprises.csv", rows), {}, [(1, "企业名称", "列重复")]


def bad_duplicate_header_by_alias(p):
    header = ["统一社会信用代码", "期间", "工业总产值（万元）", "产值（万元）"]
    return _wide_csv(p, [A, "2024Q4", 1, 2], header=header), {}, [(1, "产值（万元）", "列重复")]


def bad_zero_byte_csv(p):
    (p / "enterprises.csv").write_bytes(b"")
    return p / "enterprises.csv", {}, [(None, None, "文件是空的")]


def bad_bom_only_csv(p):
    (p / "enterprises.csv").write_bytes(b"\xef\xbb\xbf")
    return p / "enterprises.csv", {}, [(None, None, "为空")]


def bad_csv_header_only(p):
    return write_csv(p / "enterprises.csv", [ENT_HEADER]), {}, [(1, None, "没有数据行")]


def bad_xlsx_all_sheets_empty(p):
    wb = openpyxl.Workbook()
    wb.create_sheet("Sheet2")
    wb.save(p / "enterprises.xlsx")
    return p / "enterprises.xlsx", {}, [(None, None, "工作表为空")]


# ------------------------------------------------------------------------------------- zip, extension, size

def _zip_bomb(p: Path) -> Path:
    """A valid workbook plus a 64 MiB member of zeros that deflates to ~64 KiB (ratio ≈ 1000)."""
    good = good_workbook(p / "good_src.xlsx")
    path = p / "enterprises.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item.filename))
        with dst.open("xl/media/padding.bin", "w") as f:
            chunk = b"\0" * 2**20
            for _ in range(64):
                f.write(chunk)
    return path


def bad_zip_bomb(p):
    return _zip_bomb(p), {}, [(None, None, "压缩炸弹")]


def bad_zip_bomb_lying_about_its_size(p):
    """The bomb's member declares 1000 bytes in both headers: the sizes pass, the stream is stopped and fails
    its CRC check before calamine sees it."""
    import struct

    path = _zip_bomb(p)
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("xl/media/padding.bin")
    raw[info.header_offset + 22: info.header_offset + 26] = struct.pack("<I", 1000)
    name = info.filename.encode()
    pos = raw.find(b"PK\x01\x02")
    while pos >= 0:
        if raw[pos + 46: pos + 46 + len(name)] == name:
            raw[pos + 24: pos + 28] = struct.pack("<I", 1000)
            break
        pos = raw.find(b"PK\x01\x02", pos + 4)
    assert pos >= 0
    path.write_bytes(bytes(raw))
    with zipfile.ZipFile(path) as z:
        assert z.getinfo("xl/media/padding.bin").file_size == 1000
    return path, {}, [(None, None, "已损坏")]


def bad_zip_inflated_too_large(p):
    return good_workbook(p / "data.xlsx"), {"limits": bounds.ImportLimits(max_inflated_bytes=1000)}, [
        (None, None, "解压后过大")]


def bad_truncated_zip(p):
    raw = good_workbook(p / "src.xlsx").read_bytes()
    (p / "enterprises.xlsx").write_bytes(raw[: len(raw) // 2])
    return p / "enterprises.xlsx", {}, [(None, None, "已损坏")]


def bad_corrupt_zip_member(p):
    """The central directory is intact but the sheet's deflate stream is garbage."""
    src = good_workbook(p / "src.xlsx")
    raw = bytearray(src.read_bytes())
    with zipfile.ZipFile(src) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for k in range(start + 5, start + min(info.compress_size, 200)):
        raw[k] ^= 0x5A
    (p / "enterprises.xlsx").write_bytes(bytes(raw))
    return p / "enterprises.xlsx", {}, [(None, None, "损坏")]


def bad_random_bytes_as_xlsx(p):
    (p / "enterprises.xlsx").write_bytes(bytes(range(256)) * 40)
    return p / "enterprises.xlsx", {}, [(None, None, "已损坏")]


def bad_zip_without_workbook(p):
    with zipfile.ZipFile(p / "enterprises.xlsx", "w") as z:
        z.writestr("hello.txt", "不是工作簿")
    return p / "enterprises.xlsx", {}, [(None, None, "不是有效的 Excel 工作簿")]


def bad_csv_named_xlsx(p):
    path = write_csv(p / "x.csv", [ENT_HEADER, ENT_ROWS[0]])
    path.rename(p / "enterprises.xlsx")
    return p / "enterprises.xlsx", {}, [(None, None, "检查扩展名")]


def bad_xlsx_named_csv(p):
    good_workbook(p / "x.xlsx").rename(p / "enterprises.csv")
    return p / "enterprises.csv", {}, [(None, None, "扩展名改为 .xlsx")]


def bad_text_named_parquet(p):
    (p / "indicators.parquet").write_text("credit_code,period\n")
    return p / "indicators.parquet", {}, [(None, None, "不是 Parquet")]


def bad_csv_too_many_rows(p):
    return _ent_csv(p, *[ENT_ROWS[0]] * 7), {"limits": SMALL}, [(None, None, "行数过多")]


def bad_xlsx_too_many_rows(p):
    rows = [WIDE_HEADER, *[_wide_row(期间=f"20{10 + i}Q1") for i in range(7)]]
    return write_xlsx(p / "indicators.xlsx", {"指标": rows}), {"limits": SMALL}, [(None, None, "行数过多")]


def bad_parquet_too_many_rows(p):
    pl.DataFrame({"credit_code": [A] * 7, "period": [f"20{10 + i}Q1" for i in range(7)], "indicator": ["power"] * 7,
                  "value": [100] * 7}).write_parquet(p / "indicators.parquet")
    return p / "indicators.parquet", {"limits": SMALL}, [(None, None, "行数过多")]


def bad_parquet_inflates_too_large(p):
    """3 MB of one repeated string compresses to a few KiB; the footer states the uncompressed size."""
    frame = pl.DataFrame({"credit_code": [A] * 3, "name": ["甲" * 1_000_000] * 3, "county_code": ["450204"] * 3,
                          "industry_code": ["3670"] * 3})
    frame.write_parquet(p / "enterprises.parquet", compression="zstd")
    return p / "enterprises.parquet", {"limits": SMALL}, [(None, None, "解压后过大")]


def bad_file_too_large(p):
    return _ent_csv(p, *[ENT_ROWS[0]] * 3), {"limits": bounds.ImportLimits(max_file_bytes=100)}, [
        (None, None, "文件过大")]


# --------------------------------------------------------------------------------- encodings, dates, codes

def bad_bom_csv_negative_output(p):
    """A UTF-8 BOM before the first header must not hide the column (row/column still right)."""
    path = _wide_csv(p, _wide_row(**{"工业总产值（万元）": "-1"}), encoding="utf-8-sig")
    return path, {}, [(2, "工业总产值（万元）", "不能为负数")]


def bad_gbk_csv_nul_name(p):
    return _ent_csv(p, _ent_row(企业名称="柳州\x00乙"), name="企业名录.csv", encoding="gbk"), {}, [
        (2, "企业名称", "空字符")]


def bad_gbk_csv_huge_money(p):
    rows = [["项目编号", "期间", "完成投资（亿元）"], ["P001", "2024Q4", "1e20"]]
    return write_csv(p / "项目投资.csv", rows, encoding="gbk"), {}, [(2, "完成投资（亿元）", "超出合理范围")]


def bad_date_2024_02_30(p):
    rows = [["统一社会信用代码", "认定类型", "认定日期"], [A, "高新技术企业", "2024-02-30"]]
    return write_csv(p / "designations.csv", rows), {}, [(2, "认定日期", "不是有效日期")]


def bad_date_1800(p):
    return _ent_csv(p, _ent_row(成立日期="1800-01-01")), {}, [(2, "成立日期", "超出合理范围")]


def bad_date_2200_xlsx_cell(p):
    rows = [ENT_HEADER, _ent_row(成立日期=date(2200, 1, 1))]
    return write_xlsx(p / "enterprises.xlsx", {"企业": rows}), {}, [(2, "成立日期", "超出合理范围")]


def bad_date_text_garbage(p):
    return _ent_csv(p, _ent_row(成立日期="去年")), {}, [(2, "成立日期", "不是有效日期")]


def bad_credit_code_transposed(p):
    """Another check-digit error: two characters of a valid code swapped."""
    code = CODES[3]
    i = next(k for k in range(8, 16) if code[k] != code[k + 1])
    swapped = code[:i] + code[i + 1] + code[i] + code[i + 2:]
    return _ent_csv(p, _ent_row(统一社会信用代码=swapped)), {}, [(2, "统一社会信用代码", "统一社会信用代码无效")]


def bad_credit_code_forbidden_letter(p):
    code = A[:10] + "I" + A[11:]  # GB 32100 leaves out I, O, S, V, Z
    return _ent_csv(p, _ent_row(统一社会信用代码=code)), {}, [(2, "统一社会信用代码", "统一社会信用代码无效")]


BAD_CASES = [f for name, f in sorted(globals().items()) if name.startswith("bad_") and callable(f)]


@pytest.fixture(scope="module")
def loaded_store(tmp_path_factory):
    d = tmp_path_factory.mktemp("store")
    store = Store(f"sqlite:///{d / 'h.db'}")
    store.create_all()
    assert import_files([good_workbook(d / "good.xlsx")], store).ok
    return store


def test_bad_file_suite_has_at_least_75_cases():
    assert len(OLD_CASES) + len(BAD_CASES) >= 75, (len(OLD_CASES), len(BAD_CASES))


def _check_rejected(case, tmp_path, store):
    path, kwargs, expected = case(tmp_path)
    before = store.snapshot_hash()
    res = import_files([path], store, **kwargs)  # a crash fails the test: no traceback may escape
    assert not res.ok, f"accepted: {res.tables}"
    assert res.written is None
    assert store.snapshot_hash() == before, "partial write"
    errors = res.errors
    for row, column, fragment in expected:
        hits = errors.filter(pl.col("reason").str.contains(fragment, literal=True))
        if row is not None:
            hits = hits.filter(pl.col("row") == row)
        if column is not None:
            hits = hits.filter(pl.col("column") == column)
        assert hits.height >= 1, f"expected row {row} column {column} “{fragment}”, got:\n{res.to_text()}"
    text = res.to_text()
    assert "未写入任何数据" in text and not bounds.BAD_TEXT.search(text)
    for english in ("Error", "Exception", "Traceback", "BadZipFile", "zlib"):
        assert english not in text, text
    return res


@pytest.mark.parametrize("case", BAD_CASES, ids=[f.__name__[4:] for f in BAD_CASES])
def test_bad_file_is_rejected_with_row_and_column_and_nothing_written(case, tmp_path, loaded_store):
    _check_rejected(case, tmp_path, loaded_store)


def test_zip_bomb_is_refused_before_inflating(tmp_path):
    """The 11 MB bomb drove the importer to 3.5 GiB: the central directory is read, nothing is inflated."""
    import resource
    import time

    path = _zip_bomb(tmp_path)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    res = import_file(path)
    assert time.perf_counter() - t < 2
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) < 50 * 1024  # KiB: < 50 MiB more
    assert not res.ok and "压缩炸弹" in res.to_text()


def test_minus_zero_is_zero_not_negative(tmp_path):
    """−0 is 0 (accepted, stored as 0), not a negative value and not an error."""
    res = import_file(_wide_csv(tmp_path, _wide_row(**{"工业总产值（万元）": "-0", "从业人员（人）": "-0.00"})))
    assert res.ok, res.to_text()
    got = {r["indicator"]: r["value"] for r in res.tables["indicators"].to_dicts()}
    assert got["output"] == 0 and got["employees"] == 0


def test_largest_allowed_money_imports_exactly(tmp_path):
    """The bound itself (1万亿元) is accepted, exactly; one 分 more is not."""
    ok = import_file(_wide_csv(tmp_path, _wide_row(**{"主营业务收入（元）": "1000000000000.00"})))
    assert ok.ok, ok.to_text()
    assert ok.tables["indicators"].filter(pl.col("indicator") == "revenue")["value"].item() == bounds.MONEY_MAX_FEN
    bad = import_file(_wide_csv(tmp_path, _wide_row(**{"主营业务收入（元）": "1000000000000.01"}), name="i2.csv"))
    assert not bad.ok


def test_cached_formula_values_from_excel_are_accepted(tmp_path):
    """A formula Excel has calculated (cached value, no fullCalcOnLoad) is its value."""
    path = _openpyxl(tmp_path, [WIDE_HEADER, [A, "甲", "2024Q4", "=500*2", 1, 1, 1, 1]], "indicators.xlsx", "指标")
    with zipfile.ZipFile(path) as z:
        parts = {i.filename: z.read(i.filename) for i in z.infolist()}
    sheet = parts["xl/worksheets/sheet1.xml"]
    parts["xl/worksheets/sheet1.xml"] = sheet.replace(b"<f>500*2</f><v></v>", b"<f>500*2</f><v>1000</v>").replace(
        b"<f>500*2</f><v />", b"<f>500*2</f><v>1000</v>")
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(b' fullCalcOnLoad="1"', b"")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    res = import_file(path)
    assert res.ok, res.to_text()
    assert res.tables["indicators"].filter(pl.col("indicator") == "output")["value"].item() == 1000 * 1_000_000


def test_nul_byte_rejected_on_postgresql_nothing_written(tmp_path, postgres_url):
    """PostgreSQL crashed on a NUL byte in text: now the importer rejects it first, and nothing is written."""
    store = Store(postgres_url)
    store.drop_all()
    store.create_all()
    try:
        assert import_files([good_workbook(tmp_path / "good.xlsx")], store).ok
        for case in (bad_nul_in_name_csv, bad_nul_in_name_xlsx, bad_gbk_csv_nul_name, bad_nul_in_period):
            d = tmp_path / case.__name__
            d.mkdir()
            _check_rejected(case, d, store)
        assert store.read("enterprises")["name"].str.contains("\x00", literal=True).sum() == 0
    finally:
        store.drop_all()
        store.close()


# --------------------------------------------------------------------------------- the calculator's facts

@pytest.mark.parametrize("facts,fragment", [
    ({"当季工业总产值（万元）": "-5"}, "不能为负数"),
    ({"当季工业总产值": "99999999999999999999999"}, "超出合理范围"),
    ({"output_q": "92233720368547758", "output_q_ly": "1"}, "超出合理范围"),
    ({"output_q": 1e308}, "超出合理范围"),
    ({"output_q": float("inf")}, "不是有效数值"),
    ({"output_q": float("nan")}, "不是有效数值"),
    ({"output_q": "1e-3"}, "精度超过0.01元"),
    ({"output_q": str(2**63)}, "超出合理范围"),
    ({"output_q": "1\x00"}, "空字符"),
    ({"当季用电量": "-1"}, "不能为负数"),
    ({"当季新增就业人数": "1e12"}, "超出合理范围"),
])
def test_calculator_python_api_bad_facts_are_chinese_messages(facts, fragment):
    """The calculator accepted negative 产值/用电, gave a TypeError (HTTP 500) on 10²³ and overflowed silently on
    92233720368547758 元: the same bounds as the importer, a Chinese message naming the field."""
    from huiqi.engine.inputs import InputError
    from huiqi.services.calculator import check

    with pytest.raises(InputError) as e:
        check(facts, "2024Q4")
    assert fragment in str(e.value)
    assert str(e.value).startswith("当季"), str(e.value)  # the field, in Chinese


def test_calculator_accepts_negative_profit_and_minus_zero():
    from huiqi.engine.inputs import normalize_facts

    got = normalize_facts({"profit_q": "-12.5万元", "output_q": "-0"})
    assert got == {"profit_q": -12_500_000, "output_q": 0}


def test_bad_text_fact_names_are_rejected():
    from huiqi.engine.inputs import InputError, normalize_facts

    with pytest.raises(InputError, match="空字符"):
        normalize_facts({"output\x00_q": 1})
    with pytest.raises(InputError, match="超出合理范围"):
        normalize_facts({"gx2024q4_23_loan_draw_date": "1800-01-01"})


def test_money_parsing_is_exact_and_rejects_what_it_cannot_mean():
    assert money.parse_fen("499.9万元") == 499_900_000
    assert money.parse_fen("1,234.56") == 123_456
    assert money.parse_fen(0.1) == 10  # the float's shortest text, never its binary expansion
    assert money.parse_fen("1.5", "亿元") == 15_000_000_000
    assert money.parse_fen("-0") == 0
    for bad in ("0.001", "1e-3", "abc", "inf", "nan", "1E+999999999", float("nan"), True):
        with pytest.raises(money.MoneyError):
            money.parse_fen(bad)
    assert money.parse_fen("") is None and money.parse_fen(None) is None


# ----------------------------------------------------------------------------------- properties: no crash ever

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

ANY_VALUE = st.one_of(
    st.floats(), st.integers(-(2**80), 2**80), st.decimals(allow_nan=True, allow_infinity=True),
    st.text(max_size=40), st.sampled_from(["-0", "1e308", "-1e-3", "1E+999999999", "9223372036854775808", "12万元",
                                           "#DIV/0!", "1\x00", "１２３", "1_000", "0x10", "1e2万元"]),
    st.booleans(), st.none())
FACT_FIELDS = ["output_q", "profit_q", "power_q", "employees", "当季工业总产值（万元）", "enterprise_name",
               "is_above_scale", "gx2024q4_23_loan_draw_date"]


@settings(max_examples=400, deadline=None)
@given(field=st.sampled_from(FACT_FIELDS), value=ANY_VALUE)
def test_any_fact_is_a_bounded_value_or_a_chinese_error(field, value):
    """Whatever a form, a file or an API client sends: a value within its bounds, or InputError in Chinese."""
    from huiqi.engine.inputs import InputError, normalize_facts

    try:
        out = normalize_facts({field: value})
    except InputError as e:
        assert any("\u4e00" <= ch <= "\u9fff" for ch in str(e)), str(e)
        return
    (v,) = out.values()
    if isinstance(v, int) and not isinstance(v, bool):
        assert abs(v) <= bounds.MONEY_MAX_FEN * 10**4
        assert v >= 0 or field == "profit_q"
        assert abs(v) <= bounds.KINDS["money"].maximum or field in ("power_q", "employees")
    if isinstance(v, str):
        assert not bounds.BAD_TEXT.search(v) and len(v) <= bounds.TEXT_MAX_CHARS


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(output=ANY_VALUE, power=ANY_VALUE)
def test_any_cell_imports_exactly_or_is_reported(tmp_path, output, power):
    """A CSV cell with anything in it: imported within bounds, or a problem at row 2 of its column."""
    path = _wide_csv(tmp_path, _wide_row(**{"工业总产值（万元）": output, "用电量（千瓦时）": power}))
    res = import_file(path)  # must not raise
    if res.ok:
        ind = res.tables["indicators"]
        assert ind["value"].abs().max() is None or ind["value"].abs().max() <= bounds.KINDS["kwh"].maximum
        assert (ind["value"] >= 0).all() or (ind.filter(pl.col("value") < 0)["indicator"] == "profit").all()
    else:
        assert set(res.errors["row"].drop_nulls().to_list()) <= {2}
