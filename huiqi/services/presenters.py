"""What people read (issue 11, "Chinese for people, codes for machines"): measure names instead of IDs, Excel
sheet names, the audit log as Chinese key: value in 北京时间, monitoring rules kept apart from awards.

The web and CLI layers call these; codes stay in URLs, the API and hovers (title attributes)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

import polars as pl

BEIJING = timezone(timedelta(hours=8), "北京时间")

# Rules evaluated by the one evaluator but used for monitoring lists (驾驶舱), not awards an enterprise can
# miss: gx2024q4 第33条 "对前三季度产值或主营业务收入不到1500万元的企业加强动态跟踪" (临退规). They are
# `kind: eligibility` like 资格 measures, so the kind alone does not mark them; services.monitoring names them.
MONITORING_MEASURES = frozenset({"gx2024q4-33"})


def is_monitoring(measure_id: str) -> bool:
    return measure_id in MONITORING_MEASURES


# ---------------------------------------------------------------------------------------------- Excel sheets
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def sheet_names(titles: Iterable[str], limit: int = 31) -> list[str]:
    """Excel-safe, unique sheet names from Chinese titles, deterministic: forbidden []:*?/\\ become （）：×？／＼
    look-alikes, then the title is cut to 31 characters; a clash gets "…2", "…3" within the limit."""
    table = str.maketrans({"[": "（", "]": "）", ":": "：", "*": "×", "?": "？", "/": "／", "\\": "＼"})
    out: list[str] = []
    seen: set[str] = set()
    for title in titles:
        base = _SHEET_FORBIDDEN.sub("", (title or "").translate(table)).strip().strip("'") or "工作表"
        name, n = base[:limit], 1
        while name.lower() in seen:
            n += 1
            suffix = f"～{n}"
            name = base[: limit - len(suffix)] + suffix
        seen.add(name.lower())
        out.append(name)
    return out


# ---------------------------------------------------------------------------------------------- audit log
AUDIT_KEYS = {
    "accounts": "账号", "role": "角色", "county_code": "县区", "credit_code": "统一社会信用代码",
    "changes": "变更", "comment": "说明", "activate": "设为现行", "period": "期间", "parameter_set": "参数方案",
    "parameter_set_version": "方案版本", "budget_policy": "超预算处理", "measures": "措施", "run_id": "运行编号",
    "paid_total_fen": "拟兑现金额", "error": "错误", "trace": "技术细节", "scope": "范围", "note": "审核意见",
    "ok": "结果", "problems": "问题数", "outside_county": "超出本县区的行数", "rows": "行数", "written": "已写入",
    "id": "编号", "base_params": "基线参数", "params": "调整参数", "versions": "版本对比", "assume": "假设",
    "solve": "反算", "answer": "反算结果", "seconds": "用时（秒）", "old": "原值", "new": "新值",
}
ROLE_NAMES = {"admin": "系统管理员", "officer": "县区工信部门", "enterprise": "企业"}
POLICY_NAMES = {"pro_rata": "按比例核减", "ranked": "按金额从高到低兑现"}


def beijing_time(iso: str | datetime | None) -> str:
    """'2026-12-01T04:00:00+00:00' → '2026-12-01 12:00:00'（北京时间, UTC+8)."""
    if not iso:
        return ""
    t = iso if isinstance(iso, datetime) else datetime.fromisoformat(str(iso))
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return t.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def _plain(value: Any, key: str, names: dict[str, str], counties: dict[str, str]) -> str:
    """A detail value as people read it: lists joined with 、, nested dicts as 键：值, measure IDs as names."""
    if value is None:
        return "全部" if key == "measures" else "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if key == "paid_total_fen" and isinstance(value, int):
        from huiqi.core import money
        return f"{money.wan_text(value, grouping=True)}万元"
    if key == "role":
        return ROLE_NAMES.get(str(value), str(value))
    if key == "county_code":
        return counties.get(str(value), str(value))
    if key == "budget_policy":
        return POLICY_NAMES.get(str(value), str(value))
    if isinstance(value, dict):
        return "；".join(f"{names.get(k, AUDIT_KEYS.get(k, k))}：{_plain(v, k, names, counties)}"
                        for k, v in value.items()) or "—"
    if isinstance(value, (list, tuple)):
        return "、".join(_plain(v, key, names, counties) for v in value) or "—"
    text = str(value)
    return names.get(text, text)


def audit_view(entry: dict, names: dict[str, str] | None = None, counties: dict[str, str] | None = None) -> dict:
    """One audit entry for the page: 北京时间, 角色 in Chinese, target and details as Chinese key: value.

    `names` maps measure IDs and parameter codes to their Chinese names (codes are kept in `raw` for a hover)."""
    names, counties = names or {}, counties or {}
    detail = entry.get("detail")
    if isinstance(detail, str):
        try:
            detail = json.loads(detail)
        except ValueError:
            pass
    items: list[tuple[str, str]] = []
    if isinstance(detail, dict):
        for k, v in detail.items():
            if k == "trace":  # a Python traceback is for developers: kept in the API, not on the page
                continue
            items.append((AUDIT_KEYS.get(k, names.get(k, k)), _plain(v, k, names, counties)))
    elif detail is not None:
        items.append(("详情", _plain(detail, "", names, counties)))
    return {
        "time": beijing_time(entry.get("at")), "user": entry.get("username") or "系统",
        "role": ROLE_NAMES.get(entry.get("role") or "", ""), "action": entry.get("action") or "",
        "target": _plain(entry.get("target"), "", names, counties) if entry.get("target") else "",
        "details": items, "ip": entry.get("ip") or "",
        "raw": json.dumps(detail, ensure_ascii=False) if detail is not None else "",
    }


_DOC_REF = re.compile(r"[（(]?(?:见|参见|详见)?\s*(?:docs|huiqi|tests)/[\w./-]*[）)]?")


def for_people(text: str | None) -> str:
    """Drop repository paths ("（见docs/decisions.md）") from texts written for rule authors before people read them."""
    return _DOC_REF.sub("", text or "").strip()


def measure_formulas(ruleset, library, measure: dict, params: dict) -> dict:
    """The measure page's conditions and amount in plain Chinese (engine.explain.Explainer with no facts): the
    SQL stays in the API and in a hover."""
    from huiqi.engine.explain import Explainer
    from huiqi.engine.expressions import parse

    labels = {n: p.label for n, p in ruleset.parameters.items()}
    ex = Explainer(ruleset.dictionary, library, {}, params, labels)

    def words(source: str | None) -> str | None:
        if not source:
            return None
        text = ex.describe(parse(source))
        return text.replace("（未提供）", "")  # no entity here: "未提供" would read as a data problem

    return {
        "conditions": [words(c["when"]) for c in measure.get("conditions") or []],
        **{k: words(measure.get(k)) for k in ("amount", "cap", "cap_year", "minimum")},
    }


def missing_grid(rows: pl.DataFrame, measure_names: dict[str, str]) -> tuple[list[str], pl.DataFrame]:
    """待补充信息 grouped per enterprise, vectorised: (the missing facts' Chinese labels in first-seen order, one row
    per enterprise in first-seen order — entity_id, name, credit_code, county_name, measures (names joined with
    、), facts (the labels it lacks)). `rows` are result rows with status 待补充信息 whose `missing` reads
    "标签（来源：…）；标签（来源：…）" (services.screening); monitoring rules are left out."""
    for c in ("name", "credit_code", "county_name", "missing"):
        if c not in rows.columns:
            rows = rows.with_columns(pl.lit(None, dtype=pl.String).alias(c))
    rows = rows.filter(~pl.col("measure_id").is_in(list(MONITORING_MEASURES)))
    pieces = rows.select("entity_id", pl.col("missing").fill_null("").str.split("；").alias("label")) \
        .explode("label") \
        .with_columns(pl.col("label").str.split("（来源：").list.first().str.strip_chars()) \
        .filter(pl.col("label") != "")
    labels = pieces["label"].unique(maintain_order=True).to_list()
    facts = pieces.group_by("entity_id", maintain_order=True).agg(pl.col("label").unique(maintain_order=True)
                                                                 .alias("facts"))
    named = pl.col("measure_id").replace_strict(measure_names, default=pl.col("measure_id"), return_dtype=pl.String)
    grouped = rows.group_by("entity_id", maintain_order=True).agg(
        pl.coalesce("name", "entity_id").first().alias("name"),
        pl.coalesce("credit_code", "entity_id").first().alias("credit_code"),
        pl.col("county_name").first(), named.unique(maintain_order=True).alias("measures"))
    grouped = grouped.join(facts, on="entity_id", how="left", maintain_order="left") \
        .with_columns(pl.col("facts").fill_null(pl.lit([], dtype=pl.List(pl.String))))
    return labels, grouped


def missing_by_enterprise(rows: Iterable[dict], measure_names: dict[str, str]) -> tuple[list[str], list[dict]]:
    """:func:`missing_grid` over result rows given as dicts (labels, one dict per enterprise with its measures and
    the facts to fill)."""
    frame = pl.DataFrame(list(rows), schema_overrides={c: pl.String for c in (
        "entity_id", "name", "credit_code", "county_name", "measure_id", "missing")})
    if frame.height == 0:
        return [], []
    labels, grouped = missing_grid(frame, measure_names)
    return labels, grouped.drop("entity_id").to_dicts()
