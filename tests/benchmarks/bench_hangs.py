"""Hanging-target benchmark (not collected by pytest): how long a run lasts, with the DEFAULT options
(``--request-timeout 10``, re-runs, concurrency), against the suite's models over loopback - a correct one
slow now and then, and three that hang: on every unknown group id, on every authenticated stop after the
first (a lock never released), and on everything after some requests (wedged).

    PYTHONPATH=. /work/main/.venv/bin/python tests/benchmarks/bench_hangs.py [--quick]

``--quick``: the strict profile only. Each run is a subprocess (``python -m conformance run --target``), so
its wall time is the CLI's, start-up included; every server listens on 127.0.0.1 and stops with its run.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.suite.model import Model, target_data, variant  # noqa: E402
from tests.suite.socket_server import ModelServer  # noqa: E402

TARGETS: dict[str, dict[str, Any]] = {
    "correct, 2.5 s on every 25th answer": {"slow_every": 25, "slow_s": 2.5},
    "hangs on every unknown group id": {"hang_on_unknown_group": True},
    "authenticated stops hang after the first": {"lock_after_first_stop": True},
    "stops answering after 60 requests": {"dead_after": 60},
}
BOUND_S = 120  # docs/conformance.md's promise for default options


def one_run(switches: dict[str, Any], huawei: bool) -> tuple[float, int, dict[str, Any]]:
    model = Model(variant(huawei=huawei, **switches))
    with ModelServer(model) as server, tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "target.yaml"
        target.write_text(yaml.safe_dump(target_data(server.base_url, huawei=huawei)))
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "conformance", "run", "--target", str(target), "--seed", "7",
             "--format", "json", "--report-dir", str(Path(tmp) / "r")],
            capture_output=True, timeout=900, check=False, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        wall = time.perf_counter() - started
        report = json.loads((Path(tmp) / "r" / "conformance.json").read_text())
    return wall, done.returncode, report


def main() -> None:
    # A model's hanging handlers are cancelled when its server stops, and uvicorn logs each as an error
    # (uvicorn sets the logger's level when each server starts: disabled, it stays quiet).
    logging.getLogger("uvicorn.error").disabled = True
    profiles = [False] if "--quick" in sys.argv else [False, True]
    print("default options (--request-timeout 10); wall time of one run each, over loopback")
    head = f"{'target':<44} {'profile':<8} {'wall_s':>7} {'exit':>4}  {'requests':>8}  {'timed out':>9}"
    print(head + "  verdict")
    for name, switches in TARGETS.items():
        for huawei in profiles:
            wall, code, report = one_run(switches, huawei)
            counts = report.get("status_counts", {})
            verdict = f"{report['verdict']} ({report['stop_reason']})"
            print(
                f"{name:<44} {'huawei' if huawei else 'strict':<8} {wall:>7.1f} {code:>4}  "
                f"{sum(counts.values()):>8}  {counts.get('error', 0):>9}  {verdict}"
                + ("  OVER THE BOUND" if wall > BOUND_S else "")
            )


if __name__ == "__main__":
    main()
