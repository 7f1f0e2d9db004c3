"""From what a check recorded to its result: the verdict of one attempt, failures as the reports keep them
(similar ones counted, not repeated), and the results of checks a stopped run never finished."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from conformance.checks.machinery.base import Finding
from conformance.checks.machinery.recorder import Recorder
from conformance.checks.machinery.registry import CheckEntry, CheckKind
from conformance.results import CheckResult, Failure, RunResult, Verdict
from conformance.spec import Requirement

MAX_FAILURES_PER_TITLE = 3  # similar failures are counted, not repeated


class FailureBook:
    """Turns findings into the run's failures: each with its requirement's severity and the run's seed."""

    def __init__(self, catalogue: Mapping[str, Requirement], seed: int) -> None:
        self.catalogue = catalogue
        self.seed = seed

    def failures(
        self, check: str, findings: Iterable[tuple[Finding, str]], notes: list[str]
    ) -> list[Failure]:
        """``findings``: (finding, the check whose request it was found in). Beyond MAX_FAILURES_PER_TITLE
        of one title, the rest are a note."""
        failures: list[Failure] = []
        per_title: dict[tuple[str, str], int] = {}
        for finding, origin in findings:
            key = (finding.requirement, finding.headline)
            per_title[key] = per_title.get(key, 0) + 1
            if per_title[key] > MAX_FAILURES_PER_TITLE:
                continue
            severity = self.catalogue[finding.requirement].severity
            seen_in = origin if origin != check else ""
            failures.append(finding.failure(check, severity, seed=self.seed, seen_in=seen_in))
        for (requirement, title), count in per_title.items():
            if count > MAX_FAILURES_PER_TITLE:
                notes.append(f"{count - MAX_FAILURES_PER_TITLE} more failures like '{title}' ({requirement})")
        return failures

    def attempt(self, spec: CheckEntry, recorder: Recorder, reason: str, duration_s: float) -> CheckResult:
        """One attempt of a scenario check: ``reason`` is why it ended early (NotRun), else ""."""
        failures = self.failures(spec.name, [(f, spec.name) for f in recorder.findings], recorder.notes)
        # A check that found failures before it ran out of fixtures still failed.
        if failures:
            verdict = Verdict.FAIL
        elif reason and recorder.requests == 0:
            verdict = Verdict.NOT_RUN
        elif reason:
            # It sent something, then could not go on: what it could not decide is inconclusive.
            for requirement in spec.requirements:
                recorder.undecided(requirement, reason)
            verdict = Verdict.INCONCLUSIVE
        elif recorder.requests == 0 and not recorder.inconclusive and not recorder.decided_by:
            # It sent nothing and found nothing: it decided nothing, which is never a pass.
            why = "it sent no request" + (f" ({recorder.notes[-1]})" if recorder.notes else "")
            for requirement in spec.requirements:
                recorder.undecided(requirement, why)
            verdict = Verdict.INCONCLUSIVE
        else:
            verdict = Verdict.INCONCLUSIVE if recorder.inconclusive else Verdict.PASS
        result = check_result(spec, verdict, reason, failures, recorder.requests, recorder.notes, duration_s)
        result.inconclusive = dict(recorder.inconclusive)
        return result


def check_result(
    spec: CheckEntry,
    verdict: Verdict,
    reason: str,
    failures: list[Failure],
    requests: int,
    notes: list[str],
    duration_s: float = 0.0,
) -> CheckResult:
    return CheckResult(
        spec.name,
        spec.requirements,
        spec.description,
        verdict,
        reason=reason,
        failures=failures,
        requests=requests,
        duration_s=duration_s,
        notes=notes,
    )


def stopped_before(
    result: RunResult, specs: Sequence[CheckEntry], running: Mapping[str, int]
) -> list[CheckResult]:
    """The selected scenario checks a run that stopped never finished, each saying that the run stopped,
    where, and why - so that every requirement they trace to says so too (not "no check traces to it").
    ``running``: the checks under way when it stopped (several run side by side: runner/lanes.py), with the
    requests each had sent."""
    if result.finished:
        return []
    done = [c.check for c in result.checks]
    why = result.incomplete_reason or result.stop_reason.value
    if running:
        where = "during " + " and ".join(running)
    else:
        where = f"after {done[-1]}" if done else "at the preflight"
    out = []
    for spec in specs:
        if spec.kind is not CheckKind.SCENARIO or spec.name in done:
            continue
        here = spec.name in running
        reason = f"the run stopped {'during this check' if here else where}: {why}"
        out.append(check_result(spec, Verdict.NOT_RUN, reason, [], running.get(spec.name, 0), []))
    return out


def apply_late_verdicts(result: RunResult, late: Iterable[tuple[str, str, str]]) -> None:
    """Verifications settled after their check finished (the strict keeper: (check, requirement, why))
    join that check's result."""
    by_name = {c.check: c for c in result.checks}
    for check, requirement, why in late:
        found = by_name.get(check)
        if found is None:
            continue
        found.inconclusive.setdefault(requirement, why)
        if found.verdict is Verdict.PASS:
            found.verdict = Verdict.INCONCLUSIVE
