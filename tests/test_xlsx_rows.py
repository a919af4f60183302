"""XLSX (issue 9): a table body serialised vectorised into xlsxwriter's constant-memory row stream
(huiqi.services.xlsx_rows) gives the same .xlsx as the per-cell path it replaces — which stays as the reference and
the fallback: every part byte for byte, except a number cell's text, which parses to the same double bit for bit
(XLSX2-1: Polars' shortest text, "84624.9" where xlsxwriter writes "84624.89999999999"). Checked on every demo
period's award list, generated facts reaching every money measure, hypothesis frames with nasty strings and extreme
numbers in every column kind; the number text alone on hypothesis floats; the escaping detector over every code
point; and the fallbacks."""

from __future__ import annotations

import os
import random
import re
import struct
import zipfile
from datetime import datetime
from io import BytesIO

import polars as pl
import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xlsxwriter.utility import _preserve_whitespace
from xlsxwriter.worksheet import Worksheet
from xlsxwriter.xmlwriter import XMLwriter

from huiqi.services import award_list, xlsx_rows
from huiqi.services.screening import DISPLAY, assemble, default_ruleset, screen
from huiqi.services.xlsx_style import SheetFormats
from tests.test_explain_vector import _combos, _decided, _facts
from tests.test_screening import soffice  # noqa: F401  (the LibreOffice fixture; marks the test office)


# a number cell's text: a plain decimal or xlsxwriter's .16G, both xsd:double; never "inf", "nan" or "1e-7"
_NUMBER_CELL = re.compile(rb"<v>([^<]*)</v>")
_XSD_DOUBLE = re.compile(rb"-?[0-9]+(\.[0-9]+)?(E[+-][0-9]{2,3})?")


def _bits(text: bytes | str) -> str:
    """A number text's double, bit for bit (-0.0 is not 0.0)."""
    return struct.pack(">d", float(text)).hex()


def _values(xlsx: bytes) -> tuple[list[tuple[str, bytes]], list[bytes]]:
    """A workbook's parts in order with each sheet's number cell texts taken out (after checking each is an
    xsd:double Excel reads), and those texts in order."""
    numbers = []

    def taken(m: re.Match) -> bytes:
        assert _XSD_DOUBLE.fullmatch(m.group(1)), m.group(1)
        numbers.append(m.group(1))
        return b"<v/>"

    with zipfile.ZipFile(BytesIO(xlsx)) as z:
        parts = [(n, _NUMBER_CELL.sub(taken, z.read(n)) if n.startswith("xl/worksheets/") else z.read(n))
                 for n in z.namelist()]
    return parts, numbers


def _same_values(a: bytes, b: bytes) -> bool:
    """Whether two workbooks are byte for byte the same but for number texts of the same double — or where one
    is xlsxwriter's ``.16G`` of the other's: xlsxwriter's 16 digits do not give every double back (0.1 + 0.2 is
    written 0.3000000000000000), the vectorised text does (test_number_text_parses_to_the_same_double_bit_for_bit)."""
    (parts_a, numbers_a), (parts_b, numbers_b) = _values(a), _values(b)
    assert parts_a == parts_b
    assert len(numbers_a) == len(numbers_b)
    for x, y in zip(numbers_a, numbers_b):
        assert _bits(x) == _bits(y) or format(float(x), ".16G").encode() == y or \
            format(float(y), ".16G").encode() == x, (x, y)
    return True


def _both(run, tmp_path, monkeypatch, **kw) -> tuple[bytes, bytes]:
    """The award list written with the vectorised body and with the per-cell path alone."""
    award_list.write_excel(run, tmp_path / "new.xlsx", **kw)
    with monkeypatch.context() as m:
        m.setattr(xlsx_rows, "usable", lambda *_a: False)
        award_list.write_excel(run, tmp_path / "old.xlsx", **kw)
    return (tmp_path / "new.xlsx").read_bytes(), (tmp_path / "old.xlsx").read_bytes()


@pytest.fixture(scope="module")
def demo_tables():
    from huiqi.data.synthetic import generate

    return generate(3_000, seed=2024)  # `huiqi demo-data`'s seed


def test_the_demo_award_list_gives_the_same_values(demo_tables, tmp_path, monkeypatch):
    """The quick one: 2024Q4, the award list and a county's download."""
    run = screen(demo_tables, "2024Q4")
    assert run.paid().height > 50
    for per_enterprise in (False, True):
        new, old = _both(run, tmp_path, monkeypatch, per_enterprise=per_enterprise)
        assert _same_values(new, old), per_enterprise


