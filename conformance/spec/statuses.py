"""Task group statuses (ShowTaskGroup's ``status``): codes and names as the contract defines them.

Every module that names a status reads it here, so a code is spelled once, in the contract. The vocabulary
is the same in both profiles, but only the huawei profile documents it: the strict page names the pausable
states in words only (ERRATUM-PAUSABLE-STATE-NAMES), and the show operation that reports codes is the
platform's. So the codes come from the huawei profile's ``TaskGroupStatus`` schema: ``enum`` with one name
per code in ``x-enum-varnames`` (the names a target file lists groups by), ``x-pausable`` (the statuses a
stop pauses, STOP-PRECONDITION) and ``x-after-stop`` (what a group shows after a 200 stop, STOP-EFFECT).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from conformance.errors import SpecError
from conformance.spec.documents import Profile, load_contract


def _status_schema() -> dict[str, Any]:
    document = load_contract(Profile.HUAWEI).document
    return document["components"]["schemas"]["TaskGroupStatus"]["properties"]["status"]  # type: ignore[no-any-return]


def _read() -> tuple[dict[str, int], frozenset[int], frozenset[int]]:
    schema = _status_schema()
    codes, names = schema["enum"], schema["x-enum-varnames"]
    if len(codes) != len(names):
        raise SpecError(f"TaskGroupStatus: {len(codes)} codes but {len(names)} names in x-enum-varnames")
    by_name = {str(name): int(code) for name, code in zip(names, codes, strict=True)}
    pausable, after_stop = frozenset(schema["x-pausable"]), frozenset(schema["x-after-stop"])
    unknown = (pausable | after_stop) - set(codes)
    if unknown:
        raise SpecError(
            f"TaskGroupStatus: x-pausable / x-after-stop name codes not in enum: {sorted(unknown)}"
        )
    return by_name, pausable, after_stop


_BY_NAME, _PAUSABLE, _AFTER_STOP = _read()

# name -> code, in the contract's order (what a target file's ``groups:`` keys are)
STATUS_CODES: Mapping[str, int] = MappingProxyType(_BY_NAME)
# code -> name
STATUS_NAMES: Mapping[int, str] = MappingProxyType({code: name for name, code in _BY_NAME.items()})
ALL_CODES = frozenset(STATUS_NAMES)
# the statuses a stop pauses (STOP-PRECONDITION), by code and by name
PAUSABLE_CODES = _PAUSABLE
PAUSABLE = frozenset(STATUS_NAMES[code] for code in _PAUSABLE)
# what a group shows after a 200 stop (STOP-EFFECT): pausing, then paused, or completed (finished meanwhile)
SETTLED = _AFTER_STOP

# The statuses the toolkit names on their own (the model of the stateful check, restore, the server's store).
MONITORING = STATUS_CODES["monitoring"]
PAUSED = STATUS_CODES["paused"]
PAUSING = STATUS_CODES["pausing"]
COMPLETED = STATUS_CODES["completed"]
