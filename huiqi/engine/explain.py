"""Chinese explanations for one entity's results: the clause, each condition with its gap, the computation.

Works from what the evaluator kept (each condition's three-valued result) and the entity's own facts, with
exact Fractions — so "差0.8个百分点" is exact, not a float artefact.
"""

from __future__ import annotations

import hashlib
import re
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import cache

from huiqi.core import money
from huiqi.engine.expressions import MONEY_UNITS, exp, parse  # exp: sqlglot, imported on first use (START2-1)
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
    """Decimal places that show ``value`` exactly, or None if it does not terminate within 12.

    value × 10^p is whole iff the reduced denominator divides 10^p: it is 2^a·5^b and p = max(a, b)."""
    d, twos, fives = value.denominator, 0, 0
    while d % 2 == 0:
        d, twos = d // 2, twos + 1
    while d % 5 == 0:
        d, fives = d // 5, fives + 1
    p = max(twos, fives)
    return p if d == 1 and p <= 12 else None


def _quantize(value: Fraction, places: int, rounding=ROUND_HALF_UP) -> Decimal:
    """``value`` rounded exactly to ``places`` decimals (half up, floor or ceiling). Not through a Decimal division:
    its 28 significant digits would drop a difference below them (a threshold 3·10⁻²⁴ under 1,000,000 became
    1,000,000, and "rounded away from each other" showed the value equal to it)."""
    n, d = value.numerator * 10 ** places, value.denominator
    if rounding == ROUND_FLOOR:
        q = n // d
    elif rounding == ROUND_CEILING:
        q = -(-n // d)
    else:
        q = _ratio_half_up(n, d)
    return Decimal(q).scaleb(-places)


def _text(d: Decimal) -> str:
    return format(d.normalize(), "f") if d != 0 else "0"


def failing_side(value: Fraction, threshold: Fraction, places: int, most: int) -> tuple[str, str, str]:
    """(value, threshold, difference) as decimal texts that never contradict "value fails threshold".

    Starts at ``places`` and adds digits until the shown value lies strictly on the failing side of the shown
    threshold (9.9996 vs 10, not "10 低于 10"); beyond ``most`` digits the value and a threshold that does not
    end within them are rounded away from each other instead. The difference is the difference of the shown
    numbers, so it is exact, consistent with what is shown, and never 0.
    """
    return ratio_failing_side(value.numerator, value.denominator, threshold, places, most)


def ratio_failing_side(vn: int, vd: int, threshold: Fraction, places: int, most: int) -> tuple[str, str, str]:
    """``failing_side`` of the value vn/vd (vd > 0, not necessarily reduced) in integers: the same texts as the
    Decimal steps (``decimal_failing_side``) without a Fraction or Decimal per check (WEB6-2). Decimal divides to
    28 significant digits before rounding half up, which can differ from exact rounding only when a rounding
    boundary lies within half a unit of that 28th digit of n/d; it cannot while max(|n|, d) < 10^(27 − places)
    (a non-zero distance to a boundary is at least 1/(2·10^p·d)), otherwise the Decimal steps run."""
    tn, td = threshold.numerator, threshold.denominator
    bound = _EXACT_BELOW[most] if most < len(_EXACT_BELOW) else 0
    if not (abs(vn) < bound and vd < bound and abs(tn) < bound and td < bound):
        return decimal_failing_side(Fraction(vn, vd), threshold, places, most)
    below = vn * td < tn * vd
    need = _places_needed(threshold)
    for p in range(places, most + 1):
        if need is not None and need > p:
            continue
        scale = 10 ** p
        v, t = _ratio_half_up(vn * scale, vd), _ratio_half_up(tn * scale, td)
        if (v < t) if below else (v > t):
            return _digits(v, p), _digits(t, p), _digits(abs(t - v), p)
    return decimal_failing_side(Fraction(vn, vd), threshold, most + 1, most)  # rounded away from each other


_EXACT_BELOW = tuple(10 ** (27 - p) for p in range(0, 20))  # ratio_failing_side's bound for ``most`` digits


def _ratio_half_up(n: int, d: int) -> int:
    """n/d (d > 0) rounded half away from zero to an integer (Decimal's ROUND_HALF_UP)."""
    q = (2 * abs(n) + d) // (2 * d)
    return -q if n < 0 else q


def decimal_failing_side(value: Fraction, threshold: Fraction, places: int, most: int) -> tuple[str, str, str]:
    """``failing_side`` by Decimal steps: the definition ``ratio_failing_side`` is tested equal to, and its path
    for numbers beyond its exact bound and for the last resort of rounding away."""
    below = value < threshold
    need = _places_needed(threshold)
    for p in range(places, most + 1):
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
        # gap texts already worded for these facts, by condition source: a gap is a function of the source and of
        # this explainer alone, and several measures of a check share a condition (产值不低于500万元 three times)
        self.worded: dict[str, str | None] = {}

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
        arith = _arith_words()
        if type(node) in arith:
            return f"{self._term(node.this)} {arith[type(node)]} {self._term(node.expression)}"
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

    def _describe_condition(self, node: exp.Expression) -> str | None:
        """A boolean expression in words: 'X不低于Y', 'A且B', '人才层次为“A”'."""
        for kind, word in _compare_words().items():
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
        return _side_of(node, self.dictionary).show(value)

    # -- gaps -----------------------------------------------------------------------------------
    def gap(self, source: str) -> str | None:
        """'当季工业总产值499.9万元，低于500万元（含）的要求，差0.1万元' for a failed simple comparison.

        Walks the condition's tree for this entity (the reference; :class:`GapTemplate` is the same compiled once)."""
        node = parse(source)
        op = _order_ops().get(type(node))
        if op is None:
            return None
        left, right = node.this, node.expression
        if _is_growth(left):
            this_node, last_node = left.expressions
            return growth_gap(op, lambda: self._label(this_node), self.value(this_node), self.value(last_node),
                              self.value(right), _side_of(last_node, self.dictionary))
        return order_gap(op, isinstance(left, exp.Column), lambda: self._label(left), self.value(left),
                         self.value(right), _side_of(left, self.dictionary))

    def _label(self, node: exp.Expression) -> str:
        if isinstance(node, exp.Column) and node.name in self.dictionary:
            return self.dictionary[node.name].label
        return self.describe(node)


# -- the wording of a gap, from the values (one definition: Explainer.gap and GapTemplate both call these) ----------

# sqlglot's node types in tables built on first use, so that importing this module does not import sqlglot

@cache
def _arith_words() -> dict:
    return {exp.Mul: "×", exp.Add: "+", exp.Sub: "−", exp.Div: "÷"}


@cache
def _compare_words() -> dict:
    return {exp.GTE: "不低于", exp.GT: "超过", exp.LTE: "不超过", exp.LT: "低于", exp.EQ: "为", exp.NEQ: "不为"}


@cache
def _order_ops() -> dict:
    """The comparisons a gap is worded for, by the operator a gap's wording takes (a string, so that a stored
    template holds no sqlglot node)."""
    return {exp.GTE: ">=", exp.GT: ">", exp.LTE: "<=", exp.LT: "<"}


def _is_growth(node: exp.Expression) -> bool:
    return isinstance(node, exp.Anonymous) and node.name.lower() == "growth"


class _Side:
    """How one side of a comparison is shown, from its first dictionary field: money in 万元, else in its unit."""
    __slots__ = ("money", "unit")

    def __init__(self, money_: bool, unit: str | None):
        self.money, self.unit = money_, unit

    def show(self, value: Fraction) -> str:
        return fmt_wan(value) if self.money else fmt_number(value, self.unit)

    def pair(self, a: Fraction, b: Fraction) -> tuple[str, str, str]:
        """The value, the threshold and their difference with units, digits enough never to contradict the
        failure (see ``failing_side``). Money is in 万元 down to the 分; a difference under 100元 is given in 元
        ("差0.01元", not "差0.000001万元")."""
        if self.money:
            if 100 % a.denominator == 0 and 100 % b.denominator == 0 and abs(a) < _FEN_MAX and abs(b) < _FEN_MAX:
                return money_pair_fen(a.numerator * (100 // a.denominator), b.numerator * (100 // b.denominator))
            return money_pair(a, b)
        unit = self.unit or ""
        va, vb, diff = failing_side(a, b, 2, 8)
        return f"{va}{unit}", f"{vb}{unit}", f"{diff}{unit}"


def money_pair(a: Fraction, b: Fraction) -> tuple[str, str, str]:
    """``_Side.pair`` for money (元 as Fractions)."""
    exact = max(_places_needed(a / 10_000) or 6, _places_needed(b / 10_000) or 6)
    va, vb, _ = failing_side(a / 10_000, b / 10_000, min(exact, 6), 6)
    wa, wb = Fraction(va) * 10_000, Fraction(vb) * 10_000
    gap = abs(wb - wa)
    diff = f"{_text(_quantize(gap / 10_000, 6))}万元" if gap >= 100 else f"{_text(_quantize(gap, 2))}元"
    return f"{va}万元", f"{vb}万元", diff


_FEN_MAX = 10**20  # below it Decimal's 28 digits hold a value in 万元 exactly, so money_pair's roundings are exact


def money_pair_fen(a: int, b: int) -> tuple[str, str, str]:
    """``money_pair`` of two different amounts in whole 分 (the facts and the rules' thresholds), in integers: the
    same steps — places that show each exactly (6 when whole 万元), then digits added until the rounded value lies
    strictly on the failing side — without Fraction or Decimal (a gap is worded for most failed conditions of
    every check). Tested equal to ``money_pair`` (tests/test_calculator_templates.py)."""
    def places(fen: int) -> int:  # decimal places of fen/10⁶ (万元) shown exactly; 0 for 0
        if fen == 0:
            return 0
        p = 6
        while p and fen % 10 == 0:
            fen, p = fen // 10, p - 1
        return p

    need, below = places(b), a < b
    for p in range(min(max(places(a) or 6, need or 6), 6), 7):
        if need > p:
            continue
        step = 10 ** (6 - p)
        qa, qb = _half_up(a, step), _half_up(b, step)
        if (qa < qb) if below else (qa > qb):
            break
    else:  # unreachable for whole 分 (at 6 places both are exact and differ), kept as failing_side ends
        p, qa, qb = 6, a, b
    gap = abs(qb - qa)  # in 10^-p 万元
    gap_fen = gap * 10 ** (6 - p)
    diff = f"{_digits(gap, p)}万元" if gap_fen >= 10_000 else f"{_digits(gap_fen, 2)}元"
    return f"{_digits(qa, p)}万元", f"{_digits(qb, p)}万元", diff


def _half_up(n: int, step: int) -> int:
    """n / step rounded half away from zero (Decimal's ROUND_HALF_UP)."""
    q = (abs(n) + step // 2) // step
    return -q if n < 0 else q


def _digits(n: int, places: int) -> str:
    """n / 10^places as text, trailing zeros dropped ('0' for zero): what ``_text`` gives for that Decimal."""
    if n == 0:
        return "0"
    text = str(abs(n)).rjust(places + 1, "0")
    whole, fraction = (text[:-places], text[-places:].rstrip("0")) if places else (text, "")
    return ("-" if n < 0 else "") + whole + ("." + fraction if fraction else "")


def _side_of(node: exp.Expression, dictionary: DataDictionary) -> _Side:
    for c in node.find_all(exp.Column):
        if c.name in dictionary:
            f = dictionary[c.name]
            return _Side(f.type == "money", f.unit)
    return _Side(False, None)


def order_gap(op: str, left_is_column: bool, label, a, b, side: _Side) -> str | None:
    """The gap of a failed 不低于/超过/不超过/低于 (``op`` >=, >, <=, <) between values ``a`` and ``b`` (``label()``
    names the left side; a left side that is not a plain field reads "label ＝ value")."""
    if not isinstance(a, Fraction) or not isinstance(b, Fraction):
        return None
    label = label() + ("" if left_is_column else " ＝ ")
    if a == b:  # failing at equality: 超过/低于 exclude the threshold itself
        shown = side.show(a)
        return f"{label}{shown}，须超过{shown}（等于不算）" if op == ">" else \
            f"{label}{shown}，未低于{shown}（等于不算）" if op == "<" else None
    return order_text(op, label, *side.pair(a, b))


def order_text(op: str, label: str, shown_a: str, shown_b: str, diff: str) -> str:
    """A failed comparison's gap from its shown value, threshold and difference (``order_gap``'s wording)."""
    if op == ">=":
        return f"{label}{shown_a}，低于{shown_b}（含）的要求，差{diff}"
    if op == ">":
        return f"{label}{shown_a}，须超过{shown_b}，差{diff}"
    if op == "<=":
        return f"{label}{shown_a}，超过{shown_b}的上限{diff}"
    return f"{label}{shown_a}，未低于{shown_b}（超出{diff}）"


def growth_gap(op: str, label, a, b, target, last: _Side) -> str | None:
    """The gap of a failed comparison of growth(a, b) with ``target``."""
    if not (isinstance(a, Fraction) and isinstance(b, Fraction) and isinstance(target, Fraction)):
        return None
    return growth_ratio_gap(op, label(), a.numerator, a.denominator, b.numerator, b.denominator, target, last)


def growth_ratio_gap(op: str, label: str, an: int, ad: int, bn: int, bd: int, target: Fraction,
                     last: _Side) -> str:
    """``growth_gap`` of a = an/ad and b = bn/bd (ad, bd > 0, not necessarily reduced) with the label worded: a gap
    template passes two facts in 分 over 100 as they are, without a Fraction each."""
    if bn <= 0:
        return f"{label}上年同期无基数（{last.show(Fraction(bn, bd))}），无法计算同比增速"
    # the growth in percent, 100·(a/b − 1), as the integer ratio vn/vd (b > 0 so vd > 0): no Fraction per check
    vn, vd = 100 * (an * bd - bn * ad), ad * bn
    t = target * 100
    order = vn * t.denominator - t.numerator * vd  # the sign of growth − target
    if order == 0:
        g = Fraction(an * bd, ad * bn) - 1
        return f"{label}同比增速{fmt_pct(g)}，须{'超过' if op == '>' else '低于'}{fmt_pct(target)}（等于不算）"
    shown_g, shown_t, diff = ratio_failing_side(vn, vd, t, 2, 8)
    if order > 0:  # a ceiling on growth (低于/不超过)
        return f"{label}同比增速{shown_g}%，超过{shown_t}%的上限，超出{diff}个百分点"
    return f"{label}同比增速{shown_g}%，低于{shown_t}%的要求，差{diff}个百分点"


# -- compiled once, filled per entity ------------------------------------------------------------------------------
# The calculator explains each entity's 不符合 conditions and computations afresh: walking the sqlglot tree per
# request was most of a check's CPU. A template is the same wording with the tree walked once — placeholders where
# the entity's values go (``shown``/``current``, the only places ``describe`` reads facts), and the values a gap
# compares compiled into closures doing the same exact Fraction arithmetic as ``Explainer.value``.

_OPEN, _CLOSE = "\ue000", "\ue001"  # private-use characters: never in a label, a quote or a rule file
_SLOT = re.compile(f"{_OPEN}(\\d+){_CLOSE}")


class Unsupported(Exception):
    """A construct a template cannot stand for: the caller words that part per entity instead."""


class _Recorder(Explainer):
    """``Explainer`` with placeholders for the entity's values (recorded as (method, field))."""

    def __init__(self, like: Explainer):
        super().__init__(like.dictionary, like.library, {}, like.params, like.parameter_labels)
        self.slots: list[tuple[str, str]] = []

    def value(self, node):
        raise Unsupported("a value outside the field slots")

    def _slot(self, method: str, field: str) -> str:
        self.slots.append((method, field))
        return f"{_OPEN}{len(self.slots) - 1}{_CLOSE}"

    def shown(self, field: str) -> str:
        return self._slot("shown", field)

    def current(self, field: str) -> str:
        return self._slot("current", field)


class TextTemplate:
    """A text worded once, with placeholders filled per entity by that entity's ``Explainer``."""
    __slots__ = ("pieces",)

    def __init__(self, text: str, slots: list[tuple[str, str]]):
        pieces: list = []
        at = 0
        for m in _SLOT.finditer(text):
            if m.start() > at:
                pieces.append(text[at:m.start()])
            pieces.append(slots[int(m[1])])
            at = m.end()
        if at < len(text):
            pieces.append(text[at:])
        self.pieces = tuple(pieces)

    def render(self, explainer: Explainer) -> str:
        return "".join(p if p.__class__ is str else getattr(explainer, p[0])(p[1]) for p in self.pieces)


def text_template(like: Explainer, word) -> TextTemplate | None:
    """``word(explainer)`` as a template (None when it reads a value no placeholder stands for)."""
    recorder = _Recorder(like)
    try:
        text = word(recorder)
    except Unsupported:
        return None
    return TextTemplate(text, recorder.slots)


def value_program(node: exp.Expression, dictionary: DataDictionary) -> tuple:
    """``Explainer.value(node)`` as plain data (nested tuples, no sqlglot node), so that a template can be stored:
    ("fact", field, scaled) | ("const", Fraction) | ("scale", factor, inner) | ("param", name)
    | ("+"/"-"/"*", a, b) | ("none",)."""
    if isinstance(node, exp.Paren):
        return value_program(node.this, dictionary)
    if isinstance(node, exp.Column):
        f = dictionary[node.name] if node.name in dictionary else None
        return ("fact", node.name, bool(f and f.type in ("money", "number")))
    if isinstance(node, exp.Literal) and not node.is_string:
        return ("const", Fraction(node.this))
    if isinstance(node, exp.Anonymous) and node.name.lower() in ("wan", "yi", "pct"):
        return ("scale", MONEY_UNITS.get(node.name.lower(), Fraction(1, 100)),
                value_program(node.expressions[0], dictionary))
    if isinstance(node, exp.Anonymous) and node.name.lower() == "param":
        return ("param", node.expressions[0].this)
    if isinstance(node, (exp.Add, exp.Sub, exp.Mul)):
        op = "+" if isinstance(node, exp.Add) else "-" if isinstance(node, exp.Sub) else "*"
        return (op, value_program(node.this, dictionary), value_program(node.expression, dictionary))
    return ("none",)


def _const(program: tuple) -> Fraction | None:
    """The value of a ``value_program`` that reads no fact nor parameter (a threshold: 500万元, 10%), else None."""
    if program[0] == "const":
        return program[1]
    if program[0] == "scale":
        inner = _const(program[2])
        return None if inner is None else inner * program[1]
    return None


def value_function(program: tuple):
    """A ``value_program`` as a function of an explainer: closures doing the same exact Fraction arithmetic as
    ``Explainer.value`` (a check calls them per failed condition; an interpreter over the tuples would be slower)."""
    kind = program[0]
    if kind == "fact":
        _, name, scaled = program
        if scaled:
            def fact(ex):
                raw = ex.facts.get(name)
                return None if raw is None else Fraction(raw, SCALE)
            return fact
        return lambda ex: ex.facts.get(name)
    if kind == "const":
        const = program[1]
        return lambda ex: const
    if kind == "scale":
        factor, inner = program[1], value_function(program[2])

        def scaled_value(ex):
            v = inner(ex)
            return None if v is None else v * factor
        return scaled_value
    if kind == "param":
        pname = program[1]

        def param(ex):
            v = ex.params.get(pname)
            return None if v is None else Fraction(str(v))
        return param
    if kind in ("+", "-", "*"):
        a_of, b_of = value_function(program[1]), value_function(program[2])

        def arith(ex):
            a, b = a_of(ex), b_of(ex)
            if not isinstance(a, Fraction) or not isinstance(b, Fraction):
                return None
            return a + b if kind == "+" else a - b if kind == "-" else a * b
        return arith
    return lambda ex: None


class GapTemplate:
    """``Explainer.gap(source)`` compiled once for the parameters and dictionary of ``like``: its values are
    compiled closures, its label a :class:`TextTemplate` (or worded per entity when it cannot be one).

    It holds no sqlglot node: pickled (the calculator's stored templates, START2-1) it keeps the value programs
    and rebuilds the closures on load, so a process that loads it never imports sqlglot."""

    def __init__(self, source: str, like: Explainer):
        self.source = source
        node = parse(source)
        self.op = _order_ops().get(type(node))
        if self.op is None:
            return
        dictionary = like.dictionary
        left, right = node.this, node.expression
        self.growth = _is_growth(left)
        if self.growth:
            subject, last = left.expressions
            self.programs = tuple(value_program(x, dictionary) for x in (subject, last, right))
            self.side = _side_of(last, dictionary)
        else:
            subject = left
            self.programs = tuple(value_program(x, dictionary) for x in (left, right))
            self.side = _side_of(left, dictionary)
        self.left_is_column = isinstance(left, exp.Column)
        self.label = text_template(like, lambda ex: ex._label(subject))
        self.values = tuple(map(value_function, self.programs))

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in ("values", "integer")}

    def __setstate__(self, state: dict) -> None:  # the closures are made again on first use (most gaps never are)
        self.__dict__.update(state)

    def _subject(self) -> exp.Expression:
        """The compared subject's node, read again from the source (only when the label is worded per entity)."""
        left = parse(self.source).this
        return left.expressions[0] if self.growth else left

    def _integer_gap(self):
        """The gap of the commonest conditions — a money fact against a constant in whole 分, the growth of two
        facts against a constant, under a label with no value in it — as a function of the facts in integer 分 (no
        Fraction per check), giving None where ``__call__``'s general steps decide instead (a missing or equal value,
        a value beyond ``money_pair_fen``'s bound). The same words: the same ``order_text``/``growth_ratio_gap`` on
        the same numbers (tests/test_calculator_gap_memo.py compares it with the expression trees)."""
        if self.label is None or not all(p.__class__ is str for p in self.label.pieces):
            return None
        label = "".join(self.label.pieces)
        *facts, right = self.programs
        threshold = _const(right)
        if threshold is None or not all(p[0] == "fact" and p[2] for p in facts):
            return None
        if self.growth:
            (_k, name, _s), (_k2, last_name, _s2) = facts
            op, side = self.op, self.side

            def growth(values):
                a, b = values.get(name), values.get(last_name)
                if a.__class__ is not int or b.__class__ is not int:
                    return None
                return growth_ratio_gap(op, label, a, SCALE, b, SCALE, threshold, side)
            return growth
        if not self.side.money or (threshold * SCALE).denominator != 1 or abs(threshold) >= _FEN_MAX:
            return None
        (_k, name, _s), = facts
        op, bound, b = self.op, _FEN_MAX * SCALE, int(threshold * SCALE)
        label += "" if self.left_is_column else " ＝ "

        def order(values):
            a = values.get(name)
            if a.__class__ is not int or a == b or not -bound < a < bound:
                return None
            return order_text(op, label, *money_pair_fen(a, b))
        return order

    def __call__(self, ex: Explainer) -> str | None:
        if self.op is None:
            return None
        try:
            integer = self.integer
        except AttributeError:  # made on first use, and again after loading (not stored)
            integer = self.integer = self._integer_gap()
        if integer is not None:
            text = integer(ex.facts)
            if text is not None:
                return text
        label = (lambda: self.label.render(ex)) if self.label is not None else (lambda: ex._label(self._subject()))
        try:
            functions = self.values
        except AttributeError:  # loaded from the cache: made from the programs once
            functions = self.values = tuple(map(value_function, self.programs))
        values = [v(ex) for v in functions]
        if self.growth:
            return growth_gap(self.op, label, *values, self.side)
        return order_gap(self.op, self.left_is_column, label, *values, self.side)


# -- templates stored in the plan cache (START2-1) ---------------------------------------------------------------
# A template is worded from the expression texts, the dictionary, the parameter values and their labels. Stored per
# (values, labels, dictionary) in the plan cache (keyed besides by the rules' content and the code), a process that
# finds them reads no expression and never imports sqlglot (0.06–0.13 s) nor walks a tree.

class TemplateStore:
    """The templates stored for one (parameter values, labels, dictionary), keyed by the texts they word. A miss
    compiled by the caller is ``put`` here and the file is written once, when the process exits (a check
    compiles ~100 templates on a miss; writing the file after each cost 0.13 s), or on ``flush``."""

    def __init__(self, path, stored: dict):
        self.path, self.templates, self.unsaved = path, stored, False

    def get(self, key):
        return self.templates.get(key)

    def put(self, key, template) -> None:
        self.templates[key] = template
        if self.path is not None and not self.unsaved:
            self.unsaved = True
            _register_flush()

    def flush(self) -> None:
        if self.unsaved:
            from huiqi.engine.plan_cache import store

            store(self.path, self.templates)
            self.unsaved = False


# per (values, labels, dictionary, cache directory): read once per process
_STORED: dict[str, TemplateStore] = {}
_LAST: list = [None]  # the last (values, labels: copies; dictionary: kept alive; user code and directory; store)
_DICTIONARIES: dict[int, tuple[DataDictionary, str]] = {}  # id → (the dictionary, kept alive; its content digest)


def flush_templates() -> None:
    """Write every store with templates compiled since it was read (also run at exit)."""
    for store in list(_STORED.values()):
        store.flush()


def forget_templates() -> None:
    """Drop what this process read or compiled (tests; the files stay)."""
    _STORED.clear()
    _LAST[0] = None


@cache
def _register_flush() -> None:
    import atexit

    atexit.register(flush_templates)


def _dictionary_digest(dictionary: DataDictionary) -> str:
    known = _DICTIONARIES.get(id(dictionary))
    if known is None or known[0] is not dictionary:
        text = repr(sorted((name, repr(f)) for name, f in dictionary.fields.items()))
        known = _DICTIONARIES[id(dictionary)] = (dictionary, hashlib.sha256(text.encode()).hexdigest())
    return known[1]


def stored_templates(like: Explainer, user_code=None) -> TemplateStore:
    """The templates stored for ``like``'s parameter values, labels and dictionary. ``user_code``: the caller's
    source file, whose edit must miss (it defines what is stored; this module is in the key already)."""
    from huiqi.engine import plan_cache

    directory, last = plan_cache.cache_dir(), _LAST[0]
    if last is not None and last[2] is like.dictionary and last[3] == (user_code, directory) \
            and last[0] == like.params and last[1] == like.parameter_labels:  # a batch's explainers share them
        return last[4]

    key = (plan_cache.parameter_key(like.params), tuple(sorted(like.parameter_labels.items())),
           _dictionary_digest(like.dictionary))
    digest = hashlib.sha256(repr((key, directory, user_code)).encode()).hexdigest()
    found = _STORED.get(digest)
    if found is None:
        path = plan_cache.plan_path("tmpl", key, extra_code=(user_code,) if user_code else ())
        stored = plan_cache.load(path)
        found = _STORED[digest] = TemplateStore(path, stored if isinstance(stored, dict) else {})
    _LAST[0] = (dict(like.params), dict(like.parameter_labels), like.dictionary, (user_code, directory), found)
    return found


def worded_formula(like: Explainer, amount: str) -> TextTemplate | None:
    """An amount formula in words (``describe``) as a template, from the plan cache when stored (None: it reads a
    value no placeholder stands for; the caller words it per entity). ``render`` it with any explainer — the
    calculator's fills in the entity's values, ``explain_columns.TemplateExplainer``'s places column slots — for
    the text ``describe(parse(amount))`` gives that explainer."""
    store = stored_templates(like)
    key = ("formula", amount)
    template = store.get(key)
    if key in store.templates and (template is None or isinstance(template, TextTemplate)):
        return template
    node = parse(amount)
    template = text_template(like, lambda ex: ex.describe(node))
    store.put(key, template)  # None too: the next process words it per entity without reading it again
    return template
