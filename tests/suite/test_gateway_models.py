"""What a gateway in front of a correct application does to the verdict, modelled in-process (the real
nginx runs in tests/gateway/): a front server's refusal of "%00" is not the application's answer; a header
limit and a rewritten path are real findings whose messages name the gateway as the likely cause.
"""

from __future__ import annotations

import pytest

from conformance.results import RunResult, Verdict

from .model import variant
from .test_catalogue import run_suite, verdicts


def messages(result: RunResult, requirement: str) -> list[str]:
    return [f.text() for c in result.checks for f in c.failures if f.requirement == requirement]


@pytest.mark.parametrize("huawei", [False, True], ids=["strict", "huawei"])
def test_a_front_server_refusing_an_encoded_nul_itself_conforms(huawei: bool) -> None:
    result = run_suite(variant(nul_refused_in_front=True, huawei=huawei), huawei=huawei)
    failing = {rid: v for rid, v in verdicts(result).items() if v in (Verdict.FAIL, Verdict.FLAKY)}
    assert not failing, [f"{f.requirement}: {f.text()}" for c in result.checks for f in c.failures]


def test_error_pages_in_html_still_fail_the_envelope_with_a_front_server_refusing_nul() -> None:
    result = run_suite(variant(nul_refused_in_front=True, html_errors=True))
    assert verdicts(result)["STOP-ERROR-ENVELOPE"] is Verdict.FAIL


@pytest.mark.parametrize("status", [400, 431, 494])
def test_a_header_limit_fails_the_long_token_and_names_the_limit(status: int) -> None:
    # 400 is how nginx answers it (an HTML "Request Header Or Cookie Too Large"), 494 its own code.
    result = run_suite(variant(header_limit=8192, header_limit_status=status))
    assert verdicts(result)["STOP-TOKEN-LEN"] is Verdict.FAIL
    found = messages(result, "STOP-TOKEN-LEN")
    assert found and all("header-size limit" in m and "large_client_header_buffers" in m for m in found)


def test_a_404_for_an_empty_segment_says_a_normalising_proxy_may_have_rewritten_the_path() -> None:
    result = run_suite(variant(empty_segment_404=True))
    found = messages(result, "STOP-GROUP-LEN")
    assert found and all("normalises paths" in m and "empty segment" in m for m in found), found
