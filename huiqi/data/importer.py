"""Import enterprise data from .xlsx / .csv / .parquet into the tables of docs/data-model.md.

Every problem in every file is collected (file, sheet, row as Excel shows it — the header is row 1 —, the column
header as written, the value, a reason in Chinese); if there is any, nothing is written. Money is converted
exactly to integer 分 (huiqi.engine.inputs.to_hundredths); the unit comes from the header ("产值（万元）"),
from the option `money_unit`, or the import fails asking for it. See docs/import.md.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from zlib import error as zlib_error
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterable
from xml.etree import ElementTree

import polars as pl

from huiqi.core import bounds, money
from huiqi.core.periods import MONTH, QUARTER, Period, PeriodError
from huiqi.data import columns as C
from huiqi.data.columns import TABLES, Table, normalize_header as _norm
from huiqi.core.values import InputError, split_unit, to_bool, to_date

ERROR_SCHEMA = {"file": pl.String, "sheet": pl.String, "row": pl.Int64, "column": pl.String, "value": pl.String,
                "reason": pl.String}
SUSPICIOUS_WAN_FEN = 10_000_000 * 1_000_000  # 1e7 万元 in 分: above this a 万元 column was probably filled in 元
_UNIT_HEADERS = {_norm(h) for h in ("unit", "单位", "计量单位")}
_ENTERPRISE_NAME_HEADERS = {_norm(h) for h in ("企业名称", "单位名称", "name", "名称", "企业")}


class _Bad(Exception):
    """A cell that cannot be read; the argument is the Chinese reason."""


@dataclass
class ImportResult:
    """What an import found: the tables (typed as the contract, money in 分) and every problem."""

    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    problems: list[tuple] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    written: dict[str, int] | None = None  # rows inserted or changed per table, when written to a store
    # provenance of each row of each table (file, sheet, row) — for duplicate reports across files
    _origin: dict[str, list[tuple[str, str, int]]] = field(default_factory=dict, repr=False)
    _counties: list[tuple[str, str, int, str, str]] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def errors(self) -> pl.DataFrame:
        return pl.DataFrame(self.problems, schema=ERROR_SCHEMA, orient="row")

    def rows(self) -> dict[str, int]:
        return {t: f.height for t, f in self.tables.items()}

    def to_text(self, limit: int = 200) -> str:
        if self.ok:
            parts = "，".join(f"{TABLES[t].label}{n}行" for t, n in self.rows().items())  # people read labels
            text = f"检查通过：{parts or '没有数据'}。"
            if self.written is not None:
                changed = "，".join(f"{TABLES[t].label if t in TABLES else t}{n}行" for t, n in self.written.items()
                                   if n) or "无变化（数据已是最新）"
                text += f"已写入：{changed}。"
            return text
        lines = [f"导入失败：发现{len(self.problems)}个问题，未写入任何数据。请修改后重新导入。"]
        for file, sheet, row, column, value, reason in self.problems[:limit]:
            where = Path(file).name + (f"〔{sheet}〕" if sheet else "")
            where += f" 第{row}行" if row else ""
            what = f" “{column}”" if column else ""
            what += f"＝“{value}”" if value not in (None, "") else ""
            lines.append(f"- {where}{what}：{reason}")
        if len(self.problems) > limit:
            lines.append(f"……另有{len(self.problems) - limit}个问题未列出（见 errors 表）。")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()


# ---------------------------------------------------------------------------------------------------- reading

@dataclass
class _Sheet:
    file: str
    name: str  # "" for csv/parquet
    header: list[str | None]
    columns: list[list[str | None]]  # column-major, data rows only
    first_row: int  # the Excel row number of the header
    merges: list[str] = field(default_factory=list)
    blank: bool = False  # nothing at all in the sheet
    cells: list[tuple[int, int, str | None, str]] = field(default_factory=list)  # xlsx cells read wrongly
    first_col: int = 0  # the sheet column index of columns[0] (calamine drops leading empty columns)

    @property
    def height(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    def row_number(self, i: int) -> int:
        return self.first_row + 1 + i


def _col_letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _clean(v: Any) -> str | None:
    if v is None:
        return None
    s = str(v).strip()
    return s or None


def _from_rows(file: str, name: str, rows: list[list[Any]], first_row: int = 1, merges=None) -> _Sheet:
    # drop leading blank rows (keeping the row numbers right)
    while rows and all(_clean(v) is None for v in rows[0]):
        rows = rows[1:]
        first_row += 1
    if not rows:
        return _Sheet(file, name, [], [], first_row, merges or [], blank=True)
    width = max(len(r) for r in rows)
    header = [_clean(v) for v in rows[0]] + [None] * (width - len(rows[0]))
    cols = [[None] * (len(rows) - 1) for _ in range(width)]
    for i, r in enumerate(rows[1:]):
        for j, v in enumerate(r):
            cols[j][i] = _clean(v)
    return _Sheet(file, name, header, cols, first_row, merges or [])


_XLSX_CELL = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="[A-Z]+(\d+)"[^>]*?(?<!/)>\s*<(?:\w+:)?(?:v|is)\b')
_XLSX_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="([A-Z]+\d+(?::[A-Z]+\d+)?)"')


def _xlsx_layout(path: Path) -> dict[str, tuple[int, list[str]]]:
    """sheet name → (Excel row of the first cell with a value, merged ranges), read from the xlsx XML.

    fastexcel/calamine drops leading empty rows and does not report merged cells; both matter for the report."""
    out: dict[str, tuple[int, list[str]]] = {}
    try:
        with zipfile.ZipFile(path) as z:
            ns_r = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
            wb = ElementTree.fromstring(z.read("xl/workbook.xml"))
            rels = ElementTree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
            targets = {r.get("Id"): r.get("Target") for r in rels}
            for s in wb.iter():
                if not s.tag.endswith("}sheet"):
                    continue
                target = targets.get(s.get(ns_r), "")
                target = target.lstrip("/") if target.startswith("/") else "xl/" + target
                try:
                    xml = z.read(target)
                except KeyError:
                    continue
                m = _XLSX_CELL.search(xml)
                out[s.get("name")] = (int(m.group(1)) if m else 1, [g.decode() for g in _XLSX_MERGE.findall(xml)])
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError):
        pass
    return out


def _xlsx_guard(path: Path, limits: bounds.ImportLimits) -> None:
    """Before any parsing: a valid zip whose members inflate to a bounded size at a plausible ratio.

    An 11 MB zip bomb inflates to gigabytes inside the parser; the central directory states every member's
    sizes, so a bomb is refused without inflating it. (A member that lies about its size is stopped by
    zipfile itself: it checks the CRC and the size while reading.)"""
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except zipfile.BadZipFile:
        raise _Bad("文件已损坏或不是 Excel 工作簿（.xlsx 应为 zip 压缩包）：请用 Excel 重新保存，或检查扩展名") from None
    if len(infos) > limits.xlsx_max_members:
        raise _Bad(f"工作簿内部文件过多（{len(infos)}个，最多{limits.xlsx_max_members}个），疑似恶意文件，已拒绝")
    total = sum(i.file_size for i in infos)
    if total > limits.max_inflated_bytes:
        raise _Bad(f"工作簿解压后过大（{total / 2**20:,.0f} MiB，最多{limits.max_inflated_bytes / 2**20:,.0f} MiB），"
                   "请拆分为多个文件")
    for i in infos:
        if i.file_size > 2**20 and i.file_size > limits.xlsx_max_ratio * max(i.compress_size, 1):
            raise _Bad(f"工作簿压缩比异常（{i.file_size // max(i.compress_size, 1):,}倍，最多{limits.xlsx_max_ratio}倍），"
                       "疑似压缩炸弹，已拒绝")


_CELL_REF = re.compile(rb'\br="([A-Z]+)(\d+)"')
_ERROR_CELL = re.compile(rb'<(?:\w+:)?c\b[^>]*?\bt="e"[^>]*>\s*<(?:\w+:)?v>([^<]*)<')
_FORMULA = re.compile(rb'<(?:\w+:)?f\b')
_CACHED = re.compile(rb'<(?:\w+:)?v>\s*[^<\s]')
_ROW = re.compile(rb'<(?:\w+:)?row\b')
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\b[^>]*\bref="([A-Z]+)\d+')
EXCEL_ERRORS = {"#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!", "#GETTING_DATA", "#SPILL!",
                "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!", "#N/A!"}


def _col_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n - 1


def _scan_cells(xml: bytes, recalc: bool) -> tuple[int, int, list[tuple[int, int, str | None, str]]]:
    """(rows, first column index, [(Excel row, column index, value, reason)]) for the cells calamine would read
    wrongly: an Excel error value (#DIV/0! … — read as empty) and a formula without a computed value (read as
    empty, or as the 0 that a program writing the file without calculating it leaves)."""
    problems = []
    for m in _ERROR_CELL.finditer(xml):
        ref = _CELL_REF.search(m.group(0))
        if ref:
            problems.append((int(ref.group(2)), _col_index(ref.group(1)), m.group(1).decode(errors="replace"),
                             "单元格是 Excel 错误值：请修正公式或填入数值（错误值不能当作空白或0）"))
    pos = 0
    while (m := _FORMULA.search(xml, pos)) is not None:
        pos = m.end()
        start = xml.rfind(b"<c ", 0, m.start())
        end = xml.find(b"</c>", m.end())
        if start < 0 or end < 0:
            continue
        cell = xml[start:end]
        ref = _CELL_REF.search(cell)
        if ref is None or b't="e"' in cell[:cell.find(b">")]:
            continue  # an error cell is reported once, above
        if recalc or not _CACHED.search(cell):  # <v> appears in a cell only as the cached value
            problems.append((int(ref.group(2)), _col_index(ref.group(1)), None,
                             "公式单元格没有计算结果：请在 Excel 中打开、计算并保存，或把公式粘贴为数值"))
    first_col = 0
    first = _XLSX_CELL.search(xml)
    if first:
        ref = _CELL_REF.search(xml, xml.rfind(b"<", 0, first.start() + 1), first.end())
        first_col = _col_index(ref.group(1)) if ref else 0
    dim = _DIMENSION.search(xml)
    if dim:
        first_col = min(first_col, _col_index(dim.group(1)))
    return len(_ROW.findall(xml)), first_col, problems


def _read_xlsx(path: Path, sheet: str | None, limits: bounds.ImportLimits) -> list[_Sheet]:
    import fastexcel

    _xlsx_guard(path, limits)
    scans = _xlsx_scan(path)
    for name, (nrows, _, _) in scans.items():
        if nrows > limits.max_rows + 1:
            raise _Bad(f"工作表“{name}”行数过多（{nrows:,}行，最多{limits.max_rows:,}行），请拆分为多个文件")
    reader = fastexcel.read_excel(str(path))
    names = reader.sheet_names
    if sheet is not None:
        if sheet not in names:
            raise _Bad(f"找不到工作表“{sheet}”（文件中的工作表：{'、'.join(names)}）")
        names = [sheet]
    layout = _xlsx_layout(path)
    out = []
    for name in names:
        first, merges = layout.get(name, (1, []))
        ws = reader.load_sheet(name, header_row=None, dtypes="string")
        frame = ws.to_polars()
        if frame.width == 0 or frame.height == 0:
            out.append(_Sheet(str(path), name, [], [], first, merges, blank=True))
            continue
        cols = [frame.to_series(j).to_list() for j in range(frame.width)]
        header = [_clean(c[0]) for c in cols]
        data = [[_clean(v) for v in c[1:]] for c in cols]
        _, first_col, cells = scans.get(name, (0, 0, []))
        out.append(_Sheet(str(path), name, header, data, first, merges, cells=cells, first_col=first_col))
    return out


def _xlsx_scan(path: Path) -> dict[str, tuple[int, int, list]]:
    """sheet name → _scan_cells(sheet XML). The zip was checked by _xlsx_guard."""
    out: dict[str, tuple[int, int, list]] = {}
    try:
        with zipfile.ZipFile(path) as z:
            ns_r = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
            wb_xml = z.read("xl/workbook.xml")
            # fullCalcOnLoad: the writer did not calculate; every cached formula value is a placeholder
            recalc = re.search(rb'fullCalcOnLoad="(1|true)"', wb_xml) is not None
            wb = ElementTree.fromstring(wb_xml)
            rels = ElementTree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
            targets = {r.get("Id"): r.get("Target") for r in rels}
            read = {"xl/workbook.xml"}
            for s in wb.iter():
                if not s.tag.endswith("}sheet"):
                    continue
                target = targets.get(s.get(ns_r), "")
                target = target.lstrip("/") if target.startswith("/") else "xl/" + target
                try:
                    out[s.get("name")] = _scan_cells(z.read(target), recalc)
                except KeyError:
                    continue
                read.add(target)
            # every other member too, streamed and discarded: zipfile stops a member at its declared size and
            # checks its CRC, so a member lying about its size (to pass _xlsx_guard) is caught here, not in calamine
            for info in z.infolist():
                if info.filename not in read:
                    with z.open(info) as f:
                        while f.read(2**20):
                            pass
    except KeyError:
        raise _Bad("文件不是有效的 Excel 工作簿（缺少工作簿结构）：请用 Excel 重新保存") from None
    except (zipfile.BadZipFile, ElementTree.ParseError, EOFError, zlib_error):
        raise _Bad("文件已损坏（压缩包不完整或内容无法解析）：请用 Excel 重新保存后再导入") from None
    return out


def _read_csv(path: Path, limits: bounds.ImportLimits) -> list[_Sheet]:
    raw = path.read_bytes()
    if raw.startswith(b"PK\x03\x04"):
        raise _Bad("文件内容是 Excel 工作簿（zip），扩展名却是文本格式：请把扩展名改为 .xlsx")
    lines = raw.count(b"\n")
    if lines > limits.max_rows + 1:
        raise _Bad(f"行数过多（{lines:,}行，最多{limits.max_rows:,}行），请拆分为多个文件")
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise _Bad("无法识别文件编码（应为 UTF-8 或 GBK）")
    first = text.splitlines()[0] if text else ""
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    return [_from_rows(str(path), "", rows)]


def _from_internal_units(frame: pl.DataFrame) -> pl.DataFrame:
    """A Parquet file in a contract table's own layout holds internal units (money in 分, quantities × 100):
    turn them back into what a person writes (元, natural units) so they go through the same checks."""
    table = next((t for t in TABLES.values() if set(t.names) <= set(frame.columns)), None)
    if table is None:
        return frame
    scaled = [c.name for c in table.columns if c.kind in (C.MONEY, C.VALUE) and frame[c.name].dtype.is_integer()]
    if not scaled:
        return frame
    as_units = {n: pl.Series(n, [None if v is None else str(Decimal(v) / 100) for v in frame[n].to_list()],
                             dtype=pl.String) for n in scaled}
    out = frame.with_columns(list(as_units.values()))
    if table.name == "indicators":
        money = [code for code, ind in C.INDICATORS.items() if ind.money]
        out = out.with_columns(pl.when(pl.col("indicator").is_in(money)).then(pl.lit("元")).otherwise(None)
                               .alias("单位"))
    return out.rename({n: f"{n}（元）" for n in scaled if table[n].kind == C.MONEY})


def _read_parquet(path: Path, limits: bounds.ImportLimits) -> list[_Sheet]:
    import pyarrow.parquet as pq

    try:
        meta = pq.read_metadata(path)  # the footer only: row count before reading any data
    except Exception:
        raise _Bad("文件已损坏或不是 Parquet 文件：请检查文件或扩展名") from None
    if meta.num_rows > limits.max_rows:
        raise _Bad(f"行数过多（{meta.num_rows:,}行，最多{limits.max_rows:,}行），请拆分为多个文件")
    inflated = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if inflated > limits.max_inflated_bytes:  # a few repeated values can decompress to gigabytes
        raise _Bad(f"文件解压后过大（{inflated / 2**20:,.0f} MiB，最多{limits.max_inflated_bytes / 2**20:,.0f} MiB），"
                   "请拆分为多个文件")
    frame = _from_internal_units(pl.read_parquet(path))
    if frame.width == 0:
        return [_Sheet(str(path), "", [], [], 1, blank=True)]
    cols = []
    for name in frame.columns:
        s = frame[name]
        if s.dtype == pl.Date or s.dtype == pl.Datetime:
            s = s.dt.strftime("%Y-%m-%d")
        elif s.dtype.is_float():
            s = pl.Series([None if v is None else repr(v) for v in s.to_list()], dtype=pl.String)
        cols.append([_clean(v) for v in s.cast(pl.String).to_list()])
    return [_Sheet(str(path), "", list(frame.columns), cols, 1)]


# ------------------------------------------------------------------------------------------------ cell parsing

def _reason(e: InputError) -> str:
    text = str(e)
    return text.split("：", 1)[1] if "：" in text else text


_DATE_NUM = re.compile(r"^(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})$")
_TIME_TAIL = re.compile(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")


def parse_date(text: str) -> date:
    t = _TIME_TAIL.sub("", text.strip())
    m = _DATE_NUM.match(t)
    if m:
        t = f"{m.group(1)}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"
    try:
        return to_date(t, "")  # bounded: 1900-01-01 … 2100-12-31 (huiqi.core.bounds)
    except InputError as e:
        if "超出合理范围" in str(e):
            raise _Bad(f"日期“{text}”超出合理范围（{bounds.DATE_MIN.year}–{bounds.DATE_MAX.year}年）") from None
        raise _Bad(f"“{text}”不是有效日期（应为 YYYY-MM-DD，如 2024-03-31）") from e


def parse_period(text: str, quarter_only: bool = False) -> str:
    """An indicator row's period: a quarter, or (unless ``quarter_only``) a month — read by the one Period type."""
    try:
        p = Period.parse_loose(text)
    except PeriodError as e:
        raise _Bad(str(e)) from None
    if p.kind == QUARTER or (p.kind == MONTH and not quarter_only):
        return str(p)
    if quarter_only:
        raise _Bad(f"期间“{text}”格式错误：应为季度，如 2024Q4")
    raise _Bad(f"期间“{text}”格式错误：应为季度 2024Q4 或月份 2024M01")


