"""A table body written into an xlsxwriter worksheet as XML built vectorised: what xlsxwriter's ``write_string`` /
``write_number`` / ``write_blank`` would have written for the same cells, byte for byte but for a number's text,
which is the shortest text of the same double rather than xlsxwriter's ``.16G`` (docs/decisions.md XLSX-1, XLSX2-1).
xlsxwriter costs ~5.8 µs of Python per cell; a measure sheet at a million enterprises has ~600k cells.

It relies on these xlsxwriter 3 internals of a worksheet in ``constant_memory`` mode, checked by :func:`usable`
(anything missing or different: the caller's per-cell path writes the frame instead):

- ``fh``: the open temp file (``row_data_fh``, UTF-8 text: written as bytes through its buffer after a flush)
  each finished row is appended to as ``<row>…</row>`` XML;
  ``previous_row``: the row still held in ``table`` (written when a later row starts); ``_write_single_row(r)``:
  writes that held row and makes ``r`` the held one. Rows are appended here after the held row is flushed the way
  xlsxwriter flushes it, and ``previous_row`` is left on the last row appended, with an empty ``table``.
- ``_check_dimensions(row, col)``: the sheet's used range (``<dimension>``), given the first and last cell.
- ``_write_row(row, None)``: the ``<row r="…">`` tag (captured once; attributes such as the default row height
  or Excel 2010's ``x14ac:dyDescent`` come from xlsxwriter); ``row_info`` / ``comments`` rows are left to it.
- ``Format._get_xf_index()``: a cell's ``s=`` style index, assigned on first use — so it is asked for in the
  order xlsxwriter would ask (after the held header row is flushed, then column by column).
- The cell XML of ``_write_cell``: ``<c r="B4" s="3" t="inlineStr"><is><t>…</t></is></c>`` for a string,
  ``<c r="F4" s="5"><v>…</v></c>`` for a number, ``<c r="E4" s="3"/>`` for a blank.

Strings that xlsxwriter would change (XML escaping, ``_xHHHH_`` control-character escaping, leading or trailing
white space, possible truncation at 32,767 UTF-16 units, a ``<r>`` rich string) are detected by an over-broad
regex and their whole row goes through xlsxwriter's own per-cell path — no escaping is re-implemented here.
Numbers are Polars' shortest round-trip text (:func:`_number_text`): 84624.9 where xlsxwriter writes
84624.89999999999, the same double; a cell's value is the frame's double bit for bit (xlsxwriter's 16 digits are not
always: 0.1 + 0.2 becomes 0.3). The last body row also goes through the per-cell path, so the worksheet's
state after the body (the held row, ``previous_row``, the used range) is exactly the per-cell path's.
"""

from __future__ import annotations

from io import StringIO, TextIOWrapper
from typing import Callable, Iterable, Sequence

import polars as pl
import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

# One row of a frame through the per-cell path: (rows, first row number) -> last row written.
PerCell = Callable[[Iterable[Sequence], int], int]

# Anything xlsxwriter's inline-string path might change, over-broad on purpose (tests/test_xlsx_rows.py checks
# every code point): XML specials (_escape_data), control characters and a literal "_x" (_escape_control_characters;
# U+FFFE/U+FFFF too), white space at either end (xml:space="preserve"; Python's \s also takes U+001C–U+001F,
# inside the control range here).
_NEEDS_XLSXWRITER = r"[&<>\x00-\x08\x0b-\x1f\x7f\x{fffe}\x{ffff}]|_x|^\s|\s$"
_STRING_LIMIT = 32_767  # xlsxwriter's xls_strmax: longer strings (in UTF-16 units) are truncated by write_string
_EXACT_INT = 2**53  # integers up to this are exact floats, so format(i, ".16G") == str(i) (below 1e16)
_PLAIN_DECIMAL = r"^-?[0-9]+(\.[0-9]+)?$"  # Polars' float text without an exponent (nor inf/NaN: not finite)
_ROW_NUMBER = "\x00row"  # the serialised chunk's row-number column: a name no frame column has (checked)
_CHUNK_ROWS = 20_000  # rows serialised at a time: bounds the XML held in memory
_INTERNALS = ("fh", "row_data_fh", "row_data_fh_closed", "previous_row", "table", "row_info", "comments",
              "_write_single_row", "_write_row", "_check_dimensions", "xls_rowmax", "xls_colmax")


