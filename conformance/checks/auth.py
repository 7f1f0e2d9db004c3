"""Authentication and authorisation: who may pause, and that a refused request changes nothing.

The contract allows either order of checks (authentication before or after parameter validation), so a
bad credential may be refused with 400 or 403 (huawei: also the gateway's 401). What it never allows is a
2xx, or a refused request that paused the group anyway - the latter is verified on listed groups.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from conformance.checks.machinery.base import Finding, Kind, NotRun, Sent, Title
from conformance.checks.machinery.context import CheckContext, says_nothing
from conformance.checks.machinery.ordered import each_in_order
from conformance.checks.machinery.registry import GroupUse, scenario
from conformance.redact import tampered
from conformance.spec.documents import Profile
from conformance.spec.paths import show_path
from conformance.target import Project

# Bad credentials: (label, headers, requirement).
BAD_TOKENS: tuple[tuple[str, list[tuple[str, str]], str], ...] = (
    ("no X-Auth-Token", [], "STOP-TOKEN-REQUIRED"),
    ("an empty X-Auth-Token", [("X-Auth-Token", "")], "STOP-TOKEN-REQUIRED"),
    # HTTP strips spaces around a header value (so "   " arrives as ""); a tab inside survives, and
    # no-break spaces are whitespace to most languages' strip().
    ("a whitespace-only X-Auth-Token", [("X-Auth-Token", "\xa0\t\xa0")], "STOP-TOKEN-REQUIRED"),
    (
        "an invalid X-Auth-Token",
        [("X-Auth-Token", "MIIinvalid-token-omsconf-0000000000000000")],
        "STOP-AUTHN",
    ),
    ("a 1-character X-Auth-Token", [("X-Auth-Token", "M")], "STOP-TOKEN-LEN"),
)


BadCredential = tuple[str, list[tuple[str, str]], str]  # label, the headers sent, the requirement refused


def _bad_credentials(ctx: CheckContext, project: Project) -> list[BadCredential]:
    """BAD_TOKENS, the longest legal and one too long (from the contract), and a tampered copy of the
    project's valid token (well-formed, not valid)."""
    high = ctx.contract.max_length("X-Auth-Token")
    cases = [
        *BAD_TOKENS,
        (
            f"a legal but invalid {high:,}-character X-Auth-Token",
            [("X-Auth-Token", "M" * high)],
            "STOP-TOKEN-LEN",
        ),
        (f"a {high + 1:,}-character X-Auth-Token", [("X-Auth-Token", "M" * (high + 1))], "STOP-TOKEN-LEN"),
    ]
    if project.token:
        cases.append(
            ("a tampered copy of the valid token", [("X-Auth-Token", tampered(project.token))], "STOP-AUTHN")
        )
    return cases


@scenario("authn-refused", requirements=["STOP-AUTHN", "STOP-TOKEN-REQUIRED", "STOP-TOKEN-LEN"])
async def authn_refused(ctx: CheckContext) -> None:
    """Missing, empty, whitespace, invalid, tampered and oversized tokens are refused."""
    group = ctx.guard.mint()

    async def send(bad: BadCredential) -> None:
        label, headers, requirement = bad
        sent = await ctx.stop(group, credential=False, headers=headers)
        ctx.expect(
            sent,
            ctx.expected.auth_refused,
            Title("A stop with {credential} was not refused", credential=label),
            "only a valid credential may pause",
            requirement=requirement,
        )

    # Independent: sent --concurrency at a time, judged in this order (machinery/ordered.py).
    await each_in_order(_bad_credentials(ctx, ctx.target.project), send, ctx.concurrency)


@scenario(
    "authn-no-pause",
    requirements=["STOP-AUTHN", "STOP-TOKEN-REQUIRED", "STOP-TOKEN-LEN"],
    needs=["fixtures"],
    groups=GroupUse.KEEPER,
)
async def authn_no_pause(ctx: CheckContext) -> None:
    """Bad credentials against a listed pausable group are refused and leave it pausable."""
    group = await ctx.pool.borrow_keeper()

    async def send(bad: BadCredential) -> None:
        label, headers, requirement = bad
        sent = await ctx.stop(group, credential=False, headers=headers)
        ctx.expect(
            sent,
            ctx.expected.auth_refused,
            Title("A stop with {credential} on a pausable group was not refused", credential=label),
            requirement=requirement,
        )

    await each_in_order(_bad_credentials(ctx, ctx.target.project), send, ctx.concurrency)  # independent
    await ctx.still_pausable(group, "STOP-AUTHN", "stops with bad credentials")


