"""The side tables' facts placed by one lookup of their codes (docs/decisions.md FACTS2-1) equal a left join of each
side onto the register's codes: on hypothesis frames (repeated and null codes in the register, null codes and codes
of no enterprise in the sides, several column types), on the demo-sized generated data for several periods, and a
side that lists an enterprise twice is refused as the join's extra rows were."""

from datetime import date

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from huiqi.core.periods import Period
from huiqi.services import facts as facts_mod

CODES = st.sampled_from(["A", "B", "C", "D", "E", "F", None])


def _joined(codes: pl.Series, sides: list[pl.DataFrame]) -> pl.DataFrame:
    """The reference: each side left-joined onto the codes (the path before FACTS2-1)."""
    keys = codes.to_frame("credit_code")
    return pl.concat([keys.join(side, on="credit_code", how="left", maintain_order="left").drop("credit_code")
                      for side in sides], how="horizontal")


@st.composite
def side_frames(draw, index: int) -> pl.DataFrame:
    listed = draw(st.lists(CODES, unique=True, max_size=7))  # one row per code, as a group_by gives (null included)
    n = len(listed)
    return pl.DataFrame({
        "credit_code": pl.Series(listed, dtype=pl.String),
        f"flag{index}": pl.Series(draw(st.lists(st.one_of(st.none(), st.booleans()), min_size=n, max_size=n)),
                                  dtype=pl.Boolean),
        f"fen{index}": pl.Series(draw(st.lists(st.one_of(st.none(), st.integers(-2**63, 2**63 - 1)),
                                               min_size=n, max_size=n)), dtype=pl.Int64),
        f"day{index}": pl.Series(draw(st.lists(st.one_of(st.none(), st.dates()), min_size=n, max_size=n)),
                                 dtype=pl.Date),
        f"text{index}": pl.Series(draw(st.lists(st.one_of(st.none(), st.text(max_size=3)), min_size=n, max_size=n)),
                                  dtype=pl.String),
    })


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(register=st.lists(CODES, max_size=12), data=st.data(), count=st.integers(1, 4))
def test_placed_equals_a_left_join_of_each_side(register, data, count):
    codes = pl.Series("credit_code", register, dtype=pl.String)
    sides = [data.draw(side_frames(i)) for i in range(count)]
    placed = facts_mod._placed(codes, sides)
    assert placed.height == len(codes)
    assert placed.equals(_joined(codes, sides))
    assert placed.schema == _joined(codes, sides).schema


def test_a_side_listing_an_enterprise_twice_is_refused():
    codes = pl.Series("credit_code", ["A", "B"])
    twice = pl.DataFrame({"credit_code": ["A", "A"], "is_high_tech": [True, False]})
    with pytest.raises(pl.exceptions.ShapeError, match="is_high_tech"):
        facts_mod._placed(codes, [twice])
    # a code of no enterprise may repeat: the left join ignored it too
    elsewhere = pl.DataFrame({"credit_code": ["Z", "Z", "B"], "is_high_tech": [True, False, True]})
    assert facts_mod._placed(codes, [elsewhere]).equals(_joined(codes, [elsewhere]))


@pytest.fixture(scope="module")
def tables():
    from huiqi.data.synthetic import generate

    return generate(600, seed=11)


@pytest.mark.parametrize("period", ["2024Q4", "2026Q3", "2024Q2", "2025Q1"])
@pytest.mark.parametrize("lazy", [False, True])
def test_enterprise_facts_side_columns_equal_the_left_joins(tables, period, lazy):
    """Every side column of enterprise_facts, all fields and none asked for, equals the reference joins."""
    given_tables = {k: (v.lazy() if lazy else v) for k, v in tables.items()}
    p = Period.parse(period)
    codes = tables["enterprises"]["credit_code"]
    sides, fills = facts_mod._side_facts(given_tables, p, None)
    sides = pl.collect_all(sides)
    expected = _joined(codes, sides).with_columns(pl.col(c).fill_null(False) for c in fills)
    built = facts_mod.enterprise_facts(given_tables, p)
    assert built.height == len(codes)
    assert built.select(expected.columns).equals(expected)
    assert any(built[c].null_count() < built.height for c in expected.columns)  # the sides did place values


def test_enterprise_facts_with_an_empty_register(tables):
    empty = {**tables, "enterprises": tables["enterprises"].clear()}
    built = facts_mod.enterprise_facts(empty, Period.parse("2024Q4"))
    assert built.height == 0
    assert built.columns == facts_mod.enterprise_facts(tables, Period.parse("2024Q4")).columns


def test_placed_keeps_register_rows_with_a_repeated_code():
    codes = pl.Series("credit_code", ["B", "A", "B", None])
    side = pl.DataFrame({"credit_code": ["B", None], "d": [date(2024, 1, 1), date(2025, 1, 1)]})
    assert facts_mod._placed(codes, [side])["d"].to_list() == [date(2024, 1, 1), None, date(2024, 1, 1), None]


def _owners_joined(projects: pl.DataFrame, owners: pl.DataFrame) -> pl.DataFrame:
    """The reference: the owners among the register (semi join), then a left join (the path before FACTS2-3)."""
    among = owners.join(projects.select("credit_code").unique(), on="credit_code", how="semi", maintain_order="left")
    return projects.join(among, on="credit_code", how="left", maintain_order="left")


@settings(max_examples=300, deadline=None)
@given(owned=st.lists(CODES, max_size=10), register=st.lists(CODES, max_size=10))
def test_project_owners_equal_the_semi_and_left_join(owned, register):
    """Projects sharing an owner, owners not in the register, null codes, and a register listing a code twice (the
    project's row repeated per register row, in register order, as the join gave)."""
    projects = pl.DataFrame({"project_id": [f"P{i}" for i in range(len(owned))],
                             "credit_code": pl.Series(owned, dtype=pl.String)})
    owners = pl.DataFrame({"credit_code": pl.Series(register, dtype=pl.String),
                           "_owner": [f"企业{i}" for i in range(len(register))],
                           "sector": [None if i % 3 else f"S{i}" for i in range(len(register))]})
    assert facts_mod._with_owners(projects, owners).equals(_owners_joined(projects, owners))


@pytest.mark.parametrize("period", ["2024Q4", "2026Q3"])
def test_project_facts_equal_a_build_on_the_reference_owners(tables, period, monkeypatch):
    """project_facts on generated data, all fields and the fields a run reads, equals the build with the old join."""
    from huiqi.engine.evaluate import RuleSet

    ruleset = RuleSet()
    needed = ruleset.fields_read(period, "project", ruleset.resolve_parameters(None), None)
    built = [facts_mod.project_facts(tables, period), facts_mod.project_facts(tables, period, needed)]
    monkeypatch.setattr(facts_mod, "_with_owners", _owners_joined)
    reference = [facts_mod.project_facts(tables, period), facts_mod.project_facts(tables, period, needed)]
    for b, r in zip(built, reference):
        assert b.height and b["name"].null_count() < b.height
        assert b.equals(r)
