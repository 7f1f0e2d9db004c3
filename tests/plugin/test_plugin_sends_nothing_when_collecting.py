"""The plugin reaches the target only when one of its items runs: never while pytest collects.

A loopback server the test starts counts every request it receives; the target file points at it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]


class _Recorder(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Answer)
        self.requests: list[str] = []
        self.lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Answer(BaseHTTPRequestHandler):
    """Records the request line and answers every request with the same documented 404 envelope."""

    server: _Recorder

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        with self.server.lock:
            self.server.requests.append(f"{self.command} {self.path}")
        body = json.dumps({"error_code": "OMS.0025", "error_msg": "task group not found"}).encode()
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _answer

    def log_message(self, format: str, *args: object) -> None:  # keep the test output clean
        pass


@pytest.fixture
def recorder() -> Iterator[_Recorder]:
    server = _Recorder()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def target_file(recorder: _Recorder, tmp_path: Path) -> Path:
    path = tmp_path / "target.yaml"
    path.write_text(
        f"base_url: {recorder.base_url}\nproject_id: f4e146cac1de45669c3fed73dc3b9c6f\n"
        "token: recorder-token-123\nprofile: strict\n"
    )
    return path


def test_collect_only_sends_nothing(
    pytester: pytest.Pytester, recorder: _Recorder, target_file: Path
) -> None:
    result = pytester.runpytest("--collect-only", "-q", "--oms-target", str(target_file))
    out = result.stdout.str()
    # Collected one item per check (so collection did happen) ...
    assert "oms-conformance::no-server-error[STOP-ROBUST]" in out, out
    assert out.count("oms-conformance::") >= 20, out
    # ... and the target never heard of it.
    assert recorder.requests == []


def test_a_keyword_that_selects_nothing_sends_nothing(
    pytester: pytest.Pytester, recorder: _Recorder, target_file: Path
) -> None:
    result = pytester.runpytest("-k", "no_such_check_anywhere", "--oms-target", str(target_file))
    outcomes = result.parseoutcomes()
    assert outcomes["deselected"] >= 20, result.stdout.str()
    assert "passed" not in outcomes and "failed" not in outcomes
    assert recorder.requests == []


def test_a_run_sends_and_reports_only_the_selected_checks_as_items(
    pytester: pytest.Pytester, recorder: _Recorder, target_file: Path, tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    result = pytester.runpytest(
        *("-v", "-k", "no-server-error or group-id-length", "--oms-target", str(target_file)),
        *("--oms-seed", "3", "--oms-report-dir", str(reports)),
    )
    out = result.stdout.str()
    assert recorder.requests, "the run sent nothing"
    # One item per selected check, with its own outcome line; every other check was deselected.
    assert "oms-conformance::no-server-error[STOP-ROBUST]" in out, out
    outcomes = result.parseoutcomes()
    assert outcomes["deselected"] >= 18
    assert sum(outcomes.get(k, 0) for k in ("passed", "failed", "skipped")) == 2, out
    assert "recorder-token-123" not in out
    # The CLI's session ran it: the same reports, with the same seed, for the same two checks.
    run = json.loads((reports / "conformance.json").read_text())
    assert run["seed"] == 3
    assert sorted(c["check"] for c in run["checks"]) == ["group-id-length", "no-server-error"]
    assert "recorder-token-123" not in (reports / "summary.md").read_text()


def test_collecting_runs_no_token_command(
    pytester: pytest.Pytester, recorder: _Recorder, tmp_path: Path
) -> None:
    # A token command may call IAM: it belongs to the run, not to collection.
    ran = tmp_path / "token-command-ran"
    target = tmp_path / "target.yaml"
    target.write_text(
        f"base_url: {recorder.base_url}\nproject_id: p\n"
        f"token_command: [python3, -c, \"open({str(ran)!r}, 'w').write('x')\"]\n"
    )
    result = pytester.runpytest("--collect-only", "-q", "--oms-target", str(target))
    assert "oms-conformance::no-server-error[STOP-ROBUST]" in result.stdout.str()
    assert not ran.exists()
    assert recorder.requests == []


def test_a_missing_target_file_is_a_usage_error(pytester: pytest.Pytester, tmp_path: Path) -> None:
    result = pytester.runpytest("--collect-only", "--oms-target", str(tmp_path / "absent.yaml"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "absent.yaml" in result.stderr.str() and "cannot read it" in result.stderr.str()


def test_a_bad_target_file_fails_the_selected_items_and_sends_nothing(
    pytester: pytest.Pytester, recorder: _Recorder, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"base_url: {recorder.base_url}\nproject_id: p\nprofile: lenient\n")
    result = pytester.runpytest("-k", "no-server-error or operation", "--oms-target", str(bad))
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == 2, result.stdout.str()
    # The loader's own message (its wording is the loader's), once per item.
    assert result.stdout.str().count("lenient") >= 2, result.stdout.str()
    assert recorder.requests == []
