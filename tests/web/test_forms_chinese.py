"""Issue 11 item 2: one input language for money and rates in every form; every error beside its field."""

from __future__ import annotations

import re

import pytest

from huiqi.services.form_values import FormValueError, parse_form, parse_value


@pytest.mark.parametrize("kind,text,expected", [
    ("rate", "5%", "0.05"), ("rate", "0.05", "0.05"), ("rate", "５％", "0.05"), ("rate", "12.5 %", "0.125"),
    ("money", "1,000万元", "10000000"), ("money", "1000万", "10000000"), ("money", "1,000,000元", "1000000"),
    ("money", "1000000", "1000000"), ("money", "0.1亿", "10000000"), ("money", "１，０００万元", "10000000"),
    ("points", "3.8%", "3.8"), ("bool", "是", "true"),
])
def test_one_input_language(kind, text, expected):
    """参数与预算 rejected "5%" and "1,000万元" that the sandbox accepted; one parser reads them all, exactly."""
    assert parse_value(kind, text) == expected


@pytest.mark.parametrize("kind,text", [("rate", "五%"), ("money", "十万"), ("money", "1.001元"), ("rate", "-5%"),
                                       ("money", "1e308"), ("money", "5%")])
def test_bad_values_are_refused_in_chinese(kind, text):
    with pytest.raises(FormValueError) as e:
        parse_value(kind, text)
    assert re.search(r"[\u4e00-\u9fff]", str(e.value))


def test_parse_form_reports_every_error():
    """Only the first error of a form was shown; parse_form returns all of them, keyed by field."""
    clean, errors = parse_form({"a": "5%", "b": "abc", "c": "十万", "d": ""}, {"a": "rate", "b": "rate", "c": "money"})
    assert clean == {"a": "0.05"} and set(errors) == {"b", "c"}


