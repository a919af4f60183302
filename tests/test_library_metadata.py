"""Document metadata of the 政策库 (huiqi/policies/documents.yaml): every date from the text, statuses on a date."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import yaml

from huiqi.policies.library import (
    STATUS_EXPIRED,
    STATUS_IN_FORCE,
    STATUS_NOT_YET,
    STATUS_UNSTATED,
    TOPICS,
    Library,
    default_library,
    normalize,
)

TODAY = date(2026, 12, 1)


def _cn_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def test_handbook_document_whose_stated_validity_has_passed_is_expired():
    """hb13 (柳商发〔2024〕1号) “本规定有效期至2024年12月31日”: 已失效 on 2026-12-01, not 有效."""
    lib = default_library()
    hb13 = lib.document("hb13")
    assert hb13.valid_to == date(2024, 12, 31)
    assert hb13.status(TODAY) == STATUS_EXPIRED
    assert hb13.status(date(2024, 6, 1)) == STATUS_IN_FORCE
    # 桂政办发〔2023〕24号 “有效期至2025年12月31日”; 桂政办发〔2024〕10号 “2024年1月1日至2026年12月31日”
    assert lib.document("hb36").status(TODAY) == STATUS_EXPIRED
    assert lib.document("hb09").status(TODAY) == STATUS_IN_FORCE
    assert lib.document("hb09").status(date(2027, 1, 1)) == STATUS_EXPIRED
    # 财政部 税务总局公告2023年第51号 “本公告执行至2027年12月31日”
    assert lib.document("hb21").status(TODAY) == STATUS_IN_FORCE


def test_document_without_stated_end_is_shown_as_unstated_not_in_force():
    """国发〔2024〕7号 states no period of validity: shown as 未载明有效期, never silently 有效."""
    lib = default_library()
    assert lib.document("hb01").status(TODAY) == STATUS_UNSTATED
    assert "未载明" in lib.document("hb01").status_reason(TODAY)
    # a stated start without an end (柳政规〔2022〕8号 “自2022年1月1日起施行”)
    hb38 = lib.document("hb38")
    assert hb38.valid_from == date(2022, 1, 1) and hb38.valid_to is None
    assert hb38.status(date(2021, 12, 31)) == STATUS_NOT_YET and hb38.status(TODAY) == STATUS_UNSTATED


def test_most_2023_2024_measures_are_expired_on_2026_12_01():
    lib = default_library()
    stated = [d for d in lib if d.valid_to and not d.draft]
    assert len(stated) >= 30
    expired = [d for d in stated if d.valid_to.year <= 2025]
    assert expired and all(d.status(TODAY) == STATUS_EXPIRED for d in expired)


def test_every_stated_date_is_in_the_text():
    """issued and valid_to come from words of the text: the printed date, or the year/period named in the title
    (“（2023—2024年）”, “十四五”, “2024年二季度”)."""
    for d in default_library():
        text = normalize(d.text)
        if d.issued:
            assert _cn_date(d.issued) in text, d.id
        if d.valid_to:
            printed = _cn_date(d.valid_to) in text or f"{d.valid_to.month}月{d.valid_to.day}日" in text
            in_title = str(d.valid_to.year) in d.title or "十四五" in d.title
            years = re.search(r"有效期(\d+)年", text)  # “自2023年1月1日起实施，有效期1年”
            term = bool(years and d.valid_from and _cn_date(d.valid_from) in text and d.valid_to ==
                        date(d.valid_from.year + int(years.group(1)), d.valid_from.month, d.valid_from.day)
                        - timedelta(days=1))
            assert printed or in_title or term, d.id
        if d.validity_basis:
            assert not d.validity_basis.isspace()
        elif d.valid_from or d.valid_to:
            raise AssertionError(f"{d.id}: dates without the words they come from")


def test_issued_year_follows_the_wenhao():
    for d in default_library():
        m = re.search(r"〔(\d{4})〕|公告\s*(\d{4})\s*年", d.wenhao or "")
        if m and d.issued_year:
            assert d.issued_year == int(m.group(1) or m.group(2)), d.id


def test_department_is_the_printed_one():
    for d in default_library():
        printed = [ln for ln in d.text.splitlines() if "【主管部门】" in ln]
        if printed:
            assert normalize(d.department) in normalize(printed[0]), d.id


def test_all_70_documents_have_topics_from_the_vocabulary():
    lib = default_library()
    assert len(lib) == 70
    for d in lib:
        assert d.topics and set(d.topics) <= set(TOPICS), d.id


def test_superseded_document_is_expired_once_the_replacing_text_applies(tmp_path: Path):
    """A document is superseded only where a later text of the library says it replaces it (by 文号 or ID)."""
    src = Path(__file__).parents[1] / "huiqi/policies/documents.yaml"
    entries = {e["id"]: e for e in yaml.safe_load(src.read_text(encoding="utf-8"))["documents"]}
    old, new = dict(entries["hb38"]), dict(entries["hb34"])  # any two texts; the link is made up for the test
    new["supersedes"] = [old["wenhao"]]
    reg = tmp_path / "documents.yaml"
    reg.write_text(yaml.safe_dump({"documents": [old, new]}, allow_unicode=True), encoding="utf-8")
    lib = Library(reg)
    before, after = date(2023, 11, 29), date(2023, 11, 30)  # hb34 施行 2023-11-30
    assert lib.document("hb38").status(before) == STATUS_UNSTATED
    assert lib.document("hb38").status(after) == STATUS_EXPIRED
    assert "替代" in lib.document("hb38").status_reason(after)


def test_year_filter_of_the_policy_library_finds_documents():
    from huiqi.interfaces.web.api import filter_documents

    state = SimpleNamespace(library=default_library())
    in_2024 = filter_documents(state, year=2024)
    assert len(in_2024) >= 10 and all(d.year == 2024 for d in in_2024)
    assert {d.id for d in in_2024} >= {"hb01", "hb13", "gx2024q4", "gx2024q2"}
    assert {d.id for d in filter_documents(state, year=2023)} >= {"hb02", "hb29"}
