"""政策计算器: one entity's facts for a period → every measure with status, amount, clause and explanation.

The same evaluator as screening (a batch of one); this module only adds the Chinese explanation.
"""

from __future__ import annotations

import itertools
import operator
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any, Mapping

import polars as pl

from huiqi.engine.evaluate import MET, MISSING, NOT_MET, PENDING, RuleSet, col
from huiqi.engine.explain import Explainer, GapTemplate, TextTemplate, citation, fmt_wan, fmt_yuan
from huiqi.engine.inputs import normalize_facts, normalized_frame
from huiqi.policies.library import Library, default_library
from huiqi.rules.fields import SCALE

_RULESET: RuleSet | None = None


def default_ruleset() -> RuleSet:
    global _RULESET
    if _RULESET is None:
        _RULESET = RuleSet()
    return _RULESET


@dataclass
class ConditionResult:
    id: str
    text: str
    result: bool | None  # True 满足 / False 不满足 / None 无法判断
    gap: str | None = None
    is_gate: bool = False


@dataclass
class MissingFact:
    field: str
    label: str
    source: str | None


@dataclass
class MeasureResult:
    measure_id: str
    name: str
    document_id: str
    document_title: str
    clauses: list[str]
    citation: str
    quote: str
    status: str
    amount_yuan: Decimal | None  # after cap, rounding, minimum and exclusivity
    computed_yuan: Decimal | None
    explanation: str  # the clause cited and quoted, then the reason
    conditions: list[ConditionResult] = field(default_factory=list)
    missing: list[MissingFact] = field(default_factory=list)
    pending_parameters: list[str] = field(default_factory=list)
    exclusive_group: str | None = None
    kind: str = "money"  # money (an award) / eligibility / facility (a usable amount, not an award)
    rivals: list[str] = field(default_factory=list)  # names of the measures it cannot be combined with
    selected: bool | None = None
    reason: str = ""  # the explanation without the citation (for lists where the clause has its own column)

    def to_dict(self) -> dict:
        # what dataclasses.asdict gives, built directly: asdict deep-copies every value and cost as much as the
        # check itself when a batch of 50 results was serialised
        d = dict(self.__dict__)
        d["clauses"] = list(self.clauses)
        d["conditions"] = [dict(c.__dict__) for c in self.conditions]
        d["missing"] = [dict(m.__dict__) for m in self.missing]
        d["pending_parameters"] = list(self.pending_parameters)
        for k in ("amount_yuan", "computed_yuan"):
            d[k] = None if d[k] is None else str(d[k])
        return d


def _yuan(fen: int | None) -> Decimal | None:
    return None if fen is None else Decimal(fen) / SCALE


def check(facts: Mapping[str, Any], period: str, entity: str = "enterprise",
          params: Mapping[str, object] | None = None, ruleset: RuleSet | None = None,
          library: Library | None = None, money_unit: str | None = None,
          measures: list[str] | None = None) -> list[MeasureResult]:
    """Evaluate one entity. ``facts`` uses data-dictionary names or Chinese labels; money in 元 unless marked."""
    ruleset = ruleset or default_ruleset()
    internal = normalized_facts(facts, ruleset.dictionary, money_unit)  # parsed once: frame and explanation
    return _evaluate_rows([internal], period, entity, params, ruleset, library or default_library(), measures)[0]


@dataclass(frozen=True)
class CheckRequest:
    """One calculator request (the unit a batch is made of)."""
    facts: Mapping[str, Any]
    period: str
    entity: str = "enterprise"
    params: Mapping[str, object] | None = None
    money_unit: str | None = None
    measures: tuple[str, ...] | None = None

    def group_key(self) -> tuple:
        """Requests with the same key share one evaluation (one frame of N rows)."""
        params = tuple(sorted((k, str(v)) for k, v in (self.params or {}).items()))
        return self.period, self.entity, params, self.measures


