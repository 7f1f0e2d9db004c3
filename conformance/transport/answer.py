"""An answer as the checks judge it (:class:`HttpResult`) and the evidence's renderings of a request: its
curl line and its headers shortened for reading. Built by the client (transport/http.py) for every way of
sending."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from conformance.results import Exchange
from conformance.transport.outcome import Outcome

NOT_JSON = object()  # HttpResult.json of a body that does not parse


@dataclass
class HttpResult:
    """An answer, unredacted: what the checks judge. ``exchange`` is the redacted evidence.

    ``body`` is the body as the application sent it: its content coding undone (``coding`` names it;
    ``coding_problem`` says why a body is still encoded, or where its encoding broke)."""

    status: int | None
    headers: list[tuple[str, str]]
    body: bytes
    truncated: bool
    elapsed_ms: float
    error: str | None  # display text of a failed exchange; branch on ``outcome``, never on this
    # The redacted evidence, or what makes it when :attr:`exchange` is first read (transport/http.py).
    evidence: Exchange | Callable[[], Exchange] = field(repr=False)
    outcome: Outcome = Outcome.ANSWERED
    coding: str = ""
    coding_problem: str = ""
    # The body came in a coding the client cannot undo (one it did not ask for): what the application sent
    # is unknown, so no check judges the body (the run says so in a note).
    body_unknown: bool = False

    @cached_property
    def exchange(self) -> Exchange:
        """The redacted evidence: the request, its curl line and what came back."""
        return self.evidence if isinstance(self.evidence, Exchange) else self.evidence()

    def header(self, name: str) -> str | None:
        """The first value of a singleton field (Content-Type, Retry-After), or None."""
        name = name.lower()
        return next((value for key, value in self.headers if key.lower() == name), None)

    def header_list(self, name: str) -> str | None:
        """A list-based field (Allow, Vary): all its field lines, joined as one (RFC 9110 §5.3)."""
        return header_list(self.headers, name.lower())

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").lower()

    @cached_property
    def json(self) -> object:
        """The body parsed as JSON - once, however many checks read it - or NOT_JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return NOT_JSON

    def json_field(self, name: str) -> object:
        """A field of a JSON object body; None when the body is no JSON object or lacks it."""
        return self.json.get(name) if isinstance(self.json, dict) else None


def curl_line(method: str, url: str, headers: dict[str, str]) -> str:
    """The exchange as a curl command line (headers redacted already; placeholders stay shell variables)."""
    parts = ["curl", "-sS", "-X", method, "--path-as-is"]
    for name, value in headers.items():
        if name.lower() in ("user-agent", "content-length"):
            continue
        if value.startswith("$OMS_") and " " not in value:
            parts += ["-H", f'"{name}: {value}"']  # double quotes so the shell expands the placeholder
            continue
        if len(value) > 64 and _one_character(value):  # a boundary value: rebuild it instead of printing it
            parts += ["-H", f"\"{name}: $(printf '%{len(value)}s' | tr ' ' {shlex.quote(value[0])})\""]
            continue
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    parts.append(shlex.quote(url))
    return " ".join(parts)


def header_list(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    """All the values of ``name``, joined as one list (RFC 9110 §5.3), or None."""
    values = [value for key, value in headers if key.lower() == name]
    return ", ".join(values) if values else None


def _one_character(value: str) -> bool:
    """A non-empty value of one repeated character (counted in C: a fuzzed token is up to 16 KiB long)."""
    return value.count(value[0]) == len(value)


def shorten(value: str) -> str:
    """Evidence keeps long boundary values readable: '<16384 x "0">' instead of the value."""
    if len(value) > 120:
        if _one_character(value):
            return f"<{len(value)} x {value[0]!r}>"
        return value[:60] + f"...<{len(value)} chars>"
    return value
