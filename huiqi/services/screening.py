"""免申即享 screening: every entity of a period through the one evaluator, then the allocation step.

    tables ──facts──▶ per-entity facts ──RuleSet.evaluate──▶ conditions/status/amounts ──allocate──▶ final awards

A run records its manifest (rule-set version, resolved parameters, data snapshot hash, period, measures); the
same inputs give byte-identical result files.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable, Mapping

import polars as pl

from huiqi.core.periods import Period
from huiqi.engine.allocate import (LONG_SCHEMA, AllocationOptions, allocate_wide, is_paid, long_part, paid,
                                  status_counts)
from huiqi.engine.evaluate import MET, MISSING, NOT_MET, PENDING, CompiledMeasure, Evaluation, RuleSet, col
from huiqi.engine.explain import Explainer, citation
from huiqi.policies.library import default_library
from huiqi.services import assumptions, entity_order_cache
from huiqi.services import facts as facts_mod
from huiqi.services.calculator import default_ruleset, explain_row
from huiqi.services.reason_columns import compile_reason

Progress = Callable[[str, int, int], None]  # (step description, done, total)


def snapshot_hash(tables: Mapping[str, pl.DataFrame]) -> str:
    """huiqi.data.store.snapshot_hash, imported when a run without a data hash needs it: that module loads SQLAlchemy,
    which nothing else on the screening path uses (the CLI hashes the data files)."""
    from huiqi.data.store import snapshot_hash as tables_hash

    return tables_hash(tables)


def _frame_hash(frame: pl.DataFrame) -> str:
    frame = frame.sort(frame.columns) if frame.height else frame
    return hashlib.sha256(frame.write_ndjson().encode()).hexdigest()[:16]


def files_hash(paths: list[Path]) -> str:
    """A content hash of data files (for Parquet inputs too large to hash row by row): sha256 over each file's
    name and bytes, in name order.

    Hashing a province's ~1 GB each run costs about a second, so the result is remembered per file stamp (name,
    size, modification time in ns) in the huiqi cache directory: unchanged files are not read again; any
    rewrite (new mtime or size) is hashed afresh. The value is the same as without the memo (docs/decisions.md
    SCALE-2)."""
    files = sorted(Path(x) for x in paths)
    stamp = [[p.name, st.st_size, st.st_mtime_ns] for p in files for st in [p.stat()]]
    memo = _memo_path([str(p.resolve()) for p in files])
    if memo is not None:
        try:
            saved = json.loads(memo.read_text(encoding="utf-8"))
            if saved["stamp"] == stamp:
                return saved["hash"]
        except (OSError, ValueError, KeyError, TypeError):
            pass
    h = hashlib.sha256()
    for p in files:
        h.update(p.name.encode())
        with p.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    digest = h.hexdigest()[:16]
    if memo is not None and [[p.name, st.st_size, st.st_mtime_ns] for p in files for st in [p.stat()]] == stamp:
        try:  # only if nothing changed while it was read; atomic, so a concurrent reader sees all or nothing
            memo.parent.mkdir(parents=True, exist_ok=True)
            tmp = memo.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"stamp": stamp, "hash": digest}), encoding="utf-8")
            os.replace(tmp, memo)
        except OSError:
            pass
    return digest


def _memo_path(names: list[str]) -> Path | None:
    from huiqi.rules.cache import cache_dir

    directory = cache_dir()
    key = hashlib.sha256("\n".join(names).encode()).hexdigest()[:24]
    return directory / "snapshots" / f"{key}.json" if directory else None


def directory_hash(directory: Path) -> str:
    """The data snapshot hash of a Parquet data directory (every table file, the panel included; earlier
    results excluded): the same value the web application records for the same directory."""
    return files_hash([p for p in Path(directory).glob("*.parquet") if p.stem not in RUN_OUTPUT_STEMS])


# The Parquet files a run writes (huiqi.services.award_list.write_data_files). `huiqi screen --out` may put them
# in a data folder; they are never data, so a data folder with or without them has the same snapshot hash.
RUN_OUTPUT_STEMS = frozenset({"results", "entities", "missing_summary", "pending_summary"})
ENTITY_ORDER = ("enterprise", "project", "county")  # entity types in the documented order of the result rows
LISTED_ORDINAL = "_listed_ordinal"  # listed_rows: the entity's place among the listed entities of its type, from 0


@dataclass
class ScreeningRun:
    period: str
    period_end: date
    ruleset: RuleSet
    manifest: dict
    results: pl.DataFrame  # long: one row per (entity, measure) that is not 不符合, with names and explanations
    counts: pl.DataFrame  # per measure and status: number of entities
    evaluations: dict[str, Evaluation] = field(default_factory=dict)
    plans: dict[str, CompiledMeasure] = field(default_factory=dict)
    citations: dict[str, str] = field(default_factory=dict)
    # 待补充信息 summarised: per measure and missing field, how many entities lack it (not one row per entity)
    missing_fields: pl.DataFrame | None = None
    # 参数待定 summarised: per measure and undecided parameter, how many entities it holds up (pending_summary)
    pending_fields: pl.DataFrame | None = None
    # whether the 参数待定 rows are in ``results`` one per entity (False: only counted in ``pending_fields``)
    pending_listed: bool = True
    # (the results frame, its rows' entity keys): what award_list.entity_keys would compute for exactly that frame,
    # known from screening's own integer order (MERGE5-4); the writer uses it only while ``results`` is that frame
    entity_keys: tuple[pl.DataFrame, pl.Series] | None = None

    def paid(self) -> pl.DataFrame:
        return paid(self.results)

    def facts_for(self, entity: str) -> pl.DataFrame:
        return self.evaluations[entity].inputs

    def total_fen(self) -> int:
        return int(self.paid()["final_fen"].sum() or 0)

    def write_manifest(self, path: Path) -> Path:
        Path(path).write_text(json.dumps(self.manifest, ensure_ascii=False, indent=2, sort_keys=True), encoding="utf-8")
        return Path(path)


DISPLAY = ["name", "credit_code", "county_code", "sector"]  # carried from the facts into every result row


def screen(tables: Mapping[str, pl.DataFrame], period: str, *, params: Mapping[str, object] | None = None,
           measures: list[str] | None = None, options: AllocationOptions = AllocationOptions(),
           ruleset: RuleSet | None = None, explain: bool = True, progress: Progress | None = None,
           data_hash: str | None = None, assume: Mapping[str, object] | None = None,
           list_pending: bool = True, paid_first: bool = False) -> ScreeningRun | PaidFirst:
    """Screen every entity for ``period``. ``tables`` are frames of docs/data-model.md (``indicators`` may be a
    LazyFrame over Parquet, then pass ``data_hash`` — e.g. :func:`files_hash` — since it is not read whole).
    ``list_pending=False`` counts the 参数待定 rows per measure and parameter (``pending_fields``) instead of
    listing one row per entity: such a row says nothing about the entity (docs/decisions.md LEAN-1).
    ``paid_first`` returns a :class:`PaidFirst`: the paid rows before the full listing (for writing the workbook
    beside it)."""
    ruleset = ruleset or default_ruleset()
    tick = progress or (lambda *_: None)
    p = Period.parse(period)
    period = str(p)  # the canonical spelling rule files use (2024q4 → 2024Q4)
    resolved = ruleset.resolve_parameters(params)
    assumed, assumed_as_written = assumptions.resolve(assume, ruleset.dictionary) if assume else ({}, {})
    builders = {
        "enterprise": lambda fields: facts_mod.enterprise_facts(tables, p, fields),
        "project": lambda fields: facts_mod.project_facts(tables, p, fields),
        "county": lambda fields: facts_mod.county_facts(tables, p, resolved.get("lz2026q3_1_weight_invest"),
                                                        resolved.get("lz2026q3_1_weight_output"), fields),
    }
    entities = [e for e in builders if ruleset.measures_for(period, e, measures)]
    steps = len(entities) * 3 + 1
    evaluations = {}
    for i, entity in enumerate(entities):
        tick(f"汇总{ {'enterprise': '企业', 'project': '项目', 'county': '县区'}[entity]}数据", 3 * i, steps)
        # only the facts this run reads (docs/decisions.md FACTS-1): the measures' conditions and amounts — which
        # is all the allocation, the explanations, the 待补充信息 lists and the award list's columns read too —
        # the assumed facts, and the identity columns every row carries
        needed = ruleset.fields_read(period, entity, resolved, measures) | frozenset(assumed)
        frame = assumptions.overlay(builders[entity](needed), assumed)
        tick("逐项判断", 3 * i + 1, steps)
        evaluations[entity] = ruleset.evaluate(frame, period, entity=entity, params=params, measures=measures,
                                               keep=["entity_id", *DISPLAY])
    how = dict(params=params, options=options, explain=explain, progress=progress, data_hash=data_hash,
               assumed=assumed_as_written, list_pending=list_pending)
    if paid_first:
        return assemble_paid_first(evaluations, tables, period, ruleset, **how)
    return assemble(evaluations, tables, period, ruleset, **how)


class PaidFirst:
    """A run in two stages (docs/decisions.md PIPE-1): ``early`` is known first — a ScreeningRun whose ``results``
    are the paid rows (exactly ``paid(full().results)``: same columns, rows, order and text) with the summaries,
    plans, citations and manifest, all the award list reads — while the full listing (the 3M listed rows at 1M) is
    built on a second thread from the moment the amounts are allocated; :meth:`full` waits for it and gives the
    complete run, raising what the listing raised."""

    def __init__(self, early: ScreeningRun, listing: Future, finish: Callable[[pl.DataFrame, pl.Series | None],
                                                                               ScreeningRun]):
        self.early = early
        self._listing, self._finish = listing, finish
        self._full: ScreeningRun | None = None
        self._lock = threading.Lock()

    def full(self) -> ScreeningRun:
        with self._lock:
            if self._full is None:
                self._full = self._finish(*self._listing.result())
                self._listing = self._finish = None  # the listed frames are in the run; the allocated ones go
            return self._full


def assemble(evaluations: Mapping[str, Evaluation], tables: Mapping[str, pl.DataFrame], period: str,
             ruleset: RuleSet, *, params: Mapping[str, object] | None = None,
             options: AllocationOptions = AllocationOptions(), explain: bool = True,
             progress: Progress | None = None, data_hash: str | None = None,
             assumed: Mapping[str, object] | None = None, list_pending: bool = True) -> ScreeningRun:
    """The global step after evaluation, wherever the evaluation ran (here, or on Spark partitions): allocation,
    counts, explanations and the manifest."""
    step = _Assembly(evaluations, tables, period, ruleset, params, options, explain, progress, data_hash, assumed,
                     list_pending)
    results, keys = step.listing()
    return step.run(results, step.manifest(paid(results) if results.height else None), keys)


def assemble_paid_first(evaluations: Mapping[str, Evaluation], tables: Mapping[str, pl.DataFrame], period: str,
                        ruleset: RuleSet, *, params: Mapping[str, object] | None = None,
                        options: AllocationOptions = AllocationOptions(), explain: bool = True,
                        progress: Progress | None = None, data_hash: str | None = None,
                        assumed: Mapping[str, object] | None = None, list_pending: bool = True) -> PaidFirst:
    """:func:`assemble` in two stages (:class:`PaidFirst`): the paid rows — the same listing restricted to the rows
    that are paid, so the same code words them — and the summaries now, the full listing when asked."""
    step = _Assembly(evaluations, tables, period, ruleset, params, options, explain, progress, data_hash, assumed,
                     list_pending)
    # the full listing on a second thread from now: mostly Polars, outside the GIL, beside the paid rows and then
    # the workbook the caller writes from them (a thread of its own that ends with the listing)
    pool = ThreadPoolExecutor(1, thread_name_prefix="huiqi-listing")
    worded: Future = Future()  # the paid rows, for their reasons: the listing words only the other rows
    listing = pool.submit(step.listing, False, worded)
    pool.shutdown(wait=False)
    try:
        paid_rows, _ = step.listing(only_paid=True)
    except BaseException:
        worded.set_result(None)  # the listing words every row itself (it must not wait forever)
        raise
    worded.set_result(paid_rows)
    manifest = step.manifest(paid_rows if paid_rows.height else None)
    return PaidFirst(step.run(paid_rows, manifest, None), listing,
                     lambda results, keys: step.run(results, manifest, keys))


class _Assembly:
    """What :func:`assemble` computes once per run — allocation, counts and summaries — and its listing (all the
    listed rows, or only the paid ones) and run."""

    def __init__(self, evaluations, tables, period, ruleset, params, options, explain, progress, data_hash, assumed,
                 list_pending):
        self.evaluations, self.tables, self.period, self.ruleset = evaluations, tables, period, ruleset
        self.options, self.explain, self.data_hash, self.assumed = options, explain, data_hash, assumed
        self.list_pending = list_pending
        self.library = default_library()
        self.tick = progress or (lambda *_: None)
        self.resolved = ruleset.resolve_parameters(params)
        self.steps = len(evaluations) * 3 + 1
        counties = tables["counties"].select("county_code", "county_name", "city_name").unique(
            "county_code", keep="first", maintain_order=True)
        count_parts, self.plans, missing_parts, pending_parts, self.wide = [], {}, [], [], {}
        for i, (entity, ev) in enumerate(evaluations.items()):
            self.plans.update({cm.id: cm for cm in ev.plan})
            self.tick("核定金额（封顶、取整、互斥、年度累计、预算）", 3 * i + 2, self.steps)
            count_parts.append(status_counts(ev))
            missing_parts.append(missing_fields(ev))
            pending_parts.append(pending_summary(ev))
            self.wide[entity] = allocate_wide(ev, options)
        # county names looked up in the same plan, not joined afterwards: a join (or any later reordering of a
        # table whose columns are chunked differently) copies every column of the millions of rows again
        self.named = {entity: [*[pl.col("county_code").replace_strict(counties["county_code"], counties[c],
                                                                      default=None, return_dtype=pl.String).alias(c)
                                 for c in ("county_name", "city_name")], pl.lit(entity).alias("entity")]
                      for entity in evaluations}
        self.counts = pl.concat(count_parts) if count_parts else pl.DataFrame()
        missing = [m for m in missing_parts if m is not None]
        self.missing = pl.concat(missing) if missing else None
        self.pending = pl.concat(pending_parts)

    def listing(self, only_paid: bool = False, paid_rows: Future | None = None) -> tuple[pl.DataFrame, pl.Series | None]:
        """The listed rows of every entity type (``only_paid``: the paid ones) and, for all of them, their entity
        keys (:func:`_carried_keys`). ``paid_rows``: the paid rows being listed beside (a Future; None if that
        failed), whose reasons are taken instead of worded twice."""
        long_parts, ordinals = [], []
        for entity, ev in self.evaluations.items():
            long = listed_rows(ev, self.wide[entity], self.explain, self.named[entity], self.list_pending,
                               ordinals=not only_paid, only_paid=only_paid)
            if self.explain:
                known = paid_rows.result() if paid_rows is not None else None  # waited for only now
                known = known.filter(pl.col("entity") == entity).select("entity_id", "measure_id", "reason") \
                    if known is not None and known.height else None
                long = _explain(long, ev, self.library, only_paid=only_paid, known=known)
            ordinals.append((entity, long.get_column(LISTED_ORDINAL) if LISTED_ORDINAL in long.columns else None))
            long_parts.append(long.drop(LISTED_ORDINAL, strict=False))
        if not only_paid:
            self.tick("完成", self.steps, self.steps)
        # rows come in entity type, measure ID and entity ID order (the documented order; award_list.sort_results)
        same = long_parts and all(x.schema == long_parts[0].schema for x in long_parts)
        # the same columns: chunks appended, nothing copied (relaxing types copies every row; millions at scale)
        results = pl.concat(long_parts, how="vertical", rechunk=False) if same else \
            pl.concat(long_parts, how="diagonal_relaxed") if long_parts else pl.DataFrame()
        keys = None if only_paid else _carried_keys(ordinals)
        return results, keys

    def manifest(self, paid_rows: pl.DataFrame | None) -> dict:
        """The run's manifest; ``paid_rows``: the paid rows (None without results)."""
        options = self.options
        manifest = {
            "period": self.period,
            "rules_version": self.ruleset.version,
            "parameters": {k: (None if v is None else str(v)) for k, v in sorted(self.resolved.items())},
            "data_hash": self.data_hash or snapshot_hash(self.tables)[:16],
            "measures": sorted(self.plans),
            "budget_policy": options.budget_policy,
            "prior_awards_hash": _frame_hash(options.prior) if options.prior is not None else None,
            "entities": {e: self.evaluations[e].inputs.height for e in self.evaluations},
            "paid_total_fen": int(paid_rows["final_fen"].sum() or 0) if paid_rows is not None else 0,
        }
        if self.assumed:  # only when given, so runs without assumptions keep their run ID
            manifest["assumptions"] = dict(self.assumed)
        if not self.list_pending:  # likewise: runs listing every 参数待定 row (the default, the web's) keep their run ID
            manifest["pending_rows"] = "counted"
        manifest["run_id"] = hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()[:12]
        return manifest

    def run(self, results: pl.DataFrame, manifest: dict, keys: pl.Series | None) -> ScreeningRun:
        cites = {mid: citation(self.library, cm.measure.clauses[0]) for mid, cm in self.plans.items()}
        return ScreeningRun(self.period, facts_mod.Period.parse(self.period).end, self.ruleset, dict(manifest),
                            results, self.counts, dict(self.evaluations), self.plans, cites, self.missing,
                            self.pending, self.list_pending,
                            (results, keys) if keys is not None and len(keys) == results.height else None)


