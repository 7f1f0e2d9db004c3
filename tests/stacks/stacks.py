"""The field servers of tests/stacks/, each deployed as a careful deployer would for the page's limits (a
16,384-character token, 1,024-character ids of multi-byte characters: request lines up to ~25 KB), and
each of the stack's harmful defaults that the tests put back one at a time.

``launch(name, workdir, defaults)`` starts one; ``missing(name)`` says what a machine lacks to run it.
Go and Java are compiled once per test session (``build``) into the session's temporary directory, never
into the tree; Go's build cache stays under the system's temporary directory between sessions.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .launch import Command, StackServer

HERE = Path(__file__).resolve().parent
GO_CACHE = Path(tempfile.gettempdir()) / "oms-conformance-stacks"  # Go's build cache, kept between sessions
# stack -> the directory its compiled server is in. Each test process (xdist worker) compiles into a
# directory of its own: a second javac writing class files that a running JVM still loads would race.
BUILT: dict[str, Path] = {}
PY = sys.executable


@dataclass(frozen=True)
class Stack:
    directory: str
    # What it needs: Python modules, executables, files under its directory (npm ci's node_modules).
    modules: tuple[str, ...] = ()
    executables: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    # The stack's harmful defaults the tests can put back: name -> what it is (see each server's docstring).
    defaults: dict[str, str] = field(default_factory=dict)


STACKS = {
    "fastapi": Stack(
        "fastapi_uvicorn",
        modules=("fastapi", "uvicorn", "h11"),
        defaults={
            "h11-max-incomplete-event-size": "uvicorn's h11 limit on an incomplete request head: 16 KiB",
            "decoded-routing": "Starlette routes on the percent-decoded path (%2F is a separator)",
            "str-convertor": "Starlette's default path parameter: no empty id (404)",
        },
    ),
    "flask": Stack(
        "flask_gunicorn",
        modules=("flask", "gunicorn"),
        defaults={
            "limit-request-line": "gunicorn's request line limit: 4,094 bytes (414)",
            "limit-request-field-size": "gunicorn's header field limit: 8,190 bytes (431)",
            "decoded-routing": "Werkzeug routes on PATH_INFO, percent-decoded by the server",
            "string-converter": "Werkzeug's default converter: no empty id (404, or 308 merging '//')",
        },
    ),
    "aiohttp": Stack(
        "aiohttp_web",
        modules=("aiohttp",),
        defaults={
            "max-line-size": "aiohttp's request/header line limit: 8,190 bytes (its own text/plain 400)",
            "max-field-size": "aiohttp's header field limit: 8,190 bytes (its own text/plain 400)",
        },
    ),
    "express": Stack(
        "express_node",
        executables=("node",),
        files=("node_modules/express/package.json",),  # npm ci in tests/stacks/express_node
        defaults={
            "max-http-header-size": "Node's limit on a request head: 16 KiB (431)",
        },
    ),
    # Go's MaxHeaderBytes (1 MiB, the request line included) fits the page's heads: no limit to lift.
    "go": Stack(
        "go_nethttp",
        executables=("go",),
        defaults={
            "servemux": "http.ServeMux on r.URL.Path: %2F decoded before routing, 301 to '//'",
        },
    ),
    # The JDK's sun.net.httpserver.maxReqHeaderSize (389,120 bytes in 17.0.15's ServerConfig) fits them too.
    "jdk": Stack(
        "jdk_httpserver",
        executables=("javac", "java"),
        defaults={"decoded-path": "routes on URI.getPath(): %2F decoded before routing"},
    ),
}


def missing(name: str) -> str | None:
    """What this machine lacks to run the stack's server, or None."""
    stack = STACKS[name]
    lacks = [m for m in stack.modules if importlib.util.find_spec(m) is None]
    lacks += [e for e in stack.executables if shutil.which(e) is None]
    lacks += [f for f in stack.files if not (HERE / stack.directory / f).exists()]
    return ", ".join(lacks) or None


def command(name: str, defaults: Sequence[str]) -> Command:
    here = HERE / STACKS[name].directory
    if name == "fastapi":

        def fastapi(port: int) -> list[str]:
            argv = [PY, "-m", "uvicorn", "main:app", "--app-dir", str(here), "--host", "127.0.0.1"]
            argv += ["--port", str(port), "--http", "h11", "--no-access-log", "--log-level", "warning"]
            if "h11-max-incomplete-event-size" not in defaults:
                # The head of a legal request reaches ~41 KB (two 12 KiB ids and a 16 KiB token).
                argv += ["--h11-max-incomplete-event-size", str(1024 * 1024)]
            return argv

        return fastapi
    if name == "flask":

        def flask(port: int) -> list[str]:
            argv = [PY, "-m", "gunicorn", "-c", str(here / "gunicorn.conf.py"), "--chdir", str(here)]
            if "limit-request-line" in defaults:
                argv += ["--limit-request-line", "4094"]
            if "limit-request-field-size" in defaults:
                argv += ["--limit-request-field_size", "8190"]
            return [*argv, "app:app"]

        return flask
    if name == "express":

        def express(port: int) -> list[str]:
            # The head of a legal request reaches ~41 KB (two 12 KiB ids and a 16 KiB token).
            size = [] if "max-http-header-size" in defaults else [f"--max-http-header-size={64 * 1024}"]
            return ["node", *size, str(here / "server.js")]

        return express
    if name == "go":
        return lambda port: [str(BUILT["go"] / "stopserver"), "-addr", f"127.0.0.1:{port}"]
    if name == "jdk":
        return lambda port: ["java", "-cp", str(BUILT["jdk"]), "StopServer", str(port)]
    if name == "aiohttp":
        return lambda port: [PY, str(here / "server.py")]
    raise KeyError(name)


def launch(name: str, workdir: Path, defaults: Sequence[str] = ()) -> StackServer:
    unknown = set(defaults) - set(STACKS[name].defaults)
    assert not unknown, f"{name} has no default {unknown}"
    env = {"STACK_DEFAULTS": ",".join(defaults), "PYTHONDONTWRITEBYTECODE": "1"}
    return StackServer(name, command(name, defaults), workdir, env)


def build(name: str, into: Path | None = None) -> None:
    """Compile a server that needs it (Go, Java) into the directory ``into`` (default: a new temporary
    one); nothing for the others."""
    here = HERE / STACKS[name].directory
    into = Path(tempfile.mkdtemp(prefix=f"oms-{name}-")) if into is None else into
    if name == "go":
        # The standard library only: GOPATH mode, no module proxy, Go's build cache kept in GO_CACHE.
        env = {"GO111MODULE": "off", "GOPROXY": "off", "GOFLAGS": ""}
        env |= {"GOCACHE": str(GO_CACHE / "gocache"), "GOPATH": str(GO_CACHE / "gopath")}
        argv = ["go", "build", "-o", str(into / "stopserver"), "main.go"]
    elif name == "jdk":
        env, argv = {}, ["javac", "-d", str(into), "StopServer.java"]
    else:
        return
    done = subprocess.run(argv, cwd=here, env={**os.environ, **env}, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{name} did not build: {done.stdout}{done.stderr}")
    BUILT[name] = into