def _parse_year(text: str) -> int:
    t = text.strip().removesuffix("年")
    if t.endswith(".0"):
        t = t[:-2]
    if not re.fullmatch(r"\d{4}", t) or not 1949 <= int(t) <= 2100:
        raise _Bad(f"“{text}”不是有效年度（应为四位年份，如 2024）")
    return int(t)


def _parse_bool(text: str) -> bool:
    try:
        return to_bool(text, "")
    except InputError:
        raise _Bad(f"“{text}”应为 是/否") from None


def _credit(text: str) -> str:
    from huiqi.data.credit_code import explain_invalid

    code = text.strip().upper()
    why = explain_invalid(code)
    if why:
        raise _Bad(f"统一社会信用代码无效：{why}")
    return code


def _digits(n: int, what: str, example: str):
    def parse(text: str) -> str:
        t = text.strip()
        if t.endswith(".0"):
            t = t[:-2]
        if not re.fullmatch(rf"\d{{{n}}}", t):
            raise _Bad(f"{what}应为{n}位数字（如 {example}）；以0开头的代码请把单元格设为文本")
        return t
    return parse


def _choice(allowed: dict[str, str], what: str, listing: Iterable[str]):
    norm = {_norm(k): v for k, v in allowed.items()}
    shown = "、".join(listing)

    def parse(text: str) -> str:
        v = norm.get(_norm(text.replace("“", "").replace("”", "").replace('"', "")))
        if v is None:
            raise _Bad(f"未知的{what}“{text}”（可用：{shown}）")
        return v
    return parse


