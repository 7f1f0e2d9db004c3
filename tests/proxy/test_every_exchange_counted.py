"""Every exchange is accounted for, whatever the upstream does: N requests in, N in the report.

Finding reproduced here: with the upstream cutting answers (``truncate``) the proxy logged ``Exception in
ASGI application`` and the report said 0 requests, CONFORMS; with drop/truncate/malformed at 20 % each,
tracebacks, requests missing from the report, and dropped connections not counted against the server.
"""

from __future__ import annotations

import logging

import httpx
import pytest

from conformance.proxy import ProxyServer, proxy_run_result
from conformance.reports.json_report import run_to_dict
from conformance.server import ReferenceServer
from conformance.server.fixtures import default_fixtures

MAIN = default_fixtures().projects[0]
STOP = f"/v2/{MAIN.project_id}/taskgroups/00000002-0000-4000-8000-000000000000/stop"
AUTH = {"X-Auth-Token": MAIN.tokens[0].token}
N = 60

MIXES = [
    ["drop@0.2", "truncate@0.2", "malformed@0.2", "seed=1"],
    ["drop@0.2", "truncate@0.2", "malformed@0.2", "seed=2"],
    ["drop@0.3", "truncate@0.3", "seed=3"],
    ["truncate@1.0"],
    ["drop@1.0"],
    ["malformed@1.0"],
]


@pytest.mark.parametrize("faults", MIXES, ids=[",".join(m) for m in MIXES])
def test_n_requests_in_n_in_the_report(faults: list[str], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    refused = cut = 0
    with ReferenceServer(faults=faults) as server, ProxyServer(server.base_url) as proxy:
        with httpx.Client(base_url=proxy.base_url, trust_env=False, timeout=10) as client:
            for _ in range(N):
                try:
                    answer = client.put(STOP, headers=AUTH)
                except httpx.RemoteProtocolError:
                    cut += 1  # the upstream cut its answer: so does the proxy, after the same bytes
                    continue
                if answer.status_code == 502:
                    assert answer.json()["error_code"] == "PROXY.0502"  # the contract's envelope
                    refused += 1
        run = proxy_run_result(proxy.app)
        violations = list(proxy.violations)
    assert proxy.app.requests == N
    assert run_to_dict(run)["requests"] == N
    robust = [v for v in violations if v.requirement == "STOP-ROBUST"]
    assert len(robust) == refused + cut
    assert all(v.check == "proxy-response" for v in violations)  # the client did nothing wrong
    if refused + cut:
        assert {c.check: c.verdict.value for c in run.checks}["proxy-response"] == "fail"
    assert "Exception in ASGI application" not in caplog.text
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_a_cut_answer_reaches_the_client_cut_after_the_same_bytes() -> None:
    with (
        ReferenceServer(faults=["truncate@1.0"]) as server,
        ProxyServer(server.base_url) as proxy,
        httpx.Client(base_url=proxy.base_url, trust_env=False, timeout=10) as client,
    ):
        with client.stream("PUT", STOP, headers=AUTH) as response:
            assert response.status_code == 200
            assert response.headers["content-length"] == "2"  # as the upstream announced it
            with pytest.raises(httpx.RemoteProtocolError):
                response.read()
        violations = proxy.take_violations()
    # The run's oracles judge what came: cut off, and (a lone "{") not the JSON a 200 may carry.
    assert [(v.requirement, v.side) for v in violations] == [
        ("STOP-SUCCESS-200", "server"),
        ("STOP-ROBUST", "server"),
    ]
    assert violations[1].exchange.outcome == "cut_off" and violations[1].exchange.status == 200
