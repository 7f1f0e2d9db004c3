"""What a scenario check works with: the target, the contract and its expectations, a client that applies
credentials, the fixture pool, and the recorder of the attempt that is running.

Scenario checks call :meth:`CheckContext.stop` (and friends) to send requests: the context builds each one,
the sender (machinery/sender.py) applies the run's retry and hang policy, and every final answer passes the
response oracles on its way back (``on_answer``). The fixture pool (machinery/pool.py) keeps the keeper's
bookkeeping. The context satisfies :class:`OracleContext`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from conformance.checks.machinery.base import Finding, Kind, Sent, Title, echo_candidates
from conformance.checks.machinery.expectations import Expectations
from conformance.checks.machinery.hang_budget import HangBudget, RequestClass, class_of
from conformance.checks.machinery.in_flight import InFlight
from conformance.checks.machinery.lag import ANY_STATUS, LagLog, Read, Reading, read_until
from conformance.checks.machinery.pool import FixturePool
from conformance.checks.machinery.recorder import Recorder
from conformance.checks.machinery.sender import HangingClass, Sender, says_nothing
from conformance.checks.machinery.shapes import ClientShape
from conformance.spec import Contract, Profile
from conformance.spec.paths import show_path, start_path, stop_path
from conformance.spec.statuses import PAUSABLE_CODES, SETTLED
from conformance.target import Project, Target
from conformance.transport.http import Client
from conformance.transport.safety import MINTING_LANE, SafetyGuard

T = TypeVar("T")
# The start operation's Content-Type, as the SDK sends it (an AK/SK signature carries and signs the same).
START_HEADERS = (("Content-Type", "application/json;charset=UTF-8"),)

__all__ = ["CheckContext", "HangingClass", "says_nothing", "shown_status"]


class CheckContext:
    """Built by the runner, which passes every run option from :class:`~conformance.options.RunOptions`:
    the context has no defaults of its own, so a run's settings have one source."""

    def __init__(
        self,
        *,
        target: Target,
        contract: Contract,
        client: Client,
        guard: SafetyGuard,
        seed: int,
        depth: str,
        on_answer: Callable[[Sent], None],
        settle_timeout: float,
        max_examples: int | None,
        race_width: int,
        concurrency: int,
        hangs: HangBudget | None = None,
        effect_hold: float | None = None,
    ) -> None:
        self.target = target
        self.contract = contract
        self.expected = Expectations(contract)
        self.client = client
        self.guard = guard
        self.seed = seed
        self.depth = depth
        self.settle_timeout = settle_timeout
        self.effect_hold = effect_hold  # checks/lasting.py; None: its default
        self.max_examples = max_examples
        self.race_width = race_width
        self.concurrency = concurrency  # requests in flight for checks of independent requests (ordered.py)
        self.in_flight = InFlight(concurrency)  # ... and for the whole run, whatever runs side by side
        # The recorder of the running attempt and the sender of its lane belong to the asyncio task that
        # runs the check (and the tasks it starts): checks running side by side (runner/lanes.py) each
        # count, record and budget hangs in their own.
        self.senders = [Sender(client, hangs or HangBudget(client.request_timeout), self.in_flight)]
        self._sender: ContextVar[Sender | None] = ContextVar(f"sender-{id(self)}", default=None)
        self._lane_senders: dict[str, Sender] = {}
        self._outside = Recorder("", ())  # what is sent outside any attempt (tests driving a check's parts)
        self._recorder: ContextVar[Recorder | None] = ContextVar(f"recorder-{id(self)}", default=None)
        self.listed = frozenset(target.listed_group_ids())  # asked of every stop: computed once
        self.pool = FixturePool(target.project, self._pool_reader if contract.has_show_operation else None)
        self._on_answer = on_answer
        self.lags = LagLog()  # status reads that agreed with a write only after re-reading (run notes)
        # What this run's own writes should have left a group in: 7, 3 or 6 after a 200 to a valid stop of
        # its id, 1 or 2 after a 200 start. (A 200 to a look-alike id may have paused nothing.)
        self.written: dict[str, frozenset[int]] = {}
        # The checks this run runs (the runner sets them): a check may hand a request to a later one only
        # if that one runs (the concurrency race carries the effect check's first stop).
        self.selected: frozenset[str] = frozenset()

    @property
    def profile(self) -> Profile:
        return self.contract.profile

    @property
    def recorder(self) -> Recorder:
        """The recorder of the attempt running in this task."""
        return self._recorder.get() or self._outside

    @recorder.setter
    def recorder(self, recorder: Recorder) -> None:
        self._recorder.set(recorder)

    @property
    def sender(self) -> Sender:
        """The sender of the lane running in this task (the run's outside any lane)."""
        return self._sender.get() or self.senders[0]

    @contextmanager
    def in_lane(self, name: str) -> Iterator[None]:
        """What runs inside is of the lane ``name`` (runner/lanes.py): it sends with that lane's sender and
        hang budget (machinery/hang_budget.py) and mints that lane's ids - whether or not the lanes run side
        by side - so a lane's decisions depend neither on what the other lane met meanwhile nor on
        ``--concurrency``."""
        sender = self._lane_senders.get(name)
        if sender is None:
            sender = Sender(self.client, self.senders[0].hangs.lane(), self.in_flight)
            self._lane_senders[name] = sender
            self.senders.append(sender)
        sending, minting = self._sender.set(sender), MINTING_LANE.set(name)
        try:
            yield
        finally:
            self._sender.reset(sending)
            MINTING_LANE.reset(minting)

    @property
    def transient(self) -> list[str]:
        """Answers that were retried and then came right, lane by lane (the run's notes)."""
        return [text for sender in self.senders for text in sender.transient]

    @property
    def request_timeout(self) -> float:
        return self.client.request_timeout

    def exchange_secrets(self, sent: Sent) -> Sequence[str]:
        return echo_candidates(sent, self.target.secrets())

    # -- sending -----------------------------------------------------------------------------------------

    async def send(
        self,
        method: str,
        path: str,
        headers: Sequence[tuple[str, str]],
        *,
        kind: Kind = Kind.STOP,
        retry: bool = True,
        auth: Project | None = None,
        body: bytes = b"",
        content_length: bool = True,
    ) -> Sent:
        """Send one request by the run's retry and hang policy (machinery/sender.py); only its final answer
        reaches the oracles. ``retry=False`` for a request that could pause a listed group. A request of a
        class the run no longer sends raises :class:`HangingClass`. ``auth``: the project whose credential
        the client attaches (transport/auth.py; None: ``headers`` are all the request carries)."""
        cls = class_of(self.target, method, kind, path, headers, auth)
        result = await self.sender.send(
            cls, method, path, headers, auth=auth, retry=retry, body=body, content_length=content_length
        )
        token = auth.token if auth is not None and auth.token else None
        token = token or next((v for k, v in headers if k.lower() == "x-auth-token"), None)
        return self.deliver(Sent(method, path, kind, token, result, self.recorder.check, retry, str(cls)))

    def deliver(self, sent: Sent) -> Sent:
        """An answer is counted for the attempt that is running and passes the response oracles."""
        self.recorder.requests += 1
        self._on_answer(sent)
        return sent

    @property
    def hangs(self) -> HangBudget:
        return self.sender.hangs

    def may_send(self, cls: RequestClass) -> None:
        self.sender.may_send(cls)

    async def stop(
        self,
        group_id: str,
        *,
        project_id: str | None = None,
        credential: Project | bool | None = True,
        headers: Iterable[tuple[str, str]] = (),
        method: str = "PUT",
        params: tuple[str, str] = ("", ""),
        shape: ClientShape | None = None,
    ) -> Sent:
        """A stop request. ``credential``: True for the target's own, a Project for its, False for none;
        ``params``: raw path parameters after the project and group segments; ``shape``: the request as a
        given client sends it (machinery/shapes.py), else the suite's default (``Content-Length: 0``)."""
        project_id = project_id if project_id is not None else self.target.project.project_id
        path = stop_path(project_id, group_id, params=params)
        body = shape.body if shape else b""
        auth = None
        if credential is not False:
            auth = credential if isinstance(credential, Project) else self.target.project
        # An AK/SK signature carries the SDK's Content-Type (it signs it): the client sends a shape's none
        # twice (transport/auth.py).
        all_headers = [*(shape.headers if shape else ()), *headers]
        # A listed group may be paused by this very request: never repeat it blindly.
        listed = group_id in self.listed
        kind = Kind.STOP if method == "PUT" else Kind.OTHER_METHOD
        retry = not (listed and kind is Kind.STOP)
        length = shape.content_length if shape else True
        sent = await self.send(
            method, path, all_headers, kind=kind, retry=retry, auth=auth, body=body, content_length=length
        )
        if listed and kind is Kind.STOP and sent.result.status == 200:
            self.pool.keeper_paused(group_id)
            if credential is True or credential is self.target.project:
                self.written[group_id] = SETTLED
        return sent

    async def show(self, group_id: str, project: Project | None = None) -> Sent:
        project = project or self.target.project
        return await self.send(
            "GET", show_path(project.project_id, group_id), (), kind=Kind.SHOW, auth=project
        )

    async def start(self, group_id: str) -> Sent:
        """The start operation (huawei): resume a paused group. The body is the target's ``restore:`` keys
        as the SDK's StartTaskGroupReq sends them, and the credential is signed over it. Never repeated: a
        first attempt may have taken effect."""
        assert self.target.restore is not None
        project = self.target.project
        path = start_path(project.project_id, group_id)
        body = json.dumps(dict(self.target.restore), separators=(",", ":")).encode()
        cls = class_of(self.target, "PUT", Kind.START, path, START_HEADERS, project)
        result = await self.sender.send_once(cls, "PUT", path, START_HEADERS, body, auth=project)
        sent = Sent("PUT", path, Kind.START, project.token, result, self.recorder.check, False, str(cls))
        self.deliver(sent)
        if result.status == 200:
            self.written[group_id] = PAUSABLE_CODES
        return sent

    def keeper_paused(self, sent: Sent) -> None:
        """A request that names the keeper only by resemblance (a look-alike id) answered 200: the keeper
        was pausable until then, so what was deferred on it holds, and the next check needs a new one."""
        if sent.result.status == 200 and self.pool.keeper is not None:
            self.pool.keeper_paused(self.pool.keeper)

    async def read_status(
        self, group_id: str, project: Project | None = None, *, agrees: Collection[int] = ANY_STATUS
    ) -> int | None:
        """The group's status by the show operation, or None when it could not be read. ``agrees``: what a
        write of this run should have left it in (read again while it disagrees: :meth:`read_after_write`)."""
        return (await self.read_after_write(group_id, agrees, project=project)).status

    async def _pool_reader(self, group_id: str, agrees: Collection[int]) -> int | None:
        return await self.read_status(group_id, agrees=agrees)

    async def reread(
        self, read: Read[T], agrees: Collection[int], *, passing: Collection[int] = (), what: str
    ) -> Reading[T]:
        """The one rule for a status read that follows a write (machinery/lag.py): read again while it
        disagrees with ``agrees``, up to the settle timeout. A lag is noted for the run, never a failure;
        a read that still disagrees is the caller's to judge, with :meth:`Reading.lag` as evidence."""
        reading = await read_until(read, agrees, passing=passing, bound=self.settle_timeout)
        self.lags.observe(self.recorder.check or "fixtures", what, reading)
        return reading

    async def read_after_write(
        self,
        group_id: str,
        agrees: Collection[int],
        *,
        passing: Collection[int] = (),
        project: Project | None = None,
        after: str = "",
    ) -> Reading[Sent]:
        """:meth:`reread` with the show operation of ``group_id``; ``after`` names the write for the note."""

        async def read() -> tuple[int | None, Sent]:
            shown = await self.show(group_id, project)
            return shown_status(shown), shown

        what = f"{self.recorder.check or 'fixtures'}: group {group_id}" + (f" after {after}" if after else "")
        return await self.reread(read, agrees, passing=passing, what=what)

    async def still_pausable(
        self, group_id: str, requirement: str, after: str, project: Project | None = None
    ) -> None:
        """Verify that requests which must change nothing left ``group_id`` pausable.

        With a read operation: read the status now (a changed status is the finding, and the pool moves on
        from the group). Without one (strict): the proof is a valid stop, which would use the group up, so
        the verification waits for the group's next valid stop (the pool settles it).
        """
        project = project or self.target.project
        if group_id in self.pool.paused:
            return  # a request of this very check answered 200 and paused it: that answer is the finding
        if self.contract.has_show_operation:
            # Nothing should have changed: a read that disagrees may still be the read path lagging a write.
            reading = await self.read_after_write(group_id, PAUSABLE_CODES, project=project, after=after)
            shown, status = reading.answer, reading.status
            if status is None:
                self.recorder.undecided(
                    requirement, f"could not read the group's status after {after} ({shown.result.status})"
                )
            elif not reading.agrees:
                self.fail(
                    Finding(
                        Title("{after} changed the group's status", after=after),
                        f"{reading.received(self.settle_timeout)} after {after} (the show operation)",
                        "status 1 or 2, as read just before",
                        sent=shown,
                        requirement=requirement,
                    )
                )
                if group_id == self.pool.keeper:
                    self.pool.retire_keeper()
            return
        if group_id == self.pool.keeper:
            self.pool.defer(self.recorder.check, requirement, after)
            return
        confirm = await self.stop(group_id, project_id=project.project_id, credential=project)
        self.settle_verification(confirm, [(requirement, after)])

    def settle_verification(self, confirm: Sent, pending: Sequence[tuple[str, str]]) -> bool:
        """Judge a valid stop that proves earlier refused requests changed nothing (strict profile).

        200: the group was still pausable. A refusal as "not pausable" cannot say whether the group was
        stale before the run or one of the earlier requests paused it without saying so: inconclusive,
        never a finding. Returns whether the group was pausable.
        """
        status = confirm.result.status
        if status == 200:
            return True
        for requirement, after in pending:
            self.recorder.undecided(
                requirement,
                f"a valid stop after {after} answered {status}: either the group was not pausable before "
                "the run (stale) or one of those requests paused it; the huawei profile's show operation "
                "tells which",
            )
        return False

    async def settle_remaining(self) -> None:
        """Settle deferred verifications no effect check settled (it was not selected, or ran out)."""
        handed = self.pool.take_handed_over()
        if handed is not None:  # the keeper's first stop was raced; no effect check took it
            _, raced, deferred = handed
            self.pool.settle(raced, deferred)
        if not self.pool.deferred:
            return
        self.recorder = Recorder("fixtures", ())
        group, deferred = await self.pool.take_keeper()
        self.pool.settle(await self.stop(group), deferred)

    # -- recording (the recorder of the attempt that is running) ------------------------------------------

    def fail(self, finding: Finding) -> None:
        self.recorder.fail(finding)

    def note(self, text: str) -> None:
        self.recorder.note(text)

    def expect(
        self, sent: Sent, allowed: Iterable[int], title: Title | str, why: str = "", *, requirement: str = ""
    ) -> bool:
        return self.recorder.expect(sent, allowed, title, why, requirement=requirement)

    async def gather(self, *calls: Awaitable[Sent]) -> list[Sent]:
        return list(await asyncio.gather(*calls))


def shown_status(shown: Sent) -> int | None:
    """The status a show answered, or None when it answered none (not 200, no integer status)."""
    status = shown.result.json_field("status")
    return status if shown.result.status == 200 and isinstance(status, int) else None
