"""The app's behaviour against the contract, request by request, in process (direct ASGI calls)."""

from __future__ import annotations

import logging
import re
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import quote, unquote_to_bytes

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.server import ReferenceApp, create_app, default_fixtures, generated_group_id
from conformance.server.store import Store
from conformance.spec.statuses import STATUS_CODES
from tests.server.conftest import MAIN, OTHER, OTHER_TOKEN, READ_ONLY, TOKEN, Reply, call, stop_path


def gid(status: str, n: int = 0, project: int = 0) -> str:
    return generated_group_id(STATUS_CODES[status], project, n)


def assert_envelope(reply: Reply, status: int, code: str) -> None:
    assert reply.status == status, reply
    assert reply.headers["content-type"] == "application/json"
    body = reply.json()
    assert isinstance(body["error_code"], str) and isinstance(body["error_msg"], str)
    assert reply.error_code == code


def status_of(app: ReferenceApp, group: str, project: str = MAIN) -> int | None:
    return app.store.status(project, group)


def test_stop_pauses_a_monitoring_group_with_an_empty_200(strict_app: ReferenceApp) -> None:
    reply = call(strict_app, "PUT", stop_path(gid("monitoring")))
    assert (reply.status, reply.body) == (200, b"")
    assert re.fullmatch(r"[0-9a-f]{32}", reply.headers["x-request-id"])
    assert status_of(strict_app, gid("monitoring")) == 3
    again = call(strict_app, "PUT", stop_path(gid("monitoring")))
    assert_envelope(again, 400, "OMS.0066")
    assert again.headers["x-request-id"] != reply.headers["x-request-id"]


def test_creating_groups_are_pausable_too(strict_app: ReferenceApp) -> None:
    assert call(strict_app, "PUT", stop_path(gid("creating", 3))).status == 200


@pytest.mark.parametrize("status", [s for s in STATUS_CODES if s not in ("creating", "monitoring")])
def test_every_other_status_is_refused_with_0066_and_unchanged(strict_app: ReferenceApp, status: str) -> None:
    assert_envelope(call(strict_app, "PUT", stop_path(gid(status))), 400, "OMS.0066")
    assert status_of(strict_app, gid(status)) == STATUS_CODES[status]


@pytest.mark.parametrize(
    ("path", "code"),
    [
        (stop_path("no-such-group"), "OMS.1009"),
        (stop_path("x" * 1024), "OMS.1009"),  # longest legal id reaches the lookup
        (stop_path("é" * 1024), "OMS.1009"),  # characters, not bytes
        (stop_path("a%2Fb"), "OMS.1009"),  # an encoded slash stays inside the id
        (stop_path("%73top"), "OMS.1009"),
        (stop_path(""), "OMS.0064"),
        (stop_path("x" * 1025), "OMS.0064"),
        (stop_path("%FF%FE"), "OMS.0064"),  # not UTF-8
        ("/v2//taskgroups/g/stop", "OMS.0064"),
        (stop_path("g", "p" * 1025), "OMS.0064"),
    ],
)
def test_ids_are_checked_on_the_raw_path(strict_app: ReferenceApp, path: str, code: str) -> None:
    assert_envelope(call(strict_app, "PUT", path.encode()), 400, code)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/v2",
        "/v2/p/taskgroups",
        f"/v2/{MAIN}/taskgroups/a/b/stop",
        f"/v2/{MAIN}/taskgroups/g/stop/",
        f"/v1/{MAIN}/taskgroups/g/stop",
        f"/v2/{MAIN}/tasks/g/stop",
        f"/v2/{MAIN}/taskgroups/g",
        "v2/p/taskgroups/g/stop",
    ],
)
def test_unknown_routes_are_404_with_the_envelope(strict_app: ReferenceApp, path: str) -> None:
    assert_envelope(call(strict_app, "PUT", path), 404, "APIGW.0101")


@pytest.mark.parametrize("method", ["GET", "POST", "PATCH", "DELETE", "HEAD", "OPTIONS", "put", "BREW"])
def test_other_methods_get_405_with_allow_and_pause_nothing(strict_app: ReferenceApp, method: str) -> None:
    reply = call(strict_app, method, stop_path(gid("monitoring")))
    assert_envelope(reply, 405, "REF.0405")
    assert reply.headers["allow"] == "PUT"
    assert status_of(strict_app, gid("monitoring")) == 2


@pytest.mark.parametrize(
    ("token", "strict_status", "strict_code"),
    [
        (None, 400, "OMS.0064"),
        ("", 400, "OMS.0064"),
        ("   ", 400, "OMS.0064"),
        ("two words", 400, "OMS.0064"),
        ("tökén", 400, "OMS.0064"),
        ("not-a-known-token", 403, "OMS.0003"),
        ("t" * 16384, 403, "OMS.0003"),  # legal length: refused as invalid, not as too long
        ("t" * 16385, 400, "OMS.0064"),
    ],
)
def test_bad_credentials_are_refused_per_profile(
    strict_app: ReferenceApp,
    huawei_app: ReferenceApp,
    token: str | None,
    strict_status: int,
    strict_code: str,
) -> None:
    path = stop_path(gid("monitoring"))
    raw = None if token is None else [(b"x-auth-token", token.encode())]
    assert_envelope(call(strict_app, "PUT", path, raw, token=None), strict_status, strict_code)
    reply = call(huawei_app, "PUT", path, raw, token=None)
    if strict_code == "OMS.0064" and token is not None and len(token) > 16384:
        assert_envelope(reply, 400, "OMS.0064")  # a length error is a parameter error in both profiles
    else:
        assert_envelope(reply, 401, "APIGW.0301")
        assert reply.json()["request_id"] == reply.headers["x-request-id"]
        assert reply.json()["error_msg"].startswith("Incorrect IAM authentication information: ")
    for app in (strict_app, huawei_app):
        assert status_of(app, gid("monitoring")) == 2


