"""The side tables' stored register row (`enterprise_index`, docs/decisions.md FACTS4): the preparation step writes it
without touching anything else and leaves a correct one alone; the facts built through it equal the facts built by
looking the codes up (same values, same order) on hypothesis tables and on generated data; and an index that does
not fit the register read (edited after preparation, a slice of it, codes added since) is refused, never used."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from huiqi.core.periods import Period
from huiqi.data.panel import INDEX, SIDE_TABLES, register_index, write_side_indexes
from huiqi.data.synthetic import SCHEMAS, read_parquet
from huiqi.services import facts as facts_mod
# the drawn side rows and the outcome (a refusal's message, or the frame built) of test_facts3
from tests.test_facts3 import _outcome, side_rows

PERIODS = ["2024Q4", "2024Q2", "2026Q3", "2024", "2025Q1"]


def _grouped_side(rows: pl.DataFrame, index: int) -> facts_mod._Side:
    return facts_mod._Side(rows.lazy(), (
        pl.lit(True).alias(f"held{index}"),
        pl.when(pl.col("fen").is_null().any()).then(None).otherwise(pl.col("fen").sum()).alias(f"cost{index}"),
        pl.col("day").max().alias(f"latest{index}")))


def _row_side(rows: pl.DataFrame, index: int) -> facts_mod._Side:
    return facts_mod._Side(rows.lazy(), (pl.col("fen").alias(f"fen{index}"),
                                         (pl.col("day") > date(2024, 6, 30)).alias(f"late{index}")), grouped=False)


@st.composite
def indexes(draw, register: pl.Series, codes: pl.Series) -> pl.Series:
    """An index for ``codes``: the one preparation writes for ``register``, or one that no longer fits it."""
    right = register_index(register, codes)
    how = draw(st.sampled_from(["right", "right", "random", "shifted", "nulled"]))
    if how == "random":  # rows of another register (out of range too)
        values = draw(st.lists(st.one_of(st.none(), st.integers(0, 12)), min_size=len(codes), max_size=len(codes)))
        return pl.Series(INDEX, values, dtype=pl.UInt32)
    if how == "shifted":  # a row inserted at the top of the register after preparation
        return right + 1
    if how == "nulled":  # a code added to the register after preparation
        return right.scatter([i for i in range(len(right)) if draw(st.booleans())], None) if len(right) else right
    return right


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(register=st.lists(st.sampled_from(["A", "B", "C", "D", None]), max_size=10), data=st.data(),
       kinds=st.lists(st.booleans(), min_size=1, max_size=4))
def test_indexed_sides_equal_looked_up_sides(register, data, kinds):
    codes = pl.Series("credit_code", register, dtype=pl.String)
    plain, indexed = [], []
    for i, grouped in enumerate(kinds):
        rows = data.draw(side_rows(unique=not grouped and data.draw(st.booleans())))
        if data.draw(st.booleans()):  # some sides carry the index, others not
            rows_indexed = rows.with_columns(data.draw(indexes(codes, rows.get_column("credit_code"))))
        else:
            rows_indexed = rows
        make = _grouped_side if grouped else _row_side
        plain.append(make(rows, i))
        indexed.append(make(rows_indexed, i))
    built = _outcome(lambda: facts_mod._side_columns(codes, indexed))
    expected = _outcome(lambda: facts_mod._side_columns(codes, plain))
    reference = _outcome(lambda: facts_mod._placed(codes, pl.collect_all([s.by("credit_code") for s in plain])))
    if isinstance(reference, str):
        assert built == expected == reference  # the same refusal, naming the same columns
    else:
        assert built.equals(expected) and built.equals(reference)
        assert built.schema == reference.schema


def _frame(codes, index) -> pl.DataFrame:
    return pl.DataFrame({"credit_code": pl.Series(codes, dtype=pl.String), INDEX: pl.Series(index, dtype=pl.UInt32)})


@pytest.mark.parametrize(("register", "codes", "index", "trusted"), [
    (["A", "B", "C"], ["C", "A", "Z"], [2, 0, None], True),
    (["X", "A", "B", "C"], ["C", "A"], [2, 0], False),    # a row inserted above: every index points one too high
    (["A", "B"], ["B", "C"], [1, 2], False),                # a slice of the register (a partition): out of range
    (["A", "B", "C"], ["C", "A"], [2, None], False),       # A was added to the register after preparation
    (["A", "B", "C"], [None, "A"], [1, 0], False),          # a null code matches nothing, whatever its index
    (["A", "B", "C"], [None, "A"], [None, 0], True),
    (["A", "B", "C"], [], [], True),                        # an empty side
])
def test_an_index_is_trusted_only_if_every_row_fits(register, codes, index, trusted):
    reg = pl.Series("credit_code", register, dtype=pl.String)
    [at] = facts_mod._fitting_indexes(reg, [_frame(codes, index)])
    assert (at is not None) == trusted
    if trusted:
        assert at.to_list() == register_index(reg, pl.Series(codes, dtype=pl.String)).to_list()


def test_a_register_listing_a_code_twice_is_not_indexed():
    assert facts_mod._distinct_hashes(pl.Series(["A", "B", "A"])) is None
    assert facts_mod._distinct_hashes(pl.Series(["A", None, None])) is None
    assert facts_mod._distinct_hashes(pl.Series(["A", "B"])) is not None
    assert facts_mod._fitting_indexes(pl.Series(["A", "B", "A"]), [_frame(["B"], [1])]) == [None]


def test_a_fitting_index_skips_the_lookup(monkeypatch):
    register = pl.Series("credit_code", ["A", "B", "C"])
    rows = _frame(["C", "A", "C"], [2, 0, 2]).with_columns(pl.Series("fen", [1, 2, 3]), pl.lit(None, pl.Date).alias("day"))
    expected = facts_mod._side_columns(register, [_grouped_side(rows.drop(INDEX), 0)])

    def no_lookup(*_):
        raise AssertionError("looked up although the index fits")

    monkeypatch.setattr(facts_mod, "_register_rows", no_lookup)
    assert facts_mod._side_columns(register, [_grouped_side(rows, 0)]).equals(expected)


# ------------------------------------------------------------------------------------------- generated data


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    from tests.synthetic_dirs import panel_directory  # write_panel stores the side tables' index too

    return panel_directory(tmp_path_factory.mktemp("prepared"), 3_000, 11)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """`huiqi demo-data`'s tables (10,000 enterprises, seed 2024), prepared for scale."""
    from tests.synthetic_dirs import panel_directory

    return panel_directory(tmp_path_factory.mktemp("demo"), 10_000, 2024)


