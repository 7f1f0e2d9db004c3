"""Results are data: what the checks found, in a shape every report writer reads without parsing text.

    RunResult
     +-- checks: CheckResult        one per check that was selected (verdict, failures, counts)
     |    +-- failures: Failure     requirement, title, received, expected, why, cause, layer, severity,
     |                              evidence (Exchange), curl, seed
     +-- requirements()             the verdict per requirement, derived from the checks that trace to it

Everything in here is already redacted: the runner passes every Exchange through the Redactor before it is
stored, so writers can print any field as it is.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from conformance._version import __version__
from conformance.errors import ADVICE, ExitCode

if TYPE_CHECKING:
    from conformance.spec import Contract, Requirement


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NOT_RUN = "not_run"
    KNOWN_FAILURE = "known_failure"  # fails, but listed in an unexpired baseline entry
    FLAKY = "flaky"  # failed, then passed on a re-run (both observations kept)
    INCONCLUSIVE = "inconclusive"  # the evidence could not decide it (no answer, 5xx, stale fixture)


# How a requirement's verdict follows from its checks' verdicts: the first that any check has wins.
_PRECEDENCE = (
    Verdict.FAIL,
    Verdict.FLAKY,
    Verdict.KNOWN_FAILURE,
    Verdict.INCONCLUSIVE,
    Verdict.PASS,
    Verdict.NOT_RUN,
)
# Verdicts that leave a requirement unverified (for the check that has them).
_UNVERIFIED = (Verdict.NOT_RUN, Verdict.INCONCLUSIVE)


class StopReason(StrEnum):
    """Why a run ended. Only FINISHED runs give a verdict; the display text is ``incomplete_reason``."""

    FINISHED = "finished"
    INTERRUPTED = "interrupted"  # SIGINT / SIGTERM
    UNREACHABLE = "unreachable"  # nothing answered the preflight
    TARGET_DIED = "target_died"  # it stopped answering mid-run
    CREDENTIALS_REFUSED = "credentials_refused"  # the preflight showed the target's credential is refused
    NOT_STARTED = "not_started"  # the configuration (e.g. a bad baseline) stopped it before any request

    @property
    def exit_code(self) -> ExitCode:
        """The exit code of a run that ended so (a finished one's is its verdict's: OK or NON_CONFORMANT)."""
        return ENDINGS[self][0]

    @property
    def advice(self) -> str:
        """One line under the error of a run that ended so; "" where there is nothing to fix."""
        return ENDINGS[self][1]


# Each way a run ends: its exit code and the advice printed under its error. A signal's own exit code
# (130 SIGINT, 143 SIGTERM) is the CLI's to give: it knows which signal came.
ENDINGS: dict[StopReason, tuple[ExitCode, str]] = {
    StopReason.FINISHED: (ExitCode.OK, ""),
    StopReason.INTERRUPTED: (ExitCode.INTERRUPTED, ""),
    StopReason.UNREACHABLE: (ExitCode.UNREACHABLE, ADVICE["unreachable"]),
    StopReason.TARGET_DIED: (ExitCode.UNREACHABLE, ""),
    StopReason.CREDENTIALS_REFUSED: (ExitCode.USAGE, ADVICE["credentials"]),
    StopReason.NOT_STARTED: (ExitCode.USAGE, ADVICE["config"]),
}


class Headline(StrEnum):
    """The one phrase every output leads with (:meth:`RunResult.headline`)."""

    CONFORMS = "CONFORMS"
    CONFORMS_ON_WHAT_RAN = "CONFORMS ON WHAT RAN"
    DOES_NOT_CONFORM = "DOES NOT CONFORM"
    INCOMPLETE = "INCOMPLETE"


ANSWER_EXCERPT_CHARS = 160  # of an answer's body, in the lines a person reads first (Failure.text)


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
    error: str | None = None  # transport failure: timeout, reset, refused, ... (display text)
    curl: str = ""
    outcome: str = "answered"  # transport.http.Outcome: how the exchange ended
    # The body's Content-Encoding, undone before the excerpt was taken and before any check judged it
    # ("" for none); a coding that could not be undone says so.
    content_coding: str = ""
    # How the request was written when not in one write: a long head goes out with its last bytes held
    # back a moment, as a network delivers it (transport/h1.py write_request). "" for one write.
    written: str = ""

    def describe(self) -> str:
        outcome = f"{self.status}" if self.status is not None else f"no response ({self.error})"
        return f"{self.method} {self.url} -> {outcome}"

    def answer_lines(self) -> list[str]:
        """What a person needs to act on a failure: the answer's first bytes and a redirect's Location (the
        exchange is redacted: no secret appears)."""
        if self.status is None:
            return []
        headers = {k.lower(): v for k, v in self.response_headers.items()}
        body = self.response_body
        cut = " (cut off)" if len(body) > ANSWER_EXCERPT_CHARS or self.body_truncated else ""
        said = f"{body[:ANSWER_EXCERPT_CHARS]!r}{cut}" if body else "no body"
        lines = [f"Answer: {self.status}, {headers.get('content-type') or 'no content type'}, {said}"]
        if "location" in headers:
            lines.append(f"Location: {headers['location']}")
        return lines


# Which layer answered, when nothing tells (``Failure.layer``): the application, a named stack (nginx, a
# load balancer), the validating proxy itself - or this.
UNKNOWN_LAYER = "unknown"


@dataclass
class Failure:
    """One violation of one requirement, as fields - the same from the check that found it to every report
    (checks/machinery/base.py ``Finding.failure`` makes it). Writers render the fields (:meth:`text` is the
    one plain rendering); none parses text."""

    requirement: str
    check: str
    title: str  # the title with this input's values filled in
    severity: str  # "error" for MUST requirements, "warning" for SHOULD/MAY
    received: str = ""  # what came, with this input's values
    expected: str = ""  # what was expected, with this input's values
    why: str = ""  # the reason the contract gives
    expected_as: str = "Expected"  # the expected line's label ("Documented (strict)" for statuses)
    more: str = ""  # further lines (the stateful check's shortest failing program)
    seen_in: str = ""  # the check whose request it was found in, when another (response checks)
    # The stable fields the rollup groups by (reports/rollup.py): the title and the expectation without
    # per-input values. "" in runs written before findings had fields.
    cause: str = ""
    expectation: str = ""
    layer: str = UNKNOWN_LAYER  # which layer answered: application, a named stack, proxy, unknown
    evidence: list[Exchange] = field(default_factory=list)
    seed: int | None = None

    @property
    def curl(self) -> str:
        return self.evidence[0].curl if self.evidence else ""

    def text(self) -> str:
        """The fields as lines: "Received: ...", "Expected: ...", "Why: ...", further lines, who answered,
        where it was seen."""
        lines = [f"Received: {self.received}"] if self.received else []
        if self.expected:
            lines.append(f"{self.expected_as}: {self.expected}")
        if self.why:
            lines.append(f"Why: {self.why}")
        if self.more:
            lines.append(self.more)
        if self.evidence and self.received:  # (a run written before failures had fields keeps its text)
            lines += self.evidence[0].answer_lines()  # the answer's first bytes, a redirect's Location
        if self.layer != UNKNOWN_LAYER:
            lines.append(f"Answered by: {self.layer}")
        if self.seen_in:
            lines.append(f"Seen in: {self.seen_in}")
        return "\n".join(lines)


@dataclass
class CheckResult:
    check: str
    requirements: tuple[str, ...]
    description: str
    verdict: Verdict
    reason: str = ""  # why it was not run, why it is a known failure, what made it flaky
    failures: list[Failure] = field(default_factory=list)
    inconclusive: dict[str, str] = field(default_factory=dict)  # requirement -> why it was not decided
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
        return self.requirement.severity


def _verdict_for(check: CheckResult, requirement: str) -> Verdict:
    """A check's verdict as far as one of its requirements goes: failing (or flaky, or known) only through
    failures of that requirement; a check that failed for another requirement passed this one."""
    if check.verdict is Verdict.NOT_RUN:
        return Verdict.NOT_RUN
    if any(f.requirement == requirement for f in check.failures):
        return check.verdict
    if check.verdict is Verdict.FAIL and not check.failures:
        return Verdict.FAIL
    if requirement in check.inconclusive:
        return Verdict.INCONCLUSIVE
    return Verdict.PASS


@dataclass(frozen=True)
class Unverified:
    """A MUST requirement the run could not verify, and why."""

    requirement: str
    reason: str


@dataclass(frozen=True)
class Restored:
    """A group this run paused, and whether ``run --restore`` resumed it."""

    group_id: str
    ok: bool
    detail: str  # "status 2 again", or why not


@dataclass(frozen=True)
class StaleFixture:
    """A listed task group that was not in its listed status when the run came to use it."""

    group_id: str
    listed: str  # the status name the target file gives
    observed: str  # what was seen: "status 3 (paused)" or "refused as not pausable (inferred)"
    inferred: bool  # True where no read operation exists and staleness was inferred from a refusal


@dataclass(frozen=True)
class Throttled:
    """One 429 the run met (transport/pace.py waited it out and sent the request again, up to a limit)."""

    at_s: float  # seconds since the run's first request
    method: str
    url: str  # redacted
    retry_after: str | None  # the header as sent; None when the server sent none
    waited_s: float  # the pause it caused
    rate_after: float | None  # requests/s allowed after it; None: unlimited


@dataclass
class PaceUsed:
    """How fast the run sent: ``--rate-limit``, ``--concurrency`` and what throttling made of them."""

    rate_limit: float | None  # requests/s; None: no limit was set
    concurrency: int
    requests: int  # requests sent, retries included
    lowest_rate: float | None = None  # the lowest rate the 429 back-off set; None: never throttled
    final_rate: float | None = None  # the rate allowed at the end; None: unlimited
    throttled: list[Throttled] = field(default_factory=list)


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
    stop_reason: StopReason = StopReason.FINISHED
    incomplete_reason: str = ""  # display text for a run that did not finish
    checks: list[CheckResult] = field(default_factory=list)
    status_counts: dict[str, int] = field(default_factory=dict)  # "400" -> n, "error" -> transport errors
    latencies_ms: list[float] = field(default_factory=list)
    skipped_for_safety: int = 0  # generated requests the safety guard refused to send
    stale_fixtures: list[StaleFixture] = field(default_factory=list)
    paused_groups: list[str] = field(default_factory=list)  # listed groups this run paused
    restored: list[Restored] = field(default_factory=list)  # what run --restore resumed, or could not
    notes: list[str] = field(default_factory=list)  # run-level notes (credential preflight, transient errors)
    pace: PaceUsed | None = None  # None in runs written before pacing was recorded

    @classmethod
    def begin(
        cls,
        contract: Contract,
        target: dict[str, Any],
        *,
        seed: int,
        depth: str,
        started_at: str = "",
        **rest: Any,
    ) -> RunResult:
        """A result's header - the tool, the contract it judges by, the target - the one way it is made: for
        a run, for a run its configuration stopped before it started, and for a proxy session. ``started_at``
        defaults to now."""
        return cls(
            tool_version=__version__,
            contract_version=str(contract.document["info"]["version"]),
            profile=contract.profile,
            target=target,
            seed=seed,
            depth=depth,
            started_at=started_at or datetime.now(UTC).isoformat(timespec="seconds"),
            **rest,
        )

    @property
    def finished(self) -> bool:
        return self.stop_reason is StopReason.FINISHED

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
        return self.finished and not any(
            rv.verdict in (Verdict.FAIL, Verdict.FLAKY) and rv.requirement.level == "MUST"
            for rv in self.requirements(catalogue)
        )

    def unverified(self, catalogue: dict[str, Requirement]) -> list[Unverified]:
        """The applicable MUST requirements not fully verified: no check decided them, or a check that
        traces to them was not run or could not decide."""
        out = []
        for rv in self.requirements(catalogue):
            if rv.requirement.level != "MUST" or rv.verdict in (Verdict.FAIL, Verdict.FLAKY):
                continue
            linked = [c for c in self.checks if rv.requirement.id in c.requirements]
            reasons = []
            for check in linked:
                verdict = _verdict_for(check, rv.requirement.id)
                if verdict is Verdict.NOT_RUN:
                    reasons.append(f"{check.check} not run: {check.reason or 'not selected'}")
                elif verdict is Verdict.INCONCLUSIVE:
                    reasons.append(f"{check.check} inconclusive: {check.inconclusive[rv.requirement.id]}")
            if not linked:
                reasons.append("no selected check verifies it")
            if reasons:
                out.append(Unverified(rv.requirement.id, "; ".join(reasons)))
        return out

    def complete(self, catalogue: dict[str, Requirement]) -> bool:
        """The run finished and verified every applicable MUST requirement."""
        return self.finished and not self.unverified(catalogue)

    def headline(self, catalogue: dict[str, Requirement]) -> Headline:
        """The one phrase every output leads with."""
        if not self.finished:
            return Headline.INCOMPLETE
        if not self.conforms(catalogue):
            return Headline.DOES_NOT_CONFORM
        return Headline.CONFORMS if not self.unverified(catalogue) else Headline.CONFORMS_ON_WHAT_RAN

    def count_status(self, status: int | None, elapsed_ms: float) -> None:
        """One exchange ended: ``status`` None when nothing came back."""
        key = str(status) if status is not None else "error"
        self.status_counts[key] = self.status_counts.get(key, 0) + 1
        if status is not None:
            self.latencies_ms.append(elapsed_ms)

    def totals(self, catalogue: dict[str, Requirement]) -> dict[str, int]:
        """Requirement counts by verdict - the numbers every report format must agree on."""
        counts = Counter(rv.verdict.value for rv in self.requirements(catalogue))
        return {v.value: counts.get(v.value, 0) for v in Verdict}
