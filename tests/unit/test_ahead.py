"""New connections opened just ahead for requests that may not be repeated (transport/ahead.py), alone with
a fake clock, and in the keep-alive pool against a loopback server. Events and counts: nothing here measures
time (the one wait below is a bound against a hang, not a measure)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, cast

from conformance.transport.ahead import FRESH_S, MAX_AHEAD, RECENT_ANSWERS, Ahead
from conformance.transport.h1 import Answer, Connection
from conformance.transport.keepalive import Pool


class FakeConnection:
    def __init__(self) -> None:
        self.broken = False
        self.dropped = False


class FakeOpen:
    """Connections that open when told to (``release``), or fail."""

    def __init__(self, fail: bool = False) -> None:
        self.made: list[FakeConnection] = []
        self.release = asyncio.Event()
        self.fail = fail

    async def __call__(self) -> Connection:
        await self.release.wait()
        if self.fail:
            raise OSError("refused")
        conn = FakeConnection()
        self.made.append(conn)
        return cast(Connection, conn)


def _drop(conn: Connection) -> None:
    cast(Any, conn).dropped = True


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_a_connection_opened_ahead_is_taken_once_while_fresh_and_dropped_when_stale() -> None:
    async def main() -> None:
        now = [100.0]
        opener = FakeOpen()
        ahead = Ahead(opener, _drop, clock=lambda: now[0])
        assert ahead.take() is None  # nothing opened yet: the request opens its own
        ahead.opened()
        assert ahead.take() is None  # still opening: not waited for
        opener.release.set()
        await _settle()
        now[0] += FRESH_S  # as old as it may be
        first: Any = ahead.take()
        assert first is opener.made[0] and not opener.made[0].dropped
        assert ahead.take() is None  # taken once
        ahead.opened()
        await _settle()
        now[0] += FRESH_S * 1.01  # too old: its server may be about to close it
        assert ahead.take() is None
        assert opener.made[1].dropped and ahead.opened_unused == 1
        ahead.close()

    asyncio.run(main())


def test_one_the_server_closed_is_not_taken_and_one_that_could_not_open_is_no_error() -> None:
    async def main() -> None:
        opener = FakeOpen()
        opener.release.set()
        ahead = Ahead(opener, _drop, clock=lambda: 0.0)
        ahead.opened()
        await _settle()
        opener.made[0].broken = True  # its server's close came before any request was written
        assert ahead.take() is None and opener.made[0].dropped
        failing = FakeOpen(fail=True)
        failing.release.set()
        ahead = Ahead(failing, _drop, clock=lambda: 0.0)
        ahead.opened()
        await _settle()
        assert ahead.take() is None  # the request opens its own, and its failure is the one reported

    asyncio.run(main())


def test_nothing_is_opened_ahead_while_even_the_quickest_recent_answer_took_its_fresh_time() -> None:
    async def main() -> None:
        opener = FakeOpen()
        opener.release.set()
        ahead = Ahead(opener, _drop, clock=lambda: 0.0)
        for _ in range(RECENT_ANSWERS):
            ahead.answered(FRESH_S)  # a 0.1 s round trip: the next stop comes after it, too late
        ahead.opened()
        await _settle()
        assert not opener.made and ahead.opened_unused == 0
        ahead.answered(FRESH_S / 4)  # one quick answer among them: a round trip that short is possible
        ahead.opened()
        await _settle()
        assert len(opener.made) == 1
        for _ in range(RECENT_ANSWERS):
            ahead.answered(FRESH_S * 3)  # the quick one has left the window
        assert not ahead.could_be_fresh
        ahead.close()

    asyncio.run(main())


def test_no_more_are_opened_ahead_than_requests_can_take_and_closing_ends_them_all() -> None:
    async def main() -> None:
        opener = FakeOpen()
        ahead = Ahead(opener, _drop, clock=lambda: 0.0)
        for _ in range(MAX_AHEAD + 3):
            ahead.opened()
        opener.release.set()
        await _settle()
        assert len(opener.made) == MAX_AHEAD
        ahead.opened()  # all still ready: no more
        await _settle()
        assert len(opener.made) == MAX_AHEAD
        slow = FakeOpen()
        pending = Ahead(slow, _drop, clock=lambda: 0.0)
        pending.opened()
        await _settle()
        ahead.close()
        pending.close()  # one still opening is cancelled: nothing is left behind
        await _settle()
        assert all(conn.dropped for conn in opener.made) and not slow.made

    asyncio.run(main())


async def _until(condition: Any) -> None:
    for _ in range(500):  # bounded: a guard against a hang, not a measure
        if condition():
            return
        await asyncio.sleep(0.01)


def test_one_left_untaken_half_its_time_opens_its_successor_once_and_a_taken_one_none() -> None:
    async def main() -> None:
        opener = FakeOpen()
        opener.release.set()
        ahead = Ahead(opener, _drop)
        ahead.opened()
        await _until(lambda: len(opener.made) == 2)  # no request meanwhile: renewed as it aged
        assert len(opener.made) == 2
        # Both go stale untaken; the successor's half-time came before its staleness: it renewed nothing.
        await _until(lambda: all(conn.dropped for conn in opener.made))
        assert len(opener.made) == 2 and all(conn.dropped for conn in opener.made)
        ahead.opened()
        await _until(lambda: len(opener.made) == 3)
        taken: Any = ahead.take()
        assert taken is opener.made[2]  # taken at once ...
        await asyncio.sleep(FRESH_S)
        assert len(opener.made) == 3  # ... so nothing after it
        ahead.close()

    asyncio.run(main())


class Recorded:
    """A loopback HTTP/1.1 server that records what each connection carried, and can hold its first
    answer until a second connection has been opened (bounded against a hang)."""

    def __init__(
        self, *, hold_first: bool = False, close_second_at_once: bool = False, answer_after: float = 0.0
    ) -> None:
        self.answer_after = answer_after  # seconds every answer waits: a long round trip, or a slow server
        self.carried: list[list[bytes]] = []  # per connection, in the order opened: the request lines
        self.second_opened = asyncio.Event()
        self.hold_first = hold_first
        self.close_second_at_once = close_second_at_once
        self.answers: list[bool] = []  # for each answer: whether a second connection was open by then

    async def start(self) -> int:
        self.server = await asyncio.start_server(self.serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        carried: list[bytes] = []
        self.carried.append(carried)
        if len(self.carried) == 2:
            self.second_opened.set()
            if self.close_second_at_once:
                writer.close()
                return
        try:
            while line := await reader.readline():
                carried.append(line.strip())
                while (await reader.readline()).strip():
                    pass  # the rest of the head; the requests here have no body
                if self.hold_first and len(self.answers) == 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.second_opened.wait(), 5)  # only a hang guard
                self.answers.append(self.second_opened.is_set())
                await asyncio.sleep(self.answer_after)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        self.server.close()
        await self.server.wait_closed()


async def _stops(pool: Pool, count: int) -> list[int | None]:
    statuses = []
    for n in range(count):
        reply = Answer(1024)
        await pool.request(b"PUT", f"/stop/{n}".encode(), [(b"host", b"x")], b"", reply, replay_safe=False)
        statuses.append(reply.status)
    return statuses


def _with_pool(server: Recorded, use: Callable[[Pool], Awaitable[None]]) -> Recorded:
    """``use`` a keep-alive pool to ``server``, then close both: what the server saw."""

    async def main() -> Recorded:
        port = await server.start()
        pool = Pool("127.0.0.1", port, None)
        try:
            await use(pool)
        finally:
            pool.close()
            await _settle()
            await server.stop()
        return server

    return asyncio.run(main())


def test_the_next_stops_connection_opens_while_one_is_under_way_and_each_carries_one_stop() -> None:
    async def use(pool: Pool) -> None:
        assert await _stops(pool, 3) == [200, 200, 200]

    server = _with_pool(Recorded(hold_first=True), use)
    # The first answer was held until a second connection opened: opened ahead, while the first was under
    # way (without it, the second opens only once the first is answered, and this is False).
    assert server.answers[0] is True
    used = [carried for carried in server.carried if carried]
    # Every stop on a connection of its own that carried nothing before it, each sent once.
    assert used == [[b"PUT /stop/0 HTTP/1.1"], [b"PUT /stop/1 HTTP/1.1"], [b"PUT /stop/2 HTTP/1.1"]]
    assert len(server.carried) - len(used) <= 2 * len(used)  # each stop's spare and its successor at most


def test_a_connection_opened_ahead_that_its_server_closed_is_passed_over_and_the_stop_answered() -> None:
    server = Recorded(close_second_at_once=True)

    async def use(pool: Pool) -> None:
        assert await _stops(pool, 1) == [200]
        await asyncio.wait_for(server.second_opened.wait(), 5)  # opened ahead, and closed by its server
        for _ in range(500):  # until its close has come (bounded: a hang guard, not a measure)
            if not pool.ahead._ready or pool.ahead._ready[0][1].broken:
                break
            await asyncio.sleep(0.01)
        assert await _stops(pool, 1) == [200]

    _with_pool(server, use)
    assert server.carried[1] == []  # the one closed ahead carried nothing
    assert [c for c in server.carried if c] == [[b"PUT /stop/0 HTTP/1.1"], [b"PUT /stop/0 HTTP/1.1"]]


def test_a_pool_whose_answers_come_slowly_opens_each_stop_its_own_connection_and_no_more() -> None:
    async def use(pool: Pool) -> None:
        reply = Answer(1024)
        await pool.request(b"GET", b"/first", [(b"host", b"x")], b"", reply)  # how long answers take
        assert reply.status == 200
        assert await _stops(pool, 3) == [200, 200, 200]

    server = _with_pool(Recorded(answer_after=FRESH_S), use)
    # Without the answers' times, each stop opened its successor's connection ahead (and the last one's
    # went unused): five or six connections, two of them carrying nothing.
    assert server.carried == [
        [b"GET /first HTTP/1.1"],
        [b"PUT /stop/0 HTTP/1.1"],
        [b"PUT /stop/1 HTTP/1.1"],
        [b"PUT /stop/2 HTTP/1.1"],
    ]
