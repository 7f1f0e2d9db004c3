"""Issue 32 item 8: the legitimate variants the issue names, each over real sockets with three pausable groups
and the whole default run - refusal-unchanged, the look-alike ids, projects, tokens and patterns,
connection-state, limits-inside and the stale-or-refused rule among them - must conform: no failure, nothing
undecided. The faulty model of each class is in test_catalogue.py's FAULTY (and in test_refusals.py,
test_patterns.py, test_connection_state.py, test_limits_inside.py, test_stale_or_refused.py).

Each variant is also shown to have been exercised: a variant the run never provoked would pass for nothing.
The in-process catalogue runs these choices too (CORRECT), but without connections: connection-state and
the close after every answer need sockets. About 1 s a run, 8 runs.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from conformance.options import RunOptions
from conformance.results import RunResult
from conformance.runner.engine import execute
from conformance.spec import load_requirements
from conformance.target import parse_target

from .field_server import Field, FieldServer
from .model import Model, rfc3986_normal, variant
from .test_field_servers import problems, three_pausable


class Witnessed(Model):
    """The model, counting the requests on which its legitimate choice made a difference."""

    def __init__(self, **choices: Any) -> None:
        super().__init__(variant(**choices))
        self.seen: Counter[str] = Counter()

    async def handle(self, scope: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        raw = scope.get("raw_path", scope["path"].encode()).decode("latin-1").split("?")[0]
        if rfc3986_normal(raw) != raw:
            self.seen["normalised"] += 1
        if sum(k.lower() == b"x-auth-token" for k, _ in scope["headers"]) > 1:
            self.seen["token lines"] += 1
        status, headers, body = await super().handle(scope)
        if status == 403 and b"OMS.1009" in body:
            self.seen["unknown group 403"] += 1
        return status, headers, body


VARIANTS: dict[str, tuple[dict[str, Any], Field, str]] = {
    "hides whether a group exists behind 403": ({"unknown_group_status": 403}, Field(), "unknown group 403"),
    "reads only the first of two X-Auth-Token lines": ({"token_first_line": True}, Field(), "token lines"),
    "normalises percent-encoded unreserved characters": (
        {"normalise_unreserved": True},
        Field(),
        "normalised",
    ),
    "closes the connection after every answer": ({}, Field(close_every=1), ""),
}


def run_behind(model: Model, behaviour: Field, *, huawei: bool) -> tuple[RunResult, FieldServer]:
    with FieldServer(model, behaviour) as server:
        target = parse_target(three_pausable(server.base_url, huawei=huawei))
        options = RunOptions(seed=5, request_timeout=5.0, reruns=0, settle_timeout=1.0, effect_hold=0.0)
        return asyncio.run(execute(target, options)), server


@pytest.mark.slow
@pytest.mark.parametrize("name", list(VARIANTS))
@pytest.mark.parametrize("profile", ["strict", "huawei"])
def test_a_legitimate_variant_conforms_over_sockets(name: str, profile: str) -> None:
    choices, behaviour, witness = VARIANTS[name]
    huawei = profile == "huawei"
    model = Witnessed(huawei=huawei, **choices)
    result, server = run_behind(model, behaviour, huawei=huawei)
    assert problems(result) == []
    assert result.conforms(load_requirements())
    checks = {c.check for c in result.checks if c.requests}
    # The checks of items 1-5 ran and decided (connection-state needs the sockets this test has).
    assert {
        "connection-state",
        "limits-inside",
        "lookalike-ids",
        "lookalike-tokens",
        "lookalike-projects",
    } <= checks
    assert ("refusal-unchanged" in checks) is huawei  # on strict, the effect check's first stop verifies
    if witness:
        assert model.seen[witness] > 0, model.seen
    else:
        assert server.closed_after_answer > 0, "no connection was closed after its answer"
