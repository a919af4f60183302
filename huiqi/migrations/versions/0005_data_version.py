"""The data's version: a counter each write that changes a data row raises, in its transaction, so that every
process of `huiqi serve --workers N` (and a server beside `huiqi import`) learns that the data changed and reloads
it (issue 9 item 4; docs/decisions.md SYNC-1).

Revision ID: 0005_data_version
Revises: 0004_precomputed
Create Date: 2026-12-02
"""

from alembic import op
import sqlalchemy as sa

revision = "0005_data_version"
down_revision = "0004_precomputed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("data_version"):  # made by an earlier create_all: kept (as 0002)
        return
    op.create_table(
        "data_version",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("version", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("data_version")