def check_many(requests: list[CheckRequest], ruleset: RuleSet | None = None,
               library: Library | None = None, *, shared: bool = False) -> list[list[MeasureResult] | Exception]:
    """Several requests in as few evaluations as possible, answered individually and in order.

    The same results as ``check`` one by one: the evaluator is row-independent, so N entities in one frame give
    each the row it would get alone. A request whose facts cannot be read (InputError) or whose parameters are
    refused (ParameterError) gets its own exception in its slot; the others are unaffected.

    ``shared``: the results are the explanation memo's own objects, not copies — for callers that only read them
    (the web's batcher serialises them); a caller that modified one would change later answers."""
    ruleset = ruleset or default_ruleset()
    library = library or default_library()
    out: list[list[MeasureResult] | Exception | None] = [None] * len(requests)
    groups: dict[tuple, list[tuple[int, dict]]] = {}
    for i, req in enumerate(requests):
        try:
            internal = normalized_facts(req.facts, ruleset.dictionary, req.money_unit)
        except ValueError as e:  # InputError: this request's own Chinese message
            out[i] = e
            continue
        groups.setdefault(req.group_key(), []).append((i, internal))
    for members in groups.values():
        req = requests[members[0][0]]
        try:
            results = _evaluate_rows([r for _, r in members], req.period, req.entity, req.params, ruleset, library,
                                     list(req.measures) if req.measures is not None else None, shared=shared)
        except ValueError as e:  # ParameterError: shared by the group (same parameters), each gets it
            results = [e] * len(members)
        for (i, _), r in zip(members, results):
            out[i] = r
    return out  # type: ignore[return-value]


# normalize_facts reads each (key, value) pair on its own — a pair's field and internal value depend only on the
# pair, the dictionary and the default unit — and the web's requests share most pairs (an enterprise's facts with
# one figure changed), so each pair is normalised once (normalize_facts itself, on that pair alone) and remembered:
# it was a sixth of the batcher's CPU. Only values whose equality is their identity as JSON reads them are keys: str,
# int, bool and None, with their type (True == 1 and 1 == 1.0 in Python, but not as facts); a float (-0.0 == 0.0),
# a list or a non-string key sends the whole request through normalize_facts. A refused pair raises and is not
# remembered. Cleared when full, like the explanation memo.
_PAIRS: dict[tuple, tuple[Any, str, Any]] = {}
_PAIRS_MAX = 50_000  # ~0.3 KB a pair: at most about 15 MB per process
_PAIR_TYPES = frozenset({str, int, bool, type(None)})


def normalized_facts(facts: Mapping[str, Any], dictionary, money_unit: str | None = None) -> dict[str, Any]:
    """``normalize_facts(facts, dictionary, money_unit)``: the same dict (keys in the same order, later duplicates
    of a field winning) or the same InputError, each pair's value looked up in ``_PAIRS``."""
    out: dict[str, Any] = {}
    dict_id = id(dictionary)
    for key, value in facts.items():
        kind = value.__class__
        if kind not in _PAIR_TYPES or key.__class__ is not str:
            return normalize_facts(facts, dictionary, money_unit)
        memo_key = (dict_id, money_unit, key, kind, value)
        hit = _PAIRS.get(memo_key)
        if hit is None or hit[0] is not dictionary:
            ((name, internal),) = normalize_facts({key: value}, dictionary, money_unit).items()
            if len(_PAIRS) >= _PAIRS_MAX:
                _PAIRS.clear()
            hit = _PAIRS[memo_key] = (dictionary, name, internal)
        out[hit[1]] = hit[2]
    return out


def _frame(rows: list[dict], dictionary) -> pl.DataFrame:
    return normalized_frame(rows, dictionary)


# below this many rows a request batch is evaluated row by row in Python (calculator_rows); a Polars select
# costs ~100 ms of planning whatever the height, a row ~0.1–0.3 ms
ROW_PATH_MAX = 2_000


