"""A ceiling is never the entitlement (issue 8 #3, RULES-3).

“最高不超过固定资产投资总额的10%”（hb55）、“每年不高于25%”（hb41）、001 “涉及奖补资金比例和限额均为上限” were paid as
the exact ceiling. Such a rate is an operator parameter with no default and ``max`` = the ceiling (参数待定 until set);
lint refuses a default for it and a literal pct() of it in an amount.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from huiqi.engine.evaluate import MET, PENDING
from huiqi.rules.lint import _CEILING, Linter
from huiqi.rules.loader import RULES_DIR, RuleSource, load_file


def _lint(tmp_path, name: str, edit) -> list[str]:
    text = (RULES_DIR / name).read_text(encoding="utf-8")
    changed = edit(text)
    assert changed != text
    path = tmp_path / name
    path.write_text(changed, encoding="utf-8")
    return [f.message for f in Linter(RuleSource((load_file(path),))).run()]


def test_hb55_ceiling_rate_is_not_paid(run):
    """hb55：“单个项目补助资金最高不超过固定资产投资总额的10%” — unset → 参数待定 (was paid 10%, i.e. 1亿)."""
    major = {"hb55_gx_manufacturing_project": True, "hb55_started_in_statistics": True, "hb55_fai_total": "10亿元",
             "hb55_fai_planned_support_year": "2亿元", "hb55_fai_completed": "3亿元", "hb55_construction_within_3y": True,
             "hb55_other_special_fund": False}
    status, amount = run("hb-major-project", major, "2024")
    assert (status, amount) == (PENDING, None), (status, amount)
    assert run("hb-major-project", major, "2024", params={"hb55_support_rate": "0.03"}) == (MET, Decimal("30000000"))


def test_no_ceiling_rate_has_a_default(ruleset):
    """Every rate parameter whose quote or label states a ceiling — and every rate of a document whose rates are all
    upper bounds (001) — defaults to unset."""
    offenders = []
    for name, p in ruleset.parameters.items():
        _m, f = next(((m, f) for m, f in ruleset.measures.values() if any(q.name == name for q in m.parameters)),
                     (None, None))
        upper = f is not None and f.rules.defaults.rates_are_upper_bounds
        if p.kind == "rate" and (_CEILING.search((p.quote or "") + p.label) or upper) and p.default is not None:
            offenders.append(name)
    assert offenders == []
    for name in ("gx2023_01_rate", "gx2023_02_rate", "gx2023_03_rate", "hb55_support_rate", "hb41_annual_share",
                 "hb46_fee_rate"):
        assert ruleset.parameters[name].default is None and ruleset.parameters[name].max is not None, name


def test_lint_refuses_a_ceiling_as_default(tmp_path):
    """Lint: a default on the hb55 rate (quote “最高不超过……10%”) is an error."""
    messages = _lint(tmp_path, "hb55.yaml", lambda t: t.replace("        max: 0.10", "        default: 0.10\n        max: 0.10"))
    assert any("上限不能作为默认应享比例" in m for m in messages)


def test_lint_refuses_a_literal_ceiling_percentage(tmp_path):
    """Lint: hb41's old amount ``pct(25) * …`` for “每年不高于25%” is an error."""
    messages = _lint(tmp_path, "hb41.yaml", lambda t: t.replace(
        "amount: param('hb41_annual_share') * hb41_project_support_approved",
        "amount: pct(25) * hb41_project_support_approved"))
    assert any("比例 25% 在原文中是上限" in m for m in messages)


def test_lint_rates_are_upper_bounds_document(tmp_path):
    """Lint: in 001 (rates_are_upper_bounds) a rate parameter may not have a default."""
    messages = _lint(tmp_path, "gx2023.yaml", lambda t: t.replace(
        "        max: 0.01  # 上限", "        default: 0.01\n        max: 0.01  # 上限", 1))
    assert any("上限" in m and "gx2023_01_rate" in m for m in messages)


@pytest.mark.parametrize("quote, number, expected", [
    ("均按不超过当季度产值同比增量的1%予以奖励", "1", True),
    ("单个项目补助资金最高不超过固定资产投资总额的10%", "10", True),
    ("项目支持资金分4年按每年不高于25%的比例逐年划拨", "25", True),
    ("对企业发生的场地租赁、会场搭建等费用给予50%的补助，每家企业补助金额最高不超过30万元", "50", False),
    ("按照其新开拓境外市场出口额的1%，给予最高不超过50万元的补助", "1", False),
])
def test_ceiling_wording(quote, number, expected):
    from huiqi.rules.lint import _ceiling_percent

    assert _ceiling_percent(quote, number) is expected