@pytest.mark.slow  # ~40 s
def test_every_demo_period_gives_the_same_values(demo_tables, tmp_path, monkeypatch):
    from huiqi.data.synthetic import PERIODS

    paid = 0
    for period in [*PERIODS, "2024", "2025H2"]:
        for list_pending in (True, False):
            run = screen(demo_tables, period, list_pending=list_pending)
            paid += run.paid().height
            for per_enterprise in (False, True):
                new, old = _both(run, tmp_path, monkeypatch, per_enterprise=per_enterprise)
                assert _same_values(new, old), (period, list_pending, per_enterprise)
    assert paid > 300


# names, codes and sectors an officer's data might hold, worst first
NASTY = ["&", "<b>", "a>b", '"引号"', "'", "\x00", "\x07", "\t制表", "换\n行", "\r", "\x1f", "_x0041_", "_X00_",
         " 前空格", "后空格 ", "\u3000全角", "\u00a0", "<r>富文本</r>", "😀表情", "", "长" * 20_000, "=1+1", "0012",
         "\ufffe", "\uffff", "\x7f", "\u0085", "\u2028", "A&B有限公司"]


def _with_display(rng: random.Random, facts: pl.DataFrame, counties: pl.DataFrame) -> pl.DataFrame:
    """Generated facts with the display columns: names and codes mostly plain, some nasty, some missing."""
    n = facts.height

    def text(plain: str, i: int) -> str | None:
        pick = rng.random()
        return None if pick < 0.05 else rng.choice(NASTY) if pick < 0.25 else f"{plain}{i:05d}"

    extra = {"name": [text("柳州企业", i) for i in range(n)],
             "credit_code": [text("91450200MA5", i) for i in range(n)],
             "county_code": [rng.choice(counties["county_code"].to_list() + [None]) for _ in range(n)],
             "sector": [text("制造业", i) for i in range(n)]}
    return facts.with_columns(*[pl.Series(k, v, dtype=pl.String) for k, v in extra.items() if k not in facts.columns])


@pytest.mark.slow  # ~35 s
def test_generated_facts_reaching_every_money_measure_give_the_same_values(demo_tables, tmp_path, monkeypatch):
    """Facts drawn at the rules' thresholds (tests/test_explain_vector.py) with the undecided parameters decided,
    so every money measure pays somebody: each period's award list, per enterprise too."""
    ruleset = default_ruleset()
    rng = random.Random(11)
    paid_measures, money = set(), set()
    for params in (None, _decided(ruleset)):
        by_period: dict[str, dict] = {}
        for period, entity, plan in _combos(ruleset, params):
            money.update(cm.id for cm in plan)
            facts = _with_display(rng, _facts(rng, ruleset, plan, 120), demo_tables["counties"])
            by_period.setdefault(period, {})[entity] = ruleset.evaluate(
                facts, period, entity=entity, params=params, keep=["entity_id", *DISPLAY])
        for period, evaluations in by_period.items():
            run = assemble(evaluations, demo_tables, period, ruleset, params=params)
            paid_measures.update(run.paid()["measure_id"].unique().to_list())
            new, old = _both(run, tmp_path, monkeypatch, per_enterprise=True)
            assert _same_values(new, old), (period, params is not None)
    assert len(paid_measures) >= 0.9 * len(money), sorted(money - paid_measures)


# ------------------------------------------------------------------------------------ frames drawn by hypothesis

KINDS = ["int", "text", "wrap", "wan", "yuan", "pct"]
EXTREME = [0.0, -0.0, 1e-7, 1e15, 1e16, 1e308, -1e308, -1.5, 84624.9, 0.1 + 0.2, 5e-324, 123456789012345.67,
           2.0**53 + 1, 1234.565]
texts = st.one_of(st.sampled_from(NASTY), st.text(max_size=30), st.none(),
                  st.text(alphabet=st.characters(codec="utf-8"), max_size=8))
floats = st.one_of(st.sampled_from(EXTREME), st.floats(allow_nan=False, allow_infinity=False), st.none())
ints = st.one_of(st.integers(-(2**63), 2**63 - 1), st.sampled_from([0, 1, -1, 2**53, 2**53 + 1, 10**16]), st.none())


