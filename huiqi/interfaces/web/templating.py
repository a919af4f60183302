"""Rendering the Chinese pages: one `render`, the Jinja2 filters (money, snippets, plain values) and globals.

Every route module that returns HTML (pages, payout, sandbox, dashboard, calendar) renders through here; none
imports another route module for it (tests/test_layers.py).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from fastapi import Request
from markupsafe import Markup, escape

from huiqi.core import money
from huiqi.interfaces.web import auth
from huiqi.interfaces.web.auth import optional_user


STATUS_CLASS = {"符合": "met", "不符合": "notmet", "待补充信息": "missing", "参数待定": "pending"}


POLICY_LABELS = {"pro_rata": "按比例核减", "ranked": "按金额从高到低兑现"}


def render(request: Request, name: str, status: int = 200, **ctx):
    register_filters(request)
    ctx.setdefault("user", optional_user(request))
    ctx.setdefault("active_nav", "")
    return request.app.state.templates.TemplateResponse(request, name, ctx, status_code=status)


def mark_snippet(text: str | None) -> Markup:
    """Escape, then 【…】 → <mark>…</mark> (the search module wraps matches in 【】)."""
    if not text:
        return Markup("")
    s = str(escape(text))
    return Markup(s.replace("【", "<mark>").replace("】", "</mark>"))


def fmt_yuan(value) -> str:
    if value is None or value == "":
        return "—"
    return money.yuan_text(Decimal(str(value)) * 100, grouping=True)  # 元 → '1,234.57', half up


def fmt_plain(value) -> str:
    """A Decimal as an officer writes it: no exponent, no trailing zeros beyond the 分."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        text = str(money.yuan(value * 100))
        return text[:-3] if text.endswith(".00") else text
    return str(value)


def wan_text(fen: int | None) -> str | None:
    """分 → 万元 with two decimals, half-up (as the award lists and the Excel export)."""
    if fen is None:
        return None
    return money.wan_text(int(fen))


def fmt_wan(value) -> str:
    """A 万元 string for display: thousands separators, two decimals, '—' for none."""
    if value is None or value == "":
        return "—"
    return f"{money.in_unit(Decimal(str(value)) * 1_000_000):,}"


def fmt_signed(value) -> str:
    if value is None or value == "":
        return "—"
    d = Decimal(str(value))
    shown = f"{d.quantize(Decimal('0.01'), rounding=money.ROUNDING):,}" if d.as_tuple().exponent < 0 else f"{d:,}"
    return ("+" if d > 0 else "") + shown


def fmt_count(value) -> str:
    return "—" if value is None else f"{int(value):,}"


def install_filters(env) -> None:
    """Every filter and global the templates use, installed once when the app is created."""
    from huiqi.services.presenters import beijing_time, for_people

    env.filters.update(snippet=mark_snippet, yuan=fmt_yuan, plain=fmt_plain, beijing=beijing_time,
                       for_people=for_people, wan=fmt_wan, signed=fmt_signed, cnt=fmt_count)
    env.globals.update(STATUS_CLASS=STATUS_CLASS, POLICY_LABELS=POLICY_LABELS, ROLES=auth.ROLES)


def register_filters(request: Request) -> None:
    """The filters of an app whose environment was built elsewhere (a guard; create_app installs them)."""
    env = request.app.state.templates.env
    if "wan" not in env.filters:
        install_filters(env)
