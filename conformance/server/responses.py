"""Every answer the reference server can give, in one table, and the envelope they share.

Clients and the conformance checks rely on these codes, so they are documented here and nowhere else:

======  ============  ==========================================================================
status  error_code    when
======  ============  ==========================================================================
200     (no body)     stop: the group was creating/monitoring and is now pausing or paused
200     (JSON)        show (huawei profile): ``{"group_id": ..., "status": N}``
200     (no body)     start (huawei profile): the group was paused and runs again (1 or 2)
400     OMS.0064      a bad parameter: project_id/group_id empty or over 1,024 characters or not
                      UTF-8; X-Auth-Token over 16,384 characters; body over 1 MiB; strict profile:
                      a missing, empty, whitespace-only or malformed credential; a start body that
                      is not a JSON object, lacks ``dst_ak``/``dst_sk`` or breaks a member's limit
400     OMS.1009      the group does not exist in the caller's own project
400     OMS.0066      stop: the group is not creating (1) or monitoring (2)
400     OMS.0063      start (huawei): the group is not paused (3); a pausing group (7) has not
                      settled yet
400     REF.0001      an internal error of the reference server (logged with a traceback)
401     APIGW.0301    huawei profile: missing, malformed or invalid credential (gateway envelope
                      with ``request_id``)
403     OMS.0003      strict: an invalid token or signature; both profiles: a valid credential of
                      another project, or one without ``oms:taskgroup:update`` (stop, start) /
                      ``oms:taskgroup:get`` (show)
404     APIGW.0101    no such route (the show route exists only in the huawei profile)
405     REF.0405      another method on a known route; ``Allow`` names the right one
408     REF.0408      from the serving layer, not the app: a request head not complete within 10 s,
                      or a head or body with no byte for 3 s (``Connection: close``; see
                      :mod:`conformance.server.connections`)
418     REF.0418      only when forced with ``Prefer: code=418`` (huawei)
429     APIGW.0308    injected fault or ``Prefer: code=429``; ``Retry-After: 1``
431     REF.0431      from the serving layer: a request head over 64 KiB
500     APIGW.0601    injected fault or ``Prefer: code=500`` (huawei) - never from a bug
503     REF.0503      injected fault
======  ============  ==========================================================================

Every response carries a fresh ``X-Request-Id`` (32 hex digits); errors are ``application/json`` bodies
``{"error_code", "error_msg"}``. Codes prefixed ``REF.`` are this server's own (the platform's are unknown).
No message ever contains a request value: ids and credentials are never echoed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from conformance.spec import Profile, load_contract


@dataclass(frozen=True, slots=True)
class Answer:
    """A response before it is sent (``X-Request-Id`` and ``Content-Length`` are added when sending)."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[bytes, bytes], ...] = ()

    def with_body(self, body: bytes) -> Answer:
        return Answer(self.status, body, self.headers)


_JSON = (b"content-type", b"application/json")
# The huawei profile's gateway 401 (the server answers it in that profile only).
GATEWAY_401_CODE = load_contract(Profile.HUAWEI).error_code(401)
OK_EMPTY = Answer(200)


def error(status: int, code: str, message: str, *extra: tuple[bytes, bytes]) -> Answer:
    body = json.dumps({"error_code": code, "error_msg": message}).encode()
    return Answer(status, body, (_JSON, *extra))


def gateway_unauthorized(reason: str, request_id: str) -> Answer:
    """The API gateway's own 401 envelope, which also carries the request id."""
    body = {
        "error_code": GATEWAY_401_CODE,
        "error_msg": f"Incorrect IAM authentication information: {reason}",
        "request_id": request_id,
    }
    return Answer(401, json.dumps(body).encode(), (_JSON,))


def show_body(group_id: str, status: int) -> Answer:
    return Answer(200, json.dumps({"group_id": group_id, "status": status}).encode(), (_JSON,))


def bad_parameter(detail: str) -> Answer:
    return error(400, "OMS.0064", f"Invalid request parameters: {detail}.")


UNKNOWN_GROUP = error(400, "OMS.1009", "No resources found: the task group does not exist in this project.")
NOT_PAUSABLE = error(
    400, "OMS.0066", "The task group is not in the creating or monitoring state, so it cannot be paused."
)
# The platform's code for starting a group that is not paused is not known. OMS.0063 ("the task group is
# in progress", what the platform answers when a running group is deleted) is its nearest documented
# state-conflict code: OMS.0066 says "not running, no need to stop", the opposite of this case, and would
# tell a client that reads codes the wrong story.
NOT_STARTABLE = error(400, "OMS.0063", "The task group is not paused, so it cannot be started.")
INTERNAL = error(
    400, "REF.0001", "Internal error of the reference server (logged); the request may not have been applied."
)
NOT_FOUND = error(404, "APIGW.0101", "The API does not exist or has not been published in the environment.")


def method_not_allowed(allow: bytes) -> Answer:
    return error(405, "REF.0405", "The API request method does not exist for this path.", (b"allow", allow))


def forbidden(detail: str) -> Answer:
    return error(403, "OMS.0003", f"Forbidden: {detail}.")


# Forced answers (injected faults and `Prefer: code=N`), by status. 401 is built per request (request_id).
_FORCED_MESSAGES: dict[int, tuple[str, str]] = {
    400: ("OMS.0064", "Invalid request parameters (forced)."),
    403: ("OMS.0003", "Forbidden (forced)."),
    404: ("APIGW.0101", "The API does not exist or has not been published in the environment (forced)."),
    418: ("REF.0418", "The caller's IP address is blacklisted (forced)."),
    429: ("APIGW.0308", "The throttling threshold has been reached (forced)."),
    500: ("APIGW.0601", "Internal server error (forced)."),
    503: ("REF.0503", "Service temporarily unavailable (forced)."),
}


def forced(status: int, request_id: str) -> Answer:
    if status == 401:
        return gateway_unauthorized("forced", request_id)
    code, message = _FORCED_MESSAGES[status]
    extra = ((b"retry-after", b"1"),) if status == 429 else ()
    return error(status, code, message, *extra)
