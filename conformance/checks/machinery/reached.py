"""Did a legal value reach the application? The rule the length checks judge their legal values by.

The page limits ids to 1..1,024 *characters* and the token to 16,384. Clients send an id percent-encoded as
UTF-8, so a legal id of 4-byte characters is 12,288 bytes of request line, and stacks and fronts meet such
values with limits of their own (gunicorn's 4,094-byte request line, aiohttp's and Apache's 8,190, nginx's
8 KiB header buffers, uvicorn's 16 KiB incomplete head, Node's 16 KiB of headers). Whatever layer refuses
a legal value, and however - a 413, 414, 431 or 494, an HTML or plain-text 400, a close before any answer -
the application never saw it, and the parameter's length requirement fails.

What "reached the application" means observably: the answer is the one the application gives. A legal
value of maximal length must get what a short one of the same parameter gets (both are unknown ids, or both
invalid tokens), so each check sends the short value first and compares: the contract's error envelope, or
the same status and media type as the short value's answer, is the application's answer; a 413/414/431/494
(limits, never the application's statuses here), a close, or an answer of another shape than the short
value's is not. An application that answers every error in plain text gets the same plain text for both
(its envelope is STOP-ERROR-ENVELOPE's finding, not a length failure); a front layer's refusal differs.
"""

from __future__ import annotations

import re

from conformance.checks.machinery.base import Sent
from conformance.checks.oracles import INFRASTRUCTURE, error_envelope_problem
from conformance.transport.http import Outcome

# One character of each UTF-8 width the page's limit in characters allows: é (2 bytes), 中 (3), 😀 (4).
WIDE_CHARACTERS = ("é", "中", "\U0001f600")


def wide_value(length: int, character: str) -> str:
    """An id of ``length`` copies of ``character``: not UUID-shaped, so it names no real group or project."""
    return character * length


_UNRESERVED = re.compile(r"[A-Za-z0-9\-._~]+")  # RFC 3986 section 2.3: sent as they are


def encoded_bytes(value: str) -> int:
    """How many bytes ``value`` takes percent-encoded in a path: 1 per unreserved character, 3 per UTF-8 byte
    of any other (the fuzz check counts this for thousands of ids of up to 1,024 characters)."""
    escaped = _UNRESERVED.sub("", value)
    return len(value) - len(escaped) + 3 * len(escaped.encode())


def _media(sent: Sent) -> str:
    return sent.result.content_type.split(";", 1)[0].strip()


def not_reached(sent: Sent, reference: Sent | None) -> str | None:
    """Why the answer to a legal value shows it never reached the application, or None.

    ``reference``: the answer to a short legal value of the same parameter, sent just before (None when
    there is none: then only a limit status, an HTML page or a close tell).
    """
    result = sent.result
    if result.outcome is Outcome.DROPPED:
        return "the connection was closed before any answer"
    status = result.status
    if status is None:
        return None  # no answer in time: the hang rules judge it (machinery/hang_budget.py, timely)
    if status in INFRASTRUCTURE:
        return f"{status} {INFRASTRUCTURE[status]}"
    if error_envelope_problem(sent) is None:
        return None  # the contract's envelope: the application's own answer
    shape = f"{status} {_media(sent) or 'without a content type'}"
    if reference is None or reference.result.status is None:
        return f"{shape} (an HTML page)" if "html" in result.content_type else None
    if (status, _media(sent)) == (reference.result.status, _media(reference)):
        return None  # what the short value got: the application answers so
    return f"{shape}, where a short value got {reference.result.status} {_media(reference) or '(none)'}"
