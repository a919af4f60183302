"""The payout loop's service (issue 10 item 3): transitions, refusals in Chinese, amounts only lowered, an audit
entry for every transition, totals, the 公示 window in working days, the treasury file all-or-nothing."""

from __future__ import annotations

import random
import re
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parent))
from pg import postgres_url  # noqa: E402,F401  (a pytest fixture)

from huiqi.data.credit_code import make_code  # noqa: E402
from huiqi.data.payment_file import read_payments
from huiqi.data.payout_tables import metadata
from huiqi.services import payout as P
from huiqi.services.payout import PayoutError, PayoutService

CJK = re.compile(r"[\u4e00-\u9fff]")
COUNTY, OTHER = "450204", "450202"


@dataclass
class U:
    username: str
    role: str
    county_code: str | None = None
    credit_code: str | None = None
    display_name: str = "用户"


_RNG = random.Random(10)
A, B, C = (make_code(_RNG, "450204") for _ in range(3))
OFFICER = U("liunan", "officer", COUNTY)
OTHER_OFFICER = U("other", "officer", OTHER)
ENT_A = U("qa", "enterprise", credit_code=A, display_name="甲公司")
ENT_B = U("qb", "enterprise", credit_code=B)

AWARDS = [
    dict(credit_code=A, name="甲公司", county_code=COUNTY, measure_id="m1", measure_name="展会补助", final_fen=1_840_025),
    dict(credit_code=B, name="乙公司", county_code=COUNTY, measure_id="m1", measure_name="展会补助", final_fen=30_000_000),
    dict(credit_code=C, name="丙公司", county_code=COUNTY, measure_id="m2", measure_name="技改奖励", final_fen=50_000_000),
    dict(credit_code=C, name="丙公司", county_code=COUNTY, measure_id="m3", measure_name="零元", final_fen=0),
    dict(credit_code=A, name="外县", county_code=OTHER, measure_id="m1", measure_name="展会补助", final_fen=100),
]


class Clock:
    def __init__(self, d: date):
        self.d = d

    def __call__(self) -> date:
        return self.d


@pytest.fixture
def svc(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'p.db'}")
    metadata.create_all(engine)
    log: list[tuple] = []

    def audit(actor, action, target=None, detail=None, ip=None, conn=None):
        assert conn is not None  # in the same transaction as the change
        log.append((actor.username if actor else None, action, target, detail))

    s = PayoutService(engine, audit, Clock(date(2024, 12, 2)))  # a Monday
    s.log = log
    return s


def refused(fn, status: int) -> str:
    with pytest.raises(PayoutError) as e:
        fn()
    assert e.value.status == status, e.value.message
    assert CJK.search(e.value.message) and "_" not in e.value.message, e.value.message
    return e.value.message


def rows_by(svc, list_id):
    return {(r["credit_code"], r["measure_id"]): r for r in svc.rows(list_id, masked_account=False)}


def payment_file(tmp_path, lines, name="拨付.xlsx"):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["统一社会信用代码", "措施/项目", "拨付金额（元）", "拨付日期", "凭证号"])
    for line in lines:
        ws.append(line)
    path = tmp_path / name
    wb.save(path)
    return read_payments(path)


def walk_to_public(svc):
    lid = svc.open_list(OFFICER, "job1", "2024Q4", COUNTY, AWARDS)
    rows = rows_by(svc, lid)
    svc.exclude(OFFICER, rows[(C, "m2")]["id"], "企业已迁出本县区")
    svc.adjust(OFFICER, rows[(B, "m1")]["id"], "250000.00", "展位费发票核减")
    svc.approve(OFFICER, lid, "同意")
    svc.publish(OFFICER, lid, "柳州市柳南区工业和信息化局", "张三 0772-1234567", 5)
    return lid, rows


