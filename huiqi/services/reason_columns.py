"""The reason of a 符合 row of a money or facility measure, compiled once per measure into one Polars column.

The text is the calculator's (``calculator.met_text``/``computation_text``/``reason_text`` with the formula worded
by ``Explainer.describe``), rendered once per branch — the cap binding or not, the exclusive group's choice — with
placeholders for the per-row values (engine/explain_columns.py); a ``when/then`` picks the branch per row. A row
the column form does not cover (a condition that is not true, a null value) gets null, and a measure it cannot
compile (:class:`Unsupported`) gets None: the caller explains those per row (docs/decisions.md EXPLAIN-1).
"""

from __future__ import annotations

import math
from fractions import Fraction

import polars as pl

from huiqi.engine.evaluate import MET, CompiledMeasure, col
from huiqi.engine.explain import worded_formula
from huiqi.engine.explain_columns import Slots, TemplateExplainer, Unsupported, template_column, yuan_column
from huiqi.engine.expressions import parse
from huiqi.services.calculator import computation_text, met_text, reason_text


def compile_reason(cm: CompiledMeasure, dictionary, schema: dict[str, pl.DataType], library, params: dict,
                   parameter_labels: dict[str, str]) -> pl.Expr | None:
    """The reason of each row where the measure is 符合, over a frame of the evaluation's columns and the facts
    (``schema``: that frame's types); null on other rows and on rows to explain per row; None when the measure
    has no computation or its formula reads a value the column form cannot format."""
    if cm.measure.kind not in ("money", "facility"):
        return None
    slots = Slots()
    explainer = TemplateExplainer(dictionary, library, params, parameter_labels, schema, slots)
    try:
        return _compile(cm, explainer, slots)
    except Unsupported:
        return None


def _compile(cm: CompiledMeasure, explainer: TemplateExplainer, slots: Slots) -> pl.Expr:
    m = cm.measure
    status, computed, amount = (pl.col(col(m.id, w)) for w in ("status", "computed", "amount"))
    conditions = [pl.col(col(m.id, f"c|{cc.condition.id}")) for cc in cm.conditions]
    head = met_text([cc.condition.text for cc in cm.conditions])
    worded = worded_formula(explainer, m.amount)  # stored in the plan cache: no expression read (START2-1)
    formula = worded.render(explainer) if worded is not None else explainer.describe(parse(m.amount))
    computed_text, final_text = slots.add(yuan_column(computed)), slots.add(yuan_column(amount))

    # the branches: cap binding (a constant cap only) × the exclusive group's choice (None outside a group or
    # without an amount, as calculator._result decides it)
    if cm.cap is not None and cm.cap.is_const:
        cap_fen = Fraction(cm.cap.const) * 100
        caps = [(True, computed > math.floor(cap_fen)), (False, computed <= math.floor(cap_fen))]
    else:
        caps = [(False, pl.lit(True))]
    if cm.group is not None:
        chosen = (pl.col(f"group|{cm.group.id}") == m.id).fill_null(False)
        with_amount = pl.col(col(m.id, "amount")).is_not_null()
        choices = [(True, with_amount & chosen), (False, with_amount & ~chosen), (None, ~with_amount)]
    else:
        choices = [(None, pl.lit(True))]
    rivals = list(cm.rivals)

    def text(computation: str | None, selected) -> pl.Expr:
        return template_column(reason_text(head, computation, selected, rivals), slots)

    # 符合 with every condition true: the per-row text lists them all (other rows are left to the per-row path)
    covered = (status == MET) & (pl.all_horizontal(c.fill_null(False) for c in conditions) if conditions
                                 else pl.lit(True))
    out = pl.when(~covered).then(pl.lit(None, dtype=pl.String))
    for selected, chosen in choices:
        out = out.when(chosen & computed.is_null()).then(text(None, selected))
        for capped, binds in caps:
            words = computation_text(cm, formula, computed_text, capped, MET, final_text, selected)
            out = out.when(chosen & binds).then(text(words, selected))
    return out.otherwise(pl.lit(None, dtype=pl.String))
