"""Connections opened ahead in a whole run over a socket (transport/ahead.py): effect-lasts' re-check stops
go on connections opened just before its hold ends, and a correct model still passes.

The bounds are widened here (a connection may wait 0.6 s, the re-check's are opened 0.3 s before the hold
ends) so that a loaded machine's slow connect cannot decide the outcome; what is shown is the order: the
connections the effect check's stop left are closed long before the hold ends, so a re-check stop that takes
one took a connection opened for it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from conformance.checks import lasting
from conformance.options import RunOptions
from conformance.results import Verdict
from conformance.runner.engine import execute
from conformance.target import parse_target
from conformance.transport import ahead

from .model import Model, target_data, variant
from .socket_server import ModelServer


def test_effect_lasts_re_check_stops_take_connections_opened_before_its_hold_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ahead, "FRESH_S", 0.6)
    monkeypatch.setattr(lasting, "OPEN_AHEAD_S", 0.3)
    taken: list[bool] = []
    take = ahead.Ahead.take

    def recorded(self: ahead.Ahead) -> Any:
        conn = take(self)
        taken.append(conn is not None)
        return conn

    monkeypatch.setattr(ahead.Ahead, "take", recorded)
    with ModelServer(Model(variant())) as server:
        target = parse_target(target_data(server.base_url))
        options = RunOptions(
            seed=1,
            checks=["effect", "effect-lasts"],
            reruns=0,
            request_timeout=2.0,
            verify=False,
            effect_hold=2.0,
        )
        result = asyncio.run(execute(target, options))
    verdicts = {c.check: c.verdict for c in result.checks}
    assert verdicts["effect"] is Verdict.PASS and verdicts["effect-lasts"] is Verdict.PASS
    # The effect check's stop found none (the first of the run); the re-check's, the last stop, found one.
    assert taken[0] is False and taken[-1] is True
