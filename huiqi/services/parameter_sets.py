"""Saving a parameter set (参数方案): a new set or a new version of one, with its change history and audit entry.

The use case behind PUT/POST /api/parameter-sets and the 参数与预算 page; the web's store (`WebState`) calls
`save` and then forgets its cached answers. Values are checked by the rule set (services.parameters) before
anything is written; the set, its history row and the audit entry are one transaction.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Callable

import sqlalchemy as sa

from huiqi.data.app_tables import parameter_history, parameter_sets
from huiqi.services import parameters
from huiqi.services.errors import Refused

# audit(action, target, detail, conn): the caller's audit log, written in the same transaction
Audit = Callable[[str, str, Any, sa.Connection], None]


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def save(engine: sa.Engine, ruleset, username: str, set_id: int | None, name: str | None, values: Any,
         budget_policy: str | None, comment: str | None, activate: bool | None, audit: Audit) -> int:
    """Create (``set_id`` None) or replace the values of a set as its next version; returns the set's id."""
    clean = parameters.validate(ruleset, values)
    parameters.check_policy(budget_policy)
    labels = {n: p.label for n, p in ruleset.parameters.items()}
    now = datetime.now(timezone.utc)
    with engine.begin() as conn:
        if set_id is None:
            name = (name or "").strip()
            if not name or len(name) > 128:
                raise Refused(422, "请填写参数方案名称（不超过128个字符）")
            if conn.execute(sa.select(parameter_sets.c.id).where(parameter_sets.c.name == name)).first():
                raise Refused(409, f"参数方案“{name}”已存在")
            old_values, old_policy, version = {}, "pro_rata", 1
            res = conn.execute(parameter_sets.insert().values(
                name=name, values_json=_json(clean), budget_policy=budget_policy or "pro_rata", active=False,
                version=1, updated_at=now, updated_by=username))
            set_id = int(res.inserted_primary_key[0])
        else:
            row = conn.execute(sa.select(parameter_sets).where(parameter_sets.c.id == set_id)).first()
            if row is None:
                raise Refused(404, f"没有编号为 {set_id} 的参数方案")
            old_values, old_policy, version = json.loads(row.values_json), row.budget_policy, row.version + 1
            conn.execute(parameter_sets.update().where(parameter_sets.c.id == set_id).values(
                values_json=_json(clean), budget_policy=budget_policy or row.budget_policy, version=version,
                updated_at=now, updated_by=username))
        policy = budget_policy or old_policy
        changes = [{"name": n, "label": labels.get(n, n), "old": old_values.get(n), "new": clean.get(n)}
                   for n in sorted(set(old_values) | set(clean)) if old_values.get(n) != clean.get(n)]
        if policy != old_policy:
            changes.append({"name": "budget_policy", "label": "超预算处理方式", "old": old_policy, "new": policy})
        if activate:  # one active set: the others are switched off in the same transaction
            conn.execute(parameter_sets.update().values(active=False))
            conn.execute(parameter_sets.update().where(parameter_sets.c.id == set_id).values(active=True))
        conn.execute(parameter_history.insert().values(
            set_id=set_id, version=version, values_json=_json(clean), budget_policy=policy,
            changes_json=_json(changes), comment=(comment or "").strip() or None, at=now, by=username))
        audit("参数变更", f"参数方案 {set_id} 第{version}版",
              {"changes": changes, "comment": comment, "activate": bool(activate)}, conn)
    return set_id
