"""Property: whatever arrives - any method, raw path, header or body - the answer is a documented status with
a JSON error envelope, a request id, never a 5xx and never an echo of the credential."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import quote_from_bytes

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from conformance.server import ReferenceApp, create_app
from tests.server.conftest import MAIN, OTHER, READ_ONLY, TOKEN, call

DOCUMENTED = {
    "strict": {200, 400, 403, 404, 405},
    "huawei": {200, 400, 401, 403, 404, 405},
    # With `prefer` on, a caller may force any documented status of the profile.
    "huawei+prefer": {200, 400, 401, 403, 404, 405, 418, 429, 500},
}
SECRET = "s3cr3t-"  # a prefix no fixed message contains: the probe for echoes


@pytest.fixture(scope="module")
def apps() -> Iterator[dict[str, ReferenceApp]]:
    made = {
        "strict": create_app("strict"),
        "huawei": create_app("huawei"),
        "huawei+prefer": create_app("huawei", faults=["prefer"]),
    }
    yield made
    for app in made.values():
        app.close()


segment = st.one_of(
    st.sampled_from(
        [MAIN, OTHER, "00000002-0000-4000-8000-000000000001", "00000001-0000-4000-8000-000000000002", ""]
    ),
    st.binary(max_size=40).map(lambda b: quote_from_bytes(b, safe="").encode().decode()),
    st.text(max_size=30).map(lambda t: t.replace("/", "%2F")),
    st.just("x" * 1025),
)
shaped_path = st.builds(
    lambda v, p, t, g, s: f"/{v}/{p}/{t}/{g}{s}".encode("utf-8", "surrogatepass"),
    st.sampled_from(["v2", "v1", "V2", "%76%32"]),
    segment,
    st.sampled_from(["taskgroups", "tasks", "%74askgroups"]),
    segment,
    st.sampled_from(["/stop", "", "/stop/", "/start", "/stop/x", "//stop"]),
)
route = st.builds(
    lambda p, g, show: (f"/v2/{p}/taskgroups/{g}" + ("" if show else "/stop")).encode(
        "utf-8", "surrogatepass"
    ),
    segment,
    segment,
    st.booleans(),
)
# Most weight on the real routes, so the checks behind routing (lengths, credentials, state) get exercised.
raw_path = st.one_of(route, route, route, shaped_path, st.binary(max_size=80))
secret = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=8, max_size=24).map(
    lambda t: (SECRET + t).encode()
)
credential = st.one_of(
    st.sampled_from([TOKEN.encode(), READ_ONLY.encode(), b"", b"   "]), secret, st.binary(max_size=64)
)
header_name = st.one_of(
    st.sampled_from(
        [
            b"x-auth-token",
            b"X-Auth-Token",
            b"authorization",
            b"x-sdk-date",
            b"x-project-id",
            b"prefer",
            b"x-security-token",
            b"content-type",
            b"host",
            b"content-length",
        ]
    ),
    st.binary(min_size=1, max_size=20),
)
header_value = st.one_of(
    credential,
    st.sampled_from([b"code=400", b"code=500", b"code=999", b"code=abc", b"20240101T000000Z"]),
    st.builds(
        lambda s: b"SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature=" + s,
        st.binary(max_size=70),
    ),
    st.binary(max_size=100),
)
method = st.one_of(
    st.sampled_from(["PUT", "PUT", "PUT", "GET", "GET", "POST", "DELETE", "HEAD"]), st.text(max_size=8)
)
request = st.fixed_dictionaries(
    {
        "method": method,
        "path": raw_path,
        "token": st.one_of(st.none(), credential, credential),
        "headers": st.lists(st.tuples(header_name, header_value), max_size=5),
        "query": st.binary(max_size=30),
        "body": st.binary(max_size=50),
    }
)


@pytest.mark.parametrize("profile", list(DOCUMENTED))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(req=request)
def test_any_request_gets_a_documented_answer(apps: dict[str, ReferenceApp], profile: str, req: dict) -> None:  # type: ignore[type-arg]
    headers = req["headers"] + ([] if req["token"] is None else [(b"x-auth-token", req["token"])])
    reply = call(
        apps[profile], req["method"], req["path"], headers, token=None, body=req["body"], query=req["query"]
    )
    event(f"status {reply.status}")
    assert reply.status in DOCUMENTED[profile], reply
    assert len(reply.headers["x-request-id"]) == 32
    if reply.status != 200 or reply.body:
        assert reply.headers["content-type"] == "application/json"
        body = json.loads(reply.body)
        assert isinstance(body, dict)
    if reply.status != 200:
        assert isinstance(body["error_code"], str) and isinstance(body["error_msg"], str)
        assert 1 <= len(body["error_code"]) <= 10 and len(body["error_msg"]) <= 1024
    for _, value in headers:
        if value.startswith(SECRET.encode()):
            assert value not in reply.body
            assert all(value not in v.encode("latin-1") for v in reply.headers.values())
