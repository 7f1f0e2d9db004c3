"""The reference server's optional access log (``serve --access-log``): one line per answered request.

Why a module of its own: what a line may hold is a security decision, kept in one place. A line has the
method, the raw path as received (percent-encoded, cut at 200 characters, any known token or secret key
in it masked), the status, the request id and the time taken - never a header (tokens, signatures), a
query string or a body (a start's keys). Lines go to the logger ``conformance.server.access`` at INFO.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, MutableMapping
from typing import Any

MAX_PATH_CHARS = 200
_log = logging.getLogger("conformance.server.access")
Scope = MutableMapping[str, Any]


class AccessLog:
    def __init__(self, secrets: Iterable[str]) -> None:
        # Longest first, so a secret that contains another is masked whole.
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def line(self, scope: Scope, status: int | str, request_id: str, started: float) -> str:
        raw: bytes = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "replace")
        path = raw.partition(b"?")[0].decode("latin-1")
        path = "".join(c if c.isprintable() and c.isascii() else f"%{ord(c):02X}" for c in path)
        for secret in self._secrets:
            path = path.replace(secret, "***")
        if len(path) > MAX_PATH_CHARS:
            path = f"{path[:MAX_PATH_CHARS]}...({len(path)} characters)"
        method = str(scope.get("method", ""))[:16]
        elapsed = (time.perf_counter() - started) * 1000
        return f"{method} {path} {status} {request_id} {elapsed:.2f}ms"

    def log(self, scope: Scope, status: int | str, request_id: str, started: float) -> None:
        _log.info("%s", self.line(scope, status, request_id, started))


def enable_console(stream: Any = None) -> None:
    """Send the access log's lines to stderr (``serve --access-log``)."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    _log.addHandler(handler)
    _log.setLevel(logging.INFO)
    _log.propagate = False