def _evaluate_rows(rows: list[dict], period: str, entity: str, params, ruleset: RuleSet, library: Library,
                   measures: list[str] | None, fast: bool = True, shared: bool = False) -> list[list[MeasureResult]]:
    """Each row's results. ``fast``: the plan's Polars expressions run per row in Python when the row compiler
    supports them all (the same expressions, proven equal by tests/test_calculator_rows.py); else, or with
    ``fast=False`` (the reference path), one Polars evaluation of the rows as a frame. ``shared``: the memo's own
    results instead of copies (``check_many``)."""
    labels = None
    if fast and len(rows) <= ROW_PATH_MAX:
        values, plan, compiled, labels = _batch_context(ruleset, period, entity, params, measures)
    else:  # ParameterError before anything is computed, as evaluate does
        values, plan, compiled = ruleset.resolve_parameters(params), None, None
    evaluated = None
    if compiled is not None:
        try:  # each row as the plan's slot list: a shape reads its columns by one itemgetter, no row dict is built
            evaluated = [compiled.slot_values(r) for r in rows]
        except (TypeError, ValueError, ArithmeticError):  # a value combination the row path does not handle
            evaluated = None  # (none known): Polars decides, as for an unsupported plan
    slotted = evaluated is not None
    if evaluated is None:
        ev = ruleset.evaluate(_frame(rows, ruleset.dictionary), period, entity=entity, params=params,
                              measures=measures)
        plan, evaluated = ev.plan, list(ev.frame.iter_rows(named=True))
    if labels is None:
        labels = {n: p.label for n, p in ruleset.parameters.items()}
    if fast:
        shapes, blank, getters = _plan_shapes(plan, library, compiled if slotted else None)
    out = []
    for internal, row in zip(rows, evaluated):
        explainer = Explainer(ruleset.dictionary, library, internal, values, labels)
        if fast:
            padded = {**blank, **internal}
            results = []
            add = results.append
            for (cm, shape), get in zip(shapes, getters):  # _remembered's hit written out (59 a check)
                columns = get(row)
                entry = shape.memo.get(columns)
                if entry is not None:
                    key_of, remembered = entry
                    hit = remembered.get(None if key_of is None else key_of(padded))
                    if hit is not None:
                        add(hit)
                        continue
                add(_remembered(cm, row if row.__class__ is dict else dict(zip(shape.row_cols, columns)), explainer,
                                library, shape, padded, columns))
            out.append(results if shared else list(map(_copy, results)))
        else:
            out.append([_result(cm, row, explainer, library) for cm in plan])
    return out


# What a batch needs before its rows, the same for every batch of a (rule set, period, entity, parameters,
# measures): the resolved parameter values, the plan and its row function, the parameters' labels (WEB7-2). Building
# them was ~0.1–0.15 ms a batch (resolving 64 parameters, the plan cache's key of their texts, the labels) — all of
# a single client's batch of one. Keyed like check_many's groups, with each value's type (1 and "1" resolve apart);
# an entry holds its rule set and checks it is the same object with the same measures and parameters dicts
# (a sandbox's copy is another object). A refused parameter raises and is not remembered.
_CONTEXTS: dict[tuple, tuple] = {}
_CONTEXTS_MAX = 256


def _batch_context(ruleset: RuleSet, period: str, entity: str, params, measures: list[str] | None) -> tuple:
    """(resolved values, plan, row function or None, parameter labels) — what ``row_plan`` and
    ``resolve_parameters`` give for these arguments, remembered."""
    from huiqi.services.calculator_rows import row_plan

    key = (id(ruleset), period, entity, tuple(sorted((k, v.__class__, str(v)) for k, v in (params or {}).items())),
           None if measures is None else tuple(measures))
    hit = _CONTEXTS.get(key)
    if hit is not None and hit[0] is ruleset and hit[1] is ruleset.measures and hit[2] is ruleset.parameters:
        return hit[3]
    values = ruleset.resolve_parameters(params)  # ParameterError before anything is computed, as evaluate does
    plan, compiled = row_plan(ruleset, period, entity, values, measures)
    context = (values, plan, compiled, {n: p.label for n, p in ruleset.parameters.items()})
    if len(_CONTEXTS) >= _CONTEXTS_MAX:
        _CONTEXTS.clear()
    _CONTEXTS[key] = (ruleset, ruleset.measures, ruleset.parameters, context)
    return context


