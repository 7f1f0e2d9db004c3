"""The fixture pool: the listed task groups a run may pause, handed to the checks that need them.

A provider can spare two or three pausable groups, not eleven, and a group paused last night is still paused
tonight. So the pool decides, in one place:

- **Economy.** Checks whose requests must leave a group pausable (bad credentials, a read-only token, other
  methods, look-alike ids ...) share one *keeper* group. After each such check the keeper is verified still
  pausable: where the profile has a read operation (huawei) by reading its status, which costs nothing; on
  strict, where the only proof is a stop, the verifications are *deferred* and settled together by the next
  valid stop of the keeper - the effect check's first stop - so the whole strict suite needs three groups:
  the keeper (which then serves the effect check), one for the concurrency check, one for the rest.
- **Freshness.** A listed group that is not in its listed status is *stale*: on huawei it is read before it
  is handed out and skipped when stale; on strict staleness can only be inferred from a valid stop that is
  refused as "not pausable", and is marked as inferred. Before a check gives up on a group it tries the
  next listed one *of the same status* (:meth:`FixturePool.take_like`), so a second night against the same
  account uses the groups the first night did not pause; and where every listed group of one pausable status
  was refused while the other status paused, :meth:`FixturePool.refused_kinds` says so (stale, or a server
  that refuses that status: the run cannot tell which, so it is no pass).
- **Given back.** A group a check paused and started again (stateful) goes back to the queue; the read path
  may still show it paused for a while, so its read waits for the start to show (machinery/lag.py) rather
  than call it stale.
- **Importance.** Groups are handed out in the order the suite asks for them, and the suite asks for them in
  order of importance (keeper and effect, then concurrency, then the rest), so a short list loses the least
  important checks first.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field

from conformance.checks.machinery.base import NotRun, Sent
from conformance.checks.machinery.lag import ANY_STATUS
from conformance.results import StaleFixture
from conformance.spec.statuses import PAUSABLE, PAUSABLE_CODES, STATUS_NAMES
from conformance.target import Project

# Reads a group's status: the status code, or None when it could not be read (no answer, 5xx, no operation).
# The second argument is what a write of this run should have left the group in (read again while the read
# disagrees); any status, where no write came before.
StatusReader = Callable[[str, Collection[int]], Awaitable[int | None]]


@dataclass
class Deferred:
    """A verification that waits for the keeper's next valid stop (strict profile)."""

    check: str
    requirement: str
    after: str  # what was sent, for the message


