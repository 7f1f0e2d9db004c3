"""Schemathesis-generated cases, decoded into what the fuzz check sends (checks/fuzz.py).

Generation is split into plans - the coverage phase, positive cases, positive cases in the credential's own
project, negative cases - each a pure function of (document, seed, example count, own project), so that
checks/corpus.py can run them in worker processes or read them from a cache and still send exactly the
cases a plain in-process ``generate`` gives.

That takes one correction: Hypothesis mixes literals found in the process's *local* modules into what it
draws, so the cases of a seed would depend on what happened to be imported. While generating, the drawing
thread sees none (:func:`conformance._seams.hypothesis.seed_only`): the seed and the document alone decide.
What Schemathesis offers no public API for - the coverage phase, and what a case says about itself - is read
through :mod:`conformance._seams.schemathesis`, which fails loudly rather than guess when it changes.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from conformance._seams import hypothesis as hypothesis_seam
from conformance._seams import schemathesis as schemathesis_seam
from conformance.spec.documents import STOP_PATH

TOKEN = "X-Auth-Token"
REQUIREMENT_BY_PARAMETER = {
    "project_id": "STOP-PROJECT-LEN",
    "group_id": "STOP-GROUP-LEN",
    TOKEN: "STOP-TOKEN-LEN",
}


@dataclass(frozen=True)
class GeneratedCase:
    """What one Schemathesis case asks for, decoded: the values it varies and whether they are valid."""

    source: str  # "coverage" | "positive" | "negative"
    description: str
    project_id: str
    group_id: str
    token: str | None  # None: the case leaves the header out
    varies_token: bool  # the case is about the token: send its value, not the credential
    negated: str | None  # the parameter made invalid, for negative cases
    extra_headers: tuple[tuple[str, str], ...]


def _schema(profile_document: dict[str, Any]) -> Any:
    # Hypothesis keeps a cache directory; keep it out of the user's working directory.
    os.environ.setdefault(
        "HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(tempfile.gettempdir(), "oms-conformance-hypothesis")
    )
    import schemathesis
    from schemathesis import Config

    return schemathesis.openapi.from_dict(profile_document, config=Config())


def _decode(case: Any, source: str) -> GeneratedCase | None:
    if case.method.upper() != "PUT":
        return None  # other methods are the other-methods check's (with state verification)
    facts = schemathesis_seam.facts(case)
    headers = {k: v for k, v in (case.headers or {}).items()}
    token = next((v for k, v in headers.items() if k.lower() == TOKEN.lower()), None)
    extra = tuple((k, str(v)) for k, v in headers.items() if k.lower() != TOKEN.lower())
    path = case.path_parameters or {}
    negated = None
    if facts.negative:
        # The parameter the case is about; for a case that broke several, the first whose requirement a
        # 200 would violate (path parameters before the token: REQUIREMENT_BY_PARAMETER's order).
        first = next((name for name in REQUIREMENT_BY_PARAMETER if name in facts.negated), None)
        negated = facts.parameter or first
    varies_token = facts.parameter == TOKEN or TOKEN in facts.negated
    return GeneratedCase(
        source=source,
        description=facts.description or ("negative" if facts.negative else "positive"),
        project_id=unquote(str(path.get("project_id", ""))),
        group_id=unquote(str(path.get("group_id", ""))),
        token=str(token) if token is not None else None,
        varies_token=varies_token,
        negated=negated,
        extra_headers=extra,
    )


PLANS = ("coverage", "positive", "positive-own", "negative")


def plans_for(own_project: str | None) -> tuple[str, ...]:
    """The plans of a corpus, in sending order; "positive-own" only with an own project to pin."""
    return tuple(p for p in PLANS if p != "positive-own" or own_project is not None)


def generate_plan(
    document: dict[str, Any], plan: str, *, seed: int, examples: int, own_project: str | None = None
) -> list[GeneratedCase]:
    """One plan's cases, deterministic for ``seed``: a function of its arguments only, so it may run in
    a worker process (checks/corpus.py) and give what it gives in this one."""
    schemathesis_seam.checked()
    with hypothesis_seam.seed_only():
        return _generate_plan(document, plan, seed=seed, examples=examples, own_project=own_project)


def _generate_plan(
    document: dict[str, Any], plan: str, *, seed: int, examples: int, own_project: str | None
) -> list[GeneratedCase]:
    from schemathesis import GenerationMode

    schema = _schema(document)
    operation = schema[STOP_PATH]["PUT"]
    if plan == "coverage":
        coverage = schemathesis_seam.coverage_cases(schema, operation)
        return [decoded for case in coverage if (decoded := _decode(case, "coverage"))]
    mode = GenerationMode.NEGATIVE if plan == "negative" else GenerationMode.POSITIVE
    pinned = {"project_id": own_project} if plan == "positive-own" and own_project is not None else None
    drawn = _draw(operation, mode, seed, examples, pinned)
    return [decoded for case in drawn if (decoded := _decode(case, mode.value))]


def generate(
    document: dict[str, Any], *, seed: int, examples: int, own_project: str | None = None
) -> Iterator[GeneratedCase]:
    """Coverage cases, then `examples` positive and negative Hypothesis cases, deterministic for `seed`.

    With ``own_project``, another `examples` positive cases keep the credential's own project id, so
    generated group ids reach the group lookup instead of stopping at the project check.
    """
    for plan in plans_for(own_project):
        yield from generate_plan(document, plan, seed=seed, examples=examples, own_project=own_project)


def _draw(
    operation: Any, mode: Any, seed: int, examples: int, pinned: dict[str, str] | None = None
) -> list[Any]:
    """``examples`` Hypothesis cases in ``mode``; the seed alone decides them (no example database)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed

    drawn: list[Any] = []

    @hseed(seed)
    @settings(
        max_examples=examples,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=pinned))
    def collect(case: Any) -> None:
        drawn.append(case)

    collect()
    return drawn
