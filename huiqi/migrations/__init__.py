"""Schema migrations (Alembic) for every table huiqi keeps: the data tables (huiqi.data.store) and the web
application's own tables (huiqi.interfaces.web.db). One path for every database: the web application and
``huiqi import`` call :func:`upgrade` at start-up; ``alembic -c alembic/alembic.ini upgrade head`` does the same
by hand.

A database made by an earlier release with ``create_all`` (tables present, no ``alembic_version``) is stamped at
the revision its tables match and then upgraded, so no data is lost and nothing is created twice.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

SCRIPTS = Path(__file__).parent
FIRST = "0001_data_tables"


def target_metadata() -> list[sa.MetaData]:
    """Every table huiqi keeps: what the migrations must produce (Alembic's autogenerate target and the tests)."""
    from huiqi.data.app_tables import metadata as web
    from huiqi.data.payout_tables import metadata as payout
    from huiqi.data.store import METADATA as data

    return [data, web, payout]


def config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    cfg.attributes["url"] = url
    return cfg


def upgrade(url: str, engine: sa.Engine | None = None) -> None:
    """Bring the database at ``url`` to the newest schema (idempotent)."""
    from alembic import command
    from alembic.migration import MigrationContext

    if url.startswith("sqlite") and (url.endswith(":memory:") or url.endswith("://")):
        raise ValueError("内存数据库不能做迁移；请使用数据库文件或 PostgreSQL")
    cfg = config(url)
    owned = engine is None
    engine = engine or sa.create_engine(_normalize(url))
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
            tables = set(sa.inspect(conn).get_table_names())
    finally:
        if owned:
            engine.dispose()
    if current is None and "enterprises" in tables:
        command.stamp(cfg, FIRST)  # an earlier release's create_all: the data tables are those of the first revision
    command.upgrade(cfg, "head")


def _normalize(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url
