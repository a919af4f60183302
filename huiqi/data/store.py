"""SQL storage of the data tables (docs/data-model.md): SQLite by default, PostgreSQL by URL.

    store = Store("sqlite:///var/huiqi.db")          # or "postgresql://user@host:5432/huiqi"
    store.create_all()
    store.write("enterprises", frame)                 # upsert by key, one transaction
    store.read("indicators", where={"period": "2024Q4"})
    store.snapshot_hash()                             # equal data → equal hash, on SQLite and PostgreSQL
    store.data_version()                              # a counter every write that changes a row raises

Bulk writes go around the ORM: SQLite gets one `executemany` of `INSERT … ON CONFLICT DO UPDATE`, PostgreSQL a
`COPY` into a temporary table and one `INSERT … SELECT … ON CONFLICT DO UPDATE`. Rows whose content is already
stored are not touched, so writing the same data twice changes nothing (and reports 0 rows changed).

A write that changes rows also raises ``data_version`` in the same transaction: each web server process reads it
to learn that another process (another `serve --workers` worker, or `huiqi import` on the same database) changed
the data, and then reloads (docs/decisions.md SYNC-1).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Mapping

import polars as pl
import sqlalchemy as sa

from huiqi.data.columns import TABLES, Table

_SQL_TYPE = {pl.String: sa.Text, pl.Date: sa.Date, pl.Boolean: sa.Boolean, pl.Int64: sa.BigInteger,
             pl.Int32: sa.Integer}


def build_metadata() -> sa.MetaData:
    """SQLAlchemy Core tables exactly as the contract: key columns NOT NULL and the primary key."""
    md = sa.MetaData()
    for t in TABLES.values():
        sa.Table(t.name, md, *[
            sa.Column(c.name, _SQL_TYPE[c.dtype](), primary_key=c.name in t.key, nullable=c.name not in t.key)
            for c in t.columns])
    return md


METADATA = build_metadata()
# one row (id 1): raised by every write that changes a data row, in that write's transaction (SYNC-1)
DATA_VERSION = sa.Table("data_version", METADATA, sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
                        sa.Column("version", sa.BigInteger, nullable=False))


def _normalize_url(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class Store:
    def __init__(self, url: str = "sqlite:///var/huiqi.db", *, echo: bool = False):
        self.url = _normalize_url(url)
        if self.url.startswith("sqlite:///") and not self.url.startswith("sqlite:///:memory:"):
            Path(self.url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        self.engine = sa.create_engine(self.url, echo=echo)
        self.metadata = METADATA
        self.dialect = self.engine.dialect.name

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------------------------------------ schema
    def create_all(self) -> None:
        self.metadata.create_all(self.engine)

    def drop_all(self) -> None:
        self.metadata.drop_all(self.engine)

    # ----------------------------------------------------------------------------------------------- writing
    def write(self, table_name: str, frame: pl.DataFrame) -> int:
        """Upsert `frame` into the table in one transaction; returns the number of rows inserted or changed."""
        return self.write_many({table_name: frame})[table_name]

    def write_many(self, frames: Mapping[str, pl.DataFrame]) -> dict[str, int]:
        """Upsert several tables in one transaction (all or nothing)."""
        prepared = {name: _conform(_table(name), frame) for name, frame in frames.items()}
        changed: dict[str, int] = {}
        with self.engine.begin() as conn:
            for name, frame in prepared.items():
                if frame.height == 0:
                    changed[name] = 0
                    continue
                if self.dialect == "postgresql":
                    changed[name] = _upsert_postgresql(conn, _table(name), frame)
                else:
                    changed[name] = _upsert_generic(conn, _table(name), frame, self.dialect)
            if any(changed.values()):
                _raise_version(conn)
        return changed

    def data_version(self) -> int:
        """The data's version: raised by every write that changed a row (0 before the first)."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(DATA_VERSION.c.version).where(DATA_VERSION.c.id == 1)).scalar() or 0

    # ----------------------------------------------------------------------------------------------- reading
    def read(self, table_name: str, where: Mapping[str, Any] | None = None) -> pl.DataFrame:
        """The table (or the rows matching `where`: {column: value or list of values}) as a typed frame,
        ordered by key."""
        t = _table(table_name)
        st = self.metadata.tables[table_name]
        q = sa.select(*[st.c[n] for n in t.names])
        for col, value in (where or {}).items():
            if col not in st.c:
                raise KeyError(f"表 {table_name} 没有列 {col}")
            if isinstance(value, (list, tuple, set, frozenset)):
                q = q.where(st.c[col].in_(list(value)))
            elif value is None:
                q = q.where(st.c[col].is_(None))
            else:
                q = q.where(st.c[col] == value)
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        data = {n: list(v) for n, v in zip(t.names, zip(*rows))} if rows else {n: [] for n in t.names}
        return pl.DataFrame(data, schema=t.schema).sort(list(t.key))

    def read_all(self) -> dict[str, pl.DataFrame]:
        return {name: self.read(name) for name in TABLES}

    def count(self, table_name: str) -> int:
        st = self.metadata.tables[table_name]
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(st)).scalar_one()

    def snapshot_hash(self) -> str:
        """sha256 over the sorted content of every table; the same data gives the same hash on any backend."""
        return snapshot_hash(self.read_all())


