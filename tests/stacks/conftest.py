"""Fixtures for the field servers on real stacks: each stack's prerequisites, and Go and Java compiled once
per test session (per xdist worker).

Without a stack the tests skip with the reason; where CI is set, tests/conftest.py makes that skip a failure
(``.ci/run`` installs every stack).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from .stacks import STACKS, build, missing

Ready = Callable[[str], None]


@pytest.fixture(scope="session")
def stack_ready(tmp_path_factory: pytest.TempPathFactory) -> Ready:
    built: dict[str, str | None] = {}  # stack -> why it is not usable (None: ready)

    def ready(name: str) -> None:
        if name not in built:
            why = missing(name)
            if why is None:
                try:
                    build(name, tmp_path_factory.mktemp(f"{name}-build"))
                except (OSError, RuntimeError) as exc:
                    why = f"build failed: {exc}"
            built[name] = why
        if built[name] is not None:
            pytest.skip(f"the {name} stack is not usable here ({built[name]}); .ci/run installs it")

    assert set(STACKS)  # every stack is named in the tests' parameters
    return ready
