"""One function judges an answer with the response checks (checks/judge.py), for the runner and the proxy
alike: what differs is a property of the answer (its kind, a status the client forced) or of the check
(``any_path``), never a check's name."""

from __future__ import annotations

from dataclasses import replace

from conformance.checks.machinery.base import Kind
from conformance.checks.machinery.judge import judge_answer
from conformance.checks.suite import BUILTIN
from conformance.proxy.rules import RequestHead, check_response
from conformance.spec import Profile, load_contract
from tests.unit.test_oracles import STRICT, TOKEN, error

ORACLES = BUILTIN.oracles(Profile.STRICT)


def requirements(sent: object) -> list[str]:
    return [finding.requirement for _, finding in judge_answer(ORACLES, STRICT, sent)]  # type: ignore[arg-type]


def test_the_proxy_judges_an_answer_outside_the_contract_only_by_the_checks_of_any_path() -> None:
    contract = load_contract(Profile.STRICT)
    head = RequestHead("GET", b"/health", Kind.OTHER, TOKEN)
    echoing = error(500, {"error_code": "X", "error_msg": TOKEN})
    assert {"STOP-ROBUST", "STOP-NO-ECHO"} <= set(requirements(echoing))
    found = check_response(contract, head, echoing.result, [TOKEN], request_timeout=10.0)
    assert [f.requirement for f in found] == ["STOP-NO-ECHO"]


def test_a_status_the_client_forced_is_not_the_server_failing() -> None:
    failing = error(503)
    assert "STOP-ROBUST" in requirements(failing)
    assert "STOP-ROBUST" not in requirements(replace(failing, forced_status=503))
    assert "STOP-ROBUST" in requirements(replace(failing, forced_status=500)), "only the status it asked for"


def test_each_finding_names_its_requirement_and_carries_its_answer() -> None:
    sent = error(500)
    for spec, finding in judge_answer(ORACLES, STRICT, sent):
        assert finding.requirement in spec.requirements
        assert finding.sent is sent
