"""The explainer's wording as Polars columns: one select gives every row the text ``Explainer`` gives per row.

Nothing here words anything. :class:`TemplateExplainer` runs the same ``Explainer.describe`` with a placeholder
where the entity's value goes (``Explainer.shown`` / ``Explainer.current``, the only places the description reads
facts); :func:`template_column` turns the resulting text — literal pieces and placeholders — into one
``concat_str`` whose placeholders are columns formatted as ``Explainer.show`` formats a value. The formatting
works on the stored integers (分, or hundredths of a number), never through float, and is tested equal to the
Decimal formatting of huiqi.core.money and huiqi.engine.explain (tests/test_explain_vector.py).
"""

from __future__ import annotations

import polars as pl

from huiqi.engine.explain import _CLOSE, _OPEN, _SLOT, Explainer, Unsupported  # noqa: F401  (Unsupported re-exported)
from huiqi.rules.fields import FieldDef


class Slots:
    """Placeholders in a text and the column each stands for."""

    def __init__(self):
        self.exprs: list[pl.Expr] = []

    def add(self, expr: pl.Expr) -> str:
        self.exprs.append(expr)
        return f"{_OPEN}{len(self.exprs) - 1}{_CLOSE}"


def template_column(text: str, slots: Slots) -> pl.Expr:
    """A text with placeholders → one string column (null where any placeholder's column is null)."""
    pieces: list[pl.Expr] = []
    at = 0
    for m in _SLOT.finditer(text):
        if m.start() > at:
            pieces.append(pl.lit(text[at:m.start()]))
        pieces.append(slots.exprs[int(m[1])])
        at = m.end()
    if at < len(text):
        pieces.append(pl.lit(text[at:]))
    if not pieces:
        return pl.lit("")
    return pl.concat_str(pieces) if len(pieces) > 1 else pieces[0]


class TemplateExplainer(Explainer):
    """``Explainer`` whose entity values are placeholders for columns of a frame with the dictionary's fields.

    ``schema`` gives each field's Polars type; a field whose type or dtype has no exact column formatting raises
    :class:`Unsupported`."""

    def __init__(self, dictionary, library, params: dict, parameter_labels: dict[str, str],
                 schema: dict[str, pl.DataType], slots: Slots):
        super().__init__(dictionary, library, {}, params, parameter_labels)
        self.schema, self.slots = schema, slots

    def value(self, node):  # describe() reads values only through shown()/current(); anything else is per row
        raise Unsupported("a value outside the field slots")

    def shown(self, field: str) -> str:
        column = pl.col(field)
        return self.slots.add(pl.when(column.is_null()).then(pl.lit("未提供")).otherwise(self._show(field)))

    def current(self, field: str) -> str:
        column = pl.col(field)
        return self.slots.add(pl.when(column.is_null()).then(pl.lit("")).otherwise(
            pl.concat_str([pl.lit("（当前："), self._show(field), pl.lit("）")])))

    def _show(self, field: str) -> pl.Expr:
        if field not in self.schema:
            raise Unsupported(f"field {field} not in the frame")
        return show_column(self.dictionary[field], pl.col(field), self.schema[field])


def show_column(f: FieldDef, column: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """``Explainer.show`` of a non-null value, as a column."""
    if dtype == pl.Boolean:
        return pl.when(column).then(pl.lit("是")).otherwise(pl.lit("否"))
    if f.type in ("money", "number"):
        if not dtype.is_integer():
            raise Unsupported(f"{f.name}: {dtype}")
        if f.type == "money":
            return pl.concat_str([decimal_text(column, 6, 1_000_000), pl.lit("万元")])
        number = decimal_text(column, 2, 100)
        if f.unit == "名":
            return pl.concat_str([pl.lit("第"), number, pl.lit("名")])
        return pl.concat_str([number, pl.lit(f.unit)]) if f.unit else number
    if f.type == "date" and dtype == pl.Date:
        return pl.concat_str([column.dt.year().cast(pl.String), pl.lit("年"), column.dt.month().cast(pl.String),
                              pl.lit("月"), column.dt.day().cast(pl.String), pl.lit("日")])
    if f.type in ("text", "bool") and dtype == pl.String:
        return column
    raise Unsupported(f"{f.name}: {f.type} as {dtype}")


def decimal_text(column: pl.Expr, places: int, per_unit: int) -> pl.Expr:
    """An integer count of 1/``per_unit`` (per_unit = 10**places) as exact decimal text, trailing zeros dropped:
    1500000 分 at 6 places → '1.5'; 0 → '0'; negatives with '-' (what ``format(Decimal.normalize(), 'f')`` gives)."""
    magnitude = column.abs()
    whole = (magnitude // per_unit).cast(pl.String)
    fraction = (magnitude % per_unit).cast(pl.String).str.zfill(places).str.strip_chars_end("0")
    sign = pl.when(column < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.concat_str([sign, whole, pl.when(fraction == "").then(pl.lit("")).otherwise(
        pl.concat_str([pl.lit("."), fraction]))])


def yuan_column(fen: pl.Expr) -> pl.Expr:
    """Integer 分 → '300,000.00元' (huiqi.core.money.fmt_yuan: thousands separators, two decimals)."""
    magnitude = fen.abs()
    # thousands separators: group the reversed digits by three (Polars has no number formatting with grouping)
    digits = (magnitude // 100).cast(pl.String).str.reverse()
    grouped = digits.str.replace_all(r"(\d{3})", "${1},").str.strip_chars_end(",").str.reverse()
    cents = (magnitude % 100).cast(pl.String).str.zfill(2)
    sign = pl.when(fen < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.concat_str([sign, grouped, pl.lit("."), cents, pl.lit("元")])
