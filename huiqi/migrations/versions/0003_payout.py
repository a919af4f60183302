"""The payout loop's tables (issue 10 item 3): payout lists per screening run and 县区, their rows, objections.

Revision ID: 0003_payout
Revises: 0002_web_tables
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa

revision = "0003_payout"
down_revision = "0002_web_tables"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "payout_lists",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.String(16), nullable=False),
        sa.Column("period", sa.String(8), nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("approved_by", sa.String(64)),
        sa.Column("approved_at", TZ),
        sa.Column("approval_note", sa.Text),
        sa.Column("issuer", sa.String(128)),
        sa.Column("contact", sa.String(128)),
        sa.Column("publicity_days", sa.Integer),
        sa.Column("publicity_start", sa.Date),
        sa.Column("publicity_end", sa.Date),
        sa.Column("published_by", sa.String(64)),
        sa.Column("published_at", TZ),
        sa.UniqueConstraint("job_id", "county_code", name="uq_payout_lists_job_county"),
    )
    op.create_table(
        "payout_rows",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("list_id", sa.Integer, sa.ForeignKey("payout_lists.id", ondelete="CASCADE"), nullable=False),
        sa.Column("credit_code", sa.String(18), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("measure_id", sa.String(64), nullable=False),
        sa.Column("measure_name", sa.String(256), nullable=False),
        sa.Column("computed_fen", sa.BigInteger, nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("review_reason", sa.Text),
        sa.Column("reviewed_by", sa.String(64)),
        sa.Column("reviewed_at", TZ),
        sa.Column("decided_by", sa.String(64)),
        sa.Column("decided_at", TZ),
        sa.Column("decline_reason", sa.Text),
        sa.Column("bank_name", sa.String(128)),
        sa.Column("bank_account", sa.String(64)),
        sa.Column("paid_fen", sa.BigInteger),
        sa.Column("paid_on", sa.Date),
        sa.Column("voucher", sa.String(64)),
        sa.Column("paid_recorded_by", sa.String(64)),
        sa.Column("paid_recorded_at", TZ),
        sa.UniqueConstraint("list_id", "credit_code", "measure_id", name="uq_payout_rows_list_entity_measure"),
    )
    op.create_index("ix_payout_rows_credit_code", "payout_rows", ["credit_code"])
    op.create_table(
        "payout_objections",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("row_id", sa.Integer, sa.ForeignKey("payout_rows.id", ondelete="CASCADE"), nullable=False),
        sa.Column("raised_by", sa.String(128), nullable=False),
        sa.Column("contact", sa.String(128)),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("raised_at", TZ, nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16)),
        sa.Column("resolution", sa.Text),
        sa.Column("resolved_by", sa.String(64)),
        sa.Column("resolved_at", TZ),
    )


def downgrade() -> None:
    op.drop_table("payout_objections")
    op.drop_table("payout_rows")
    op.drop_table("payout_lists")