def _text(text: str) -> str:
    return text.strip()


_PARSERS: dict[str, Callable[[str], Any]] = {
    C.TEXT: _text, C.ID: _text, C.CREDIT_CODE: _credit,
    C.COUNTY: _digits(6, "县区代码", "450202"), C.INDUSTRY: _digits(4, "行业代码（GB/T 4754-2017 小类）", "3670"),
    C.SECTOR: _choice({s: s for s in C.SECTORS}, "行业", C.SECTORS),
    C.DATE: parse_date, C.BOOL: _parse_bool, C.YEAR: _parse_year,
    C.PERIOD: parse_period, C.QUARTER: lambda t: parse_period(t, quarter_only=True),
    C.DESIGNATION: _choice({**{k: k for k in C.DESIGNATIONS}, **{v: k for k, v in C.DESIGNATIONS.items()},
                            **C.DESIGNATION_ALIASES}, "认定类型", [f"{k}（{v}）" for k, v in C.DESIGNATIONS.items()]),
    C.CREDIT_KIND: _choice({k: k for k in C.CREDIT_KINDS}, "信用记录类型", C.CREDIT_KINDS),
    C.EVENT_KIND: _choice({**{k: k for k in C.EVENT_KINDS}, **{v: k for k, v in C.EVENT_KINDS.items()},
                           **C.EVENT_ALIASES}, "事项类型", [f"{k}（{v}）" for k, v in C.EVENT_KINDS.items()]),
    C.PROJECT_TYPE: _choice({**{k: k for k in C.PROJECT_TYPES}, **C.PROJECT_TYPE_ALIASES}, "项目类型",
                            C.PROJECT_TYPES),
    C.INDICATOR: _choice({**{k: k for k in C.INDICATORS}, **{i.label: i.code for i in C.INDICATORS.values()},
                          **{a: i.code for i in C.INDICATORS.values() for a in i.aliases}}, "指标",
                         [f"{k}（{i.label}）" for k, i in C.INDICATORS.items()]),
}


