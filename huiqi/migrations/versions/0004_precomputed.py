"""What a screening run precomputes for the dashboard and the sandbox presets, and the sandbox's recent comparisons
(issue 11 items 3 and 6): shared by every worker process of `huiqi serve --workers N`.

Revision ID: 0004_precomputed
Revises: 0003_payout
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa

revision = "0004_precomputed"
down_revision = "0003_payout"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("web_precomputed"):  # made by an earlier create_all: kept (as 0002)
        return
    op.create_table(
        "web_precomputed",
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("web_precomputed")
