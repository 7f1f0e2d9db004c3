"""``import conformance`` and loading its pytest plugin stay cheap: the plugin is loaded in every pytest
session of every project that installs the package, so neither may import a check, Hypothesis or
Schemathesis (the runner is imported when ``RunOptions`` or ``run_suite`` is first asked for)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("hypothesis", "schemathesis", "conformance.checks", "conformance.runner", "uvicorn", "httpx")


def imported_by(code: str) -> set[str]:
    """The modules ``code`` imports in a fresh interpreter, as ``python -X importtime`` lists them."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return {
        line.rsplit("|", 1)[-1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }


def test_importing_the_package_and_its_plugin_loads_no_check_and_no_generator() -> None:
    modules = imported_by("import conformance, conformance.pytest_plugin")
    assert "conformance.pytest_plugin" in modules
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY or m.startswith(HEAVY))
    assert heavy == []


def test_the_lazy_names_are_the_real_ones() -> None:
    import conformance
    from conformance.runner.engine import RunOptions
    from conformance.runner.session import run_suite

    assert conformance.RunOptions is RunOptions and conformance.run_suite is run_suite
    assert {"RunOptions", "run_suite"} <= set(dir(conformance))
