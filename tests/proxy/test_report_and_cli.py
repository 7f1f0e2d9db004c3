"""A proxy session ends as the report set of `run`; the CLI writes it on SIGTERM; the plugin fails tests."""

from __future__ import annotations

import json
import re
import selectors
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx

from conformance.proxy import ProxyServer, proxy_run_result
from conformance.reports import ALL_FORMATS, write_reports
from conformance.server import ReferenceServer
from conformance.server.fixtures import default_fixtures
from tests.proxy.conftest import run_pytest_in

MAIN = default_fixtures().projects[0]
TOKEN = MAIN.tokens[0].token
STOP = f"/v2/{MAIN.project_id}/taskgroups/00000002-0000-4000-8000-000000000000/stop"
EMPTY = f"/v2/{MAIN.project_id}/taskgroups//stop"


def test_session_report_in_every_format_without_the_token(tmp_path: Path) -> None:
    with ReferenceServer() as server, ProxyServer(server.base_url) as proxy:
        with httpx.Client(base_url=proxy.base_url, trust_env=False) as client:
            assert client.put(STOP, headers={"X-Auth-Token": TOKEN}).status_code == 200
            assert client.put(EMPTY, headers={"X-Auth-Token": TOKEN}).status_code == 400
        run = proxy_run_result(proxy.app)
        written = write_reports(run, tmp_path, ALL_FORMATS, secrets=proxy.app.secrets())
    assert {p.name for p in written} == {
        "conformance.json",
        "junit.xml",
        "summary.md",
        "report.html",
        "results.sarif",
    }
    data = json.loads((tmp_path / "conformance.json").read_text())
    checks = {c["check"]: c for c in data["checks"]}
    assert checks["proxy-request"]["verdict"] == "fail"
    assert [f["requirement"] for f in checks["proxy-request"]["failures"]] == ["STOP-GROUP-LEN"]
    assert checks["proxy-response"]["verdict"] == "pass"
    for path in written:
        assert TOKEN not in path.read_text()


def test_no_traffic_is_not_run_rather_than_pass() -> None:
    with ReferenceServer() as server, ProxyServer(server.base_url) as proxy:
        run = proxy_run_result(proxy.app)
    assert {c.verdict.value for c in run.checks} == {"not_run"}


def test_cli_prints_violations_live_and_writes_reports_on_sigterm(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("oms-conformance")
    with ReferenceServer() as server:
        proc = subprocess.Popen(
            [
                str(exe),
                "proxy",
                "--upstream",
                server.base_url,
                "--port",
                "0",
                "--report-dir",
                str(tmp_path),
                "--format",
                "json,md",
            ],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert proc.stderr is not None
            base_url = _wait_for(proc, r"on (http://\S+)")
            with httpx.Client(base_url=base_url, trust_env=False) as client:
                client.put(EMPTY, headers={"X-Auth-Token": TOKEN})
            line = _wait_for(proc, r"(STOP-GROUP-LEN .*)")
            proc.send_signal(signal.SIGTERM)
            rest = proc.communicate(timeout=10)[1]
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
    assert proc.returncode == 1  # a MUST requirement was violated
    assert "group_id is empty" in line and TOKEN not in line + rest
    assert "1 violations" in rest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conformance.json", "summary.md"]


def _wait_for(proc: subprocess.Popen[str], pattern: str, timeout: float = 10.0) -> str:
    """The first group of the first stderr line matching ``pattern`` (bounded in time)."""
    assert proc.stderr is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stderr, selectors.EVENT_READ)
    try:
        while selector.select(timeout):
            line = proc.stderr.readline()
            if not line:
                break
            if match := re.search(pattern, line):
                return match.group(1)
    finally:
        selector.close()
    raise AssertionError(f"no stderr line matched {pattern!r} within {timeout}s")


def test_plugin_fixture_fails_a_test_that_leaves_violations(tmp_path: Path) -> None:
    (tmp_path / "test_client.py").write_text(
        textwrap.dedent(f"""
        import httpx

        def test_wrong_client(oms_validating_proxy):
            httpx.put(oms_validating_proxy.base_url + "{EMPTY}", headers={{"X-Auth-Token": "{TOKEN}"}})

        def test_expected_violation_taken(oms_validating_proxy):
            httpx.put(oms_validating_proxy.base_url + "{EMPTY}", headers={{"X-Auth-Token": "{TOKEN}"}})
            assert [v.requirement for v in oms_validating_proxy.take_violations()] == ["STOP-GROUP-LEN"]
    """)
    )
    output = run_pytest_in(tmp_path, timeout=60)
    assert "1 failed, 1 passed" in output, output
    assert "STOP-GROUP-LEN (client) group_id is empty" in output
