"""Issue 9: the award list stays what officers read at any scale; the per-enterprise to-do lists go per county."""

from __future__ import annotations

import json

import openpyxl
import polars as pl
import pytest

from huiqi.services import award_list
from huiqi.services.presenters import MONITORING_MEASURES
from huiqi.services.screening import screen


@pytest.fixture(scope="module")
def run():
    from huiqi.data.synthetic import generate

    return screen(generate(1_500, seed=13), "2024Q4")


def _listed(run) -> pl.DataFrame:
    return award_list.suppliable_missing(run).filter(~pl.col("measure_id").is_in(list(MONITORING_MEASURES)))


def test_award_list_has_no_per_enterprise_sheets_that_outgrow_excel(run, tmp_path):
    """At a million enterprises 待补充信息明细 and 待补充信息（按企业） passed Excel's 1,048,576 rows: the award list keeps
    the summary, the per-measure payments and the counted 待补充信息; the per-enterprise sheets are a county's."""
    names = openpyxl.load_workbook(award_list.write_excel(run, tmp_path / "a.xlsx"), read_only=True).sheetnames
    assert "待补充信息" in names and "待补充信息明细" not in names and "待补充信息（按企业）" not in names
    county = openpyxl.load_workbook(award_list.write_excel(run, tmp_path / "c.xlsx", per_enterprise=True),
                                    read_only=True).sheetnames
    assert {"待补充信息明细", "待补充信息（按企业）"} <= set(county)


def test_to_do_workbooks_per_county_list_every_suppliable_row_once(run, tmp_path):
    listed = _listed(run)
    assert listed.height > 0
    paths = award_list.write_todo_by_county(run, tmp_path)
    assert len(paths) == listed["county_code"].n_unique()
    rows, enterprises = 0, 0
    for path in paths:
        wb = openpyxl.load_workbook(path, read_only=True)
        assert wb.sheetnames == ["待补充信息明细", "待补充信息（按企业）"]
        detail = [r for r in wb["待补充信息明细"].iter_rows(min_row=4, values_only=True) if r[0] is not None]
        grid = [r for r in wb["待补充信息（按企业）"].iter_rows(min_row=4, values_only=True) if r[0] is not None]
        assert len({r[3] for r in detail}) == 1  # one county per workbook
        rows += len(detail)
        enterprises += len(grid)
    assert rows == listed.height
    assert enterprises == listed.select("entity_id").n_unique()


def test_grid_marks_exactly_the_facts_named_in_the_rows(run, tmp_path):
    """The vectorised per-enterprise grid says what the row-by-row grouping said: 待补充 under each label the
    enterprise's rows name, blank elsewhere."""
    path = award_list.write_todo(run, tmp_path / "t.xlsx")
    ws = openpyxl.load_workbook(path, read_only=True)["待补充信息（按企业）"]
    rows = list(ws.iter_rows(min_row=3, values_only=True))
    header, body = rows[0], [r for r in rows[1:] if r[0] is not None]
    labels = list(header[5:])
    expected: dict[str, set] = {}
    for credit, text in _listed(run).select(pl.coalesce("credit_code", "entity_id"), "missing").iter_rows():
        expected.setdefault(credit, set()).update(p.split("（来源：")[0] for p in (text or "").split("；") if p)
    marked: dict[str, set] = {}  # by credit code: an enterprise and its projects share one
    for r in body:
        marked.setdefault(r[2], set()).update(x for x, v in zip(labels, r[5:]) if v == "待补充")
    assert marked == expected


def test_screen_todo_writes_the_county_books_into_the_manifest(run, tmp_path):
    out = tmp_path / "out"
    award_list.write_run(run, out, todo=True)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    books = [n for n in manifest["files"] if n.startswith("待补充信息_")]
    assert books and all((out / n).exists() for n in books)
    award_list.write_run(run, tmp_path / "plain")
    assert not [p for p in (tmp_path / "plain").iterdir() if p.name.startswith("待补充信息_")]


def test_results_come_in_the_documented_order_so_writing_does_not_sort(run):
    """Screening emits rows by entity type, measure ID and entity ID (an integer rank per entity): sort_results
    finds them in order and returns them as they are; shuffled, it sorts them back."""
    assert award_list.sort_results(run.results) is run.results
    shuffled = run.results.sample(fraction=1.0, shuffle=True, seed=3)
    assert award_list.sort_results(shuffled).equals(run.results)


def test_order_check_is_lexicographic():
    frame = pl.DataFrame({"entity": ["enterprise"] * 4, "measure_id": ["a", "a", "b", "b"],
                          "entity_id": ["2", "3", "1", "1"]})
    assert award_list.sort_results(frame) is frame
    swapped = frame[[0, 2, 1, 3]]
    assert award_list.sort_results(swapped).equals(frame)
