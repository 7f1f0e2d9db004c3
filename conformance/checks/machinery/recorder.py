"""What one attempt of one check found: failures, inconclusive steps and notes, and how many requests it sent.

A check may only speak about the requirements it declares: recording any other is a programming error and
raises at once. (A finding under an undeclared requirement would otherwise vanish from the per-requirement
verdicts, and a run could report *conforms* while a check failed.) A check that declares one requirement
never spells it again: its findings leave it out and :func:`requirement_of` takes it from the declaration.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from conformance.checks.machinery.base import Finding, Sent, Title
from conformance.checks.oracles import TEMPORARY, describe_infrastructure
from conformance.spec.paths import brief


class UndeclaredRequirement(AssertionError):
    """A check recorded a finding under a requirement it does not declare."""


def requirement_of(check: str, declared: tuple[str, ...], named: str) -> str:
    """The requirement a finding of ``check`` is about: the one it ``named``, else its only declared one."""
    if not named:
        if len(declared) == 1:
            return declared[0]
        raise UndeclaredRequirement(
            f"check {check!r} declares {', '.join(declared)}: a finding of it must name which one it is about"
        )
    if named not in declared:
        raise UndeclaredRequirement(
            f"check {check!r} recorded {named!r}, which it does not declare (declared: {', '.join(declared)})"
        )
    return named


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
    # The check that did this one's work, when it sent nothing because another had (the runner calls a
    # check that sent nothing inconclusive otherwise: it decided nothing).
    decided_by: str = ""

    def fail(self, finding: Finding) -> None:
        requirement = requirement_of(self.check, self.requirements, finding.requirement)
        self.findings.append(replace(finding, requirement=requirement))

    def undecided(self, requirement: str, why: str) -> None:
        """The evidence for ``requirement`` was inconclusive (no answer, a stale fixture): not a failure."""
        self.inconclusive.setdefault(requirement_of(self.check, self.requirements, requirement), why)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def expect(
        self, sent: Sent, allowed: Iterable[int], title: Title | str, why: str = "", *, requirement: str = ""
    ) -> bool:
        """Fail the requirement (the check's only one, or the one named) unless the answer's status is one of
        ``allowed``.

        An exchange that got no complete answer proves nothing about the requirement (the robustness oracle
        judges it): the step is inconclusive for it, never a failure of it.
        """
        requirement = requirement_of(self.check, self.requirements, requirement)
        allowed = sorted(set(allowed))
        result = sent.result
        if result.outcome.inconclusive:
            self.undecided(requirement, f"{sent.method} {brief(sent.path)}: {result.error}")
            return False
        if result.status == 429:
            # Throttled even after the transport's waits: the gateway said nothing about the request.
            self.undecided(requirement, f"{sent.method} {brief(sent.path)}: still throttled (429)")
            return False
        if (result.status or 0) >= 500 and (not sent.repeatable or result.status in TEMPORARY):
            # Never repeated (it may have paused a listed group), a 5xx says nothing about this requirement
            # (the robustness oracle judges it); nor does "try again later" (502/503/504) that outlasted the
            # retries. A 500 that stays a 500 is the server failing this very input: judged below.
            how = "not repeatable" if not sent.repeatable else "still so when asked again"
            self.undecided(requirement, f"{sent.method} {brief(sent.path)}: {result.status}, {how}")
            return False
        if result.status in allowed:
            return True
        # What in front of the application may have made the answer (a proxy's page, limit or rewritten path).
        received = f"{result.status}{describe_infrastructure(sent)}"
        expected = ", ".join(map(str, allowed))
        self.fail(Finding(title, received, expected, why, sent, requirement))
        return False
