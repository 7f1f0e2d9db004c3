"""Exact length boundaries of the page: ids 1..1,024 characters, the token 1..16,384.

Schemathesis's coverage phase sends most of these too (see fuzz.py); they are hand-built here because it
never sends an empty path segment, overwrites token boundaries with the credential, and because each answer
needs a contract-specific expectation: an in-range unknown id is a 400 (not "valid input rejected"), an
out-of-range one must be refused, and a legal 16,384-character token must reach the application.

The requests of each check are independent, so they go out ``--concurrency`` at a time and are judged in
order (machinery/ordered.py).
"""

from __future__ import annotations

from conformance.checks.machinery.base import Finding, Sent, Title
from conformance.checks.machinery.context import CheckContext
from conformance.checks.machinery.ordered import each_in_order
from conformance.checks.machinery.reached import WIDE_CHARACTERS, encoded_bytes, not_reached, wide_value
from conformance.checks.machinery.registry import scenario
from conformance.checks.oracles import describe_infrastructure


def boundary_lengths(ctx: CheckContext, parameter: str) -> tuple[int, ...]:
    """Empty, the minimum, the maximum and one over it, read from the contract (ids 1,024, token 16,384)."""
    low, high = ctx.contract.min_length(parameter), ctx.contract.max_length(parameter)
    return tuple(sorted({0, low, high, high + 1}))


def _filler(length: int) -> str:
    # Not UUID-shaped, so it cannot name a real task group (see transport/safety.py).
    return "z" * length


# An id case: its length in characters and the character it repeats ("z", or one of 2, 3 or 4 UTF-8 bytes).
IdCase = tuple[int, str]


def id_cases(ctx: CheckContext, parameter: str) -> list[IdCase]:
    """The boundary lengths in ASCII, then the maximum in characters of each wider UTF-8 encoding - as
    clients send them, percent-encoded: 1,024 4-byte characters are 12,288 bytes of request line."""
    high = ctx.contract.max_length(parameter)
    return [(n, "z") for n in boundary_lengths(ctx, parameter)] + [(high, ch) for ch in WIDE_CHARACTERS]


def _id_value(case: IdCase) -> str:
    length, character = case
    return _filler(length) if character == "z" else wide_value(length, character)


def _id_title(parameter: str, case: IdCase) -> Title:
    length, character = case
    if character == "z":
        return Title("{parameter} of {length} characters", parameter=parameter, length=length)
    width, size = len(character.encode()), encoded_bytes(_id_value(case))
    return Title(
        "{parameter} of {length} {width}-byte characters ({size} bytes percent-encoded)",
        parameter=parameter,
        length=length,
        width=width,
        size=f"{size:,}",
    )


class _Reference:
    """The answer to the shortest legal value of a parameter, which its longer legal values must match
    (machinery/reached.py). Cases are judged in order and the shortest comes first, so it is there in time."""

    def __init__(self) -> None:
        self.sent: Sent | None = None

    def judge(self, ctx: CheckContext, sent: Sent, what: Title, requirement: str) -> bool:
        """Fail ``requirement`` if ``sent`` - a legal value - never reached the application; True if so."""
        why = not_reached(sent, self.sent)
        if why is None:
            return False
        short = self.sent.result if self.sent is not None else None
        ctx.fail(
            Finding(
                Title("A legal {what} did not reach the application", what=str(what)),
                f"{why}{describe_infrastructure(sent)}",
                "the answer a short value gets"
                + (f" ({short.status} {short.content_type or 'without a content type'})" if short else ""),
                "the page allows this length, so the operation must answer it as it answers a short value; "
                "a limit of the HTTP server, the framework or a proxy in front answered instead",
                sent=sent,
                requirement=requirement,
            )
        )
        return True