def snapshot_hash(tables: Mapping[str, pl.DataFrame]) -> str:
    """The hash of tables in memory (contract frames), comparable with Store.snapshot_hash()."""
    h = hashlib.sha256()
    for name in sorted(TABLES):
        t = TABLES[name]
        frame = _conform(t, tables[name]) if name in tables else t.empty()
        h.update(f"#{name}\n".encode())
        h.update(("\t".join(t.names) + "\n").encode())
        # sort on the canonical text of the key so the order does not depend on a database collation
        frame = frame.sort(list(t.key))
        h.update(frame.write_ndjson().encode() if frame.height else b"")
    return h.hexdigest()


# --------------------------------------------------------------------------------------------------- internals

def _table(name: str) -> Table:
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"未知的表“{name}”（可用：{'、'.join(TABLES)}）") from None


def _conform(t: Table, frame: pl.DataFrame) -> pl.DataFrame:
    missing = [n for n in t.names if n not in frame.columns]
    if missing:
        raise ValueError(f"表 {t.name} 缺少列：{', '.join(missing)}")
    frame = frame.select(t.names).cast(t.schema)
    nulls = [k for k in t.key if frame[k].null_count()]
    if nulls:
        raise ValueError(f"表 {t.name} 的键列 {', '.join(nulls)} 有空值")
    if frame.select(t.key).is_duplicated().any():
        dup = frame.filter(frame.select(t.key).is_duplicated()).select(t.key).head(3).rows()
        raise ValueError(f"表 {t.name} 中同一键出现多次：{dup}")
    return frame


def _raise_version(conn) -> None:
    """data_version + 1 as one upsert, so that two first writers at once cannot both insert the row."""
    t = _q(conn, DATA_VERSION.name)
    conn.exec_driver_sql(f"INSERT INTO {t} (id, version) VALUES (1, 1) "
                         f"ON CONFLICT (id) DO UPDATE SET version = {t}.version + 1")


def _rows(frame: pl.DataFrame, dialect: str) -> list[tuple]:
    if dialect == "sqlite":  # store as SQLAlchemy's SQLite types do: dates as ISO text, booleans as 0/1
        exprs = []
        for n, dt in frame.schema.items():
            if dt == pl.Date:
                exprs.append(pl.col(n).dt.strftime("%Y-%m-%d"))
            elif dt == pl.Boolean:
                exprs.append(pl.col(n).cast(pl.Int8))
            else:
                exprs.append(pl.col(n))
        frame = frame.select(exprs)
    return frame.rows()


def _q(conn, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def _upsert_generic(conn, t: Table, frame: pl.DataFrame, dialect: str) -> int:
    cols = [_q(conn, n) for n in t.names]
    key = [_q(conn, n) for n in t.key]
    rest = [_q(conn, n) for n in t.names if n not in t.key]
    tn = _q(conn, t.name)
    set_ = ", ".join(f"{c} = excluded.{c}" for c in rest)
    changed = " OR ".join(f"{tn}.{c} IS NOT excluded.{c}" for c in rest)
    marks = ", ".join("?" for _ in cols)
    sql = (f"INSERT INTO {tn} ({', '.join(cols)}) VALUES ({marks}) "
           f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {set_} WHERE {changed}")
    cur = conn.connection.driver_connection.cursor()
    try:
        cur.executemany(sql, _rows(frame, dialect))
        return max(cur.rowcount, 0)
    finally:
        cur.close()


def _upsert_postgresql(conn, t: Table, frame: pl.DataFrame) -> int:
    cols = [_q(conn, n) for n in t.names]
    key = [_q(conn, n) for n in t.key]
    rest = [_q(conn, n) for n in t.names if n not in t.key]
    tn = _q(conn, t.name)
    stage = _q(conn, f"_stage_{t.name}")
    raw = conn.connection.driver_connection
    with raw.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {stage}")
        cur.execute(f"CREATE TEMP TABLE {stage} (LIKE {tn} INCLUDING DEFAULTS) ON COMMIT DROP")
        with cur.copy(f"COPY {stage} ({', '.join(cols)}) FROM STDIN") as copy:
            for row in frame.iter_rows():
                copy.write_row(row)
        set_ = ", ".join(f"{c} = excluded.{c}" for c in rest)
        target = ", ".join(f"{tn}.{c}" for c in rest)
        source = ", ".join(f"excluded.{c}" for c in rest)
        cur.execute(f"INSERT INTO {tn} ({', '.join(cols)}) SELECT {', '.join(cols)} FROM {stage} "
                    f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {set_} "
                    f"WHERE ROW({target}) IS DISTINCT FROM ROW({source})")
        n = cur.rowcount
        cur.execute(f"DROP TABLE {stage}")
    return max(n, 0)
