"""From the stored tables (docs/data-model.md) to the facts of one period, per entity type.

Period-relative fields: ``output_q`` is the quarter's 工业总产值, ``output_q_ly`` the same quarter a year earlier,
``output_ytd`` January to the quarter's end, ``output_jan_sep`` 1—9月. A sum over quarters is unknown (null) when
any quarter is missing — a missing quarter is never read as 0. Designations and list memberships come from
authoritative lists, so absence there means "not designated" (false); events likewise come from applications, so
no event record means no such event in the quarter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Collection, Iterable, Mapping

import polars as pl

from huiqi.core.periods import Period  # the one period type; re-exported for existing callers
from huiqi.data.panel import INDEX  # the register row a prepared table stores

# indicator code → field prefix in the data dictionary
INDICATOR_FIELDS = {
    "output": "output", "revenue": "revenue", "profit": "profit", "power": "power",
    "purchased_power": "purchased_power", "export": "export", "new_market_export": "new_market_export",
    "new_jobs": "new_jobs", "employees": "employees", "rd_expense": "rd_expense",
}
# the derived fields that exist in the data dictionary, per indicator: (suffix, how)
_DERIVED = {
    "output": ["q", "q_ly", "ytd", "ytd_ly", "year", "year_ly", "jan_sep"],
    "revenue": ["q", "q_ly", "ytd", "ytd_ly", "year", "year_ly", "jan_sep"],
    "profit": ["q", "q_ly"],
    "power": ["q", "q_ly"],
    "purchased_power": ["q"],
    "export": ["q", "q_ly"],
    "new_market_export": ["q"],
    "new_jobs": ["q", "q_ly"],
    "employees": ["end"],
    "rd_expense": ["year"],
}
DESIGNATION_FIELDS = {
    "top500_output": "is_top500_output", "gx_leading": "is_gx_leading_enterprise", "little_giant": "is_little_giant",
    "single_champion": "is_single_champion", "specialized_sme": "is_specialized_sme", "high_tech": "is_high_tech",
    "chain_leader": "is_chain_leader", "two_high": "gx2024q2_in_two_high_catalog",
    "independent_metering": "gx2024q2_independent_metering",
}


def _sum_of(columns: list[str], present: set[str], name: str) -> pl.Expr:
    """Sum of the listed quarter columns; null unless every quarter is present (missing is not zero)."""
    if not all(c in present for c in columns):
        return pl.lit(None, dtype=pl.Int64).alias(name)
    cols = [pl.col(c) for c in columns]
    return pl.when(pl.all_horizontal([c.is_not_null() for c in cols])).then(pl.sum_horizontal(cols)) \
        .otherwise(None).alias(name)


def _spans(period: Period) -> dict[str, list[str]]:
    y, q = period.year, period.last_quarter
    return {
        "q": [f"{y}Q{q}"], "end": [f"{y}Q{q}"], "q_ly": [f"{y - 1}Q{q}"],
        "ytd": period.quarters(y, q), "ytd_ly": period.quarters(y - 1, q),
        "year": period.quarters(y, 4), "year_ly": period.quarters(y - 1, 4), "jan_sep": period.quarters(y, 3),
    }


def _indicator_fields() -> dict[str, tuple[str, str]]:
    """Every derived indicator field → (indicator code, span suffix), in the order the facts list them."""
    return {(INDICATOR_FIELDS[code] if suffix == "end" else f"{INDICATOR_FIELDS[code]}_{suffix}"): (code, suffix)
            for code, suffixes in _DERIVED.items() for suffix in suffixes}


INDICATOR_DERIVED = _indicator_fields()


def _wanted(fields: Collection[str] | None, names: Iterable[str]) -> list[str]:
    """The names among ``names`` that are asked for (all of them when ``fields`` is None), in their order."""
    return list(names) if fields is None else [n for n in names if n in fields]


def _field_exprs(period: Period, present: set[str], fields: Collection[str] | None = None) -> list[pl.Expr]:
    """The derived indicator fields (every one, or those in ``fields``) as arithmetic over columns named
    '<indicator>|<quarter>'."""
    spans = _spans(period)
    return [_sum_of([f"{code}|{qq}" for qq in spans[suffix]], present, name)
            for name in _wanted(fields, INDICATOR_DERIVED) for code, suffix in [INDICATOR_DERIVED[name]]]


def _quarter_columns(period: Period, fields: Collection[str] | None) -> dict[str, list[str]]:
    """Per quarter, the indicator codes the asked-for fields read in it (insertion order: oldest quarter first)."""
    spans = _spans(period)
    y = period.year
    needed: dict[str, list[str]] = {qq: [] for qq in [*period.quarters(y - 1, 4), *period.quarters(y, 4)]}
    for name in _wanted(fields, INDICATOR_DERIVED):
        code, suffix = INDICATOR_DERIVED[name]
        for qq in spans[suffix]:
            if code not in needed[qq]:
                needed[qq].append(code)
    return {qq: sorted(codes, key=list(_DERIVED).index) for qq, codes in needed.items() if codes}


def indicator_facts(indicators: pl.DataFrame | pl.LazyFrame, period: Period,
                    base: pl.DataFrame | None = None, fields: Collection[str] | None = None) -> pl.DataFrame:
    """Wide per-enterprise indicator facts for the period (credit_code + *_q, *_q_ly, *_ytd …).

    Accepts the long ``indicators`` table (pivoted once: fine for a city or a province) or the panel layout
    (huiqi.data.panel: one row per enterprise and quarter, joined per quarter: for national scale). With
    ``base`` (a frame with credit_code) the result follows its row order. With ``fields`` only those derived
    fields are built and, given a ``base``, only the indicators and quarters they read are scanned (without one,
    the enterprises listed are those with any indicator in the two years, so everything is read).
    """
    y = period.year
    quarters = [*period.quarters(y - 1, 4), *period.quarters(y, 4)]
    reads = _quarter_columns(period, fields if base is not None else None)  # quarter → indicator codes read
    used = [c for c in _DERIVED if any(c in codes for codes in reads.values())]
    lazy = indicators.lazy() if isinstance(indicators, pl.DataFrame) else indicators
    names = lazy.collect_schema().names()
    if "indicator" in names:
        wide = (lazy.filter(pl.col("period").is_in(list(reads)) & pl.col("indicator").is_in(used))
                .select("credit_code", (pl.col("indicator") + "|" + pl.col("period")).alias("key"), "value")
                .collect()
                .pivot(on="key", index="credit_code", values="value", aggregate_function="first"))
        if base is not None:
            wide = base.select("credit_code").join(wide, on="credit_code", how="left", maintain_order="left")
    else:
        key = "credit_code"
        if base is not None and INDEX in names and _index_matches(lazy, base):
            key = INDEX  # an integer surrogate key: the base's row number (huiqi.data.panel)
            base = base.select("credit_code").with_row_index(INDEX)
        # key and credit_code are the same column when the panel's index does not fit this base (a partition)
        wide = base.select(*dict.fromkeys([key, "credit_code"])) if base is not None else \
            lazy.filter(pl.col("period").is_in(quarters)).select("credit_code").unique(maintain_order=True).collect()
        keys = wide.select(key)
        for qq in quarters:
            # one quarter at a time: the panel is sorted by period, so each scan reads only that quarter's row
            # groups, and only one quarter is held beside the growing wide frame. (One scan of all eight quarters,
            # sliced or pivoted in memory, measured no faster at 100k: docs/decisions.md SCALE-3.) Joined onto the
            # key column alone and placed beside: joined onto the wide frame it re-gathered every earlier quarter.
            codes = [c for c in reads.get(qq, ()) if c in names]
            if not codes:
                continue
            part = lazy.filter(pl.col("period") == qq).select(
                key, *[pl.col(c).alias(f"{c}|{qq}") for c in codes]).collect()
            wide = wide.hstack(keys.join(part, on=key, how="left", maintain_order="left").drop(key).get_columns())
    return wide.select("credit_code", *_field_exprs(period, set(wide.columns), fields))


def _index_matches(panel: pl.LazyFrame, base: pl.DataFrame) -> bool:
    """Trust the panel's enterprise_index only if it points at the same credit codes in this base: a sample, not a
    proof — a Parquet directory's loader (interfaces.cli_common.load_tables) drops the index unless the panel was
    written from this very register (huiqi.data.panel.panel_index_current), and a Spark partition never carries it."""
    sample = panel.select(INDEX, "credit_code").head(2_000).collect()
    if sample.height == 0 or sample[INDEX].max() >= base.height:
        return False
    return bool((base["credit_code"].gather(sample[INDEX]) == sample["credit_code"]).all())


@dataclass(frozen=True)
class _Side:
    """One side table's facts for a period: its rows (lazy, led by credit_code) and the fact columns — one row per
    enterprise (``grouped`` False: expressions over a row) or an enterprise's rows aggregated (``grouped`` True)."""
    rows: pl.LazyFrame
    columns: tuple[pl.Expr, ...]
    grouped: bool = True

    def by(self, key: str, rows: pl.LazyFrame | None = None) -> pl.LazyFrame:
        """The facts, one row per ``key`` (of ``rows``, by default the side's own)."""
        rows = self.rows if rows is None else rows
        return rows.group_by(key).agg(self.columns) if self.grouped else rows.select(key, *self.columns)

    def names(self) -> list[str]:
        return [c.meta.output_name() for c in self.columns]

    def inputs(self) -> list[str]:
        """The columns of the rows the facts read."""
        return list(dict.fromkeys(name for c in self.columns for name in c.meta.root_names()))

    def only(self, fields: Collection[str] | None) -> _Side | None:
        """The side with only the asked-for columns (None if none is asked for)."""
        columns = tuple(c for c in self.columns if fields is None or c.meta.output_name() in fields)
        return _Side(self.rows, columns, self.grouped) if columns else None


