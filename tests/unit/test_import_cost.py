"""``import conformance`` and loading its pytest plugin stay cheap: the plugin is loaded in every pytest
session of every project that installs the package, so neither may import a check, Hypothesis or
Schemathesis (the runner is imported when ``RunOptions`` or ``run_suite`` is first asked for), nor the
server's uvicorn or the proxy's httpx (imported when a fixture first starts a server).

Module names only, from ``python -X importtime`` in a fresh interpreter: no timing is asserted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HEAVY = ("hypothesis", "schemathesis", "conformance.checks", "conformance.runner", "uvicorn", "httpx")


def imported_by(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, exit_code: int = 0
) -> set[str]:
    """The modules ``python -X importtime ARGS`` imports in a fresh interpreter, as it lists them."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env=env,
    )
    assert done.returncode == exit_code, done.stdout + done.stderr[-2000:]
    return {
        line.rsplit("|", 1)[-1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }


def heavy_among(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY or m.startswith(HEAVY))


def test_importing_the_package_and_its_plugin_loads_no_check_and_no_generator() -> None:
    package = imported_by("-c", "import conformance")
    assert "conformance" in package
    assert heavy_among(package) == []
    plugin = imported_by("-c", "import conformance.pytest_plugin")
    assert "conformance.pytest_plugin" in plugin
    assert heavy_among(plugin) == []


def test_a_pytest_session_that_loads_the_plugin_and_uses_no_fixture_imports_none_of_them(
    tmp_path: Path,
) -> None:
    # An empty project, collected: the plugin loads as pytest loads it - by its entry point name - and
    # only it (autoload off: Hypothesis and Schemathesis have pytest plugins of their own, which would
    # import themselves and prove nothing about this one).
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    args = ("-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-p", "oms_conformance")
    # --oms-depth exists only if the plugin registered its options (a usage error, 4, otherwise); 5 is
    # "no tests collected", as in any empty project.
    modules = imported_by(*args, "--oms-depth", "quick", cwd=tmp_path, env=env, exit_code=5)
    # The entry point is imported with importlib (not listed itself); what it imports is.
    assert {"conformance.errors", "conformance.results"} <= modules
    assert heavy_among(modules) == []


def test_the_lazy_names_are_the_real_ones() -> None:
    import conformance
    from conformance.runner.engine import RunOptions
    from conformance.runner.session import run_suite

    assert conformance.RunOptions is RunOptions and conformance.run_suite is run_suite
    assert {"RunOptions", "run_suite"} <= set(dir(conformance))
