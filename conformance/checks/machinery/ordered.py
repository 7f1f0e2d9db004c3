"""Independent requests sent with bounded concurrency, and judged exactly as if sent one after another.

Checks whose requests do not depend on each other's answers (fuzz, hostile ids, the length boundaries)
spend most of their time waiting for the network; ``--concurrency N`` keeps up to N of them in flight. What
must not change is the outcome: for a fixed seed the order of evidence, failures and verdicts - and what
the response oracles see, and when a check stops because its requests hang - must not depend on which
answer happened to come back first.

So the network part runs concurrently and the rest runs in input order: each item's handler runs in its own
task, but :meth:`CheckContext.send` calls :func:`wait_turn` between receiving an answer and delivering it (to
the recorder and the oracles), and an item's turn comes when every earlier item's handler - its judging
included - has finished. An exception (``HangingClass`` for a class the run no longer sends, a target that
died) therefore surfaces in input order; the items after it are cancelled and their answers never delivered.
The run's hang budget (machinery/hang_budget.py) counts answers in turn too, and decides in turn whether a
hang is asked again, so the class it closes - and the item that meets it closed - is the same as in a
sequential run (its allowance of waiting for the whole run, a matter of time, excepted). At most N items are
in flight or waiting for their turn, so a check that stops early has sent at most N requests more than a
sequential run would have.

Items may come as they are made (an async iterable: the fuzz's plans, drawn in worker processes): the next
item starts as soon as a slot frees, not once the last batch has all ended - a batch's tail no longer leaves
slots idle - and every item still delivers after all of those before it, whichever batch they came in.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextvars import ContextVar
from typing import TypeVar

Item = TypeVar("Item")

# The future an item's deliveries wait for: set when every earlier item is done. None outside a batch.
_TURN: ContextVar[asyncio.Future[None] | None] = ContextVar("oms_conformance_turn", default=None)


async def wait_turn() -> None:
    """Wait until the running item may deliver answers (no-op outside :func:`each_in_order`)."""
    turn = _TURN.get()
    if turn is not None:
        await asyncio.shield(turn)  # a cancelled item must not cancel the future its successors share


async def _each(items: Iterable[Item] | AsyncIterable[Item]) -> AsyncIterator[Item]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item


async def each_in_order(
    items: Sequence[Item] | AsyncIterable[Item], handle: Callable[[Item], Awaitable[None]], concurrency: int
) -> None:
    """``await handle(item)`` for every item, up to ``concurrency`` at once, delivering in input order."""
    if concurrency <= 1 or (isinstance(items, Sequence) and len(items) <= 1):
        async for item in _each(items):
            await handle(item)
        return
    loop = asyncio.get_running_loop()
    slots = asyncio.Semaphore(concurrency)
    launched: asyncio.Queue[asyncio.Task[None] | None] = asyncio.Queue()
    tasks: list[asyncio.Task[None]] = []

    async def run(item: Item, before: asyncio.Future[None], done: asyncio.Future[None]) -> None:
        try:
            _TURN.set(before)
            await handle(item)
            await asyncio.shield(before)  # an item that delivered nothing still finishes after its elders
            done.set_result(None)
        finally:
            slots.release()

    async def launch() -> None:
        before: asyncio.Future[None] = loop.create_future()
        before.set_result(None)
        try:
            async for item in _each(items):
                await slots.acquire()  # launched in input order, so every earlier item is already running
                done: asyncio.Future[None] = loop.create_future()
                task = asyncio.create_task(run(item, before, done))
                tasks.append(task)
                launched.put_nowait(task)
                before = done
        finally:
            launched.put_nowait(None)  # also when making the next item failed: raised below, in its place

    launcher = asyncio.create_task(launch())
    try:
        while (task := await launched.get()) is not None:
            await task  # in input order: the first exception is the one a sequential run would meet
        await launcher  # an item that could not be made fails after every item before it, as in turn
    finally:
        launcher.cancel()
        for task in tasks:
            task.cancel()
        await asyncio.gather(launcher, *tasks, return_exceptions=True)
