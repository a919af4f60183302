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
