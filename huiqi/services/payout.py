"""The payout loop (issue 10 item 3): after the screening's award list, per-row review → approval of a 县区's
list → 公示 with objections → the enterprise's 意愿确认 and bank account → 拨付 records from the treasury's file
→ a report of approved vs confirmed vs paid.

States are kept in the database (huiqi.data.payout_tables); every transition is one transaction that also writes
an audit entry through the ``audit`` callable the caller gives (the web application's audit log). Refusals are
:class:`PayoutError` with a Chinese message and an HTTP-like status (the web layer shows them as they are).

List states:  复核中 → 已批准 → 公示中
Row states:   待复核 → 已剔除 (reason) · 待复核 → 已批准 (with the list) → 已确认 | 已放弃 (the enterprise)
              已确认 → 已拨付 (treasury file) · 已批准/已确认 → 已剔除 (an objection upheld)
An adjustment (调整) keeps the row 待复核 and may only lower the amount: never above the computed award, never 0
(that is a 剔除). Rules chosen where the issue leaves room are PAYOUT-n in docs/decisions.md.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Callable, Iterable, Protocol

import sqlalchemy as sa

from huiqi.core import bounds, money
from huiqi.data.payment_file import PaymentFile
from huiqi.data.payout_tables import payout_lists as L, payout_objections as O, payout_rows as R

LIST_REVIEW, LIST_APPROVED, LIST_PUBLIC = "复核中", "已批准", "公示中"
ROW_PENDING, ROW_REMOVED, ROW_APPROVED, ROW_CONFIRMED, ROW_DECLINED, ROW_PAID = (
    "待复核", "已剔除", "已批准", "已确认", "已放弃", "已拨付")
OBJ_OPEN, OBJ_DONE = "待处理", "已处理"
OUTCOMES = ("维持", "剔除")
# every row transition the service performs, (from, to): anything else is refused
TRANSITIONS = {
    (ROW_PENDING, ROW_REMOVED), (ROW_REMOVED, ROW_PENDING), (ROW_PENDING, ROW_PENDING),  # 剔除 / 恢复 / 调整
    (ROW_PENDING, ROW_APPROVED),  # with the list's approval
    (ROW_APPROVED, ROW_CONFIRMED), (ROW_APPROVED, ROW_DECLINED),  # 意愿确认
    (ROW_APPROVED, ROW_REMOVED), (ROW_CONFIRMED, ROW_REMOVED),  # an objection upheld
    (ROW_CONFIRMED, ROW_PAID),  # 拨付
}
APPROVED_STATES = (ROW_APPROVED, ROW_CONFIRMED, ROW_DECLINED, ROW_PAID)  # on the approved list (after 剔除)
PUBLICITY_DAYS = (5, 30)  # 公示期: at least 5 working days (PAYOUT-3)
REASON_MAX = 500


class PayoutError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class Actor(Protocol):  # the web's auth.User has these
    username: str
    role: str
    county_code: str | None
    credit_code: str | None
    display_name: str


Audit = Callable[..., None]  # audit(actor, action, target, detail, conn=conn)


def now() -> datetime:
    return datetime.now(timezone.utc)


def is_workday(d: date) -> bool:
    """A working day by the State Council's holiday arrangement (调休 included) where chinese_calendar knows the
    year; Monday–Friday otherwise (PAYOUT-4)."""
    try:
        import chinese_calendar

        return chinese_calendar.is_workday(d)
    except (NotImplementedError, ImportError):
        return d.weekday() < 5


def add_workdays(start: date, days: int) -> date:
    """The last day of a period of ``days`` working days beginning on ``start`` (a working day counts as day 1)."""
    d, n = start, 0
    while True:
        if is_workday(d):
            n += 1
            if n == days:
                return d
        d += timedelta(days=1)


def mask_credit_code(code: str) -> str:
    """91450204MA5KXXXXXX → 914502**********XX: the middle hidden on the public 公示 (PAYOUT-5)."""
    return code[:6] + "*" * (len(code) - 8) + code[-2:] if len(code) > 8 else code


def mask_account(account: str | None) -> str | None:
    if not account:
        return account
    digits = account.replace(" ", "")
    return "*" * max(len(digits) - 4, 0) + digits[-4:]


def _reason(text: str | None, what: str = "原因") -> str:
    text = (text or "").strip()
    if not text:
        raise PayoutError(422, f"请填写{what}")
    try:
        return bounds.check_text(text, REASON_MAX)
    except bounds.OutOfBounds as e:
        raise PayoutError(422, f"{what}{e}") from None


def _row_dict(r, masked_account: bool = True) -> dict:
    d = dict(r._mapping)
    d["computed_wan"] = money.wan_text(d["computed_fen"])
    d["amount_wan"] = money.wan_text(d["amount_fen"])
    d["amount_yuan"] = money.yuan_text(d["amount_fen"], grouping=True)
    d["computed_yuan"] = money.yuan_text(d["computed_fen"], grouping=True)
    d["paid_yuan"] = money.yuan_text(d["paid_fen"], grouping=True) if d["paid_fen"] is not None else None
    d["adjusted"] = d["amount_fen"] != d["computed_fen"]
    d["credit_code_masked"] = mask_credit_code(d["credit_code"])
    if masked_account:
        d["bank_account"] = mask_account(d["bank_account"])
    return d


@dataclass
class PayoutService:
    engine: sa.Engine
    audit: Audit
    today: Callable[[], date] = date.today  # injectable: the 公示 window depends on the date

    # ------------------------------------------------------------------------------------------ scope
    def _officer_scope(self, actor: Actor, county_code: str) -> None:
        if actor.role == "admin":
            return
        if actor.role == "officer" and actor.county_code == county_code:
            return
        if actor.role == "officer":
            raise PayoutError(403, "只能办理本县区的兑现名单")
        raise PayoutError(403, "无权办理：仅限工信部门工作人员")

    def _list(self, conn, list_id: int, lock: bool = False):
        """``lock``: every write locks its list first (SELECT … FOR UPDATE on PostgreSQL), so two officers or an
        officer and an enterprise acting on the same list at once are serialised and the second sees the first's
        state; SQLite serialises writers by itself."""
        q = sa.select(L).where(L.c.id == list_id)
        row = conn.execute(q.with_for_update() if lock else q).first()
        if row is None:
            raise PayoutError(404, "没有这份兑现名单")
        return row

    def _row(self, conn, row_id: int):
        row = conn.execute(sa.select(R).where(R.c.id == row_id)).first()
        if row is None:
            raise PayoutError(404, "没有这一行兑现记录")
        return row

    def _locked(self, conn, row_id: int):
        """(row, list) for a write: the list locked first, then the row read afresh."""
        lst = self._list(conn, self._row(conn, row_id).list_id, lock=True)
        return self._row(conn, row_id), lst

    @staticmethod
    def _move(row, to: str, what: str) -> None:
        if (row.state, to) not in TRANSITIONS:
            raise PayoutError(409, f"“{row.name}”的“{row.measure_name}”当前状态为{row.state}，不能{what}")

    # ---------------------------------------------------------------------------------------- lists
    def open_list(self, actor: Actor, job_id: str, period: str, county_code: str, awards: Iterable[dict]) -> int:
        """The county's list from a finished screening run (idempotent: an existing list is returned as it is).

        ``awards``: rows with credit_code, name, county_code, measure_id, measure_name, final_fen (only 符合 rows
        with an award above 0 are taken)."""
        self._officer_scope(actor, county_code)
        found = self.find_list(job_id, county_code)
        if found:
            return found
        try:
            return self._create_list(actor, job_id, period, county_code, awards)
        except sa.exc.IntegrityError:  # opened at the same moment by someone else: theirs is the list
            found = self.find_list(job_id, county_code)
            if found is None:
                raise
            return found

    def _create_list(self, actor: Actor, job_id: str, period: str, county_code: str, awards: Iterable[dict]) -> int:
        with self.engine.begin() as conn:
            at = now()
            list_id = conn.execute(L.insert().values(job_id=job_id, period=period, county_code=county_code,
                                                     state=LIST_REVIEW, created_by=actor.username, created_at=at)
                                   ).inserted_primary_key[0]
            rows = [dict(list_id=list_id, credit_code=a["credit_code"], name=a.get("name") or a["credit_code"],
                         county_code=county_code, measure_id=a["measure_id"],
                         measure_name=a.get("measure_name") or a["measure_id"], computed_fen=int(a["final_fen"]),
                         amount_fen=int(a["final_fen"]), state=ROW_PENDING)
                    for a in awards if a.get("county_code") == county_code and (a.get("final_fen") or 0) > 0]
            if rows:
                conn.execute(R.insert(), rows)
            self.audit(actor, "兑现名单生成", f"名单 {list_id}", {"job_id": job_id, "county_code": county_code,
                                                              "rows": len(rows),
                                                              "total_fen": sum(r["computed_fen"] for r in rows)},
                       conn=conn)
        return list_id

    def find_list(self, job_id: str, county_code: str) -> int | None:
        with self.engine.connect() as conn:
            found = conn.execute(sa.select(L.c.id).where(L.c.job_id == job_id, L.c.county_code == county_code)).first()
        return found.id if found else None

    def list_info(self, list_id: int) -> dict:
        with self.engine.connect() as conn:
            row = self._list(conn, list_id)
            objections = conn.execute(sa.select(sa.func.count()).select_from(O.join(R)).where(
                R.c.list_id == list_id, O.c.state == OBJ_OPEN)).scalar_one()
        d = dict(row._mapping)
        today = self.today()
        d["open_objections"] = objections
        d["publicity_over"] = bool(d["publicity_end"] and today > d["publicity_end"])
        d["publicity_open"] = bool(d["publicity_start"] and d["publicity_start"] <= today <= d["publicity_end"])
        d["stage"] = ("公示期满" if d["publicity_over"] else d["state"]) if d["state"] == LIST_PUBLIC else d["state"]
        return d

    def lists(self, actor: Actor | None = None, job_id: str | None = None, public: bool = False) -> list[dict]:
        q = sa.select(L.c.id).order_by(L.c.id.desc())
        if job_id:
            q = q.where(L.c.job_id == job_id)
        if public:
            q = q.where(L.c.state == LIST_PUBLIC)
        elif actor is not None and actor.role != "admin":
            q = q.where(L.c.county_code == (actor.county_code or "—"))
        with self.engine.connect() as conn:
            ids = conn.execute(q).scalars().all()
        return [self.list_info(i) for i in ids]

    def rows(self, list_id: int, states: Iterable[str] | None = None, masked_account: bool = True) -> list[dict]:
        q = sa.select(R).where(R.c.list_id == list_id).order_by(R.c.county_code, R.c.credit_code, R.c.measure_id)
        if states is not None:
            q = q.where(R.c.state.in_(list(states)))
        with self.engine.connect() as conn:
            out = [_row_dict(r, masked_account) for r in conn.execute(q).all()]
            objections = defaultdict(list)
            for o in conn.execute(sa.select(O).join(R).where(R.c.list_id == list_id).order_by(O.c.id)).all():
                objections[o.row_id].append(dict(o._mapping))
        for r in out:
            r["objections"] = objections.get(r["id"], [])
        return out

    def public_rows(self, list_id: int) -> list[dict]:
        """What the 公示 shows: the approved rows (剔除 ones are not), name, masked code, measure, amount."""
        info = self.list_info(list_id)
        if info["state"] != LIST_PUBLIC:
            raise PayoutError(404, "这份名单未在公示")
        return [{"id": r["id"], "name": r["name"], "credit_code_masked": r["credit_code_masked"],
                 "measure_name": r["measure_name"], "amount_wan": r["amount_wan"], "amount_fen": r["amount_fen"]}
                for r in self.rows(list_id, APPROVED_STATES)]

    def enterprise_rows(self, actor: Actor) -> list[dict]:
        """An enterprise's own rows on lists that are in 公示 (only these can be confirmed or declined)."""
        if actor.role != "enterprise" or not actor.credit_code:
            raise PayoutError(403, "仅限企业用户")
        q = (sa.select(R, L.c.period, L.c.publicity_start, L.c.publicity_end, L.c.issuer)
             .join(L, R.c.list_id == L.c.id)
             .where(R.c.credit_code == actor.credit_code, L.c.state == LIST_PUBLIC, R.c.state.in_(APPROVED_STATES))
             .order_by(L.c.id.desc(), R.c.measure_id))
        with self.engine.connect() as conn:
            return [_row_dict(r) for r in conn.execute(q).all()]

    # ------------------------------------------------------------------------------------------ review
    def _reviewable(self, conn, actor: Actor, row_id: int):
        row, lst = self._locked(conn, row_id)
        self._officer_scope(actor, lst.county_code)
        if lst.state != LIST_REVIEW:
            raise PayoutError(409, f"名单已{lst.state}，不能再修改；如需更正请通过公示异议处理")
        return row

    def exclude(self, actor: Actor, row_id: int, reason: str | None) -> None:
        reason = _reason(reason, "剔除原因")
        with self.engine.begin() as conn:
            row = self._reviewable(conn, actor, row_id)
            self._move(row, ROW_REMOVED, "剔除")
            conn.execute(R.update().where(R.c.id == row_id).values(state=ROW_REMOVED, review_reason=reason,
                                                                  reviewed_by=actor.username, reviewed_at=now()))
            self.audit(actor, "兑现剔除", f"名单 {row.list_id} 第{row_id}行",
                       {"credit_code": row.credit_code, "measure_id": row.measure_id, "reason": reason,
                        "amount_fen": row.amount_fen, "from": row.state, "to": ROW_REMOVED}, conn=conn)

    def restore(self, actor: Actor, row_id: int, reason: str | None) -> None:
        reason = _reason(reason, "恢复原因")
        with self.engine.begin() as conn:
            row = self._reviewable(conn, actor, row_id)
            if row.state != ROW_REMOVED:
                raise PayoutError(409, f"“{row.name}”的“{row.measure_name}”未被剔除，无需恢复")
            self._move(row, ROW_PENDING, "恢复")
            conn.execute(R.update().where(R.c.id == row_id).values(state=ROW_PENDING, review_reason=reason,
                                                                  reviewed_by=actor.username, reviewed_at=now()))
            self.audit(actor, "兑现恢复", f"名单 {row.list_id} 第{row_id}行",
                       {"credit_code": row.credit_code, "measure_id": row.measure_id, "reason": reason,
                        "from": row.state, "to": ROW_PENDING}, conn=conn)

    def adjust(self, actor: Actor, row_id: int, amount: str | int | None, reason: str | None) -> None:
        """调整: a new amount in 元 (text, exact to the 分) or 分 (int); only down from the computed award."""
        reason = _reason(reason, "调整原因")
        try:
            fen = amount if isinstance(amount, int) else money.parse_fen(amount, "元")
        except money.MoneyError as e:
            raise PayoutError(422, f"调整后金额：{e}") from None
        if fen is None:
            raise PayoutError(422, "请填写调整后金额（元）")
        with self.engine.begin() as conn:
            row = self._reviewable(conn, actor, row_id)
            if row.state != ROW_PENDING:
                raise PayoutError(409, f"“{row.name}”的“{row.measure_name}”当前状态为{row.state}，不能调整金额")
            if fen <= 0:
                raise PayoutError(422, "调整后金额应大于0；不予兑现请使用“剔除”")
            if fen > row.computed_fen:
                raise PayoutError(422, f"调整只能调减：调整后金额{money.yuan_text(fen, grouping=True)}元高于测算金额"
                                       f"{money.yuan_text(row.computed_fen, grouping=True)}元")
            conn.execute(R.update().where(R.c.id == row_id).values(amount_fen=fen, review_reason=reason,
                                                                  reviewed_by=actor.username, reviewed_at=now()))
            self.audit(actor, "兑现调整", f"名单 {row.list_id} 第{row_id}行",
                       {"credit_code": row.credit_code, "measure_id": row.measure_id, "reason": reason,
                        "old_fen": row.amount_fen, "new_fen": fen, "computed_fen": row.computed_fen}, conn=conn)

    def approve(self, actor: Actor, list_id: int, note: str | None = None) -> None:
        with self.engine.begin() as conn:
            lst = self._list(conn, list_id, lock=True)
            self._officer_scope(actor, lst.county_code)
            if lst.state != LIST_REVIEW:
                raise PayoutError(409, f"名单当前状态为{lst.state}，不能再次批准")
            pending = conn.execute(sa.select(R.c.id, R.c.amount_fen).where(R.c.list_id == list_id,
                                                                           R.c.state == ROW_PENDING)).all()
            conn.execute(R.update().where(R.c.list_id == list_id, R.c.state == ROW_PENDING).values(state=ROW_APPROVED))
            note = (note or "").strip() or None
            conn.execute(L.update().where(L.c.id == list_id).values(
                state=LIST_APPROVED, approved_by=actor.username, approved_at=now(),
                approval_note=bounds.check_text(note, REASON_MAX) if note else None))
            removed = conn.execute(sa.select(sa.func.count()).where(R.c.list_id == list_id,
                                                                    R.c.state == ROW_REMOVED)).scalar_one()
            self.audit(actor, "兑现批准", f"名单 {list_id}",
                       {"job_id": lst.job_id, "county_code": lst.county_code, "from": LIST_REVIEW,
                        "to": LIST_APPROVED, "approved_rows": len(pending), "removed_rows": removed,
                        "approved_fen": sum(r.amount_fen for r in pending), "note": note}, conn=conn)

    # --------------------------------------------------------------------------------------------- 公示
    def publish(self, actor: Actor, list_id: int, issuer: str | None, contact: str | None, days: int | str,
                start: date | str | None = None) -> None:
        issuer = _reason(issuer, "发布单位")
        contact = _reason(contact, "联系人及电话")
        try:
            days = int(days)
        except (TypeError, ValueError):
            raise PayoutError(422, "公示期应为工作日天数（整数）") from None
        if not PUBLICITY_DAYS[0] <= days <= PUBLICITY_DAYS[1]:
            raise PayoutError(422, f"公示期应为{PUBLICITY_DAYS[0]}至{PUBLICITY_DAYS[1]}个工作日")
        try:
            start = date.fromisoformat(start) if isinstance(start, str) and start else (start or self.today())
            bounds.check_date(start)
        except (ValueError, bounds.OutOfBounds):
            raise PayoutError(422, "公示开始日期应为 YYYY-MM-DD") from None
        if not is_workday(start):
            raise PayoutError(422, f"公示开始日期{start.isoformat()}不是工作日")
        end = add_workdays(start, days)
        with self.engine.begin() as conn:
            lst = self._list(conn, list_id, lock=True)
            self._officer_scope(actor, lst.county_code)
            if lst.state != LIST_APPROVED:
                raise PayoutError(409, f"名单当前状态为{lst.state}，须先批准才能公示" if lst.state == LIST_REVIEW
                                  else f"名单当前状态为{lst.state}，不能重复公示")
            conn.execute(L.update().where(L.c.id == list_id).values(
                state=LIST_PUBLIC, issuer=issuer, contact=contact, publicity_days=days, publicity_start=start,
                publicity_end=end, published_by=actor.username, published_at=now()))
            self.audit(actor, "兑现公示", f"名单 {list_id}",
                       {"from": LIST_APPROVED, "to": LIST_PUBLIC, "issuer": issuer, "days": days,
                        "start": start.isoformat(), "end": end.isoformat()}, conn=conn)

    def object(self, actor: Actor, row_id: int, raised_by: str | None, contact: str | None,
               content: str | None) -> int:
        """Record an objection against a row on the 公示 (an officer records one received by phone or letter; an
        enterprise user may raise one itself — PAYOUT-6)."""
        content = _reason(content, "异议内容")
        if actor.role == "enterprise":
            raised_by = raised_by or actor.display_name
        raised_by = _reason(raised_by, "异议人")
        contact = bounds.check_text((contact or "").strip(), 128) if contact else None
        with self.engine.begin() as conn:
            row, lst = self._locked(conn, row_id)
            if actor.role != "enterprise":
                self._officer_scope(actor, lst.county_code)
            if lst.state != LIST_PUBLIC or row.state not in APPROVED_STATES:
                raise PayoutError(409, "只能对公示中的名单提出异议")
            today = self.today()
            if not lst.publicity_start <= today <= lst.publicity_end:
                raise PayoutError(409, f"不在公示期内（{lst.publicity_start.isoformat()}至"
                                       f"{lst.publicity_end.isoformat()}），不能登记异议")
            oid = conn.execute(O.insert().values(row_id=row_id, raised_by=raised_by, contact=contact, content=content,
                                                 raised_at=now(), recorded_by=actor.username, state=OBJ_OPEN)
                               ).inserted_primary_key[0]
            self.audit(actor, "兑现异议", f"名单 {row.list_id} 第{row_id}行",
                       {"objection": oid, "raised_by": raised_by, "content": content,
                        "credit_code": row.credit_code, "measure_id": row.measure_id}, conn=conn)
        return oid

    def resolve(self, actor: Actor, objection_id: int, outcome: str, note: str | None) -> None:
        note = _reason(note, "处理意见")
        if outcome not in OUTCOMES:
            raise PayoutError(422, f"处理结果只能是：{'、'.join(OUTCOMES)}")
        with self.engine.begin() as conn:
            obj = conn.execute(sa.select(O).where(O.c.id == objection_id)).first()
            if obj is None:
                raise PayoutError(404, "没有这条异议")
            row, lst = self._locked(conn, obj.row_id)
            obj = conn.execute(sa.select(O).where(O.c.id == objection_id)).first()  # afresh, under the lock
            self._officer_scope(actor, lst.county_code)
            if obj.state != OBJ_OPEN:
                raise PayoutError(409, "这条异议已处理")
            at = now()
            if outcome == "剔除":
                self._move(row, ROW_REMOVED, "因异议剔除")
                conn.execute(R.update().where(R.c.id == row.id).values(
                    state=ROW_REMOVED, review_reason=f"公示异议成立：{note}", reviewed_by=actor.username,
                    reviewed_at=at))
            conn.execute(O.update().where(O.c.id == objection_id).values(
                state=OBJ_DONE, outcome=outcome, resolution=note, resolved_by=actor.username, resolved_at=at))
            self.audit(actor, "兑现异议处理", f"名单 {row.list_id} 第{row.id}行",
                       {"objection": objection_id, "outcome": outcome, "note": note, "from": row.state,
                        "to": ROW_REMOVED if outcome == "剔除" else row.state}, conn=conn)

    # ---------------------------------------------------------------------------------------- 意愿确认
    def decide(self, actor: Actor, row_id: int, accept: bool, bank_name: str | None = None,
               bank_account: str | None = None, reason: str | None = None) -> None:
        if actor.role != "enterprise":
            raise PayoutError(403, "意愿确认须由企业本身办理")
        values: dict = {}
        if accept:
            values["bank_name"] = _reason(bank_name, "开户行")
            account = re.sub(r"[\s-]", "", bank_account or "")
            if not re.fullmatch(r"\d{8,32}", account):
                raise PayoutError(422, "银行账号应为8至32位数字")
            values["bank_account"] = account
        else:
            values["decline_reason"] = bounds.check_text((reason or "").strip(), REASON_MAX) or None
        to = ROW_CONFIRMED if accept else ROW_DECLINED
        with self.engine.begin() as conn:
            row, lst = self._locked(conn, row_id)
            if row.credit_code != actor.credit_code:
                raise PayoutError(403, "只能确认本企业的兑现事项")
            if lst.state != LIST_PUBLIC or self.today() < lst.publicity_start:
                raise PayoutError(409, "名单尚未公示，暂不能确认")
            self._move(row, to, "确认" if accept else "放弃")
            conn.execute(R.update().where(R.c.id == row_id).values(state=to, decided_by=actor.username,
                                                                  decided_at=now(), **values))
            self.audit(actor, "兑现意愿确认", f"名单 {row.list_id} 第{row_id}行",
                       {"from": row.state, "to": to, "measure_id": row.measure_id,
                        "bank_name": values.get("bank_name"),
                        "bank_account": mask_account(values.get("bank_account")),
                        "reason": values.get("decline_reason")}, conn=conn)

    # --------------------------------------------------------------------------------------------- 拨付
    def record_payments(self, actor: Actor, list_id: int, parsed: PaymentFile) -> dict:
        """All or nothing: every payment must match a confirmed row of this list whose 公示 has ended without an
        open objection, for exactly its approved amount; otherwise nothing is written and every problem is
        returned with its row and column."""
        problems = list(parsed.problems)

        def bad(p, column, value, reason):
            problems.append((parsed.file, parsed.sheet, p.row, column, None if value is None else str(value), reason))

        with self.engine.begin() as conn:
            lst = self._list(conn, list_id, lock=True)
            self._officer_scope(actor, lst.county_code)
            if lst.state != LIST_PUBLIC:
                raise PayoutError(409, f"名单当前状态为{lst.state}，公示结束后才能登记拨付")
            if self.today() <= lst.publicity_end:
                raise PayoutError(409, f"公示期至{lst.publicity_end.isoformat()}结束，期满后才能登记拨付")
            rows = conn.execute(sa.select(R).where(R.c.list_id == list_id)).all()
            open_obj = set(conn.execute(sa.select(O.c.row_id).join(R).where(
                R.c.list_id == list_id, O.c.state == OBJ_OPEN)).scalars().all())
            by_key = {}
            for r in rows:
                by_key[(r.credit_code, r.measure_id)] = r
                by_key.setdefault((r.credit_code, r.measure_name), r)
            seen: dict[tuple, int] = {}
            vouchers: dict[str, int] = {}
            used = set(conn.execute(sa.select(R.c.voucher).where(R.c.voucher.is_not(None))).scalars().all())
            matched = []
            for p in parsed.payments:
                r = by_key.get((p.credit_code, p.measure))
                if r is None:
                    bad(p, "措施/项目", p.measure, "名单中没有该企业的这项措施（请核对信用代码和措施名称）")
                    continue
                if r.id in seen:
                    bad(p, "措施/项目", p.measure, f"与第{seen[r.id]}行重复")
                    continue
                seen[r.id] = p.row
                if p.voucher in vouchers or p.voucher in used:
                    where = f"第{vouchers[p.voucher]}行" if p.voucher in vouchers else "已登记的拨付"
                    bad(p, "凭证号", p.voucher, f"凭证号与{where}重复")
                    continue
                vouchers[p.voucher] = p.row
                if r.state != ROW_CONFIRMED:
                    why = {ROW_PAID: "已登记拨付", ROW_DECLINED: "企业已放弃", ROW_REMOVED: "已剔除",
                           ROW_APPROVED: "企业尚未确认", ROW_PENDING: "尚未批准"}.get(r.state, r.state)
                    bad(p, "统一社会信用代码", p.credit_code, f"“{r.name}”的“{r.measure_name}”{why}，不能拨付")
                    continue
                if r.id in open_obj:
                    bad(p, "统一社会信用代码", p.credit_code, f"“{r.name}”的“{r.measure_name}”有未处理的公示异议")
                    continue
                if p.amount_fen != r.amount_fen:
                    bad(p, "拨付金额（元）", money.yuan_text(p.amount_fen),
                        f"与批准金额{money.yuan_text(r.amount_fen, grouping=True)}元不一致")
                    continue
                if p.paid_on < lst.publicity_start:
                    bad(p, "拨付日期", p.paid_on.isoformat(), "拨付日期早于公示开始日期")
                    continue
                matched.append((p, r))
            if problems:
                return {"ok": False, "problems": problems, "written": 0}
            at = now()
            for p, r in matched:
                conn.execute(R.update().where(R.c.id == r.id).values(
                    state=ROW_PAID, paid_fen=p.amount_fen, paid_on=p.paid_on, voucher=p.voucher,
                    paid_recorded_by=actor.username, paid_recorded_at=at))
            self.audit(actor, "兑现拨付", f"名单 {list_id}",
                       {"file": parsed.file, "rows": len(matched), "from": ROW_CONFIRMED, "to": ROW_PAID,
                        "paid_fen": sum(p.amount_fen for p, _ in matched),
                        "vouchers": [p.voucher for p, _ in matched][:200]}, conn=conn)
        return {"ok": True, "problems": [], "written": len(matched),
                "paid_yuan": money.yuan_text(sum(p.amount_fen for p, _ in matched), grouping=True)}

    # -------------------------------------------------------------------------------------------- report
    def report(self, actor: Actor, job_id: str | None = None) -> dict:
        """Computed vs 剔除 vs approved vs confirmed vs paid, by 县区 and by measure (counts and 分)."""
        q = sa.select(R.c.county_code, R.c.measure_id, R.c.measure_name, R.c.state, R.c.computed_fen, R.c.amount_fen,
                      R.c.paid_fen).join(L, R.c.list_id == L.c.id)
        if job_id:
            q = q.where(L.c.job_id == job_id)
        if actor.role != "admin":
            if actor.role != "officer":
                raise PayoutError(403, "无权查看：仅限工信部门工作人员")
            q = q.where(L.c.county_code == actor.county_code)
        with self.engine.connect() as conn:
            data = conn.execute(q).all()

        def empty():
            return {k: 0 for k in ("computed_n", "computed_fen", "removed_n", "removed_fen", "approved_n",
                                   "approved_fen", "confirmed_n", "confirmed_fen", "declined_n", "declined_fen",
                                   "paid_n", "paid_fen")}

        by_county: dict = defaultdict(empty)
        by_measure: dict = defaultdict(empty)
        total = empty()
        names = {}
        for r in data:
            names[r.measure_id] = r.measure_name
            for acc in (by_county[r.county_code], by_measure[r.measure_id], total):
                acc["computed_n"] += 1
                acc["computed_fen"] += r.computed_fen
                if r.state == ROW_REMOVED:
                    acc["removed_n"] += 1
                    acc["removed_fen"] += r.computed_fen
                if r.state in APPROVED_STATES:
                    acc["approved_n"] += 1
                    acc["approved_fen"] += r.amount_fen
                if r.state in (ROW_CONFIRMED, ROW_PAID):
                    acc["confirmed_n"] += 1
                    acc["confirmed_fen"] += r.amount_fen
                if r.state == ROW_DECLINED:
                    acc["declined_n"] += 1
                    acc["declined_fen"] += r.amount_fen
                if r.state == ROW_PAID:
                    acc["paid_n"] += 1
                    acc["paid_fen"] += r.paid_fen or 0
        return {"by_county": dict(sorted(by_county.items())), "by_measure": dict(sorted(by_measure.items())),
                "total": total, "measure_names": names}
