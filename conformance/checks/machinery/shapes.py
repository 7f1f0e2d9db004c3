"""The stop as real clients send it: a provider's server must accept each, and pause for each.

The page defines no body and no content type for the request, so every client sends something slightly
different, and each is a legal HTTP request for the operation:

- the official SDK (``huaweicloudsdkoms``) sends ``Content-Type: application/json`` and
  ``Content-Length: 0``, no body - a JSON body parser that demands a body refuses it;
- curl (``curl -X PUT url``) sends neither a content type nor a length - a server that demands
  ``application/json`` (415) or a length (411) refuses it;
- a hand-written client that sends ``{}`` as JSON - a server that refuses any body refuses it.

The suite's own default request (``Content-Length: 0``, no content type) is another. Shapes are sent to
groups the run pauses anyway - the effect check's first stop is the SDK's, the precondition check's stop of
the other pausable kind is curl's, and on huawei the stateful check's opening program stops A with ``{}``
and B as curl does, and reads the effect of each - so they cost no fixture. On strict a refusal as "not
pausable" (400) cannot tell a stale group from a refused shape; one stop in the default shape right after it
can: a 200 then proves the group was pausable, so the shape was refused (checks/state.py ``stop_as``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClientShape:
    name: str
    description: str  # for findings: which client's request broke
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    content_length: bool = True  # False: no Content-Length header at all (curl's PUT without data)


SDK = ClientShape(
    "sdk",
    "the official SDK's request (Content-Type: application/json, Content-Length: 0, no body)",
    (("Content-Type", "application/json"),),
)
CURL = ClientShape("curl", "curl's request (no Content-Type, no Content-Length)", content_length=False)
JSON_OBJECT = ClientShape(
    "json-object", "a client's request with {} as a JSON body", (("Content-Type", "application/json"),), b"{}"
)
