"""Redaction: secrets never leave the process.

Every Exchange is redacted once, when the runner stores it, so reports, logs and curl lines can print any
field as it is. A secret is replaced wherever it appears - verbatim, percent-encoded, in part (any run of 16
of its characters), or as the signature in an ``Authorization`` header - by a placeholder that a replay reads
from the environment (``$OMS_TOKEN``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from urllib.parse import quote

_SIGNATURE = re.compile(r"(Signature=)[0-9A-Fa-f]+")
# Shorter values are too likely to occur by chance ("1", "ok") to be replaced everywhere.
_MIN_SECRET_LENGTH = 4
# A run of this many characters of a secret is the secret leaking: servers echo parts of what they refuse
# (aiohttp's 400 to a too-long header line repeats its first 100 characters), and a run this long of a
# random credential occurs nowhere by chance. Shorter secrets are found whole only.
SECRET_RUN = 16
_BLOCK = SECRET_RUN // 2
# Values up to this long are indexed when given (a credential is); longer ones when a text may hold them.
_INDEX_AT_ONCE = 512


def tampered(token: str) -> str:
    """The token with its middle character changed: well-formed but not valid. It is all but a copy of the
    secret, so it is redacted like one. (Not the last character: in base64 that may carry only padding bits
    a decoder ignores, which could leave the token valid and make a correct server look faulty.)"""
    middle = len(token) // 2
    return token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]


def echo_forms(value: str) -> tuple[str, ...]:
    """The forms an echo of ``value`` may take: as sent, percent-encoded, escaped inside a JSON string."""
    return (
        value,
        quote(value, safe=""),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        json.dumps(value)[1:-1].replace("/", "\\/"),
    )


class SecretRuns:
    """Where a text holds a run of ``SECRET_RUN`` or more characters of any of some values.

    A run of 16 characters starting anywhere covers a whole 8-character block aligned at a multiple of 8,
    so only those blocks are looked up (in the set of the values' 8-character windows) and only around a
    hit are the 16-character windows compared: a text of n characters costs about n/8 lookups, which is
    what lets every answer of a run be searched for every secret of it.
    """

    def __init__(self, values: Iterable[tuple[str, str]] = ()) -> None:
        """``values``: (value, label) pairs; :meth:`spans` names each run by its value's label."""
        self._runs: dict[str, str] = {}
        self._blocks: set[str] = set()
        # Values not indexed yet, in the order given. Indexing costs about ten operations per character of a
        # value, and the fuzz check sends thousands of tokens, many kilobytes long, each searched for in
        # one short answer: a long value is indexed only once a text holds one of its 8-character blocks.
        self._pending: list[tuple[str, str]] = []
        for value, label in values:
            self.add(value, label)

    def add(self, value: str, label: str) -> None:
        if len(value) < SECRET_RUN:  # a shorter value holds no run
            return
        if len(value) <= _INDEX_AT_ONCE and not self._pending:  # in order: none given earlier waits
            self._index(value, label)
        else:
            self._pending.append((value, label))

    def _index(self, value: str, label: str) -> None:
        for start in range(len(value) - SECRET_RUN + 1):
            self._runs.setdefault(value[start : start + SECRET_RUN], label)
        self._blocks.update(value[start : start + _BLOCK] for start in range(len(value) - _BLOCK + 1))

    def _index_what_text_may_hold(self, text: str) -> None:
        """Index every pending value up to the last one that holds an aligned block of ``text`` (a run of
        SECRET_RUN characters covers one): a prefix in the order given, so that of two values sharing a
        run the first given names it, as if all were indexed at once."""
        blocks = {text[b : b + _BLOCK] for b in range(0, len(text) - _BLOCK + 1, _BLOCK)}
        last = max(
            (i for i, (value, _) in enumerate(self._pending) if any(b in value for b in blocks)), default=-1
        )
        for value, label in self._pending[: last + 1]:
            self._index(value, label)
        del self._pending[: last + 1]

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """The maximal spans of ``text`` made of such runs, in order, each with the label of its first."""
        found: list[tuple[int, int, str]] = []
        if len(text) < SECRET_RUN:
            return found  # holds no run: most header values of an answer, looked at for every answer
        if self._pending:
            self._index_what_text_may_hold(text)
        if not self._runs:
            return found
        for block in range(0, len(text) - _BLOCK + 1, _BLOCK):
            if text[block : block + _BLOCK] not in self._blocks:
                continue
            for start in range(max(0, block + _BLOCK - SECRET_RUN), block + 1):
                label = self._runs.get(text[start : start + SECRET_RUN])
                if label is None:
                    continue
                if found and start <= found[-1][1]:
                    first, end, first_label = found[-1]
                    found[-1] = (first, max(end, start + SECRET_RUN), first_label)
                else:
                    found.append((start, start + SECRET_RUN, label))
        return found

    def longest(self, text: str) -> int:
        """The length of the longest such span in ``text`` (0: none)."""
        return max((end - start for start, end, _ in self.spans(text)), default=0)

    def replace(self, text: str) -> str:
        """``text`` with each span replaced by its label."""
        for start, end, label in reversed(self.spans(text)):
            text = text[:start] + label + text[end:]
        return text


class Redactor:
    def __init__(self, secrets: Iterable[tuple[str, str]] = ()) -> None:
        """``secrets``: (value, placeholder) pairs, e.g. (token, "$OMS_TOKEN")."""
        self._forms: dict[str, str] = {}
        self._pairs: list[tuple[str, str]] = []
        self._runs = SecretRuns()  # what is left of a secret cut short: a run of SECRET_RUN characters
        for value, placeholder in secrets:
            self.add(value, placeholder)

    def add(self, value: str, placeholder: str) -> None:
        """Redact ``value`` too from now on: for values derived from a secret while a run goes on (the
        look-alike tokens of checks/lookalike.py are all but copies of the valid one)."""
        if not value or len(value) < _MIN_SECRET_LENGTH:
            return
        for form in echo_forms(value):
            if form not in self._forms:
                self._forms[form] = placeholder
                self._runs.add(form, placeholder)
        # Longest first, so a secret that contains another is replaced whole.
        self._pairs = sorted(self._forms.items(), key=lambda item: -len(item[0]))

    def text(self, value: str) -> str:
        for secret, placeholder in self._pairs:
            if secret in value:
                value = value.replace(secret, placeholder)
        return _SIGNATURE.sub(r"\1***", self._runs.replace(value))

    def headers(self, headers: Iterable[tuple[str, str]]) -> dict[str, str]:
        return {name: self.text(value) for name, value in headers}

    def contains_secret(self, value: str) -> bool:
        return any(secret in value for secret, _ in self._pairs) or bool(self._runs.spans(value))
