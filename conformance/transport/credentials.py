"""The headers that carry a project's credential: its X-Auth-Token, or an AK/SK signature made exactly as the
official SDK makes one (``conformance.aksk``) over the request as the server will see it."""

from __future__ import annotations

from conformance import aksk
from conformance.target import Project
from conformance.transport.http import Client


def credential_headers(
    client: Client, project: Project, method: str, path: str, *, body: bytes = b""
) -> list[tuple[str, str]]:
    """The credential headers for one request; an AK/SK signature covers ``body`` (send the same bytes)."""
    if project.token:
        return [("X-Auth-Token", project.token)]
    assert project.aksk is not None  # the target loader requires one of the two
    content_type = "application/json;charset=UTF-8" if body else "application/json"
    headers = {"Content-Type": content_type, "X-Project-Id": project.project_id, "Host": client.host}
    signed = aksk.sign_headers(
        method, client.path_prefix + path, headers, project.aksk.ak, project.aksk.sk, body=body
    )
    return list(signed.items())
