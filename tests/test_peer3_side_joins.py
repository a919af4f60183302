"""Issue 9, PEER3-4 and FACTS2-1: the side tables' facts placed beside the register by one lookup of all their codes
give the facts the separate left joins gave — on the demo data for every period, with every field and with a run's
fields, and on any small tables (null and unknown codes, repeated records). (PEER3 first merged the small tables by
full joins before one join; FACTS2-1's single lookup made that merge redundant, and it was removed.)"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huiqi.core.periods import Period
from huiqi.services import facts


def separate_joins(codes: pl.Series, sides: list[pl.DataFrame]) -> pl.DataFrame:
    """The reference for facts._placed: each side frame left-joined onto the register's codes on its own (the build
    before PEER3 and FACTS2)."""
    keys = codes.to_frame("credit_code")
    return pl.concat([keys.join(side, on="credit_code", how="left", maintain_order="left").drop("credit_code")
                      for side in sides], how="horizontal")


def both_ways(tables, period, fields, monkeypatch) -> tuple[pl.DataFrame, pl.DataFrame]:
    merged = facts.enterprise_facts(tables, period, fields)
    with monkeypatch.context() as m:
        m.setattr(facts, "_placed", separate_joins)
        reference = facts.enterprise_facts(tables, period, fields)
    return merged, reference


@pytest.fixture(scope="module")
def demo():
    from huiqi.data.synthetic import generate

    return generate(2_000, seed=2024)


SMALL_FIELDS = ["promo_event_held_q", "promo_event_cost_q", "large_expo_attended_q", "expo_booth_fee_q",
                "lz2026q3_event_held_q", "lz2026q3_expo_cost_q", "lz2026q3_intl_cert_date", "lz2026q3_intl_cert_fee",
                "gx2024q4_23_loan_principal", "gx2024q4_23_on_list", "lz2026q3_serious_bad_record_2y",
                "lz2026q3_joint_punishment_target"]


@pytest.mark.parametrize("period", ["2023Q4", "2024Q2", "2024Q4", "2026Q3", "2024"])
def test_demo_facts_are_the_same(demo, period, monkeypatch):
    from huiqi.engine.evaluate import RuleSet

    ruleset = RuleSet()
    for fields in (None, set(SMALL_FIELDS), set(SMALL_FIELDS[:2]),
                   ruleset.fields_read(period, "enterprise", ruleset.resolve_parameters(None), None)):
        merged, reference = both_ways(demo, period, fields, monkeypatch)
        assert merged.equals(reference)
        assert merged.columns == reference.columns


CODES = st.one_of(st.none(), st.sampled_from(["A1", "A2", "B7", "Z9"]))  # Z9 is in no register
DAYS = st.dates(date(2022, 1, 1), date(2025, 3, 31))
COST = st.one_of(st.none(), st.integers(0, 10**9))


@settings(max_examples=60, deadline=None)
@given(events=st.lists(st.tuples(CODES, st.sampled_from(["promo_event", "large_expo", "liquidity_loan",
                                                          "intl_certification", "hire"]), DAYS, COST, COST),
                       max_size=25),
       records=st.lists(st.tuples(CODES, st.sampled_from(["失信联合惩戒", "质量"]), DAYS, st.booleans()),
                        max_size=10),
       fields=st.sets(st.sampled_from(SMALL_FIELDS), min_size=1))
def test_any_small_tables_give_the_same_facts(events, records, fields):
    tables = {
        "enterprises": pl.DataFrame({"credit_code": ["A1", "A2", "B7", None], "name": ["甲", "乙", "丙", "丁"],
                                     "county_code": ["450102"] * 4, "industry_code": ["13", "45", None, "52"],
                                     "sector": ["工业"] * 4}),
        "events": pl.DataFrame(events, schema={"credit_code": pl.String, "kind": pl.String, "date": pl.Date,
                                               "cost_fen": pl.Int64, "amount_fen": pl.Int64}, orient="row"),
        "credit_records": pl.DataFrame(records, schema={"credit_code": pl.String, "kind": pl.String,
                                                        "date": pl.Date, "serious": pl.Boolean}, orient="row"),
    }
    period = Period.parse("2024Q4")
    merged = facts.enterprise_facts(tables, period, fields)
    original = facts._placed
    facts._placed = separate_joins  # (hypothesis and function-scoped monkeypatch do not mix)
    try:
        reference = facts.enterprise_facts(tables, period, fields)
    finally:
        facts._placed = original
    assert merged.equals(reference)
    assert merged.height == 4