MAX_THEIRS_TRIED = 3  # the other project's listed groups tried before its verification is left undecided


@scenario(
    "authz-other-project",
    requirements=["STOP-AUTHZ"],
    needs=["fixtures", "other_project"],
    groups=GroupUse.KEEPER,
)
async def authz_other_project(ctx: CheckContext) -> None:
    """Another project's credential cannot pause this project's group (nor the reverse)."""
    other = ctx.target.other_project
    assert other is not None
    group = await ctx.pool.borrow_keeper()
    foreign, unknown = ctx.expected.foreign_project, ctx.expected.unknown_group

    async def keeper_by_their_credential() -> None:  # B's credential, A's project and group
        sent = await ctx.stop(group, credential=other)
        ctx.expect(sent, foreign, "Another project's credential was not refused")

    async def keeper_through_their_project() -> None:  # B's credential and project id, A's group
        sent = await ctx.stop(group, project_id=other.project_id, credential=other)
        ctx.expect(sent, unknown, "A group of another project was addressed through the caller's own project")

    # A's credential against B's listed group, if any: through B's project id, and through A's own (a
    # lookup by group id alone, ignoring the project, would find it there).
    # Those this run already paused or found not pausable come last (a re-run: runner/keeper_again.py).
    listed = other.groups_in("creating", "monitoring")
    used = set(ctx.pool.paused) | ctx.pool.other_not_pausable
    theirs = [g for g in listed if g not in used] + [g for g in listed if g in used]

    async def theirs_through_their_project(theirs_group: str) -> None:
        sent = await ctx.stop(theirs_group, project_id=other.project_id)
        ctx.expect(sent, foreign, "This project's credential was accepted for another project")

    async def theirs_through_ours(theirs_group: str) -> None:
        sent = await ctx.stop(theirs_group)
        ctx.expect(sent, unknown, "Another project's group was paused through this project's path")

    async def keeper_unchanged() -> None:
        await ctx.still_pausable(group, "STOP-AUTHZ", "stops with another project's credential")

    async def theirs_unchanged() -> None:
        """On strict the proof is a valid stop of their group, which pauses it: a second night finds the first
        one paused. So a refusal as not pausable is not called undecided while their project lists another
        group: the same two stops go to that one, and its valid stop decides (as take_like does for ours)."""
        after = "stops with a foreign credential"
        tries = theirs[:MAX_THEIRS_TRIED]
        for index, theirs_group in enumerate(tries):
            if index:
                await theirs_through_their_project(theirs_group)
                await theirs_through_ours(theirs_group)
            if ctx.pool.can_read or index == len(tries) - 1:
                await ctx.still_pausable(theirs_group, "STOP-AUTHZ", after, project=other)
                return
            confirm = await ctx.stop(theirs_group, project_id=other.project_id, credential=other)
            if confirm.result.status != 400:  # 200: it was pausable; anything else is judged as it is
                ctx.settle_verification(confirm, [("STOP-AUTHZ", after)])
                return
            ctx.pool.other_not_pausable.add(theirs_group)
            ctx.note(
                f"authz-other-project: the other project's group {theirs_group} was refused as not pausable "
                f"after {after} (stale, or paused by them: strict cannot tell which); its next listed group "
                "is tried"
            )

    # Two groups, two sequences: the keeper's stops and its verification, and B's group's. Within a
    # sequence, one after another: each stop could pause its group, and the one a finding names must be the
    # one a run one by one names. Across them nothing depends on the other's answers (no request names the
    # other's group), so the two go side by side, step by step, judged in this order (machinery/ordered.py).
    rows = [
        [keeper_by_their_credential, lambda: theirs_through_their_project(theirs[0])],
        [keeper_through_their_project, lambda: theirs_through_ours(theirs[0])],
        [keeper_unchanged, theirs_unchanged],
    ]
    for row in rows:
        await each_in_order(row if theirs else row[:1], _call, ctx.concurrency)


