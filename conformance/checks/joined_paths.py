"""Paths that decode into the operation: a stack that decodes ``%2F`` before it routes turns a path that is
*not* the stop path into one.

``PUT /v2/{p}/taskgroups/{g}%2Fstop`` has four segments, the last one ``{g}/stop`` - data, not a separator
(RFC 3986 section 2.2: a reserved character and its percent-encoding are not equivalent). Starlette routes on
the decoded ``scope["path"]``, Werkzeug on the decoded ``PATH_INFO``, Go's ServeMux on ``r.URL.Path``: each
sees ``/v2/{p}/taskgroups/{g}/stop`` and pauses the group. The same trick joins the other segments
(``{p}%2Ftaskgroups``, ``taskgroups%2F{g}``). A correct server answers such a path as the unknown route (404),
a refusal of the encoded slash (400: Tomcat and Apache httpd refuse ``%2F`` by default), or another
operation's refusal (405 to a PUT of the show path) - any answer but a pause.

Why these probes are safe on a real account: every probe names a LISTED group - the keeper, a group of the
target's own project that the user handed the run to pause - with the target's own project id and
credential. On a server that decodes before routing, the probe *is* the stop of that listed group; on any
other it names nothing that exists. So the worst a probe can do is pause a group the user gave us to pause,
which is what the checks after this one do anyway. No probe is a look-alike of the id: the group segment is
the listed id exactly, only the separators around it are encoded.

Fixture economy: the probes go to the keeper, as the look-alike checks' do, so they cost no group of their
own. Afterwards the keeper is verified still pausable - by the show operation at once (huawei, under the lag
rule), or by the keeper's next valid stop, which the effect check sends anyway (strict) - so the suite still
needs three groups (``run --plan`` lists this check among the keeper's users).
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.checks.machinery.base import Finding, Kind, Title
from conformance.checks.machinery.context import CheckContext
from conformance.checks.machinery.ordered import each_in_order
from conformance.checks.machinery.registry import GroupUse, scenario
from conformance.spec.documents import COLLECTION_SEGMENT, STOP_SUFFIX, VERSION_SEGMENT
from conformance.spec.paths import encode_segment

REQUIREMENT = "STOP-PATH-EXACT"


@dataclass(frozen=True)
class JoinedPath:
    """A path that becomes the stop path of ``{p}`` and ``{g}`` once ``%2F`` is decoded, and what it is."""

    path: str
    how: str


def joined_paths(project_id: str, group_id: str) -> list[JoinedPath]:
    """The probes for one listed group: each joins two or more of the stop path's segments with ``%2F``
    (upper- or lower-case: a decoder reads both). Pure and deterministic."""
    p, g = encode_segment(project_id), encode_segment(group_id)
    v, c, s = VERSION_SEGMENT, COLLECTION_SEGMENT, STOP_SUFFIX.removeprefix("/")
    return [
        JoinedPath(f"/{v}/{p}/{c}/{g}%2F{s}", f"the group id and {s} joined by %2F, nothing after it"),
        JoinedPath(f"/{v}/{p}/{c}/{g}%2f{s}", f"the group id and {s} joined by a lower-case %2f"),
        JoinedPath(f"/{v}/{p}/{c}%2F{g}/{s}", f"{c} and the group id joined by %2F"),
        JoinedPath(f"/{v}/{p}%2F{c}/{g}/{s}", f"the project id and {c} joined by %2F"),
        JoinedPath(f"/{v}/{p}%2F{c}%2F{g}/{s}", f"the project id, {c} and the group id joined by %2F"),
        JoinedPath(f"/{v}%2F{p}/{c}/{g}/{s}", f"{v} and the project id joined by %2F"),
        JoinedPath(f"/{v}%2F{p}%2F{c}%2F{g}%2F{s}", "the whole path one segment, its slashes encoded"),
    ]


@scenario("joined-paths", requirements=[REQUIREMENT], needs=["fixtures"], groups=GroupUse.KEEPER)
async def joined_segments(ctx: CheckContext) -> None:
    """Paths that become the stop path only when %2F is decoded before routing pause nothing."""
    group = await ctx.pool.borrow_keeper()
    project = ctx.target.project

    async def send(probe: JoinedPath) -> None:
        # The group segment is the listed keeper exactly (see the module docstring): the line that keeps
        # every other group safe, whatever the server makes of the encoded slashes.
        assert encode_segment(group) in probe.path and group in ctx.listed
        # Not the operation's path, so not judged as a stop's answer (its statuses, its envelope); never
        # repeated, since on a decoding server it is the stop of a listed group.
        sent = await ctx.send("PUT", probe.path, (), kind=Kind.OTHER, retry=False, auth=project)
        status = sent.result.status
        # Only a 2xx says the path was taken for the operation. Any other answer - a refusal, a redirect, a
        # 5xx (no-server-error's to judge), or none - leaves it to the verification below whether it paused.
        if status is not None and 200 <= status < 300:
            ctx.pool.keeper_paused(group)  # it said it paused the keeper: the next check needs another
            ctx.fail(
                Finding(
                    Title(
                        "A path that is not the stop path ({how}) answered {status}",
                        how=probe.how,
                        status=status,
                    ),
                    f"{status}: taken for the stop of listed group {group!r}",
                    "any answer but a success: the path names no stop (a 404, a 400 or a 405)",
                    "%2F is data within a segment, not a separator (RFC 3986 section 2.2); a stack that "
                    "decodes it before routing (Starlette's scope path, Werkzeug's PATH_INFO, Go's "
                    "r.URL.Path) makes it the stop of the group - route on the raw path",
                    sent,
                )
            )

    # To a server that decodes %2F before routing every probe is the keeper's stop: the first to arrive
    # pauses it and the others meet a paused group. The probe a finding names must not depend on which
    # arrived first, so the first probe goes alone: a decoder decodes every %2F alike, so a server that
    # takes two probes takes the first (one that decodes only the lower-case %2f takes the second alone),
    # and pauses the keeper there, as a run one by one would. The rest then meet the keeper as they would
    # one by one (paused by the first, or untouched), so they go --concurrency at a time, judged in this
    # order (machinery/ordered.py).
    first, *rest = joined_paths(project.project_id, group)
    await send(first)
    await each_in_order(rest, send, ctx.concurrency)
    if ctx.pool.keeper == group:
        await ctx.still_pausable(group, REQUIREMENT, "paths that join its segments with %2F")
