"""The SQL store on SQLite and on a real (throwaway) PostgreSQL: schema, upsert, idempotence, read filters,
identical snapshot hashes across backends, bulk speed, and import end to end."""

from __future__ import annotations

import random
import sys
import time
from datetime import date
from pathlib import Path

import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pg import postgres_url  # noqa: E402,F401  (a pytest fixture)

from huiqi.data.columns import INDICATORS, TABLES  # noqa: E402
from huiqi.data.credit_code import make_code  # noqa: E402
from huiqi.data.importer import import_files  # noqa: E402
from huiqi.data.store import Store, snapshot_hash  # noqa: E402

RNG = random.Random(11)
CODES = [make_code(RNG, "450204") for _ in range(3)]


def sample_tables() -> dict[str, pl.DataFrame]:
    a, b, c = CODES
    rows = {
        "counties": [("450204", "柳南区", "柳州市"), ("450205", "柳北区", "柳州市")],
        "enterprises": [(a, "甲公司", "450204", "3670", "汽车", date(2015, 3, 1), False),
                        (b, "乙公司 \t“引号”", "450205", "3421", "机械", None, True),
                        (c, "丙", "450204", "0610", None, date(1999, 12, 31), None)],
        "scale_status": [(a, 2024, True, date(2024, 1, 1)), (b, 2024, False, None)],
        "designations": [(a, "high_tech", date(2023, 12, 1), None), (a, "high_tech", date(2020, 12, 1),
                                                                     date(2023, 11, 30))],
        "credit_records": [(b, "环保", date(2024, 5, 6), True)],
        "indicators": [(a, "2024Q4", "output", 898_614_970), (a, "2024Q4", "profit", -1),
                       (b, "2024M01", "power", 9_223_372_036_854_775_807)],
        "projects": [("P1", a, "技改一期", "技术改造", "450204", date(2023, 3, 1), 1_000_000_000_00)],
        "project_investment": [("P1", "2024Q4", 12_345)],
        "events": [("E1", a, "promo_event", date(2024, 11, 1), 300_000_00, None, "新品发布会"),
                   ("E2", b, "hire", date(2024, 10, 1), None, 1_200, None)],
        "county_targets": [("450204", "2024Q4", 1, 2, 3, 4)],
    }
    return {n: pl.DataFrame(r, schema=TABLES[n].schema, orient="row") for n, r in rows.items()}


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        s = Store(f"sqlite:///{tmp_path / 'h.db'}")
    else:
        s = Store(request.getfixturevalue("postgres_url"))
        s.drop_all()
    s.create_all()
    yield s
    s.close()


def test_roundtrip_every_table(store):
    tables = sample_tables()
    written = store.write_many(tables)
    assert written == {n: f.height for n, f in tables.items()}
    for name, frame in tables.items():
        got = store.read(name)
        assert got.schema == frame.schema
        assert got.equals(frame.sort(list(TABLES[name].key))), name
    assert store.snapshot_hash() == snapshot_hash(tables)


def test_rewrite_is_a_noop_and_upsert_updates(store):
    tables = sample_tables()
    store.write_many(tables)
    h = store.snapshot_hash()
    assert store.write_many(tables) == {n: 0 for n in tables}
    assert store.snapshot_hash() == h
    ent = tables["enterprises"].with_columns(
        pl.when(pl.col("credit_code") == CODES[1]).then(pl.lit("乙公司（更名）")).otherwise("name").alias("name"))
    assert store.write("enterprises", ent) == 1
    assert store.read("enterprises", where={"credit_code": CODES[1]})["name"].to_list() == ["乙公司（更名）"]
    assert store.count("enterprises") == 3
    assert store.snapshot_hash() != h


def test_read_where(store):
    store.write_many(sample_tables())
    assert store.read("indicators", where={"period": "2024Q4"}).height == 2
    assert store.read("indicators", where={"indicator": ["output", "power"]}).height == 2
    assert store.read("enterprises", where={"sector": None})["credit_code"].to_list() == [CODES[2]]
    with pytest.raises(KeyError):
        store.read("indicators", where={"nope": 1})


def test_bad_frames_are_refused_and_nothing_is_written(store):
    tables = sample_tables()
    dup = pl.concat([tables["indicators"], tables["indicators"].head(1)])
    with pytest.raises(ValueError, match="同一键"):
        store.write_many({"enterprises": tables["enterprises"], "indicators": dup})
    with pytest.raises(ValueError, match="缺少列"):
        store.write("enterprises", tables["enterprises"].drop("name"))
    assert store.count("enterprises") == 0 and store.count("indicators") == 0


