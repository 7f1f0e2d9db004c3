"""Helpers for the proxy tests: any small ASGI app on a loopback port, and a temporary HOME for the SDK."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from conformance.server.background import bind, run_server

Asgi = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


@contextmanager
def serve_asgi(app: Asgi) -> Iterator[str]:
    """Run ``app`` on an ephemeral loopback port in a thread; yields its base URL; stops it (bounded)."""
    sock, base_url = bind("127.0.0.1", 0)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            http="httptools",
            ws="none",  # not needed, and uvicorn 0.34 imports the deprecated websockets.legacy (a warning)
            lifespan="off",
            log_config=None,
            log_level="warning",
            access_log=False,
        )
    )
    thread = threading.Thread(target=run_server, args=(server, sock), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "test upstream did not start"
        time.sleep(0.001)
    try:
        yield base_url
    finally:
        server.should_exit = True
        thread.join(5)
        sock.close()


class Recorder:
    """An upstream that records what reached it and answers 200 with an empty body."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, bytes, dict[bytes, bytes], int]] = []

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        size = 0
        while True:
            message = await receive()
            size += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        self.seen.append((scope["method"], scope["raw_path"], dict(scope["headers"]), size))
        body = b"" if size < 1000 else b"x" * size  # a big upload is mirrored back, to test streaming
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", b"%d" % len(body)), (b"x-request-id", b"rec-1")],
            }
        )
        await send({"type": "http.response.body", "body": body})


@pytest.fixture
def sdk_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # The SDK writes $HOME/.huaweicloud/application_id on first use.
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def run_pytest_in(folder: Path, *, pythonpath: Path | None = None, timeout: float = 120) -> str:
    """Run pytest on the test files written into ``folder`` - as a user's project would - and return its
    output. The plugin is loaded from the installed package, as in any project."""
    env = {**os.environ, "NO_PROXY": "*"}
    if pythonpath is not None:
        # In front of any PYTHONPATH already set (a worktree's own package first, say), not instead of it.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), os.environ.get("PYTHONPATH")]))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(folder),
            str(folder),
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=folder,
        env=env,
    )
    return result.stdout
