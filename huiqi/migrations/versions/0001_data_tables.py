"""The data tables of docs/data-model.md (counties … county_targets).

Revision ID: 0001_data_tables
Revises:
Create Date: 2025-01-01
"""

from alembic import op
import sqlalchemy as sa

revision = "0001_data_tables"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "counties",
        sa.Column("county_code", sa.Text(), nullable=False),
        sa.Column("county_name", sa.Text(), nullable=True),
        sa.Column("city_name", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("county_code"),
    )
    op.create_table(
        "county_targets",
        sa.Column("county_code", sa.Text(), nullable=False),
        sa.Column("period", sa.Text(), nullable=False),
        sa.Column("invest_target_fen", sa.BigInteger(), nullable=True),
        sa.Column("invest_done_fen", sa.BigInteger(), nullable=True),
        sa.Column("output_target_fen", sa.BigInteger(), nullable=True),
        sa.Column("output_done_fen", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("county_code", "period"),
    )
    op.create_table(
        "credit_records",
        sa.Column("credit_code", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("serious", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("credit_code", "kind", "date"),
    )
    op.create_table(
        "designations",
        sa.Column("credit_code", sa.Text(), nullable=False),
        sa.Column("designation", sa.Text(), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("credit_code", "designation", "start"),
    )
    op.create_table(
        "enterprises",
        sa.Column("credit_code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("county_code", sa.Text(), nullable=True),
        sa.Column("industry_code", sa.Text(), nullable=True),
        sa.Column("sector", sa.Text(), nullable=True),
        sa.Column("established", sa.Date(), nullable=True),
        sa.Column("is_state_owned", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("credit_code"),
    )
    op.create_table(
        "events",
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("credit_code", sa.Text(), nullable=True),
        sa.Column("kind", sa.Text(), nullable=True),
        sa.Column("date", sa.Date(), nullable=True),
        sa.Column("cost_fen", sa.BigInteger(), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_table(
        "indicators",
        sa.Column("credit_code", sa.Text(), nullable=False),
        sa.Column("period", sa.Text(), nullable=False),
        sa.Column("indicator", sa.Text(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("credit_code", "period", "indicator"),
    )
    op.create_table(
        "project_investment",
        sa.Column("project_id", sa.Text(), nullable=False),
        sa.Column("period", sa.Text(), nullable=False),
        sa.Column("invest_fen", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("project_id", "period"),
    )
    op.create_table(
        "projects",
        sa.Column("project_id", sa.Text(), nullable=False),
        sa.Column("credit_code", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("project_type", sa.Text(), nullable=True),
        sa.Column("county_code", sa.Text(), nullable=True),
        sa.Column("registered_on", sa.Date(), nullable=True),
        sa.Column("total_investment_fen", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("project_id"),
    )
    op.create_table(
        "scale_status",
        sa.Column("credit_code", sa.Text(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("above_scale", sa.Boolean(), nullable=True),
        sa.Column("entered_scale_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("credit_code", "year"),
    )


def downgrade() -> None:
    op.drop_table("scale_status")
    op.drop_table("projects")
    op.drop_table("project_investment")
    op.drop_table("indicators")
    op.drop_table("events")
    op.drop_table("enterprises")
    op.drop_table("designations")
    op.drop_table("credit_records")
    op.drop_table("county_targets")
    op.drop_table("counties")
