"""Compile rule expressions (SQL, parsed by sqlglot) into exact, null-aware Polars expressions.

Numbers are integers in hundredths (money in 分). Constants are exact fractions. Nothing is ever a binary
float: ``col * pct(50)`` becomes ``(col * 1) // 2``; ``growth(a, b) >= pct(10)`` becomes ``a * 10 >= b * 11``
(b > 0), so exactly 10.00% growth meets "10%（含）以上" whatever the magnitudes.

Null means "not known": it propagates through arithmetic, comparisons and least()/greatest(); AND/OR follow
Kleene logic (false AND unknown = false). A parameter the operator has not set compiles to an unknown value
marked *pending*, so a result can say 参数待定 instead of pretending.

Helpers available in rule expressions:
  wan(x) 万元, yi(x) 亿元, pct(x) x%, growth(this, last) 同比增速 (comparisons only), ratio(a, b) a/b
  (comparisons only), param('name'), least(...), greatest(...), coalesce(...), days_between(d1, d2),
  year(d), CASE WHEN, IN, BETWEEN, IS NULL, DATE 'YYYY-MM-DD', in_region(county, '4502') (所在县区 — a
  6-digit division code or a Guangxi 县区/设区市 name — lies in the area whose code starts so; unknown or
  unrecognised → unknown).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from functools import lru_cache
from typing import Callable, Mapping

import polars as pl
from huiqi.rules.syntax import ExpressionError, exp, parse  # noqa: F401  (re-exported; exp imports sqlglot on first use)

from huiqi.rules.fields import SCALE, DataDictionary

MONEY_UNITS = {"wan": Fraction(10_000), "yi": Fraction(100_000_000)}


@dataclass(frozen=True)
class Value:
    """A compiled sub-expression.

    kind: num | bool | date | text | growth | ratio.
    const: a Python constant (Fraction for numbers) when known at compile time, else None.
    expr: the Polars expression (for num: Int64 in hundredths) when not constant.
    pending: names of unset operator parameters this value depends on.
    fields: data-dictionary fields it reads.
    """

    kind: str
    const: object = None
    expr: pl.Expr | None = None
    pending: frozenset = frozenset()
    fields: frozenset = frozenset()
    parts: tuple = ()  # for growth/ratio: (numerator Value, denominator Value)

    @property
    def is_const(self) -> bool:
        return self.expr is None and not self.pending and self.kind not in ("growth", "ratio")

    def polars(self) -> pl.Expr:
        """This value as a Polars expression (constants become literals, in hundredths)."""
        if self.expr is not None:
            return self.expr
        if self.pending:
            return pl.lit(None, dtype=_DTYPES[self.kind])
        if self.kind == "num":
            scaled = Fraction(self.const) * SCALE
            if scaled.denominator != 1:
                raise ExpressionError(f"常数 {self.const} 精度超过0.01，无法精确表示")
            return pl.lit(int(scaled), dtype=pl.Int64)
        return pl.lit(self.const, dtype=_DTYPES[self.kind])


_DTYPES = {"num": pl.Int64, "bool": pl.Boolean, "date": pl.Date, "text": pl.String}


def _merge(*values: Value) -> dict:
    return {
        "pending": frozenset().union(*(v.pending for v in values)),
        "fields": frozenset().union(*(v.fields for v in values)),
    }


def _any_null(values: list[Value]) -> pl.Expr:
    return pl.any_horizontal([v.polars().is_null() for v in values])


@lru_cache(maxsize=None)
def _comparisons() -> dict:
    """sqlglot's comparison node types → operators (built on first compile: sqlglot is imported only to read)."""
    return {exp.GTE: operator.ge, exp.GT: operator.gt, exp.LTE: operator.le, exp.LT: operator.lt,
            exp.EQ: operator.eq, exp.NEQ: operator.ne}
_FLIP = {operator.ge: operator.le, operator.gt: operator.lt, operator.le: operator.ge, operator.lt: operator.gt,
         operator.eq: operator.eq, operator.ne: operator.ne}


