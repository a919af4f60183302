"""The faster screening paths of docs/decisions.md SCREEN-1…4 give what the paths they replace give.

- listed rows with the identity columns gathered once (SCREEN-1) equal the per-row reference, also where a
  measure's condition reads an identity column (行业: gx2024q4-08) and the facts leave fields unknown;
- ``entity_order`` by an unstable sort with the row number as the last key (SCREEN-2) is the stable rank (also
  covered by the hypothesis test in test_explain_vector.py); here with many duplicate IDs;
- ``status_counts`` by one select over the status Enum columns (SCREEN-4) equals the group-by per measure;
- the projects' owners semi-joined first equal a plain left join onto the register, duplicates included.
"""

from __future__ import annotations

import random

import polars as pl
import pytest
from hypothesis import given, settings, strategies as st

from huiqi.data.synthetic import PERIODS
from huiqi.engine.allocate import AllocationOptions, allocate_wide, status_counts
from huiqi.engine.evaluate import STATUS_DTYPE, col
from huiqi.services import facts as facts_mod, screening
from huiqi.services.calculator import default_ruleset
from tests.test_explain_vector import _facts, _named

IDENTITY = {"entity_id", *screening.DISPLAY}


@pytest.fixture(scope="module")
def ruleset():
    return default_ruleset()


@pytest.fixture(scope="module")
def demo():
    from huiqi.data.synthetic import generate

    return generate(1_500, seed=23)


def _with_display(ev):
    """The display columns a screening run carries, where generated facts lack them (as nulls)."""
    for side in ("frame", "inputs"):
        frame = getattr(ev, side)
        setattr(ev, side, frame.with_columns(*(pl.lit(None, dtype=pl.String).alias(c) for c in screening.DISPLAY
                                               if c not in frame.columns)))
    return ev


def test_listed_rows_where_a_condition_reads_an_identity_column(ruleset):
    """gx2024q4-08 reads 行业 (sector) beside the 重点企业 list: a row undecided for want of the list, with its sector
    known, must not be told its sector is missing (it was, when the identity columns were blanked per measure)."""
    combos = [(period, entity) for period in PERIODS for entity in ("enterprise", "project", "county")
              if any(cm.fields & IDENTITY for cm in ruleset.plan(period, entity, ruleset.resolve_parameters(None)))]
    assert ("2024Q4", "enterprise") in combos
    rng = random.Random(17)
    checked = 0
    for period, entity in combos:
        plan = ruleset.plan(period, entity, ruleset.resolve_parameters(None))
        frame = _facts(rng, ruleset, plan, 400)
        # fields unknown at several rates, so every pattern of absent fields occurs; identity columns stay known
        frame = frame.with_columns([pl.when(pl.int_range(pl.len()) % (2 + i % 4) == 0).then(None).otherwise(pl.col(c))
                                    .alias(c) for i, c in enumerate(frame.columns) if c not in IDENTITY])
        ev = _with_display(ruleset.evaluate(frame, period, entity=entity, keep=["entity_id"]))
        wide = allocate_wide(ev, AllocationOptions())
        named = [pl.lit(entity).alias("entity")]
        for list_pending in (True, False):
            fast = screening.listed_rows(ev, wide, True, named, list_pending)
            slow = screening.listed_rows(ev, wide, True, named, list_pending, by_pattern=False)
            assert fast.schema == slow.schema and fast.equals(slow), (period, entity, list_pending)
            bare = screening.listed_rows(ev, wide, False, named, list_pending)
            assert bare.equals(slow.drop("missing", "pending")), (period, entity, list_pending)
            checked += fast.filter(pl.col("missing").is_not_null()).height
    assert checked > 100


