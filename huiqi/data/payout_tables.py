"""The payout loop's tables (issue 10 item 3): a county's list taken from a screening run, its rows, the
objections raised during the 公示, all in the same database as the enterprise data (SQLAlchemy Core).

States live in the rows, not in files: a list is 复核中 → 已批准 → 公示中; a row is 待复核 → 已剔除 | 已批准 →
已确认 | 已放弃 → 已拨付 (huiqi.services.payout holds the allowed transitions). Money is integer 分.
Schema changes go through Alembic (huiqi/migrations/versions/0003_payout.py).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
TZ = sa.DateTime(timezone=True)

payout_lists = sa.Table(
    "payout_lists", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("job_id", sa.String(16), nullable=False),  # the screening run the list was taken from
    sa.Column("period", sa.String(8), nullable=False),
    sa.Column("county_code", sa.String(6), nullable=False),  # the scope: one 县区 per list, as approvals today
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", TZ, nullable=False),
    sa.Column("approved_by", sa.String(64)),
    sa.Column("approved_at", TZ),
    sa.Column("approval_note", sa.Text),
    sa.Column("issuer", sa.String(128)),  # 发布单位
    sa.Column("contact", sa.String(128)),  # 联系人及电话 for objections
    sa.Column("publicity_days", sa.Integer),  # 公示期 N 个工作日
    sa.Column("publicity_start", sa.Date),
    sa.Column("publicity_end", sa.Date),
    sa.Column("published_by", sa.String(64)),
    sa.Column("published_at", TZ),
    sa.UniqueConstraint("job_id", "county_code", name="uq_payout_lists_job_county"),
)

payout_rows = sa.Table(
    "payout_rows", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("list_id", sa.Integer, sa.ForeignKey("payout_lists.id", ondelete="CASCADE"), nullable=False),
    sa.Column("credit_code", sa.String(18), nullable=False),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("county_code", sa.String(6), nullable=False),
    sa.Column("measure_id", sa.String(64), nullable=False),
    sa.Column("measure_name", sa.String(256), nullable=False),
    sa.Column("computed_fen", sa.BigInteger, nullable=False),  # the screening's award: the ceiling of any adjustment
    sa.Column("amount_fen", sa.BigInteger, nullable=False),  # after 调整 (never above computed_fen)
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("review_reason", sa.Text),  # why 剔除 or 调整
    sa.Column("reviewed_by", sa.String(64)),
    sa.Column("reviewed_at", TZ),
    sa.Column("decided_by", sa.String(64)),  # the enterprise's 意愿确认
    sa.Column("decided_at", TZ),
    sa.Column("decline_reason", sa.Text),
    sa.Column("bank_name", sa.String(128)),  # 开户行
    sa.Column("bank_account", sa.String(64)),  # 账号 (shown masked except the last 4 digits)
    sa.Column("paid_fen", sa.BigInteger),
    sa.Column("paid_on", sa.Date),
    sa.Column("voucher", sa.String(64)),  # 凭证号 from the treasury's file
    sa.Column("paid_recorded_by", sa.String(64)),
    sa.Column("paid_recorded_at", TZ),
    sa.UniqueConstraint("list_id", "credit_code", "measure_id", name="uq_payout_rows_list_entity_measure"),
    sa.Index("ix_payout_rows_credit_code", "credit_code"),
)

payout_objections = sa.Table(
    "payout_objections", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("row_id", sa.Integer, sa.ForeignKey("payout_rows.id", ondelete="CASCADE"), nullable=False),
    sa.Column("raised_by", sa.String(128), nullable=False),  # who objects (a person or a unit)
    sa.Column("contact", sa.String(128)),
    sa.Column("content", sa.Text, nullable=False),  # what
    sa.Column("raised_at", TZ, nullable=False),  # when
    sa.Column("recorded_by", sa.String(64), nullable=False),  # the account that entered it
    sa.Column("state", sa.String(16), nullable=False),  # 待处理 / 已处理
    sa.Column("outcome", sa.String(16)),  # 维持 / 剔除
    sa.Column("resolution", sa.Text),
    sa.Column("resolved_by", sa.String(64)),
    sa.Column("resolved_at", TZ),
)
