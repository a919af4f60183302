"""运行监测: the lists from the texts' definitions (boundaries included), sector targets quoted verbatim and
compared exactly, the 县区 ranking (ties, weights, 004 一 awards through the evaluator), Excel and CLI."""

from __future__ import annotations

import json
import re
from datetime import date
from fractions import Fraction

import openpyxl
import polars as pl
import pytest
import typer
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from typer.testing import CliRunner

from huiqi.data.synthetic import generate, write_parquet
from huiqi.engine.evaluate import col
from huiqi.policies.library import default_library, normalize
from huiqi.services.facts import enterprise_facts
from huiqi.services.monitoring import (
    LISTS, MonitorSettings, _FACT_TYPES, classify, county_ranking, lintuigui, load_targets, monitor,
    parse_money_fen, sector_growth, targets_for, write_excel)

WAN = 1_000_000  # 分 per 万元


def wan(x: str | int) -> int:
    return parse_money_fen(f"{x}万元")


def facts(rows: list[dict]) -> pl.DataFrame:
    base = {"county": "450202", "city_name": "柳州市", "county_name": "城中区", "sector": "机械",
            "enterprise_name": "测试企业"}
    rows = [{**base, "credit_code": f"E{i:04d}", **r} for i, r in enumerate(rows)]
    return pl.DataFrame(rows, schema={k: v for k, v in _FACT_TYPES.items()}, strict=False)


def members(frame: pl.DataFrame) -> set[str]:
    return set(frame["credit_code"].to_list())


@pytest.fixture(scope="module")
def tables():
    return generate(2_000, seed=7)


@pytest.fixture(scope="module")
def report_q4(tables):
    return monitor(tables, "2024Q4")


@pytest.fixture(scope="module")
def report_2026q3(tables):
    return monitor(tables, "2026Q3")


# -- sector targets: transcribed verbatim ----------------------------------------------------------------
def test_every_target_quote_is_verbatim_in_its_clause():
    lib = default_library()
    docs, targets = load_targets()
    assert {d: sum(t.document == d for t in targets) for d in docs} == {"gx2024q4": 13, "gx2024q2": 11, "lz2026q3": 9}
    for t in targets:
        clause = lib.clause(t.clause)
        assert clause.document_id == t.document
        text = normalize(clause.text)
        assert normalize(t.quote) in text, t.id
        assert normalize(t.quote).endswith(normalize(t.target_text)), t.id
        assert t.sector in t.quote, t.id
        if t.kind == "min_growth":
            assert f"增长{t.target_pct_text}%以上" in normalize(t.target_text), t.id
        elif t.kind == "turn_positive":
            assert "扭负为正" in t.target_text
        else:
            assert "收窄" in t.target_text


def test_targets_chosen_by_period():
    assert targets_for("2024Q4")[0].id == "gx2024q4"
    assert targets_for("2024Q2")[0].id == "gx2024q2"
    assert targets_for("2026Q3")[0].id == "lz2026q3"
    assert targets_for("2024Q3") == (None, [])
    doc, ts = targets_for("2024Q3", "gx2024q4")  # progress against the full-year targets
    assert doc.id == "gx2024q4" and len(ts) == 13
    with pytest.raises(ValueError):
        targets_for("2024Q4", "nope")


# -- 临退规 (002 第33条) through rule gx2024q4-33 -------------------------------------------------------------
def test_lintuigui_boundaries_from_the_text():
    f = facts([
        {"is_above_scale": True, "output_jan_sep": wan(1500), "revenue_jan_sep": wan(1500)},        # 0 exactly: no
        {"is_above_scale": True, "output_jan_sep": wan("1499.99"), "revenue_jan_sep": wan(3000)},   # 1 产值不到: yes
        {"is_above_scale": True, "output_jan_sep": wan(3000), "revenue_jan_sep": wan("1499.99")},   # 2 收入不到: yes
        {"is_above_scale": True, "output_jan_sep": None, "revenue_jan_sep": wan(1600)},             # 3 待补充
        {"is_above_scale": True, "output_jan_sep": None, "revenue_jan_sep": wan(1000)},             # 4 yes (或)
        {"is_above_scale": False, "output_jan_sep": wan(1000), "revenue_jan_sep": wan(1000)},       # 5 规下: not 在库
        {"is_above_scale": True, "output_jan_sep": wan(1500) - 1, "revenue_jan_sep": wan(1500)},    # 6 差1分: yes
    ])
    listed, pending, note = lintuigui(f, "2024Q4")
    assert note is None
    assert members(listed) == {"E0001", "E0002", "E0004", "E0006"}
    assert members(pending) == {"E0003"}
    trig = dict(zip(listed["credit_code"], listed["trigger"]))
    assert trig["E0001"] == "产值不到1500万元" and trig["E0002"] == "主营业务收入不到1500万元"
    # the same rule on another period's facts
    assert members(lintuigui(f, "2025Q3")[0]) == members(listed)
    # no 1—9月 figures before the third quarter: no list, a note
    empty, _, note = lintuigui(f, "2024Q2")
    assert empty.height == 0 and "前三季度" in note


