"""The calculator's fast path: the evaluator's own Polars expressions, run on one row in plain Python.

A Polars ``select`` of a period's ~300 measure expressions costs ~100 ms of planning whatever the number of rows,
which is most of a single check. Writing the rules a second time as Python would make two evaluators; instead,
this module takes the *compiled Polars expressions* (``RuleSet._planned`` and the exclusivity pass of
``huiqi.engine.evaluate``) — the only definition of a rule — reads their serialised expression tree, and turns it
once per plan into a straight-line Python function (each distinct sub-expression computed once per row), with
Polars' semantics: null propagation, Kleene AND/OR, floor division, Int64 wrap-around, ``when`` with an unknown
predicate taking the ``otherwise`` branch, ``min_horizontal`` ignoring nulls, and so on.

Anything it does not know (a node type or option a Polars version adds, a regular expression beyond the few the
rules use) makes the plan unsupported, and the calculator evaluates that plan with Polars as before: the fast path
is never a guess. tests/services/test_calculator_rows.py proves it equal to the Polars path on every period's
plan, the demo enterprises and hypothesis-generated facts.
"""

from __future__ import annotations

import io
import json
import marshal
import operator
import re
import warnings
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable, Mapping

import polars as pl

from huiqi.engine import plan_cache
from huiqi.engine.evaluate import CompiledMeasure, RuleSet, _apply_exclusivity, gate_expressions

_EPOCH = date(1970, 1, 1)
_I64 = 1 << 63


class Unsupported(Exception):
    """An expression node the row compiler does not implement: the plan is evaluated by Polars instead."""


def _wrap(x):
    """Int64 arithmetic wraps around in Polars; Python ints do not (bounded inputs never get here)."""
    if -_I64 <= x < _I64:
        return x
    return ((x + _I64) % (1 << 64)) - _I64


# -- the operations (None is null) --------------------------------------------------------------------------
def _plus(a, b):
    return None if a is None or b is None else (_wrap(a + b) if type(a) is int else a + b)


def _minus(a, b):
    return None if a is None or b is None else (_wrap(a - b) if type(a) is int else a - b)


def _mul(a, b):
    return None if a is None or b is None else _wrap(a * b)


