"""The web application's database access: the engine (SQLite by default, PostgreSQL by URL) and times in UTC.

The tables themselves (users, sessions, audit log, parameter sets, screening jobs, approvals) are defined in the
data layer (huiqi.data.app_tables) and re-exported here; they are created through the migrations (huiqi.migrations).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

from huiqi.data.app_tables import (  # noqa: F401  (the web layer's tables live in the data layer)
    approvals, audit_log, login_failures, metadata, parameter_history, parameter_sets, screening_jobs, sessions, users,
)


def now() -> datetime:
    return datetime.now(timezone.utc)


def aware(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; every stored time is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=timezone.utc)


def make_engine(url: str) -> sa.Engine:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    kwargs: dict = {}
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:" and not path.startswith(":"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    engine = sa.create_engine(url, pool_pre_ping=True, **kwargs)
    if url.startswith("sqlite"):
        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
    return engine


def newest_revision() -> str:
    """The newest migration's revision: each script in huiqi/migrations/versions is named after its revision, in
    order (a test holds both to Alembic's own reading of the scripts)."""
    from huiqi.migrations import SCRIPTS

    return max(p.stem for p in (SCRIPTS / "versions").glob("[0-9]*.py"))


def schema_is_current(engine: sa.Engine) -> bool:
    """Whether the database is at the newest migration, from one query: importing Alembic and reading its scripts
    to find that out took ~0.1–0.2 s of every start (START-4). Anything else (a new database, an older schema, an
    earlier release's tables without a revision) is for huiqi.migrations.upgrade."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return False
        revisions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    return revisions == [newest_revision()]


def create_all(engine: sa.Engine) -> None:
    metadata.create_all(engine)


def drop_all(engine: sa.Engine) -> None:
    metadata.drop_all(engine)