@dataclass
class FixturePool:
    project: Project
    reader: StatusReader | None = None  # None: the profile has no read operation
    stale: list[StaleFixture] = field(default_factory=list)
    paused: list[str] = field(default_factory=list)  # listed groups this run paused
    deferred: list[Deferred] = field(default_factory=list)
    keeper: str | None = None
    kinds_paused: set[str] = field(default_factory=set)  # listed statuses of the groups paused (200 side)
    given_back: set[str] = field(default_factory=set)  # paused and started again by this run
    # time.monotonic() of the 200 that paused each group in ``paused`` (checks/lasting.py: how long it held)
    paused_at: dict[str, float] = field(default_factory=dict)
    # The keeper's first valid stop, released by the concurrency check together with its race
    # (checks/concurrency.py), with the verifications it settles: the effect check judges it as its own first
    # stop.
    handed_over: tuple[str, Sent, list[Deferred]] | None = None
    # Deferred verifications that came out inconclusive: (check, requirement, why), for the runner to add to
    # those checks' results (they finished before the keeper's valid stop settled them).
    late_inconclusive: list[tuple[str, str, str]] = field(default_factory=list)
    # Strict: the keeper whose first valid stop was refused as not pausable, and the checks whose
    # verifications that left undecided - run again on a fresh keeper (runner/keeper_again.py)
    stale_keeper: tuple[str, list[str]] | None = None
    # The other project's listed groups a valid stop found not pausable (authz-other-project tries them last)
    other_not_pausable: set[str] = field(default_factory=set)
    # Refused stops of listed groups that are not pausable, by group (checks/precondition.py reads them again)
    refused: dict[str, Sent] = field(default_factory=dict)
    _queue: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Interleave creating and monitoring groups so consecutive checks meet both kinds.
        creating, monitoring = self.project.groups_in("creating"), self.project.groups_in("monitoring")
        self._queue = [g for pair in zip(monitoring, creating, strict=False) for g in pair]
        self._queue += monitoring[len(creating) :] + creating[len(monitoring) :]

    @property
    def can_read(self) -> bool:
        return self.reader is not None

    def listed_status(self, group: str) -> str:
        return next(name for name, ids in self.project.groups.items() if group in ids)

    async def _fresh(self) -> str:
        """The next listed pausable group that is not stale (read first where the profile can)."""
        while self._queue:
            group = self._queue.pop(0)
            if self.reader is None:
                return group
            status = await self.reader(group, PAUSABLE_CODES if group in self.given_back else ANY_STATUS)
            if status is None or status in PAUSABLE_CODES:
                return group  # unreadable: used as listed, and its first stop will tell
            self.mark_stale(group, f"shows status {status} ({STATUS_NAMES.get(status, '?')})", inferred=False)
        raise NotRun(
            "no listed creating/monitoring group left"
            + (f" ({len(self.stale)} listed ones are stale)" if self.stale else "")
            + "; list more under groups.creating/monitoring"
        )

    async def take(self) -> str:
        """A fresh pausable group for one check alone (a stop consumes it)."""
        return await self._fresh()

    async def take_in(self, status_name: str) -> str:
        """A fresh pausable group listed in ``status_name`` (creating or monitoring)."""
        wanted = self.project.groups.get(status_name, ())
        for group in [g for g in self._queue if g in wanted]:
            self._queue.remove(group)
            self._queue.insert(0, group)
            candidate = await self._fresh()
            if candidate in wanted:
                return candidate
            self._queue.insert(0, candidate)
        raise NotRun(f"no fresh listed {status_name} group left")

    async def take_like(self, group: str) -> str:
        """A fresh group listed in the same status as ``group`` (just refused), else any fresh one."""
        try:
            return await self.take_in(self.listed_status(group))
        except NotRun:
            return await self._fresh()

    def refused_kinds(self) -> list[str]:
        """Plain words for each pausable status whose every listed group was refused as not pausable
        (inferred stale) while a group of the other status paused: stale groups and a server that refuses
        that status look the same from outside."""
        out = []
        for name, ids in sorted(self.project.groups.items()):
            refused = [s for s in self.stale if s.listed == name and s.inferred]
            others_paused = self.kinds_paused - {name}
            if name in PAUSABLE and ids and len(refused) == len(ids) and others_paused:
                out.append(
                    f"{len(refused)} of {len(ids)} {name} groups refused as not pausable while "
                    f"{' and '.join(sorted(others_paused))} groups paused: stale, or a server that refuses "
                    f"{name} groups"
                )
        return out

    async def borrow_keeper(self) -> str:
        """The shared group for requests that must leave it pausable."""
        if self.keeper is None:
            self.keeper = await self._fresh()
        return self.keeper

    def retire_keeper(self) -> None:
        """The keeper is no longer pausable (a check found it paused): the next borrower gets a new one."""
        self.keeper = None

    async def take_keeper(self) -> tuple[str, list[Deferred]]:
        """The keeper for a check that will pause it, with the verifications its first valid stop settles."""
        group = await self.borrow_keeper()
        self.keeper, deferred, self.deferred = None, self.deferred, []
        return group, deferred

    def take_handed_over(self) -> tuple[str, Sent, list[Deferred]] | None:
        """The keeper's raced first stop, for the one check that judges it (the effect check)."""
        handed, self.handed_over = self.handed_over, None
        return handed

    def defer(self, check: str, requirement: str, after: str) -> None:
        self.deferred.append(Deferred(check, requirement, after))

    def keeper_paused(self, group: str) -> None:
        """A request answered 200 that paused ``group``; if it is the keeper, the keeper was pausable until
        then - what was deferred on it holds - and the checks that come next need a new one."""
        self.note_paused(group)
        if group == self.keeper:
            self.deferred.clear()
            self.retire_keeper()

    def settle(self, confirm: Sent, deferred: list[Deferred]) -> None:
        """The keeper's first valid stop settles the verifications other checks deferred (strict): a 200
        says the group was pausable, so they hold. A refusal as "not pausable" cannot say whether the group
        was stale before the run or one of the requests paused it: inconclusive, never a finding."""
        if confirm.result.status == 200:
            return
        for item in deferred:
            self.late_inconclusive.append(
                (
                    item.check,
                    item.requirement,
                    f"a valid stop of the shared group after {item.after} answered {confirm.result.status}: "
                    "either it was not pausable before the run (stale) or one of the requests paused it; "
                    "the huawei profile's show operation tells which",
                )
            )

    def undecided(self, why: str) -> None:
        """The deferred verifications that will not be settled (a class the run no longer sends)."""
        for item in self.deferred:
            self.late_inconclusive.append((item.check, item.requirement, why))

    def mark_stale(self, group: str, observed: str, *, inferred: bool) -> None:
        if all(s.group_id != group for s in self.stale):
            self.stale.append(StaleFixture(group, self.listed_status(group), observed, inferred))

    def give_back(self, group: str) -> None:
        """A group this run paused is pausable again (started): others may use it, after the run's own."""
        if group in self.paused:
            self.paused.remove(group)
        self.paused_at.pop(group, None)
        self.given_back.add(group)
        if group not in self._queue:
            self._queue.append(group)

    def note_paused(self, group: str) -> None:
        if group not in self.paused:
            self.paused.append(group)
            self.paused_at[group] = time.monotonic()
