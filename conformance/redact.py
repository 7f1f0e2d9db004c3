"""Redaction: secrets never leave the process.

Every Exchange is redacted once, when the runner stores it, so reports, logs and curl lines can print any
field as it is. A secret is replaced wherever it appears - verbatim, percent-encoded, or as the signature in
an ``Authorization`` header - by a placeholder that a replay reads from the environment (``$OMS_TOKEN``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from urllib.parse import quote

_SIGNATURE = re.compile(r"(Signature=)[0-9A-Fa-f]+")
# Shorter values are too likely to occur by chance ("1", "ok") to be replaced everywhere.
_MIN_SECRET_LENGTH = 4


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


class Redactor:
    def __init__(self, secrets: Iterable[tuple[str, str]] = ()) -> None:
        """``secrets``: (value, placeholder) pairs, e.g. (token, "$OMS_TOKEN")."""
        self._forms: dict[str, str] = {}
        self._pairs: list[tuple[str, str]] = []
        for value, placeholder in secrets:
            self.add(value, placeholder)

    def add(self, value: str, placeholder: str) -> None:
        """Redact ``value`` too from now on: for values derived from a secret while a run goes on (the
        look-alike tokens of checks/lookalike.py are all but copies of the valid one)."""
        if not value or len(value) < _MIN_SECRET_LENGTH:
            return
        for form in echo_forms(value):
            self._forms.setdefault(form, placeholder)
        # Longest first, so a secret that contains another is replaced whole.
        self._pairs = sorted(self._forms.items(), key=lambda item: -len(item[0]))

    def text(self, value: str) -> str:
        for secret, placeholder in self._pairs:
            if secret in value:
                value = value.replace(secret, placeholder)
        return _SIGNATURE.sub(r"\1***", value)

    def headers(self, headers: Iterable[tuple[str, str]]) -> dict[str, str]:
        return {name: self.text(value) for name, value in headers}

    def contains_secret(self, value: str) -> bool:
        return any(secret in value for secret, _ in self._pairs)