def _frame(draw, kinds: list[str], n: int) -> pl.DataFrame:
    columns = {}
    for c, kind in enumerate(kinds):
        if kind in award_list.TEXT_KINDS:
            columns[f"c{c}"] = pl.Series([draw(texts) for _ in range(n)], dtype=pl.String)
        elif kind == "int":
            columns[f"c{c}"] = pl.Series([draw(ints) for _ in range(n)], dtype=pl.Int64)
        else:
            columns[f"c{c}"] = pl.Series([draw(floats) for _ in range(n)], dtype=pl.Float64)
    return pl.DataFrame(columns)


def _table_bytes(frame: pl.DataFrame | list, kinds: list[str], *, constant_memory: bool = True, excel_2010=False,
                 default_row=None) -> bytes:
    """A workbook holding one titled table (award_list._sheet_table) with ``frame`` as its body, twice (the
    second sheet's styles are already indexed), as bytes."""
    out = BytesIO()  # not in_memory (which turns constant_memory off): xlsxwriter's temp files, then these bytes
    wb = xlsxwriter.Workbook(out, {"strings_to_numbers": False, "strings_to_formulas": False,
                                   "constant_memory": constant_memory})
    wb.set_properties({"created": datetime(2024, 12, 31)})
    fmt = SheetFormats(wb)
    width = len(kinds)
    for name in ("甲", "乙"):
        ws = wb.add_worksheet(name)
        if excel_2010:
            ws.excel_version = 2010
        if default_row:
            ws.set_default_row(default_row)
        award_list._sheet_table(ws, fmt, "标题", [(f"列{c}", 10) for c in range(width)], frame, kinds,
                                {1: 12.5} if width > 1 else None)
    wb.close()
    return out.getvalue()


def _rows(frame: pl.DataFrame) -> list[tuple]:
    return list(zip(*(s.to_list() for s in frame.get_columns())))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example])
@given(st.data())
def test_hypothesis_frames_give_the_values_of_the_per_cell_path(data):
    kinds = data.draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=8))
    frame = _frame(data.draw, kinds, data.draw(st.integers(0, 12)))
    assert _same_values(_table_bytes(frame, kinds), _table_bytes(_rows(frame), kinds))


@pytest.mark.parametrize("kind", KINDS)
def test_every_extreme_value_in_every_column_kind(kind):
    values = NASTY if kind in award_list.TEXT_KINDS else \
        [int(v) for v in EXTREME if abs(v) < 2**63] + [2**63 - 1, -(2**63)] if kind == "int" else EXTREME
    frame = pl.DataFrame({"i": range(len(values) + 1), "v": [*values, None]},
                         schema={"i": pl.Int64, "v": pl.String if kind in award_list.TEXT_KINDS else
                                 pl.Int64 if kind == "int" else pl.Float64})
    frame = pl.concat([frame, frame.reverse()])  # the nasty ones first, last and in between
    assert _same_values(_table_bytes(frame, ["int", kind]), _table_bytes(_rows(frame), ["int", kind]))


def test_many_rows_across_chunks_with_special_rows_between(monkeypatch):
    monkeypatch.setattr(xlsx_rows, "_CHUNK_ROWS", 7)
    n = 50
    frame = pl.DataFrame({"i": range(1, n + 1), "name": [NASTY[i % len(NASTY)] if i % 5 == 0 else f"企业{i}"
                                                         for i in range(n)],
                          "wan": [i / 7 for i in range(n)], "code": [i * 1000 for i in range(n)]})
    kinds = ["int", "text", "wan", "text"]
    assert _same_values(_table_bytes(frame, kinds), _table_bytes(_rows(frame), kinds))


@pytest.mark.parametrize("options", [{"excel_2010": True}, {"default_row": 25}])
def test_row_attributes_come_from_xlsxwriter(options):
    frame = pl.DataFrame({"i": [1, 2, 3], "name": ["甲", "乙", "丙"], "wan": [1.5, None, 2.25]})
    kinds = ["int", "text", "wan"]
    assert _same_values(_table_bytes(frame, kinds, **options), _table_bytes(_rows(frame), kinds, **options))


@pytest.mark.parametrize("values", [[-(2**63), None], [-(2**63), 0], [2**53, -(2**53)], [2**53 + 1, 0],
                                    [-(2**53) - 1, 7]])
