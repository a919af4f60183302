"""What people must never read: measure IDs, data-dictionary field codes, SQL, function names, HTTP codes, paths.

Shared by the explanation test and the page test (issue 11: "Chinese for people, codes for machines")."""

from __future__ import annotations

import re
from functools import lru_cache

MEASURE_ID = re.compile(r"(?<![A-Za-z0-9_])(gx|lz|hb)[-_]?\d", re.I)
SQL = re.compile(r"(?<![A-Za-z_])(CASE\s+WHEN|WHEN|THEN|ELSE|SELECT|COALESCE|LEAST|GREATEST|NULL)(?![A-Za-z_])|"
                 r"(?<![A-Za-z_])(pct|wan|yi|param|ratio|growth|days_between|year)\s*\(", re.I)
OTHER = re.compile(r"(?<![0-9A-Za-z])422(?![0-9A-Za-z])|docs/|\.md\b|\\u[0-9a-fA-F]{4}")


def field_codes() -> set[str]:
    from huiqi.services.calculator import default_ruleset
    d = default_ruleset().dictionary
    return {n for n in d.fields if "_" in n or n.isascii()}


@lru_cache(maxsize=1)
def _field_re() -> re.Pattern:
    names = sorted(field_codes(), key=len, reverse=True)
    return re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(map(re.escape, names)) + r")(?![A-Za-z0-9_])")


def leaks(text: str) -> list[str]:
    """Every code-like fragment in `text` (empty list: it is all for people)."""
    found = [m.group(0) for m in MEASURE_ID.finditer(text)]
    found += [m.group(0) for m in SQL.finditer(text)]
    found += [m.group(0) for m in OTHER.finditer(text)]
    found += [m.group(0) for m in _field_re().finditer(text)]
    return found
