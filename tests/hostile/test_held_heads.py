"""Long heads go out as a network delivers them: their last bytes held back a moment (transport/h1.py
``write_request``), so a server's limit on an unfinished head acts every time, not by where segments fall.

Shown on a real uvicorn with its h11 protocol - what uvicorn runs when installed without its [standard]
extras, as FastAPI's users commonly do - and its default ``--h11-max-incomplete-event-size`` (16 KiB): it
refuses the page's legal 16,384-character token with its own plain-text 400 once more than 16 KiB of the
head has arrived before its end. Written in one loopback write, the same head arrives whole and passes.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn

from conformance.options import RunOptions
from conformance.results import RunResult, Verdict
from conformance.runner.engine import execute
from conformance.server.background import bind, run_server
from conformance.spec import load_requirements
from conformance.target import parse_target
from conformance.transport import h1, keepalive
from tests.suite.model import Model, target_data


@contextmanager
def uvicorn_h11(max_incomplete: int | None = None) -> Iterator[str]:
    """The suite's correct model on uvicorn's h11 protocol, with uvicorn's defaults - but for its limit on
    an unfinished head, ``max_incomplete`` bytes when given."""
    sock, base_url = bind("127.0.0.1", 0)
    config = uvicorn.Config(Model(), http="h11", ws="none", lifespan="off", log_config=None, access_log=False)
    if max_incomplete is not None:
        config.h11_max_incomplete_event_size = max_incomplete
    server = uvicorn.Server(config)
    thread = threading.Thread(target=run_server, args=(server, sock), daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "uvicorn did not start"
        time.sleep(0.001)
    try:
        yield base_url
    finally:
        server.should_exit = True
        thread.join(5)
        sock.close()


def token_length(base_url: str) -> RunResult:
    options = RunOptions(seed=1, checks=["token-length"], reruns=0, request_timeout=5.0)
    return asyncio.run(execute(parse_target(target_data(base_url)), options))


def token_len(result: RunResult) -> tuple[Verdict, list[str], list[str]]:
    (check,) = [c for c in result.checks if c.check == "token-length"]
    catalogue = load_requirements()
    verdict = next(
        rv.verdict for rv in result.requirements(catalogue) if rv.requirement.id == "STOP-TOKEN-LEN"
    )
    written = [e.written for f in check.failures for e in f.evidence]
    return verdict, [f"{f.title}\n{f.text()}" for f in check.failures], written


def test_uvicorns_default_h11_limit_refuses_the_legal_token_when_the_head_arrives_in_pieces() -> None:
    with uvicorn_h11() as base_url:
        verdict, failures, written = token_len(token_length(base_url))
    assert verdict is Verdict.FAIL
    (failure,) = [f for f in failures if "16384 characters did not reach the application" in f]
    assert "400 text/plain" in failure, failure
    # The evidence says how the request went out.
    assert any(w.startswith("in two writes: the first ") for w in written), written


def test_in_one_write_the_same_head_passes_so_the_hold_is_what_shows_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(h1, "HOLD_ABOVE", 1 << 30)  # every head in one write, as before
    with uvicorn_h11() as base_url:
        verdict, failures, _ = token_len(token_length(base_url))
    assert verdict is Verdict.PASS, failures


def test_uvicorn_with_room_for_the_legal_token_conforms() -> None:
    with uvicorn_h11(max_incomplete=64 * 1024) as base_url:
        verdict, failures, _ = token_len(token_length(base_url))
    assert verdict is Verdict.PASS, failures


Writes = list[tuple[bool, int, str]]  # (a negative case's, head length, how it was written) per request


def fuzz_heads(base_url: str, monkeypatch: pytest.MonkeyPatch) -> tuple[RunResult, Writes]:
    """A quick fuzz run, and each head it wrote."""
    from conformance.checks import fuzz

    writes: Writes = []
    negative = contextvars.ContextVar("negative", default=False)
    send_and_judge, write = fuzz._send_and_judge, h1.write_request

    async def marked(ctx: Any, case: Any, *args: Any) -> None:
        negative.set(case.negated is not None)  # in the case's own task (machinery/ordered.py)
        await send_and_judge(ctx, case, *args)

    async def recorded(conn: h1.Connection, head: bytes, rest: bytes) -> str:
        written = await write(conn, head, rest)
        writes.append((negative.get(), len(head), written))
        return written

    monkeypatch.setattr(fuzz, "_send_and_judge", marked)
    monkeypatch.setattr(keepalive, "write_request", recorded)
    options = RunOptions(seed=1, checks=["fuzz"], reruns=0, request_timeout=5.0, max_examples=25)
    return asyncio.run(execute(parse_target(target_data(base_url)), options)), writes


def test_fuzz_sends_negative_cases_whole_and_still_finds_the_limit_with_the_legal_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A negative case's long head goes in one write (checks/fuzz.py ``_sent``: any refusal of it is
    right, and a limit refusing it first could only hide a 2xx), a legal one's is held back: the fuzz still
    finds uvicorn's limit on the coverage phase's legal 16,384-character token."""
    with uvicorn_h11() as base_url:
        result, writes = fuzz_heads(base_url, monkeypatch)
    long_negative = [written for negative, length, written in writes if negative and length > h1.HOLD_ABOVE]
    long_legal = [written for negative, length, written in writes if not negative and length > h1.HOLD_ABOVE]
    assert long_negative and all(written == "" for written in long_negative), long_negative
    assert long_legal and all(written.startswith("in two writes") for written in long_legal), long_legal
    (check,) = [c for c in result.checks if c.check == "fuzz"]
    titles = [f.title for f in check.failures]
    assert [t for t in titles if "did not reach the application" in t and "X-Auth-Token" in t], titles
    assert all("200 for a request" not in t for t in titles), titles
