"""The data snapshot hash of a Parquet directory: every file counts (the panel too), unchanged files are not
re-read (issue 9: hashing ~1 GB per run)."""

import hashlib
import json
import os

import polars as pl
import pytest
from typer.testing import CliRunner

from huiqi.services.screening import directory_hash, files_hash
from tests.synthetic_dirs import panel_directory


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.setenv("HUIQI_CACHE_DIR", str(tmp_path / "cache"))
    return panel_directory(tmp_path / "data", 300, seed=5)


def _content_hash(paths) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def test_memoised_hash_is_the_content_hash_and_sees_a_rewrite(data):
    files = sorted(data.glob("*.parquet"))
    first = files_hash(files)
    assert first == _content_hash(files) == files_hash(files)  # the memo gives the same value
    panel = data / "indicator_panel.parquet"
    frame = pl.read_parquet(panel)
    frame.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(pl.col("output") + 1).otherwise(pl.col("output"))
                       .alias("output")).write_parquet(panel)
    assert files_hash(files) == _content_hash(files) != first


def test_memo_is_not_trusted_when_a_file_changes_under_the_same_name(data):
    files = sorted(data.glob("*.parquet"))
    first = files_hash(files)
    target = data / "counties.parquet"
    st = target.stat()
    target.write_bytes(target.read_bytes() + b"x")
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime, but a different size
    assert files_hash(files) != first


def test_panel_layout_data_hash_covers_the_indicators(data, tmp_path):
    """With the panel layout the CLI hashed the tables in memory by their contract names, where the panel is not
    one: two registers that differ only in their indicators got the same data snapshot in the manifest."""
    from huiqi.interfaces.cli import app

    runner = CliRunner()

    def manifest_hash(out):
        r = runner.invoke(app, ["screen", "--period", "2024Q4", "--measures", "gx2024q4-21", "--data", str(data),
                                "--out", str(out)])
        assert r.exit_code == 0, r.output
        return json.loads((out / "manifest.json").read_text(encoding="utf-8"))["data_hash"]

    before = manifest_hash(tmp_path / "a")
    panel = data / "indicator_panel.parquet"
    frame = pl.read_parquet(panel)
    frame.with_columns((pl.col("output") * 2).alias("output")).write_parquet(panel)
    after = manifest_hash(tmp_path / "b")
    assert before != after
    assert after == directory_hash(data)