def test_lintuigui_is_the_encoded_rule(tables, report_q4):
    from huiqi.services.calculator import default_ruleset

    f = enterprise_facts(tables, "2024Q4").filter(pl.col("is_above_scale") == True)  # noqa: E712
    ev = default_ruleset().evaluate(f.with_columns(pl.col("credit_code").alias("entity_id")), "2024Q4",
                                    measures=["gx2024q4-33"], keep=["entity_id"])
    met = ev.frame.filter(pl.col(col("gx2024q4-33", "status")) == "符合")["entity_id"].to_list()
    assert members(report_q4.lists["lintuigui"]) == set(met)


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.one_of(st.none(), st.integers(wan(1400), wan(1600))),
                          st.one_of(st.none(), st.integers(wan(1400), wan(1600)))), min_size=1, max_size=30))
def test_lintuigui_property(values):
    f = facts([{"is_above_scale": True, "output_jan_sep": o, "revenue_jan_sep": r} for o, r in values])
    listed, pending, _ = lintuigui(f, "2024Q4")
    line = wan(1500)
    for i, (o, r) in enumerate(values):
        code = f"E{i:04d}"
        expect = (o is not None and o < line) or (r is not None and r < line)
        assert (code in members(listed)) == expect
        assert (code in members(pending)) == (not expect and (o is None or r is None))


# -- 临规 / 拟上规: 规上 line 年主营业务收入2000万元及以上 ---------------------------------------------------------
def test_linggui_and_to_scale_boundaries_q4():
    f = facts([
        {"is_above_scale": False, "revenue_ytd": wan(2000)},       # 0 exactly 2000万 is 规上 level → 拟上规, not 临规
        {"is_above_scale": False, "revenue_ytd": wan("1999.99")},  # 1 临规
        {"is_above_scale": False, "revenue_ytd": wan(1500)},       # 2 临规 (lower bound included)
        {"is_above_scale": False, "revenue_ytd": wan("1499.99")},  # 3 neither
        {"is_above_scale": True, "revenue_ytd": wan(1800)},        # 4 already 规上: neither
        {"is_above_scale": False, "revenue_ytd": None},            # 5 待补充
        {"is_above_scale": None, "revenue_ytd": wan(1800)},        # 6 no scale status: neither
    ])
    lists, pending, _ = classify(f, "2024Q4")
    assert members(lists["to_scale"]) == {"E0000"}
    assert members(lists["linggui"]) == {"E0001", "E0002"}
    assert "E0005" in members(pending.filter(pl.col("list") == "拟上规/临规"))
    # a configurable distance: 临规 from 1800万
    lists2, _, _ = classify(f, "2024Q4", MonitorSettings().with_overrides({"linggui_lower_fen": "1800万元"}))
    assert members(lists2["linggui"]) == {"E0001"}


def test_annualised_revenue_exact_in_q2():
    f = facts([{"is_above_scale": False, "revenue_ytd": wan(1000)},          # ×4÷2 = 2000万 → 拟上规
               {"is_above_scale": False, "revenue_ytd": wan(1000) - 1},      # 1999.99999…万 → 临规
               {"is_above_scale": False, "revenue_ytd": wan(750)}])          # 1500万 → 临规
    lists, _, _ = classify(f, "2024Q2")
    assert members(lists["to_scale"]) == {"E0000"} and members(lists["linggui"]) == {"E0001", "E0002"}
    lists, _, _ = classify(f, "2024Q2", MonitorSettings(annualise=False))  # cumulative, not annualised
    assert lists["to_scale"].height == 0 and lists["linggui"].height == 0


