"""Benchmark: sustained state-changing stops per second of the reference server, beside Prism's mock.

Why: the reference server is the embedded default target of every conformance run and a stand-in for the
real service in client tests, so it must never be the bottleneck. Target: >= 10,000 stops/s with p99 < 5 ms
on loopback, one server worker, wrk with one thread and 16 keep-alive connections.

Every request pauses a *different* monitoring group (a Lua script walks the generated ids
``00000002-0000-4000-8000-<n:012x>``, see conformance/server/fixtures.py), so every 200 is a real SQLite
write; the script checks that every answer was 200. Variants: the server with its default in-memory db,
and with a WAL file db (``--db``) twice - with group commit (the default: the stops of one event-loop turn in
one transaction) and with one commit per stop (the old mode, ``serve --commit each``; also in memory with
``--memory-commit-each``), side by side with their ratios; both file variants use the default durability
(``process``: no fsync), and ``--machine-durability`` adds the file db with an fsync per commit (``serve
--durability machine``), whose pace is the disk's; Prism's mock of the same contract (``prism
mock``, default and quiet logging) for comparison - a mock that changes no state, so the ratio flatters Prism.

Not collected by pytest (norecursedirs). Run from the repository root:

    python tests/benchmarks/bench_server.py [--duration 5] [--rounds 3] [--groups 500000] [--skip-prism]

Needs ``wrk`` (Debian: ``apt-get install -y wrk``); Prism is installed with npm into a temporary directory
and skipped, with a message, when that fails. Prints a table and exits 0 (2 if wrk is missing).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "openapi" / "stop-task-group.yaml"
PROJECT = "f4e146cac1de45669c3fed73dc3b9c6f"
TOKEN = "oms-sandbox-token-main"
TARGET_RPS, TARGET_P99_MS = 10_000, 5.0

LUA = """
wrk.method = "PUT"
wrk.headers["X-Auth-Token"] = "%(token)s"
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) counter = tonumber(args[1]) or 0; ok = 0; other = 0 end
function request()
  local path = string.format("/v2/%(project)s/taskgroups/00000002-0000-4000-8000-%%012x/stop", counter)
  counter = counter + 1
  return wrk.format(nil, path)
end
function response(status) if status == 200 then ok = ok + 1 else other = other + 1 end end
function done()
  for _, t in ipairs(threads) do
    local line = string.format("answers: ok=%%d other=%%d", t:get("ok"), t:get("other"))
    io.write(string.format("%%s sent=%%d\\n", line, t:get("counter")))
  end
end
"""
FIXTURES = """projects:
  - project_id: %(project)s
    tokens: [%(token)s]
    generate: {monitoring: %(groups)d}
