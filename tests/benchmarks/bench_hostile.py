"""Hostile-target benchmark (not collected by pytest): how long a run lasts against a target that never
answers, by --request-timeout, and the peak memory while reading a 50 MB answer.

    /work/venv/bin/python tests/benchmarks/bench_hostile.py
"""

from __future__ import annotations

import asyncio
import resource
import sys
import time
import tracemalloc
from pathlib import Path
from tempfile import TemporaryDirectory

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from click.testing import CliRunner

from conformance.cli import main
from conformance.redact import Redactor
from conformance.transport.http import MAX_BODY, Client
from tests.hostile.conftest import RawServer, cli_args
from tests.hostile.test_slow_targets import BIG, after_preflight, never_answer, oversized

CHECKS = "operation,unknown-group,timely,no-server-error"  # 3 requests after the preflight
REPEATS = 3


def wall_time(make_handler, timeout: float) -> tuple[float, set[int]]:  # type: ignore[no-untyped-def]
    worst, codes = 0.0, set()
    for _ in range(REPEATS):
        with RawServer(make_handler()) as server, TemporaryDirectory() as tmp:
            started = time.perf_counter()
            result = CliRunner().invoke(
                main, cli_args(server.base_url, Path(tmp), checks=CHECKS, timeout=timeout)
            )
            worst = max(worst, time.perf_counter() - started)
            codes.add(result.exit_code)
    return worst, codes


async def _read_big(base_url: str) -> tuple[int, float]:
    client = Client(base_url, Redactor([]), request_timeout=10)
    try:
        started = time.perf_counter()
        result = await client.send("PUT", "/v2/p/taskgroups/g/stop")
        return len(result.body), time.perf_counter() - started
    finally:
        await client.aclose()


def main_() -> None:
    print(f"never-answering target: worst wall time of a run (of {REPEATS}), by --request-timeout")
    print(f"{'timeout_s':>10} {'preflight hangs':>16} {'hangs after preflight (3 req)':>31}")
    for timeout in (0.25, 0.5, 1.0, 2.0):
        hang, code_a = wall_time(lambda: never_answer, timeout)
        later, code_b = wall_time(lambda: after_preflight(never_answer), timeout)
        print(f"{timeout:>10g} {hang:>9.2f}s exit {min(code_a)} {later:>23.2f}s exit {min(code_b)}")
        assert len(code_a) == len(code_b) == 1

    sent: list[int] = []
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with RawServer(oversized(sent)) as server:
        tracemalloc.start()
        size, took = asyncio.run(_read_big(server.base_url))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"\noversized answer: {BIG // 2**20} MiB offered, {size} bytes kept (MAX_BODY {MAX_BODY}), "
        f"{took * 1000:.0f} ms, server sent {max(sent) / 2**20:.1f} MiB before the client hung up"
    )
    print(
        f"peak traced Python memory {peak / 2**20:.2f} MiB; max RSS {rss_before / 1024:.1f} -> "
        f"{rss_after / 1024:.1f} MiB"
    )


if __name__ == "__main__":
    main_()
