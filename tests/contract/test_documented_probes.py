"""Every look-alike token docs/running.md names is one `lookalike-tokens` sends, and it sends no other: the
check runs against the in-process model, every X-Auth-Token header it sends is recorded, and the documented
list is held against the probes those headers are. (The docs once promised a second X-Auth-Token line with
the valid token after those probes were dropped.)"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import httpx

from conformance.checks.machinery.lookalikes import token_lookalikes
from conformance.options import RunOptions
from conformance.runner.engine import execute
from conformance.target import parse_target
from tests.suite.model import OTHER_TOKEN, READONLY, TOKEN, Model, target_data

RUNNING = Path(__file__).resolve().parents[2] / "docs" / "running.md"
MARKER = "**Look-alike tokens.**"


def documented_token_probes() -> list[str]:
    text = RUNNING.read_text(encoding="utf-8")
    after = text[text.index(MARKER) :].split("\n\n")
    (items,) = [block for block in after[1:3] if block.startswith("- ")]
    return [line.removeprefix("- ") for line in items.splitlines()]


class Recording:
    """The model, recording the X-Auth-Token field lines of every request."""

    def __init__(self) -> None:
        self.model = Model()
        self.sent: list[tuple[tuple[str, str], ...]] = []

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
        send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
    ) -> None:
        if scope["type"] == "http":
            lines = tuple(
                ("X-Auth-Token", value.decode("latin-1"))
                for name, value in scope["headers"]
                if name.lower() == b"x-auth-token"
            )
            self.sent.append(lines)
        await self.model(scope, receive, send)


def test_every_documented_look_alike_token_is_sent_and_no_other() -> None:
    app = Recording()
    options = RunOptions(
        seed=7, transport=httpx.ASGITransport(app=app), reruns=0, checks=["lookalike-tokens"]
    )
    asyncio.run(execute(parse_target(target_data("http://model.test")), options))
    probes = {probe.how: probe.headers for probe in token_lookalikes(TOKEN, READONLY, OTHER_TOKEN)}
    sent = [probe for probe, headers in probes.items() if headers in app.sent]
    documented = documented_token_probes()
    assert len(documented) == len(set(documented)) > 10
    assert sorted(documented) == sorted(sent), (
        f"documented, not sent: {sorted(set(documented) - set(sent))}; "
        f"sent, not documented: {sorted(set(sent) - set(documented))}"
    )