def _scanned(directory: Path) -> dict:
    from huiqi.interfaces.cli_common import SCREEN_SCANS, load_tables

    return load_tables(directory, None, scan=SCREEN_SCANS)


def _without_index(tables: dict) -> dict:
    return {name: t.drop(INDEX) if INDEX in t.collect_schema().names() else t for name, t in tables.items()}


def test_preparation_stores_the_index_in_every_side_table(prepared):
    register = pl.read_parquet(prepared / "enterprises.parquet").get_column("credit_code")
    for name in SIDE_TABLES:
        table = pl.read_parquet(prepared / f"{name}.parquet")
        assert table.columns[-1] == INDEX and table.schema[INDEX] == pl.UInt32
        assert table.get_column(INDEX).equals(register_index(register, table.get_column("credit_code")))
        known = table.filter(pl.col(INDEX).is_not_null())
        assert register.gather(known.get_column(INDEX)).equals(known.get_column("credit_code"), check_names=False)
    # the data model's own reader does not see it
    assert all(list(frame.columns) == list(SCHEMAS[name]) for name, frame in read_parquet(prepared).items())


def test_preparation_is_idempotent_and_keeps_rows_and_row_groups(prepared, tmp_path):
    import shutil

    copy = Path(shutil.copytree(prepared, tmp_path / "copy"))
    before = {p.name: p.read_bytes() for p in copy.glob("*.parquet")}
    assert write_side_indexes(copy) == []
    assert {p.name: p.read_bytes() for p in copy.glob("*.parquet")} == before  # a correct index is left alone
    # a stale index (the register edited: its first row dropped) is rewritten, the rest of each file as it was
    register = pl.read_parquet(copy / "enterprises.parquet")
    register.slice(1).write_parquet(copy / "enterprises.parquet")
    groups = {name: pq.ParquetFile(copy / f"{name}.parquet").metadata.num_row_groups for name in SIDE_TABLES}
    assert sorted(write_side_indexes(copy)) == sorted(SIDE_TABLES)
    for name in SIDE_TABLES:
        old = pl.read_parquet(prepared / f"{name}.parquet").drop(INDEX)
        new = pl.read_parquet(copy / f"{name}.parquet")
        assert new.drop(INDEX).equals(old)
        assert new.get_column(INDEX).equals(register_index(register.slice(1).get_column("credit_code"),
                                                           new.get_column("credit_code")))
        assert pq.ParquetFile(copy / f"{name}.parquet").metadata.num_row_groups == groups[name]
    assert not list(copy.glob("*.tmp"))


