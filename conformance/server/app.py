"""The reference server's ASGI application: a raw ASGI core, no framework.

Why raw ASGI rather than Starlette: routing must work on ``scope["raw_path"]`` split on ``/`` and decoded
per segment (an id holding ``%2F`` is one segment, ``/taskgroups//stop`` is the stop route with an empty
id), which a path-template router cannot express, and the stop path is the benchmark's hot path: the whole
request is a few dict lookups and one SQLite UPDATE (see tests/benchmarks/bench_server.py for numbers).

Routes: ``PUT .../{group_id}/stop`` (both profiles); huawei profile only: ``GET .../{group_id}`` (show)
and ``PUT .../{group_id}/start`` (resume a paused group; its JSON body holds secrets and is never echoed).

Order of checks for a request, and the answers (codes in :mod:`conformance.server.responses`):
route (404) -> method (405) -> ``Prefer`` if enabled -> lengths and encodings of project_id, group_id,
X-Auth-Token (400) -> credential (strict 400/403, huawei 401) -> project and permission (403) -> the start
body (400 OMS.0064) -> the operation (200, 400 OMS.1009, 400 OMS.0066; a start 400 OMS.0063). Any
exception is logged and answered 400 REF.0001: a test
server must never look like the 5xx it is used to detect, but its own bugs must not go unnoticed either.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import quote, unquote_to_bytes

from conformance.server import responses as r
from conformance.server.access_log import AccessLog
from conformance.server.auth import MAX_TOKEN_CHARS, Authenticator, AuthResult, Refusal
from conformance.server.background import answer_lifespan
from conformance.server.commits import GroupCommit
from conformance.server.faults import Dice, Faults, close_connection, malformed, prefer_code
from conformance.server.fixtures import PERMISSION_GET, PERMISSION_UPDATE
from conformance.server.start_body import start_body_problem
from conformance.server.store import StartResult, StopResult, Store
from conformance.spec import PROFILES, Profile, load_contract
from conformance.spec.documents import COLLECTION_SEGMENT, START_SEGMENT, STOP_SEGMENT, VERSION_SEGMENT

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_STRICT = load_contract(Profile.STRICT)
# Each id's own length limits, the page's (the same in both profiles).
PROJECT_ID_CHARS = (_STRICT.min_length("project_id"), _STRICT.max_length("project_id"))
GROUP_ID_CHARS = (_STRICT.min_length("group_id"), _STRICT.max_length("group_id"))

MAX_BODY_BYTES = 1 << 20
_log = logging.getLogger("conformance.server")
_random_bits = random.Random().getrandbits
# What `Prefer: code=N` may ask for: the error statuses each profile's contract documents.
_PREFERABLE = {
    profile: frozenset(code for code in load_contract(profile).documented_statuses() if code >= 400)
    for profile in Profile
}
_NOT_PUT, _NOT_GET = r.method_not_allowed(b"PUT"), r.method_not_allowed(b"GET")
_STOP, _START, _SHOW = "stop", "start", "show"
# The route's literal segments, from the contract's paths: /v2/{project_id}/taskgroups/{group_id}/stop.
_V2, _TASKGROUPS = VERSION_SEGMENT.encode(), COLLECTION_SEGMENT.encode()
_STOP_TAIL, _START_TAIL = STOP_SEGMENT.encode(), START_SEGMENT.encode()


class ReferenceApp:
    """The ASGI application. It owns its store; :meth:`close` closes it."""

    def __init__(
        self,
        store: Store,
        profile: Profile | str = Profile.STRICT,
        faults: Faults | None = None,
        *,
        group_commit: bool = True,
        access_log: bool = False,
    ) -> None:
        """``group_commit``: the stops of one event-loop turn in one transaction (see
        :mod:`conformance.server.commits`);
        ``access_log``: one redacted line per request (:mod:`conformance.server.access_log`)."""
        if profile not in PROFILES:
            raise ValueError(f"profile: expected one of {PROFILES}, got {profile!r}")
        self.store = store
        self.profile = Profile(profile)
        self._huawei = self.profile is Profile.HUAWEI
        self._auth = Authenticator(*store.credentials())
        self._dice = Dice(faults) if faults is not None and faults.active else None
        self._faults = faults if faults is not None else Faults()  # what reset() goes back to
        self._commits = GroupCommit(store) if group_commit else None
        self._access = None
        if access_log:
            tokens, keys = store.credentials()
            secrets = [*tokens, *(k.sk for k in keys.values())]
            self._access = AccessLog([*secrets, *(k.security_token or "" for k in keys.values())])
        self.fixtures_loaded = False  # set by create_app: False when an existing db was reused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if self._access is None:  # the hot path: one coroutine fewer than with the access log
                await self._respond(scope, receive, send)
            else:
                await self._logged(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        # Anything else (websocket) is left unanswered: the server refuses the handshake itself.

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        commits = self._commits
        if commits is not None:
            commits.bind(asyncio.get_running_loop())  # for the life of the server (commits.py says why)
        try:
            await answer_lifespan(receive, send)
        finally:
            if commits is not None:
                commits.bind(None)

    async def _logged(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self._access is not None
        started = time.perf_counter()
        status, request_id = await self._respond(scope, receive, send)
        self._access.log(scope, status, request_id, started)

    async def _respond(self, scope: Scope, receive: Receive, send: Send) -> tuple[int | str, str]:
        """Answer one request; returns the status sent (or what happened to the connection instead) and
        the request id."""
        # Unique, not secret: a PRNG is enough, and cheaper than uuid4 or os.urandom on the hot path.
        request_id = f"{_random_bits(128):032x}"
        dice = self._dice
        try:
            if dice is not None:
                await dice.delay()
                if dice.roll(dice.faults.drop):
                    await close_connection(send)
                    return "dropped", request_id
                status = dice.forced_status()
                if status:
                    answer = r.forced(status, request_id)
                else:
                    answer = await self._answer(scope, receive, request_id)
            else:
                answer = await self._answer(scope, receive, request_id)
        except Exception:
            # No request data in the message: it could hold a credential.
            _log.exception("internal error answering a %s request (id %s)", scope.get("method"), request_id)
            answer = r.INTERNAL
        headers = [(b"content-length", b"%d" % len(answer.body)), (b"x-request-id", request_id.encode())]
        headers.extend(answer.headers)
        if dice is not None and dice.roll(dice.faults.truncate):
            whole = answer.body or b"{}"  # an empty body cannot be cut: announce `{}`, send `{`
            headers[0] = (b"content-length", b"%d" % len(whole))
            await send({"type": "http.response.start", "status": answer.status, "headers": headers})
            half = whole[: len(whole) // 2]
            await send({"type": "http.response.body", "body": half, "more_body": True})
            await close_connection(send)
            return f"{answer.status}-truncated", request_id
        if dice is not None and dice.roll(dice.faults.malformed):
            answer = answer.with_body(malformed(answer.body))
            headers[0] = (b"content-length", b"%d" % len(answer.body))
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})
        return answer.status, request_id

    async def _answer(self, scope: Scope, receive: Receive, request_id: str) -> r.Answer:
        raw = (scope.get("raw_path") or quote(scope.get("path", "")).encode()).partition(b"?")[0]
        segments = raw.split(b"/")
        count = len(segments)
        if count < 5 or segments[0] or not _is(segments[1], _V2) or not _is(segments[3], _TASKGROUPS):
            return r.NOT_FOUND
        method = scope.get("method", "")
        if count == 6 and (_is(segments[5], _STOP_TAIL) or (self._huawei and _is(segments[5], _START_TAIL))):
            if method != "PUT":
                return _NOT_PUT
            operation, permission = _STOP if _is(segments[5], _STOP_TAIL) else _START, PERMISSION_UPDATE
        elif count == 5 and self._huawei:
            if method != "GET":
                return _NOT_GET
            operation, permission = _SHOW, PERMISSION_GET
        else:
            return r.NOT_FOUND
        if self._dice is not None and self._dice.faults.prefer:
            preferred = self._preferred(scope, request_id)
            if preferred is not None:
                return preferred

        project_id, group_id = _segment(segments[2]), _segment(segments[4])
        if project_id is None or not PROJECT_ID_CHARS[0] <= len(project_id) <= PROJECT_ID_CHARS[1]:
            return r.bad_parameter(f"project_id must be {_span(PROJECT_ID_CHARS)} characters of UTF-8 text")
        if group_id is None or not GROUP_ID_CHARS[0] <= len(group_id) <= GROUP_ID_CHARS[1]:
            return r.bad_parameter(f"group_id must be {_span(GROUP_ID_CHARS)} characters of UTF-8 text")
        body = None
        if operation == _START:  # read first: the signature covers it, and the start needs it anyway
            body = await _read_body(receive)
            if body is None:
                return r.bad_parameter("the request body must be at most 1 MiB")
        result = await self._authenticate(scope, receive, raw, body)
        if isinstance(result, r.Answer):
            return result
        if result.principal is None:
            return self._refused(result, request_id)
        claimed = result.project_header  # X-Project-Id of a signed request must name the path's project
        if result.principal.project_id != project_id or (
            claimed is not None and claimed.decode("utf-8", "replace") != project_id
        ):
            return r.forbidden("the credential is not valid for this project")
        if permission not in result.principal.permissions:
            return r.forbidden(f"the credential lacks the permission {permission}")

        if operation == _SHOW:
            status = self.store.status(project_id, group_id)
            return r.UNKNOWN_GROUP if status is None else r.show_body(group_id, status)
        if operation == _START:
            return self._start(project_id, group_id, body or b"")
        commits = self._commits
        if commits is not None:
            outcome = await commits.stop(project_id, group_id)
        else:
            outcome = self.store.stop(project_id, group_id)
        if outcome is StopResult.STOPPED:
            return r.OK_EMPTY
        return r.UNKNOWN_GROUP if outcome is StopResult.UNKNOWN else r.NOT_PAUSABLE

    def _start(self, project_id: str, group_id: str, body: bytes) -> r.Answer:
        problem = start_body_problem(body)  # never quotes the body: it holds the migration's keys
        if problem is not None:
            return r.bad_parameter(problem)
        outcome = self.store.start(project_id, group_id)
        if outcome is StartResult.STARTED:
            return r.OK_EMPTY
        return r.UNKNOWN_GROUP if outcome is StartResult.UNKNOWN else r.NOT_STARTABLE

    async def _authenticate(
        self, scope: Scope, receive: Receive, raw_path: bytes, body: bytes | None = None
    ) -> AuthResult | r.Answer:
        """The token decides when sent, else an AK/SK signature; an over-long token is a bad parameter.
        ``body`` is the request body if already read (a start), else it is read here only if signed."""
        token: bytes | None = None
        tokens = 0
        signed = False
        for name, value in scope.get("headers", ()):
            name = name.lower()
            if name == b"x-auth-token":
                token, tokens = value, tokens + 1
            elif name == b"authorization":
                signed = True
        if token is not None and len(token) > MAX_TOKEN_CHARS:
            return r.bad_parameter(f"X-Auth-Token must be 1 to {MAX_TOKEN_CHARS:,} characters")
        if tokens > 1:
            return AuthResult(refusal=Refusal.MALFORMED, reason="more than one x-auth-token")
        if token is not None:
            return self._auth.check_token(token)
        if not signed:
            return AuthResult(refusal=Refusal.MISSING, reason="x-auth-token not found")
        if body is None:
            body = await _read_body(receive)
            if body is None:
                return r.bad_parameter("the request body must be at most 1 MiB")
        query = scope.get("query_string", b"")
        return self._auth.check_signature(scope.get("method", ""), raw_path, query, scope["headers"], body)

    def _preferred(self, scope: Scope, request_id: str) -> r.Answer | None:
        """The answer a `Prefer: code=N` header asks for (fault `prefer`), if any."""
        for name, value in scope.get("headers", ()):
            code = prefer_code(value) if name.lower() == b"prefer" else None
            if code is not None:
                allowed = _PREFERABLE[self.profile]
                if code in allowed:
                    return r.forced(code, request_id)
                return r.bad_parameter(f"Prefer: code= must name one of {sorted(allowed)}")
        return None

    def _refused(self, result: AuthResult, request_id: str) -> r.Answer:
        if self._huawei:
            return r.gateway_unauthorized(result.reason, request_id)
        if result.refusal is Refusal.INVALID:
            return r.forbidden("the credential is not valid")
        return r.bad_parameter("the credential (X-Auth-Token or AK/SK signature) is missing or malformed")

    def reset(self, faults: Faults | None = None) -> None:
        """Back to the state this app started in, without a restart (the pytest plugin's per-test reset):
        every task group at its fixture status (one transaction: :meth:`Store.reset`), the fault dice rolled
        afresh from their seed, the group-commit count at 0. ``faults`` replaces the faults the app was made
        with until the next reset; None restores those.

        Safe while serving: a request in flight reads ``_dice`` more than once, so once on it is replaced by
        other dice (inactive ones if need be), never by None; such a request answers with either set.
        """
        self.store.reset()
        plan = self._faults if faults is None else faults
        self._dice = Dice(plan) if plan.active or self._dice is not None else None
        if self._commits is not None:
            self._commits.batches = 0

    def close(self) -> None:
        self.store.close()


def _is(segment: bytes, literal: bytes) -> bool:
    return segment == literal or (b"%" in segment and _percent_decoded(segment) == literal)


def _segment(segment: bytes) -> str | None:
    """A path segment percent-decoded, or None if it is not UTF-8."""
    try:
        return (_percent_decoded(segment) if b"%" in segment else segment).decode("utf-8")
    except UnicodeDecodeError:
        return None


def _percent_decoded(segment: bytes) -> bytes:
    """``urllib.parse.unquote_to_bytes(segment)`` (each valid %XX its byte, anything else as it is), in C:
    unquote_to_bytes loops in Python per escape, and an id of 1,024 4-byte characters is 4,096 escapes - the
    fuzz check sends hundreds, and decoding them was a fifth of the reference server's CPU in a deep fuzz.
    With every backslash doubled, the only escapes left for the codec are the %XX made \\xXX; an invalid
    one (``%zz``, a ``%`` at the end) is an error of the codec, and goes the slow way."""
    try:
        return (
            segment.replace(b"\\", b"\\\\").replace(b"%", b"\\x").decode("unicode_escape").encode("latin-1")
        )
    except UnicodeDecodeError:
        return unquote_to_bytes(segment)


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)  # the client went away; what arrived is what was signed, if anything
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _span(limits: tuple[int, int]) -> str:
    """A length limit as the page writes it: "1 to 1,024"."""
    return f"{limits[0]:,} to {limits[1]:,}"
