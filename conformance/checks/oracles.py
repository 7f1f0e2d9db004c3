"""Response checks: judged on every answer the run receives, whichever scenario sent the request.

They encode what the contract says of *any* answer of the stop operation: the documented statuses, the
error envelope, no 5xx, no echoed credential, X-Request-Id (huawei), the gateway's 401 body (huawei), and
an answer within the request timeout.
"""

from __future__ import annotations

import functools

from conformance.checks.machinery.base import Finding, Kind, OracleContext, Sent, Title
from conformance.checks.machinery.layers import APPLICATION, HEAD_LIMIT_SETTINGS, identify
from conformance.checks.machinery.registry import response_check
from conformance.redact import SECRET_RUN, SecretRuns
from conformance.spec.documents import SHOW_PATH, Profile
from conformance.transport.http import NOT_JSON, Outcome

# A gateway's throttling that outlasted the transport's waits: no answer about the request, so no finding
# about it (the report's pace section lists every 429).
THROTTLED = 429
# "Try again later" by HTTP's own definition (RFC 9110 section 15.6.3-15.6.5): a gateway or an overloaded
# server, not an answer about the request. Repeatable requests are asked again until one says something;
# a request that could have paused a listed group is never repeated, so its 502/503/504 stays unjudged.
TEMPORARY = frozenset({502, 503, 504})


def temporary_and_unrepeatable(sent: Sent) -> bool:
    """A 502/503/504 to a request that was sent once and never again: it decides nothing
    (docs/conformance.md: Verdicts a nightly job can trust), so the runner hands it to no response check
    (runner/answers.py) and the check that sent it records its requirement undecided
    (machinery/recorder.py)."""
    return sent.result.status in TEMPORARY and not sent.repeatable


# Answers produced in front of the application rather than by it (494 is nginx's own code for a header over
# its buffers; it answers 400 on the wire unless told otherwise).
INFRASTRUCTURE = {
    413: "Content Too Large",
    414: "URI Too Long",
    431: "Request Header Fields Too Large",
    494: "Request Header Too Large",
}
# Header-size limits in front of applications: nginx 8 KiB a line by default (large_client_header_buffers
# 4 8k), Apache httpd 8,190 bytes, others 4-16 KiB for the head. A token longer than this is over some.
HEADER_LIMIT_CHARS = 4096
HEADER_LIMIT_STATUSES = frozenset({400, 431, 494})


def is_json_content_type(value: str) -> bool:
    media = value.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def refused_as_raw_data(sent: Sent) -> bool:
    """A 400 that is not JSON to a path holding an encoded NUL: the HTTP layer's refusal, not the operation's.

    RFC 3986 section 7.3: "%00" "should be rejected if the application is not expecting to receive raw data
    within a component", and servers and gateways do it themselves - nginx always, whatever its
    configuration, with an HTML 400 - so no application behind them can answer it. Its status is judged as
    any other (400 is the right one); its body is not the application's to shape. An application that
    answers JSON is judged on that JSON as always, and its envelope on every other 400 of the run.
    """
    return (
        sent.result.status == 400
        and "%00" in sent.path
        and not is_json_content_type(sent.result.content_type)
    )


def describe_infrastructure(sent: Sent) -> str:
    """What the answer says of the layer that refused the request, for a finding's Received line; or "".
    Which layer it was, and its setting, is the finding's "Answered by" line (checks/machinery/layers.py):
    nothing here names a proxy the answer does not show."""
    status = sent.result.status
    if status in INFRASTRUCTURE:
        said = (
            f" ({status} {INFRASTRUCTURE[status]}: a limit of the HTTP layer, not the application's answer)"
        )
    elif "html" in sent.result.content_type:
        said = (
            " (an HTML page: an error page of a server, framework or proxy, not the application's envelope)"
        )
    else:
        said = ""
    return said + _header_limit(sent) + _path_rewrite(sent)


def _header_limit(sent: Sent) -> str:
    # The signature of a header-size limit: a long token refused with 400/431/494 without the application's
    # error envelope (nginx: "400 Request Header Or Cookie Too Large", an HTML page; Node: a bare 431).
    chars = len(sent.sent_token or "")
    if chars <= HEADER_LIMIT_CHARS or sent.result.status not in HEADER_LIMIT_STATUSES:
        return ""
    if error_envelope_problem(sent) is None:
        return ""
    said = (
        f" - likely cause: a header-size limit before the application (the X-Auth-Token header was {chars:,} "
    )
    layer = identify(sent.result.status, sent.result.headers, sent.result.body)
    if layer.known and layer.kind != APPLICATION.kind:
        return said + f"characters; {layer.name}'s setting is on the Answered by line)"
    # Nothing in the answer names the layer (Node's bare 431): the settings of the usual suspects.
    return said + f"characters; the answer names no layer: the usual settings are {HEAD_LIMIT_SETTINGS})"


