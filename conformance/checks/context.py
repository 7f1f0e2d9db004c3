"""What a check works with: the target, the contract, a client that applies credentials, and a recorder.

Scenario checks call :meth:`CheckContext.stop` (and friends) to send requests; every answer passes the
response checks on its way back. Findings are recorded as :class:`~conformance.results.Failure` data.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

from conformance import aksk
from conformance.spec import Contract, Requirement
from conformance.target import Project, Target
from conformance.transport.http import Client, HttpResult, stop_path
from conformance.transport.safety import SafetyGuard


class NotRun(Exception):
    """Raised by a check that cannot run against this target; the message says why."""


@dataclass
class Sent:
    """A request as a check meant it, and the answer."""

    method: str
    path: str
    kind: str  # "stop" | "other-method" | "show"
    sent_token: str | None
    result: HttpResult
    check: str


@dataclass
class Finding:
    requirement: str
    title: str
    message: str
    sent: Sent | None


@dataclass
class Recorder:
    """Collects the findings of the check that is running."""

    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    requests: int = 0


class CheckContext:
    def __init__(
        self,
        *,
        target: Target,
        contract: Contract,
        catalogue: dict[str, Requirement],
        client: Client,
        guard: SafetyGuard,
        seed: int,
        depth: str,
        on_answer: Callable[[Sent], None],
        settle_timeout: float = 5.0,
        max_examples: int | None = None,
    ) -> None:
        self.max_examples = max_examples
        self.target = target
        self.contract = contract
        self.catalogue = catalogue
        self.profile = contract.profile
        self.client = client
        self.guard = guard
        self.seed = seed
        self.depth = depth
        self.settle_timeout = settle_timeout
        self._on_answer = on_answer
        # Interleave creating and monitoring groups so every check can meet both kinds.
        creating, monitoring = target.project.groups_in("creating"), target.project.groups_in("monitoring")
        self._pausable = [g for pair in zip(monitoring, creating, strict=False) for g in pair]
        self._pausable += monitoring[len(creating) :] + creating[len(monitoring) :]
        self.check_name = ""
        self.recorder = Recorder()

    # -- expectations that follow from the contract, per profile ------------------------------------------

    @property
    def auth_refused(self) -> frozenset[int]:
        """How a missing, malformed or invalid credential may be refused."""
        return frozenset({400, 401, 403}) if self.profile == "huawei" else frozenset({400, 403})

    @property
    def foreign_project(self) -> frozenset[int]:
        """How a valid credential used on a project that is not its own may be refused: 400 or 403, and on
        the platform the gateway may refuse the token's scope itself (401)."""
        return self.auth_refused

    @property
    def unknown_group(self) -> frozenset[int]:
        """How a valid request for a group that does not exist may be answered (400; 403 hides existence)."""
        return frozenset({400, 403})

    # -- sending -----------------------------------------------------------------------------------------

    def credential_headers(
        self, method: str, path: str, project: Project | None = None
    ) -> list[tuple[str, str]]:
        project = project or self.target.project
        if project.token:
            return [("X-Auth-Token", project.token)]
        assert project.aksk is not None  # the target loader requires one of the two
        headers = {
            "Content-Type": "application/json",
            "X-Project-Id": project.project_id,
            "Host": self.client.host,
        }
        return list(
            aksk.sign_headers(
                method, self.client.path_prefix + path, headers, project.aksk.ak, project.aksk.sk
            ).items()
        )

    async def send(
        self, method: str, path: str, headers: Sequence[tuple[str, str]], *, kind: str = "stop"
    ) -> Sent:
        token = next((v for k, v in headers if k.lower() == "x-auth-token"), None)
        result = await self.client.send(method, path, headers)
        attempts = 0
        # Throttling is the platform telling us to slow down, not an answer about the request.
        while result.status == 429 and attempts < 3:
            attempts += 1
            await asyncio.sleep(min(_retry_after(result.header("retry-after")), 5.0))
            result = await self.client.send(method, path, headers)
        sent = Sent(method, path, kind, token, result, self.check_name)
        self.recorder.requests += 1
        self._on_answer(sent)
        return sent

    async def stop(
        self,
        group_id: str,
        *,
        project_id: str | None = None,
        credential: Project | bool | None = True,
        headers: Iterable[tuple[str, str]] = (),
        method: str = "PUT",
    ) -> Sent:
        """A stop request. ``credential``: True for the target's own, a Project for its, False for none."""
        path = stop_path(project_id if project_id is not None else self.target.project.project_id, group_id)
        all_headers: list[tuple[str, str]] = []
        if credential is not False:
            all_headers += self.credential_headers(
                method, path, credential if isinstance(credential, Project) else None
            )
        all_headers += list(headers)
        return await self.send(method, path, all_headers, kind="stop" if method == "PUT" else "other-method")

    async def show(self, group_id: str, project: Project | None = None) -> Sent:
        project = project or self.target.project
        path = stop_path(project.project_id, group_id, suffix="")
        return await self.send("GET", path, self.credential_headers("GET", path, project), kind="show")

    # -- fixtures ----------------------------------------------------------------------------------------

    def take_pausable(self, count: int = 1) -> list[str]:
        """Pausable listed groups for this check alone (a stop consumes them)."""
        if len(self._pausable) < count:
            raise NotRun(
                f"not enough listed creating/monitoring groups left (needs {count}, "
                f"{len(self._pausable)} left); list more under groups.creating/monitoring"
            )
        taken, self._pausable = self._pausable[:count], self._pausable[count:]
        return taken

    def take_pausable_named(self, status_name: str) -> list[str]:
        """One pausable listed group in the given status (creating or monitoring)."""
        for group in self._pausable:
            if group in self.target.project.groups.get(status_name, ()):
                self._pausable.remove(group)
                return [group]
        raise NotRun(f"no listed {status_name} group left")

    async def still_pausable(
        self, group_id: str, requirement: str, after: str, project: Project | None = None
    ) -> None:
        """Verify a refused request left the group pausable: read it, or else pause it (consuming it)."""
        project = project or self.target.project
        if self.contract.has_show_operation:
            shown = await self.show(group_id, project)
            status = shown.result.json_field("status")
            if shown.result.status == 200 and status in (1, 2):
                return
            if shown.result.status == 200:
                self.fail(
                    requirement,
                    f"{after} changed the group's state",
                    f"Received: status {status!r} after {after}\nExpected: status 1 or 2, as before",
                    shown,
                )
                return
        confirm = await self.stop(group_id, project_id=project.project_id, credential=project)
        if confirm.result.status != 200:
            self.fail(
                requirement,
                f"{after} paused the group",
                f"Received: {confirm.result.status} for a stop with the valid credential afterwards\n"
                f"Expected: 200 - the group was pausable before {after}",
                confirm,
            )

    # -- recording ---------------------------------------------------------------------------------------

    def fail(self, requirement: str, title: str, message: str, sent: Sent | None = None) -> None:
        self.recorder.findings.append(Finding(requirement, title, message, sent))

    def note(self, text: str) -> None:
        if text not in self.recorder.notes:
            self.recorder.notes.append(text)

    def expect(self, sent: Sent, requirement: str, allowed: Iterable[int], title: str, why: str = "") -> bool:
        allowed = sorted(set(allowed))
        status = sent.result.status
        if status in allowed:
            return True
        received = f"{status}" if status is not None else f"no answer ({sent.result.error})"
        message = f"Received: {received}\nExpected: {', '.join(map(str, allowed))}"
        self.fail(requirement, title, message + (f"\nWhy: {why}" if why else ""), sent)
        return False

    async def gather(self, *calls: Awaitable[Sent]) -> list[Sent]:
        return list(await asyncio.gather(*calls))


def _retry_after(value: str | None) -> float:
    try:
        return max(float(value or 1), 0.0)
    except ValueError:
        return 1.0