def _events_in(events: pl.LazyFrame, kind: str, period: Period) -> pl.LazyFrame:
    return events.filter((pl.col("kind") == kind) & pl.col("date").is_between(period.start, period.end))


def _event_sides(events: pl.DataFrame | pl.LazyFrame, period: Period,
                 fields: Collection[str] | None = None) -> list[_Side]:
    """Per-enterprise event facts of the quarter: a held flag, and the cost (null if any cost is unknown). With
    ``fields``, only the sides with an asked-for column, and in them only those columns."""
    def held_and_cost(kind: str, held: str, cost: str, cost_col: str = "cost_fen") -> _Side:
        return _Side(_events_in(events, kind, period), (
            pl.lit(True).alias(held),
            pl.when(pl.col(cost_col).is_null().any()).then(None).otherwise(pl.col(cost_col).sum()).alias(cost)))

    events = events.lazy()
    sides = [
        held_and_cost("promo_event", "promo_event_held_q", "promo_event_cost_q"),
        held_and_cost("promo_event", "lz2026q3_event_held_q", "lz2026q3_event_cost_q"),
        held_and_cost("large_expo", "large_expo_attended_q", "expo_booth_fee_q"),
        # 004 四（一）: 展位费 + 会场搭建等 (cost = booth fee, amount = other set-up costs)
        _Side(_events_in(events, "large_expo", period), (
            pl.when(pl.col("cost_fen").is_null().any()).then(None)
            .otherwise(pl.col("cost_fen").sum() + pl.col("amount_fen").fill_null(0).sum()).alias("lz2026q3_expo_cost_q"),)),
        # 004 四（二）: the latest international certification of the calendar year up to the period end
        _Side(events.filter((pl.col("kind") == "intl_certification") &
                            pl.col("date").is_between(date(period.year, 1, 1), period.end)), (
            pl.col("date").max().alias("lz2026q3_intl_cert_date"),
            pl.when(pl.col("cost_fen").is_null().any()).then(None).otherwise(pl.col("cost_fen").sum())
            .alias("lz2026q3_intl_cert_fee"))),
        # 002 第23条: loans drawn in the quarter, the days outstanding within the one-year subsidy term
        _Side(_events_in(events, "liquidity_loan", period), (
            pl.col("amount_fen").sum().alias("gx2024q4_23_loan_principal"),
            pl.col("date").min().alias("gx2024q4_23_loan_draw_date"),
            (pl.lit(365 * 100, dtype=pl.Int64)).alias("gx2024q4_23_interest_days"),
            pl.lit(True).alias("gx2024q4_23_on_list"))),
    ]
    return [side for side in (s.only(fields) for s in sides) if side is not None]


