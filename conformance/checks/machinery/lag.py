"""Reads that follow a write: one rule for every status read a check makes after a stop or a start.

The platform's read path is not read-your-writes: after a stop or a start the show operation may report the
old status for seconds, and a stop moves a group to 7 (pausing), then 3 (paused), asynchronously. So a read
that disagrees with what the write should have caused - or with "unchanged", where nothing should have
changed - is read again, with backoff, until it agrees or the bound passes. Only then is it a failure, and
the caller's message carries the lag observed (:meth:`Reading.lag`). A read that agreed only after
re-reading is no failure; :class:`LagLog` keeps it for the run's notes.

Statuses on the way to what was expected (``passing``: 7 while waiting for 3) are read again too, but are
never a disagreement: a status that moves on correctly is not a fault.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from conformance.spec.statuses import ALL_CODES

T = TypeVar("T")
FIRST_WAIT = 0.1  # seconds before the first re-read; doubled each time...
MAX_WAIT = 1.0  # ...up to this, so a lag of seconds costs a handful of reads, not dozens
ANY_STATUS = ALL_CODES  # no write came before: whatever is read is taken as it is
MAX_LAG_NOTES = 5  # the longest lags observed are named in the run's notes; the rest are counted

# One read: the status (None when it could not be read) and the exchange that shows it.
Read = Callable[[], Awaitable[tuple[int | None, T]]]


@dataclass(frozen=True)
class Reading(Generic[T]):
    """How a read that follows a write came out: the last status read and the reads it took."""

    status: int | None  # None: the last read gave no status (the caller decides what that means)
    answer: T  # the last read's exchange
    reads: int
    seconds: float  # from the first read to the last
    agrees: bool  # the last status is one expected, or one on the way there
    lagged: bool  # some read disagreed before the last: the read path lagged the write

    def lag(self) -> str:
        """The reads and time it took, for a note."""
        if self.reads == 1:
            return "1 read"
        return f"{self.reads} reads over {self.seconds:.2f}s"

    def received(self, bound: float) -> str:
        """What a failure's message says was received: the status and the lag observed."""
        return f"status {self.status} on {self.lag()} (bound {bound:g}s)"


async def read_until(
    read: Read[T],
    agrees: Collection[int],
    *,
    passing: Collection[int] = (),
    bound: float,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Reading[T]:
    """Read until the status is in ``agrees`` or ``bound`` seconds have passed since the first read's answer.

    Statuses in ``passing`` are read again as well (they are on the way to ``agrees``), but end the wait
    without a disagreement when the bound passes. An unreadable status ends the wait at once.

    The bound starts at the first answer, not before the first read: reads of several groups go out side by
    side and are judged in turn (machinery/ordered.py), so a later group's first answer may be handed over
    only once the groups before it have had their whole bound - which must not be taken from its own.
    """
    started: float | None = None
    reads, lagged, wait = 0, False, FIRST_WAIT
    while True:
        status, answer = await read()
        reads += 1
        started = clock() if started is None else started
        elapsed = clock() - started
        if status is None or status in agrees or elapsed >= bound:
            fine = status is not None and (status in agrees or status in passing)
            return Reading(status, answer, reads, elapsed, fine, lagged)
        if status not in passing:
            lagged = True
        await sleep(min(wait, bound - elapsed))
        wait = min(wait * 2, MAX_WAIT)


@dataclass
class LagLog:
    """Reads that agreed only after re-reading, for the run's notes (a lag is not a failure)."""

    seen: list[tuple[float, str, str]] = field(default_factory=list)  # (seconds, check, what lagged)

    def observe(self, check: str, what: str, reading: Reading[Any]) -> None:
        if reading.lagged and reading.agrees:
            self.seen.append((reading.seconds, check, f"{what}: agreed after {reading.lag()}"))

    def notes(self) -> list[str]:
        if not self.seen:
            return []
        per_check: dict[str, int] = {}
        for _, check, _ in self.seen:
            per_check[check] = per_check.get(check, 0) + 1
        counts = ", ".join(f"{check} {n}" for check, n in per_check.items())
        longest = sorted(self.seen, key=lambda s: -s[0])[:MAX_LAG_NOTES]
        summary = (
            f"the show operation lagged writes: {len(self.seen)} status reads after a stop or start agreed "
            f"only after re-reading ({counts}; longest {longest[0][0]:.2f}s); not a failure"
        )
        return [summary, *(f"read lag: {what}" for _, _, what in longest)]