def _carried_keys(ordinals: list[tuple[str, pl.Series | None]]) -> pl.Series | None:
    """The result rows' entity keys (award_list.entity_keys: the dense rank of entity type, then ID) from each
    part's listed ordinals — the entity's place among its type's listed entities, from 0 — offset by the number of
    entities of the types before it. Only when every part has them and the types come in the documented order
    (otherwise the writer ranks the rows itself)."""
    types = [entity for entity, _ in ordinals]
    if not ordinals or any(o is None for _, o in ordinals) or any(t not in ENTITY_ORDER for t in types) \
            or types != sorted(types, key=ENTITY_ORDER.index):
        return None
    parts, offset = [], 0
    for _, ordinal in ordinals:
        parts.append((ordinal + offset).cast(pl.UInt32))
        offset += int(ordinal.max()) + 1 if len(ordinal) else 0
    return pl.concat(parts, rechunk=True).alias("entity_key")


def listed_rows(ev: Evaluation, wide: pl.DataFrame, explain: bool = True, named: list[pl.Expr] = (),
                list_pending: bool = True, by_pattern: bool = True, ordinals: bool = False,
                only_paid: bool = False) -> pl.DataFrame:
    """The long result (one row per entity and measure) of the rows a run lists: every 符合 and 参数待定 row, and the
    待补充信息 rows a data table could fill — the entity lacks a fact that some entity of the same kind has in the
    data, so the bureau can import it. The other 待补充信息 (mostly facts only an application gives) are counted per
    measure and missing fact (:func:`missing_fields`), not listed per entity — at 100k enterprises they were 4M
    rows. A Spark run keeps its facts on the partitions: it lists every row that is not 不符合.

    One lazy plan over the allocated wide frame, filtered per measure before anything is selected (the long table
    of every entity and measure is never built), one collect. With ``explain``, the 待补充信息 rows carry ``missing``
    (what is missing, with its source) and every row ``pending`` (the undecided parameters), both vectorised.
    Without ``list_pending`` the 参数待定 rows are left out (counted by :func:`pending_summary`).

    ``missing`` is worded once per pattern of absent fields, not per row (``by_pattern``; docs/decisions.md
    EXPLAIN-3): the plan computes an integer per row — the measure's base plus a bit per field that is absent for
    a reason — and the distinct integers (a few hundred among millions of rows) are turned into text after the
    collect. ``by_pattern=False`` builds the text per row with ``concat_str`` (the reference the tests compare).
    With ``ordinals``, the rows may carry LISTED_ORDINAL (where the gathering path knows it; see :func:`assemble`).
    ``only_paid``: only the rows that are paid (allocate.paid's test on each measure's columns) — the same rows,
    order and text as filtering the full listing, without building it (docs/decisions.md PIPE-1)."""
    facts = ev.inputs
    here = not ev.plan or frozenset().union(*(cm.fields for cm in ev.plan)) <= set(facts.columns)
    if here:
        both = beside(facts, wide.drop([c for c in wide.columns if c in facts.columns]))
        held = {c for c, n in zip(facts.columns, facts.null_count().row(0)) if n < facts.height}
    else:
        both = wide
    # each measure's rows in entity-ID order (an integer rank), measures in ID order: the result is in the documented
    # order (sorting the finished table's strings cost more than the rest of writing it)
    frame = both
    both = frame.lazy()
    dictionary = ev.ruleset.dictionary
    labels = {n: p.label for n, p in ev.ruleset.parameters.items()}

    def label(f: str) -> str:
        return f"{dictionary[f].label}（来源：{dictionary[f].source or '—'}）"

    plan = sorted(ev.plan, key=lambda cm: cm.id)
    whys = [_missing_reasons(cm) if here and explain else {} for cm in plan]
    # a measure's patterns are its base + 0 … 2^fields − 1; Int64 holds them all unless a plan is extraordinary
    by_pattern = by_pattern and sum(1 << len(w) for w in whys) < 1 << 62
    if explain and not by_pattern:  # the per-row reference path: every row ranked, once (eager), not per part
        both = frame.with_columns(entity_order(frame["entity_id"]).alias("_order")).lazy()
    patterns: dict[int, list[str]] = {}  # base → the labels its bits stand for, in order
    base = 0
    parts, gathered = [], []  # gathered: (measure, which rows, extra columns) of the paths that gather rows once
    for cm, why in zip(plan, whys):
        status = pl.col(col(cm.id, "status"))
        listed_missing = status == MISSING
        if here:
            lacking = sorted(cm.fields & held)
            listed_missing = listed_missing & (pl.any_horizontal([pl.col(f).is_null() for f in lacking])
                                               if lacking else pl.lit(False))
        shown = (status == MET) if not list_pending else (status != NOT_MET) & (status != MISSING)
        if only_paid:  # allocate's test of a paid row on this measure's columns (a yes/no measure has no amount)
            shown = is_paid(status, pl.col(col(cm.id, "final"))) if cm.measure.kind == "money" else pl.lit(False)
            listed_missing = pl.lit(False)
        if not explain:
            gathered.append((cm, shown | listed_missing, []))
            continue
        absent = [pl.col(f).is_null() & pl.any_horizontal(r) for f, r in why.items()]
        pending = pending_parameters(cm)
        note = ("金额或条件取决于尚未确定的参数：" + "、".join(labels.get(x, x) for x in pending)) if pending else None
        note = pl.lit(note, dtype=pl.String).alias("pending")
        if by_pattern:
            bits = [pl.when(c).then(pl.lit(1 << k, dtype=pl.Int64)).otherwise(pl.lit(0, dtype=pl.Int64))
                    for k, c in enumerate(absent)]
            code = pl.sum_horizontal([pl.lit(base, dtype=pl.Int64), *bits]) if bits else pl.lit(base, dtype=pl.Int64)
            patterns[base] = [label(f) for f in why]
            base += 1 << len(why)
            gathered.append((cm, shown | listed_missing, [pl.when(status == MISSING).then(code).alias("missing"), note]))
            continue
        pieces = [pl.when(c).then(pl.lit(label(f))) for f, c in zip(why, absent)]
        text = pl.concat_str(pieces, separator="；", ignore_nulls=True) if pieces else pl.lit("")
        # the text only on the 待补充信息 rows (a when/then would build it for every row, then drop it)
        decided = long_part(both, cm, DISPLAY, shown,
                            [*named, pl.lit(None, dtype=pl.String).alias("missing"), note, pl.col("_order")])
        undecided = long_part(both, cm, DISPLAY, listed_missing,
                              [*named, text.alias("missing"), note, pl.col("_order")])
        parts.append(pl.concat([decided, undecided]).sort("_order").drop("_order"))
    if gathered:
        # each measure's rows as row numbers in entity order — filtering and sorting integers only — then each column
        # it lists gathered once (filtering the columns, then sorting them, moved every string twice)
        rows, listed, order = _rows_in_entity_order(both, frame["entity_id"], [where for _, where, _ in gathered])
        index = pl.concat(rows, rechunk=True)  # the result rows' rows of ``frame``
        out = _gathered(frame, gathered, rows, index, named, patterns if explain else None)
        if ordinals and _distinct_in_order(frame["entity_id"].gather(listed)):
            # one entity, one listed row of the frame: its rank among them (1…n) is its place among the listed
            # entities of this type, the entity key's part from screening (MERGE5-4); repeated IDs: none carried
            out = out.with_columns((order.gather(index) - 1).alias(LISTED_ORDINAL))
        return out
    if not parts:
        return pl.DataFrame(schema={**LONG_SCHEMA, **{k: pl.String for k in DISPLAY}}).lazy().select(
            pl.all(), *named).collect()
    out = pl.concat(parts)
    if not explain or by_pattern:  # the names once over the concatenated rows, not per measure (a lookup each)
        columns = out.collect_schema().names()
        at = columns.index("allocation_note") + 1
        out = out.with_columns(named).select(*columns[:at], *(e.meta.output_name() for e in named), *columns[at:])
    out = out.collect()
    if explain and by_pattern:
        out = out.with_columns(pl.col("missing").replace_strict(_pattern_texts(out["missing"], patterns),
                                                                 default=None, return_dtype=pl.String))
    return out


