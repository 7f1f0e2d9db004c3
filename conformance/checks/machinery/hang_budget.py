"""The run's budget for requests that get no answer: hangs are counted per *class of requests*, across every
check, so that a run ends in bounded time whatever the target does.

A hang costs a whole ``--request-timeout``. Counted per check (as before), a target that never answers one
kind of request made every check that sends it pay a few timeouts, and the re-runs of failed checks paid
again: minutes per run. Counted per class for the whole run, what the target has shown once is known to
every check.

A class of requests is what a server's code path plausibly depends on, as far as the tool can tell from the
request alone (:func:`class_of`):

- the method and the operation (stop, show, start; another method on the stop path): different handlers;
- the credential as the server meets it against the path's project (:class:`Credential`): valid, another
  project's, read-only, none, or refused. Authentication, authorisation and the permission check are
  separate steps of a server, each of which may wait on something that never answers (an IAM lookup, a
  lock): a lock taken by authenticated stops hangs valid, foreign and read-only stops, not refused ones;
- whether the group is listed under the path's project: a lookup that finds the row and one that finds none
  take different paths (a scan for a row that is not there; a row lock on one that is).

Not the id's characters: every further dimension multiplies the classes a target can hang on one by one,
and with them the run's bound. A server that hangs on some odd ids (a space) closes the class of
valid-credential stops of unknown groups, and the checks that still needed it are inconclusive (the target
fails STOP-ROBUST on that evidence already).

The rules (:class:`HangBudget`):

- A class that has gone unanswered ``MAX_UNANSWERED`` times is *closed*: no check sends it again; a check
  that needs it ends with what it has (machinery/context.py raises ``HangingClass``: inconclusive, never a
  pass). The first timeout of a class is asked once more - once for the whole class, not per check - and
  only while no class has closed: once the target has shown that it hangs, a timeout is its habit, not a
  passing fault, and a first timeout in another class closes that class too.
- The run waits at most ``ALLOWANCE_TIMEOUTS`` x the request timeout, all told, for answers that never come
  (concurrent waits count once). Spent, no check sends anything more: every later check is not run, so the
  run's bound does not depend on how many classes the target hangs on.
- Two classes unanswered in a row, with no answer of any kind between them, may mean the target stopped
  answering altogether: the request the preflight saw answered is sent again (the *probe*). Unanswered too,
  the target is dead: :class:`TargetStoppedAnswering` ends the run (exit 3, with the partial report).

Checks that run side by side (runner/lanes.py) each count in a budget of their own lane
(:meth:`HangBudget.lane`): a lane's checks run one after another, so what a lane closes, and which of its
checks meets it closed, is what a sequential run of that lane would decide - whatever the other lane met
meanwhile. What bounds the run stays one: the allowance (waits of every lane, counted once where they
overlap) and a dead target.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from conformance.checks.machinery.base import Kind
from conformance.spec.paths import path_ids
from conformance.target import AkSk, Project, Target
from conformance.transport.http import HttpResult, Outcome

MAX_UNANSWERED = 2  # timed-out exchanges that close a class (a first timeout and its one retry)
ALLOWANCE_TIMEOUTS = 6  # the whole run waits at most this many request timeouts for answers that never come
LONG_PATH = 512  # shorter paths decode in microseconds: not worth bounding the target's ids for
CLASSES_BEFORE_PROBE = 2  # distinct classes unanswered in a row before asking whether the target is alive


class Credential(StrEnum):
    """A request's credential as the server meets it, against the project its path names."""

    VALID = "the valid credential"
    FOREIGN = "another project's credential"  # authenticates, then must be refused by authorisation
    READ_ONLY = "a read-only token"  # authenticates, then must be refused by the permission check
    NONE = "no credential"  # absent, empty or blank
    REFUSED = "a refused credential"  # invalid, tampered, look-alike, a wrong signature, out-of-range length


@dataclass(frozen=True)
class RequestClass:
    method: str
    operation: str  # "stop", "show", "start", or "stop path" for another method on it
    credential: Credential
    listed: bool  # the group is listed under the path's project

    def __str__(self) -> str:
        group = "a listed group" if self.listed else "an unlisted group"
        return f"{self.method} {self.operation} with {self.credential}, {group}"


