"""Differential test: the proxy's request rules and the reference server's routing agree on what a stop is.

Two implementations of one rule - "is this a well-formed request of the operation?" - written separately:
``check_request``/``kind_of`` (:mod:`conformance.proxy.rules`, judging clients) and the routing and
parameter checks of :class:`~conformance.server.app.ReferenceApp` (answering them). The shared predicate:

    the proxy finds nothing and calls it the stop (or, huawei, the show)
    <=>  the server routes it to that operation (no 404, no 405) and does not refuse its parameters
         (no 400 OMS.0064)

for generated raw paths, methods and credential headers, in the domain where both model the same thing.
Outside it the two differ on purpose; each deliberate difference is pinned by an example below.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, MutableMapping
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.aksk import sign_headers
from conformance.checks.machinery.base import Kind
from conformance.proxy.rules import check_request
from conformance.server import create_app
from conformance.server.app import ReferenceApp
from conformance.server.fixtures import default_fixtures
from conformance.spec import Profile

MAIN = default_fixtures().projects[0]
TOKEN = MAIN.tokens[0].token.encode()
PROJECT = MAIN.project_id
PCHAR = "abcXYZ019-._~!$&'()*+,;=:@"  # RFC 3986 pchar, raw


@pytest.fixture(scope="module")
def apps() -> Iterator[dict[str, ReferenceApp]]:
    made = {profile: create_app(profile) for profile in ("strict", "huawei")}
    yield made
    for app in made.values():
        app.close()


def server_answer(app: ReferenceApp, method: str, raw_path: bytes, headers: list[tuple[bytes, bytes]]) -> Any:
    """(status, error_code) of the server's answer, called in process as uvicorn would call it."""
    messages: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        messages.append(message)

    scope = {"type": "http", "method": method, "raw_path": raw_path, "path": "", "headers": headers}
    asyncio.run(app(scope, receive, send))
    body = messages[1]["body"]
    return messages[0]["status"], (json.loads(body).get("error_code") if body else None)


def server_accepts_form(answer: tuple[int, str | None]) -> bool:
    status, code = answer
    return status not in (404, 405) and not (status == 400 and code == "OMS.0064")


def proxy_accepts_form(
    method: str, raw_path: bytes, headers: list[tuple[bytes, bytes]], profile: str
) -> bool:
    head, findings = check_request(method, raw_path, headers, Profile(profile))
    return not findings and head.kind in (Kind.STOP, Kind.SHOW, Kind.START)


def mostly(right: str, *wrong: str) -> st.SearchStrategy[str]:
    """``right`` more often than not (so that whole requests are often right but for one part), else one
    of the ``wrong`` ways a client may write it."""
    return st.sampled_from([right] * (len(wrong) + 1) + list(wrong))


def literal(word: str) -> st.SearchStrategy[str]:
    """A fixed segment as a client may write it: plain, percent-encoded (still right), or changed."""
    encoded = "".join(f"%{ord(c):02X}" for c in word)
    return st.one_of(st.just(encoded), mostly(word, word.upper(), word[:-1], word + "s", ""))


ids = st.one_of(
    st.text(max_size=40).map(lambda t: quote(t, safe="")),  # correctly encoded, empty included
    st.text(alphabet=PCHAR, min_size=1, max_size=40),  # raw, all legal
    # The edges: not UTF-8 once decoded, and the length limit in ASCII and in two-byte characters.
    st.sampled_from(["%FF", "a%C3", "%E2%82", "x" * 1024, "x" * 1025, "%C3%A9" * 1024, "%C3%A9" * 1025]),
)
tails = mostly("/stop", "", "/stop/", "/start", "/%73top", "/STOP", "/stop/x")
methods = mostly("PUT", "GET", "POST", "DELETE", "put")
visible_token = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=30
)
# (strict) every form of credential a client may send, within the shared domain (visible ASCII, no AK/SK).
strict_tokens = st.one_of(
    st.just([TOKEN]),
    visible_token.map(lambda t: [t.encode()]),
    st.sampled_from([[], [b""], [b"   "], [TOKEN, TOKEN], [b"a" * 16384], [b"a" * 16385]]),
)
# (huawei) a missing or blank credential is a 401 there, like an invalid one: only present ones compare.
huawei_tokens = st.one_of(
    st.just([TOKEN]),
    visible_token.map(lambda t: [t.encode()]),
    st.just([b"a" * 16384]),
    st.just([b"a" * 16385]),
)