def test_integers_beyond_exact_floats_are_formatted_as_floats(values):
    """xlsxwriter writes an integer as the float it becomes (.16G): -2**63 is -9.223372036854776E+18 (an abs() of
    the column overflowed there once, and its digits were written as they are)."""
    frame = pl.DataFrame({"i": [1] * len(values), "v": values}, schema={"i": pl.Int64, "v": pl.Int64})
    assert _same_values(_table_bytes(frame, ["int", "int"]), _table_bytes(_rows(frame), ["int", "int"]))


def test_column_types_read_as_text_or_numbers():
    """Integer and categorical text columns are written as the per-cell path's str(); other types fall back."""
    frame = pl.DataFrame({"code": [91450200, None, -3], "cat": ["甲", "乙", None],
                          "int_as_wan": [10**17, 5, None], "small": pl.Series([1, 2, 3], dtype=pl.Int8)},
                         schema_overrides={"cat": pl.Categorical})
    kinds = ["text", "text", "wan", "pct"]
    assert _same_values(_table_bytes(frame, kinds), _table_bytes(_rows(frame), kinds))
    others = pl.DataFrame({"d": ["2024-01-01", "2024-01-02", None], "f": [1e-7, 0.1, None],
                           "b": [True, False, None]}).with_columns(pl.col("d").str.to_date())
    kinds = ["text", "text", "text"]  # a date, a float and a boolean as text: str() of each, as before
    assert _same_values(_table_bytes(others, kinds), _table_bytes(_rows(others), kinds))


def test_text_in_a_number_column_is_refused_as_before():
    frame = pl.DataFrame({"i": [1, 2, 3], "wan": ["1.5", "2", None]})
    with pytest.raises(TypeError):
        _table_bytes(_rows(frame), ["int", "wan"])
    with pytest.raises(TypeError):
        _table_bytes(frame, ["int", "wan"])


# -------------------------------------------------------------------------------------- what needs xlsxwriter

def test_every_code_point_xlsxwriter_would_change_is_sent_to_xlsxwriter():
    """Over every code point: a string the detector lets through is one xlsxwriter writes unchanged — no control
    or XML escape, no xml:space, not a rich string — so writing it verbatim is exact."""
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    flagged = pl.Series(chars).str.contains(xlsx_rows._NEEDS_XLSXWRITER).to_list()
    plain = [ch for ch, f in zip(chars, flagged) if not f]
    assert len(plain) > 1_000_000
    assert not [ch for ch in plain if _preserve_whitespace(ch)]
    joined = "a".join(plain)  # "a" between: no _xHHHH_ pattern can form across two characters
    assert Worksheet._escape_control_characters(joined) == joined
    assert XMLwriter()._escape_data(joined) == joined
    for ch in "&<>\x00\x1f\ufffe\uffff \u3000\x1c":
        assert pl.Series([ch]).str.contains(xlsx_rows._NEEDS_XLSXWRITER).item(), repr(ch)
    assert pl.Series(["_x0041_", "a_xb"]).str.contains(xlsx_rows._NEEDS_XLSXWRITER).all()


def test_a_long_string_goes_through_xlsxwriter_and_is_truncated_as_before():
    frame = pl.DataFrame({"i": [1, 2, 3], "t": ["短", "字" * 40_000, "😀" * 17_000]})
    new, old = _table_bytes(frame, ["int", "text"]), _table_bytes(_rows(frame), ["int", "text"])
    assert _same_values(new, old)


# ------------------------------------------------------------------------------------------------ the fallbacks

def _spy(monkeypatch) -> list[int]:
    """The rows the per-cell path is asked to write, counted."""
    counted = []
    real = award_list._write_cells

    def counting(ws, formats, is_text, rows, first):
        rows = list(rows)
        counted.append(len(rows))
        return real(ws, formats, is_text, rows, first)

    monkeypatch.setattr(award_list, "_write_cells", counting)
    return counted


FRAME = pl.DataFrame({"i": list(range(1, 21)), "name": [f"企业{i}" for i in range(20)], "wan": [i / 3 for i in range(20)]})
KINDS3 = ["int", "text", "wan"]


def test_the_vectorised_path_leaves_only_the_last_row_to_xlsxwriter(monkeypatch):
    counted = _spy(monkeypatch)
    assert _table_bytes(FRAME, KINDS3)
    assert counted == [1, 1]  # one sheet each, the last body row


