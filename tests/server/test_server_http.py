"""The reference server over real loopback HTTP: header sizes, concurrency, raw paths, faults, lifecycle."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from conformance.server import ReferenceServer, generated_group_id
from tests.server.conftest import MAIN, TOKEN, roomy_fixtures, stop_path

_next = {"n": 100}


def fresh_group(status: int = 2) -> str:
    _next["n"] += 1
    return generated_group_id(status, 0, _next["n"])


def put(server: ReferenceServer, path: str, token: str = TOKEN, **headers: str) -> httpx.Response:
    with httpx.Client(base_url=server.base_url, timeout=5) as client:
        return client.put(path, headers={"X-Auth-Token": token, **headers})


def test_a_legal_16384_character_token_reaches_the_app(http_server: ReferenceServer) -> None:
    # Plus ordinary headers, so the head is well over h11's default 16 KiB limit.
    extra = {f"X-Filler-{i}": "f" * 100 for i in range(20)}
    reply = put(http_server, stop_path(fresh_group()), "t" * 16384, **extra)
    assert (reply.status_code, reply.json()["error_code"]) == (403, "OMS.0003")
    reply = put(http_server, stop_path(fresh_group()), "t" * 16385, **extra)
    assert (reply.status_code, reply.json()["error_code"]) == (400, "OMS.0064")


def test_raw_paths_survive_the_wire(http_server: ReferenceServer) -> None:
    # httpx sends these bytes as written: the server must see one segment with %2F, and an empty id.
    assert put(http_server, stop_path("a%2Fb")).json()["error_code"] == "OMS.1009"
    assert put(http_server, f"/v2/{MAIN}/taskgroups//stop").json()["error_code"] == "OMS.0064"
    assert put(http_server, f"/v2/{MAIN}/taskgroups/a/b/stop").status_code == 404


def test_concurrent_stops_on_one_group_have_exactly_one_winner(http_server: ReferenceServer) -> None:
    group = fresh_group()

    async def storm() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=32)
        async with httpx.AsyncClient(base_url=http_server.base_url, limits=limits, timeout=10) as client:
            calls = [client.put(stop_path(group), headers={"X-Auth-Token": TOKEN}) for _ in range(32)]
            return await asyncio.gather(*calls)

    replies = asyncio.run(storm())
    assert sorted(r.status_code for r in replies) == [200] + [400] * 31
    assert {r.json()["error_code"] for r in replies if r.status_code == 400} == {"OMS.0066"}
    assert len({r.headers["x-request-id"] for r in replies}) == 32


def test_keep_alive_serves_many_requests_on_one_connection(http_server: ReferenceServer) -> None:
    with httpx.Client(base_url=http_server.base_url, timeout=5) as client:
        statuses = [
            client.put(stop_path(fresh_group()), headers={"X-Auth-Token": TOKEN}).status_code
            for _ in range(20)
        ]
    assert statuses == [200] * 20


def test_start_returns_a_serving_server_and_stop_closes_its_port() -> None:
    # What start and stop promise, not how fast: start returns once the server answers (it raises after its
    # own deadline otherwise), stop once the port takes no more connections. Speed is for tests/benchmarks/.
    server = ReferenceServer().start()
    try:
        assert httpx.put(server.base_url + stop_path("x"), timeout=5).status_code == 400
        assert server.target.base_url == server.base_url
        assert server.target.other_project is not None
    finally:
        server.stop()
    assert not server.running
    with pytest.raises(httpx.ConnectError):
        httpx.put(server.base_url + stop_path("x"), timeout=5)


def faulty(*specs: str) -> ReferenceServer:
    return ReferenceServer(fixtures=roomy_fixtures(), faults=("seed=1", *specs))


def test_fault_status_answers_without_processing() -> None:
    with faulty("status=429@1") as server:
        group = fresh_group()
        reply = put(server, stop_path(group))
        assert (reply.status_code, reply.headers["retry-after"]) == (429, "1")
        assert reply.json()["error_code"] == "APIGW.0308"
        assert server.app.store.status(MAIN, group) == 2


def test_fault_latency_delays_answers() -> None:
    with faulty("latency=60ms..80ms") as server:
        began = time.perf_counter()
        assert put(server, stop_path(fresh_group())).status_code == 200
        assert time.perf_counter() - began >= 0.06


def test_fault_malformed_processes_then_breaks_the_body() -> None:
    with faulty("malformed@100%") as server:
        group = fresh_group()
        reply = put(server, stop_path(group))
        assert reply.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            json.loads(reply.content)
        assert server.app.store.status(MAIN, group) == 3
        with pytest.raises(json.JSONDecodeError):
            json.loads(put(server, stop_path("nope")).content)


@pytest.mark.parametrize(("spec", "processed"), [("drop@1", False), ("truncate@1", True)])
def test_fault_connection_cuts(spec: str, processed: bool) -> None:
    with faulty(spec) as server:
        group = fresh_group()
        with pytest.raises(httpx.TransportError):
            put(server, stop_path(group))
        with pytest.raises(httpx.TransportError):
            put(server, stop_path("nope"))  # a body to cut in half
        assert server.app.store.status(MAIN, group) == (3 if processed else 2)


def test_fault_prefer_forces_a_documented_status() -> None:
    with ReferenceServer(profile="huawei", fixtures=roomy_fixtures(), faults=["prefer"]) as server:
        group = fresh_group()
        reply = put(server, stop_path(group), Prefer="code=403")
        assert (reply.status_code, reply.json()["error_code"]) == (403, "OMS.0003")
        reply = put(server, stop_path(group), Prefer="respond-async, code=401")
        assert reply.json()["request_id"] == reply.headers["x-request-id"]
        assert put(server, stop_path(group), Prefer="code=429").headers["retry-after"] == "1"
        assert put(server, stop_path(group), Prefer="code=299").json()["error_code"] == "OMS.0064"
        assert server.app.store.status(MAIN, group) == 2
        assert put(server, stop_path(group), Prefer="wait=5").status_code == 200