# the columns every enterprise row carries whatever is asked for: who it is and where (display, gates, keys)
ENTERPRISE_IDENTITY = ("credit_code", "enterprise_name", "county", "sector", "entity_id", "name", "county_code")
_SCALE_FIELDS = ("is_above_scale", "is_new_in_statistics", "upgraded_to_scale_this_year", "gx2024q2_library_entry_date")
_EVENT_FLAGS = ("promo_event_held_q", "lz2026q3_event_held_q", "large_expo_attended_q", "gx2024q4_23_on_list")


def _sides(tables: Mapping[str, pl.DataFrame | pl.LazyFrame], p: Period,
           fields: Collection[str] | None) -> tuple[list[_Side], list[str]]:
    """The register, designation, credit and event tables' facts (:class:`_Side`) — only the sides with an
    asked-for field, and in them only those — and the flags among them whose absence means false."""
    def want(*names: str) -> list[str]:
        return _wanted(fields, names)

    sides, fills = [], []
    if want(*_SCALE_FIELDS):
        scale = tables["scale_status"].lazy().filter(pl.col("year") == p.year)
        sides.append(_Side(scale, (
            pl.col("above_scale").alias("is_above_scale"),
            # 新建投产无基数: entered the register within the twelve months before the period end
            (pl.col("entered_scale_on").is_not_null() &
             (pl.col("entered_scale_on") > pl.lit(date(p.end.year - 1, p.end.month, p.end.day))))
            .alias("is_new_in_statistics"),
            (pl.col("entered_scale_on").dt.year() == p.year).fill_null(False).alias("upgraded_to_scale_this_year"),
            pl.col("entered_scale_on").alias("gx2024q2_library_entry_date")), grouped=False).only(fields))

    designations = {code: name for code, name in DESIGNATION_FIELDS.items() if want(name)}
    if designations:
        des = tables["designations"].lazy().filter(
            (pl.col("start") <= p.end) & (pl.col("end").is_null() | (pl.col("end") >= p.end)))
        sides.append(_Side(des, tuple(pl.col("designation").eq(code).any().alias(name)
                                      for code, name in designations.items())))
        fills += designations.values()

    # 004 六（二）: serious bad credit records in the two years before the period end
    if want("lz2026q3_serious_bad_record_2y"):
        two_years = date(p.end.year - 2, p.end.month, p.end.day)
        bad = tables["credit_records"].lazy().filter(
            pl.col("serious") & (pl.col("date") > two_years) & (pl.col("date") <= p.end))
        sides.append(_Side(bad, (pl.lit(True).alias("lz2026q3_serious_bad_record_2y"),)))
    if want("lz2026q3_joint_punishment_target"):
        punished = tables["credit_records"].lazy().filter((pl.col("kind") == "失信联合惩戒") & (pl.col("date") <= p.end))
        sides.append(_Side(punished, (pl.lit(True).alias("lz2026q3_joint_punishment_target"),)))
    fills += want("lz2026q3_serious_bad_record_2y", "lz2026q3_joint_punishment_target")

    if p.quarter:
        sides += _event_sides(tables["events"], p, fields)
        fills += want(*_EVENT_FLAGS)
    return sides, fills


