"""The OpenAPI spec against the running server (schemathesis): every /api operation, a bounded number of
generated requests each, logged in as the demo 县区 officer (the admin for admin-only operations, the enterprise
for its own); every response conforms to its declared schema and
status codes, no 5xx, and every error body is the one error model (schemas.ErrorBody).

The server is a real uvicorn process on a free loopback port with the test demo data (2,000 enterprises), its own
SQLite database and the login limits raised (schemathesis sends many wrong passwords)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi import checks as oc

from huiqi.interfaces.web.schemas import ErrorBody
from huiqi.interfaces.web.state import DEMO_PASSWORDS

CJK = re.compile(r"[\u4e00-\u9fff]")
OFFICER = "liunan"
MAX_EXAMPLES = int(os.environ.get("HUIQI_API_EXAMPLES", "12"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(demo_dir, tmp_path_factory):
    work = tmp_path_factory.mktemp("contract")
    port = _free_port()
    env = {**os.environ, "HUIQI_DB": f"sqlite:///{work / 'huiqi.db'}", "HUIQI_DATA": str(demo_dir),
           "HUIQI_WORK": str(work), "HUIQI_LOGIN_MAX_FAILURES": "100000", "HUIQI_LOGIN_MAX_FAILURES_PER_IP": "100000"}
    log = (work / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "huiqi.interfaces.web.app:app_from_env",
                             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[2])
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while True:
        try:
            if requests.get(f"{base}/healthz", timeout=2).ok:
                break
        except requests.ConnectionError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            raise RuntimeError("服务未启动：" + (work / "server.log").read_text(errors="replace")[-2000:])
        time.sleep(0.3)
    yield base, work / "server.log"
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def _login(base: str, username: str | None) -> tuple[requests.Session, dict]:
    s = requests.Session()
    token = s.get(f"{base}/api/csrf").json()["csrf_token"]
    if username is None:
        return s, {"X-CSRF-Token": token}
    r = s.post(f"{base}/api/login", json={"username": username, "password": DEMO_PASSWORDS[username]},
               headers={"X-CSRF-Token": token})
    assert r.status_code == 200, r.text
    return s, {"X-CSRF-Token": r.json()["csrf_token"]}


@pytest.fixture(scope="module")
def officer(server):
    return _login(server[0], OFFICER)


# operations only another role may call: run as that role, so that more than their 403 is checked
ROLE_OF = {("GET", "/api/users"): "admin", ("POST", "/api/users"): "admin", ("GET", "/api/audit"): "admin",
           ("POST", "/api/parameter-sets"): "admin", ("PUT", "/api/parameter-sets/{set_id}"): "admin",
           ("GET", "/api/payout/mine"): "qiye", ("POST", "/api/payout/rows/{row_id}/decision"): "qiye"}


@pytest.fixture(scope="module")
def sessions(server, officer) -> dict:
    return {OFFICER: officer, "admin": _login(server[0], "admin"), "qiye": _login(server[0], "qiye")}


@pytest.fixture(scope="module")
def real_ids(server, officer) -> dict[str, str]:
    """Existing resources, so that generated requests also reach them and not only 404s: a finished screening,
    a simulation ("last"), a document, clause, measure and enterprise of the officer's county."""
    base, (session, headers) = server[0], officer
    r = session.post(f"{base}/api/screenings", json={"period": "2024Q4"}, headers=headers)
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    deadline = time.time() + 180
    while session.get(f"{base}/api/screenings/{job_id}").json()["status"] not in ("已完成", "失败"):
        assert time.time() < deadline, "筛查超时"
        time.sleep(0.3)
    r = session.post(f"{base}/api/simulations", json={"period": "2024Q4"}, headers=headers)
    assert r.status_code == 200, r.text[:500]
    code = session.get(f"{base}/api/enterprises", params={"limit": 1}).json()["enterprises"][0]["credit_code"]
    # the county's 兑现名单 from that screening (opened from the 工作台 page; the API reads and changes it)
    r = session.post(f"{base}/workbench/jobs/{job_id}/payout", data={"county": ""}, headers=headers,
                     allow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    list_id = r.headers["location"].rsplit("/", 1)[1]
    rows = session.get(f"{base}/api/payout/lists/{list_id}").json()["rows"]
    assert rows, "柳南区在2024Q4没有符合的企业"
    return {"job_id": job_id, "sim_id": "last", "doc_id": "gx2024q4", "clause_id": "gx2024q4:6.21",
            "measure_id": "gx2024q4-21", "credit_code": code, "key": "positive", "set_id": "1",
            "list_id": list_id, "row_id": str(rows[0]["id"])}


@pytest.fixture(scope="module")
def api_schema(server):
    return schemathesis.openapi.from_url(f"{server[0]}/api/openapi.json")


def check_error_body(ctx, response, case):
    """Every 4xx/5xx of /api is the one error body, with a Chinese message."""
    if response.status_code < 400:
        return None
    body = response.json()
    ErrorBody.model_validate(body)
    assert CJK.search(body["error"]["message"]), body
    return None


def check_no_server_error(ctx, response, case):
    assert response.status_code < 500, (response.status_code, response.text[:500])
    return None


def _run_operation(op, mode, server, sessions, real_ids) -> None:
    role = ROLE_OF.get((op.method.upper(), op.path), OFFICER)

    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=op.as_strategy(generation_mode=mode), real=st.booleans())
    def run(case, real):
        if real and mode is GenerationMode.POSITIVE and case.path_parameters:  # half the cases: an existing one
            case.path_parameters = {k: real_ids.get(k, v) for k, v in case.path_parameters.items()}
        session, headers = sessions[role]
        if case.path == "/api/logout":  # would end the shared session: its own
            session, headers = _login(server[0], OFFICER)
        case.call_and_validate(session=session, headers=headers,
                               additional_checks=[check_error_body, check_no_server_error],
                               # a string the schema allows may still be refused by meaning (a period "abc", an
                               # unknown 措施): a 422 there is right, not a defect
                               excluded_checks=[oc.positive_data_acceptance])

    run()


def test_every_operation_conforms(api_schema, server, sessions, real_ids):
    """schemathesis's pytest plugin (from_fixture) does not run under pytest 9: one loop over the operations,
    every failure collected and reported together."""
    failures, operations = [], 0
    for result in api_schema.get_all_operations():
        op = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _run_operation(op, mode, server, sessions, real_ids)
            except Unsatisfiable:  # nothing to get wrong: an operation without parameters has no negative case
                assert mode is GenerationMode.NEGATIVE, op.path
            except (Exception, BaseExceptionGroup) as e:  # noqa: BLE001 - every operation's failure is reported, not only the first
                failures.append(f"{op.method.upper()} {op.path} [{mode.value}]: {str(e)[:1500]}")
    assert operations >= 54
    assert not failures, "\n\n".join(failures)
