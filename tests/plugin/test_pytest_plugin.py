"""`pytest --oms-target FILE` runs the suite inside a provider's own pytest, one item per check."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.server import ReferenceServer
from conformance.target import dump_target

pytest_plugins = ["pytester"]


@pytest.mark.slow
def test_oms_target_runs_the_suite_as_test_items(pytester: pytest.Pytester, tmp_path: Path) -> None:
    with ReferenceServer() as server:
        target = tmp_path / "target.yaml"
        target.write_text(dump_target(server.target))
        pytester.makepyfile(test_own="def test_providers_own_test():\n    assert True\n")
        result = pytester.runpytest("--oms-target", str(target), "--oms-seed", "3", "-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0, result.stdout.str()
    assert outcomes["passed"] >= 20  # the provider's test plus one item per check
    assert "Traceback" not in result.stdout.str()


@pytest.mark.slow
def test_a_failing_check_fails_its_item(pytester: pytest.Pytester, tmp_path: Path) -> None:
    # The reference server with a fault that forces 500s: STOP-ROBUST's checks must fail as items.
    with ReferenceServer(faults=["status=500@1.0"]) as server:
        target = tmp_path / "target.yaml"
        target.write_text(dump_target(server.target))
        token = server.target.project.token or "unset"
        result = pytester.runpytest("--oms-target", str(target), "--oms-seed", "3", "-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) >= 1
    assert "no-server-error[STOP-ROBUST]" in result.stdout.str()
    assert token not in result.stdout.str()
