"""Each response oracle (checks/oracles.py) and the recorder's ``expect`` on hand-built answers: accepted and
refused, at the edge of each rule. No server, no network: a ``Sent`` is built around an ``HttpResult``.
(Whole runs against faulty implementations: tests/suite/test_catalogue.py.)"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from conformance.checks import oracles
from conformance.checks.machinery.base import Finding, Kind, Sent, Title, echo_candidates
from conformance.checks.machinery.recorder import Recorder
from conformance.checks.machinery.registry import CheckKind
from conformance.checks.suite import BUILTIN
from conformance.results import Exchange
from conformance.spec import Contract, Profile, load_contract
from conformance.transport.http import HttpResult, Outcome

STOP_PATH = "/v2/proj-a/taskgroups/g-1/stop"
TOKEN = "MIItoken-" + "k" * 40  # long enough to count as an echo (base.MIN_ECHO_CHARS)
ENVELOPE = {"error_code": "OMS.0064", "error_msg": "Invalid request parameters."}
JSON = [("Content-Type", "application/json")]


class Context:
    """The oracle's view of a run (base.OracleContext), for one profile."""

    def __init__(self, profile: Profile = Profile.STRICT, known: Sequence[str] = ()) -> None:
        self.contract: Contract = load_contract(profile)
        self.request_timeout = 10.0
        self.known = list(known)

    def exchange_secrets(self, sent: Sent) -> Sequence[str]:
        return echo_candidates(sent, self.known)


STRICT, HUAWEI = Context(Profile.STRICT), Context(Profile.HUAWEI)


def text(finding: Finding) -> str:
    """A finding as the reports print it (results.py ``Failure.text``)."""
    return finding.failure("demo", "error").text()


