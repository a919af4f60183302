"""The input bounds (huiqi/core/bounds.py) keep every engine computation inside Int64.

Polars Int64 arithmetic wraps silently: 92233720368547758 元 once became a 153722867180.91% growth. This test
walks every rule expression (conditions, gates, amounts, caps, minimums) the way huiqi/engine/expressions.py
compiles it, with each field at the bounds of its kind and each parameter at its declared extreme, and checks the
largest intermediate value — a product of two columns before its ÷100, a column × the numerator of a constant,
a cross-multiplied comparison — stays below 2⁶³.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from sqlglot import exp

from huiqi.core import bounds
from huiqi.engine.evaluate import RuleSet
from huiqi.engine.expressions import parse

SCALE = 100
DAYS_SPAN = (bounds.DATE_MAX - bounds.DATE_MIN).days * SCALE


class Walk:
    """Abstract evaluation: ('const', Fraction) | ('num', lo, hi) in hundredths | ('bool',) | ('date',) |
    ('text',) | ('growth'|'ratio', a, b) | ('pending',). Records the largest Int64 magnitude computed."""

    def __init__(self, rs: RuleSet, params: dict[str, Fraction | None]):
        self.rs, self.params = rs, params
        self.peak, self.where = 0, ""

    def see(self, magnitude: int | Fraction, n: exp.Expression) -> None:
        if magnitude > self.peak:
            self.peak, self.where = int(magnitude), n.sql()

    def node(self, n):
        return getattr(self, "_" + type(n).__name__.lower())(n)

    # values
    def interval(self, v):
        if v[0] == "const":
            c = v[1] * SCALE
            return c, c
        if v[0] == "num":
            return v[1], v[2]
        raise AssertionError(v)

    def scale(self, v, factor: Fraction, n):
        lo, hi = self.interval(v)
        self.see(max(abs(lo), abs(hi)) * abs(factor.numerator), n)
        a, b = lo * factor, hi * factor
        return ("num", min(a, b), max(a, b))

    def _column(self, n):
        if n.name.lower() in ("true", "false"):
            return ("bool",)
        f = self.rs.dictionary[n.name]
        if f.type in ("money", "number"):
            m = bounds.kind_for(f.type, f.unit).maximum
            return ("num", -m if bounds.may_be_negative(f.label) else 0, m)
        return (f.type,) if f.type in ("date", "bool") else ("text",)

    def _literal(self, n):
        return ("text",) if n.is_string else ("const", Fraction(n.this))

    def _boolean(self, n):
        return ("bool",)

    def _null(self, n):
        return ("num", 0, 0)

    def _paren(self, n):
        return self.node(n.this)

    def _neg(self, n):
        v = self.node(n.this)
        if v[0] == "const":
            return ("const", -v[1])
        if v[0] == "pending":
            return v
        lo, hi = self.interval(v)
        return ("num", -hi, -lo)

    def _cast(self, n):
        return ("date",)

    def _anonymous(self, n):
        name = n.name.lower()
        args = [self.node(a) for a in n.expressions] if name != "param" else []
        if name in ("wan", "yi", "pct"):
            factor = {"wan": Fraction(10_000), "yi": Fraction(10**8), "pct": Fraction(1, 100)}[name]
            (v,) = args
            if v[0] in ("const", "pending"):
                return ("const", v[1] * factor) if v[0] == "const" else v
            return self.scale(v, factor, n)
        if name == "param":
            value = self.params.get(n.expressions[0].this)
            return ("pending",) if value is None else ("const", value)
        if name in ("growth", "ratio"):
            return (name, *args)
        if name == "days_between":
            return ("num", -DAYS_SPAN, DAYS_SPAN)
        raise AssertionError(name)

    def _mul(self, n):
        a, b = self.node(n.this), self.node(n.expression)
        if "pending" in (a[0], b[0]):
            return ("pending",)
        if a[0] == "const" and b[0] == "const":
            return ("const", a[1] * b[1])
        if a[0] == "const":
            a, b = b, a
        if b[0] == "const":
            return self.scale(a, b[1], n)
        (alo, ahi), (blo, bhi) = self.interval(a), self.interval(b)
        corners = [x * y for x in (alo, ahi) for y in (blo, bhi)]
        self.see(max(abs(c) for c in corners), n)  # (a * b) before // 100
        return ("num", min(corners) // SCALE, max(corners) // SCALE)

    def _div(self, n):
        a, b = self.node(n.this), self.node(n.expression)
        if "pending" in (a[0], b[0]):
            return ("pending",)
        if a[0] == "const":
            return ("const", a[1] / b[1])
        return self.scale(a, 1 / Fraction(b[1]), n)

    def _add(self, n, sign=1):
        a, b = self.node(n.this), self.node(n.expression)
        if "pending" in (a[0], b[0]):
            return ("pending",)
        if a[0] == "const" and b[0] == "const":
            return ("const", a[1] + sign * b[1])
        (alo, ahi), (blo, bhi) = self.interval(a), self.interval(b)
        lo, hi = (alo + blo, ahi + bhi) if sign > 0 else (alo - bhi, ahi - blo)
        self.see(max(abs(lo), abs(hi)), n)
        return ("num", lo, hi)

    def _sub(self, n):
        return self._add(n, -1)

    def _extreme(self, n, pick):
        vs = [self.node(x) for x in [n.this, *n.expressions]]
        if any(v[0] == "pending" for v in vs):
            return ("pending",)
        if all(v[0] == "const" for v in vs):
            return ("const", pick(v[1] for v in vs))
        ivs = [self.interval(v) for v in vs]
        return ("num", pick(i[0] for i in ivs), pick(i[1] for i in ivs))

    def _least(self, n):
        return self._extreme(n, min)

    def _greatest(self, n):
        return self._extreme(n, max)

    def _coalesce(self, n):
        vs = [self.node(x) for x in [n.this, *n.expressions]]
        nums = [self.interval(v) for v in vs if v[0] in ("const", "num")]
        return ("num", min(i[0] for i in nums), max(i[1] for i in nums)) if nums else vs[0]

    def _year(self, n):
        self.node(n.this)
        return ("num", bounds.DATE_MIN.year * SCALE, bounds.DATE_MAX.year * SCALE)

    def _case(self, n):
        for i in n.args["ifs"]:
            self.node(i.this)
        results = [self.node(i.args["true"]) for i in n.args["ifs"]]
        if n.args.get("default"):
            results.append(self.node(n.args["default"]))
        nums = [self.interval(v) for v in results if v[0] in ("const", "num")]
        return ("num", min(i[0] for i in nums), max(i[1] for i in nums)) if nums else results[0]

    def _compare(self, n):
        a, b = self.node(n.this), self.node(n.expression)
        if "pending" in (a[0], b[0]):
            return ("bool",)
        if b[0] in ("growth", "ratio"):
            a, b = b, a
        if a[0] in ("growth", "ratio"):
            q = (1 + b[1]) if a[0] == "growth" else b[1]
            (xlo, xhi), (ylo, yhi) = self.interval(a[1]), self.interval(a[2])
            self.see(max(abs(xlo), abs(xhi)) * q.denominator, n)  # a * q.den
            self.see(max(abs(ylo), abs(yhi)) * abs(q.numerator), n)  # b * q.num
        elif a[0] == "num" and b[0] == "const" or a[0] == "const" and b[0] == "num":
            col, c = (a, b[1]) if a[0] == "num" else (b, a[1])
            lo, hi = self.interval(col)
            self.see(max(abs(lo), abs(hi)) * (c * SCALE).denominator, n)
        return ("bool",)

    _gte = _gt = _lt = _lte = _eq = _neq = _compare

    def _between(self, n):
        self._compare(exp.GTE(this=n.this, expression=n.args["low"]))
        return self._compare(exp.LTE(this=n.this, expression=n.args["high"]))

    def _logic(self, n):
        for child in n.iter_expressions():
            self.node(child)
        return ("bool",)

    _and = _or = _not = _in = _is = _logic


def _extreme_params(rs: RuleSet) -> dict[str, Fraction | None]:
    """Each numeric parameter at the largest magnitude an operator may set (its max or min), else its default."""
    out: dict[str, Fraction | None] = {}
    for name, p in rs.parameters.items():
        candidates = [v for v in (p.max, p.min, p.default) if v is not None and not isinstance(v, bool)]
        try:
            out[name] = max((Fraction(str(v)) for v in candidates), key=abs) if candidates else None
        except ValueError:
            out[name] = None  # a text parameter
    return out


def _expressions(rs: RuleSet):
    for mid, (m, f) in rs.measures.items():
        for c in [*m.conditions, *f.rules.defaults.gates]:
            yield mid, c.when
        for e in (m.amount, m.cap, m.cap_year, m.minimum):
            if e:
                yield mid, e


def test_no_rule_computation_can_overflow_int64_at_the_input_bounds():
    rs = RuleSet()
    params = _extreme_params(rs)
    worst = []
    for mid, source in _expressions(rs):
        w = Walk(rs, params)
        w.node(parse(source))
        worst.append((w.peak, mid, w.where))
    worst.sort(reverse=True)
    peak, mid, where = worst[0]
    assert peak < 2**63, f"{mid}: {where} can reach {peak:.3e} ≥ 2⁶³"
    # the largest today: 贷款本金 × least(计息天数, 365) (gx2024q4-23), about 3.7 × 10¹⁸
    assert peak > 10**18, worst[:3]


@pytest.mark.parametrize("unit,kind", [("元", "money"), ("元/平方米", "unit_price"), ("人", "people"),
                                       ("千瓦时", "kwh"), ("天", "days"), ("%", "rate"), (None, "number")])
def test_kind_by_unit(unit, kind):
    field_type = "money" if unit and unit.startswith("元") else "number"
    assert bounds.kind_for(field_type, unit).name == kind


def test_signed_fields_are_the_results_and_changes():
    assert bounds.may_be_negative("当季利润总额") and bounds.may_be_negative("近2年主营业务收入平均增长率（%）")
    assert not bounds.may_be_negative("当季工业总产值") and not bounds.may_be_negative("当季用电量")