def test_open_list_takes_only_the_countys_awards_above_zero(svc):
    lid = svc.open_list(OFFICER, "job1", "2024Q4", COUNTY, AWARDS)
    assert set(rows_by(svc, lid)) == {(A, "m1"), (B, "m1"), (C, "m2")}
    assert svc.open_list(OFFICER, "job1", "2024Q4", COUNTY, AWARDS) == lid  # idempotent
    refused(lambda: svc.open_list(OTHER_OFFICER, "job1", "2024Q4", COUNTY, AWARDS), 403)
    refused(lambda: svc.open_list(ENT_A, "job1", "2024Q4", COUNTY, AWARDS), 403)


def test_adjustment_only_lowers_the_amount(svc):
    lid = svc.open_list(OFFICER, "job1", "2024Q4", COUNTY, AWARDS)
    row = rows_by(svc, lid)[(A, "m1")]
    msg = refused(lambda: svc.adjust(OFFICER, row["id"], "18400.26", "多给一分"), 422)
    assert "只能调减" in msg
    refused(lambda: svc.adjust(OFFICER, row["id"], "0", "归零"), 422)
    refused(lambda: svc.adjust(OFFICER, row["id"], "100.001", "精度"), 422)
    refused(lambda: svc.adjust(OFFICER, row["id"], "100", ""), 422)  # a reason is required
    svc.adjust(OFFICER, row["id"], "18400.25", "核对无误")  # equal to the computed award is allowed
    svc.adjust(OFFICER, row["id"], "10000", "核减")
    after = rows_by(svc, lid)[(A, "m1")]
    assert after["amount_fen"] == 1_000_000 and after["computed_fen"] == 1_840_025 and after["adjusted"]
    assert after["review_reason"] == "核减"
    refused(lambda: svc.adjust(OTHER_OFFICER, row["id"], "1", "外县"), 403)


def test_exclusion_needs_a_reason_and_can_be_restored(svc):
    lid = svc.open_list(OFFICER, "job1", "2024Q4", COUNTY, AWARDS)
    rid = rows_by(svc, lid)[(A, "m1")]["id"]
    assert "剔除原因" in refused(lambda: svc.exclude(OFFICER, rid, "  "), 422)
    svc.exclude(OFFICER, rid, "重复申报")
    refused(lambda: svc.exclude(OFFICER, rid, "再剔除"), 409)
    refused(lambda: svc.adjust(OFFICER, rid, "1", "调整已剔除的行"), 409)
    svc.restore(OFFICER, rid, "误操作")
    assert rows_by(svc, lid)[(A, "m1")]["state"] == P.ROW_PENDING
    assert [e[1] for e in svc.log] == ["兑现名单生成", "兑现剔除", "兑现恢复"]  # refusals leave no entry
    assert svc.log[2][3] == {"credit_code": A, "measure_id": "m1", "reason": "误操作", "from": "已剔除", "to": "待复核"}


def test_invalid_transitions_are_refused_in_chinese(svc):
    lid = svc.open_list(OFFICER, "job1", "2024Q4", COUNTY, AWARDS)
    rows = rows_by(svc, lid)
    a = rows[(A, "m1")]["id"]
    refused(lambda: svc.publish(OFFICER, lid, "局", "电话", 5), 409)  # not approved yet
    refused(lambda: svc.decide(ENT_A, a, True, "工行", "6222020200112233"), 409)  # not published
    svc.approve(OFFICER, lid)
    refused(lambda: svc.approve(OFFICER, lid), 409)
    refused(lambda: svc.exclude(OFFICER, a, "批准后剔除"), 409)  # the list is closed for review
    refused(lambda: svc.publish(OFFICER, lid, "局", "电话", 3), 422)  # fewer than 5 working days
    svc.publish(OFFICER, lid, "局", "电话", 5)
    refused(lambda: svc.publish(OFFICER, lid, "局", "电话", 5), 409)
    refused(lambda: svc.decide(ENT_B, a, True, "工行", "6222020200112233"), 403)  # not its own row
    refused(lambda: svc.decide(OFFICER, a, True, "工行", "6222020200112233"), 403)
    refused(lambda: svc.decide(ENT_A, a, True, "工行", "12ab"), 422)
    svc.decide(ENT_A, a, True, "工行柳州分行", "6222 0202 0011 2233")
    refused(lambda: svc.decide(ENT_A, a, False), 409)  # decided once


