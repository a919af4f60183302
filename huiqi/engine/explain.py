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


def _fmt_date(value) -> str:
    """'2024-01-31' or a date → '2024年1月31日'."""
    text = str(value)
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text[:10])
    return f"{int(m[1])}年{int(m[2])}月{int(m[3])}日" if m else text


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
            return self.fact(node.name)
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

    def fact(self, field: str) -> Fraction | bool | str | None:
        """This entity's value of a field: an exact Fraction for money and numbers (stored ×100)."""
        raw = self.facts.get(field)
        if raw is None:
            return None
        f = self.dictionary[field] if field in self.dictionary else None
        if f and f.type in ("money", "number"):
            return Fraction(raw, SCALE)
        return raw

    def describe(self, node: exp.Expression) -> str:
        """A Chinese rendering of an expression with this entity's values — never SQL, codes or function names.

        Every construct the rule files use has a plain wording (tests/test_explain_chinese.py walks them all);
        an unforeseen one reads "按规则公式计算" rather than leaking SQL to an officer or an enterprise."""
        if isinstance(node, exp.Paren):
            inner = node.this
            text = self.describe(inner)
            return text if isinstance(inner, (exp.Column, exp.Anonymous, exp.Literal, exp.Case)) else f"（{text}）"
        if isinstance(node, exp.Column):
            if node.name.lower() in ("true", "false"):
                return "是" if node.name.lower() == "true" else "否"
            if node.name not in self.dictionary:
                return "有关数据"
            return f"{self.dictionary[node.name].label}（{self.shown(node.name)}）"
        if isinstance(node, exp.Literal):
            return f"“{node.this}”" if node.is_string else fmt_number(Fraction(node.this))
        if isinstance(node, exp.Boolean):
            return "是" if node.this else "否"
        if isinstance(node, exp.Null):
            return "空"
        if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal):
            return _fmt_date(node.this.this)
        if isinstance(node, exp.Neg):
            return f"−{self.describe(node.this)}"
        if isinstance(node, exp.Anonymous):
            return self._describe_function(node)
        if type(node) in self._ARITH:
            return f"{self._term(node.this)} {self._ARITH[type(node)]} {self._term(node.expression)}"
        if isinstance(node, (exp.Least, exp.Greatest)):
            word = "较小者" if isinstance(node, exp.Least) else "较大者"
            items = "、".join(self.describe(x) for x in [node.this, *node.expressions])
            return f"{items}中的{word}"
        if isinstance(node, exp.Year):
            return f"{self.describe(node.this)}的年份"
        if isinstance(node, exp.Coalesce):
            rest = "，再取".join(self.describe(x) for x in node.expressions)
            return f"{self.describe(node.this)}（未提供时取{rest}）"
        if isinstance(node, exp.Case):
            return self._describe_case(node)
        if isinstance(node, exp.If):
            return self._describe_case(exp.Case(ifs=[node]))
        return self._describe_condition(node) or "按规则公式计算"

    def _term(self, node: exp.Expression) -> str:
        """An operand of arithmetic: a case table is bracketed so "× 人月数" does not read as part of its last branch."""
        text = self.describe(node)
        return f"（{text}）" if isinstance(node, (exp.Case, exp.If)) else text

    _ARITH = {exp.Mul: "×", exp.Add: "+", exp.Sub: "−", exp.Div: "÷"}
    _COMPARE = {exp.GTE: "不低于", exp.GT: "超过", exp.LTE: "不超过", exp.LT: "低于", exp.EQ: "为", exp.NEQ: "不为"}

    def _describe_condition(self, node: exp.Expression) -> str | None:
        """A boolean expression in words: 'X不低于Y', 'A且B', '人才层次为“A”'."""
        for kind, word in self._COMPARE.items():
            if type(node) is kind:
                return f"{self.describe(node.this)}{word}{self._describe_operand(node.this, node.expression)}"
        if isinstance(node, exp.And):
            return f"{self._describe_bool(node.this)}且{self._describe_bool(node.expression)}"
        if isinstance(node, exp.Or):
            return f"{self._describe_bool(node.this)}或{self._describe_bool(node.expression)}"
        if isinstance(node, exp.Not):
            inner = node.this
            if isinstance(inner, exp.Paren):
                inner = inner.this
            if isinstance(inner, exp.Is):
                return f"{self.describe(inner.this)}已提供"
            if isinstance(inner, exp.In):
                return f"{self.describe(inner.this)}不属于{self._options(inner)}"
            return f"并非{self._describe_bool(inner)}"
        if isinstance(node, exp.Is):
            return f"{self.describe(node.this)}未提供"
        if isinstance(node, exp.In):
            return f"{self.describe(node.this)}属于{self._options(node)}"
        if isinstance(node, exp.Between):
            low, high = node.args["low"], node.args["high"]
            return (f"{self.describe(node.this)}在{self._describe_operand(node.this, low)}至"
                    f"{self._describe_operand(node.this, high)}之间（含）")
        return None

    def _describe_bool(self, node: exp.Expression) -> str:
        if isinstance(node, exp.Paren):
            return f"（{self._describe_bool(node.this)}）"
        if isinstance(node, exp.Column) and node.name in self.dictionary \
                and self.dictionary[node.name].type == "bool":
            return f"{self.describe(node)}为“是”"
        return self.describe(node)

    def _options(self, node: exp.In) -> str:
        return "、".join(self._describe_operand(node.this, x) for x in node.expressions) + "之一"

    def _describe_operand(self, subject: exp.Expression, node: exp.Expression) -> str:
        """The constant side of a comparison, in the subject's unit (第1名, 500万元, 5%)."""
        if isinstance(subject, exp.Column) and subject.name in self.dictionary and isinstance(node, exp.Literal) \
                and not node.is_string:
            f = self.dictionary[subject.name]
            number = Fraction(node.this)
            if f.unit == "名":
                return f"第{fmt_number(number)}名"
            if f.type == "money":
                return fmt_yuan(number)
            return fmt_number(number, f.unit)
        return self.describe(node)

    def _describe_function(self, node: exp.Anonymous) -> str:
        name, args = node.name.lower(), node.expressions
        if name in ("pct", "wan", "yi") and len(args) == 1:
            unit = {"pct": "%", "wan": "万元", "yi": "亿元"}[name]
            if isinstance(args[0], exp.Literal) and not args[0].is_string:
                return f"{fmt_number(Fraction(args[0].this))}{unit}"
            return f"{self.describe(args[0])}（{unit}）"
        if name == "param" and args:
            pname = args[0].this
            v = self.params.get(pname)
            label = self.parameter_labels.get(pname) or "政策参数"
            return f"{label}（{'待定' if v is None else v}）"
        if name == "ratio" and len(args) == 2:
            return f"{self.describe(args[0])} ÷ {self.describe(args[1])}"
        if name == "growth" and len(args) == 2:
            return f"{self.describe(args[0])}较{self.describe(args[1])}的同比增速"
        if name == "days_between" and len(args) == 2:
            return f"自{self.describe(args[0])}至{self.describe(args[1])}的天数"
        return "按规则公式计算"

    def _describe_case(self, node: exp.Case) -> str:
        """按排名：第1名800万元，第2名500万元…，其他0元 — or 若…，为…；否则为… when branches test different things."""
        ifs, default = node.args.get("ifs") or [], node.args.get("default")
        money = any(isinstance(x, exp.Anonymous) and x.name.lower() in ("wan", "yi")
                    for i in ifs for x in i.args["true"].walk())

        def result(n: exp.Expression) -> str:
            if money and isinstance(n, exp.Literal) and not n.is_string:
                return fmt_wan(Fraction(n.this)) if Fraction(n.this) else "0元"
            return self.describe(n)

        subjects = {i.this.this.sql() for i in ifs if isinstance(i.this, exp.EQ)}
        lookup = len(subjects) == 1 and all(
            isinstance(i.this, exp.EQ) and isinstance(i.this.this, exp.Column) and isinstance(i.this.expression, exp.Literal)
            for i in ifs)
        if lookup:
            subject = ifs[0].this.this
            label = self.dictionary[subject.name].label if subject.name in self.dictionary else "类别"
            now = self.current(subject.name)
            items = []
            for i in ifs:
                key = self._describe_operand(subject, i.this.expression)
                if key.startswith("第"):
                    items.append(f"{key}{result(i.args['true'])}")
                elif key.startswith("“"):
                    items.append(f"{key}为{result(i.args['true'])}")
                else:
                    items.append(f"{key}时为{result(i.args['true'])}")
            items.append(f"其他为{result(default)}" if default is not None else "其他情形不适用")
            return f"按{label}{now}：" + "，".join(items)
        parts = [f"若{self._describe_bool(i.this)}，为{result(i.args['true'])}" for i in ifs]
        parts.append(f"否则为{result(default)}" if default is not None else "其他情形不适用")
        return "；".join(parts)

    # -- the entity's values in the text: the only places describe() reads facts ---------------------------
    # (explain_columns.TemplateExplainer puts a placeholder here, so the same wording compiles to a column)
    def shown(self, field: str) -> str:
        """A field's value as it follows its label: '5.377694万元', or '未提供'."""
        v = self.fact(field)
        return "未提供" if v is None else self.show(field, v)

    def current(self, field: str) -> str:
        """'（当前：“A”）' after a lookup table's subject, or nothing when the value is unknown."""
        v = self.fact(field)
        return "" if v is None else f"（当前：{self.show(field, v)}）"

    def show(self, field: str, value) -> str:
        f = self.dictionary[field]
        if isinstance(value, bool):
            return "是" if value else "否"
        if not isinstance(value, (Fraction, int, Decimal)):
            return _fmt_date(value) if f.type == "date" else str(value)
        if f.type == "money":
            return fmt_wan(value)
        if f.unit == "名":
            return f"第{fmt_number(Fraction(value))}名"
        return fmt_number(Fraction(value), f.unit)

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
