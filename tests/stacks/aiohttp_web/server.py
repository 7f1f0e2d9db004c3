"""OMS "Pausing a Migration Task Group" on aiohttp.web (one process, one event loop, state in memory).

Run as: python server.py (PORT and OMS_SEED from the environment).
STACK_DEFAULTS (comma-separated) turns a careful choice back into the stack's default, for the tests:
``max-line-size`` (aiohttp refuses a request line or header line over 8,190 bytes with its own text/plain
400), ``max-field-size`` (the same for a header field).
"""

from __future__ import annotations

import os
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

DEFAULTS = set(filter(None, os.environ.get("STACK_DEFAULTS", "").split(",")))
PAUSABLE = {1, 2}  # creating, monitoring
MAX_ID, MAX_TOKEN = 1024, 16384
TOKENS = web.AppKey("tokens", dict[str, tuple[str, bool]])  # token -> (project, may update task groups)
GROUPS = web.AppKey("groups", dict[tuple[str, str], int])

routes = web.RouteTableDef()


def error(status: int, code: str, message: str, **kwargs: Any) -> web.Response:
    return web.json_response({"error_code": code, "error_msg": message}, status=status, **kwargs)


def invalid_parameters() -> web.Response:
    return error(400, "OMS.0064", "Invalid request parameters.")


@web.middleware
async def envelope(request: web.Request, handler: Handler) -> web.StreamResponse:
    """aiohttp's own 404 and 405 (plain text) in the API's envelope; 405 keeps its Allow header."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return error(exc.status, f"OMS.0{exc.status}", exc.reason, headers=allow)


# An empty id is a bad parameter (400), not an unknown route: each id is any segment, empty included.
# aiohttp matches routes on the path with %2F still encoded and decodes match_info afterwards.
@routes.put("/v2/{project_id:[^/]*}/taskgroups/{group_id:[^/]*}/stop")
async def stop_task_group(request: web.Request) -> web.Response:
    token = request.headers.get("X-Auth-Token")
    if token is None or not token.strip() or len(token) > MAX_TOKEN:
        return invalid_parameters()
    project_id, group_id = request.match_info["project_id"], request.match_info["group_id"]
    if not (1 <= len(project_id) <= MAX_ID and 1 <= len(group_id) <= MAX_ID):
        return invalid_parameters()
    caller = request.app[TOKENS].get(token)
    if caller is None:
        return error(403, "OMS.0003", "Authentication failed.")
    if caller != (project_id, True):
        return error(403, "OMS.0003", "Forbidden.")
    groups = request.app[GROUPS]
    status = groups.get((project_id, group_id))  # no await until the write: no other stop interleaves
    if status is None:
        return error(400, "OMS.1009", "No resources found.")
    if status not in PAUSABLE:
        return error(400, "OMS.0066", "The task group is not running, no need to stop it.")
    groups[(project_id, group_id)] = 7  # pausing
    return web.Response(status=200)


def make_app(seed_path: str) -> web.Application:
    # The page's legal values need more than aiohttp's 8,190-byte lines: 1,024-character ids of 4-byte
    # characters are 12 KiB each percent-encoded in the request line, the X-Auth-Token 16,384 characters.
    limits = {}
    if "max-line-size" not in DEFAULTS:
        limits["max_line_size"] = 64 * 1024
    if "max-field-size" not in DEFAULTS:
        limits["max_field_size"] = 32 * 1024
    app = web.Application(middlewares=[envelope], handler_args=limits)
    app[TOKENS], app[GROUPS] = {}, {}
    with open(seed_path, encoding="utf-8") as seed:
        for line in seed:
            kind, *fields = line.rstrip("\n").split("\t")
            if kind == "token":
                app[TOKENS][fields[0]] = (fields[1], fields[2] == "1")
            else:
                app[GROUPS][(fields[0], fields[1])] = int(fields[2])
    app.add_routes(routes)
    return app


if __name__ == "__main__":
    app = make_app(os.environ["OMS_SEED"])
    web.run_app(app, host="127.0.0.1", port=int(os.environ["PORT"]), access_log=None, print=None)
