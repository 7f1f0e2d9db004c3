"""Benchmark: where the run's ``--concurrency`` slots sit idle against a remote target.

    .venv/bin/python tests/benchmarks/bench_slots.py [--rtt 50] [--concurrency 4] [--bucket 0.25]

The default run of a reference server's target through bench_remote.py's latency relay, as its rows 15-16
run it, with every request traced in the run's process: which lane sent it (the keeper's chain, whose
requests InFlight prefers, or the lane beside it: runner/lanes.py), which check, when it asked for a slot,
got one and ended, and whether it opened a connection of its own (two round trips: a stop that may not be
repeated goes on a new connection, transport/keepalive.py; one opened ahead of it, transport/ahead.py, does
not count). connection-state's pairs (one slot each, on a connection of their own) and the race (every slot)
are traced too. Printed: the slots in use per lane over time, each check's span, requests, new connections,
slot-seconds and time waited for a slot, and the slot-seconds used of those the run had.

Not a test: numbers depend on the machine; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.append(str(ROOT))


def traced(out: str, argv: list[str]) -> None:
    """Run the CLI in this process with its requests traced into ``out`` (JSON)."""
    from conformance.checks import connection_state
    from conformance.checks.machinery import context, in_flight, racing, sender
    from conformance.transport import keepalive

    started, rows = time.perf_counter(), []
    contexts: list[Any] = []
    connected: dict[int, bool] = {}  # task -> opened a connection of its own
    slot_at: dict[int, float] = {}  # task -> when its request got a slot

    def now() -> float:
        return time.perf_counter() - started

    def task_id() -> int:
        return id(asyncio.current_task())

    make_context = context.CheckContext.__init__

    def remember(self: Any, *args: Any, **kwargs: Any) -> None:
        make_context(self, *args, **kwargs)
        contexts.append(self)

    context.CheckContext.__init__ = remember  # type: ignore[method-assign]
    connect = getattr(keepalive, "connect")  # noqa: B009 - patched where the pool calls it

    async def counted_connect(*args: Any, **kwargs: Any) -> Any:
        connected[task_id()] = True
        return await connect(*args, **kwargs)

    setattr(keepalive, "connect", counted_connect)  # noqa: B010
    one = in_flight.InFlight.one

    @asynccontextmanager
    async def timed_one(self: Any) -> Any:
        async with one(self):
            slot_at[task_id()] = now()
            yield

    in_flight.InFlight.one = timed_one  # type: ignore[method-assign]

    def row(kind: str, asked: float, lane: str, **more: Any) -> None:
        check = contexts[0].recorder.check if contexts else ""
        rows.append({"kind": kind, "asked": asked, "got": slot_at.pop(task_id(), asked), "end": now(),
                     "lane": lane, "check": check, **more})  # fmt: skip

    send_once = sender.Sender._send_once

    async def traced_send(self: Any, *args: Any, **kwargs: Any) -> Any:
        lane = "chain" if self.in_flight._priority.get() == 0 else "beside"
        asked, _ = now(), connected.pop(task_id(), None)
        result = await send_once(self, *args, **kwargs)
        row("request", asked, lane, new=connected.pop(task_id(), False), safe=kwargs["replay_safe"])
        return result

    sender.Sender._send_once = traced_send  # type: ignore[method-assign]

    def spans(module: Any, name: str, kind: str, lane: str) -> None:
        """``module.name`` traced as one span on connections of its own (a pair: one slot; the race: all)."""
        function = getattr(module, name)

        async def traced_span(*args: Any, **kwargs: Any) -> Any:
            asked = now()
            result = await function(*args, **kwargs)
            row(kind, asked, lane, new=True, safe=False)
            return result

        setattr(module, name, traced_span)

    spans(connection_state, "on_one_connection", "pair", "chain")
    spans(racing, "race", "race", "race")
    from conformance.cli import main

    try:
        main.main(argv, prog_name="oms-conformance", standalone_mode=False)
    except SystemExit:
        pass
    finally:
        Path(out).write_text(json.dumps(rows))


def occupancy(rows: list[dict[str, Any]], limit: int, bucket: float) -> None:
    end = max(r["end"] for r in rows)
    print(f"slots in use per {bucket:g} s (of {limit}): chain, beside, race; '#' = an idle slot-tenth")
    idle_total = 0.0
    for n in range(int(end / bucket) + 1):
        low, high = n * bucket, (n + 1) * bucket
        used: dict[str, float] = defaultdict(float)
        for r in rows:
            share = max(0.0, min(r["end"], high) - max(r["got"], low)) / bucket
            used[r["lane"]] += share * (limit if r["kind"] == "race" else 1)
        idle = max(0.0, limit - sum(used.values()))
        idle_total += idle * bucket
        checks = sorted({r["check"] for r in rows if r["got"] < high and r["end"] > low})
        print(f"{low:5.2f} {used['chain']:4.1f} {used['beside']:4.1f} {used['race']:4.1f} "
              f"{'#' * round(idle * 10 / limit * 2):<20} {', '.join(checks)}")  # fmt: skip
    print(f"idle: {idle_total:.2f} slot-s of {limit * end:.2f} ({end:.2f} s x {limit})")


def per_check(rows: list[dict[str, Any]]) -> None:
    # slot s: each request's time holding a slot (the race holds every slot for its span)
    print(f"{'lane':<7}{'check':<22}{'span s':>13}{'requests':>9}{'new conn':>9}{'slot s':>8}{'waited s':>9}")
    checks: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        checks[r["lane"], r["check"]].append(r)
    for (lane, check), mine in sorted(checks.items(), key=lambda kv: min(r["asked"] for r in kv[1])):
        first, last = min(r["asked"] for r in mine), max(r["end"] for r in mine)
        print(f"{lane:<7}{check:<22}{first:6.2f}-{last:5.2f}{len(mine):>9}"
              f"{sum(r['new'] for r in mine):>9}{sum(r['end'] - r['got'] for r in mine):>8.2f}"
              f"{sum(r['got'] - r['asked'] for r in mine):>9.2f}")  # fmt: skip
    fresh = [r for r in rows if r["kind"] == "request" and r["new"]]
    print(f"requests on a connection of their own: {len(fresh)} "
          f"({sum(not r['safe'] for r in fresh)} that may not be repeated)")  # fmt: skip


def main() -> None:
    if sys.argv[1:2] == ["--traced"]:  # --traced OUT CLI_ARGS...: the run itself
        traced(sys.argv[2], sys.argv[3:])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--rtt", type=float, default=50.0, help="round trip time in ms")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--bucket", type=float, default=0.25, help="seconds per line of the occupancy")
    args = parser.parse_args()
    from tests.benchmarks.bench_remote import start_relay
    from tests.benchmarks.bench_run import serve_reference

    workdir = Path(tempfile.mkdtemp(prefix="oms-bench-slots-"))
    server, target, port = serve_reference(workdir)
    relay, relay_port = start_relay(port, args.rtt)
    try:
        target.write_text(target.read_text().replace(f"127.0.0.1:{port}", f"127.0.0.1:{relay_port}"))
        out = workdir / "rows.json"
        subprocess.run(
            [sys.executable, __file__, "--traced", str(out), "run", "--target", str(target), "--seed", "1",
             "--concurrency", str(args.concurrency), "--report-dir", str(workdir / "r"), "--format", "json"],
            capture_output=True, timeout=600, check=False, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        report = json.loads((workdir / "r" / "conformance.json").read_text())
        rows = json.loads(out.read_text())
    finally:
        for process in (relay, server):
            process.terminate()
            process.wait(10)
    load = os.getloadavg()[0]
    print(f"default run at {args.rtt:g} ms, --concurrency {args.concurrency}: {report['verdict']}, "
          f"{report['timing']['duration_s']:.2f} s, {len(rows)} traced (load {load:.1f})")  # fmt: skip
    occupancy(rows, args.concurrency, args.bucket)
    per_check(rows)


if __name__ == "__main__":
    main()
