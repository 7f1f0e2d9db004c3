"""OMS "Pausing a Migration Task Group" on FastAPI, served by uvicorn (one process, sync endpoint in the
threadpool, state in memory behind a lock).

Deployed as: uvicorn main:app --http h11 --h11-max-incomplete-event-size 1048576 (see tests/stacks/stacks.py).
STACK_DEFAULTS (comma-separated) turns a careful choice back into the stack's default, for the tests:
``decoded-routing`` (Starlette routes on the percent-decoded path), ``str-convertor`` (Starlette's default
path parameter matches no empty segment: an empty id is an unknown route, 404).
"""

from __future__ import annotations

import os
import threading
from typing import Annotated
from urllib.parse import unquote

from fastapi import Depends, FastAPI, Header
from fastapi.responses import JSONResponse, Response
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

DEFAULTS = set(filter(None, os.environ.get("STACK_DEFAULTS", "").split(",")))
PAUSABLE = {1, 2}  # creating, monitoring
PAUSING = 7
MAX_ID, MAX_TOKEN = 1024, 16384


class Store:
    def __init__(self, seed_path: str) -> None:
        self.lock = threading.Lock()
        self.tokens: dict[str, tuple[str, bool]] = {}  # token -> (project, may update task groups)
        self.groups: dict[tuple[str, str], int] = {}
        with open(seed_path, encoding="utf-8") as seed:
            for line in seed:
                kind, *fields = line.rstrip("\n").split("\t")
                if kind == "token":
                    self.tokens[fields[0]] = (fields[1], fields[2] == "1")
                elif kind == "group":
                    self.groups[(fields[0], fields[1])] = int(fields[2])

    def stop(self, project_id: str, group_id: str) -> int | None:
        """The group's status before the stop (None: unknown); a pausable group is now pausing."""
        with self.lock:
            status = self.groups.get((project_id, group_id))
            if status in PAUSABLE:
                self.groups[(project_id, group_id)] = PAUSING
            return status


store = Store(os.environ["OMS_SEED"])


class OmsError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message


def invalid_parameters() -> OmsError:
    return OmsError(400, "OMS.0064", "Invalid request parameters.")


class SegmentConvertor(Convertor[str]):
    """A path segment that may be empty: an empty id is a bad parameter (400), not an unknown route."""

    regex = "[^/]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("segment", SegmentConvertor())


class RouteOnRawPath:
    """Starlette matches routes on the percent-decoded path, where an id's %2F becomes a separator (a group
    id "g%2Fstop" would route as the stop of g). Route on the path as sent; the endpoint decodes the ids."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("raw_path") is not None:
            scope = {**scope, "path": scope["raw_path"].decode("latin-1")}
        await self.app(scope, receive, send)


app = FastAPI(openapi_url=None, docs_url=None)
if "decoded-routing" not in DEFAULTS:
    app.add_middleware(RouteOnRawPath)


@app.exception_handler(OmsError)
async def oms_error(request: Request, exc: OmsError) -> JSONResponse:
    return JSONResponse({"error_code": exc.code, "error_msg": exc.message}, status_code=exc.status)


@app.exception_handler(HTTPException)
async def framework_error(request: Request, exc: HTTPException) -> JSONResponse:
    # Starlette's own 404/405 in the API's envelope; 405 keeps its Allow header.
    body = {"error_code": f"OMS.0{exc.status_code}", "error_msg": str(exc.detail)}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


def path_ids(project_id: str, group_id: str) -> tuple[str, str]:
    """The ids as the client meant them: percent-decoded UTF-8, 1 to 1,024 characters each."""
    if "decoded-routing" in DEFAULTS:
        ids = project_id, group_id  # already decoded by the server
    else:
        try:
            ids = unquote(project_id, errors="strict"), unquote(group_id, errors="strict")
        except UnicodeDecodeError:
            raise invalid_parameters() from None
    if not all(1 <= len(value) <= MAX_ID for value in ids):
        raise invalid_parameters()
    return ids


def caller(x_auth_token: Annotated[str | None, Header()] = None) -> tuple[str, bool]:
    """The project the token belongs to and whether it may update task groups."""
    if x_auth_token is None or not x_auth_token.strip() or len(x_auth_token) > MAX_TOKEN:
        raise invalid_parameters()
    known = store.tokens.get(x_auth_token)
    if known is None:
        raise OmsError(403, "OMS.0003", "Authentication failed.")
    return known


ID = "str" if "str-convertor" in DEFAULTS else "segment"


@app.put(f"/v2/{{project_id:{ID}}}/taskgroups/{{group_id:{ID}}}/stop", status_code=200)
def stop_task_group(
    who: Annotated[tuple[str, bool], Depends(caller)],
    ids: Annotated[tuple[str, str], Depends(path_ids)],
) -> Response:
    project_id, group_id = ids
    if who[0] != project_id or not who[1]:
        raise OmsError(403, "OMS.0003", "Forbidden.")
    status = store.stop(project_id, group_id)
    if status is None:
        raise OmsError(400, "OMS.1009", "No resources found.")
    if status not in PAUSABLE:
        raise OmsError(400, "OMS.0066", "The task group is not running, no need to stop it.")
    return Response(status_code=200)