def usable(ws, frame: pl.DataFrame, formats: Sequence, is_text: Sequence[bool], first: int) -> bool:
    """Whether the vectorised path can write ``frame`` at row ``first`` exactly as the per-cell path would: a
    verified xlsxwriter (major version 3) in constant_memory mode, its filehandle open, the body below the held
    row, inside the sheet, without row formats or comments of its own, every cell with a format, no column named as
    the serialiser's row number, and column types
    whose text the per-cell path would give the same way (text: strings, categoricals, integers; numbers:
    integers, floats)."""
    if not xlsxwriter.__version__.startswith("3.") or not all(hasattr(ws, name) for name in _INTERNALS):
        return False
    if not getattr(ws, "constant_memory", False) or ws.fh is not ws.row_data_fh or ws.row_data_fh_closed:
        return False
    last = first + frame.height - 1
    if first <= ws.previous_row or last >= ws.xls_rowmax or not 0 < frame.width == len(formats) <= ws.xls_colmax:
        return False
    if any(first <= r <= last for r in ws.row_info) or any(first <= r <= last for r in ws.comments):
        return False
    if not all(f is not None and hasattr(f, "_get_xf_index") for f in formats) or _ROW_NUMBER in frame.columns:
        return False
    return all(_text_dtype(dtype) if text else dtype.is_integer() or dtype.is_float()
               for dtype, text in zip(frame.schema.values(), is_text))


def _text_dtype(dtype: pl.DataType) -> bool:
    """Text whose Polars string is the per-cell path's ``str(value)``: strings, categoricals, integers (not floats:
    Polars writes 1e-7 where Python writes 1e-07)."""
    return dtype == pl.String or isinstance(dtype, (pl.Categorical, pl.Enum)) or dtype.is_integer()


def write_frame(ws, frame: pl.DataFrame, formats: Sequence, is_text: Sequence[bool], first: int,
                per_cell: PerCell) -> int:
    """Write ``frame`` (one column per sheet column, each cell in its column's format; text columns as strings,
    the others as numbers, a null as a formatted blank) from row ``first``; return the last row written. Falls
    back to ``per_cell`` for the whole frame when :func:`usable` says no."""
    n = frame.height
    usable_here = n >= 2 and usable(ws, frame, formats, is_text, first) and _numbers_usable(frame, is_text)
    row_tag = _row_tag(ws, first) if usable_here else None
    if row_tag is None:
        return per_cell(_rows(frame), first)
    ws._write_single_row(first)  # the held header row, as the first cell of row `first` would flush it
    styles = [f._get_xf_index() for f in formats]  # in column order, as the flushed first row would ask
    body = frame.slice(0, n - 1)  # the last row through per_cell: the sheet is left as the per-cell path leaves it
    for start in range(0, body.height, _CHUNK_ROWS):
        chunk = body.slice(start, _CHUNK_ROWS)
        xml, special = _serialise(chunk, styles, is_text, first + start, row_tag)
        done = 0
        for i in [*special, chunk.height]:
            if i > done:
                _append(ws, xml.slice(done, i - done), first + start + done, first + start + i - 1, frame.width)
            if i < chunk.height:
                per_cell(_rows(chunk.slice(i, 1)), first + start + i)
            done = i + 1
    return per_cell(_rows(frame.slice(n - 1)), first + n - 1)


def _rows(frame: pl.DataFrame) -> Iterable[tuple]:
    """A frame's rows as tuples, read one ``to_list`` per column (cheaper than ``iter_rows``)."""
    return zip(*(s.to_list() for s in frame.get_columns()))


def _numbers_usable(frame: pl.DataFrame, is_text: Sequence[bool]) -> bool:
    """No NaN or infinity in a number column (xlsxwriter refuses them or writes an error formula)."""
    checks = [pl.col(c).is_finite().all() for c, text in zip(frame.columns, is_text)
              if not text and frame.schema[c].is_float()]
    return not checks or all(frame.select(checks).row(0))


def _row_tag(ws, row: int) -> tuple[str, str] | None:
    """xlsxwriter's ``<row r="N"…>`` tag for a body row as (before N, after N), captured from ``_write_row`` (it
    only writes to ``fh``); None if it is not of that form."""
    saved, ws.fh = ws.fh, StringIO()
    try:
        ws._write_row(row, None)
        tag = ws.fh.getvalue()
    finally:
        ws.fh = saved
    before, number = '<row r="', str(row + 1)
    if not (tag.startswith(before + number + '"') and tag.endswith(">")):
        return None
    return before, tag[len(before) + len(number):]