class TargetStoppedAnswering(Exception):
    """Requests of every kind go unanswered, even the one the preflight saw answered: the run ends."""


def _owner(target: Target, token: str | None, aksk: AkSk | None = None) -> Project | None:
    """The target's project whose credential this is (a token, or else a key pair), if any."""
    for project in (target.project, target.other_project):
        if project is None:
            continue
        if (token is not None and token == project.token) or (token is None and aksk == project.aksk):
            return project
    return None


def classify_credential(
    target: Target, path_project: str, headers: Sequence[tuple[str, str]], signer: Project | None
) -> Credential:
    """``signer``: the project whose credential headers were applied (None: ``headers`` are all there is)."""
    owner: Project | None
    if signer is not None and not signer.token:
        owner = _owner(target, None, signer.aksk)  # transport/auth.py signs without a token
    else:
        tokens = (
            [signer.token] if signer is not None else [v for k, v in headers if k.lower() == "x-auth-token"]
        )
        if not tokens:
            signed = any(k.lower() == "authorization" for k, _ in headers)
            return Credential.REFUSED if signed else Credential.NONE
        if len(tokens) > 1:
            return Credential.REFUSED  # two token lines: only look-alike probes send those
        if not (tokens[0] or "").strip():
            return Credential.NONE  # blank to most languages' strip(), as the token checks send it
        if tokens[0] == target.project.readonly_token:
            return Credential.READ_ONLY
        owner = _owner(target, tokens[0])
    if owner is None:
        return Credential.REFUSED
    return Credential.VALID if owner.project_id == path_project else Credential.FOREIGN


def class_of(
    target: Target,
    method: str,
    kind: Kind,
    path: str,
    headers: Sequence[tuple[str, str]],
    signer: Project | None,
) -> RequestClass:
    """The class of one request; ``signer``: the project whose credential headers are among ``headers``
    (None: the headers tell)."""
    operation = "stop path" if kind is Kind.OTHER_METHOD else kind.value
    known = [(p.project_id, p.group_ids()) for p in (target.project, target.other_project) if p is not None]
    longest = None
    if len(path) > LONG_PATH:
        # Only compared with the target's ids below: a segment too long to be one is not decoded (a
        # character is at most 4 bytes of UTF-8).
        longest = 4 * max(max(map(len, groups), default=0) for _, groups in known)
        longest = max(longest, 4 * max(len(project) for project, _ in known))
    path_project, group = path_ids(path, longest=longest)
    listed = any(project == path_project and group in groups for project, groups in known)
    credential = classify_credential(target, path_project, headers, signer)
    return RequestClass(method, operation, credential, listed)


@dataclass
class _Unanswered:
    count: int = 0
    curl: str = ""  # the last timed-out exchange's (redacted), for the run's notes


Probe = Callable[[], Awaitable[HttpResult]]


@dataclass
class _RunWide:
    """What bounds the whole run, shared by the budgets of all its lanes."""

    dead: str = ""  # why the target is judged to have stopped answering; "" while it answers
    waited_s: float = 0.0  # union of the intervals spent on exchanges that timed out
    waits: list[tuple[float, float]] = field(default_factory=list)  # that union, merged (few: bounded)
    probing: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass
class HangBudget:
    """What the run has learnt about the target's hangs; one per run (and one per lane of checks running
    side by side: :meth:`lane`), shared by every sender of it."""

    request_timeout: float
    clock: Callable[[], float] = time.monotonic
    probe: Probe | None = None  # re-sends the preflight's answered request (set by the runner)
    probe_class: RequestClass | None = None
    unanswered: dict[RequestClass, _Unanswered] = field(default_factory=dict)
    closed: list[RequestClass] = field(default_factory=list)  # in the order they closed
    _streak: set[RequestClass] = field(default_factory=set)  # classes unanswered since the last answer
    _run: _RunWide = field(default_factory=_RunWide)
    _lanes: list[HangBudget] = field(default_factory=list)

    @property
    def dead(self) -> str:
        return self._run.dead

    @property
    def waited_s(self) -> float:
        return self._run.waited_s

    @property
    def allowance_s(self) -> float:
        return ALLOWANCE_TIMEOUTS * self.request_timeout

    def lane(self) -> HangBudget:
        """A budget for a lane of checks that runs beside others: it starts from what the run knows now (the
        preflight's hangs) and counts its own from there; the allowance and a dead target stay the run's."""
        lane = HangBudget(
            self.request_timeout,
            self.clock,
            self.probe,
            self.probe_class,
            {cls: _Unanswered(seen.count, seen.curl) for cls, seen in self.unanswered.items()},
            list(self.closed),
            set(self._streak),
            self._run,
        )
        self._lanes.append(lane)
        return lane

    def refusal(self, cls: RequestClass) -> str:
        """Why a request of ``cls`` may not be sent ("" when it may)."""
        if self.dead:
            raise TargetStoppedAnswering(self.dead)
        if cls in self.closed:
            return (
                f"stopped after {cls} went unanswered {self.unanswered[cls].count} times within "
                f"{self.request_timeout:g}s (no check sends it again)"
            )
        if self._run.waited_s >= self.allowance_s:
            return (
                f"the run has waited {self.waited_s:.0f}s for answers that never came "
                f"({ALLOWANCE_TIMEOUTS} x --request-timeout), so it sends nothing more"
            )
        return ""

    def may_retry(self, cls: RequestClass) -> bool:
        """Whether a timeout of ``cls`` (not yet observed) is asked once more: the class's first, while no
        class has closed."""
        first = cls not in self.unanswered
        return first and not self.closed and self.waited_s < self.allowance_s

    async def observe(self, cls: RequestClass, result: HttpResult, ended_at: float | None = None) -> None:
        """Count ``result`` against its class; may probe the target, and raise if it is dead. ``ended_at``:
        when the exchange ended by ``clock`` (None: now) - it may be counted later, in delivery order."""
        if result.outcome is not Outcome.TIMED_OUT:
            if result.status is not None:
                self._streak.clear()  # an answer of any kind: the target is alive
            return
        self._wait(result.elapsed_ms / 1000, ended_at)
        seen = self.unanswered.setdefault(cls, _Unanswered())
        seen.count += 1
        seen.curl = result.exchange.curl
        limit = MAX_UNANSWERED if not self.closed else 1
        if seen.count >= limit and cls not in self.closed:
            self.closed.append(cls)
        self._streak.add(cls)
        if len(self._streak) >= CLASSES_BEFORE_PROBE:
            await self._confirm_alive()

    def observe_all(self, cls: RequestClass, results: Iterable[HttpResult]) -> Awaitable[None]:
        async def each() -> None:
            for result in results:
                await self.observe(cls, result)

        return each()

    def _wait(self, elapsed_s: float, ended_at: float | None) -> None:
        """Add an exchange's wait to the union of waits (concurrent ones overlap: counted once)."""
        end = self.clock() if ended_at is None else ended_at
        merged: list[tuple[float, float]] = []
        for start, stop in sorted([*self._run.waits, (end - elapsed_s, end)]):
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
            else:
                merged.append((start, stop))
        self._run.waits = merged
        self._run.waited_s = sum(stop - start for start, stop in merged)

    async def _confirm_alive(self) -> None:
        if self.probe is None or self.probe_class in self.closed:
            return  # nothing known to have been answered to ask again
        async with self._run.probing:
            if self.dead or len(self._streak) < CLASSES_BEFORE_PROBE:
                return  # another sender's probe has decided meanwhile
            kinds = "; ".join(sorted(map(str, self._streak)))
            answer = await self.probe()
            if answer.outcome is Outcome.TIMED_OUT:
                self._run.dead = (
                    f"no answer within {self.request_timeout:g}s to {len(self._streak)} kinds of request "
                    f"in a row ({kinds}), nor to the request the preflight saw answered"
                )
                raise TargetStoppedAnswering(self.dead)
            self._streak.clear()

    def notes(self) -> list[str]:
        """For the run's notes: which classes were closed (by the run, then by each lane in turn), and a curl
        line of each (already redacted)."""
        noted: dict[RequestClass, str] = {}
        for budget in (self, *self._lanes):
            for cls in budget.closed:
                noted.setdefault(
                    cls,
                    f"no check sent more of {cls} after {budget.unanswered[cls].count} went unanswered; "
                    f"the last: {budget.unanswered[cls].curl}",
                )
        return list(noted.values())
