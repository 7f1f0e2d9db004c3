"""The fixture pool: the listed task groups a run may pause, handed to the checks that need them.

A stop consumes a pausable group, and a provider can spare few, so who gets one is decided here and nowhere
else.
"""

from __future__ import annotations

from conformance.checks.base import NotRun
from conformance.target import Project


class FixturePool:
    def __init__(self, project: Project) -> None:
        # Interleave creating and monitoring groups so every check can meet both kinds.
        creating, monitoring = project.groups_in("creating"), project.groups_in("monitoring")
        self._project = project
        self._pausable = [g for pair in zip(monitoring, creating, strict=False) for g in pair]
        self._pausable += monitoring[len(creating) :] + creating[len(monitoring) :]

    def __len__(self) -> int:
        return len(self._pausable)

    def take(self, count: int = 1) -> list[str]:
        """Pausable listed groups for one check alone (a stop consumes them)."""
        if len(self._pausable) < count:
            raise NotRun(
                f"not enough listed creating/monitoring groups left (needs {count}, "
                f"{len(self._pausable)} left); list more under groups.creating/monitoring"
            )
        taken, self._pausable = self._pausable[:count], self._pausable[count:]
        return taken

    def take_in(self, status_name: str) -> str:
        """One pausable listed group in the given status (creating or monitoring)."""
        for group in self._pausable:
            if group in self._project.groups.get(status_name, ()):
                self._pausable.remove(group)
                return group
        raise NotRun(f"no listed {status_name} group left")
