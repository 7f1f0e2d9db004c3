"""Before any check: is the target there, and are its credentials accepted?

:func:`probe_reachable` sends one request without a credential: a target that does not answer is
unreachable (exit 3), not failing; one whose TLS certificate is refused (or that wants the client's) is a
configuration to fix (exit 2). :func:`judge_credentials` then proves each credential of the target.

A nightly job meets an expired token sooner or later (IAM tokens live 24 hours). Run as checks, a refused
credential would look like nine MUST failures; it is a configuration error instead, found here first.

Safe on a real account: every request goes to a minted group id that cannot exist (transport/safety.py),
or reads (GET) a listed group where the profile has a read operation. It works without fixtures.

How a refusal is told from an answer:
- 401 to the valid credential: the gateway refused it (the page documents no 401 for a valid one).
- With a read operation and a listed group: the read answers 200 (accepted) or refuses (refused).
- A 400 proves nothing (it is how an unknown group may be refused, whatever is checked first).
- A 403 is compared with a tampered credential's answer for the same unknown group; where they are the same
  (status, error_code, error_msg), once more for a listed group no stop can pause (a server may hide unknown
  groups behind its "forbidden" answer, but not listed ones): the same answer again - refused. Without such a
  group the run goes on and says it could not confirm the credential.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from conformance.checks.machinery.base import Kind
from conformance.checks.machinery.hang_budget import HangBudget, class_of
from conformance.checks.machinery.registry import Need
from conformance.errors import CertificateRefused, TargetUnreachable
from conformance.spec.paths import show_path, stop_path
from conformance.spec.statuses import PAUSABLE
from conformance.target import Project, Target
from conformance.transport import auth
from conformance.transport.http import Client, HttpResult
from conformance.transport.safety import SafetyGuard

# Told of every answer the preflight gets: (method, path, the project whose credential was sent, the answer).
# The runner counts its hangs against the run's hang budget (machinery/hang_budget.py).
Observer = Callable[[str, str, Project, HttpResult], Awaitable[None]]


async def _ignore(_method: str, _path: str, _project: Project, _result: HttpResult) -> None:
    return None


@dataclass(frozen=True)
class CredentialVerdict:
    accepted: bool
    reason: str = ""  # why it was judged refused: "401 APIGW.0301 Incorrect IAM authentication ..."
    note: str = ""  # accepted, but the preflight could not prove it


def describe_answer(result: HttpResult) -> str:
    code, msg = result.json_field("error_code"), result.json_field("error_msg")
    parts = [str(result.status)] + [str(v) for v in (code, msg) if isinstance(v, str)]
    return " ".join(parts)[:200]


async def _send(client: Client, observe: Observer, method: str, path: str, project: Project) -> HttpResult:
    result = await client.send(method, path, auth=project)
    await observe(method, path, project, result)
    return result


async def _stop(client: Client, project: Project, group: str, observe: Observer = _ignore) -> HttpResult:
    path = stop_path(project.project_id, group)
    result = await _send(client, observe, "PUT", path, project)
    # Asked again only after a 5xx or a broken connection: a hang has cost a whole timeout already.
    if result.outcome.server_failed or (result.status or 0) >= 500:
        result = await _send(client, observe, "PUT", path, project)
    return result


def readable_groups(project: Project) -> list[str]:
    """Listed groups a read should find: the live ones first (a deleted one may be gone)."""
    order = ("monitoring", "creating", "paused", "waiting", "pausing", "completed")
    return [g for name in order for g in project.groups.get(name, ())]


def _same(a: HttpResult, b: HttpResult) -> bool:
    return (
        a.status == b.status
        and a.json_field("error_code") == b.json_field("error_code")
        and a.json_field("error_msg") == b.json_field("error_msg")
    )


async def judge_credential(
    client: Client, project: Project, guard: SafetyGuard, *, can_read: bool, observe: Observer = _ignore
) -> CredentialVerdict:
    group = guard.mint()
    valid = await _stop(client, project, group, observe)
    if valid.status == 401:
        return CredentialVerdict(False, describe_answer(valid))
    readable = readable_groups(project)
    if can_read and readable:
        shown = await _send(client, observe, "GET", show_path(project.project_id, readable[0]), project)
        if shown.status == 200:
            return CredentialVerdict(True)
        if shown.status in (401, 403):  # a 400 may be about the group (gone since it was listed)
            return CredentialVerdict(False, f"reading a listed group: {describe_answer(shown)}")
    # A 400 is how a valid credential may be told that the group does not exist, whatever the server checks
    # first: it proves nothing either way. A 403 may be either "forbidden" or "hidden": compare.
    if valid.status != 403:
        return CredentialVerdict(True)
    forged_project = auth.forged(project)
    forged = await _stop(client, forged_project, group, observe)
    if not _same(valid, forged):
        return CredentialVerdict(True)
    # The same 403 as a tampered credential. A server may hide unknown groups behind exactly that answer, so
    # ask once more about a listed group no stop can pause (not creating/monitoring), where it cannot hide.
    unpausable = [g for name, ids in project.groups.items() if name not in PAUSABLE for g in ids]
    if not unpausable:
        return CredentialVerdict(
            True,
            note=f"could not confirm that the credential is accepted: {describe_answer(valid)}, the same "
            "answer as a tampered credential (list a paused or completed group to let the preflight tell)",
        )
    again = await _stop(client, project, unpausable[0], observe)
    forged_again = await _stop(client, forged_project, unpausable[0], observe)
    if _same(again, forged_again):
        return CredentialVerdict(
            False, f"{describe_answer(valid)} (the same answer as a tampered credential)"
        )
    return CredentialVerdict(True)


async def readonly_refused(
    client: Client, project: Project, guard: SafetyGuard, observe: Observer = _ignore
) -> str:
    """Why the project's readonly_token is refused ("" when it is not, or there is none): a 401 to a stop of
    a minted id (a 403 is what a read-only token is told; a 400 may be about the group)."""
    if not project.readonly_token:
        return ""
    answer = await _send(
        client, observe, "PUT", stop_path(project.project_id, guard.mint()),
        Project(project.project_id, token=project.readonly_token),
    )  # fmt: skip
    return f"the readonly_token is refused: {describe_answer(answer)}" if answer.status == 401 else ""


async def probe_reachable(client: Client, target: Target, seed: int, hangs: HangBudget) -> None:
    """One request without a credential: raises TargetUnreachable when it is not answered. Answered, it is
    the request the hang budget sends again to tell a dead target from one that hangs on some kinds of
    request only (machinery/hang_budget.py)."""
    guard = SafetyGuard(set(), seed)
    project_id = target.project.project_id

    def probe() -> Awaitable[HttpResult]:
        return client.send("PUT", stop_path(project_id, guard.mint()))

    answer = await probe()
    if answer.status is None and client.certificate_refused:
        raise _certificate_refused(target.base_url, *client.certificate_refused)
    refusal = _client_certificate_page(answer)
    if refusal:
        raise _certificate_refused(target.base_url, "client", f"it answered {answer.status}: {refusal}")
    if answer.status is None and answer.error:
        raise TargetUnreachable(f"{target.base_url} did not answer: {answer.error}")
    hangs.probe = probe
    # Its class: a stop without credential of an unlisted group (every minted id is one).
    hangs.probe_class = class_of(target, "PUT", Kind.STOP, stop_path(project_id, "-"), (), None)


# What nginx answers (400, an HTML page) to every request of a client without the certificate that
# ``ssl_verify_client on`` asks for, or with one it does not trust - instead of refusing the handshake.
_NGINX_CLIENT_CERTIFICATE_PAGES = (b"No required SSL certificate was sent", b"The SSL certificate error")


def _client_certificate_page(answer: HttpResult) -> str:
    """The sentence of a front's answer that says the client's certificate is missing or refused, or "".
    A run on would judge the front's page as the application's answers, every check failing slowly."""
    if answer.status != 400:
        return ""
    return next((p.decode() for p in _NGINX_CLIENT_CERTIFICATE_PAGES if p in answer.body), "")


def _certificate_refused(base_url: str, whose: str, why: str) -> CertificateRefused:
    """A TLS certificate refused at the first request: a configuration to fix (exit 2), not a target that
    is down. ``whose``: "server" (the client refused the server's) or "client" (the server wants one)."""
    if whose == "server":
        return CertificateRefused(f"{base_url}: the server's TLS certificate was refused: {why}")
    return CertificateRefused(
        f"{base_url}: the server refused the TLS connection for want of a client certificate it trusts "
        f"({why})",
        hint="Give the certificate the server expects: --client-cert FILE (--client-key FILE), or "
        "client_cert/client_key in the target file.",
    )


@dataclass
class CredentialsJudged:
    refused: str = ""  # why the valid credential is refused ("" when it is accepted): the run ends
    disabled: dict[Need, str] = field(default_factory=dict)  # needs a refused credential takes away, and why
    notes: list[str] = field(default_factory=list)


async def judge_credentials(
    client: Client, target: Target, guard: SafetyGuard, *, can_read: bool, observe: Observer
) -> CredentialsJudged:
    """Prove the target's credentials are accepted before any check. A refused own credential ends the run
    as a configuration error; a refused other-project or read-only one disables the checks that need it.
    The reasons quote the server's error_msg, which may echo the credential: they are redacted."""
    redact = client.redactor.text
    own = await judge_credential(client, target.project, guard, can_read=can_read, observe=observe)
    if not own.accepted:
        return CredentialsJudged(refused=redact(f"the valid credential is refused: {own.reason}"))

    async def judge_other() -> CredentialVerdict | None:
        if target.other_project is None:
            return None
        return await judge_credential(client, target.other_project, guard, can_read=can_read, observe=observe)

    # Independent of each other: asked together, so a target that hangs on both costs one timeout.
    other, readonly = await asyncio.gather(
        judge_other(), readonly_refused(client, target.project, guard, observe)
    )
    judged = CredentialsJudged(notes=[redact(v.note) for v in (own, other) if v is not None and v.note])
    if other is not None and not other.accepted:
        judged.disabled[Need.OTHER_PROJECT] = redact(f"other_project's credential is refused: {other.reason}")
    if readonly:
        judged.disabled[Need.READONLY] = redact(readonly)
    judged.notes += judged.disabled.values()
    return judged