def _floordiv(a, b):
    return None if a is None or b is None or b == 0 else _wrap(a // b)


def _cmp(op):
    def f(a, b):
        return None if a is None or b is None else op(a, b)
    return f


def _and(a, b):
    if a is False or b is False:
        return False
    return None if a is None or b is None else True


def _or(a, b):
    if a is True or b is True:
        return True
    return None if a is None or b is None else False


def _not(a):
    return None if a is None else not a


def _is_null(a):
    return a is None


def _fill_null(a, b):
    return b if a is None else a


def _any_h(*xs):
    if True in xs:
        return True
    return None if None in xs else False


def _min_h(*xs):
    xs = [x for x in xs if x is not None]
    return min(xs) if xs else None


def _max_h(*xs):
    xs = [x for x in xs if x is not None]
    return max(xs) if xs else None


def _coalesce(*xs):
    return next((x for x in xs if x is not None), None)


def _cast_int(a):
    return None if a is None else int(a)


def _total_days(a):
    return None if a is None else a.days


def _year(a):
    return None if a is None else a.year


def _ternary(p, t, f):
    return t if p else f


_BINARY: dict[str, Callable] = {
    "Plus": _plus, "Minus": _minus, "Multiply": _mul, "FloorDivide": _floordiv, "And": _and, "Or": _or,
    "Eq": _cmp(lambda a, b: a == b), "NotEq": _cmp(lambda a, b: a != b), "Lt": _cmp(lambda a, b: a < b),
    "LtEq": _cmp(lambda a, b: a <= b), "Gt": _cmp(lambda a, b: a > b), "GtEq": _cmp(lambda a, b: a >= b),
}
_FUNCTIONS: dict[str, Callable] = {
    "FillNull": _fill_null, "MinHorizontal": _min_h, "MaxHorizontal": _max_h, "Coalesce": _coalesce,
    '{"Boolean": "AnyHorizontal"}': _any_h, '{"Boolean": "IsNull"}': _is_null, '{"Boolean": "Not"}': _not,
    '{"TemporalExpr": {"TotalDays": {"fractional": false}}}': _total_days, '{"TemporalExpr": "Year"}': _year,
}
_INT_DTYPES = {"Int64", "Int32", "Int16", "Int8", "UInt32", "UInt16", "UInt8"}
# Rust regex's \s is Unicode White_Space; Python's also matches \x1c-\x1f: spell out Rust's set
_RUST_SPACE = "[\\t\\n\\x0b\\x0c\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
_KNOWN_PATTERNS = {r"\s": _RUST_SPACE, r"^\d{6}$": r"^\d{6}\Z"}  # the ones the rule compiler emits


def _regex(pattern: str) -> re.Pattern:
    if pattern not in _KNOWN_PATTERNS:
        raise Unsupported(f"regex {pattern!r}")
    return re.compile(_KNOWN_PATTERNS[pattern])


def _series(raw: list[int]) -> list:
    return pl.read_ipc_stream(io.BytesIO(bytes(raw))).to_series().to_list()


class _Builder:
    """Turns expression trees into numbered steps; equal sub-trees share one step (computed once per row): a step
    is keyed by its operation and its inputs' slots, so the key is built bottom-up in linear time."""

    def __init__(self, columns: Mapping[str, int] | None = None, start: int = 0):
        self.memo: dict[tuple, int] = {}  # (operation key, input slots) or a literal's key → slot
        self.ops: dict[tuple, Callable] = {}  # one function object per parametrised operation
        self.consts: dict[int, Any] = {}
        self.inputs: dict[str, int] = {}
        self.steps: list[tuple[int, Callable, tuple[int, ...]]] = []
        self.refs: dict[int, tuple] = {}  # id(function) → how to make it again (RowPlan's pickled form)
        self.columns = dict(columns or {})  # names already computed (the first select's outputs)
        self.n = start

    def _new(self) -> int:
        self.n += 1
        return self.n - 1

    def step(self, key: tuple, fn: Callable, *args: int, ref: tuple | None = None) -> int:
        self.refs.setdefault(id(fn), ref or key)
        memo_key = (key, args)
        if memo_key not in self.memo:
            i = self._new()
            self.steps.append((i, fn, args))
            self.memo[memo_key] = i
        return self.memo[memo_key]

    def node(self, n: dict) -> int:
        if len(n) != 1:
            raise Unsupported(str(n)[:80])
        (kind, body), = n.items()
        if kind == "Column":
            if body in self.columns:
                return self.columns[body]
            if body not in self.inputs:
                self.inputs[body] = self._new()
            return self.inputs[body]
        if kind == "Literal":
            key = ("literal", _literal_key(body))
            if key not in self.memo:
                self.memo[key] = i = self._new()
                self.consts[i] = _literal(body)
            return self.memo[key]
        if kind == "Alias":
            return self.node(body[0])
        if kind == "BinaryExpr":
            fn = _BINARY.get(body["op"])
            if fn is None:
                raise Unsupported(body["op"])
            return self.step((body["op"],), fn, self.node(body["left"]), self.node(body["right"]),
                             ref=("binary", body["op"]))
        if kind == "Ternary":
            return self.step(("when",), _ternary, self.node(body["predicate"]), self.node(body["truthy"]),
                             self.node(body["falsy"]), ref=("ternary",))
        if kind == "Cast":
            if body["dtype"] != {"Literal": "Int64"}:
                raise Unsupported(f"cast {body['dtype']}")
            return self.step(("cast",), _cast_int, self.node(body["expr"]), ref=("cast",))
        if kind == "Function":
            return self._function(body["function"], body["input"])
        raise Unsupported(kind)

    def _function(self, function, inputs: list[dict]) -> int:
        key = function if isinstance(function, str) else json.dumps(function, sort_keys=True)
        if key in _FUNCTIONS:
            return self.step((key,), _FUNCTIONS[key], *(self.node(i) for i in inputs), ref=("function", key))
        # the others take literal arguments (a prefix, a pattern, a mapping): one function per argument set
        if not all("Literal" in i for i in inputs[1:]):
            raise Unsupported(f"{key} with a non-literal argument")
        op_key = (key, *(_literal_key(i["Literal"]) for i in inputs[1:]))
        if op_key not in self.ops:
            lits = [_literal(i["Literal"]) for i in inputs[1:]]
            self.ops[op_key] = _parametrised(function, lits)
            self.refs[id(self.ops[op_key])] = ("parametrised", function, lits)
        return self.step(op_key, self.ops[op_key], self.node(inputs[0]))


def _parametrised(function, lits: list) -> Callable:
    """is_in, starts_with, replace_all, contains and replace_strict with their (literal) arguments bound."""
    string = function.get("StringExpr") if isinstance(function, dict) else None
    if isinstance(function, dict) and function.get("Boolean") == {"IsIn": {"nulls_equal": False}}:
        options = frozenset(lits[0])
        return lambda a: None if a is None else a in options
    if string == "StartsWith":
        prefix = lits[0]
        return lambda a: None if a is None else a.startswith(prefix)
    if string == {"Replace": {"n": -1, "literal": False}}:
        pattern, replacement = _regex(lits[0]), lits[1]
        if "$" in replacement or "\\" in replacement:
            raise Unsupported("replacement with references")
        return lambda a: None if a is None else pattern.sub(replacement, a)
    if string == {"Contains": {"literal": False, "strict": True}}:
        pattern = _regex(lits[0])
        return lambda a: None if a is None else pattern.search(a) is not None
    if isinstance(function, dict) and "ReplaceStrict" in function and function["ReplaceStrict"] == \
            {"return_dtype": {"Literal": "String"}}:
        mapping, default = dict(zip(lits[0], lits[1])), lits[2]
        return lambda a: None if a is None else mapping.get(a, default)
    raise Unsupported(json.dumps(function)[:80])


def _literal_key(body: dict) -> tuple:
    """A hashable key of a literal (its typed value; Arrow bytes as bytes)."""
    if "Scalar" in body:
        (kind, value), = body["Scalar"].items()
        if kind == "List":
            return kind, bytes(value)
        if kind == "Enum":
            return kind, value["value"], bytes(value["categories"])
        return kind, json.dumps(value)
    return "other", json.dumps(body, sort_keys=True)


def _literal(body: dict):
    if "Dyn" in body:
        (kind, value), = body["Dyn"].items()
        if kind != "Int":
            raise Unsupported(f"dyn {kind}")
        return value
    if "Scalar" not in body:
        raise Unsupported(str(body)[:80])
    (kind, value), = body["Scalar"].items()
    if kind == "Null":
        return None
    if kind in _INT_DTYPES or kind in ("Boolean", "String"):
        return value
    if kind == "Date":
        return _EPOCH + timedelta(days=value)
    if kind == "Enum":
        return _series(value["categories"])[value["value"]]
    if kind == "List":
        return _series(value)
    raise Unsupported(f"literal {kind}")


class RowPlan:
    """One plan (a period's measures under one parameter set) as a Python function of one entity's facts.

    ``evaluate(facts)`` gives the row the Polars evaluation frame would have: every ``<m>|...`` column of
    ``RuleSet.evaluate`` and of the exclusivity pass, by the same names."""

    def __init__(self, ruleset: RuleSet, plan: list[CompiledMeasure], exprs: list[pl.Expr]):
        with warnings.catch_warnings():  # the JSON form of an expression is marked unstable: we check it
            warnings.simplefilter("ignore")
            gates = _Builder()  # the jurisdiction gate columns evaluate() adds before its select
            gate_slots = {e.meta.output_name(): gates.node(_tree(e)) for e in gate_expressions(plan)}
            first = _Builder(gates.inputs | gate_slots, start=gates.n)  # shares the gates' input slots
            outputs = {e.meta.output_name(): first.node(_tree(e)) for e in exprs}
            second = _Builder(outputs, start=first.n)
            captured = _apply_exclusivity(_Capture(), plan, ruleset.groups)
            extra = captured.exprs if isinstance(captured, _Capture) else []
            outputs |= {e.meta.output_name(): second.node(_tree(e)) for e in extra}
        self.outputs = list(outputs.items())
        if second.inputs:
            raise Unsupported("exclusivity reads an input column")
        self.inputs = list((gates.inputs | first.inputs).items())
        derived = [name for name, _ in self.inputs if "|" in name]
        if derived:  # a column evaluate() derives before its select, unknown here: never read it as a missing fact
            raise Unsupported(f"derived input column {derived[0]}")
        self.size = second.n
        template: list[Any] = [None] * self.size
        for i, v in (gates.consts | first.consts | second.consts).items():
            template[i] = v
        self._template = template
        self._read_slots()
        refs = gates.refs | first.refs | second.refs
        code, names = _straight_line(gates.steps + first.steps + second.steps)
        self._code, self._names = code, {name: refs[id(fn)] for name, fn in names.items()}
        # every operation the code was generated from, inlined ones included: a restore checks each is still known
        self._operations = sorted({r for r in refs.values() if r[0] != "parametrised"})
        self._fn = _run(code, names)

    # pickled (huiqi.engine.plan_cache) as its generated code and how to make each function it calls: a second
    # process skips the expression trees and the compile (~0.1 s a plan)
    # rebuilt on loading (by _read_slots), not stored: the cached file's form is unchanged
    _NOT_PICKLED = ("_fn", "_code", "_slots", "_output_names", "_output_values")

    def __getstate__(self) -> dict:
        state = {k: v for k, v in self.__dict__.items() if k not in self._NOT_PICKLED}
        return state | {"_code": marshal.dumps(self._code)}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        for ref in self._operations:
            _made(ref)  # raises for one this code no longer has: the load fails and the plan is built afresh
        self._code = marshal.loads(state["_code"])
        self._fn = _run(self._code, {name: _made(ref) for name, ref in self._names.items()})
        self._read_slots()

    def _read_slots(self) -> None:
        """What ``evaluate`` reads by: each input's slot by name (an entity has ~50 of the ~230 inputs, so its facts
        are walked, not the inputs; an input's slot starts None in the template, as a missing fact), and one
        itemgetter of the outputs' slots."""
        self._slots = dict(self.inputs)
        if any(self._template[i] is not None for i in self._slots.values()):
            raise Unsupported("an input slot holds a constant")
        self._output_names = tuple(name for name, _ in self.outputs)
        slots = [i for _, i in self.outputs]
        self._output_values = operator.itemgetter(*slots) if len(slots) >= 2 else lambda v: tuple(v[i] for i in slots)

    def evaluate(self, facts: Mapping[str, Any]) -> dict[str, Any]:
        return dict(zip(self._output_names, self._output_values(self.slot_values(facts))))

    def slot_values(self, facts: Mapping[str, Any]) -> list:
        """Every slot's value for these facts, and one more at the end, always None (a column the plan lacks, see
        ``columns_getter``): the row without its dict of ~370 columns, for a caller that reads a few by slot."""
        v = self._template.copy()
        slots = self._slots
        for name, value in facts.items():
            i = slots.get(name)
            if i is not None:
                v[i] = value
        self._fn(v)
        v.append(None)
        return v

    def columns_getter(self, columns: tuple[str, ...]) -> Callable[[list], tuple]:
        """``slot_values`` → the values of ``columns`` (two or more), as ``evaluate(facts).get`` gives them (None for
        a column the plan lacks)."""
        slots = dict(self.outputs)
        return operator.itemgetter(*(slots.get(name, self.size) for name in columns))


def _tree(e: pl.Expr) -> dict:
    return json.loads(e.meta.serialize(format="json"))


class _Capture:
    """Stands in for the result frame so the exclusivity pass hands over its expressions instead of running."""

    def __init__(self):
        self.exprs: list[pl.Expr] = []

    def with_columns(self, exprs):
        self.exprs = list(exprs)
        return self


# The commonest operations written out in the generated code instead of called: a served check ran ~2,000 steps,
# and a Python call per step was most of the row's time. Each text is its function above, term for term (the
# operands are slots of ``v``, read without side effects; tests/test_calculator_rows.py proves the row plan equal
# to Polars).
_INLINE: dict[int, Callable[..., str]] = {
    id(_plus): lambda a, b: f"None if {a} is None or {b} is None else (_wrap({a} + {b}) if type({a}) is int else {a} + {b})",
    id(_minus): lambda a, b: f"None if {a} is None or {b} is None else (_wrap({a} - {b}) if type({a}) is int else {a} - {b})",
    id(_mul): lambda a, b: f"None if {a} is None or {b} is None else _wrap({a} * {b})",
    id(_floordiv): lambda a, b: f"None if {a} is None or {b} is None or {b} == 0 else _wrap({a} // {b})",
    id(_and): lambda a, b: f"False if {a} is False or {b} is False else (None if {a} is None or {b} is None else True)",
    id(_or): lambda a, b: f"True if {a} is True or {b} is True else (None if {a} is None or {b} is None else False)",
    id(_not): lambda a: f"None if {a} is None else not {a}",
    id(_is_null): lambda a: f"{a} is None",
    id(_fill_null): lambda a, b: f"{b} if {a} is None else {a}",
    id(_ternary): lambda p, t, f: f"{t} if {p} else {f}",
    id(_cast_int): lambda a: f"None if {a} is None else int({a})",
    # _any_h's ``True in xs`` / ``None in xs`` as ``is`` tests: its inputs are Polars booleans (True, False or
    # None), for which membership and identity agree; no tuple is built
    id(_any_h): lambda *xs: f"True if {' or '.join(f'{x} is True' for x in xs)} else "
                            f"(None if {' or '.join(f'{x} is None' for x in xs)} else False)",
    **{id(_BINARY[name]): (lambda op: lambda a, b: f"None if {a} is None or {b} is None else {a} {op} {b}")(op)
       for name, op in (("Eq", "=="), ("NotEq", "!="), ("Lt", "<"), ("LtEq", "<="), ("Gt", ">"), ("GtEq", ">="))},
}


def _made(ref: tuple) -> Callable:
    """The function a builder's ref names (the inverse of _Builder.refs)."""
    kind, *args = ref
    if kind == "binary":
        return _BINARY[args[0]]
    if kind == "function":
        return _FUNCTIONS[args[0]]
    if kind == "parametrised":
        return _parametrised(*args)
    return {"ternary": _ternary, "cast": _cast_int}[kind]


def _run(code, names: Mapping[str, Callable]) -> Callable[[list], None]:
    env: dict[str, Callable] = {"_wrap": _wrap, **names}
    exec(code, env)  # noqa: S102 — code generated by _straight_line from step numbers and our own function names
    return env["run"]


def _straight_line(steps: list[tuple[int, Callable, tuple[int, ...]]]) -> tuple[Any, dict[str, Callable]]:
    """The steps as one generated function over the slot list ``v``: the common operations inline, the others
    called by a local name. Values stay in ``v``, not in local variables: a frame of ~2,000 locals is larger than
    CPython's per-thread frame stack chunk, so every call in the batcher's thread allocated and freed one (measured:
    the row took 10× longer in the server than in a test)."""
    names: dict[int, str] = {}
    env: dict[str, Callable] = {}
    lines = ["def run(v):"]
    for out, fn, args in steps:
        operands = [f"v[{a}]" for a in args]
        inline = _INLINE.get(id(fn))
        if inline is not None:
            value = inline(*operands)
        else:
            name = names.setdefault(id(fn), f"f{len(names)}")
            env[name] = fn
            value = f"{name}({', '.join(operands)})"
        lines.append(f"    v[{out}] = {value}")
    lines.append("    return None")
    return compile("\n".join(lines), "<huiqi row plan>", "exec"), env  # the code and the functions it calls


_CACHE: dict[tuple, tuple[object, RowPlan | None]] = {}


def row_plan(ruleset: RuleSet, period: str, entity: str, values: Mapping[str, object],
             measures: list[str] | None) -> tuple[list[CompiledMeasure], RowPlan | None]:
    """The compiled plan for (period, entity, parameter values, measures) and its row function (None when some
    node is unsupported: use Polars). Cached beside the ruleset's own plan cache, keyed by the plan object."""
    plan, exprs = ruleset._planned(period, entity, values, measures)
    key = (id(ruleset), id(exprs))
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is exprs:
        return plan, hit[1]
    path = ruleset.cached_path("rows", period, entity, values, measures, extra_code=(Path(__file__),))
    fast = plan_cache.load(path)
    if not isinstance(fast, RowPlan):
        try:
            fast: RowPlan | None = RowPlan(ruleset, plan, exprs)
            plan_cache.store(path, fast)
        except Unsupported:  # not stored: built (and refused) again by the next process, as without the cache
            fast = None
    if len(_CACHE) > 256:
        _CACHE.clear()
    _CACHE[key] = (exprs, fast)
    return plan, fast
