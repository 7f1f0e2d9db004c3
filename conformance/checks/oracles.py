"""Response checks: judged on every answer the run receives, whichever scenario sent the request.

They encode what the contract says of *any* answer of the stop operation: the documented statuses, the
error envelope, no 5xx, no echoed credential, X-Request-Id (huawei), the gateway's 401 body (huawei), and
an answer within the request timeout.
"""

from __future__ import annotations

from conformance.checks.base import Finding, Kind, OracleContext, Sent
from conformance.checks.registry import response_check
from conformance.spec.documents import SHOW_PATH
from conformance.transport.http import NOT_JSON, Outcome

# A gateway's throttling that outlasted the transport's waits: no answer about the request, so no finding
# about it (the report's pace section lists every 429).
THROTTLED = 429
# Answers produced in front of the application rather than by it.
INFRASTRUCTURE = {413: "Content Too Large", 414: "URI Too Long", 431: "Request Header Fields Too Large"}


def is_json_content_type(value: str) -> bool:
    media = value.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def describe_infrastructure(sent: Sent) -> str:
    status = sent.result.status
    if status in INFRASTRUCTURE:
        return (
            f" ({status} {INFRASTRUCTURE[status]}: a limit of a server or proxy in front of the application)"
        )
    if "html" in sent.result.content_type:
        return " (an HTML page: most likely a proxy's or framework's error page, not the application)"
    return ""


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
        "STOP-DOCUMENTED-STATUS",
        f"Undocumented status {status}",
        f"Received: {status}{describe_infrastructure(sent)}\n"
        f"Documented ({ctx.contract.profile}): {', '.join(map(str, sorted(documented)))}",
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
    problem = error_envelope_problem(sent)
    if problem is None:
        return None
    return Finding(
        "STOP-ERROR-ENVELOPE",
        f"{status} without the error envelope",
        f"Received: {problem}\nExpected: application/json body with string error_code and error_msg",
    )


@response_check("success-body", requirements=["STOP-SUCCESS-200"])
def success_body(ctx: OracleContext, sent: Sent) -> Finding | None:
    """A 200 to a stop has an empty body or a JSON object - never an error envelope."""
    result = sent.result
    if sent.kind is not Kind.STOP or result.status != 200 or not result.body.strip():
        return None
    body = result.json
    if body is NOT_JSON:
        return Finding(
            "STOP-SUCCESS-200",
            "200 with a body that is not JSON",
            f"Received: {result.body[:80].decode('utf-8', 'replace')!r}\n"
            "Expected: an empty body (Example Response: None) or a JSON object",
        )
    if not isinstance(body, dict):
        return Finding(
            "STOP-SUCCESS-200",
            "200 with a JSON body that is not an object",
            f"Received: JSON {type(body).__name__}\nExpected: an empty body or a JSON object",
        )
    if "error_code" in body:
        return Finding(
            "STOP-SUCCESS-200",
            "200 with an error body",
            f"Received: 200 with error_code {body['error_code']!r}\n"
            "Expected: a refusal is a 400/403, not a 200 carrying an error",
        )
    return None


@response_check("no-server-error", requirements=["STOP-ROBUST"])
def no_server_error(ctx: OracleContext, sent: Sent) -> Finding | None:
    """No input makes the server fail: no 5xx, no dropped connection."""
    result = sent.result
    if result.status is not None and result.status >= 500:
        return Finding(
            "STOP-ROBUST",
            f"Server error {result.status}",
            f"Received: {result.status}\nExpected: a documented 2xx/4xx answer for any input",
        )
    if result.outcome is Outcome.CUT_OFF:
        return Finding(
            "STOP-ROBUST",
            "Answer cut off",
            f"Received: {result.status}, then the connection failed mid-body ({result.error})\n"
            "Expected: a complete answer",
        )
    if result.outcome in (Outcome.DROPPED, Outcome.CONNECT_FAILED):
        return Finding(
            "STOP-ROBUST",
            "Connection failed",
            f"Received: no answer ({result.error})\nExpected: a documented answer for any input",
        )
    if result.outcome is Outcome.TIMED_OUT:
        # A request of legal shape that is never answered gets no documented answer, which the page's status
        # table promises for every request. Named by its class: the run stops sending a class that keeps
        # going unanswered (checks/hang_budget.py), so the class is the finding; the evidence has its curl.
        of = f" to {sent.request_class}" if sent.request_class else ""
        return Finding(
            "STOP-ROBUST",
            f"No answer{of}",
            f"Received: no answer within {ctx.request_timeout:g}s{of}\n"
            "Expected: a documented answer for any input",
        )
    return None


@response_check("no-credential-echo", requirements=["STOP-NO-ECHO"])
def no_credential_echo(ctx: OracleContext, sent: Sent) -> Finding | None:
    """No answer repeats a credential: not the target's, not the token this request carried."""
    values = ctx.exchange_secrets(sent)
    haystacks = [sent.result.body.decode("utf-8", "replace")] + [v for _, v in sent.result.headers]
    for value in values:
        if any(value in hay for hay in haystacks):
            where = "body" if value in haystacks[0] else "headers"
            return Finding(
                "STOP-NO-ECHO",
                "The answer echoes the credential",
                f"Received: the {where} contain the credential sent with the request (redacted here)\n"
                "Expected: no credential in any answer",
            )
    return None


@response_check("timely", requirements=["STOP-TIMELY"])
def timely(ctx: OracleContext, sent: Sent) -> Finding | None:
    """Every request is answered within --request-timeout."""
    if sent.result.outcome is Outcome.TIMED_OUT:
        return Finding(
            "STOP-TIMELY",
            "No answer in time",
            f"Received: {sent.result.error}\nExpected: an answer within {ctx.request_timeout:g}s",
        )
    return None


@response_check("request-id", requirements=["HW-REQUEST-ID"], profiles=["huawei"])
def request_id(ctx: OracleContext, sent: Sent) -> Finding | None:
    """Every answer carries a non-empty X-Request-Id."""
    if sent.result.status is None or (sent.result.header("x-request-id") or "").strip():
        return None
    return Finding(
        "HW-REQUEST-ID",
        "No X-Request-Id",
        f"Received: {sent.result.status} without an X-Request-Id header\n"
        "Expected: X-Request-Id on every answer",
    )


@response_check("gateway-401", requirements=["HW-GATEWAY-401"], profiles=["huawei"])
def gateway_401(ctx: OracleContext, sent: Sent) -> Finding | None:
    """A 401 is the gateway's: error_code APIGW.0301 and a request_id in the body."""
    if sent.result.status != 401:
        return None
    body = sent.result.json
    if not isinstance(body, dict):
        return Finding(
            "HW-GATEWAY-401",
            "401 without the gateway body",
            "Received: a body that is not a JSON object\nExpected: {error_code, error_msg, request_id}",
        )
    problems = []
    if body.get("error_code") != "APIGW.0301":
        problems.append(f"error_code {body.get('error_code')!r}")
    if not isinstance(body.get("request_id"), str) or not body.get("request_id"):
        problems.append("no request_id")
    if not problems:
        return None
    return Finding(
        "HW-GATEWAY-401",
        "401 that is not the gateway's",
        f"Received: {', '.join(problems)}\nExpected: error_code 'APIGW.0301' and a string request_id",
    )