async def _call(step: Callable[[], Awaitable[None]]) -> None:
    await step()


@scenario(
    "permission", requirements=["STOP-PERMISSION"], needs=["fixtures", "readonly"], groups=GroupUse.KEEPER
)
async def permission(ctx: CheckContext) -> None:
    """A token of the project without oms:taskgroup:update gets 403 and pauses nothing."""
    readonly = ctx.target.project.readonly_token
    assert readonly is not None
    group = await ctx.pool.borrow_keeper()
    sent = await ctx.stop(group, credential=False, headers=[("X-Auth-Token", readonly)])
    ctx.expect(
        sent,
        {403},
        "A token without oms:taskgroup:update was not forbidden",
        "the credential is valid but may not update task groups",
    )
    await ctx.still_pausable(group, "STOP-PERMISSION", "a stop with a read-only token")


@scenario("header-case", requirements=["STOP-HEADER-CASE"], groups=GroupUse.OPTIONAL)
async def header_case(ctx: CheckContext) -> None:
    """The valid token under `x-auth-token` and `X-AUTH-TOKEN` is honoured like `X-Auth-Token`."""
    project = ctx.target.project
    if not project.token:
        ctx.recorder.undecided(
            "STOP-HEADER-CASE",
            "the target has no token (AK/SK only, whose headers the signature covers): nothing was sent",
        )
        return
    group, token = ctx.guard.mint(), project.token
    answers: dict[str, Sent] = {}

    async def stop_with(name: str) -> None:
        # The canonical header as every stop carries it (the client attaches the credential); the others
        # alone, under their names.
        canonical = name == "X-Auth-Token"
        headers = [] if canonical else [(name, token)]
        answers[name] = await ctx.stop(group, credential=canonical, headers=headers)

    # Stops of an id the run minted (it names no group), independent of each other's answers: --concurrency
    # at a time, judged in this order (machinery/ordered.py).
    await each_in_order(["X-Auth-Token", "x-auth-token", "X-AUTH-TOKEN"], stop_with, ctx.concurrency)
    canonical = answers["X-Auth-Token"]
    for name in ("x-auth-token", "X-AUTH-TOKEN"):
        sent = answers[name]
        if says_nothing(sent.result) or says_nothing(canonical.result):
            ctx.recorder.undecided("STOP-HEADER-CASE", f"no comparable answers ({sent.result.status})")
        elif sent.result.status != canonical.result.status:
            ctx.fail(
                Finding(
                    Title("`{header}` is not treated as X-Auth-Token", header=name),
                    f"{sent.result.status} with `{name}`",
                    f"{canonical.result.status}, the answer with `X-Auth-Token`",
                    sent=sent,
                )
            )
    # Answers for an unknown group decide only when they differ: a server that ignores `x-auth-token`
    # may refuse an unknown group alike with or without a token (400 before authentication, or 403).
    weak = (
        "no listed pausable group was left, so only answers for an unknown group were compared; a server "
        "that ignores `x-auth-token` may answer those the same as one that honours it"
    )
    live = [g for name in ("monitoring", "creating", "paused") for g in project.groups.get(name, ())]
    if ctx.contract.has_show_operation and live:
        # Reading a listed group proves it without using one up: what the canonical header reads, the
        # lower-case one must read alike.
        path = show_path(project.project_id, live[0])
        shown: dict[str, Sent] = {}

        async def show_with(name: str) -> None:
            shown[name] = await ctx.send("GET", path, [(name, token)], kind=Kind.SHOW)

        # Two reads, independent of each other: side by side, judged in this order.
        await each_in_order(["X-Auth-Token", "x-auth-token"], show_with, ctx.concurrency)
        canonical, lower = shown["X-Auth-Token"], shown["x-auth-token"]
        if says_nothing(canonical.result) or says_nothing(lower.result) or canonical.result.status != 200:
            ctx.recorder.undecided(
                "STOP-HEADER-CASE", f"reading {live[0]} answered {canonical.result.status}"
            )
        elif lower.result.status != 200:
            ctx.fail(
                Finding(
                    "A valid token under `x-auth-token` could not read a group",
                    f"{lower.result.status} with `x-auth-token`, 200 with `X-Auth-Token`",
                    "the same answer - header names are case-insensitive",
                    sent=lower,
                )
            )
        return
    if project.groups_in("creating", "monitoring"):
        try:
            group = await ctx.pool.take()
        except NotRun as exc:
            ctx.recorder.undecided("STOP-HEADER-CASE", f"{weak} ({exc})")
            return
        sent = await ctx.stop(group, credential=False, headers=[("x-auth-token", project.token)])
        if sent.result.status == 200 or says_nothing(sent.result):
            ctx.expect(sent, {200}, "A valid token under `x-auth-token` was not honoured")
            return
        # Refused: either the header was not honoured, or the group was not pausable after all (stale). The
        # canonical header tells which, and pauses the group if it was pausable.
        canonical = await ctx.stop(group)
        if canonical.result.status == 200:
            ctx.fail(
                Finding(
                    "A valid token under `x-auth-token` was not honoured",
                    f"{sent.result.status} with `x-auth-token`, then 200 with `X-Auth-Token`",
                    "200 for the first - header names are case-insensitive",
                    sent=sent,
                )
            )
        elif not ctx.pool.can_read:
            ctx.pool.mark_stale(group, "refused as not pausable", inferred=True)
            ctx.recorder.undecided("STOP-HEADER-CASE", "the listed group it used was not pausable (stale)")
        else:
            ctx.expect(canonical, {200}, "A valid token did not pause a pausable group")
    else:
        ctx.recorder.undecided("STOP-HEADER-CASE", weak)


