"""The embedded default target of ``run``: the reference server in a process of its own.

    python -m conformance.server.embedded FD PROFILE

(the parent runs the same ``main`` through a bootstrap that turns the collector off while this imports).
Started by :mod:`conformance.runner.embedded`, which binds the loopback listening socket and passes it as
file descriptor FD: the run knows the port before this process has imported anything, and its first
connections wait in the socket's backlog until this process serves them. Written on stdout, once: one JSON
line, the target (the target file's fields, credentials included - the pipe is the parent's alone); a server
that cannot be built ends this process with its traceback on stderr and no line. The process ends when its
stdin reaches end of file: the parent closed it, or died (even by SIGKILL), so it never outlives the run.
"""

from __future__ import annotations

import gc
import json
import os
import socket
import sys
import threading

import uvicorn

from conformance.server.app import ReferenceApp
from conformance.server.background import run_server, uvicorn_config
from conformance.server.serving import build_target, create_app
from conformance.spec import Profile
from conformance.target import target_data


def description(app: ReferenceApp, port: int) -> str:
    """The line the parent reads: the target of ``app`` listening on loopback ``port``."""
    return json.dumps(target_data(build_target(app, f"http://127.0.0.1:{port}")))


def _exit_at_end_of_input() -> None:
    sys.stdin.buffer.read()
    # No graceful shutdown: the state is in memory and belongs to the run that just ended (or died), so
    # there is nothing to finish or save, and the parent need not wait for uvicorn to close connections.
    os._exit(0)


def main(argv: list[str]) -> None:
    fd, profile = int(argv[0]), argv[1] or Profile.STRICT  # "": the default profile
    # Watching stdin first: a parent that dies while this process imports or builds still ends it.
    threading.Thread(target=_exit_at_end_of_input, name="oms-parent-gone", daemon=True).start()
    sock = socket.socket(fileno=fd)
    app = create_app(profile)
    sys.stdout.write(description(app, sock.getsockname()[1]) + "\n")
    sys.stdout.flush()
    # What start-up made, frozen: later collections skip it. Not collected first, as `serve` does (~11 ms
    # before the first answer): this process lives one run, and its start-up left little garbage.
    gc.freeze()
    gc.enable()  # off while it started (conformance/runner/embedded.py)
    run_server(uvicorn.Server(uvicorn_config(app)), sock)


if __name__ == "__main__":  # pragma: no cover - the parent's tests run it as a process
    main(sys.argv[1:])
