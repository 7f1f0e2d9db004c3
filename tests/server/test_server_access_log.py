"""``serve --access-log``: one line per request, and no credential or start key in any of them."""

from __future__ import annotations

import json
import logging

import pytest

from conformance.server import create_app
from conformance.server.access_log import AccessLog
from tests.server.conftest import AK, MAIN, READ_ONLY, SK, TOKEN, call
from tests.server.test_server_app import gid

KEYS = {"dst_ak": "DSTAKSECRETVALUE0001", "dst_sk": "dst-sk-secret-value-0001"}
SIGNATURE = "ab" * 32


def test_each_request_is_one_line_without_secrets(caplog: pytest.LogCaptureFixture) -> None:
    app = create_app("huawei", access_log=True)
    signed = [
        (b"authorization", f"SDK-HMAC-SHA256 Access={AK}, SignedHeaders=host, Signature={SIGNATURE}".encode())
    ]
    try:
        with caplog.at_level(logging.INFO, logger="conformance.server.access"):
            call(app, "PUT", f"/v2/{MAIN}/taskgroups/{gid('monitoring')}/stop")
            call(app, "PUT", f"/v2/{MAIN}/taskgroups/{gid('paused')}/start", body=json.dumps(KEYS).encode())
            call(app, "PUT", f"/v2/{MAIN}/taskgroups/g/stop", signed, token=None, query=f"sk={SK}".encode())
            call(
                app, "GET", f"/v2/{MAIN}/taskgroups/{TOKEN}", token=READ_ONLY
            )  # a token misplaced in the path
    finally:
        app.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "conformance.server.access"]
    assert [line.split()[:3] for line in lines] == [
        ["PUT", f"/v2/{MAIN}/taskgroups/{gid('monitoring')}/stop", "200"],
        ["PUT", f"/v2/{MAIN}/taskgroups/{gid('paused')}/start", "200"],
        ["PUT", f"/v2/{MAIN}/taskgroups/g/stop", "401"],
        ["GET", f"/v2/{MAIN}/taskgroups/***", "400"],  # read-only may show: an unknown group
    ]
    for secret in (TOKEN, READ_ONLY, SK, SIGNATURE, *KEYS.values()):
        assert secret not in caplog.text


def test_paths_are_printable_and_bounded() -> None:
    scope = {"method": "PUT", "raw_path": b"/v2/\x1b[31m/" + b"x" * 500}
    line = AccessLog([]).line(scope, 404, "id", 0.0)
    assert "\x1b" not in line and "%1B" in line and "(5" in line and len(line) < 300


def test_without_the_option_nothing_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    app = create_app("strict")
    try:
        with caplog.at_level(logging.DEBUG):
            assert call(app, "PUT", f"/v2/{MAIN}/taskgroups/{gid('monitoring')}/stop").status == 200
    finally:
        app.close()
    assert not [r for r in caplog.records if r.name == "conformance.server.access"]
