"""The runner: selected checks against one target, answers through the response checks, a RunResult out.

It owns the things no single check should, each in a module of its own job:

- options.py: what a run is asked to do; config.py: whether it can be done, and the secrets to redact;
- preflight.py: the request that tells an unreachable target (exit 3) from a non-conformant one, and the
  proof that the credentials are accepted;
- answers.py: every answer through the response checks, and a target that died found as it dies;
- verdicts.py: what a check recorded, as its result;
- lanes.py: which checks run side by side, and their results told in the suite's order;
- here: the order of it all - the checks in their lanes, a failed one re-run before it is called a failure
  (flaky), the run stopped early when the target dies, and what was found kept when it is interrupted.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from conformance.checks.machinery.base import Kind, NotRun, Sent
from conformance.checks.machinery.context import CheckContext
from conformance.checks.machinery.hang_budget import HangBudget, TargetStoppedAnswering, class_of
from conformance.checks.machinery.recorder import Recorder
from conformance.checks.machinery.registry import CheckEntry, CheckKind, Need, select
from conformance.errors import TargetUnreachable
from conformance.options import RunOptions
from conformance.redact import Redactor
from conformance.results import CheckResult, RunResult, StopReason, Verdict
from conformance.runner.answers import Answers, TargetDied
from conformance.runner.config import contract_for, secrets_of
from conformance.runner.control import RunControl
from conformance.runner.keeper_again import keeper_checks_again
from conformance.runner.lanes import CHAIN, InOrder, lane_of, side_by_side, split
from conformance.runner.preflight import judge_credentials, probe_reachable
from conformance.runner.restore import restore_all
from conformance.runner.verdicts import FailureBook, apply_late_verdicts, check_result, stopped_before
from conformance.spec import load_requirements
from conformance.target import Project, Target
from conformance.transport.http import Client, HttpResult, Outcome
from conformance.transport.safety import SafetyGuard

__all__ = ["execute"]

# A scenario check starting (None) and ending (its result).
Progress = Callable[[str, CheckResult | None], None]
# Every answer a scenario check receives: (check, its requests so far, how many it plans if it knows,
# whether that plan may still grow).
Sending = Callable[[str, int, int | None, bool], None]


class _Run:
    def __init__(
        self,
        target: Target,
        options: RunOptions,
        checks: Sequence[CheckEntry],
        control: RunControl,
        progress: Progress | None,
        sending: Sending | None = None,
    ) -> None:
        self.target = target
        self.options = options
        self.control = control
        self.contract = contract_for(target, options)
        self.profile = self.contract.profile
        # A seed of 31 random bits when none is given (os.urandom: the random module is not needed for one).
        self.seed = options.seed if options.seed is not None else int.from_bytes(os.urandom(4), "big") >> 1
        self.book = FailureBook(load_requirements(), self.seed)
        self.sending = sending
        self.specs = [
            s for s in select(checks, options.checks, options.exclude_checks) if s.applies_to(self.profile)
        ]
        self.told = InOrder(
            [s.name for s in self.specs if s.kind is CheckKind.SCENARIO],
            progress or (lambda _name, _result: None),
        )
        self.running: dict[str, Recorder] = {}  # the scenario checks under way: their attempts' recorders
        self.answers = Answers(self.specs)
        self.disabled: dict[Need, str] = {}  # needs the credential preflight took away, and why
        self.result = RunResult.begin(
            self.contract, target.describe(), seed=self.seed, depth=options.depth, run_id=options.run_id
        )

    def on_answer(self, sent: Sent) -> None:
        self.answers.judge(self.context, sent)
        recorder = self.context.recorder  # of the check whose task received the answer
        if self.sending is not None and recorder.check == self.told.shown:
            self.sending(recorder.check, recorder.requests, recorder.planned, recorder.planning)

    async def execute(self) -> RunResult:
        started = time.perf_counter()
        client = Client(
            self.target.base_url,
            Redactor(secrets_of(self.target)),
            request_timeout=self.options.request_timeout,
            transport=self.options.transport,
            verify=self.options.verify,
            rate_limit=self.options.rate_limit,
            client_certificate=self.target.client_certificate,
            on_exchange=self.result.count_status,  # every exchange, judged or not: one request count
            proxy=self.options.proxy if self.options.proxy is not None else self.target.proxy,
            proxy_source="--proxy" if self.options.proxy is not None else "the target file's proxy:",
        )
        # Every report says which way the requests went (transport/proxies.py).
        self.result.target["proxy"] = (
            f"{client.proxy.shown} ({client.proxy.source})" if client.proxy else "none"
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
            await probe_reachable(client, self.target, self.seed, self.hangs)
            if await self.credentials_refused(client, guard):
                return self.result
            chain, beside = split(self.specs, self.options.concurrency)
            if chain and beside:
                await side_by_side(
                    self._lane(chain, beside=True, settles=True), self._lane(beside, beside=True)
                )
            else:
                await self._lane(chain or beside, settles=True)
            if self.options.restore:
                paused = list(self.context.pool.paused)
                self.result.restored = await restore_all(client, self.target, paused)
        except TargetUnreachable as exc:
            # Still a result: nightly jobs keep a report saying the target was unreachable.
            self.result.stop_reason = StopReason.UNREACHABLE
            self.result.incomplete_reason = f"target unreachable: {exc.message}"
        except (TargetDied, TargetStoppedAnswering) as exc:
            self.result.stop_reason = StopReason.TARGET_DIED
            self.result.incomplete_reason = f"the target stopped answering ({exc})"
        except asyncio.CancelledError:
            self.result.stop_reason = StopReason.INTERRUPTED
            self.result.incomplete_reason = self.control.interrupted_by or "interrupted"
        finally:
            await asyncio.shield(client.aclose())
            self._finish(client, guard, started)
        return self.result

    async def _lane(self, specs: list[CheckEntry], *, beside: bool = False, settles: bool = False) -> None:
        """``specs`` one after another, each in its lane (runner/lanes.py); ``beside``: another lane runs at
        the same time; ``settles``: this lane holds the keeper, whose deferred verifications it settles at
        its end."""
        preferred = beside and settles
        if preferred:
            self.context.in_flight.prefer()  # the keeper's chain bounds the run: its requests go first
        for spec in specs:
            self.told.started(spec.name)
            with self.context.in_lane(lane_of(spec)):
                result = await self.run_scenario(spec)
            self.running.pop(spec.name, None)
            self.told.finished(spec.name, result)
            if spec.name == "effect" and self.context.pool.stale_keeper:  # strict, a refused keeper
                await self._keeper_again()
        if self.hangs.dead:  # found by a check that swallows what it meets (stateful)
            raise TargetStoppedAnswering(self.hangs.dead)
        if settles:
            with self.context.in_lane(CHAIN):
                await self._settle_remaining()
        if preferred:
            self.context.in_flight.done_preferring()  # what is left of the other lane may use every slot

    async def _keeper_again(self) -> None:
        """The keeper's checks again on a fresh group, and its valid stop (runner/keeper_again.py)."""

        async def again(spec: CheckEntry) -> CheckResult:
            result = await self.run_scenario(spec)
            self.running.pop(spec.name, None)
            return result

        with self.context.in_lane(CHAIN):
            await keeper_checks_again(self.context, self.told.results, self.specs, again)
            await self._settle_remaining()

    def _finish(self, client: Client, guard: SafetyGuard, started: float) -> None:
        """What the run found, however it ended."""
        result, context = self.result, self.context
        result.checks += [self.told.results[s.name] for s in self.specs if s.name in self.told.results]
        apply_late_verdicts(result, context.pool.late_inconclusive)
        running = {name: recorder.requests for name, recorder in self.running.items()}
        result.checks.extend(stopped_before(result, self.specs, running))
        result.checks.extend(self.answers.results(self.book))
        result.skipped_for_safety = guard.skipped
        result.stale_fixtures = list(context.pool.stale)
        result.paused_groups = list(context.pool.paused)
        result.notes += [f"retried and then answered: {t}" for t in context.transient[:20]]
        result.notes += context.lags.notes()
        result.notes += self.answers.notes(client.reopened)
        result.notes += self.hangs.notes()
        result.finished_at = datetime.now(UTC).isoformat(timespec="seconds")
        result.duration_s = round(time.perf_counter() - started, 3)
        result.pace = client.pacer.used(self.options.concurrency, sum(result.status_counts.values()))

    async def credentials_refused(self, client: Client, guard: SafetyGuard) -> bool:
        """The credential preflight (runner/preflight.py): True when the run must end there."""
        judged = await judge_credentials(
            client,
            self.target,
            guard,
            can_read=self.contract.has_show_operation,
            observe=self._observe_preflight,
        )
        if judged.refused:
            self.result.stop_reason = StopReason.CREDENTIALS_REFUSED
            self.result.incomplete_reason = judged.refused
            return True
        self.disabled.update(judged.disabled)
        self.result.notes += judged.notes
        return False

    async def _observe_preflight(self, method: str, path: str, project: Project, result: HttpResult) -> None:
        """A preflight answer against the hang budget. One that never came is evidence like a check's (the
        class may be closed by it, so no check may send it again): it goes to the response checks."""
        kind = Kind.SHOW if method == "GET" else Kind.STOP
        cls = class_of(self.target, method, kind, path, (), project)
        await self.hangs.observe(cls, result)
        if result.outcome is Outcome.TIMED_OUT:
            self.on_answer(Sent(method, path, kind, project.token, result, "preflight", False, str(cls)))

    async def _settle_remaining(self) -> None:
        """The keeper's deferred verifications; a class the run no longer sends leaves them undecided."""
        try:
            await self.context.settle_remaining()
        except NotRun as exc:
            self.context.pool.undecided(str(exc))

    async def run_scenario(self, spec: CheckEntry) -> CheckResult:
        missing = [need for need in spec.needs if not self._has(need)]
        if missing:
            reason = self.disabled.get(missing[0], missing[0].reason)
            return check_result(spec, Verdict.NOT_RUN, reason, [], 0, [])
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

    async def _attempt(self, spec: CheckEntry) -> CheckResult:
        self.context.recorder = recorder = Recorder(spec.name, spec.requirements)
        self.running[spec.name] = recorder
        started = time.perf_counter()
        reason = ""
        try:
            await spec.fn(self.context)
        except NotRun as exc:
            reason = str(exc)
        return self.book.attempt(spec, recorder, reason, round(time.perf_counter() - started, 3))

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


async def execute(
    target: Target,
    options: RunOptions,
    progress: Progress | None = None,
    sending: Sending | None = None,
    *,
    checks: Sequence[CheckEntry] | None = None,
    control: RunControl | None = None,
) -> RunResult:
    """Run ``checks`` (None: the built-in suite, checks/suite.py), narrowed by the options' names to the
    profile's; ``control`` is how the caller stops the run and says why (runner/control.py), ``sending``
    receives every answer of a scenario check (live progress: cli/progress.py)."""
    if checks is None:
        from conformance.checks.suite import BUILTIN

        checks = tuple(BUILTIN)
    return await _Run(target, options, checks, control or RunControl(), progress, sending).execute()