# a plan's shapes (and every field its measures read, None: an entity's facts padded with it give the memo keys'
# values by itemgetter), per (plan, library); valid while the first shape is still _SHAPES' own (a cleared _SHAPES
# makes new shapes, and these go with it). With them, each shape's columns getter: of the row plan's slot list
# (``RowPlan.columns_getter``, per row plan) or of a row dict (``_Shape.row_get``, the Polars path's rows).
_PLAN_SHAPES: dict[tuple[int, int], tuple] = {}


def _plan_shapes(plan: list, library: Library, compiled=None) -> tuple[list[tuple[Any, _Shape]], dict, list]:
    key = (id(plan), id(library))
    hit = _PLAN_SHAPES.get(key)
    if hit is None or hit[0] is not plan or hit[1] is not library or \
            (plan and _SHAPES.get((id(plan[0]), id(library))) is not hit[2][0][1]):
        shapes = [(cm, _shape(cm, library)) for cm in plan]
        blank = dict.fromkeys(field for _cm, shape in shapes for field in shape.fields)
        if len(_PLAN_SHAPES) >= _CONTEXTS_MAX:
            _PLAN_SHAPES.clear()
        hit = _PLAN_SHAPES[key] = (plan, library, shapes, blank, [None, None])
    shapes, blank, getters = hit[2], hit[3], hit[4]
    if compiled is None:
        return shapes, blank, [shape.row_get for _cm, shape in shapes]
    if getters[0] is not compiled:
        getters[:] = compiled, [compiled.columns_getter(shape.row_cols) for _cm, shape in shapes]
    return shapes, blank, getters[1]


# A measure's result is a function of its compiled measure (which carries the parameter values), the library, the
# measure's own columns of the evaluation row and, of the entity's facts, only what its texts read (WEB7-1): the
# values of the fields of each condition that fails (its gap text) and of the amount's fields when the computation
# is worded, and whether the fields of each unknown condition (and of the amount, for 待补充信息) are missing. The
# columns say which of those apply, so the memo is two-level: per measure shape, the columns → which facts to read
# (``_reader``) and the results by those facts. Many requests share them for most measures, so the text is built
# once; a measure whose failing conditions do not read a fact that varies (a condition worded "未满足…") is a hit
# whatever that fact's value. Results handed out are copies (their lists shared and not to be modified: nothing
# does), or with ``shared`` the remembered objects themselves: a copy per measure was a tenth of a served check's
# CPU, and the web's JSON of a shared result is found by the object's identity alone.
_MEMO_MAX = 20_000  # results remembered in all: ~3 KB each (measured), at most about 60 MB per process


class _Memo:
    """Every shape's remembered results, counted together so that the bound is the process's (cleared when
    full). Plain dict operations (atomic under the GIL): two threads missing at once both build the same text."""

    def __init__(self):
        self.size = 0

    def clear(self) -> None:
        for shape in list(_SHAPES.values()):
            shape.memo.clear()
        self.size = 0


_MEMO = _Memo()


_NONES = itertools.repeat(None)  # map(operator.is_, values, _NONES): which values are None, in C


def _key_function(value_fields: tuple[str, ...], null_fields: tuple[str, ...]):
    """facts padded with None for every field the measure reads → the memo key of what its result reads of them
    (the values of ``value_fields``, whether each of ``null_fields`` is missing), or None: the key is None."""
    values = operator.itemgetter(*value_fields) if value_fields else None
    if not null_fields:
        return values  # one C call (a bare value for one field: the key's shape is fixed per columns)
    nulls = operator.itemgetter(*null_fields)
    if len(null_fields) == 1:
        return (lambda padded: nulls(padded) is None) if values is None else \
            (lambda padded: (values(padded), nulls(padded) is None))
    return (lambda padded: tuple(map(operator.is_, nulls(padded), _NONES))) if values is None else \
        (lambda padded: (values(padded), tuple(map(operator.is_, nulls(padded), _NONES))))


