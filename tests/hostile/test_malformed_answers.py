"""Answers that are broken on the wire or in the body: each must end in a clear verdict, never a crash."""

from __future__ import annotations

import socket

from tests.hostile.conftest import (
    ENVELOPE,
    TOKEN,
    RawServer,
    RunCli,
    Serve,
    after_first,
    answer,
    read_request,
    reset,
    response,
)

CHECKS = "operation,unknown-group,error-envelope,no-server-error,documented-status,timely"


def test_invalid_json_with_json_content_type_fails_the_envelope(serve: Serve, run_cli: RunCli) -> None:
    server = serve(answer(response(400, b'{"error_code": "OMS.0001", error_msg: oops')))
    outcome = run_cli(server.base_url, checks=CHECKS)
    assert outcome.exit_code == 1
    assert outcome.requirement("STOP-ERROR-ENVELOPE") == "fail"
    failure = next(c for c in outcome.report["checks"] if c["check"] == "error-envelope")["failures"][0]
    assert "body is not JSON" in failure["received"]
    assert outcome.report["verdict"] == "DOES NOT CONFORM"
    outcome.assert_no_token()


def test_content_length_shorter_than_body_cuts_the_envelope(serve: Serve, run_cli: RunCli) -> None:
    server = serve(answer(response(400, ENVELOPE, length=10)))
    outcome = run_cli(server.base_url, checks=CHECKS)
    assert outcome.exit_code == 1
    assert outcome.requirement("STOP-ERROR-ENVELOPE") == "fail"
    outcome.assert_no_token()


def test_content_length_longer_than_body_is_a_dropped_connection(serve: Serve, run_cli: RunCli) -> None:
    """The server promises 1000 bytes, sends the 52-byte envelope and closes: the answer never completed."""
    server = serve(answer(response(400, ENVELOPE, length=1000)))
    outcome = run_cli(server.base_url, checks=CHECKS)
    assert outcome.report["finished"] is True
    assert outcome.exit_code == 1, outcome.stdout
    assert outcome.requirement("STOP-ROBUST") == "fail"
    outcome.assert_no_token()


def reset_mid_response(conn: socket.socket, server: RawServer) -> None:
    if read_request(conn, server) is not None:
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Type: appl")
        reset(conn)


def test_connection_reset_mid_response_after_preflight(serve: Serve, run_cli: RunCli) -> None:
    server = serve(after_first(1, reset_mid_response))
    outcome = run_cli(server.base_url, checks=CHECKS)
    assert outcome.exit_code == 1
    verdicts = outcome.verdicts()
    # The cut answers fail robustness; they prove nothing about whether PUT is the operation.
    assert verdicts["no-server-error"] == "fail" and verdicts["operation"] == "inconclusive"
    assert outcome.report["finished"] is True  # resets are answers gone wrong, not a target that went away
    outcome.assert_no_token()


def test_connection_reset_on_every_request_is_unreachable(serve: Serve, run_cli: RunCli) -> None:
    server = serve(reset_mid_response)
    outcome = run_cli(server.base_url, checks=CHECKS)
    assert outcome.exit_code == 3
    assert "did not answer" in outcome.stderr
    outcome.assert_no_token()


def test_http10_connection_close_without_length_is_read_to_eof(serve: Serve, run_cli: RunCli) -> None:
    server = serve(answer(response(400, ENVELOPE, version="HTTP/1.0")))
    outcome = run_cli(server.base_url, checks=CHECKS)
    assert outcome.exit_code == 0, outcome.stdout
    assert outcome.report["verdict"] == "CONFORMS ON WHAT RAN"
    assert outcome.report["status_counts"] == {"400": outcome.report["requests"]}
    outcome.assert_no_token()


PROXY_PAGE = b"<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>"


def test_html_error_page_from_a_proxy_is_reported_as_infrastructure(serve: Serve, run_cli: RunCli) -> None:
    server = serve(answer(response(502, PROXY_PAGE, content_type="text/html")))
    outcome = run_cli(server.base_url, checks=CHECKS)
    assert outcome.exit_code == 1
    checks = {c["check"]: c for c in outcome.report["checks"]}
    received = checks["documented-status"]["failures"][0]["received"]
    assert received.startswith("502") and "proxy" in received and "not the application" in received
    assert checks["no-server-error"]["verdict"] == "fail"
    outcome.assert_no_token()


def test_5xx_storm_is_non_conformant_and_finishes(serve: Serve, run_cli: RunCli) -> None:
    server = serve(answer(response(503, b'{"error_code":"X","error_msg":"busy"}')))
    outcome = run_cli(
        server.base_url,
        checks="operation,unknown-group,hostile-ids,no-server-error",
        formats="json,junit,md,html,sarif",
    )
    assert outcome.exit_code == 1
    report = outcome.report
    assert report["finished"] is True and report["verdict"] == "DOES NOT CONFORM"
    assert outcome.requirement("STOP-ROBUST") == "fail"
    assert report["status_counts"] == {"503": report["requests"]} and report["requests"] > 10
    assert "DOES NOT CONFORM" in outcome.stdout
    assert {p.name for p in outcome.report_dir.iterdir()} == {
        "conformance.json",
        "junit.xml",
        "summary.md",
        "report.html",
        "results.sarif",
    }
    outcome.assert_no_token()


def test_redirect_to_another_port_is_not_followed(serve: Serve, run_cli: RunCli) -> None:
    """Decision: the client never follows redirects (transport/http.py); a 3xx is an answer to judge.
    Following a 307 would replay the request - X-Auth-Token included - to wherever Location points, another
    port or host the user never named. So the second server must receive nothing at all, and the 307 itself is
    judged: it is not a documented status of the stop operation."""
    elsewhere = serve(answer(response(400)))
    location = f"{elsewhere.base_url}/v2/{{p}}/taskgroups/g/stop"
    redirector = serve(answer(response(307, b"", extra=(f"Location: {location}",))))
    outcome = run_cli(redirector.base_url, checks=CHECKS)
    assert outcome.exit_code == 1
    assert outcome.requirement("STOP-DOCUMENTED-STATUS") == "fail"
    assert elsewhere.connections == 0 and elsewhere.received == []
    assert any(TOKEN.encode() in request for request in redirector.received)  # it was sent where asked
    outcome.assert_no_token()