def _rows_in_entity_order(frame: pl.LazyFrame, ids: pl.Series,
                          wheres: list[pl.Expr]) -> tuple[list[pl.Series], pl.Series, pl.Series]:
    """Each ``where``'s row numbers of ``frame`` in entity order (``entity_order`` of ``ids``, ties in row order);
    the rows any ``where`` holds for, in that order; and that order (:func:`listed_order` of those rows).

    The listed rows are put in entity order once, then each ``where``'s rows are picked from that sequence by its
    mask — a filter keeps order — instead of filtering each measure's row numbers, then sorting them (a sort and
    three small plans per measure; docs/decisions.md SCREEN2-3)."""
    masks = frame.select(w.alias(str(k)) for k, w in enumerate(wheres)).collect(engine="in-memory")
    union = masks.select(pl.any_horizontal(pl.all()).arg_true()).to_series().cast(pl.UInt32)
    order = listed_order(ids, union)
    ranks = order.gather(union)
    # the listed rows by rank: each rank (1…n among them) is unique, so a scatter places every row; a null ID has no
    # rank (it sorts first, in row order, as the per-measure sort put it)
    ranked = pl.zeros(len(union), dtype=pl.UInt32, eager=True).scatter(ranks - 1, union) if not ranks.null_count() \
        else pl.DataFrame({"row": union, "rank": ranks}).sort("rank", maintain_order=True)["row"]
    picked = masks[ranked]
    return [ranked.filter(picked.get_column(str(k))) for k in range(len(wheres))], ranked, order