def test_without_constant_memory_the_per_cell_path_writes_it(monkeypatch):
    counted = _spy(monkeypatch)
    new = _table_bytes(FRAME, KINDS3, constant_memory=False)
    assert counted == [20, 20]
    assert new == _table_bytes(_rows(FRAME), KINDS3, constant_memory=False)


def test_another_xlsxwriter_major_version_falls_back(monkeypatch):
    expected = _table_bytes(FRAME, KINDS3)
    counted = _spy(monkeypatch)
    monkeypatch.setattr(xlsxwriter, "__version__", "4.0.0")
    assert _same_values(_table_bytes(FRAME, KINDS3), expected)
    assert counted == [20, 20]


def test_missing_internals_fall_back(monkeypatch):
    expected = _table_bytes(FRAME, KINDS3)
    assert not xlsx_rows.usable(object(), FRAME, [None] * 3, [False] * 3, 3)
    counted = _spy(monkeypatch)
    monkeypatch.setattr(xlsx_rows, "_INTERNALS", (*xlsx_rows._INTERNALS, "no_such_internal"))
    assert _same_values(_table_bytes(FRAME, KINDS3), expected)
    assert counted == [20, 20]


def test_an_unexpected_row_tag_falls_back(monkeypatch):
    expected = _table_bytes(FRAME, KINDS3)
    counted = _spy(monkeypatch)
    monkeypatch.setattr(Worksheet, "_write_row", lambda self, row, *_a, **_k: self.fh.write(f'<row n="{row}">'))
    _table_bytes(FRAME, KINDS3)  # xlsxwriter's own (patched) tags throughout
    assert counted == [20, 20]
    monkeypatch.undo()
    assert _same_values(_table_bytes(FRAME, KINDS3), expected)


def test_a_frame_whose_width_differs_from_the_kinds_falls_back(monkeypatch):
    counted = _spy(monkeypatch)
    assert _same_values(_table_bytes(FRAME, KINDS3[:2]), _table_bytes(_rows(FRAME), KINDS3[:2]))
    assert counted[:2] == [20, 20]


def test_a_column_named_as_the_row_number_falls_back(monkeypatch):
    frame = FRAME.rename({"name": xlsx_rows._ROW_NUMBER})
    counted = _spy(monkeypatch)
    assert _same_values(_table_bytes(frame, KINDS3), _table_bytes(_rows(frame), KINDS3))
    assert counted[:2] == [20, 20]


def test_columns_with_and_without_nulls_across_chunks(monkeypatch):
    """A column without nulls joins the row's one concat_str; one with nulls writes a blank or its value."""
    monkeypatch.setattr(xlsx_rows, "_CHUNK_ROWS", 4)
    frame = pl.DataFrame({"i": range(1, 12), "full": [f"企业{i}" for i in range(11)],
                          "gaps": [None if i % 3 else f"名{i}" for i in range(11)],
                          "wan": [None if i == 5 else i / 7 for i in range(11)], "yuan": [i * 0.01 for i in range(11)]})
    kinds = ["int", "text", "text", "wan", "yuan"]
    assert _same_values(_table_bytes(frame, kinds), _table_bytes(_rows(frame), kinds))


def test_nan_and_infinity_are_refused_as_before():
    for bad in (float("nan"), float("inf")):
        frame = FRAME.with_columns(pl.when(pl.col("i") == 5).then(bad).otherwise(pl.col("wan")).alias("wan"))
        with pytest.raises(TypeError, match=re.escape("NAN/INF not supported")):
            _table_bytes(frame, KINDS3)


def test_bad_kinds_are_refused():
    with pytest.raises(KeyError):
        _table_bytes(FRAME, ["int", "text", "money"])


def test_the_row_stream_written_as_text_gives_the_same_values(monkeypatch):
    """The rows go to xlsxwriter's temp file as UTF-8 bytes through its buffer; written as text (any other kind of
    file), the workbook is the same."""
    frame = FRAME.with_columns(pl.lit("柳州😀").alias("name"))
    expected = _table_bytes(_rows(frame), KINDS3)
    assert _same_values(_table_bytes(frame, KINDS3), expected)
    monkeypatch.setattr(xlsx_rows, "_utf8_text_file", lambda _fh: False)
    assert _same_values(_table_bytes(frame, KINDS3), expected)


