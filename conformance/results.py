"""Results are data: what the checks found, in a shape every report writer reads without parsing text.

    RunResult
     +-- checks: CheckResult        one per check that was selected (verdict, failures, counts)
     |    +-- failures: Failure     requirement, title, message, severity, evidence (Exchange), curl, seed
     +-- requirements()             the verdict per requirement, derived from the checks that trace to it

Everything in here is already redacted: the runner passes every Exchange through the Redactor before it is
stored, so writers can print any field as it is.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from conformance.spec import Requirement


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NOT_RUN = "not_run"
    KNOWN_FAILURE = "known_failure"  # fails, but listed in an unexpired baseline entry
    FLAKY = "flaky"  # failed, then passed on a re-run (both observations kept)


# How a requirement's verdict follows from its checks' verdicts: the first that any check has wins.
_PRECEDENCE = (Verdict.FAIL, Verdict.FLAKY, Verdict.KNOWN_FAILURE, Verdict.PASS, Verdict.NOT_RUN)


@dataclass
class Exchange:
    """One request and what came back (or the transport error), redacted, bodies cut to an excerpt."""

    method: str
    url: str
    request_headers: dict[str, str]
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str = ""  # an excerpt; `body_truncated` says whether there was more
    body_truncated: bool = False
    elapsed_ms: float = 0.0
    error: str | None = None  # transport failure: timeout, reset, refused, ...
    curl: str = ""

    def describe(self) -> str:
        outcome = f"{self.status}" if self.status is not None else f"no response ({self.error})"
        return f"{self.method} {self.url} -> {outcome}"


@dataclass
class Failure:
    requirement: str
    check: str
    title: str
    message: str  # "Received: ...\nExpected: ..."
    severity: str  # "error" for MUST requirements, "warning" for SHOULD/MAY
    evidence: list[Exchange] = field(default_factory=list)
    seed: int | None = None

    @property
    def curl(self) -> str:
        return self.evidence[0].curl if self.evidence else ""


@dataclass
class CheckResult:
    check: str
    requirements: tuple[str, ...]
    description: str
    verdict: Verdict
    reason: str = ""  # why it was not run, why it is a known failure, what made it flaky
    failures: list[Failure] = field(default_factory=list)
    requests: int = 0
    duration_s: float = 0.0
    notes: list[str] = field(default_factory=list)  # where the contract is silent, said here


@dataclass
class RequirementVerdict:
    requirement: Requirement
    verdict: Verdict
    checks: list[str]
    failures: list[Failure]

    @property
    def severity(self) -> str:
        return "error" if self.requirement.level == "MUST" else "warning"


def _verdict_for(check: CheckResult, requirement: str) -> Verdict:
    """A check's verdict as far as one of its requirements goes: failing (or flaky, or known) only through
    failures of that requirement; a check that failed for another requirement passed this one."""
    if check.verdict is Verdict.NOT_RUN:
        return Verdict.NOT_RUN
    if any(f.requirement == requirement for f in check.failures):
        return check.verdict
    if check.verdict is Verdict.FAIL and not check.failures:
        return Verdict.FAIL
    return Verdict.PASS


@dataclass
class RunResult:
    tool_version: str
    contract_version: str
    profile: str
    target: dict[str, Any]
    seed: int
    depth: str
    started_at: str
    finished_at: str = ""
    duration_s: float = 0.0
    complete: bool = True
    incomplete_reason: str = ""
    checks: list[CheckResult] = field(default_factory=list)
    status_counts: dict[str, int] = field(default_factory=dict)  # "400" -> n, "error" -> transport errors
    latencies_ms: list[float] = field(default_factory=list)
    skipped_for_safety: int = 0  # generated requests the safety guard refused to send
    run_id: str = ""  # tells this run's target apart from others (SARIF automationDetails.id); "" = derived

    def requirements(self, catalogue: dict[str, Requirement]) -> list[RequirementVerdict]:
        """The verdict per applicable requirement, in catalogue order."""
        out = []
        for req in catalogue.values():
            if not req.applies_to(self.profile):
                continue
            linked = [c for c in self.checks if req.id in c.requirements]
            verdicts = {_verdict_for(c, req.id) for c in linked}
            verdict = next((v for v in _PRECEDENCE if v in verdicts), Verdict.NOT_RUN)
            own_failures = [f for c in linked for f in c.failures if f.requirement == req.id]
            out.append(RequirementVerdict(req, verdict, [c.check for c in linked], own_failures))
        return out

    def conforms(self, catalogue: dict[str, Requirement]) -> bool:
        """No MUST requirement fails (known failures and SHOULD findings do not fail the run)."""
        return self.complete and not any(
            rv.verdict in (Verdict.FAIL, Verdict.FLAKY) and rv.requirement.level == "MUST"
            for rv in self.requirements(catalogue)
        )

    def count_status(self, exchange: Exchange) -> None:
        key = str(exchange.status) if exchange.status is not None else "error"
        self.status_counts[key] = self.status_counts.get(key, 0) + 1
        if exchange.status is not None:
            self.latencies_ms.append(exchange.elapsed_ms)

    def totals(self, catalogue: dict[str, Requirement]) -> dict[str, int]:
        """Requirement counts by verdict - the numbers every report format must agree on."""
        counts = Counter(rv.verdict.value for rv in self.requirements(catalogue))
        return {v.value: counts.get(v.value, 0) for v in Verdict}
