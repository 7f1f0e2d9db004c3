"""``.ci/run`` runs what the README promises and installs what the tests need, so CI skips nothing."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CI = (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_ci_runs_the_readme_test_command_and_the_linters() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick_start = readme[readme.index("## Quick start") : readme.index("## Testing your implementation")]
    (command,) = [line for line in quick_start.splitlines() if "pytest" in line and "pip install" in line]
    # CI may add -q to pip; otherwise it is the README's command.
    assert command in [line.replace(" -q", "") for line in CI.splitlines()]
    for linter in ("ruff check conformance tests", "ruff format --check conformance tests", "mypy"):
        assert re.search(rf"^\.venv/bin/{re.escape(linter)}$", CI, re.M), linter


@pytest.mark.parametrize("package", ["chromium", "nginx"])  # the browser tests, the gateway tests
def test_ci_installs_debian_packages_before_the_tests_run(package: str) -> None:
    install = CI.index('apt-get install -y -qq "${missing[@]}"')
    assert install < CI.index(".venv/bin/pytest")
    # Only where it is missing, only as root.
    assert f"command -v {package} >/dev/null 2>&1 ||" in CI and f"missing+=({package})" in CI
    assert '"$(id -u)" = 0' in CI


def test_ci_script_passes_shellcheck() -> None:
    beside_python = Path(sys.executable).parent / "shellcheck"
    shellcheck = shutil.which("shellcheck") or (str(beside_python) if beside_python.exists() else None)
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (pip install -e '.[test]' installs it)")
    done = subprocess.run([shellcheck, str(ROOT / ".ci" / "run")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout
