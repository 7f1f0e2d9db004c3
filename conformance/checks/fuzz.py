"""Schemathesis-generated cases - coverage boundaries and Hypothesis fuzzing - judged by this contract.

Schemathesis generates (machinery/generation.py, off the critical path: machinery/corpus.py); this module
sends (through the one client and the safety guard) and judges with expectations from the contract instead
of generic defaults: with a valid credential a well-formed but unknown group is legitimately refused with
400, so it is not "valid input rejected". The credential is applied here, not by Schemathesis, so the token
boundary cases it generates are kept.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

from conformance.checks.machinery.base import Finding, Sent, Title
from conformance.checks.machinery.context import CheckContext, HangingClass
from conformance.checks.machinery.generation import REQUIREMENT_BY_PARAMETER, TOKEN, case_key, plans_for
from conformance.checks.machinery.ordered import each_in_order
from conformance.checks.machinery.reached import encoded_bytes, not_reached
from conformance.checks.machinery.registry import scenario
from conformance.checks.oracles import describe_infrastructure
from conformance.spec.paths import is_dot_segment
from conformance.transport.h1 import HOLD_ABOVE, whole_heads
from conformance.transport.safety import SafetyGuard

if TYPE_CHECKING:
    from conformance.checks.machinery.generation import GeneratedCase
    from conformance.target import Project

EXAMPLES = {"quick": 25, "full": 150}


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
    """Schemathesis coverage and positive cases, negative cases drawn from the contract's constraints
    (machinery/negative.py), with expectations from this contract."""
    from conformance.checks.machinery.corpus import corpus  # its worker processes: only when the check runs

    own = ctx.target.project.project_id
    credential = _credential_length(ctx.target.project)
    seen: set[tuple[Any, ...]] = set()
    shorts: dict[Any, Sent] = {}  # the first answer to a legal case of short values, by kind
    dots = 0
    examples = ctx.max_examples or EXAMPLES.get(ctx.depth, 25)
    generated = corpus(ctx.contract.document, seed=ctx.seed, examples=examples, own_project=own)
    plans_left = len(plans_for(examples))  # until the last arrives, what is planned is planned so far

    async def in_sending_order() -> AsyncGenerator[GeneratedCase]:
        nonlocal dots, plans_left
        async for plan in generated:
            plans_left -= 1
            ctx.recorder.planning = plans_left > 0
            cases = []
            for case in plan:
                key = case_key(case)
                if key in seen:
                    continue
                seen.add(key)
                if is_dot_segment(case.project_id) or is_dot_segment(case.group_id):
                    dots += 1  # no client can send it as an id (spec/paths.py is_dot_segment)
                elif may_send(case, ctx.guard):
                    cases.append(case)
            ctx.recorder.planned = (ctx.recorder.planned or 0) + len(cases)
            cases.sort(key=lambda case: sending_order(case, credential))
            for case in cases:
                yield case

    # a check that stops early stops the generation too
    async with contextlib.aclosing(generated), contextlib.aclosing(in_sending_order()) as cases:
        # Independent requests: sent --concurrency at a time, judged in this order (machinery/ordered.py) -
        # a plan's first cases while the last plan's last are still out.
        await each_in_order(cases, lambda case: _send_and_judge(ctx, case, own, shorts), ctx.concurrency)
    if dots:
        ctx.note(
            f"fuzz: {dots} generated cases with an id of `.` or `..` were not sent: RFC 3986 section "
            "6.2.2 removes such path segments, so a stack or proxy that normalises them (Go's ServeMux "
            "answers 301) is right and the id cannot reach the operation"
        )


def may_send(case: GeneratedCase, guard: SafetyGuard) -> bool:
    """Whether the safety guard (transport/safety.py) lets a generated case go out.

    A case with the credential may not name a group that is listed or looks real - under *any* project id,
    not only the own: a server that ignores the path's project (finds a group by its id alone, or takes
    the project from the token) pauses the group a stop names whatever project the path says, so the page's
    example group id under a generated project id is as unsafe as under the own. A negative case is held to
    the same rule whatever token it sends: this tool drew it (machinery/negative.py), and a server that
    ignored a broken or missing token - what STOP-AUTHN and STOP-TOKEN-REQUIRED look for - must still find no
    group to pause.
    """
    guarded = not case.varies_token or case.source == "negative"
    return guard.allows_generated(case.group_id) if guarded else True


def _requirement(case: GeneratedCase, own: str) -> str:
    """The requirement a case decides: what its 200 would violate."""
    if case.negated == TOKEN and case.token is None:
        return "STOP-TOKEN-REQUIRED"
    return (
        REQUIREMENT_BY_PARAMETER.get(case.negated or "", "")
        or ("STOP-AUTHN" if case.varies_token else "")
        or ("STOP-AUTHZ" if case.project_id != own else "STOP-PRECONDITION")
    )


# Values of at most this many characters (ids: bytes percent-encoded) meet no HTTP server's or proxy's limit
# (the smallest in use are 4 KiB): a legal case made of such values is what a long one is compared with.
SHORT = 256


def sending_order(case: GeneratedCase, credential: int) -> int:
    """0 for a case of short values, 1 for one with a value over ``SHORT``, 2 for a legal one whose head is
    likely held back as a network delivers it (transport/h1.py; a negative case goes whole: :func:`_sent`);
    ``credential``: the characters the valid credential adds to a head (a cloud's IAM token is kilobytes
    long).

    A plan's cases go in this order (a stable sort: otherwise the plan's). Two reasons. A long legal value is
    judged against the answer a short legal value got (machinery/reached.py wants the short one sent first),
    which is then there. And a held head waits ``HOLD_S`` (20 ms) before its last bytes: answers are
    delivered in order with at most --concurrency requests out (machinery/ordered.py), so a held case stalls
    the ones behind it. Spread through a plan (one case in four), they went out one at a time; side by side
    at its end, --concurrency of them wait at once. The order is a function of the plan alone: a seed gives
    the same requests in the same order."""
    if _long_parameter(case) is None:
        return 0
    if case.negated is not None:
        return 1
    token = (len(case.token) if case.token is not None else 0) if case.varies_token else credential
    extra = sum(len(name) + len(value) for name, value in case.extra_headers)
    head = token + encoded_bytes(case.group_id) + encoded_bytes(case.project_id) + extra + HEAD_BESIDE_VALUES
    return 2 if head > HOLD_ABOVE else 1


def _credential_length(project: Project) -> int:
    """About how many characters the valid credential adds to a head: a token, or an AK/SK signature (~200)
    and its security token."""
    if project.token:
        return len(project.token)
    return 200 + len(project.aksk.security_token or "") if project.aksk else 0


# What a stop's head holds besides the ids and the token (the rest of the request line, Host, the client's
# own fields): an estimate, erring long, for sending_order only.
HEAD_BESIDE_VALUES = 600


def _long_parameter(case: GeneratedCase) -> str | None:
    """The parameter of a legal case long enough for a limit to act on, or None."""
    if case.varies_token and case.token is not None and len(case.token) > SHORT:
        return TOKEN
    sizes = {"group_id": encoded_bytes(case.group_id), "project_id": encoded_bytes(case.project_id)}
    name = max(sizes, key=lambda key: sizes[key])
    return name if sizes[name] > SHORT else None


def _refused_before_the_application(
    ctx: CheckContext, case: GeneratedCase, sent: Sent, label: str, shorts: dict[Any, Sent], own: str
) -> bool:
    """A legal case with a long value that never reached the application (machinery/reached.py) fails that
    parameter's length requirement; True if it did. Its answer is compared with the first answered legal
    case of short values of the same kind (token varied or not, own project or another)."""
    kind = (case.varies_token, case.project_id == own)
    parameter = _long_parameter(case)
    if parameter is None:
        if sent.result.status is not None:
            shorts.setdefault(kind, sent)
        return False
    if "%00" in sent.path:
        return False  # RFC 3986 section 7.3: raw data in a path may be refused by any layer (oracles.py)
    why = not_reached(sent, shorts.get(kind))
    if why is None:
        return False
    ctx.fail(
        Finding(
            Title(
                "A legal {parameter} did not reach the application: {case}", parameter=parameter, case=label
            ),
            f"{why}{describe_infrastructure(sent)}",
            "the answer a legal case of short values gets",
            sent=sent,
            requirement=REQUIREMENT_BY_PARAMETER[parameter],
        )
    )
    return True


def _sent(case: GeneratedCase) -> contextlib.AbstractContextManager[None]:
    """How a case's request is written: a negative case whole, however long its head (transport/h1.py
    ``whole_heads``).

    A long head is otherwise written as a network delivers it, its last bytes held back 20 ms, so that a
    limit on an unfinished head before the application (uvicorn's h11: 16 KiB) refuses a legal long value
    every time, not by the chance of where segments fall: that refusal fails the value's length requirement.
    A negative case's value is invalid: any refusal is right, and only a 2xx is a finding - which such a
    limit, refusing first, could only hide. Held back, the ~500 negative cases of a 2,000-example fuzz with
    heads over 8 KiB (over-long tokens, over-long ids of 4-byte characters) cost 20 ms each in one of the
    run's --concurrency slots; whole, the application answers them. The legal long cases (the coverage
    phase's 16,384-character token) and the length checks (checks/boundaries.py) are still held back."""
    return whole_heads() if case.negated is not None else nullcontext()


async def _send_and_judge(ctx: CheckContext, case: GeneratedCase, own: str, shorts: dict[Any, Sent]) -> None:
    uses_credential = not case.varies_token
    headers = list(case.extra_headers)
    if case.varies_token and case.token is not None:
        headers.append((TOKEN, case.token))
    try:
        with _sent(case):
            sent = await ctx.stop(
                case.group_id, project_id=case.project_id, credential=uses_credential, headers=headers
            )
    except HangingClass as exc:
        # Cases of many classes, deciding different requirements: one class the target leaves unanswered
        # leaves only what its cases decide undecided, and the other cases go on.
        ctx.recorder.undecided(_requirement(case, own), f"{case.source} case not sent: {exc}")
        return
    status = sent.result.status
    label = f"{case.source} case ({case.description})"
    if case.negated is None and _refused_before_the_application(ctx, case, sent, label, shorts, own):
        return
    if status == 200:
        ctx.fail(
            Finding(
                Title("200 for a request that cannot pause anything: {case}", case=label),
                "200",
                "a refusal - "
                + (
                    "the request is invalid"
                    if case.negated
                    else "the token is not valid"
                    if case.varies_token
                    else "no such group in the credential's project"
                ),
                sent=sent,
                requirement=_requirement(case, own),
            )
        )
    elif status is not None and 200 < status < 300:
        ctx.fail(
            Finding(
                Title("Unexpected {status}: {case}", status=status, case=label),
                f"{status}",
                "400 or 403",
                sent=sent,
                requirement="STOP-ROBUST",
            )
        )
