"""What one attempt of one check found: failures, inconclusive steps and notes, and how many requests it sent.

A check may only speak about the requirements it declares: recording any other is a programming error and
raises at once. (A finding under an undeclared requirement would otherwise vanish from the per-requirement
verdicts, and a run could report *conforms* while a check failed.)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from conformance.checks.base import Finding, Sent
from conformance.checks.oracles import TEMPORARY, describe_infrastructure


class UndeclaredRequirement(AssertionError):
    """A check recorded a finding under a requirement it does not declare."""


@dataclass
class Recorder:
    check: str
    requirements: tuple[str, ...]
    findings: list[Finding] = field(default_factory=list)
    inconclusive: dict[str, str] = field(default_factory=dict)  # requirement -> why it could not be decided
    notes: list[str] = field(default_factory=list)
    requests: int = 0
    planned: int | None = None  # requests the check means to send, when it knows (live progress)
    planning: bool = False  # ``planned`` is so far: more is still to be planned (time left is unknown)

    def _declared(self, requirement: str) -> None:
        if requirement not in self.requirements:
            raise UndeclaredRequirement(
                f"check {self.check!r} recorded {requirement!r}, which it does not declare "
                f"(declared: {', '.join(self.requirements)})"
            )

    def fail(self, requirement: str, title: str, message: str, sent: Sent | None = None) -> None:
        self._declared(requirement)
        self.findings.append(Finding(requirement, title, message, sent))

    def undecided(self, requirement: str, why: str) -> None:
        """The evidence for ``requirement`` was inconclusive (no answer, a stale fixture): not a failure."""
        self._declared(requirement)
        self.inconclusive.setdefault(requirement, why)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def expect(self, sent: Sent, requirement: str, allowed: Iterable[int], title: str, why: str = "") -> bool:
        """Fail ``requirement`` unless the answer's status is one of ``allowed``.

        An exchange that got no complete answer proves nothing about ``requirement`` (the robustness oracle
        judges it): the step is inconclusive for it, never a failure of it.
        """
        self._declared(requirement)
        allowed = sorted(set(allowed))
        result = sent.result
        if result.outcome.inconclusive:
            self.undecided(requirement, f"{sent.method} {sent.path}: {result.error}")
            return False
        if result.status == 429:
            # Throttled even after the transport's waits: the gateway said nothing about the request.
            self.undecided(requirement, f"{sent.method} {sent.path}: still throttled (429)")
            return False
        if (result.status or 0) >= 500 and (not sent.repeatable or result.status in TEMPORARY):
            # Never repeated (it may have paused a listed group), a 5xx says nothing about this requirement
            # (the robustness oracle judges it); nor does "try again later" (502/503/504) that outlasted the
            # retries. A 500 that stays a 500 is the server failing this very input: judged below.
            how = "not repeatable" if not sent.repeatable else "still so when asked again"
            self.undecided(requirement, f"{sent.method} {sent.path}: {result.status}, {how}")
            return False
        if result.status in allowed:
            return True
        # What in front of the application may have made the answer (a proxy's page, limit or rewritten path).
        message = (
            f"Received: {result.status}{describe_infrastructure(sent)}\n"
            f"Expected: {', '.join(map(str, allowed))}"
        )
        self.fail(requirement, title, message + (f"\nWhy: {why}" if why else ""), sent)
        return False
