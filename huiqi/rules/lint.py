"""`huiqi lint`: prove the rules say what the text says.

Checks, per rule file:
  1. every cited clause exists, and every quote appears verbatim in it (whitespace ignored);
  2. every number in a condition, amount, cap or minimum appears in the measure's quote (or is an operator
     parameter): wan(500) needs "500" in the quote, pct(10) needs "10";
  3. the wording of a condition matches its operator (民法典 第1259条): 达到/以上/不低于/（含） → >=,
     超过/高于 → >, 不到/低于/不满 → <, 不超过/以内/以下 → <=;
  4. CASE tiers over one field neither overlap nor leave gaps;
  5. units: a money field compared with a bare number under 10,000 (元) is flagged (likely a missing wan());
  6. exclusive groups name existing measures (of any file); parameter quotes are verbatim; periods lie in the
     validity;
  7. every file states its jurisdiction (国家/自治区/设区市/县区), matching the document's level in the library;
  8. a ceiling is never the entitlement: a rate parameter whose quote says 最高/不超过/不高于/上限 (or any rate of
     a document whose rates are all upper bounds) has no default, and an amount does not multiply by a literal
     percentage the quote states as a ceiling ("按不超过……的1%" → param() with max, not pct(1)).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from sqlglot import exp

from huiqi.rules.syntax import parse
from huiqi.policies.library import Library, default_library, normalize
from huiqi.rules.fields import DataDictionary, default_dictionary
from huiqi.rules.loader import LoadedFile, RuleSource, default_rules
from huiqi.rules.model import Measure


@dataclass(frozen=True)
class Finding:
    file: str
    line: int | None
    measure: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.measure + ': ' if self.measure else ''}{self.message}"


# wording → the operator it requires; longer phrases first so 不超过 is not read as 超过
_WORDING = [
    ("不超过", exp.LTE), ("不高于", exp.LTE), ("以内", exp.LTE), ("以下", exp.LTE),
    ("不低于", exp.GTE), ("不少于", exp.GTE), ("不足", exp.LT), ("不满", exp.LT), ("未满", exp.LT),
    ("不到", exp.LT), ("低于", exp.LT), ("超过", exp.GT), ("高于", exp.GT), ("大于", exp.GT),
    ("达到", exp.GTE), ("以上", exp.GTE), ("（含）", exp.GTE),
]
_MIRROR = {exp.GTE: exp.LTE, exp.GT: exp.LT, exp.LTE: exp.GTE, exp.LT: exp.GT}
_CEILING = re.compile(r"最高|不超过|不高于|不得超过|不得高于|上限|最多")
# the document level in the policy library → the jurisdiction levels a rule file may state
_LEVELS = {"国家": {"国家"}, "自治区": {"自治区"}, "市": {"设区市"}, "县": {"县区"}, "县区": {"县区"}}


def _ceiling_percent(quote: str, number: str) -> bool:
    """The quote states number% as a ceiling: a ceiling word shortly before it, within one phrase."""
    return bool(re.search(rf"(?:{_CEILING.pattern})[^，。；,;%]{{0,30}}?(?<![\d.]){re.escape(number)}\s*%", quote))


def _format_number(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    return format(float(value), "g")  # display only: 0.5, 1.5


_CN_NUMERALS = dict(zip("一二三四五六七八九十", map(str, range(1, 11))), 两="2")


def _number_in(text: str, number: str) -> bool:
    """The number written in Arabic digits (not as part of a longer number), or as a single Chinese numeral."""
    if re.search(rf"(?<![\d.]){re.escape(number)}(?![\d])", text):
        return True
    return any(v == number and ch in text for ch, v in _CN_NUMERALS.items())


def _literal_numbers(node: exp.Expression) -> list[tuple[str, str]]:
    """(number as written, helper) for every numeric literal, e.g. ('500', 'wan')."""
    found = []
    for lit in node.find_all(exp.Literal):
        if lit.is_string:
            continue
        parent = lit.parent
        helper = parent.name.lower() if isinstance(parent, exp.Anonymous) else ""
        found.append((lit.this, helper))
    return found


def _comparisons(node: exp.Expression) -> list[exp.Expression]:
    return [n for n in node.walk() if isinstance(n, (exp.GTE, exp.GT, exp.LTE, exp.LT))]


class Linter:
    def __init__(self, source: RuleSource | None = None, library: Library | None = None,
                 dictionary: DataDictionary | None = None):
        self.source = source or default_rules()
        self.library = library or default_library()
        self.dictionary = dictionary or default_dictionary()
        self.findings: list[Finding] = []

    def run(self) -> list[Finding]:
        self.findings = []
        ids = {m.id for m, _ in self.source.measures()}
        self.group_ids = {g.id for f in self.source.files for g in f.rules.exclusive_groups}
        params = self.source.parameters()
        for f in self.source.files:
            self._file(f, ids)
        for name, (p, f) in params.items():
            if p.quote and p.clause:
                self._quote(f, f.line("parameters"), None, p.clause, p.quote)
            self._ceiling_default(f, p)
        return self.findings

    def _ceiling_default(self, f: LoadedFile, p) -> None:
        if p.kind != "rate" or p.default is None:
            return
        if _CEILING.search(p.quote or "") or _CEILING.search(p.label):
            self.add(f, f.line("parameters"), None, f"参数 {p.name}：原文为上限（“{_CEILING.search((p.quote or '') + p.label).group()}”），"
                     "上限不能作为默认应享比例：请删去 default（未设时“参数待定”），以 max 表示上限")
        elif f.rules.defaults.rates_are_upper_bounds:
            self.add(f, f.line("parameters"), None, f"参数 {p.name}：本文件“比例和限额均为上限”，比例参数不能有默认值")

    def add(self, f: LoadedFile, line: int | None, measure: str | None, message: str) -> None:
        self.findings.append(Finding(f.path.name, line, measure, message))

    # -- checks ---------------------------------------------------------------------------------
    def _quote(self, f: LoadedFile, line, mid, clause_id: str, quote: str) -> bool:
        try:
            clause = self.library.clause(clause_id)
        except KeyError as e:
            self.add(f, line, mid, str(e).strip("'\""))
            return False
        if normalize(quote) not in normalize(clause.text):
            doc = self.library.document(clause.document_id)
            where = "在文件其他条款中" if doc.contains(quote) else "在原文中找不到"
            self.add(f, line, mid, f"引文与条款 {clause_id} 不一致（{where}）：{quote[:40]}…")
            return False
        return True

    def _file(self, f: LoadedFile, ids: set[str]) -> None:
        r = f.rules
        try:
            doc = self.library.document(r.document)
        except KeyError as e:
            self.add(f, f.line("document"), None, str(e).strip("'\""))
            return
        self._jurisdiction(f, doc)
        d = r.defaults
        for q in d.quotes:
            self._quote(f, f.line("defaults", "quotes"), None, q["clause"], q["quote"])
        if d.gates and d.gate_clause and d.gate_quote:
            self._quote(f, f.line("defaults", "gate_quote"), None, d.gate_clause, d.gate_quote)
        for g in r.exclusive_groups:
            self._quote(f, f.line("exclusive_groups"), g.id, g.clause, g.quote)
            for m in g.members:
                if m not in ids:
                    self.add(f, f.line("exclusive_groups"), g.id, f"互斥组成员 {m} 不存在")
        for m in r.measures:
            self._measure(f, m)

    def _jurisdiction(self, f: LoadedFile, doc) -> None:
        j = f.rules.jurisdiction
        if j is None:
            self.add(f, f.line("title"), None, "缺少 jurisdiction（适用地域：国家/自治区/设区市/县区 及区划代码），"
                     "引擎据此限定每项措施的适用范围")
            return
        allowed = _LEVELS.get(getattr(doc, "level", None) or "", None)
        if allowed is not None and j.level not in allowed:
            self.add(f, f.line("jurisdiction"), None, f"适用地域“{j.level}”与政策库中文件层级“{doc.level}”不一致")

    def _measure(self, f: LoadedFile, m: Measure) -> None:
        line = f.measure_line(m.id)
        if len(m.clauses) != len(m.quotes) and len(m.clauses) != 1:
            self.add(f, line, m.id, "clause 与 quote 的数目须一致（或只引一个条款）")
        quotes_ok = True
        for i, quote in enumerate(m.quotes):
            clause = m.clauses[min(i, len(m.clauses) - 1)]
            quotes_ok &= self._quote(f, f.measure_line(m.id, "quote"), m.id, clause, quote)
        if m.exclusive_group and m.exclusive_group not in self.group_ids:
            self.add(f, line, m.id, f"互斥组 {m.exclusive_group} 未在任何规则文件的 exclusive_groups 中定义")
        if m.amount and m.kind == "money":
            self._ceiling_amount(f, m)
        quote_text = normalize("".join(m.quotes))
        group_quotes = normalize("".join(g.quote for ff in self.source.files for g in ff.rules.exclusive_groups
                                         if g.id == m.exclusive_group))
        d = f.rules.defaults
        doc_quotes = normalize("".join([q["quote"] for q in d.quotes] + [d.gate_quote or ""]))
        sources = [("conditions", i, "when", c.when) for i, c in enumerate(m.conditions)]
        sources += [(key, None, None, getattr(m, key)) for key in ("amount", "cap", "cap_year", "minimum")
                    if getattr(m, key)]
        implied = {n.number for n in m.implied_numbers}
        for key, index, sub, text in sources:
            loc = (key, index, sub) if index is not None else (key,)
            node = parse(text)
            for number, helper in _literal_numbers(node):
                if (Fraction(number) in (0, 1) and helper == "") or number in implied:
                    continue
                if any(_number_in(t, _format_number(Fraction(number))) for t in (quote_text, group_quotes, doc_quotes)):
                    continue
                self.add(f, f.measure_line(m.id, *loc), m.id,
                         f"数字 {number}（{helper or '常数'}）不见于所引原文；请核对，或改为 param() 参数")
            self._units(f, m, node, f.measure_line(m.id, *loc))
        for i, c in enumerate(m.conditions):
            self._wording(f, m, c.text, parse(c.when), f.measure_line(m.id, "conditions", i))
        for key in ("amount", "cap", "minimum"):
            if getattr(m, key):
                self._tiers(f, m, parse(getattr(m, key)), f.measure_line(m.id, key))
        if not quotes_ok:
            return
        # the condition's own words should come from the text too (a paraphrase hides a changed boundary)
        for i, c in enumerate(m.conditions):
            words = re.findall(r"\d+(?:\.\d+)?", c.text)
            for w in words:
                if not _number_in(quote_text + doc_quotes, w):
                    self.add(f, f.measure_line(m.id, "conditions", i), m.id,
                             f"条件说明“{c.text}”中的数字 {w} 不见于原文")

    def _ceiling_amount(self, f: LoadedFile, m: Measure) -> None:
        """pct(N) in an amount where the quote says N% is a ceiling (or the whole document's rates are)."""
        quote = normalize("".join(m.quotes))
        for lit in parse(m.amount).find_all(exp.Literal):
            call = lit.parent
            if lit.is_string or not (isinstance(call, exp.Anonymous) and call.name.lower() == "pct"):
                continue
            if lit.find_ancestor(exp.GTE, exp.GT, exp.LTE, exp.LT, exp.EQ):
                continue  # a threshold inside a condition ("利率不高于LPR的150%"), not the rate paid
            shown = _format_number(Fraction(lit.this))
            if _ceiling_percent(quote, shown) or f.rules.defaults.rates_are_upper_bounds:
                self.add(f, f.measure_line(m.id, "amount"), m.id,
                         f"比例 {shown}% 在原文中是上限，不能作为应享比例：请改为 param() 参数（无默认值，max 为上限）")

    def _wording(self, f, m, text: str, node: exp.Expression, line) -> None:
        comps = _comparisons(node)
        if len(comps) != 1 or isinstance(node, (exp.Or,)):
            return
        (comp,) = comps
        # normalise to "field op constant": a constant on the left mirrors the operator
        op = type(comp)
        if isinstance(comp.this, exp.Literal) or (isinstance(comp.this, exp.Anonymous) and comp.this.name.lower()
                                                    in ("wan", "yi", "pct", "param")):
            op = _MIRROR[op]
        for word, required in _WORDING:
            if word in text:
                if op is not required:
                    self.add(f, line, m.id, f"措辞“{word}”要求 {required.key.upper()} 语义，表达式用的是 {op.key.upper()}"
                             f"（民法典第1259条：以上/以下/达到/（含）包括本数，超过/不满/低于/不到不包括）")
                return

    def _units(self, f, m, node: exp.Expression, line) -> None:
        for comp in _comparisons(node):
            sides = [comp.this, comp.expression]
            cols = [s for s in sides if isinstance(s, exp.Column) and s.name in self.dictionary]
            lits = [s for s in sides if isinstance(s, exp.Literal) and not s.is_string]
            for c in cols:
                if self.dictionary[c.name].type == "money":
                    for lit in lits:
                        if 1 < Fraction(lit.this) < 10_000:
                            self.add(f, line, m.id, f"金额字段 {c.name} 与裸数字 {lit.this}（元）比较：是否漏写 wan()？")

    def _tiers(self, f, m, node: exp.Expression, line) -> None:
        """CASE WHEN x >= a THEN … WHEN x >= b … over one field: bounds must chain without overlap or gap."""
        for case in node.find_all(exp.Case):
            intervals = []
            for branch in case.args["ifs"]:
                comps = _comparisons(branch.this)
                subjects = {c.this.sql() for c in comps}
                if not comps or len(subjects) != 1:
                    return
                lo, hi = None, None
                for c in comps:
                    if isinstance(c.expression, exp.Column):
                        return
                    bound = c.expression.sql()
                    if isinstance(c, (exp.GTE, exp.GT)):
                        lo = (bound, isinstance(c, exp.GTE))
                    else:
                        hi = (bound, isinstance(c, exp.LTE))
                intervals.append((lo, hi))
            for (lo1, hi1), (lo2, hi2) in zip(intervals, intervals[1:]):
                # descending tiers: the next tier's upper bound must be the previous lower bound, complemented
                if lo1 and hi2 and (lo1[0] != hi2[0] or lo1[1] == hi2[1]):
                    self.add(f, line, m.id, f"分档 {lo1} 与 {hi2} 之间有重叠或缺口")
                # ascending tiers
                if hi1 and lo2 and (hi1[0] != lo2[0] or hi1[1] == lo2[1]):
                    self.add(f, line, m.id, f"分档 {hi1} 与 {lo2} 之间有重叠或缺口")
