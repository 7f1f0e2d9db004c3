"""The official Huawei Cloud SDK (``huaweicloudsdkoms``) against the reference server over loopback.

The SDK is a client nobody on this project wrote, so it is the proof that the server's AK/SK verification
matches the real signing rules: every call here is signed by the SDK's own code (its client, or its
``Signer`` on a hand-built request where the client cannot be made to send the case).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest

pytest.importorskip("huaweicloudsdkoms", reason="the official SDK is a test extra")

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from huaweicloudsdkoms.v2 import (
    OmsClient,
    StartTaskGroupReq,
    StartTaskGroupRequest,
    StopTaskGroupRequest,
)

from conformance.server import AkSkFixture, Fixtures, ReferenceServer, generated_group_id
from tests.server.conftest import AK, MAIN, OTHER, READ_ONLY, SK, TOKEN, roomy_fixtures

pytestmark = pytest.mark.usefixtures("sdk_home")

TEMP_AK, TEMP_SK, TEMP_SECURITY = "OMSSANDBOXTEMPAK0001", "temp-sk-0001", "temp-security-token-0001"
_next = {"n": 0}


def fresh_group() -> str:
    """A monitoring group no other test of this module has touched."""
    _next["n"] += 1
    return generated_group_id(2, 0, _next["n"])


@pytest.fixture(scope="module", params=["strict", "huawei"])
def server(request: pytest.FixtureRequest) -> Iterator[ReferenceServer]:
    main, other = roomy_fixtures().projects
    temporary = AkSkFixture(TEMP_AK, TEMP_SK, security_token=TEMP_SECURITY)
    fixtures = Fixtures(projects=(dataclasses.replace(main, aksk=(*main.aksk, temporary)), other))
    with ReferenceServer(profile=request.param, fixtures=fixtures) as running:
        yield running


@contextmanager
def sdk(
    server: ReferenceServer, ak: str = AK, sk: str = SK, security_token: str | None = None
) -> Iterator[OmsClient]:
    credentials = BasicCredentials(ak, sk, MAIN)
    if security_token:
        credentials.with_security_token(security_token)
    config = HttpConfig.get_default_config()
    config.retry_times = 0  # the default too; said here because a retry would hide a refusal
    config.timeout = (5, 5)
    client = OmsClient.new_builder().with_http_config(config).with_credentials(credentials)
    built = client.with_endpoints([server.base_url]).build()
    try:
        yield built
    finally:
        built.close()


def refused(server: ReferenceServer) -> tuple[int, str]:
    return (403, "OMS.0003") if server.app.profile == "strict" else (401, "APIGW.0301")


def stop(client: OmsClient, group: str, **headers: str) -> int:
    invoker = client.stop_task_group_invoker(StopTaskGroupRequest(group_id=group))
    for name, value in headers.items():
        invoker.add_header(name.replace("_", "-"), value)
    return int(invoker.invoke().status_code)


def test_sdk_pauses_then_reads_0066_and_1009(server: ReferenceServer) -> None:
    group = fresh_group()
    with sdk(server) as client:
        assert client.stop_task_group(StopTaskGroupRequest(group_id=group)).status_code == 200
        for target, code in ((group, "OMS.0066"), ("no-such-group", "OMS.1009"), ("", "OMS.0064")):
            with pytest.raises(ClientRequestException) as caught:
                client.stop_task_group(StopTaskGroupRequest(group_id=target))
            assert (caught.value.status_code, caught.value.error_code) == (400, code)
            assert re.fullmatch(r"[0-9a-f]{32}", caught.value.request_id)
    assert server.app.store.status(MAIN, group) == 3


# Not "." or "..": requests removes dot segments before sending, so those never reach any server as ids.
@pytest.mark.parametrize("awkward", ["a/b", "组-1", "x y~z!*'()", "%41", "a%2Fb", "?#&="])
def test_signatures_over_awkward_ids_verify(server: ReferenceServer, awkward: str) -> None:
    # The SDK quotes the id with safe=""; the canonical URI splits the decoded path - both sides must agree.
    with sdk(server) as client, pytest.raises(ClientRequestException) as caught:
        client.stop_task_group(StopTaskGroupRequest(group_id=awkward))
    assert (caught.value.status_code, caught.value.error_code) == (400, "OMS.1009")


@pytest.mark.parametrize(
    ("ak", "sk"), [(AK, "wrong-secret"), ("OMSUNKNOWNAK00000001", SK), (TEMP_AK, TEMP_SK)]
)
def test_wrong_or_incomplete_keys_are_refused(server: ReferenceServer, ak: str, sk: str) -> None:
    group = fresh_group()
    with sdk(server, ak, sk) as client, pytest.raises(ClientRequestException) as caught:
        client.stop_task_group(StopTaskGroupRequest(group_id=group))
    assert (caught.value.status_code, caught.value.error_code) == refused(server)
    assert caught.value.request_id
    assert server.app.store.status(MAIN, group) == 2


def test_temporary_credentials_with_their_security_token(server: ReferenceServer) -> None:
    with sdk(server, TEMP_AK, TEMP_SK, TEMP_SECURITY) as client:
        assert stop(client, fresh_group()) == 200
    with (
        sdk(server, TEMP_AK, TEMP_SK, "another-security-token") as client,
        pytest.raises(ClientRequestException),
    ):
        stop(client, fresh_group())


def test_a_stale_sdk_date_is_refused(server: ReferenceServer) -> None:
    stale = (datetime.now(UTC) - timedelta(minutes=16)).strftime("%Y%m%dT%H%M%SZ")
    with sdk(server) as client, pytest.raises(ClientRequestException) as caught:
        stop(client, fresh_group(), X_Sdk_Date=stale)  # the SDK signs with a preset date as given
    assert (caught.value.status_code, caught.value.error_code) == refused(server)
    recent = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y%m%dT%H%M%SZ")
    with sdk(server) as client:
        assert stop(client, fresh_group(), X_Sdk_Date=recent) == 200


def test_a_token_added_to_the_sdk_request_decides(server: ReferenceServer) -> None:
    # The SDK has no token credential; a header added on the invoker is sent (and signed) as is.
    with sdk(server, "OMSBOGUSAK0000000001", "bogus") as client:
        assert stop(client, fresh_group(), X_Auth_Token=TOKEN) == 200
        with pytest.raises(ClientRequestException) as caught:
            stop(client, fresh_group(), X_Auth_Token=READ_ONLY)
        assert (caught.value.status_code, caught.value.error_code) == (403, "OMS.0003")
    with sdk(server) as client, pytest.raises(ClientRequestException) as caught:
        stop(client, fresh_group(), X_Auth_Token="not-a-token")  # a valid signature does not rescue it
    assert (caught.value.status_code, caught.value.error_code) == refused(server)


def signed(server: ReferenceServer, group: str, headers: dict[str, str], **kwargs: object) -> SdkRequest:
    """A request signed by the SDK's Signer (the client always sets X-Project-Id to the path's project)."""
    host = server.base_url.removeprefix("http://")
    request = SdkRequest(
        method="PUT",
        schema="http",
        host=host,
        resource_path=f"/v2/{MAIN}/taskgroups/{group}/{kwargs.get('operation', 'stop')}",
        query_params=kwargs.get("query", []),
        header_params={"Content-Type": "application/json", **headers},
        body=kwargs.get("body", b""),
    )
    return Signer(BasicCredentials(AK, SK, MAIN)).sign(request)


def send(request: SdkRequest) -> httpx.Response:
    return httpx.put(request.url, headers=request.header_params, content=request.body or b"", timeout=5)


def test_signed_query_and_body_verify(server: ReferenceServer) -> None:
    request = signed(
        server, fresh_group(), {}, query=[("b", "2"), ("a", "x y"), ("a", "~1")], body=b'{"k": 1}'
    )
    assert send(request).status_code == 200


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"X-Project-Id": OTHER}, 403),  # signed, but not the path's project
        ({"X-Project-Id": MAIN}, 200),
    ],
)
def test_x_project_id_must_name_the_paths_project(
    server: ReferenceServer, change: dict[str, str], status: int
) -> None:
    assert send(signed(server, fresh_group(), change)).status_code == status


def test_tampering_after_signing_is_refused(server: ReferenceServer) -> None:
    group = fresh_group()
    tampered = signed(server, group, {"X-Project-Id": MAIN})
    tampered.header_params["X-Project-Id"] = OTHER
    assert send(tampered).status_code == refused(server)[0]
    unsigned = signed(server, group, {"X-Project-Id": MAIN})
    unsigned.header_params["X-Security-Token"] = "added-later"  # must be signed when sent
    assert send(unsigned).status_code == refused(server)[0]
    assert server.app.store.status(MAIN, group) == 2


DST_AK, DST_SK = "DSTAKSECRETVALUE0001", "dst-sk-secret-value-0001"


def start_request(group: str, **keys: str | None) -> StartTaskGroupRequest:
    body = StartTaskGroupReq(**({"dst_ak": DST_AK, "dst_sk": DST_SK} | keys))
    return StartTaskGroupRequest(group_id=group, body=body)


def test_sdk_cycles_stop_start_stop_on_huawei_and_start_is_404_on_strict(server: ReferenceServer) -> None:
    group = fresh_group()
    with sdk(server) as client:
        assert client.stop_task_group(StopTaskGroupRequest(group_id=group)).status_code == 200
        if server.app.profile == "strict":
            with pytest.raises(ClientRequestException) as caught:
                client.start_task_group(start_request(group))
            assert (caught.value.status_code, caught.value.error_code) == (404, "APIGW.0101")
            return
        for _ in range(2):  # signed with the JSON body's hash, as the SDK signs a body
            assert (
                client.start_task_group(start_request(group, src_ak="SRCAK", src_sk="src")).status_code == 200
            )
            assert server.app.store.status(MAIN, group) == 2
            assert client.stop_task_group(StopTaskGroupRequest(group_id=group)).status_code == 200
        for target, code, keys in (
            (fresh_group(), "OMS.0063", {}),  # monitoring: not paused
            ("no-such-group", "OMS.1009", {}),
            (group, "OMS.0064", {"dst_sk": None}),  # the SDK drops None: the body lacks dst_sk
        ):
            with pytest.raises(ClientRequestException) as caught:
                client.start_task_group(start_request(target, **keys))
            assert (caught.value.status_code, caught.value.error_code) == (400, code)
            assert DST_AK not in caught.value.error_msg and DST_SK not in caught.value.error_msg
    assert server.app.store.status(MAIN, group) == 3


def test_a_start_body_changed_after_signing_is_refused(server: ReferenceServer) -> None:
    group = fresh_group()
    with sdk(server) as client:
        client.stop_task_group(StopTaskGroupRequest(group_id=group))
    body = f'{{"dst_ak": "{DST_AK}", "dst_sk": "{DST_SK}"}}'.encode()
    if server.app.profile == "strict":  # no start operation there
        assert send(signed(server, group, {}, operation="start", body=body)).status_code == 404
        return
    tampered = signed(server, group, {"X-Project-Id": MAIN}, operation="start", body=body)
    tampered.body = body.replace(b"dst-sk", b"DST-SK")
    assert send(tampered).status_code == 401
    assert server.app.store.status(MAIN, group) == 3
    assert (
        send(signed(server, group, {"X-Project-Id": MAIN}, operation="start", body=body)).status_code == 200
    )
    assert server.app.store.status(MAIN, group) == 2
