"""Issue 8 (security): a county officer's import may not take over another county's enterprise, project or event.
The check compares against what the database already holds (huiqi.data.scope), below the web layer, so the CLI
import with `--county` gets it too."""

from __future__ import annotations

import random
import re
from datetime import date

import polars as pl
import pytest
from typer.testing import CliRunner

from huiqi.data.columns import TABLES
from huiqi.data.credit_code import make_code
from huiqi.data.importer import import_files
from huiqi.data.store import Store

OWN, OTHER = "450204", "450205"  # 柳南区, 柳北区
RNG = random.Random(5)
THEIRS = make_code(RNG, OTHER)  # an enterprise of 柳北区, already in the database
MINE = make_code(RNG, OWN)
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'h.db'}")
    s.create_all()
    s.write_many({
        "counties": pl.DataFrame([(OWN, "柳南区", "柳州市"), (OTHER, "柳北区", "柳州市")],
                                 schema=TABLES["counties"].schema, orient="row"),
        "enterprises": pl.DataFrame([(THEIRS, "柳北机械有限公司", OTHER, "3421", "机械", date(2015, 3, 1), False)],
                                    schema=TABLES["enterprises"].schema, orient="row"),
        "projects": pl.DataFrame([("P-OTHER", THEIRS, "技改一期", "技术改造", OTHER, date(2023, 3, 1), 100_000_000)],
                                 schema=TABLES["projects"].schema, orient="row"),
        "events": pl.DataFrame([("E-OTHER", THEIRS, "promo_event", date(2024, 11, 1), 30_000_000, None, "发布会")],
                               schema=TABLES["events"].schema, orient="row"),
    })
    yield s
    s.close()


def _takeover_file(tmp_path):
    """The attack: another county's credit code with the officer's own county code (plus a legitimate row)."""
    f = tmp_path / "企业名录.csv"
    f.write_text("统一社会信用代码,企业名称,县区代码,行业代码,行业\n"
                 f"{MINE},柳南新建机械有限公司,{OWN},3421,机械\n"
                 f"{THEIRS},柳北机械有限公司,{OWN},3421,机械\n", encoding="utf-8")
    return f


def test_county_officer_cannot_take_over_another_countys_enterprise(store, tmp_path):
    """The uploaded file is consistent (own county code everywhere); only the database knows the enterprise is
    柳北区's. Refused with row and column, and nothing is written."""
    result = import_files([_takeover_file(tmp_path)], store, county=OWN)
    assert not result.ok
    (file, _sheet, row, column, value, reason), = result.problems
    assert (row, column, value) == (3, "统一社会信用代码", THEIRS)
    assert CJK.search(reason) and "其他县区" in reason
    text = result.to_text()
    assert "第3行" in text and "统一社会信用代码" in text and "未写入" in text
    assert store.count("enterprises") == 1  # nothing written, not even the legitimate row
    assert store.read("enterprises")["county_code"].to_list() == [OTHER]


def test_county_officer_cannot_take_over_another_countys_project_or_event(store, tmp_path):
    p = tmp_path / "项目.csv"
    p.write_text("项目编号,统一社会信用代码,项目名称,项目类型,县区代码,入库日期,总投资（万元）\n"
                 f"P-OTHER,{MINE},改名项目,技术改造,{OWN},2023-03-01,100\n", encoding="utf-8")
    e = tmp_path / "企业名录.csv"
    e.write_text(f"统一社会信用代码,企业名称,县区代码,行业代码,行业\n{MINE},柳南新建机械有限公司,{OWN},3421,机械\n",
                 encoding="utf-8")
    result = import_files([e, p], store, county=OWN)
    assert [(pr[3], pr[4]) for pr in result.problems] == [("项目编号", "P-OTHER")], result.to_text()
    assert store.read("projects")["county_code"].to_list() == [OTHER]


def test_county_scope_still_allows_own_rows_and_admin_imports(store, tmp_path):
    e = tmp_path / "企业名录.csv"
    e.write_text(f"统一社会信用代码,企业名称,县区代码,行业代码,行业\n{MINE},柳南新建机械有限公司,{OWN},3421,机械\n",
                 encoding="utf-8")
    assert import_files([e], store, county=OWN).ok
    assert import_files([_takeover_file(tmp_path)], store).ok  # no scope (administrator): moving is allowed


def test_cli_import_with_county_scope_refuses_takeover(store, tmp_path):
    from huiqi.interfaces.cli import app

    url = str(store.engine.url)
    r = CliRunner().invoke(app, ["import", str(_takeover_file(tmp_path)), "--db", url, "--county", OWN])
    assert r.exit_code == 1, r.output
    assert "第3行" in r.output and "统一社会信用代码" in r.output and "其他县区" in r.output
    assert store.read("enterprises")["county_code"].to_list() == [OTHER]
