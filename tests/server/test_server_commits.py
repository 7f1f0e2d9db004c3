"""Group commit on a file db: one winner per group, nothing acknowledged before its commit, no crash loss."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conformance.server import ReferenceApp, ReferenceServer, create_app
from conformance.server.store import Store
from tests.server.conftest import MAIN, TOKEN, Reply, _call, roomy_fixtures, stop_path
from tests.server.test_server_app import gid, status_of


def storm(app: ReferenceApp, paths: list[str]) -> list[Reply]:
    """Concurrent stops into the app in one event loop, as uvicorn would run them."""
    headers = [(b"x-auth-token", TOKEN.encode())]

    async def all_at_once() -> list[Reply]:
        return await asyncio.gather(*(_call(app, "PUT", p.encode(), headers, b"", b"") for p in paths))

    return asyncio.run(all_at_once())


@pytest.fixture
def file_app(tmp_path: Path) -> Iterator[ReferenceApp]:
    app = create_app("strict", roomy_fixtures(), db_path=tmp_path / "state.db")
    yield app
    app.close()


def test_a_file_db_commits_in_groups_and_one_of_n_stops_wins(file_app: ReferenceApp) -> None:
    commits = file_app._commits
    assert commits is not None  # on by default
    replies = storm(file_app, [stop_path(gid("monitoring"))] * 32)
    assert sorted(r.status for r in replies) == [200] + [400] * 31
    assert {r.error_code for r in replies if r.status == 400} == {"OMS.0066"}
    distinct = [stop_path(gid("creating", n)) for n in range(32)]
    before = commits.batches
    assert [r.status for r in storm(file_app, distinct)] == [200] * 32
    assert commits.batches - before < 32  # they shared commits
    assert all(status_of(file_app, gid("creating", n)) == 3 for n in range(32))


def test_a_failed_commit_acknowledges_none_of_its_stops(
    file_app: ReferenceApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Store._stop

    def failing_at_the_last(self: Store, project_id: str, group_id: str) -> object:
        if group_id == gid("creating", 7):  # the earlier updates of the transaction have run
            raise sqlite3.OperationalError("disk I/O error")
        return original(self, project_id, group_id)

    monkeypatch.setattr(Store, "_stop", failing_at_the_last)
    replies = storm(file_app, [stop_path(gid("creating", n)) for n in range(8)])
    assert {(r.status, r.error_code) for r in replies} == {(400, "REF.0001")}
    assert all(status_of(file_app, gid("creating", n)) == 1 for n in range(8))  # rolled back


def test_a_served_app_binds_its_loop_for_the_life_of_the_server() -> None:
    with ReferenceServer() as server:
        commits = server.app._commits
        assert commits is not None and commits._loop is not None  # bound by the lifespan start-up
        target = server.target
        group = target.project.groups["monitoring"][0]
        answer = httpx.put(
            f"{server.base_url}/v2/{MAIN}/taskgroups/{group}/stop", headers={"X-Auth-Token": TOKEN}, timeout=5
        )
        assert answer.status_code == 200
    assert commits._loop is None  # unbound at shutdown: the app may be served again on another loop


def test_commit_per_stop_is_still_available_and_gives_one_winner() -> None:
    app = create_app("strict", group_commit=False)
    try:
        assert app._commits is None
        replies = storm(app, [stop_path(gid("monitoring"))] * 16)
        assert sorted(r.status for r in replies) == [200] + [400] * 15
    finally:
        app.close()


@pytest.mark.slow
def test_a_kill_9_right_after_a_200_never_loses_that_stop(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    fixtures = tmp_path / "fixtures.yaml"
    fixtures.write_text(
        f"projects:\n  - project_id: {MAIN}\n    tokens: [{TOKEN}]\n    generate: {{monitoring: 3000}}\n"
    )
    command = [sys.executable, "-m", "conformance", "serve", "--port", "0", "--db", str(db)]
    process = subprocess.Popen([*command, "--fixtures", str(fixtures)], stderr=subprocess.PIPE)
    try:
        base_url = _base_url(process)
        acknowledged = asyncio.run(_stop_until_killed(base_url, process))
        assert process.wait(timeout=10) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        assert process.stderr is not None
        process.stderr.close()
    assert len(acknowledged) >= 200
    store = Store(db)  # the killed server's exclusive lock died with it
    try:
        lost = [group for group in acknowledged if store.status(MAIN, group) != 3]
    finally:
        store.close()
    assert lost == []


def _base_url(process: subprocess.Popen[bytes]) -> str:
    assert process.stderr is not None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = process.stderr.readline().decode()
        if " on http://" in line:
            return line.split(" on ", 1)[1].split()[0]
        assert line or process.poll() is None, "serve exited before listening"
    raise AssertionError("serve did not come up in 20 s")


async def _stop_until_killed(base_url: str, process: subprocess.Popen[bytes]) -> list[str]:
    """32 connections stop distinct groups; the 200th 200 kills the server at once (SIGKILL, no shutdown)."""
    acknowledged: list[str] = []
    groups = iter(gid("monitoring", n) for n in range(3000))
    limits = httpx.Limits(max_connections=32)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=5) as client:

        async def worker() -> None:
            for group in groups:
                try:
                    reply = await client.put(stop_path(group), headers={"X-Auth-Token": TOKEN})
                except httpx.TransportError:
                    return  # the server is gone
                if reply.status_code == 200:
                    acknowledged.append(group)
                    if len(acknowledged) == 200:
                        os.kill(process.pid, signal.SIGKILL)

        await asyncio.gather(*(worker() for _ in range(32)))
    return acknowledged