def _money(text: str, unit: str, label: str, nonnegative: bool) -> int | None:
    try:
        fen = money.parse_fen(text, unit) if unit != "分" else money.scaled(text, 1)
    except money.MoneyError as e:
        reason = str(e)
        raise _Bad(f"“{text}”：以分为单位的金额应为整数" if unit == "分" and "精度" in reason else reason) from None
    if fen is None:
        return None
    if unit in ("万元", "亿元") and fen > SUSPICIOUS_WAN_FEN and not re.search(r"[万亿]?元$", text):
        raise _Bad(f"疑似以元填入{unit}列：{text}{unit}超过1000亿元，超出合理范围；"
                   f"若数据以元为单位，请把列名改为“…（元）”")
    return _bounded(fen, bounds.KINDS["money"], nonnegative, label)


def _bounded(value: int, kind: bounds.Kind, nonnegative: bool, label: str) -> int:
    try:
        return bounds.check_number(value, kind, signed=not nonnegative)
    except bounds.OutOfBounds as e:
        name = label.split("（")[0]
        raise _Bad(f"{e}（{name}不可能小于0）" if str(e) == "不能为负数" and name else str(e)) from None


_QUANTITY_KIND = {"千瓦时": "kwh", "人": "people"}


def _quantity(text: str, factor: int, nonnegative: bool, label: str = "", unit: str = "") -> int:
    try:
        value = money.scaled(text, factor * 100)
    except money.MoneyError as e:
        raise _Bad(str(e).replace("（分）", "")) from None
    if value is None:
        raise _Bad(f"“{text}”不是数值")
    return _bounded(value, bounds.KINDS[_QUANTITY_KIND.get(unit, "number")], nonnegative, label)


