"""The faster screening paths of docs/decisions.md SCREEN2-2, 3 and 5 give what the paths they replace give.

- a money or facility measure's amount tested by the conditions the status chain tests equals the amount tested by
  ``status == 符合`` (the former form, kept as ``amount_by_status``), every period and entity type, on generated
  facts with unknown fields and on hypothesis-drawn ones (SCREEN2-2);
- each measure's listed rows picked from the listed rows in entity order equal its rows filtered, then sorted by
  the entity order — duplicate and null IDs included — and the sorted neighbours' check equals ``n_unique``
  (SCREEN2-3);
- frames side by side by a horizontal concat equal `hstack`, and refuse other heights and repeated names
  (SCREEN2-5).
"""

from __future__ import annotations

import random
from fractions import Fraction

import polars as pl
import pytest
from hypothesis import given, settings, strategies as st

from huiqi.data.synthetic import PERIODS
from huiqi.engine import evaluate
from huiqi.services import screening
from huiqi.services.calculator import default_ruleset
from tests.test_explain_vector import _facts

ENTITIES = ("enterprise", "project", "county")


@pytest.fixture(scope="module")
def ruleset():
    return default_ruleset()


def _with_holes(frame: pl.DataFrame, rng: random.Random) -> pl.DataFrame:
    """Every column unknown at its own rate (none, some, most), so every status and missing pattern occurs."""
    return frame.with_columns(pl.when(pl.int_range(pl.len()) % rng.choice((2, 3, 5, 1_000_000)) == 0).then(None)
                              .otherwise(pl.col(c)).alias(c) for c in frame.columns if c != "entity_id")


def _scaled(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame again with every integer fact divided by 10, 100, …, 10⁴: amounts between 0 and a measure's minimum
    (低于5万元的不给予奖励) occur."""
    ints = [c for c, t in frame.schema.items() if t == pl.Int64]
    return pl.concat([frame, *(frame.with_columns(pl.col(ints) // 10**k) for k in range(1, 5))])


def _decided(ruleset) -> dict[str, object]:
    """A value for every parameter the rule files leave undecided (参数待定 holds every amount of its measure back):
    a rate of 1% (or its upper bound), 5万元, 3."""
    values = {"rate": "0.01", "money": "50000", "number": "3"}
    return {n: min(Fraction(values[p.kind]), Fraction(str(p.max))) if p.max is not None else values[p.kind]
            for n, p in ruleset.parameters.items() if p.default is None}


def _both_amounts(ruleset, frame: pl.DataFrame, period: str, entity: str,
                  params: dict | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The period's columns as evaluated, and with every amount written as ``status == 符合``."""
    plan, exprs = ruleset._planned(period, entity, ruleset.resolve_parameters(params), None)
    frame = evaluate._with_gates(ruleset.prepare(frame, plan).lazy(), plan)
    reference = [e for cm in plan for e in evaluate._measure_exprs(cm, amount_by_status=True)]
    return frame.select(exprs).collect(), frame.select(reference).collect()


def test_amount_by_conditions_equals_amount_by_status(ruleset):
    rng = random.Random(29)
    amounts = 0
    for period in PERIODS:
        for entity in ENTITIES:
            plan = ruleset.plan(period, entity, ruleset.resolve_parameters(None))
            if not plan:
                continue
            facts = _scaled(_with_holes(_facts(rng, ruleset, plan, 200), rng))
            for params in (None, _decided(ruleset)):
                fast, slow = _both_amounts(ruleset, facts, period, entity, params)
                assert fast.equals(slow), (period, entity, params is None)
                amounts += sum(fast[c].is_not_null().sum() for c in fast.columns if c.endswith("|amount"))
    assert amounts > 1_000  # paid amounts occur, not only nulls


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(PERIODS), st.sampled_from(ENTITIES))
def test_amount_by_conditions_equals_amount_by_status_on_drawn_facts(ruleset, seed, period, entity):
    plan = ruleset.plan(period, entity, ruleset.resolve_parameters(None))
    if plan:
        rng = random.Random(seed)
        facts = _scaled(_with_holes(_facts(rng, ruleset, plan, 20), rng))
        fast, slow = _both_amounts(ruleset, facts, period, entity, _decided(ruleset) if seed % 2 else None)
        assert fast.equals(slow)


def _reference_rows(ids: pl.Series, masks: list[list[bool]]) -> list[list[int]]:
    """The former way: each mask's row numbers, sorted by the listed rows' entity order (nulls first, row order)."""
    union = pl.Series([i for i in range(len(ids)) if any(m[i] for m in masks)], dtype=pl.UInt32)
    order = screening.listed_order(ids, union)
    out = []
    for m in masks:
        rows = pl.DataFrame({"row": [i for i in range(len(ids)) if m[i]]}, schema={"row": pl.UInt32})
        rows = rows.with_columns(order.gather(rows["row"]).alias("o")).sort("o", maintain_order=True)
        out.append(rows["row"].to_list())
    return out


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["A", "B", "AB", "a", "", "91450", "914501", "Z" * 20, None]),
                          st.lists(st.booleans(), min_size=4, max_size=4)), max_size=200),
       st.integers(1, 4))
def test_rows_in_entity_order_equal_each_measures_rows_sorted(rows, width):
    ids = pl.Series([i for i, _ in rows], dtype=pl.String)
    masks = [[m[k] for _, m in rows] for k in range(width)]
    frame = pl.LazyFrame({str(k): pl.Series(m, dtype=pl.Boolean) for k, m in enumerate(masks)})
    picked, listed, order = screening._rows_in_entity_order(frame, ids, [pl.col(str(k)) for k in range(width)])
    assert [p.to_list() for p in picked] == _reference_rows(ids, masks)
    union = [i for i in range(len(ids)) if any(m[i] for m in masks)]
    assert sorted(listed.to_list()) == union
    assert order.equals(screening.listed_order(ids, pl.Series(union, dtype=pl.UInt32)))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(["A", "B", "AB", "a", "", "914501", None]), max_size=50))
def test_distinct_in_order_is_n_unique_on_sorted_ids(ids):
    s = pl.Series(ids, dtype=pl.String).sort()
    expected = s.null_count() == 0 and s.n_unique() == len(s)
    assert screening._distinct_in_order(s) == expected


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 50), st.integers(1, 4), st.integers(1, 4))
def test_beside_equals_hstack(height, left, right):
    a = pl.DataFrame({f"a{k}": pl.int_range(height, eager=True) * k for k in range(left)})
    b = pl.DataFrame({f"b{k}": pl.int_range(height, eager=True).cast(pl.String) for k in range(right)})
    assert screening.beside(a, b).equals(a.hstack(b))
    assert screening.beside(a, b[:, :0]).equals(a.hstack(b[:, :0]))  # a frame without columns adds nothing


def test_beside_refuses_frames_of_other_heights_and_repeated_names():
    with pytest.raises(ValueError):
        screening.beside(pl.DataFrame({"a": [1, 2]}), pl.DataFrame({"b": [1]}))
    with pytest.raises(pl.exceptions.DuplicateError):
        screening.beside(pl.DataFrame({"a": [1]}), pl.DataFrame({"a": [2]}))
