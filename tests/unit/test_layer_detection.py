"""Which layer answered (checks/machinery/layers.py): real answers of the field servers' stacks (captured by
tests/stacks/capture_answers.py into stack_answers.json), real answers of the Python frameworks made in
process, and the pages of the fronts this machine does not run, quoted from their source. A layer is named
only where the answer shows it; the rest is said to be unknown.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from conformance.checks.machinery.layers import identify

CAPTURED = json.loads((Path(__file__).parent / "stack_answers.json").read_text(encoding="utf-8"))

# (stack, request) -> the layer named for what the stack itself answered; every other captured answer is the
# servers' own JSON envelope, which is the application's.
OWN_ANSWERS = {
    ("fastapi", "long-token"): "uvicorn",  # h11's 16 KiB limit on an incomplete head, held back at the end
    ("flask", "long-id"): "gunicorn",  # 414, limit_request_line
    ("flask", "long-token"): "gunicorn",  # 431, limit_request_field_size
    ("aiohttp", "long-id"): "aiohttp",  # max_line_size
    ("aiohttp", "long-token"): "aiohttp",  # max_field_size
    ("go", "unknown-route"): "Go net/http",  # ServeMux's 404 page not found
    ("express", "long-token"): "",  # Node's 431 carries nothing that names it: unknown
    ("go", "empty-id"): "",  # ServeMux's 301 to PUT has no body: unknown (its Location shows the merge)
}


def _own(entry: dict[str, object]) -> str | None:
    body = str(entry["body"])
    if body.lstrip().startswith("{"):
        return None
    return OWN_ANSWERS[str(entry["stack"]), str(entry["request"])]


@pytest.mark.parametrize(
    "entry", CAPTURED, ids=lambda e: f"{e['stack']}-{'+'.join(e['defaults'])}-{e['request']}"
)
def test_captured_answers_of_real_stacks_name_their_layer(entry: dict[str, object]) -> None:
    headers = [(str(k), str(v)) for k, v in entry["headers"]]  # type: ignore[attr-defined]
    layer = identify(entry["status"], headers, str(entry["body"]).encode())  # type: ignore[arg-type]
    own = _own(entry)
    if own is None:
        assert layer.kind == "application", layer
    elif own == "":
        assert not layer.known, layer
    else:
        assert layer.name == own, layer
        assert layer.setting, layer  # what to change is said


def test_every_captured_stack_refusal_is_covered() -> None:
    seen = {(str(e["stack"]), str(e["request"])) for e in CAPTURED if _own(e) is not None}
    assert seen == set(OWN_ANSWERS)


def _asgi(app: object, method: str, path: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.request(method, path)

    return asyncio.run(go())


def _named(response: httpx.Response) -> str:
    return identify(response.status_code, list(response.headers.items()), response.content).name


def test_fastapi_and_starlette_defaults_are_named_with_their_setting() -> None:
    from fastapi import FastAPI
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    api = FastAPI()

    @api.put("/v2/{project_id}/taskgroups/{group_id}/stop")
    def stop(project_id: str, group_id: int) -> dict[str, str]:
        return {}

    assert _named(_asgi(api, "PUT", "/nope")) == "FastAPI (Starlette)"  # {"detail":"Not Found"}
    assert _named(_asgi(api, "GET", "/v2/p/taskgroups/1/stop")) == "FastAPI (Starlette)"  # 405
    assert _named(_asgi(api, "PUT", "/v2/p/taskgroups/x/stop")) == "FastAPI"  # 422 validation

    async def ok(request: object) -> PlainTextResponse:
        return PlainTextResponse("")

    plain = Starlette(routes=[Route("/v2/{p}/taskgroups/{g}/stop/", ok, methods=["PUT"])])
    assert _named(_asgi(plain, "PUT", "/nope")) == "Starlette"  # text/plain Not Found
    redirect = _asgi(plain, "PUT", "/v2/p/taskgroups/g/stop")
    assert redirect.status_code == 307
    # No body and no Server header in process: unknown; behind uvicorn its Server header names Starlette.
    assert not identify(307, list(redirect.headers.items()), b"").known
    served = [*redirect.headers.items(), ("server", "uvicorn")]
    assert "redirect_slashes" in identify(307, served, b"").setting


def test_flask_defaults_are_named_with_their_setting() -> None:
    from flask import Flask

    app = Flask(__name__)

    @app.put("/v2/<project_id>/taskgroups/<group_id>/stop")
    def stop(project_id: str, group_id: str) -> str:
        return ""

    client = app.test_client()
    missing = client.put("/nope")
    layer = identify(missing.status_code, list(missing.headers.items()), missing.data)
    assert layer.name == "Flask (Werkzeug)" and "<path:name>" in layer.setting
    merged = client.put("/v2/p//taskgroups/g/stop")
    if merged.status_code == 308:  # Werkzeug's merge_slashes
        layer = identify(308, list(merged.headers.items()), merged.data)
        assert "merge_slashes" in layer.setting


# Pages of fronts quoted from their source or documentation (see checks/machinery/stack_tells.py for each).
NGINX_494 = (
    b"<html>\r\n<head><title>400 Request Header Or Cookie Too Large</title></head>\r\n<body>\r\n"
    b"<center><h1>400 Bad Request</h1></center>\r\n<center>Request Header Or Cookie Too Large</center>\r\n"
    b"<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n"
)
FRONTS = [
    (400, [("Server", "nginx/1.22.1"), ("Content-Type", "text/html")], NGINX_494, "nginx", "large_client"),
    (
        414,
        [("Server", "nginx"), ("Content-Type", "text/html")],
        b"<html><head><title>414 Request-URI Too Large</title></head><body><center><h1>414 Request-URI Too "
        b"Large</h1></center><hr><center>nginx</center></body></html>",
        "nginx",
        "large_client_header_buffers",
    ),
    (200, [("Server", "nginx")], b"", "nginx", "proxy_pass"),
    (
        503,
        [("server", "envoy"), ("content-type", "text/plain")],
        b"upstream connect error or disconnect/reset before headers. reset reason: connection failure",
        "Envoy",
        "endpoints",
    ),
    (431, [("server", "envoy")], b"", "Envoy", "max_request_headers_kb"),
    (
        400,
        [("content-type", "text/html")],
        b"<html><body><h1>400 Bad Request</h1>\nYour browser sent an invalid request.\n</body></html>\n",
        "HAProxy",
        "tune.bufsize",
    ),
    (
        400,
        [("Server", "Apache/2.4.57 (Debian)"), ("Content-Type", "text/html; charset=iso-8859-1")],
        b'<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>400 Bad Request</title>\n'
        b"</head><body>\n<h1>Bad Request</h1>\n<p>Your browser sent a request that this server could not "
        b"understand.<br />\nSize of a request header field exceeds server limit.<br />\n</p>\n"
        b"</body></html>\n",
        "Apache httpd",
        "LimitRequestFieldSize",
    ),
    (
        400,
        [("Content-Type", "text/html;charset=utf-8")],
        b'<!doctype html><html lang="en"><head><title>HTTP Status 400 \xe2\x80\x93 Bad Request</title>',
        "Apache Tomcat",
        "maxHttpHeaderSize",
    ),
    (
        404,
        [("Content-Type", "text/html")],
        b"<h1>404 Not Found</h1>No context found for request",
        "JDK com.sun.net.httpserver",
        "getRawPath",
    ),
    (
        404,
        [("Content-Type", "application/json")],
        b'{"error_code":"APIGW.0101","error_msg":"The API does not exist or has not been published in the '
        b'environment","request_id":"r-1"}',
        "the cloud API gateway (APIGW)",
        "APIGW.0101",
    ),
    (
        404,
        [("X-Powered-By", "Express"), ("Content-Type", "text/html; charset=utf-8")],
        b'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Error</title>\n</head>\n'
        b"<body>\n<pre>Cannot PUT /nope</pre>\n</body>\n</html>\n",
        "Express",
        "final handler",
    ),
]


@pytest.mark.parametrize(("status", "headers", "body", "name", "setting"), FRONTS, ids=[f[3] for f in FRONTS])
def test_fronts_are_named_by_their_own_pages_and_headers(
    status: int, headers: list[tuple[str, str]], body: bytes, name: str, setting: str
) -> None:
    layer = identify(status, headers, body)
    assert layer.name == name, layer
    assert setting in layer.setting, layer


@pytest.mark.parametrize(
    ("status", "headers", "body"),
    [
        (431, [], b""),  # Node's own 431: nothing names it
        (400, [("Content-Type", "text/html")], b"<html>bad</html>"),  # some page of some layer
        (414, [("Server", "MyServer/1.0")], b""),
        (502, [], b"Bad Gateway"),
    ],
)
def test_an_answer_that_names_no_layer_is_said_to_be_unknown(
    status: int, headers: list[tuple[str, str]], body: bytes
) -> None:
    layer = identify(status, headers, body)
    assert not layer.known and layer.sentence().startswith("unknown ("), layer
    assert "proxy" not in layer.sentence()  # a proxy is named only where the answer shows one


def test_the_applications_envelope_is_the_application_whatever_serves_it() -> None:
    envelope = b'{"error_code":"OMS.0404","error_msg":"Not found."}'
    assert identify(404, [("Content-Type", "application/json")], envelope).sentence() == (
        "the application (the contract's error envelope)"
    )
    behind = identify(404, [("Server", "nginx")], envelope)
    assert behind.kind == "application" and "nginx" in behind.sentence()


# -- the lines a person reads first ---------------------------------------------------------------------


def test_answer_lines_show_the_first_bytes_the_location_and_the_layer() -> None:
    from conformance.checks.machinery.layers import layer_of
    from conformance.results import ANSWER_EXCERPT_CHARS, Exchange

    redirect = Exchange(
        "PUT",
        "http://t/v2/p/taskgroups//stop",
        {},
        status=301,
        response_headers={"Location": "/v2/p/taskgroups/stop"},
    )
    assert redirect.answer_lines() == [
        "Answer: 301, no content type, no body",
        "Location: /v2/p/taskgroups/stop",
    ]
    assert layer_of(redirect) == "unknown (no Server header, header or page of a known stack)"
    page = "x" * (ANSWER_EXCERPT_CHARS + 1)
    long = Exchange(
        "PUT",
        "http://t/",
        {},
        status=400,
        response_headers={"content-type": "text/plain"},
        response_body=page,
    )
    assert long.answer_lines() == [f"Answer: 400, text/plain, {page[:ANSWER_EXCERPT_CHARS]!r} (cut off)"]
    assert Exchange("PUT", "http://t/", {}, error="timed out").answer_lines() == []
