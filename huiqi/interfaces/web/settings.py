"""Deployment settings of the web application, from the environment (docs/web.md, 部署在反向代理之后 / 登录限制).

    HUIQI_TRUSTED_PROXIES              proxy addresses or networks whose X-Forwarded-For / X-Forwarded-Proto are
                                       believed, comma-separated ("127.0.0.1,10.0.0.0/8"); default none
    HUIQI_LOGIN_MAX_FAILURES           failed logins per user name and address within the window (default 5)
    HUIQI_LOGIN_MAX_FAILURES_PER_IP    failed logins per address across all user names (default 20)
    HUIQI_LOGIN_WINDOW_MINUTES         the window (default 5)
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Mapping

from huiqi.interfaces.web import db


@dataclass(frozen=True)
class WebSettings:
    trusted_proxies: tuple[str, ...] = ()
    login_max_failures: int = 5  # per (user name, address): one account guessed from one place
    login_max_failures_per_ip: int = 20  # per address over every user name: password spraying
    login_window: timedelta = timedelta(minutes=5)
    clock: Callable[[], datetime] = field(default=db.now, compare=False)  # tests inject a fake clock

    def __post_init__(self):
        for p in self.trusted_proxies:
            try:
                ipaddress.ip_network(p, strict=False)
            except ValueError:
                raise ValueError(f"受信任代理地址“{p}”不是有效的 IP 地址或网段（如 127.0.0.1、10.0.0.0/8）") from None
        if self.login_max_failures < 1 or self.login_max_failures_per_ip < 1:
            raise ValueError("登录失败次数上限须为正整数")
        if self.login_window <= timedelta(0):
            raise ValueError("登录限制时间窗须大于0分钟")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "WebSettings":
        env = os.environ if env is None else env

        def number(name: str, default: int) -> int:
            text = (env.get(name) or "").strip()
            if not text:
                return default
            if not text.isdigit():
                raise ValueError(f"环境变量 {name} 应为正整数，现为“{text}”")
            return int(text)

        proxies = tuple(p.strip() for p in (env.get("HUIQI_TRUSTED_PROXIES") or "").split(",") if p.strip())
        return cls(trusted_proxies=proxies,
                   login_max_failures=number("HUIQI_LOGIN_MAX_FAILURES", 5),
                   login_max_failures_per_ip=number("HUIQI_LOGIN_MAX_FAILURES_PER_IP", 20),
                   login_window=timedelta(minutes=number("HUIQI_LOGIN_WINDOW_MINUTES", 5)))
