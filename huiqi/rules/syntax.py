"""The notation of rule expressions: SQL, parsed by sqlglot. Reading an expression is the rules layer's (lint
reads the same trees the engine compiles); compiling it to Polars is the engine's (huiqi.engine.expressions)."""

from __future__ import annotations

from functools import lru_cache

import sqlglot
from sqlglot import exp


class ExpressionError(ValueError):
    """An expression that cannot be read or compiled; the message says why, in Chinese."""


@lru_cache(maxsize=4096)  # the same expression is read by lint, the compiler and the explainer
def parse(source: str) -> exp.Expression:
    try:
        return sqlglot.parse_one(source)
    except sqlglot.errors.ParseError as e:
        raise ExpressionError(f"表达式无法解析：{source!r}（{e.errors[0]['description'] if e.errors else e}）") from None
