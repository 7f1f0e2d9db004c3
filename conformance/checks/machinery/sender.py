"""The one retry and hang policy every request of a check goes through.

A scenario check asks :class:`~conformance.checks.machinery.context.CheckContext` for a stop, a show or a
start; the context builds the request (path, credential, shape) and hands it here. The sender decides, in one
place:

- whether the run still sends this class of request (machinery/hang_budget.py): a class the target left
  unanswered, or a run whose allowance for hangs is spent, raises :class:`HangingClass`;
- whether an answer that says nothing about the request (a 5xx, a dropped connection, a timeout) is asked
  again, how often, and never for a request that may have paused a listed group;
- in what order answers are delivered under ``--concurrency`` (machinery/ordered.py), so that what the hang
  budget closes does not depend on which answer came first.

It keeps the run's counts of such answers: ``transient`` (asked again and then came right: run notes) and
``persistent`` (still said nothing after their retries).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from conformance.checks.machinery.base import NotRun
from conformance.checks.machinery.hang_budget import HangBudget, RequestClass
from conformance.checks.machinery.in_flight import InFlight
from conformance.checks.machinery.ordered import wait_turn
from conformance.checks.oracles import TEMPORARY
from conformance.spec.paths import brief
from conformance.target import Project
from conformance.transport.http import Client, HttpResult, Outcome

# An answer that says nothing about the request (5xx, a dropped connection, a timeout) is asked again this
# often - only for requests that cannot pause a listed group - before it is judged as it is.
MAX_TRANSIENT_RETRIES = 2
# "Try again later" (502/503/504) once more: a busy gateway's 503s fall on a request independently, and with
# one in twenty answers busy, three in a row for some request of a run is a night in thirty; four, one in 500.
MAX_TEMPORARY_RETRIES = 3
# ... for a default run's ~300 requests. A deep fuzz sends thousands: with one answer in twenty busy, four in
# a row for one of 2,000 requests is a night in eighty (one in five at one in ten busy), and its failure
# would blame the target for its gateway's load. So once this sender has seen a "try again later" come right
# on a retry - the target's busy answers fall at random - a request that keeps getting them is asked up to
# this often: nine in a row for one of 2,000 requests, at one in ten busy, is a night in 500,000. A target
# that answers some input "try again later" every time still fails on it, ~7 s of pauses later
# (MAX_PERSISTENT_FAILURES bounds how often).
MAX_TEMPORARY_RETRIES_WHEN_BUSY = 8
RETRY_PAUSE_S = 0.2  # before the n-th retry, n times this
# A target that keeps failing the same way (every answer a 500, say) is not having a passing fault: after
# this many requests that stayed so on retry, answers are judged as they come, so a run stays short.
MAX_PERSISTENT_FAILURES = 3


class HangingClass(NotRun):
    """The check needs a class of requests the run no longer sends (machinery/hang_budget.py): the target
    left it unanswered, or the run's allowance for unanswered requests is spent. The check ends with what
    it has."""


def says_nothing(result: HttpResult) -> bool:
    """An answer that tells nothing about the request: no complete answer, or a server error."""
    return result.outcome.inconclusive or (result.status is not None and result.status >= 500)


class Sender:
    def __init__(self, client: Client, hangs: HangBudget, in_flight: InFlight) -> None:
        self.client = client
        self.hangs = hangs  # the run's (or its lane's: runner/lanes.py), shared by every check of it
        self.in_flight = in_flight  # the run's one bound on requests in flight, whatever lane sends
        self.transient: list[str] = []  # answers that were retried and then came right (run notes)
        self.persistent = 0  # requests that still said nothing after their retries
        self.busy_at_random = False  # a "try again later" came right on a retry: its busy answers are random

    def may_send(self, cls: RequestClass) -> None:
        """Raise :class:`HangingClass` if the run no longer sends ``cls`` (or raise if the target died)."""
        refusal = self.hangs.refusal(cls)
        if refusal:
            raise HangingClass(refusal)

    async def send(
        self,
        cls: RequestClass,
        method: str,
        path: str,
        headers: Sequence[tuple[str, str]],
        *,
        auth: Project | None = None,
        retry: bool,
        body: bytes = b"",
        content_length: bool = True,
    ) -> HttpResult:
        """Send one request and return its final answer, ready to be delivered to the oracles.

        Throttling (429) is waited out by the client (transport/pace.py). With ``retry``, an answer that
        says nothing is asked again (bounded; a timeout only as the hang budget allows). ``retry=False`` is
        for a request that could pause a listed group: its first attempt may have taken effect.
        """
        self.may_send(cls)
        request = (method, path, headers, auth, body)
        result = await self._send_once(*request, content_length=content_length, replay_safe=retry)
        attempts = [(result, self.hangs.clock())]  # counted in delivery order, at the time each ended
        retried, came_right = 0, ""
        while retry and says_nothing(result):
            if result.outcome is Outcome.TIMED_OUT:
                # Whether a hang is asked again depends on the hangs of the requests before this one: decided
                # in turn, with what they showed, as a sequential run would (machinery/ordered.py).
                await wait_turn()
                self.may_send(cls)  # closed by them: a sequential run would not have sent this request
            if retried >= self._retries_left(result, cls):
                break
            retried += 1
            first = result.error or str(result.status)
            temporary = result.status in TEMPORARY
            await asyncio.sleep(RETRY_PAUSE_S * retried)
            result = await self._send_once(*request, content_length=content_length, replay_safe=retry)
            attempts.append((result, self.hangs.clock()))
            if not says_nothing(result):
                came_right = f"{method} {brief(path)}: {first}, then {result.status} on a retry"
                self.busy_at_random |= temporary
        if retried and says_nothing(result):
            self.persistent += 1  # asked again and still nothing: not a passing fault
        await wait_turn()  # under --concurrency, answers are delivered in input order (machinery/ordered.py)
        # The budget counts in delivery order too: what it closes does not depend on which answer came first.
        # A request that could have paused a listed group is delivered whatever closed meanwhile: its answer
        # may be the only word that it did.
        if retry:
            self.may_send(cls)
        for attempt, ended_at in attempts:
            await self.hangs.observe(cls, attempt, ended_at)
        if came_right:
            self.transient.append(came_right)
        return result

    async def send_once(
        self,
        cls: RequestClass,
        method: str,
        path: str,
        headers: Sequence[tuple[str, str]],
        body: bytes = b"",
        *,
        auth: Project | None = None,
    ) -> HttpResult:
        """One request that is never asked again (a start: its first attempt may have taken effect)."""
        self.may_send(cls)
        result = await self._send_once(
            method, path, headers, auth, body, content_length=True, replay_safe=False
        )
        await self.hangs.observe(cls, result)
        return result

    async def _send_once(
        self,
        method: str,
        path: str,
        headers: Sequence[tuple[str, str]],
        auth: Project | None,
        body: bytes,
        *,
        content_length: bool,
        replay_safe: bool,
    ) -> HttpResult:
        async with self.in_flight.one():
            return await self.client.send(
                method,
                path,
                headers,
                auth=auth,
                body=body,
                content_length=content_length,
                replay_safe=replay_safe,
            )

    def _retries_left(self, result: HttpResult, cls: RequestClass) -> int:
        if self.persistent >= MAX_PERSISTENT_FAILURES:
            return 0
        # A hang costs a whole timeout: retried once for its whole class, while the target shows no habit.
        if result.outcome is Outcome.TIMED_OUT:
            return 1 if self.hangs.may_retry(cls) else 0
        if result.status in TEMPORARY:
            return MAX_TEMPORARY_RETRIES_WHEN_BUSY if self.busy_at_random else MAX_TEMPORARY_RETRIES
        return MAX_TRANSIENT_RETRIES
