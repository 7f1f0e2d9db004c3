"""How whoever started a run stops it: the session creates a :class:`RunControl`, hands it to the engine
and calls :meth:`RunControl.stop` from its signal handler; the engine reads why it was stopped.

A stop cancels the run's task, so the check under way ends where it is awaiting; the engine then keeps
what was found and reports the run as interrupted, with this reason.
"""

from __future__ import annotations

import asyncio
from typing import Any


class RunControl:
    def __init__(self) -> None:
        self.interrupted_by = ""  # why the run was stopped ("interrupted by SIGINT"); "" while it runs
        self._task: asyncio.Task[Any] | None = None

    @property
    def stopped(self) -> bool:
        return bool(self.interrupted_by)

    def attach(self, task: asyncio.Task[Any]) -> None:
        """The task that runs the engine: what :meth:`stop` cancels."""
        self._task = task

    def stop(self, reason: str) -> None:
        """Stop the run (a second stop only updates the reason: the run is already ending)."""
        self.interrupted_by = reason
        if self._task is not None:
            self._task.cancel()