# ------------------------------------------------------------------------------- number text (XLSX2-1)

NUMBER_EDGES = [1e-7, -1e-7, 1e-4, 9.999999999999999e-05, 1e15, 1e16, -1e16, 9999999999999998.0, 2.0**53 - 1, 2.0**53,
                2.0**53 + 2, -0.0, 0.0, 5e-324, 2.2250738585072014e-308, 2.225073858507201e-308, 1.7976931348623157e308,
                84624.9, 0.1 + 0.2, 1234.565, -1.5, 100.0, 4625088527.78]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(NUMBER_EDGES),
                          st.integers(-(10**12), 10**12).map(lambda fen: fen / 100), st.none()), max_size=40))
def test_number_text_parses_to_the_same_double_bit_for_bit(values):
    """Each float's text is an xsd:double (no exponent but xlsxwriter's own .16G form, never inf or nan) that
    parses to the same double, -0.0 and subnormals included; a missing value stays missing."""
    texts = xlsx_rows._number_text(pl.Series(values, dtype=pl.Float64)).to_list()
    for value, text in zip(values, texts):
        if value is None:
            assert text is None
            continue
        assert _XSD_DOUBLE.fullmatch(text.encode()), (value, text)
        assert _bits(text) == _bits(value), (value, text)


def test_number_text_is_plain_decimal_where_polars_writes_it_and_repr_with_a_capital_e_elsewhere():
    texts = xlsx_rows._number_text(pl.Series(NUMBER_EDGES)).to_list()
    by_value = dict(zip(map(repr, NUMBER_EDGES), texts))
    assert by_value["84624.9"] == "84624.9"  # xlsxwriter: 84624.89999999999
    assert by_value["100.0"] == "100" and by_value["-0.0"] == "-0"  # as xlsxwriter writes them
    assert by_value["1e-07"] == format(1e-7, ".16G") == "1E-07"  # not Polars' "1e-7": as xlsxwriter spells it
    assert by_value["1e+16"] == "1E+16" and by_value["5e-324"] == "5E-324"  # .16G: 4.940656458412465E-324
    assert xlsx_rows._number_text(pl.Series([1.3510798882109854e16])).item() == "1.3510798882109854E+16"
    assert by_value["1000000000000000.0"] == "1000000000000000"


def test_float32_numbers_are_their_doubles():
    values = [0.1, 1.5, -3.25, None]
    series = pl.Series(values, dtype=pl.Float32)
    texts = xlsx_rows._number_text(series).to_list()
    assert [_bits(t) if t else None for t in texts] == [_bits(v) if v is not None else None for v in series.to_list()]


def test_libreoffice_reads_the_numbers_as_from_the_per_cell_path(tmp_path, soffice):
    """The workbook opens in LibreOffice with the per-cell path's values: both converted there to .xlsx again (which
    LibreOffice 7.4 writes with 15 significant digits), every value read back (openpyxl) is the same, and an amount
    from integer 分 is its double exactly. (The largest double is left out: LibreOffice reads xlsxwriter's
    1.797693134862316E+308 as infinity and writes INF, which openpyxl cannot read.)"""
    import subprocess

    import openpyxl

    amounts = [fen / 100 for fen in (1, 5, 8_462_490, 123_456_789_012, -150, 462_508_852_778, 99_999_999_999_999)]
    values = [v for v in NUMBER_EDGES if abs(v) < 1e300] + [i / 7 for i in range(1, 30)] + amounts
    frame = pl.DataFrame({"i": range(1, len(values) + 1), "v": values})
    read = {}
    for name, body in (("new", frame), ("old", _rows(frame))):
        (tmp_path / f"{name}.xlsx").write_bytes(_table_bytes(body, ["int", "wan"]))
        subprocess.run([soffice, "--headless", "--norestore", f"-env:UserInstallation=file://{tmp_path}/lo",
                        "--convert-to", "xlsx", "--outdir", str(tmp_path / "out"), str(tmp_path / f"{name}.xlsx")],
                       check=True, env={**os.environ, "HOME": str(tmp_path)}, timeout=240, capture_output=True)
        sheet = openpyxl.load_workbook(tmp_path / "out" / f"{name}.xlsx").worksheets[0]
        read[name] = [float(sheet.cell(row=4 + k, column=2).value) for k in range(len(values))]
    assert read["new"] == read["old"]
    assert read["new"][-len(amounts):] == amounts
