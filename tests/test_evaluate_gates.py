"""Issue 9: a 设区市/县区 document's jurisdiction gate is computed once per area, not inside every measure."""

from __future__ import annotations

import polars as pl
import pytest

from huiqi.engine.evaluate import JURISDICTION_GATE_ID, SMALL_BATCH, RuleSet, col
from huiqi.engine.expressions import Compiler


@pytest.fixture(scope="module")
def rs():
    return RuleSet()


COUNTIES = ["450204", "柳南区", "柳州市柳南区", " 450202 ", "450102", "南宁市", "不存在的县", None]


@pytest.mark.parametrize("rows", [len(COUNTIES), SMALL_BATCH * 2])  # the eager and the lazy path
def test_gate_column_equals_in_region_as_written(rs, rows):
    """The gate evaluated from its per-area column gives what in_region(county, '<code>') as written gives, for
    codes, names, padded codes, unknown names (false) and an empty field (unknown)."""
    counties = (COUNTIES * (rows // len(COUNTIES) + 1))[:rows]
    frame = pl.DataFrame({"entity_id": [str(i) for i in range(rows)], "county": counties})
    checked = 0
    for cm in rs.plan("2026Q3", "enterprise", rs.resolve_parameters()):
        gates = [cc for cc in cm.conditions if cc.condition.id == JURISDICTION_GATE_ID]
        if not gates:
            continue
        got = rs.evaluate(frame, "2026Q3", measures=[cm.id]).frame[col(cm.id, f"c|{JURISDICTION_GATE_ID}")]
        written = Compiler(rs.dictionary, params={}, declared=frozenset(rs.parameters)).compile(gates[0].condition.when)
        assert got.to_list() == frame.select(written.polars()).to_series().to_list(), cm.id
        checked += 1
    assert checked > 0


def test_gate_is_one_column_per_area_not_a_lookup_per_measure(rs):
    """The compiled gate reads a column (no name lookup of its own), so the lookup runs once per area."""
    plan = rs.plan("2026Q3", "enterprise", rs.resolve_parameters())
    gates = [cc for cm in plan for cc in cm.conditions if cc.condition.id == JURISDICTION_GATE_ID]
    assert gates
    for cc in gates:
        assert cc.value.expr.meta.is_column() and "county" in cc.value.fields