@scenario(
    "aksk-signature",
    requirements=["HW-AKSK", "STOP-AUTHN"],
    needs=["aksk"],
    profiles=[Profile.HUAWEI],
    groups=GroupUse.KEEPER_THEN_PAUSES,
)
async def aksk_signature(ctx: CheckContext) -> None:
    """A valid AK/SK signature is honoured; a wrong one is refused and pauses nothing."""
    project = ctx.target.project
    assert project.aksk is not None
    signer_only = Project(project.project_id, aksk=project.aksk)
    wrong = Project(project.project_id, aksk=type(project.aksk)(project.aksk.ak, project.aksk.sk + "x"))
    group = ctx.guard.mint()
    signed: dict[bool, Sent] = {}

    async def stop_signed(right: bool) -> None:
        signed[right] = await ctx.stop(group, credential=signer_only if right else wrong)

    # Two stops of an id the run minted (it names no group), independent: side by side, judged in order.
    await each_in_order([True, False], stop_signed, ctx.concurrency)
    valid, bad = signed[True], signed[False]
    # 400 and 403 are also how an unknown group may be answered; only the gateway's 401 is unambiguous.
    if valid.result.status == 401:
        ctx.fail(
            Finding(
                "A valid AK/SK signature was refused",
                f"{valid.result.status}",
                "the answer for an unknown group (400)",
                sent=valid,
                requirement="HW-AKSK",
            )
        )
    ctx.expect(
        bad, ctx.expected.auth_refused, "A wrong AK/SK signature was not refused", requirement="HW-AKSK"
    )
    if not project.groups_in("creating", "monitoring"):
        return
    keeper = await ctx.pool.borrow_keeper()
    bad = await ctx.stop(keeper, credential=wrong)
    ctx.expect(
        bad,
        ctx.expected.auth_refused,
        "A wrong AK/SK signature on a pausable group was not refused",
        requirement="HW-AKSK",
    )
    await ctx.still_pausable(keeper, "HW-AKSK", "a stop with a wrong AK/SK signature")
    if ctx.pool.keeper != keeper:
        return  # the wrong signature paused it: that is the finding
    # The same group, just read as still pausable, now paused with the valid signature.
    target_group, _ = await ctx.pool.take_keeper()
    good = await ctx.stop(target_group, credential=signer_only)
    ctx.expect(
        good,
        {200},
        "A valid AK/SK signature did not pause a pausable group",
        "the group's status was read just before it was handed out",
        requirement="HW-AKSK",
    )
