"""Paths that decode into the operation (checks/joined_paths.py): each probe is the stop path of the listed
group once %2F is decoded and never before, and a server that decodes before routing fails STOP-PATH-EXACT -
by its 200, or, where it pauses without saying so, by the status read afterwards.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from hypothesis import given
from hypothesis import strategies as st

from conformance.checks.joined_paths import joined_paths
from conformance.options import RunOptions
from conformance.results import Verdict
from conformance.runner.engine import execute
from conformance.spec.paths import stop_path
from conformance.target import parse_target

from .model import Choices, Model, target_data, variant
from .test_catalogue import verdicts

# Ids without "/" (OMS ids are UUIDs): an id's own encoded slash would decode too, whichever path it is in.
ids = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"], exclude_characters="/"), min_size=1, max_size=40
)


@given(project_id=ids, group_id=ids)
def test_each_probe_is_the_stop_path_once_decoded_and_never_before(project_id: str, group_id: str) -> None:
    wanted = stop_path(project_id, group_id)
    probes = joined_paths(project_id, group_id)
    assert len({p.path for p in probes}) == len(probes) == 7
    for probe in probes:
        assert probe.path != wanted
        assert probe.path.count("/") < wanted.count("/")  # fewer segments: not the operation's path
        # A decoder that turns %2F (either case) into "/" - and nothing else - routes it to the stop.
        assert probe.path.replace("%2F", "/").replace("%2f", "/") == wanted


class SilentPause(Model):
    """Decodes %2F before routing and pauses, but answers a path that is not the stop path 404 (a handler that
    acts before its router's answer is written): only the status read afterwards shows the pause."""

    async def handle(self, scope: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        status, headers, body = await super().handle(scope)
        if "%2f" in scope.get("raw_path", b"").decode("latin-1").lower() and status == 200:
            return self.error(404, "APIGW.0101", "The API does not exist or has not been published.")
        return status, headers, body


def run(app: Model, *, huawei: bool) -> dict[str, Verdict]:
    target = parse_target(target_data("http://model.test", huawei=huawei))
    options = RunOptions(
        seed=7,
        transport=httpx.ASGITransport(app=app),
        reruns=0,
        settle_timeout=0.5,
        effect_hold=0.0,
        checks=["joined-paths", "effect"],
    )
    return verdicts(asyncio.run(execute(target, options)))


def test_a_silent_pause_through_a_joined_path_is_seen_by_the_show_afterwards() -> None:
    assert (
        run(SilentPause(variant(huawei=True, slash_decoded_before_routing=True)), huawei=True)[
            "STOP-PATH-EXACT"
        ]
        is Verdict.FAIL
    )
    # The same server without the decoding: nothing pauses, the read agrees.
    assert run(SilentPause(variant(huawei=True)), huawei=True)["STOP-PATH-EXACT"] is Verdict.PASS


def test_on_strict_the_keepers_next_valid_stop_settles_the_verification() -> None:
    """No show: the effect check's first stop of the keeper proves the joined paths paused nothing."""
    assert run(Model(Choices()), huawei=False)["STOP-PATH-EXACT"] is Verdict.PASS
    got = run(Model(variant(slash_decoded_before_routing=True)), huawei=False)
    assert got["STOP-PATH-EXACT"] is Verdict.FAIL
