"""The request rules as pure functions: every requirement, each boundary, and no finding for legal input."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.proxy.rules import check_request
from conformance.spec import Profile

P = b"f4e146cac1de45669c3fed73dc3b9c6f"
TOKEN = [(b"x-auth-token", b"oms-sandbox-token-main")]
SIGNED = [
    (b"x-sdk-date", b"20260101T000000Z"),
    (b"authorization", b"SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature=0a1b"),
]


def requirements(
    method: str, path: bytes, headers: list[tuple[bytes, bytes]], profile: str = "strict"
) -> list[str]:
    return [f.requirement for f in check_request(method, path, headers, Profile(profile))[1]]


@pytest.mark.parametrize(
    ("path", "headers", "profile", "expected"),
    [
        (b"/v2/" + P + b"/taskgroups/g/stop", TOKEN, "strict", []),
        (b"/v2/" + P + b"/taskgroups/" + b"g" * 1024 + b"/stop", TOKEN, "strict", []),
        (b"/v2/" + P + b"/taskgroups/" + b"%C3%A9" * 1024 + b"/stop", TOKEN, "strict", []),  # 1024 chars
        (b"/v2/" + P + b"/taskgroups/" + b"%C3%A9" * 1025 + b"/stop", TOKEN, "strict", ["STOP-GROUP-LEN"]),
        (b"/v2/" + P + b"/taskgroups/a b/stop", TOKEN, "strict", ["STOP-GROUP-LEN"]),  # raw space
        (b"/v2/" + P + b"/taskgroups/a\x01/stop", TOKEN, "strict", ["STOP-GROUP-LEN"]),  # raw control
        (b"/v2/" + P + b"/taskgroups/%FF/stop", TOKEN, "strict", ["STOP-GROUP-LEN"]),  # not UTF-8
        (b"/v2/" + P + b"/taskgroups/50%/stop", TOKEN, "strict", ["STOP-GROUP-LEN"]),  # a bare %
        (b"/v2//taskgroups/g/stop", TOKEN, "strict", ["STOP-PROJECT-LEN"]),
        (b"/v2/" + P + b"/taskgroups/g/stop", [(b"x-auth-token", b"  ")], "strict", ["STOP-TOKEN-REQUIRED"]),
        (b"/v2/" + P + b"/taskgroups/g/stop", TOKEN * 2, "strict", ["STOP-TOKEN-REQUIRED"]),
        (b"/v2/" + P + b"/taskgroups/g/stop", [(b"x-auth-token", b"t" * 16384)], "strict", []),
        (b"/v2/" + P + b"/taskgroups/g/stop", SIGNED, "huawei", []),
        (b"/v2/" + P + b"/taskgroups/g/stop", SIGNED, "strict", ["STOP-TOKEN-REQUIRED"]),  # strict: no AK/SK
        (b"/v2/" + P + b"/taskgroups/g/stop", SIGNED[1:], "huawei", ["STOP-TOKEN-REQUIRED"]),  # no X-Sdk-Date
        (
            b"/v2/" + P + b"/taskgroups/g/stop",
            [(b"authorization", b"Bearer x")],
            "huawei",
            ["STOP-TOKEN-REQUIRED"],
        ),
        (b"/v2/" + P + b"/taskgroups/g/start", TOKEN, "strict", ["STOP-OPERATION"]),
        (b"/v2/" + P + b"/tasks/g/stop", TOKEN, "strict", ["STOP-OPERATION"]),
    ],
)
def test_request_rules(
    path: bytes, headers: list[tuple[bytes, bytes]], profile: str, expected: list[str]
) -> None:
    assert requirements("PUT", path, headers, profile) == expected


def test_show_is_an_operation_of_the_huawei_profile_only() -> None:
    show = b"/v2/" + P + b"/taskgroups/g"
    assert requirements("GET", show, TOKEN, "huawei") == []
    assert requirements("GET", show, TOKEN, "strict") == ["STOP-OPERATION"]


@pytest.mark.parametrize("method", ["GET", "POST", "PATCH", "DELETE"])
def test_other_methods_on_the_stop_path(method: str) -> None:
    assert requirements(method, b"/v2/" + P + b"/taskgroups/g/stop", TOKEN) == ["STOP-METHODS"]


@given(st.text(min_size=1, max_size=1024))
def test_any_legal_id_correctly_encoded_is_accepted(group_id: str) -> None:
    encoded = quote(group_id, safe="").encode()
    assert requirements("PUT", b"/v2/" + P + b"/taskgroups/" + encoded + b"/stop", TOKEN) == []


@given(st.text(min_size=1025, max_size=1100))
def test_any_overlong_id_is_a_violation(group_id: str) -> None:
    encoded = quote(group_id, safe="").encode()
    assert requirements("PUT", b"/v2/" + P + b"/taskgroups/" + encoded + b"/stop", TOKEN) == [
        "STOP-GROUP-LEN"
    ]
