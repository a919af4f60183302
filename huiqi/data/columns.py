"""The data tables of docs/data-model.md as data: columns, types, keys and the headers people write for them.

One place for the contract, shared by the importer (huiqi.data.importer) and the SQL store (huiqi.data.store).
Money is integer 分 (`*_fen`, and `indicators.value` for money indicators); quantities are ×100.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

# Column kinds. The importer validates by kind; the store maps kinds to SQL types.
TEXT, ID, CREDIT_CODE, COUNTY, INDUSTRY, SECTOR = "text", "id", "credit_code", "county", "industry", "sector"
DATE, BOOL, YEAR, PERIOD, QUARTER = "date", "bool", "year", "period", "quarter"
MONEY, VALUE = "money", "value"  # MONEY: 分; VALUE: indicators.value (分 or ×100 depending on the indicator)
DESIGNATION, CREDIT_KIND, EVENT_KIND, PROJECT_TYPE, INDICATOR = (
    "designation", "credit_kind", "event_kind", "project_type", "indicator")

POLARS_TYPE = {
    TEXT: pl.String, ID: pl.String, CREDIT_CODE: pl.String, COUNTY: pl.String, INDUSTRY: pl.String,
    SECTOR: pl.String, DATE: pl.Date, BOOL: pl.Boolean, YEAR: pl.Int32, PERIOD: pl.String, QUARTER: pl.String,
    MONEY: pl.Int64, VALUE: pl.Int64, DESIGNATION: pl.String, CREDIT_KIND: pl.String, EVENT_KIND: pl.String,
    PROJECT_TYPE: pl.String, INDICATOR: pl.String,
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    label: str  # the Chinese header, as written in templates and error reports
    aliases: tuple[str, ...] = ()
    required: bool = True  # the import file must have the column and a value in every row
    nonnegative: bool = True  # for MONEY

    @property
    def dtype(self) -> pl.DataType:
        return POLARS_TYPE[self.kind]


@dataclass(frozen=True)
class Table:
    name: str
    label: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    aliases: tuple[str, ...] = ()  # file / sheet names that mean this table

    def __getitem__(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def schema(self) -> dict[str, pl.DataType]:
        return {c.name: c.dtype for c in self.columns}

    def empty(self) -> pl.DataFrame:
        return pl.DataFrame(schema=self.schema)


def _c(name, kind, label, *aliases, required=True, nonnegative=True):
    return Column(name, kind, label, tuple(aliases), required, nonnegative)


_CREDIT = _c("credit_code", CREDIT_CODE, "统一社会信用代码", "信用代码", "社会信用代码", "统一代码")
_COUNTY = _c("county_code", COUNTY, "县区代码", "区县代码", "行政区划代码", "区划代码")

TABLES: dict[str, Table] = {t.name: t for t in [
    Table("counties", "县区", ("county_code",), (
        _COUNTY,
        _c("county_name", TEXT, "县区名称", "区县名称", "县区"),
        _c("city_name", TEXT, "城市名称", "所属城市", "地市", "市"),
    ), ("县区", "区县", "县区表")),
    Table("enterprises", "企业", ("credit_code",), (
        _CREDIT,
        _c("name", TEXT, "企业名称", "单位名称", "名称"),
        _COUNTY,
        _c("industry_code", INDUSTRY, "行业代码", "国民经济行业代码", "行业小类代码"),
        _c("sector", SECTOR, "行业", "所属行业", "行业类别", "产业", required=False),
        _c("established", DATE, "成立日期", "成立时间", required=False),
        _c("is_state_owned", BOOL, "是否国有", "国有企业", "是否国有企业", required=False),
    ), ("企业", "企业名录", "企业表", "企业基本信息")),
    Table("scale_status", "规上状态", ("credit_code", "year"), (
        _CREDIT,
        _c("year", YEAR, "年度", "年份"),
        _c("above_scale", BOOL, "是否规上", "规上工业企业", "规模以上"),
        _c("entered_scale_on", DATE, "入库日期", "入规日期", "入库时间", required=False),
    ), ("规上状态", "规上企业", "规上")),
    Table("designations", "认定", ("credit_code", "designation", "start"), (
        _CREDIT,
        _c("designation", DESIGNATION, "认定类型", "认定", "称号", "资质"),
        _c("start", DATE, "认定日期", "开始日期", "生效日期", "起始日期"),
        _c("end", DATE, "截止日期", "结束日期", "失效日期", "有效期至", required=False),
    ), ("认定", "认定名单", "资质认定")),
    Table("credit_records", "信用记录", ("credit_code", "kind", "date"), (
        _CREDIT,
        _c("kind", CREDIT_KIND, "记录类型", "类型", "类别"),
        _c("date", DATE, "日期", "发生日期", "处罚日期", "记录日期"),
        _c("serious", BOOL, "是否严重", "严重", "严重失信"),
    ), ("信用记录", "信用")),
    Table("indicators", "指标", ("credit_code", "period", "indicator"), (
        _CREDIT,
        _c("period", PERIOD, "期间", "统计期", "报告期", "季度", "月份"),
        _c("indicator", INDICATOR, "指标", "指标代码", "指标名称"),
        _c("value", VALUE, "数值", "值", "指标值", required=False),  # an empty value is unknown (待补充信息), never 0
    ), ("指标", "指标数据", "经济指标", "统计指标")),
    Table("projects", "项目", ("project_id",), (
        _c("project_id", ID, "项目编号", "项目代码", "项目ID"),
        _CREDIT,
        _c("name", TEXT, "项目名称", "名称"),
        _c("project_type", PROJECT_TYPE, "项目类型", "类型", "建设性质"),
        _COUNTY,
        _c("registered_on", DATE, "入库日期", "开工入库日期", "开工日期"),
        _c("total_investment_fen", MONEY, "总投资", "计划总投资", "total_investment"),
    ), ("项目", "项目库", "项目表")),
    Table("project_investment", "项目投资", ("project_id", "period"), (
        _c("project_id", ID, "项目编号", "项目代码", "项目ID"),
        _c("period", QUARTER, "期间", "季度", "统计期"),
        _c("invest_fen", MONEY, "完成投资", "实际完成投资", "当季完成投资", "invest"),
    ), ("项目投资", "投资完成", "项目投资完成")),
    Table("events", "事项", ("event_id",), (
        _c("event_id", ID, "事项编号", "编号", "事件编号"),
        _CREDIT,
        _c("kind", EVENT_KIND, "事项类型", "类型"),
        _c("date", DATE, "日期", "发生日期", "举办日期"),
        _c("cost_fen", MONEY, "费用", "费用金额", "cost", required=False),
        _c("amount_fen", MONEY, "金额", "数额", "amount", required=False),
        _c("detail", TEXT, "说明", "详情", "备注", "事项说明", required=False),
    ), ("事项", "活动", "事项表")),
    Table("county_targets", "县区目标", ("county_code", "period"), (
        _COUNTY,
        _c("period", PERIOD, "期间", "季度", "统计期"),
        _c("invest_target_fen", MONEY, "投资目标", "固定资产投资目标", "invest_target"),
        _c("invest_done_fen", MONEY, "投资完成", "固定资产投资完成", "invest_done"),
        _c("output_target_fen", MONEY, "产值目标", "工业总产值目标", "output_target"),
        _c("output_done_fen", MONEY, "产值完成", "工业总产值完成", "output_done"),
    ), ("县区目标", "目标任务", "县区任务")),
]}

SECTORS = ("汽车", "机械", "钢铁", "有色金属", "石化", "建材", "食品", "制糖", "造纸", "电子信息", "医药", "纺织",
           "木材加工", "电力", "其他")

DESIGNATIONS = {
    "top500_output": "全区产值前500", "gx_leading": "自治区工业龙头", "little_giant": "国家级专精特新小巨人",
    "single_champion": "单项冠军", "specialized_sme": "专精特新中小企业", "high_tech": "高新技术企业",
    "chain_leader": "链主", "two_high": "两高目录", "independent_metering": "独立电量计量",
}
DESIGNATION_ALIASES = {"小巨人": "little_giant", "专精特新小巨人": "little_giant", "国家级专精特新“小巨人”": "little_giant",
                       "国家级专精特新\"小巨人\"": "little_giant", "自治区龙头企业": "gx_leading", "高企": "high_tech",
                       "链主企业": "chain_leader", "两高": "two_high", "产值前500": "top500_output"}

CREDIT_KINDS = ("环保", "安全", "质量", "纳税", "统计", "失信联合惩戒")

EVENT_KINDS = {
    "promo_event": "促销活动", "large_expo": "大型展会", "intl_certification": "国际产品认证",
    "liquidity_loan": "流动资金贷款", "hire": "招用",
}
EVENT_ALIASES = {"新品发布会": "promo_event", "订货会": "promo_event", "经销商大会": "promo_event",
                 "展会": "large_expo", "国内外大型展会": "large_expo", "国际认证": "intl_certification",
                 "桂惠贷": "liquidity_loan", "工业流动资金贷": "liquidity_loan", "桂惠贷工业流动资金贷": "liquidity_loan",
                 "招工": "hire"}

PROJECT_TYPES = ("新建", "技术改造")
PROJECT_TYPE_ALIASES = {"技改": "技术改造", "新建项目": "新建", "技术改造项目": "技术改造"}


@dataclass(frozen=True)
class Indicator:
    code: str
    label: str
    money: bool  # True: 分; False: quantity ×100
    nonnegative: bool = True
    unit: str = ""  # base unit of a quantity
    aliases: tuple[str, ...] = field(default=())


INDICATORS: dict[str, Indicator] = {i.code: i for i in [
    Indicator("output", "工业总产值", True, aliases=("产值", "总产值")),
    Indicator("revenue", "主营业务收入", True, aliases=("营业收入", "营收", "主营收入")),
    Indicator("profit", "利润总额", True, nonnegative=False, aliases=("利润",)),
    Indicator("power", "用电量", False, unit="千瓦时", aliases=("工业用电量", "电量")),
    Indicator("purchased_power", "外购电量", False, unit="千瓦时", aliases=("外购电",)),
    Indicator("employees", "从业人员", False, unit="人", aliases=("从业人数", "从业人员数", "职工人数", "员工人数")),
    Indicator("new_jobs", "新增就业人数", False, unit="人", aliases=("新增就业",)),
    Indicator("export", "出口额", True, aliases=("出口", "出口交货值")),
    Indicator("new_market_export", "新开拓境外市场出口额", True, aliases=("新市场出口额",)),
    Indicator("rd_expense", "研发经费", True, aliases=("研发费用", "研发投入", "R&D经费")),
]}

MONEY_UNITS = {"分": 1, "元": 100, "万元": 1_000_000, "亿元": 10_000_000_000}  # → 分
QUANTITY_UNITS = {"千瓦时": 1, "kwh": 1, "度": 1, "万千瓦时": 10_000, "万度": 10_000, "人": 1, "个": 1}

# Headers that may appear in any sheet and carry nothing to import (row numbers, remarks, names for reading).
IGNORED_HEADERS = {"序号", "编号序号", "备注", "说明备注", "no", "no.", "#"}


def _norm(text: str) -> str:
    return "".join(str(text).split()).lower().replace("_", "").replace("（", "(").replace("）", ")")


def header_map(table: Table) -> dict[str, str]:
    """normalised header → column name, for every accepted spelling (contract name, label, aliases)."""
    out: dict[str, str] = {}
    for c in table.columns:
        for h in (c.name, c.label, *c.aliases):
            out.setdefault(_norm(h), c.name)
        if c.name.endswith("_fen"):
            out.setdefault(_norm(c.name[:-4]), c.name)
    return out


def indicator_map() -> dict[str, str]:
    out: dict[str, str] = {}
    for i in INDICATORS.values():
        for h in (i.code, i.label, *i.aliases):
            out.setdefault(_norm(h), i.code)
    return out


def table_for_name(name: str) -> str | None:
    """'enterprises', '企业名录', 'indicators_2024' … → table name, or None."""
    n = _norm(name)
    for t in TABLES.values():
        if n == _norm(t.name) or n in {_norm(a) for a in (t.label, *t.aliases)}:
            return t.name
    for t in sorted(TABLES.values(), key=lambda t: -len(t.name)):
        if n.startswith(_norm(t.name)):
            return t.name
    return None


normalize_header = _norm
