"""The indicator panel's enterprise_index is trusted only for the register it was written from (docs/decisions.md
MERGE9-1): `write_panel` stores the register's fingerprint in the panel's metadata, and a Parquet directory whose
register changed since is read without the index — a sampled check let an edit below the sample give enterprises
another enterprise's indicators (FACTS4-6). A Spark partition never carries a stored index either."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings, strategies as st

from huiqi.data.panel import INDEX, panel_index_current, register_fingerprint
from huiqi.data.synthetic import read_parquet
from huiqi.interfaces.cli_common import SCREEN_SCANS, load_tables
from huiqi.services import facts as facts_mod
from huiqi.services.calculator import default_ruleset

PERIODS = ("2024Q4", "2025Q1")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    from tests.synthetic_dirs import panel_directory

    return panel_directory(tmp_path_factory.mktemp("fingerprint"), 3_000, 7)


def _edited_copy(prepared: Path, target: Path, edit) -> Path:
    copy = Path(shutil.copytree(prepared, target))
    edit(pl.read_parquet(copy / "enterprises.parquet")).write_parquet(copy / "enterprises.parquet")
    return copy


def _inserted_below_the_sample(register: pl.DataFrame) -> pl.DataFrame:
    """A new enterprise at row 2,500: the panel's first 2,000 rows (the sample `_index_matches` reads) still fit."""
    extra = register.slice(0, 1).with_columns(pl.lit("91450000NEWCODE001").alias("credit_code"))
    return pl.concat([register.slice(0, 2_500), extra, register.slice(2_500)])


def test_the_fingerprint_is_the_codes_in_row_order():
    codes = pl.Series(["A", "B", None])
    assert register_fingerprint(codes) == register_fingerprint(pl.Series(["A", "B", None]))
    for other in (["B", "A", None], ["A", "B"], ["A", "B", ""], ["A", "B", "\x00"], ["AB", None, None], [None, "AB", None]):
        assert register_fingerprint(pl.Series(other, dtype=pl.String)) != register_fingerprint(codes)


CODE_LISTS = st.lists(st.one_of(st.none(), st.text(alphabet="9145AB\n\x00统", max_size=4)), max_size=12)


@settings(max_examples=300, deadline=None)
@given(codes=CODE_LISTS, other=CODE_LISTS, cuts=st.lists(st.integers(0, 12), max_size=3))
def test_the_fingerprint_is_equal_exactly_for_equal_codes_however_chunked(codes, other, cuts):
    """Equal for the same codes as one Polars column, as Arrow string or large_string, cut into chunks or sliced out
    of a longer array (how pyarrow and Polars hand a column over); different for different codes."""
    whole = register_fingerprint(pl.Series(codes, dtype=pl.String))
    bounds = sorted({0, len(codes), *(min(c, len(codes)) for c in cuts)})
    for kind in (pa.string(), pa.large_string()):
        array = pa.array(codes, type=kind)
        assert register_fingerprint(array) == whole
        assert register_fingerprint(pa.chunked_array([array[a:b] for a, b in zip(bounds, bounds[1:])], type=kind)) == whole
        padded = pa.array(["前", *codes, "后"], type=kind)
        assert register_fingerprint(padded.slice(1, len(codes))) == whole
    assert (register_fingerprint(pl.Series(other, dtype=pl.String)) == whole) == (other == codes)


def test_bytes_under_a_null_are_not_the_code():
    """Arrow lets a null's slot hold bytes; they are no code of the register and do not change the fingerprint."""
    offsets = pa.py_buffer(np.array([0, 1, 3, 4], dtype=np.int32).tobytes())
    validity = pa.py_buffer(np.packbits([1, 0, 1], bitorder="little").tobytes())
    with_bytes = pa.Array.from_buffers(pa.string(), 3, [validity, offsets, pa.py_buffer(b"AxyB")], null_count=1)
    assert with_bytes.to_pylist() == ["A", None, "B"]
    assert register_fingerprint(with_bytes) == register_fingerprint(pl.Series(["A", None, "B"]))


def test_a_freshly_prepared_panel_is_current_and_keeps_its_index(prepared):
    assert panel_index_current(prepared)
    assert INDEX in load_tables(prepared, None, SCREEN_SCANS)["indicator_panel"].collect_schema().names()


@pytest.mark.parametrize("edit", [_inserted_below_the_sample, lambda r: r.reverse(), lambda r: r.slice(1)],
                         ids=["inserted-at-2500", "reversed", "first-row-dropped"])
def test_a_register_edited_after_preparation_gives_the_long_layouts_facts(prepared, tmp_path, edit):
    """The panel read through load_tables of an edited register: no index, and the same indicator facts as the
    long table (the import layout) gives for the same register."""
    copy = _edited_copy(prepared, tmp_path / "copy", edit)
    assert not panel_index_current(copy)
    tables = load_tables(copy, None, SCREEN_SCANS)
    assert INDEX not in tables["indicator_panel"].collect_schema().names()
    long = read_parquet(copy)
    ruleset = default_ruleset()
    for period in PERIODS:
        fields = ruleset.fields_read(period, "enterprise", ruleset.resolve_parameters(None), None)
        indicator_fields = [f for f in fields if f in facts_mod.INDICATOR_DERIVED]
        built = facts_mod.enterprise_facts(tables, period, fields)
        expected = facts_mod.enterprise_facts(long, period, fields)
        assert built.select("credit_code", *indicator_fields).equals(
            expected.select("credit_code", *indicator_fields)), period


def test_the_sample_alone_would_have_been_fooled(prepared, tmp_path):
    """Why the fingerprint: the insert at row 2,500 passes `_index_matches`' sample (FACTS4-6's reproduction)."""
    copy = _edited_copy(prepared, tmp_path / "copy", _inserted_below_the_sample)
    register = pl.read_parquet(copy / "enterprises.parquet")
    assert facts_mod._index_matches(pl.scan_parquet(copy / "indicator_panel.parquet"), register)


def test_a_partition_never_carries_a_stored_index(prepared):
    from huiqi.data.synthetic import SCHEMAS
    from huiqi.services.partition import RELATED, nest_locally, unpack

    tables = load_tables(prepared, None, ())
    eager = {name: (t.collect() if isinstance(t, pl.LazyFrame) else t) for name, t in tables.items()}
    nested = nest_locally(eager).slice(1_000, 500)
    schemas = {name: eager[name].schema for name in RELATED if name in eager}
    schemas.update({name: SCHEMAS[name] for name in RELATED if name in SCHEMAS and name not in schemas})
    assert all(INDEX not in frame.columns for frame in unpack(nested, schemas).values())
