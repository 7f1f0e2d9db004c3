"""A stateful model check: stops, shows and starts of two listed groups, interleaved by Hypothesis and held
against a model of their statuses.

The other state checks each test one transition; faults that need a *sequence* (a start that answers 200 but
leaves the group paused, a stop that also pauses a neighbour, a show that keeps reporting the status it had)
slip between them. Here a :class:`~hypothesis.stateful.RuleBasedStateMachine` picks the order, and every
answer must agree with the model:

- a stop of a pausable group (1, 2) answers 200 and the group goes to 7 (pausing), then 3 (paused); a stop of
  any other group answers 400 (STOP-SUCCESS-200, STOP-PRECONDITION);
- a stop of one group never changes the other: after each 200 the other group is read (STOP-EFFECT);
- a start of a paused group answers 200 and the group is pausable (1, 2) again; a start of a group that is not
  paused answers 400 (HW-START);
- a show reports what the model says.

Every run begins with the same short program (:data:`OPENING`: stop A, show A, start A, show A, stop B, show A
and B), so the faults one stop, one start or one show reveals are caught for every seed; Hypothesis then
explores the sequences no fixed program lists.

Every read follows the run's one rule for reads after writes (checks/lag.py): the platform's read path lags
its writes, so a read that disagrees with the model is read again, with backoff, up to the settle timeout,
before it is a violation (whose message gives the reads and the time it took); a read of 7 where the model
needs the group paused is read again the same way.

How the synchronous rules drive the async check: the machine runs under Hypothesis in a worker thread
(``asyncio.to_thread``), and each rule submits its coroutine to the check's event loop with
``asyncio.run_coroutine_threadsafe`` and waits for it. So Hypothesis keeps all it is good at - seeded
generation, shrinking a failing program - and every request still goes through :class:`CheckContext`
(oracles, redaction, pacing). Each example starts from the same state (both groups brought back to
pausable), so a shrunk program replays. Requests are budgeted: once spent, rules do nothing, Hypothesis sees
no more failures and stops shrinking; the shortest failing program recorded is reported as one failure whose
message lists it as curl lines (already redacted; ``$OMS_RESTORE_*`` stand for the keys of start bodies).

The two groups come from the pool; the check gives them back: when it ends both are pausable again.
"""

from __future__ import annotations

import asyncio
import shlex
import time
from collections.abc import Collection, Coroutine
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from conformance.checks.base import Finding, NotRun, Sent, Title
from conformance.checks.context import CheckContext, says_nothing, shown_status
from conformance.checks.lag import ANY_STATUS, Reading
from conformance.checks.lasting import look_again, paused_by_own_stops
from conformance.checks.registry import GroupUse, scenario
from conformance.checks.shapes import CURL, JSON_OBJECT, ClientShape
from conformance.spec.documents import START_SUFFIX, Profile
from conformance.spec.statuses import COMPLETED, PAUSABLE_CODES, PAUSED, PAUSING
from conformance.target import RESTORE_PLAIN_KEYS

if TYPE_CHECKING:  # Hypothesis is imported when the check explores, not by every run that lists the check
    from hypothesis.stateful import RuleBasedStateMachine

EXAMPLES = 6  # programs Hypothesis generates (shrinking comes on top, within the request budget)
STEPS = 8  # rules per program
MAX_REQUESTS = 400  # over all programs and shrinking: bounded on a real account
SHRINK_REQUESTS = (
    150  # of those, at most this many after the first failure (shrinking has diminishing returns)
)
NAMES = ("A", "B")
# Time, on top of the requests: a read after a write may wait up to the settle timeout for the read path
# (checks/lag.py). Against the platform's lag (1-3 s) the whole check takes 20-26 s at the default 5 s bound
# (tests/benchmarks/bench_lag.py), but against a show that never agrees every read waits the whole bound, so
# the check starts no step after this many bounds (at least MIN_SECONDS), plus its requests' time under
# --rate-limit...
WAIT_BOUNDS = 6
MIN_SECONDS = 20.0
SHRINK_BOUNDS = 2  # ...and shrinks for at most this many bounds after its first failure


