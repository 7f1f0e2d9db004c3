"""Group commit: the stops that arrive in one turn of the event loop are written in one transaction.

Why: with a file db, each stop committed on its own costs a WAL frame write per stop, and every ~1,000
frames an automatic checkpoint with fsyncs stalls every connection at once - the p99 of ``--db``. Under
load, several connections become readable in the same turn of the loop; their stops are queued here and
written together by one callback scheduled for the next turn: one transaction, one commit, one WAL write.

What stays true:

- one atomic conditional UPDATE per stop (:meth:`Store.stop_many` runs them one after the other inside the
  transaction), so exactly one of N concurrent stops of a group wins;
- no stop is acknowledged before its write is durable: a stop's future is resolved only after the COMMIT
  holding its UPDATE has returned, and the 200 is sent only after that. What a returned COMMIT survives is
  the store's durability (:class:`~conformance.server.store.Durability`): a crash of the process by
  default (its frames are in the operating system's hands), power loss with ``machine`` (fsynced);
- a request that waits alone is not delayed: the flush runs in the very next turn of the loop.

The in-memory db batches too, though it has nothing to make durable: one transaction per turn instead of
one per statement costs less CPU per stop than the future it adds (bench_server.py: ~95 vs ~121 us per
request under the same load).
"""

from __future__ import annotations

import asyncio

from conformance.server.store import StopResult, Store


class GroupCommit:
    """Queues stops and writes each turn's queue with :meth:`Store.stop_many`."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._pending: list[tuple[str, str, asyncio.Future[StopResult]]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self.batches = 0  # transactions written (for tests and curiosity)

    def bind(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """The loop the server runs on (set at lifespan start-up, cleared at shutdown). Why: on Python < 3.12
        every ``asyncio.get_running_loop()`` is a ``getpid()`` system call - one per stop otherwise. An app
        served without lifespan (an in-process test client) asks for the running loop each time instead."""
        self._loop = loop

    async def stop(self, project_id: str, group_id: str) -> StopResult:
        loop = self._loop or asyncio.get_running_loop()
        future: asyncio.Future[StopResult] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush)
        self._pending.append((project_id, group_id, future))
        return await future

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        try:
            results = self._store.stop_many([(project_id, group_id) for project_id, group_id, _ in batch])
        except Exception as exc:  # rolled back: every stop of the batch fails (and is logged by the app)
            for *_, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        self.batches += 1
        for (*_, future), result in zip(batch, results, strict=True):
            if not future.done():  # a cancelled waiter (client gone): its write stands, nobody to tell
                future.set_result(result)
