"""政策月历 (service, iCalendar, `huiqi calendar`) and `huiqi screen --assume`."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from icalendar import Calendar
from typer.testing import CliRunner

from huiqi.interfaces.cli import app
from huiqi.services import calendar as cal

runner = CliRunner()

GATES_004 = {  # 004 六（二）: no data source for any of them
    "lz2026q3_law_abiding": "是", "lz2026q3_sound_financial_system": "是", "lz2026q3_good_accounting_credit": "是",
    "lz2026q3_good_tax_credit": "是", "lz2026q3_serious_bad_record_2y": "否",
    "lz2026q3_violates_joint_punishment": "否", "lz2026q3_joint_punishment_target": "否",
    "lz2026q3_materials_falsified": "否",
}


# ---------------------------------------------------------------------------------------------- service
def test_entries_by_month_are_sorted_and_cited():
    items = cal.entries(start=date(2024, 1, 1), end=date(2024, 12, 31))
    assert items == sorted(items, key=lambda e: (e.day, e.kind != cal.CLOSES, e.programme_id, e.window))
    months = cal.by_month(items)
    assert "2024-06" in months and all(k.startswith("2024-") for k in months)
    june = {(e.day, e.programme_id) for e in months["2024-06"]}
    assert (date(2024, 6, 15), "hb55-major-project") in june  # hb55: 截止上报时间……2024年6月15日
    assert (date(2024, 6, 20), "hb56-tech-innovation") in june
    for e in items:
        assert e.quote and e.clause.startswith(e.document_id + ":")


def test_county_filter_keeps_liuzhou_programmes_to_liuzhou():
    lz = {e.programme_id for e in cal.entries(county="柳南区")}
    nn = {e.programme_id for e in cal.entries(county="450103")}  # 南宁市青秀区
    assert "hb42-talent-enclave" in lz and "hb42-talent-enclave" not in nn
    assert "hb54-qianqi" in lz and "hb54-qianqi" in nn  # 自治区-wide
    with pytest.raises(ValueError, match="县区"):
        cal.entries(county="火星区")


def test_industry_filter():
    manufacturing = {p.id for _, p in cal.programmes(industry="3670")}
    software = {p.id for _, p in cal.programmes(industry="6510")}
    farming = {p.id for _, p in cal.programmes(industry="0111")}
    assert "hb55-major-project" in manufacturing and "hb55-major-project" not in software
    assert "hb56-tech-innovation" in software  # 制造业或软件和信息技术服务业企业
    assert "hb54-qianqi" not in farming and "hb31-quality-award" in farming


def test_enterprise_matches_filter_by_linked_measures():
    only = {p.id for _, p in cal.programmes(measures=["hb-qianqi"])}
    assert only == {"hb54-qianqi"}
    assert cal.programmes(measures=[]) == []


def test_upcoming_within_14_days():
    due = cal.upcoming(date(2024, 6, 10))
    assert {(e.day, e.programme_id) for e in due} >= {(date(2024, 6, 15), "hb55-major-project"),
                                                      (date(2024, 6, 20), "hb56-tech-innovation")}
    assert all(date(2024, 6, 10) <= e.day <= date(2024, 6, 24) and e.kind == cal.CLOSES for e in due)
    assert cal.upcoming(date(2024, 6, 10), measures=["hb-qianqi"]) == []


def test_how_to_apply_for_a_measure():
    v = cal.how_to_apply(["hb-xiaojuren", "gx2024q4-21"])
    assert v["hb-xiaojuren"]["windows"] == ["平台填报：2024年4月25日至2024年5月19日"]
    assert "gx2024q4-21" in v  # the 002 package: its arrangement as stated (no window)


def test_ical_feed_is_valid_and_stable():
    items = cal.entries(start=date(2024, 1, 1), end=date(2024, 12, 31))
    raw = cal.ical(items)
    parsed = Calendar.from_ical(raw)
    events = list(parsed.walk("VEVENT"))
    assert len(events) == len(items)
    assert len({str(e["uid"]) for e in events}) == len(events)
    assert raw == cal.ical(items)


def test_month_range():
    assert cal.month_range("2024-02") == (date(2024, 2, 1), date(2024, 2, 29))
    assert cal.month_range("2024-12") == (date(2024, 12, 1), date(2024, 12, 31))
    with pytest.raises(ValueError, match="年-月"):
        cal.month_range("2024年6月")


# ----------------------------------------------------------------------------------------------- CLI
def test_calendar_cli_table_json_ics():
    r = runner.invoke(app, ["calendar", "--month", "2024-06", "--county", "柳南区"])
    assert r.exit_code == 0, r.output
    assert "2024年6月" in r.output
    assert "申报时间以通知为准或常年受理的事项" in r.output and "链主型龙头企业申报" in r.output
    r = runner.invoke(app, ["calendar", "--year", "2024", "--format", "json"])
    rows = json.loads(r.output)
    assert rows and all(x["date"].startswith("2024-") for x in rows)
    r = runner.invoke(app, ["calendar", "--month", "2024-04", "--format", "ics"])
    assert r.exit_code == 0 and "BEGIN:VCALENDAR" in r.output


def test_calendar_cli_bad_input_is_chinese():
    r = runner.invoke(app, ["calendar", "--county", "火星区"])
    assert r.exit_code == 2 and "县区" in r.output
    r = runner.invoke(app, ["calendar", "--facts", "examples/enterprise_2024q4.yaml"])
    assert r.exit_code == 2 and "--period" in r.output


def test_calendar_cli_for_an_enterprise(tmp_path):
    facts = tmp_path / "f.yaml"
    facts.write_text("is_industrial: true\n", encoding="utf-8")
    r = runner.invoke(app, ["calendar", "--facts", str(facts), "--period", "2026Q3", "--format", "json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert {x["programme_id"] for x in rows} == {"lz2026q3-package"}


# ------------------------------------------------------------------------------------- screen --assume
@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    from huiqi.data.synthetic import generate, write_parquet

    d = tmp_path_factory.mktemp("demo")
    write_parquet(generate(2_000, seed=7), d)
    return d


def test_lz2026q3_screening_pays_nobody_without_assumptions_and_pays_with_them(demo, tmp_path):
    """004 六（二）'s gates have no data source: the default 2026Q3 run pays nobody; --assume states them."""
    plain = runner.invoke(app, ["screen", "--period", "2026Q3", "--data", str(demo), "--out", str(tmp_path / "a")])
    assert plain.exit_code == 0, plain.output
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["paid_total_fen"] == 0 and "assumptions" not in manifest

    args = ["screen", "--period", "2026Q3", "--data", str(demo), "--out", str(tmp_path / "b")]
    for k, v in GATES_004.items():
        args += ["--assume", f"{k}={v}"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["paid_total_fen"] > 0
    assert manifest["assumptions"] == dict(sorted(GATES_004.items()))
    ws = openpyxl.load_workbook(tmp_path / "b" / "拟兑现名单_2026Q3.xlsx")["汇总"]
    cells = [str(c.value) for row in ws.iter_rows() for c in row if c.value is not None]
    assert any(c.startswith("测算假定") for c in cells)
    assert "纳税信用良好" in " ".join(cells) or any("纳税信用" in c for c in cells)
    assert "假定为：是" in cells


def test_assumption_never_overwrites_data():
    import polars as pl

    from huiqi.services.assumptions import overlay

    frame = pl.DataFrame({"entity_id": ["a", "b"], "lz2026q3_good_tax_credit": [False, None]})
    out = overlay(frame, {"lz2026q3_good_tax_credit": True, "lz2026q3_law_abiding": True})
    assert out["lz2026q3_good_tax_credit"].to_list() == [False, True]
    assert out["lz2026q3_law_abiding"].to_list() == [True, True]


def test_screen_assume_bad_field_is_chinese(demo, tmp_path):
    r = runner.invoke(app, ["screen", "--period", "2026Q3", "--data", str(demo), "--out", str(tmp_path),
                            "--assume", "no_such_field=是"])
    assert r.exit_code == 2 and "未知字段" in r.output
    r = runner.invoke(app, ["screen", "--period", "2026Q3", "--data", str(demo), "--out", str(tmp_path),
                            "--assume", "lz2026q3_good_tax_credit"])
    assert r.exit_code == 2 and "name=value" in r.output
