"""Benchmark: the latency the validating proxy adds per request, on loopback (not collected by pytest).

Sequential requests over one keep-alive connection, first straight to the reference server, then through
the proxy to the same server; the difference of the percentiles is what the proxy costs. The requests are
stops of an unknown group (400 OMS.1009), so every one does the same work and none changes state.

    /work/venv/bin/python tests/benchmarks/bench_proxy.py [--requests 2000] [--enforce]
"""

from __future__ import annotations

import argparse
import statistics
import time

import httpx

from conformance.proxy import ProxyServer
from conformance.server import ReferenceServer
from conformance.server.fixtures import default_fixtures

MAIN = default_fixtures().projects[0]
PATH = f"/v2/{MAIN.project_id}/taskgroups/no-such-group/stop"
HEADERS = {"X-Auth-Token": MAIN.tokens[0].token, "Content-Type": "application/json"}


def timings(base_url: str, count: int, warmup: int = 200) -> list[float]:
    with httpx.Client(base_url=base_url, trust_env=False) as client:
        for _ in range(warmup):
            client.put(PATH, headers=HEADERS)
        out = []
        for _ in range(count):
            start = time.perf_counter()
            answer = client.put(PATH, headers=HEADERS)
            out.append((time.perf_counter() - start) * 1000)
            assert answer.status_code == 400
    return out


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--enforce", action="store_true")
    args = parser.parse_args()
    with ReferenceServer() as server, ProxyServer(server.base_url, enforce=args.enforce) as proxy:
        direct = timings(server.base_url, args.requests)
        proxied = timings(proxy.base_url, args.requests)
        assert proxy.violations == [], [v.line() for v in proxy.violations]
    print(f"{args.requests} sequential keep-alive requests each (ms)")
    print(f"{'':8} {'p50':>7} {'p90':>7} {'p99':>7}")
    for name, values in (("direct", direct), ("proxy", proxied)):
        print(f"{name:8} " + " ".join(f"{percentile(values, q):7.3f}" for q in (50, 90, 99)))
    added = [percentile(proxied, q) - percentile(direct, q) for q in (50, 90, 99)]
    print(f"{'added':8} " + " ".join(f"{a:7.3f}" for a in added))


if __name__ == "__main__":
    main()