# ------------------------------------------------------------------------------------------- sheet → table rows

def _shown(value: str) -> str:
    """A bad cell as the report shows it: control characters visible, long text cut."""
    v = bounds.BAD_TEXT.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
    return v if len(v) <= 60 else v[:60] + "…"


class _Collector:
    def __init__(self, result: ImportResult):
        self.result = result

    def add(self, sheet: _Sheet | None, row: int | None, column: str | None, value: Any, reason: str, file=None):
        # the report itself must be safe to show and to store (a NUL in a header would crash PostgreSQL again)
        self.result.problems.append((sheet.file if sheet else file, sheet.name if sheet else "", row,
                                     None if column is None else _shown(column),
                                     None if value is None else _shown(str(value)), reason))


def _guess_table(sheet: _Sheet, path: Path) -> str | None:
    for name in (sheet.name, path.stem):
        if name and (t := C.table_for_name(name)):
            return t
    headers = [h for h in sheet.header if h]
    best, best_score = None, 0
    imap = C.indicator_map()
    for t in TABLES.values():
        hmap = C.header_map(t)
        hit = {hmap.get(_norm(h)) or hmap.get(_norm(split_unit(h)[0])) for h in headers} - {None}
        if not set(t.key) <= hit:
            if t.name == "indicators" and {"credit_code", "period"} <= hit:
                wide = sum(1 for h in headers if _norm(split_unit(h)[0]) in imap)
                if wide and wide + 2 > best_score:
                    best, best_score = t.name, wide + 2
            continue
        score = len(hit) + (0.5 if len(t.key) > 1 else 0)
        if score > best_score:
            best, best_score = t.name, score
    return best


def _money_unit(header: str, name: str, unit: str | None, option: str | None, out: _Collector, sheet: _Sheet,
                col_label: str) -> str | None:
    if name.endswith("_fen") and _norm(header) == _norm(name):
        return "分"
    if unit is not None:
        if unit not in C.MONEY_UNITS:
            out.add(sheet, sheet.first_row, header, None, f"不认识的金额单位“{unit}”（可用 元、万元、亿元）")
            return None
        return unit
    if option:
        return option
    out.add(sheet, sheet.first_row, header, None,
            f"金额列未注明单位：请在列名中写明（如“{col_label}（万元）”或“{col_label}（元）”），"
            f"或导入时指定金额单位（money_unit=元/万元/亿元）")
    return None


