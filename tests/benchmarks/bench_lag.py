"""Reads-that-lag benchmark (not collected by pytest): how long a huawei run takes, check by check, against
the test model whose show lags its writes as the platform's does (1-3 s, a stop going 7 then 3 after
0.3-1 s), at the default settle_timeout (5 s) - and against the faulty shows and starts that make every read
wait the whole bound.

    /work/main/.venv/bin/python tests/benchmarks/bench_lag.py [--bound 5]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx

from conformance.options import RunOptions
from conformance.runner.engine import execute
from conformance.spec import load_requirements
from conformance.target import parse_target
from tests.suite.model import Model, target_data, variant
from tests.suite.test_trust import three_pausable

SLOW_CHECKS = ("effect", "show-status", "stateful")  # the checks whose reads follow writes


def one_run(bound: float, data: dict[str, Any], **switches: bool) -> None:
    data = {**data, "settle_timeout": bound}
    model = Model(variant(huawei=True, lagging_reads=True, **switches), seed=1)
    options = RunOptions(seed=7, transport=httpx.ASGITransport(app=model), reruns=0, request_timeout=5.0)
    started = time.perf_counter()
    result = asyncio.run(execute(parse_target(data), options))
    wall = time.perf_counter() - started
    by_name = {c.check: c for c in result.checks}
    per_check = "  ".join(
        f"{name} {by_name[name].duration_s:.1f}s/{by_name[name].requests} req ({by_name[name].verdict.value})"
        for name in SLOW_CHECKS
        if name in by_name
    )
    failed = sorted({f.requirement for c in result.checks for f in c.failures})
    print(
        f"  {result.headline(load_requirements())}, failed {failed or '-'}: {wall:.1f}s in all; {per_check}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bound", type=float, default=5.0, help="settle_timeout in the target file")
    bound = parser.parse_args().bound
    every = target_data("http://model.test", huawei=True)
    print(f"show lagging 1-3 s, settle_timeout {bound:g}s")
    for label, data, switches in (
        ("correct, every listed group", every, {}),
        ("correct, three pausable groups", three_pausable(huawei=True), {}),
        ("show_wrong_status", every, {"show_wrong_status": True}),
        ("start_leaves_paused", every, {"start_leaves_paused": True}),
    ):
        print(label)
        one_run(bound, data, **switches)


if __name__ == "__main__":
    main()
