"""Failures rolled up by cause: one group per (requirement, answer, error code, what the finding says).

A server that answers 500 to every hostile id produces dozens of failures that differ only in the id; a
reader needs "35 × HTTP 500 APIGW.0601 on STOP-ROBUST" and a few examples, not 35 cards. The HTML report and
``summary.md`` both group with :func:`rollup`, so the two always show the same groups and counts.

What a finding says is its fields: its stable title, which holds no per-input values (machinery/base.py
``Title``), and what it expected. Two failures alike in those say the same thing about different inputs.
A failure without fields (a run written before findings had them) is grouped by the *shape* of its text:
the text with the parts that vary between inputs replaced - numbers, quoted values, long hex or
base64-like runs (ids, tokens), percent-encoded bytes. The shape also names a transport error's kind.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from conformance.results import Exchange, Failure

EXAMPLES = 5  # examples a report shows for a group besides the first

# Order matters: quoted values first (they may hold numbers), then ids, then the numbers left over.
_SHAPES = (
    (re.compile(r"'[^'\n]*'|\"[^\"\n]*\""), "'…'"),
    (re.compile(r"%[0-9A-Fa-f]{2}"), "%XX"),
    (re.compile(r"\b[0-9a-fA-F-]{16,}\b|\b[A-Za-z0-9+/_=-]{24,}"), "<id>"),
    (re.compile(r"\d+(?:\.\d+)?"), "N"),
)


def shape(text: str) -> str:
    """``text`` with what varies between inputs blanked out, whitespace collapsed."""
    for pattern, replacement in _SHAPES:
        text = pattern.sub(replacement, text)
    return " ".join(text.split())


def error_code(exchange: Exchange | None) -> str:
    """The ``error_code`` of a JSON error body, or "" (no answer, no JSON, no code)."""
    if exchange is None or not exchange.response_body:
        return ""
    try:
        body = json.loads(exchange.response_body)
    except ValueError:
        return ""
    code = body.get("error_code") if isinstance(body, dict) else None
    return code if isinstance(code, str) else ""


def answer(exchange: Exchange | None) -> str:
    """What came back, as a group label: "HTTP 500", "no response (timeout)", or "" without evidence."""
    if exchange is None:
        return ""
    if exchange.status is not None:
        return f"HTTP {exchange.status}"
    return f"no response ({shape(exchange.error or 'unknown error')})"


@dataclass(frozen=True)
class Rollup:
    """Failures with one cause: the same requirement, answer, error code and finding (``says``)."""

    requirement: str
    answer: str
    error_code: str
    says: tuple[str, ...]  # (stable title, expected), or the text's shape for a failure without fields
    failures: tuple[Failure, ...]

    @property
    def count(self) -> int:
        return len(self.failures)

    @property
    def first(self) -> Failure:
        return self.failures[0]

    @property
    def checks(self) -> list[str]:
        """The checks that saw it, in the order they reported it."""
        return list(dict.fromkeys(f.check for f in self.failures))

    def examples(self, most: int = EXAMPLES) -> tuple[Failure, ...]:
        """Up to ``most`` failures after the first, each with another request where possible."""
        seen = {request_line(self.first)}
        chosen = []
        for failure in self.failures[1:]:
            line = request_line(failure)
            if line not in seen:
                seen.add(line)
                chosen.append(failure)
                if len(chosen) == most:
                    break
        return tuple(chosen)

    @property
    def label(self) -> str:
        """One line naming the cause: "HTTP 500 APIGW.0601: Server error on a legal id"."""
        head = " ".join(part for part in (self.answer, self.error_code) if part)
        return f"{head}: {self.first.title}" if head else self.first.title


def request_line(failure: Failure) -> str:
    """What to show as a failure's example: its curl line, else its request and answer, else its message."""
    if failure.curl:
        return failure.curl
    return failure.evidence[0].describe() if failure.evidence else failure.text()


def says(failure: Failure) -> tuple[str, ...]:
    """What a failure says, apart from its inputs: its finding's stable title and expectation."""
    if failure.cause:
        return (failure.cause, failure.expectation)
    return (shape(f"{failure.title}\n{failure.text()}"),)


def _key(failure: Failure) -> tuple[str, str, str, tuple[str, ...]]:
    first = failure.evidence[0] if failure.evidence else None
    return (failure.requirement, answer(first), error_code(first), says(failure))


def rollup(failures: Sequence[Failure]) -> list[Rollup]:
    """Groups of failures by cause, the largest first (ties: in the order they were found)."""
    groups: dict[tuple[str, str, str, tuple[str, ...]], list[Failure]] = {}
    for failure in failures:
        groups.setdefault(_key(failure), []).append(failure)
    ordered = sorted(groups.items(), key=lambda item: -len(item[1]))  # stable: first found first on ties
    return [Rollup(*key, failures=tuple(group)) for key, group in ordered]