@hsettings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([1, 2, 3, 4]), st.one_of(st.none(), st.integers(0, wan(4000)))),
                min_size=1, max_size=20), st.integers(wan(100), wan(1999)))
def test_scale_lists_property(rows, lower):
    for q in (1, 2, 3, 4):
        f = facts([{"is_above_scale": False, "revenue_ytd": r} for _, r in rows])
        s = MonitorSettings(linggui_lower_fen=lower)
        lists, pending, _ = classify(f, f"2024Q{q}", s)
        for i, (_, r) in enumerate(rows):
            code = f"E{i:04d}"
            annual = None if r is None else Fraction(r * 4, q)
            assert (code in members(lists["to_scale"])) == (annual is not None and annual >= wan(2000))
            assert (code in members(lists["linggui"])) == (annual is not None and lower <= annual < wan(2000))
        assert not members(lists["to_scale"]) & members(lists["linggui"])


# -- 正增长 / 负增长 / 新建投产 --------------------------------------------------------------------------------------
def test_growth_lists_boundaries():
    old = date(2020, 1, 1)
    f = facts([
        {"is_above_scale": True, "gx2024q2_library_entry_date": old, "output_ytd": wan(1000), "output_ytd_ly": wan(1000)},  # 0 持平
        {"is_above_scale": True, "gx2024q2_library_entry_date": old, "output_ytd": wan(1000) + 1, "output_ytd_ly": wan(1000)},  # 1 正
        {"is_above_scale": True, "gx2024q2_library_entry_date": old, "output_ytd": wan(1000) - 1, "output_ytd_ly": wan(1000)},  # 2 负
        {"is_above_scale": True, "gx2024q2_library_entry_date": date(2024, 1, 1), "output_ytd": wan(900), "output_ytd_ly": None},  # 3 新建投产
        {"is_above_scale": True, "gx2024q2_library_entry_date": date(2023, 12, 31), "output_ytd": wan(900), "output_ytd_ly": wan(100)},  # 4 12个月整：有基数，正
        {"is_above_scale": True, "gx2024q2_library_entry_date": old, "output_ytd": wan(900), "output_ytd_ly": 0},  # 5 基数0：待补充
        {"is_above_scale": True, "gx2024q2_library_entry_date": old, "output_ytd": None, "output_ytd_ly": wan(9)},  # 6 待补充
        {"is_above_scale": False, "gx2024q2_library_entry_date": None, "output_ytd": wan(9), "output_ytd_ly": wan(1)},  # 7 规下
    ])
    lists, pending, extra = classify(f, "2024Q4")
    assert members(lists["positive"]) == {"E0001", "E0004"}
    assert members(lists["negative"]) == {"E0002"}
    assert members(lists["new"]) == {"E0003"}
    assert extra["flat"] == 1
    assert members(pending.filter(pl.col("list") == "正增长/负增长")) == {"E0005", "E0006"}
    # 当季 basis
    q = facts([{"is_above_scale": True, "gx2024q2_library_entry_date": old, "output_q": 5, "output_q_ly": 4,
                "output_ytd": 1, "output_ytd_ly": 4}])
    assert classify(q, "2024Q4", MonitorSettings(growth_basis="q"))[0]["positive"].height == 1
    assert classify(q, "2024Q4")[0]["negative"].height == 1


@hsettings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.none(), st.booleans()), st.booleans(),
                          st.one_of(st.none(), st.integers(0, 10**9)), st.one_of(st.none(), st.integers(0, 10**9))),
                min_size=1, max_size=25))
def test_growth_lists_partition(rows):
    f = facts([{"is_above_scale": a, "gx2024q2_library_entry_date": date(2024, 6, 1) if new else date(2019, 1, 1),
                "output_ytd": t, "output_ytd_ly": l} for a, new, t, l in rows])
    lists, pending, extra = classify(f, "2024Q4")
    pos, neg, new = members(lists["positive"]), members(lists["negative"]), members(lists["new"])
    growth_pending = members(pending.filter(pl.col("list") == "正增长/负增长"))
    assert not (pos & neg) and not (pos & new) and not (neg & new)
    based = {f"E{i:04d}" for i, (a, n, _, _) in enumerate(rows) if a is True and not n}
    assert pos | neg | growth_pending <= based
    assert len(pos) + len(neg) + len(growth_pending) + extra["flat"] == len(based)
    for i, (a, n, t, l) in enumerate(rows):
        code = f"E{i:04d}"
        if code in pos:
            assert t * 100 > l * 100 and l > 0
        if code in neg:
            assert t < l


