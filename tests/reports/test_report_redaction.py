"""Redaction holds for any token: put it into a run's evidence the way the runner does, render every format,
and it appears in none of them - neither verbatim nor in the encodings the writers use."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conformance.reports import ALL_FORMATS, render
from tests.reports.sample_runs import DEFAULT_TOKEN, sample_run

# What every format renders for a run whose token is the default: a token that occurs in it anyway (say
# "requirement") could not be told apart from a leak.
_REFERENCE = {
    profile: "\n".join(render(sample_run(profile, token=DEFAULT_TOKEN), fmt) for fmt in ALL_FORMATS)
    for profile in ("strict", "huawei")
}

tokens = st.text(
    alphabet=st.one_of(
        st.sampled_from(string.ascii_letters + string.digits + string.punctuation + " "),
        st.characters(categories=["L", "N", "P", "S"]),
    ),
    min_size=8,
    max_size=200,
).filter(str.isprintable)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(token=tokens, profile=st.sampled_from(["strict", "huawei"]))
def test_no_token_survives_into_any_report(token: str, profile: str) -> None:
    assume(token not in _REFERENCE[profile])
    run = sample_run(profile, token=token)
    for fmt in ALL_FORMATS:
        text = render(run, fmt, secrets=[token])  # the writers' own guard agrees: it does not raise
        assert token not in text, fmt


def test_the_sample_really_carries_the_token_before_redaction() -> None:
    # Guard against a vacuous property: the sample echoes the token in a body and a URL, which the Redactor
    # must replace, and the placeholder is what the reports show.
    run = sample_run("strict", token="tok-" + "x" * 20)
    echo = next(c for c in run.checks if c.check == "no-credential-echo").failures[0].evidence[0]
    assert "$OMS_TOKEN" in echo.response_body and "$OMS_TOKEN" in echo.url
    assert echo.request_headers["X-Auth-Token"] == "$OMS_TOKEN"
    assert '"X-Auth-Token: $OMS_TOKEN"' in echo.curl
