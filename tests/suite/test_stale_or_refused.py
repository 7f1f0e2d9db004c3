"""Stale or refused, said (checks/machinery/pool.py): a listed pausable group refused as "not pausable" on
strict is stale (inferred), and the check tries the next listed group of the same status first; where every
listed group of one pausable status was refused while the other status paused, the run says so and does not
count the 200 side as verified (--require-complete fails), since stale groups and a server that refuses that
status look the same from outside."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import httpx

from conformance.options import RunOptions
from conformance.results import Headline, RunResult, Verdict
from conformance.runner.engine import execute
from conformance.server import ReferenceServer
from conformance.spec import load_requirements
from conformance.target import parse_target

from .model import PROJECT, Choices, Model, target_data, variant
from .test_catalogue import verdicts

# The checks that probe the keeper and must leave it pausable (checks/suite.py).
SHARED_KEEPER = {
    "authn-no-pause",
    "permission",
    "authz-other-project",
    "other-methods",
    "neighbour-ids",
    "lookalike-ids",
    "lookalike-projects",
    "lookalike-tokens",
    "connection-state",
    "joined-paths",
}

# Cost: about 3 s: four strict runs on the in-process model, two on a loopback reference server.


def listed(creating: int, monitoring: int) -> dict[str, Any]:
    data = target_data("http://model.test")
    data["groups"]["creating"] = [f"creating-{i}" for i in range(creating)]
    data["groups"]["monitoring"] = [f"monitoring-{i}" for i in range(monitoring)]
    return data


def run_on(model: Model, data: dict[str, Any]) -> RunResult:
    options = RunOptions(
        seed=7,
        transport=httpx.ASGITransport(app=model),
        request_timeout=0.5,
        reruns=0,
        settle_timeout=0.5,
        effect_hold=0.0,
    )
    return asyncio.run(execute(parse_target(data), options))


def test_a_server_that_refuses_every_creating_group_is_said_and_not_complete() -> None:
    result = run_on(Model(variant(refuse_creating=True)), listed(creating=2, monitoring=4))
    catalogue = load_requirements()
    (precondition,) = [c for c in result.checks if c.check == "precondition"]
    said = "2 of 2 creating groups refused as not pausable while monitoring groups paused: stale, or a server"
    assert any(said in note for note in precondition.notes)
    assert said in precondition.inconclusive["STOP-SUCCESS-200"]
    assert result.conforms(catalogue) and not result.complete(catalogue)
    assert result.headline(catalogue) is Headline.CONFORMS_ON_WHAT_RAN
    assert {s.group_id for s in result.stale_fixtures} == {"creating-0", "creating-1"}


def test_a_correct_server_uses_the_fresh_group_beside_a_stale_one_and_conforms() -> None:
    model = Model(Choices())
    model.groups[(PROJECT, "creating-0")] = 3  # paused by an earlier night
    result = run_on(model, listed(creating=2, monitoring=3))
    catalogue = load_requirements()
    assert [s.group_id for s in result.stale_fixtures] == ["creating-0"]
    assert "creating-1" in result.paused_groups
    assert verdicts(result)["STOP-SUCCESS-200"] is Verdict.PASS
    assert result.complete(catalogue)
    assert not any("refused as not pausable while" in n for c in result.checks for n in c.notes)


def test_a_second_night_uses_the_groups_the_first_did_not_pause() -> None:
    model, data = Model(Choices()), listed(creating=3, monitoring=3)
    first = run_on(model, data)
    second = run_on(model, data)
    catalogue = load_requirements()
    assert first.complete(catalogue) and second.conforms(catalogue)
    assert not set(first.paused_groups) & set(second.paused_groups)
    assert {s.group_id for s in second.stale_fixtures} <= set(first.paused_groups)
    assert {"creating", "monitoring"} <= {g.split("-")[0] for g in second.paused_groups}
    got = verdicts(second)
    for requirement in ("STOP-SUCCESS-200", "STOP-EFFECT", "STOP-CONCURRENCY"):
        assert got[requirement] is Verdict.PASS, requirement  # each on a fresh group of its status


def test_a_second_night_against_the_same_reference_server_uses_fresh_groups() -> None:
    """The embedded reference server (strict: no read operation), one target file for both nights."""
    with ReferenceServer() as server:
        listed_now = server.target
        groups = {name: listed_now.project.groups[name][:5] for name in ("creating", "monitoring")}
        target = replace(listed_now, project=replace(listed_now.project, groups=groups))
        options = RunOptions(seed=7, reruns=0, settle_timeout=0.5, effect_hold=0.0)
        first, second = (asyncio.run(execute(target, options)) for _ in range(2))
    catalogue = load_requirements()
    assert first.complete(catalogue) and second.conforms(catalogue)
    assert not set(first.paused_groups) & set(second.paused_groups)
    assert {s.group_id for s in second.stale_fixtures} <= set(first.paused_groups)
    got = verdicts(second)
    for requirement in ("STOP-SUCCESS-200", "STOP-EFFECT", "STOP-CONCURRENCY"):
        assert got[requirement] is Verdict.PASS, requirement
    # The first listed group, the keeper both nights, was paused by the first: the shared-keeper checks ran
    # again on a fresh group, which a valid stop then showed still pausable (runner/keeper_again.py).
    again = {c.check: c for c in second.checks if c.notes and c.notes[0].startswith("run again on ")}
    assert set(again) == SHARED_KEEPER, set(again)
    assert all(c.verdict is Verdict.PASS and not c.inconclusive for c in again.values())
    # authz-other-project's valid stop of the other project's first group found it paused by the first night:
    # it tried that project's next listed group instead of leaving STOP-AUTHZ undecided, and its run again
    # (on the fresh keeper) went to a third, skipping the two it knew.
    assert target.other_project is not None
    theirs = set(target.other_project.groups_in("creating", "monitoring"))
    first_theirs, second_theirs = theirs & set(first.paused_groups), theirs & set(second.paused_groups)
    assert len(first_theirs) == 1 and len(second_theirs) == 2 and not first_theirs & second_theirs
    # The run again keeps what the first attempt found: that project's first group refused as not pausable.
    (refused,) = first_theirs
    authz = again["authz-other-project"]
    assert any(n.startswith("first attempt, on ") and f"{refused} was refused" in n for n in authz.notes)
    assert second.complete(catalogue), second.unverified(catalogue)
    for requirement in (
        "STOP-AUTHN",
        "STOP-PERMISSION",
        "STOP-METHODS",
        "STOP-PATH-EXACT",
        "STOP-AUTHZ",
        "STOP-PRECONDITION",
    ):
        assert got[requirement] is Verdict.PASS, requirement


def test_a_silent_pause_is_not_passed_by_running_the_keeper_checks_again() -> None:
    """A read-only token's stop answered 403 that paused the group anyway: on strict the keeper's valid stop
    is refused, the shared-keeper checks run again on the next group, the server pauses that one too, and
    the verifications stay undecided - never a pass. With no fresh group left, the first results stand."""
    for creating, monitoring, again in (
        (3, 3, "run again on creating-1"),
        (1, 2, "not run again on another"),
    ):
        result = run_on(Model(variant(authorise_after_write=True)), listed(creating, monitoring))
        (permission,) = [c for c in result.checks if c.check == "permission"]
        assert permission.verdict is Verdict.INCONCLUSIVE and "STOP-PERMISSION" in permission.inconclusive
        assert any(note.startswith(again) for note in permission.notes), permission.notes
        assert not result.complete(load_requirements())


def test_the_other_projects_paused_group_gives_way_to_its_next_listed_one() -> None:
    """Strict, the other project's first listed group paused before the run: authz-other-project's valid stop
    of it is refused, so the same two stops go to that project's next group, whose valid stop decides
    STOP-AUTHZ; with no next group it stays undecided, as before."""
    for creating, verdict in (
        (["other-creating-0", "other-creating-1"], Verdict.PASS),
        (["other-creating-0"], None),
    ):
        model, data = Model(Choices()), listed(creating=2, monitoring=3)
        model.groups[("proj-b-0002", "other-creating-1")] = 1
        model.groups[("proj-b-0002", "other-creating-0")] = 3  # paused by an earlier night
        data["other_project"]["groups"] = {"creating": creating}
        result = run_on(model, data)
        (authz,) = [c for c in result.checks if c.check == "authz-other-project"]
        tried = [n for n in authz.notes if "other-creating-0 was refused as not pausable" in n]
        if verdict is Verdict.PASS:
            assert authz.verdict is Verdict.PASS and len(tried) == 1, authz.notes
            assert "other-creating-1" in result.paused_groups
        else:
            assert authz.verdict is Verdict.INCONCLUSIVE and "STOP-AUTHZ" in authz.inconclusive
            assert not tried
