"""Alembic environment: the target schema is every table huiqi keeps (data tables, web tables, payout tables)."""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import context

from huiqi.data.store import _normalize_url
from huiqi.migrations import target_metadata

config = context.config
TARGET = target_metadata()


def _url() -> str:
    return _normalize_url(context.get_x_argument(as_dictionary=True).get("url")
                          or config.attributes.get("url")
                          or os.environ.get("HUIQI_DB_URL")
                          or "sqlite:///var/huiqi.db")


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=TARGET, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = sa.create_engine(_url())
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=TARGET)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
