"""Running the reference server: in process, in a background thread, or as the ``serve`` command.

:func:`create_app` builds the ASGI app for in-process tests. :class:`ReferenceServer` runs it on a real
loopback socket in a background thread - the embedded default target of ``run`` and the pytest plugin -
with a fresh in-memory state per instance unless given a db. :func:`serve` is the foreground server of
``oms-conformance serve``. The uvicorn settings, the background thread and the foreground loop are shared
with the proxy (:mod:`conformance.server.background`).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import uvicorn

from conformance.server.app import ReferenceApp
from conformance.server.background import BackgroundServer, serve_foreground, uvicorn_config
from conformance.server.connections import ConnectionLimits
from conformance.server.faults import Faults, parse_faults
from conformance.server.fixtures import Fixtures, default_fixtures, load_fixtures
from conformance.server.store import Durability, Store
from conformance.spec import Profile
from conformance.target import Target

FixturesArg = Fixtures | str | Path | None
FaultsArg = Faults | Iterable[str]


def create_app(
    profile: Profile | str = Profile.STRICT,
    fixtures: FixturesArg = None,
    db_path: str | Path | None = None,
    settle_delay: float = 0.0,
    faults: FaultsArg = (),
    *,
    group_commit: bool = True,
    access_log: bool = False,
    durability: Durability = Durability.PROCESS,
) -> ReferenceApp:
    """The ASGI app over a store; fixtures (default set, a Fixtures, or a YAML path) fill an empty db only.
    ``group_commit`` False: one commit per stop (the old mode, kept for the benchmark's comparison);
    ``durability``: what a file db's commits survive (:class:`~conformance.server.store.Durability`)."""
    plan = fault_plan(faults)
    if fixtures is None:
        fixtures = default_fixtures()
    elif not isinstance(fixtures, Fixtures):
        fixtures = load_fixtures(fixtures)
    store = Store(db_path, settle_delay, durability=durability)
    try:
        loaded = store.is_empty()
        if loaded:
            store.load(fixtures)
        app = ReferenceApp(store, profile, plan, group_commit=group_commit, access_log=access_log)
    except BaseException:
        store.close()
        raise
    app.fixtures_loaded = loaded
    return app


def fault_plan(faults: FaultsArg) -> Faults:
    """Faults given as a Faults, SPEC strings, or one SPEC string."""
    if isinstance(faults, str):  # one spec given bare: not a sequence of one-letter specs
        faults = [faults]
    return faults if isinstance(faults, Faults) else parse_faults(faults)


EMBEDDED_RESTORE = {"dst_ak": "embedded-dst-ak-0001", "dst_sk": "embedded-dst-sk-0001"}


def build_target(app: ReferenceApp, base_url: str) -> Target:
    """The target of a running app: its first project, the second as ``other_project``, current states."""
    projects = app.store.projects(2)
    other = projects[1] if len(projects) > 1 else None
    # huawei: keys for the start operation's body, which this server checks for shape only; with them the
    # stateful check (checks/stateful.py) can cycle groups, so a default run verifies HW-START too.
    restore = dict(EMBEDDED_RESTORE) if app.profile is Profile.HUAWEI else None
    return Target(
        base_url=base_url, project=projects[0], profile=app.profile, other_project=other, restore=restore
    )


class ReferenceServer(BackgroundServer):
    """A reference server on an ephemeral loopback port, in a background thread; a context manager.

    ``with ReferenceServer() as server:`` gives ``server.base_url``, ``server.target`` (current states) and
    ``server.app``; leaving the block stops the server (bounded: 5 s, then forced) and drops its state
    unless ``db_path`` was given.
    """

    thread_name = "oms-reference"

    def __init__(
        self,
        profile: Profile | str = Profile.STRICT,
        fixtures: FixturesArg = None,
        db_path: str | Path | None = None,
        settle_delay: float = 0.0,
        faults: FaultsArg = (),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        limits: ConnectionLimits | None = None,
    ) -> None:
        app = create_app(profile, fixtures, db_path, settle_delay, faults)
        super().__init__(app, host=host, port=port, limits=limits)
        self.app: ReferenceApp

    @property
    def target(self) -> Target:
        return build_target(self.app, self.base_url)

    def config(self) -> uvicorn.Config:
        return uvicorn_config(self.app, limits=self.limits)

    def reset(self, faults: FaultsArg | None = None) -> None:
        """The state it started with, in well under a millisecond and without a restart (same port, same
        credentials): task groups at their fixture statuses, fault dice afresh, counters at 0
        (:meth:`ReferenceApp.reset`). ``faults``: other faults until the next reset (None: those it was
        started with). A server over a reused ``db_path`` has no fixtures to go back to: ConfigError."""
        self.app.reset(None if faults is None else fault_plan(faults))

    def stop(self, timeout: float = 5.0) -> None:
        super().stop(timeout)
        self.app.close()


def serve(app: ReferenceApp, host: str, port: int, on_ready: Callable[[str], Any]) -> None:
    """Serve in the foreground until SIGINT or SIGTERM, then shut down gracefully and return (exit code 0)."""
    try:
        serve_foreground(
            uvicorn_config(app, log_level="info", own_logging=True),
            host,
            port,
            on_ready,
            prepare=_freeze_startup_garbage,
        )
    finally:
        app.close()


def _freeze_startup_garbage() -> None:
    # Start-up garbage (fixture loading) collected once, the rest frozen: later collections skip it.
    gc.collect()
    gc.freeze()