@dataclass
class Compiler:
    """Compiles one expression against a data dictionary and a set of parameter values."""

    dictionary: DataDictionary
    params: Mapping[str, object] = field(default_factory=dict)  # name → value (None = pending)
    declared: frozenset = frozenset()  # parameter names that exist

    def compile(self, source: str) -> Value:
        return self.node(parse(source))

    # -- dispatch -------------------------------------------------------------------------------
    def node(self, n: exp.Expression) -> Value:
        method: Callable | None = getattr(self, f"_{type(n).__name__.lower()}", None)
        if method is None:
            raise ExpressionError(f"不支持的表达式写法：{n.sql()}")
        return method(n)

    # -- leaves ---------------------------------------------------------------------------------
    def _column(self, n: exp.Column) -> Value:
        name = n.name
        if name.lower() in ("true", "false"):
            return Value("bool", const=name.lower() == "true")
        if name not in self.dictionary:
            raise ExpressionError(f"未知字段 {name}：请先在数据字典（huiqi/rules/fields/）中定义")
        f = self.dictionary[name]
        kind = {"money": "num", "number": "num"}.get(f.type, f.type)
        return Value(kind, expr=pl.col(name), fields=frozenset([name]))

    def _literal(self, n: exp.Literal) -> Value:
        if n.is_string:
            return Value("text", const=n.this)
        return Value("num", const=Fraction(n.this))

    def _boolean(self, n: exp.Boolean) -> Value:
        return Value("bool", const=bool(n.this))

    def _null(self, n: exp.Null) -> Value:
        return Value("num", expr=pl.lit(None, dtype=pl.Int64))

    def _paren(self, n: exp.Paren) -> Value:
        return self.node(n.this)

    def _neg(self, n: exp.Neg) -> Value:
        v = self._num(self.node(n.this), n)
        if v.is_const:
            return Value("num", const=-v.const)
        return Value("num", expr=-v.polars(), **_merge(v))

    def _cast(self, n: exp.Cast) -> Value:
        if n.to.this == exp.DataType.Type.DATE and isinstance(n.this, exp.Literal):
            return Value("date", const=date.fromisoformat(n.this.this))
        raise ExpressionError(f"不支持的类型转换：{n.sql()}（日期请写 DATE 'YYYY-MM-DD'）")

    # -- helpers: wan/yi/pct/param/growth/ratio ----------------------------------------------------
    def _anonymous(self, n: exp.Anonymous) -> Value:
        name = n.name.lower()
        args = n.expressions
        if name in ("wan", "yi", "pct"):
            (arg,) = args
            v = self._num(self.node(arg), n)
            factor = MONEY_UNITS.get(name, Fraction(1, 100))
            if v.is_const:
                return Value("num", const=v.const * factor)
            if v.pending:
                return Value("num", **_merge(v))
            return _scale(v, factor)
        if name == "param":
            return self._param(args)
        if name in ("growth", "ratio"):
            a, b = (self._num(self.node(x), n) for x in args)
            return Value(name, parts=(a, b), **_merge(a, b))
        if name == "days_between":
            a, b = (self.node(x) for x in args)
            if a.pending or b.pending:
                return Value("num", **_merge(a, b))
            days = (b.polars() - a.polars()).dt.total_days().cast(pl.Int64) * SCALE
            return Value("num", expr=days, **_merge(a, b))
        if name == "in_region":
            return self._in_region(n, args)
        raise ExpressionError(f"未知函数 {n.name}()")

    def _in_region(self, n: exp.Anonymous, args) -> Value:
        if len(args) != 2 or not (isinstance(args[1], exp.Literal) and args[1].is_string):
            raise ExpressionError(f"{n.sql()}：in_region 需要两个参数：字段与区划代码前缀字符串，如 in_region(county, '4502')")
        subject, prefix = self.node(args[0]), args[1].this
        if subject.kind != "text":
            raise ExpressionError(f"{n.sql()}：in_region 的第一个参数应为文本字段（所在县区）")
        # an unrecognised name is outside every Guangxi area (false, not unknown: only an empty field is
        # unknown, so the answer stays 待补充信息 exactly when 所在县区 was not given)
        value = subject.polars()
        inside = region_code(value).fill_null("").str.starts_with(prefix)
        return Value("bool", expr=pl.when(value.is_null()).then(None).otherwise(inside), **_merge(subject))

    def _param(self, args) -> Value:
        if len(args) != 1 or not isinstance(args[0], exp.Literal) or not args[0].is_string:
            raise ExpressionError("param() 需要一个参数名字符串，如 param('rate')")
        pname = args[0].this
        if pname not in self.declared:
            raise ExpressionError(f"未声明的参数 {pname}")
        value = self.params.get(pname)
        if value is None:
            return Value("num", pending=frozenset([pname]))
        if isinstance(value, bool):
            return Value("bool", const=value)
        if isinstance(value, str) and not _is_number(value):
            return Value("text", const=value)
        return Value("num", const=Fraction(str(value)))

    # -- arithmetic -----------------------------------------------------------------------------
    def _num(self, v: Value, n: exp.Expression) -> Value:
        if v.kind != "num":
            raise ExpressionError(f"{n.sql()}：此处需要数值，得到的是 {v.kind}")
        return v

    def _add(self, n) -> Value:
        return self._additive(n, operator.add)

    def _sub(self, n) -> Value:
        return self._additive(n, operator.sub)

    def _additive(self, n, op) -> Value:
        a, b = self._num(self.node(n.this), n), self._num(self.node(n.expression), n)
        if a.is_const and b.is_const:
            return Value("num", const=op(a.const, b.const))
        if a.pending or b.pending:
            return Value("num", **_merge(a, b))
        return Value("num", expr=op(a.polars(), b.polars()), **_merge(a, b))

    def _mul(self, n) -> Value:
        a, b = self._num(self.node(n.this), n), self._num(self.node(n.expression), n)
        if a.is_const and b.is_const:
            return Value("num", const=a.const * b.const)
        if a.pending or b.pending:
            return Value("num", **_merge(a, b))
        if a.is_const:
            a, b = b, a
        if b.is_const:
            return _scale(a, Fraction(b.const))
        # both columns in hundredths: the product has scale 100², bring it back (floor, never rounds up)
        return Value("num", expr=(a.polars() * b.polars()) // SCALE, **_merge(a, b))

    def _div(self, n) -> Value:
        a, b = self._num(self.node(n.this), n), self._num(self.node(n.expression), n)
        if b.is_const and b.const == 0:
            raise ExpressionError(f"{n.sql()}：除数为0")
        if a.is_const and b.is_const:
            return Value("num", const=Fraction(a.const) / Fraction(b.const))
        if a.pending or b.pending:
            return Value("num", **_merge(a, b))
        if b.is_const:
            return _scale(a, 1 / Fraction(b.const))
        raise ExpressionError(f"{n.sql()}：两个字段相除请在比较中使用 ratio(a, b) 或 growth(a, b)")

    # -- comparisons ----------------------------------------------------------------------------
    def _gte(self, n) -> Value:
        return self._compare(n)

    _gt = _lt = _lte = _eq = _neq = _gte

    def _compare(self, n) -> Value:
        op = _comparisons()[type(n)]
        a, b = self.node(n.this), self.node(n.expression)
        meta = _merge(a, b)
        if a.pending or b.pending:
            return Value("bool", **meta)
        if b.kind in ("growth", "ratio"):
            a, b, op = b, a, _FLIP[op]
        if a.kind in ("growth", "ratio"):
            if not b.is_const or b.kind != "num":
                raise ExpressionError(f"{n.sql()}：growth()/ratio() 只能与常数或参数比较")
            return Value("bool", expr=_compare_quotient(a, Fraction(b.const), op), **meta)
        if a.kind != b.kind:
            raise ExpressionError(f"{n.sql()}：比较两侧类型不同（{a.kind} 与 {b.kind}）")
        if a.is_const and b.is_const:
            return Value("bool", const=op(a.const, b.const))
        if a.kind == "num":
            if b.is_const:
                return Value("bool", expr=_compare_to_const(a.polars(), Fraction(b.const), op), **meta)
            if a.is_const:
                return Value("bool", expr=_compare_to_const(b.polars(), Fraction(a.const), _FLIP[op]), **meta)
        return Value("bool", expr=op(a.polars(), b.polars()), **meta)

    def _between(self, n: exp.Between) -> Value:
        lo = exp.GTE(this=n.this, expression=n.args["low"])
        hi = exp.LTE(this=n.this, expression=n.args["high"])
        return self.node(exp.And(this=lo, expression=hi))

    def _in(self, n: exp.In) -> Value:
        subject = self.node(n.this)
        options = [self.node(x) for x in n.expressions]
        if not all(o.is_const for o in options):
            raise ExpressionError(f"{n.sql()}：IN 列表只能是常数")
        values = [o.const if subject.kind != "num" else int(Fraction(o.const) * SCALE) for o in options]
        if subject.is_const:
            return Value("bool", const=subject.const in [o.const for o in options])
        col = subject.polars()
        return Value("bool", expr=pl.when(col.is_null()).then(None).otherwise(col.is_in(values)), **_merge(subject))

    def _is(self, n: exp.Is) -> Value:
        v = self.node(n.this)
        if not isinstance(n.expression, exp.Null):
            raise ExpressionError(f"{n.sql()}：IS 只能用于 IS NULL / IS NOT NULL")
        return Value("bool", expr=v.polars().is_null(), **_merge(v))

    # -- logic ----------------------------------------------------------------------------------
    def _bool(self, v: Value, n) -> Value:
        if v.kind != "bool":
            raise ExpressionError(f"{n.sql()}：此处需要条件（是/否），得到的是 {v.kind}")
        return v

    def _and(self, n) -> Value:
        return self._logic(n, operator.and_)

    def _or(self, n) -> Value:
        return self._logic(n, operator.or_)

    def _logic(self, n, op) -> Value:
        a, b = self._bool(self.node(n.this), n), self._bool(self.node(n.expression), n)
        if a.is_const and b.is_const:
            return Value("bool", const=op(a.const, b.const))
        # a pending side is unknown (null) in Kleene logic: false AND pending is still false
        return Value("bool", expr=op(a.polars(), b.polars()), **_merge(a, b))

    def _not(self, n) -> Value:
        v = self._bool(self.node(n.this), n)
        if v.is_const:
            return Value("bool", const=not v.const)
        return Value("bool", expr=~v.polars(), **_merge(v))

    # -- functions ------------------------------------------------------------------------------
    def _least(self, n) -> Value:
        return self._extreme(n, pl.min_horizontal, min)

    def _greatest(self, n) -> Value:
        return self._extreme(n, pl.max_horizontal, max)

    def _extreme(self, n, horizontal, python) -> Value:
        values = [self._num(self.node(x), n) for x in [n.this, *n.expressions]]
        if all(v.is_const for v in values):
            return Value("num", const=python(v.const for v in values))
        meta = _merge(*values)
        if meta["pending"]:
            return Value("num", **meta)
        # unlike SQL LEAST in some dialects, an unknown input makes the result unknown (missing is not zero)
        exprs = [v.polars() for v in values]
        return Value("num", expr=pl.when(_any_null(values)).then(None).otherwise(horizontal(exprs)), **meta)

    def _coalesce(self, n) -> Value:
        values = [self.node(x) for x in [n.this, *n.expressions]]
        kinds = {v.kind for v in values}
        if len(kinds) != 1:
            raise ExpressionError(f"{n.sql()}：COALESCE 各项类型须一致")
        return Value(kinds.pop(), expr=pl.coalesce([v.polars() for v in values]), **_merge(*values))

    def _year(self, n) -> Value:
        v = self.node(n.this)
        return Value("num", expr=v.polars().dt.year().cast(pl.Int64) * SCALE, **_merge(v))

    def _case(self, n: exp.Case) -> Value:
        branches = [(self._bool(self.node(i.this), n), self.node(i.args["true"])) for i in n.args["ifs"]]
        default = self.node(n.args["default"]) if n.args.get("default") else None
        results = [b[1] for b in branches] + ([default] if default else [])
        kinds = {r.kind for r in results}
        if len(kinds) != 1:
            raise ExpressionError(f"{n.sql()}：CASE 各分支结果类型须一致")
        meta = _merge(*[b[0] for b in branches], *results)
        chain = None
        for cond, res in branches:
            chain = pl.when(cond.polars()).then(res.polars()) if chain is None else \
                chain.when(cond.polars()).then(res.polars())
        out = chain.otherwise(default.polars() if default else None)
        # an unknown condition must not silently fall through to ELSE
        unknown = pl.any_horizontal([c.polars().is_null() for c, _ in branches])
        return Value(kinds.pop(), expr=pl.when(unknown).then(None).otherwise(out),
                     pending=meta["pending"], fields=meta["fields"])


@lru_cache(maxsize=1)
def _region_names() -> dict[str, str]:
    """Guangxi 县区 and 设区市 names (also written "柳州市柳南区" or with "广西") → 6-digit division code."""
    from huiqi.core.regions import CITIES  # a static table (GB/T 2260), no data access

    out: dict[str, str] = {}
    for city, (city_code, _w, counties) in CITIES.items():
        out[city] = city_code
        for code, name, _ in counties:
            out[name] = out[city + name] = code
    out.update({"广西" + k: v for k, v in list(out.items())} | {"广西壮族自治区" + k: v for k, v in list(out.items())})
    return out


def region_code(text: pl.Expr) -> pl.Expr:
    """The 6-digit division code of a 所在县区 value: the code itself, or looked up by name (a 设区市 name gives
    the city's code, e.g. 450200); else null."""
    clean = text.str.replace_all(r"\s", "")
    by_name = clean.replace_strict(_region_names(), default=None, return_dtype=pl.String)
    return pl.when(clean.str.contains(r"^\d{6}$")).then(clean).otherwise(by_name)


def _is_number(text: str) -> bool:
    try:
        Fraction(text)
        return True
    except ValueError:
        return False


def _scale(v: Value, factor: Fraction) -> Value:
    """Multiply a column value by an exact fraction, flooring to the hundredth (分)."""
    expr = v.polars()
    if factor.numerator != 1:
        expr = expr * factor.numerator
    if factor.denominator != 1:
        expr = expr // factor.denominator
    return Value("num", expr=expr, pending=v.pending, fields=v.fields)


def _compare_to_const(col: pl.Expr, c: Fraction, op) -> pl.Expr:
    """col (hundredths) op c, exactly: col × den op num × 100."""
    scaled = c * SCALE
    if scaled.denominator == 1:
        return op(col, pl.lit(int(scaled), dtype=pl.Int64))
    return op(col * scaled.denominator, pl.lit(scaled.numerator, dtype=pl.Int64))


def _compare_quotient(v: Value, c: Fraction, op) -> pl.Expr:
    """growth(a, b) op c  ⇔  a op b·(1+c);  ratio(a, b) op c  ⇔  a op b·c  (b > 0), cross-multiplied.

    A growth or ratio needs a positive base: where b ≤ 0 the test is not met (无基数不计增速, whatever a is);
    otherwise, where a or b is unknown, the result is unknown.
    """
    a, b = (p.polars() for p in v.parts)
    q = (1 + c) if v.kind == "growth" else c
    test = op(a * q.denominator, b * q.numerator)
    # an unknown b makes (b <= 0) unknown, which falls through to the test, itself unknown: null propagates
    return pl.when(b <= 0).then(False).otherwise(test)