def test_same_hash_on_sqlite_and_postgresql(tmp_path, postgres_url):
    tables = sample_tables()
    lite = Store(f"sqlite:///{tmp_path / 'h.db'}")
    pg = Store(postgres_url)
    pg.drop_all()
    for s in (lite, pg):
        s.create_all()
        s.write_many(tables)
    assert lite.snapshot_hash() == pg.snapshot_hash() == snapshot_hash(tables)
    pg.close()


def big_indicators(n: int) -> pl.DataFrame:
    rng = random.Random(3)
    codes = [make_code(rng, "450204") for _ in range(n // 40 + 1)]
    periods = [f"{y}Q{q}" for y in (2023, 2024) for q in (1, 2, 3, 4)]
    inds = list(INDICATORS)[:5]
    rows = [(c, p, i) for c in codes for p in periods for i in inds][:n]
    return pl.DataFrame({"credit_code": [r[0] for r in rows], "period": [r[1] for r in rows],
                         "indicator": [r[2] for r in rows],
                         "value": [rng.randrange(0, 10**12) for _ in rows]}, schema=TABLES["indicators"].schema)


def test_bulk_write_100k_indicator_rows(store, capsys):
    frame = big_indicators(100_000)
    t = time.perf_counter()
    assert store.write("indicators", frame) == 100_000
    first = time.perf_counter() - t
    t = time.perf_counter()
    assert store.write("indicators", frame) == 0
    again = time.perf_counter() - t
    t = time.perf_counter()
    got = store.read("indicators")
    read = time.perf_counter() - t
    assert got.height == 100_000 and store.snapshot_hash() == snapshot_hash({"indicators": frame})
    with capsys.disabled():
        print(f"\n[{store.dialect}] 100k indicator rows: write {first:.2f}s, rewrite (no-op) {again:.2f}s, "
              f"read {read:.2f}s")
    assert first < 30


def test_import_end_to_end(store, tmp_path):
    path = tmp_path / "indicators.csv"
    a = CODES[0]
    path.write_text("统一社会信用代码,期间,工业总产值（万元）,用电量（千瓦时）\n"
                    f"{a},2024Q4,898.61497,1250000\n{a},2024Q3,0.01,0\n", encoding="utf-8-sig")
    res = import_files([path], store)
    assert res.ok, res.to_text()
    assert res.written == {"indicators": 4}
    h = store.snapshot_hash()
    assert import_files([path], store).written == {"indicators": 0}
    assert store.snapshot_hash() == h
    got = store.read("indicators", where={"indicator": "output"}).sort("period")["value"].to_list()
    assert got == [10_000, 898_614_970]  # 0.01万元 = 100元


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_alembic_migration_matches_the_schema(backend, tmp_path, request):
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.config import Config
    from alembic.migration import MigrationContext

    from huiqi.migrations import target_metadata

    url = f"sqlite:///{tmp_path / 'm.db'}" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    store = Store(url)
    store.drop_all()
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    cfg = Config(str(Path(__file__).resolve().parents[2] / "alembic" / "alembic.ini"))
    cfg.attributes["url"] = url
    command.upgrade(cfg, "head")
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), target_metadata()) == []
    store.write_many(sample_tables())
    assert store.snapshot_hash() == snapshot_hash(sample_tables())
    command.downgrade(cfg, "base")
    store.drop_all()
    store.close()


def test_a_write_that_changes_rows_raises_the_data_version_once(store):
    """SYNC-1: the version a served process watches moves with every write that changes a row, in its transaction,
    on both backends — not for a rewrite of the same rows, nor for a write refused before it starts."""
    tables = sample_tables()
    assert store.data_version() == 0
    store.write_many(tables)
    assert store.data_version() == 1  # one transaction, many tables: raised once
    assert store.write_many(tables) == {n: 0 for n in tables} and store.data_version() == 1
    counties = tables["counties"]
    with pytest.raises(ValueError):
        store.write("counties", pl.concat([counties, counties]))
    assert store.data_version() == 1
    assert store.write("counties", counties.with_columns(pl.lit("柳南").alias("county_name"))) == counties.height
    assert store.data_version() == 2
