"""Creating an account (管理 → 用户): what a new account must satisfy before it is stored.

A county officer's account names a 县区 of the code table, an enterprise's a registered enterprise; user names are
unique. Storing it (argon2 hash, the users table) and the audit entry stay with the web's auth and store:
the password hashing lives in interfaces/web/auth.py, which this layer may not import.
"""

from __future__ import annotations

from collections.abc import Container, Mapping

import sqlalchemy as sa

from huiqi.data.app_tables import users
from huiqi.services.errors import Refused

MIN_PASSWORD = 10


def check_new_user(engine: sa.Engine, username: str | None, password: str | None, role: str,
                   county_code: str | None, credit_code: str | None, *, roles: Mapping[str, str],
                   county_names: Container[str], enterprises: Container[str]) -> str:
    """The user name to store (stripped), or a Refused in Chinese — in the order a form shows them."""
    username = (username or "").strip()
    if not username or len(username) > 64 or not username.replace("_", "").replace("-", "").isalnum():
        raise Refused(422, "用户名只能由字母、数字、下划线和连字符组成（不超过64个字符）")
    if len(password or "") < MIN_PASSWORD:
        raise Refused(422, f"密码至少{MIN_PASSWORD}个字符")
    if role not in roles:
        raise Refused(422, f"角色只能是：{'、'.join(f'{k}（{v}）' for k, v in roles.items())}")
    if role == "officer" and county_code not in county_names:
        raise Refused(422, f"县区工信部门账号须指定有效的县区代码，“{county_code or ''}”不在行政区划代码表中")
    if role == "enterprise" and credit_code not in enterprises:
        raise Refused(422, f"企业账号须绑定已登记企业的统一社会信用代码，“{credit_code or ''}”未找到")
    with engine.connect() as conn:
        if conn.execute(sa.select(users.c.id).where(users.c.username == username)).first() is not None:
            raise Refused(409, f"用户名“{username}”已存在")
    return username
