"""``ReferenceServer.reset``: back to the fixtures without a restart - the per-test reset of the pytest
plugin's shared server. It must restore every kind of change a test can make, keep the server's identity
(port, credentials), and be safe while requests are being answered."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest

from conformance.errors import ConfigError
from conformance.server import ReferenceServer, create_app
from conformance.server.serving import EMBEDDED_RESTORE
from tests.server.conftest import MAIN, TOKEN, roomy_fixtures, stop_path


def statuses(server: ReferenceServer) -> dict[str, tuple[str, ...]]:
    return dict(server.target.project.groups)


def put(client: httpx.Client, path: str, body: object = None) -> httpx.Response:
    return client.put(path, headers={"X-Auth-Token": TOKEN}, json=body)


def test_reset_undoes_stops_pausing_and_starts_and_keeps_the_server() -> None:
    with (
        ReferenceServer("huawei", settle_delay=30) as server,
        httpx.Client(base_url=server.base_url, trust_env=False) as client,
    ):
        start_state, base_url, target = statuses(server), server.base_url, server.target
        creating, monitoring = start_state["creating"][0], start_state["monitoring"][0]
        paused = start_state["paused"][0]
        assert put(client, stop_path(creating)).status_code == 200  # pausing for 30 s, then paused
        assert put(client, stop_path(monitoring)).status_code == 200
        start = f"/v2/{MAIN}/taskgroups/{paused}/start"
        assert put(client, start, {"src_ak": "a", "src_sk": "b", **EMBEDDED_RESTORE}).status_code == 200
        assert statuses(server) != start_state

        server.reset()

        assert statuses(server) == start_state
        assert server.base_url == base_url and server.target.project == target.project
        # Pausable again, and served on the connection the client already had: no restart.
        assert put(client, stop_path(monitoring)).status_code == 200


def test_reset_rolls_the_fault_dice_afresh_and_can_change_the_faults() -> None:
    with (
        ReferenceServer(faults=["status=500@0.5", "seed=7"]) as server,
        httpx.Client(base_url=server.base_url, trust_env=False) as client,
    ):
        unknown = stop_path("no-such-group")  # never changes state: only the dice decide 500 or 400

        def answers() -> list[int]:
            return [put(client, unknown).status_code for _ in range(16)]

        first = answers()
        assert set(first) == {400, 500}
        server.reset()
        assert answers() == first  # the same seed, the same sequence
        server.reset(faults=[])
        assert set(answers()) == {400}  # faults gone until the next reset ...
        server.reset()
        assert answers() == first  # ... which brings back the server's own


def test_reset_while_stops_are_answered_never_breaks_a_request() -> None:
    # A client stops groups in a loop while the main thread resets: every answer is one the contract
    # allows for a stop (200, or 400 not pausable once a group is paused), and the last reset wins.
    with ReferenceServer(fixtures=roomy_fixtures(50)) as server:
        start_state = statuses(server)
        groups = start_state["creating"] + start_state["monitoring"]
        seen: set[tuple[int, str]] = set()
        done = threading.Event()

        def stops() -> None:
            with httpx.Client(base_url=server.base_url, trust_env=False) as client:
                while not done.is_set():
                    for group in groups:
                        answer = put(client, stop_path(group))
                        seen.add(
                            (
                                answer.status_code,
                                answer.json().get("error_code", "") if answer.content else "",
                            )
                        )

        thread = threading.Thread(target=stops)
        thread.start()
        try:
            for _ in range(50):
                server.reset()
        finally:
            done.set()
            thread.join(10)
        server.reset()
        assert seen <= {(200, ""), (400, "OMS.0066")}, seen
        assert statuses(server) == start_state


def test_reset_zeroes_the_group_commit_count() -> None:
    app = create_app()
    try:
        assert app._commits is not None
        app._commits.batches = 3
        app.reset()
        assert app._commits.batches == 0
    finally:
        app.close()


def test_a_reused_db_has_nothing_to_reset_to(tmp_path: Path) -> None:
    create_app(db_path=tmp_path / "state.db").close()
    reused = create_app(db_path=tmp_path / "state.db")
    try:
        assert not reused.fixtures_loaded
        with pytest.raises(ConfigError, match="nothing to reset to"):
            reused.reset()
    finally:
        reused.close()
