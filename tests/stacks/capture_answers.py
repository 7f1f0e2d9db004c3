"""Capture the real answers of the field servers' stacks to requests their defaults refuse, into
tests/unit/stack_answers.json, where tests/unit/test_layer_detection.py holds checks/machinery/layers.py to
them.

Run by hand after a stack changes (``python -m tests.stacks.capture_answers``; a few seconds a stack): the
fixture is committed, so the detection is tested on real answers without starting any stack. Tokens in the
captured bodies are replaced by ``<token>``.
"""

from __future__ import annotations

import contextlib
import json
import socket
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

from .launch import StackServer
from .stacks import build, launch, missing

OUT = Path(__file__).resolve().parents[1] / "unit" / "stack_answers.json"
KEEP_BYTES = 400

CONFIGS: list[tuple[str, tuple[str, ...]]] = [
    ("fastapi", ()),
    ("fastapi", ("decoded-routing",)),
    ("fastapi", ("h11-max-incomplete-event-size",)),
    ("flask", ("limit-request-line",)),
    ("flask", ("limit-request-field-size",)),
    ("flask", ("decoded-routing",)),
    ("flask", ("string-converter",)),
    ("aiohttp", ()),
    ("aiohttp", ("max-line-size",)),
    ("aiohttp", ("max-field-size",)),
    ("express", ()),
    ("express", ("max-http-header-size",)),
    ("go", ("servemux",)),
    ("jdk", ("decoded-path",)),
]


def requests(server: StackServer) -> dict[str, tuple[bytes, bool]]:
    """name -> (the raw request, whether its head's last bytes are held back a moment)."""
    seed = server.seed
    host = urlsplit(server.base_url).netloc
    group = seed.groups["monitoring"][0]

    def put(path: str, token: str = seed.token) -> bytes:
        head = f"PUT {path} HTTP/1.1\r\nHost: {host}\r\nX-Auth-Token: {token}\r\n"
        return (head + "Content-Length: 0\r\nConnection: close\r\n\r\n").encode()

    long_id = quote("€" * 1024, safe="")  # a legal 1,024-character id: 9,216 bytes percent-encoded
    return {
        "unknown-route": (put("/nope"), False),
        "encoded-slash-id": (put(f"/v2/{seed.project}/taskgroups/a%2Fb/stop"), False),
        "empty-id": (put(f"/v2/{seed.project}/taskgroups//stop"), False),
        "other-method": (
            put(f"/v2/{seed.project}/taskgroups/{group}/stop").replace(b"PUT", b"GET", 1),
            False,
        ),
        "long-id": (put(f"/v2/{seed.project}/taskgroups/{long_id}/stop"), False),
        "long-token": (put(f"/v2/{seed.project}/taskgroups/{group}x/stop", "t" * 16384), True),
        "unknown-group": (put(f"/v2/{seed.project}/taskgroups/omsconf-unknown-1/stop"), False),
    }


def exchange(server: StackServer, raw: bytes, held: bool) -> bytes:
    url = urlsplit(server.base_url)
    with socket.create_connection((url.hostname or "", url.port or 80), timeout=10) as sock:
        if held:  # the head's last bytes a moment later, as a network can deliver them
            sock.sendall(raw[:-8])
            time.sleep(0.05)
            raw = raw[-8:]
        with contextlib.suppress(OSError):  # refused before the end: its answer may still be there
            sock.sendall(raw)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def parse(answer: bytes, secrets: list[str]) -> dict[str, object]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0].startswith("HTTP/") else None
    headers = [line.split(":", 1) for line in lines[1:] if ":" in line]
    text = body[:KEEP_BYTES].decode("utf-8", "replace")
    for secret in secrets:
        for n in range(len(secret), 15, -1):  # whole, or a run of 16 or more of its characters
            text = text.replace(secret[:n], "<token>")
    return {"status": status, "headers": [[k.strip(), v.strip()] for k, v in headers], "body": text}


def main() -> None:
    captured = []
    with tempfile.TemporaryDirectory() as work:
        for name, defaults in CONFIGS:
            if missing(name) is not None:
                print(f"skipped {name}: {missing(name)}")
                continue
            build(name, Path(work) / f"{name}-build")
            with launch(name, Path(work), list(defaults)) as server:
                secrets = [server.seed.token, "t" * 16384]
                for request, (raw, held) in requests(server).items():
                    answer = parse(exchange(server, raw, held), secrets)
                    captured.append({"stack": name, "defaults": list(defaults), "request": request, **answer})
                    print(name, defaults, request, answer["status"])
    OUT.write_text(json.dumps(captured, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