def test_two_tokens_are_malformed(strict_app: ReferenceApp) -> None:
    headers = [(b"x-auth-token", TOKEN.encode()), (b"x-auth-token", TOKEN.encode())]
    assert_envelope(
        call(strict_app, "PUT", stop_path(gid("monitoring")), headers, token=None), 400, "OMS.0064"
    )


@pytest.mark.parametrize("app_fixture", ["strict_app", "huawei_app"])
def test_forbidden_credentials(app_fixture: str, request: pytest.FixtureRequest) -> None:
    app: ReferenceApp = request.getfixturevalue(app_fixture)
    main_group, other_group = gid("monitoring"), gid("monitoring", 0, 1)
    assert_envelope(call(app, "PUT", stop_path(main_group), token=READ_ONLY), 403, "OMS.0003")
    assert_envelope(call(app, "PUT", stop_path(main_group), token=OTHER_TOKEN), 403, "OMS.0003")
    # A foreign project's id with the caller's own token: forbidden, whatever the group.
    assert_envelope(call(app, "PUT", stop_path(other_group, OTHER), token=TOKEN), 403, "OMS.0003")
    assert status_of(app, main_group) == 2
    assert status_of(app, other_group, OTHER) == 2
    assert call(app, "PUT", stop_path(other_group, OTHER), token=OTHER_TOKEN).status == 200


def test_header_names_are_case_insensitive(strict_app: ReferenceApp) -> None:
    headers = [(b"X-AUTH-TOKEN", TOKEN.encode())]
    assert call(strict_app, "PUT", stop_path(gid("monitoring")), headers, token=None).status == 200


def test_query_and_body_are_ignored(strict_app: ReferenceApp) -> None:
    reply = call(strict_app, "PUT", stop_path(gid("creating")), query=b"x=1", body=b'{"a": 1}')
    assert reply.status == 200


def test_show_exists_only_in_the_huawei_profile(strict_app: ReferenceApp, huawei_app: ReferenceApp) -> None:
    show = f"/v2/{MAIN}/taskgroups/{gid('paused')}"
    assert_envelope(call(strict_app, "GET", show), 404, "APIGW.0101")
    reply = call(huawei_app, "GET", show, token=READ_ONLY)
    assert reply.status == 200 and reply.headers["content-type"] == "application/json"
    assert reply.json() == {"group_id": gid("paused"), "status": 3}
    assert_envelope(call(huawei_app, "GET", f"/v2/{MAIN}/taskgroups/nope"), 400, "OMS.1009")
    put = call(huawei_app, "PUT", show)
    assert_envelope(put, 405, "REF.0405")
    assert put.headers["allow"] == "GET"
    assert_envelope(call(huawei_app, "GET", show, token=None), 401, "APIGW.0301")


def test_settle_delay_shows_pausing_then_paused() -> None:
    clock = [1000.0]
    store = Store(settle_delay=5.0, clock=lambda: clock[0])
    store.load(default_fixtures())
    app = ReferenceApp(store, "huawei")
    try:
        assert call(app, "PUT", stop_path(gid("monitoring"))).status == 200
        assert status_of(app, gid("monitoring")) == 7
        assert_envelope(call(app, "PUT", stop_path(gid("monitoring"))), 400, "OMS.0066")
        clock[0] += 5.0
        assert status_of(app, gid("monitoring")) == 3
        assert status_of(app, gid("pausing")) == 7  # fixture groups listed as pausing stay so
    finally:
        app.close()


def test_an_internal_error_is_a_logged_400_not_a_5xx(
    strict_app: ReferenceApp, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(self: Store, project_id: str, group_id: str) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Store, "_stop", broken)  # under stop and stop_many (group commit)
    with caplog.at_level(logging.ERROR, logger="conformance.server"):
        reply = call(strict_app, "PUT", stop_path(gid("monitoring")))
    assert_envelope(reply, 400, "REF.0001")
    assert "disk on fire" in caplog.text
    assert TOKEN not in caplog.text


def test_lifespan_is_answered(strict_app: ReferenceApp) -> None:
    import asyncio

    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[str] = []

    async def receive() -> dict[str, str]:
        return messages.pop(0)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message["type"])

    asyncio.run(strict_app({"type": "lifespan"}, receive, send))
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_profile_is_checked() -> None:
    with pytest.raises(ValueError, match="profile"):
        create_app("lenient")


# Bytes a raw path segment may hold, and the pieces that make percent-decoding hard.
_SEGMENT_PIECES = st.one_of(
    st.binary(max_size=6),
    st.sampled_from([b"%", b"%4", b"%zz", b"\\", b"\\x", b"\\x4", b"%5C", b"%5c78"]),
    st.text(max_size=3).map(lambda t: quote(t, safe="").encode()),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_SEGMENT_PIECES, max_size=12))
def test_a_segment_is_decoded_as_unquote_to_bytes_decodes_it(pieces: list[bytes]) -> None:
    from conformance.server.app import _percent_decoded

    segment = b"".join(pieces)
    assert _percent_decoded(segment) == unquote_to_bytes(segment)
