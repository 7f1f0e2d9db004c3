"""``run --restore``: resume every group this run paused, so the next night has groups to test.

After the checks, each listed group the run paused (a 200 to a stop) is started again with the platform's
start operation - the body the official SDK sends (``StartTaskGroupReq``: the migration's own keys, from the
target file's ``restore:`` key; secrets, redacted like every credential) - and read until it shows a pausable
status again. A group that is still pausing (7) is waited for first: only a paused group (3) can be started.
The report lists what was restored and what could not be, with the reason.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Collection

from conformance.results import Restored
from conformance.spec.paths import show_path, start_path
from conformance.spec.statuses import PAUSABLE_CODES, PAUSED
from conformance.target import Target
from conformance.transport.http import Client


async def _status(client: Client, target: Target, group: str) -> tuple[int | None, str]:
    result = await client.send("GET", show_path(target.project.project_id, group), auth=target.project)
    status = result.json_field("status")
    if result.status == 200 and isinstance(status, int):
        return status, ""
    return None, f"the show operation answered {result.status or result.error}"


async def _wait_for(
    client: Client, target: Target, group: str, wanted: Collection[int], timeout: float
) -> int | None:
    deadline = time.monotonic() + timeout
    status: int | None = None
    while time.monotonic() < deadline:
        status, _ = await _status(client, target, group)
        if status in wanted:
            return status
        await asyncio.sleep(0.2)
    return status


async def restore_group(client: Client, target: Target, group: str, *, timeout: float = 30.0) -> Restored:
    assert target.restore is not None
    status = await _wait_for(client, target, group, PAUSABLE_CODES | {PAUSED}, timeout)
    if status in PAUSABLE_CODES:
        return Restored(group, True, f"already status {status}")
    if status != PAUSED:
        return Restored(group, False, f"status {status} (only a paused group can be started)")
    path = start_path(target.project.project_id, group)
    body = json.dumps(dict(target.restore), separators=(",", ":")).encode()
    # The SDK's Content-Type; an AK/SK signature carries and signs the same one (transport/auth.py).
    headers = [("Content-Type", "application/json;charset=UTF-8")]
    answer = await client.send(  # may resume a group: never on a reused connection
        "PUT", path, headers, auth=target.project, body=body, replay_safe=False
    )
    if answer.status != 200:
        code = answer.json_field("error_code")
        return Restored(
            group, False, f"start answered {answer.status or answer.error}" + (f" {code}" if code else "")
        )
    status = await _wait_for(client, target, group, PAUSABLE_CODES, timeout)
    if status in PAUSABLE_CODES:
        return Restored(group, True, f"status {status} again")
    return Restored(group, False, f"started, but the status is {status} after {timeout:g}s")


async def restore_all(
    client: Client, target: Target, groups: list[str], *, timeout: float = 30.0
) -> list[Restored]:
    return [await restore_group(client, target, group, timeout=timeout) for group in groups]
