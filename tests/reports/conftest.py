from __future__ import annotations

import pytest

from conformance.results import RunResult
from conformance.spec import Requirement, load_requirements
from tests.reports.sample_runs import sample_run


@pytest.fixture(params=["strict", "huawei"])
def run(request: pytest.FixtureRequest) -> RunResult:
    """A realistic run of each profile: passes, failures with evidence, not run, known failure, flaky."""
    return sample_run(request.param)


@pytest.fixture(scope="session")
def catalogue() -> dict[str, Requirement]:
    return load_requirements()
