"""Benchmark: the default run against a remote target, simulated on loopback by a latency relay.

    .venv/bin/python tests/benchmarks/bench_remote.py [--rtt 0,50,200] [--repeat 1] [--concurrency 4]

For each round trip time: a fresh `oms-conformance serve` process (the reference server and its target),
a TCP relay on 127.0.0.1 in its own process that holds every chunk of bytes RTT/2 in each direction (and
no byte of a new connection before one RTT from its start: the TCP handshake a real network costs, paid whole
by a request written at once, already paid by one on a connection opened ahead), and the CLI's default
run of that target through the relay (`run --target ... --seed 1 --concurrency N`), timed from the start of
its process. At 0 ms the run goes straight to the server. Nothing leaves loopback.

Printed per round trip time: wall time, requests, and the run's **critical path** - the longest chain of
requests that followed each other in that very run, in requests and in seconds. A request follows the last
answer its asyncio task received before sending it, and a task that spawned others (a check's concurrent
requests, gathered) follows every answer they received before it sends again; a task waiting for a free
lane of ``--concurrency`` does not follow what held the lane. So the chain is what the run's own order made
sequential: a check that sends one request at a time puts all of them on it, one that sends them together
one. Wall time over the critical path's seconds says how much time went to things other than that chain
(lanes, CPU, the relay); the critical path's length says how much of the run is ordered at all.

Not a test: numbers depend on the machine; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
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
sys.path.append(str(ROOT))  # tests.benchmarks.bench_run; appended: a run of --base reads its PYTHONPATH first


# -- the relay


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float, first: float
) -> None:
    """Copy ``reader`` to ``writer``, each chunk written ``delay`` s after it was read, in order; then
    half-close. ``first``: the handshake's round trip, counted from now (the connection's start): no chunk
    goes before it is over, as a client's bytes cannot leave before its connection is open - a connection
    opened ahead of its first request has paid it by then, one written to at once pays it whole."""
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    opened = loop.time() + first

    async def deliver() -> None:
        while True:
            due, chunk = await queue.get()
            if (wait := due - loop.time()) > 0:
                await asyncio.sleep(wait)
            if not chunk:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(chunk)
            await writer.drain()

    delivering = asyncio.create_task(deliver())
    try:
        while chunk := await reader.read(65536):
            queue.put_nowait((max(loop.time(), opened) + delay, chunk))
        queue.put_nowait((loop.time() + delay, b""))
        await delivering
    except (ConnectionError, OSError):
        delivering.cancel()


async def _relay(listen: int, upstream: int, rtt: float) -> None:
    async def connection(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", upstream)
        except OSError:
            client_w.close()
            return
        try:
            await asyncio.gather(
                _pipe(client_r, server_w, rtt / 2, rtt),  # the handshake's round trip before the first bytes
                _pipe(server_r, client_w, rtt / 2, 0.0),
            )
        finally:
            client_w.close()
            server_w.close()

    server = await asyncio.start_server(connection, "127.0.0.1", listen)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


def start_relay(upstream: int, rtt_ms: float) -> tuple[subprocess.Popen[str], int]:
    from tests.benchmarks.bench_run import free_port

    port = free_port()
    relay = subprocess.Popen(
        [sys.executable, __file__, "--relay", f"{port}:{upstream}:{rtt_ms}"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert relay.stdout is not None and relay.stdout.readline().strip() == "ready", "the relay did not start"
    return relay, port


# -- the critical path of a run


class ChainTracker:
    """Per asyncio task: the longest chain of requests its next request follows (in requests and seconds)."""

    def __init__(self) -> None:
        self.reached: dict[int, tuple[int, float]] = {}  # task id -> (requests, seconds) of its chain so far
        self.parent: dict[int, int] = {}
        self.longest = (0, 0.0)
        self.requests = 0

    def spawned(self, parent: asyncio.Task[Any] | None, child: asyncio.Task[Any]) -> None:
        if parent is None:
            return
        self.parent[id(child)] = id(parent)
        self.reached[id(child)] = self.reached.get(id(parent), (0, 0.0))
        child.add_done_callback(self._joined)

    def _joined(self, child: asyncio.Task[Any]) -> None:
        # What the child's chain reached, its parent follows from now on (it awaited it, or will).
        parent = self.parent.pop(id(child), None)
        reached = self.reached.pop(id(child), (0, 0.0))
        if parent is not None:
            self.reached[parent] = _longer(self.reached.get(parent, (0, 0.0)), reached)

    def exchanged(self, task: asyncio.Task[Any] | None, before: tuple[int, float], seconds: float) -> None:
        chain = (before[0] + 1, before[1] + seconds)
        self.requests += 1
        self.longest = (max(self.longest[0], chain[0]), max(self.longest[1], chain[1]))
        if task is not None:
            self.reached[id(task)] = _longer(self.reached.get(id(task), (0, 0.0)), chain)

    def now(self, task: asyncio.Task[Any] | None) -> tuple[int, float]:
        return self.reached.get(id(task), (0, 0.0)) if task is not None else (0, 0.0)


def _longer(a: tuple[int, float], b: tuple[int, float]) -> tuple[int, float]:
    return (max(a[0], b[0]), max(a[1], b[1]))


def traced_cli(trace: str, argv: list[str]) -> int:
    """Run the CLI in this process with every request and every task creation traced; the critical path is
    written to ``trace`` as JSON when the run ends."""
    import asyncio.base_events

    from conformance.transport import http, race

    tracker = ChainTracker()
    create_task = asyncio.base_events.BaseEventLoop.create_task

    def traced_create_task(self: Any, coro: Any, **kwargs: Any) -> Any:
        parent = asyncio.current_task(self) if self.is_running() else None
        task = create_task(self, coro, **kwargs)
        tracker.spawned(parent, task)
        return task

    asyncio.base_events.BaseEventLoop.create_task = traced_create_task  # type: ignore[method-assign]
    send_once = http.Client._send_once

    async def traced_send_once(self: Any, *args: Any, **kwargs: Any) -> Any:
        task = asyncio.current_task()
        before, started = tracker.now(task), time.perf_counter()
        result = await send_once(self, *args, **kwargs)
        tracker.exchanged(task, before, time.perf_counter() - started)
        return result

    http.Client._send_once = traced_send_once  # type: ignore[method-assign]
    run_race = race.race

    async def traced_race(client: Any, requests: Any) -> Any:
        # The race's requests go out together: one link of the chain, each of them a request sent.
        task = asyncio.current_task()
        before, started = tracker.now(task), time.perf_counter()
        result = await run_race(client, requests)
        tracker.requests += len(requests) - 1
        tracker.exchanged(task, before, time.perf_counter() - started)
        return result

    race.race = traced_race  # type: ignore[assignment]
    import importlib

    # Where the run calls the race from: machinery/racing.py, or the check context before it moved there
    # (an older commit run by --base).
    for name in ("conformance.checks.machinery.racing", "conformance.checks.machinery.context"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, "race"):
            setattr(module, "race", traced_race)  # noqa: B010 - a module found by name
    from conformance.cli import main

    try:
        main.main(argv, prog_name="oms-conformance", standalone_mode=False)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        Path(trace).write_text(
            json.dumps(
                {"links": tracker.longest[0], "seconds": tracker.longest[1], "requests": tracker.requests}
            )
        )
    return code


# -- the benchmark


def one_run(rtt_ms: float, concurrency: int, workdir: Path, source: Path = ROOT) -> dict[str, Any]:
    """One default run at ``rtt_ms`` of the code in ``source`` (this checkout, or an older commit's
    worktree) against a reference server of this checkout."""
    from tests.benchmarks.bench_run import serve_reference

    server, target, port = serve_reference(workdir)
    relay = None
    try:
        if rtt_ms:
            relay, relay_port = start_relay(port, rtt_ms)
            text = target.read_text().replace(f"127.0.0.1:{port}", f"127.0.0.1:{relay_port}")
            target.write_text(text)
        trace = workdir / "trace.json"
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, __file__, "--traced", str(trace), "run", "--target", str(target),
             "--seed", "1", "--concurrency", str(concurrency), "--report-dir", str(workdir / "r"),
             "--format", "json"],
            cwd=workdir, capture_output=True, text=True, timeout=1800, check=False,
            env={**os.environ, "PYTHONPATH": str(source)},
        )  # fmt: skip
        wall = time.perf_counter() - started
        report = json.loads((workdir / "r" / "conformance.json").read_text())
        path = json.loads(trace.read_text())
    finally:
        for process in (relay, server):
            if process is not None:
                process.terminate()
                process.wait(10)
    return {
        "wall": wall,
        "run": report["timing"]["duration_s"],
        "requests": (report.get("pace") or {}).get("requests", path["requests"]),
        "links": path["links"],
        "chain_s": path["seconds"],
        "verdict": report["verdict"],
        "exit": done.returncode,
        "slowest": sorted(((c["duration_s"], c["check"]) for c in report["checks"]), reverse=True)[:5],
        # The scenarios in the order they ran (a response check judges answers: it takes no time of its own).
        "checks": [(c["check"], c["duration_s"], c["requests"]) for c in report["checks"] if c["duration_s"]],
    }


def main() -> None:
    # The two processes this script starts of itself: the relay, and the CLI run with its trace.
    if sys.argv[1:2] == ["--relay"]:  # --relay LISTEN:UPSTREAM:RTT_MS
        listen, upstream, rtt_ms = sys.argv[2].split(":")
        asyncio.run(_relay(int(listen), int(upstream), float(rtt_ms) / 1000))
        return
    if sys.argv[1:2] == ["--traced"]:  # --traced TRACE_FILE CLI_ARGS...
        sys.exit(traced_cli(sys.argv[2], sys.argv[3:]))
    parser = argparse.ArgumentParser()
    parser.add_argument("--rtt", default="0,50,200", help="round trip times in ms, comma-separated")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--base", default="", help="an older commit to run side by side (a git worktree)")
    parser.add_argument("--per-check", action="store_true", help="every scenario's time and requests")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="oms-bench-remote-"))
    variants = {"this checkout": ROOT}
    rows: dict[tuple[str, float], list[dict[str, Any]]] = {}
    try:
        if args.base:
            variants[args.base] = scratch / "base"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q",
                            str(scratch / "base"), args.base], check=True, timeout=120)  # fmt: skip
        for _ in range(args.repeat):
            for rtt in (float(r) for r in args.rtt.split(",")):
                for name, source in variants.items():  # interleaved: load falls on each alike
                    workdir = Path(tempfile.mkdtemp(prefix="run-", dir=scratch))
                    rows.setdefault((name, rtt), []).append(one_run(rtt, args.concurrency, workdir, source))
                    shutil.rmtree(workdir, ignore_errors=True)
    finally:
        if args.base:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(scratch / "base")],
                           check=False, timeout=120)  # fmt: skip
        shutil.rmtree(scratch, ignore_errors=True)
    _print(rows, args.repeat, args.concurrency, per_check=args.per_check)


def _print(
    rows: dict[tuple[str, float], list[dict[str, Any]]], repeat: int, concurrency: int, *, per_check: bool
) -> None:
    print(f"default run of the reference server's target, --concurrency {concurrency}, seed 1, "
          f"median of {repeat} (cpus: {os.cpu_count()}, load {os.getloadavg()[0]:.1f})")  # fmt: skip
    print(f"{'variant':<16}{'RTT ms':>7}{'wall s':>9}{'run s':>8}{'requests':>10}{'critical path':>15}"
          f"{'path s':>8}{'wall/path':>11}  verdict")  # fmt: skip
    for (name, rtt), samples in rows.items():
        med = {
            k: statistics.median(s[k] for s in samples)
            for k in ("wall", "run", "requests", "links", "chain_s")
        }
        ratio = med["wall"] / med["chain_s"] if med["chain_s"] else float("nan")
        verdicts = ",".join(sorted({f"{s['verdict']} (exit {s['exit']})" for s in samples}))
        print(f"{name:<16}{rtt:>7.0f}{med['wall']:>9.2f}{med['run']:>8.2f}{med['requests']:>10.0f}"
              f"{med['links']:>15.0f}{med['chain_s']:>8.2f}{ratio:>11.2f}  {verdicts}")  # fmt: skip
    for (name, rtt), samples in rows.items():
        slow = ", ".join(f"{check} {seconds:.2f} s" for seconds, check in samples[-1]["slowest"])
        print(f"  {name}, {rtt:.0f} ms, slowest checks: {slow}")
    if not per_check:
        return
    print("per check, seconds/requests (the last run of each):")
    names = list(dict.fromkeys(check for samples in rows.values() for check, _, _ in samples[-1]["checks"]))
    print(f"{'check':<22}" + "".join(f"{f'{name} {rtt:.0f} ms':>24}" for name, rtt in rows))
    for check in names:
        cells = []
        for samples in rows.values():
            found = [(s, n) for c, s, n in samples[-1]["checks"] if c == check]
            cells.append(f"{found[0][0]:.2f}/{found[0][1]}" if found else "-")
        print(f"{check:<22}" + "".join(f"{cell:>24}" for cell in cells))


if __name__ == "__main__":
    main()
