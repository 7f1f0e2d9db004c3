"""The official SDK, unmodified, through the validating proxy to the reference server: no false alarms.

These are the how-to of "Testing a client" as real tests: the fixtures ``oms_reference_server`` and
``oms_validating_proxy`` come from the plugin; a violation would fail the test by itself.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import (
    ClientRequestException,
    SdkException,
    ServerResponseException,
)
from huaweicloudsdkcore.http.http_handler import HttpHandler
from huaweicloudsdkoms.v2 import OmsClient, StopTaskGroupRequest

from conformance.proxy import ProxyServer
from conformance.server import ReferenceServer
from conformance.server.fixtures import default_fixtures
from conformance.target import dump_target

MAIN = default_fixtures().projects[0]
AKSK = MAIN.aksk[0]
PROJECT = MAIN.project_id
TOKEN = MAIN.tokens[0].token


def sdk_client(base_url: str, sk: str = AKSK.sk) -> OmsClient:
    credentials = BasicCredentials(AKSK.ak, sk, PROJECT)
    return OmsClient.new_builder().with_credentials(credentials).with_endpoints([base_url]).build()


def stop_error(client: OmsClient, group_id: str) -> ClientRequestException:
    with pytest.raises(ClientRequestException) as caught:
        client.stop_task_group(StopTaskGroupRequest(group_id=group_id))
    return caught.value


def test_sdk_pause_refusals_and_bad_credentials(
    sdk_home: Path, oms_reference_server: Any, oms_validating_proxy: Any
) -> None:
    client = sdk_client(oms_validating_proxy.base_url)
    group = oms_reference_server.target.project.groups_in("monitoring")[0]

    client.stop_task_group(StopTaskGroupRequest(group_id=group))
    assert oms_reference_server.app.store.status(PROJECT, group) == 3  # paused at once (settle_delay 0)

    already = stop_error(client, group)
    assert (already.status_code, already.error_code) == (400, "OMS.0066")
    paused = stop_error(client, oms_reference_server.target.project.groups_in("paused")[0])
    assert (paused.status_code, paused.error_code) == (400, "OMS.0066")
    unknown = stop_error(client, "no-such-group")
    assert (unknown.status_code, unknown.error_code) == (400, "OMS.1009")
    wrong = stop_error(sdk_client(oms_validating_proxy.base_url, sk="not-the-secret-key"), group)
    assert (wrong.status_code, wrong.error_code) == (401, "APIGW.0301")

    assert oms_validating_proxy.app.requests == 5
    assert oms_validating_proxy.violations == []


@pytest.mark.parametrize("code", [400, 401, 403, 404, 418, 429, 500])
def test_every_forced_documented_error_passes_the_proxy(oms_validating_proxy: Any, code: int) -> None:
    with httpx.Client(base_url=oms_validating_proxy.base_url, trust_env=False) as client:
        answer = client.put(
            f"/v2/{PROJECT}/taskgroups/any-group/stop",
            headers={"X-Auth-Token": TOKEN, "Prefer": f"code={code}"},
        )
    assert answer.status_code == code
    assert isinstance(answer.json()["error_code"], str)
    assert oms_validating_proxy.violations == []


@pytest.mark.parametrize(
    ("code", "error_code", "kind"),
    [
        (400, "OMS.0064", ClientRequestException),
        (403, "OMS.0003", ClientRequestException),
        (418, "REF.0418", ClientRequestException),
        # The SDK's HttpConfig.retry_times defaults to 0: a 429 is raised at once, not retried - and as
        # urllib3's "too many 429 error responses", so the error_code is "429", not the body's APIGW.0308.
        (429, "429", ClientRequestException),
        (500, "APIGW.0601", ServerResponseException),
    ],
)
def test_sdk_with_a_forced_error(
    sdk_home: Path, oms_validating_proxy: Any, code: int, error_code: str, kind: type[SdkException]
) -> None:
    def prefer(request: Any, **_: Any) -> None:
        # Added after signing: Prefer is not among the signed headers.
        request.header_params["Prefer"] = f"code={code}"

    credentials = BasicCredentials(AKSK.ak, AKSK.sk, PROJECT)
    client = (
        OmsClient.new_builder()
        .with_credentials(credentials)
        .with_endpoints([oms_validating_proxy.base_url])
        .with_http_handler(HttpHandler().add_request_handler(prefer))
        .build()
    )
    with pytest.raises(kind) as caught:
        client.stop_task_group(StopTaskGroupRequest(group_id="00000002-0000-4000-8000-000000000000"))
    assert (caught.value.status_code, caught.value.error_code) == (code, error_code)
    assert oms_validating_proxy.app.requests == 1  # sent once: no retry


def readme_block(marker: str) -> str:
    """The python block of docs/reference-server.md that starts with the comment ``# marker`` (so the docs
    cannot go stale)."""
    readme = (Path(__file__).parents[2] / "docs" / "reference-server.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in readme.split("```python\n")[1:]]
    (block,) = [b for b in blocks if b.startswith(f"# {marker}\n")]
    return block


@pytest.mark.parametrize("through_proxy", [False, True], ids=["direct", "through the proxy"])
def test_readme_sdk_snippet_reads_the_written_target_file(
    sdk_home: Path, monkeypatch: pytest.MonkeyPatch, through_proxy: bool
) -> None:
    monkeypatch.chdir(sdk_home)
    with ReferenceServer(profile="huawei") as server, ProxyServer(server.base_url, "huawei") as proxy:
        target = server.target
        if through_proxy:
            target = replace(target, base_url=proxy.base_url)
        # What `oms-conformance serve --write-target target.yaml` writes.
        (sdk_home / "target.yaml").write_text(dump_target(target), encoding="utf-8")
        group = target.project.groups_in("monitoring")[0]
        exec(compile(readme_block("sdk-from-target-file"), "docs/reference-server.md", "exec"), {})
        assert server.app.store.status(target.project.project_id, group) == 3  # paused
        assert proxy.app.requests == (1 if through_proxy else 0) and proxy.violations == []
