"""运行监测（驾驶舱）: the enterprise lists, sector growth against the texts' targets, and the 县区 ranking.

    tables ──facts.enterprise_facts──▶ 四张重点企业清单 (正增长/负增长/新建投产/拟上规) + 临规 + 临退规
           ──facts.county_facts──▶ 县区综合评分排名 ──RuleSet(lz2026q3-1)──▶ 前五名激励金额
           ──sector_targets.yaml──▶ 行业累计产值增速 vs 文件目标 (+ ECharts options)

The texts only *name* the four lists (002 第1条, 2024年二季度措施第1条); the exact rules used here are named,
overridable settings (``MonitorSettings``) documented in docs/monitoring.md and in ``LIST_RULES``. 临退规 is not
re-implemented: it is the encoded rule gx2024q4-33 evaluated by the one evaluator on the period's facts. All
comparisons are exact integer cross-multiplications (money in 分); percentages are only formatted for display.
"""

from __future__ import annotations

import calendar
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Mapping

import polars as pl
import yaml

from huiqi.core import money
from huiqi.engine.evaluate import MET, MISSING, RuleSet, col
from huiqi.core.periods import Period
from huiqi.services.facts import county_facts, enterprise_facts
from huiqi.services.xlsx_style import SheetFormats

WAN = 1_000_000  # 分 per 万元
TARGETS_FILE = Path(__file__).with_name("sector_targets.yaml")
LINTUIGUI_RULE = "gx2024q4-33"
COUNTY_AWARD_RULE = "lz2026q3-1"

# list key → (sheet / display name, the precise rule, the clause it rests on)
LISTS: dict[str, str] = {
    "positive": "正增长企业清单",
    "negative": "负增长企业清单",
    "new": "新建投产企业清单",
    "to_scale": "拟上规企业清单",
    "linggui": "临规企业名单",
    "lintuigui": "临退规企业名单",
}
LIST_BASIS: dict[str, str] = {
    "positive": "gx2024q4:1.1；gx2024q2:1.1（“正增长、负增长、新建投产、拟上规四张重点企业清单”）",
    "negative": "gx2024q4:1.1；gx2024q2:1.1",
    "new": "gx2024q4:1.1、1.2（“无基数的新建投产企业”）；gx2024q2:1.2（“2023年7月1日后入库”）",
    "to_scale": "gx2024q4:1.1；gx2024q2:1.1；规上标准：年主营业务收入2000万元及以上",
    "linggui": "gx2024q4:10.32（“具备上规条件的临规企业监测名单”）；gx2024q2:4.21（“临规企业培育库”）",
    "lintuigui": "gx2024q4:10.33（“对前三季度产值或主营业务收入不到1500万元的企业加强动态跟踪”），规则 gx2024q4-33",
}


def _wan_text(fen: int) -> str:
    text = f"{Decimal(fen) / WAN:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text + "万元"


def list_rules(s: "MonitorSettings") -> dict[str, str]:
    """The rule of each list in words, with the settings in force."""
    basis = "本年累计工业总产值（1月至本期末）" if s.growth_basis == "ytd" else "当季工业总产值"
    scale = _wan_text(s.scale_line_fen)
    rev = "主营业务收入（本年累计按季折算全年：累计×4÷季度数）" if s.annualise else "本年累计主营业务收入"
    return {
        "positive": f"规上工业企业，有基数（非{s.new_within_months}个月内新入库、上年同期产值大于0），"
                    f"{basis}同比增长（本期 > 上年同期；持平不计入）",
        "negative": f"规上工业企业，有基数，{basis}同比下降（本期 < 上年同期；持平不计入）",
        "new": f"规上工业企业，入库日期在本期末前{s.new_within_months}个月内（无基数的新建投产企业）",
        "to_scale": f"规下工业企业，{rev}达到{scale}（含）以上，即已达到规上标准、待入库",
        "linggui": f"规下工业企业，{rev}在{_wan_text(s.linggui_lower_fen)}（含）至{scale}（不含）之间",
        "lintuigui": "规上工业企业，前三季度（1—9月）工业总产值或主营业务收入不到1500万元（不含1500万元），"
                     "按已编码规则 gx2024q4-33 由统一评估器判断；一、二季度尚无前三季度数据，不出名单",
    }


@dataclass(frozen=True)
class MonitorSettings:
    """Named, overridable settings of the lists and the ranking (defaults and reasons: docs/monitoring.md)."""

    growth_basis: str = "ytd"  # 正/负增长按 ytd（本年累计）或 q（当季）产值同比
    new_within_months: int = 12  # 新建投产：入库在本期末前 N 个月内（与 facts.is_new_in_statistics 一致）
    scale_line_fen: int = 2000 * WAN  # 规上标准：年主营业务收入2000万元及以上
    linggui_lower_fen: int = 1500 * WAN  # 临规下限（含）；上限为规上标准（不含）
    annualise: bool = True  # 规下企业按本年累计收入折算全年（×4÷季度数）后比较
    weight_invest: Fraction = Fraction(1, 2)  # 004 一 综合评分：投资任务完成率权重（原文未载明）
    weight_output: Fraction = Fraction(1, 2)  # 产值任务完成率权重（原文未载明）
    targets: str | None = None  # 行业目标文件（gx2024q4 / gx2024q2 / lz2026q3）；默认按期间自动选择

    def __post_init__(self):
        if self.growth_basis not in ("ytd", "q"):
            raise ValueError("growth_basis 只能是 ytd（本年累计）或 q（当季）")
        if not 1 <= int(self.new_within_months) <= 120:
            raise ValueError("new_within_months 应为 1—120 个月")
        if not 0 <= self.linggui_lower_fen < self.scale_line_fen:
            raise ValueError("临规下限应低于规上标准")
        wi, wo = Fraction(self.weight_invest), Fraction(self.weight_output)
        if wi < 0 or wo < 0 or wi + wo == 0:
            raise ValueError("综合评分权重不能为负，且不能同时为0")
        object.__setattr__(self, "weight_invest", wi)
        object.__setattr__(self, "weight_output", wo)

    def with_overrides(self, overrides: Mapping[str, object] | None) -> "MonitorSettings":
        """Overrides by name; money settings accept 分 as int or text with 万元/元 ("1800万元")."""
        if not overrides:
            return self
        names = {f.name for f in fields(self)}
        values = {}
        for name, value in overrides.items():
            if name not in names:
                raise ValueError(f"没有名为 {name} 的监测设置（可用：{'、'.join(sorted(names))}）")
            if name.endswith("_fen"):
                value = parse_money_fen(value)
            elif name.startswith("weight_"):
                value = Fraction(str(value))
            elif name == "new_within_months":
                value = int(value)
            elif name == "annualise":
                value = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "是")
            values[name] = value
        return replace(self, **values)

    def as_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["weight_invest"], d["weight_output"] = str(self.weight_invest), str(self.weight_output)
        return d


