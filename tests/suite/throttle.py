"""A throttling gateway in front of any ASGI app: a token bucket answering 429 ``APIGW.0308`` without
``Retry-After``, as Huawei's API gateway does. Used by the pace tests and by ``bench_run.py``.

It counts what it let through and what it refused, so tests assert counts rather than seconds.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import MutableMapping
from typing import Any

import uvicorn

from conformance.server.background import BackgroundServer, answer_lifespan, uvicorn_config

THROTTLED = json.dumps(
    {"error_code": "APIGW.0308", "error_msg": "The throttling threshold has been reached: policy user"}
).encode()


class Throttle:
    def __init__(self, app: Any, *, rate: float, burst: float) -> None:
        self.app, self.rate, self.burst = app, rate, burst
        self.tokens, self.stamp = burst, time.monotonic()
        self.passed = self.refused = 0

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if (
            scope["type"] == "lifespan"
        ):  # the wrapped app has nothing to start (the test model has no lifespan)
            await answer_lifespan(receive, send)
            return
        if not self.admit(time.monotonic()):
            self.refused += 1
            headers = [(b"content-type", b"application/json"), (b"x-request-id", b"throttled")]
            await send({"type": "http.response.start", "status": 429, "headers": headers})
            await send({"type": "http.response.body", "body": THROTTLED})
            return
        self.passed += 1
        await self.app(scope, receive, send)

    def admit(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class WindowThrottle(Throttle):
    """At most ``rate`` requests in any one-second window (a sliding log), as gateways that count per
    second do: unlike a token bucket, a burst is refused if the second before it was already busy."""

    def __init__(self, app: Any, *, rate: float) -> None:
        super().__init__(app, rate=rate, burst=rate)
        self.admitted: deque[float] = deque()

    def admit(self, now: float) -> bool:
        while self.admitted and now - self.admitted[0] >= 1.0:
            self.admitted.popleft()
        if len(self.admitted) >= self.rate:
            return False
        self.admitted.append(now)
        return True


class LoopbackServer(BackgroundServer):
    """Any ASGI app on a loopback port, in a background thread."""

    thread_name = "oms-throttle"

    def config(self) -> uvicorn.Config:
        return uvicorn_config(self.app)
