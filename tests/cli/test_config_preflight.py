"""Bad configuration is found before the first request: exit 2, nothing sent, the report that can be written.

The target is a recording server: any request at all would show up in its log.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
import yaml
from click.testing import CliRunner

from conformance.cli import main

TOKEN = "oms-preflight-token-0001"


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[str]]

    def _any(self) -> None:
        self.seen.append(f"{self.command} {self.path}")
        self.send_response(500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_OPTIONS = do_PATCH = _any

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []
    handler = type("Handler", (_Recorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _target(tmp_path: Path, base_url: str, **extra: object) -> Path:
    data = {
        "base_url": base_url,
        "project_id": "p-1",
        "token": TOKEN,
        "groups": {"monitoring": ["g-1"]},
        **extra,
    }
    path = tmp_path / "target.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["run", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


BAD_BASELINES = [
    pytest.param(
        "{requirement: STOP-NOPE, reason: r, expires: 2027-01-01}",
        "known_failures[0].requirement: expected a requirement ID of the catalogue",
        id="unknown-requirement",
    ),
    pytest.param(
        "{requirement: STOP-ROBUST, reason: r, expires: 2027-02-30}",
        "known_failures[0].expires: expected a date YYYY-MM-DD, found '2027-02-30'",
        id="bad-date",
    ),
    pytest.param(
        "{requirement: STOP-ROBUST, check: no-server-errors, reason: r, expires: 2027-01-01}",
        "known_failures[0].check: expected one of the checks ",
        id="unknown-check",
    ),
]


@pytest.mark.parametrize(("entry", "message"), BAD_BASELINES)
def test_a_bad_baseline_stops_the_run_before_the_first_request(
    tmp_path: Path, recorder: tuple[str, list[str]], entry: str, message: str
) -> None:
    base_url, seen = recorder
    baseline = tmp_path / "baseline.yaml"
    baseline.write_text(f"known_failures:\n  - {entry}\n", encoding="utf-8")
    reports = tmp_path / "reports"
    code, stdout, stderr = _run(
        "--target",
        str(_target(tmp_path, base_url)),
        "--baseline",
        str(baseline),
        "--report-dir",
        str(reports),
    )
    assert code == 2, stdout + stderr
    assert f"error: {baseline}: {message}" in stderr
    assert seen == []  # nothing was sent: before, the whole suite ran and only then was the baseline read
    # The report that can be written says why nothing ran, and every format is there.
    document = json.loads((reports / "conformance.json").read_text(encoding="utf-8"))
    assert document["complete"] is False
    assert document["incomplete_reason"].startswith(
        f"not started: configuration error: {baseline}: {message}"
    )
    assert document["target"]["base_url"] == base_url
    assert sorted(p.name for p in reports.iterdir()) == [
        "conformance.json",
        "junit.xml",
        "report.html",
        "results.sarif",
        "summary.md",
    ]
    assert f"report: {reports / 'conformance.json'}" in stderr
    assert TOKEN not in stdout + stderr + "".join(p.read_text(encoding="utf-8") for p in reports.iterdir())


IMPOSSIBLE_TARGETS = [
    pytest.param(
        {"groups": {"monitoring": ["g-1"], "running": ["g-2"]}},
        "groups.running: expected a status name (one of: waiting, ",
        id="status-name-that-is-not-a-status",
    ),
    pytest.param(
        {"groups": {"monitoring": ["g-1"], "paused": ["g-1"]}},
        "groups.paused[0]: expected each group id listed once (a group has one status), "
        "found 'g-1' listed twice (also under groups.monitoring)",
        id="same-id-in-two-statuses",
    ),
    pytest.param(
        {"readonly_token": TOKEN},
        "readonly_token: expected a token other than token (one without oms:taskgroup:update), "
        "found the same value (not shown: a secret)",
        id="readonly-token-equal-to-token",
    ),
    pytest.param(
        {"other_project": {"project_id": "p-2", "token": TOKEN}},
        "other_project.token: expected the other project's own token, "
        "found the same value (not shown: a secret)",
        id="other-project-token-equal-to-token",
    ),
]


@pytest.mark.parametrize(("extra", "message"), IMPOSSIBLE_TARGETS)
def test_an_impossible_target_entry_stops_the_run_before_the_first_request(
    tmp_path: Path, recorder: tuple[str, list[str]], extra: dict[str, object], message: str
) -> None:
    base_url, seen = recorder
    path = _target(tmp_path, base_url, **extra)
    code, stdout, stderr = _run("--target", str(path), "--report-dir", str(tmp_path / "reports"))
    assert code == 2, stdout + stderr
    assert f"error: target file {str(path)!r}: {message}" in stderr
    assert "Fix the named key" in stderr
    assert seen == []
    assert TOKEN not in stdout + stderr
    # No target could be read, so no report can describe one: none is written.
    assert not (tmp_path / "reports").exists()


def test_a_good_baseline_still_lets_the_run_reach_the_target(
    tmp_path: Path, recorder: tuple[str, list[str]]
) -> None:
    # The control: with a valid baseline the run reaches the recorder, and the baseline loaded before the
    # run is still applied after it (the recorder's 500s are the known failure it excuses).
    base_url, seen = recorder
    baseline = tmp_path / "baseline.yaml"
    baseline.write_text("known_failures:\n  - {requirement: STOP-ROBUST, reason: r, expires: 2999-12-31}\n")
    code, stdout, stderr = _run(
        "--target",
        str(_target(tmp_path, base_url)),
        "--baseline",
        str(baseline),
        "--report-dir",
        str(tmp_path / "reports"),
        "--checks",
        "operation,no-server-error",
        "--request-timeout",
        "2",
    )
    assert seen, stdout + stderr
    assert code == 0, stdout + stderr
    document = json.loads((tmp_path / "reports" / "conformance.json").read_text(encoding="utf-8"))
    verdicts = {r["id"]: r["verdict"] for r in document["requirements"]}
    assert verdicts["STOP-ROBUST"] == "known_failure"