def _reader(shape: _Shape, columns: tuple, templates: _Templates):
    """What ``_result`` reads of the facts with ``templates``, given the measure's row columns (in
    ``shape.row_cols`` order: the conditions' columns first, then status, award, amount, computed)."""
    conditions = shape.conditions
    status, _award, _amount, computed = columns[len(conditions):len(conditions) + 4]
    failing, unknown, any_false = set(), set(), False
    for (cc, _column), value, gap in zip(conditions, columns, templates.gaps):
        if value is False:
            any_false = True
            if gap.op is not None:  # a comparison: its gap text words these facts' values (else "未满足…")
                failing |= cc.value.fields
        elif value is None:
            unknown |= cc.value.fields  # the missing facts listed: those of these that are absent
    if shape.cm.measure.kind in ("money", "facility") and status in (MET, NOT_MET) and computed is not None \
            and not any_false:  # _explain's test for wording the computation, with the amount's facts
        failing |= set(shape.amount_fields)
    if status == MISSING:
        unknown |= set(shape.amount_fields)  # listed when no condition's fact is missing
    return _key_function(tuple(sorted(failing)), tuple(sorted(unknown)))


def _remembered(cm, row: dict, explainer: Explainer, library: Library, shape: _Shape | None = None,
                padded: dict | None = None, columns: tuple | None = None) -> MeasureResult:
    """The memo's own result (not a copy: callers copy unless they only read it). ``padded``: the entity's facts
    with every field the measure reads (None where missing), so the key's fact values are itemgetter calls.
    ``columns``: the row's values of ``shape.row_cols``, when the caller has them."""
    shape = shape or _shape(cm, library)
    if columns is None:
        columns = shape.row_get(row)
    templates = shape.templates or _compile_templates(shape, explainer)
    entry = shape.memo.get(columns)
    if entry is None:
        entry = shape.memo[columns] = (_reader(shape, columns, templates), {})
    reader, results = entry
    if padded is None:
        padded = {**dict.fromkeys(shape.fields), **explainer.facts}
    key = None if reader is None else reader(padded)
    hit = results.get(key)
    if hit is not None:
        return hit
    result = None
    if results:  # the same columns: a remembered result's fixed parts with this entity's texts
        try:
            sibling = next(iter(results.values()))
        except (StopIteration, RuntimeError):  # emptied or grown by another thread meanwhile
            sibling = None
        if sibling is not None:
            result = _varied(sibling, shape, columns, row, explainer, templates)
    if result is None:
        result = _result(cm, row, explainer, library, templates)
    if _MEMO.size >= _MEMO_MAX:
        _MEMO.clear()
    results[key] = result
    _MEMO.size += 1
    return result


def _copy(result: MeasureResult) -> MeasureResult:
    """A shallow copy (copy.copy's generic protocol cost a tenth of a served check)."""
    out = object.__new__(MeasureResult)
    out.__dict__.update(result.__dict__)
    return out


def explain_row(cm, row: dict, explainer: Explainer, library: Library) -> MeasureResult:
    """The result of one measure for one entity, from a row of an evaluation frame (batch or single)."""
    return _result(cm, row, explainer, library)


@dataclass(frozen=True)
class _Templates:
    """A measure's entity-dependent texts compiled once per parameter set (engine/explain.py's templates): each
    condition's gap and the amount formula in words, filled per entity instead of walking the trees per request."""
    gaps: tuple[GapTemplate, ...]  # in the order of cm.conditions
    formula: TextTemplate | None  # None: worded per entity (a value no placeholder stands for)


