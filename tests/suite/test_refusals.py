"""A refusal changes nothing (checks/precondition.py, and the keeper's verifications): a server that checks
after it writes answers every request rightly and changes the group anyway. huawei reads the group again
and fails it; strict cannot observe it, and says which refusals went unverified instead of passing them.
"""

from __future__ import annotations

from conformance.results import Verdict
from conformance.spec import load_requirements

from .model import variant
from .test_catalogue import run_suite, verdicts


def test_a_refused_stop_that_paused_a_group_in_another_status_fails_on_huawei() -> None:
    result = run_suite(variant(huawei=True, validate_after_write=True), huawei=True, timeout=0.5)
    (refusals,) = [c for c in result.checks if c.check == "refusal-unchanged"]
    assert refusals.verdict is Verdict.FAIL
    failures = [f for f in refusals.failures if f.requirement == "STOP-REFUSAL-UNCHANGED"]
    assert failures and "A refused stop changed a" in failures[0].title
    assert failures[0].evidence[0].method == "GET"  # the read that shows it
    assert verdicts(result)["STOP-PRECONDITION"] is Verdict.PASS  # every refusal itself was right


def test_on_strict_the_same_server_is_no_pass_for_those_refusals_but_a_list_of_them() -> None:
    result = run_suite(variant(validate_after_write=True), timeout=0.5)
    assert "STOP-REFUSAL-UNCHANGED" not in verdicts(result)  # not observable: not a requirement there
    (precondition,) = [c for c in result.checks if c.check == "precondition"]
    (note,) = [n for n in precondition.notes if "went unverified" in n]
    assert "completed-0 (completed)" in note and "waiting-0 (waiting)" in note
    assert "paused-0" not in note  # a paused group is what a wrongly taken stop makes of it anyway


def test_a_correct_server_passes_the_read_after_each_refusal() -> None:
    result = run_suite(variant(huawei=True), huawei=True)
    assert verdicts(result)["STOP-REFUSAL-UNCHANGED"] is Verdict.PASS
    assert result.complete(load_requirements())


def test_a_read_only_token_whose_403_paused_the_keeper_fails_on_huawei() -> None:
    result = run_suite(variant(huawei=True, authorise_after_write=True), huawei=True, timeout=0.5)
    (permission,) = [c for c in result.checks if c.check == "permission"]
    assert permission.verdict is Verdict.FAIL
    assert "changed the group's status" in permission.failures[0].title


def test_on_strict_a_403_that_paused_the_keeper_leaves_its_checks_inconclusive_with_the_reason() -> None:
    """The keeper's first valid stop is then refused: stale before the run, or paused by one of the
    refused requests - strict cannot tell which, and says so for each check that used it."""
    result = run_suite(variant(authorise_after_write=True), timeout=0.5)
    got = verdicts(result)
    assert got["STOP-PERMISSION"] is Verdict.INCONCLUSIVE
    assert not any(v is Verdict.FAIL for v in got.values())
    (permission,) = [c for c in result.checks if c.check == "permission"]
    assert "after a stop with a read-only token answered 400" in permission.inconclusive["STOP-PERMISSION"]
