"""The run's one bound on requests in flight: ``--concurrency`` holds for the whole run, whichever checks
are running side by side (runner/lanes.py) and however many requests each has out (machinery/ordered.py).

The lane that bounds the run goes first: the keeper's chain sends one request after another, each waiting
for the last answer, so every wait behind the other lane's requests adds to the run's length, while the
other lane (fuzz, the boundaries) has requests to spare. So a free slot goes to the preferred lane's
waiting requests first, and the other lane keeps a quarter of the slots (at least one) free for it: the
chain mostly has one request out, and a slot it had to wait for would cost it a round trip.
Within a lane, first come, first served. While the chain waits on a clock with nothing to send (effect-lasts'
hold: checks/lasting.py), the slots kept for it are lent to the other lane (:meth:`InFlight.idle`): they
would sit empty, and its next request still takes the first slot that frees.

A race (transport/race.py) needs the target to itself: its stops must arrive together, not queued behind
another check's requests. :meth:`InFlight.alone` waits until nothing else is in flight and holds every other
request back until the race is over; the race's own requests (in the task that holds it, and the tasks it
starts) are not bounded meanwhile: all of them go at once.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar


class InFlight:
    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._free = self.limit
        self._reserved = 0  # slots only the preferred lane may take
        self._keep = 0  # what the preferred lane keeps while it sends (lent while it waits: idle())
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []  # (priority, arrival, handed a slot)
        self._arrivals = itertools.count()
        self._alone = asyncio.Lock()  # two callers taking slots for themselves at once could share them out
        self._holding: ContextVar[bool] = ContextVar(f"in-flight-holding-{id(self)}", default=False)
        self._priority: ContextVar[int] = ContextVar(f"in-flight-priority-{id(self)}", default=1)

    def prefer(self) -> None:
        """This task's requests (and those of the tasks it starts) take a free slot before the others', and
        a quarter of the slots (at least one) are theirs alone."""
        self._priority.set(0)
        self._reserved = self._keep = max(1, self.limit // 4)

    def done_preferring(self) -> None:
        """The preferred lane has ended: every slot is anyone's again."""
        self._reserved = self._keep = 0
        self._wake()  # the waiters the reservation held back

    @asynccontextmanager
    async def idle(self) -> AsyncIterator[None]:
        """The preferred lane sends nothing meanwhile (a wait on a clock): the slots kept for it are
        anyone's until it ends, and its next request after it still goes before the others'. From any other
        task, nothing changes."""
        lending = self._priority.get() == 0 and self._reserved > 0
        if lending:
            self._reserved = 0
            self._wake()  # the waiters the reservation held back
        try:
            yield
        finally:
            if lending:
                self._reserved = self._keep

    @asynccontextmanager
    async def one(self) -> AsyncIterator[None]:
        """One request in flight (its exchange, not the wait before a retry)."""
        if self._holding.get():  # a request of the one holding every slot
            yield
            return
        await self._take()
        try:
            yield
        finally:
            self._give()

    @asynccontextmanager
    async def alone(self) -> AsyncIterator[None]:
        """Every slot: nothing else is in flight meanwhile."""
        async with self._alone:
            taken = 0
            try:
                for _ in range(self.limit):
                    await self._take()
                    taken += 1
                holding = self._holding.set(True)
                try:
                    yield
                finally:
                    self._holding.reset(holding)
            finally:
                for _ in range(taken):
                    self._give()

    def _may_take(self, priority: int) -> bool:
        return self._free > (self._reserved if priority else 0)

    async def _take(self) -> None:
        priority = self._priority.get()
        if self._may_take(priority) and not (self._waiting and self._waiting[0][0] <= priority):
            self._free -= 1
            return
        handed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (priority, next(self._arrivals), handed))
        try:
            await handed
        except asyncio.CancelledError:
            if handed.done() and not handed.cancelled():
                self._give()  # handed a slot as it was cancelled: pass it on
            else:
                self._waiting = [w for w in self._waiting if w[2] is not handed]
                heapq.heapify(self._waiting)
            raise

    def _give(self) -> None:
        self._free += 1
        self._wake()

    def _wake(self) -> None:
        while self._waiting and self._may_take(self._waiting[0][0]):
            _, _, handed = heapq.heappop(self._waiting)
            if not handed.done():
                self._free -= 1
                handed.set_result(None)
