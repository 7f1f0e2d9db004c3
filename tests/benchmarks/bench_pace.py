"""The pace benchmarks behind ``bench_run.py --deep | --throttle | --concurrency``: measure and print only.

Every server here listens on loopback and is stopped before the function returns; every subprocess has a
timeout.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SEED = "1"
DOCUMENT = "stop-task-group.yaml"


def _ours(
    workdir: Path, *args: str, env: dict[str, str] | None = None, source: Path | None = None
) -> tuple[float, dict[str, Any], int]:
    """``source``: run the code of that checkout (an older commit's worktree) through PYTHONPATH."""
    command = [str(BIN / "oms-conformance")] if source is None else [sys.executable, "-m", "conformance"]
    env = {**(env or {}), **({"PYTHONPATH": str(source)} if source is not None else {})}
    started = time.perf_counter()
    done = subprocess.run(
        [*command, "run", "--seed", SEED, "--report-dir", str(workdir / "r"), "--format", "json", *args],
        cwd=workdir, capture_output=True, timeout=3600, check=False, env={**os.environ, **env},
    )  # fmt: skip
    wall = time.perf_counter() - started
    return wall, json.loads((workdir / "r" / "conformance.json").read_text()), done.returncode


def _serve(workdir: Path) -> tuple[subprocess.Popen[bytes], Path, int]:
    from tests.benchmarks.bench_run import serve_reference

    return serve_reference(workdir)


def deep(examples: int, warm: bool = False, base: str | None = None, repeat: int = 1) -> None:
    """Distinct cases sent per second, cold (no corpus cache: what a nightly job with a new seed gets), by
    ``run --checks fuzz`` and ``st run`` at the same example count against one server, and the ratio;
    ``base``: the same cold fuzz of that older commit (through PYTHONPATH) in the same run, after ours;
    ``repeat``: the cold runs and st's that many times, in turn, each shown by its median run."""
    from tests.benchmarks.bench_base import compile_sources

    compile_sources(ROOT)  # as installed: st's modules are compiled too
    with contextlib.ExitStack() as stack:
        old = None
        if base is not None:
            from tests.benchmarks.bench_base import base_checkout

            old = stack.enter_context(base_checkout(base))
        _deep(examples, warm, base, old, repeat)


def _deep(examples: int, warm: bool, base: str | None, old: Path | None, repeat: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="oms-bench-deep-"))
    server, target, port = _serve(workdir)
    variants = [("cold, OMS_CONFORMANCE_CACHE=off", None)] + ([(f"cold, at {base}", old)] if old else [])
    try:
        samples: dict[str, list[Row]] = {label: [] for label, _ in variants}
        st_runs: list[Row] = []
        for _ in range(repeat):  # interleaved, so load on the machine falls on each alike
            for label, source in variants:
                samples[label].append(_deep_ours(workdir, target, examples, label, "off", source=source))
            # st too, each time: its own rate moves by ~10 % from run to run on one machine
            st_runs.append(_schemathesis(workdir, target, port, examples))
        rows = [_median(runs) for runs in samples.values()]
        if repeat > 1:
            walls = "; ".join(
                f"{label}: {', '.join(f'{row[1]:.2f}' for row in runs)}" for label, runs in samples.items()
            )
            print(f"cold runs, wall s in turn: {walls}; st run, distinct/s in turn: "
                  + ", ".join(f"{_rate(row):.1f}" for row in st_runs))  # fmt: skip
            for label, runs in samples.items():
                pairs = [_rate(ours) / _rate(st) for ours, st in zip(runs, st_runs, strict=True)]
                print(f"{label}: each run against the st run after it: "
                      + ", ".join(f"{ratio:.1f}x" for ratio in pairs))  # fmt: skip
        if warm:  # a replayed seed: the first run fills the cache, the second reads it
            cache = str(workdir / "corpus-cache")
            _deep_ours(workdir, target, examples, "filling the cache", cache)
            rows.append(_deep_ours(workdir, target, examples, "warm: a replayed seed", cache))
        rows.append(_median(st_runs, rate=True))
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"{'run':<52}{'wall s':>8}{'sent':>8}{'distinct':>10}{'distinct/s':>12}{'CPU s':>8}"
          f"{'/CPU s':>8}  result")  # fmt: skip
    for name, wall, sent, distinct, verdict, cpu in rows:
        print(f"{name:<52}{wall:>8.1f}{sent:>8}{distinct:>10}{distinct / wall:>12.1f}{cpu:>8.1f}"
              f"{distinct / cpu:>8.0f}  {verdict}")  # fmt: skip
    st_rate, st_per_cpu = rows[-1][3] / rows[-1][1], rows[-1][3] / rows[-1][5]
    load = os.getloadavg()[0]
    for name, wall, _sent, distinct, _, cpu in rows[:-1]:
        per_s, per_cpu = distinct / wall / st_rate, distinct / cpu / st_per_cpu
        print(f"{name}: {per_s:.1f}x st run's distinct cases/s, {per_cpu:.1f}x per CPU second "
              f"(cpus: {os.cpu_count()}, load {load:.1f})")  # fmt: skip
    print(f"st options: {' '.join(ST_OPTIONS)} --max-examples {examples} --seed {SEED}")
    print(
        "  --continue-on-failure: without it st stops at its first failure (a schema-valid id of a group\n"
        "  that does not exist is refused with 400, which st's default checks call a failure), so it would\n"
        "  time its start-up, not its fuzzing; with it st generates its whole example count. Its failures\n"
        "  are shown as st reports them. Distinct: requests that differ in method, URL, body or a header\n"
        "  other than st's bookkeeping (its VCR cassette); ours: the fuzz check's requests (it sends a case\n"
        "  once). Wall time includes each tool's start-up and generation. CPU s: the tool's processes' own\n"
        "  (its worker processes included, the server's not): on a machine others load, distinct cases per\n"
        "  CPU second compare the tools where distinct cases per second measure the load too."
    )