def test_new_within_12_months_matches_facts(tables):
    f = enterprise_facts(tables, "2024Q4")
    lists, _, _ = classify(f, "2024Q4")
    expected = f.filter((pl.col("is_above_scale") == True) & pl.col("is_new_in_statistics"))  # noqa: E712
    assert members(lists["new"]) == members(expected)
    assert lists["new"].height > 0


# -- sector growth against targets ----------------------------------------------------------------------------
def _sector_rows(sector: str, this: int, last: int, city: str = "柳州市", n: int = 1) -> list[dict]:
    return [{"is_above_scale": True, "sector": sector, "city_name": city, "output_ytd": this, "output_ytd_ly": last}
            for _ in range(n)]


def test_sector_targets_exact_boundaries():
    # 002: 钢铁 8.5%以上 (inclusive), 医药 扭负为正 (0 is not positive), 建材 降幅收窄 (vs last year's growth)
    f = facts(_sector_rows("钢铁", 1_085_000, 1_000_000) + _sector_rows("有色金属", 1_179_999, 1_000_000)
              + _sector_rows("医药", 1_000_000, 1_000_000) + _sector_rows("建材", 970_000, 1_000_000)
              + _sector_rows("电子信息", 940_000, 1_000_000) + _sector_rows("木材加工", 1_000_000, 1_000_000)
              + [{"is_above_scale": True, "sector": "钢铁", "output_ytd": wan(5), "output_ytd_ly": None}]
              + [{"is_above_scale": False, "sector": "钢铁", "output_ytd": 1, "output_ytd_ly": 10**9}])
    prev = facts(_sector_rows("建材", 950_000, 1_000_000) + _sector_rows("电子信息", 950_000, 1_000_000))
    frame, doc = sector_growth(None, "2024Q4", facts=f, facts_prev=prev)
    by = {r["sector"]: r for r in frame.iter_rows(named=True)}
    assert doc.id == "gx2024q4"
    assert by["钢铁"]["status"] == "达到" and by["钢铁"]["actual_pct"] == 8.5
    assert by["钢铁"]["members"] == 2 and by["钢铁"]["used"] == 1 and by["钢铁"]["coverage_pct"] == 50.0  # 规下 not counted
    assert by["有色金属"]["status"] == "未达到" and by["有色金属"]["gap_pp"] == 0.0  # 17.9999% < 18%: short by 0.0001
    assert by["医药"]["status"] == "未达到"
    assert by["建材"]["status"] == "达到"          # −3% after −5%: 降幅收窄
    assert by["电子信息"]["status"] == "未达到"    # −6% after −5%
    assert by["木材加工"]["status"] == "达到"      # no decline at all
    assert by["日用消费品"]["status"] == "无对应行业数据"
    assert by["汽车"]["status"] == "无数据"


def test_liuzhou_targets_count_only_liuzhou():
    f = facts(_sector_rows("机械", 1_100_000, 1_000_000, "柳州市") + _sector_rows("机械", 1_000_000, 1_000_000, "南宁市"))
    frame, doc = sector_growth(None, "2026Q3", facts=f, facts_prev=facts([]))
    row = frame.filter(pl.col("sector") == "高端装备制造").row(0, named=True)
    assert doc.region == "柳州市" and row["used"] == 1 and row["status"] == "达到" and row["actual_pct"] == 10.0


def test_sector_chart_is_echarts_json(report_q4):
    chart = report_q4.sector_chart
    json.dumps(chart, ensure_ascii=False)
    n = len(chart["xAxis"]["data"])
    assert n == report_q4.sectors.height == 13
    assert [s["name"] for s in chart["series"]] == ["实际增速", "目标增速"]
    assert all(len(s["data"]) == n for s in chart["series"])
    i = chart["xAxis"]["data"].index("钢铁")
    assert chart["series"][1]["data"][i] == 8.5


