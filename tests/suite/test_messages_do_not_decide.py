"""No verdict depends on the text of a message: rewriting every transport error message changes no verdict
and no exit-relevant field (outcomes are typed; the text is for display)."""

from __future__ import annotations

import pytest

from conformance.transport import http

from .model import variant
from .test_catalogue import run_suite, verdicts

MODELS = {
    "hangs on an id with a space": {"hang_on_space": True},
    "crashes on an encoded slash": {"crash_on_encoded_slash": True},
    "conforms": {},
}


@pytest.mark.parametrize("name", list(MODELS))
def test_rewriting_every_error_message_changes_no_verdict(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = run_suite(variant(**MODELS[name]), timeout=0.3)
    monkeypatch.setattr(http, "describe_failure", lambda outcome, detail, timeout: "xyzzy")
    rewritten = run_suite(variant(**MODELS[name]), timeout=0.3)
    assert verdicts(rewritten) == verdicts(plain)
    assert (rewritten.stop_reason, rewritten.finished) == (plain.stop_reason, plain.finished)
    assert {c.check: c.verdict for c in rewritten.checks} == {c.check: c.verdict for c in plain.checks}
    errors = {e.error for c in rewritten.checks for f in c.failures for e in f.evidence if e.error}
    assert errors <= {"xyzzy"}
