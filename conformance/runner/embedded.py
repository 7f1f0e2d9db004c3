"""The embedded default target: the reference server in a process of its own (conformance/server/embedded.py).

Why a process, not a thread of the run's own process: the server's work no longer shares the client's GIL,
so the run's latencies and the race check's release spread are what a real target would see, and its
start-up (Python, uvicorn, the app: ~0.2 s of CPU) runs on another core while the run imports its checks.
The run never imports the server stack.

Here the loopback listening socket is bound and passed to the child, so the base URL is known at once and
requests sent before the child serves wait in the socket's backlog; the child answers with the target
(credentials, groups) on one line of its stdout. It runs in a session of its own, so a terminal's Ctrl-C
reaches only the run, which stops cleanly and then ends it; it ends by itself when its stdin reaches end of
file, so a run that dies (even by SIGKILL) leaves no server behind. Every wait here is bounded.
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import time
from types import TracebackType
from typing import IO, TYPE_CHECKING, Self

from conformance.errors import TargetUnreachable

if TYPE_CHECKING:
    from conformance.target import Target

CHILD_MODULE = "conformance.server.embedded"
# `python -m CHILD_MODULE`, but with the collector off while it imports: ~10 ms less of start-up, in which
# nothing is garbage (the child collects once and turns it back on before serving).
BOOTSTRAP = f"import gc; gc.disable(); import sys; from {CHILD_MODULE} import main; main(sys.argv[1:])"
# Bounds that only catch a hang: the child is ready in ~0.2 s on an idle machine.
START_TIMEOUT = 60.0
STOP_TIMEOUT = 5.0
NOT_STARTED_HINT = (
    "The embedded reference server is part of this installation: check that `python -c 'import "
    f"{CHILD_MODULE}'` runs (uvicorn, uvloop, httptools), or run against --target FILE."
)


class EmbeddedServer:
    """``with EmbeddedServer(profile) as server: server.target()``; :meth:`start` as early as can be."""

    def __init__(self, profile: str = "") -> None:
        # A profile's name (a Profile is one), "" for the server's default: the child checks it, so that the
        # console script can start this before the contract's vocabulary (conformance.spec) is imported.
        self.profile = str(profile)
        self.base_url = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._errors: IO[bytes] | None = None  # the child's stderr: read for a failed start's message
        self._target: Target | None = None

    def start(self) -> Self:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(("127.0.0.1", 0))
            sock.listen(2048)
            self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
            # A file, not a pipe: nothing need read it while it fills. Closed by stop().
            self._errors = tempfile.TemporaryFile()  # noqa: SIM115
            self._process = subprocess.Popen(
                [sys.executable, "-c", BOOTSTRAP, str(sock.fileno()), self.profile],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._errors,
                pass_fds=(sock.fileno(),),
                start_new_session=True,
            )
        except OSError as exc:  # no loopback socket, no interpreter to start
            self.stop()
            raise self._not_started(f"{exc.strerror or exc} ({exc.filename or 'loopback socket'})") from exc
        except BaseException:
            self.stop()
            raise
        finally:
            sock.close()  # the child's copy stays open: once the child is gone, connections are refused
        return self

    def target(self, timeout: float = START_TIMEOUT) -> Target:
        """The running server's target, once its process has said it (waits at most ``timeout``)."""
        if self._target is None:
            if self._process is None:
                self.start()
            try:
                line = self._description(timeout)
                from conformance.target import parse_target  # not before: the CLI starts this first

                self._target = parse_target(json.loads(line), env={}, source="the embedded reference server")
            except BaseException:
                self.stop()
                raise
        return self._target

    def _description(self, timeout: float) -> bytes:
        assert self._process is not None and self._process.stdout is not None
        fd = self._process.stdout.fileno()
        deadline = time.monotonic() + timeout
        read = b""
        while not read.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise self._not_started(f"it did not start within {timeout:g} s")
            chunk = os.read(fd, 65536)
            if not chunk:  # it ended: its traceback is on its stderr
                self._process.wait(STOP_TIMEOUT)
                raise self._not_started(self._last_error())
            read += chunk
        return read

    def _not_started(self, why: str) -> TargetUnreachable:
        return TargetUnreachable(f"the embedded reference server did not start: {why}", hint=NOT_STARTED_HINT)

    def _last_error(self) -> str:
        """The last line the child wrote on stderr (its exception), else its exit code."""
        lines: list[str] = []
        if self._errors is not None:
            self._errors.seek(0)
            lines = [ln for ln in self._errors.read().decode(errors="replace").splitlines() if ln.strip()]
        code = self._process.returncode if self._process is not None else None
        return lines[-1].strip() if lines else f"it exited with code {code}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self) -> None:
        """End the child at once. No graceful shutdown: its state is in memory and belongs to this run, so
        there is nothing to finish or save - uvicorn's would cost the run ~0.13 s of waiting."""
        process = self._process
        if process is not None:
            if process.stdin is not None:
                process.stdin.close()  # what ends it should the kill below not be reached
            process.kill()
            process.wait(STOP_TIMEOUT)
            if process.stdout is not None:
                process.stdout.close()
        if self._errors is not None:
            if self._target is not None:  # what it said while serving (a bug of the server's) is not lost
                self._errors.seek(0)
                said = self._errors.read().decode(errors="replace")
                if said:
                    sys.stderr.write(said)
            self._errors.close()
            self._errors = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
