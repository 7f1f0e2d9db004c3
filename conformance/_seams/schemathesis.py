"""Schemathesis: the coverage phase outside its runner, and what a generated case says about itself.

Why private: Schemathesis's public Python API draws Hypothesis cases (``APIOperation.as_strategy``) but has
no public way to iterate the coverage phase's cases, nor to ask a case which parameter it is about and
which ones a negative case made invalid - the fuzz check needs both (a negated token is sent as it is, a
negated project id is judged against STOP-PROJECT-LEN). Both are read here from the internals Schemathesis's
own runner uses: ``BaseSchema.iter_coverage_cases`` with a ``generation.coverage.GenerationSession``, and
``case.meta`` (``generation.mode``, ``phase.data.parameter``/``description``/``mutations``). Anything
missing raises :class:`~conformance._seams.SeamChanged`; nothing falls back to "no parameter".
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from conformance._seams import SeamChanged


@dataclass(frozen=True)
class CaseFacts:
    """What a generated case says about itself."""

    negative: bool
    parameter: str | None  # the one parameter the case is about, when its phase names one
    negated: tuple[str, ...]  # negative cases: every parameter made invalid, in Schemathesis's order
    description: str  # the coverage scenario's description, or "" for a Hypothesis case


def coverage_cases(schema: Any, operation: Any) -> Iterator[Any]:
    """The coverage phase's cases for ``operation``, positive and negative, as Schemathesis's runner
    has them."""
    from schemathesis import GenerationMode
    from schemathesis.generation.coverage import GenerationSession

    config = schema.config.generation_for(operation=operation, phase="coverage")
    return iter(
        schema.iter_coverage_cases(
            operation,
            generation_modes=list(GenerationMode),
            generation_config=config,
            session=GenerationSession(),
        )
    )


def facts(case: Any) -> CaseFacts:
    try:
        meta = case.meta
        negative = meta.generation.mode.value == "negative"
        data = meta.phase.data
        parameter = data.parameter
        description = data.description or ""
        negated: list[str] = []
        if negative:
            named = [parameter] if parameter is not None else []
            named += [mutation.parameter for mutation in data.mutations if mutation.parameter is not None]
            negated = list(dict.fromkeys(named))
    except AttributeError as exc:
        what = f"a generated case no longer describes itself as expected ({exc})"
        raise SeamChanged("schemathesis", what) from exc
    return CaseFacts(negative=negative, parameter=parameter, negated=tuple(negated), description=description)


@functools.cache
def checked() -> None:
    """:func:`check`, once a process (generation calls it before drawing)."""
    check()


def check() -> None:
    """The internals above are where and what this module expects, or :class:`SeamChanged`."""
    try:
        from schemathesis import BaseSchema
        from schemathesis.core.mutations import Mutation
        from schemathesis.generation.coverage import GenerationSession
        from schemathesis.generation.meta import CaseMetadata, CoveragePhaseData, FuzzingPhaseData
    except ImportError as exc:
        raise SeamChanged("schemathesis", f"an internal module moved ({exc})") from exc
    needed = {
        CoveragePhaseData: {"description", "parameter", "mutations"},
        FuzzingPhaseData: {"description", "parameter", "mutations"},
        Mutation: {"parameter"},
        CaseMetadata: {"generation", "phase"},
    }
    for kind, names in needed.items():
        missing = names - {field.name for field in dataclasses.fields(kind)}
        if missing:
            raise SeamChanged("schemathesis", f"{kind.__name__} has no {', '.join(sorted(missing))}")
    coverage = inspect.signature(BaseSchema.iter_coverage_cases).parameters
    if not {"generation_modes", "generation_config", "session"} <= set(coverage):
        raise SeamChanged("schemathesis", "BaseSchema.iter_coverage_cases takes other arguments")
    GenerationSession()
