"""Properties of a whole run: it never pauses a group the target does not list, and a seed replays it."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from conformance.runner.engine import RunOptions, execute
from conformance.target import parse_target

from .model import PROJECT, TOKEN, Model, target_data

UNLISTED = "157ece42-3270-4824-a3d2-f0187a03ca01"  # the page's example id, pausable, not in the target file


class Recording(Model):
    def __post_init__(self) -> None:
        super().__post_init__()
        self.groups[(PROJECT, UNLISTED)] = 2
        self.seen: list[tuple[str, bytes, str]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = dict(scope["headers"])
        self.seen.append(
            (scope["method"], scope["raw_path"], headers.get(b"x-auth-token", b"").decode("latin-1"))
        )
        await super().__call__(scope, receive, send)


def _run(seed: int, depth: str = "quick") -> Recording:
    app = Recording()
    target = parse_target(target_data("http://model.test"))
    asyncio.run(
        execute(target, RunOptions(seed=seed, depth=depth, reruns=0, transport=httpx.ASGITransport(app=app)))
    )
    return app


def test_a_run_never_pauses_a_group_the_target_does_not_list() -> None:
    app = _run(seed=3, depth="full")
    assert app.groups[(PROJECT, UNLISTED)] == 2
    listed = parse_target(target_data("http://x.test")).listed_group_ids()
    for method, raw_path, token in app.seen:
        parts = raw_path.decode().split("/")
        if method == "PUT" and token == TOKEN and len(parts) == 6 and parts[2] == PROJECT:
            group = parts[4]
            assert group in listed or not _uuid_shaped(group), raw_path


def _uuid_shaped(value: str) -> bool:
    import re

    return bool(re.fullmatch(r"[0-9a-fA-F-]{32,36}", value))


def test_the_same_seed_sends_the_same_requests() -> None:
    first, second = _run(seed=11), _run(seed=11)
    # Concurrent stops interleave differently; compare as multisets.
    assert sorted(first.seen) == sorted(second.seen)
    assert sorted(_run(seed=12).seen) != sorted(first.seen)
