"""Approving a screening's 拟兑现名单 (审核): a county officer approves their own 县区's list, an administrator
any 县区's or the whole list ("all"); each scope once. The use case behind POST /api/screenings/{id}/approve and
the 工作台's 审核 button; the approval and its audit entry are one transaction.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable

import sqlalchemy as sa

from huiqi.data.app_tables import approvals
from huiqi.services.errors import Refused


def approval_scope(actor, scope: str | None, county_names: dict[str, str]) -> str:
    """The scope an actor (role, county_code, is_admin) may approve: a county code or "all"."""
    if actor.role == "officer":
        if scope not in (None, "", actor.county_code):
            raise Refused(403, "只能审核本县区的拟兑现名单")
        return actor.county_code
    if actor.is_admin:
        scope = scope or "all"
        if scope != "all" and scope not in county_names:
            raise Refused(422, f"未知的县区代码“{scope}”")
        return scope
    raise Refused(403, "无权审核")


def approve(engine: sa.Engine, actor, job_id: str, scope: str | None, note: str | None,
            county_names: dict[str, str], audit: Callable[[str, str, Any, sa.Connection], None]) -> str:
    """Record the approval of ``job_id`` for the actor's scope; returns that scope. Refused if already approved."""
    scope = approval_scope(actor, scope, county_names)
    with engine.begin() as conn:
        exists = conn.execute(sa.select(approvals.c.id).where(approvals.c.job_id == job_id,
                                                              approvals.c.scope == scope)).first()
        if exists:
            raise Refused(409, "该名单已审核，无需重复审核")
        conn.execute(approvals.insert().values(job_id=job_id, scope=scope, by=actor.username,
                                               at=datetime.now(timezone.utc), note=(note or "").strip() or None))
        audit("审核", job_id, {"scope": scope, "note": note}, conn)
    return scope
