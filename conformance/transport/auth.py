"""Whose credential a request carries, attached by the client where the final request is known.

A request names its credential with ``auth=`` (:meth:`Client.send`, :class:`RaceRequest`):

- a :class:`~conformance.target.Project`: that project's credential - its X-Auth-Token, or an AK/SK
  signature made exactly as the official SDK makes one (``conformance.aksk``);
- :func:`forged` of a project: a deliberately wrong credential of the same form (a tampered token, a wrong
  secret key), for requests that must be refused;
- ``None``: no credential; the request's own headers are all it carries (a check that sends a bad token
  sends it as a header).

:func:`attach` is the flow httpx's ``Auth.auth_flow`` models: it runs once per request, when the client has
built the final host, path (below the base URL's own path) and body, so that a signature covers exactly
what the server will see. The credential's headers come first; a header of the request that the credential
already sets (an AK/SK signature signs its own Content-Type) is not sent twice.
"""

from __future__ import annotations

from collections.abc import Sequence

from conformance import aksk
from conformance.redact import tampered
from conformance.target import AkSk, Project

Auth = Project | None
Headers = list[tuple[str, str]]


def credential_headers(project: Project, method: str, host: str, target: str, body: bytes) -> Headers:
    """The headers that carry ``project``'s credential for one request to ``host`` and ``target`` (the path as
    the server sees it); an AK/SK signature covers ``body``, so the same bytes must be sent."""
    if project.token:
        return [("X-Auth-Token", project.token)]
    assert project.aksk is not None  # the target loader requires one of the two
    content_type = "application/json;charset=UTF-8" if body else "application/json"
    headers = {"Content-Type": content_type, "X-Project-Id": project.project_id, "Host": host}
    signed = aksk.sign_headers(method, target, headers, project.aksk.ak, project.aksk.sk, body=body)
    return list(signed.items())


def attach(
    auth: Auth, method: str, host: str, target: str, headers: Sequence[tuple[str, str]], body: bytes
) -> Headers:
    """The request's header list with ``auth``'s credential: its headers first, then the request's own but
    those the credential already sets."""
    if auth is None:
        return list(headers)
    carried = credential_headers(auth, method, host, target, body)
    present = {name.lower() for name, _ in carried}
    return carried + [(name, value) for name, value in headers if name.lower() not in present]


def forged(project: Project) -> Project:
    """``project`` with a credential of the same form that must be refused: a tampered copy of its token,
    or its access key with a wrong secret key."""
    if project.token:
        return Project(project.project_id, token=tampered(project.token))
    assert project.aksk is not None
    return Project(project.project_id, aksk=AkSk(project.aksk.ak, project.aksk.sk + "x"))
