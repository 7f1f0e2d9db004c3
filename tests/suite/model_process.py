"""The model served from a process of its own, for races whose outcome a shared interpreter would decide.

A :class:`ModelServer` thread shares the test's interpreter lock with the client. After the race releases
its stops, the client's own work (gathering the answers, under coverage's tracer in CI) can hold the lock
for milliseconds while the server waits to handle the stops that already arrived - a gap no separate server
process has, which pulls two stops apart by more than a 2 ms window now and then. Here the server has an
interpreter of its own, as every real server does; the test resets its groups between runs through a pipe.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Self

from .model import Choices, Model, fixture_groups
from .socket_server import ModelServer

START_TIMEOUT = 60.0  # seconds for the process to import and listen, on a loaded two-core machine
STOP_TIMEOUT = 10.0


def _serve(choices: Choices, pipe: Connection) -> None:
    """In the child: serve a model, say where, and reset its groups whenever asked, until told to stop."""
    model = Model(choices)
    with ModelServer(model) as server:
        pipe.send(server.base_url)
        while (command := pipe.recv()) == "reset":
            # Between runs, when no request is in flight: the server thread reads these only per request.
            pipe.send(model.write_backs)
            model.groups, model.resumes_to, model.write_backs = fixture_groups(), {}, []
        assert command == "stop", command


class ModelProcess:
    """``with ModelProcess(choices) as server:`` serves ``Model(choices)`` at ``server.base_url`` from a
    process of its own; ``server.reset()`` gives every group its fixture status again."""

    def __init__(self, choices: Choices) -> None:
        self._pipe, child_end = multiprocessing.get_context("spawn").Pipe()
        self._process = multiprocessing.get_context("spawn").Process(
            target=_serve, args=(choices, child_end), name="oms-model-process", daemon=True
        )
        self.base_url = ""

    def __enter__(self) -> Self:
        self._process.start()
        if not self._pipe.poll(START_TIMEOUT):
            self._process.kill()
            raise RuntimeError("the model process did not start")
        self.base_url = self._pipe.recv()
        return self

    def reset(self) -> list[tuple[tuple[str, str], float, float]]:
        """Every group back to its fixture status; returns the write-backs since the last reset."""
        self._pipe.send("reset")
        if not self._pipe.poll(STOP_TIMEOUT):
            raise RuntimeError("the model process did not reset its groups")
        write_backs: list[tuple[tuple[str, str], float, float]] = self._pipe.recv()
        return write_backs

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        with contextlib.suppress(OSError):  # the child is gone already
            self._pipe.send("stop")
        self._process.join(STOP_TIMEOUT)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