def _side_facts(tables: Mapping[str, pl.DataFrame | pl.LazyFrame], p: Period,
                fields: Collection[str] | None) -> tuple[list[pl.LazyFrame], list[str]]:
    """:func:`_sides` as lazy per-enterprise frames (credit_code + facts), and the flags whose absence means false."""
    sides, fills = _sides(tables, p, fields)
    return [side.by("credit_code") for side in sides], fills


def _rows_of(codes: pl.Series, sides: list[pl.DataFrame]) -> list[pl.Series | None]:
    """Per side (a frame led by credit_code), for every row of ``codes``, the row of the side with that code (null:
    none; a null code matches nothing) — or None for a side listing one of ``codes``' codes twice. The codes of all
    sides are looked up in one join: a left join per side hashed and probed the register's million strings again
    (docs/decisions.md FACTS2-1)."""
    starts = [0]
    for side in sides:
        starts.append(starts[-1] + side.height)
    looked_up = pl.concat([side.select("credit_code") for side in sides]).with_row_index("at").join(
        codes.to_frame("credit_code").with_row_index("row"), on="credit_code", how="inner")
    out = []
    for start, end in zip(starts, starts[1:]):
        hits = looked_up.filter(pl.col("at").is_between(start, end - 1))
        rows = hits.get_column("row")
        # scattered once, so that each column is then gathered by it (a scatter per column took ~3× as long at 1M)
        out.append(None if rows.n_unique() < len(rows) else
                   pl.Series("at", dtype=pl.UInt32).clear(len(codes)).scatter(rows, hits.get_column("at") - start))
    return out