def parse_money_fen(value: object) -> int:
    """1500万元 / 15000000元 / 1500000000 (分, int) → 分, exactly; finer than 1 分 is refused."""
    if isinstance(value, int):
        return value
    text = str(value).strip().replace(",", "")
    factor = Decimal(100)
    for suffix, f in (("万元", WAN), ("万", WAN), ("元", 100)):
        if text.endswith(suffix):
            text, factor = text[: -len(suffix)], Decimal(f)
            break
    fen = Decimal(text) * factor
    if fen != fen.to_integral_value():
        raise ValueError(f"金额 {value} 不足1分的部分无法精确表示")
    return int(fen)


# -- display helpers (exact inputs → rounded text/number for people) --------------------------------------
def wan2(fen: int | None) -> float | None:
    """分 → 万元, rounded half-up to 2 decimals (display only)."""
    if fen is None:
        return None
    return float(money.wan(fen))


def pct2(num: int | Fraction | None, den: int | Fraction | None, minus_one: bool = False) -> float | None:
    """num/den (or num/den − 1) in %, half-up to 2 decimals (display only); None without a positive base."""
    if num is None or den is None or den <= 0:
        return None
    value = Fraction(num) / Fraction(den) - (1 if minus_one else 0)
    d = Decimal(value.numerator) * 100 / Decimal(value.denominator)
    return float(d.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def round_fraction(value: Fraction, places: int) -> float:
    """An exact Fraction rounded half-up to ``places`` decimals (display only)."""
    d = Decimal(value.numerator) / Decimal(value.denominator)
    return float(d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def period_label(period: str | Period) -> str:
    p = Period.parse(period)
    return f"{p.year}年{'一二三四'[p.quarter - 1]}季度" if p.quarter else p.label


def _months_before(d: date, months: int) -> date:
    """The same day-of-month ``months`` earlier, clamped to the month end (quarter ends are month ends)."""
    y, m = divmod(d.year * 12 + d.month - 1 - months, 12)
    last = calendar.monthrange(y, m + 1)[1]
    day = last if d.day == calendar.monthrange(d.year, d.month)[1] else min(d.day, last)
    return date(y, m + 1, day)


def _rule_period(ruleset: RuleSet, measure_id: str) -> str:
    m, f = ruleset.measures[measure_id]
    periods = m.periods if m.periods is not None else f.rules.defaults.periods
    return str(periods[0])


def _rule_periods(ruleset: RuleSet, measure_id: str) -> list[str]:
    m, f = ruleset.measures[measure_id]
    return [str(x) for x in (m.periods if m.periods is not None else f.rules.defaults.periods)]


def _default_ruleset() -> RuleSet:
    from huiqi.services.calculator import default_ruleset

    return default_ruleset()


# -- the enterprise lists ---------------------------------------------------------------------------------
_ID_COLUMNS = ["credit_code", "enterprise_name", "county", "city_name", "county_name", "sector"]


def with_places(facts: pl.DataFrame, tables: Mapping[str, pl.DataFrame] | None) -> pl.DataFrame:
    """Add 设区市 and 县区 names (city_name, county_name) from the counties table."""
    if "county_name" in facts.columns and "city_name" in facts.columns:
        return facts
    if tables is None or "counties" not in tables:
        return facts.with_columns(pl.lit(None, dtype=pl.String).alias("city_name"),
                                  pl.lit(None, dtype=pl.String).alias("county_name"))
    places = tables["counties"].select(pl.col("county_code").alias("county"), "county_name", "city_name")
    return facts.join(places, on="county", how="left", maintain_order="left")


def _ensure(facts: pl.DataFrame, columns: dict[str, pl.DataType]) -> pl.DataFrame:
    missing = [pl.lit(None, dtype=t).alias(c) for c, t in columns.items() if c not in facts.columns]
    return facts.with_columns(missing) if missing else facts


_FACT_TYPES = {
    "credit_code": pl.String, "enterprise_name": pl.String, "county": pl.String, "city_name": pl.String,
    "county_name": pl.String, "sector": pl.String, "is_above_scale": pl.Boolean,
    "gx2024q2_library_entry_date": pl.Date, "output_q": pl.Int64, "output_q_ly": pl.Int64, "output_ytd": pl.Int64,
    "output_ytd_ly": pl.Int64, "revenue_ytd": pl.Int64, "output_jan_sep": pl.Int64, "revenue_jan_sep": pl.Int64,
}


def classify(facts: pl.DataFrame, period: str | Period, settings: MonitorSettings | None = None
             ) -> tuple[dict[str, pl.DataFrame], pl.DataFrame, dict[str, int]]:
    """四张重点企业清单 and 临规 from one period's enterprise facts (临退规: ``lintuigui``).

    Returns (lists by key, pending rows (credit_code, list, reason), extra counts such as 持平).
    """
    s = settings or MonitorSettings()
    p = Period.parse(period) if isinstance(period, str) else period
    f = _ensure(facts, _FACT_TYPES)
    this, last = ("output_ytd", "output_ytd_ly") if s.growth_basis == "ytd" else ("output_q", "output_q_ly")
    cutoff = _months_before(p.end, s.new_within_months)
    q = p.last_quarter
    line, lower = s.scale_line_fen, s.linggui_lower_fen
    # revenue compared with a yearly line: ytd × 4 against line × q (no division, no float)
    rev, mult = pl.col("revenue_ytd"), (4 if s.annualise else q)
    f = f.with_columns(
        (pl.col("gx2024q2_library_entry_date").is_not_null() & (pl.col("gx2024q2_library_entry_date") > cutoff))
        .alias("_new"),
        pl.col(this).alias("_this"), pl.col(last).alias("_last"),
        (rev * mult).alias("_rev_scaled"),
        (rev * 4 // q).alias("annualised_revenue_fen") if s.annualise else rev.alias("annualised_revenue_fen"),
    )
    above = pl.col("is_above_scale") == True  # noqa: E712 (null stays null → filtered out)
    below = pl.col("is_above_scale") == False  # noqa: E712
    based = above & ~pl.col("_new")
    known = pl.col("_this").is_not_null() & pl.col("_last").is_not_null() & (pl.col("_last") > 0)
    lists = {
        "positive": f.filter(based & known & (pl.col("_this") > pl.col("_last"))),
        "negative": f.filter(based & known & (pl.col("_this") < pl.col("_last"))),
        "new": f.filter(above & pl.col("_new")),
        "to_scale": f.filter(below & (pl.col("_rev_scaled") >= line * q)),
        "linggui": f.filter(below & (pl.col("_rev_scaled") >= lower * q) & (pl.col("_rev_scaled") < line * q)),
    }
    flat = f.filter(based & known & (pl.col("_this") == pl.col("_last"))).height
    growth_label = "本年累计产值" if s.growth_basis == "ytd" else "当季产值"
    pending = pl.concat([
        f.filter(based & (pl.col("_this").is_null() | pl.col("_last").is_null())).select(
            "credit_code", pl.lit("正增长/负增长").alias("list"),
            pl.when(pl.col("_this").is_null()).then(pl.lit(f"缺少本期{growth_label}（来源：统计月报/季报）"))
            .otherwise(pl.lit(f"缺少上年同期{growth_label}（来源：统计月报/季报）")).alias("reason")),
        f.filter(based & pl.col("_last").is_not_null() & (pl.col("_last") <= 0) & pl.col("_this").is_not_null())
        .select("credit_code", pl.lit("正增长/负增长").alias("list"),
                pl.lit(f"上年同期{growth_label}为0，无法计算增速，请核实是否为新建投产（入库日期）").alias("reason")),
        f.filter(below & pl.col("revenue_ytd").is_null()).select(
            "credit_code", pl.lit("拟上规/临规").alias("list"),
            pl.lit("缺少本年累计主营业务收入（来源：统计季报/财务报表）").alias("reason")),
    ])
    out = {}
    for key, frame in lists.items():
        out[key] = _list_columns(frame, key).sort(["county", "credit_code"], nulls_last=True)
    return out, pending, {"flat": flat}


def _list_columns(frame: pl.DataFrame, key: str) -> pl.DataFrame:
    ids = [c for c in _ID_COLUMNS if c in frame.columns]
    if key in ("positive", "negative"):
        return frame.select(*ids, pl.col("_this").alias("output_this_fen"), pl.col("_last").alias("output_last_fen"),
                            (pl.col("_this") - pl.col("_last")).alias("output_change_fen"))
    if key == "new":
        return frame.select(*ids, pl.col("gx2024q2_library_entry_date").alias("entered_scale_on"),
                            pl.col("output_q").alias("output_q_fen"), pl.col("output_ytd").alias("output_ytd_fen"))
    return frame.select(*ids, pl.col("revenue_ytd").alias("revenue_ytd_fen"),
                        pl.col("annualised_revenue_fen"))


def lintuigui(facts: pl.DataFrame, period: str | Period, ruleset: RuleSet | None = None
              ) -> tuple[pl.DataFrame, pl.DataFrame, str | None]:
    """临退规企业名单: 规上 enterprises for which rule gx2024q4-33 is 符合 on this period's facts.

    The rule is evaluated at its own period (2024Q4) through the one evaluator, on the facts of ``period``: the
    condition (前三季度产值或主营业务收入不到1500万元) reads 1—9月 figures, which exist from the third quarter on.
    Returns (list, pending, note).
    """
    p = Period.parse(period) if isinstance(period, str) else period
    rs = ruleset or _default_ruleset()
    f = _ensure(facts, _FACT_TYPES).filter(pl.col("is_above_scale") == True)  # noqa: E712 在库（规上）企业
    if p.quarter in (1, 2):
        note = (f"{period_label(p)}尚无前三季度（1—9月）数据，临退规名单（002第33条）须三季度末起判断，本期不出名单。")
        empty = _list_columns_lintuigui(f.head(0), None)
        return empty, pl.DataFrame(schema={"credit_code": pl.String, "list": pl.String, "reason": pl.String}), note
    frame = f.with_columns(pl.col("credit_code").alias("entity_id"))
    ev = rs.evaluate(frame, _rule_period(rs, LINTUIGUI_RULE), measures=[LINTUIGUI_RULE], keep=["entity_id"])
    status = ev.frame.select("entity_id", pl.col(col(LINTUIGUI_RULE, "status")).cast(pl.String).alias("_status"))
    joined = frame.join(status, on="entity_id", how="left", maintain_order="left")
    members = joined.filter(pl.col("_status") == MET)
    missing = joined.filter(pl.col("_status") == MISSING).select(
        "credit_code", pl.lit("临退规").alias("list"),
        pl.when(pl.col("output_jan_sep").is_null() & pl.col("revenue_jan_sep").is_null())
        .then(pl.lit("缺少前三季度（1—9月）工业总产值和主营业务收入"))
        .when(pl.col("output_jan_sep").is_null()).then(pl.lit("缺少前三季度（1—9月）工业总产值（主营业务收入已达1500万元）"))
        .otherwise(pl.lit("缺少前三季度（1—9月）主营业务收入（产值已达1500万元）")).alias("reason"))
    return _list_columns_lintuigui(members, 1500 * WAN).sort(["county", "credit_code"], nulls_last=True), missing, None


def _list_columns_lintuigui(frame: pl.DataFrame, line: int | None) -> pl.DataFrame:
    ids = [c for c in _ID_COLUMNS if c in frame.columns]
    line = line or 1500 * WAN
    o, r = pl.col("output_jan_sep"), pl.col("revenue_jan_sep")
    trigger = pl.concat_str([pl.when(o < line).then(pl.lit("产值不到1500万元")),
                             pl.when(r < line).then(pl.lit("主营业务收入不到1500万元"))], separator="；", ignore_nulls=True)
    return frame.select(*ids, o.alias("output_jan_sep_fen"), r.alias("revenue_jan_sep_fen"), trigger.alias("trigger"))


# -- sector growth against the texts' targets -------------------------------------------------------------
@dataclass(frozen=True)
class SectorTarget:
    id: str
    document: str
    clause: str
    quote: str
    target_text: str
    sector: str
    kind: str  # min_growth | turn_positive | narrow_decline
    target_pct: Fraction | None
    target_pct_text: str | None
    data_sectors: tuple[str, ...]
    note: str | None = None


@dataclass(frozen=True)
class TargetDocument:
    id: str
    title: str
    region: str
    period: str
    period_label: str
    monitor_from: str


KIND_LABELS = {"min_growth": "同比增长X%以上", "turn_positive": "扭负为正", "narrow_decline": "降幅收窄"}


@lru_cache(maxsize=4)
def load_targets(path: str | None = None) -> tuple[dict[str, TargetDocument], tuple[SectorTarget, ...]]:
    raw = yaml.safe_load(Path(path or TARGETS_FILE).read_text(encoding="utf-8"))
    docs = {k: TargetDocument(id=k, **{f: str(v[f]) for f in ("title", "region", "period", "period_label",
                                                              "monitor_from")}) for k, v in raw["documents"].items()}
    targets = []
    for t in raw["targets"]:
        if t["kind"] not in KIND_LABELS:
            raise ValueError(f"{t['id']}: 未知的目标类型 {t['kind']}")
        pct = t.get("target_pct")
        if (pct is None) != (t["kind"] != "min_growth"):
            raise ValueError(f"{t['id']}: 只有 min_growth 目标有 target_pct")
        targets.append(SectorTarget(
            id=t["id"], document=t["document"], clause=str(t["clause"]), quote=str(t["quote"]),
            target_text=str(t["target_text"]), sector=str(t["sector"]), kind=t["kind"],
            target_pct=Fraction(str(pct)) if pct is not None else None, target_pct_text=str(pct) if pct else None,
            data_sectors=tuple(t.get("data_sectors") or ()), note=t.get("note")))
    return docs, tuple(targets)


def _pkey(p: Period) -> tuple[int, int]:
    return p.year, p.last_quarter


def targets_for(period: str | Period, document: str | None = None) -> tuple[TargetDocument | None, list[SectorTarget]]:
    """The targets shown for a period: ``document``'s, or those of the document whose monitoring window
    (monitor_from … period, same year) contains the period."""
    p = Period.parse(period) if isinstance(period, str) else period
    docs, targets = load_targets()
    if document:
        if document not in docs:
            raise ValueError(f"没有行业目标文件 {document}（可用：{'、'.join(docs)}）")
        chosen = docs[document]
    else:
        chosen = next((d for d in docs.values()
                       if Period.parse(d.period).year == p.year
                       and _pkey(Period.parse(d.monitor_from)) <= _pkey(p) <= _pkey(Period.parse(d.period))), None)
    if chosen is None:
        return None, []
    return chosen, [t for t in targets if t.document == chosen.id]


def _aggregate(facts: pl.DataFrame, sectors: tuple[str, ...], region: str | None) -> dict[str, int]:
    """Sum of 规上 members' cumulative output with both years known; counts for coverage."""
    f = facts.filter((pl.col("is_above_scale") == True) & pl.col("sector").is_in(list(sectors)))  # noqa: E712
    if region and region != "广西":
        f = f.filter(pl.col("city_name") == region)
    used = f.filter(pl.col("output_ytd").is_not_null() & pl.col("output_ytd_ly").is_not_null())
    return {"members": f.height, "used": used.height,
            "this": int(used["output_ytd"].sum() or 0), "last": int(used["output_ytd_ly"].sum() or 0)}


def _target_status(t: SectorTarget | None, cur: dict, prev: dict | None) -> tuple[str, float | None]:
    """(达到/未达到/无数据/无目标, gap in percentage points for a numeric target)."""
    if t is None:
        return "无目标", None
    if not t.data_sectors:
        return "无对应行业数据", None
    this, last = cur["this"], cur["last"]
    if cur["used"] == 0 or last <= 0:
        return "无数据", None
    if t.kind == "min_growth":
        # 同比增长X%以上（含X%）: this × 100 ≥ last × (100 + X), exact
        met = Fraction(this) * 100 >= Fraction(last) * (100 + t.target_pct)
        actual = (Fraction(this, last) - 1) * 100
        gap = t.target_pct - actual
        return ("达到" if met else "未达到"), (None if met else round_fraction(gap, 2))
    if t.kind == "turn_positive":  # 扭负为正: growth > 0 (0 is not positive)
        return ("达到" if this > last else "未达到"), None
    # 降幅收窄: no decline this period, or growth above the same span a year earlier
    if this >= last:
        return "达到", None
    if prev is None or prev["used"] == 0 or prev["last"] <= 0:
        return "无数据", None
    return ("达到" if this * prev["last"] > prev["this"] * last else "未达到"), None


def sector_growth(tables: Mapping[str, pl.DataFrame] | None, period: str | Period,
                  settings: MonitorSettings | None = None, facts: pl.DataFrame | None = None,
                  facts_prev: pl.DataFrame | None = None) -> tuple[pl.DataFrame, TargetDocument | None]:
    """Cumulative output growth by sector against the targets of the texts (one row per target), or by data
    sector when no target set applies to the period."""
    s = settings or MonitorSettings()
    p = Period.parse(period) if isinstance(period, str) else period
    doc, targets = targets_for(p, s.targets)
    f = facts if facts is not None else with_places(enterprise_facts(tables, p), tables)
    f = _ensure(f, _FACT_TYPES)
    needs_prev = any(t.kind == "narrow_decline" and t.data_sectors for t in targets)
    if needs_prev and facts_prev is None and tables is not None:
        facts_prev = with_places(enterprise_facts(tables, p.years_earlier(1)), tables)
    if facts_prev is not None:
        facts_prev = _ensure(facts_prev, _FACT_TYPES)
    rows = []
    items: list[tuple[SectorTarget | None, str, tuple[str, ...]]]
    if targets:
        items = [(t, t.sector, t.data_sectors) for t in targets]
    else:
        from huiqi.core.regions import SECTORS

        found = {x for x in f["sector"].unique().to_list() if x}
        present = [x for x in SECTORS if x in found] + sorted(found - set(SECTORS))
        items = [(None, x, (x,)) for x in present]
    region = doc.region if doc else None
    progress = doc is not None and str(p) != doc.period
    for t, name, sectors in items:
        cur = _aggregate(f, sectors, region) if sectors else {"members": 0, "used": 0, "this": 0, "last": 0}
        prev = _aggregate(facts_prev, sectors, region) if (t and t.kind == "narrow_decline" and sectors
                                                           and facts_prev is not None) else None
        status, gap = _target_status(t, cur, prev)
        if progress and status in ("达到", "未达到"):
            status = f"进度{status}"
        rows.append({
            "target_id": t.id if t else None, "document": t.document if t else None,
            "clause": t.clause if t else None, "sector": name, "data_sectors": "、".join(sectors) or None,
            "region": region or "全部", "kind": KIND_LABELS[t.kind] if t else None,
            "target_pct": float(t.target_pct) if t and t.target_pct is not None else None,
            "target_text": t.target_text if t else None,
            "members": cur["members"], "used": cur["used"],
            "coverage_pct": pct2(cur["used"], cur["members"]) if cur["members"] else None,
            "output_ytd_fen": cur["this"] if cur["used"] else None,
            "output_ytd_ly_fen": cur["last"] if cur["used"] else None,
            "actual_pct": pct2(cur["this"], cur["last"], minus_one=True) if cur["used"] else None,
            "prev_actual_pct": pct2(prev["this"], prev["last"], minus_one=True) if prev and prev["used"] else None,
            "status": status, "gap_pp": gap, "note": t.note if t else None, "quote": t.quote if t else None,
        })
    schema = {"target_id": pl.String, "document": pl.String, "clause": pl.String, "sector": pl.String,
              "data_sectors": pl.String, "region": pl.String, "kind": pl.String, "target_pct": pl.Float64,
              "target_text": pl.String, "members": pl.Int64, "used": pl.Int64, "coverage_pct": pl.Float64,
              "output_ytd_fen": pl.Int64, "output_ytd_ly_fen": pl.Int64, "actual_pct": pl.Float64,
              "prev_actual_pct": pl.Float64, "status": pl.String, "gap_pp": pl.Float64, "note": pl.String,
              "quote": pl.String}
    return pl.DataFrame(rows, schema=schema), doc


def sector_chart(frame: pl.DataFrame, title: str = "行业累计产值增速与目标") -> dict:
    """ECharts options (bar chart: sector, actual %, target %), JSON-ready; null where there is no figure."""
    sectors = frame["sector"].to_list()
    return {
        "title": {"text": title, "left": "center"},
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}, "valueFormatter": "{value}%"},
        "legend": {"data": ["实际增速", "目标增速"], "top": 28},
        "grid": {"left": 48, "right": 24, "bottom": 80, "containLabel": True},
        "xAxis": {"type": "category", "data": sectors, "axisLabel": {"interval": 0, "rotate": 30}},
        "yAxis": {"type": "value", "name": "同比增速（%）", "axisLabel": {"formatter": "{value}%"}},
        "series": [
            {"name": "实际增速", "type": "bar", "data": frame["actual_pct"].to_list(),
             "label": {"show": True, "position": "top", "formatter": "{c}%"}},
            {"name": "目标增速", "type": "bar", "data": frame["target_pct"].to_list(),
             "label": {"show": True, "position": "top", "formatter": "{c}%"}},
        ],
        "huiqi": {"status": frame["status"].to_list(), "target_text": frame["target_text"].to_list()},
    }


# -- 县区 composite ranking (004 一) ------------------------------------------------------------------------
def county_ranking(tables: Mapping[str, pl.DataFrame], period: str | Period, settings: MonitorSettings | None = None,
                   ruleset: RuleSet | None = None) -> tuple[pl.DataFrame, str | None]:
    """Completion ratios, exact weighted score, rank (ties share the better rank) and, in the rule's period,
    the award of rule lz2026q3-1 through the one evaluator. Returns (frame sorted by rank, note)."""
    s = settings or MonitorSettings()
    p = Period.parse(period) if isinstance(period, str) else period
    rs = ruleset or _default_ruleset()
    cf = county_facts(tables, p, s.weight_invest, s.weight_output)
    if cf.height == 0:
        return _empty_ranking(), f"{period_label(p)}没有县区任务目标数据（county_targets），不排名。"
    cities = tables["counties"].select(pl.col("county_code").alias("entity_id"), "city_name")
    cf = cf.join(cities, on="entity_id", how="left", maintain_order="left")
    rows = []
    for r in cf.iter_rows(named=True):
        it, idone, ot, odone = r["invest_target_fen"], r["invest_done_fen"], r["output_target_fen"], r["output_done_fen"]
        score = None
        if None not in (it, idone, ot, odone) and it and ot:
            score = s.weight_invest * Fraction(idone, it) + s.weight_output * Fraction(odone, ot)
        rows.append({"county_code": r["entity_id"], "score": score})
    scores = {x["county_code"]: x["score"] for x in rows}
    counts: dict[Fraction, int] = {}
    for v in scores.values():
        if v is not None:
            counts[v] = counts.get(v, 0) + 1
    out = cf.with_columns(
        (pl.col("county_rank_q") // 100).alias("rank"),
        pl.col("entity_id").replace_strict(
            {k: (None if v is None else round_fraction(v * 100, 4)) for k, v in scores.items()},
            return_dtype=pl.Float64).alias("score_pct"),
        pl.col("entity_id").replace_strict({k: v is not None and counts[v] > 1 for k, v in scores.items()},
                                           return_dtype=pl.Boolean).alias("tied"),
        pl.struct("invest_done_fen", "invest_target_fen").map_elements(
            lambda x: pct2(x["invest_done_fen"], x["invest_target_fen"]), return_dtype=pl.Float64).alias("invest_rate_pct"),
        pl.struct("output_done_fen", "output_target_fen").map_elements(
            lambda x: pct2(x["output_done_fen"], x["output_target_fen"]), return_dtype=pl.Float64).alias("output_rate_pct"),
    )
    note = None
    if str(p) in _rule_periods(rs, COUNTY_AWARD_RULE):
        ev = rs.evaluate(cf, str(p), entity="county", measures=[COUNTY_AWARD_RULE], keep=["entity_id"])
        award = ev.frame.select("entity_id", pl.col(col(COUNTY_AWARD_RULE, "status")).cast(pl.String).alias("award_status"),
                                pl.col(col(COUNTY_AWARD_RULE, "amount")).alias("award_fen"))
        out = out.join(award, on="entity_id", how="left", maintain_order="left")
    else:
        out = out.with_columns(pl.lit(None, dtype=pl.String).alias("award_status"),
                               pl.lit(None, dtype=pl.Int64).alias("award_fen"))
        note = (f"004第一条前五名激励（800/500/350/200/150万元）只适用于"
                f"{'、'.join(period_label(x) for x in _rule_periods(rs, COUNTY_AWARD_RULE))}，本期只排名、不计激励。")
    out = out.select(pl.col("entity_id").alias("county_code"), "city_name", pl.col("name").alias("county_name"),
                     "invest_target_fen", "invest_done_fen", "invest_rate_pct", "output_target_fen", "output_done_fen",
                     "output_rate_pct", "score_pct", "rank", "tied", "award_status", "award_fen")
    return out.sort(["rank", "county_code"], nulls_last=True), note


def _empty_ranking() -> pl.DataFrame:
    return pl.DataFrame(schema={
        "county_code": pl.String, "city_name": pl.String, "county_name": pl.String, "invest_target_fen": pl.Int64,
        "invest_done_fen": pl.Int64, "invest_rate_pct": pl.Float64, "output_target_fen": pl.Int64,
        "output_done_fen": pl.Int64, "output_rate_pct": pl.Float64, "score_pct": pl.Float64, "rank": pl.Int64,
        "tied": pl.Boolean, "award_status": pl.String, "award_fen": pl.Int64})


# -- the whole report ---------------------------------------------------------------------------------------
@dataclass
class MonitoringReport:
    period: str
    settings: MonitorSettings
    lists: dict[str, pl.DataFrame]
    pending: pl.DataFrame
    extra_counts: dict[str, int]
    sectors: pl.DataFrame
    target_document: TargetDocument | None
    ranking: pl.DataFrame
    notes: list[str] = field(default_factory=list)
    rules_version: str = ""

    def counts(self) -> dict[str, int]:
        return {k: v.height for k, v in self.lists.items()}

    @property
    def sector_chart(self) -> dict:
        title = self.target_document.period_label if self.target_document else f"{period_label(self.period)}累计产值增速"
        return sector_chart(self.sectors, title)

    @property
    def period_end(self) -> date:
        return Period.parse(self.period).end

    def to_dict(self, limit: int | None = 50) -> dict:
        """JSON-ready data for the 驾驶舱 page and the API (money in 分 and 万元; lists cut to ``limit`` rows)."""
        def rows(frame: pl.DataFrame) -> list[dict]:
            part = frame if limit is None else frame.head(limit)
            out = []
            for r in part.iter_rows(named=True):
                d = {}
                for k, v in r.items():
                    if isinstance(v, date):
                        v = v.isoformat()
                    d[k] = v
                    if k.endswith("_fen"):
                        d[k[:-4] + "_wan"] = wan2(v)
                out.append(d)
            return out

        settings = self.settings
        rules = list_rules(settings)
        return {
            "period": self.period, "period_label": period_label(self.period), "rules_version": self.rules_version,
            "settings": settings.as_dict(),
            "lists": {k: {"name": LISTS[k], "rule": rules[k], "basis": LIST_BASIS[k], "count": v.height,
                          "rows": rows(v)} for k, v in self.lists.items()},
            "flat_count": self.extra_counts.get("flat", 0),
            "pending_count": self.pending.height,
            "sectors": {"document": asdict(self.target_document) if self.target_document else None,
                        "rows": rows(self.sectors), "chart": self.sector_chart},
            "ranking": {"weights": {"invest": str(settings.weight_invest), "output": str(settings.weight_output)},
                        "rows": rows(self.ranking)},
            "notes": self.notes,
        }


def monitor(tables: Mapping[str, pl.DataFrame], period: str, settings: MonitorSettings | None = None,
            ruleset: RuleSet | None = None) -> MonitoringReport:
    """Every monitoring view of one period from the stored tables."""
    s = settings or MonitorSettings()
    p = Period.parse(period)
    rs = ruleset or _default_ruleset()
    facts = with_places(enterprise_facts(dict(tables), p), tables)
    lists, pending, extra = classify(facts, p, s)
    lt, lt_pending, lt_note = lintuigui(facts, p, rs)
    lists["lintuigui"] = lt
    notes = [lt_note] if lt_note else []
    pending = pl.concat([pending, lt_pending])
    names = facts.select(_ID_COLUMNS)
    pending = pending.join(names, on="credit_code", how="left").sort(["list", "county", "credit_code"], nulls_last=True)
    sectors, doc = sector_growth(tables, p, s, facts=facts)
    if doc is None:
        notes.append(f"{period_label(p)}没有适用的文件行业目标，只列各行业累计产值增速（可用 --targets 指定文件看进度）。")
    elif str(p) != doc.period:
        notes.append(f"行业目标为{doc.period_label}（{doc.title}），本期为累计至{period_label(p)}的进度。")
    ranking, rnote = county_ranking(tables, p, s, rs)
    if rnote:
        notes.append(rnote)
    if extra.get("flat"):
        notes.append(f"有 {extra['flat']} 户规上企业{('本年累计' if s.growth_basis == 'ytd' else '当季')}产值与上年同期持平，"
                     "既不列入正增长也不列入负增长。")
    return MonitoringReport(str(p), s, lists, pending, extra, sectors, doc, ranking, notes, rs.version)


# -- Excel ----------------------------------------------------------------------------------------------------
def write_excel(report: MonitoringReport, path: str | Path) -> Path:
    """One workbook: 汇总, one sheet per list, 行业增长 (with a chart), 县区综合排名, 待补充信息."""
    import xlsxwriter

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    label = period_label(report.period)
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                                         "strings_to_urls": False})
    wb.set_properties({"title": f"{label}工业运行监测清单", "author": "huiqi",
                       "created": datetime.combine(report.period_end, datetime.min.time()),
                       "comments": f"规则版本 {report.rules_version}"})
    fmt = SheetFormats(wb, title_size=14, title_wrap=True, pct_format="0.00")  # growth in 百分数, not fractions
    rules = list_rules(report.settings)

    ws = wb.add_worksheet("汇总")
    rows = [[i, LISTS[k], report.lists[k].height, rules[k], LIST_BASIS[k]] for i, k in enumerate(LISTS, start=1)]
    _table(ws, fmt, f"{label}重点企业监测清单汇总",
           [("序号", 6), ("清单", 18), ("户数", 8), ("判定规则", 70), ("依据", 60)], rows,
           ["int", "text", "int", "wrap", "wrap"], unit="单位：户")
    r0 = len(rows) + 5
    for i, note in enumerate(report.notes + [f"待补充信息 {report.pending.height} 条，见“待补充信息”工作表。"]):
        ws.write_string(r0 + i, 0, f"注{i + 1}", fmt.text)
        ws.merge_range(r0 + i, 1, r0 + i, 4, note, fmt.wrap)

    money = lambda c: ("wan", lambda r: wan2(r[c]))  # noqa: E731
    sheets = {
        "positive": [("本年累计产值" if report.settings.growth_basis == "ytd" else "当季产值", *money("output_this_fen")),
                     ("上年同期", *money("output_last_fen")), ("增量", *money("output_change_fen")),
                     ("同比增速（%）", "pct", lambda r: pct2(r["output_this_fen"], r["output_last_fen"], True))],
        "new": [("入库日期", "text", lambda r: r["entered_scale_on"].isoformat() if r["entered_scale_on"] else None),
                ("当季产值", *money("output_q_fen")), ("本年累计产值", *money("output_ytd_fen"))],
        "to_scale": [("本年累计主营业务收入", *money("revenue_ytd_fen")),
                     ("折算全年主营业务收入" if report.settings.annualise else "比较用主营业务收入", *money("annualised_revenue_fen")),
                     (f"距规上标准{_wan_text(report.settings.scale_line_fen)}",
                      "wan", lambda r: wan2(None if r["annualised_revenue_fen"] is None
                                            else r["annualised_revenue_fen"] - report.settings.scale_line_fen))],
        "lintuigui": [("前三季度工业总产值", *money("output_jan_sep_fen")),
                      ("前三季度主营业务收入", *money("revenue_jan_sep_fen")), ("触发条件", "wrap", lambda r: r["trigger"])],
    }
    sheets["negative"], sheets["linggui"] = sheets["positive"], sheets["to_scale"]
    for key, name in LISTS.items():
        frame = report.lists[key]
        extra = sheets[key]
        headers = [("序号", 6), ("企业名称", 34), ("统一社会信用代码", 22), ("设区市", 10), ("县区", 12), ("行业", 10)]
        headers += [(h, 18) for h, _, _ in extra]
        kinds = ["int", "text", "text", "text", "text", "text"] + [k for _, k, _ in extra]
        out = []
        for i, r in enumerate(frame.iter_rows(named=True), start=1):
            out.append([i, r.get("enterprise_name"), r["credit_code"], r.get("city_name"), r.get("county_name"),
                        r.get("sector")] + [fn(r) for _, _, fn in extra])
        _table(wb.add_worksheet(name), fmt, f"{label}{name}（{rules[key]}）", headers, out, kinds)

    # sectors, with a bar chart
    ws = wb.add_worksheet("行业增长")
    doc = report.target_document
    srows = [[i, r["sector"], r["data_sectors"], r["target_text"], r["target_pct"], r["actual_pct"],
              r["prev_actual_pct"], r["status"], r["gap_pp"], r["used"], r["members"], wan2(r["output_ytd_fen"]),
              wan2(r["output_ytd_ly_fen"]), r["clause"], r["note"]]
             for i, r in enumerate(report.sectors.iter_rows(named=True), start=1)]
    title = f"{label}行业累计产值增速" + (f"与目标对照（{doc.title}，{doc.period_label}，范围：{doc.region}）" if doc else "")
    _table(ws, fmt, title,
           [("序号", 6), ("行业（原文）", 16), ("对应数据行业", 16), ("目标（原文）", 40), ("目标增速（%）", 10),
            ("实际增速（%）", 10), ("上年同期增速（%）", 10), ("完成情况", 12), ("差距（百分点）", 10), ("计入户数", 8),
            ("规上户数", 8), ("本年累计产值", 16), ("上年同期产值", 16), ("依据条款", 14), ("说明", 40)],
           srows, ["int", "text", "text", "wrap", "pct", "pct", "pct", "text", "pct", "int", "int", "wan", "wan",
                   "text", "wrap"])
    if srows:
        chart = wb.add_chart({"type": "column"})
        n = len(srows)
        for colx, name in ((5, "实际增速（%）"), (4, "目标增速（%）")):
            chart.add_series({"name": name, "categories": ["行业增长", 3, 1, 2 + n, 1],
                              "values": ["行业增长", 3, colx, 2 + n, colx], "data_labels": {"value": True}})
        chart.set_title({"name": "行业累计产值增速与目标（%）"})
        chart.set_size({"width": 900, "height": 420})
        ws.insert_chart(n + 6, 1, chart)

    ws = wb.add_worksheet("县区综合排名")
    s = report.settings
    rrows = [[r["rank"], r["city_name"], r["county_name"], r["county_code"], wan2(r["invest_target_fen"]),
              wan2(r["invest_done_fen"]), r["invest_rate_pct"], wan2(r["output_target_fen"]), wan2(r["output_done_fen"]),
              r["output_rate_pct"], r["score_pct"], "并列" if r["tied"] else "", wan2(r["award_fen"]) if r["award_fen"] is not None else None]
             for r in report.ranking.iter_rows(named=True)]
    _table(ws, fmt, f"{label}县区（新区）工业投资、产值任务目标完成情况综合评分排名（权重：投资{s.weight_invest}，产值{s.weight_output}）",
           [("名次", 6), ("设区市", 10), ("县区", 12), ("区划代码", 10), ("投资目标", 14), ("投资完成", 14),
            ("投资完成率（%）", 10), ("产值目标", 14), ("产值完成", 14), ("产值完成率（%）", 10), ("综合评分", 10),
            ("并列", 6), ("激励金额", 12)],
           rrows, ["int", "text", "text", "text", "wan", "wan", "pct", "wan", "wan", "pct", "pct", "text", "wan"])

    ws = wb.add_worksheet("待补充信息")
    prow = [[i, r.get("enterprise_name"), r["credit_code"], r.get("city_name"), r.get("county_name"), r["list"],
             r["reason"]] for i, r in enumerate(report.pending.iter_rows(named=True), start=1)]
    _table(ws, fmt, f"{label}待补充信息（补齐后方可判断是否列入清单）",
           [("序号", 6), ("企业名称", 34), ("统一社会信用代码", 22), ("设区市", 10), ("县区", 12), ("涉及清单", 14),
            ("缺少的数据及来源", 60)], prow, ["int", "text", "text", "text", "text", "text", "wrap"])
    wb.close()
    return path


def _table(ws, fmt: SheetFormats, title: str, headers: list[tuple[str, int]], rows: list[list], kinds: list[str],
           unit: str = "单位：万元") -> None:
    last = len(headers) - 1
    ws.merge_range(0, 0, 0, last, title, fmt.title)
    ws.set_row(0, 36)
    ws.merge_range(1, 0, 1, last, unit, fmt.unit)
    for c, (h, width) in enumerate(headers):
        ws.write_string(2, c, h, fmt.head)
        ws.set_column(c, c, width)
    styles = {"text": fmt.text, "wrap": fmt.wrap, "wan": fmt.wan, "pct": fmt.pct, "int": fmt.int}
    for r, row in enumerate(rows, start=3):
        for c, (value, kind) in enumerate(zip(row, kinds)):
            if value is None or value == "":
                ws.write_blank(r, c, None, styles[kind])
            elif kind in ("text", "wrap"):
                ws.write_string(r, c, str(value), styles[kind])  # 统一社会信用代码 stays text
            else:
                ws.write_number(r, c, value, styles[kind])
    ws.freeze_panes(3, 0)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(2)
