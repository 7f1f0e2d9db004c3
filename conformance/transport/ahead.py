"""New connections opened just ahead, for the requests that may not be repeated.

A request that could pause a listed group goes on a connection that has carried nothing
(transport/keepalive.py), and opening one costs the handshake's round trip (and TLS's) before the request
can leave: at a 50 ms round trip, about a third of a remote run's requests paid two round trips, not one.
Such requests come in runs - the look-alike checks' stops, precondition's, authn-no-pause's - so when one
of them is under way, the next one's connection is opened beside it (:meth:`Ahead.opened`), and the next
such request takes it (:meth:`Ahead.take`) if it is still fresh; one left untaken half its time opens its
successor, once, so that a stop that comes just after it turned stale still finds a young one. A
connection opened ahead is a connection, not a request: no request is added, sent twice or dropped, and
none goes on a connection that carried another.

Why it loses nothing against a server that closes connections idle before their first request (hardened
servers and gateways do: our own field server after 0.2 s, tests/suite/field_server.py):

- The server waits for a first request on a connection opened ahead as long as the connection was idle on
  our side once open - its handshake's last bytes and the request's travel the same way - at most
  ``FRESH_S``: an older one is closed unused and never taken. A connection written to at once waits 0.
- A server that closed it more than a round trip before our request was written: its close has come, the
  connection is ``broken`` and is dropped; the request goes on a new one - nothing had been sent.
- A server that closed it less than a round trip before: the close crosses the request, and the request,
  which may not be repeated, is judged as it ended (no answer). That needs a server that closes a connection
  it has not heard from within ``FRESH_S`` - a tenth of a second, below every timeout for a first request
  in use (nginx's ``client_header_timeout`` 60 s, Apache's ``RequestReadTimeout`` 20 s; browsers' own
  connections opened ahead wait up to 10 s) and half of the field server's.

Where answers take ``FRESH_S`` or longer - a round trip of 0.1 s or more, or a server that slow to answer -
nothing is opened ahead: the next such request comes after an answer, so a connection opened for it would
be stale by then and cost the server a connection that carries nothing (143 of 151 at a 200 ms round trip,
measured in the benchmark relay). The quickest of the last few answers tells it: the round trip without the
server's own time.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

from conformance.transport.h1 import Connection

# How long a connection opened ahead may wait for its request, counted from when it started opening.
FRESH_S = 0.1
# At most this many opened ahead at once: one for each request that may not be repeated under way (the run's
# --concurrency is 4 by default), not a stock.
MAX_AHEAD = 4
# How many of the latest answers' times judge whether a connection opened ahead could still be fresh.
RECENT_ANSWERS = 8


class Ahead:
    """Connections opened ahead by ``open_``, each taken by at most one request, while fresh."""

    def __init__(
        self,
        open_: Callable[[], Awaitable[Connection]],
        drop: Callable[[Connection], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._open, self._drop = open_, drop
        self._clock = clock
        self._ready: deque[tuple[float, Connection]] = deque()  # (when it started opening, the connection)
        self._opening: set[asyncio.Task[None]] = set()
        self._answer_times: deque[float] = deque(maxlen=RECENT_ANSWERS)
        self.opened_unused = 0  # closed unused (stale, or left at the end): a run note could say so

    def take(self) -> Connection | None:
        """A connection opened ahead, still fresh and not closed by the server; None if there is none."""
        now = self._clock()
        while self._ready:
            started, conn = self._ready.popleft()
            if now - started <= FRESH_S and not conn.broken:
                return conn
            self._discard(conn)
        return None

    def answered(self, seconds: float) -> None:
        """An answer came ``seconds`` after its request began to be written (any request of the pool)."""
        self._answer_times.append(seconds)

    @property
    def could_be_fresh(self) -> bool:
        """Whether a connection opened now could still be fresh when the next such request comes: not when
        even the quickest recent answer took ``FRESH_S`` (none seen yet: it may)."""
        return not self._answer_times or min(self._answer_times) < FRESH_S

    def opened(self, *, renew: bool = True) -> None:
        """A request that may not be repeated is under way: open the connection the next one would take,
        unless as many are open or opening as requests can use them, or answers come too slowly for it to
        be taken fresh (``renew``: its successor too, if it is left untaken half its time)."""
        if len(self._ready) + len(self._opening) >= MAX_AHEAD or not self.could_be_fresh:
            return
        task = asyncio.get_running_loop().create_task(self._open_one(self._clock(), renew=renew))
        self._opening.add(task)
        task.add_done_callback(self._opening.discard)

    async def _open_one(self, started: float, *, renew: bool) -> None:
        try:
            conn = await self._open()
        except Exception:  # a connection that cannot be made now: the request that needs one will say so
            return
        self._ready.append((started, conn))
        loop = asyncio.get_running_loop()
        # Closed unused once stale, so that no socket outlives its use on either side.
        loop.call_later(FRESH_S, self._expire)
        if renew:
            loop.call_later(max(0.0, started + FRESH_S / 2 - self._clock()), self._renew, conn)

    def _renew(self, conn: Connection) -> None:
        """Half its time gone and not taken: open its successor, once. The next stop may come just after it
        turns stale - after a stop that opened its own connection, two round trips after it began opening:
        0.1 s at 50 ms - and then finds the successor young. A successor has none: one stop's spare costs
        at most two connections that carry nothing."""
        if any(ready is conn for _, ready in self._ready):
            self.opened(renew=False)

    def _expire(self) -> None:
        now = self._clock()
        while self._ready and now - self._ready[0][0] > FRESH_S:
            self._discard(self._ready.popleft()[1])

    def _discard(self, conn: Connection) -> None:
        self.opened_unused += 1
        self._drop(conn)

    def close(self) -> None:
        for task in self._opening:
            task.cancel()
        while self._ready:
            self._discard(self._ready.popleft()[1])
