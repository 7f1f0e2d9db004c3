"""Benchmark: `oms-conformance run` against the reference server, side by side with plain Schemathesis
(`st run`) on the same document and the same server, in one invocation.

    .venv/bin/python tests/benchmarks/bench_run.py [--repeat 3]             # the default run
    .venv/bin/python tests/benchmarks/bench_run.py --concurrency 1,4,8   # the default run per concurrency
    .venv/bin/python tests/benchmarks/bench_run.py --deep [--examples N] [--warm] [--base COMMIT] [--repeat 3]
    .venv/bin/python tests/benchmarks/bench_run.py --throttle            # --rate-limit 40, 40/s gateway
    .venv/bin/python tests/benchmarks/bench_run.py --race-only [--race-runs 100]  # the race's release spread
    .venv/bin/python tests/benchmarks/bench_run.py --base COMMIT [--repeat 9]  # the default run vs a commit's

Prints wall time (including server start for our default run), requests sent and requests per second for
each, and the ratio. Not a test: numbers depend on the machine; nothing here asserts a time.

--deep: both tools fuzz the stop operation with the same example count against one `oms-conformance serve`
process: ours with `--checks fuzz` cold (`OMS_CONFORMANCE_CACHE=off`: what a nightly job drawing a new seed
gets) and, with `--warm`, again with the corpus of this document, seed and count cached (a replayed seed);
`st run --continue-on-failure` (so it generates its whole count rather than stopping at its first failure).
Printed: distinct cases sent per second for each (st's counted in its VCR cassette), the ratio, and whether
each passed. Ours and st's run `--repeat` times in turn (st's own rate moves by ~10 % between runs), each
shown by its median run, with each of our runs' ratio against the st run after it. With `--base COMMIT` the
same cold fuzz of that commit runs too, between ours and st's (a temporary `git worktree` through PYTHONPATH).
--throttle: the reference app behind a token bucket of 40 requests/s answering 429 without Retry-After
(tests/suite/throttle.py) on loopback; the default run with `--rate-limit 40` and without: 429s seen,
wall time against requests / 40 s.
The default invocation ends with the concurrency check's release spread (first final-byte write to the
last) over ``--race-runs`` runs against a reference server in its own process (as a real target is: a server
thread in this process would share its GIL and widen the spread).

"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))  # tests.benchmarks.bench_pace, tests.suite.throttle


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ours(workdir: Path) -> tuple[float, int]:
    started = time.perf_counter()
    subprocess.run(
        [
            str(BIN / "oms-conformance"),
            "run",
            "--seed",
            "1",
            "--report-dir",
            str(workdir / "r"),
            "--format",
            "json",
        ],
        cwd=workdir,
        capture_output=True,
        timeout=300,
        check=False,
    )
    wall = time.perf_counter() - started
    data = json.loads((workdir / "r" / "conformance.json").read_text())
    return wall, sum(data["status_counts"].values())


def serve_reference(workdir: Path) -> tuple[subprocess.Popen[bytes], Path, int]:
    """`oms-conformance serve` in its own process on a free port, once it has written its target file."""
    port = free_port()
    target = workdir / "target.yaml"
    server = subprocess.Popen(
        [str(BIN / "oms-conformance"), "serve", "--port", str(port), "--write-target", str(target)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not target.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return server, target, port


def schemathesis_config(workdir: Path, target: Path) -> Path:
    """A Schemathesis config file that sends the token of ``target`` (written by the reference server)."""
    token = re.search(r"^token: (.+)$", target.read_text(), re.M)
    assert token, "the reference server wrote no token"
    config = workdir / "schemathesis.toml"
    config.write_text(f'[auth.openapi.IAMToken]\napi_key = "{token.group(1).strip()}"\n')
    return config


def schemathesis(workdir: Path) -> tuple[float, int]:
    server, target, port = serve_reference(workdir)
    try:
        config = schemathesis_config(workdir, target)
        started = time.perf_counter()
        out = subprocess.run(
            [
                str(BIN / "st"),
                "--config-file",
                str(config),
                "run",
                str(ROOT / "openapi" / "stop-task-group.yaml"),
                "--url",
                f"http://127.0.0.1:{port}",
                "--max-examples",
                "100",
                "--seed",
                "1",
                "--no-color",
            ],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        wall = time.perf_counter() - started
        found = re.findall(r"(\d+) generated", out.stdout)
        cases = int(found[-1]) if found else 0
        return wall, cases
    finally:
        server.terminate()
        server.wait(10)


def race_spreads(runs: int, workdir: Path) -> tuple[list[float], dict[str, int]]:
    """The concurrency check's release spread (ms) in each of ``runs`` runs, and the verdicts."""
    sys.path.insert(0, str(ROOT))
    from conformance.options import RunOptions
    from conformance.runner.engine import execute
    from conformance.server.fixtures import generated_group_id
    from conformance.target import parse_target

    project, token, port = "f4e146cac1de45669c3fed73dc3b9c6f", "bench-race-token-0001", free_port()
    fixtures = workdir / "fixtures.yaml"
    fixtures.write_text(
        json.dumps(
            {"projects": [{"project_id": project, "tokens": [token], "generate": {"monitoring": runs}}]}
        )
    )
    ready = workdir / "target.yaml"
    server = subprocess.Popen(
        [
            *(str(BIN / "oms-conformance"), "serve", "--port", str(port)),
            *("--fixtures", str(fixtures), "--write-target", str(ready)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    spreads: list[float] = []
    verdicts: dict[str, int] = {}
    try:
        deadline = time.monotonic() + 20
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        for n in range(runs):
            # One fresh pausable group per run, so every run races a real pause.
            target = parse_target(
                {
                    "base_url": f"http://127.0.0.1:{port}",
                    "project_id": project,
                    "token": token,
                    "groups": {"monitoring": [generated_group_id(2, 0, n)]},
                }
            )
            options = RunOptions(seed=n, checks=["concurrency"], reruns=0, verify=False)
            check = asyncio.run(execute(target, options)).checks[0]
            verdicts[check.verdict.value] = verdicts.get(check.verdict.value, 0) + 1
            spread = re.compile(r"released within ([0-9.]+) ms")
            found = [float(m.group(1)) for note in check.notes if (m := spread.search(note))]
            spreads += found[:1]
    finally:
        server.terminate()
        server.wait(10)
    return spreads, verdicts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--deep", action="store_true")
    parser.add_argument("--warm", action="store_true", help="--deep: a replayed seed's warm corpus too")
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--throttle", action="store_true")
    parser.add_argument("--concurrency", help="comma-separated values to compare on the default run")
    parser.add_argument("--race-runs", type=int, default=50)
    parser.add_argument("--race-only", action="store_true", help="only the race's release spread")
    parser.add_argument("--base", help="the default run (or --deep) side by side with this older commit's")
    args = parser.parse_args()
    if args.base and not args.deep:
        from tests.benchmarks.bench_base import against_base

        against_base(args.base, args.repeat)
        return
    if args.deep:
        from tests.benchmarks.bench_pace import deep

        deep(args.examples, args.warm, args.base, args.repeat)
        return
    if args.throttle:
        from tests.benchmarks.bench_pace import throttled

        throttled()
        return
    if args.concurrency:
        from tests.benchmarks.bench_pace import by_concurrency

        by_concurrency([int(c) for c in args.concurrency.split(",")], args.repeat)
        return
    if not args.race_only:
        compare_with_schemathesis(args.repeat)
    workdir = Path(tempfile.mkdtemp(prefix="oms-bench-race-"))
    try:
        spreads, verdicts = race_spreads(args.race_runs, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(
        f"\nconcurrency check, 16 stops released together, {len(spreads)} runs on loopback; "
        f"verdicts {verdicts}"
    )
    if spreads:
        print(
            f"release spread ms: min {min(spreads):.2f}  median {statistics.median(spreads):.2f}  "
            f"p90 {sorted(spreads)[int(len(spreads) * 0.9)]:.2f}  max {max(spreads):.2f}"
        )


def compare_with_schemathesis(repeat: int) -> None:
    rows = {"oms-conformance run (incl. server start)": ours, "st run, 100 examples": schemathesis}
    results: dict[str, list[tuple[float, int]]] = {name: [] for name in rows}
    for _ in range(repeat):
        for name, fn in rows.items():
            workdir = Path(tempfile.mkdtemp(prefix="oms-bench-"))
            try:
                results[name].append(fn(workdir))
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
    print(f"{'run':<42}{'wall s (median)':>16}{'requests':>10}{'req/s':>9}")
    medians = {}
    for name, samples in results.items():
        wall = statistics.median(s[0] for s in samples)
        requests = int(statistics.median(s[1] for s in samples))
        medians[name] = wall
        print(f"{name:<42}{wall:>16.2f}{requests:>10}{requests / wall:>9.0f}")
    ours_wall, st_wall = medians.values()
    print(
        f"\nwall-time ratio st run / oms-conformance run: {st_wall / ours_wall:.2f}  (cpus: {os.cpu_count()})"
    )


if __name__ == "__main__":
    main()
