"""A SIGTERM that comes as soon as a foreground server says it is up still stops it gracefully.

The socket accepts connections before uvicorn has taken the signals over (it loads the app first), so a
supervisor - or a test harness - that stops the server right after its banner sent the signal into that gap:
it either killed the process before its reports were written or was swallowed, and the server ran on
(a docs-command test once waited 15 s for a proxy that never stopped).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

# The earliest moment a caller can act: inside on_ready (the banner), and inside prepare just before it.
SERVE_AND_SIGNAL_ITSELF = """
import signal, sys
from conformance.server.background import serve_foreground, uvicorn_config, answer_lifespan

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await answer_lifespan(receive, send)

moment = sys.argv[1]
raise_it = lambda *_: signal.raise_signal(signal.SIGTERM)
ended_by = serve_foreground(
    uvicorn_config(app), "127.0.0.1", 0,
    on_ready=raise_it if moment == "ready" else (lambda url: None),
    prepare=raise_it if moment == "prepare" else None,
)
print("ended by", ended_by)
"""


@pytest.mark.parametrize("moment", ["prepare", "ready"])
def test_a_signal_before_uvicorn_takes_the_signals_ends_the_serve_gracefully(moment: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SERVE_AND_SIGNAL_ITSELF, moment], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr  # -15: killed before its handlers; a timeout: it ran on
    assert done.stdout.strip() == f"ended by {int(signal.SIGTERM)}"


@pytest.mark.parametrize("command", ["serve", "proxy"])
def test_sigterm_right_after_the_banner_stops_the_command_and_writes_its_reports(
    command: str, tmp_path: Path
) -> None:
    proxy_args = ["--upstream", "http://127.0.0.1:9", "--report-dir", str(tmp_path)]
    args = {"serve": [], "proxy": proxy_args}[command]
    process = subprocess.Popen(
        [sys.executable, "-m", "conformance", command, "--port", "0", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + 20
        while "on http://" not in (line := process.stderr.readline()):
            assert line and time.monotonic() < deadline, f"{command} printed no banner"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()
    if command == "proxy":
        assert (tmp_path / "conformance.json").exists()
