"""A correct stop endpoint written from the page alone on the stdlib's ``http.server``, not from our model.

What a provider might put up in an afternoon, with the stdlib's own habits, none of which is a fault:
HTTP/1.0 by default (a connection per request, no keep-alive), a listen backlog of 5, 501 for every method
it has no handler for, the first of several header lines, a thread per connection. A stop answers 200 and
the group is pausing (7), then paused (3) a moment later.
"""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

PROJECT, OTHER_PROJECT = "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"
TOKEN, READONLY_TOKEN, OTHER_TOKEN = "stdlib-token-a", "stdlib-token-a-readonly", "stdlib-token-b"
# token -> (its project, whether it holds oms:taskgroup:update)
TOKENS = {TOKEN: (PROJECT, True), READONLY_TOKEN: (PROJECT, False), OTHER_TOKEN: (OTHER_PROJECT, True)}
SETTLE_S = 0.2  # pausing (7) to paused (3)


def _groups() -> dict[tuple[str, str], int]:
    groups = {(PROJECT, f"mon-{i}"): 2 for i in range(3)} | {(PROJECT, "cre-0"): 1}
    groups |= {(PROJECT, name): status for name, status in [("paused", 3), ("waiting", 0), ("done", 6)]}
    return groups | {(OTHER_PROJECT, "b-mon-0"): 2}


def target_data(base_url: str) -> dict[str, Any]:
    return {
        "base_url": base_url,
        "project_id": PROJECT,
        "token": TOKEN,
        "readonly_token": READONLY_TOKEN,
        "profile": "strict",
        "groups": {
            "monitoring": ["mon-0", "mon-1"],
            "creating": ["cre-0"],
            "paused": ["paused"],
            "waiting": ["waiting"],
            "completed": ["done"],
        },
        "other_project": {
            "project_id": OTHER_PROJECT,
            "token": OTHER_TOKEN,
            "groups": {"monitoring": ["b-mon-0"]},
        },
    }


class StdlibServer:
    """``with StdlibServer(protocol="HTTP/1.1") as server:`` serves at ``server.base_url``."""

    def __init__(self, *, protocol: str = "HTTP/1.0") -> None:
        self.lock = threading.Lock()
        self.groups = _groups()
        handler = type("Handler", (_Handler,), {"protocol_version": protocol, "store": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self, key: tuple[str, str]) -> int | None:
        """The group's status before the stop (None: no such group); a pausable one is now pausing."""
        with self.lock:
            status = self.groups.get(key)
            if status in (1, 2):
                self.groups[key] = 7
                timer = threading.Timer(SETTLE_S, self._settle, args=(key,))
                timer.daemon = True
                timer.start()
            return status

    def _settle(self, key: tuple[str, str]) -> None:
        with self.lock:
            if self.groups.get(key) == 7:
                self.groups[key] = 3

    def __enter__(self) -> StdlibServer:
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    store: StdlibServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def answer(self, status: int, body: dict[str, Any] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Request-Id", uuid.uuid4().hex)
        self.end_headers()
        self.wfile.write(data)

    def error(self, status: int, code: str, message: str) -> None:
        self.answer(status, {"error_code": code, "error_msg": message})

    def ids(self) -> tuple[str, str] | None:
        """The project and group ids of a stop path, decoded; None for any other path."""
        parts = urlsplit(self.path).path.split("/")  # ['', 'v2', project, 'taskgroups', group, 'stop']
        if len(parts) != 6 or parts[:2] != ["", "v2"] or parts[3] != "taskgroups" or parts[5] != "stop":
            return None
        try:
            return unquote(parts[2], errors="strict"), unquote(parts[4], errors="strict")
        except UnicodeDecodeError:
            return None

    def may_stop(self, project: str) -> bool:
        """Whether the token may stop groups of ``project``; answers the refusal itself when not."""
        token = self.headers.get("X-Auth-Token")  # the first line, as the stdlib reads it
        if token is None or not token.strip() or len(token) > 16384:
            self.error(400, "OMS.0064", "Invalid request parameters.")
            return False
        if TOKENS.get(token) != (project, True):
            self.error(403, "OMS.0003", "Forbidden.")
            return False
        return True

    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        ids = self.ids()
        if ids is None or not all(1 <= len(i) <= 1024 for i in ids):
            self.error(400, "OMS.0064", "Invalid request parameters.")
            return
        if not self.may_stop(ids[0]):
            return
        status = self.store.stop(ids)
        if status is None:
            self.error(400, "OMS.1009", "No resources found.")
        elif status not in (1, 2):
            self.error(400, "OMS.0066", "The task is not running. No need to stop it.")
        else:
            self.answer(200)