class Violation(AssertionError):
    """An answer the model does not allow: the finding, naming its requirement, what came and what was
    expected."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.headline)
        self.finding = finding


class Halt(Exception):
    """The target gave no usable answer: the run cannot be judged further (inconclusive, never a failure)."""


@dataclass
class Failed:
    violation: Violation
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

    @property
    def spent(self) -> bool:
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
            asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()
        except Violation as violation:
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
        elif body:  # a stop sent with a body (checks/shapes.py): it holds no secret
            curl += f" -d {shlex.quote(body.decode())}"
        self.steps.append(f"# {label}\n{curl}")

    async def status(
        self, i: int, label: str, agrees: Collection[int], passing: Collection[int] = ()
    ) -> tuple[int, Reading[Sent]]:
        """Show group ``i`` by the run's one rule for reads after writes (checks/lag.py): read again while
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
            raise Violation(
                Finding(title, f"{sent.result.status}", f"{status}", sent=sent, requirement=requirement)
            )

    def _violate(
        self, reading: Reading[Sent], requirement: str, title: Title, allowed: Collection[int]
    ) -> None:
        expected = " or ".join(map(str, sorted(allowed)))
        received = reading.received(self.ctx.settle_timeout)
        raise Violation(
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


def machine_for(session: Session) -> type[RuleBasedStateMachine]:
    from hypothesis import strategies as st
    from hypothesis.stateful import RuleBasedStateMachine, rule

    groups = st.sampled_from((0, 1))

    class StopShowStart(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            session.run(session.begin())

        @rule(i=groups)
        def stop(self, i: int) -> None:
            session.run(session.stop(i))

        @rule(i=groups)
        def show(self, i: int) -> None:
            session.run(session.show(i))

        @rule(i=groups)
        def start(self, i: int) -> None:
            session.run(session.start(i))

    return StopShowStart


# The fixed program every run begins with, before Hypothesis explores: the simple bugs - a stop without
# effect, a start that leaves the group paused, a stop that pauses the other group, a show stuck on an old
# status - each show within these seven steps, so they are caught for every seed, not only for seeds whose
# random programs happen to reach them. (rule, group): stop A, show A, start A, show A, stop B, show A and B.
# Its two stops are sent as two real clients send them (checks/shapes.py): A with {} as a JSON body, B as
# curl sends it; the shows after each prove the stop took effect, so a refused or ignored shape is caught.
OPENING = (("stop", 0), ("show", 0), ("start", 0), ("show", 0), ("stop", 1), ("show", 0), ("show", 1))
OPENING_SHAPES = {0: JSON_OBJECT, 1: CURL}


def open_with_fixed_program(session: Session) -> bool:
    """Run :data:`OPENING` from the set-up (in the worker thread); False if it found a violation, which is
    then in ``session.failures`` - already about as short as a failing program gets: nothing to shrink."""
    rules = {"show": session.show, "start": session.start}
    try:
        session.run(session.begin())
        for rule, i in OPENING:
            session.run(session.stop(i, OPENING_SHAPES[i]) if rule == "stop" else rules[rule](i))
    except Violation:
        return False
    session.opened = not session.dropped and not session.halted
    return True


def opening_then_explore(session: Session) -> None:
    """The fixed program, then - if it found nothing - Hypothesis' programs, within the same budgets."""
    if open_with_fixed_program(session):
        explore(session)


def explore(session: Session) -> None:
    """Run the machine under Hypothesis (in the worker thread); failures are in ``session.failures``."""
    from hypothesis import HealthCheck, Phase, Verbosity, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis.stateful import get_state_machine_test

    test = get_state_machine_test(
        machine_for(session),
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            database=None,
            derandomize=False,
            phases=(Phase.generate, Phase.shrink),
            suppress_health_check=list(HealthCheck),
            verbosity=Verbosity.quiet,
            report_multiple_bugs=False,
            print_blob=False,
        ),
    )
    try:
        hypothesis_seed(session.ctx.seed)(test)()
    except Exception as exc:
        # A violation is recorded as it happens (Session.run), and Hypothesis raises it again (or Flaky,
        # once the budget turns replays into no-ops): that adds nothing. Anything else stopped the
        # exploration short of a decision, which the result says (inconclusive), never a pass.
        if not session.failures and not session.halted:
            session.halted = f"its exploration stopped on an error ({type(exc).__name__}: {exc})"


@scenario(
    "stateful",
    requirements=["STOP-EFFECT", "STOP-PRECONDITION", "STOP-SUCCESS-200", "HW-START"],
    needs=["fixtures", "show", "restore"],
    profiles=[Profile.HUAWEI],
    groups=GroupUse.OPTIONAL,
)
async def stateful(ctx: CheckContext) -> None:
    """Stops, shows and starts of two listed groups - a fixed program, then ones Hypothesis interleaves -
    agree with a model of their statuses; the shortest failing program is reported as curl lines. Both
    groups are left pausable."""
    groups = await two_groups(ctx)
    session = Session(ctx, asyncio.get_running_loop(), groups)
    budget = time_budget(ctx)
    session.deadline = time.monotonic() + budget
    # A group an earlier check paused may still read pausable for a while: begin() waits for it to pause.
    session.paused_by_us = {i for i, group in enumerate(groups) if group in ctx.pool.paused}
    try:
        await asyncio.to_thread(opening_then_explore, session)
    finally:
        halted, session.halted, session.requests, session.failed_at = session.halted, "", 0, None
        programs = session.programs  # begun by Hypothesis (the give-back below begins one more)
        dropped = session.dropped
        try:
            await session.begin()  # the next night starts from pausable groups
        except Halt as halt:
            ctx.note(f"stateful: could not leave both groups pausable ({halt})")
    if session.out_of_time and not session.failures:
        ctx.note(
            f"stateful: stopped starting programs after {budget:.0f}s ({programs} begun, {dropped} steps "
            f"not sent): its reads waited for the show operation to agree with its writes (bound "
            f"{ctx.settle_timeout:g}s each)"
        )
    if session.failures:
        report(ctx, min(session.failures, key=lambda f: len(f.steps)))
    elif not halted and not session.opened:
        why = f"its time ran out ({budget:.0f}s) before the fixed program ended ({dropped} steps not sent)"
        for requirement in ctx.recorder.requirements:
            ctx.recorder.undecided(requirement, why)
    elif halted:
        for requirement in ctx.recorder.requirements:  # the programs stopped short: nothing is decided
            ctx.recorder.undecided(requirement, halted)
    for i, model in enumerate(session.model):
        if model <= PAUSABLE_CODES:
            ctx.pool.give_back(groups[i])  # `run --restore` and the report need not list it
        elif not model <= PAUSABLE_CODES:
            ctx.note(f"stateful: group {NAMES[i]} is not pausable at the end (shows {sorted(model)})")


def time_budget(ctx: CheckContext) -> float:
    """Seconds the check may start steps for: waits for the read path, plus its requests at the paced rate."""
    waits = max(MIN_SECONDS, WAIT_BOUNDS * ctx.settle_timeout)
    limit = ctx.client.pacer.rate_limit
    return waits + (MAX_REQUESTS / limit if limit else 0.0)


async def two_groups(ctx: CheckContext) -> tuple[str, str]:
    """Two listed pausable groups: fresh ones from the pool, else groups this run already paused (the check
    starts them first). Either way they are given back pausable, so the check costs the pool nothing."""
    chosen: list[str] = []
    for _ in range(2):
        try:
            chosen.append(await ctx.pool.take())
        except NotRun:
            break
    listed = set(ctx.target.project.groups_in("creating", "monitoring"))
    reused = [g for g in ctx.pool.paused if g in listed and g not in chosen][: 2 - len(chosen)]
    if len(chosen) + len(reused) < 2:
        raise NotRun("needs two listed creating/monitoring groups (fresh, or paused by this run)")
    # Starting them gives them back, so the end-of-run look (checks/lasting.py) would not see a pause of
    # theirs that had reverted: it looks at them first.
    own = [g for g in reused if g in paused_by_own_stops(ctx)]
    if own:
        await look_again(ctx, own)
    chosen += reused
    return chosen[0], chosen[1]


def report(ctx: CheckContext, failed: Failed) -> None:
    finding = failed.violation.finding
    program = "\n".join(failed.steps)
    more = f"Shortest failing program ({len(failed.steps) - 1} requests), to replay in order:\n{program}"
    # Every curl line is redacted already; the pass below is a guard, not the mechanism.
    redact = ctx.client.redactor.text
    ctx.fail(replace(finding, received=redact(finding.received), more=redact(more)))
