"""Parameter-set saving and approvals are services (issue 11 item 3): called directly, with the store's engine,
they refuse and record exactly as the web routes do, and the store's methods hand over to them."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from huiqi.data.app_tables import approvals as approvals_table
from huiqi.interfaces.web.state import DEMO_COUNTY
from huiqi.services import approvals, parameter_sets
from huiqi.services.errors import Refused


def _audit_into(entries: list):
    return lambda action, target, detail, conn: entries.append((action, target, json.loads(json.dumps(detail))))


def test_approval_service_scopes_refuses_twice_and_audits(web):
    job = web.screening(web.client("admin"))
    officer, admin, firm = (web.state.user(u) for u in ("liunan", "admin", "qiye"))
    entries: list = []
    audit = _audit_into(entries)
    with pytest.raises(Refused) as e:
        approvals.approve(web.state.engine, officer, job["id"], web.other_county, None, web.state.county_names, audit)
    assert e.value.status == 403 and "本县区" in e.value.message
    with pytest.raises(Refused) as e:
        approvals.approve(web.state.engine, firm, job["id"], None, None, web.state.county_names, audit)
    assert e.value.status == 403
    with pytest.raises(Refused) as e:
        approvals.approve(web.state.engine, admin, job["id"], "999999", None, web.state.county_names, audit)
    assert e.value.status == 422 and "未知的县区代码" in e.value.message
    assert approvals.approve(web.state.engine, officer, job["id"], None, " 已核 ", web.state.county_names,
                             audit) == DEMO_COUNTY
    with pytest.raises(Refused) as e:
        approvals.approve(web.state.engine, officer, job["id"], None, None, web.state.county_names, audit)
    assert e.value.status == 409
    assert entries == [("审核", job["id"], {"scope": DEMO_COUNTY, "note": " 已核 "})]
    with web.state.engine.connect() as conn:
        row = conn.execute(sa.select(approvals_table).where(approvals_table.c.job_id == job["id"])).one()
    assert (row.scope, row.by, row.note) == (DEMO_COUNTY, "liunan", "已核")


def test_parameter_set_service_versions_and_records_changes(web):
    entries: list = []
    state = web.state
    set_id = parameter_sets.save(state.engine, state.ruleset, "admin", None, "服务测试方案", {}, None, "新建",
                                 False, _audit_into(entries))
    with pytest.raises(Refused) as e:
        parameter_sets.save(state.engine, state.ruleset, "admin", None, "服务测试方案", {}, None, None, False,
                            _audit_into(entries))
    assert e.value.status == 409
    with pytest.raises(Refused) as e:
        parameter_sets.save(state.engine, state.ruleset, "admin", 10_000, None, {}, None, None, False,
                            _audit_into(entries))
    assert e.value.status == 404
    parameter_sets.save(state.engine, state.ruleset, "admin", set_id, None, {}, "ranked", "改为按金额", False,
                        _audit_into(entries))
    saved = state.parameter_set(set_id)
    assert saved["version"] == 2 and saved["budget_policy"] == "ranked" and not saved["active"]
    assert saved["history"][0]["changes"] == [{"name": "budget_policy", "label": "超预算处理方式",
                                               "old": "pro_rata", "new": "ranked"}]
    assert [a for a, _t, _d in entries] == ["参数变更", "参数变更"] and entries[1][1] == f"参数方案 {set_id} 第2版"


def test_account_service_refuses_in_the_order_a_form_shows(web):
    from huiqi.interfaces.web.auth import ROLES
    from huiqi.services.accounts import check_new_user

    state = web.state

    def check(username="new_user", password="x" * 10, role="officer", county=DEMO_COUNTY, credit=None):
        return check_new_user(state.engine, username, password, role, county, credit, roles=ROLES,
                              county_names=state.county_names, enterprises=state.county_of)

    assert check(" new_user ") == "new_user"
    for kwargs, status, words in [({"username": "名 字"}, 422, "用户名"), ({"password": "short"}, 422, "密码"),
                                  ({"role": "root"}, 422, "角色"), ({"county": "999999"}, 422, "县区代码"),
                                  ({"role": "enterprise", "county": None, "credit": "X"}, 422, "统一社会信用代码"),
                                  ({"username": "liunan"}, 409, "已存在"),
                                  ({"username": "", "password": ""}, 422, "用户名")]:
        with pytest.raises(Refused) as e:
            check(**kwargs)
        assert (e.value.status, words in e.value.message) == (status, True), kwargs
