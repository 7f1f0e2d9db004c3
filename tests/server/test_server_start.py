"""The start operation (huawei profile): only a paused group starts, back to the status it was paused from.

In process (direct ASGI calls); the official SDK's start against a real server is in test_server_sdk.py.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.server import ReferenceApp, create_app, default_fixtures
from conformance.server.store import Store
from tests.server.conftest import MAIN, OTHER, OTHER_TOKEN, READ_ONLY, Reply, call
from tests.server.test_server_app import assert_envelope, gid, status_of

DST_AK, DST_SK = "DSTAKSECRETVALUE0001", "dst-sk-secret-value-0001"
KEYS = {"dst_ak": DST_AK, "dst_sk": DST_SK, "src_ak": "SRCAKSECRETVALUE0001", "src_sk": "src-sk-secret-0001"}


def start_path(group: str, project: str = MAIN) -> str:
    return f"/v2/{project}/taskgroups/{group}/start"


def start(app: ReferenceApp, group: str, body: object = KEYS, **kwargs: object) -> Reply:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return call(app, "PUT", start_path(group), body=raw, **kwargs)  # type: ignore[arg-type]


def stop(app: ReferenceApp, group: str) -> Reply:
    return call(app, "PUT", f"/v2/{MAIN}/taskgroups/{group}/stop")


def assert_no_secret(reply: Reply) -> None:
    for secret in KEYS.values():
        assert secret.encode() not in reply.body
        assert all(secret not in value for value in reply.headers.values())


@pytest.mark.parametrize("paused_from", ["creating", "monitoring"])
def test_a_stopped_group_starts_back_to_the_status_it_was_paused_from(
    huawei_app: ReferenceApp, paused_from: str
) -> None:
    group = gid(paused_from)
    before = status_of(huawei_app, group)
    assert stop(huawei_app, group).status == 200
    reply = start(huawei_app, group)
    assert (reply.status, reply.body) == (200, b"")
    assert status_of(huawei_app, group) == before
    assert stop(huawei_app, group).status == 200  # pausable again: the cycle does not use the group up


def test_a_group_paused_in_the_fixtures_starts_to_monitoring(huawei_app: ReferenceApp) -> None:
    assert start(huawei_app, gid("paused")).status == 200
    assert status_of(huawei_app, gid("paused")) == 2


@pytest.mark.parametrize(
    "status",
    [
        "waiting",
        "creating",
        "monitoring",
        "create_failed",
        "migrate_failed",
        "completed",
        "pausing",
        "deleted",
    ],
)
def test_only_a_paused_group_starts(huawei_app: ReferenceApp, status: str) -> None:
    before = status_of(huawei_app, gid(status))
    reply = start(huawei_app, gid(status))
    assert_envelope(reply, 400, "OMS.0063")
    assert status_of(huawei_app, gid(status)) == before


def test_unknown_groups_and_other_projects_groups_are_unknown(huawei_app: ReferenceApp) -> None:
    assert_envelope(start(huawei_app, "no-such-group"), 400, "OMS.1009")
    assert_envelope(start(huawei_app, gid("paused", project=1)), 400, "OMS.1009")
    assert status_of(huawei_app, gid("paused", project=1), OTHER) == 3


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'"dst_ak"',
        b"null",
        {"dst_ak": DST_AK},
        {"dst_sk": DST_SK},
        {"dst_ak": "", "dst_sk": DST_SK},
        {"dst_ak": 1, "dst_sk": DST_SK},
        {**KEYS, "dst_sk": "x" * 101},
        {**KEYS, "src_ak": ["a"]},
        {**KEYS, "dst_crypto_type": "ROT13"},
    ],
)
def test_a_body_that_is_not_a_start_request_is_a_bad_parameter(
    huawei_app: ReferenceApp, body: object
) -> None:
    stop(huawei_app, gid("monitoring"))
    reply = start(huawei_app, gid("monitoring"), body)
    assert_envelope(reply, 400, "OMS.0064")
    assert_no_secret(reply)
    assert status_of(huawei_app, gid("monitoring")) == 3


def test_unknown_members_are_ignored(huawei_app: ReferenceApp) -> None:
    assert start(huawei_app, gid("paused"), {**KEYS, "future_member": 1}).status == 200


def test_credentials_are_checked_like_a_stop(huawei_app: ReferenceApp) -> None:
    group = gid("paused")
    assert_envelope(start(huawei_app, group, token=None), 401, "APIGW.0301")
    assert_envelope(start(huawei_app, group, token="not-a-token"), 401, "APIGW.0301")
    assert_envelope(start(huawei_app, group, token=READ_ONLY), 403, "OMS.0003")
    assert_envelope(start(huawei_app, group, token=OTHER_TOKEN), 403, "OMS.0003")
    assert status_of(huawei_app, group) == 3


def test_no_answer_or_log_line_holds_a_start_key(
    huawei_app: ReferenceApp, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        replies = [start(huawei_app, gid("paused")), start(huawei_app, gid("paused"))]
        replies.append(start(huawei_app, gid("paused"), {**KEYS, "dst_sk": DST_SK * 10}))
    for reply in replies:
        assert_no_secret(reply)
    assert not any(secret in caplog.text for secret in KEYS.values())


def test_start_exists_only_in_the_huawei_profile(strict_app: ReferenceApp, huawei_app: ReferenceApp) -> None:
    assert_envelope(start(strict_app, gid("paused")), 404, "APIGW.0101")
    for method in ("GET", "POST", "DELETE"):
        reply = call(huawei_app, method, start_path(gid("paused")))
        assert_envelope(reply, 405, "REF.0405")
        assert reply.headers["allow"] == "PUT"
    assert status_of(huawei_app, gid("paused")) == 3


@pytest.fixture
def clocked() -> Iterator[tuple[ReferenceApp, list[float]]]:
    clock = [1000.0]
    store = Store(settle_delay=5.0, clock=lambda: clock[0])
    store.load(default_fixtures())
    app = ReferenceApp(store, "huawei")
    yield app, clock
    app.close()


def test_stop_settle_start_stop_cycles(clocked: tuple[ReferenceApp, list[float]]) -> None:
    app, clock = clocked
    group = gid("creating")
    for _ in range(3):
        assert stop(app, group).status == 200
        assert status_of(app, group) == 7
        assert_envelope(start(app, group), 400, "OMS.0063")  # pausing is not paused yet
        clock[0] += 5.0  # settles: 7 -> 3
        assert start(app, group).status == 200
        assert status_of(app, group) == 1


def test_a_version_1_db_is_upgraded_and_resumes_to_monitoring(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    app = create_app("huawei", db_path=path)
    app.close()
    with sqlite3.connect(path) as db:  # back to the version 1 schema: no resumes_to column
        db.execute("ALTER TABLE task_groups DROP COLUMN resumes_to")
        db.execute("PRAGMA user_version = 1")
    db.close()
    app = create_app("huawei", db_path=path)
    try:
        assert stop(app, gid("creating")).status == 200
        assert start(app, gid("creating")).status == 200
        assert status_of(app, gid("creating")) == 1
        assert start(app, gid("paused")).status == 200
        assert status_of(app, gid("paused")) == 2
    finally:
        app.close()