def _distinct_in_order(ids: pl.Series) -> bool:
    """Whether IDs in sorted order (equal IDs adjacent) are all present and distinct: neighbours compared, where
    ``n_unique`` hashed every string."""
    return ids.null_count() == 0 and not (ids.slice(1) == ids.slice(0, max(len(ids) - 1, 0))).any()


def _gathered(frame: pl.DataFrame, gathered: list, rows: list[pl.Series], index: pl.Series, named: list[pl.Expr],
              patterns: dict[int, list[str]] | None) -> pl.DataFrame:
    """The long rows of the gathering paths: each measure's ``rows`` (row numbers of ``frame``, in listed order;
    ``index``: all of them, measure after measure).

    The columns every row carries — the entity's ID, display columns and ``named`` (county names, entity type),
    computed once per entity — are gathered once for all measures' rows together; per measure only its own
    columns (status, amounts, what its ``missing`` code reads). Gathering the identity strings per measure, then
    concatenating the parts, moved each string twice (docs/decisions.md SCREEN-1)."""
    identity = ["entity_id", *DISPLAY]
    # in memory: the streaming engine returns the columns in chunks, which cost a rechunk copy before the gather
    # a constant (the entity type) is set on the gathered rows, not gathered: millions of copies of one string
    constant = [e for e in named if not e.meta.root_names()]
    looked_up = [e for e in named if e.meta.root_names()]
    if len(index) < frame.height:  # fewer rows than entities (the paid rows): look the names up after the gather
        common = frame.select(identity)[index].with_columns(*looked_up, *constant)
    else:
        common = frame.lazy().select(*identity, *looked_up).collect(engine="in-memory")[index].with_columns(constant)
    blank = {c: pl.lit(None, dtype=t).alias(c) for c, t in common.schema.items() if c in identity}  # schema once

    def own(cm, extra: list[pl.Expr], r: pl.Series) -> pl.LazyFrame:
        """The measure's rows with what long_part's measure columns and the extras read (an identity column the
        extras read too, e.g. a condition on 行业); the other identity columns, which long_part selects and the
        caller drops, as nulls."""
        read = {c for e in extra for c in e.meta.root_names()}
        picked = frame.select([c for c in frame.columns if c in read or c.startswith(f"{cm.id}|")])[r]
        return picked.lazy().with_columns(blank[c] for c in identity if c not in read)

    parts = [long_part(own(cm, extra, r), cm, DISPLAY, None, extra).drop(identity)
             for (cm, _, extra), r in zip(gathered, rows)]
    measured = pl.concat(parts).collect()
    at = measured.columns.index("allocation_note") + 1
    names = [e.meta.output_name() for e in named]
    out = beside(common.select(identity), measured[:, :at], common.select(names), measured[:, at:])
    if patterns is not None:
        out = out.with_columns(pl.col("missing").replace_strict(_pattern_texts(out["missing"], patterns),
                                                                 default=None, return_dtype=pl.String))
    return out


