"""Redaction holds for any secret; the safety guard never lets a generated id address a real group."""

from __future__ import annotations

import string
from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from conformance.redact import Redactor, SecretRuns
from conformance.spec.paths import encode_segment, stop_path
from conformance.transport.answer import curl_line
from conformance.transport.safety import SafetyGuard

secrets = st.text(alphabet=string.ascii_letters + string.digits + "-_.~+/=%", min_size=4, max_size=300)


@given(token=secrets, prefix=st.text(max_size=50), suffix=st.text(max_size=50))
def test_a_redacted_text_never_contains_the_secret(token: str, prefix: str, suffix: str) -> None:
    redactor = Redactor([(token, "$OMS_TOKEN")])
    for text in (prefix + token + suffix, prefix + quote(token, safe="") + suffix):
        redacted = redactor.text(text)
        assert token not in redacted.replace("$OMS_TOKEN", "")
        assert not redactor.contains_secret(redacted.replace("$OMS_TOKEN", ""))


def test_authorization_signatures_are_hidden() -> None:
    redactor = Redactor()
    header = "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature=0123abcdef"
    assert redactor.text(header) == "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature=***"


def test_curl_line_reads_the_token_from_the_environment() -> None:
    redactor = Redactor([("s3cr3t-token", "$OMS_TOKEN")])
    headers = redactor.headers([("X-Auth-Token", "s3cr3t-token"), ("X-Long", "0" * 16384)])
    line = curl_line("PUT", "http://127.0.0.1:1/v2/p/taskgroups/g/stop", headers)
    assert '-H "X-Auth-Token: $OMS_TOKEN"' in line
    assert "s3cr3t" not in line and "0" * 100 not in line
    assert "printf '%16384s'" in line


def test_curl_line_rebuilds_only_a_value_of_one_repeated_character() -> None:
    almost = "0" * 8000 + "1" + "0" * 8000  # its one other character would be lost in a printf
    line = curl_line("PUT", "http://127.0.0.1:1/v2/p/taskgroups/g/stop", {"X-Long": almost})
    assert "printf" not in line and almost in line


def test_segments_stay_one_segment() -> None:
    assert stop_path("p", "a/b") == "/v2/p/taskgroups/a%2Fb/stop"
    assert encode_segment("..") == "%2E%2E" and encode_segment(".") == "%2E"
    assert stop_path("", "") == "/v2//taskgroups//stop"
    assert encode_segment("100%") == "100%25"


def test_guard_refuses_uuid_shaped_and_listed_ids() -> None:
    guard = SafetyGuard({"listed-1"}, seed=5)
    assert not guard.allows_generated("157ece42-3270-4824-a3d2-f0187a03ca01")
    assert not guard.allows_generated("157ECE4232704824A3D2F0187A03CA01")
    assert not guard.allows_generated("listed-1")
    assert guard.allows_generated("zzzz")
    minted = guard.mint()
    assert guard.allows_generated(minted) and minted != guard.mint()
    assert guard.skipped == 3
    assert SafetyGuard(set(), seed=5).mint() == minted  # the same seed mints the same ids


@given(token=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FF), min_size=4, max_size=60))
def test_json_escaped_echoes_are_redacted(token: str) -> None:
    import json

    redactor = Redactor([(token, "$OMS_TOKEN")])
    body = json.dumps({"error_msg": f"token {token} is invalid"})
    # Without the placeholders the redactor put in: a token such as 'OMS_' is part of '$OMS_TOKEN' itself.
    redacted = redactor.text(body).replace("$OMS_TOKEN", "\0")
    assert token not in redacted
    assert json.dumps(token)[1:-1] not in redacted


def test_the_tampered_token_is_redacted_too() -> None:
    from conformance.redact import tampered
    from conformance.runner.config import secrets_of
    from conformance.target import parse_target

    target = parse_target({"base_url": "http://x.test", "project_id": "p", "token": "oms-sandbox-token-main"})
    redactor = Redactor(secrets_of(target))
    bad = tampered("oms-sandbox-token-main")
    assert bad != "oms-sandbox-token-main" and len(bad) == len("oms-sandbox-token-main")
    assert redactor.text(f"X-Auth-Token: {bad}") == "X-Auth-Token: $OMS_TOKEN_TAMPERED"


@given(
    token=st.text(alphabet=string.ascii_letters + string.digits + "+/=", min_size=16, max_size=400),
    data=st.data(),
)
def test_any_run_of_sixteen_characters_of_a_secret_is_redacted(token: str, data: st.DataObject) -> None:
    """A server that echoes part of a credential (aiohttp: a line's first 100 characters) leaks the part:
    no run of 16 of its characters survives redaction, wherever it is cut."""
    start = data.draw(st.integers(0, len(token) - 16))
    end = data.draw(st.integers(start + 16, len(token)))
    redactor = Redactor([(token, "$OMS_TOKEN")])
    redacted = redactor.text(f"Got more than 8190 bytes: b'{token[start:end]}'...")
    assert not SecretRuns([(token, "")]).spans(redacted)
    assert "$OMS_TOKEN" in redacted and redacted.startswith("Got more than 8190 bytes: b'")


def test_secret_runs_find_every_run_and_only_runs() -> None:
    token = "".join(chr(0x41 + (i * 7) % 26) + str(i % 10) for i in range(40))  # no 16-run repeats
    runs = SecretRuns([(token, "T")])
    text = "a" * 5 + token[3:19] + "-" + token[30:45] + "+" + token[50:80]
    assert [(s, e) for s, e, _ in runs.spans(text)] == [(5, 21), (38, 68)]  # 15 characters are no run
    assert runs.replace(text) == "a" * 5 + "T" + "-" + token[30:45] + "+" + "T"
    assert SecretRuns().spans(text) == [] and runs.longest("nothing here") == 0


def test_a_run_two_secrets_share_is_named_by_the_first_given_whichever_text_comes_first() -> None:
    # Long values are indexed when a text first may hold them (checks/oracles.py searches thousands of
    # fuzzed tokens): the label must still be the first given's, as if every value had been indexed at once.
    shared = "".join(chr(0x41 + (i * 7) % 26) for i in range(24))
    first, second = shared + "x" * 1000, "y" * 1000 + shared + "".join(chr(0x61 + i) for i in range(20))
    runs = SecretRuns([(first, "FIRST"), (second, "SECOND")])
    assert runs.spans("nothing of either") == []
    assert runs.spans(f"<{second[-18:]}>") == [(1, 19, "SECOND")]  # only the second holds this run
    assert runs.spans(f"<{shared}>") == [(1, 25, "FIRST")]