def _compile_templates(shape: _Shape, explainer: Explainer) -> _Templates:
    """Compiled with the first entity's explainer: only its dictionary, parameters and labels are read, which are
    those of the compiled measure (plans are per parameter set), so every entity of the shape shares them.

    Stored in the plan cache (engine/explain.py ``stored_templates``, START2-1) under the measure's kind, amount
    and condition texts: a process that finds them there reads no expression, so it never imports sqlglot."""
    from pathlib import Path

    from huiqi.engine.explain import stored_templates, worded_formula

    cm = shape.cm
    stored = stored_templates(explainer, Path(__file__))
    key = (cm.measure.id, cm.measure.kind, cm.measure.amount, tuple(cc.condition.when for cc, _c in shape.conditions))
    templates = stored.get(key)
    if not isinstance(templates, _Templates):
        formula = worded_formula(explainer, cm.measure.amount) if cm.measure.kind in ("money", "facility") else None
        templates = _Templates(tuple(GapTemplate(cc.condition.when, explainer) for cc, _c in shape.conditions),
                               formula)
        stored.put(key, templates)
    shape.templates = templates
    return templates


@dataclass(eq=False)
class _Shape:
    """What a measure's result needs that does not depend on the entity (computed once per compiled measure)."""
    cm: Any  # kept so the id() key below stays this object's
    doc_id: str
    doc_title: str
    citation: str
    quote: str
    conditions: tuple  # (CompiledCondition, column name)
    amount_fields: tuple[str, ...]
    amount_pending: frozenset
    cols: dict
    fields: tuple[str, ...]  # every field the measure reads (its conditions, gates, amount, cap, minimum)
    row_cols: tuple[str, ...]  # the measure's columns of the evaluation row, its exclusive group's choice included
    library: Any = None  # the library it was made with (the memo's texts quote it)
    templates: _Templates | None = None  # compiled on first use (needs an explainer's parameters)

    def __post_init__(self):
        # the columns → (what the result reads of the facts, the results by it): see _remembered
        self.memo: dict[tuple, tuple[Any, dict]] = {}

    def row_get(self, row: dict) -> tuple:
        """A row dict's values of row_cols, as row.get gives them (None for a column the row lacks)."""
        return tuple(map(row.get, self.row_cols))


_SHAPES: dict[tuple[int, int], _Shape] = {}


def _shape(cm, library: Library) -> _Shape:
    key = (id(cm), id(library))
    shape = _SHAPES.get(key)
    if shape is None or shape.cm is not cm or shape.library is not library:
        m = cm.measure
        doc = library.document(cm.source.rules.document)
        amounts = [v for v in (cm.amount, cm.cap, cm.minimum) if v is not None]
        conditions = tuple((cc, col(m.id, f"c|{cc.condition.id}")) for cc in cm.conditions)
        cols = {w: col(m.id, w) for w in ("status", "award", "amount", "computed")}
        shape = _Shape(cm, doc.id, doc.title, citation(library, m.clauses[0]), "".join(m.quotes), conditions,
                       tuple(sorted(frozenset().union(*(v.fields for v in amounts)))),
                       frozenset().union(*(v.pending for v in amounts)), cols, tuple(sorted(cm.fields)),
                       (*(c for _cc, c in conditions), *cols.values(),
                        *((f"group|{cm.group.id}",) if cm.group else ())), library)
        if len(_SHAPES) > 4096:  # plans are cached per parameter set; old ones go (with their memo)
            _MEMO.clear()
            _SHAPES.clear()
        _SHAPES[key] = shape
    return shape