def _placed(codes: pl.Series, sides: list[pl.DataFrame]) -> pl.DataFrame:
    """Each side's columns (beside its leading credit_code, one row per code) at the rows of ``codes`` with that
    code, null elsewhere: what a left join of each side onto ``codes`` gives (:func:`_rows_of`). A side listing a code
    of ``codes`` twice is refused, as the left join's extra rows were (their height no longer matched the register's)."""
    placed = []
    for side, at in zip(sides, _rows_of(codes, sides)):
        if at is None:
            raise pl.exceptions.ShapeError(f"facts listing an enterprise twice: {', '.join(side.columns[1:])}")
        placed.append(side.drop("credit_code")[at])
    return pl.concat(placed, how="horizontal")


def _register_rows(register: pl.Series, codes: pl.Series) -> pl.Series | None:
    """For each of ``codes``, the row of ``register`` holding it (null: none; a null code matches nothing), or None
    if the register lists one of them twice (the code then has more than one row)."""
    found = codes.to_frame("credit_code").join(register.to_frame("credit_code").with_row_index("row"),
                                               on="credit_code", how="left", maintain_order="left")
    return found.get_column("row") if found.height == len(codes) else None


def _distinct_hashes(register: pl.Series) -> pl.Series | None:
    """The register's codes' hashes if they are all distinct, which proves that it lists no code twice (an index
    then points at a code's only row) — without hashing a million strings into a table (FACTS4-1); else None."""
    hashes = register.hash()
    return hashes if hashes.n_unique() == len(register) else None


def _fitting_indexes(register: pl.Series, frames: list[pl.DataFrame]) -> list[pl.Series | None]:
    """Per frame (credit_code, perhaps the ``enterprise_index`` a prepared table stores: huiqi.data.panel), that
    index as each row's register row if it is exact for this register, else None (also for a frame without one).
    Exact: the register lists no code twice, every indexed row's code is the code at its row, and no code stored
    without an index (absent when the table was prepared) is in the register. Every row is checked, not a sample:
    a register edited after preparation, a partition or another county's file gives None, never wrong facts."""
    found: list[pl.Series | None] = [None] * len(frames)
    hashes = _distinct_hashes(register) if any(INDEX in f.columns for f in frames) else None
    if hashes is None:
        return found
    candidates = []
    for i, frame in enumerate(frames):
        if INDEX not in frame.columns:
            continue
        at = frame.get_column(INDEX).cast(pl.UInt32, strict=False)
        if at.null_count() < len(at) and at.max() >= len(register):
            continue
        unindexed = frame.get_column("credit_code").filter(at.is_null()).drop_nulls()
        # equal codes hash equally, so no equal hash proves every such code absent from the register
        if len(unindexed) and hashes.is_in(unindexed.hash().implode()).any():
            continue
        candidates.append((i, at))
    # a null code with an index is refused too (a null code matches nothing); a null index leaves the row alone
    row = pl.col("at")
    fits = ((pl.lit(register).gather(row) == pl.col("credit_code")) | row.is_null()).fill_null(False).all()
    checked = pl.collect_all([pl.LazyFrame({"at": at, "credit_code": frames[i].get_column("credit_code")})
                              .select(fits) for i, at in candidates])  # the frames checked side by side
    for (i, at), ok in zip(candidates, checked):
        if ok.item():
            found[i] = at
    return found