def _path_rewrite(sent: Sent) -> str:
    # A 404 to a path that a normalising layer changes: the application may have been asked another route.
    if sent.result.status != 404:
        return ""
    raw = sent.path.split("?", 1)[0]
    segments = raw.split("/")[1:]
    if "" in segments[:-1]:
        what = "an empty segment"
    elif "%2f" in raw.lower():
        what = "an encoded slash (%2F)"
    elif any(s.lower().replace("%2e", ".") in (".", "..") for s in segments):
        what = "a dot segment"
    else:
        return ""
    return (
        f" - likely cause: the path has {what}, and a layer that normalises paths (merges slashes, decodes "
        "%2F, resolves dot segments - nginx behind `proxy_pass` with a URI part, routing on the decoded path "
        "in Starlette, Werkzeug, Go's ServeMux) asks the application for another path"
    )


@response_check("documented-status", requirements=["STOP-DOCUMENTED-STATUS"])
def documented_status(ctx: OracleContext, sent: Sent) -> Finding | None:
    """The stop operation answers only statuses the profile documents."""
    status = sent.result.status
    if sent.kind not in (Kind.STOP, Kind.SHOW) or status in (None, THROTTLED):
        return None
    documented = ctx.contract.documented_statuses() if sent.kind is Kind.STOP else _show_statuses(ctx)
    if status in documented:
        return None
    return Finding(
        Title("Undocumented status {status}", status=status),
        f"{status}{describe_infrastructure(sent)}",
        ", ".join(map(str, sorted(documented))),
        expected_as=f"Documented ({ctx.contract.profile})",
    )


def _show_statuses(ctx: OracleContext) -> frozenset[int]:
    return frozenset(int(c) for c in ctx.contract.document["paths"][SHOW_PATH]["get"]["responses"])


def error_envelope_problem(sent: Sent) -> str | None:
    """Why an error answer's body is not the contract's envelope, or None when it is."""
    result = sent.result
    if not is_json_content_type(result.content_type):
        return f"content type {result.content_type or '(none)'!r} is not JSON"
    body = result.json
    if body is NOT_JSON:
        excerpt = result.body[:80].decode("utf-8", "replace")
        return f"body is not JSON: {excerpt!r}" + (" (cut off)" if result.truncated else "")
    if not isinstance(body, dict):
        return f"body is JSON {type(body).__name__}, not an object"
    for name in ("error_code", "error_msg"):
        if name not in body:
            return f"`{name}` is missing"
        if not isinstance(body[name], str):
            return f"`{name}` is {type(body[name]).__name__}, not a string"
    return None


@response_check("error-envelope", requirements=["STOP-ERROR-ENVELOPE"])
def error_envelope(ctx: OracleContext, sent: Sent) -> Finding | None:
    """Every documented error answer carries a JSON {error_code, error_msg} body."""
    status = sent.result.status
    if sent.kind not in (Kind.STOP, Kind.SHOW) or status is None or status < 400 or status == THROTTLED:
        return None
    if status not in ctx.contract.documented_statuses():
        return None  # an undocumented status is documented-status's finding; its body has no contract
    if refused_as_raw_data(sent) or sent.result.body_unknown:
        return None
    problem = error_envelope_problem(sent)
    if problem is None:
        return None
    return Finding(
        Title("{status} without the error envelope", status=status),
        f"{problem}{describe_infrastructure(sent)}",
        "application/json body with string error_code and error_msg",
    )


@response_check("success-body", requirements=["STOP-SUCCESS-200"])
def success_body(ctx: OracleContext, sent: Sent) -> Finding | None:
    """A 200 to a stop has an empty body or a JSON object - never an error envelope."""
    result = sent.result
    if sent.kind is not Kind.STOP or result.status != 200 or not result.body.strip() or result.body_unknown:
        return None
    body = result.json
    if body is NOT_JSON:
        return Finding(
            "200 with a body that is not JSON",
            repr(result.body[:80].decode("utf-8", "replace")),
            "an empty body (Example Response: None) or a JSON object",
        )
    if not isinstance(body, dict):
        return Finding(
            "200 with a JSON body that is not an object",
            f"JSON {type(body).__name__}",
            "an empty body or a JSON object",
        )
    if "error_code" in body:
        return Finding(
            "200 with an error body",
            f"200 with error_code {body['error_code']!r}",
            "a refusal is a 400/403, not a 200 carrying an error",
        )
    return None


