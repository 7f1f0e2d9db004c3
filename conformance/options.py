"""What a run is asked to do (:class:`RunOptions`): the one place its defaults live.

The CLI's options take their defaults from here (``DEFAULTS``), the pytest plugin its ``--oms-depth``, and
the runner hands these values to every check's context, which has no defaults of its own. Light on purpose:
the pytest plugin reads it in every pytest session (tests/unit/test_import_cost.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

DEPTHS = ("quick", "full")  # how much fuzzing a run does (checks/fuzz.py): the default first


@dataclass
class RunOptions:
    profile: str | None = None  # None: the target's
    checks: list[str] = field(default_factory=list)
    exclude_checks: list[str] = field(default_factory=list)
    seed: int | None = None
    depth: str = DEPTHS[0]
    max_examples: int | None = None  # fuzzing examples per mode; None: by depth
    request_timeout: float = 10.0
    reruns: int = 1
    # How long a status read after a stop or start may take to agree (machinery/lag.py); None: the target's.
    settle_timeout: float | None = None
    # How long a pause must have held when effect-lasts looks again; None: its default (1 s).
    # The suite's own tests shorten it for models whose pauses do not revert.
    effect_hold: float | None = None
    transport: httpx.AsyncBaseTransport | None = None  # in-process targets (tests)
    verify: bool | str = True
    # --proxy: a forward proxy URL, or "none"; None: the target file's proxy:, else the environment's
    # (transport/proxies.py).
    proxy: str | None = None
    run_id: str = ""  # "" = derived from profile, base URL and project (reports.reproduce.default_run_id)
    restore: bool = False  # resume the groups the run paused (huawei: the start operation)
    race_width: int = 16  # concurrent stops of one group in the concurrency check
    rate_limit: float | None = None  # requests/s over every request of the run (transport/pace.py)
    # In flight, for checks of independent requests (machinery/ordered.py); 4 measured on 2 cores, see
    # docs/benchmarks.md.
    concurrency: int = 4


DEFAULTS = RunOptions()  # what a run does unless told otherwise
