"""Schemathesis-generated cases - coverage boundaries and Hypothesis fuzzing - judged by this contract.

Schemathesis generates; this module sends (through the one client and the safety guard) and judges with
expectations from the contract instead of generic defaults: with a valid credential a well-formed but
unknown group is legitimately refused with 400, so it is not "valid input rejected". The credential is
applied here, not by Schemathesis, so the token boundary cases it generates are kept.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from conformance.checks.context import CheckContext
from conformance.checks.oracles import INFRASTRUCTURE, describe_infrastructure
from conformance.checks.registry import scenario
from conformance.spec.documents import STOP_PATH

TOKEN = "X-Auth-Token"
REQUIREMENT_BY_PARAMETER = {
    "project_id": "STOP-PROJECT-LEN",
    "group_id": "STOP-GROUP-LEN",
    TOKEN: "STOP-TOKEN-LEN",
}
EXAMPLES = {"quick": 25, "full": 150}


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
    data = getattr(case.meta.phase, "data", None)
    scenario_name = getattr(getattr(data, "scenario", None), "value", "") or ""
    if case.method.upper() != "PUT":
        return None  # other methods are the other-methods check's (with state verification)
    parameter = getattr(data, "parameter", None)
    mode = getattr(case.meta.generation.mode, "value", "positive")
    headers = {k: v for k, v in (case.headers or {}).items()}
    token = next((v for k, v in headers.items() if k.lower() == TOKEN.lower()), None)
    extra = tuple((k, str(v)) for k, v in headers.items() if k.lower() != TOKEN.lower())
    path = case.path_parameters or {}
    negated = None
    if mode == "negative":
        negated = parameter or next(
            (name for name in REQUIREMENT_BY_PARAMETER if _component_negative(case, name)), None
        )
    varies_token = parameter == TOKEN or negated == TOKEN
    return GeneratedCase(
        source=source,
        description=getattr(data, "description", "") or scenario_name or mode,
        project_id=unquote(str(path.get("project_id", ""))),
        group_id=unquote(str(path.get("group_id", ""))),
        token=str(token) if token is not None else None,
        varies_token=varies_token,
        negated=negated,
        extra_headers=extra,
    )


def _component_negative(case: Any, name: str) -> bool:
    from schemathesis.generation.meta import negated_parameters

    try:
        return any(negated == name for negated, _location in negated_parameters(case))
    except Exception:
        return False


def generate(
    document: dict[str, Any], *, seed: int, examples: int, own_project: str | None = None
) -> Iterator[GeneratedCase]:
    """Coverage cases, then `examples` positive and negative Hypothesis cases, deterministic for `seed`.

    With ``own_project``, another `examples` positive cases keep the credential's own project id, so
    generated group ids reach the group lookup instead of stopping at the project check.
    """
    from schemathesis import GenerationMode
    from schemathesis.generation.coverage import GenerationSession

    schema = _schema(document)
    operation = schema[STOP_PATH]["PUT"]
    config = schema.config.generation_for(operation=operation, phase="coverage")
    for case in schema.iter_coverage_cases(
        operation,
        generation_modes=list(GenerationMode),
        generation_config=config,
        session=GenerationSession(),
    ):
        decoded = _decode(case, "coverage")
        if decoded:
            yield decoded
    plans: list[tuple[Any, dict[str, str] | None]] = [(GenerationMode.POSITIVE, None)]
    if own_project is not None:
        plans.append((GenerationMode.POSITIVE, {"project_id": own_project}))
    plans.append((GenerationMode.NEGATIVE, None))
    for mode, pinned in plans:
        for case in _draw(operation, mode, seed, examples, pinned):
            decoded = _decode(case, mode.value)
            if decoded:
                yield decoded


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


@scenario(
    "fuzz",
    requirements=[
        "STOP-ROBUST",
        "STOP-PROJECT-LEN",
        "STOP-GROUP-LEN",
        "STOP-TOKEN-LEN",
        "STOP-TOKEN-REQUIRED",
        "STOP-AUTHN",
        "STOP-AUTHZ",
        "STOP-PRECONDITION",
    ],
)
async def fuzz(ctx: CheckContext) -> None:
    """Schemathesis coverage and fuzzing cases, with expectations from this contract."""
    own = ctx.target.project.project_id
    seen: set[tuple[Any, ...]] = set()
    examples = ctx.max_examples or EXAMPLES.get(ctx.depth, 25)
    for case in generate(ctx.contract.document, seed=ctx.seed, examples=examples, own_project=own):
        key = (case.project_id, case.group_id, case.token if case.varies_token else None, case.extra_headers)
        if key in seen:
            continue
        seen.add(key)
        uses_credential = not case.varies_token
        if uses_credential and case.project_id == own and not ctx.guard.allows_generated(case.group_id):
            continue  # could address a real or listed group (transport/safety.py)
        if uses_credential and case.project_id != own and ctx.guard.is_listed(case.group_id):
            continue
        headers = list(case.extra_headers)
        if case.varies_token and case.token is not None:
            headers.append((TOKEN, case.token))
        sent = await ctx.stop(
            case.group_id, project_id=case.project_id, credential=uses_credential, headers=headers
        )
        status = sent.result.status
        label = f"{case.source} case ({case.description})"
        if (
            case.varies_token
            and case.negated is None
            and (status in INFRASTRUCTURE or "html" in sent.result.content_type)
        ):
            ctx.fail(
                "STOP-TOKEN-LEN",
                f"A legal token did not reach the application: {label}",
                f"Received: {status}{describe_infrastructure(sent)}\nExpected: the application's refusal",
                sent,
            )
            continue
        if status == 200:
            requirement = (
                REQUIREMENT_BY_PARAMETER.get(case.negated or "", "")
                or ("STOP-AUTHN" if case.varies_token else "")
                or ("STOP-AUTHZ" if case.project_id != own else "STOP-PRECONDITION")
            )
            if case.negated == TOKEN and case.token is None:
                requirement = "STOP-TOKEN-REQUIRED"
            ctx.fail(
                requirement,
                f"200 for a request that cannot pause anything: {label}",
                "Received: 200\nExpected: a refusal - "
                + (
                    "the request is invalid"
                    if case.negated
                    else "the token is not valid"
                    if case.varies_token
                    else "no such group in the credential's project"
                ),
                sent,
            )
        elif status is not None and 200 < status < 300:
            ctx.fail(
                "STOP-ROBUST",
                f"Unexpected {status}: {label}",
                f"Received: {status}\nExpected: 400 or 403",
                sent,
            )
