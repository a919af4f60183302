"""EXCEL (issue 9): the faster award-list writer gives the officer the same workbook as the writer it replaced
(tests/award_list_reference.py) — every sheet, cell value, number format, font, fill, border and alignment, merged
range, column width, row height, frozen pane, print setting and document property — and the vectorised 万元 / 元
equal the scalar ``wan2`` / ``yuan`` exactly."""

from __future__ import annotations

from decimal import Decimal

import openpyxl
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.award_list_reference import _in_order as reference_in_order
from tests.award_list_reference import write_excel as reference_excel
from huiqi.services import award_list
from huiqi.services.screening import screen

GATES_004 = {"lz2026q3_law_abiding": True, "lz2026q3_sound_financial_system": True,
             "lz2026q3_good_accounting_credit": True, "lz2026q3_good_tax_credit": True,
             "lz2026q3_violates_joint_punishment": False, "lz2026q3_materials_falsified": False}


@pytest.fixture(scope="module")
def demo_tables():
    from huiqi.data.synthetic import generate

    return generate(3_000, seed=2024)  # `huiqi demo-data`'s seed


@pytest.fixture(scope="module")
def runs(demo_tables):
    """The demo data's 2024Q4 run (paid sheets, 参数待定 listed and counted), and a 2026Q3 run with stated
    assumptions (the 测算假定 block on 汇总)."""
    return {"demo": screen(demo_tables, "2024Q4"),
            "counted": screen(demo_tables, "2024Q4", list_pending=False),
            "assumed": screen(demo_tables, "2026Q3", assume=GATES_004)}


def _style(cell) -> tuple:
    f, a, b = cell.font, cell.alignment, cell.border
    return (cell.number_format, f.name, f.sz, f.b, cell.fill.fgColor.rgb, a.horizontal, a.vertical, a.wrap_text,
            b.left.style, b.top.style)


def _snapshot(path) -> dict:
    """Everything an officer sees of a workbook, as plain data."""
    wb = openpyxl.load_workbook(path)
    sheets = {}
    for ws in wb.worksheets:
        cells = {(c.row, c.column): (c.value, c.data_type, *_style(c)) for row in ws.iter_rows() for c in row
                 if c.value is not None or c.has_style}
        sheets[ws.title] = {
            "cells": cells,
            "merged": sorted(str(r) for r in ws.merged_cells.ranges),
            "widths": {k: d.width for k, d in ws.column_dimensions.items()},
            "heights": {k: d.height for k, d in ws.row_dimensions.items() if d.height is not None},
            "freeze": ws.freeze_panes,
            "print": (ws.page_setup.orientation, ws.page_setup.paperSize, ws.page_setup.fitToWidth,
                      ws.page_setup.fitToHeight, ws.sheet_properties.pageSetUpPr.fitToPage, str(ws.print_title_rows)),
        }
    props = wb.properties
    return {"sheets": list(sheets), "content": sheets,
            "props": (props.title, props.creator, props.created, props.description)}


def _assert_same(new_path, old_path):
    new, old = _snapshot(new_path), _snapshot(old_path)
    assert new["sheets"] == old["sheets"]
    assert new["props"] == old["props"]
    for name in old["sheets"]:
        n, o = new["content"][name], old["content"][name]
        assert n["cells"].keys() == o["cells"].keys(), name
        diff = [(k, n["cells"][k], o["cells"][k]) for k in o["cells"] if n["cells"][k] != o["cells"][k]]
        assert not diff, (name, diff[:5])
        for key in ("merged", "widths", "heights", "freeze", "print"):
            assert n[key] == o[key], (name, key)


@pytest.mark.parametrize("which", ["demo", "counted", "assumed"])
@pytest.mark.parametrize("per_enterprise", [False, True])
def test_workbook_equals_the_previous_writer_cell_by_cell(runs, which, per_enterprise, tmp_path):
    run = runs[which]
    if which == "demo":
        assert run.paid().height > 0 and run.missing_fields is not None and run.missing_fields.height > 0
    if which == "counted":
        assert run.pending_fields is not None and run.pending_fields.height > 0
    if which == "assumed":
        assert run.manifest.get("assumptions")
    new = award_list.write_excel(run, tmp_path / "new.xlsx", per_enterprise=per_enterprise)
    old = reference_excel(run, tmp_path / "old.xlsx", per_enterprise=per_enterprise)
    _assert_same(new, old)


def test_workbook_equals_the_previous_writer_with_gaps_in_names_and_notes(runs, tmp_path):
    """Missing or empty names and credit codes fall back to the entity ID, a missing reason reads as empty, an
    allocation note is bracketed, a missing indicator is a blank cell — as before."""
    run = runs["demo"]
    results = run.results
    paid = run.paid()
    ids = paid["entity_id"].unique().sort().to_list()[:8]
    pick = pl.col("entity_id").is_in(ids)
    results = results.with_columns(
        pl.when(pick & (pl.col("entity_id") == ids[0])).then(pl.lit("")).otherwise(pl.col("name")).alias("name"),
        pl.when(pick & (pl.col("entity_id") == ids[1])).then(None).otherwise(pl.col("credit_code"))
        .alias("credit_code"),
        pl.when(pick & (pl.col("entity_id") == ids[2])).then(None).otherwise(pl.col("reason")).alias("reason"),
        pl.when(pick & (pl.col("entity_id") == ids[3])).then(pl.lit("按比例分配")).otherwise(pl.col("allocation_note"))
        .alias("allocation_note"),
        pl.when(pick & (pl.col("entity_id") == ids[4])).then(None).otherwise(pl.col("county_name"))
        .alias("county_name"))
    from dataclasses import replace

    ev = run.evaluations["enterprise"]
    facts = ev.inputs
    money = [c for c, t in facts.schema.items() if t.is_integer() and c != "entity_id"][:40]
    facts = facts.with_columns(pl.when(pl.col("entity_id").is_in(ids[5:])).then(None).otherwise(pl.col(c)).alias(c)
                               for c in money)
    changed = replace(run, results=results, evaluations={**run.evaluations, "enterprise": replace(ev, inputs=facts)})
    _assert_same(award_list.write_excel(changed, tmp_path / "new.xlsx"),
                 reference_excel(changed, tmp_path / "old.xlsx"))


FEN = st.integers(min_value=-10**15, max_value=10**15)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.none(), FEN, st.integers(-20_000, 20_000).map(lambda k: k * 5_000)), max_size=30))
def test_vectorised_wan_and_yuan_equal_the_scalar_ones(values):
    """Half-up at exactly half a hundredth (multiples of 5,000 分), negatives (-0.0 for a small one), nulls."""
    frame = pl.DataFrame({"fen": values}, schema={"fen": pl.Int64})
    out = frame.select(award_list.wan2_expr(pl.col("fen")).alias("w"), award_list.yuan_expr(pl.col("fen")).alias("y"))
    for fen, w, y in zip(values, out["w"].to_list(), out["y"].to_list()):
        expect_w, expect_y = award_list.wan2(fen), award_list.yuan(fen)
        assert (w, y) == (expect_w, expect_y)
        if w is not None:
            assert repr(w) == repr(expect_w)  # the same float, sign of zero too
            assert Decimal(repr(w)) == Decimal(repr(expect_w))


KEY_ROWS = st.lists(st.tuples(st.sampled_from(["enterprise", "project", "county", "other", None]),
                              st.sampled_from(["a", "b", None]), st.sampled_from(["1", "2", "10", None])),
                    max_size=12)


@settings(max_examples=300, deadline=None)
@given(KEY_ROWS)
def test_order_check_answers_as_before(rows):
    """The order check with its keys computed once says what the one-expression check said, nulls included."""
    frame = pl.DataFrame(rows, schema={"entity": pl.String, "measure_id": pl.String, "entity_id": pl.String},
                         orient="row")
    rank = pl.col("entity").replace_strict(award_list.ENTITY_ORDER, list(range(3)), default=3, return_dtype=pl.Int8)
    keys = [rank, pl.col("entity"), pl.col("measure_id"), pl.col("entity_id")]
    assert award_list._in_order(frame, keys) == reference_in_order(frame, keys)
