"""``oms-conformance serve`` end to end: a subprocess, its target file, SIGTERM, a restart on the same db."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from conformance.cli import main, serve_cmd
from conformance.server import ReferenceApp
from conformance.server.background import is_loopback
from conformance.target import Target, load_target


@contextmanager
def serving(tmp_path: Path, *args: str) -> Iterator[tuple[subprocess.Popen[bytes], Target]]:
    """``serve`` on an ephemeral port until the block ends with SIGTERM; yields the process and its target."""
    target_file = tmp_path / "target.yaml"
    target_file.unlink(missing_ok=True)
    command = [
        sys.executable,
        "-m",
        "conformance",
        "serve",
        "--port",
        "0",
        "--write-target",
        str(target_file),
    ]
    process = subprocess.Popen([*command, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            if target_file.exists() and target_file.stat().st_size and _answers(target_file):
                break
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            assert time.monotonic() < deadline, "serve did not come up in 20 s"
            time.sleep(0.05)
        yield process, load_target(target_file, env={})
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            if process.stderr:
                process.stderr.close()


def _answers(target_file: Path) -> bool:
    try:
        return httpx.get(load_target(target_file, env={}).base_url + "/", timeout=2).status_code == 404
    except httpx.TransportError:
        return False


@pytest.mark.slow
def test_serve_stops_on_signals_and_keeps_state_across_restarts(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    with serving(tmp_path, "--db", str(db), "--profile", "huawei") as (process, target):
        assert oct(os.stat(tmp_path / "target.yaml").st_mode & 0o777) == "0o600"
        assert target.profile == "huawei" and target.other_project is not None
        group = target.project.groups["monitoring"][0]
        url = f"{target.base_url}/v2/{target.project.project_id}/taskgroups/{group}"
        headers = {"X-Auth-Token": target.project.token or ""}
        assert httpx.put(url + "/stop", headers=headers, timeout=5).status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert process.stderr is not None and b"Traceback" not in process.stderr.read()
    with serving(tmp_path, "--db", str(db), "--profile", "huawei") as (process, again):
        url = f"{again.base_url}/v2/{again.project.project_id}/taskgroups/{group}"
        assert httpx.get(url, headers=headers, timeout=5).json()["status"] == 3
        assert group in again.project.groups["paused"]  # the target reflects the current state
        process.send_signal(signal.SIGINT)  # Ctrl-C: the same graceful stop
        assert process.wait(timeout=10) == 0


def test_serve_warns_when_exposed_and_writes_the_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No socket: `serve` is replaced, so the test binds nothing beyond loopback.
    calls: list[tuple[str, int]] = []

    def fake_serve(app: ReferenceApp, host: str, port: int, on_ready: Callable[[str], object]) -> None:
        calls.append((host, port))
        on_ready("http://127.0.0.1:9")
        app.close()

    monkeypatch.setattr(serve_cmd, "serve", fake_serve)
    target_file = tmp_path / "t.yaml"
    result = CliRunner().invoke(
        main, ["serve", "--host", "0.0.0.0", "--port", "9", "--write-target", str(target_file)]
    )
    assert result.exit_code == 0, result.output
    assert calls == [("0.0.0.0", 9)]
    assert "warning: listening on 0.0.0.0" in result.output
    assert load_target(target_file, env={}).base_url == "http://127.0.0.1:9"
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fault", "latency=fast"], "--fault 'latency=fast': not a fault"),
        (["--fixtures", "/nonexistent/fx.yaml"], "fixture file '/nonexistent/fx.yaml': cannot read it"),
        (["--profile", "lenient"], "Invalid value for '--profile'"),
        (["--settle-delay", "-1"], "Invalid value for '--settle-delay'"),
    ],
)
def test_serve_refuses_bad_options_before_listening(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["serve", "--port", "0", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_serve_help_documents_faults_and_credentials() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0
    for text in ("status=429@0.2", "latency=10ms..200ms", "prefer", "oms-sandbox-token-main", "SIGTERM"):
        assert text in result.output


def test_serve_on_a_busy_port_is_a_usage_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(main, ["serve", "--port", str(port)])
    assert result.exit_code == 2
    assert f"--host/--port 127.0.0.1:{port}: cannot listen there" in result.output
