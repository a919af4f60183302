"""申报事项 as data: every handbook programme with 申报 arrangements and the four measure packages are entered,
every item quoted verbatim from its clause, and `huiqi lint` fails on a planted defect."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from huiqi.policies.library import default_library
from huiqi.rules import application
from huiqi.rules.application import APPLICATIONS_DIR, default_applications, load_applications
from huiqi.rules.application_lint import lint_applications
from huiqi.rules.loader import RuleFileError

HANDBOOK_WITH_APPLICATIONS = {"hb11", "hb13", "hb19", "hb28", "hb31", "hb35", "hb38", "hb41", "hb42", "hb43", "hb44",
                              "hb45", "hb46", "hb47", "hb48", "hb49", "hb50", "hb51", "hb53", "hb54", "hb55", "hb56",
                              "hb57", "hb59", "hb63"}
PACKAGES = {"gx2023", "gx2024q4", "gx2025h2", "lz2026q3"}


def test_every_programme_is_entered():
    docs = {doc for doc, _ in default_applications()}
    assert HANDBOOK_WITH_APPLICATIONS <= docs and PACKAGES <= docs
    assert len(HANDBOOK_WITH_APPLICATIONS) == 25


def test_handbook_contacts_are_entered():
    """14 handbook documents print a contact; each appears as a 咨询电话 (hb54: only an e-mail) quoted from its clause."""
    with_contact = {doc for doc, p in default_applications() if p.phones or p.emails}
    assert {"hb19", "hb38", "hb46", "hb47", "hb48", "hb49", "hb50", "hb51", "hb53", "hb54", "hb55", "hb56", "hb57",
            "hb59"} <= with_contact


def test_shipped_files_lint_clean():
    assert lint_applications() == []


def test_windows_read_from_the_text():
    by_id = {p.id: p for _, p in default_applications()}
    w = by_id["hb28-iclist"].windows[0]
    assert (w.opens, w.closes) == (date(2024, 3, 25), date(2024, 4, 16))  # hb28 二：2024年3月25日至4月16日
    assert [w.closes for w in by_id["hb54-qianqi"].windows] == [date(2024, 1, 30), date(2024, 4, 30),
                                                                date(2024, 7, 30), date(2024, 10, 30)]
    assert by_id["lz2026q3-package"].windows[0].closes == date(2026, 9, 30)  # 004 六（一）


def _plant(tmp_path: Path, name: str, edit) -> Path:
    d = tmp_path / "applications"
    d.mkdir()
    raw = yaml.safe_load((APPLICATIONS_DIR / name).read_text(encoding="utf-8"))
    edit(raw)
    (d / name).write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return d


def test_altered_quote_fails_lint(tmp_path):
    def edit(raw):
        raw["programmes"][0]["phones"][0]["quote"] = "业务咨询、办理电话：0772-2830599"  # one digit changed
    findings = lint_applications(_plant(tmp_path, "hb46.yaml", edit))
    assert len(findings) == 1 and "引文与条款 hb46:2 不一致" in findings[0].message


def test_quote_from_another_clause_is_named(tmp_path):
    def edit(raw):
        raw["programmes"][0]["materials"][0]["clause"] = "hb47:2"
    findings = lint_applications(_plant(tmp_path, "hb47.yaml", edit))
    assert len(findings) == 1 and "在文件其他条款中" in findings[0].message


def test_window_outside_validity_fails_lint(tmp_path):
    """lz2026q3 is valid to 2026-09-30 (六（一）“政策有效期至2026年9月30日”): a window closing later fails."""
    def edit(raw):
        raw["programmes"][0]["windows"][0]["closes"] = date(2026, 10, 31)
    findings = lint_applications(_plant(tmp_path, "lz2026q3.yaml", edit))
    assert any("晚于文件有效期 2026-09-30" in f.message for f in findings)


def test_window_before_validity_fails_lint(tmp_path):
    def edit(raw):
        raw["programmes"][0]["windows"][0]["opens"] = date(2022, 12, 1)
    findings = lint_applications(_plant(tmp_path, "gx2023.yaml", edit))
    assert any("早于文件生效日 2023-01-01" in f.message for f in findings)


def test_missing_validity_date_is_unbounded(tmp_path):
    """hb54 has no validity dates in the library today: any window date passes (until they are filled in)."""
    doc = default_library().document("hb54")
    if doc.valid_from or doc.valid_to:
        pytest.skip("hb54 now has validity dates")

    def edit(raw):
        raw["programmes"][0]["windows"][0]["closes"] = date(2099, 1, 1)
    assert lint_applications(_plant(tmp_path, "hb54.yaml", edit)) == []


def test_unknown_linked_measure_fails_lint(tmp_path):
    def edit(raw):
        raw["programmes"][0]["measures"].append("hb-no-such-measure")
    findings = lint_applications(_plant(tmp_path, "hb45.yaml", edit))
    assert len(findings) == 1 and "关联措施 hb-no-such-measure 不存在" in findings[0].message


def test_schema_errors_name_file_and_line(tmp_path):
    d = tmp_path / "applications"
    d.mkdir()
    (d / "x.yaml").write_text("document: hb45\nprogrammes:\n  - id: x\n    name: x\n    officee: 错字\n",
                              encoding="utf-8")
    with pytest.raises(RuleFileError) as e:
        load_applications(d)
    assert "x.yaml:5" in str(e.value)
    (d / "x.yaml").write_text("document: hb45\nprogrammes:\n  - id: x\n    name: x\n    windows:\n"
                              "      - {quote: q, clause: 'hb45:0', opens: 2024-05-01, closes: 2024-04-01}\n",
                              encoding="utf-8")
    with pytest.raises(RuleFileError, match="开始日期晚于截止日期"):
        load_applications(d)


def test_huiqi_lint_fails_on_planted_quote(tmp_path, monkeypatch):
    from huiqi.interfaces.cli import app

    def edit(raw):
        raw["programmes"][0]["who"][0]["quote"] = "1.企业成立5年以上；"
    monkeypatch.setattr(application, "APPLICATIONS_DIR", _plant(tmp_path, "hb45.yaml", edit))
    r = CliRunner().invoke(app, ["lint"])
    assert r.exit_code == 1 and "hb45.yaml" in r.output and "hb45-xiaojuren" in r.output


def test_huiqi_lint_passes_with_the_shipped_files():
    from huiqi.interfaces.cli import app

    r = CliRunner().invoke(app, ["lint"])
    assert r.exit_code == 0, r.output


def test_label_drops_list_numbering():
    from huiqi.rules.application import Cited

    assert Cited(quote="（一）项目申报书。", clause="hb47:1").label == "项目申报书。"
    assert Cited(quote="5、企业法人营业执照复印件。", clause="x:1").label == "企业法人营业执照复印件。"
    assert Cited(quote="1.统一社会信用代码证;", clause="x:1").label == "统一社会信用代码证"
    assert Cited(text="营业执照", quote="（二）营业执照。", clause="x:1").label == "营业执照"
