"""The requirement catalogue and the errata, read from ``openapi/requirements.yaml`` and ``errata.yaml``.

Checks and reports refer to requirements by ID only; this module is the one place that knows the files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from conformance.errors import SpecError
from conformance.spec import files
from conformance.textfile import read_yaml

ID_PATTERN = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")
LEVELS = ("MUST", "SHOULD", "MAY")


@dataclass(frozen=True)
class Requirement:
    id: str
    title: str
    level: str
    profiles: tuple[str, ...]
    statement: str
    source: dict[str, Any] = field(repr=False)

    @property
    def source_text(self) -> str:
        return str(self.source.get("text", ""))

    @property
    def source_ref(self) -> str:
        """Where the sentence stands: the page's section, the RFC, or the platform notes."""
        kind = self.source.get("kind", "")
        if kind == "page":
            return f"source page, {self.source.get('section', '?')}"
        if kind == "rfc":
            return str(self.source.get("ref", "RFC"))
        if kind == "platform":
            return "platform (oms-facts)"
        return "derived from " + ", ".join(self.source.get("from", []))

    @property
    def severity(self) -> str:
        """How a failure of it is reported: a MUST failure is an error, a SHOULD or MAY one a warning."""
        return "error" if self.level == "MUST" else "warning"

    def applies_to(self, profile: str) -> bool:
        return profile in self.profiles


@dataclass(frozen=True)
class Erratum:
    id: str
    title: str
    quote: str
    section: str
    problem: str
    resolution: str
    requirements: tuple[str, ...]


def _read(name: str) -> Any:
    return read_yaml(files.contract_dir() / name, "contract file", SpecError, shipped=True)


@cache
def load_requirements() -> dict[str, Requirement]:
    """The catalogue by ID, in file order; raises SpecError if an entry is malformed."""
    catalogue: dict[str, Requirement] = {}
    for entry in _read(files.REQUIREMENTS)["requirements"]:
        rid = entry.get("id", "")
        problems = []
        if not ID_PATTERN.match(rid):
            problems.append("ID must be upper case words joined by hyphens")
        if rid in catalogue:
            problems.append("ID is used twice")
        if entry.get("level") not in LEVELS:
            problems.append(f"level must be one of {LEVELS}")
        if not entry.get("source", {}).get("text"):
            problems.append("source.text (the sentence it comes from) is missing")
        if problems:
            raise SpecError(f"requirement {rid!r}: " + "; ".join(problems))
        catalogue[rid] = Requirement(
            id=rid,
            title=entry["title"],
            level=entry["level"],
            profiles=tuple(entry["profiles"]),
            statement=" ".join(entry["statement"].split()),
            source=entry["source"],
        )
    return catalogue


@cache
def load_errata() -> tuple[Erratum, ...]:
    return tuple(
        Erratum(
            id=e["id"],
            title=e["title"],
            quote=e["quote"],
            section=e["section"],
            problem=" ".join(e["problem"].split()),
            resolution=" ".join(e["resolution"].split()),
            requirements=tuple(e.get("requirements", [])),
        )
        for e in _read(files.ERRATA)["errata"]
    )
