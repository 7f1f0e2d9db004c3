"""The fuzz check's cases (checks/fuzz.py): Schemathesis's coverage phase, decoded, and positive and negative
cases drawn from the contract's own constraints (machinery/negative.py reads them).

Generation is split into plans - the coverage phase, then chunks of positive cases (each also in the
credential's own project) and of negative cases - each a pure function of (document, seed, example count,
own project), so that machinery/corpus.py can run them in worker processes or read them from a cache and
still send exactly the cases a plain in-process ``generate`` gives.

That takes one correction: Hypothesis mixes literals found in the process's *local* modules into what it
draws, so the cases of a seed would depend on what happened to be imported. While generating, the drawing
thread sees none (:func:`conformance._seams.hypothesis.seed_only`): the seed and the document alone decide.
What Schemathesis offers no public API for - the coverage phase, and what a case says about itself - is read
through :mod:`conformance._seams.schemathesis`, which fails loudly rather than guess when it changes. The
positive and negative cases need no seam: they are drawn with Hypothesis's public API.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from conformance.checks.machinery import negative
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


def _keep_hypothesis_storage_out_of_cwd() -> None:
    """Hypothesis keeps a cache directory, by default ``.hypothesis`` in the working directory: keep it out
    of the user's. Here, in every process that draws (the run's, each worker process, whichever plan it
    draws first), so that its caches (Unicode tables) are also built once a machine, not in every new
    working directory, as a benchmark's or a CI job's is."""
    import tempfile  # with the generator, not at every run's start (it imports random, shutil, bz2, lzma)

    os.environ.setdefault(
        "HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(tempfile.gettempdir(), "oms-conformance-hypothesis")
    )


def warm_up() -> None:
    """What a worker process does before its first plan, done ahead (corpus.start_workers): the imports
    and the set-up every plan needs (the coverage phase imports Schemathesis besides, when it is drawn)."""
    _keep_hypothesis_storage_out_of_cwd()
    from conformance._seams import hypothesis as hypothesis_seam

    hypothesis_seam.known_utf8_table()


def _schema(profile_document: dict[str, Any]) -> Any:
    import schemathesis
    from schemathesis import Config

    return schemathesis.openapi.from_dict(profile_document, config=Config())


def _decode(case: Any, source: str) -> GeneratedCase | None:
    if case.method.upper() != "PUT":
        return None  # other methods are the other-methods check's (with state verification)
    from conformance._seams import schemathesis as schemathesis_seam

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


POSITIVE, NEGATIVE = "positive", "negative"  # the plans' modes (Schemathesis's names for them)
CHUNK = 500  # Hypothesis examples per plan at most: a deep corpus is drawn in pieces, side by side


def plans_for(examples: int) -> tuple[str, ...]:
    """The plans of a corpus, in sending order: the coverage phase, then the positive and the negative
    Hypothesis draws in chunks of ``CHUNK`` examples ("positive:0", ... "negative:0", ...).

    Chunks let a deep corpus use every core evenly (machinery/corpus.py) and start sending after the first
    chunk rather than after a whole mode (~1 ms of CPU a case). Their number depends on ``examples`` only,
    never on the machine, so a seed gives the same cases everywhere.
    """
    chunks = max(1, -(-examples // CHUNK))
    return ("coverage", *(f"{mode}:{i}" for mode in (POSITIVE, NEGATIVE) for i in range(chunks)))


def _chunk(plan: str, seed: int, examples: int) -> tuple[str, int, int]:
    """A chunk's mode, seed and example count; chunk 0 of a one-chunk corpus draws with the seed itself."""
    mode, _, index = plan.partition(":")
    i, chunks = int(index), max(1, -(-examples // CHUNK))
    share = examples // chunks + (1 if i < examples % chunks else 0)
    return mode, seed + i * 2**32, share  # a seed of its own per chunk, the same in every process


def generate_plan(
    document: dict[str, Any], plan: str, *, seed: int, examples: int, own_project: str | None = None
) -> list[GeneratedCase]:
    """One plan's cases, deterministic for ``seed``: a function of its arguments only, so it may run in
    a worker process (machinery/corpus.py) and give what it gives in this one. The seams (and with them
    Hypothesis, and Schemathesis for the coverage phase) are imported when a plan is drawn, not by every run
    that lists fuzz."""
    warm_up()
    from conformance._seams import hypothesis as hypothesis_seam

    with hypothesis_seam.seed_only():
        return _generate_plan(document, plan, seed=seed, examples=examples, own_project=own_project)


def _generate_plan(
    document: dict[str, Any], plan: str, *, seed: int, examples: int, own_project: str | None
) -> list[GeneratedCase]:
    if plan == "coverage":
        from conformance._seams import schemathesis as schemathesis_seam

        schemathesis_seam.checked()
        schema = _schema(document)
        coverage = schemathesis_seam.coverage_cases(schema, schema[STOP_PATH]["PUT"])
        return [decoded for case in coverage if (decoded := _decode(case, "coverage"))]
    mode, chunk_seed, share = _chunk(plan, seed, examples)
    if mode == NEGATIVE:
        return _negative_cases(document, chunk_seed, share, own_project)
    cases = _positive_cases(document, chunk_seed, share)
    if own_project is not None:
        cases += _with_own_project(cases, own_project)
    return cases


def _positive_cases(document: dict[str, Any], seed: int, examples: int) -> list[GeneratedCase]:
    """``examples`` distinct positive cases: every parameter valid by the contract (machinery/negative.py
    reads its limits), each request drawn once. The token is left out: a positive case sends the
    credential, so a token varied here would only make duplicates (token cases are the coverage phase's
    0/1/16384/16385 boundaries and the negative cases').

    Drawn here rather than by Schemathesis's positive mode, which built and validated its strategies per
    draw (~1.7 ms of CPU an example: the largest part of a cold deep fuzz once the negative cases were
    drawn here) from the same value space: this contract's parameters have a type and lengths only, and
    negative.Parameter refuses any other constraint, so a contract that adds one fails loudly.
    """
    params = tuple(p for p in negative.parameters(document) if p.name != TOKEN)
    return _distinct_cases(lambda draw: _positive_case(draw, params), seed, examples)


def _positive_case(draw: negative.Draw, params: tuple[negative.Parameter, ...]) -> GeneratedCase:
    values = {p.name: negative.valid_value(draw, p) for p in params}
    return GeneratedCase(
        source=POSITIVE,
        description=POSITIVE,
        project_id=values.get("project_id", ""),
        group_id=values.get("group_id", ""),
        token=None,
        varies_token=False,
        negated=None,
        extra_headers=tuple((p.name, values[p.name]) for p in params if p.location == "header"),
    )


def _with_own_project(cases: list[GeneratedCase], own_project: str) -> list[GeneratedCase]:
    """The positive cases again in the credential's own project, so generated group ids reach the group
    lookup instead of stopping at the project check. Drawn once and pinned here rather than drawn a second
    time with the project fixed: the same group ids, tokens and headers, for a third of the drawing."""
    return [
        dataclasses.replace(case, project_id=own_project, description=f"{case.description}, own project")
        for case in cases
        if case.project_id != own_project
    ]


def generate(
    document: dict[str, Any], *, seed: int, examples: int, own_project: str | None = None
) -> Iterator[GeneratedCase]:
    """Coverage cases, then `examples` positive and negative Hypothesis cases, deterministic for `seed`.

    With ``own_project``, the positive cases come again with the credential's own project id.
    """
    for plan in plans_for(examples):
        yield from generate_plan(document, plan, seed=seed, examples=examples, own_project=own_project)


def _given(strategy: Any, seed: int, examples: int, body: Callable[[Any], None]) -> None:
    """``body`` called with ``examples`` values of ``strategy`` (fewer if Hypothesis runs out of new
    ones), drawn by Hypothesis's public ``@given`` in its generate phase only: no example database, no
    shrinking, no deadline, and the seed alone decides what is drawn."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed

    @hseed(seed)
    @settings(
        max_examples=examples,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(value=strategy)
    def collect(value: Any) -> None:
        body(value)

    collect()


def _negative_cases(
    document: dict[str, Any], seed: int, examples: int, own_project: str | None
) -> list[GeneratedCase]:
    """``examples`` distinct negative cases (machinery/negative.py): an even share for each violation the
    contract allows, taking turns, each case drawn once - a repeat is rejected and Hypothesis draws
    another instead."""
    params = negative.parameters(document)
    turns = negative.violations(params)
    shares = (
        [examples // len(turns) + (i < examples % len(turns)) for i in range(len(turns))] if turns else []
    )
    # One Hypothesis run per violation: what a run draws must follow from its choices alone, so the
    # violation cannot be picked by turns inside one run; the runs are interleaved afterwards.
    drawn = [_cases_of(v, params, seed, share, own_project) for v, share in zip(turns, shares, strict=True)]
    return [case for turn in itertools.zip_longest(*drawn) for case in turn if case is not None]


def _cases_of(
    violation: negative.ParameterViolation,
    params: tuple[negative.Parameter, ...],
    seed: int,
    examples: int,
    own_project: str | None,
) -> list[GeneratedCase]:
    return _distinct_cases(lambda draw: _negative_case(draw, violation, params, own_project), seed, examples)


def _distinct_cases(
    draw_case: Callable[[negative.Draw], GeneratedCase], seed: int, examples: int
) -> list[GeneratedCase]:
    """Up to ``examples`` cases drawn by ``draw_case`` in one seeded Hypothesis run, each request once: a
    repeat is rejected and Hypothesis draws another instead."""
    from hypothesis import assume
    from hypothesis import strategies as st

    cases: list[GeneratedCase] = []
    seen: set[tuple[Any, ...]] = set()

    def keep_new(case: GeneratedCase) -> None:
        key = case_key(case)
        assume(key not in seen)
        seen.add(key)
        cases.append(case)

    # A composite rather than st.data(): each st.data() draw is wrapped in checks of the global random
    # state (~13 % of the negative plan's CPU, measured).
    strategy = st.composite(draw_case)()
    if examples:
        _given(strategy, seed, examples, keep_new)
    return cases


def _negative_case(
    draw: negative.Draw,
    violation: negative.ParameterViolation,
    params: tuple[negative.Parameter, ...],
    own_project: str | None,
) -> GeneratedCase:
    from hypothesis import strategies as st

    values: dict[str, str | None] = {}
    description = ""
    for p in params:
        if p is violation.parameter:
            values[p.name], description = negative.invalid_value(draw, violation)
        elif p.name == "project_id" and own_project is not None and draw(st.booleans()):
            values[p.name] = own_project
        elif p.name == TOKEN:
            values[p.name] = None  # a valid token is the credential's: the case sends that instead
        else:
            values[p.name] = negative.valid_value(draw, p)
    # Header parameters besides the token (this contract has none) go as they are; a missing one is left out.
    headers = [(p.name, values[p.name]) for p in params if p.location == "header" and p.name != TOKEN]
    taken = {p.name.lower() for p in params}
    about_token = violation.parameter.name == TOKEN
    return GeneratedCase(
        source="negative",
        description=description,
        project_id=values.get("project_id") or "",
        group_id=values.get("group_id") or "",
        token=values.get(TOKEN) if about_token else None,
        varies_token=about_token,
        negated=violation.parameter.name,
        extra_headers=(*((k, v) for k, v in headers if v is not None), *negative.extra_header(draw, taken)),
    )


def case_key(case: GeneratedCase) -> tuple[Any, ...]:
    """What reaches the server: two cases with the same key are one request (the fuzz check sends it once)."""
    return (case.project_id, case.group_id, case.token if case.varies_token else None, case.extra_headers)
