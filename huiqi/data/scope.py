"""A county officer's import may only touch its own 县区 — judged against what is already held, not only the file.

An upload that names an existing enterprise (or project, or event) with the officer's own county code would
otherwise move another county's record into this county (issue 8: county takeover). So every uploaded row is
checked twice: the county the file gives it, and the county of the record it would overwrite. The check lives
here, below the interfaces, so the web upload and `huiqi import --county` share it.

    problems = county_scope_problems(result, "450204", store)        # store: a Store, or {table: frame}
    result.problems += problems                                        # → nothing is written

Each problem is an import problem tuple (file, sheet, row, column, value, reason) naming row and column.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Union

import polars as pl

from huiqi.data.columns import TABLES

Held = Union["Store", Mapping[str, pl.DataFrame], None]  # noqa: F821  (huiqi.data.store.Store)

_CHUNK = 5_000  # values per IN (…) query: well below SQLite's and PostgreSQL's parameter limits


def held_rows(held: Held, table: str, column: str, values: Iterable[str], columns: list[str]) -> pl.DataFrame:
    """The stored rows of ``table`` whose ``column`` is one of ``values`` (only ``columns``)."""
    values = sorted({v for v in values if v is not None})
    schema = {c: TABLES[table].schema[c] for c in columns}
    if held is None or not values:
        return pl.DataFrame(schema=schema)
    if isinstance(held, Mapping):
        frame = held.get(table)
        if frame is None:
            return pl.DataFrame(schema=schema)
        found = frame.filter(pl.col(column).is_in(values)).select(columns)
        return found.collect() if isinstance(found, pl.LazyFrame) else found
    parts = []
    for i in range(0, len(values), _CHUNK):
        try:
            parts.append(held.read(table, where={column: values[i:i + _CHUNK]}).select(columns))
        except Exception:  # the table does not exist yet: nothing is held
            return pl.DataFrame(schema=schema)
    return pl.concat(parts) if parts else pl.DataFrame(schema=schema)


def county_scope_problems(result, county: str, held: Held) -> list[tuple]:
    """Problems (file, sheet, row, column, value, reason) for every row of ``result`` (an ImportResult) that
    belongs to another 县区 than ``county`` — by the file's own county code or by what ``held`` already stores."""
    tables: dict[str, pl.DataFrame] = result.tables
    problems: list[tuple] = []

    def origin(name: str, i: int) -> tuple[str, str, int | None]:
        rows = result._origin.get(name) or []
        return rows[i] if i < len(rows) else ("", "", None)

    def add(name: str, i: int, column: str, value, reason: str) -> None:
        file, sheet, row = origin(name, i)
        problems.append((file, sheet, row, TABLES[name][column].label, None if value is None else str(value), reason))

    # the county of each enterprise: the stored one wins (an upload cannot move an enterprise)
    uploaded_ent = tables.get("enterprises")
    codes: set[str] = set()
    for name, frame in tables.items():
        if "credit_code" in frame.columns:
            codes |= set(frame["credit_code"].drop_nulls().to_list())
    held_ent = dict(held_rows(held, "enterprises", "credit_code", codes, ["credit_code", "county_code"]).iter_rows())
    ent_county = dict(held_ent)
    if uploaded_ent is not None:
        for code, c in zip(uploaded_ent["credit_code"].to_list(), uploaded_ent["county_code"].to_list()):
            ent_county.setdefault(code, c)
    # the county of each project: likewise
    ids: set[str] = set()
    for name in ("projects", "project_investment"):
        if name in tables:
            ids |= set(tables[name]["project_id"].to_list())
    held_proj = dict(held_rows(held, "projects", "project_id", ids, ["project_id", "county_code"]).iter_rows())
    proj_county = dict(held_proj)
    if "projects" in tables:
        for pid, c in zip(tables["projects"]["project_id"].to_list(), tables["projects"]["county_code"].to_list()):
            proj_county.setdefault(pid, c)
    held_events = dict(held_rows(held, "events", "event_id",
                                 tables["events"]["event_id"].to_list() if "events" in tables else [],
                                 ["event_id", "credit_code"]).iter_rows())

    other = "本县区账号不能导入或改动其他县区的数据"
    for name, frame in tables.items():
        cols = frame.columns
        for i, row in enumerate(frame.iter_rows(named=True)):
            code = row.get("credit_code")
            if "county_code" in cols:
                if row["county_code"] != county:
                    add(name, i, "county_code", row["county_code"], f"县区代码不是本县区（{county}）：{other}")
                elif name == "enterprises" and held_ent.get(code, county) != county:
                    add(name, i, "credit_code", code, f"该企业已登记在其他县区，不能改为本县区：{other}")
                elif name == "projects" and held_proj.get(row["project_id"], county) != county:
                    add(name, i, "project_id", row["project_id"], f"该项目已登记在其他县区，不能改为本县区：{other}")
            elif name == "events" and row["event_id"] in held_events \
                    and ent_county.get(held_events[row["event_id"]]) != county:
                add(name, i, "event_id", row["event_id"], f"该事项已登记在其他县区的企业名下：{other}")
            elif code is not None and ent_county.get(code) != county:
                reason = (f"该企业属于其他县区：{other}" if code in ent_county
                          else "该企业不在企业名录中：请先（或同时）导入本县区的企业名录")
                add(name, i, "credit_code", code, reason)
            elif name == "project_investment" and proj_county.get(row["project_id"]) != county:
                reason = (f"该项目属于其他县区：{other}" if row["project_id"] in proj_county
                          else "该项目不在项目表中：请先（或同时）导入本县区的项目")
                add(name, i, "project_id", row["project_id"], reason)
    return problems
