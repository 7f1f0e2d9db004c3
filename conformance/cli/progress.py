"""Live progress of a long check: requests sent / planned, rate and time left, fed by the engine's answers.

The engine reports every answer it judges (``sent``: the check's name, its requests so far and, when the
check knows it, how many it plans, and whether that may still grow); the checks only count, this module
alone knows about terminals:

- on a terminal one line is rewritten in place (``\\r``, erase to end of line), at most every
  ``TERMINAL_EVERY`` seconds, and the check's finished line (cli/terminal.py) overwrites it;
- elsewhere (a CI log) a whole line at most every ``LOG_EVERY`` seconds, so a night's log stays readable.

Nothing shows for a check that ends within ``QUIET_FOR`` seconds: a quick run looks as it always did.
Driven by answers rather than a timer thread, it writes nothing of its own after the run stops (an
interrupted run's partial report is the last thing printed) and a test can drive it with a fake clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

from conformance.results import CheckResult

QUIET_FOR = 2.0  # a check shorter than this shows no progress line
TERMINAL_EVERY = 0.25  # seconds between rewrites of the line in place
LOG_EVERY = 10.0  # seconds between lines in a log
ERASE = "\r\033[K"


def describe(name: str, sent: int, planned: int | None, elapsed: float, *, planning: bool = False) -> str:
    """``  … fuzz  1,200/6,000 requests  400/s  ~12s left`` (what is known of it). While the plan still
    grows (``planning``: the fuzz corpus is still being drawn) it reads ``1,200/3,000+`` and no time left
    is claimed, since it would be too short."""
    rate = sent / elapsed if elapsed > 0 else 0.0
    shown = f"/{planned:,}" + ("+" if planning else "") if planned else ""
    text = f"  … {name}  {sent:,}{shown} requests  {rate:,.0f}/s"
    if planned and not planning and rate > 0 and planned > sent:
        text += f"  ~{(planned - sent) / rate:,.0f}s left"
    return text


class LiveProgress:
    """The engine's progress hook (``__call__``: a check starts or ends) and answer hook (:meth:`sent`)."""

    def __init__(
        self,
        stream: TextIO,
        *,
        terminal: bool,
        finished: Callable[[str, CheckResult | None], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.terminal = terminal
        self.finished = finished  # writes the check's start marker and its result line
        self.clock = clock
        self.started = 0.0
        self.last_written: float | None = None
        self.open_line = False  # a terminal line not ended yet: a check's marker or its progress

    def __call__(self, name: str, result: CheckResult | None) -> None:
        if result is None:
            self.started = self.clock()
            self.last_written = None
        self.open_line = self.terminal and result is None
        self.finished(name, result)

    def close(self) -> None:
        """End a line left open by a check that never finished (Ctrl-C): the summary starts on its own."""
        if self.open_line:
            self.stream.write("\n")
            self.stream.flush()
            self.open_line = False

    def sent(self, name: str, requests: int, planned: int | None, planning: bool = False) -> None:
        now = self.clock()
        elapsed = now - self.started
        if elapsed < QUIET_FOR:
            return
        every = TERMINAL_EVERY if self.terminal else LOG_EVERY
        if self.last_written is not None and now - self.last_written < every:
            return
        self.last_written = now
        line = describe(name, requests, planned, elapsed, planning=planning)
        self.stream.write(ERASE + line if self.terminal else line + "\n")
        self.stream.flush()