def test_sector_coverage_on_synthetic(report_q4):
    s = report_q4.sectors.filter(pl.col("data_sectors").is_not_null())
    assert (s["used"] <= s["members"]).all() and (s["used"] > 0).all()


# -- 县区 ranking (004 一) -------------------------------------------------------------------------------------------
def _county_tables(rows: list[tuple[str, int, int, int, int]], period: str = "2026Q3") -> dict:
    counties = pl.DataFrame({"county_code": [r[0] for r in rows], "county_name": [f"县{r[0]}" for r in rows],
                             "city_name": ["柳州市"] * len(rows)})
    targets = pl.DataFrame({"county_code": [r[0] for r in rows], "period": [period] * len(rows),
                            "invest_target_fen": [r[1] for r in rows], "invest_done_fen": [r[2] for r in rows],
                            "output_target_fen": [r[3] for r in rows], "output_done_fen": [r[4] for r in rows]},
                           schema_overrides={c: pl.Int64 for c in ("invest_target_fen", "invest_done_fen",
                                                                    "output_target_fen", "output_done_fen")})
    return {"counties": counties, "county_targets": targets}


def test_ranking_ties_share_the_better_rank_and_awards():
    t = _county_tables([
        ("450201", 300, 100, 300, 200),   # 1/3, 2/3 → 1/2 … tied with 450202
        ("450202", 300, 200, 300, 100),   # 2/3, 1/3 → 1/2
        ("450203", 100, 60, 100, 30),     # 0.45
        ("450204", 100, 40, 100, 40),     # 0.40
        ("450205", 100, 30, 100, 40),     # 0.35
        ("450206", 100, 30, 100, 30),     # 0.30
        ("450207", 100, 10, 100, 10),     # 0.10
        ("450208", 0, 10, 100, 10),       # no target: no score
    ])
    ranking, note = county_ranking(t, "2026Q3")
    assert note is None
    by = {r["county_code"]: r for r in ranking.iter_rows(named=True)}
    assert by["450201"]["rank"] == by["450202"]["rank"] == 1 and by["450201"]["tied"]
    assert [by[c]["rank"] for c in ("450203", "450204", "450205", "450206", "450207")] == [3, 4, 5, 6, 7]
    amounts = {c: by[c]["award_fen"] for c in by}
    assert amounts["450201"] == amounts["450202"] == wan(800)  # tied at 1: each the first-place amount
    assert amounts["450203"] == wan(350) and amounts["450204"] == wan(200) and amounts["450205"] == wan(150)
    assert amounts["450206"] is None and by["450206"]["award_status"] == "不符合"
    assert by["450208"]["rank"] is None and by["450208"]["award_status"] == "待补充信息"
    # weights: investment only → 450202 (2/3) first alone
    only_invest = county_ranking(t, "2026Q3", MonitorSettings(weight_invest=Fraction(1), weight_output=Fraction(0)))[0]
    assert only_invest.row(0, named=True)["county_code"] == "450202"
    assert only_invest.row(0, named=True)["award_fen"] == wan(800)
    w = county_ranking(t, "2026Q3", MonitorSettings().with_overrides({"weight_invest": "0.4", "weight_output": "0.6"}))[0]
    assert w.row(0, named=True)["county_code"] == "450201"


def test_ranking_outside_the_award_period_has_no_award():
    t = _county_tables([("450201", 100, 50, 100, 50), ("450202", 100, 60, 100, 60)], period="2026Q2")
    ranking, note = county_ranking(t, "2026Q2")
    assert ranking["award_fen"].null_count() == 2 and "2026年三季度" in note
    assert ranking["rank"].to_list() == [1, 2]


@hsettings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 50), st.integers(0, 80), st.integers(1, 50), st.integers(0, 80)),
                min_size=1, max_size=12), st.fractions(0, 1))
def test_ranking_property(values, wi):
    rows = [(f"4502{i:02d}", *v) for i, v in enumerate(values)]
    s = MonitorSettings(weight_invest=wi, weight_output=1 - wi)
    ranking, _ = county_ranking(_county_tables(rows), "2026Q3", s)
    score = {c: wi * Fraction(idone, it) + (1 - wi) * Fraction(od, ot) for c, it, idone, ot, od in rows}
    for r in ranking.iter_rows(named=True):
        better = sum(1 for v in score.values() if v > score[r["county_code"]])
        assert r["rank"] == better + 1  # ties share the better rank
        amount = {1: 800, 2: 500, 3: 350, 4: 200, 5: 150}.get(r["rank"])
        assert r["award_fen"] == (wan(amount) if amount else None)


