"""An implementation of the stop endpoint written for the suite's own tests, independent of the reference
server, with switches for the legal choices a correct implementation may make and for the ways real ones
go wrong. The suite must pass every correct configuration and fail every faulty one for the right reason.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import posixpath
import random
import re
import time
import unicodedata
import uuid
from collections.abc import MutableMapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote

from conformance import aksk

PROJECT, OTHER = "proj-a-0001", "proj-b-0002"
TOKEN, OTHER_TOKEN = "tok-A-" + "s3cr3t" * 6, "tok-B-" + "0th3r" * 6
AK, SK = "AKMODEL0001", "SKMODEL-secret-0001"
READONLY = "tok-A-readonly-" + "r3ad" * 6  # project A, without oms:taskgroup:update
RESTORE = {"dst_ak": "AK-restore-" + "d5t" * 6, "dst_sk": "SK-restore-" + "s3cr" * 6}  # StartTaskGroupReq
STATUSES = {
    "waiting": 0,
    "creating": 1,
    "monitoring": 2,
    "paused": 3,
    "create_failed": 4,
    "migrate_failed": 5,
    "completed": 6,
    "pausing": 7,
    "deleting": 8,
    "deleted": 9,
}


@dataclass(frozen=True)
class Choices:
    # Legal choices.
    auth_first: bool = True  # authenticate before validating parameters
    malformed_token_status: int = 400
    unknown_group_status: int = 400  # 403 hides whether a group exists
    success_body: bytes = b""
    content_type: str = "application/json"
    other_method_status: int = 405
    settle_to_paused: bool = False  # 7 then 3 immediately
    # The platform's read path: show reports each group's status as it was 1-3 s earlier (every write becomes
    # visible after a seeded delay), and a stop goes 7, then 3 on its own a moment later.
    lagging_reads: bool = False
    read_lag_s: tuple[float, float] = (1.0, 3.0)  # how far behind the show is, drawn per write
    pausing_s: tuple[float, float] = (0.3, 1.0)  # how long a stopped group is 7 before it is 3
    scope_401: bool = False  # huawei: the gateway refuses a token used outside its project scope (401)
    # A server in front refuses "%00" in the path itself, as nginx always does (an HTML 400): RFC 3986 7.3.
    nul_refused_in_front: bool = False
    # Refuses any path with an encoded slash before routing, with this status (Tomcat and Apache httpd refuse
    # %2F by default): legal, since such a path names no stop (checks/joined_paths.py). 0: routes it.
    encoded_slash_status: int = 0
    # Go's ServeMux: a path with a dot segment (any spelling) is answered 301 to its cleaned form (RFC 3986
    # section 6.2.2 removes dot segments, so this is right: no id of "." or ".." can be sent).
    dot_segments_301: bool = False
    # Faults.
    ignore_token_on_pausable: bool = False
    pause_any_status: bool = False
    unknown_group_200: bool = False
    no_project_check: bool = False
    echo_token: bool = False
    header_limit: int | None = None  # answers 431 above it, like a proxy
    header_limit_status: int = 431  # 400: as nginx answers it ("Request Header Or Cookie Too Large")
    # Limits inside the page's range (checks/inner_limits.py): longer values refused as invalid parameters
    token_length_limit: int | None = None  # a wrong token longer than this: 400 "invalid length", not 403
    group_id_limit: int | None = None  # a group id longer than this: 400 OMS.0064, not OMS.1009
    # How the header limit answers: "html" (nginx's page), "text" (uvicorn/h11's plain-text "Invalid HTTP
    # request received."), "echo" (aiohttp's plain text, which repeats the line's first 100 characters).
    header_limit_answer: str = "html"
    # A limit on the request line in bytes, answered by the HTTP server itself: gunicorn's limit_request_line
    # (4,094: an HTML 400), aiohttp's max_line_size (8,190: a plain-text 400); a legal id of wide characters
    # percent-encoded is up to 12 KiB.
    request_line_limit: int | None = None
    request_line_limit_answer: str = "html"  # "html" | "text" | "414" (a front's 414 URI Too Long)
    crash_on_encoded_slash: bool = False
    crash_on_long_project: bool = False
    post_also_stops: bool = False
    racy: bool = False  # a check-then-act window of 10 ms
    race_window_s: float = 0.0  # a check-then-act window of this many seconds (overrides racy)
    # A store that reads the whole table, changes one row and writes the whole table back, under a lock per
    # group: a race on one group is serialised (correct), but of two groups stopped together one is lost.
    snapshot_store: bool = False
    snapshot_window_s: float = 0.002  # from the read of the table to its write-back (the 2 ms)
    hang_on_space: bool = False
    unknown_group_404: bool = False
    plain_text_errors: bool = False
    int_error_code: bool = False
    html_errors: bool = False
    error_200_for_not_pausable: bool = False
    no_allow_header: bool = False
    allow_lines: bool = False  # Allow as one field line per method, lower case (RFC 9110 5.3: one list)
    missing_token_allowed: bool = False
    stop_is_noop: bool = False
    empty_segment_404: bool = False
    no_request_id: bool = False
    plain_401: bool = False
    show_wrong_status: bool = False
    any_signature: bool = False
    delete_on_delete: bool = False
    case_sensitive_headers: bool = False  # only meaningful behind raw_server.py, which keeps the case
    generic_401: bool = False  # a framework's default 401 for every authentication failure
    route_without_stop: bool = False  # built from the page's example URL, which lacks /stop
    show_bad_shape: bool = False
    global_group_lookup: bool = False  # finds a group by id alone, whatever project the path names
    ignore_permissions: bool = False  # any valid token of the project may stop
    never_pauses: bool = False  # "not running" for every group, pausable or not
    refuse_creating: bool = False  # "not running" for every creating group: only monitoring ones pause
    # Checks after the write (checks/precondition.py, auth.py): a right refusal, and the group changed anyway
    validate_after_write: bool = False  # a group that is not pausable is marked paused, then refused (400)
    authorise_after_write: bool = False  # a read-only token's stop pauses, then is forbidden (403)
    # Authentication that sticks to a connection (checks/connection_state.py): the first principal a
    # connection authenticated stands for every later request on it that has no valid credential of its own.
    # Needs a server that says which connection a request came on (field_server.py).
    auth_per_connection: bool = False
    prefix_match: bool = False  # looks groups up with LIKE 'id%' (or the id as a prefix of the given one)
    # Ids a store reads as patterns (machinery/patterns.py): "like" (WHERE id LIKE ?), "regex", "glob"
    pattern_ids: str = ""
    decode_twice: bool = False  # percent-decodes the id the HTTP layer already decoded
    # A correct server that normalises the path first (RFC 3986 6.2.2: %61 is "a", hex digits upper-cased)
    normalise_unreserved: bool = False
    # Look-alike ids and tokens (checks/lookalike.py): each loosens an exact comparison in one way.
    strip_group_id: bool = False  # str.strip() on the id: spaces, tabs, no-break spaces
    case_insensitive_group_id: bool = False  # a case-insensitive collation on the id column
    nfkc_group_id: bool = False  # "normalises" ids with NFKC: fullwidth, superscripts, ligatures fold
    strip_separators: bool = False  # "slugifies" the id: separators at either end do not count
    nul_terminated_ids: bool = False  # a C string: the id ends at the first NUL
    trailing_dot_ignored: bool = False  # a file-backed store on a system that drops trailing dots
    token_case_insensitive: bool = False
    token_prefix_match: bool = False  # valid.startswith(sent): compares only as many characters as were sent
    token_extension_match: bool = False  # sent.startswith(valid): compares only the valid token's length
    token_strip: bool = False  # str.strip() on the token: no-break spaces and tabs too
    # Authenticates with the first X-Auth-Token line that is any known token, authorises by the last line.
    any_token_header: bool = False
    token_last_line: bool = False  # several X-Auth-Token lines: the last one counts (a dict of headers)
    token_first_line: bool = False  # several X-Auth-Token lines: the first counts (Go, Starlette, stdlib)
    token_list_any: bool = False  # a comma-joined X-Auth-Token: any element that is a valid token counts
    case_insensitive_project: bool = False  # a case-insensitive collation on the project column
    drop_path_params: bool = False  # a servlet container: ";name=value" is removed from each segment
    # Routes on the decoded path, as Starlette (scope["path"]), Werkzeug (PATH_INFO) and Go (r.URL.Path) do:
    # "{group}%2Fstop" becomes "{group}/stop", the stop of that group.
    slash_decoded_before_routing: bool = False
    # Request shapes (machinery/shapes.py): each refuses one legal way real clients send the stop.
    refuse_empty_json: bool = False  # a JSON body parser that demands a body: the SDK's request is a 400
    require_content_length: bool = False  # 411 without Content-Length: curl's PUT without data
    refuse_any_body: bool = False  # "the stop takes no body": {} as a JSON body is a 400
    start_leaves_paused: bool = False  # huawei: a start answers 200 but the group stays paused
    # A pause that does not last: this many seconds after a stop the group runs again (a worker that resumes
    # what it finds half-paused). Only a look at the group at the end of the run sees it (checks/lasting.py).
    pause_reverts_s: float = 0.0
    # Time (tests/suite/test_hangs.py). Slow now and then is legal; never answering is not.
    slow_every: int = 0  # every Nth request is answered after slow_s (a GC pause, a cold cache)
    slow_s: float = 2.5
    hang_on_unknown_group: bool = False  # a lookup of a group that does not exist never returns
    lock_after_first_stop: bool = False  # authenticated stops take a lock the first one never releases
    dead_after: int = 0  # after this many requests, nothing is answered any more (the process wedged)
    huawei: bool = False


@dataclass
class Model:
    choices: Choices = field(default_factory=Choices)
    groups: dict[tuple[str, str], int] = field(default_factory=dict)
    token: str = TOKEN
    resumes_to: dict[tuple[str, str], int] = field(default_factory=dict)  # what a start resumes a group to
    seed: int = 0  # of the read lags and pause times (lagging_reads)
    requests: int = 0  # received so far (slow_every, dead_after)
    locked: bool = False  # lock_after_first_stop: the first authenticated stop took the lock

    def __post_init__(self) -> None:
        if not self.groups:
            self.groups = fixture_groups()
        self._rng = random.Random(self.seed)
        # lagging_reads: per group, the status before its first write and each write as (visible from, status)
        self._first: dict[tuple[str, str], int] = {}
        self._writes: dict[tuple[str, str], list[tuple[float, int]]] = {}
        self._pausing: dict[tuple[str, str], float] = {}  # groups at 7 and when they reach 3
        self._reverting: dict[tuple[str, str], float] = {}  # pause_reverts_s: when a paused group runs again
        self._row_locks: dict[tuple[str, str], asyncio.Lock] = {}  # snapshot_store: one lock per group
        # snapshot_store, race_window_s: each write-back as (group, when its table or row was read, when
        # written back)
        self.write_backs: list[tuple[tuple[str, str], float, float]] = []
        self._connection_principal: dict[int, str] = {}  # auth_per_connection

    def write(self, key: tuple[str, str], status: int, at: float | None = None) -> None:
        """Change a group's status; with lagging_reads the show sees it only 1-3 s later."""
        if self.choices.lagging_reads:
            at = time.monotonic() if at is None else at
            self._first.setdefault(key, self.groups[key])
            self._writes.setdefault(key, []).append(
                (at + self._rng.uniform(*self.choices.read_lag_s), status)
            )
        self.groups[key] = status

    def pause(self, key: tuple[str, str]) -> None:
        if self.choices.pause_reverts_s:
            self._reverting[key] = time.monotonic() + self.choices.pause_reverts_s
        if self.choices.lagging_reads:  # pausing now, paused on its own a moment later
            self.write(key, 7)
            self._pausing[key] = time.monotonic() + self._rng.uniform(*self.choices.pausing_s)
        else:
            self.write(key, 3 if self.choices.settle_to_paused else 7)

    def settle(self) -> None:
        """Groups whose pausing is over are paused (written when it ended, so their visibility lags too)."""
        now = time.monotonic()
        for key, until in list(self._reverting.items()):
            if until <= now:
                del self._reverting[key]
                if self.groups[key] in (3, 7):
                    self.write(key, self.resumes_to.pop(key, 2), at=until)
        for key, until in list(self._pausing.items()):
            if until <= now:
                del self._pausing[key]
                if self.groups[key] == 7:
                    self.write(key, 3, at=until)

    def shown_status(self, key: tuple[str, str]) -> int:
        """What the show reports: with lagging_reads, the latest write visible by now."""
        if not self.choices.lagging_reads:
            return self.groups[key]
        now = time.monotonic()
        visible = [status for at, status in self._writes.get(key, []) if at <= now]
        return visible[-1] if visible else self._first.get(key, self.groups[key])

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        c = self.choices
        self.requests += 1
        if c.dead_after and self.requests > c.dead_after:
            await asyncio.sleep(3600)
        if c.slow_every and self.requests % c.slow_every == 0:
            await asyncio.sleep(c.slow_s)
        # The start's body is signed (AK/SK), and a stop's body is judged by the request-shape faults.
        scope = {**scope, "body": await _read_body(receive)}
        status, headers, body = await self.handle(scope)
        if not c.no_request_id:
            headers.append((b"x-request-id", uuid.uuid4().hex.encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def error(self, status: int, code: str, msg: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        c = self.choices
        if c.plain_text_errors:
            return status, [(b"content-type", b"text/plain")], f"{code}: {msg}".encode()
        if c.html_errors:
            return status, [(b"content-type", b"text/html")], f"<html><body>{msg}</body></html>".encode()
        payload: dict[str, Any] = {"error_code": 64 if c.int_error_code else code, "error_msg": msg}
        if status == 401:
            payload["request_id"] = uuid.uuid4().hex
        return status, [(b"content-type", c.content_type.encode())], json.dumps(payload).encode()

    def refused_by_limit(
        self, status: int, answer: str, headers: dict[str, str]
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """What an HTTP server or proxy in front answers to a head over its limits, never the application."""
        if answer == "echo":
            line = max(headers.values(), key=len)[:100]
            page = f"Bad Request\n\nGot more than 8190 bytes when reading: {line!r}...".encode()
            return status, [(b"content-type", b"text/plain; charset=utf-8")], page
        if answer == "text":
            text = b"Invalid HTTP request received."
            return status, [(b"content-type", b"text/plain; charset=utf-8")], text
        page = f"<html><title>{status}</title><body>Request too large</body></html>".encode()
        return status, [(b"content-type", b"text/html")], page

    def refuse_auth(self, malformed: bool) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        c = self.choices
        if c.huawei:
            if c.plain_401:
                return 401, [(b"content-type", b"application/json")], b'{"error_code":"X","error_msg":"no"}'
            return self.error(
                401, "APIGW.0301", "Incorrect IAM authentication information: decrypt token fail"
            )
        if c.generic_401:
            return self.error(401, "AUTH.401", "Unauthorized")
        if malformed:
            return self.error(c.malformed_token_status, "OMS.0064", "Invalid request parameters.")
        return self.error(403, "OMS.0003", "Forbidden.")

    def authenticate(self, scope: dict[str, Any], headers: dict[str, str], raw_path: str) -> str | None:
        token = headers.get("x-auth-token")
        if token is not None and self.choices.any_token_header:
            lines = [v.decode("latin-1") for k, v in scope["headers"] if k.lower() == b"x-auth-token"]
            return next((p for p in map(self.principal, lines) if p is not None), None)
        if token is not None:
            return self.principal(token)
        auth = headers.get("authorization", "")
        if auth.startswith(aksk.ALGORITHM) and self.choices.huawei:
            fields = dict(p.strip().split("=", 1) for p in auth[len(aksk.ALGORITHM) :].split(","))
            if fields.get("Access") != AK:
                return None
            if self.choices.any_signature:
                return PROJECT
            signed = fields.get("SignedHeaders", "").split(";")
            pairs = [(n.encode(), headers.get(n, "").encode("latin-1")) for n in signed]
            canonical = aksk.canonical_request(
                scope["method"], raw_path.encode("latin-1"), b"", pairs, scope.get("body", b"")
            )
            expected = aksk.signature(SK, headers.get("x-sdk-date", "").encode(), canonical)
            return PROJECT if expected == fields.get("Signature") else None
        return None

    def principal(self, token: str) -> str | None:
        """The project a token belongs to, compared exactly - unless a look-alike fault loosens it."""
        c = self.choices
        if c.token_list_any and "," in token:
            parts = (part.strip() for part in token.split(","))
            return next((p for p in map(self.principal, parts) if p is not None), None)
        known = {self.token: PROJECT, OTHER_TOKEN: OTHER, READONLY: PROJECT}
        if c.token_strip:
            token = token.strip()
        if c.token_case_insensitive:
            return next((p for t, p in known.items() if t.lower() == token.lower()), None)
        if c.token_prefix_match and token:
            return next((p for t, p in known.items() if t.startswith(token)), None)
        if c.token_extension_match:
            return next((p for t, p in known.items() if token.startswith(t)), None)
        return known.get(token)

    def loosen_id(self, group: str) -> str:
        """The id as a faulty server reads it; a correct one keeps every character."""
        c = self.choices
        if c.strip_group_id:
            group = group.strip()
        if c.nfkc_group_id:
            group = unicodedata.normalize("NFKC", group)
        if c.strip_separators:
            group = group.strip("-_")
        if c.nul_terminated_ids:
            group = group.split("\x00", 1)[0]
        if c.trailing_dot_ignored:
            group = group.rstrip(".")
        if c.decode_twice:
            group = unquote(group)
        return group

    def pattern_match(self, key: tuple[str, str], project: str, pattern: str) -> bool:
        """A store that reads ``pattern`` as a pattern (pattern_ids) selects this key."""
        kind, (owner, group) = self.choices.pattern_ids, key
        if owner != project:
            return False
        if kind == "like":
            regex = "".join("." if c == "_" else ".*" if c == "%" else re.escape(c) for c in pattern)
            return re.fullmatch(regex, group) is not None
        if kind == "glob":
            return fnmatch.fnmatchcase(group, pattern)
        try:
            return re.fullmatch(pattern, group) is not None
        except re.error:
            return False

    async def handle(self, scope: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        c = self.choices
        raw_path = scope.get("raw_path", scope["path"].encode()).decode("latin-1").split("?")[0]
        if c.normalise_unreserved:
            raw_path = rfc3986_normal(raw_path)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if c.case_sensitive_headers:
            # A hand-rolled server that looks the header up by its exact name.
            exact = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            headers.pop("x-auth-token", None)
            if "X-Auth-Token" in exact:
                headers["x-auth-token"] = exact["X-Auth-Token"]
        if c.header_limit and sum(len(v) for v in headers.values()) > c.header_limit:
            return self.refused_by_limit(c.header_limit_status, c.header_limit_answer, headers)
        if c.request_line_limit and len(scope["method"]) + len(raw_path) + 10 > c.request_line_limit:
            status = 414 if c.request_line_limit_answer == "414" else 400
            return self.refused_by_limit(status, c.request_line_limit_answer, {"line": raw_path})
        if c.nul_refused_in_front and "%00" in raw_path:
            return 400, [(b"content-type", b"text/html")], b"<html><title>400 Bad Request</title></html>"
        if c.encoded_slash_status and "%2f" in raw_path.lower():
            code = "APIGW.0101" if c.encoded_slash_status == 404 else "OMS.0064"
            return self.error(c.encoded_slash_status, code, "An encoded slash is not allowed in the path.")
        if c.slash_decoded_before_routing:
            raw_path = raw_path.replace("%2F", "/").replace("%2f", "/")
        parts = raw_path.split("/")
        if c.dot_segments_301 and any(unquote(part) in (".", "..") for part in parts):
            cleaned = posixpath.normpath(unquote(raw_path))
            return (
                301,
                [(b"location", cleaned.encode()), (b"content-type", b"text/html")],
                b"Moved Permanently",
            )
        if c.drop_path_params:
            parts = [part.split(";", 1)[0] for part in parts]
        method = scope["method"]
        is_stop = (
            len(parts) == 6
            and parts[0] == ""
            and parts[1] == "v2"
            and parts[3] == "taskgroups"
            and parts[5] == "stop"
        )
        is_show = c.huawei and len(parts) == 5 and parts[1] == "v2" and parts[3] == "taskgroups"
        # huawei: the start operation (resume a paused group) routes like a stop and is handled at the end.
        is_start = c.huawei and len(parts) == 6 and parts[1] == "v2" and parts[3] == "taskgroups"
        is_start = is_start and parts[5] == "start"
        is_stop = is_stop or is_start
        if c.route_without_stop:
            # PUT /v2/{project_id}/taskgroups/{group_id} pauses; /stop is an unknown route.
            is_stop, is_show = len(parts) == 5 and parts[1] == "v2" and parts[3] == "taskgroups", False
            parts = [*parts, "stop"]
        if not (is_stop or is_show):
            return self.error(404, "APIGW.0101", "The API does not exist or has not been published.")
        project, group = unquote(parts[2]), self.loosen_id(unquote(parts[4]))
        if c.case_insensitive_project:
            project = next((p for p in (PROJECT, OTHER) if p.lower() == project.lower()), project)
        if c.crash_on_encoded_slash and "%2F" in parts[4].upper():
            return 500, [(b"content-type", b"text/plain")], b"Internal Server Error"
        if c.crash_on_long_project and len(project) > 1024:
            return 500, [(b"content-type", b"text/plain")], b"Traceback (most recent call last): ..."
        if c.empty_segment_404 and (not project or not group):
            return self.error(404, "APIGW.0101", "Not found")
        if c.hang_on_space and " " in group:
            await asyncio.sleep(3600)
        expected_method = "GET" if is_show else "PUT"
        if method != expected_method and not (c.post_also_stops and method == "POST" and is_stop):
            if c.delete_on_delete and method == "DELETE" and (project, group) in self.groups:
                self.write((project, group), 9)
            status, hdrs, body = self.error(c.other_method_status, "OMS.0405", "Method not allowed.")
            if status == 405 and c.allow_lines:
                hdrs += [(b"allow", b"OPTIONS"), (b"allow", expected_method.lower().encode())]
            elif status == 405 and not c.no_allow_header:
                hdrs.append((b"allow", expected_method.encode()))
            return status, hdrs, body
        if c.require_content_length and method == "PUT" and "content-length" not in headers:
            return self.error(411, "OMS.0411", "Length Required.")
        if c.refuse_any_body and is_stop and not is_start and scope.get("body"):
            return self.error(400, "OMS.0064", "Invalid request parameters: no body is expected.")
        if c.refuse_empty_json and "json" in headers.get("content-type", "") and not scope.get("body"):
            return self.error(400, "OMS.0064", "Invalid request parameters: the body is not JSON.")
        token = headers.get("x-auth-token")
        lines = [v for k, v in scope["headers"] if k.lower() == b"x-auth-token"]
        if len(lines) > 1 and not (c.token_last_line or c.token_first_line or c.any_token_header):
            return self.refuse_auth(malformed=True)  # one header value is the credential, not several
        if lines and c.token_first_line:
            headers["x-auth-token"] = token = lines[0].decode("latin-1")
        signed = headers.get("authorization", "").startswith(aksk.ALGORITHM)
        missing = (token is None or not token.strip()) and not signed
        if missing and c.missing_token_allowed:
            token, missing = self.token, False
            headers["x-auth-token"] = self.token
        bad_length = not (1 <= len(project) <= 1024 and 1 <= len(group) <= 1024) or len(token or "") > 16384
        if c.token_length_limit is not None and len(token or "") > c.token_length_limit:
            return self.error(400, "OMS.0064", "Invalid request parameters: the token is too long.")
        bad_length = bad_length or (c.group_id_limit is not None and len(group) > c.group_id_limit)
        pausable_here = self.groups.get((project, group)) in (1, 2)
        if c.ignore_token_on_pausable and pausable_here:
            caller: str | None = project
        else:
            caller = self.authenticate(scope, headers, raw_path)
        connection = scope.get("connection")
        if c.auth_per_connection and connection is not None:
            if caller is not None and not missing:
                self._connection_principal.setdefault(connection, caller)
            elif connection in self._connection_principal:
                caller, missing, token = self._connection_principal[connection], False, None
        auth_problem = None
        if missing or len(token or "") > 16384:
            auth_problem = self.refuse_auth(malformed=True)
        elif caller is None:
            msg = f"token {token} is invalid" if c.echo_token else "invalid token"
            auth_problem = self.refuse_auth(malformed=False)
            if c.echo_token:
                auth_problem = self.error(auth_problem[0], "OMS.0003", msg)
        if c.auth_first and auth_problem:
            return auth_problem
        if bad_length:
            return self.error(400, "OMS.0064", "Invalid request parameters.")
        if auth_problem:
            return auth_problem
        if c.lock_after_first_stop and is_stop and not is_start:
            if self.locked:
                await asyncio.sleep(3600)  # waits for a lock its holder never releases
            self.locked = True
        if caller != project and not c.no_project_check:
            if c.scope_401 and c.huawei:
                return self.error(
                    401, "APIGW.0301", "Incorrect IAM authentication information: project mismatch"
                )
            return self.error(403, "OMS.0003", "Forbidden.")
        if headers.get("x-auth-token") == READONLY and is_stop and not c.ignore_permissions:
            if c.authorise_after_write and self.groups.get((project, group)) in (1, 2):
                self.pause((project, group))
            return self.error(403, "OMS.0003", "Forbidden: oms:taskgroup:update is required.")
        key = (project, group)
        if key not in self.groups and c.global_group_lookup:
            key = next((k for k in self.groups if k[1] == group), key)
        if key not in self.groups and c.prefix_match and group:
            key = next(
                (
                    k
                    for k in self.groups
                    if k[0] == project and (k[1].startswith(group) or group.startswith(k[1]))
                ),
                key,
            )
        if key not in self.groups and c.pattern_ids:
            key = next((k for k in self.groups if self.pattern_match(k, project, group)), key)
        if key not in self.groups and c.case_insensitive_group_id:
            key = next((k for k in self.groups if k[0] == project and k[1].lower() == group.lower()), key)
        if key not in self.groups and c.hang_on_unknown_group:
            await asyncio.sleep(3600)  # a scan for a row that is not there, without a deadline
        if key not in self.groups:
            if c.unknown_group_200:
                return 200, [], b""
            if c.unknown_group_404:
                return self.error(404, "OMS.1009", "No resources found.")
            return self.error(c.unknown_group_status, "OMS.1009", "No resources found.")
        self.settle()
        if is_show:
            status = self.shown_status(key)
            if c.show_wrong_status and status in (3, 7):
                status = 2
            shown = (
                {"id": group, "state": status} if c.show_bad_shape else {"group_id": group, "status": status}
            )
            body = json.dumps(shown).encode()
            if self.groups[key] == 7 and not c.lagging_reads:
                self.write(key, 3)  # settles once it has been seen pausing (the stateful check waits it out)
            return 200, [(b"content-type", b"application/json")], body
        if is_start:
            if self.groups[key] != 3:
                return self.error(400, "OMS.0063", "The task group is not paused.")
            if not c.start_leaves_paused:
                self.write(key, self.resumes_to.pop(key, 2))
            return 200, [], b""
        window = c.race_window_s or (0.01 if c.racy else 0.0)
        if c.snapshot_store:
            async with self._row_locks.setdefault(key, asyncio.Lock()):
                table, read_at = dict(self.groups), time.monotonic()  # read whole...
                if table[key] not in (1, 2):
                    return self.error(400, "OMS.0066", "The task group is not running.")
                await asyncio.sleep(c.snapshot_window_s)  # ...the work between the read and the write...
                self.resumes_to[key] = table[key]
                table[key] = 3 if c.settle_to_paused else 7
                self.groups.clear()
                self.groups.update(table)  # ...written back whole: a write to another group meanwhile is lost
                self.write_backs.append((key, read_at, time.monotonic()))
        elif window:
            current, read_at = self.groups[key], time.monotonic()
            await asyncio.sleep(window)  # a read, then a write: the classic lost update
            if current not in (1, 2) and not c.pause_any_status:
                return self.error(400, "OMS.0066", "The task group is not running.")
            self.pause(key)
            self.write_backs.append((key, read_at, time.monotonic()))  # two of one group: a lost update
        elif c.never_pauses or (c.refuse_creating and self.groups[key] == 1):
            return self.error(400, "OMS.0066", "The task group is not running, no need to stop it.")
        elif self.groups[key] in (1, 2) or c.pause_any_status:
            self.resumes_to[key] = self.groups[key] if self.groups[key] in (1, 2) else 2
            if not c.stop_is_noop:
                self.pause(key)
        elif c.error_200_for_not_pausable:
            return (
                200,
                [(b"content-type", b"application/json")],
                b'{"error_code":"OMS.0066","error_msg":"not running"}',
            )
        else:
            if c.validate_after_write and not is_start:
                self.write(key, 3)
            return self.error(400, "OMS.0066", "The task group is not running, no need to stop it.")
        hdrs = [(b"content-type", b"application/json")] if c.success_body else []
        return 200, hdrs, c.success_body


def rfc3986_normal(path: str) -> str:
    """Percent-encoded unreserved characters decoded, other escapes upper-cased (RFC 3986 6.2.2)."""

    def fix(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char.isascii() and (char.isalnum() or char in "-._~") else match.group(0).upper()

    return re.sub(r"%([0-9A-Fa-f]{2})", fix, path)


async def _read_body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def fixture_groups() -> dict[tuple[str, str], int]:
    groups: dict[tuple[str, str], int] = {}
    for name, code in STATUSES.items():
        count = 8 if name in ("creating", "monitoring") else 1
        for i in range(count):
            groups[(PROJECT, f"{name}-{i}")] = code
    groups[(OTHER, "other-monitoring-0")] = 2
    groups[(OTHER, "other-creating-0")] = 1
    return groups


def target_data(
    base_url: str, *, huawei: bool = False, aksk_only: bool = False, token: str = TOKEN
) -> dict[str, Any]:
    groups: dict[str, list[str]] = {}
    for (project, group), code in fixture_groups().items():
        if project == PROJECT:
            name = next(n for n, c in STATUSES.items() if c == code)
            groups.setdefault(name, []).append(group)
    data: dict[str, Any] = {
        "base_url": base_url,
        "project_id": PROJECT,
        "profile": "huawei" if huawei else "strict",
        "groups": groups,
        "other_project": {
            "project_id": OTHER,
            "token": OTHER_TOKEN,
            "groups": {"monitoring": ["other-monitoring-0"], "creating": ["other-creating-0"]},
        },
    }
    if aksk_only:
        data["aksk"] = {"ak": AK, "sk": SK}
    else:
        data["token"] = token
        data["readonly_token"] = READONLY
    if huawei and not aksk_only:
        data["aksk"] = {"ak": AK, "sk": SK}
    if huawei:
        data["restore"] = dict(RESTORE)  # the start operation's body (checks/stateful.py)
    return data


def overlapped(write_backs: list[tuple[tuple[str, str], float, float]]) -> bool:
    """Whether two groups' write-backs overlapped in the store - each read before the other's write - which
    is when a whole-table write-back loses one of them."""
    return any(
        a[0] != b[0] and a[1] < b[2] and b[1] < a[2]
        for i, a in enumerate(write_backs)
        for b in write_backs[i + 1 :]
    )


def variant(**changes: Any) -> Choices:
    return replace(Choices(), **changes)
