"""The 拟兑现名单 download of the web (GET /api/screenings/{id}/export.xlsx, the 工作台's 下载 button).

The province-wide list carries only the 待补充信息 summary; the per-enterprise to-do sheets (待补充信息明细 and
待补充信息（按企业）) go with a county officer's own download (services.award_list.write_excel(per_enterprise=True),
state.export_excel). Nothing tested that through the web: that the sheets are there, hold the county's firms
waiting for data, and no other county's.
"""

from __future__ import annotations

import io

import openpyxl
import polars as pl
import pytest

from huiqi.interfaces.web.state import DEMO_COUNTY

TODO_SHEETS = ("待补充信息明细", "待补充信息（按企业）")


@pytest.fixture(scope="module")
def job(web):
    return web.screening(web.client("liunan"))


def _codes(ws) -> set[str]:
    """The 统一社会信用代码 column (the third) of a to-do sheet, below its title and header rows."""
    return {str(row[2]) for row in ws.iter_rows(min_row=3, values_only=True) if row[2] and len(str(row[2])) == 18}


@pytest.mark.parametrize("officer", ["liunan", "officer2"])
def test_county_download_has_the_per_enterprise_todo_sheets_of_its_own_county_only(web, job, officer):
    county = DEMO_COUNTY if officer == "liunan" else web.other_county
    officer = web.client(officer).get(f"/api/screenings/{job['id']}/export.xlsx")
    assert officer.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(officer.content), read_only=True)
    assert set(TODO_SHEETS) <= set(wb.sheetnames)
    listed = {name: _codes(wb[name]) for name in TODO_SHEETS}
    # what the run says: the county's 待补充信息 rows (the run lists only what a data table could fill)
    results = web.state.results(job["id"]).filter(pl.col("status") == "待补充信息")
    own = set(results.filter(pl.col("county_code") == county)["credit_code"].drop_nulls().to_list())
    others = set(results.filter(pl.col("county_code") != county)["credit_code"].drop_nulls().to_list())
    assert own and others, "演示数据应在本县区和其他县区都有待补充信息的企业"
    assert listed["待补充信息（按企业）"] == own
    assert listed["待补充信息明细"] <= own and listed["待补充信息明细"]
    for name, codes in listed.items():
        assert not codes & others, f"{name} 列出了其他县区的企业"
        assert {web.state.county_of.get(c) for c in codes} == {county}


def test_province_wide_download_keeps_the_todo_sheets_out(web, job):
    """The admin's list is the province-wide one: the 待补充信息 summary, no per-enterprise sheets."""
    full = web.client("admin").get(f"/api/screenings/{job['id']}/export.xlsx")
    assert full.status_code == 200
    names = openpyxl.load_workbook(io.BytesIO(full.content), read_only=True).sheetnames
    assert "待补充信息" in names and not set(TODO_SHEETS) & set(names)
