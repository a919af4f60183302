"""One migration path for every table (issue 11): Alembic creates the data tables and the web tables, upgrades a
database made by the previous release (create_all, no alembic_version) without losing a row, and is idempotent."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pg import postgres_url  # noqa: E402,F401  (a pytest fixture)

from huiqi.data.payout_tables import metadata as PAYOUT_METADATA  # noqa: E402
from huiqi.data.store import METADATA  # noqa: E402
from huiqi.interfaces.web import db as web_db  # noqa: E402
from huiqi.migrations import target_metadata, upgrade  # noqa: E402

HEAD = "0005_data_version"


def _url(backend: str, tmp_path, request) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'm.db'}"
    return request.getfixturevalue("postgres_url")


def _reset(url: str) -> sa.Engine:
    engine = web_db.make_engine(url)
    PAYOUT_METADATA.drop_all(engine)
    web_db.metadata.drop_all(engine)
    METADATA.drop_all(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    return engine


def _version(engine: sa.Engine) -> str:
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one()


def _schema_diff(engine: sa.Engine) -> list:
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), target_metadata())


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_upgrade_of_an_empty_database_creates_every_table(backend, tmp_path, request):
    url = _url(backend, tmp_path, request)
    engine = _reset(url)
    upgrade(url)
    assert _version(engine) == HEAD
    assert _schema_diff(engine) == []
    upgrade(url)  # idempotent
    assert _version(engine) == HEAD
    _reset(url).dispose()
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_upgrade_of_a_previous_release_database_keeps_its_rows(backend, tmp_path, request):
    """The previous release made every table with create_all and recorded no revision."""
    url = _url(backend, tmp_path, request)
    engine = _reset(url)
    METADATA.create_all(engine)
    web_db.create_all(engine)
    with engine.begin() as conn:
        conn.execute(web_db.users.insert().values(username="liunan", display_name="柳南区工信局", password_hash="x",
                                                  role="officer", county_code="450204", active=True,
                                                  created_at=web_db.now()))
        conn.execute(METADATA.tables["counties"].insert().values(county_code="450204", county_name="柳南区",
                                                                 city_name="柳州市"))
    upgrade(url)
    assert _version(engine) == HEAD
    assert _schema_diff(engine) == []
    with engine.connect() as conn:
        assert conn.execute(sa.select(web_db.users.c.display_name)).scalars().all() == ["柳南区工信局"]
        assert conn.execute(sa.select(METADATA.tables["counties"].c.county_name)).scalars().all() == ["柳南区"]
    _reset(url).dispose()
    engine.dispose()


def test_upgrade_from_the_first_revision_adds_the_web_tables(tmp_path):
    """A database migrated by the previous release's Alembic (data tables only, revision 0001)."""
    from alembic import command

    from huiqi.migrations import config

    url = f"sqlite:///{tmp_path / 'm.db'}"
    command.upgrade(config(url), "0001_data_tables")
    engine = web_db.make_engine(url)
    assert "web_users" not in sa.inspect(engine).get_table_names()
    upgrade(url)
    assert _version(engine) == HEAD
    assert _schema_diff(engine) == []
    engine.dispose()
