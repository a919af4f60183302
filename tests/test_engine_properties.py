"""Invariants of the engine, by property tests (hypothesis) over the 2024 Q4 measures (clauses 15, 21, 22)."""

from decimal import Decimal

import polars as pl
from hypothesis import given, settings, strategies as st

from huiqi.engine.evaluate import MET, MISSING, NOT_MET, RuleSet, col

Q = "2024Q4"
fen = st.integers(min_value=0, max_value=10**12)  # up to 100亿元, in 分
maybe_fen = st.one_of(st.none(), fen)

RS = RuleSet()


def evaluate(rows: dict, entity="enterprise", params=None):
    if entity == "enterprise" and "is_industrial" not in rows:  # 第21、22条 are for 工业企业 (issue 8 #2)
        rows = {**rows, "is_industrial": [True] * len(next(iter(rows.values())))}
    schema = {k: (pl.Boolean if isinstance(next((v for v in vals if v is not None), 0), bool) else
                  pl.String if isinstance(next((v for v in vals if v is not None), 0), str) else pl.Int64)
              for k, vals in rows.items()}
    return RS.evaluate(pl.DataFrame(rows, schema=schema), Q, entity=entity, params=params).frame


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(fen, maybe_fen, fen, fen, fen), min_size=1, max_size=20))
def test_caps_never_exceeded(rows):
    """第21条 30万, 第22条 5万 / 50万: no amount ever exceeds its cap, and none is negative."""
    out = evaluate({
        "output_q": [r[0] for r in rows], "output_q_ly": [r[1] for r in rows],
        "promo_event_held_q": [True] * len(rows), "promo_event_cost_q": [r[2] for r in rows],
        "large_expo_attended_q": [True] * len(rows), "expo_booth_fee_q": [r[3] for r in rows],
        "new_market_export_q": [r[4] for r in rows],
    })
    for mid, cap in (("gx2024q4-21", 30_0000_00), ("gx2024q4-22a", 5_0000_00), ("gx2024q4-22b", 50_0000_00)):
        amounts = out[col(mid, "amount")].drop_nulls()
        assert (amounts <= cap).all() and (amounts > 0).all()
        # rounding never increases: the final amount never exceeds the computed amount
        both = out.select(col(mid, "amount"), col(mid, "computed")).drop_nulls()
        assert (both[col(mid, "amount")] <= both[col(mid, "computed")]).all()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(fen, fen, st.sampled_from(["新建", "技术改造"]), st.booleans()), min_size=1, max_size=20),
       st.sampled_from(["0.01", "0.05", "0.3"]), st.sampled_from(["0.01", "0.02"]), st.integers(0, 10**9))
def test_exclusive_group_pays_at_most_one(rows, rate_a, rate_b, fixed):
    """第15条：三者不可同时申报 — at most one of 15a/15b/15c is awarded per project, and it is the largest."""
    out = evaluate({
        "project_invest_q": [r[0] for r in rows], "project_invest_q_ly": [r[1] for r in rows],
        "project_type": [r[2] for r in rows], "project_started_registered_q": [r[3] for r in rows],
    }, entity="project", params={"gx2024q4_15a_rate": rate_a, "gx2024q4_15b_rate": rate_b,
                                  "gx2024q4_15c_amount": str(fixed)})
    members = ["gx2024q4-15a", "gx2024q4-15b", "gx2024q4-15c"]
    for row in out.iter_rows(named=True):
        awards = [row[col(m, "award")] or 0 for m in members]
        amounts = [row[col(m, "amount")] or 0 for m in members]
        assert sum(1 for a in awards if a > 0) <= 1
        assert max(awards) == max(amounts)


@settings(max_examples=80, deadline=None)
@given(fen, fen, st.integers(min_value=1, max_value=10**10))
def test_raising_output_never_loses_an_at_least_award(output, last, raise_by):
    """第22条 (展会): output appears only in an 'at least' condition, so more output never loses the award."""
    base = {"large_expo_attended_q": [True, True], "expo_booth_fee_q": [100_000_00, 100_000_00],
            "output_q": [output, output + raise_by], "output_q_ly": [last, last]}
    out = evaluate(base)
    before, after = out[col("gx2024q4-22a", "status")].to_list()
    if before == MET:
        assert after == MET
    # 第21条: output is in 达到500万 and in the growth numerator — both monotone
    base.update(promo_event_held_q=[True, True], promo_event_cost_q=[1_000_00, 1_000_00])
    out = evaluate(base)
    before, after = out[col("gx2024q4-21", "status")].to_list()
    if before == MET:
        assert after == MET


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=10**11))
def test_growth_of_exactly_10pct_always_meets_and_one_fen_less_never(last_fen):
    """同比增速达到10%（含）: exact for any magnitude — this = last × 1.1 meets; one 分 less does not."""
    last = last_fen * 10  # so that last × 1.1 is a whole number of 分
    this = last * 11 // 10
    out = evaluate({"output_q": [this, this - 1], "output_q_ly": [last, last],
                    "promo_event_held_q": [True, True], "promo_event_cost_q": [1_000_00, 1_000_00]})
    growth = out[col("gx2024q4-21", "c|增速")].to_list()
    assert growth == [True, False]


def test_missing_input_is_never_zero():
    """A missing 当季产值 gives 待补充信息 — never 0 and never 不符合 — unless another condition already fails."""
    out = evaluate({"output_q": [None, None], "output_q_ly": [1, 1], "large_expo_attended_q": [True, False],
                    "expo_booth_fee_q": [1, 1]})
    assert out[col("gx2024q4-22a", "status")].to_list() == [MISSING, NOT_MET]


def test_float_hostile_example_in_yuan_and_wan(run):
    """8,169,227.00 → 8,986,149.70 is exactly +10%: entered in 元 with 分 and in 万元 with decimals."""
    facts = {"is_industrial": True, "promo_event_held_q": True, "promo_event_cost_q": 1000}  # 第21条: 工业企业
    yuan = run("gx2024q4-21", {**facts, "output_q": "8986149.70", "output_q_ly": "8169227.00"}, Q)
    wan = run("gx2024q4-21", {**facts, "当季工业总产值（万元）": "898.61497", "上年同季工业总产值（万元）": "816.9227"}, Q)
    assert yuan == wan == (MET, Decimal("500"))


_PERIODS = sorted({*RS.quarters(), *(p for m, f in RS.measures.values() for p in (m.periods or f.rules.defaults.periods))})


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(_PERIODS), st.sampled_from(["enterprise", "project", "county", "person"]),
       st.lists(st.from_regex(r"\A45(0[1-9]|1[0-4])\d{2}\Z"), min_size=1, max_size=10))
def test_city_documents_never_pay_outside_their_city(period, entity, counties):
    """No measure of a 设区市 document (柳州: 004, hb13, hb34 …) is 符合 or has an amount for an entity whose 所在县区
    lies outside that city, in any period and for any entity type (issue 8 #1, RULES-1)."""
    frame = pl.DataFrame({"county": counties})
    ev = RS.evaluate(frame, period, entity=entity)
    for cm in ev.plan:
        j = cm.source.rules.jurisdiction
        if not j.gated:
            continue
        outside = [not c.startswith(j.code) for c in counties]
        statuses = ev.frame[col(cm.id, "status")].cast(pl.String).to_list()
        assert all(s == NOT_MET for s, out in zip(statuses, outside) if out), cm.id
        if cm.measure.kind == "money":
            amounts = ev.frame[col(cm.id, "award")].to_list()
            assert all(a is None for a, out in zip(amounts, outside) if out), cm.id
