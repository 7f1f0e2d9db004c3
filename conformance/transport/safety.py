"""The safety guard: a run never pauses a task group the user did not hand it.

Users point the toolkit at real accounts. A request that could pause something - PUT on the stop path with
a credential the target file supplied - may only address a group the target file lists (state checks) or an
id the run minted itself, which cannot exist on the platform (not UUID-shaped, prefixed). Generated ids
(Schemathesis fuzzing, examples) that look like real ids or collide with listed ones are not sent; they are
counted and reported as skipped for safety.
"""

from __future__ import annotations

import re
from contextvars import ContextVar

# OMS task group ids are UUIDs; the page's example id is one.
_REAL_ID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
# Huawei Cloud project ids are 32 hex characters (the page's example: f4e146cac1de45669c3fed73dc3b9c6f).
REAL_PROJECT_ID = re.compile(r"^[0-9a-fA-F]{32}$")
MINTED_PREFIX = "omsconf-unknown-"
# Which lane of checks is minting (runner/lanes.py): each lane counts its own ids, so the ids a check sends
# depend on the seed and that check's lane alone, not on how the lanes' requests interleaved.
MINTING_LANE: ContextVar[str] = ContextVar("oms_conformance_minting_lane", default="")


class SafetyGuard:
    def __init__(self, listed_ids: set[str], seed: int) -> None:
        self._listed = frozenset(listed_ids)
        self._minted: set[str] = set()
        self._seed = seed  # minted ids depend on the seed only, so a replay sends the same requests
        self._counters: dict[str, int] = {}  # by minting lane
        self.skipped = 0

    def mint(self) -> str:
        """A group id that cannot name a real task group."""
        lane = MINTING_LANE.get()
        count = self._counters[lane] = self._counters.get(lane, 0) + 1
        gid = f"{MINTED_PREFIX}{self._seed:x}-{lane}{count}"
        self._minted.add(gid)
        return gid

    def is_listed(self, group_id: str) -> bool:
        return group_id in self._listed

    def allows_generated(self, group_id: str) -> bool:
        """Whether a *generated* id may be sent with a valid credential on PUT."""
        if group_id in self._minted:
            return True
        if group_id in self._listed or _REAL_ID.match(group_id.strip()):
            self.skipped += 1
            return False
        return True