def _result(cm, row: dict, explainer: Explainer, library: Library,
            templates: _Templates | None = None) -> MeasureResult:
    """``templates``: the measure's compiled texts (the same words); None walks the expression trees for this entity
    (the reference, and what ``explain_row`` does)."""
    m = cm.measure
    shape = _shape(cm, library)
    dictionary = explainer.dictionary
    facts = explainer.facts
    status = row[shape.cols["status"]]
    conditions, pending, values = [], set(shape.amount_pending), []
    for i, (cc, column) in enumerate(shape.conditions):
        value = row[column]
        values.append(value)
        gap = None
        if value is False:
            gap = explainer.gap(cc.condition.when) if templates is None else _gap(templates.gaps[i], explainer)
        conditions.append(ConditionResult(cc.condition.id, cc.condition.text, value, gap, cc.is_gate))
        if value is None:
            pending |= cc.value.pending
    missing = [MissingFact(n, dictionary[n].label, dictionary[n].source)
               for n in _missing_fields(shape, values, status, facts)]
    award = row.get(shape.cols["award"])
    raw_amount = row.get(shape.cols["amount"])
    amount = _yuan(award if award is not None else raw_amount)
    group = cm.group.id if cm.group else None
    selected = None
    if group and raw_amount is not None:
        selected = row.get(f"group|{group}") == m.id
    result = MeasureResult(
        measure_id=m.id, name=m.name, document_id=shape.doc_id, document_title=shape.doc_title, clauses=m.clauses,
        citation=shape.citation, quote=shape.quote, status=status, amount_yuan=amount,
        computed_yuan=_yuan(row.get(shape.cols["computed"])), explanation="", conditions=conditions,
        missing=missing, pending_parameters=sorted(pending), exclusive_group=group, selected=selected,
        rivals=list(cm.rivals), kind=m.kind,
    )
    return _worded(result, cm, explainer, row, templates)


def _gap(template: GapTemplate, explainer: Explainer) -> str | None:
    """A failed condition's gap, worded once per entity: measures share conditions (the same source, the same
    explainer)."""
    worded = explainer.worded
    source = template.source
    return worded[source] if source in worded else worded.setdefault(source, template(explainer))


def _missing_fields(shape: _Shape, values, status: str, facts: Mapping[str, Any]) -> list[str]:
    """The facts a result lists as missing, given its conditions' values: those of each unknown condition that are
    absent, else (待补充信息 with none of them absent) the amount's."""
    names: list[str] = []
    for (cc, _column), value in zip(shape.conditions, values):
        if value is None:
            names += [f for f in sorted(cc.value.fields) if facts.get(f) is None]
    if status == MISSING and not names:
        names = [f for f in shape.amount_fields if facts.get(f) is None]
    return list(dict.fromkeys(names))


def _worded(result: MeasureResult, cm, explainer: Explainer, row: dict, templates: _Templates | None) -> MeasureResult:
    """The result's reason and explanation, from its other fields: the one place they are worded."""
    result.reason = _explain(result, cm, explainer, row, templates)
    result.explanation = f"依据{result.citation}：“{result.quote}”" + result.reason
    return result


def _varied(sibling: MeasureResult, shape: _Shape, columns: tuple, row: dict, explainer: Explainer,
            templates: _Templates) -> MeasureResult | None:
    """``_result(…, templates)`` for an entity whose row columns are ``sibling``'s, made from it (CALC11-1).

    Of a result, only the gaps, the missing facts and the texts made from them read the facts: everything else is a
    function of the compiled measure, the library and the columns. So when the missing facts are the sibling's,
    the result is a copy of it with this entity's gaps (conditions whose gap is unchanged kept as they are) and its
    reason worded again by ``_worded``; when they differ, None (``_result`` builds it). The copy shares the
    sibling's other values (never modified: the memo's results are read only); its JSON is serialised afresh
    (CALC11-2: reusing the sibling's bytes measured slower than orjson)."""
    n = len(shape.conditions)
    if _missing_fields(shape, columns[:n], columns[n], explainer.facts) != [m.field for m in sibling.missing]:
        return None
    conditions = []
    for c, template in zip(sibling.conditions, templates.gaps):
        if c.result is False:
            gap = _gap(template, explainer)
            if gap != c.gap:
                c = ConditionResult(c.id, c.text, False, gap, c.is_gate)
        conditions.append(c)
    result = _copy(sibling)
    result.conditions = conditions
    return _worded(result, shape.cm, explainer, row, templates)


