"""A run that stops while the stateful check's worker thread is in a step (checks/stateful.py ``in_worker``):
another check's exception, or a stop through the run's control (Ctrl-C), ends the run promptly - the step in
flight is cancelled, the thread ends before the loop closes, nothing more is sent - and leaves no thread, no
unawaited coroutine and no pending task behind.

The run is driven as the CLI drives it (runner/session.py: a loop of its own, closed when the run ends,
without waiting for the loop's worker threads). The in-process huawei model holds the stateful check's first
start until it is cancelled, and the other check ends the run once that start is held, so the stop always
comes mid-step. Cost: well under a second for both."""

from __future__ import annotations

import asyncio
import gc
import threading
import warnings
from collections.abc import MutableMapping
from typing import Any

import httpx
import pytest

from conformance.checks.machinery.registry import scenario, spec_of
from conformance.checks.suite import BUILTIN
from conformance.options import RunOptions
from conformance.results import StopReason
from conformance.runner.control import RunControl
from conformance.runner.engine import execute
from conformance.target import parse_target

from .model import Model, target_data, variant

RESTORE = {"dst_ak": "AK-restore-0001-destination", "dst_sk": "SK-restore-secret-0001-destination"}
HANG = 10.0  # seconds: only a hang takes this long (a thread the stop left running)


class HoldsTheFirstStart:
    """The model, except that the first start - only the stateful check sends one, from its worker thread's
    steps - is held until cancelled (no answer ever comes)."""

    def __init__(self) -> None:
        self.app = Model(variant(huawei=True))
        self.held = asyncio.Event()
        self.cancelled = False
        self.after_hold: list[str] = []  # requests that came once the start was held

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if self.held.is_set():
            self.after_hold.append(f"{scope['method']} {scope['path']}")
        elif scope["path"].endswith("/start"):
            self.held.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled = True
                raise
        await self.app(scope, receive, send)


@pytest.mark.parametrize("ending", ["another check's exception", "a stop (Ctrl-C)"])
def test_a_run_that_stops_mid_step_stops_and_waits_for_the_stateful_thread(ending: str) -> None:
    server, control = HoldsTheFirstStart(), RunControl()

    @scenario("ends-the-run", requirements=["STOP-OPERATION"])
    async def ends_the_run(ctx: object) -> None:  # beside the chain (it names no listed group)
        await server.held.wait()
        if ending == "a stop (Ctrl-C)":
            control.stop("interrupted by the test")
            await asyncio.sleep(HANG)
        raise RuntimeError("another check failed")

    stateful = next(s for s in BUILTIN if s.name == "stateful")
    target = parse_target({**target_data("http://model.test", huawei=True), "restore": RESTORE})
    options = RunOptions(seed=1, transport=httpx.ASGITransport(app=server), reruns=0, settle_timeout=0.1)
    before = set(threading.enumerate())
    loop, problems = asyncio.new_event_loop(), []
    loop.set_exception_handler(lambda _, context: problems.append(context["message"]))
    checks = (stateful, spec_of(ends_the_run))
    task = loop.create_task(execute(target, options, checks=checks, control=control))
    control.attach(task)
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        try:
            if ending == "a stop (Ctrl-C)":
                assert loop.run_until_complete(task).stop_reason is StopReason.INTERRUPTED
            else:
                with pytest.raises(RuntimeError, match="another check failed"):
                    loop.run_until_complete(task)
        finally:
            loop.close()  # as the CLI does: the worker thread must have ended by now
        left = [t for t in threading.enumerate() if t not in before]
        for thread in left:  # the loop's idle executor threads exit on their own once it closed
            thread.join(HANG)
        gc.collect()
    # The held start was cancelled (the stop did not wait for its answer), the stopped check sent nothing
    # more (no give-back), no thread outlived the run, and nothing was left unawaited or pending.
    alive = [t.name for t in left if t.is_alive()]
    ended = (server.cancelled, server.after_hold, alive, [str(w.message) for w in warned], problems)
    assert ended == (True, [], [], [], [])