def test_publicity_window_counts_working_days_and_holidays():
    """2024-09-30 (Mon) + 5 working days: 国庆 1–7 Oct are holidays, so the window (30 Sep, 8–11 Oct) ends on 2024-10-11."""
    assert P.add_workdays(date(2024, 9, 30), 5) == date(2024, 10, 11)
    assert P.add_workdays(date(2024, 12, 2), 5) == date(2024, 12, 6)
    assert not P.is_workday(date(2024, 10, 1)) and P.is_workday(date(2024, 10, 12))  # 调休 Saturday


def test_masks():
    assert P.mask_credit_code("91450204MA5KXXXX1Y") == "914502**********1Y"
    assert P.mask_account("6222020200112233") == "************2233"


def test_whole_loop_with_audit_for_every_transition_and_totals(svc, tmp_path):
    lid, rows = walk_to_public(svc)
    a, b = rows[(A, "m1")]["id"], rows[(B, "m1")]["id"]
    public = svc.public_rows(lid)
    assert {r["name"] for r in public} == {"甲公司", "乙公司"}  # 剔除 is not shown
    assert {r["name"]: r["amount_wan"] for r in public} == {"甲公司": "1.84", "乙公司": "25.00"}
    info = svc.list_info(lid)
    assert (info["publicity_start"], info["publicity_end"]) == (date(2024, 12, 2), date(2024, 12, 6))

    # an objection during the 公示, resolved by keeping the row
    oid = svc.object(OFFICER, b, "李四", "13800000000", "乙公司展会未实际参展")
    svc.decide(ENT_A, a, True, "工行柳州分行", "6222020200112233")
    svc.decide(ENT_B, b, True, "农行", "6228480000000001")
    svc.today.d = date(2024, 12, 9)  # after the window
    refused(lambda: svc.object(OFFICER, a, "王五", None, "期满后"), 409)
    parsed = payment_file(tmp_path, [[A, "展会补助", "18400.25", "2024-12-10", "V1"],
                                     [B, "m1", "250000", "2024-12-10", "V2"]])
    out = svc.record_payments(OFFICER, lid, parsed)
    assert not out["ok"] and any("异议" in p[5] for p in out["problems"])  # open objection: nothing written
    assert all(r["state"] == P.ROW_CONFIRMED for r in svc.rows(lid, [P.ROW_CONFIRMED]))
    refused(lambda: svc.resolve(OTHER_OFFICER, oid, "维持", "外县"), 403)
    refused(lambda: svc.resolve(OFFICER, oid, "作废", "?"), 422)
    svc.resolve(OFFICER, oid, "维持", "核实已参展，异议不成立")
    out = svc.record_payments(OFFICER, lid, parsed)
    assert out["ok"] and out["written"] == 2, out

    report = svc.report(OFFICER, "job1")
    t = report["total"]
    assert t["computed_fen"] == 1_840_025 + 30_000_000 + 50_000_000 and t["removed_fen"] == 50_000_000
    assert t["approved_fen"] == t["confirmed_fen"] == t["paid_fen"] == 1_840_025 + 25_000_000
    assert t["paid_n"] == 2 and report["by_measure"]["m2"]["removed_n"] == 1
    refused(lambda: svc.report(ENT_A), 403)
    assert svc.report(OTHER_OFFICER)["total"]["computed_n"] == 0  # another county sees nothing of this one

    actions = [e[1] for e in svc.log]
    assert actions == ["兑现名单生成", "兑现剔除", "兑现调整", "兑现批准", "兑现公示", "兑现异议", "兑现意愿确认",
                       "兑现意愿确认", "兑现异议处理", "兑现拨付"]
    assert svc.log[1][3]["reason"] == "企业已迁出本县区"
    assert "6222020200112233" not in str(svc.log)  # the account is logged masked