def beside(*frames: pl.DataFrame) -> pl.DataFrame:
    """Frames of one height side by side (their columns shared, not copied). ``DataFrame.hstack`` took 30–50 ms for
    the ~500 columns of facts and results at 1M; a horizontal concat of frames of equal height takes ~0.1 ms
    (docs/decisions.md SCREEN2-5). A frame without columns adds nothing (as with ``hstack``)."""
    frames = [f for f in frames if f.width]
    if len({f.height for f in frames}) > 1:
        raise ValueError("frames side by side must have the same height")
    return pl.concat(frames, how="horizontal")


def listed_order(ids: pl.Series, listed: pl.Series) -> pl.Series:
    """For every row, a number that orders the ``listed`` rows (ascending row numbers) as ``entity_order(ids)`` does
    — ties in row order — and 0 elsewhere: the IDs of the listed rows alone are ranked (docs/decisions.md PEER2-3).
    A subset in row order ranks its IDs in the same relative order as the whole, ties included. A register ranked
    before (any period) is read from the cache, the listed rows' rank taken from it; one not ranked before is ranked
    whole and stored when at least half its rows are listed, else only the listed rows are ranked (SCREEN10-2)."""
    whole = entity_order_cache.remembered(ids, entity_order, or_rank=2 * len(listed) >= len(ids))
    if whole is not None:
        return whole if len(listed) == len(ids) else entity_order_cache.subset_order(whole, listed)
    if len(listed) == len(ids):
        return entity_order(ids)
    return pl.zeros(len(ids), dtype=pl.UInt32, eager=True).scatter(listed, entity_order(ids.gather(listed)))