def test_parameters_page_accepts_percent_and_wan_and_shows_all_errors(web):
    """参数与预算: "5%" and "1,000万元" are saved; two bad values give two messages, each beside its field."""
    c = web.client("admin")
    rs = web.state.ruleset
    rate = next(n for n, p in rs.parameters.items() if p.kind == "rate" and (p.max is None or p.max >= 0.05))
    money = next(n for n, p in rs.parameters.items() if p.kind == "money" and p.max is None)
    form = {"csrf_token": c.csrf["X-CSRF-Token"], f"p.{rate}": "5%", f"p.{money}": "1,000万元", "comment": "测试"}
    r = c.post("/workbench/parameters", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    values = web.state.active_set()["values"]
    assert values[rate] == "0.05" and values[money] == "10000000"
    bad = {**form, f"p.{rate}": "五成", f"p.{money}": "十万"}
    r = c.post("/workbench/parameters", data=bad)
    assert r.status_code == 422
    assert r.text.count('class="field-error"') == 2
    assert f'id="err-{rate}"' in r.text and f'id="err-{money}"' in r.text
    assert "共2处填写有误" in r.text


def test_calculator_form_reads_wan_and_lists_every_error(web):
    """政策计算器: "898.61万元" is read like 8986149.70; two bad fields give two errors beside their fields."""
    c = web.client("admin")
    r = c.post("/calculator/check", data={"period": "2024Q4", "f.output_q": "898.614970万元",
                                          "f.output_q_ly": "700万"}, headers=c.csrf)
    assert r.status_code == 200, r.text[:300]
    r = c.post("/calculator/check", data={"period": "2024Q4", "f.output_q": "abc", "f.output_q_ly": "十万"},
               headers=c.csrf)
    assert r.status_code == 422
    assert "共2处填写有误" in r.text and 'id="err-output_q" hx-swap-oob="true">' in r.text
    assert "当季工业总产值" in r.text


def test_import_template_round_trips_through_the_importer(tmp_path):
    """下载导入模板: one sheet per import table with the Chinese headers; a filled-in template imports as is."""
    import openpyxl

    from huiqi.data.columns import TABLES
    from huiqi.data.importer import import_files
    from huiqi.services.import_tools import write_template

    path = write_template(tmp_path / "模板.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [t.label for t in TABLES.values()]
    ent = TABLES["enterprises"]
    assert [c.value for c in wb["企业"][1]] == [c.label for c in ent.columns]
    for name in wb.sheetnames:
        if name != "企业":
            del wb[name]
    ws = wb["企业"]
    values = {"credit_code": "91450204MA5K00000X", "name": "柳州模板测试有限公司", "county_code": "450204",
              "industry_code": "3670", "sector": "汽车"}
    from huiqi.data.credit_code import make_code
    import random
    values["credit_code"] = make_code(random.Random(5), "450204")
    ws.append([values.get(c.name) for c in ent.columns])
    wb.save(path)
    result = import_files([path], None)
    assert result.ok, result.to_text()
    assert result.tables["enterprises"].height == 1
    assert "enterprises" not in result.to_text()  # tables are named in Chinese


def test_import_preview_counts_added_changed_unchanged_and_writes_nothing(web, tmp_path):
    """Before an import is written the officer sees, per table, rows added / changed / unchanged."""
    import random

    from huiqi.data.credit_code import make_code
    from huiqi.interfaces.web.state import DEMO_COUNTY

    c = web.client("liunan")
    held = web.state.enterprises.filter(web.state.enterprises["county_code"] == DEMO_COUNTY).row(0, named=True)
    new_code = make_code(random.Random(77), DEMO_COUNTY)
    f = tmp_path / "企业.csv"
    f.write_text("统一社会信用代码,企业名称,县区代码,行业代码,行业\n"
                 f"{new_code},柳州预览测试有限公司,{DEMO_COUNTY},3670,汽车\n"
                 f"{held['credit_code']},{held['name']}（更名）,{DEMO_COUNTY},{held['industry_code']},{held['sector']}\n",
                 encoding="utf-8")
    token = c.csrf["X-CSRF-Token"]
    with f.open("rb") as fh:
        r = c.post("/workbench/import", data={"csrf_token": token, "mode": "preview"},
                   files={"files": ("企业.csv", fh, "text/csv")})
    assert r.status_code == 200, r.text[:500]
    assert "尚未写入" in r.text and 'id="import-changes"' in r.text
    assert "<td>企业</td><td class=\"num\">1</td><td class=\"num\">1</td><td class=\"num\">0</td>" in r.text
    assert new_code not in web.state.county_of  # nothing written
    r = c.get("/api/imports/template.xlsx")
    assert r.status_code == 200 and r.content[:2] == b"PK"


def test_enterprise_calculator_does_not_list_monitoring_rules(web):
    """gx2024q4 第33条 临退规 is a monitoring list for officers, not a measure an enterprise missed or enjoys."""
    c = web.client("qiye")
    r = c.post("/calculator/check", data={"period": "2024Q4", "f.output_jan_sep": "1000万元"}, headers=c.csrf)
    assert r.status_code == 200, r.text[:300]
    assert "临退规" not in r.text and "m-gx2024q4-33" not in r.text


def test_sandbox_form_reads_percent_and_wan_and_lists_every_error(web):
    """政策沙盘 and 参数与预算 read the same language; the sandbox form shows every bad value beside its field."""
    c = web.client("admin")
    base = {"csrf_token": c.csrf["X-CSRF-Token"], "period": "2025Q3", "measures": "gx2025h2-01",
            "b.gx2025h2_01_growth_min": "10%", "b.gx2025h2_01_amount": "十万", "s.gx2025h2_01_amount": "abc"}
    r = c.post("/sandbox/run", data=base, headers=c.csrf)
    assert r.status_code == 422, r.text[:300]
    assert "共2处填写有误" in r.text
    assert 'id="err-b-gx2025h2_01_amount" hx-swap-oob="true">' in r.text
    assert 'id="err-s-gx2025h2_01_amount" hx-swap-oob="true">' in r.text
    ok = {**base, "b.gx2025h2_01_amount": "10万", "s.gx2025h2_01_amount": "12万元"}
    r = c.post("/sandbox/run", data=ok, headers=c.csrf)
    assert r.status_code == 200, r.text[:500]
