"""Other methods on the stop path never pause, and a 405 says what is allowed (RFC 9110).

GET, POST, PATCH and DELETE must not answer 2xx; OPTIONS may (it describes the resource), HEAD is judged
like GET. Whatever they answer, a listed pausable group must still be pausable afterwards.
"""

from __future__ import annotations

from conformance.checks.machinery.base import Finding, Sent, Title
from conformance.checks.machinery.context import CheckContext
from conformance.checks.machinery.ordered import each_in_order
from conformance.checks.machinery.registry import GroupUse, scenario

OTHER_METHODS = ("GET", "POST", "PATCH", "DELETE", "HEAD", "OPTIONS")


def _judge(ctx: CheckContext, sent: Sent, where: str) -> None:
    status = sent.result.status
    method = sent.method
    if status is not None and 200 <= status < 300 and method != "OPTIONS":
        ctx.fail(
            Finding(
                Title("{method} on the stop path answered {status}", method=method, status=status),
                f"{status} to {method} {where}",
                "a refusal (405, or 4xx) - only PUT is the stop operation",
                sent=sent,
                requirement="STOP-METHODS",
            )
        )
    if status == 405:
        allow = sent.result.header_list("allow")  # may come as several lines
        methods = {m.strip().upper() for m in (allow or "").split(",")}
        if "PUT" not in methods:
            ctx.fail(
                Finding(
                    Title("405 to {method} without `Allow: PUT`", method=method),
                    f"Allow {allow!r}",
                    "an Allow header listing PUT (RFC 9110 15.5.6)",
                    sent=sent,
                    requirement="STOP-METHOD-ALLOW",
                )
            )


@scenario("other-methods", requirements=["STOP-METHODS", "STOP-METHOD-ALLOW"], groups=GroupUse.KEEPER)
async def other_methods(ctx: CheckContext) -> None:
    """Other methods with the valid credential never answer like a stop, on an unknown and a listed group."""
    group = ctx.guard.mint()

    async def unknown(method: str) -> None:
        _judge(ctx, await ctx.stop(group, method=method), "for an unknown group")

    # A group that does not exist has no state to change: --concurrency at a time, judged in this order
    # (machinery/ordered.py). On the listed group one after another: a method that changed it (a DELETE, a
    # POST) would change what the next one meets.
    await each_in_order(OTHER_METHODS, unknown, ctx.concurrency)
    if not ctx.target.project.groups_in("creating", "monitoring"):
        ctx.note("other-methods: no listed pausable group, so 'never pauses' was checked by status only")
        return
    listed = await ctx.pool.borrow_keeper()
    for method in OTHER_METHODS:
        _judge(ctx, await ctx.stop(listed, method=method), "for a pausable group")
    await ctx.still_pausable(listed, "STOP-METHODS", "GET/POST/PATCH/DELETE/HEAD/OPTIONS on the stop path")


@scenario("operation", requirements=["STOP-OPERATION"])
async def operation(ctx: CheckContext) -> None:
    """PUT on the documented path reaches the stop operation (not 404 or 405)."""
    sent = await ctx.stop(ctx.guard.mint())
    if sent.result.outcome.inconclusive:
        ctx.recorder.undecided("STOP-OPERATION", f"no answer to PUT on the stop path ({sent.result.error})")
    elif sent.result.status in (404, 405):
        ctx.fail(
            Finding(
                "PUT on the stop path is not the stop operation",
                f"{sent.result.status}",
                "the operation's own answer (400 or 403 for an unknown group)",
                sent=sent,
            )
        )
