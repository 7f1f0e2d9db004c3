"""The private parts of other libraries this package relies on, each owned by one module here.

Where a library offers no public API for what the tool needs, the code that reaches into it lives in one
module per library (:mod:`.hypothesis`, :mod:`.schemathesis`, :mod:`.uvicorn`), and nowhere else. Each module
has a ``check()`` that verifies the internals are still shaped as it expects and raises :class:`SeamChanged`
- naming the library, its installed version and the range this release was verified with - instead of
degrading quietly. ``pyproject.toml`` caps each of these libraries at the first release not verified, and
``tests/unit/test_seams.py`` runs every ``check()`` plus tests of what each seam must deliver.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from conformance._version import __version__
from conformance.errors import ConformanceError


class SeamChanged(ConformanceError):
    """A library's internals that this tool relies on are not what it was verified with (exit 2)."""

    kind = "dependency"

    def __init__(self, distribution: str, what: str) -> None:
        super().__init__(
            f"{distribution} {installed(distribution)}: {what}. oms-conformance {own_version()} was verified "
            f"with {distribution}{verified_range(distribution) or ' (no range declared)'}"
        )
        self.distribution = distribution

    def __reduce__(self) -> tuple[Any, ...]:
        # Raised in a worker process (machinery/corpus.py), it is pickled: keep the message as it was made.
        return (_restore, (self.distribution, self.message))


def _restore(distribution: str, message: str) -> SeamChanged:
    error = SeamChanged.__new__(SeamChanged)
    ConformanceError.__init__(error, message)
    error.distribution = distribution
    return error


def installed(distribution: str) -> str:
    # importlib.metadata only here and below, when a seam has changed: importing it costs the reference
    # server's start (the embedded one's is on a run's critical path) ~8 ms.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "(not installed)"


def own_version() -> str:
    return __version__


@cache
def verified_range(distribution: str) -> str:
    """The specifier ``pyproject.toml`` gives ``distribution`` (read from the installed metadata)."""
    from importlib.metadata import PackageNotFoundError, requires

    try:
        declared = requires("oms-conformance") or []
    except PackageNotFoundError:  # run from a source tree that was never installed
        return ""
    for requirement in declared:
        match = _REQUIREMENT.match(requirement)
        if match and match["name"].lower() == distribution.lower() and "extra ==" not in requirement:
            return match["specifier"].strip()
    return ""


# "uvicorn[standard]<0.56,>=0.34" (the form importlib.metadata gives): name, extras, specifier, marker.
_REQUIREMENT = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+)\s*(\[[^\]]*\])?\s*(?P<specifier>[^;]*)")
