"""`oms-conformance run` end to end, and the guarantee every artifact keeps: no secret, ever."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.options import RunOptions
from conformance.redact import tampered
from conformance.reports import write_reports
from conformance.runner.engine import execute
from conformance.target import parse_target

from ..suite.model import Model, target_data, variant

CLI = [sys.executable, "-m", "conformance"]


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}
    )


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["strict", "huawei"])
def test_default_run_against_the_embedded_server_conforms(tmp_path: Path, profile: str) -> None:
    # A proxy in the environment that cannot reach this machine (a CI runner's): the embedded server on
    # loopback never goes through it (transport/proxies.py), so the quick start still conforms.
    dead = "http://127.0.0.1:9"
    proxies = {"HTTP_PROXY": dead, "HTTPS_PROXY": dead, "ALL_PROXY": dead, "http_proxy": dead}
    result = run_cli("run", "--profile", profile, "--seed", "5", cwd=tmp_path, env=proxies)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "CONFORMS" in result.stdout
    report = json.loads((tmp_path / "reports" / "conformance.json").read_text())
    assert report["profile"] == profile and report["complete"] is True
    verdicts = {r["id"]: r["verdict"] for r in report["requirements"]}
    assert set(verdicts.values()) == {"pass"}, verdicts
    for name in ("junit.xml", "summary.md", "report.html", "results.sarif"):
        assert (tmp_path / "reports" / name).stat().st_size > 0
    assert_one_request_count(result.stdout, tmp_path / "reports")


def assert_one_request_count(stdout: str, reports: Path) -> None:
    """The run's request count is one number: the terminal, conformance.json (top level, pace, the status
    histogram), summary.md and report.html. (They once differed: the preflight, 429 retries and the race
    were paced but not counted.)"""
    report = json.loads((reports / "conformance.json").read_text())
    count = report["requests"]
    assert count > 0 and report["pace"]["requests"] == count == sum(report["status_counts"].values())
    assert re.search(rf"pace: .*, {count} requests,", stdout), stdout
    assert f" {count} requests in " in (reports / "summary.md").read_text()
    assert f"requests <b>{count}</b>" in (reports / "report.html").read_text()


@pytest.mark.slow
def test_base_url_run_reads_the_token_from_the_environment(tmp_path: Path) -> None:
    from conformance.server import ReferenceServer

    with ReferenceServer() as server:
        token = server.target.project.token or ""
        result = run_cli(
            "run",
            "--base-url",
            server.base_url,
            "--project-id",
            server.target.project.project_id,
            "--seed",
            "2",
            "--format",
            "json,md",
            cwd=tmp_path,
            env={"OMS_TOKEN": token},
        )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "reports" / "conformance.json").read_text())
    not_run = {c["check"]: c["reason"] for c in report["checks"] if c["verdict"] == "not_run"}
    assert "precondition" in not_run and "no fixtures" in not_run["precondition"]
    everything = (
        result.stdout + result.stderr + "".join(p.read_text() for p in (tmp_path / "reports").iterdir())
    )
    assert token not in everything


# Real tokens are long and distinctive; a bare "aaaaaaaaaaaa" would also match the suite's own filler ids.
tokens = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=12, max_size=80).map(
    lambda body: "MIIT" + body
)


# The suite draws its fuzzing cases with an inner @given; that nesting is intended here.
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.nested_given],
)
@given(token=tokens)
def test_no_artifact_of_a_failing_run_contains_the_token(
    tmp_path_factory: pytest.TempPathFactory, token: str
) -> None:
    """A server that echoes whatever token it gets, so the secret is in the raw answers the run sees."""
    report_dir = tmp_path_factory.mktemp("reports")
    app = Model(variant(echo_token=True), token=token)
    target = parse_target(target_data("http://model.test", token=token), env={})
    run = asyncio.run(
        execute(target, RunOptions(seed=1, reruns=0, max_examples=5, transport=httpx.ASGITransport(app=app)))
    )
    assert any(c.failures for c in run.checks)
    paths = write_reports(run, report_dir, secrets=target.secrets())
    assert len(paths) == 5
    for path in paths:
        text = path.read_text(encoding="utf-8")
        assert token not in text, path.name
        assert tampered(token) not in text, path.name  # all but one character of the secret
        assert token not in text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"), path.name


def test_run_suite_is_the_library_entry_point() -> None:
    from conformance import RunOptions, Verdict, run_suite

    result = run_suite(options=RunOptions(seed=1, checks=["operation", "precondition", "documented-status"]))
    assert {c.check: c.verdict for c in result.checks} == {
        "operation": Verdict.PASS,
        "precondition": Verdict.PASS,
        "documented-status": Verdict.PASS,
    }
