"""The notation of rule expressions: SQL, parsed by sqlglot. Reading an expression is the rules layer's (lint
reads the same trees the engine compiles); compiling it to Polars is the engine's (huiqi.engine.expressions)."""

from __future__ import annotations

import importlib
from functools import lru_cache


class _OnFirstUse:
    """A module imported on its first attribute access. sqlglot costs 0.06–0.13 s to import and is needed only
    to read an expression; a process whose plans and templates come from the cache reads none (START2-1). Each
    name is kept on the instance once looked up, so later accesses are plain attribute reads."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str):
        if attr.startswith("__"):  # dunder probes (copy, pickle, inspect) must not import the module
            raise AttributeError(attr)
        value = getattr(importlib.import_module(self._name), attr)
        setattr(self, attr, value)
        return value


exp = _OnFirstUse("sqlglot.expressions")  # the node types: `isinstance(node, exp.Column)` imports on first use


class ExpressionError(ValueError):
    """An expression that cannot be read or compiled; the message says why, in Chinese."""


@lru_cache(maxsize=4096)  # the same expression is read by lint, the compiler and the explainer
def parse(source: str) -> exp.Expression:
    import sqlglot

    try:
        return sqlglot.parse_one(source)
    except sqlglot.errors.ParseError as e:
        raise ExpressionError(f"表达式无法解析：{source!r}（{e.errors[0]['description'] if e.errors else e}）") from None