def _append(ws, xml: pl.Series, a: int, b: int, width: int) -> None:
    """Rows ``a``..``b`` (their XML) appended to the sheet's row stream, with xlsxwriter's bookkeeping: the held
    row flushed first, the used range extended, ``previous_row`` left on ``b`` with nothing held."""
    if a > ws.previous_row:
        ws._write_single_row(a)
    ws._check_dimensions(a, 0)
    ws._check_dimensions(b, width - 1)
    text = xml.str.join("")
    fh = ws.fh
    if _utf8_text_file(fh):  # Polars' UTF-8 bytes as they are: no Python str decoded and encoded again
        fh.flush()
        fh.buffer.write(text.cast(pl.Binary).item())
    else:
        fh.write(text.item())
    ws.previous_row = b


def _utf8_text_file(fh) -> bool:
    """Whether ``fh`` is a UTF-8 text file whose byte buffer may be written after a flush."""
    return isinstance(fh, TextIOWrapper) and fh.encoding.lower().replace("-", "") == "utf8" \
        and hasattr(fh, "buffer")


def _number_text(s: pl.Series) -> pl.Series:
    """A number column as text that parses to each value's double, bit for bit (docs/decisions.md XLSX2-1).
    Integers that are exact floats: Polars' decimal text (xlsxwriter's too). Floats: Polars' shortest round-trip
    text, vectorised, less a trailing ".0" (84624.9 where xlsxwriter's ``.16G`` writes 84624.89999999999: the same
    double). A value Polars would write with an exponent (below 1e-4, from 1e16 on; "1e-7"), and an integer beyond
    2**53, is Python's shortest repr of its double with xlsxwriter's capital E ("1E-07", "1.3510798882109854E+16"):
    ``.16G`` would lose a 17th digit some doubles need."""
    # min and max, not abs(): abs(-2**63) overflows Int64 back to -2**63
    if s.dtype.is_integer() and (s.null_count() == s.len() or -_EXACT_INT <= s.min() and s.max() <= _EXACT_INT):
        return s.cast(pl.String)
    if not s.dtype.is_float():
        return pl.Series(s.name, [None if v is None else _exponent_text(v) for v in s.to_list()], dtype=pl.String)
    text = s.cast(pl.Float64).cast(pl.String).str.strip_suffix(".0")
    exotic = ~text.str.contains(_PLAIN_DECIMAL).fill_null(True)
    if not exotic.any():
        return text
    positions = exotic.arg_true()
    return text.scatter(positions, [_exponent_text(v) for v in s.gather(positions).to_list()])


def _exponent_text(v: float) -> str:
    """A finite number's shortest round-trip text as xlsxwriter spells an exponent (capital E, two digits at least:
    Python's repr pads as ``.16G`` does)."""
    return repr(float(v)).upper().removesuffix(".0")


def _serialise(chunk: pl.DataFrame, styles: list[int], is_text: Sequence[bool], first: int,
               row_tag: tuple[str, str]) -> tuple[pl.Series, list[int]]:
    """Each row's XML, and the positions of the rows xlsxwriter must write itself (a string it would change).
    One flat ``concat_str`` per row: a column without nulls adds its pieces to it directly (no string per cell
    built and copied again); a column with nulls adds one string per cell, its blank or its value."""
    number = pl.col(_ROW_NUMBER)  # the row's number as text, computed once for every cell reference
    pieces, special = [pl.lit(row_tag[0]), number, pl.lit(row_tag[1])], []
    for c, (name, text, style) in enumerate(zip(chunk.columns, is_text, styles)):
        ref = [pl.lit(f'<c r="{xl_col_to_name(c)}'), number]
        if text:
            value = pl.col(name).cast(pl.String)
            special.append(value.str.contains(_NEEDS_XLSXWRITER).fill_null(False)
                           | (value.str.len_chars() > _STRING_LIMIT // 2).fill_null(False))
            filled = [*ref, pl.lit(f'" s="{style}" t="inlineStr"><is><t>'), value, pl.lit("</t></is></c>")]
        else:
            value = pl.lit(_number_text(chunk.get_column(name)))
            filled = [*ref, pl.lit(f'" s="{style}"><v>'), value, pl.lit("</v></c>")]
        if chunk.get_column(name).null_count() == 0:
            pieces += filled
        else:
            pieces.append(pl.when(pl.col(name).is_null()).then(pl.concat_str(*ref, pl.lit(f'" s="{style}"/>')))
                          .otherwise(pl.concat_str(filled)))
    out = chunk.with_columns(
        pl.int_range(first + 1, first + 1 + pl.len(), dtype=pl.Int64).cast(pl.String).alias(_ROW_NUMBER)).select(
        pl.concat_str(*pieces, pl.lit("</row>")).alias("xml"),
        pl.any_horizontal(special).alias("special") if special else pl.lit(False).alias("special"))
    return out.get_column("xml"), out.with_row_index().filter(pl.col("special")).get_column("index").to_list()
