"""CSV files that a spreadsheet opens safely: no cell is taken for a formula (CSV/formula injection, issue 8).

A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula to Excel, WPS and
LibreOffice — an enterprise named ``=HYPERLINK(…)`` would run in an officer's spreadsheet. Such a cell gets a
leading apostrophe (OWASP's advice), which the spreadsheet shows as text. A cell that is just a number
("-12.50") is left alone: it is not a formula, and amounts must stay numbers.

Every CSV the product writes goes through :func:`write_csv`.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

FORMULA_START = r"^[=+\-@\t\r]"
_PLAIN_NUMBER = r"^[+-]?\d+(\.\d+)?$"


def neutralise_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every text cell that a spreadsheet would read as a formula prefixed with an apostrophe."""
    exprs = []
    for name, dtype in frame.schema.items():
        if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
            c = pl.col(name).cast(pl.String)
            risky = c.str.contains(FORMULA_START) & ~c.str.contains(_PLAIN_NUMBER)
            exprs.append(pl.when(risky).then(pl.lit("'") + c).otherwise(c).alias(name))
    return frame.with_columns(exprs) if exprs else frame


def write_csv(frame: pl.DataFrame, path: str | Path | None = None) -> str | None:
    """Write (or, without ``path``, return) ``frame`` as CSV with formulas neutralised."""
    safe = neutralise_formulas(frame)
    if path is None:
        return safe.write_csv()
    safe.write_csv(Path(path))
    return None
