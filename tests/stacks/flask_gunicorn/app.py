"""OMS "Pausing a Migration Task Group" on Flask, served by gunicorn with several worker processes that
share the state in one SQLite database (gunicorn.conf.py creates it from the seed before forking).

STACK_DEFAULTS (comma-separated) turns a careful choice back into the stack's default, for the tests:
``decoded-routing`` (Werkzeug routes on PATH_INFO, which the server percent-decoded), ``string-converter``
(Werkzeug's default converter matches no empty segment, and its merge_slashes redirects "//" with 308).
"""

from __future__ import annotations

import json
import os
import sqlite3
from typing import Any
from urllib.parse import unquote

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter
from werkzeug.wrappers import Response as WerkzeugResponse

DEFAULTS = set(filter(None, os.environ.get("STACK_DEFAULTS", "").split(",")))
MAX_ID, MAX_TOKEN = 1024, 16384


class SegmentConverter(BaseConverter):
    """A path segment that may be empty: an empty id is a bad parameter (400), not an unknown route."""

    regex = "[^/]*"


class RouteOnRawPath:
    """WSGI servers percent-decode PATH_INFO, so an id's %2F would become a separator (a group id
    "g%2Fstop" would route as the stop of g). Route on the path as sent (gunicorn's RAW_URI)."""

    def __init__(self, wsgi_app: Any) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if "RAW_URI" in environ:
            environ["PATH_INFO"] = environ["RAW_URI"].split("?", 1)[0]
        return self.wsgi_app(environ, start_response)


app = Flask(__name__)
app.url_map.converters["segment"] = SegmentConverter
app.url_map.merge_slashes = False  # "//" is an empty id, not a path to redirect
ID = "string" if "string-converter" in DEFAULTS else "segment"
if ID == "string":
    app.url_map.merge_slashes = True
if "decoded-routing" not in DEFAULTS:
    app.wsgi_app = RouteOnRawPath(app.wsgi_app)  # type: ignore[method-assign]


class OmsError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message


def invalid_parameters() -> OmsError:
    return OmsError(400, "OMS.0064", "Invalid request parameters.")


def db() -> sqlite3.Connection:
    if "db" not in g:
        # autocommit: each UPDATE is its own transaction; other workers wait up to 10 s for the lock
        g.db = sqlite3.connect(os.environ["OMS_DB"], timeout=10, isolation_level=None)
    connection: sqlite3.Connection = g.db
    return connection


@app.teardown_appcontext
def close_db(_exc: BaseException | None) -> None:
    connection = g.pop("db", None)
    if connection is not None:
        connection.close()


@app.errorhandler(OmsError)
def oms_error(exc: OmsError) -> Response:
    body = json.dumps({"error_code": exc.code, "error_msg": exc.message})
    return Response(body, status=exc.status, mimetype="application/json")


@app.errorhandler(HTTPException)
def framework_error(exc: HTTPException) -> WerkzeugResponse:  # get_response() is Werkzeug's, not Flask's
    # Flask's documented way to answer Werkzeug's 404/405 as JSON; 405 keeps its Allow header.
    response = exc.get_response()
    body = {"error_code": f"OMS.0{exc.code}", "error_msg": exc.description or exc.name}
    response.set_data(json.dumps(body))
    response.content_type = "application/json"
    return response


def decoded(value: str) -> str:
    if "decoded-routing" in DEFAULTS:
        return value
    try:
        # RAW_URI is the request line's bytes as latin-1: back to bytes, then percent-decoded UTF-8.
        return unquote(value.encode("latin-1").decode("ascii"), errors="strict")
    except UnicodeError:
        raise invalid_parameters() from None


@app.put(f"/v2/<{ID}:project_id>/taskgroups/<{ID}:group_id>/stop")
def stop_task_group(project_id: str, group_id: str) -> Response:
    token = request.headers.get("X-Auth-Token")
    if token is None or not token.strip() or len(token) > MAX_TOKEN:
        raise invalid_parameters()
    project_id, group_id = decoded(project_id), decoded(group_id)
    if not (1 <= len(project_id) <= MAX_ID and 1 <= len(group_id) <= MAX_ID):
        raise invalid_parameters()
    row = db().execute("SELECT project_id, may_update FROM tokens WHERE token = ?", (token,)).fetchone()
    if row is None:
        raise OmsError(403, "OMS.0003", "Authentication failed.")
    if row[0] != project_id or not row[1]:
        raise OmsError(403, "OMS.0003", "Forbidden.")
    # One statement checks and pauses: concurrent stops in several workers give exactly one 200.
    key = (project_id, group_id)
    pause = "UPDATE taskgroups SET status = 7 WHERE project_id = ? AND group_id = ? AND status IN (1, 2)"
    if db().execute(pause, key).rowcount:
        return Response(status=200)
    if db().execute("SELECT 1 FROM taskgroups WHERE project_id = ? AND group_id = ?", key).fetchone() is None:
        raise OmsError(400, "OMS.1009", "No resources found.")
    raise OmsError(400, "OMS.0066", "The task group is not running, no need to stop it.")