@scenario("group-id-length", requirements=["STOP-GROUP-LEN"])
async def group_id_length(ctx: CheckContext) -> None:
    """group_id of 0, 1, 1024 and 1025 characters, and of 1024 characters of 2, 3 and 4 UTF-8 bytes, with
    the valid credential; every one of legal length must reach the application."""
    low, high = ctx.contract.min_length("group_id"), ctx.contract.max_length("group_id")
    reference = _Reference()

    async def one(case: IdCase) -> None:
        length = case[0]
        sent = await ctx.stop(_id_value(case))
        in_range = low <= length <= high
        title = _id_title("group_id", case)
        if case == (low, "z"):
            reference.sent = sent  # the short value the others are compared with
        elif in_range and reference.judge(ctx, sent, title, "STOP-GROUP-LEN"):
            return
        allowed = set(ctx.expected.unknown_group) if in_range else {400}
        if length == 0:
            allowed |= ctx.expected.gateway_404  # an empty segment may not reach the operation at all
        why = (
            "an unknown group of legal length is refused as unknown, not as a server error"
            if in_range
            else f"the page limits group_id to {low}..{high:,} characters"
        )
        ctx.expect(sent, allowed, title, why)

    await each_in_order(id_cases(ctx, "group_id"), one, ctx.concurrency)


@scenario("project-id-length", requirements=["STOP-PROJECT-LEN"], names_listed=True)
async def project_id_length(ctx: CheckContext) -> None:
    """project_id of 0, 1, 1024 and 1025 characters on an unknown and on a listed group, and of 1024
    characters of 2, 3 and 4 UTF-8 bytes on the unknown one; every one of legal length must reach the
    application."""
    low, high = ctx.contract.min_length("project_id"), ctx.contract.max_length("project_id")
    minted = ctx.guard.mint()
    groups = [minted]
    listed = ctx.target.project.group_ids()
    if listed:
        groups.append(sorted(listed)[0])
    references = {group: _Reference() for group in groups}

    async def one(item: tuple[str, IdCase]) -> None:
        group, case = item
        length = case[0]
        sent = await ctx.stop(group, project_id=_id_value(case))
        where = "a listed group" if group in listed else "an unknown group"
        title = Title("{what} on {where}", what=str(_id_title("project_id", case)), where=where)
        if case == (low, "z"):
            references[group].sent = sent  # the short value the others are compared with
        elif low <= length <= high and references[group].judge(ctx, sent, title, "STOP-PROJECT-LEN"):
            return
        # A project id that is not the credential's own may be refused as forbidden (403).
        allowed = set(ctx.expected.foreign_project) | (ctx.expected.gateway_404 if length == 0 else set())
        ctx.expect(
            sent, allowed, title, "the project is not the credential's own, and out-of-range ids are invalid"
        )

    # The wide ids go to the minted group only: a listed group is kept for what only it can show.
    cases = [(group, case) for group in groups for case in id_cases(ctx, "project_id")]
    cases = [(group, case) for group, case in cases if group == minted or case[1] == "z"]
    await each_in_order(cases, one, ctx.concurrency)


@scenario("token-length", requirements=["STOP-TOKEN-LEN", "STOP-TOKEN-REQUIRED"])
async def token_length(ctx: CheckContext) -> None:
    """X-Auth-Token of 0, 1, 16384 and 16385 characters: refused, and a legal one reaches the application."""
    group = ctx.guard.mint()
    low, high = ctx.contract.min_length("X-Auth-Token"), ctx.contract.max_length("X-Auth-Token")
    reference = _Reference()

    async def one(length: int) -> None:
        sent = await ctx.stop(group, credential=False, headers=[("X-Auth-Token", "0" * length)])
        requirement = "STOP-TOKEN-REQUIRED" if length == 0 else "STOP-TOKEN-LEN"
        title = Title("X-Auth-Token of {length} characters", length=length)
        if length == low:
            reference.sent = sent  # the short value the others are compared with
        elif low <= length <= high and reference.judge(ctx, sent, title, "STOP-TOKEN-LEN"):
            return
        ctx.expect(
            sent,
            ctx.expected.auth_refused,
            title,
            "the token is not a valid credential"
            + (f" and exceeds {high:,} characters" if length > high else ""),
            requirement=requirement,
        )

    await each_in_order(boundary_lengths(ctx, "X-Auth-Token"), one, ctx.concurrency)
