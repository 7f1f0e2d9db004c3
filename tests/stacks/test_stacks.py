"""Correct stop servers written from the page on real application stacks, deployed as a careful deployer
would, must conform completely; each with one harmful default of its stack put back must fail on the
requirement that default breaks (and otherwise only on the undocumented status it answers).

The servers (tests/stacks/*/) are written as users of each stack write them, not from our models: FastAPI on
uvicorn, Flask on gunicorn with three workers sharing SQLite, aiohttp, Express on Node, Go net/http, the
JDK's HttpServer. The target lists three pausable groups; one more pausable group is never listed, and
must still be pausable after the run. Each run takes 1-5 s (a JVM start adds one or two).
"""

from __future__ import annotations

import asyncio
import http.client
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conformance.options import RunOptions
from conformance.results import RunResult, Verdict
from conformance.runner.engine import execute
from conformance.spec import load_requirements
from conformance.target import parse_target

from ..suite.test_field_servers import problems
from .conftest import Ready
from .launch import StackServer
from .stacks import STACKS, launch

pytestmark = pytest.mark.slow
CATALOGUE = load_requirements()
# A stack's own refusal is also a status the page does not list, or a 400 without the envelope (aiohttp's).
OWN_ANSWER = {"STOP-DOCUMENTED-STATUS", "STOP-ERROR-ENVELOPE"}

# (stack, default put back) -> the requirements it breaks, each of which must fail.
HARMFUL = {
    # An id's %2F is a separator: 404; and {g}%2Fstop is routed as the stop of g (checks/joined_paths.py).
    ("fastapi", "decoded-routing"): {"STOP-ROBUST", "STOP-PATH-EXACT"},
    ("fastapi", "str-convertor"): {"STOP-GROUP-LEN", "STOP-PROJECT-LEN"},  # an empty id: 404
    ("flask", "limit-request-field-size"): {"STOP-TOKEN-LEN"},  # gunicorn's 431 to the legal token
    ("flask", "decoded-routing"): {"STOP-ROBUST", "STOP-PATH-EXACT"},
    ("flask", "string-converter"): {"STOP-GROUP-LEN", "STOP-PROJECT-LEN"},
    ("express", "max-http-header-size"): {"STOP-TOKEN-LEN"},  # Node's 431 to the legal token
    # 404 to %2F, 301 to "//", and r.URL.Path routes {g}%2Fstop as the stop of g.
    ("go", "servemux"): {"STOP-ROBUST", "STOP-GROUP-LEN", "STOP-PROJECT-LEN", "STOP-PATH-EXACT"},
    ("jdk", "decoded-path"): {"STOP-ROBUST", "STOP-PATH-EXACT"},
    # Legal 1,024-character ids of multi-byte characters (12 KiB each percent-encoded) refused in front of
    # the application: gunicorn's 414, aiohttp's own text/plain 400.
    ("flask", "limit-request-line"): {"STOP-GROUP-LEN", "STOP-PROJECT-LEN"},
    ("aiohttp", "max-line-size"): {"STOP-GROUP-LEN", "STOP-PROJECT-LEN"},
    # aiohttp's 400 to the legal token repeats the token's first 100 characters.
    ("aiohttp", "max-field-size"): {"STOP-TOKEN-LEN", "STOP-NO-ECHO"},
    # h11 refuses a head of which more than 16 KiB arrived before its end (the legal token's, held back):
    # uvicorn's own text/plain 400 "Invalid HTTP request received."
    ("fastapi", "h11-max-incomplete-event-size"): {"STOP-TOKEN-LEN"},
}

# Where a default's refusal comes from the stack in front of the application's code, every failure of the
# requirement it breaks names that layer (checks/machinery/layers.py): the user is told what to change.
LAYER = {
    ("flask", "limit-request-line"): "gunicorn",
    ("flask", "limit-request-field-size"): "gunicorn",
    ("aiohttp", "max-line-size"): "aiohttp",
    ("aiohttp", "max-field-size"): "aiohttp",
    ("fastapi", "h11-max-incomplete-event-size"): "uvicorn",
}


def run(server: StackServer) -> RunResult:
    target = parse_target(server.target_data())
    options = RunOptions(seed=11, request_timeout=5.0, reruns=0, settle_timeout=1.0, effect_hold=0.0)
    return asyncio.run(execute(target, options))


def stop_status(server: StackServer, group_id: str) -> int:
    """The status a stop of one of the seeded project's groups answers, with the valid token."""
    url = urlsplit(server.base_url)
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
    try:
        path = f"/v2/{server.seed.project}/taskgroups/{group_id}/stop"
        connection.request("PUT", path, headers={"X-Auth-Token": server.seed.token})
        return connection.getresponse().status
    finally:
        connection.close()


def failing(result: RunResult) -> set[str]:
    return {rv.requirement.id for rv in result.requirements(CATALOGUE) if rv.verdict is Verdict.FAIL}


@pytest.mark.parametrize("name", list(STACKS))
def test_a_correct_server_on_a_real_stack_conforms(name: str, stack_ready: Ready, tmp_path: Path) -> None:
    stack_ready(name)
    with launch(name, tmp_path) as server:
        result = run(server)
        unlisted = stop_status(server, server.seed.unlisted_group)
    assert problems(result) == [], server.output()
    assert result.complete(CATALOGUE), result.unverified(CATALOGUE)
    assert result.conforms(CATALOGUE)
    assert unlisted == 200, "the run paused a group the target did not list"


@pytest.mark.parametrize(("name", "default"), list(HARMFUL))
def test_a_harmful_default_of_the_stack_fails_on_the_requirement_it_breaks(
    name: str, default: str, stack_ready: Ready, tmp_path: Path
) -> None:
    stack_ready(name)
    with launch(name, tmp_path, [default]) as server:
        result = run(server)
    found = failing(result)
    assert HARMFUL[name, default] <= found, problems(result)
    assert found <= HARMFUL[name, default] | OWN_ANSWER, problems(result)
    if (name, default) in LAYER:
        broken = [f for c in result.checks for f in c.failures if f.requirement in HARMFUL[name, default]]
        layers = {f.layer for f in broken}
        assert layers and all(layer.startswith(LAYER[name, default]) for layer in layers), layers
    assert not result.conforms(CATALOGUE)


def test_every_harmful_default_a_test_puts_back_is_one_the_stack_declares() -> None:
    for name, default in HARMFUL:
        assert default in STACKS[name].defaults, (name, default)
    assert set(LAYER) <= set(HARMFUL)
