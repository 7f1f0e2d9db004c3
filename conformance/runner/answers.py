"""Every answer of a run, as it arrives: whether the target is still there, whether its body can be judged,
and the response checks (checks/oracles.py, through checks/machinery/judge.py) that judge it - then their
results, and what the report should show of HTTP without judging it (run notes)."""

from __future__ import annotations

from collections.abc import Sequence

from conformance.checks.machinery.base import Finding, OracleContext, Sent
from conformance.checks.machinery.judge import judge_answer
from conformance.checks.machinery.registry import CheckEntry, CheckKind
from conformance.checks.oracles import temporary_and_unrepeatable
from conformance.results import CheckResult, Verdict
from conformance.runner.verdicts import FailureBook, check_result
from conformance.transport import codings
from conformance.transport.http import Outcome

DEAD_AFTER = 5  # consecutive connection failures that mean the target went away


class TargetDied(Exception):
    """``DEAD_AFTER`` connections in a row could not be made: the run ends (exit 3, with what it has)."""


class Answers:
    def __init__(self, specs: Sequence[CheckEntry]) -> None:
        self.response_specs = [s for s in specs if s.kind is CheckKind.RESPONSE]
        # Findings are kept in the order a sequential run would have met them: by the scenario whose answer
        # it was (the preflight's first, the keeper's settling last), then by that scenario's answers in turn
        # - not in the order answers of checks running side by side (runner/lanes.py) happened to arrive.
        self._rank = {s.name: n for n, s in enumerate(specs)} | {"preflight": -1}
        self._answers: dict[str, int] = {}  # answers judged so far, per scenario
        self.findings: dict[str, list[tuple[tuple[int, int], Finding, str]]] = {
            s.name: [] for s in self.response_specs
        }
        self.seen: dict[str, int] = {s.name: 0 for s in self.response_specs}
        self.consecutive_failures = 0
        self.unjudged_codings: dict[str, int] = {}  # answers in a coding the client cannot undo, by coding
        self.unjudged_temporary = 0  # 502/503/504 to requests never repeated (checks/oracles.py)

    def judge(self, context: OracleContext, sent: Sent) -> None:
        """One answer through every response check; raises TargetDied after too many failed connects."""
        if sent.result.body_unknown:
            self.unjudged_codings[sent.result.coding] = self.unjudged_codings.get(sent.result.coding, 0) + 1
        if sent.result.outcome is Outcome.CONNECT_FAILED:
            self.consecutive_failures += 1
            if self.consecutive_failures >= DEAD_AFTER:
                raise TargetDied(sent.result.error or "")
        else:
            self.consecutive_failures = 0
        if temporary_and_unrepeatable(sent):
            self.unjudged_temporary += 1
            return  # "try again later", and it never will be: no response check may judge it
        for spec in self.response_specs:
            self.seen[spec.name] += 1
        nth = self._answers[sent.check] = self._answers.get(sent.check, 0) + 1
        place = (self._rank.get(sent.check, len(self._rank)), nth)
        for spec, finding in judge_answer(self.response_specs, context, sent):
            self.findings[spec.name].append((place, finding, sent.check))

    def results(self, book: FailureBook) -> list[CheckResult]:
        """The response checks' results: a check that judged no answer was not run."""
        results = []
        for spec in self.response_specs:
            notes: list[str] = []
            found = sorted(self.findings[spec.name], key=lambda item: item[0])
            failures = book.failures(spec.name, [(finding, check) for _, finding, check in found], notes)
            seen = self.seen[spec.name]
            if not seen:
                verdict, reason = Verdict.NOT_RUN, "no answers were received to judge"
            else:
                verdict, reason = (Verdict.FAIL if failures else Verdict.PASS), ""
            results.append(check_result(spec, verdict, reason, failures, seen, notes))
        return results

    def notes(self, reopened: int) -> list[str]:
        """What HTTP did between the tool and the application that the report should show, not judge;
        ``reopened``: requests sent again after an idle close crossed them."""
        notes = []
        if reopened:
            notes.append(
                f"{reopened} requests met a kept-alive connection the server had closed (an idle "
                "close, RFC 9112 section 9.3.1) and were sent again on a new one; none could pause a group"
            )
        if self.unjudged_temporary:
            notes.append(
                f"{self.unjudged_temporary} requests that could have paused a listed group got 502/503/504 "
                "(try again later); they are never repeated, so those answers decide nothing"
            )
        for coding, count in sorted(self.unjudged_codings.items()):
            notes.append(
                f"{count} answers came with Content-Encoding {coding!r}, which the client did not ask for "
                f"and cannot undo (it accepts {codings.ACCEPT_ENCODING}): their bodies were not judged"
            )
        return notes
