"""What a scenario check works with: the target, the contract and its expectations, a client that applies
credentials, the fixture pool, and the recorder of the attempt that is running.

Scenario checks call :meth:`CheckContext.stop` (and friends) to send requests; every answer passes the
response oracles on its way back (``on_answer``). The context satisfies :class:`OracleContext`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence

from conformance.checks.base import Kind, Sent, echo_candidates
from conformance.checks.expectations import Expectations
from conformance.checks.pool import FixturePool
from conformance.checks.recorder import Recorder
from conformance.spec import Contract, Profile
from conformance.target import Project, Target
from conformance.transport.credentials import credential_headers
from conformance.transport.http import Client, stop_path
from conformance.transport.race import RaceRequest, race
from conformance.transport.safety import SafetyGuard

MAX_429_RETRIES = 3


class CheckContext:
    def __init__(
        self,
        *,
        target: Target,
        contract: Contract,
        client: Client,
        guard: SafetyGuard,
        seed: int,
        depth: str,
        on_answer: Callable[[Sent], None],
        settle_timeout: float = 5.0,
        max_examples: int | None = None,
        race_width: int = 16,
    ) -> None:
        self.target = target
        self.contract = contract
        self.expected = Expectations(contract)
        self.client = client
        self.guard = guard
        self.seed = seed
        self.depth = depth
        self.settle_timeout = settle_timeout
        self.max_examples = max_examples
        self.race_width = race_width
        self.pool = FixturePool(target.project)
        self.recorder = Recorder("", ())
        self._on_answer = on_answer

    @property
    def profile(self) -> Profile:
        return self.contract.profile

    @property
    def request_timeout(self) -> float:
        return self.client.request_timeout

    def exchange_secrets(self, sent: Sent) -> Sequence[str]:
        return echo_candidates(sent, self.target.secrets())

    # -- sending -----------------------------------------------------------------------------------------

    async def send(
        self, method: str, path: str, headers: Sequence[tuple[str, str]], *, kind: Kind = Kind.STOP
    ) -> Sent:
        token = next((v for k, v in headers if k.lower() == "x-auth-token"), None)
        result = await self.client.send(method, path, headers)
        attempts = 0
        # Throttling is the platform telling us to slow down, not an answer about the request.
        while result.status == 429 and attempts < MAX_429_RETRIES:
            attempts += 1
            await asyncio.sleep(min(_retry_after(result.header("retry-after")), 5.0))
            result = await self.client.send(method, path, headers)
        sent = Sent(method, path, kind, token, result, self.recorder.check)
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
            project = credential if isinstance(credential, Project) else self.target.project
            all_headers += credential_headers(self.client, project, method, path)
        all_headers += list(headers)
        return await self.send(
            method, path, all_headers, kind=Kind.STOP if method == "PUT" else Kind.OTHER_METHOD
        )

    async def race_stops(self, group_id: str, width: int) -> tuple[list[Sent], int | None]:
        """``width`` stops of one group with the target's credential, released together (transport/race.py),
        and the spread of the releases in ns. Each answer passes the response oracles, as :meth:`send`'s do.

        An in-process transport has no sockets to race over: the stops are then merely concurrent, and
        there is no spread to measure (None). Throttled stops (429) are not retried: a retry would not race.
        """
        if self.client.in_process:
            return await self.gather(*(self.stop(group_id) for _ in range(width))), None
        project = self.target.project
        path = stop_path(project.project_id, group_id)
        # Signed one by one: each AK/SK signature is made as the SDK makes one for a single request.
        requests = [
            RaceRequest("PUT", path, credential_headers(self.client, project, "PUT", path))
            for _ in range(width)
        ]
        raced = await race(self.client, requests)
        answers = []
        for result in raced.results:
            sent = Sent("PUT", path, Kind.STOP, project.token, result, self.recorder.check)
            self.recorder.requests += 1
            self._on_answer(sent)
            answers.append(sent)
        return answers, raced.spread_ns

    async def show(self, group_id: str, project: Project | None = None) -> Sent:
        project = project or self.target.project
        path = stop_path(project.project_id, group_id, suffix="")
        return await self.send(
            "GET", path, credential_headers(self.client, project, "GET", path), kind=Kind.SHOW
        )

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

    # -- recording (the recorder of the attempt that is running) ------------------------------------------

    def fail(self, requirement: str, title: str, message: str, sent: Sent | None = None) -> None:
        self.recorder.fail(requirement, title, message, sent)

    def note(self, text: str) -> None:
        self.recorder.note(text)

    def expect(self, sent: Sent, requirement: str, allowed: Iterable[int], title: str, why: str = "") -> bool:
        return self.recorder.expect(sent, requirement, allowed, title, why)

    async def gather(self, *calls: Awaitable[Sent]) -> list[Sent]:
        return list(await asyncio.gather(*calls))


def _retry_after(value: str | None) -> float:
    try:
        return max(float(value or 1), 0.0)
    except ValueError:
        return 1.0
