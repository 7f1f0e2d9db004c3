"""Benchmark: where a cold deep fuzz spends its time, for this checkout and (in the same run) an older commit.

    .venv/bin/python tests/benchmarks/bench_fuzz_profile.py [--examples 2000] [--base COMMIT] [--top 12]

Each variant runs `oms-conformance run --checks fuzz --max-examples N --seed 1` cold
(`OMS_CONFORMANCE_CACHE=off`) against one `oms-conformance serve` process, twice, after a first run that is
not shown (the first of a series spent ~1 s more CPU in its worker processes, whichever variant it was):

- a timeline (no profiler): when the run started the fuzz check, when each plan of generated cases arrived
  from the worker processes and when its last case had been sent and judged; the requests written, how
  many heads were held back (transport/h1.py ``HOLD_ABOVE``: their last bytes go ``HOLD_S`` later), and
  the CPU of the run's process and of its worker processes;
- cProfile of the run's process: the functions with the most time of their own (the profiler slows Python
  code ~2x, so read the shares, not the seconds; worker processes are not profiled).

The older variant runs from a temporary `git worktree` through PYTHONPATH with this environment's packages.
Not a test: numbers depend on the machine and its load; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # tests.benchmarks.bench_run, bench_base

# Run in the variant's interpreter (PYTHONPATH at the variant): hooks that time the fuzz check's plans and
# count the heads written, then the CLI. Spawned worker processes re-run this as their main module, so
# everything happens under the __main__ guard.
DRIVER = """
import json, os, sys, time

def main(out_path):
    started = time.perf_counter()
    import conformance.checks.machinery.corpus as corpus_module
    import conformance.transport.keepalive as keepalive

    events, heads = [], {"written": 0, "held": 0}
    drawn = corpus_module.corpus

    async def timed(*args, **kwargs):
        events.append(("fuzz starts", 0, time.perf_counter() - started))
        async for plan in drawn(*args, **kwargs):
            events.append(("plan arrives", len(plan), time.perf_counter() - started))
            yield plan
            events.append(("plan sent", len(plan), time.perf_counter() - started))

    corpus_module.corpus = timed
    write = keepalive.write_request

    async def counted(conn, head, rest):
        heads["written"] += 1
        written = await write(conn, head, rest)
        heads["held"] += bool(written)  # "" for a request that went in one write
        return written

    keepalive.write_request = counted
    from conformance.cli import main as cli

    sys.argv = ["oms-conformance", *sys.argv[2:]]
    try:
        cli()
    except SystemExit:
        pass
    times = os.times()  # this process's own: its workers are reaped at exit, and counted by the benchmark
    with open(out_path, "w") as out:
        json.dump({"events": events, "heads": heads, "wall": time.perf_counter() - started,
                   "cpu": times.user + times.system}, out)

if __name__ == "__main__":
    main(sys.argv[1])
"""


def run_variant(
    source: Path, workdir: Path, target: Path, examples: int, profile: Path | None
) -> dict[str, Any]:
    """One cold fuzz run of the code in ``source``: its timeline, or (``profile``) its cProfile stats."""
    driver = workdir / "fuzz_driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    out = workdir / "timeline.json"
    args = ["run", "--target", str(target), "--checks", "fuzz", "--max-examples", str(examples),
            "--seed", "1", "--report-dir", str(workdir / "r"), "--format", "json"]  # fmt: skip
    if profile is None:
        command = [sys.executable, str(driver), str(out), *args]
    else:
        command = [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "conformance", *args]
    env = {**os.environ, "PYTHONPATH": str(source), "OMS_CONFORMANCE_CACHE": "off"}
    cpu = _children_cpu()
    subprocess.run(command, cwd=workdir, env=env, capture_output=True, timeout=1800, check=False)
    cpu = _children_cpu() - cpu  # the run's process and its worker processes, which it reaped
    shutil.rmtree(workdir / "r", ignore_errors=True)
    if profile is not None:
        return {}
    data = dict(json.loads(out.read_text(encoding="utf-8")))
    data["workers_cpu"] = cpu - data["cpu"]
    return data


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def print_timeline(name: str, data: dict[str, Any]) -> None:
    events = data["events"]
    fuzz_starts = next(t for what, _, t in events if what == "fuzz starts")
    arrivals = [(n, t) for what, n, t in events if what == "plan arrives"]
    sent = [t for what, _, t in events if what == "plan sent"]
    heads = data["heads"]
    print(f"\n{name}: {data['wall']:.1f} s wall, {heads['written']} requests written "
          f"({heads['held']} heads held back), CPU {data['cpu']:.1f} s in the run's process "
          f"+ {data['workers_cpu']:.1f} s in its workers")  # fmt: skip
    print(f"  {'':<22}{'cases':>6}{'arrives s':>11}{'sent by s':>11}{'sending s':>11}")
    print(f"  {'fuzz check starts':<22}{'':>6}{fuzz_starts:>11.2f}")
    for i, ((cases, arrived), done) in enumerate(zip(arrivals, sent, strict=False)):
        began = max(arrived, sent[i - 1] if i else arrived)
        print(f"  {'plan ' + str(i):<22}{cases:>6}{arrived:>11.2f}{done:>11.2f}{done - began:>11.2f}")


def print_profile(name: str, profile: Path, top: int) -> None:
    stats = pstats.Stats(str(profile))
    total = stats.total_tt  # type: ignore[attr-defined]  # pstats keeps it, typeshed does not say so
    rows = sorted(stats.stats.items(), key=lambda item: -item[1][2])[:top]  # type: ignore[attr-defined]
    print(f"\n{name}: cProfile of the run's process, {total:.1f} s in all; most time of their own:")
    for (filename, line, function), (_cc, calls, own, _cum, _callers) in rows:
        where = f"{Path(filename).name}:{line}" if "/" in filename else filename
        print(f"  {own:>7.2f} s {100 * own / total:>5.1f}%  {calls:>9}  {function} ({where})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--base", help="profile this older commit's cold fuzz too, in the same run")
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    from tests.benchmarks.bench_base import base_checkout
    from tests.benchmarks.bench_run import serve_reference

    workdir = Path(tempfile.mkdtemp(prefix="oms-bench-fuzz-profile-"))
    server, target, _port = serve_reference(workdir)
    try:
        variants: list[tuple[str, Path]] = [("this checkout", ROOT)]
        with base_checkout(args.base) if args.base else contextlib.nullcontext() as old:
            if old is not None:
                variants.append((f"at {args.base}", old))
            run_variant(ROOT, workdir, target, args.examples, None)  # not shown: warms the caches (above)
            timelines = {
                name: run_variant(source, workdir, target, args.examples, None) for name, source in variants
            }
            profiles = {name: workdir / f"{i}.prof" for i, (name, _) in enumerate(variants)}
            for name, source in variants:
                run_variant(source, workdir, target, args.examples, profiles[name])
            load = os.getloadavg()[0]
            print(f"cold fuzz, {args.examples} examples, seed 1 (cpus: {os.cpu_count()}, load {load:.1f})")
            for name, data in timelines.items():
                print_timeline(name, data)
            for name, profile in profiles.items():
                print_profile(name, profile, args.top)
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
