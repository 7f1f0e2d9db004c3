"""The plugin's proxy fixture judges each side on its own: a client test that injects server faults on
purpose is not failed by the server's violations, and still is by its client's.

Finding reproduced here: such a test failed on the server-side violations unless it called
``take_violations()``, which also threw away the client violations it wanted to see.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from conformance.server.fixtures import default_fixtures
from tests.proxy.conftest import run_pytest_in

MAIN = default_fixtures().projects[0]
TOKEN = MAIN.tokens[0].token
STOP = f"/v2/{MAIN.project_id}/taskgroups/00000002-0000-4000-8000-000000000000/stop"
EMPTY = f"/v2/{MAIN.project_id}/taskgroups//stop"

CLIENT_TESTS = f"""
import httpx
import pytest

FAULTY = pytest.mark.parametrize(
    "oms_server_options", [{{"profile": "huawei", "faults": ["prefer", "malformed@1.0"]}}], indirect=True
)
AUTH = {{"X-Auth-Token": "{TOKEN}"}}


@FAULTY
def test_faults_on_purpose_need_no_take(oms_validating_proxy):
    answer = httpx.put(oms_validating_proxy.base_url + "{STOP}", headers=AUTH)
    assert answer.status_code == 200  # a body that is not JSON: the server's violation, expected here
    assert [v.side for v in oms_validating_proxy.violations] == ["server"]


@FAULTY
def test_client_mistake_under_faults_still_fails(oms_validating_proxy):
    httpx.put(oms_validating_proxy.base_url + "{EMPTY}", headers=AUTH)


@FAULTY
def test_take_one_side_keeps_the_other(oms_validating_proxy):
    httpx.put(oms_validating_proxy.base_url + "{EMPTY}", headers=AUTH)
    server = oms_validating_proxy.take_violations(side="server")
    assert [v.requirement for v in server] == ["STOP-ERROR-ENVELOPE"]
    client = oms_validating_proxy.take_violations(side="client")
    assert [v.requirement for v in client] == ["STOP-GROUP-LEN"]


def test_the_old_call_takes_both(oms_validating_proxy):
    httpx.put(oms_validating_proxy.base_url + "{EMPTY}", headers=AUTH)
    assert [v.requirement for v in oms_validating_proxy.take_violations()] == ["STOP-GROUP-LEN"]


def test_server_violations_fail_when_no_fault_was_asked_for(oms_validating_proxy):
    oms_validating_proxy.app.violations.append(FAKE_SERVER_VIOLATION())
"""

HELPER = """
from conformance.proxy import Violation
from conformance.results import Exchange, Failure


def FAKE_SERVER_VIOLATION():
    exchange = Exchange(method="PUT", url="u", request_headers={})
    failure = Failure("STOP-ROBUST", "proxy-response", "Server error 500", "error", received="500",
                      evidence=[exchange])
    return Violation("proxy-response", failure)
"""


def test_each_side_is_judged_on_its_own(tmp_path: Path) -> None:
    (tmp_path / "test_client.py").write_text(
        "from helper import FAKE_SERVER_VIOLATION\n" + textwrap.dedent(CLIENT_TESTS)
    )
    (tmp_path / "helper.py").write_text(textwrap.dedent(HELPER))
    output = run_pytest_in(tmp_path, pythonpath=tmp_path)
    assert "2 failed, 3 passed" in output, output
    assert "FAILED test_client.py::test_client_mistake_under_faults_still_fails" in output
    assert "FAILED test_client.py::test_server_violations_fail_when_no_fault_was_asked_for" in output
    assert "STOP-GROUP-LEN (client) group_id is empty" in output
