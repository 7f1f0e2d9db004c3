"""Hostile but legal ids: reserved characters (percent-encoded), unicode, control characters.

Every one is of legal length, so each must get a documented answer - for an unknown group 400 (or 403) -
never a 5xx or a dropped connection. Ids are sent percent-encoded as one path segment (spec/paths.py).
``.`` and ``..`` are not among them, in any spelling: RFC 3986 section 6.2.2 removes dot segments (``%2E`` is
``.``), so a stack that normalises them - Go's ServeMux answers 301 - is right, and no such id can be sent.
The requests are independent: ``--concurrency`` of them go out at once, judged in order
(machinery/ordered.py).
"""

from __future__ import annotations

from conformance.checks.machinery.base import Title
from conformance.checks.machinery.context import CheckContext
from conformance.checks.machinery.ordered import each_in_order
from conformance.checks.machinery.registry import scenario

HOSTILE_IDS = (
    "a/b",
    "a%2Fb",
    "%",
    "%%",
    "100%",
    "a b",
    " ",
    "a+b",
    "a?b=c",
    "a#b",
    "a;b",
    "a\\b",
    "{group_id}",
    "<script>",
    "'; DROP TABLE groups;--",
    "é",
    "日本語",
    "🙂",
    "a\u200bb",
    "\u202egnp",
    "a\tb",
    "a\nb",
    "a\r\nX-Injected: 1",
    "a\x00b",
    "\x7f",
    "\ufeff",
)
QUICK = (*HOSTILE_IDS[:10], "🙂", "a\r\nX-Injected: 1", "a\x00b")


@scenario("hostile-ids", requirements=["STOP-ROBUST"])
async def hostile_ids(ctx: CheckContext) -> None:
    """Reserved, unicode and control characters in either id get a documented answer."""
    # The longest legal id, from the contract.
    ids = (*HOSTILE_IDS, "a" * ctx.contract.max_length("group_id")) if ctx.depth == "full" else QUICK
    # One item per request, ids minted up front: what is sent does not depend on scheduling.
    minted = [ctx.guard.mint() for _ in ids]
    cases = [(index, which) for index in range(len(ids)) for which in ("group_id", "project_id")]

    async def one(case: tuple[int, str]) -> None:
        index, which = case
        value = ids[index]
        if which == "group_id":
            sent = await ctx.stop(value)
            allowed = set(ctx.expected.unknown_group)
        else:
            sent = await ctx.stop(minted[index], project_id=value)
            # In the project position the id is not the credential's project, so it may be refused as such.
            allowed = set(ctx.expected.foreign_project)
        ctx.expect(
            sent,
            allowed | ctx.expected.gateway_404,
            Title("{which} {value} got an unexpected answer", which=which, value=repr(value[:40])),
            "an id of legal length with any characters is an unknown (or invalid) id",
        )

    await each_in_order(cases, one, ctx.concurrency)