paths = st.tuples(literal("v2"), st.one_of(st.just(PROJECT), ids), literal("taskgroups"), ids, tails).map(
    lambda p: f"/{p[0]}/{p[1]}/{p[2]}/{p[3]}{p[4]}".encode()
)


@pytest.mark.parametrize(("profile", "tokens"), [("strict", strict_tokens), ("huawei", huawei_tokens)])
def test_the_proxy_calls_a_stop_valid_iff_the_server_routes_it_and_takes_its_parameters(
    apps: dict[str, ReferenceApp], profile: str, tokens: st.SearchStrategy[list[bytes]]
) -> None:
    seen: set[bool] = set()

    @settings(max_examples=600, deadline=None)
    @given(method=methods, raw_path=paths, sent=tokens)
    def agree(method: str, raw_path: bytes, sent: list[bytes]) -> None:
        headers = [(b"host", b"oms.test"), *((b"x-auth-token", t) for t in sent)]
        answer = server_answer(apps[profile], method, raw_path, headers)
        accepted = server_accepts_form(answer)
        head, _ = check_request(method, raw_path, headers, Profile(profile))
        if head.kind is Kind.START:
            # A start without its body (the migration's keys) is refused by the server with the same
            # OMS.0064 as a bad id, and the proxy judges heads only: the two cannot be compared here.
            return
        assert proxy_accepts_form(method, raw_path, headers, profile) == accepted, answer
        seen.add(accepted)

    agree()
    assert seen == {True, False}  # both sides of the predicate were exercised


# -- The deliberate differences: the proxy holds a client to the contract's letter; the server is lenient
# -- where real clients and the real platform are.

STOP = f"/v2/{PROJECT}/taskgroups/00000002-0000-4000-8000-000000000000/stop".encode()


def test_difference_strict_accepts_aksk_on_the_server_only(apps: dict[str, ReferenceApp]) -> None:
    # The page's letter names X-Auth-Token only; the server accepts a signature in both profiles (the
    # official SDK signs), the proxy's strict profile reports it.
    aksk = MAIN.aksk[0]
    signed = sign_headers("PUT", STOP.decode(), {"Host": "oms.test"}, aksk.ak, aksk.sk)
    headers = [(name.lower().encode(), value.encode()) for name, value in signed.items()]
    assert server_answer(apps["strict"], "PUT", STOP, headers)[0] in (200, 400)  # paused, or OMS.0066
    assert server_accepts_form(server_answer(apps["strict"], "PUT", STOP, headers))
    assert not proxy_accepts_form("PUT", STOP, headers, "strict")
    assert proxy_accepts_form("PUT", STOP, headers, "huawei")


@pytest.mark.parametrize("segment", [b"a{b", b'a"b', b"a|b", b"50%", b"a%zz"])
def test_difference_characters_outside_rfc3986_in_an_id(
    apps: dict[str, ReferenceApp], segment: bytes
) -> None:
    # The HTTP parser lets these through; the server takes the id as it comes, the proxy reports a client
    # that does not percent-encode (RFC 3986 pchar), which a stricter server or gateway may refuse.
    raw = b"/v2/" + PROJECT.encode() + b"/taskgroups/" + segment + b"/stop"
    headers = [(b"x-auth-token", TOKEN)]
    assert server_accepts_form(server_answer(apps["strict"], "PUT", raw, headers))
    assert not proxy_accepts_form("PUT", raw, headers, "strict")


def test_difference_a_token_that_cannot_be_one(apps: dict[str, ReferenceApp]) -> None:
    # The contract says only "1 to 16,384 characters"; the server knows real tokens are visible ASCII and
    # refuses anything else as malformed (strict: 400 OMS.0064), the proxy holds the client to the length.
    headers = [(b"x-auth-token", b"two words")]
    assert server_answer(apps["strict"], "PUT", STOP, headers) == (400, "OMS.0064")
    assert proxy_accepts_form("PUT", STOP, headers, "strict")


def test_difference_token_length_in_bytes_or_characters(apps: dict[str, ReferenceApp]) -> None:
    # Non-ASCII: the server counts a header's bytes, the proxy its characters (UTF-8). Both refuse it in
    # the end (the server as malformed), but not for the same reason.
    headers = [(b"x-auth-token", "é".encode() * 9000)]  # 9,000 characters, 18,000 bytes
    assert server_answer(apps["strict"], "PUT", STOP, headers) == (400, "OMS.0064")
    assert proxy_accepts_form("PUT", STOP, headers, "strict")
