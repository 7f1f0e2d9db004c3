"""The nightly workflow of docs/nightly.md works as copied: a real workflow linter accepts
docs/examples/conformance-nightly.yml, and it keeps the properties a night on a real account depends on (a
matrix with distinct names, nothing optional that can fail the night, protected secrets, credentials that
outlive a day, a pinned version, a recorded seed). The target file and the IAM token script beside it are
tested with it.
"""

from __future__ import annotations

import copy
import io
import json
import re
import shutil
import subprocess
import sys
import urllib.request
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from conformance._version import __version__

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
WORKFLOW = EXAMPLES / "conformance-nightly.yml"


def _workflow_text() -> str:
    return WORKFLOW.read_text(encoding="utf-8")


def _workflow() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(_workflow_text())
    return data


def _target_example() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((EXAMPLES / "targets" / "staging.yaml").read_text(encoding="utf-8"))
    return data


def _tool(name: str) -> str | None:
    # The test extras install the linters into the venv, whose bin/ need not be on PATH.
    beside_python = Path(sys.executable).parent / name
    return shutil.which(name) or (str(beside_python) if beside_python.exists() else None)


def _steps(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    job = workflow["jobs"]["conformance"]
    return {step.get("name") or step.get("uses", ""): step for step in job["steps"]}


def _step(workflow: dict[str, Any], word: str) -> dict[str, Any]:
    (step,) = [step for name, step in _steps(workflow).items() if word in name]
    return step


def workflow_problems(workflow: dict[str, Any]) -> list[str]:
    """What keeps this workflow from working night after night; empty when nothing does."""
    problems = []
    job = workflow["jobs"]["conformance"]
    targets = job.get("strategy", {}).get("matrix", {}).get("target", [])
    if len(targets) < 2:
        problems.append("no matrix over targets")
    if job.get("environment") != "conformance":
        problems.append("the secrets are not behind environment: conformance")
    text = json.dumps(workflow)
    if "OMS_TOKEN" in text:
        problems.append("a static OMS_TOKEN (IAM tokens expire after 24 hours)")
    previous, run = _step(workflow, "previous conformance.json"), _step(workflow, "Run the conformance")
    if previous.get("continue-on-error") is not True or "|| run_id=" not in previous["run"]:
        problems.append("a failing 'gh run list' can end the job before the suite runs")
    sarif = _step(workflow, "SARIF")
    if sarif.get("continue-on-error") is not True:
        problems.append("the SARIF upload fails the night where code scanning is off")
    if "matrix.target" not in sarif["with"].get("category", ""):
        problems.append("one SARIF category for every target")
    if "matrix.target" not in _step(workflow, "Upload the reports")["with"]["name"]:
        problems.append("one artifact name for every target")
    if '--run-id "${{ matrix.target }}"' not in run["run"]:
        problems.append("no --run-id per target: SARIF automationDetails.id is shared")
    if '--seed "$SEED"' not in run["run"] or "github.run_number" not in job["env"].get("SEED", ""):
        problems.append("the seed is not chosen and recorded")
    install = _step(workflow, "Install oms-conformance")["run"]
    # One way to install a release, the README's: the release's tag from the repository, never a branch.
    if (
        job["env"].get("OMS_CONFORMANCE_VERSION") != __version__
        or INSTALL_FROM_TAG not in install
        or not job["env"].get("OMS_CONFORMANCE_REPOSITORY", "").startswith("https://")
    ):
        problems.append(f"the tool is not installed from the tag v{__version__}")
    return problems


INSTALL_FROM_TAG = '"oms-conformance @ git+${OMS_CONFORMANCE_REPOSITORY}@v${OMS_CONFORMANCE_VERSION}"'


def test_the_workflow_has_every_property_a_night_needs() -> None:
    assert workflow_problems(_workflow()) == []


def test_the_readme_the_nightly_docs_and_the_workflow_install_a_release_one_way() -> None:
    """The README's command, with the workflow's two variables in place of its placeholder and version."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    nightly = (ROOT / "docs" / "nightly.md").read_text(encoding="utf-8")
    command = f'python -m pip install "oms-conformance @ git+<repository-url>@v{__version__}"'
    assert command in readme and command in nightly
    install = _step(_workflow(), "Install oms-conformance")["run"]
    assert install == f"python -m pip install {INSTALL_FROM_TAG}"
    assert "==" not in install  # no package index publishes it


def _without_continue_on_error(workflow: dict[str, Any]) -> None:
    del _step(workflow, "SARIF")["continue-on-error"]


def _with_static_token(workflow: dict[str, Any]) -> None:
    _step(workflow, "Run the conformance")["env"]["OMS_TOKEN"] = "${{ secrets.OMS_TOKEN }}"


def _unguarded_previous_step(workflow: dict[str, Any]) -> None:
    step = _step(workflow, "previous conformance.json")
    step["run"] = step["run"].replace("|| run_id=", "")


def _single_target(workflow: dict[str, Any]) -> None:
    workflow["jobs"]["conformance"]["strategy"]["matrix"]["target"] = ["staging"]


def _shared_category(workflow: dict[str, Any]) -> None:
    _step(workflow, "SARIF")["with"]["category"] = "oms-conformance"


def _unpinned(workflow: dict[str, Any]) -> None:
    _step(workflow, "Install oms-conformance")["run"] = "python -m pip install oms-conformance"


@pytest.mark.parametrize(
    "break_it",
    [
        _without_continue_on_error,
        _with_static_token,
        _unguarded_previous_step,
        _single_target,
        _shared_category,
        _unpinned,
    ],
)
def test_each_property_is_missed_when_it_is_broken(break_it: Any) -> None:
    workflow = copy.deepcopy(_workflow())
    break_it(workflow)
    assert len(workflow_problems(workflow)) == 1


def _actionlint(workflow: Path) -> subprocess.CompletedProcess[str]:
    actionlint = _tool("actionlint")
    if actionlint is None:
        pytest.skip("actionlint is not installed (pip install -e '.[test]' installs it)")
    shellcheck = _tool("shellcheck")  # checks the run: scripts too, where it is installed
    return subprocess.run(
        [actionlint, "-no-color", f"-shellcheck={shellcheck or ''}", str(workflow)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_actionlint_accepts_the_workflow() -> None:
    result = _actionlint(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_rejects_a_broken_copy(tmp_path: Path) -> None:
    # The linter is live: a misspelt matrix key is reported.
    text = _workflow_text().replace("${{ matrix.target }}", "${{ matrix.taget }}", 1)
    path = tmp_path / "conformance-nightly.yml"
    path.write_text(text, encoding="utf-8")
    result = _actionlint(path)
    assert result.returncode != 0
    assert "taget" in result.stdout


def test_the_target_example_fetches_its_tokens_and_the_workflow_passes_what_it_reads() -> None:
    target = _target_example()
    commands = [target["token_command"], target["readonly_token_command"]]
    commands.append(target["other_project"]["token_command"])
    for project in (target, target["other_project"]):
        assert "token" not in project and "readonly_token" not in project
    wanted = {"OMS_IAM_DOMAIN", "OMS_REGION"}  # read by iam_token.py itself
    wanted |= set(re.findall(r"\$\{(\w+)\}", json.dumps(target)))
    for command in commands:
        assert command[:2] == ["python3", "iam_token.py"]
        wanted.add(command[3])  # the password, named rather than expanded, so it is on no command line
    run_env = _step(_workflow(), "Run the conformance")["env"]
    assert wanted <= set(run_env), sorted(wanted - set(run_env))
    for name, value in run_env.items():
        secret = "PASSWORD" in name or name.endswith("_SK")  # the migration's secret key too
        assert value.startswith("${{ secrets." if secret else "${{ vars."), name


class _Answer:
    headers: ClassVar[dict[str, str]] = {"X-Subject-Token": "MIIfresh-token"}

    def __enter__(self) -> _Answer:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def test_the_iam_token_script_asks_for_a_project_scoped_token_by_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    script = (EXAMPLES / "targets" / "iam_token.py").read_text(encoding="utf-8")
    sent: list[urllib.request.Request] = []

    def urlopen(request: urllib.request.Request, timeout: float) -> _Answer:
        sent.append(request)
        return _Answer()

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)  # no network: the request is inspected
    monkeypatch.setattr(sys, "argv", ["iam_token.py", "ci-user", "PW_VARIABLE", "proj-1"])
    monkeypatch.setenv("PW_VARIABLE", "pw-1")
    monkeypatch.setenv("OMS_IAM_DOMAIN", "acme")
    monkeypatch.setenv("OMS_REGION", "cn-north-4")
    out = io.StringIO()
    with redirect_stdout(out):
        exec(compile(script, "iam_token.py", "exec"), {"__name__": "__main__"})
    assert out.getvalue() == "MIIfresh-token\n"
    (request,) = sent
    assert request.get_method() == "POST"
    assert request.full_url == "https://iam.cn-north-4.myhuaweicloud.com/v3/auth/tokens"
    assert isinstance(request.data, bytes)
    auth = json.loads(request.data)["auth"]
    assert auth["identity"]["methods"] == ["password"]
    assert auth["identity"]["password"]["user"] == {
        "name": "ci-user",
        "password": "pw-1",
        "domain": {"name": "acme"},
    }
    assert auth["scope"] == {"project": {"id": "proj-1"}}


def test_the_docs_excerpt_of_the_workflow_is_a_verbatim_part_of_it() -> None:
    # docs/nightly.md links the file and quotes at most a few lines of it, which must not drift from it.
    nightly = (ROOT / "docs" / "nightly.md").read_text(encoding="utf-8")
    assert "examples/conformance-nightly.yml" in nightly
    excerpts = re.findall(r"```yaml\n(.*?)```", nightly, re.S)
    assert excerpts, "docs/nightly.md quotes no part of the workflow"
    for excerpt in excerpts:
        assert len(excerpt.splitlines()) <= 10, "an excerpt, not a copy: link the file instead"
        assert excerpt in _workflow_text(), excerpt