def _sheet_rows(sheet: _Sheet, table: Table, money_unit: str | None, out: _Collector,
                result: ImportResult) -> list[tuple[int, dict[str, Any]]]:
    """Validate one sheet of one table; returns (row number, {column: value}) for the good rows."""
    if sheet.merges:
        for ref in sheet.merges:
            top = int(re.search(r"\d+", ref).group())
            where = "表头" if top == sheet.first_row else "数据区"
            out.add(sheet, top, ref, None, f"{where}存在合并单元格（{ref}）：请取消合并，每列一个列名、每格一个值")
    hmap = C.header_map(table)
    imap = C.indicator_map()
    is_wide = table.name == "indicators" and not ({"indicator", "value"} & {
        hmap.get(_norm(h)) or hmap.get(_norm(split_unit(h)[0])) for h in sheet.header if h})
    mapped: dict[str, tuple[int, str, str | None]] = {}  # column → (index, header, unit)
    wide: list[tuple[int, str, C.Indicator, int | str]] = []  # (index, header, indicator, factor or money unit)
    unit_col: int | None = None
    for j, h in enumerate(sheet.header):
        if h is None:
            if any(v is not None for v in sheet.columns[j]):
                out.add(sheet, sheet.first_row, f"第{_col_letter(j)}列", None,
                        "表头为空：该列有数据但没有列名（如是合并单元格，请取消合并并补全列名）")
            continue
        base, unit = split_unit(h)
        name = hmap.get(_norm(h)) or hmap.get(_norm(base))
        if name is None and table.name == "indicators":
            if _norm(h) in _UNIT_HEADERS and not is_wide:
                unit_col = j
                continue
            code = imap.get(_norm(h)) or imap.get(_norm(base))
            if code is not None and is_wide:
                ind = C.INDICATORS[code]
                same = next((w for w in wide if w[2].code == code), None)
                if same is not None:
                    out.add(sheet, sheet.first_row, h, None,
                            f"列重复：与第{_col_letter(same[0])}列“{same[1]}”是同一指标（{ind.label}）")
                    continue
                if ind.money:
                    u = _money_unit(h, code, unit, money_unit, out, sheet, ind.label)
                    if u is not None:
                        wide.append((j, h, ind, u))
                else:
                    factor = 1 if unit is None else C.QUANTITY_UNITS.get(unit.lower())
                    if factor is None:
                        out.add(sheet, sheet.first_row, h, None,
                                f"不认识的单位“{unit}”（{ind.label}的单位应为{ind.unit}）")
                    else:
                        wide.append((j, h, ind, factor))
                continue
        if name is None:
            if _norm(h) in {_norm(x) for x in C.IGNORED_HEADERS} or (
                    _norm(h) in _ENTERPRISE_NAME_HEADERS and "name" not in table.names):
                continue
            out.add(sheet, sheet.first_row, h, None,
                    f"无法识别的列名（{table.label}表可用列：{'、'.join(c.label for c in table.columns)}）")
            continue
        if name in mapped:
            out.add(sheet, sheet.first_row, h, None,
                    f"列重复：与第{_col_letter(mapped[name][0])}列“{mapped[name][1]}”是同一列（{table[name].label}）")
            continue
        mapped[name] = (j, h, unit)
    if is_wide and not wide and not any(p[0] == sheet.file and p[1] == sheet.name for p in result.problems):
        out.add(sheet, sheet.first_row, None, None, "指标表缺少“指标”和“数值”列，也没有按指标命名的列（如“工业总产值（万元）”）")
    needed = ("credit_code", "period") if is_wide else tuple(c.name for c in table.columns if c.required)
    for n in needed:
        if n not in mapped:
            c = table[n]
            out.add(sheet, sheet.first_row, c.label, None, f"缺少必填列“{c.label}”（{c.name}）")
    # money units of long-form columns
    units: dict[str, str | None] = {}
    for n, (j, h, unit) in mapped.items():
        c = table[n]
        if c.kind == C.MONEY:
            units[n] = _money_unit(h, n, unit, money_unit, out, sheet, c.label)
        elif c.kind == C.VALUE:
            if unit is not None and unit not in C.MONEY_UNITS:
                out.add(sheet, sheet.first_row, h, None, f"不认识的金额单位“{unit}”（可用 元、万元、亿元）")
            units[n] = unit if unit in C.MONEY_UNITS else None
    if sheet.height == 0:
        out.add(sheet, sheet.first_row, None, None, "工作表只有表头，没有数据行")
        return []

    parsers = {n: _PARSERS[table[n].kind] for n in mapped if table[n].kind not in (C.MONEY, C.VALUE)}
    caches: dict[str, dict[str, tuple[Any, str | None]]] = {n: {} for n in parsers}
    rows: list[tuple[int, dict[str, Any]]] = []
    all_cols = [j for j, h in enumerate(sheet.header)]
    repeated = _wide_duplicates(sheet, mapped, out) if is_wide else set()
    for i in range(sheet.height):
        if all(sheet.columns[j][i] is None for j in all_cols):
            continue  # a blank row
        r = sheet.row_number(i)
        rec: dict[str, Any] = {}
        bad = False
        for j in all_cols:  # NUL, control characters, over-long text, Excel error text — in any column
            v = sheet.columns[j][i]
            if v is not None and (len(v) > bounds.TEXT_MAX_CHARS or v in EXCEL_ERRORS or bounds.BAD_TEXT.search(v)):
                try:
                    bounds.check_text(v)
                    reason = "单元格是 Excel 错误值：请修正公式或填入数值（错误值不能当作空白或0）"
                except bounds.OutOfBounds as e:
                    reason = str(e)
                out.add(sheet, r, sheet.header[j] or f"第{_col_letter(j + sheet.first_col)}列", v, reason)
                bad = True
        if bad:
            continue
        for n, parse in parsers.items():
            j, h, _ = mapped[n]
            v = sheet.columns[j][i]
            if v is None:
                if table[n].required or n in ("credit_code", "period"):
                    out.add(sheet, r, h, None, "必填项为空")
                    bad = True
                rec[n] = None
                continue
            cache = caches[n]
            hit = cache.get(v)
            if hit is None:
                try:
                    hit = (parse(v), None)
                except _Bad as e:
                    hit = (None, str(e.args[0]))
                cache[v] = hit
            if hit[1] is not None:
                out.add(sheet, r, h, v, hit[1])
                bad = True
            rec[n] = hit[0]
            if n == "county_code" and hit[1] is None:
                result._counties.append((sheet.file, sheet.name, r, h, hit[0]))
        for n, unit in units.items():
            j, h, _ = mapped[n]
            v = sheet.columns[j][i]
            c = table[n]
            try:
                if v is None:
                    if c.required:
                        raise _Bad("必填项为空")
                    rec[n] = None
                elif c.kind == C.VALUE:
                    rec[n] = _indicator_value(v, rec.get("indicator"), unit, h, money_unit,
                                              sheet.columns[unit_col][i] if unit_col is not None else None)
                    if rec[n] is None:
                        raise _Bad("必填项为空")
                elif table.name == "events" and n == "amount_fen" and rec.get("kind") == "hire":
                    rec[n] = _quantity(v, 1, True, "招用人数", "人")  # 招用: persons × 100
                elif unit is not None:
                    rec[n] = _money(v, unit, h, c.nonnegative)
                    if rec[n] is None and c.required:
                        raise _Bad("必填项为空")
            except _Bad as e:
                out.add(sheet, r, h, v, str(e.args[0]))
                bad = True
        if is_wide:
            for j, h, ind, u in (wide if i not in repeated else ()):
                v = sheet.columns[j][i]
                if v is None:
                    continue  # missing stays missing (待补充信息), never 0
                try:
                    value = (_money(v, u, h, ind.nonnegative) if ind.money else _quantity(v, u, ind.nonnegative, ind.label, ind.unit))
                except _Bad as e:
                    out.add(sheet, r, h, v, str(e.args[0]))
                    bad = True
                    continue
                if not bad and value is not None:
                    rows.append((r, {"credit_code": rec.get("credit_code"), "period": rec.get("period"),
                                     "indicator": ind.code, "value": value, "_column": h}))
        elif not bad:
            rows.append((r, rec))
    return rows


def _indicator_value(text: str, code: str | None, header_unit: str | None, header: str, option: str | None,
                     row_unit: str | None) -> int:
    ind = C.INDICATORS.get(code) if code else None
    if ind is None:
        return _quantity(text, 1, False)  # the indicator itself is reported; still check the number
    if ind.money:
        unit = row_unit or header_unit or option
        if unit is None and not re.search(r"[万亿]?元$", text.strip()):
            raise _Bad(f"金额指标“{ind.label}”未注明单位：请在列名中写明（如“数值（万元）”）、增加“单位”列，"
                       f"或导入时指定金额单位（money_unit=元/万元/亿元）")
        if unit is not None and unit not in C.MONEY_UNITS:
            raise _Bad(f"不认识的金额单位“{unit}”（可用 元、万元、亿元）")
        return _money(text, unit or "元", ind.label, ind.nonnegative)
    factor = 1
    if row_unit:
        factor = C.QUANTITY_UNITS.get(row_unit.lower())
        if factor is None:
            raise _Bad(f"不认识的单位“{row_unit}”（{ind.label}的单位应为{ind.unit}）")
    return _quantity(text, factor, ind.nonnegative, ind.label, ind.unit)


def _wide_duplicates(sheet: _Sheet, mapped, out: _Collector) -> set[int]:
    """Report a repeated (enterprise, period) row of a wide sheet once; returns the repeated rows' indices."""
    repeated: set[int] = set()
    if "credit_code" not in mapped or "period" not in mapped:
        return repeated
    jc, hc, _ = mapped["credit_code"]
    jp, hp, _ = mapped["period"]
    seen: dict[tuple, int] = {}
    for i in range(sheet.height):
        key = (sheet.columns[jc][i], sheet.columns[jp][i])
        if None in key:
            continue
        key = (key[0].upper(), key[1])
        r = sheet.row_number(i)
        if key in seen:
            out.add(sheet, r, f"{hc}、{hp}", "/".join(key), f"与第{seen[key]}行重复（同一企业同一期间出现两次）")
            repeated.add(i)
        else:
            seen[key] = r
    return repeated


def _duplicates(result: ImportResult, table: Table, recs: list[tuple[tuple, int, dict]], out: _Collector):
    seen: dict[tuple, tuple[str, str, int]] = {}
    labels = "、".join(table[k].label for k in table.key)
    keep = []
    for origin, r, rec in recs:
        key = tuple(rec[k] for k in table.key)
        if key in seen:
            f0, s0, r0 = seen[key]
            where = f"第{r0}行" if (f0, s0) == origin[:2] else f"{Path(f0).name}" + (f"〔{s0}〕" if s0 else "") + f"第{r0}行"
            col = rec.get("_column") or labels
            result.problems.append((origin[0], origin[1], r, col, "/".join(str(k) for k in key),
                                    f"与{where}重复（{labels}相同的记录出现两次）"))
        else:
            seen[key] = (origin[0], origin[1], r)
            keep.append((origin, r, rec))
    return keep


def _known_counties() -> set[str]:
    """The Guangxi county codes of huiqi.core.regions (GB/T 2260)."""
    from huiqi.core.regions import COUNTY_BY_CODE

    return set(COUNTY_BY_CODE)


