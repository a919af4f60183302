"""The application's own tables: users, sessions, login failures, audit log, parameter sets with their history,
screening jobs and approvals (SQLAlchemy Core).

They live in the same database as the enterprise data (huiqi.data.store) under names that do not clash with the
data tables. They sit in the data layer, below the services that use them, and are created and upgraded through
the one migration path (huiqi.migrations, revision 0002_web_tables).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

users = sa.Table(
    "web_users", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("display_name", sa.String(128), nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("role", sa.String(16), nullable=False),  # admin / officer / enterprise
    sa.Column("county_code", sa.String(6)),  # officer: the 县区 they serve
    sa.Column("credit_code", sa.String(18)),  # enterprise: the enterprise they act for
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

sessions = sa.Table(
    "web_sessions", metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # sha256 of the cookie token (the token itself is not stored)
    sa.Column("user_id", sa.Integer, sa.ForeignKey("web_users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)

login_failures = sa.Table(
    "web_login_failures", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("ip", sa.String(64), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_web_login_failures_user_ip", "username", "ip"),
)

audit_log = sa.Table(
    "web_audit_log", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("username", sa.String(64)),
    sa.Column("role", sa.String(16)),
    sa.Column("action", sa.String(32), nullable=False),  # 参数变更 / 筛查 / 审核 / 导入 / 登录 / 用户
    sa.Column("target", sa.String(128)),
    sa.Column("detail", sa.Text),  # JSON
    sa.Column("ip", sa.String(64)),
)

parameter_sets = sa.Table(
    "web_parameter_sets", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("values_json", sa.Text, nullable=False),  # {parameter: value as text}; only overrides of defaults
    sa.Column("budget_policy", sa.String(16), nullable=False, default="pro_rata"),
    sa.Column("active", sa.Boolean, nullable=False, default=False),
    sa.Column("version", sa.Integer, nullable=False, default=1),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_by", sa.String(64)),
)

parameter_history = sa.Table(
    "web_parameter_history", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("set_id", sa.Integer, sa.ForeignKey("web_parameter_sets.id", ondelete="CASCADE"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("values_json", sa.Text, nullable=False),
    sa.Column("budget_policy", sa.String(16), nullable=False),
    sa.Column("changes_json", sa.Text, nullable=False),  # [{name, label, old, new}]
    sa.Column("comment", sa.Text),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("by", sa.String(64)),
)

screening_jobs = sa.Table(
    "web_screening_jobs", metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("period", sa.String(8), nullable=False),
    sa.Column("parameter_set_id", sa.Integer),
    sa.Column("parameter_set_version", sa.Integer),
    sa.Column("params_json", sa.Text, nullable=False),
    sa.Column("measures_json", sa.Text),
    sa.Column("budget_policy", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # 排队中 / 运行中 / 已完成 / 失败
    sa.Column("step", sa.Text),
    sa.Column("done", sa.Integer, nullable=False, default=0),
    sa.Column("total", sa.Integer, nullable=False, default=1),
    sa.Column("error", sa.Text),
    sa.Column("run_id", sa.String(16)),
    sa.Column("manifest_json", sa.Text),
    sa.Column("created_by", sa.String(64)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
)

approvals = sa.Table(
    "web_approvals", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("job_id", sa.String(16), sa.ForeignKey("web_screening_jobs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("scope", sa.String(16), nullable=False),  # a county code, or "all" (admin)
    sa.Column("by", sa.String(64), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("note", sa.Text),
    sa.UniqueConstraint("job_id", "scope", name="uq_web_approvals_job_scope"),
)

# what a screening run precomputes (the 驾驶舱 report, the sandbox presets) and the sandbox's recent comparisons:
# shared by every `serve --workers N` process, so it lives here and not in one process's memory (SERVICES-4)
precomputed = sa.Table(
    "web_precomputed", metadata,
    sa.Column("kind", sa.String(32), primary_key=True),  # monitor / preset / simulation
    sa.Column("key", sa.String(64), primary_key=True),  # a digest of what the value depends on
    sa.Column("payload", sa.LargeBinary, nullable=False),  # pickled by the application itself, never from outside
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
