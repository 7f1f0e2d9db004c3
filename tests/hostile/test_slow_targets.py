"""Targets that are slow on purpose: no answer, headers a byte at a time, a body far larger than any error.

The client's total deadline (``--request-timeout``) and body cap (``MAX_BODY``) must bound every one of them.
"""

from __future__ import annotations

import asyncio
import socket
import tracemalloc

from conformance.redact import Redactor
from conformance.transport.http import MAX_BODY, Client
from tests.hostile.conftest import (
    ENVELOPE,
    HANG_S,
    Handler,
    RawServer,
    RunCli,
    Serve,
    after_first,
    answer,
    hold,
    read_request,
    response,
)

CHECKS = "operation,unknown-group,timely,no-server-error,error-envelope"


never_answer = hold


def trickle(conn: socket.socket, server: RawServer) -> None:
    """Status line and headers a byte every 20 ms, forever: each read succeeds, the answer never completes."""
    read_request(conn, server)
    head = b"HTTP/1.1 400 Bad Request\r\n" + b"".join(b"X-Pad-%d: %d\r\n" % (i, i) for i in range(10_000))
    for byte in head:
        conn.sendall(bytes([byte]))
        if server.stopped.wait(0.02):
            return


def after_preflight(bad: Handler) -> Handler:
    """The first connection (the preflight) gets a proper answer, every later one ``bad``."""
    return after_first(1, bad)


BIG = 50 * 1024 * 1024


def oversized(sent_bytes: list[int]):  # type: ignore[no-untyped-def]
    """A 400 "error" of 50 MB, streamed in 64 KiB chunks until the client hangs up."""

    def handle(conn: socket.socket, server: RawServer) -> None:
        if read_request(conn, server) is None:
            return
        head = (
            f"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: {BIG}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        conn.sendall(head + b'{"error_code":"OMS.0001","error_msg":"')
        chunk = b"a" * 65536
        sent = 0
        try:
            while sent < BIG and not server.stopped.is_set():
                conn.sendall(chunk)
                sent += len(chunk)
        finally:
            sent_bytes.append(sent)

    return handle


def test_never_answering_target_is_unreachable_within_the_deadline(serve: Serve, run_cli: RunCli) -> None:
    server = serve(never_answer)
    outcome = run_cli(server.base_url, checks=CHECKS, timeout=0.5)
    assert outcome.exit_code == 3, outcome.stderr
    assert "did not answer" in outcome.stderr and "no complete answer within 0.5s" in outcome.stderr
    assert outcome.wall_s < HANG_S  # catches a hang only: the message above says the deadline cut it
    # Still a report, so a nightly job keeps evidence that the target was unreachable.
    assert outcome.report["finished"] is False
    assert outcome.report["incomplete_reason"].startswith("target unreachable")
    outcome.assert_no_token()


def test_target_that_stops_answering_after_preflight_fails_timely_and_robustness(
    serve: Serve, run_cli: RunCli
) -> None:
    server = serve(after_preflight(never_answer))
    outcome = run_cli(server.base_url, checks=CHECKS, timeout=0.5)
    assert outcome.exit_code == 1, outcome.stdout + outcome.stderr
    verdicts = outcome.verdicts()
    assert verdicts["timely"] == "fail"
    # A request never answered (after one retry) gets no documented answer: STOP-ROBUST, a MUST. It says
    # nothing about whether PUT is the operation, so that stays undecided rather than failed.
    assert verdicts["no-server-error"] == "fail"
    assert verdicts["operation"] == "inconclusive"
    assert outcome.report["finished"] is True
    assert outcome.wall_s < HANG_S  # each unanswered request cut at 0.5 s; the server would hold it forever
    outcome.assert_no_token()


def test_trickled_headers_are_cut_by_the_total_deadline(serve: Serve, run_cli: RunCli) -> None:
    server = serve(trickle)
    outcome = run_cli(server.base_url, checks=CHECKS, timeout=0.5)
    assert outcome.exit_code == 3
    assert "no complete answer within 0.5s" in outcome.stderr
    # The per-read timeout alone would never fire (a byte comes every 20 ms); the head takes over an hour.
    assert outcome.wall_s < HANG_S
    outcome.assert_no_token()


def test_trickle_after_preflight_is_judged_not_timely(serve: Serve, run_cli: RunCli) -> None:
    server = serve(after_preflight(trickle))
    outcome = run_cli(server.base_url, checks=CHECKS, timeout=0.5)
    assert outcome.exit_code == 1
    assert outcome.verdicts()["timely"] == "fail"
    assert outcome.wall_s < HANG_S
    outcome.assert_no_token()


def test_oversized_body_is_capped_fast(serve: Serve, run_cli: RunCli) -> None:
    sent: list[int] = []
    server = serve(oversized(sent))
    outcome = run_cli(server.base_url, checks=CHECKS, timeout=5)
    assert outcome.exit_code == 1
    assert outcome.wall_s < HANG_S  # catches a hang only; `sent` below shows the cap
    assert outcome.verdicts()["error-envelope"] == "fail"
    failure = next(c for c in outcome.report["checks"] if c["check"] == "error-envelope")["failures"][0]
    assert "cut off" in failure["received"]
    server.stop()
    # The client hung up long before 50 MB (what is left was in flight in the socket buffers).
    assert sent and max(sent) < BIG // 4
    outcome.assert_no_token()


def test_oversized_body_keeps_memory_bounded(serve: Serve) -> None:
    sent: list[int] = []
    server = serve(oversized(sent))

    async def one() -> tuple[int, int, bool]:
        client = Client(server.base_url, Redactor([]), request_timeout=5)
        try:
            result = await client.send("PUT", "/v2/p/taskgroups/g/stop")
        finally:
            await client.aclose()
        return result.status or 0, len(result.body), result.truncated

    tracemalloc.start()
    try:
        status, size, truncated = asyncio.run(one())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (status, size, truncated) == (400, MAX_BODY, True)
    assert peak < 8 * MAX_BODY + 4 * 1024 * 1024, f"peak {peak} bytes while reading a 50 MB answer"


def test_envelope_still_judged_normally(serve: Serve, run_cli: RunCli) -> None:
    """Control: a well-behaved answer through the same helpers conforms."""
    server = serve(answer(response(400, ENVELOPE)))
    outcome = run_cli(server.base_url, checks=CHECKS)
    assert outcome.exit_code == 0, outcome.stdout
    assert outcome.report["verdict"] == "CONFORMS ON WHAT RAN"
    outcome.assert_no_token()
