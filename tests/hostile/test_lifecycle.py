"""Targets that are not there, or go away: unreachable, dying mid-run, and the user pressing Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.hostile.conftest import (
    HANG_S,
    LONG_TIMEOUT_S,
    TOKEN,
    RawServer,
    RunCli,
    Serve,
    after_first,
    answer,
    cli_args,
    hold,
    response,
)

CHECKS = "operation,hostile-ids,no-server-error,error-envelope"


def test_closed_port_is_unreachable_quickly(run_cli: RunCli) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    outcome = run_cli(f"http://127.0.0.1:{port}", checks=CHECKS, timeout=LONG_TIMEOUT_S)
    assert outcome.exit_code == 3
    assert f"http://127.0.0.1:{port} did not answer: connection failed" in outcome.stderr
    assert "Check the base URL" in outcome.stderr  # the one line of advice for this kind
    assert outcome.wall_s < HANG_S  # refused at once: waiting for --request-timeout would take far longer
    outcome.assert_no_token()


def test_target_dying_mid_run_keeps_results_and_is_incomplete(serve: Serve, run_cli: RunCli) -> None:
    good = answer(response(400))
    lock = threading.Lock()
    count = [0]

    def handle(conn: socket.socket, server: RawServer) -> None:
        with lock:
            count[0] += 1
            last = count[0] == 6  # preflight, operation, then 4 of hostile-ids
        good(conn, server)
        if last:
            server.stop_listening()

    server = serve(handle)
    outcome = run_cli(server.base_url, checks=CHECKS)
    assert outcome.exit_code == 3, outcome.stdout + outcome.stderr
    report = outcome.report
    assert report["finished"] is False
    assert "the target stopped answering" in report["incomplete_reason"]
    assert "connection failed" in report["incomplete_reason"]
    verdicts = outcome.verdicts()
    assert verdicts["operation"] == "pass"  # found before the target died, and kept
    assert verdicts["error-envelope"] == "pass"
    (died_in,) = [c for c in report["checks"] if c["check"] == "hostile-ids"]
    assert died_in["verdict"] == "not_run"
    assert died_in["reason"].startswith("the run stopped during this check: the target stopped answering")
    assert report["requests"] >= 5
    assert report["verdict"] == "INCOMPLETE"
    assert "INCOMPLETE" in outcome.stdout
    outcome.assert_no_token()


# The preflight and the first checks' requests are answered (enough for `operation` to pass), the next held.
ANSWERED_BEFORE_HOLDING = 5


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sig", "code", "name"), [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")]
)
def test_signal_during_run_writes_partial_report(
    serve: Serve, tmp_path: Path, sig: signal.Signals, code: int, name: str
) -> None:
    server = serve(after_first(ANSWERED_BEFORE_HOLDING, hold))
    report_dir = tmp_path / "reports"
    env = {k: v for k, v in os.environ.items() if k != "OMS_TOKEN"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "conformance",
            *cli_args(server.base_url, report_dir, checks=CHECKS, timeout=LONG_TIMEOUT_S, formats="json,md"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        deadline = time.monotonic() + HANG_S
        while len(server.received) <= ANSWERED_BEFORE_HOLDING and time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            time.sleep(0.05)  # until a request is held: the run is in the checks, waiting for an answer
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(sig)
        # The held request would keep a run that waited for it LONG_TIMEOUT_S: ending well within that shows
        # it was cancelled, without timing how fast.
        stdout, stderr = proc.communicate(timeout=HANG_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == code, stderr
    report = json.loads((report_dir / "conformance.json").read_text(encoding="utf-8"))
    assert report["finished"] is False
    assert report["incomplete_reason"] == f"interrupted by {name}"
    assert report["verdict"] == "INCOMPLETE"
    assert {c["check"]: c["verdict"] for c in report["checks"]}["operation"] == "pass"
    assert (report_dir / "summary.md").exists()
    assert "INCOMPLETE" in stdout
    for text in (stdout, stderr, *(p.read_text(encoding="utf-8") for p in report_dir.iterdir())):
        assert TOKEN not in text
