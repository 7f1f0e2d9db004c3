"""Running the reference server: in process, in a background thread, or as the ``serve`` command.

:func:`create_app` builds the ASGI app for in-process tests. :class:`ReferenceServer` runs it on a real
loopback socket in a background thread - the embedded default target of ``run`` and the pytest plugin -
with a fresh in-memory state per instance unless given a db. :func:`serve` is the foreground server of
``oms-conformance serve``.

uvicorn is pinned to httptools + uvloop (the fastest pair; httptools also has no header-size limit of its
own, so a legal 16,384-character token plus ordinary headers reaches the app, where h11's default 16 KiB
limit for the whole head would refuse the request before the app sees it), with no access log, no
``Server`` header and websockets off (an upgrade request is answered as plain HTTP, by the app).
"""

from __future__ import annotations

import gc
import ipaddress
import signal
import socket
from collections.abc import Callable, Iterable
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn

from conformance.errors import UsageError
from conformance.server.app import ReferenceApp
from conformance.server.background import BackgroundServer, uvicorn_config
from conformance.server.faults import Faults, parse_faults
from conformance.server.fixtures import Fixtures, default_fixtures, load_fixtures
from conformance.server.store import Store
from conformance.target import Target

FixturesArg = Fixtures | str | Path | None
FaultsArg = Faults | Iterable[str]


def create_app(
    profile: str = "strict",
    fixtures: FixturesArg = None,
    db_path: str | Path | None = None,
    settle_delay: float = 0.0,
    faults: FaultsArg = (),
) -> ReferenceApp:
    """The ASGI app over a store; fixtures (default set, a Fixtures, or a YAML path) fill an empty db only."""
    if isinstance(faults, str):  # one spec given bare: not a sequence of one-letter specs
        faults = [faults]
    plan = faults if isinstance(faults, Faults) else parse_faults(faults)
    if fixtures is None:
        fixtures = default_fixtures()
    elif not isinstance(fixtures, Fixtures):
        fixtures = load_fixtures(fixtures)
    store = Store(db_path, settle_delay)
    try:
        loaded = store.is_empty()
        if loaded:
            store.load(fixtures)
        app = ReferenceApp(store, profile, plan)
    except BaseException:
        store.close()
        raise
    app.fixtures_loaded = loaded
    return app


def build_target(app: ReferenceApp, base_url: str) -> Target:
    """The target of a running app: its first project, the second as ``other_project``, current states."""
    projects = app.store.projects(2)
    other = projects[1] if len(projects) > 1 else None
    return Target(base_url=base_url, project=projects[0], profile=app.profile, other_project=other)


def bind(host: str, port: int) -> tuple[socket.socket, str]:
    """A listening socket and the base URL that reaches it (a wildcard host is reached on loopback)."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except BaseException:
        sock.close()
        raise
    bound_port = sock.getsockname()[1]
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    shown = f"[{shown}]" if ":" in shown else shown
    return sock, f"http://{shown}:{bound_port}"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ReferenceServer(BackgroundServer):
    """A reference server on an ephemeral loopback port, in a background thread; a context manager.

    ``with ReferenceServer() as server:`` gives ``server.base_url``, ``server.target`` (current states) and
    ``server.app``; leaving the block stops the server (bounded: 5 s, then forced) and drops its state
    unless ``db_path`` was given.
    """

    thread_name = "oms-reference"

    def __init__(
        self,
        profile: str = "strict",
        fixtures: FixturesArg = None,
        db_path: str | Path | None = None,
        settle_delay: float = 0.0,
        faults: FaultsArg = (),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(create_app(profile, fixtures, db_path, settle_delay, faults), host=host, port=port)
        self.app: ReferenceApp

    @property
    def target(self) -> Target:
        return build_target(self.app, self.base_url)

    def config(self) -> uvicorn.Config:
        return uvicorn_config(self.app)

    def stop(self, timeout: float = 5.0) -> None:
        super().stop(timeout)
        self.app.close()


def serve(app: ReferenceApp, host: str, port: int, on_ready: Callable[[str], Any]) -> None:
    """Serve in the foreground until SIGINT or SIGTERM, then shut down gracefully and return.

    uvicorn takes both signals while it runs and re-raises them once it has shut down; the no-op handlers
    installed here receive that re-raise, so a stop by signal ends in a normal return (exit code 0).
    """
    try:
        sock, base_url = bind(host, port)
    except OSError as exc:
        app.close()
        raise UsageError(f"--host/--port {host}:{port}: cannot listen there ({exc.strerror or exc})") from exc
    try:
        on_ready(base_url)
        server = uvicorn.Server(uvicorn_config(app, log_level="info", own_logging=True))
        # Start-up garbage (fixture loading) collected once, the rest frozen: later collections skip it.
        gc.collect()
        gc.freeze()

        def noted(_sig: int, _frame: FrameType | None) -> None:
            pass

        previous = {sig: signal.signal(sig, noted) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            server.run(sockets=[sock])
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    finally:
        sock.close()
        app.close()