def test_listed_rows_on_a_register_with_unknown_names_and_counties(ruleset, demo):
    """The identity columns gathered once: null names, sectors and counties come through as nulls, row for row as
    the per-row reference, every period of the generated register."""
    rng = random.Random(3)
    tables = dict(demo)
    ent = tables["enterprises"]
    holes = pl.Series([rng.random() < 0.1 for _ in range(ent.height)])
    tables["enterprises"] = ent.with_columns(pl.when(holes).then(None).otherwise(pl.col(c)).alias(c)
                                             for c in ("name", "sector", "county_code"))
    for period in PERIODS[::2]:
        run = screening.screen(tables, period, ruleset=ruleset, explain=False, data_hash="x")
        for entity, ev in run.evaluations.items():
            wide = allocate_wide(ev, AllocationOptions())
            named = _named(tables, entity)
            fast = screening.listed_rows(ev, wide, True, named, False)
            slow = screening.listed_rows(ev, wide, True, named, False, by_pattern=False)
            assert fast.equals(slow), (period, entity)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["A", "B", "AB", "a", "", "91450", "914501", "Z" * 20]), max_size=300))
def test_entity_order_with_duplicate_ids_is_the_ordinal_rank(ids):
    s = pl.Series(ids, dtype=pl.String)
    assert screening.entity_order(s).cast(pl.UInt32).to_list() == s.rank("ordinal").cast(pl.UInt32).to_list()


def test_status_counts_equal_the_group_by_per_measure(ruleset, demo):
    """One select over the Enum status columns gives the frame the group-by path gives (status columns as text
    take that path), every period and entity type, nulls included."""
    compared = 0
    for period in PERIODS:
        run = screening.screen(demo, period, ruleset=ruleset, explain=False, data_hash="x")
        for ev in run.evaluations.values():
            fast = status_counts(ev)
            statuses = [col(cm.id, "status") for cm in ev.plan]
            ev.frame = ev.frame.with_columns(pl.col(c).cast(pl.String) for c in statuses)
            assert fast.equals(status_counts(ev)), period
            # a status left null (as a partition's frame could hold) is counted as the group-by counts it
            ev.frame = ev.frame.with_columns(pl.when(pl.int_range(pl.len()) % 7 == 0).then(None)
                                             .otherwise(pl.col(statuses[0])).alias(statuses[0]))
            with_nulls = status_counts(ev)
            ev.frame = ev.frame.with_columns(pl.col(c).cast(STATUS_DTYPE) for c in statuses)
            assert status_counts(ev).equals(with_nulls), period
            compared += fast.height
    assert compared > 500


def test_project_owners_equal_a_left_join_onto_the_register(demo):
    """Owners semi-joined to the projects' codes first: the same facts as the plain left join, also when the
    register lists an enterprise twice (each project then listed once per register row, as before)."""
    tables = dict(demo)
    ent = tables["enterprises"]
    owner = tables["projects"]["credit_code"][0]
    tables["enterprises"] = pl.concat([ent, ent.filter(pl.col("credit_code") == owner).with_columns(
        pl.lit("另一名称").alias("name"))])
    for tabs in (demo, tables):
        got = facts_mod.project_facts(tabs, "2024Q4")
        ref = tabs["projects"].join(tabs["enterprises"].select("credit_code", pl.col("name").alias("_owner"),
                                                               pl.col("sector").alias("_sector")),
                                    on="credit_code", how="left", maintain_order="left")
        assert got.height == ref.height
        assert got["name"].to_list() == [f"{o or ''}：{n}" for o, n in zip(ref["_owner"], ref["name"])]
        assert got["sector"].to_list() == ref["_sector"].to_list()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["m1", "m2", "m3", "m4"]), st.sampled_from(["符合", "待补充信息", "参数待定"]),
                          st.sampled_from([None, "待定：甲", "待定：乙"])), max_size=60),
       st.booleans())
def test_constant_reasons_equal_the_lookup_per_row(rows, grouped):
    """The yes/no sentence per run of one measure ID (SCREEN-7) is the per-row lookup, in any row order."""
    frame = pl.DataFrame(rows, schema={"measure_id": pl.String, "status": pl.String, "pending": pl.String},
                         orient="row")
    if grouped:
        frame = frame.sort("measure_id", maintain_order=True)
    constant = {"m1": "满足：甲。", "m3": ""}
    lookup = frame.select(pl.when(pl.col("status") == "符合")
                          .then(pl.col("measure_id").replace_strict(constant, default=None, return_dtype=pl.String))
                          .otherwise(pl.col("pending")).alias("reason")).to_series()
    assert screening._constant_reasons(frame, constant).equals(lookup)
