"""The client's cost per request, side by side: this tree's own connections (transport/h1.py), httpx alone
(the path for proxies and cookies), and a baseline commit's client - by default the one before the single
HTTP stack, whose hot path was transport/wire.py.

Each variant runs in its own process (so each imports its own tree) against one loopback server process
that answers every stop at once over keep-alive, optionally gzipped; the variants alternate over several
rounds and the medians are printed: CPU microseconds per request (the client's process time, which is what
a deep fuzz run pays) and requests per second.

    python tests/benchmarks/bench_client.py [--requests 3000] [--rounds 3] [--baseline d6f8414] [--gzip]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BODY = json.dumps({"error_code": "OMS.1009", "error_msg": "No resources found."}).encode()

SERVER = textwrap.dedent(
    """
    import asyncio, sys
    answer = bytes.fromhex(sys.argv[2])

    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\\r\\n\\r\\n")
                writer.write(answer)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        open(sys.argv[1], "w").write(str(server.sockets[0].getsockname()[1]))
        await server.serve_forever()

    asyncio.run(main())
    """
)

WORKER = textwrap.dedent(
    """
    import asyncio, json, sys, time
    sys.path.insert(0, sys.argv[1])
    from conformance.redact import Redactor
    from conformance.transport.http import Client
    try:
        from conformance.spec.paths import stop_path
    except ImportError:  # a baseline from before the paths moved to the contract
        from conformance.transport.http import stop_path

    async def main(base_url, requests, own):
        client = Client(base_url, Redactor([("tok-" + "x" * 40, "$OMS_TOKEN")]), request_timeout=10)
        if not own:
            if hasattr(getattr(client, "transport", None), "fallback"):  # this tree: httpx behind one seam
                client.transport = client.transport.fallback
            for name in ("_pool", "_wire"):  # the names of older baselines
                if hasattr(client, name):
                    setattr(client, name, None)
        headers = [("X-Auth-Token", "tok-" + "x" * 40)]
        for i in range(50):  # warm: connections, caches
            await client.send("PUT", stop_path("proj-1", f"warm-{i}"), headers)
        cpu, wall = time.process_time(), time.perf_counter()
        for i in range(requests):
            result = await client.send("PUT", stop_path("proj-1", f"omsconf-unknown-{i}"), headers)
            assert result.status == 400 and b"OMS.1009" in result.body, result
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        await client.aclose()
        print(json.dumps({"cpu_us": cpu / requests * 1e6, "rps": requests / wall}))

    asyncio.run(main(sys.argv[2], int(sys.argv[3]), sys.argv[4] == "own"))
    """
)


def answer_bytes(gzipped: bool) -> bytes:
    body = gzip.compress(BODY) if gzipped else BODY
    head = "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nX-Request-Id: r\r\n"
    if gzipped:
        head += "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n"
    return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def baseline_tree(ref: str, into: Path) -> Path:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(into), ref], check=True)
    return into


def measure(tree: Path, base_url: str, requests: int, own: bool) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", WORKER, str(tree), base_url, str(requests), "own" if own else "httpx"],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", default="d6f8414", help="git ref of the client to compare with")
    parser.add_argument("--gzip", action="store_true", help="the server gzips every answer")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        port_file = Path(scratch) / "port"
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(port_file), answer_bytes(args.gzip).hex()],
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        old = baseline_tree(args.baseline, Path(scratch) / "baseline")
        try:
            for _ in range(100):
                if port_file.exists() and port_file.read_text():
                    break
                subprocess.run(["sleep", "0.05"], check=True)
            base_url = f"http://127.0.0.1:{port_file.read_text()}"
            variants = {
                "this tree, own connections (h1.py)": (ROOT, True),
                "this tree, httpx alone": (ROOT, False),
                f"baseline {args.baseline}, own connections (wire.py)": (old, True),
            }
            if args.gzip:  # the baseline's own connections never decoded: they would fail the assertion
                del variants[f"baseline {args.baseline}, own connections (wire.py)"]
            seen: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
            for _ in range(args.rounds):
                for name, (tree, own) in variants.items():
                    seen[name].append(measure(tree, base_url, args.requests, own))
        finally:
            server.terminate()
            server.wait(5)
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], check=False)
    print(
        f"{args.requests} sequential keep-alive stops a round, {args.rounds} rounds, medians"
        + (" (gzipped answers)" if args.gzip else "")
    )
    first = None
    for name, rows in seen.items():
        cpu = statistics.median(r["cpu_us"] for r in rows)
        rps = statistics.median(r["rps"] for r in rows)
        first = first or cpu
        print(f"  {name:<48} {cpu:8.0f} µs CPU/request  {rps:8.0f} req/s  ({cpu / first:.2f}× the first)")


if __name__ == "__main__":
    main()
