"""The reference server behind Debian's nginx, run as a user runs the suite: what a real gateway does to the
verdict (issue 19, part 5).

- Tuned as operators tune it in front of an API (gzip on JSON, 1 s keep-alive, 5 answers a connection, 32k
  header buffers, the request URI passed up as sent): the deployment is correct and must CONFORM, with no
  failure and no inconclusive requirement.
- nginx's defaults behind ``proxy_pass`` with a URI part: nginx refuses the legal 16,384-character token
  itself (8k header buffers) and forwards a normalised path (merged slashes, decoded %2F, resolved dot
  segments). Those are real findings on the deployment - the application is not asked what the client
  asked - and each must say that a gateway is the likely cause; no semantic requirement is blamed.

Each run takes seconds: the default fixtures, ``quick`` depth, one seed.
"""

from __future__ import annotations

import pytest

from conformance.options import RunOptions
from conformance.results import RunResult, Verdict
from conformance.runner.session import run_suite
from conformance.spec import load_requirements
from conformance.target import Target

from .conftest import Gateway
from .nginx import DEFAULTS_WITH_URI, STAMP_REQUEST_ID, TUNED

pytestmark = pytest.mark.slow

# What nginx's defaults may fail, and why each is real: the legal long token never reaches the application
# (STOP-TOKEN-LEN) and nginx's own HTML page answers it (STOP-ERROR-ENVELOPE); a path nginx rewrote reaches
# the application as another route - 404 for an empty id (STOP-GROUP-LEN, STOP-PROJECT-LEN), for an encoded
# slash or a dot segment (STOP-ROBUST) - and legal long ids exceed its 8k request line (414); neither is a
# documented status (STOP-DOCUMENTED-STATUS).
GATEWAY_FINDINGS = {
    "STOP-TOKEN-LEN",
    "STOP-ERROR-ENVELOPE",
    "STOP-GROUP-LEN",
    "STOP-PROJECT-LEN",
    "STOP-ROBUST",
    "STOP-DOCUMENTED-STATUS",
    "STOP-PATH-EXACT",  # nginx decodes %2F before it forwards: a joined path reaches the app as the stop
}


def run(target: Target) -> RunResult:
    return run_suite(target, RunOptions(seed=7))


def failing(result: RunResult) -> dict[str, list[str]]:
    """Failing requirements and their distinct messages (the evidence's URLs with them)."""
    found: dict[str, list[str]] = {}
    for rv in result.requirements(load_requirements()):
        if rv.verdict in (Verdict.FAIL, Verdict.FLAKY):
            messages = {
                f"{f.title}: {f.text()} [{f.evidence[0].url if f.evidence else ''}]" for f in rv.failures
            }
            found[rv.requirement.id] = sorted(messages)
    return found


def inconclusive(result: RunResult) -> dict[str, str]:
    return {rid: why for check in result.checks for rid, why in check.inconclusive.items()}


@pytest.mark.parametrize("profile", ["strict", "huawei"])
def test_the_reference_server_behind_nginx_tuned_as_operators_tune_it_conforms(
    behind_nginx: Gateway, profile: str
) -> None:
    block = TUNED if profile == "strict" else STAMP_REQUEST_ID + TUNED
    result = run(behind_nginx(profile, block))
    catalogue = load_requirements()
    assert result.finished, result.incomplete_reason
    found = failing(result)
    assert not found, "\n".join(f"{rid}: {m}" for rid, messages in found.items() for m in messages)
    assert inconclusive(result) == {}
    assert result.complete(catalogue), result.unverified(catalogue)
    assert result.headline(catalogue) == "CONFORMS"
    assert result.status_counts.get("error", 0) == 0, result.status_counts


def test_behind_nginx_defaults_the_long_token_fails_for_the_gateway_header_limit(
    behind_nginx: Gateway,
) -> None:
    result = run(behind_nginx("strict", DEFAULTS_WITH_URI))
    assert result.finished, result.incomplete_reason
    found = failing(result)
    assert "STOP-TOKEN-LEN" in found, found
    for message in found["STOP-TOKEN-LEN"]:
        # nginx answers 400 "Request Header Or Cookie Too Large" as an HTML page: the finding names the limit
        # (limits-inside names the length at which it begins, found by bisection).
        named = "header-size limit" in message or "X-Auth-Token over 8,1" in message
        assert named and "large_client_header_buffers" in message, message
    # The path nginx normalised: an empty segment merged, %2F decoded, dot segments resolved; and the legal
    # 1,024-character ids of 3- and 4-byte characters (9 and 12 KiB percent-encoded), over its 8 KiB buffers.
    assert "STOP-GROUP-LEN" in found and "STOP-ROBUST" in found, found
    too_long = [m for rid in ("STOP-GROUP-LEN", "STOP-PROJECT-LEN") for m in found.get(rid, []) if "414" in m]
    assert {m.split(" (")[0] for m in too_long} >= {
        "A legal group_id of 1024 3-byte characters",
        "A legal group_id of 1024 4-byte characters",
    }, too_long
    for rid in ("STOP-GROUP-LEN", "STOP-PROJECT-LEN", "STOP-ROBUST"):
        for message in found.get(rid, []):
            assert "normalises paths" in message or "414 URI Too Long" in message, message
    assert any("proxy_pass" in m for m in found["STOP-PATH-EXACT"]), found["STOP-PATH-EXACT"]
    # Every finding names what in front of the application likely caused it.
    for rid, found_messages in found.items():
        for message in found_messages:
            assert "proxy" in message or "gateway" in message, (rid, message)
    # Nothing beyond what the gateway did: no authentication, authorisation, precondition, effect,
    # concurrency or success requirement is blamed.
    assert set(found) <= GATEWAY_FINDINGS, {rid: found[rid] for rid in set(found) - GATEWAY_FINDINGS}
    assert result.headline(load_requirements()) == "DOES NOT CONFORM"
