"""The client-side AK/SK signer agrees with the official SDK's signer, byte for byte."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

signer_module = pytest.importorskip("huaweicloudsdkcore.signer.signer")
from huaweicloudsdkcore.sdk_request import SdkRequest  # noqa: E402

from conformance import aksk  # noqa: E402
from conformance.spec.paths import stop_path  # noqa: E402


class _Credentials:
    ak, sk = "AKTEST0001", "sk-test-secret-0001"


ids = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=40)


@given(project_id=ids, group_id=ids, method=st.sampled_from(["PUT", "GET", "POST"]))
def test_signature_matches_the_sdk(project_id: str, group_id: str, method: str) -> None:
    now = datetime(2026, 11, 27, 14, 0, 0)
    path = stop_path(project_id, group_id)
    headers = {"Content-Type": "application/json", "X-Project-Id": "p1", "Host": "127.0.0.1:8080"}
    request = SdkRequest(
        method=method,
        schema="http",
        host="127.0.0.1:8080",
        resource_path=path,
        uri="",
        query_params=[],
        header_params={**headers, "X-Sdk-Date": now.strftime(aksk.DATE_FORMAT)},
        body="",
    )
    signer_module.Signer(_Credentials).sign(request)
    ours = aksk.sign_headers(method, path, headers, _Credentials.ak, _Credentials.sk, now=now)
    assert ours["Authorization"] == request.header_params["Authorization"]
