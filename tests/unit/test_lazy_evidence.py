"""An answer's evidence is made, and redacted, when first read (transport/http.py ``Client.result``): a deep
fuzz judges thousands of answers and shows a handful. What is read is the same redacted evidence."""

from __future__ import annotations

import asyncio
import json
from collections.abc import MutableMapping
from typing import Any

import httpx

from conformance.redact import Redactor
from conformance.target import Project
from conformance.transport.http import Client

TOKEN = Project("proj-1", token="tok-" + "t" * 40)


class CountingRedactor(Redactor):
    def __init__(self) -> None:
        super().__init__([(TOKEN.token or "", "$OMS_TOKEN")])
        self.calls = 0

    def text(self, value: str) -> str:
        self.calls += 1
        return super().text(value)


def test_the_evidence_is_redacted_when_first_read_and_the_count_is_told_at_once() -> None:
    async def echo(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:  # echoes the credential
        token = dict(scope["headers"])[b"x-auth-token"].decode()
        await send(
            {
                "type": "http.response.start",
                "status": 400,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": json.dumps({"error_msg": token}).encode()})

    redactor, told = CountingRedactor(), []
    client = Client(
        "http://target.test",
        redactor,
        transport=httpx.ASGITransport(app=echo),
        on_exchange=lambda status, elapsed_ms: told.append(status),
    )
    result = asyncio.run(client.send("PUT", "/v2/proj-1/taskgroups/g-1/stop", auth=TOKEN))
    assert told == [400] and redactor.calls == 0
    assert TOKEN.token and TOKEN.token in result.body.decode()  # the checks judge what came, unredacted
    evidence = result.exchange
    assert redactor.calls > 0 and result.exchange is evidence
    assert TOKEN.token not in f"{evidence.curl} {evidence.response_body} {evidence.request_headers}"
    assert "$OMS_TOKEN" in evidence.curl and "$OMS_TOKEN" in evidence.response_body
    assert evidence.status == 400 and evidence.method == "PUT"
