"""Issue 11: explanations speak plain Chinese — no SQL, field codes or function names reach an officer."""

from __future__ import annotations

import pytest

from huiqi.engine.explain import Explainer
from huiqi.engine.expressions import parse
from huiqi.policies.library import default_library
from tests.leaks import leaks


def _explainers(ruleset):
    labels = {n: p.label for n, p in ruleset.parameters.items()}
    lib = default_library()
    yield Explainer(ruleset.dictionary, lib, {}, {}, labels)  # nothing known, every parameter pending
    # every fact known (1 in internal units), so the "（当前：…）" and value branches are walked too
    facts = {n: ("是" if f.type == "text" else True if f.type == "bool" else "2024-01-01" if f.type == "date" else 1)
             for n, f in ruleset.dictionary.fields.items()}
    params = {n: "0.01" for n in ruleset.parameters}
    yield Explainer(ruleset.dictionary, lib, facts, params, labels)


def _expressions(ruleset):
    for mid, (m, loaded) in ruleset.measures.items():
        for k in ("amount", "cap", "minimum", "cap_year"):
            if getattr(m, k):
                yield mid, k, getattr(m, k)
        for c in m.conditions:
            yield mid, c.id, c.when
    for f in ruleset.source.files:
        for g in f.rules.defaults.gates if hasattr(f, "rules") else []:
            yield f.rules.document, g.id, g.when


def test_describe_never_falls_back_to_sql_for_any_measure(ruleset):
    """Explainer.describe used node.sql() for CASE, comparisons and unknown functions, so the calculator showed
    `CASE WHEN county_rank_q = 1 THEN WAN(800)…` to a county officer. Every expression of every rule file
    (amounts, caps, minimums, conditions, gates) must read as plain Chinese."""
    bad = []
    for explainer in _explainers(ruleset):
        for mid, part, source in _expressions(ruleset):
            text = explainer.describe(parse(source))
            if leaks(text) or "按规则公式计算" in text:
                bad.append((mid, part, text, leaks(text)))
    assert not bad, bad[:10]


def test_rank_table_reads_as_places(ruleset):
    """lz2026q3 第一条 "前五名…给予800万元、500万元…": the rank table is read as places, not as CASE WHEN."""
    labels = {n: p.label for n, p in ruleset.parameters.items()}
    m = ruleset.measures["lz2026q3-1"][0]
    text = Explainer(ruleset.dictionary, default_library(), {}, {}, labels).describe(parse(m.amount))
    assert "第1名800万元，第2名500万元" in text and "其他为0元" in text


def test_pct_reads_as_percent_of_label(ruleset):
    """gx2024q4 第21条 "按实际发生费用的50%": `pct(50) * promo_event_cost_q` reads 50% × 促销…费用."""
    labels = {n: p.label for n, p in ruleset.parameters.items()}
    m = ruleset.measures["gx2024q4-21"][0]
    text = Explainer(ruleset.dictionary, default_library(), {}, {}, labels).describe(parse(m.amount))
    assert text.startswith("50% × ") and "promo_event_cost_q" not in text


@pytest.mark.parametrize("status_text", ["待补充信息"])
def test_missing_facts_name_no_field_code(status_text):
    """The 待补充信息 reason listed "标签（field_code）"; people read the label only."""
    from huiqi.services.calculator import check
    results = check({}, "2024Q4", measures=["gx2024q4-21"])
    r = results[0]
    assert r.status == status_text
    assert not leaks(r.explanation), leaks(r.explanation)


def test_car_makers_are_not_asked_whether_they_are_electronics_firms():
    """gx2024q4 第8条 "对…电子信息制造业重点企业给予奖励": in 柳南区 293 of 1,363 待补充信息 rows asked car makers
    whether they are 电子信息 key firms. The sector is in the register: a firm outside 电子信息 is 不符合
    (false AND unknown = false), and only 电子信息 firms are asked."""
    from huiqi.services.calculator import check

    car = check({"sector": "汽车"}, "2024Q4", measures=["gx2024q4-08"])[0]
    assert car.status == "不符合" and "缺少" not in car.reason
    electronics = check({"sector": "电子信息"}, "2024Q4", measures=["gx2024q4-08"])[0]
    assert electronics.status == "待补充信息"
    assert "电子信息制造业重点企业" in [m.label for m in electronics.missing]
