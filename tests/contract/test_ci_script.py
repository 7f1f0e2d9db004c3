"""``.ci/run`` runs what the README promises and installs what the tests need, so CI skips nothing."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
CI = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
COVERAGE_GATE = " --cov --cov-report=term:skip-covered"


def test_ci_runs_the_readme_test_command_and_the_linters() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick_start = readme[readme.index("## Quick start") : readme.index("## Testing your implementation")]
    (command,) = [line for line in quick_start.splitlines() if "pytest" in line and "pip install" in line]
    # CI may add -q to pip and the coverage gate's options to pytest; otherwise it is the README's command.
    assert command in [line.replace(" -q", "").replace(COVERAGE_GATE, "") for line in CI.splitlines()]
    for linter in ("ruff check conformance tests", "ruff format --check conformance tests", "mypy"):
        assert re.search(rf"^\.venv/bin/{re.escape(linter)}$", CI, re.M), linter


# The browser tests, the gateway tests, the docs' curl, the network tests' proxy, the field servers on real
# stacks (tests/stacks/).
DEBIAN = {
    "chromium": "chromium",
    "nginx": "nginx",
    "curl": "curl",
    "tinyproxy": "tinyproxy",
    "go": "golang-go",
    "javac": "default-jdk-headless",
    "node": "nodejs",
    "npm": "npm",
}


@pytest.mark.parametrize(("command", "package"), DEBIAN.items())
def test_ci_installs_debian_packages_before_the_tests_run(command: str, package: str) -> None:
    install = CI.index('apt-get install -y -qq "${missing[@]}"')
    assert install < CI.index(".venv/bin/pytest")
    # Only where it is missing; as root or through sudo, and without either CI stops before the tests.
    assert f"command -v {command} >/dev/null 2>&1 ||" in CI and f"missing+=({package})" in CI
    assert '"$(id -u)" = 0' in CI and "sudo -n" in CI
    assert CI.index("exit 1", CI.index("missing+=(")) < install


def test_ci_sets_ci_so_that_a_skip_fails() -> None:
    assert re.search(r'^export CI="\$\{CI:-true\}"$', CI, re.M)
    assert CI.index("export CI=") < CI.index(".venv/bin/pytest")


SKIPPING = """
import pytest

@pytest.fixture
def chromium():
    pytest.skip("chromium is not installed")

def test_in_a_browser(chromium):
    pass

def test_passes():
    pass

@pytest.mark.xfail(reason="a known failure, not a missing part")
def test_known():
    assert False
"""


@pytest.mark.parametrize("ci", ["", "true"])
def test_a_skip_for_a_missing_part_fails_only_where_ci_is_set(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str
) -> None:
    pytester.makeconftest((ROOT / "tests" / "conftest.py").read_text(encoding="utf-8"))
    pytester.makepyfile(test_parts=SKIPPING)
    pytester.makepyfile(test_sdk="import pytest\npytest.importorskip('no_such_sdk')\n")
    monkeypatch.setenv("CI", ci)
    result = pytester.runpytest("-p", "no:cacheprovider", "--continue-on-collection-errors")
    if ci:
        result.assert_outcomes(passed=1, xfailed=1, errors=2)  # the fixture's skip, the module's
        result.stdout.fnmatch_lines(["*skipped where CI is set*chromium is not installed*"])
    else:
        result.assert_outcomes(passed=1, xfailed=1, skipped=2)


def test_ci_installs_express_from_the_committed_lock_file_before_the_tests_run() -> None:
    npm_ci = CI.index("npm ci --prefix tests/stacks/express_node")
    assert CI.index('apt-get install -y -qq "${missing[@]}"') < npm_ci < CI.index(".venv/bin/pytest")
    lock = (ROOT / "tests" / "stacks" / "express_node" / "package-lock.json").read_text(encoding="utf-8")
    assert '"resolved"' not in lock  # npm ci takes each package from the registry the machine is set up with


def test_mypy_checks_the_tests_too() -> None:
    mypy = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert mypy["strict"] is True and set(mypy["packages"]) == {"conformance", "tests"}
    overridden = [
        m
        for o in mypy.get("overrides", [])
        for m in ([o["module"]] if isinstance(o["module"], str) else o["module"])
    ]
    assert not [m for m in overridden if m.startswith("tests")], "no test module is exempt"


def test_ci_script_passes_shellcheck() -> None:
    beside_python = Path(sys.executable).parent / "shellcheck"
    shellcheck = shutil.which("shellcheck") or (str(beside_python) if beside_python.exists() else None)
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (pip install -e '.[test]' installs it)")
    done = subprocess.run([shellcheck, str(ROOT / ".ci" / "run")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout


def test_ci_gates_branch_coverage_at_the_figure_the_docs_give() -> None:
    # The floor lives in one place (pyproject.toml); CI measures with it, and the docs quote it.
    assert re.search(rf"^\.venv/bin/pip install .*&& \.venv/bin/pytest{re.escape(COVERAGE_GATE)}$", CI, re.M)
    coverage = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["coverage"]
    assert coverage["run"]["branch"] is True and coverage["run"]["source"] == ["conformance"]
    floor = coverage["report"]["fail_under"]
    development = (ROOT / "docs" / "development.md").read_text(encoding="utf-8")
    assert f"`fail_under = {floor}`" in development
