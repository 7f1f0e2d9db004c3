"""The stateful check's session (checks/stateful.py): the model of two listed groups' statuses, the requests
that drive them held against it - each rule's stop, show and start, logged as curl lines for the replay - and
the budget of requests and time that bounds the check on a real account.

The rules run in Hypothesis' worker thread; :meth:`Session.run` submits each one's coroutine to the check's
event loop and waits for it, so every request still goes through the check's context (oracles, redaction,
pacing).
"""

from __future__ import annotations

import asyncio
import shlex
import time
from collections.abc import Collection, Coroutine
from dataclasses import dataclass, field
from typing import Any

from conformance.checks.machinery.base import Finding, Sent, Title
from conformance.checks.machinery.context import CheckContext, says_nothing, shown_status
from conformance.checks.machinery.lag import ANY_STATUS, Reading
from conformance.checks.machinery.shapes import ClientShape
from conformance.spec.documents import START_SUFFIX
from conformance.spec.statuses import COMPLETED, PAUSABLE_CODES, PAUSED, PAUSING
from conformance.target import RESTORE_PLAIN_KEYS

MAX_REQUESTS = 400  # over all programs and shrinking: bounded on a real account
SHRINK_REQUESTS = (
    150  # of those, at most this many after the first failure (shrinking has diminishing returns)
)
SHRINK_BOUNDS = 2  # after its first failure the check shrinks for at most this many settle timeouts
NAMES = ("A", "B")


class ModelViolation(AssertionError):
    """An answer the model does not allow: the finding, naming its requirement, what came and what was
    expected."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.headline)
        self.finding = finding


class Halt(Exception):
    """The target gave no usable answer: the run cannot be judged further (inconclusive, never a failure)."""


@dataclass
class Failed:
    violation: ModelViolation
    steps: list[str]


@dataclass
class Session:
    """What lasts across Hypothesis' programs: the loop to send on, the groups, the budget, the failures."""

    ctx: CheckContext
    loop: asyncio.AbstractEventLoop
    groups: tuple[str, str]
    requests: int = 0
    halted: str = ""
    failures: list[Failed] = field(default_factory=list)
    model: list[set[int]] = field(default_factory=list)
    cause: list[str] = field(default_factory=list)  # what last changed each group: "", "stop", "start"
    steps: list[str] = field(default_factory=list)  # the running program, as curl lines
    paused_by_us: set[int] = field(default_factory=set)  # groups a 200 stop paused and no 200 start resumed
    failed_at: int | None = None  # requests sent when the first failure was recorded
    deadline: float = float("inf")  # time.monotonic() when the check stops starting steps (time_budget)
    out_of_time: bool = False
    programs: int = 0
    dropped: int = 0  # steps not sent because the budget was spent (said in the result, never silently)
    opened: bool = False  # the fixed program ran to its end (every step sent and answered)
    stopping: bool = False  # the run is stopping (:meth:`halt_worker`): no step is sent any more
    # The task of the step in flight, which :meth:`halt_worker` cancels (both run in the loop's thread).
    step_task: asyncio.Task[None] | None = None

    @property
    def spent(self) -> bool:
        if self.stopping:
            return True
        if self.failed_at is not None and self.requests >= self.failed_at + SHRINK_REQUESTS:
            return True
        if time.monotonic() >= self.deadline:
            self.out_of_time = True
            return True
        return bool(self.halted) or self.requests >= MAX_REQUESTS

    def run(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run one step on the check's loop, from the worker thread; steps after the budget do nothing."""
        if self.spent:
            self.dropped += 1
            coroutine.close()
            return
        try:
            asyncio.run_coroutine_threadsafe(self._step_in_loop(coroutine), self.loop).result()
        except ModelViolation as violation:
            self.failures.append(Failed(violation, list(self.steps)))
            if self.failed_at is None:
                self.failed_at = self.requests
                shrink_until = time.monotonic() + SHRINK_BOUNDS * self.ctx.settle_timeout
                self.deadline = min(self.deadline, shrink_until)
            raise
        except Halt as halt:
            self.halted = str(halt)
        except Exception as exc:  # e.g. HangingClass: must not pass as a failure Hypothesis shrinks silently
            self.halted = f"{type(exc).__name__}: {exc}"

    async def _step_in_loop(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """One step, in the loop's thread, where :meth:`halt_worker` can cancel it. A step that reaches the
        loop after the stop is closed unsent (never left unawaited)."""
        if self.stopping:
            coroutine.close()
            raise Halt("the run stopped")
        self.step_task = asyncio.current_task()  # type: ignore[assignment]  # this coroutine's own task
        try:
            await coroutine
        finally:
            self.step_task = None

    def halt_worker(self) -> None:
        """The run is stopping (in the loop's thread): the step in flight is cancelled and no other is sent,
        so the worker thread's remaining steps are dropped at once and it ends."""
        self.stopping = True
        if self.step_task is not None:
            self.step_task.cancel()

    # -- requests, logged for the replay ---------------------------------------------------------------

    def _log(self, sent: Sent, label: str, body: bytes = b"") -> Sent:
        self._step(self._count(sent, label), label, body)
        return sent

    def _count(self, sent: Sent, label: str) -> Sent:
        self.requests += 1
        if says_nothing(sent.result):
            raise Halt(f"{label}: {sent.result.error or sent.result.status}")
        return sent

    def _step(self, sent: Sent, label: str, body: bytes = b"") -> None:
        curl = sent.result.exchange.curl
        if sent.method == "PUT" and sent.path.endswith(START_SUFFIX):
            curl += f" -d {start_body_placeholder(self.ctx)}"
        elif body:  # a stop sent with a body (machinery/shapes.py): it holds no secret
            curl += f" -d {shlex.quote(body.decode())}"
        self.steps.append(f"# {label}\n{curl}")

    async def status(
        self, i: int, label: str, agrees: Collection[int], passing: Collection[int] = ()
    ) -> tuple[int, Reading[Sent]]:
        """Show group ``i`` by the run's one rule for reads after writes (machinery/lag.py): read again while
        the status disagrees with ``agrees`` or is on its way there (``passing``), up to the settle timeout.
        The program logs the read once, with the reads it took: replaying it means reading until it agrees."""

        async def read() -> tuple[int | None, Sent]:
            shown = self._count(await self.ctx.show(self.groups[i]), label)
            status = shown_status(shown)
            if status is None:
                raise Halt(f"{label}: the show operation answered {shown.result.status}")
            return status, shown

        what = f"stateful: group {NAMES[i]} ({label})"
        reading = await self.ctx.reread(read, agrees, passing=passing, what=what)
        self._step(reading.answer, label if reading.reads == 1 else f"{label} ({reading.lag()})")
        assert reading.status is not None  # read() halts on a show without a status
        return reading.status, reading

    # -- the program's start and end -------------------------------------------------------------------

    async def begin(self) -> None:
        """Both groups pausable again (what an earlier program paused is started), read into the model."""
        known, self.model, self.cause = self.model, [], []
        self.programs += 1
        for i in range(2):
            # What the last program left: a group it paused is waited for until it shows paused.
            if i in self.paused_by_us:
                agrees, passing = expectation({PAUSING, PAUSED}, settle=True)
            else:
                agrees, passing = expectation(known[i], settle=True) if known else (ANY_STATUS, frozenset())
            status, _ = await self.status(i, f"read {NAMES[i]}", agrees, passing)
            # Started if it shows paused, or if an earlier program paused it and has not started it since:
            # the set-up must not rest on the very show the program may find wrong.
            if status == PAUSED or (i in self.paused_by_us and status != PAUSING):
                started = self._log(await self.ctx.start(self.groups[i]), f"start {NAMES[i]} (set-up)")
                if started.result.status == 200:
                    self.paused_by_us.discard(i)
                status, _ = await self.status(i, f"read {NAMES[i]}", PAUSABLE_CODES)
            self.model.append(model_of(status))
            self.cause.append("")
        shown = ", ".join(f"{NAMES[i]} shows {sorted(self.model[i])}" for i in range(2))
        self.steps = [f"# set-up: {shown}"]

    # -- the rules ---------------------------------------------------------------------------------------

    async def stop(self, i: int, shape: ClientShape | None = None) -> None:
        name, before = NAMES[i], self.model[i]
        label = f"stop {name}" + (f", sent as {shape.description}" if shape else "")
        sent = self._log(
            await self.ctx.stop(self.groups[i], shape=shape), label, shape.body if shape else b""
        )
        if before <= PAUSABLE_CODES:
            title = Title(
                "A stop of pausable group {group} did not answer 200{shape}",
                group=name,
                shape=f" ({shape.description})" if shape else "",
            )
            self._expect(sent, 200, "STOP-SUCCESS-200", title)
            self.model[i], self.cause[i] = {PAUSING, PAUSED}, "stop"
            self.paused_by_us.add(i)
            await self.other_unchanged(1 - i, f"the stop of {name}")
        else:
            title = Title("A stop of group {group} (not pausable) was not 400", group=name)
            self._expect(sent, 400, "STOP-PRECONDITION", title)

    async def other_unchanged(self, j: int, after: str) -> None:
        agrees, _ = expectation(self.model[j], settle=False)
        status, reading = await self.status(j, f"read {NAMES[j]}", agrees)
        if status == COMPLETED and self.model[j] <= PAUSABLE_CODES:
            raise Halt(f"group {NAMES[j]} completed during the check")  # a migration may finish: no fault
        if not reading.agrees:
            title = Title("{after} changed group {group}", after=after, group=NAMES[j])
            self._violate(reading, "STOP-EFFECT", title, agrees)

    async def show(self, i: int, *, settle: bool = False) -> None:
        """Read group ``i`` against the model; with ``settle`` a pausing group is read until it is paused."""
        agrees, passing = expectation(self.model[i], settle=settle)
        status, reading = await self.status(i, f"read {NAMES[i]}", agrees, passing)
        if status == COMPLETED and self.model[i] <= PAUSABLE_CODES:
            raise Halt(f"group {NAMES[i]} completed during the check")  # a migration may finish: no fault
        if not reading.agrees:
            requirement = "HW-START" if self.cause[i] == "start" else "STOP-EFFECT"
            title = Title("Group {group} is not what the model says", group=NAMES[i])
            self._violate(reading, requirement, title, set(agrees) | set(passing))
        if status != PAUSING:
            self.model[i] = model_of(status)

    async def start(self, i: int) -> None:
        name = NAMES[i]
        if self.model[i] == {PAUSING, PAUSED}:
            await self.show(i, settle=True)  # only a paused group can be started: wait out pausing first
            if self.model[i] != {PAUSED}:
                return  # still pausing after the settle timeout: which answer is right is not known
        sent = self._log(await self.ctx.start(self.groups[i]), f"start {name}")
        if self.model[i] != {PAUSED}:
            title = Title("A start of group {group} (not paused) was not refused", group=name)
            self._expect(sent, 400, "HW-START", title)
            return
        self._expect(
            sent, 200, "HW-START", Title("A start of paused group {group} did not answer 200", group=name)
        )
        self.paused_by_us.discard(i)
        _, reading = await self.status(i, f"read {name}", PAUSABLE_CODES)
        if not reading.agrees:
            title = Title("After a 200 start group {group} is not pausable", group=name)
            self._violate(reading, "HW-START", title, PAUSABLE_CODES)
        self.model[i], self.cause[i] = set(PAUSABLE_CODES), "start"

    def _expect(self, sent: Sent, status: int, requirement: str, title: Title) -> None:
        if sent.result.status != status:
            raise ModelViolation(
                Finding(title, f"{sent.result.status}", f"{status}", sent=sent, requirement=requirement)
            )

    def _violate(
        self, reading: Reading[Sent], requirement: str, title: Title, allowed: Collection[int]
    ) -> None:
        expected = " or ".join(map(str, sorted(allowed)))
        received = reading.received(self.ctx.settle_timeout)
        raise ModelViolation(
            Finding(title, received, f"status {expected}", sent=reading.answer, requirement=requirement)
        )


def expectation(model: set[int], *, settle: bool) -> tuple[frozenset[int], frozenset[int]]:
    """What a read of a group the model holds in ``model`` agrees with, and what is on the way there.

    After a stop (7 or 3) a read of 7, 3 or 6 (completed meanwhile) agrees; with ``settle`` 7 is only on the
    way, so the read goes on until the group shows paused (a start needs it paused). A pausable group may
    complete (6) at any time: that agrees, and the caller halts (no fault, but the group is spent).
    """
    if model == {PAUSING, PAUSED}:
        if settle:
            return frozenset({PAUSED, COMPLETED}), frozenset({PAUSING})
        return frozenset({PAUSING, PAUSED, COMPLETED}), frozenset()
    if model <= PAUSABLE_CODES:
        return frozenset(model | {COMPLETED}), frozenset()
    return frozenset(model), frozenset()


def model_of(status: int) -> set[int]:
    """What the model holds after a read: pausable, pausing (then paused), or the status itself."""
    if status in PAUSABLE_CODES:
        return set(PAUSABLE_CODES)
    return {PAUSING, PAUSED} if status == PAUSING else {status}


def start_body_placeholder(ctx: CheckContext) -> str:
    """The start body for a curl line: each secret key as its ``$OMS_RESTORE_*`` placeholder (runner's
    ``secrets_of`` names them alike), in double quotes so the shell expands them."""
    fields = []
    for key, value in (ctx.target.restore or {}).items():
        shown = value if key in RESTORE_PLAIN_KEYS else f"$OMS_RESTORE_{key.upper()}"
        fields.append(f'\\"{key}\\":\\"{shown}\\"')
    return '"{' + ",".join(fields) + '}"'
