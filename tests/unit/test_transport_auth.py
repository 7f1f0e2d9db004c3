"""A request's credential is attached by the client for the final request (transport/auth.py): a token as
its header, an AK/SK signature over the host, the path as the server sees it (the base URL's own path
included) and the body - verified here by the reference server's own verifier."""

from __future__ import annotations

from conformance.redact import Redactor
from conformance.server.auth import Authenticator
from conformance.server.store import AccessKey, Principal
from conformance.spec.paths import start_path, stop_path
from conformance.target import AkSk, Project
from conformance.transport import auth
from conformance.transport.http import Client, Request

KEYS = AkSk("AK-house", "sk-secret-" + "s" * 30)
SIGNED = Project("proj-1", aksk=KEYS)
TOKEN = Project("proj-1", token="tok-" + "t" * 40)
VERIFIER = Authenticator({}, {KEYS.ak: AccessKey(KEYS.ak, KEYS.sk, None, Principal("proj-1", frozenset()))})


def _client(base_url: str) -> Client:
    return Client(base_url, Redactor([]), request_timeout=1)


def _verify(request: Request, target: str | None = None) -> bool:
    raw = [(k.encode("latin-1"), v.encode("utf-8")) for k, v in request.headers]
    checked = VERIFIER.check_signature(
        request.method, (target or request.target).encode(), b"", raw, request.body
    )
    return checked.principal is not None


def test_a_signature_covers_the_path_below_the_base_urls_own_path_and_the_body() -> None:
    client = _client("http://gateway.test:8080/oms")
    body = b'{"src_ak":"x"}'
    content_type = ("Content-Type", "application/json;charset=UTF-8")
    request = client.prepare(
        "PUT", start_path("proj-1", "g/1"), [content_type, ("X-Extra", "1")], auth=SIGNED, body=body
    )
    assert request.target == "/oms/v2/proj-1/taskgroups/g%2F1/start"
    assert _verify(request)
    # What the signature covers is what is sent: the same request signed for another path or body fails.
    assert not _verify(request, target="/v2/proj-1/taskgroups/g%2F1/start")
    assert not _verify(Request(request.method, request.url, request.target, request.headers, b"{}"))
    names = [name.lower() for name, _ in request.headers]
    assert names.count("content-type") == 1, "the signed Content-Type is not sent twice"
    assert dict(request.headers)["Host"] == "gateway.test:8080"
    assert names[-1] == "x-extra", "the request's own headers follow the credential's"


def test_a_token_goes_first_and_none_leaves_the_headers_as_given() -> None:
    client = _client("http://gateway.test")
    path = stop_path("proj-1", "g-1")
    assert client.prepare("PUT", path, [("X-Extra", "1")], auth=TOKEN).headers == [
        ("X-Auth-Token", TOKEN.token),
        ("X-Extra", "1"),
    ]
    bad = [("X-Auth-Token", "M")]
    assert client.prepare("PUT", path, bad, auth=None).headers == bad


def test_a_forged_credential_has_the_same_form_and_is_refused() -> None:
    client = _client("http://gateway.test")
    forged_keys = auth.forged(SIGNED)
    assert forged_keys.aksk is not None and forged_keys.aksk.ak == KEYS.ak
    assert not _verify(client.prepare("PUT", stop_path("proj-1", "g-1"), auth=forged_keys))
    forged_token = auth.forged(TOKEN)
    assert forged_token.token and forged_token.token != TOKEN.token
    assert len(forged_token.token) == len(TOKEN.token or "")