def _rows_in_register(register: pl.Series, frames: list[pl.DataFrame]) -> list[pl.Series] | None:
    """Per side frame (credit_code, perhaps enterprise_index, its inputs), each row's register row (null: none), or
    None if the register lists one of the looked-up codes twice. A frame with an index that is exact for this
    register (:func:`_fitting_indexes`) takes it; the other frames' codes are looked up in one join (FACTS3-1)."""
    found = _fitting_indexes(register, frames)
    rest = [i for i, rows in enumerate(found) if rows is None]
    if rest:
        looked_up = _register_rows(register, pl.concat([frames[i].get_column("credit_code") for i in rest]))
        if looked_up is None:
            return None
        start = 0
        for i in rest:
            found[i] = looked_up.slice(start, frames[i].height)
            start += frames[i].height
    return found  # type: ignore[return-value]


def _side_columns(register: pl.Series, sides: list[_Side]) -> pl.DataFrame:
    """Each side's facts at the rows of ``register`` (the register's credit codes) of their enterprise, null
    elsewhere: what grouping each side by credit code and placing the groups (:func:`_placed`) gives. Each side's
    rows are grouped by their register row, an integer: the ``enterprise_index`` a prepared table stores, once
    checked (docs/decisions.md FACTS4-1), or else found by looking all sides' codes up in the register in one join
    (FACTS2-1, FACTS3-1); grouping by the code hashed a million strings once more. A register listing a looked-up
    code twice takes the grouping by code, which places a code's facts at each of its rows."""
    def columns(side: _Side) -> list[str]:
        stored = side.rows.collect_schema().names()
        return ["credit_code", *([INDEX] if INDEX in stored else []), *side.inputs()]

    rows = pl.collect_all([side.rows.select(columns(side)) for side in sides])
    found = _rows_in_register(register, rows)
    if found is None:
        return _placed(register, pl.collect_all([side.by("credit_code") for side in sides]))
    keyed = []
    for side, frame, at in zip(sides, rows, found):
        at = at.alias("register_row")
        keyed.append(side.by("register_row", frame.lazy().with_columns(at).filter(at.is_not_null())))
    placed = []
    for side, frame in zip(sides, pl.collect_all(keyed)):
        at = frame.get_column("register_row")
        if not side.grouped and at.n_unique() < len(at):  # refused as _placed refuses it
            raise pl.exceptions.ShapeError(f"facts listing an enterprise twice: {', '.join(side.names())}")
        # scattered once, then each column gathered by it (FACTS2-1)
        placed.append(frame.drop("register_row")[pl.Series("at", dtype=pl.UInt32).clear(len(register)).scatter(
            at, pl.int_range(0, frame.height, dtype=pl.UInt32, eager=True))])
    return pl.concat(placed, how="horizontal")


