"""The keeper's checks again on a fresh group (runner/keeper_again.py), the paths a whole run seldom takes:
nothing to run again, no fresh group left, and a re-run that could not run. Events only."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from conformance.checks.machinery.base import NotRun
from conformance.checks.machinery.context import CheckContext
from conformance.checks.machinery.registry import CheckEntry, CheckKind
from conformance.results import CheckResult, Failure, Verdict
from conformance.runner.keeper_again import keeper_checks_again


class _Pool:
    def __init__(self, fresh: str | None) -> None:
        self.stale_keeper: tuple[str, list[str]] | None = ("g-1", ["a", "b"])
        self.late_inconclusive = [("a", "R", "first attempt"), ("c", "R", "another check's")]
        self.fresh = fresh

    async def borrow_keeper(self) -> str:
        if self.fresh is None:
            raise NotRun("no listed group left")
        return self.fresh


def _entry(name: str) -> CheckEntry:
    return CheckEntry(name, ("R",), "", CheckKind.SCENARIO, None)


def _again(pool: _Pool, results: dict[str, CheckResult], answer: Verdict) -> list[str]:
    ran: list[str] = []

    async def run(spec: CheckEntry) -> CheckResult:
        ran.append(spec.name)
        if answer is Verdict.NOT_RUN:
            return CheckResult(spec.name, ("R",), "", answer, reason="no group")
        return CheckResult(spec.name, ("R",), "", answer, requests=3, duration_s=0.5, notes=["its own"])

    context = cast(CheckContext, type("Context", (), {"pool": pool})())
    asyncio.run(keeper_checks_again(context, results, [_entry("a"), _entry("b")], run))
    return ran


def _first(name: str, failed: bool = False) -> CheckResult:
    failures = [cast(Failure, object())] if failed else []
    return CheckResult(name, ("R",), "", Verdict.INCONCLUSIVE, failures=failures)


def test_a_rerun_decides_and_keeps_what_the_first_attempt_said() -> None:
    pool = _Pool("g-2")
    results = {"a": _first("a"), "b": _first("b", failed=True)}
    results["a"].notes.append("the other project's group o-1 was refused as not pausable")
    results["a"].inconclusive["Q"] = "no answer"
    results["a"].requests, results["a"].duration_s = 5, 0.25
    assert _again(pool, results, Verdict.PASS) == ["a"]  # a check that failed keeps its failure
    rerun = results["a"]
    # The re-run's verdict and late verdicts decide: the first attempt's undecided ones are gone.
    assert rerun.verdict is Verdict.PASS and rerun.inconclusive == {} and rerun.failures == []
    assert pool.late_inconclusive == [("c", "R", "another check's")] and pool.stale_keeper is None
    # What the first attempt established stays, after why it ran again, before the re-run's own notes.
    assert rerun.notes == [
        "run again on g-2: the shared group g-1 was refused as not pausable at its first valid stop "
        "(stale, or paused by these checks' requests: strict cannot tell which)",
        "first attempt, on g-1: the other project's group o-1 was refused as not pausable",
        "first attempt, on g-1, left Q undecided: no answer",
        "first attempt, on g-1, left R undecided: first attempt",
        "its own",
    ]
    # Each attempt's requests and time once: the re-run sent 3 (its recorder counted only those).
    assert (rerun.requests, rerun.duration_s) == (8, 0.75)


def test_nothing_to_run_again_runs_nothing() -> None:
    pool = _Pool("g-2")
    results: dict[str, Any] = {"a": _first("a", failed=True)}
    assert _again(pool, results, Verdict.PASS) == [] and results["a"].notes == []


def test_no_fresh_group_leaves_the_first_results_with_a_note() -> None:
    results = {"a": _first("a"), "b": _first("b")}
    assert _again(_Pool(None), results, Verdict.PASS) == []
    assert all("not run again on another group" in r.notes[0] for r in results.values())


def test_a_rerun_that_could_not_run_keeps_the_first_attempt() -> None:
    results = {"a": _first("a")}
    assert _again(_Pool("g-2"), results, Verdict.NOT_RUN) == ["a"]
    assert (
        results["a"].verdict is Verdict.INCONCLUSIVE
        and "not run again on g-2: no group" in results["a"].notes
    )