"""


@dataclass
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    ok: int
    other: int
    next_group: int  # the first group id the run did not use (requests in flight at the end count as used)
    cpu_us: float = float("nan")  # server CPU (user + system) per answered request

    @property
    def total(self) -> int:
        return self.ok + self.other


def wrk(name: str, url: str, lua: Path, duration: int, connections: int, offset: int) -> Result:
    options = ["-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(lua)]
    command = ["wrk", *options, url, "--", str(offset)]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=duration + 30).stdout
    answers = re.search(r"answers: ok=(\d+) other=(\d+) sent=(\d+)", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not answers or not rps:
        raise RuntimeError(f"cannot read wrk's output:\n{out}")
    ok, other, last = map(int, answers.groups())
    return Result(name, float(rps.group(1)), _latency(out, "50"), _latency(out, "99"), ok, other, last)


def _latency(out: str, percentile: str) -> float:
    match = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    if not match:
        return float("nan")
    return float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listened on port {port} within {timeout:.0f} s")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def running(command: list[str], port: int, timeout: float = 60) -> Iterator[tuple[str, int]]:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    try:
        wait_for(port, process, timeout)
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def measure(name: str, server: tuple[str, int], lua: Path, args: argparse.Namespace) -> Result:
    url, pid = server
    # A short warm-up run first; the measured run then starts on groups the warm-up did not touch.
    warm = wrk(name, url, lua, 2, args.connections, 0)
    before = cpu_seconds(pid)
    result = wrk(name, url, lua, args.duration, args.connections, warm.next_group)
    # CPU per request does not depend on what else the machine runs, unlike requests per second.
    result.cpu_us = (cpu_seconds(pid) - before) / max(result.total, 1) * 1e6
    latency = f"p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms"
    print(f"  {name}: {result.rps:,.0f} req/s, {latency}, {result.cpu_us:.0f} us CPU/request", flush=True)
    return result


def reference_command(
    tmp: Path, args: argparse.Namespace, file_db: bool, commit: str, durability: str = "process"
) -> tuple[str, list[str]]:
    fixtures = tmp / "bench-fixtures.yaml"
    fixtures.write_text(FIXTURES % {"project": PROJECT, "token": TOKEN, "groups": args.groups})
    command = [sys.executable, "-m", "conformance", "serve", "--fixtures", str(fixtures), "--commit", commit]
    if file_db:
        command += ["--db", str(tmp / f"bench-{commit}-{durability}.db"), "--durability", durability]
    per = {"group": "group commit", "each": "commit per stop"}[commit]
    if durability != "process":
        per += f", {durability} durability"
    return f"reference server, {'file db' if file_db else 'in-memory db'}, {per}", command


def interleaved(
    tmp: Path, lua: Path, args: argparse.Namespace, variants: list[tuple[bool, str, str]]
) -> list[Result]:
    """Every variant's server runs at once; the measured runs alternate between them, ``--rounds`` times,
    so a burst of load from elsewhere on the machine hits all variants alike. Per variant: the median of
    its runs' requests per second and latencies, and its CPU over all of them."""
    with ExitStack() as stack:
        servers = []
        for file_db, commit, durability in variants:
            name, command = reference_command(tmp, args, file_db, commit, durability)
            port = free_port()
            servers.append((name, stack.enter_context(running([*command, "--port", str(port)], port))))
        offsets = {name: wrk(name, url, lua, 2, args.connections, 0).next_group for name, (url, _) in servers}
        runs: dict[str, list[Result]] = {name: [] for name, _ in servers}
        cpu: dict[str, float] = dict.fromkeys(runs, 0.0)
        for round_ in range(args.rounds):
            for name, (url, pid) in servers:
                before = cpu_seconds(pid)
                result = wrk(name, url, lua, args.duration, args.connections, offsets[name])
                cpu[name] += cpu_seconds(pid) - before
                offsets[name] = result.next_group
                runs[name].append(result)
                print(
                    f"  round {round_ + 1}, {name}: {result.rps:,.0f} req/s, p99 {result.p99_ms:.2f} ms",
                    flush=True,
                )
    combined = []
    for name, results in runs.items():
        total = sum(r.total for r in results)
        combined.append(
            Result(
                name,
                statistics.median(r.rps for r in results),
                statistics.median(r.p50_ms for r in results),
                statistics.median(r.p99_ms for r in results),
                sum(r.ok for r in results),
                sum(r.other for r in results),
                offsets[name],
                cpu[name] / max(total, 1) * 1e6,
            )
        )
    return combined


def install_prism(tmp: Path) -> Path | None:
    if shutil.which("npm") is None:
        print("  skipping Prism: npm is not installed")
        return None
    print("  installing @stoplight/prism-cli with npm (a minute or two)...", flush=True)
    done = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", str(tmp / "prism"),
         "@stoplight/prism-cli"],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    binary = tmp / "prism" / "node_modules" / ".bin" / "prism"
    if done.returncode != 0 or not binary.exists():
        why = done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]
        print(f"  skipping Prism: npm install failed ({why[0]})")
        return None
    return binary


def prism(binary: Path, lua: Path, args: argparse.Namespace, quiet: bool) -> Result:
    port = free_port()
    command = [str(binary), "mock", "-h", "127.0.0.1", "-p", str(port), str(SPEC)]
    if quiet:
        command += ["--verboseLevel", "error"]  # per-request logging off
    name = "Prism mock, quiet logging" if quiet else "Prism mock, default logging"
    with running(command, port, timeout=120) as server:
        return measure(name, server, lua, args)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--duration", type=int, default=5, help="seconds per measured run (default 5)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="measured runs per reference variant (default 3)"
    )
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections (default 16)")
    parser.add_argument("--groups", type=int, default=500_000, help="pausable groups to generate")
    parser.add_argument("--skip-prism", action="store_true", help="do not install and measure Prism")
    parser.add_argument("--prism", type=Path, help="an installed prism binary (skips the npm install)")
    parser.add_argument("--skip-file-db", action="store_true", help="measure the in-memory db only")
    parser.add_argument(
        "--memory-commit-each", action="store_true", help="also measure the in-memory db, a commit per stop"
    )
    parser.add_argument(
        "--machine-durability", action="store_true", help="also measure the file db with an fsync per commit"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get update && apt-get install -y wrk", file=sys.stderr)
        return 2
    runs = f"{args.duration} s per run, {args.rounds} interleaved runs per reference variant"
    print(f"wrk: 1 thread, {args.connections} connections, {runs}; one server worker")
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bench-server-") as name:
        tmp = Path(name)
        lua = tmp / "stop.lua"
        lua.write_text(LUA % {"project": PROJECT, "token": TOKEN})
        variants = [(False, "group", "process")]
        if args.memory_commit_each:
            variants.append((False, "each", "process"))
        if not args.skip_file_db:
            variants += [(True, "group", "process"), (True, "each", "process")]
            if args.machine_durability:
                variants.append((True, "group", "machine"))
        results.extend(interleaved(tmp, lua, args, variants))
        binary = None if args.skip_prism else args.prism or install_prism(tmp)
        if binary is not None:
            for quiet in (False, True):
                try:
                    results.append(prism(binary, lua, args, quiet))
                except (RuntimeError, subprocess.SubprocessError) as exc:
                    print(f"  skipping Prism ({'quiet' if quiet else 'default'}): {exc}")
    report(results)
    return 0


def report(results: list[Result]) -> None:
    print(f"\n{'variant':<62} {'req/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'non-200':>8} {'CPU us/req':>11}")
    for r in results:
        print(f"{r.name:<62} {r.rps:>9,.0f} {r.p50_ms:>7.2f} {r.p99_ms:>7.2f} {r.other:>8} {r.cpu_us:>11.0f}")
    print()
    ours = [r for r in results if r.name.startswith("reference")]
    for result in ours:
        verdict = "meets" if result.rps >= TARGET_RPS and result.p99_ms < TARGET_P99_MS else "MISSES"
        print(f"{result.name} {verdict} the target (>= {TARGET_RPS:,} req/s, p99 < {TARGET_P99_MS} ms)")
        if result.other:
            print(f"warning: {result.other} answers were not 200 - not every request changed state")
    by_name = {r.name: r for r in ours}
    group = by_name.get("reference server, file db, group commit")
    each = by_name.get("reference server, file db, commit per stop")
    memory = by_name.get("reference server, in-memory db, group commit")
    if group and each:
        print(f"file db, group commit vs commit per stop: {ratios(group, each)}")
    if group and memory:
        print(f"file db, group commit vs in-memory db: {ratios(group, memory)}")
    first = ours[0]
    for other in results[1:]:
        if other.name.startswith("Prism") and other.rps:
            rps, cpu = first.rps / other.rps, other.cpu_us / first.cpu_us
            print(f"vs {other.name}: {rps:.1f}x the requests per second, {cpu:.1f}x less CPU per request")


def ratios(new: Result, old: Result) -> str:
    return (
        f"{new.rps / old.rps:.2f}x the requests per second, p99 {new.p99_ms / old.p99_ms:.2f}x, "
        f"CPU per request {new.cpu_us / old.cpu_us:.2f}x"
    )


if __name__ == "__main__":
    sys.exit(main())