def enterprise_facts(tables: dict[str, pl.DataFrame], period: str | Period,
                     fields: Collection[str] | None = None) -> pl.DataFrame:
    """One row per enterprise with every data-dictionary field the tables can supply for the period.

    With ``fields``, only those (beside :data:`ENTERPRISE_IDENTITY`) are built, and only the tables, indicators
    and quarters they read are scanned: a period's measures read a third of the fields or fewer. Each column is
    the same as in the full build (same values, same relative order)."""
    p = Period.parse(period) if isinstance(period, str) else period

    def want(*names: str) -> list[str]:
        return _wanted(fields, names)

    # the register may be a Parquet scan: only the columns below are read (docs/decisions.md PEER2-2)
    ent = tables["enterprises"].lazy().select(
        "credit_code", pl.col("name").alias("enterprise_name"), pl.col("county_code").alias("county"),
        "industry_code", "sector")
    # GB/T 4754-2017 门类 by 大类 (first two digits): C 制造业 = 13–43; 工业 = B 06–12, C, D 44–46
    division = pl.col("industry_code").str.slice(0, 2).cast(pl.Int32, strict=False)
    ent = ent.with_columns(division.is_between(13, 43).alias("is_manufacturing"),
                           division.is_between(6, 46).alias("is_industrial"))
    ent = ent.select("credit_code", "enterprise_name", "county", *want("industry_code"), "sector",
                     *want("is_manufacturing", "is_industrial")).collect()
    out = ent
    if want(*INDICATOR_DERIVED):
        indicators = tables["indicator_panel"] if "indicator_panel" in tables else tables["indicators"]
        # indicator_facts follows the base's rows one to one, so its columns are placed beside them, not joined
        out = pl.concat([ent, indicator_facts(indicators, p, base=ent, fields=fields).drop("credit_code")],
                        how="horizontal")

    # the other tables' facts: their rows looked up in the register (one join for all), aggregated per register row
    # and placed beside it (_side_columns); joined onto the growing facts frame, each re-gathered every column it held
    sides, fills = _sides(tables, p, fields)
    if sides:
        beside = _side_columns(ent.get_column("credit_code"), sides)
        out = pl.concat([out, beside.with_columns(pl.col(c).fill_null(False) for c in fills)], how="horizontal")
    return out.with_columns(pl.col("credit_code").alias("entity_id"), pl.col("enterprise_name").alias("name"),
                            pl.col("county").alias("county_code"))


PROJECT_IDENTITY = ("entity_id", "credit_code", "county", "sector", "name", "county_code")
COUNTY_IDENTITY = ("entity_id", "name", "county_code", "county", "credit_code", "sector")


def _only(frame, identity: tuple[str, ...], fields: Collection[str] | None):
    """The (lazy) frame's identity columns and the asked-for fields, in its order (every column without fields)."""
    if fields is None:
        return frame
    return frame.select([c for c in frame.collect_schema().names() if c in identity or c in fields])


def project_facts(tables: dict[str, pl.DataFrame], period: str | Period,
                  fields: Collection[str] | None = None) -> pl.DataFrame:
    """One row per project: type, the quarter's investment and last year's, new start-and-registration flag
    (with ``fields``, only those beside :data:`PROJECT_IDENTITY`). One lazy plan: the investment table may be a
    Parquet scan, read for the two quarters only."""
    p = Period.parse(period) if isinstance(period, str) else period
    q = p.last_quarter
    inv = tables["project_investment"].lazy()
    projects = tables["projects"].lazy()
    indexed = [INDEX] if INDEX in projects.collect_schema().names() else []
    out = projects.select(
        "project_id", "credit_code", *indexed, "project_type", pl.col("county_code").alias("county"),
        pl.col("name").alias("project_name"),
        pl.col("registered_on").is_between(p.start, p.end).alias("project_started_registered_q"),
        pl.col("total_investment_fen").alias("gx2024q2_project_total_invest"), "registered_on")
    if _wanted(fields, ["project_invest_q"]):
        this = inv.filter(pl.col("period") == f"{p.year}Q{q}").select(
            "project_id", pl.col("invest_fen").alias("project_invest_q"))
        out = out.join(this, on="project_id", how="left", maintain_order="left")
    if _wanted(fields, ["project_invest_q_ly"]):
        last = inv.filter(pl.col("period") == f"{p.year - 1}Q{q}").select(
            "project_id", pl.col("invest_fen").alias("project_invest_q_ly"))
        # a project registered after last year's quarter had no investment then: a true 0, not a missing value
        out = out.join(last, on="project_id", how="left", maintain_order="left").with_columns(
            pl.when(pl.col("project_invest_q_ly").is_null() &
                    (pl.col("registered_on") > Period(p.year - 1, q).end))
            .then(0).otherwise(pl.col("project_invest_q_ly")).alias("project_invest_q_ly"))
    out = _with_owners(out.collect(), tables["enterprises"].lazy().select(
        "credit_code", pl.col("name").alias("_owner"), "sector").collect()).lazy().with_columns(
        pl.concat_str([pl.col("_owner"), pl.lit("："), pl.col("project_name")], ignore_nulls=True).alias("name"),
        pl.col("county").alias("county_code"))
    out = out.drop("registered_on", "_owner", "project_name").rename({"project_id": "entity_id"})
    return _only(out, PROJECT_IDENTITY, fields).collect()