def test_ranking_on_synthetic(report_2026q3):
    r = report_2026q3.ranking
    assert r.height == 10 and r["city_name"].unique().to_list() == ["柳州市"]
    awarded = r.filter(pl.col("award_fen").is_not_null())
    assert sorted(awarded["award_fen"].to_list(), reverse=True) == [wan(x) for x in (800, 500, 350, 200, 150)]
    assert r["score_pct"].to_list() == sorted(r["score_pct"].to_list(), reverse=True)


# -- settings ----------------------------------------------------------------------------------------------------------
def test_settings_overrides_and_validation():
    s = MonitorSettings().with_overrides({"linggui_lower_fen": "1800万元", "weight_invest": "1/3",
                                          "weight_output": "2/3", "annualise": "false", "new_within_months": "6"})
    assert s.linggui_lower_fen == 1_800_000_000 and s.weight_invest == Fraction(1, 3) and not s.annualise
    assert s.new_within_months == 6
    for bad in ({"nope": 1}, {"weight_invest": "-1"}, {"linggui_lower_fen": "2000万元"}, {"growth_basis": "m"},
                {"linggui_lower_fen": "0.001元"}):
        with pytest.raises(ValueError):
            MonitorSettings().with_overrides(bad)
    with pytest.raises(ValueError):
        MonitorSettings(weight_invest=Fraction(0), weight_output=Fraction(0))


# -- the report, Excel, CLI ---------------------------------------------------------------------------------------------
def test_report_counts_and_json(report_q4):
    counts = report_q4.counts()
    assert set(counts) == set(LISTS)
    assert counts["positive"] > counts["negative"] > 0 and counts["new"] > 0
    d = report_q4.to_dict(limit=3)
    text = json.dumps(d, ensure_ascii=False)
    assert "正增长企业清单" in text and d["lists"]["positive"]["count"] == counts["positive"]
    assert len(d["lists"]["positive"]["rows"]) == 3 and "output_this_wan" in d["lists"]["positive"]["rows"][0]


def test_excel_opens_with_chinese_headers(report_q4, tmp_path):
    path = write_excel(report_q4, tmp_path / "监测.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["汇总", *LISTS.values(), "行业增长", "县区综合排名", "待补充信息"]
    for name in LISTS.values():
        ws = wb[name]
        assert ws["A2"].value == "单位：万元"
        assert [c.value for c in ws[3]][:6] == ["序号", "企业名称", "统一社会信用代码", "设区市", "县区", "行业"]
        assert name in ws["A1"].value
        if ws.max_row >= 4:
            assert ws["C4"].data_type == "s" and re.fullmatch(r"[0-9A-Z]{18}", ws["C4"].value)
    ws = wb["正增长企业清单"]
    assert ws.max_row == 3 + report_q4.lists["positive"].height
    assert [c.value for c in wb["汇总"][3]][:3] == ["序号", "清单", "户数"]
    again = write_excel(report_q4, tmp_path / "again.xlsx")
    assert again.read_bytes() == path.read_bytes()  # reproducible


def test_cli_monitor(tables, tmp_path):
    from huiqi.interfaces.cli_monitor import monitor as monitor_cmd

    app = typer.Typer()
    app.command("monitor")(monitor_cmd)
    app.command("noop")(lambda: None)
    data = tmp_path / "data"
    write_parquet(tables, data)
    out = tmp_path / "m.xlsx"
    res = CliRunner().invoke(app, ["monitor", "--period", "2026Q3", "--data", str(data), "--out", str(out)],
                             env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "正增长企业清单" in res.output and "县区综合评分排名" in res.output and "800.00" in res.output
    assert out.exists()
    res = CliRunner().invoke(app, ["monitor", "--period", "2024Q4", "--data", str(data), "--out", str(out),
                                   "--format", "json", "--limit", "2"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["period"] == "2024Q4" and d["sectors"]["document"]["id"] == "gx2024q4"
    res = CliRunner().invoke(app, ["monitor", "--period", "2024Q4", "--data", str(data), "--weight-invest", "-1"])
    assert res.exit_code == 2
