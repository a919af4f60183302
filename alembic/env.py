"""Alembic environment: the target schema is huiqi.data.store.METADATA (the contract of docs/data-model.md)."""

from __future__ import annotations

import os

from alembic import context
import sqlalchemy as sa

from huiqi.data.store import METADATA, _normalize_url

config = context.config


def _url() -> str:
    return _normalize_url(context.get_x_argument(as_dictionary=True).get("url")
                          or config.attributes.get("url")
                          or os.environ.get("HUIQI_DB_URL")
                          or "sqlite:///var/huiqi.db")


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=METADATA, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = sa.create_engine(_url())
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=METADATA)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
