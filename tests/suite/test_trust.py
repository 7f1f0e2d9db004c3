"""Verdicts a nightly job on a real account can trust: no false findings and no silent passes when the
fixtures are stale, the token has expired, the gateway drops one answer in ten, a class of ids hangs, or the
provider can spare only three task groups.

Every situation is run against correct models (no failure may appear) and faulty ones (the right requirement
must still fail).
"""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.options import RunOptions
from conformance.results import RunResult, StopReason, Verdict
from conformance.runner.engine import execute
from conformance.spec import load_requirements
from conformance.target import parse_target

from .model import Model, target_data, variant
from .test_catalogue import FAULTY, caught, held, verdicts

CATALOGUE = load_requirements()


def run(
    app: Any,
    *,
    huawei: bool = False,
    data: dict[str, Any] | None = None,
    timeout: float = 2.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> RunResult:
    target = parse_target(data or target_data("http://model.test", huawei=huawei))
    choices = getattr(app, "choices", None)
    options = RunOptions(
        seed=7,
        transport=transport or httpx.ASGITransport(app=app),
        request_timeout=timeout,
        reruns=0,
        settle_timeout=0.5,
        effect_hold=held(choices) if choices is not None else None,
    )
    return asyncio.run(execute(target, options))


def failures(result: RunResult) -> list[str]:
    return [f"{f.requirement}: {f.title}" for c in result.checks for f in c.failures]


def three_pausable(huawei: bool = False) -> dict[str, Any]:
    """A provider's short list: two monitoring groups and one creating group."""
    data = target_data("http://model.test", huawei=huawei)
    data["groups"]["monitoring"] = data["groups"]["monitoring"][:2]
    data["groups"]["creating"] = data["groups"]["creating"][:1]
    return data


def paused_already(model: Model) -> Model:
    """What a second night meets: every listed pausable group was paused by the first."""
    for key, status in model.groups.items():
        if status in (1, 2):
            model.groups[key] = 3
    return model


# -- stale fixtures --------------------------------------------------------------------------------------


@pytest.mark.parametrize("huawei", [False, True], ids=["strict", "huawei"])
def test_listed_groups_already_paused_give_no_failure_and_are_reported_stale(huawei: bool) -> None:
    result = run(paused_already(Model(variant(huawei=huawei))), huawei=huawei)
    assert failures(result) == []
    assert result.conforms(CATALOGUE)
    assert not result.complete(CATALOGUE)
    assert result.headline(CATALOGUE) == "CONFORMS ON WHAT RAN"
    unverified = {u.requirement for u in result.unverified(CATALOGUE)}
    assert {"STOP-EFFECT", "STOP-CONCURRENCY"} <= unverified
    assert result.stale_fixtures, "stale fixtures must be named"
    assert all(s.inferred is not huawei for s in result.stale_fixtures)
    assert result.paused_groups == []


def test_a_faulty_server_is_still_caught_when_fixtures_are_stale() -> None:
    # Stale fixtures must not hide what the answers themselves prove.
    result = run(
        paused_already(Model(variant(huawei=True, ignore_token_on_pausable=True, pause_any_status=True))),
        huawei=True,
    )
    assert verdicts(result)["STOP-PRECONDITION"] is Verdict.FAIL


def test_the_same_reference_server_state_twice_gives_the_second_run_no_failure(tmp_path: Path) -> None:
    from dataclasses import replace

    from conformance.server import ReferenceServer

    # `serve --db state.db --write-target t.yaml` once, then `run --target t.yaml` night after night: the
    # target file lists what was pausable when it was written.
    db = tmp_path / "state.db"
    outcomes = []
    target = None
    for _ in range(2):
        with ReferenceServer(db_path=db) as server:
            # The same listed groups; only the port is new with each start.
            target = replace(target or server.target, base_url=server.base_url)
            options = RunOptions(seed=11, reruns=0, request_timeout=5.0)
            outcomes.append(asyncio.run(execute(target, options)))
    first, second = outcomes
    assert first.complete(CATALOGUE), first.unverified(CATALOGUE)
    assert first.paused_groups
    assert failures(second) == []
    assert second.conforms(CATALOGUE)
    # The groups the first run paused are met first again, found stale, and named.
    assert {s.group_id for s in second.stale_fixtures} & set(first.paused_groups)


# -- credentials -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("huawei", [False, True], ids=["strict", "huawei"])
def test_an_expired_token_is_a_configuration_error_not_nine_failures(huawei: bool) -> None:
    model = Model(variant(huawei=huawei))
    model.token = "tok-A-renewed-" + "x" * 30  # the server no longer accepts the target's token
    data = target_data("http://model.test", huawei=huawei)
    data.pop("aksk", None)
    result = run(model, data=data)
    assert result.stop_reason is StopReason.CREDENTIALS_REFUSED
    assert "the valid credential is refused" in result.incomplete_reason
    assert result.checks and all(c.verdict is Verdict.NOT_RUN for c in result.checks)
    assert failures(result) == []


def test_a_refused_other_project_credential_disables_its_checks() -> None:
    # The gateway's 401 is unambiguous; a strict server's 403 is told apart from "hidden" by a listed
    # group no stop can pause (the model's other project lists none, so strict would only note it).
    data = target_data("http://model.test", huawei=True)
    data["other_project"]["token"] = "tok-B-expired-" + "y" * 30
    result = run(Model(variant(huawei=True)), data=data)
    by_name = {c.check: c for c in result.checks}
    assert by_name["authz-other-project"].verdict is Verdict.NOT_RUN
    assert "other_project's credential is refused" in by_name["authz-other-project"].reason
    assert failures(result) == []


# -- answers that say nothing ----------------------------------------------------------------------------


class Flaky(httpx.AsyncBaseTransport):
    """A gateway in front of the app that answers 1 request in ``every`` with a 503 or a reset."""

    def __init__(self, app: Any, *, every: int, seed: int, only_reads: bool) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.dice = random.Random(seed)
        self.every = every
        self.only_reads = only_reads
        self.faults = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        eligible = request.method == "GET" or not self.only_reads
        if eligible and self.dice.randrange(self.every) == 0:
            self.faults += 1
            if self.dice.random() < 0.5:
                raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
            return httpx.Response(503, stream=httpx.ByteStream(b"<html>503 Service Unavailable</html>"))
        return await self.inner.handle_async_request(request)


@pytest.mark.parametrize("seed", range(3))
def test_a_503_or_reset_on_one_in_ten_verification_reads_is_no_finding(seed: int) -> None:
    flaky = Flaky(Model(variant(huawei=True)), every=10, seed=seed, only_reads=True)
    result = run(None, huawei=True, transport=flaky)
    assert flaky.faults > 0
    assert failures(result) == [], result.notes


@pytest.mark.parametrize("seed", range(2))
def test_a_503_or_reset_on_one_in_ten_probes_is_retried_not_blamed(seed: int) -> None:
    flaky = Flaky(Model(variant()), every=10, seed=seed, only_reads=False)
    result = run(None, transport=flaky)
    assert flaky.faults > 0
    # A request that could pause a listed group is never repeated: its 503 decides nothing (no check judges
    # it, a note counts it); its reset is judged as the connection failing (STOP-ROBUST). No semantic
    # requirement is ever blamed on either.
    assert {f.split(":")[0] for f in failures(result)} <= {"STOP-ROBUST"}
    assert not any("503" in f for f in failures(result)), failures(result)
    assert any("retried and then answered" in n for n in result.notes)


@pytest.mark.parametrize("seed", range(3))
def test_a_503_now_and_then_in_front_of_a_correct_server_is_no_failure_on_three_groups(seed: int) -> None:
    class Busy(Flaky):  # 503s only: the gateway of a busy platform, not a broken one
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if self.dice.randrange(self.every) == 0:
                self.faults += 1
                return httpx.Response(503, stream=httpx.ByteStream(b"<html>503 Service Unavailable</html>"))
            return await self.inner.handle_async_request(request)

    busy = Busy(Model(variant(huawei=True)), every=20, seed=seed, only_reads=False)
    result = run(None, huawei=True, data=three_pausable(True), transport=busy)
    assert busy.faults > 0
    assert failures(result) == []
    assert result.conforms(CATALOGUE)  # exit 0; what the 503s left undecided is named, never passed
    assert any("502/503/504" in n for n in result.notes), result.notes


def test_a_faulty_server_is_still_caught_behind_a_flaky_gateway() -> None:
    flaky = Flaky(
        Model(variant(huawei=True, ignore_token_on_pausable=True)), every=10, seed=1, only_reads=True
    )
    assert verdicts(run(None, huawei=True, transport=flaky))["STOP-AUTHN"] is Verdict.FAIL


def test_a_class_of_ids_that_hangs_fails_robustness_and_stays_bounded() -> None:
    model = Model(variant(hang_on_space=True))
    result = run(model, timeout=0.3)
    got = verdicts(result)
    assert got["STOP-ROBUST"] is Verdict.FAIL  # never answered, even on a retry
    assert any("No answer" in f for f in failures(result))
    # Bounded: the class closes after two hangs, for the whole run (machinery/hang_budget.py); the others
    # verify.
    assert result.status_counts.get("error", 0) <= 3 * 4
    assert got["STOP-AUTHN"] is Verdict.PASS and got["STOP-EFFECT"] is Verdict.PASS


# -- a short fixture list --------------------------------------------------------------------------------


@pytest.mark.parametrize("huawei", [False, True], ids=["strict", "huawei"])
def test_three_pausable_groups_verify_every_must_requirement(huawei: bool) -> None:
    result = run(Model(variant(huawei=huawei)), huawei=huawei, data=three_pausable(huawei))
    assert failures(result) == []
    unverified = result.unverified(CATALOGUE)
    assert unverified == [], unverified
    assert result.headline(CATALOGUE) == "CONFORMS"


SHORT_LIST_FAULTS = [
    name
    for name, (switches, _, _) in FAULTY.items()
    if not {"hang_on_space", "header_limit"} & set(switches)  # covered elsewhere, slow here
]


@pytest.mark.parametrize("name", SHORT_LIST_FAULTS)
def test_three_pausable_groups_catch_every_faulty_model(name: str) -> None:
    switches, profile, _ = FAULTY[name]
    huawei = profile == "huawei"
    result = run(
        Model(variant(huawei=huawei, **switches)), huawei=huawei, data=three_pausable(huawei), timeout=0.5
    )
    assert caught(name, verdicts(result)), failures(result)


# -- night after night -----------------------------------------------------------------------------------


def test_two_nights_with_restore_both_verify_every_must_requirement(tmp_path: Path) -> None:
    """`serve --db --profile huawei`, and a nightly `run --restore` twice in a row: the groups the first night
    paused are started again, so the second night has every fixture it needs."""
    from dataclasses import replace

    from conformance.server import ReferenceServer

    db = tmp_path / "state.db"
    nights = []
    target = None
    for _ in range(2):
        with ReferenceServer(profile="huawei", db_path=db) as server:
            target = replace(
                target or server.target,
                base_url=server.base_url,
                restore={"dst_ak": "DSTAK0001", "dst_sk": "dst-secret-key-0001"},
            )
            options = RunOptions(seed=5, reruns=0, request_timeout=5.0, restore=True)
            nights.append(asyncio.run(execute(target, options)))
    for night in nights:
        assert failures(night) == [], failures(night)
        assert night.complete(CATALOGUE), night.unverified(CATALOGUE)
        assert night.paused_groups and all(r.ok for r in night.restored), night.restored
        assert {r.group_id for r in night.restored} == set(night.paused_groups)
        assert night.stale_fixtures == []
    from conformance.reports import render_json

    assert "dst-secret-key-0001" not in render_json(nights[1])


def test_restore_needs_the_start_operation_and_its_keys() -> None:
    from conformance.errors import ConfigError

    with pytest.raises(ConfigError, match="no start operation"):
        run_restore = RunOptions(restore=True, transport=httpx.ASGITransport(app=Model(variant())))
        asyncio.run(execute(parse_target(target_data("http://model.test")), run_restore))
    without_keys = target_data("http://model.test", huawei=True)
    without_keys.pop("restore", None)
    with pytest.raises(ConfigError, match="restore:"):
        run_restore = RunOptions(restore=True, transport=httpx.ASGITransport(app=Model(variant(huawei=True))))
        asyncio.run(execute(parse_target(without_keys), run_restore))


def test_a_refusal_that_echoes_the_token_is_reported_redacted() -> None:
    async def gateway(scope: dict[str, Any], receive: Any, send: Any) -> None:
        token = dict(scope["headers"]).get(b"x-auth-token", b"").decode()
        body = json.dumps(
            {"error_code": "APIGW.0301", "error_msg": f"token {token} expires", "request_id": "r"}
        )
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 401, "headers": headers})
        await send({"type": "http.response.body", "body": body.encode()})

    data = target_data("http://model.test")
    result = run(gateway, data=data)
    assert result.stop_reason is StopReason.CREDENTIALS_REFUSED
    assert data["token"] not in result.incomplete_reason
    assert "$OMS_TOKEN" in result.incomplete_reason and "APIGW.0301" in result.incomplete_reason


@pytest.mark.parametrize("huawei", [False, True], ids=["strict", "huawei"])
@pytest.mark.parametrize(
    "switches",
    [{"snapshot_store": True}, {"pause_reverts_s": 1.0}],
    ids=["whole-table write-back", "pause reverts after 1 s"],
)
def test_faults_of_lasting_and_cross_group_effects_fail_only_their_requirements(
    switches: dict[str, Any], huawei: bool
) -> None:
    """With three groups, the stops of two groups the race releases together and the end-of-run look cost
    no fixture, and these faults fail nothing but the effect or concurrency of a stop."""
    result = run(
        Model(variant(huawei=huawei, **switches)), huawei=huawei, data=three_pausable(huawei), timeout=0.5
    )
    failed = {rid for rid, v in verdicts(result).items() if v is Verdict.FAIL}
    assert failed and failed <= {"STOP-CONCURRENCY", "STOP-EFFECT"}, failures(result)
