"""The runner: selected checks against one target, answers through the response checks, a RunResult out.

It owns the things no single check should: the preflight that tells an unreachable target (exit 3) from a
non-conformant one, the safety guard, re-running failed checks before calling them failures (flaky),
stopping early when the target dies, and keeping what was found when the run is interrupted.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from conformance._version import __version__
from conformance.checks.base import Finding, Kind, NotRun, Sent
from conformance.checks.context import CheckContext
from conformance.checks.hang_budget import HangBudget, TargetStoppedAnswering, classify
from conformance.checks.oracles import temporary_and_unrepeatable
from conformance.checks.recorder import Recorder, requirement_of
from conformance.checks.registry import CheckKind, CheckSpec, Need, select
from conformance.errors import ConfigError, TargetUnreachable
from conformance.redact import Redactor, tampered
from conformance.results import CheckResult, Failure, RunResult, StopReason, Verdict
from conformance.runner.control import RunControl
from conformance.runner.preflight import CredentialVerdict, judge_credential
from conformance.runner.preflight import readonly_refused as readonly_refused_by
from conformance.runner.restore import restore_all
from conformance.spec import Profile, load_contract, load_requirements
from conformance.spec.paths import stop_path
from conformance.target import Project, Target
from conformance.transport import codings
from conformance.transport.http import Client, HttpResult, Outcome
from conformance.transport.safety import SafetyGuard

if TYPE_CHECKING:
    import httpx

MAX_FAILURES_PER_TITLE = 3  # similar failures are counted, not repeated
DEAD_AFTER = 5  # consecutive connection failures that mean the target went away
DEFAULT_CONCURRENCY = 4  # measured on 2 cores: see docs/benchmarks.md


@dataclass
class RunOptions:
    profile: str | None = None  # None: the target's
    checks: list[str] = field(default_factory=list)
    exclude_checks: list[str] = field(default_factory=list)
    seed: int | None = None
    depth: str = "quick"
    max_examples: int | None = None  # fuzzing examples per mode; None: by depth
    request_timeout: float = 10.0
    reruns: int = 1
    # How long a status read after a stop or start may take to agree (checks/lag.py); None: the target's.
    settle_timeout: float | None = None
    # How long a pause must have held when effect-lasts looks again; None: its default (1 s).
    # The suite's own tests shorten it for models whose pauses do not revert.
    effect_hold: float | None = None
    transport: httpx.AsyncBaseTransport | None = None  # in-process targets (tests)
    verify: bool | str = True
    run_id: str = ""  # "" = derived from profile, base URL and project (reports.reproduce.default_run_id)
    restore: bool = False  # resume the groups the run paused (huawei: the start operation)
    race_width: int = 16  # concurrent stops of one group in the concurrency check
    rate_limit: float | None = None  # requests/s over every request of the run (transport/pace.py)
    concurrency: int = (
        DEFAULT_CONCURRENCY  # in flight, for checks of independent requests (checks/ordered.py)
    )


Progress = Callable[[str, CheckResult | None], None]
# Every answer a scenario check receives: (check, its requests so far, how many it plans if it knows,
# whether that plan may still grow).
Sending = Callable[[str, int, int | None, bool], None]


def secrets_of(target: Target) -> list[tuple[str, str]]:
    pairs = []
    for project, suffix in ((target.project, ""), (target.other_project, "_OTHER")):
        if project is None:
            continue
        if project.token:
            pairs.append((project.token, f"$OMS_TOKEN{suffix}"))
            pairs.append((tampered(project.token), f"$OMS_TOKEN{suffix}_TAMPERED"))
        if project.readonly_token:
            pairs.append((project.readonly_token, f"$OMS_READONLY_TOKEN{suffix}"))
        if project.aksk:
            pairs.append((project.aksk.sk, f"$OMS_SK{suffix}"))
            if project.aksk.security_token:
                pairs.append((project.aksk.security_token, f"$OMS_SECURITY_TOKEN{suffix}"))
    for key, value in target.restore_secrets().items():  # the migration's keys, for `run --restore`
        pairs.append((value, f"$OMS_RESTORE_{key.upper()}"))
    return pairs


class _Run:
    def __init__(
        self,
        target: Target,
        options: RunOptions,
        checks: Sequence[CheckSpec],
        control: RunControl,
        progress: Progress | None,
        sending: Sending | None = None,
    ) -> None:
        self.target = target
        self.options = options
        self.control = control
        self.profile = Profile(options.profile or target.profile)
        if self.profile is Profile.STRICT and not target.project.token:
            raise ConfigError(
                "token: the strict profile authenticates with X-Auth-Token only (the page's one "
                "credential); give a token, or use profile huawei for AK/SK"
            )
        self.contract = load_contract(self.profile)
        if options.restore and not self.contract.has_start_operation:
            raise ConfigError(
                f"--restore: the {self.profile} profile has no start operation to resume a group; use "
                "profile huawei (the platform's), or resume the groups this run lists as paused by hand"
            )
        if options.restore and not target.restore:
            raise ConfigError(
                "restore: --restore needs the start operation's keys under `restore:` in the target file "
                "(dst_ak, dst_sk, and src_ak, src_sk unless the source is a URL list)"
            )
        self.catalogue = load_requirements()
        self.seed = options.seed if options.seed is not None else random.randrange(2**31)
        self.progress = progress or (lambda _name, _result: None)
        self.sending = sending
        self.running: str | None = None  # the scenario check under way, for ``sending``
        self.specs = [
            s for s in select(checks, options.checks, options.exclude_checks) if s.applies_to(self.profile)
        ]
        self.response_specs = [s for s in self.specs if s.kind is CheckKind.RESPONSE]
        self.response_findings: dict[str, list[tuple[Finding, str]]] = {
            s.name: [] for s in self.response_specs
        }
        self.response_seen: dict[str, int] = {s.name: 0 for s in self.response_specs}
        self.consecutive_failures = 0
        self.unjudged_codings: dict[str, int] = {}  # answers in a coding the client cannot undo, by coding
        self.unjudged_temporary = 0  # 502/503/504 to requests never repeated (checks/oracles.py)
        self.disabled: dict[Need, str] = {}  # needs the credential preflight took away, and why
        self.result = RunResult(
            tool_version=__version__,
            contract_version=str(self.contract.document["info"]["version"]),
            profile=self.profile,
            target=target.describe(),
            seed=self.seed,
            depth=options.depth,
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            run_id=options.run_id,
        )

    @property
    def settle_timeout(self) -> float:
        """The bound on re-reading a status after a write (checks/lag.py): the option's, else the target's."""
        option = self.options.settle_timeout
        return self.target.settle_timeout if option is None else option

    def on_answer(self, sent: Sent) -> None:
        if sent.result.body_unknown:
            self.unjudged_codings[sent.result.coding] = self.unjudged_codings.get(sent.result.coding, 0) + 1
        if sent.result.outcome is Outcome.CONNECT_FAILED:
            self.consecutive_failures += 1
            if self.consecutive_failures >= DEAD_AFTER:
                raise _TargetDied(sent.result.error or "")
        else:
            self.consecutive_failures = 0
        recorder = self.context.recorder
        if self.sending is not None and self.running is not None and recorder.check == self.running:
            self.sending(self.running, recorder.requests, recorder.planned, recorder.planning)
        if temporary_and_unrepeatable(sent):
            self.unjudged_temporary += 1
            return  # "try again later", and it never will be: no response check may judge it
        for spec in self.response_specs:
            self.response_seen[spec.name] += 1
            finding = spec.fn(self.context, sent)
            if finding is None:
                continue
            requirement = requirement_of(spec.name, spec.requirements, finding.requirement)
            self.response_findings[spec.name].append(
                (replace(finding, requirement=requirement, sent=sent), sent.check)
            )

    async def preflight(self, client: Client, hangs: HangBudget) -> None:
        """One request without a credential: a target that does not answer is unreachable, not failing.
        Answered, it is the request the hang budget sends again to tell a dead target from one that hangs
        on some kinds of request only (checks/hang_budget.py)."""
        guard = SafetyGuard(set(), self.seed)
        project_id = self.target.project.project_id

        def probe() -> Awaitable[HttpResult]:
            return client.send("PUT", stop_path(project_id, guard.mint()))

        answer = await probe()
        if answer.status is None and answer.error:
            raise TargetUnreachable(f"{self.target.base_url} did not answer: {answer.error}")
        hangs.probe = probe
        # Its class: a stop without credential of an unlisted group (every minted id is one).
        hangs.probe_class = classify(self.target, "PUT", Kind.STOP, stop_path(project_id, "-"), (), None)

    async def execute(self) -> RunResult:
        started = time.perf_counter()
        secrets = secrets_of(self.target)
        redactor = Redactor(secrets)
        client = Client(
            self.target.base_url,
            redactor,
            request_timeout=self.options.request_timeout,
            transport=self.options.transport,
            verify=self.options.verify,
            rate_limit=self.options.rate_limit,
            on_exchange=self.result.count_status,  # every exchange, judged or not: one request count
        )
        guard = SafetyGuard(self.target.listed_group_ids(), self.seed)
        self.hangs = HangBudget(self.options.request_timeout)
        self.context = CheckContext(
            target=self.target,
            contract=self.contract,
            client=client,
            guard=guard,
            seed=self.seed,
            depth=self.options.depth,
            on_answer=self.on_answer,
            settle_timeout=(
                self.target.settle_timeout
                if self.options.settle_timeout is None
                else self.options.settle_timeout
            ),
            max_examples=self.options.max_examples,
            race_width=self.options.race_width,
            concurrency=self.options.concurrency,
            hangs=self.hangs,
            effect_hold=self.options.effect_hold,
        )
        self.context.selected = frozenset(spec.name for spec in self.specs)
        try:
            await self.preflight(client, self.hangs)
            if await self.credentials_refused(client, guard):
                return self.result
            for spec in self.specs:
                if spec.kind is CheckKind.SCENARIO:
                    self.progress(spec.name, None)
                    self.running = spec.name
                    result = await self.run_scenario(spec)
                    self.running = None
                    self.result.checks.append(result)
                    self.progress(spec.name, result)
            if self.hangs.dead:  # found by a check that swallows what it meets (stateful)
                raise TargetStoppedAnswering(self.hangs.dead)
            await self._settle_remaining()
            if self.options.restore:
                paused = list(self.context.pool.paused)
                self.result.restored = await restore_all(client, self.target, paused)
        except TargetUnreachable as exc:
            # Still a result: nightly jobs keep a report saying the target was unreachable.
            self.result.stop_reason = StopReason.UNREACHABLE
            self.result.incomplete_reason = f"target unreachable: {exc.message}"
        except (_TargetDied, TargetStoppedAnswering) as exc:
            self.result.stop_reason = StopReason.TARGET_DIED
            self.result.incomplete_reason = f"the target stopped answering ({exc})"
        except asyncio.CancelledError:
            self.result.stop_reason = StopReason.INTERRUPTED
            self.result.incomplete_reason = self.control.interrupted_by or "interrupted"
        finally:
            await asyncio.shield(client.aclose())
            self._apply_late_verdicts()
            self.result.checks.extend(self._stopped_before())
            self.result.checks.extend(self.response_results())
            self.result.skipped_for_safety = guard.skipped
            self.result.stale_fixtures = list(self.context.pool.stale)
            self.result.paused_groups = list(self.context.pool.paused)
            retried = self.context.sender.transient[:20]
            self.result.notes += [f"retried and then answered: {t}" for t in retried]
            self.result.notes += self.context.lags.notes()
            self.result.notes += self._transport_notes(client)
            self.result.notes += self.hangs.notes()
            self.result.finished_at = datetime.now(UTC).isoformat(timespec="seconds")
            self.result.duration_s = round(time.perf_counter() - started, 3)
            requests = sum(self.result.status_counts.values())
            self.result.pace = client.pacer.used(self.options.concurrency, requests)
        return self.result

    def _transport_notes(self, client: Client) -> list[str]:
        """What HTTP did between the tool and the application that the report should show, not judge."""
        notes = []
        if client.reopened:
            notes.append(
                f"{client.reopened} requests met a kept-alive connection the server had closed (an idle "
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

    async def credentials_refused(self, client: Client, guard: SafetyGuard) -> bool:
        """Prove the target's credentials are accepted before any check (runner/preflight.py). A refused
        own credential ends the run as a configuration error; a refused other-project or read-only one
        disables the checks that need it."""
        can_read = self.contract.has_show_operation
        observe = self._observe_preflight
        own = await judge_credential(client, self.target.project, guard, can_read=can_read, observe=observe)
        # The reasons quote the server's error_msg, which may echo the credential: redact before keeping.
        redact = client.redactor.text
        if not own.accepted:
            self.result.stop_reason = StopReason.CREDENTIALS_REFUSED
            self.result.incomplete_reason = redact(f"the valid credential is refused: {own.reason}")
            return True
        # Independent of each other: asked together, so a target that hangs on both costs one timeout.
        other, readonly_refused = await asyncio.gather(
            self._judge_other(client, guard, can_read),
            readonly_refused_by(client, self.target.project, guard, self._observe_preflight),
        )
        self.result.notes += [redact(v.note) for v in (own, other) if v is not None and v.note]
        if other is not None and not other.accepted:
            self.disabled[Need.OTHER_PROJECT] = redact(
                f"other_project's credential is refused: {other.reason}"
            )
        if readonly_refused:
            self.disabled[Need.READONLY] = redact(readonly_refused)
        for reason in self.disabled.values():
            self.result.notes.append(reason)
        return False

    async def _judge_other(
        self, client: Client, guard: SafetyGuard, can_read: bool
    ) -> CredentialVerdict | None:
        other = self.target.other_project
        if other is None:
            return None
        return await judge_credential(
            client, other, guard, can_read=can_read, observe=self._observe_preflight
        )

    async def _observe_preflight(self, method: str, path: str, project: Project, result: HttpResult) -> None:
        """A preflight answer against the hang budget. One that never came is evidence like a check's (the
        class may be closed by it, so no check may send it again): it goes to the response checks."""
        kind = Kind.SHOW if method == "GET" else Kind.STOP
        cls = classify(self.target, method, kind, path, (), project)
        await self.hangs.observe(cls, result)
        if result.outcome is Outcome.TIMED_OUT:
            self.on_answer(Sent(method, path, kind, project.token, result, "preflight", False, str(cls)))

    async def _settle_remaining(self) -> None:
        """The keeper's deferred verifications; a class the run no longer sends leaves them undecided."""
        try:
            await self.context.settle_remaining()
        except NotRun as exc:
            self.context.pool.undecided(str(exc))

    def _apply_late_verdicts(self) -> None:
        """Verifications settled after their check finished (the strict keeper) join that check's result."""
        by_name = {c.check: c for c in self.result.checks}
        for check, requirement, why in self.context.pool.late_inconclusive:
            result = by_name.get(check)
            if result is None:
                continue
            result.inconclusive.setdefault(requirement, why)
            if result.verdict is Verdict.PASS:
                result.verdict = Verdict.INCONCLUSIVE

    async def run_scenario(self, spec: CheckSpec) -> CheckResult:
        missing = [need for need in spec.needs if not self._has(need)]
        if missing:
            reason = self.disabled.get(missing[0], missing[0].reason)
            return CheckResult(spec.name, spec.requirements, spec.description, Verdict.NOT_RUN, reason=reason)
        first = await self._attempt(spec)
        if first.verdict is not Verdict.FAIL:
            return first
        for attempt in range(self.options.reruns):
            again = await self._attempt(spec)
            if again.verdict is Verdict.PASS:
                first.verdict = Verdict.FLAKY
                first.reason = f"failed, then passed on re-run {attempt + 1}; both observations are kept"
                break
            if again.verdict is Verdict.NOT_RUN:
                first.notes.append(f"re-run not possible: {again.reason}")
                break
        return first

    async def _attempt(self, spec: CheckSpec) -> CheckResult:
        self.context.recorder = recorder = Recorder(spec.name, spec.requirements)
        started = time.perf_counter()
        reason = ""
        try:
            await spec.fn(self.context)
        except NotRun as exc:
            reason = str(exc)
        duration = round(time.perf_counter() - started, 3)
        failures = self._failures(spec.name, [(f, spec.name) for f in recorder.findings], recorder.notes)
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
        result = _check_result(spec, verdict, reason, failures, recorder.requests, recorder.notes, duration)
        result.inconclusive = dict(recorder.inconclusive)
        return result

    def _failures(self, check: str, findings: list[tuple[Finding, str]], notes: list[str]) -> list[Failure]:
        failures: list[Failure] = []
        per_title: dict[tuple[str, str], int] = {}
        for finding, origin in findings:
            key = (finding.requirement, finding.headline)
            per_title[key] = per_title.get(key, 0) + 1
            if per_title[key] > MAX_FAILURES_PER_TITLE:
                continue
            failures.append(
                Failure(
                    requirement=finding.requirement,
                    check=check,
                    title=finding.headline,
                    message=finding.text(seen_in=origin if origin != check else ""),
                    severity=self.catalogue[finding.requirement].severity,
                    evidence=[finding.sent.result.exchange] if finding.sent else [],
                    seed=self.seed,
                    cause=finding.template,
                    expected=finding.expectation,
                )
            )
        for (requirement, title), count in per_title.items():
            if count > MAX_FAILURES_PER_TITLE:
                notes.append(f"{count - MAX_FAILURES_PER_TITLE} more failures like '{title}' ({requirement})")
        return failures

    def _stopped_before(self) -> list[CheckResult]:
        """The selected scenario checks a run that stopped never finished, each saying that the run stopped,
        where, and why - so that every requirement they trace to says so too (not "no check traces to it")."""
        if self.result.finished:
            return []
        done = [c.check for c in self.result.checks]
        why = self.result.incomplete_reason or self.result.stop_reason.value
        where = (
            f"during {self.running}" if self.running else f"after {done[-1]}" if done else "at the preflight"
        )
        out = []
        for spec in self.specs:
            if spec.kind is not CheckKind.SCENARIO or spec.name in done:
                continue
            here = spec.name == self.running
            reason = f"the run stopped {'during this check' if here else where}: {why}"
            requests = self.context.recorder.requests if here else 0
            out.append(_check_result(spec, Verdict.NOT_RUN, reason, [], requests, []))
        return out

    def response_results(self) -> list[CheckResult]:
        results = []
        for spec in self.response_specs:
            notes: list[str] = []
            failures = self._failures(spec.name, self.response_findings[spec.name], notes)
            seen = self.response_seen[spec.name]
            if not seen:
                verdict, reason = Verdict.NOT_RUN, "no answers were received to judge"
            else:
                verdict, reason = (Verdict.FAIL if failures else Verdict.PASS), ""
            results.append(_check_result(spec, verdict, reason, failures, seen, notes))
        return results

    def _has(self, need: Need) -> bool:
        project = self.target.project
        if need in self.disabled:
            return False
        return {
            Need.FIXTURES: self.target.has_fixtures,
            Need.OTHER_PROJECT: self.target.other_project is not None,
            Need.SHOW: self.contract.has_show_operation,
            Need.AKSK: project.aksk is not None,
            Need.READONLY: project.readonly_token is not None,
            Need.RESTORE: bool(self.target.restore) and self.contract.has_start_operation,
        }[need]


def _check_result(
    spec: CheckSpec,
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


class _TargetDied(Exception):
    pass


async def execute(
    target: Target,
    options: RunOptions,
    progress: Progress | None = None,
    sending: Sending | None = None,
    *,
    checks: Sequence[CheckSpec] | None = None,
    control: RunControl | None = None,
) -> RunResult:
    """Run ``checks`` (None: the built-in suite, checks/suite.py), narrowed by the options' names to the
    profile's; ``control`` is how the caller stops the run and says why (runner/control.py), ``sending``
    receives every answer of a scenario check (live progress: cli/progress.py)."""
    if checks is None:
        from conformance.checks.suite import BUILTIN

        checks = tuple(BUILTIN)
    return await _Run(target, options, checks, control or RunControl(), progress, sending).execute()
