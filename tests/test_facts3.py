"""The side tables' facts grouped by the register row their code was found at (docs/decisions.md FACTS3-1) equal the
facts grouped by credit code and then placed (FACTS2-1's path): on hypothesis tables (repeated, null and unknown
codes in the sides, repeated and null codes in the register, grouped and one-row-per-enterprise sides), on generated
data for several periods, and a one-row side listing an enterprise twice is refused as before."""

from datetime import date

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from huiqi.core.periods import Period
from huiqi.services import facts as facts_mod

CODES = st.sampled_from(["A", "B", "C", "D", "Z", None])  # Z is in no register drawn below


def by_code(register: pl.Series, sides: list) -> pl.DataFrame:
    """The reference: each side grouped by credit code, then placed beside the register (the path before FACTS3)."""
    return facts_mod._placed(register, pl.collect_all([side.by("credit_code") for side in sides]))


def _grouped_side(rows: pl.DataFrame, index: int):
    return facts_mod._Side(rows.lazy(), (
        pl.lit(True).alias(f"held{index}"),
        pl.when(pl.col("fen").is_null().any()).then(None).otherwise(pl.col("fen").sum()).alias(f"cost{index}"),
        pl.col("day").max().alias(f"latest{index}"),
        pl.col("kind").eq("x").any().alias(f"is_x{index}")))


def _row_side(rows: pl.DataFrame, index: int):
    return facts_mod._Side(rows.lazy(), (
        pl.col("fen").alias(f"fen{index}"), (pl.col("day") > date(2024, 6, 30)).alias(f"late{index}"),
        pl.col("kind").alias(f"kind{index}")), grouped=False)


@st.composite
def side_rows(draw, unique: bool) -> pl.DataFrame:
    codes = draw(st.lists(CODES, unique=unique, max_size=9))
    n = len(codes)

    def column(values):
        return draw(st.lists(st.one_of(st.none(), values), min_size=n, max_size=n))

    return pl.DataFrame({"credit_code": pl.Series(codes, dtype=pl.String),
                         "fen": pl.Series(column(st.integers(-2**62, 2**62)), dtype=pl.Int64),
                         "day": pl.Series(column(st.dates(date(2023, 1, 1), date(2025, 12, 31))), dtype=pl.Date),
                         "kind": pl.Series(column(st.sampled_from(["x", "y"])), dtype=pl.String)})


def _outcome(build):
    try:
        return build()
    except pl.exceptions.ShapeError as refused:
        return str(refused)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(register=st.lists(st.sampled_from(["A", "B", "C", "D", None]), max_size=10), data=st.data(),
       kinds=st.lists(st.booleans(), min_size=1, max_size=4))
def test_grouped_by_register_row_equals_grouped_by_code(register, data, kinds):
    codes = pl.Series("credit_code", register, dtype=pl.String)
    sides = [(_grouped_side if grouped else _row_side)(data.draw(side_rows(unique=False)), i)
             for i, grouped in enumerate(kinds)]
    built, expected = _outcome(lambda: facts_mod._side_columns(codes, sides)), _outcome(lambda: by_code(codes, sides))
    if isinstance(expected, str):
        assert built == expected  # the same refusal, naming the same columns
    else:
        assert built.equals(expected)
        assert built.schema == expected.schema
        assert built.height == len(codes)


@settings(max_examples=100, deadline=None)
@given(register=st.lists(st.sampled_from(["A", "B", "C", "D"]), unique=True, max_size=4), data=st.data())
def test_one_row_sides_with_one_row_per_enterprise_are_placed(register, data):
    codes = pl.Series("credit_code", register, dtype=pl.String)
    sides = [_row_side(data.draw(side_rows(unique=True)), 0), _grouped_side(data.draw(side_rows(unique=False)), 1)]
    assert facts_mod._side_columns(codes, sides).equals(by_code(codes, sides))


def test_a_one_row_side_listing_an_enterprise_twice_is_refused():
    codes = pl.Series("credit_code", ["A", "B"])
    twice = pl.DataFrame({"credit_code": ["A", "A"], "fen": [1, 2], "day": [date(2024, 1, 1)] * 2, "kind": ["x"] * 2})
    with pytest.raises(pl.exceptions.ShapeError, match="fen0, late0, kind0"):
        facts_mod._side_columns(codes, [_row_side(twice, 0)])
    # a code of no enterprise (or a null one) may repeat: the grouping by code ignored it too
    elsewhere = twice.with_columns(pl.Series("credit_code", ["Z", None]))
    assert facts_mod._side_columns(codes, [_row_side(elsewhere, 0)]).equals(by_code(codes, [_row_side(elsewhere, 0)]))


def test_a_register_listing_a_code_twice_places_the_facts_at_both_rows():
    codes = pl.Series("credit_code", ["B", "A", "B", None])
    rows = pl.DataFrame({"credit_code": ["B", "B", None], "fen": [1, 2, 3], "day": [date(2024, 1, 1)] * 3,
                         "kind": ["x", "y", "x"]})
    built = facts_mod._side_columns(codes, [_grouped_side(rows, 0)])
    assert built["cost0"].to_list() == [3, None, 3, None]
    assert built.equals(by_code(codes, [_grouped_side(rows, 0)]))


@pytest.fixture(scope="module")
def tables():
    from huiqi.data.synthetic import generate

    return generate(800, seed=33)


@pytest.mark.parametrize("period", ["2024Q4", "2024Q2", "2026Q3", "2023Q4", "2024"])
@pytest.mark.parametrize("lazy", [False, True])
def test_enterprise_facts_equal_the_grouping_by_code(tables, period, lazy, monkeypatch):
    """Every enterprise fact, all fields and a run's fields, equals the build that grouped the sides by code."""
    from huiqi.engine.evaluate import RuleSet

    given_tables = {k: (v.lazy() if lazy else v) for k, v in tables.items()}
    ruleset = RuleSet()
    for fields in (None, ruleset.fields_read(period, "enterprise", ruleset.resolve_parameters(None), None)):
        built = facts_mod.enterprise_facts(given_tables, period, fields)
        with monkeypatch.context() as m:
            m.setattr(facts_mod, "_side_columns", by_code)
            expected = facts_mod.enterprise_facts(given_tables, period, fields)
        assert built.equals(expected)
        assert built.schema == expected.schema


def test_a_scale_register_listing_an_enterprise_twice_in_a_year_is_refused(tables):
    scale = tables["scale_status"]
    doubled = {**tables, "scale_status": pl.concat([scale, scale.filter(pl.col("year") == 2024).head(1)])}
    with pytest.raises(pl.exceptions.ShapeError, match="is_new_in_statistics"):
        facts_mod.enterprise_facts(doubled, Period.parse("2024Q4"), {"is_new_in_statistics"})
