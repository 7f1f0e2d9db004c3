"""pyproject.toml declares what the code imports, caps what conformance/_seams/ reaches into, and holds the
one version the package, its metadata, the README and docs/ agree on."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from conformance import __version__

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
# Imported inside try/except ImportError, with a fallback that keeps the test running.
OPTIONAL = {"cryptography"}  # tests/hostile/conftest.py makes its certificate with the openssl CLI instead
# The libraries whose internals conformance/_seams/ reads.
SEAMED = ("schemathesis", "hypothesis", "uvicorn")


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9_.-]+", requirement)
    assert match, requirement
    return match.group(0).lower().replace("_", "-")


def _specifier(name: str) -> str:
    (requirement,) = [r for r in PROJECT["dependencies"] if _name(r) == name]
    return str(requirement)


def _imported(folder: str) -> set[str]:
    """Top-level modules imported (absolute imports) anywhere under ``folder``."""
    found: set[str] = set()
    for path in (ROOT / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"conformance", "tests", "__future__"}


def _undeclared(folder: str, declared: set[str]) -> dict[str, list[str]]:
    distributions = packages_distributions()
    missing = {}
    for module in sorted(_imported(folder) - OPTIONAL):
        provided_by = [d.lower().replace("_", "-") for d in distributions.get(module, [module])]
        if not set(provided_by) & declared:
            missing[module] = provided_by
    return missing


def test_the_package_declares_every_library_it_imports() -> None:
    declared = {_name(r) for r in PROJECT["dependencies"]}
    assert _undeclared("conformance", declared) == {}


def test_the_tests_declare_every_library_they_import() -> None:
    declared = {_name(r) for r in PROJECT["dependencies"] + PROJECT["optional-dependencies"]["test"]}
    assert _undeclared("tests", declared) == {}


def test_each_seamed_library_is_capped_at_the_first_release_not_verified() -> None:
    for name in SEAMED:
        requirement = _specifier(name)
        assert re.search(r">=[0-9.]+", requirement), f"{requirement}: no lower bound"
        assert re.search(r"<[0-9.]+", requirement), f"{requirement}: no upper bound (conformance/_seams/)"


def test_the_version_is_held_in_one_place() -> None:
    assert PROJECT["dynamic"] == ["version"] and "version" not in PROJECT
    source = ROOT / "conformance" / "_version.py"
    assert source.read_text(encoding="utf-8") == f'__version__ = "{__version__}"\n'
    # Everything else that names a release of this package names this one.
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    docs += sorted((ROOT / "docs").rglob("*.yml"))  # the nightly workflow pins the version
    readme = "\n".join(path.read_text(encoding="utf-8") for path in docs)
    mentioned = re.findall(r"oms-conformance==([0-9][0-9.]*[0-9])", readme)
    mentioned += re.findall(r"OMS_CONFORMANCE_VERSION: \"([^\"]+)\"", readme)
    mentioned += re.findall(r"git\+\S*@v([0-9][0-9.]*[0-9])", readme)  # a tagged release
    mentioned += re.findall(r"--version` then names ([0-9][0-9.]*[0-9])", readme)
    assert len(mentioned) >= 3 and set(mentioned) == {__version__}, mentioned


def test_ci_runs_the_end_to_end_tests_at_the_lowest_allowed_versions_and_checks_the_package() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "uv pip compile -q --resolution lowest-direct" in ci
    (lowest_tests,) = [line for line in ci.splitlines() if 'lowest/bin/python" -m pytest' in line]
    for path in ("tests/suite/test_catalogue.py", "tests/cli", "tests/unit/test_seams.py"):
        assert path in lowest_tests or path in ci[ci.index(lowest_tests) :].split("\n\n")[0]
    assert 'twine check --strict "$deps_ci"/dist/*' in ci
    for runner in ("lowest", "wheel"):  # both profiles, from the lowest versions and from the built wheel
        assert f'"$deps_ci/{runner}/bin/oms-conformance" run --profile "$profile"' in ci
    assert ci.count("for profile in strict huawei; do") == 2
