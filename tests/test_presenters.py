"""Issue 11: what people read — Excel sheet names, the audit log, monitoring rules kept off award lists."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from huiqi.services.presenters import audit_view, beijing_time, for_people, is_monitoring, sheet_names


def test_sheet_names_are_chinese_unique_and_excel_safe():
    """Excel sheet names were measure IDs (gx2024q4-21); they are measure names, ≤31 characters, without
    []:*?/\\, unique even when two long names share their first 31 characters, and the same on every run."""
    long = "工业企业增产增效奖励（有基数的企业，四季度当季产值达到5000万元以上）"
    names = sheet_names(["汇总", "待补充信息", long, long + "乙", "促销活动补助[场地/会场]:50%?", "汇总"])
    assert names[0] == "汇总" and names[1] == "待补充信息"
    assert all(len(n) <= 31 for n in names)
    assert len({n.lower() for n in names}) == len(names)
    assert not any(c in n for n in names for c in "[]:*?/\\")
    assert names[2] == long[:31] and names[3].endswith("～2")
    assert names == sheet_names(["汇总", "待补充信息", long, long + "乙", "促销活动补助[场地/会场]:50%?", "汇总"])


@given(st.lists(st.text(max_size=60), max_size=30))
def test_sheet_names_property(titles):
    names = sheet_names(titles)
    assert len(names) == len(titles)
    assert all(0 < len(n) <= 31 and not any(c in n for c in "[]:*?/\\") for n in names)
    assert len({n.lower() for n in names}) == len(names)


def test_audit_log_reads_as_chinese_in_beijing_time():
    """The audit page showed raw JSON with \\uXXXX escapes and UTC; it shows 北京时间 and Chinese key: value."""
    entry = {"at": "2026-12-01T04:00:00+00:00", "username": "admin", "role": "admin", "action": "筛查",
             "target": "abc", "detail": '{"period": "2024Q4", "budget_policy": "pro_rata", '
                                       '"measures": ["gx2024q4-21"], "trace": "Traceback…"}', "ip": "127.0.0.1"}
    v = audit_view(entry, {"gx2024q4-21": "促销活动补助"})
    assert v["time"] == "2026-12-01 12:00:00"
    assert v["role"] == "系统管理员"
    assert ("期间", "2024Q4") in v["details"] and ("超预算处理", "按比例核减") in v["details"]
    assert ("措施", "促销活动补助") in v["details"]
    assert not any("\\u" in k + val or "Traceback" in val for k, val in v["details"])
    assert beijing_time("2026-12-31T16:30:00") == "2027-01-01 00:30:00"


def test_doc_paths_are_not_shown_to_people():
    """Document notes cited "（见docs/decisions.md）" on the policy page."""
    assert for_people("故按2024-10-01至2024-12-31计（见docs/decisions.md）。") == "故按2024-10-01至2024-12-31计。"


def test_linuigui_is_monitoring_not_an_award():
    """gx2024q4 第33条 "对前三季度产值或主营业务收入不到1500万元的企业加强动态跟踪" is a monitoring list."""
    assert is_monitoring("gx2024q4-33") and not is_monitoring("gx2024q4-21")


def test_missing_facts_grouped_per_enterprise():
    """待补充信息 per enterprise: one row each, one column per missing fact (Chinese label), monitoring left out."""
    from huiqi.services.presenters import missing_by_enterprise

    rows = [
        {"entity_id": "A", "name": "甲公司", "credit_code": "A", "county_name": "柳南区", "measure_id": "m1",
         "missing": "当季促销活动费用（来源：企业申报）；首次建立供需关系（来源：工信部门）"},
        {"entity_id": "A", "name": "甲公司", "credit_code": "A", "county_name": "柳南区", "measure_id": "m2",
         "missing": "当季促销活动费用（来源：企业申报）"},
        {"entity_id": "B", "name": "乙公司", "credit_code": "B", "county_name": "柳南区", "measure_id": "gx2024q4-33",
         "missing": "前三季度产值（来源：统计）"},
    ]
    labels, grouped = missing_by_enterprise(rows, {"m1": "促销补助", "m2": "展会补助"})
    assert labels == ["当季促销活动费用", "首次建立供需关系"]
    assert len(grouped) == 1 and list(grouped[0]["measures"]) == ["促销补助", "展会补助"]