def _assemble(result: ImportResult, staged: dict[str, list[tuple[tuple, int, dict]]], out: _Collector,
              extra_counties: Iterable[str] = ()) -> None:
    for name, recs in staged.items():
        table = TABLES[name]
        recs = _duplicates(result, table, recs, out)
        data = {c.name: [rec.get(c.name) for _, _, rec in recs] for c in table.columns}
        result.tables[name] = pl.DataFrame(data, schema=table.schema)
        result._origin[name] = [(o[0], o[1], r) for o, r, _ in recs]
    known = _known_counties() | set(extra_counties)
    if "counties" in result.tables:
        known |= set(result.tables["counties"]["county_code"].to_list())
    if known:
        for file, sheet, r, h, code in result._counties:
            if code not in known:
                result.problems.append((file, sheet, r, h, code, f"未知的县区代码“{code}”（不在行政区划代码表中）"))


def _read(path: Path, sheet: str | None, limits: bounds.ImportLimits) -> list[_Sheet]:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".csv", ".txt", ".tsv", ".parquet"):
        size = path.stat().st_size
        if size > limits.max_file_bytes:
            raise _Bad(f"文件过大（{size / 2**20:,.1f} MiB，最多{limits.max_file_bytes / 2**20:,.0f} MiB），请拆分为多个文件")
        if size == 0:
            raise _Bad("文件是空的（0字节）")
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, sheet, limits)
    if suffix in (".csv", ".txt", ".tsv"):
        return _read_csv(path, limits)
    if suffix == ".parquet":
        return _read_parquet(path, limits)
    raise _Bad(f"不支持的文件类型“{path.suffix}”（可用 .xlsx、.csv、.parquet；.xls 请另存为 .xlsx）")


def _stage(path: Path, table: str | None, sheet: str | None, money_unit: str | None, result: ImportResult,
           staged: dict[str, list], limits: bounds.ImportLimits | None = None) -> None:
    out = _Collector(result)
    result.files.append(str(path))
    if table is not None and table not in TABLES:
        raise ValueError(f"未知的表“{table}”（可用：{'、'.join(TABLES)}）")
    if money_unit is not None and money_unit not in C.MONEY_UNITS:
        raise ValueError(f"不认识的金额单位“{money_unit}”（可用 元、万元、亿元）")
    if not path.exists():
        out.add(None, None, None, None, "文件不存在", file=str(path))
        return
    try:
        sheets = _read(path, sheet, limits or bounds.ImportLimits.from_env())
    except _Bad as e:
        out.add(None, None, None, None, str(e.args[0]), file=str(path))
        return
    except Exception:  # a corrupt file: say so, in the report, not as a traceback (nor the library's English)
        out.add(None, None, None, None, "无法读取文件：文件已损坏或格式与扩展名不符（可用 .xlsx、.csv、.parquet）",
                file=str(path))
        return
    with_data = [s for s in sheets if not s.blank]
    if not with_data:
        s = sheets[0] if sheets else None
        out.add(s, None, None, None, "工作表为空：没有表头也没有数据", file=str(path))
        return
    for s in sheets:
        if s.blank:
            if sheet is not None:
                out.add(s, None, None, None, "工作表为空：没有表头也没有数据")
            continue  # other empty sheets of a workbook (Sheet2, Sheet3 …) are ignored
        for r, j, value, reason in s.cells:  # error values and formulas calamine would read as empty or 0
            k = j - s.first_col
            head = s.header[k] if 0 <= k < len(s.header) and s.header[k] else f"第{_col_letter(j)}列"
            out.add(s, r, head, value, reason)
        name = table or _guess_table(s, path)
        if name is None:
            out.add(s, s.first_row, None, None,
                    "无法判断该工作表属于哪张表：请按模板命名列（见 docs/import.md），或导入时指定表（table=…）")
            continue
        for r, rec in _sheet_rows(s, TABLES[name], money_unit, out, result):
            staged.setdefault(name, []).append(((s.file, s.name), r, rec))


def import_file(path: str | Path, table: str | None = None, *, sheet: str | None = None,
                money_unit: str | None = None, known_counties: Iterable[str] = (),
                limits: bounds.ImportLimits | None = None) -> ImportResult:
    """Read and validate one file; writes nothing. `result.ok`, `result.tables`, `result.errors`.
    `limits`: file size, inflated size and row limits (default: bounds.ImportLimits.from_env())."""
    result = ImportResult()
    staged: dict[str, list] = {}
    _stage(Path(path), table, sheet, money_unit, result, staged, limits)
    _assemble(result, staged, _Collector(result), known_counties)
    return result


def import_files(paths: Iterable[str | Path] | str | Path, store=None, table: str | None = None, *,
                 sheet: str | None = None, money_unit: str | None = None, county: str | None = None,
                 held=None, limits: bounds.ImportLimits | None = None) -> ImportResult:
    """Read and validate every file; if there is no problem anywhere, write all tables to `store` in one
    transaction (upsert by key: importing the same files twice changes nothing). All or nothing.
    `county`: a county officer's import — every row must belong to that 县区, by the file and by what `held`
    (default: `store`) already holds (huiqi.data.scope)."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    result = ImportResult()
    staged: dict[str, list] = {}
    for p in paths:
        _stage(Path(p), table, sheet, money_unit, result, staged, limits)
    extra: set[str] = set()
    if store is not None:
        try:
            extra = set(store.read("counties")["county_code"].to_list())
        except Exception:  # no table yet
            extra = set()
    _assemble(result, staged, _Collector(result), extra)
    if county is not None and result.ok:
        from huiqi.data.scope import county_scope_problems

        result.problems += county_scope_problems(result, county, held if held is not None else store)
    if result.ok and store is not None:
        result.written = store.write_many(result.tables)
    return result
