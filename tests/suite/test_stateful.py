"""The stateful model check (checks/stateful.py): it passes the reference server and gives the groups back
pausable; it fails servers whose faults only a sequence shows - a start that answers 200 but leaves the group
paused, a stop that also pauses the other group, a show that keeps reporting the old status - each with one
failure carrying a short replayable program of curl lines and no secret.

The faulty servers are small ASGI wrappers around the reference app (in-process, no sockets); the correct
run goes over loopback to a ReferenceServer.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from collections.abc import MutableMapping
from typing import Any

import httpx
import pytest

from conformance.options import RunOptions
from conformance.reports.json_report import render_json
from conformance.results import RunResult, Verdict
from conformance.runner.config import secrets_of
from conformance.runner.engine import execute
from conformance.server import ReferenceServer
from conformance.server.app import ReferenceApp
from conformance.server.serving import build_target, create_app
from conformance.spec.statuses import PAUSABLE, STATUS_CODES
from conformance.target import Target, parse_target

RESTORE = {"dst_ak": "AK-restore-0001-destination", "dst_sk": "SK-restore-secret-0001-destination"}
# Few steps, a short settle wait: the reference app pauses straight to 3 (settle_delay 0).
OPTIONS = {"checks": ["stateful"], "reruns": 0, "settle_timeout": 0.1, "request_timeout": 5.0}


def with_restore(target: Target) -> Target:
    return dataclasses.replace(target, restore=dict(RESTORE))


def run(target: Target, seed: int, transport: httpx.AsyncBaseTransport | None = None) -> RunResult:
    """A run of the stateful check; the response checks that judge its answers (machinery/registry.py
    ``select``) are left out of ``result.checks``: these tests look at the stateful check alone."""
    result = asyncio.run(execute(target, RunOptions(seed=seed, transport=transport, **OPTIONS)))  # type: ignore[arg-type]
    result.checks = [c for c in result.checks if c.check == "stateful"]
    return result


def pausable_groups(app: ReferenceApp, target: Target) -> dict[str, int | None]:
    project = target.project.project_id
    return {g: app.store.status(project, g) for g in target.project.groups_in(*sorted(PAUSABLE))}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_reference_server_passes_and_gets_its_groups_back(seed: int) -> None:
    with ReferenceServer(profile="huawei") as server:
        target = with_restore(server.target)
        result = run(target, seed)
        (check,) = result.checks
        assert check.verdict is Verdict.PASS, [f.text() for f in check.failures] + check.notes
        assert check.requests > 10  # it did cycle the groups, not skip
        statuses = pausable_groups(server.app, target)
        assert all(s in (STATUS_CODES["creating"], STATUS_CODES["monitoring"]) for s in statuses.values())
        assert result.paused_groups == []  # given back: nothing for --restore to do


def test_starts_are_really_sent_and_answered_200() -> None:
    """Without this a machine that never reached a paused group could pass every server."""
    app = create_app("huawei", group_commit=False)
    seen = Recording(app)
    result = run(with_restore(build_target(app, "http://oms.test")), 1, httpx.ASGITransport(app=seen))
    assert result.checks[0].verdict is Verdict.PASS
    assert ("start", 200) in seen.answers and ("start", 400) in seen.answers
    assert ("stop", 200) in seen.answers and ("stop", 400) in seen.answers


def test_without_restore_keys_it_is_not_run_with_the_reason() -> None:
    with ReferenceServer(profile="huawei") as server:
        (check,) = run(dataclasses.replace(server.target, restore=None), 1).checks
    assert check.verdict is Verdict.NOT_RUN
    assert "restore" in check.reason


# -- faulty servers: the reference app with one wrapper each ------------------------------------------------


class Recording:
    """The reference app, noting (operation, status) of each answer; subclasses bend one behaviour."""

    def __init__(self, app: ReferenceApp) -> None:
        self.app = app
        self.answers: list[tuple[str, int]] = []
        self.seen: set[tuple[str, str]] = set()  # (project, group) of every request

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        parts = scope["path"].split("/")
        operation = parts[5] if len(parts) == 6 else "show"
        key = (parts[2], parts[4])
        self.seen.add(key)
        answered: dict[str, Any] = {}

        async def capture(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                answered["status"] = message["status"]
            if message["type"] == "http.response.body":
                message = {**message, "body": self.bend(operation, key, answered["status"], message["body"])}
            await send(message)

        await self.app(scope, receive, capture)
        self.answers.append((operation, answered["status"]))

    def bend(self, operation: str, key: tuple[str, str], status: int, body: bytes) -> bytes:
        return body


class StartLeavesPaused(Recording):
    def bend(self, operation: str, key: tuple[str, str], status: int, body: bytes) -> bytes:
        if operation == "start" and status == 200:
            self.app.store.stop(*key)  # answered 200, but the group is paused again at once
        return body


class StopPausesTheOther(Recording):
    def bend(self, operation: str, key: tuple[str, str], status: int, body: bytes) -> bytes:
        if operation == "stop" and status == 200:
            for other in self.seen - {key}:  # every other group it has been asked about
                self.app.store.stop(*other)
        return body


class ShowKeepsTheOldStatus(Recording):
    def __init__(self, app: ReferenceApp) -> None:
        super().__init__(app)
        self.first: dict[tuple[str, str], bytes] = {}

    def bend(self, operation: str, key: tuple[str, str], status: int, body: bytes) -> bytes:
        if operation == "show" and status == 200:
            return self.first.setdefault(key, body)  # the status it read first, forever
        return body


FAULTY = {
    "a start answers 200 but leaves the group paused": (StartLeavesPaused, "HW-START"),
    "a stop also pauses the other group": (StopPausesTheOther, "STOP-EFFECT"),
    "a show keeps reporting the old status": (ShowKeepsTheOldStatus, "STOP-EFFECT"),
}


@pytest.mark.parametrize("name", list(FAULTY))
def test_a_fault_only_a_sequence_shows_is_one_failure_with_a_short_program(name: str) -> None:
    wrapper, requirement = FAULTY[name]
    app = create_app("huawei", group_commit=False)
    target = with_restore(build_target(app, "http://oms.test"))
    result = run(target, 1, httpx.ASGITransport(app=wrapper(app)))
    (check,) = result.checks
    assert check.verdict is Verdict.FAIL, check.notes
    (failure,) = check.failures
    assert failure.requirement == requirement, failure.text()
    program = failure.text().split("to replay in order:\n", 1)[1]
    curls = [line for line in program.splitlines() if line.startswith("curl ")]
    # Shrunk: the set-up reads, then a handful of requests (a stop or start, and the read that shows it).
    assert 1 <= len(curls) <= 8, program
    assert failure.evidence and failure.curl in program

    report = render_json(result)
    secrets = [value for value, _ in secrets_of(target)]
    assert set(RESTORE.values()) <= set(secrets)
    for secret in secrets:
        assert secret not in report and secret not in json.dumps(failure.text())
    if "start" in program:
        assert "$OMS_RESTORE_DST_SK" in program


def test_the_failing_program_is_the_same_for_a_seed() -> None:
    def program() -> str:
        app = create_app("huawei", group_commit=False)
        target = with_restore(build_target(app, "http://oms.test"))
        result = run(target, 5, httpx.ASGITransport(app=StopPausesTheOther(app)))
        # The steps and statuses, not how long a re-read took (a busy machine makes it 0.10 s or 0.11 s).
        return re.sub(r"over \d+\.\d+s", "over …s", result.checks[0].failures[0].text())

    assert program() == program()


def test_a_start_that_leaves_the_group_paused_is_caught_for_every_seed() -> None:
    """The fixed opening program (stop A, show A, start A, ...) reaches a start whatever Hypothesis draws, so
    the fault one start shows fails HW-START for 20 seeds of 20 (the in-process model keeps this quick)."""
    from .model import Model, target_data, variant

    caught = []
    for seed in range(20):
        app = Model(variant(huawei=True, start_leaves_paused=True))
        target = parse_target(target_data("http://model.test", huawei=True))
        options = RunOptions(seed=seed, transport=httpx.ASGITransport(app=app), **OPTIONS)  # type: ignore[arg-type]
        checks = asyncio.run(execute(target, options)).checks
        (check,) = [c for c in checks if c.check == "stateful"]
        failed = {f.requirement for f in check.failures}
        caught.append(check.verdict is Verdict.FAIL and failed == {"HW-START"})
    assert caught == [True] * 20
