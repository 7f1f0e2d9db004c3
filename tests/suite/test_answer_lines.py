"""Every failure shows the answer's first bytes and the layer that answered (checks/machinery/layers.py), and
never a secret: the lines are made from the redacted evidence.
"""

from __future__ import annotations

from .model import OTHER_TOKEN, READONLY, TOKEN, variant
from .test_catalogue import run_suite


def test_failures_show_the_answer_and_the_layer_and_never_the_token() -> None:
    result = run_suite(variant(echo_token=True))
    messages = [f.text() for c in result.checks for f in c.failures]
    assert messages
    assert all("\nAnswer: " in m and "\nAnswered by: " in m for m in messages), messages
    # The server echoes every token it refuses: the answers of the run's own secrets show none of them.
    assert any("Answer: 40" in m and "is invalid" in m for m in messages)
    assert not any(secret in m for m in messages for secret in (TOKEN, OTHER_TOKEN, READONLY))
