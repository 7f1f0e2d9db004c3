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

Every read follows the run's one rule for reads after writes (machinery/lag.py): the platform's read path lags
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

The two groups come from the pool; the check gives them back: when it ends both are pausable again. A run
that stops mid-check stops the worker thread and waits for it (:func:`in_worker`), and sends nothing more.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, cast

from conformance.checks.lasting import look_again, paused_by_own_stops
from conformance.checks.machinery.base import NotRun
from conformance.checks.machinery.context import CheckContext
from conformance.checks.machinery.registry import GroupUse, scenario
from conformance.checks.machinery.shapes import CURL, JSON_OBJECT
from conformance.checks.machinery.stateful_session import (
    MAX_REQUESTS,
    NAMES,
    Failed,
    Halt,
    ModelViolation,
    Session,
)
from conformance.spec.documents import Profile
from conformance.spec.statuses import PAUSABLE_CODES

if TYPE_CHECKING:  # Hypothesis is imported when the check explores, not by every run that lists the check
    from hypothesis.stateful import RuleBasedStateMachine

EXAMPLES = 6  # programs Hypothesis generates (shrinking comes on top, within the request budget)
STEPS = 8  # rules per program
# Time, on top of the requests: a read after a write may wait up to the settle timeout for the read path
# (machinery/lag.py). Against the platform's lag (1-3 s) the whole check takes 20-26 s at the default 5 s
# bound (tests/benchmarks/bench_lag.py), but against a show that never agrees every read waits the whole
# bound, so the check starts no step after this many bounds (at least MIN_SECONDS), plus its requests' time
# under --rate-limit (and shrinks for at most SHRINK_BOUNDS after its first failure:
# machinery/stateful_session.py).
WAIT_BOUNDS = 6
MIN_SECONDS = 20.0
# How long a stopped run waits for the worker thread: its step in flight is cancelled and its other steps
# are dropped, so it ends at once; the bound only keeps a hung thread from hanging the stop.
STOP_WAIT = 10.0


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
# Its two stops are sent as two real clients send them (machinery/shapes.py): A with {} as a JSON body, B as
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
    except ModelViolation:
        return False
    session.opened = not session.dropped and not session.halted
    return True


def opening_then_explore(session: Session, machine: Callable[[], None]) -> None:
    """The fixed program, then - if it found nothing - Hypothesis' programs (``machine``, made by
    :func:`machine_test`), within the same budgets."""
    if open_with_fixed_program(session):
        explore(session, machine)


def machine_test(session: Session) -> Callable[[], None]:
    """The machine as a Hypothesis test, made here in the event loop's thread, not in the worker: making it
    reads the machine's source (an AST), and on CPython 3.11.7 two threads making ASTs at once fail
    (machinery/corpus.py says when that happens)."""
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
    return cast(Callable[[], None], hypothesis_seed(session.ctx.seed)(test))


def explore(session: Session, machine: Callable[[], None]) -> None:
    """Run the machine under Hypothesis (in the worker thread); failures are in ``session.failures``."""
    from conformance._seams import hypothesis as hypothesis_seam

    try:
        # Without the process's local constants, as the fuzz check draws: the seed alone decides, and
        # Hypothesis parses no module's source in this thread (machinery/corpus.py says why that matters).
        with hypothesis_seam.seed_only():
            machine()
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
    await in_worker(session, machine_test(session))
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


async def in_worker(session: Session, machine: Callable[[], None]) -> None:
    """:func:`opening_then_explore` in a worker thread. A run that stops cancels this (a stop, another
    check's exception, the target's death): the thread is then stopped - its step in flight cancelled, the
    rest dropped unsent - and waited for, so that no thread outlives the run and no step goes to a loop that
    has closed. The stopped check sends nothing more: the groups it left paused are the run's paused groups
    (``run --restore`` starts them)."""
    worker = asyncio.ensure_future(asyncio.to_thread(opening_then_explore, session, machine))
    try:
        await asyncio.shield(worker)
    except asyncio.CancelledError:
        session.halt_worker()
        await asyncio.wait({worker}, timeout=STOP_WAIT)
        raise


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