def test_payment_file_all_or_nothing_with_row_and_column(svc, tmp_path):
    lid, rows = walk_to_public(svc)
    svc.decide(ENT_A, rows[(A, "m1")]["id"], True, "工行", "6222020200112233")
    svc.today.d = date(2024, 12, 9)
    parsed = payment_file(tmp_path, [
        [A, "展会补助", "18400.25", "2024-12-10", "V1"],  # good
        [B, "展会补助", "250000", "2024-12-10", "V2"],  # not confirmed yet
        [C, "技改奖励", "500000", "2024-12-10", "V3"],  # 剔除
        ["91450204XXXXXXXXX1", "展会补助", "1", "2024-12-10", "V4"],  # bad code
        [A, "展会补助", "18400.256", "2024-13-01", ""],  # precision, date, empty voucher
    ])
    assert {(p[2], p[3]) for p in parsed.problems} >= {(5, "统一社会信用代码"), (6, "拨付金额（元）"), (6, "拨付日期"),
                                                      (6, "凭证号")}
    out = svc.record_payments(OFFICER, lid, parsed)
    assert not out["ok"] and out["written"] == 0
    where = {(p[2], p[3]) for p in out["problems"]}
    assert (3, "统一社会信用代码") in where and (4, "统一社会信用代码") in where
    assert rows_by(svc, lid)[(A, "m1")]["state"] == P.ROW_CONFIRMED  # the good row was not written either
    wrong = payment_file(tmp_path, [[A, "展会补助", "18400.24", "2024-12-10", "V1"]], "少一分.xlsx")
    out = svc.record_payments(OFFICER, lid, wrong)
    assert out["problems"][0][2:4] == (2, "拨付金额（元）") and "不一致" in out["problems"][0][5]
    missing = payment_file(tmp_path, [], "空.xlsx")
    assert missing.problems and CJK.search(missing.problems[0][5])


def test_payments_refused_before_the_publicity_ends(svc, tmp_path):
    lid, rows = walk_to_public(svc)
    svc.decide(ENT_A, rows[(A, "m1")]["id"], True, "工行", "6222020200112233")
    parsed = payment_file(tmp_path, [[A, "展会补助", "18400.25", "2024-12-10", "V1"]])
    assert "期满后" in refused(lambda: svc.record_payments(OFFICER, lid, parsed), 409)


def test_objection_upheld_removes_the_row_from_the_list(svc):
    lid, rows = walk_to_public(svc)
    a = rows[(A, "m1")]["id"]
    oid = svc.object(ENT_B, a, None, None, "甲公司未参加该展会")
    svc.resolve(OFFICER, oid, "剔除", "核实未参展")
    assert rows_by(svc, lid)[(A, "m1")]["state"] == P.ROW_REMOVED
    assert {r["name"] for r in svc.public_rows(lid)} == {"乙公司"}
    refused(lambda: svc.resolve(OFFICER, oid, "维持", "再处理"), 409)
    assert svc.report(OFFICER)["total"]["approved_fen"] == 25_000_000


def test_concurrent_approvals_on_postgresql_approve_once(postgres_url):
    """Eight officers' requests approving the same list at the same moment: the list is locked by each write
    (SELECT … FOR UPDATE), so exactly one approves and the others are told it is already approved."""
    import threading

    engine = sa.create_engine(postgres_url)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    log: list = []
    svc = PayoutService(engine, lambda actor, action, *a, **k: log.append(action), Clock(date(2024, 12, 2)))
    try:
        lid = svc.open_list(OFFICER, "job1", "2024Q4", COUNTY, AWARDS)
        barrier = threading.Barrier(8)
        outcomes: list = []

        def approve():
            barrier.wait()
            try:
                svc.approve(OFFICER, lid, "同意")
                outcomes.append("ok")
            except PayoutError as e:
                outcomes.append(e.status)

        threads = [threading.Thread(target=approve) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(outcomes, key=str) == [409] * 7 + ["ok"], outcomes
        assert log.count("兑现批准") == 1
    finally:
        metadata.drop_all(engine)
        engine.dispose()
