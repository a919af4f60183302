"""Chinese explanations for one entity's results: the clause, each condition with its gap, the computation.

Works from what the evaluator kept (each condition's three-valued result) and the entity's own facts, with
exact Fractions — so "差0.8个百分点" is exact, not a float artefact.
"""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from fractions import Fraction

from sqlglot import exp

from huiqi.core import money
from huiqi.engine.expressions import MONEY_UNITS, parse
from huiqi.policies.library import Library
from huiqi.rules.fields import SCALE, DataDictionary


def fmt_wan(value: Fraction | int | Decimal) -> str:
    """元 → '499.9万元' (exact to the 分, trailing zeros dropped; huiqi.core.money)."""
    return money.fmt_wan_exact(Fraction(value) * 100)


def fmt_yuan(value: Fraction | int | Decimal) -> str:
    """元 → '300,000.00元' (huiqi.core.money: half up below the 分)."""
    return money.fmt_yuan(Fraction(value) * 100)


def fmt_number(value: Fraction, unit: str | None = None) -> str:
    d = (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.01")).normalize()
    return f"{format(d, 'f')}{unit or ''}"


def fmt_pct(value: Fraction) -> str:
    d = (Decimal(value.numerator) * 100 / Decimal(value.denominator)).quantize(Decimal("0.01")).normalize()
    return f"{format(d, 'f')}%"


def _places_needed(value: Fraction) -> int | None:
    """Decimal places that show ``value`` exactly, or None if it does not terminate within 12."""
    for p in range(13):
        if (value * 10**p).denominator == 1:
            return p
    return None


def _quantize(value: Fraction, places: int, rounding=ROUND_HALF_UP) -> Decimal:
    d = Decimal(value.numerator) / Decimal(value.denominator)
    return d.quantize(Decimal(1).scaleb(-places), rounding=rounding)


def _text(d: Decimal) -> str:
    return format(d.normalize(), "f") if d != 0 else "0"


def failing_side(value: Fraction, threshold: Fraction, places: int, most: int) -> tuple[str, str, str]:
    """(value, threshold, difference) as decimal texts that never contradict "value fails threshold".

    Starts at ``places`` and adds digits until the shown value lies strictly on the failing side of the shown
    threshold (9.9996 vs 10, not "10 低于 10"); beyond ``most`` digits the value and a threshold that does not
    end within them are rounded away from each other instead. The difference is the difference of the shown
    numbers, so it is exact, consistent with what is shown, and never 0.
    """
    below = value < threshold
    for p in range(places, most + 1):
        need = _places_needed(threshold)
        if need is not None and need > p:
            continue
        v, t = _quantize(value, p), _quantize(threshold, p)
        if (v < t) if below else (v > t):
            return _text(v), _text(t), _text(abs(t - v))
    # both rounded away from each other: floor(v) <= v < t <= ceil(t) keeps the order strict
    v = _quantize(value, most, ROUND_FLOOR if below else ROUND_CEILING)
    t = _quantize(threshold, most, ROUND_CEILING if below else ROUND_FLOOR)
    return _text(v), _text(t), _text(abs(t - v))



def citation(library: Library, clause_id: str) -> str:
    """'《关于做好2024年四季度工业经济工作的政策措施》第21条' from a clause ID."""
    clause = library.clause(clause_id)
    doc = library.document(clause.document_id)
    markers = re.findall(r"第[^章条]+[章条]|[一二三四五六七八九十百]+、|（[^）]+）|\(\d+\)|\d+[.．、]", clause.label)
    parts = []
    for i, m in enumerate(markers):
        last = i == len(markers) - 1
        if m.startswith("第"):
            parts.append(m)
        elif m.endswith("、") and not m[0].isdigit():
            parts.append(f"第{m[:-1]}部分" if not last else f"第{m[:-1]}条")
        elif m[0].isdigit():
            parts.append(f"第{m[:-1]}条")
        else:
            parts.append(f"第{m}项" if last else m)
    # a numbered item (21.) is cited alone: "第21条" — its section adds nothing an officer uses
    if markers and markers[-1][0].isdigit():
        parts = parts[-1:]
    return f"《{doc.title}》{''.join(parts)}"


class Explainer:
    def __init__(self, dictionary: DataDictionary, library: Library, facts: dict, params: dict,
                 parameter_labels: dict[str, str]):
        self.dictionary, self.library = dictionary, library
        self.facts, self.params, self.parameter_labels = facts, params, parameter_labels

    # -- values ---------------------------------------------------------------------------------
    def value(self, node: exp.Expression) -> Fraction | bool | str | None:
        """Evaluate a simple numeric sub-expression for this entity (None if unknown or not simple)."""
        if isinstance(node, exp.Paren):
            return self.value(node.this)
        if isinstance(node, exp.Column):
            raw = self.facts.get(node.name)
            if raw is None:
                return None
            f = self.dictionary[node.name] if node.name in self.dictionary else None
            if f and f.type in ("money", "number"):
                return Fraction(raw, SCALE)
            return raw
        if isinstance(node, exp.Literal) and not node.is_string:
            return Fraction(node.this)
        if isinstance(node, exp.Anonymous) and node.name.lower() in ("wan", "yi", "pct"):
            inner = self.value(node.expressions[0])
            if inner is None:
                return None
            return inner * MONEY_UNITS.get(node.name.lower(), Fraction(1, 100))
        if isinstance(node, exp.Anonymous) and node.name.lower() == "param":
            v = self.params.get(node.expressions[0].this)
            return None if v is None else Fraction(str(v))
        if isinstance(node, (exp.Add, exp.Sub, exp.Mul)):
            a, b = self.value(node.this), self.value(node.expression)
            if not isinstance(a, Fraction) or not isinstance(b, Fraction):
                return None
            return a + b if isinstance(node, exp.Add) else a - b if isinstance(node, exp.Sub) else a * b
        return None

    def describe(self, node: exp.Expression) -> str:
        """A Chinese rendering of a numeric expression with this entity's values."""
        if isinstance(node, exp.Paren):
            return f"（{self.describe(node.this)}）"
        if isinstance(node, exp.Column):
            f = self.dictionary[node.name]
            v = self.value(node)
            shown = "未提供" if v is None else self.show(node.name, v)
            return f"{f.label}（{shown}）"
        if isinstance(node, exp.Anonymous):
            name = node.name.lower()
            if name == "pct":
                return f"{node.expressions[0].sql()}%"
            if name in ("wan", "yi"):
                return f"{node.expressions[0].sql()}{'万元' if name == 'wan' else '亿元'}"
            if name == "param":
                pname = node.expressions[0].this
                v = self.params.get(pname)
                label = self.parameter_labels.get(pname, pname)
                return f"{label}（{'待定' if v is None else v}）"
        if isinstance(node, exp.Mul):
            return f"{self.describe(node.this)} × {self.describe(node.expression)}"
        if isinstance(node, exp.Add):
            return f"{self.describe(node.this)} + {self.describe(node.expression)}"
        if isinstance(node, exp.Sub):
            return f"{self.describe(node.this)} − {self.describe(node.expression)}"
        if isinstance(node, exp.Div):
            return f"{self.describe(node.this)} ÷ {self.describe(node.expression)}"
        if isinstance(node, (exp.Least, exp.Greatest)):
            word = "较小者" if isinstance(node, exp.Least) else "较大者"
            items = "、".join(self.describe(x) for x in [node.this, *node.expressions])
            return f"{items}中的{word}"
        return node.sql()

    def show(self, field: str, value: Fraction) -> str:
        f = self.dictionary[field]
        if f.type == "money":
            return fmt_wan(value)
        return fmt_number(value, f.unit)

    def show_like(self, node: exp.Expression, value: Fraction) -> str:
        """Format a value the way the other side of a comparison is (money in 万元 for money fields)."""
        cols = [c for c in node.find_all(exp.Column) if c.name in self.dictionary]
        if cols and self.dictionary[cols[0].name].type == "money":
            return fmt_wan(value)
        if cols:
            return fmt_number(value, self.dictionary[cols[0].name].unit)
        return fmt_number(value)

    # -- gaps -----------------------------------------------------------------------------------
    def gap(self, source: str) -> str | None:
        """'当季工业总产值499.9万元，低于500万元（含）的要求，差0.1万元' for a failed simple comparison."""
        node = parse(source)
        if not isinstance(node, (exp.GTE, exp.GT, exp.LTE, exp.LT)):
            return None
        left, right = node.this, node.expression
        if isinstance(left, exp.Anonymous) and left.name.lower() == "growth":
            return self._growth_gap(node, left, right)
        a, b = self.value(left), self.value(right)
        if not isinstance(a, Fraction) or not isinstance(b, Fraction):
            return None
        label = self._label(left) + ("" if isinstance(left, exp.Column) else " ＝ ")
        if a == b:  # failing at equality: 超过/低于 exclude the threshold itself
            shown = self.show_like(left, a)
            return f"{label}{shown}，须超过{shown}（等于不算）" if isinstance(node, exp.GT) else \
                f"{label}{shown}，未低于{shown}（等于不算）" if isinstance(node, exp.LT) else None
        shown_a, shown_b, diff = self._shown_pair(left, a, b)
        if isinstance(node, exp.GTE):
            return f"{label}{shown_a}，低于{shown_b}（含）的要求，差{diff}"
        if isinstance(node, exp.GT):
            return f"{label}{shown_a}，须超过{shown_b}，差{diff}"
        if isinstance(node, exp.LTE):
            return f"{label}{shown_a}，超过{shown_b}的上限{diff}"
        return f"{label}{shown_a}，未低于{shown_b}（超出{diff}）"

    def _shown_pair(self, node: exp.Expression, a: Fraction, b: Fraction) -> tuple[str, str, str]:
        """The value, the threshold and their difference with units, digits enough never to contradict the
        failure (see ``failing_side``). Money is in 万元 down to the 分; a difference under 100元 is given in 元
        ("差0.01元", not "差0.000001万元")."""
        cols = [c for c in node.find_all(exp.Column) if c.name in self.dictionary]
        if cols and self.dictionary[cols[0].name].type == "money":
            exact = max(_places_needed(a / 10_000) or 6, _places_needed(b / 10_000) or 6)
            va, vb, _ = failing_side(a / 10_000, b / 10_000, min(exact, 6), 6)
            wa, wb = Fraction(va) * 10_000, Fraction(vb) * 10_000
            gap = abs(wb - wa)
            diff = f"{_text(_quantize(gap / 10_000, 6))}万元" if gap >= 100 else f"{_text(_quantize(gap, 2))}元"
            return f"{va}万元", f"{vb}万元", diff
        unit = self.dictionary[cols[0].name].unit if cols else None
        va, vb, diff = failing_side(a, b, 2, 8)
        return f"{va}{unit or ''}", f"{vb}{unit or ''}", f"{diff}{unit or ''}"

    def _growth_gap(self, node, growth_node, right) -> str | None:
        this_node, last_node = growth_node.expressions
        a, b, target = self.value(this_node), self.value(last_node), self.value(right)
        if not all(isinstance(x, Fraction) for x in (a, b, target)):
            return None
        label = self._label(this_node)
        if b <= 0:
            return f"{label}上年同期无基数（{self.show_like(last_node, b)}），无法计算同比增速"
        g = a / b - 1
        if g == target:
            return f"{label}同比增速{fmt_pct(g)}，须{'超过' if isinstance(node, exp.GT) else '低于'}{fmt_pct(target)}（等于不算）"
        shown_g, shown_t, diff = failing_side(g * 100, target * 100, 2, 8)
        if g > target:  # a ceiling on growth (低于/不超过)
            return f"{label}同比增速{shown_g}%，超过{shown_t}%的上限，超出{diff}个百分点"
        return f"{label}同比增速{shown_g}%，低于{shown_t}%的要求，差{diff}个百分点"

    def _label(self, node: exp.Expression) -> str:
        cols = [c for c in node.find_all(exp.Column) if c.name in self.dictionary]
        if isinstance(node, exp.Column) and cols:
            return self.dictionary[cols[0].name].label
        return self.describe(node)
