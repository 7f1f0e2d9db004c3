"""`run --target` with token_command end to end: the run works, and the token reaches no artifact."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conformance.redact import tampered
from conformance.server import ReferenceServer
from conformance.target import dump_target

CLI = [sys.executable, "-m", "conformance"]


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=180, env=dict(os.environ)
    )


def _everything_written(report_dir: Path) -> str:
    return "".join(
        p.read_text(encoding="utf-8", errors="replace") for p in sorted(report_dir.rglob("*")) if p.is_file()
    )


@pytest.mark.slow
def test_a_run_with_token_commands_conforms_and_no_token_reaches_any_artifact(tmp_path: Path) -> None:
    with ReferenceServer() as server:
        data = yaml.safe_load(dump_target(server.target))
        tokens = {
            "main.txt": data.pop("token"),
            "readonly.txt": data.pop("readonly_token"),
            "other.txt": data["other_project"].pop("token"),
        }
        for name, token in tokens.items():
            (tmp_path / name).write_text(token + "\n", encoding="utf-8")
        # What a nightly job does: a command prints a fresh token (here read from a file beside the target).
        data["token_command"] = "echo fetched >> runs.log; cat main.txt"
        data["readonly_token_command"] = ["cat", "readonly.txt"]
        data["other_project"]["token_command"] = [sys.executable, "-c", "print(open('other.txt').read())"]
        (tmp_path / "target.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
        result = _run(
            "run", "--target", "target.yaml", "--seed", "3", "--report-dir", "reports", cwd=tmp_path
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "CONFORMS" in result.stdout
    assert (tmp_path / "runs.log").read_text().splitlines() == ["fetched"]  # once per run
    # The checks that need each credential ran (so each token was really used) ...
    report = (tmp_path / "reports" / "conformance.json").read_text(encoding="utf-8")
    for check in ("permission", "authz-other-project", "authn-refused"):
        assert f'"check": "{check}"' in report
    # ... and no form of any token appears in what the run left behind.
    artifacts = _everything_written(tmp_path / "reports") + result.stdout + result.stderr
    assert len(artifacts) > 10_000
    for token in tokens.values():
        assert token not in artifacts
        assert tampered(token) not in artifacts


@pytest.mark.slow
def test_a_failing_token_command_ends_the_run_before_anything_is_sent(tmp_path: Path) -> None:
    data = {
        "base_url": "http://127.0.0.1:9",
        "project_id": "p-1",
        "token_command": "echo 'IAM says no' >&2; exit 7",
    }
    (tmp_path / "target.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    result = _run("run", "--target", "target.yaml", "--report-dir", "reports", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert (
        "error: target file 'target.yaml': token_command: expected a command that exits with status 0, "
        "found status 7; its stderr (last lines, redacted):\n    IAM says no\n"
    ) in result.stderr
    assert "unreachable" not in result.stderr  # port 9 was never tried
    assert not (tmp_path / "reports").exists()
