"""Helpers for the reference server's tests: direct ASGI calls, servers with plenty of pausable groups, and
the official SDK pointed at a loopback server.

In-process tests call the ASGI app directly (no sockets, microseconds per request) and build the scope by
hand - that is the only way to send a raw path byte for byte. Real-HTTP tests run a ReferenceServer on an
ephemeral loopback port and stop it at the end of the test or module.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conformance.server import ReferenceApp, ReferenceServer, create_app, default_fixtures
from conformance.server.fixtures import Fixtures

MAIN = "f4e146cac1de45669c3fed73dc3b9c6f"
OTHER = "5d0e3e8ba7b2456c9e8a1f2b3c4d5e6f"
TOKEN = "oms-sandbox-token-main"
OTHER_TOKEN = "oms-sandbox-token-other"
READ_ONLY = "oms-sandbox-token-readonly"
AK, SK = "OMSSANDBOXMAINAK0001", "oms-sandbox-sk-main-0001"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def error_code(self) -> str:
        return str(self.json()["error_code"])


def call(
    app: ReferenceApp,
    method: str,
    raw_path: bytes | str,
    headers: list[tuple[bytes, bytes]] | None = None,
    *,
    token: str | None = TOKEN,
    body: bytes = b"",
    query: bytes = b"",
) -> Reply:
    """One request straight into the ASGI app. ``token`` adds X-Auth-Token unless None."""
    raw = raw_path.encode() if isinstance(raw_path, str) else raw_path
    all_headers = list(headers or [])
    if token is not None:
        all_headers.append((b"x-auth-token", token.encode()))
    return asyncio.run(_call(app, method, raw, all_headers, body, query))


async def _call(
    app: ReferenceApp, method: str, raw: bytes, headers: list[tuple[bytes, bytes]], body: bytes, query: bytes
) -> Reply:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": raw.decode("latin-1"),
        "raw_path": raw,
        "query_string": query,
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
    }
    sent: list[dict[str, Any]] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    names = [k.decode("latin-1") for k, _ in start["headers"]]
    assert len(names) == len(set(names)), f"duplicate response headers: {names}"
    got = {k.decode("latin-1"): v.decode("latin-1") for k, v in start["headers"]}
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return Reply(start["status"], got, content)


def stop_path(group: str, project: str = MAIN) -> str:
    return f"/v2/{project}/taskgroups/{group}/stop"


def roomy_fixtures(pausable: int = 200) -> Fixtures:
    """The default set with ``pausable`` creating and monitoring groups in the main project."""
    main, other = default_fixtures().projects
    generate = dict(main.generate) | {"creating": pausable, "monitoring": pausable}
    return Fixtures(projects=(dataclasses.replace(main, generate=generate), other))


@pytest.fixture
def strict_app() -> Iterator[ReferenceApp]:
    app = create_app("strict")
    yield app
    app.close()


@pytest.fixture
def huawei_app() -> Iterator[ReferenceApp]:
    app = create_app("huawei")
    yield app
    app.close()


@pytest.fixture(scope="module")
def http_server() -> Iterator[ReferenceServer]:
    """One real loopback server per module (strict, plenty of pausable groups)."""
    with ReferenceServer(fixtures=roomy_fixtures()) as server:
        yield server


@pytest.fixture
def sdk_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # The SDK writes $HOME/.huaweicloud/application_id on first use.
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path
