"""``import conformance`` and loading its pytest plugin stay cheap: the plugin is loaded in every pytest
session of every project that installs the package, so neither may import a check, Hypothesis or
Schemathesis (the runner is imported when ``RunOptions`` or ``run_suite`` is first asked for), nor the
server's uvicorn or the proxy's httpx (imported when a fixture first starts a server), nor the target's
schema validator (jsonschema) or the YAML parser (a session without ``--oms-target`` reads no file).

Module names only, from ``python -X importtime`` in a fresh interpreter: no timing is asserted."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

HEAVY = (
    *("hypothesis", "schemathesis", "conformance.checks", "conformance.runner", "uvicorn", "httpx"),
    *("jsonschema", "yaml", "conformance.target"),
)


def imported_by(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, exit_code: int = 0
) -> set[str]:
    """The modules ``python -X importtime ARGS`` imports in a fresh interpreter, as it lists them."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env=env,
    )
    assert done.returncode == exit_code, done.stdout + done.stderr[-2000:]
    return {
        line.rsplit("|", 1)[-1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }


def heavy_among(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY or m.startswith(HEAVY))


def test_importing_the_package_and_its_plugin_loads_no_check_and_no_generator() -> None:
    package = imported_by("-c", "import conformance")
    assert "conformance" in package
    assert heavy_among(package) == []
    plugin = imported_by("-c", "import conformance.pytest_plugin")
    assert "conformance.pytest_plugin" in plugin
    assert heavy_among(plugin) == []


def test_a_pytest_session_that_loads_the_plugin_and_uses_no_fixture_imports_none_of_them(
    tmp_path: Path,
) -> None:
    # An empty project, collected: the plugin loads as pytest loads it - by its entry point name - and
    # only it (autoload off: Hypothesis and Schemathesis have pytest plugins of their own, which would
    # import themselves and prove nothing about this one).
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    args = ("-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-p", "oms_conformance")
    # --oms-depth exists only if the plugin registered its options (a usage error, 4, otherwise); 5 is
    # "no tests collected", as in any empty project.
    modules = imported_by(*args, "--oms-depth", "quick", cwd=tmp_path, env=env, exit_code=5)
    # The entry point is imported with importlib (not listed itself); what it imports is.
    assert {"conformance.errors", "conformance.results"} <= modules
    assert heavy_among(modules) == []


def test_the_lazy_names_are_the_real_ones() -> None:
    import conformance
    from conformance.options import RunOptions
    from conformance.runner.session import run_suite

    assert conformance.RunOptions is RunOptions and conformance.run_suite is run_suite
    assert {"RunOptions", "run_suite"} <= set(dir(conformance))


# What a run against a remote target needs before its first request is the CLI, the runner, the checks'
# definitions, the client and the target's quick validator; the rest waits until it is used: Schemathesis and
# Hypothesis until the fuzz and stateful checks draw, the report writers until the run ends, and the
# reference server and the validating proxy never (they are other commands').
NOT_BEFORE_THE_FIRST_REQUEST = (
    *("hypothesis", "schemathesis", "uvicorn", "rich", "pygments", "starlette"),
    *("conformance.server", "conformance.proxy", "conformance.reports", "conformance._seams"),
    "conformance.checks.machinery.corpus",
    "conformance.baseline",  # when --baseline names one
    # The look-alike checks' generators, when those checks run (checks/lookalike.py).
    *("conformance.checks.machinery.lookalikes", "conformance.checks.machinery.patterns"),
    # A valid target file is accepted without jsonschema (conformance/schemas/quick.py); it words problems.
    *("jsonschema", "referencing", "attr", "attrs"),
    # Requests go on the client's own connections with the header list httpx would build, made without it
    # (transport/request_head.py); httpx is imported when a request first needs it (transports.py).
    *("httpx", "httpcore", "anyio"),
)
# Of anyone else's, a run imports only these before its first request (the standard library aside): the
# CLI's, the target file's parser, the HTTP/1.1 state machine, the CA store (certifi, for https unless
# SSL_CERT_FILE or SSL_CERT_DIR names one) - and what site-packages' .pth files load. ("org" is the standard
# library's copy module trying Jython's org.python.core; importtime lists the attempt.)
OTHERS_BEFORE_THE_FIRST_REQUEST = {
    "click",
    "yaml",
    "h11",
    "certifi",
    "_distutils_hack",
    "sitecustomize",
    "org",
}


def imported_before_first_request(tmp_path: Path, scheme: str = "http") -> tuple[set[str], bytes]:
    """``oms-conformance run`` against a loopback listener that never answers: the modules imported by the
    time its first request has arrived (a superset of those imported before it was sent), and that request;
    for https, by the time the first bytes of its TLS handshake have (what the request needs is made)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(120)  # only a bound on a hang: a run sends its first request at once
    port = listener.getsockname()[1]
    (tmp_path / "target.yaml").write_text(
        f"base_url: {scheme}://127.0.0.1:{port}\nproject_id: {'a' * 32}\ntoken: a-token-of-this-test-0001\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-X", "importtime", "-m", "conformance", "run", "--target", "target.yaml"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    assert child.stderr is not None
    # Read as it comes: the import list is longer than a pipe holds, and a blocked child would never send.
    reader = threading.Thread(target=lambda: lines.extend(child.stderr or ()))
    reader.start()
    request = b""
    try:
        with listener, listener.accept()[0] as connection:
            while b"\r\n\r\n" not in request and not (scheme == "https" and request):
                chunk = connection.recv(65536)
                assert chunk, "the run closed its connection before a whole request"
                request += chunk
    finally:
        child.kill()
        child.wait(30)
        reader.join(30)
        child.stderr.close()
    return {line.rsplit("|", 1)[-1].strip() for line in lines if line.startswith("import time:")}, request


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_run_against_a_remote_target_imports_no_generator_server_or_report_before_its_first_request(
    tmp_path: Path, scheme: str
) -> None:
    modules, request = imported_before_first_request(tmp_path, scheme)
    if scheme == "http":
        assert request.startswith(b"PUT /v2/" + b"a" * 32 + b"/taskgroups/")  # the preflight's stop
    else:
        assert request[:1] == b"\x16"  # a TLS handshake record: the ClientHello
    assert {"conformance.cli.run_cmd", "conformance.runner.engine", "conformance.target", "h11"} <= modules
    assert {
        "conformance.checks.fuzz",
        "conformance.checks.stateful",
    } <= modules  # the checks, not their engines
    early = sorted(
        m
        for m in modules
        if m.split(".")[0] in NOT_BEFORE_THE_FIRST_REQUEST or m.startswith(NOT_BEFORE_THE_FIRST_REQUEST)
    )
    assert early == []
    others = {m.split(".")[0] for m in modules} - set(sys.stdlib_module_names) - {"conformance"}
    others.discard("imported package")  # importtime's header line
    assert others <= OTHERS_BEFORE_THE_FIRST_REQUEST, sorted(others)


def test_an_embedded_run_imports_no_server_stack(tmp_path: Path) -> None:
    # The embedded default target runs in a process of its own (conformance/runner/embedded.py): the run's
    # process imports none of the server, uvicorn or its event loop - only the child does (which -X importtime
    # does not follow).
    modules = imported_by(
        "-m", "conformance", "run", "--seed", "1", "--checks", "operation", "--format", "json", cwd=tmp_path
    )
    assert {"conformance.runner.embedded", "conformance.runner.engine", "conformance.reports"} <= modules
    server_stack = ("conformance.server", "uvicorn", "uvloop", "httptools", "starlette")
    assert sorted(m for m in modules if m.split(".")[0] in server_stack or m.startswith(server_stack)) == []
    report = json.loads((tmp_path / "reports" / "conformance.json").read_text())
    assert report["target"]["embedded"] is True and report["finished"] is True