Row = tuple[str, float, int, int, str, float]  # label, wall s, sent, distinct, result, the tool's CPU s


def _median(runs: list[Row], rate: bool = False) -> Row:
    """The median run: by wall time (ours: the same cases each run), or by distinct cases per second (st's
    distinct count differs from run to run under one seed)."""
    return sorted(runs, key=_rate if rate else (lambda row: row[1]))[len(runs) // 2]


def _rate(row: Row) -> float:
    return row[3] / row[1]  # distinct cases per second


def _children_cpu() -> float:
    """CPU seconds of this process's waited-for children and their descendants (the tool run just ended)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _deep_ours(
    workdir: Path, target: Path, examples: int, label: str, cache: str, source: Path | None = None
) -> Row:
    cpu = _children_cpu()
    wall, data, code = _ours(
        workdir, "--target", str(target), "--checks", "fuzz", "--max-examples", str(examples),
        env={"OMS_CONFORMANCE_CACHE": cache}, source=source,
    )  # fmt: skip
    cpu = _children_cpu() - cpu
    shutil.rmtree(workdir / "r", ignore_errors=True)
    fuzz = next(c for c in data["checks"] if c["check"] == "fuzz")
    judged = sum(1 for c in data["checks"] if c["check"] != "fuzz" and c["verdict"] != "not run")
    passed = "passed" if code == 0 else f"exit {code}: {data['verdict']}"
    sent = fuzz["requests"]  # the check sends each distinct case once
    return f"oms-conformance fuzz, {label}", wall, sent, sent, f"{passed}, {judged} oracles judged", cpu


# st run's options besides the document, URL, example count and seed; printed with the results.
# --output-sanitize false: the cassette keeps the token st sent, so a fuzzed token is told from the valid one
# (the cassette stays in the benchmark's scratch directory, removed at the end; nothing prints it).
ST_OPTIONS = ("--continue-on-failure", "--no-color")
_ST_BOOKKEEPING = {"user-agent", "accept-encoding", "accept", "connection", "x-schemathesis-testcaseid"}


def _schemathesis(workdir: Path, target: Path, port: int, examples: int) -> Row:
    """`st run` against the same server and document, made to generate its whole example count."""
    from tests.benchmarks.bench_run import schemathesis_config

    config = schemathesis_config(workdir, target)
    cassette = workdir / "st-cassette.yaml"
    cpu, started = _children_cpu(), time.perf_counter()
    out = subprocess.run(
        [str(BIN / "st"), "--config-file", str(config), "run", str(ROOT / "openapi" / DOCUMENT),
         "--url", f"http://127.0.0.1:{port}", "--max-examples", str(examples), "--seed", SEED, *ST_OPTIONS,
         "--report", "vcr", "--report-vcr-path", str(cassette), "--output-sanitize", "false"],
        cwd=workdir, capture_output=True, text=True, timeout=7200, check=False,
    )  # fmt: skip
    wall, cpu = time.perf_counter() - started, _children_cpu() - cpu
    sent, distinct = _distinct_requests(cassette)
    # The summary's failure lines as st prints them ("❌ ST202 Schema-valid request rejected: 1").
    failures = re.findall(r"^\s*\S+ (ST\d+ .*: \d+)$", out.stdout, re.M)
    verdict = "passed" if out.returncode == 0 else f"exit {out.returncode}: " + ("; ".join(failures) or "?")
    return f"st run --max-examples {examples}", wall, sent, distinct, verdict, cpu


def _distinct_requests(cassette: Path) -> tuple[int, int]:
    """Requests in st's VCR cassette, and how many differ in what reaches the server."""
    import yaml

    data = yaml.load(cassette.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    keys = []
    for interaction in data.get("http_interactions") or []:
        request = interaction["request"]
        headers = tuple(
            sorted(
                (name.lower(), tuple(values))
                for name, values in (request.get("headers") or {}).items()
                if name.lower() not in _ST_BOOKKEEPING
            )
        )
        keys.append((request["method"], request["uri"], headers, json.dumps(request.get("body"))))
    return len(keys), len(set(keys))


def throttled() -> None:
    from conformance.server.serving import build_target, create_app
    from conformance.target import dump_target
    from tests.suite.throttle import LoopbackServer, Throttle

    print(f"{'run vs a 40 req/s gateway (429, no Retry-After)':<52}{'requests':>9}{'429s':>6}{'run s':>8}"
          f"{'requests/40':>13}{'ratio':>7}")  # fmt: skip
    for label, args in (("--rate-limit 40", ["--rate-limit", "40"]), ("no --rate-limit", [])):
        workdir = Path(tempfile.mkdtemp(prefix="oms-bench-throttle-"))
        app = create_app()
        gateway = Throttle(app, rate=40, burst=40)
        try:
            with LoopbackServer(gateway) as server:
                target = workdir / "target.yaml"
                target.write_text(dump_target(build_target(app, server.base_url)))
                _wall, data, _code = _ours(workdir, "--target", str(target), *args)
        finally:
            app.close()
            shutil.rmtree(workdir, ignore_errors=True)
        pace = data.get("pace") or {}
        requests = pace.get("requests", 0)
        seconds = data["timing"]["duration_s"]
        ideal = requests / 40
        ratio = seconds / ideal
        print(f"{label:<52}{requests:>9}{gateway.refused:>6}{seconds:>8.2f}{ideal:>13.2f}{ratio:>7.2f}")


def by_concurrency(values: list[int], repeat: int) -> None:
    cache = Path(tempfile.mkdtemp(prefix="oms-bench-cache-"))
    samples: dict[int, list[float]] = {c: [] for c in values}
    try:
        for _ in range(repeat):
            for concurrency in values:  # interleaved, so load on the machine falls on each alike
                workdir = Path(tempfile.mkdtemp(prefix="oms-bench-conc-"))
                try:
                    wall, _data, _code = _ours(
                        workdir, "--concurrency", str(concurrency), env={"OMS_CONFORMANCE_CACHE": str(cache)}
                    )
                    samples[concurrency].append(wall)
                finally:
                    shutil.rmtree(workdir, ignore_errors=True)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    print(f"{'default run, wall incl. server start':<40}{'median s':>10}{'min s':>8}")
    for concurrency, walls in samples.items():
        print(f"--concurrency {concurrency:<26}{statistics.median(walls):>10.2f}{min(walls):>8.2f}")
    print("(the first run of the first concurrency also generated the corpus; later ones read it)")
