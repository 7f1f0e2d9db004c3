"""The default run of this checkout side by side with an older commit's: `bench_run.py --base COMMIT`.

    .venv/bin/python tests/benchmarks/bench_run.py --base COMMIT [--repeat 9]

Each round runs `oms-conformance run --seed 1` (the embedded reference server, every check, the quick
depth) once per variant, interleaved, so load on the machine falls on both alike; the older commit runs from
a temporary `git worktree` through PYTHONPATH with this environment's packages. Printed per variant: the
median wall time (process start to exit, server start included), the requests sent (conformance.json's
status counts), the median of the reports' latency p50 and p99 and of the concurrency check's release spread,
and the ratio of the medians. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[2]


class Round(NamedTuple):
    wall: float
    requests: int
    p50_ms: float  # the report's latency percentiles: the target's and the client's share of the CPU show
    p99_ms: float
    race_ms: float  # the concurrency check's release spread (its note), NaN if it said none


def default_run(source: Path, workdir: Path) -> Round:
    """One default run of the code in ``source``: wall seconds, requests, latencies, the race's spread."""
    reports = workdir / "r"
    started = time.perf_counter()
    command = ["run", "--seed", "1", "--report-dir", str(reports), "--format", "json"]
    subprocess.run(
        [sys.executable, "-m", "conformance", *command],
        cwd=workdir,
        env={**os.environ, "PYTHONPATH": str(source)},
        capture_output=True,
        timeout=300,
        check=False,
    )
    wall = time.perf_counter() - started
    data = json.loads((reports / "conformance.json").read_text())
    shutil.rmtree(reports, ignore_errors=True)
    notes = [n for c in data["checks"] if c["check"] == "concurrency" for n in c.get("notes", [])]
    spread = re.search(r"released within ([\d.]+) ms", " ".join(notes))
    latency = data["latency"]
    return Round(
        wall,
        sum(data["status_counts"].values()),
        latency["p50_ms"],
        latency["p99_ms"],
        float(spread.group(1)) if spread else math.nan,
    )


def compile_sources(checkout: Path) -> None:
    """Byte-compile a checkout's package, as pip's install of it is: with PYTHONDONTWRITEBYTECODE set (this
    environment sets it) a checkout run from source is compiled again by every process, ~0.1 s of CPU
    before a run's first request, where an installed package (and Schemathesis, beside it) reads .pyc."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(checkout / "conformance")],
                   check=True, timeout=300, stdout=subprocess.DEVNULL)  # fmt: skip


@contextmanager
def base_checkout(base: str) -> Iterator[Path]:
    """A temporary `git worktree` of commit ``base``, removed afterwards: its directory is a PYTHONPATH."""
    scratch = Path(tempfile.mkdtemp(prefix="oms-bench-base-"))
    old = scratch / "base"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(old), base],
                   check=True, timeout=120)  # fmt: skip
    compile_sources(old)
    try:
        yield old
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)],
                       check=False, timeout=120)  # fmt: skip
        shutil.rmtree(scratch, ignore_errors=True)


def against_base(base: str, repeat: int) -> None:
    compile_sources(ROOT)
    with base_checkout(base) as old:
        variants = {"this checkout": ROOT, base[:12]: old}
        samples: dict[str, list[Round]] = {name: [] for name in variants}
        for _ in range(repeat):
            for name, source in variants.items():
                samples[name].append(default_run(source, old.parent))
    print(f"default run, medians of {repeat} interleaved rounds (cpus: {os.cpu_count()})")
    print(
        f"{'variant':<20}{'wall s':>8}{'min s':>8}{'max s':>8}{'requests':>10}"
        f"{'p50 ms':>8}{'p99 ms':>8}{'race ms':>9}"
    )
    medians = []
    for name, rows in samples.items():
        walls = [r.wall for r in rows]
        medians.append(statistics.median(walls))
        requests = int(statistics.median(r.requests for r in rows))
        p50, p99, race = (
            statistics.median(getattr(r, k) for r in rows) for k in ("p50_ms", "p99_ms", "race_ms")
        )
        print(
            f"{name:<20}{medians[-1]:>8.2f}{min(walls):>8.2f}{max(walls):>8.2f}{requests:>10}"
            f"{p50:>8.2f}{p99:>8.2f}{race:>9.2f}"
        )
    print(f"\nthis checkout / {base[:12]}: {medians[0] / medians[1]:.3f}")