def answer(
    status: int | None,
    body: object = b"",
    headers: Sequence[tuple[str, str]] = (),
    *,
    kind: Kind = Kind.STOP,
    path: str = STOP_PATH,
    token: str | None = TOKEN,
    outcome: Outcome = Outcome.ANSWERED,
    error: str | None = None,
    repeatable: bool = True,
    body_unknown: bool = False,
    request_class: str = "",
) -> Sent:
    """A ``Sent`` around a hand-built answer; a body that is not bytes is sent as JSON."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    exchange = Exchange("PUT", "http://t" + path, {}, status)
    result = HttpResult(
        status, list(headers), raw, False, 1.0, error, exchange, outcome, body_unknown=body_unknown
    )
    return Sent("PUT", path, kind, token, result, "demo", repeatable, request_class)


def error(
    status: int, body: object = ENVELOPE, headers: Sequence[tuple[str, str]] = JSON, **kw: object
) -> Sent:
    return answer(status, body, headers, **kw)  # type: ignore[arg-type]


# -- the finding's fields and their one rendering ------------------------------------------------------


def test_a_finding_renders_received_expected_and_why_and_keeps_its_title_stable() -> None:
    finding = Finding(
        Title("group_id of {length} characters", length=1025), "200", "400, 403", "ids are 1..1,024 long"
    )
    assert finding.headline == "group_id of 1025 characters"
    assert finding.template == "group_id of {length} characters"
    assert text(finding) == "Received: 200\nExpected: 400, 403\nWhy: ids are 1..1,024 long"
    seen = finding.failure("demo", "error", seen_in="effect").text()
    assert seen.endswith("\nWhy: ids are 1..1,024 long\nSeen in: effect")
    # A title without values is printed as written, braces and all.
    plain = Finding("The show answer is not {group_id, status 0..9}", "'x'", "an object")
    assert plain.headline == plain.template == "The show answer is not {group_id, status 0..9}"


def test_every_oracle_declares_one_requirement_and_never_names_it_again() -> None:
    responses = [spec for spec in BUILTIN if spec.kind is CheckKind.RESPONSE]
    assert responses, "the built-in suite has no response checks"
    for spec in responses:
        assert len(spec.requirements) == 1, spec.name
    found = oracles.no_server_error(STRICT, answer(500))
    assert found is not None and found.requirement == ""  # the runner takes it from the declaration


# -- documented-status ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 400, 403])
def test_documented_statuses_pass(status: int) -> None:
    assert oracles.documented_status(STRICT, error(status)) is None


def test_an_undocumented_status_is_named_with_what_is_documented() -> None:
    found = oracles.documented_status(STRICT, error(500))
    assert found is not None
    assert (found.headline, found.template) == ("Undocumented status 500", "Undocumented status {status}")
    assert text(found) == "Received: 500\nDocumented (strict): 200, 400, 403"


@pytest.mark.parametrize(
    "sent",
    [
        error(429),  # throttling outlasted the waits: no answer about the request
        answer(None, outcome=Outcome.TIMED_OUT, error="timeout"),
        error(500, kind=Kind.OTHER_METHOD),
        error(500, kind=Kind.START),
    ],
    ids=["429", "no-status", "other-method", "start"],
)
def test_documented_status_ignores_what_it_does_not_judge(sent: Sent) -> None:
    assert oracles.documented_status(STRICT, sent) is None


def test_a_show_is_judged_by_the_show_operations_statuses() -> None:
    assert oracles.documented_status(HUAWEI, error(404, kind=Kind.SHOW)) is None
    found = oracles.documented_status(HUAWEI, error(502, kind=Kind.SHOW))
    assert found is not None and found.headline == "Undocumented status 502"


# -- what stood in front of the application -----------------------------------------------------------


def test_a_limit_status_and_an_html_page_are_described_as_infrastructure() -> None:
    assert oracles.describe_infrastructure(error(413, b"", [])) == (
        " (413 Content Too Large: a limit of the HTTP layer, not the application's answer)"
    )
    page = answer(400, b"<html>bad</html>", [("Content-Type", "text/html")])
    assert "an HTML page" in oracles.describe_infrastructure(page)
    assert oracles.describe_infrastructure(error(400)) == ""


@pytest.mark.parametrize(("chars", "named"), [(4096, False), (4097, True)])
def test_the_header_limit_cause_is_named_above_4096_characters(chars: int, named: bool) -> None:
    sent = answer(400, b"<html>Request Header Or Cookie Too Large</html>", [("Content-Type", "text/html")])
    sent.sent_token = "M" * chars
    assert ("header-size limit" in oracles.describe_infrastructure(sent)) is named
    if named:
        assert f"{chars:,} characters" in oracles.describe_infrastructure(sent)


def test_a_header_limit_lists_the_usual_settings_only_where_the_answer_names_no_layer() -> None:
    """Node's bare 431 names no layer: the settings of the usual suspects; gunicorn's page names itself."""
    bare = answer(431, b"", [], token="M" * 10_000)
    assert "the answer names no layer: the usual settings are nginx large_client_header_buffers" in (
        oracles.describe_infrastructure(bare)
    )
    page = b"<html><head><title>Request Header Fields Too Large</title></head><body><h1><p>Request Header "
    page += b"Fields Too Large</p></h1></body></html>"
    gunicorn = answer(431, page, [("Content-Type", "text/html")], token="M" * 10_000)
    described = oracles.describe_infrastructure(gunicorn)
    assert "gunicorn's setting is on the Answered by line" in described and "nginx" not in described


def test_a_long_token_refused_with_the_applications_envelope_is_no_header_limit() -> None:
    sent = error(400, token="M" * 10_000)
    assert oracles.describe_infrastructure(sent) == ""
    assert "header-size limit" not in oracles.describe_infrastructure(
        error(403, b"x", [], token="M" * 10_000)
    )


@pytest.mark.parametrize(
    ("path", "what"),
    [
        ("/v2/p/taskgroups//stop", "an empty segment"),
        ("/v2/p/taskgroups/a%2Fb/stop", "an encoded slash (%2F)"),
        ("/v2/p/taskgroups/%2e%2e/stop", "a dot segment"),
        ("/v2/p/taskgroups/./stop", "a dot segment"),
        ("/v2/p/taskgroups/g-1/stop", None),
    ],
)
def test_a_404_to_a_path_a_proxy_rewrites_names_the_rewrite(path: str, what: str | None) -> None:
    described = oracles.describe_infrastructure(error(404, path=path))
    if what is None:
        assert described == ""
    else:
        assert f"the path has {what}, and a layer that normalises paths" in described
    assert "likely cause" not in oracles.describe_infrastructure(error(400, path=path))


# -- error-envelope -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "application/problem+json"]
)
def test_the_envelope_in_any_json_media_type_passes(content_type: str) -> None:
    assert oracles.error_envelope(STRICT, error(400, headers=[("Content-Type", content_type)])) is None


@pytest.mark.parametrize(
    ("sent", "received"),
    [
        (error(400, b"bad", [("Content-Type", "text/plain")]), "content type 'text/plain' is not JSON"),
        (error(400, b"bad", []), "content type '(none)' is not JSON"),
        (error(403, b"{oops"), "body is not JSON: '{oops'"),
        (error(400, ["a"]), "body is JSON list, not an object"),
        (error(400, {"error_msg": "m"}), "`error_code` is missing"),
        (error(400, {"error_code": 64, "error_msg": "m"}), "`error_code` is int, not a string"),
        (error(400, {"error_code": "OMS.0064"}), "`error_msg` is missing"),
    ],
    ids=["text", "no-type", "not-json", "list", "no-code", "int-code", "no-msg"],
)
def test_an_error_without_the_envelope_says_what_is_wrong(sent: Sent, received: str) -> None:
    found = oracles.error_envelope(STRICT, sent)
    assert found is not None
    assert found.template == "{status} without the error envelope"
    assert found.headline == f"{sent.result.status} without the error envelope"
    assert text(found) == (
        f"Received: {received}\nExpected: application/json body with string error_code and error_msg"
    )


@pytest.mark.parametrize(
    "sent",
    [
        error(200, b"", []),  # not an error
        error(429, b"slow down", []),  # throttled: not an answer about the request
        error(500, b"oops", []),  # undocumented: documented-status's finding, no body contract
        error(400, b"<html>bad</html>", [], body_unknown=True),  # a coding the client cannot undo
    ],
    ids=["200", "429", "undocumented", "body-unknown"],
)
def test_the_envelope_is_not_asked_of_what_it_does_not_judge(sent: Sent) -> None:
    assert oracles.error_envelope(STRICT, sent) is None


def test_an_encoded_nul_refused_as_raw_data_is_the_http_layers_not_the_applications() -> None:
    nul = "/v2/p/taskgroups/a%00b/stop"
    html = [("Content-Type", "text/html")]
    assert oracles.error_envelope(STRICT, error(400, b"<html>400</html>", html, path=nul)) is None
    # Not a 400, or JSON: the application's own answer, judged as any other.
    assert oracles.error_envelope(STRICT, error(403, b"<html>403</html>", html, path=nul)) is not None
    assert oracles.error_envelope(STRICT, error(400, {"error_msg": "m"}, path=nul)) is not None
    # Without %00 the same HTML 400 is judged.
    assert oracles.error_envelope(STRICT, error(400, b"<html>400</html>", html)) is not None


# -- success-body ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"", b"  \n", {}, {"job_id": "x"}])
def test_a_200_with_an_empty_body_or_an_object_passes(body: object) -> None:
    assert oracles.success_body(STRICT, answer(200, body, JSON)) is None


@pytest.mark.parametrize(
    ("body", "title", "shown"),
    [
        (
            b"OK",
            "200 with a body that is not JSON",
            "Received: 'OK'\nExpected: an empty body (Example Response: None) or a JSON object",
        ),
        (
            [1],
            "200 with a JSON body that is not an object",
            "Received: JSON list\nExpected: an empty body or a JSON object",
        ),
        (
            ENVELOPE,
            "200 with an error body",
            "Received: 200 with error_code 'OMS.0064'\n"
            "Expected: a refusal is a 400/403, not a 200 carrying an error",
        ),
    ],
    ids=["not-json", "list", "error-body"],
)
def test_a_200_with_another_body_is_a_finding(body: object, title: str, shown: str) -> None:
    found = oracles.success_body(STRICT, answer(200, body, JSON))
    assert found is not None and (found.headline, text(found)) == (title, shown)


def test_success_body_judges_only_a_stops_200_whose_body_is_known() -> None:
    assert oracles.success_body(STRICT, answer(200, b"OK", kind=Kind.SHOW)) is None
    assert oracles.success_body(STRICT, answer(200, b"OK", body_unknown=True)) is None
    assert oracles.success_body(STRICT, answer(201, b"OK")) is None


# -- no-server-error, timely and the temporary answers ----------------------------------------------


@pytest.mark.parametrize("status", [200, 400, 403, 404, 499])
def test_no_server_error_passes_any_answer_below_500(status: int) -> None:
    assert oracles.no_server_error(STRICT, error(status)) is None


@pytest.mark.parametrize("status", [500, 502, 503, 504, 599])
def test_a_5xx_is_a_server_error(status: int) -> None:
    found = oracles.no_server_error(STRICT, error(status))
    assert found is not None and found.template == "Server error {status}"
    assert text(found) == f"Received: {status}\nExpected: a documented 2xx/4xx answer for any input"


def test_a_501_refuses_an_unimplemented_method_but_not_the_stop() -> None:
    assert oracles.no_server_error(STRICT, error(501, kind=Kind.OTHER_METHOD)) is None
    assert oracles.no_server_error(STRICT, error(501)) is not None
    assert oracles.no_server_error(STRICT, error(500, kind=Kind.OTHER_METHOD)) is not None


@pytest.mark.parametrize(
    ("outcome", "title"),
    [
        (Outcome.CUT_OFF, "Answer cut off"),
        (Outcome.DROPPED, "Connection failed"),
        (Outcome.CONNECT_FAILED, "Connection failed"),
        (Outcome.TIMED_OUT, "No answer"),
    ],
)
def test_a_broken_exchange_is_a_robustness_finding(outcome: Outcome, title: str) -> None:
    status = 200 if outcome is Outcome.CUT_OFF else None
    found = oracles.no_server_error(STRICT, answer(status, outcome=outcome, error="reset"))
    assert found is not None and found.headline == title


def test_no_answer_is_named_by_its_request_class() -> None:
    sent = answer(None, outcome=Outcome.TIMED_OUT, error="timeout", request_class="unknown group")
    found = oracles.no_server_error(STRICT, sent)
    assert found is not None
    assert (found.headline, found.template) == ("No answer to unknown group", "No answer{of}")
    assert found.received == "no answer within 10s to unknown group"


@pytest.mark.parametrize("outcome", [Outcome.NOT_SENT, Outcome.CLOSED_WHILE_HELD])
def test_what_the_tool_itself_did_is_no_server_error(outcome: Outcome) -> None:
    assert oracles.no_server_error(STRICT, answer(None, outcome=outcome, error="x")) is None


def test_timely_fails_only_an_exchange_that_timed_out() -> None:
    found = oracles.timely(STRICT, answer(None, outcome=Outcome.TIMED_OUT, error="timeout after 10 s"))
    assert found is not None and text(found) == "Received: timeout after 10 s\nExpected: an answer within 10s"
    assert oracles.timely(STRICT, answer(None, outcome=Outcome.DROPPED, error="reset")) is None
    assert oracles.timely(STRICT, error(400)) is None


@pytest.mark.parametrize(
    ("status", "repeatable", "unjudged"),
    [
        (502, False, True),
        (503, False, True),
        (504, False, True),
        (503, True, False),  # asked again and still so: judged
        (500, False, False),  # a server error whatever the request
        (429, False, False),
    ],
)
def test_only_a_temporary_answer_to_an_unrepeatable_send_goes_unjudged(
    status: int, repeatable: bool, unjudged: bool
) -> None:
    assert oracles.temporary_and_unrepeatable(error(status, repeatable=repeatable)) is unjudged


# -- no-credential-echo ---------------------------------------------------------------------------------


def test_the_token_a_request_carried_must_not_come_back() -> None:
    assert oracles.no_credential_echo(STRICT, error(400)) is None
    found = oracles.no_credential_echo(STRICT, error(400, {"error_code": "x", "error_msg": TOKEN}))
    assert found is not None and "the body contain" in found.received
    found = oracles.no_credential_echo(STRICT, error(400, headers=[*JSON, ("X-Echo", TOKEN)]))
    assert found is not None and "the headers contain" in found.received
    assert TOKEN not in text(found)


def test_a_run_of_sixteen_characters_of_any_secret_of_the_run_is_an_echo() -> None:
    """aiohttp repeats the first 100 characters of a too-long line; part of a credential is a leak."""
    rng = __import__("random").Random(5)
    token = "".join(
        rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") for _ in range(16384)
    )
    aiohttp = f"Got more than 8190 bytes when reading: b'{token[:100]}'...".encode()
    found = oracles.no_credential_echo(
        STRICT, answer(400, aiohttp, [("Content-Type", "text/plain")], token=token)
    )
    assert found is not None and "100 characters of a credential" in found.received
    readonly, other, sk = "RO-" + "r" * 13 + "x" * 30, "tokB-" + "b1" * 20, "SK-" + "0123456789" * 4
    context = Context(known=[readonly, other, sk])
    for secret in (readonly, other, sk):
        middle = secret[10:26]  # 16 characters from inside it
        assert (
            oracles.no_credential_echo(context, error(400, {"error_code": "x", "error_msg": middle}))
            is not None
        )
        leaked_in_header = error(400, headers=[*JSON, ("X-Debug", f"key={middle}")])
        found = oracles.no_credential_echo(context, leaked_in_header)
        assert found is not None and "the headers contain 16 characters" in found.received
        # Fifteen characters are not a run: too likely to be anything.
        assert (
            oracles.no_credential_echo(context, error(400, {"error_code": "x", "error_msg": middle[:15]}))
            is None
        )


def test_a_known_credential_is_looked_for_too_and_a_short_value_never() -> None:
    secret = "SK-" + "s" * 30
    context = Context(known=[secret, "ok"])
    assert (
        oracles.no_credential_echo(context, error(400, {"error_code": "x", "error_msg": secret})) is not None
    )
    # Shorter than MIN_ECHO_CHARS: too likely to occur by chance ("ok"), not an echo.
    assert oracles.no_credential_echo(context, error(400, {"error_code": "ok", "error_msg": "ok"})) is None
    short = error(400, {"error_code": "abc", "error_msg": "abc"}, token="abc")
    assert oracles.no_credential_echo(STRICT, short) is None


def test_a_body_in_an_unknown_coding_is_not_searched() -> None:
    sent = error(400, TOKEN.encode(), [], body_unknown=True)
    assert oracles.no_credential_echo(STRICT, sent) is None


# -- huawei: X-Request-Id and the gateway's 401 ----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "passes"), [("abc123", True), ("  r-1 ", True), ("   ", False), ("", False)]
)
def test_x_request_id_must_be_there_and_not_blank(value: str, passes: bool) -> None:
    sent = error(400, headers=[*JSON, ("X-Request-Id", value)])
    assert (oracles.request_id(HUAWEI, sent) is None) is passes


def test_an_answer_without_x_request_id_is_a_finding_and_no_answer_is_none() -> None:
    found = oracles.request_id(HUAWEI, error(400))
    assert found is not None
    assert (
        text(found) == "Received: 400 without an X-Request-Id header\nExpected: X-Request-Id on every answer"
    )
    assert oracles.request_id(HUAWEI, answer(None, outcome=Outcome.DROPPED, error="reset")) is None


def test_the_gateways_401_has_its_code_and_a_request_id() -> None:
    good = {
        "error_code": "APIGW.0301",
        "error_msg": "Incorrect IAM authentication information",
        "request_id": "r1",
    }
    assert oracles.gateway_401(HUAWEI, error(401, good)) is None
    assert oracles.gateway_401(HUAWEI, error(403, {"error_code": "x"})) is None  # not a 401
    assert oracles.gateway_401(HUAWEI, error(401, b"?", [], body_unknown=True)) is None


@pytest.mark.parametrize(
    ("body", "received"),
    [
        ({"error_code": "APIGW.0301", "error_msg": "m", "request_id": ""}, "no request_id"),
        ({"error_code": "APIGW.0301", "error_msg": "m", "request_id": 7}, "no request_id"),
        ({"error_code": "APIGW.0301", "error_msg": "m"}, "no request_id"),
        ({"error_code": "OMS.0401", "error_msg": "m", "request_id": "r"}, "error_code 'OMS.0401'"),
        ({"error_msg": "m"}, "error_code None, no request_id"),
    ],
)
def test_a_401_that_is_not_the_gateways_says_what_is_missing(body: object, received: str) -> None:
    found = oracles.gateway_401(HUAWEI, error(401, body))
    assert found is not None and found.headline == "401 that is not the gateway's"
    assert text(found) == f"Received: {received}\nExpected: error_code 'APIGW.0301' and a string request_id"


def test_a_401_whose_body_is_no_object_has_no_gateway_body() -> None:
    found = oracles.gateway_401(HUAWEI, error(401, b"Unauthorized", []))
    assert found is not None and found.headline == "401 without the gateway body"


# -- the recorder's expect ----------------------------------------------------------------------------


def recorder(*requirements: str) -> Recorder:
    return Recorder("demo", requirements or ("STOP-PRECONDITION",))


def test_expect_accepts_an_allowed_status_and_records_nothing() -> None:
    rec = recorder()
    assert rec.expect(error(400), {400, 403}, "A stop of a group that does not exist was not refused")
    assert rec.findings == [] and rec.inconclusive == {}


def test_expect_refuses_another_status_with_the_allowed_ones_and_why() -> None:
    rec = recorder()
    title = Title("group_id of {length} characters", length=1025)
    assert not rec.expect(answer(200, b""), {403, 400}, title, "ids are 1..1,024 long")
    [finding] = rec.findings
    assert finding.requirement == "STOP-PRECONDITION"  # its only one, not spelled at the call
    assert (finding.headline, finding.template) == ("group_id of 1025 characters", title.template)
    assert text(finding) == (
        "Received: 200\nExpected: 400, 403\nWhy: ids are 1..1,024 long\n"
        # What a person needs to act: the answer's first bytes and the layer (checks/machinery/layers.py).
        "Answer: 200, no content type, no body\n"
        "Answered by: unknown (no Server header, header or page of a known stack)"
    )


def test_expect_describes_what_stood_in_front_of_the_application() -> None:
    rec = recorder()
    rec.expect(error(404, b"<html>404</html>", [("Content-Type", "text/html")]), {400}, "t")
    assert rec.findings[0].received.startswith("404 (an HTML page: an error page of a server, framework or")


def test_expect_names_the_requirement_of_a_check_that_declares_several() -> None:
    rec = recorder("STOP-AUTHN", "STOP-TOKEN-LEN")
    rec.expect(answer(200), {400}, "t", requirement="STOP-TOKEN-LEN")
    assert [f.requirement for f in rec.findings] == ["STOP-TOKEN-LEN"]


@pytest.mark.parametrize(
    ("sent", "why"),
    [
        (answer(None, outcome=Outcome.TIMED_OUT, error="timeout"), "timeout"),
        (answer(None, outcome=Outcome.CLOSED_WHILE_HELD, error="closed"), "closed"),
        (error(429), "still throttled (429)"),
        (error(500, repeatable=False), "500, not repeatable"),
        (error(503, repeatable=False), "503, not repeatable"),
        (error(503), "503, still so when asked again"),
        (error(504), "504, still so when asked again"),
    ],
    ids=["timeout", "held", "429", "500-once", "503-once", "503-again", "504-again"],
)
def test_expect_leaves_the_requirement_undecided_on_an_answer_that_says_nothing(sent: Sent, why: str) -> None:
    rec = recorder()
    assert not rec.expect(sent, {400}, "t")
    assert rec.findings == []
    assert rec.inconclusive == {"STOP-PRECONDITION": f"PUT {STOP_PATH}: {why}"}


def test_expect_fails_a_repeatable_request_that_stays_a_500() -> None:
    rec = recorder()
    assert not rec.expect(error(500), {400}, "t")
    assert [f.received for f in rec.findings] == ["500"] and rec.inconclusive == {}