def _with_owners(projects: pl.DataFrame, owners: pl.DataFrame) -> pl.DataFrame:
    """The projects beside their owners' register columns (null for an owner not in the register), each project's
    owner row found by one join (:func:`_rows_of`; the semi join of the register, then a left join, it replaces took
    ~1.5× as long at 1M: docs/decisions.md FACTS2-3), or the ``enterprise_index`` the projects store (huiqi.data.panel)
    once checked (FACTS4-2). A code the register lists twice is joined as before: the project's row repeated once
    per register row."""
    at = None
    if INDEX in projects.columns:
        [at] = _fitting_indexes(owners.get_column("credit_code"), [projects])
        projects = projects.drop(INDEX)
    if at is None:
        [at] = _rows_of(projects.get_column("credit_code"), [owners])
    if at is None:
        return projects.join(owners, on="credit_code", how="left", maintain_order="left")
    return pl.concat([projects, owners.drop("credit_code")[at]], how="horizontal")


def county_facts(tables: dict[str, pl.DataFrame], period: str | Period, weight_invest: float | None = None,
                 weight_output: float | None = None, fields: Collection[str] | None = None) -> pl.DataFrame:
    """Per 县区: task completion rates and, if weights are given, the composite rank (1 = best); with ``fields``,
    only those beside :data:`COUNTY_IDENTITY`."""
    p = Period.parse(period) if isinstance(period, str) else period
    t = tables["county_targets"].filter(pl.col("period") == str(p))
    out = t.select(pl.col("county_code").alias("entity_id"), "invest_target_fen", "invest_done_fen",
                   "output_target_fen", "output_done_fen").join(
        tables["counties"].select(pl.col("county_code").alias("entity_id"), pl.col("county_name").alias("name")),
        on="entity_id", how="left", maintain_order="left").with_columns(
        pl.col("entity_id").alias("county_code"), pl.col("entity_id").alias("county"),  # 所在县区: itself
        pl.lit(None, dtype=pl.String).alias("credit_code"),
        pl.lit(None, dtype=pl.String).alias("sector"))
    if weight_invest is None or weight_output is None:
        return _only(out.with_columns(pl.lit(None, dtype=pl.Int64).alias("county_rank_q")), COUNTY_IDENTITY, fields)
    from fractions import Fraction

    wi, wo = Fraction(str(weight_invest)), Fraction(str(weight_output))
    scores = {}
    for row in out.iter_rows(named=True):  # a few dozen 县区: exact Fractions, no float ties
        parts = [(wi, row["invest_done_fen"], row["invest_target_fen"]), (wo, row["output_done_fen"], row["output_target_fen"])]
        if any(done is None or not target for _, done, target in parts):
            scores[row["entity_id"]] = None
        else:
            scores[row["entity_id"]] = sum(w * Fraction(done, target) for w, done, target in parts)
    known = sorted((s for s in scores.values() if s is not None), reverse=True)
    # ties share the better rank ("min" ranking); see docs/decisions.md
    ranks = {k: (known.index(v) + 1) * 100 if v is not None else None for k, v in scores.items()}
    return _only(out.with_columns(pl.col("entity_id").replace_strict(ranks, return_dtype=pl.Int64).alias("county_rank_q")),
                 COUNTY_IDENTITY, fields)