def entity_order(ids: pl.Series) -> pl.Series:
    """``ids.rank("ordinal")`` (each ID's place in sorted order, ties in row order), without sorting strings.

    Sorting 1.15M credit codes as strings took ~2 s at 1M (comparison sort of variable-length strings); an ASCII ID
    of up to 64 bytes is the same order as its bytes read as big-endian UInt128 words (NUL padded; a last word of
    ≤ 8 bytes as UInt64). The words are sorted least significant first, each by a stable single-key sort (LSD): a
    sort by one integer column costs ~0.1 s at 1.15M rows, a sort by several keys (the UInt64 words and the row
    number, PEER2-3/SCREEN-2) ≥ 0.37 s — an 18-byte credit code is two words instead of three and the row number
    (docs/decisions.md LIST3-4: 0.48 → 0.36 s CPU for the 1.15M credit codes and 323k project codes at 1M). Other
    IDs (non-ASCII, NUL, null, longer) are ranked as strings."""
    n = len(ids)
    if n == 0 or ids.null_count() or (ids.str.len_bytes() != ids.str.len_chars()).any() \
            or ids.str.contains("\x00", literal=True).any() or ids.str.len_bytes().max() > 64:
        return ids.rank("ordinal")
    length = ids.str.len_bytes().max()
    # 16-byte words; a last word of ≤ 8 bytes as UInt64 (a credit code's last 2 bytes: a cheaper sort and gather)
    widths = [16] * (length // 16) + ([8 if length % 16 <= 8 else 16] if length % 16 or not length else [])
    starts = [sum(widths[:k]) for k in range(len(widths))]
    padded = pl.col("id").str.pad_end(sum(widths), "\x00")
    keys = pl.LazyFrame({"id": ids}).select(
        padded.str.slice(start, width).cast(pl.Binary)
        .bin.reinterpret(dtype=pl.UInt128 if width == 16 else pl.UInt64, endianness="big").alias(str(k))
        for k, (start, width) in enumerate(zip(starts, widths))).collect()
    order = None  # the sorting permutation so far: by the words after k, ties in row order
    for k in reversed(range(len(widths))):
        word = keys.get_column(str(k))
        step = pl.DataFrame({"w": word if order is None else word.gather(order)}).with_row_index("i") \
            .sort("w", maintain_order=True).get_column("i")  # stable: equal words keep the order so far
        order = step if order is None else order.gather(step)
    return pl.zeros(n, dtype=pl.UInt32, eager=True).scatter(order, pl.int_range(1, n + 1, dtype=pl.UInt32, eager=True))


def _missing_reasons(cm: CompiledMeasure) -> dict[str, list[pl.Expr]]:
    """The inputs a 待补充信息 row may lack, each with why it matters: the null inputs of the conditions that could
    not be decided, then of the amount; each field once, where it first appears."""
    why: dict[str, list[pl.Expr]] = {}
    for cc in cm.conditions:
        undecided = pl.col(col(cm.id, f"c|{cc.condition.id}")).is_null()
        for f in sorted(cc.value.fields):
            why.setdefault(f, []).append(undecided)
    for f in sorted(frozenset().union(*(v.fields for v in (cm.amount, cm.cap, cm.minimum) if v))):
        why.setdefault(f, []).append(pl.lit(True))
    return why


def _pattern_texts(codes: pl.Series, patterns: dict[int, list[str]]) -> dict[int, str]:
    """Each distinct pattern code → its text: the labels of its bits joined by '；' (what ``concat_str`` gives)."""
    bases = sorted(patterns)
    out = {}
    for code in codes.drop_nulls().unique().to_list():
        base = bases[bisect.bisect_right(bases, code) - 1]
        bits = code - base
        out[code] = "；".join(t for k, t in enumerate(patterns[base]) if bits >> k & 1)
    return out


def pending_parameters(cm: CompiledMeasure) -> list[str]:
    """The operator parameters without a value that a measure's conditions or amount read (sorted)."""
    return sorted(set().union(*(c.value.pending for c in cm.conditions),
                              *(v.pending for v in (cm.amount, cm.cap, cm.minimum) if v)))


PENDING_SCHEMA = {"measure_id": pl.String, "parameter": pl.String, "label": pl.String, "entities": pl.Int64}


def pending_summary(ev: Evaluation) -> pl.DataFrame:
    """Per measure and undecided parameter: the number of entities that are 参数待定 for the measure — each such
    row names every undecided parameter of its measure, so a measure's count stands for each of them. One select
    over the status columns; a row per (measure, parameter) with entities > 0."""
    measures = [(cm, pending) for cm in sorted(ev.plan, key=lambda cm: cm.id) if (pending := pending_parameters(cm))]
    if not measures:
        return pl.DataFrame(schema=PENDING_SCHEMA)
    counts = ev.frame.select([(pl.col(col(cm.id, "status")) == PENDING).sum().alias(cm.id) for cm, _ in measures]).row(0)
    labels = {n: p.label for n, p in ev.ruleset.parameters.items()}
    rows = [(cm.id, x, labels.get(x, x), int(n)) for (cm, pending), n in zip(measures, counts) if n for x in pending]
    return pl.DataFrame(rows, schema=PENDING_SCHEMA, orient="row")


def missing_fields(ev: Evaluation) -> pl.DataFrame | None:
    """Per measure and input field: the number of entities that are 待补充信息 for that measure and lack the field
    (for an undecided condition, or for the amount), with its Chinese label and source. One vectorised select;
    None when the evaluation does not carry the facts (a Spark run keeps only its results)."""
    both = beside(ev.inputs, ev.frame.drop([c for c in ev.frame.columns if c in ev.inputs.columns]))
    exprs, keys = [], []
    for cm in ev.plan:
        is_missing = pl.col(col(cm.id, "status")) == MISSING
        why: dict[str, list[pl.Expr]] = {}
        for cc in cm.conditions:
            undecided = pl.col(col(cm.id, f"c|{cc.condition.id}")).is_null()
            for f in sorted(cc.value.fields):
                why.setdefault(f, []).append(undecided)
        for v in (cm.amount, cm.cap, cm.minimum):
            for f in sorted(v.fields) if v else ():
                why.setdefault(f, []).append(pl.lit(True))
        for f, reasons in why.items():
            if f not in both.columns:
                return None
            exprs.append((is_missing & pl.col(f).is_null() & pl.any_horizontal(reasons)).sum().alias(str(len(keys))))
            keys.append((cm.id, f))
    if not exprs:
        return None
    counts = both.select(exprs).row(0)
    d = ev.ruleset.dictionary
    rows = [(mid, f, d[f].label, d[f].source or "", int(n)) for (mid, f), n in zip(keys, counts) if n]
    return pl.DataFrame(rows, schema={"measure_id": pl.String, "field": pl.String, "label": pl.String,
                                      "source": pl.String, "entities": pl.Int64}, orient="row")


def _explain(rows: pl.DataFrame, ev: Evaluation, library, vectorised: bool = True,
             only_paid: bool = False, known: pl.DataFrame | None = None) -> pl.DataFrame:
    """``reason``: for rows that are 符合, the calculator's own text — one sentence per yes/no measure (it met every
    condition), for money measures (the paid rows and those cut to 0) the same text compiled once per measure into
    one column (services/reason_columns.py), the explainer per row where that does not apply (``vectorised=False``:
    every such row per row, the reference); for the others the undecided parameters (``pending``, from
    :func:`listed_rows`). ``only_paid``: ``rows`` are only paid rows, so the compiled reasons are worded for those alone.
    ``known``: (entity_id, measure_id, reason) of rows already worded by this function (the paid rows of stage one,
    PIPE-1): taken as they are; only the others are worded here."""
    dictionary = ev.ruleset.dictionary
    labels = {n: p.label for n, p in ev.ruleset.parameters.items()}
    by_id = {cm.id: cm for cm in ev.plan}
    constant = {cm.id: ("满足：" + "；".join(cc.condition.text for cc in cm.conditions) + "。") if cm.conditions else ""
                for cm in ev.plan if cm.measure.kind == "eligibility"}
    met = pl.col("status") == MET
    rows = rows.with_columns(_constant_reasons(rows, constant)).drop("pending")
    todo = rows.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("_i"), "entity_id", "measure_id", "status") \
        .filter(met & ~pl.col("measure_id").is_in(list(constant))).drop("status")  # three columns, not all
    if todo.height == 0:
        return rows
    entities = None  # the entities whose rows are still to be worded, when fewer than all (after ``known``)
    if known is not None and known.height:
        rows, todo = _fill(rows, todo, known)
        if todo.height == 0:
            return rows
        entities = todo["entity_id"].unique()
    measures = [by_id[m] for m in todo["measure_id"].unique(maintain_order=True).to_list()]
    if vectorised:
        rows, todo = _fill(rows, todo, _reason_columns(ev, measures, library, labels, only_paid, entities))
        if todo.height == 0:
            return rows
        measures = [by_id[m] for m in todo["measure_id"].unique(maintain_order=True).to_list()]
    # per row: only the columns the explainer reads — the measures' own result columns and group choices, and facts
    prefixes = tuple(f"{cm.id}|" for cm in measures) + ("group|",)
    wanted = pl.col("entity_id").is_in(todo["entity_id"].unique().implode())
    wide_cols = ["entity_id", *[c for c in ev.frame.columns if c.startswith(prefixes)]]
    fact_cols = ["entity_id", *sorted(frozenset().union(*(cm.fields for cm in measures)) - {"entity_id"})]
    wide = {r["entity_id"]: r for r in ev.frame.lazy().filter(wanted).select(wide_cols).collect().iter_rows(named=True)}
    inputs = {r["entity_id"]: r for r in ev.inputs.lazy().filter(wanted).select(fact_cols).collect()
              .iter_rows(named=True)}
    cache: dict[str, Explainer] = {}
    reasons = []
    for _i, entity_id, measure_id in todo.iter_rows():
        explainer = cache.get(entity_id)
        if explainer is None:
            explainer = cache[entity_id] = Explainer(dictionary, library, inputs[entity_id], ev.params, labels)
        reasons.append(explain_row(by_id[measure_id], wide[entity_id], explainer, library).reason)
    return rows.with_columns(rows["reason"].scatter(todo["_i"], pl.Series(reasons, dtype=pl.String)))


