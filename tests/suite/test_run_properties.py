"""Properties of a whole run, for any seed: it never pauses a group the target does not list, and a seed
replays it."""

from __future__ import annotations

import asyncio
import re
from collections.abc import MutableMapping
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.options import RunOptions
from conformance.runner.engine import execute
from conformance.target import parse_target

from .model import PROJECT, TOKEN, Model, target_data

UNLISTED = "157ece42-3270-4824-a3d2-f0187a03ca01"  # the page's example id, pausable, not in the target file
SEEDS = st.integers(min_value=0, max_value=2**31 - 1)  # the range the runner draws a seed from
# Each example is one or more whole runs (about a second each at quick depth): few examples, no deadline.
# The fuzz check runs Schemathesis' own @given inside a run, seeded from the run's seed; that nesting is
# the thing under test here, not a test written the wrong way round.
WHOLE_RUNS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.nested_given])


class Recording(Model):
    def __post_init__(self) -> None:
        super().__post_init__()
        self.groups[(PROJECT, UNLISTED)] = 2
        self.seen: list[tuple[str, bytes, str]] = []

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
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


def _assert_no_unlisted_group_was_paused(app: Recording) -> None:
    assert app.groups[(PROJECT, UNLISTED)] == 2
    listed = parse_target(target_data("http://x.test")).listed_group_ids()
    for method, raw_path, token in app.seen:
        parts = raw_path.decode().split("/")
        if method == "PUT" and token == TOKEN and len(parts) == 6 and parts[2] == PROJECT:
            group = parts[4]
            assert group in listed or not _uuid_shaped(group), raw_path


def _uuid_shaped(value: str) -> bool:
    return bool(re.fullmatch(r"[0-9a-fA-F-]{32,36}", value))


@settings(WHOLE_RUNS, max_examples=1)
@given(seed=SEEDS)
def test_a_full_run_never_pauses_a_group_the_target_does_not_list(seed: int) -> None:
    _assert_no_unlisted_group_was_paused(_run(seed, depth="full"))


@settings(WHOLE_RUNS, max_examples=2)
@given(seeds=st.lists(SEEDS, min_size=2, max_size=2, unique=True))
def test_a_seed_replays_its_requests_and_another_seed_does_not(seeds: list[int]) -> None:
    first, again, other = _run(seeds[0]), _run(seeds[0]), _run(seeds[1])
    # Concurrent stops interleave differently; compare as multisets.
    assert sorted(first.seen) == sorted(again.seen)
    assert sorted(other.seen) != sorted(first.seen)
    for app in (first, other):
        _assert_no_unlisted_group_was_paused(app)