@pytest.mark.parametrize("period", PERIODS)
@pytest.mark.parametrize("directory", ["prepared", "demo"])
def test_facts_through_the_index_equal_the_lookup(directory, period, request):
    from huiqi.services.calculator import default_ruleset

    tables = _scanned(request.getfixturevalue(directory))
    plain = _without_index(tables)
    ruleset = default_ruleset()
    resolved = ruleset.resolve_parameters(None)
    for entity, build in (("enterprise", facts_mod.enterprise_facts), ("project", facts_mod.project_facts)):
        for fields in (ruleset.fields_read(period, entity, resolved, None), None):
            built, expected = build(tables, period, fields), build(plain, period, fields)
            assert built.equals(expected), (entity, period)
            assert built.columns == expected.columns and INDEX not in built.columns
    eager = {name: t.collect() if isinstance(t, pl.LazyFrame) else t for name, t in tables.items()}
    assert facts_mod.enterprise_facts(eager, period).equals(facts_mod.enterprise_facts(plain, period))


def test_prepared_data_takes_the_index(prepared, monkeypatch):
    tables = _scanned(prepared)
    expected = facts_mod.enterprise_facts(_without_index(tables), "2024Q4")
    expected_projects = facts_mod.project_facts(_without_index(tables), "2024Q4")

    def no_lookup(*_):
        raise AssertionError("looked up although the index fits")

    monkeypatch.setattr(facts_mod, "_register_rows", no_lookup)
    monkeypatch.setattr(facts_mod, "_rows_of", no_lookup)
    assert facts_mod.enterprise_facts(tables, "2024Q4").equals(expected)
    assert facts_mod.project_facts(tables, "2024Q4").equals(expected_projects)


def test_an_edited_register_is_not_trusted(prepared):
    """The register changed after preparation — a row inserted at the top, the order reversed, a slice (as a
    partition holds) — the facts are those of the lookup by code, never the stale rows'."""
    tables = _scanned(prepared)
    register = tables["enterprises"].collect()
    extra = register.head(1).with_columns(pl.lit("91450000NEWCODE001").alias("credit_code"))
    for edited in (pl.concat([extra, register]), register.reverse(), register.slice(1_000, 900)):
        changed = {**tables, "enterprises": edited.lazy()}
        for period in ("2024Q4", "2026Q3"):
            expected = facts_mod.enterprise_facts(_without_index(changed), period)
            assert facts_mod.enterprise_facts(changed, period).equals(expected)
            assert facts_mod.project_facts(changed, period).equals(facts_mod.project_facts(
                _without_index(changed), period))


def test_empty_sides_with_an_index(prepared):
    tables = _scanned(prepared)
    emptied = {name: (t.head(0) if name in SIDE_TABLES else t) for name, t in tables.items()}
    for period in ("2024Q4", "2024"):
        assert facts_mod.enterprise_facts(emptied, period).equals(
            facts_mod.enterprise_facts(_without_index(emptied), period))
    assert Period.parse("2024Q4").quarter  # the events' sides are built for a quarter


def test_preparation_of_empty_tables_and_a_register_listing_a_code_twice(tmp_path):
    pl.DataFrame({"credit_code": ["A", "B", "A", None]}, schema={"credit_code": pl.String}) \
        .write_parquet(tmp_path / "enterprises.parquet")
    pl.DataFrame(schema=dict(SCHEMAS["designations"])).write_parquet(tmp_path / "designations.parquet")  # no group
    pl.DataFrame({"credit_code": ["A", None, "C", "B"], "kind": "失信联合惩戒", "date": date(2024, 1, 1),
                  "serious": True}).write_parquet(tmp_path / "credit_records.parquet")
    assert write_side_indexes(tmp_path) == ["designations", "credit_records"]
    assert write_side_indexes(tmp_path) == []
    assert pl.read_parquet(tmp_path / "designations.parquet").columns == [*SCHEMAS["designations"], INDEX]
    # a repeated code gets its first row; a null or unknown code none
    assert pl.read_parquet(tmp_path / "credit_records.parquet").get_column(INDEX).to_list() == [0, None, None, 1]