@response_check("no-server-error", requirements=["STOP-ROBUST"])
def no_server_error(ctx: OracleContext, sent: Sent) -> Finding | None:
    """No input makes the server fail: no 5xx, no dropped connection."""
    result = sent.result
    if sent.forced_status is not None and result.status == sent.forced_status:
        return None  # the client forced this answer (`Prefer: code=N`): not the server failing
    if result.status == 501 and sent.kind in (Kind.OTHER_METHOD, Kind.OTHER):
        # RFC 9110 15.6.2: 501 refuses a method the server does not implement (the stdlib's http.server
        # answers every method it has no handler for so). STOP-METHODS asks only that it is no 2xx; a PUT
        # of a path that is not the operation (checks/joined_paths.py) may meet the show path's 501 alike.
        return None
    if result.status is not None and result.status >= 500:
        return Finding(
            Title("Server error {status}", status=result.status),
            f"{result.status}",
            "a documented 2xx/4xx answer for any input",
        )
    if result.outcome is Outcome.CUT_OFF:
        return Finding(
            "Answer cut off",
            f"{result.status}, then the connection failed mid-body ({result.error})",
            "a complete answer",
        )
    if result.outcome in (Outcome.DROPPED, Outcome.CONNECT_FAILED):
        return Finding(
            "Connection failed", f"no answer ({result.error})", "a documented answer for any input"
        )
    if result.outcome is Outcome.TIMED_OUT:
        # A request of legal shape that is never answered gets no documented answer, which the page's status
        # table promises for every request. Named by its class: the run stops sending a class that keeps
        # going unanswered (machinery/hang_budget.py), so the class is the finding; the evidence has its curl.
        of = f" to {sent.request_class}" if sent.request_class else ""
        return Finding(
            Title("No answer{of}", of=of),
            f"no answer within {ctx.request_timeout:g}s{of}",
            "a documented answer for any input",
        )
    return None


# An answer to any path must not echo a credential: the one contract of a path that is not the operation.
@response_check("no-credential-echo", requirements=["STOP-NO-ECHO"], any_path=True)
def no_credential_echo(ctx: OracleContext, sent: Sent) -> Finding | None:
    """No answer repeats a credential, whole or in part: not the target's, not the token this request
    carried. A run of 16 characters of one is a leak (aiohttp's 400 to a too-long header line repeats its
    first 100 characters); shorter secrets count only whole (machinery/base.py ``MIN_ECHO_CHARS``)."""
    runs = _secret_runs(tuple(ctx.exchange_secrets(sent)))
    body = "" if sent.result.body_unknown else sent.result.body.decode("utf-8", "replace")
    for where, haystacks in (("body", [body]), ("headers", [v for _, v in sent.result.headers])):
        longest = max((runs.longest(hay) for hay in haystacks), default=0)
        if longest:
            return Finding(
                "The answer echoes the credential",
                f"the {where} contain {longest} characters of a credential of this run (redacted here)",
                f"no credential in any answer, nor a run of {SECRET_RUN} or more of its characters",
            )
    return None


@functools.lru_cache(maxsize=16)
def _secret_runs(values: tuple[str, ...]) -> SecretRuns:
    # The same few credentials are searched for in every answer of a run: their windows are built once.
    return SecretRuns((value, "") for value in values)


@response_check("timely", requirements=["STOP-TIMELY"])
def timely(ctx: OracleContext, sent: Sent) -> Finding | None:
    """Every request is answered within --request-timeout."""
    if sent.result.outcome is Outcome.TIMED_OUT:
        return Finding(
            "No answer in time", f"{sent.result.error}", f"an answer within {ctx.request_timeout:g}s"
        )
    return None


@response_check("request-id", requirements=["HW-REQUEST-ID"], profiles=[Profile.HUAWEI])
def request_id(ctx: OracleContext, sent: Sent) -> Finding | None:
    """Every answer carries a non-empty X-Request-Id."""
    if sent.result.status is None or (sent.result.header("x-request-id") or "").strip():
        return None
    return Finding(
        "No X-Request-Id",
        f"{sent.result.status} without an X-Request-Id header{describe_infrastructure(sent)}",
        "X-Request-Id on every answer",
    )


@response_check("gateway-401", requirements=["HW-GATEWAY-401"], profiles=[Profile.HUAWEI])
def gateway_401(ctx: OracleContext, sent: Sent) -> Finding | None:
    """A 401 is the gateway's: error_code APIGW.0301 and a request_id in the body."""
    if sent.result.status != 401 or sent.result.body_unknown:
        return None
    body = sent.result.json
    if not isinstance(body, dict):
        return Finding(
            "401 without the gateway body",
            "a body that is not a JSON object",
            "{error_code, error_msg, request_id}",
        )
    problems, code = [], ctx.contract.error_code(401)
    if body.get("error_code") != code:
        problems.append(f"error_code {body.get('error_code')!r}")
    if not isinstance(body.get("request_id"), str) or not body.get("request_id"):
        problems.append("no request_id")
    if not problems:
        return None
    return Finding(
        "401 that is not the gateway's",
        ", ".join(problems),
        f"error_code {code!r} and a string request_id",
    )
