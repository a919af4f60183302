"""The web application's tables (users, sessions, login failures, audit log, parameter sets and their history,
screening jobs, approvals). Earlier releases made them with create_all: a table that already exists is kept.

Revision ID: 0002_web_tables
Revises: 0001_data_tables
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa

revision = "0002_web_tables"
down_revision = "0001_data_tables"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def _tables():
    return {
        "web_users": [
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("username", sa.String(64), nullable=False, unique=True),
            sa.Column("display_name", sa.String(128), nullable=False),
            sa.Column("password_hash", sa.Text, nullable=False),
            sa.Column("role", sa.String(16), nullable=False),
            sa.Column("county_code", sa.String(6)),
            sa.Column("credit_code", sa.String(18)),
            sa.Column("active", sa.Boolean, nullable=False),
            sa.Column("created_at", TZ, nullable=False),
        ],
        "web_sessions": [
            sa.Column("id", sa.String(64), primary_key=True),
            sa.Column("user_id", sa.Integer, sa.ForeignKey("web_users.id", ondelete="CASCADE"), nullable=False),
            sa.Column("csrf", sa.String(64), nullable=False),
            sa.Column("created_at", TZ, nullable=False),
            sa.Column("expires_at", TZ, nullable=False),
        ],
        "web_login_failures": [
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("username", sa.String(64), nullable=False),
            sa.Column("ip", sa.String(64), nullable=False),
            sa.Column("at", TZ, nullable=False),
        ],
        "web_audit_log": [
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("at", TZ, nullable=False),
            sa.Column("username", sa.String(64)),
            sa.Column("role", sa.String(16)),
            sa.Column("action", sa.String(32), nullable=False),
            sa.Column("target", sa.String(128)),
            sa.Column("detail", sa.Text),
            sa.Column("ip", sa.String(64)),
        ],
        "web_parameter_sets": [
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("name", sa.String(128), nullable=False, unique=True),
            sa.Column("values_json", sa.Text, nullable=False),
            sa.Column("budget_policy", sa.String(16), nullable=False),
            sa.Column("active", sa.Boolean, nullable=False),
            sa.Column("version", sa.Integer, nullable=False),
            sa.Column("updated_at", TZ, nullable=False),
            sa.Column("updated_by", sa.String(64)),
        ],
        "web_parameter_history": [
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("set_id", sa.Integer, sa.ForeignKey("web_parameter_sets.id", ondelete="CASCADE"),
                      nullable=False),
            sa.Column("version", sa.Integer, nullable=False),
            sa.Column("values_json", sa.Text, nullable=False),
            sa.Column("budget_policy", sa.String(16), nullable=False),
            sa.Column("changes_json", sa.Text, nullable=False),
            sa.Column("comment", sa.Text),
            sa.Column("at", TZ, nullable=False),
            sa.Column("by", sa.String(64)),
        ],
        "web_screening_jobs": [
            sa.Column("id", sa.String(16), primary_key=True),
            sa.Column("period", sa.String(8), nullable=False),
            sa.Column("parameter_set_id", sa.Integer),
            sa.Column("parameter_set_version", sa.Integer),
            sa.Column("params_json", sa.Text, nullable=False),
            sa.Column("measures_json", sa.Text),
            sa.Column("budget_policy", sa.String(16), nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("step", sa.Text),
            sa.Column("done", sa.Integer, nullable=False),
            sa.Column("total", sa.Integer, nullable=False),
            sa.Column("error", sa.Text),
            sa.Column("run_id", sa.String(16)),
            sa.Column("manifest_json", sa.Text),
            sa.Column("created_by", sa.String(64)),
            sa.Column("created_at", TZ, nullable=False),
            sa.Column("finished_at", TZ),
        ],
        "web_approvals": [
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("job_id", sa.String(16), sa.ForeignKey("web_screening_jobs.id", ondelete="CASCADE"),
                      nullable=False),
            sa.Column("scope", sa.String(16), nullable=False),
            sa.Column("by", sa.String(64), nullable=False),
            sa.Column("at", TZ, nullable=False),
            sa.Column("note", sa.Text),
            sa.UniqueConstraint("job_id", "scope", name="uq_web_approvals_job_scope"),
        ],
    }


INDEXES = {"web_login_failures": [("ix_web_login_failures_user_ip", ["username", "ip"])]}


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    for name, columns in _tables().items():
        if name in existing:
            continue
        op.create_table(name, *columns)
        for index_name, index_columns in INDEXES.get(name, []):
            op.create_index(index_name, name, index_columns)


def downgrade() -> None:
    for name in reversed(list(_tables())):
        op.drop_table(name)
