"""Rule tests: a measure of a 设区市 document (柳州) is gated on 所在县区 (RULES-1).

The clause tests here test a clause, not the jurisdiction: an entity whose facts do not say where it is, tested
against a 柳州市 document, is taken to be in 柳南区 (450204). The jurisdiction itself is tested in
test_jurisdiction.py, with and without 所在县区.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from huiqi.engine.evaluate import col
from huiqi.engine.inputs import facts_frame

LIUNAN = "450204"


def _located(ruleset, facts: dict, measure_ids) -> dict:
    if "county" in facts or "所在县区" in facts:
        return facts
    gated = any((ruleset.measures[m][1].rules.jurisdiction or None) and ruleset.measures[m][1].rules.jurisdiction.gated
                for m in measure_ids)
    return {**facts, "county": LIUNAN} if gated else facts


@pytest.fixture(scope="session")
def run(ruleset):
    """As tests/conftest.py's ``run``, the entity placed in 柳州 for a 柳州 document."""

    def _run(measure_id: str, facts: dict, period: str, params: dict | None = None, entity: str | None = None):
        measure, _ = ruleset.measures[measure_id]
        facts = _located(ruleset, facts, [measure_id])
        ev = ruleset.evaluate(facts_frame([facts]), period, entity=entity or measure.entity, params=params,
                              measures=[measure_id])
        row = ev.frame.row(0, named=True)
        amount = row.get(col(measure_id, "amount"))
        return row[col(measure_id, "status")], (None if amount is None else Decimal(amount) / 100)

    return _run


@pytest.fixture(scope="session")
def run_full(ruleset):
    """As tests/conftest.py's ``run_full``, the entity placed in 柳州 when a measure of a 柳州 document is run."""

    def _run(facts: dict, period: str, entity: str = "enterprise", params: dict | None = None, measures=None):
        ids = measures if measures is not None else [m.id for m, _ in ruleset.measures_for(period, entity)]
        ev = ruleset.evaluate(facts_frame([_located(ruleset, facts, ids)]), period, entity=entity, params=params,
                              measures=measures)
        return ev.frame.row(0, named=True)

    return _run