def _fill(rows: pl.DataFrame, todo: pl.DataFrame, reasons: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``rows`` with the ``reasons`` (entity_id, measure_id, reason) of the ``todo`` rows (``_i``: their row numbers)
    that have one, and the todo rows still without."""
    todo = todo.join(reasons, on=["entity_id", "measure_id"], how="left", maintain_order="left")
    done = todo.filter(pl.col("reason").is_not_null())
    rows = rows.with_columns(rows["reason"].scatter(done["_i"], done["reason"]))
    return rows, todo.filter(pl.col("reason").is_null()).drop("reason")


def _constant_reasons(rows: pl.DataFrame, constant: dict[str, str]) -> pl.Series:
    """``reason`` before the money measures' reasons: the yes/no measure's sentence (``constant``) on its 符合 rows,
    else ``pending``. Rows come measure by measure, so each run of one measure ID takes its sentence as a literal
    (a few dozen runs) instead of a lookup of every row's ID (3M at 1M; docs/decisions.md SCREEN-7)."""
    met = pl.col("status") == MET
    runs = rows.select(pl.col("measure_id").rle()).unnest("measure_id")
    if runs.height > 1_000:  # not grouped by measure: one lookup per row
        return rows.select(pl.when(met).then(pl.col("measure_id").replace_strict(constant, default=None,
                                                                                return_dtype=pl.String))
                           .otherwise(pl.col("pending")).alias("reason")).to_series()
    frame, parts, start = rows.lazy().select("status", "pending"), [], 0
    for n, measure_id in runs.select("len", "value").iter_rows():
        text = pl.lit(constant.get(measure_id), dtype=pl.String)
        parts.append(frame.slice(start, n).select(pl.when(met).then(text).otherwise(pl.col("pending")).alias("reason")))
        start += n
    return pl.concat(parts).collect().to_series() if parts else pl.Series("reason", [], dtype=pl.String)


def _reason_columns(ev: Evaluation, measures: list[CompiledMeasure], library, labels: dict,
                    only_paid: bool = False, entities: pl.Series | None = None) -> pl.DataFrame:
    """(entity_id, measure_id, reason) for the 符合 rows (``only_paid``: the paid ones; ``entities``: only theirs) of
    the measures whose reason compiles to a column: one collect over the evaluation's rows (its result columns
    beside the facts, not copied)."""
    schema = {**ev.inputs.schema, **ev.frame.schema}
    exprs = {cm.id: e for cm in measures
             if (e := compile_reason(cm, ev.ruleset.dictionary, schema, library, ev.params, labels)) is not None}
    out = pl.DataFrame(schema={"entity_id": pl.String, "measure_id": pl.String, "reason": pl.String})
    if not exprs:
        return out
    facts = ev.inputs.select([c for c in ev.inputs.columns if c not in ev.frame.columns])
    both = beside(ev.frame, facts).lazy() if facts.width else ev.frame.lazy()
    def wanted(mid: str) -> pl.Expr:
        # only_paid: the rows awarded more than 0 before allocation — allocation only cuts, so these hold every paid
        # row (the caller takes its rows' reasons by a join; a row not here would be explained per row, same text)
        met = pl.col(col(mid, "status")) == MET
        award = col(mid, "award")
        met = met & (pl.col(award) > 0) if only_paid and award in ev.frame.columns else met
        return met & pl.col("entity_id").cast(pl.String).is_in(entities.implode()) if entities is not None else met

    parts = [both.filter(wanted(mid))
             .select(pl.col("entity_id").cast(pl.String), pl.lit(mid).alias("measure_id"), e.alias("reason"))
             for mid, e in exprs.items()]
    return pl.concat([out.lazy(), *parts]).collect()