def _explain(r: MeasureResult, cm, explainer: Explainer, row: dict, templates: _Templates | None = None) -> str:
    m = cm.measure
    head = ""
    failed = [c for c in r.conditions if c.result is False]
    if r.status == NOT_MET and failed:
        head = "不符合：" + "；".join(c.gap or f"未满足“{c.text}”" for c in failed) + "。"
    elif r.status == MISSING:
        # labels only: officers and enterprises read this (the field names are in ``missing``)
        names = "、".join(x.label for x in r.missing) or "所需数据"
        head = f"待补充信息：缺少{names}，无法判断。"
    elif r.status == PENDING:
        labels = "、".join(explainer.parameter_labels.get(p, p) for p in r.pending_parameters)
        head = f"条件已满足（就已知数据而言），金额取决于尚未确定的参数：{labels}。"
    else:
        head = met_text([c.text for c in r.conditions if c.result])
    computation = None
    if m.kind in ("money", "facility") and r.status in (MET, NOT_MET) and r.computed_yuan is not None and not failed:
        computation = _computation(r, cm, explainer, row, templates)
    return reason_text(head, computation, r.selected, r.rivals)


# The wording of a reason, from its parts as texts: the per-row path above passes this entity's values, the column
# form (services/reason_columns.py) placeholders that become Polars columns — one definition of the sentences.

def met_text(met: list[str]) -> str:
    return ("满足：" + "；".join(met) + "。") if met else ""


def reason_text(head: str, computation: str | None, selected: bool | None, rivals: list[str]) -> str:
    parts = [head, computation or ""]
    if selected is False:
        names = "、".join(f"“{n}”" for n in rivals) or "同组措施"
        parts.append(f"与{names}不能重复享受，已选择金额更高的一项，本项计0元。")
    return "".join(parts)


def cap_binds(cm, computed_yuan: Decimal) -> bool:
    """Whether the computed amount is above a constant cap (the sentence says so; a cap that is a formula does not)."""
    if cm.cap is None or not cm.cap.is_const:
        return False
    cap = Fraction(cm.cap.const)
    return computed_yuan > Decimal(cap.numerator) / cap.denominator


def computation_text(cm, formula: str, computed: str, capped: bool, status: str, final: str | None,
                     selected: bool | None) -> str:
    """'计算：50% × …（5.377694万元） = 26,888.47元，应享26,888.47元。' from the formula in words and the amounts as text."""
    m = cm.measure
    text = f"计算：{formula} = {computed}"
    if capped:
        text += f"，超过封顶{fmt_wan(cm.cap.const)}，按{fmt_wan(cm.cap.const)}计"
    if cm.rounding == "floor_wan":
        text += "，以万元为最小单位向下取整"
    if status == NOT_MET:
        if cm.minimum is not None and cm.minimum.is_const:
            text += f"，低于最低{fmt_wan(cm.minimum.const)}，不予奖励"
        else:
            text += "，金额为0，不予补助"
        return text + "。"
    verb = "可用额度" if m.kind == "facility" else ("单独计可享" if selected is False else "应享")
    return text + f"，{verb}{final}。"


def _computation(r: MeasureResult, cm, explainer: Explainer, row: dict, templates: _Templates | None = None) -> str:
    from huiqi.engine.expressions import parse

    m = cm.measure
    final = _yuan(row.get(col(m.id, "amount")))
    formula = templates.formula.render(explainer) if templates is not None and templates.formula is not None \
        else explainer.describe(parse(m.amount))
    return computation_text(cm, formula, fmt_yuan(r.computed_yuan),
                            cap_binds(cm, r.computed_yuan), r.status,
                            None if r.status == NOT_MET else fmt_yuan(final), r.selected)


_STATUS = operator.attrgetter("status")


def summarize(results: list[MeasureResult]) -> dict[str, Any]:
    """The total awarded (money measures met) and the count of each status, in the order statuses first occur.
    Written with C iterators (Counter keeps first-seen order): the web's summary of every answer (59 results)."""
    statuses = list(map(_STATUS, results))
    met = itertools.compress(results, map(MET.__eq__, statuses))
    total = sum((r.amount_yuan or Decimal(0)) for r in met if r.kind == "money")
    return {"total_yuan": str(total), "counts": dict(Counter(statuses))}
