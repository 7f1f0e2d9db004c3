"""A real nginx (Debian's, as ``.ci/run`` installs it) in front of a loopback upstream, for the gateway tests.

Everything nginx writes stays under one prefix directory (pid file, error log, the temp paths a proxy
needs), so it runs as any user beside the system's own nginx. It listens on an ephemeral loopback port and
runs in the foreground (``daemon off``) as a child of the test, in its own process group, so stopping it
is bounded: SIGTERM (nginx's fast shutdown), a bounded wait, then SIGKILL to that group - no worker
outlives a failed test.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Self

import pytest

START_TIMEOUT = 10.0  # seconds for nginx to listen; it takes a few milliseconds
STOP_TIMEOUT = 5.0  # seconds for the fast shutdown before the group is killed
DEBIAN_NGINX = "/usr/sbin/nginx"  # not on a user's PATH outside root's

# What operators put in front of an API: gzip on JSON (also for proxied answers), short keep-alive, 32k
# header buffers (a 16,384-character token fits), the path kept byte for byte (no slash merging, and a
# proxy_pass without a URI part sends the request URI up as the client sent it).
TUNED = """
    merge_slashes off;
    large_client_header_buffers 4 32k;
    gzip on; gzip_types application/json; gzip_min_length 0; gzip_proxied any;
    keepalive_timeout 1s; keepalive_requests 5;
    location / {{
        proxy_pass http://127.0.0.1:{upstream_port};
        proxy_http_version 1.1; proxy_set_header Connection "";
        proxy_set_header Host $http_host;
    }}
"""

# nginx's defaults (8k header buffers, merge_slashes on, HTTP/1.0 upstream) and a proxy_pass *with* a URI
# part: nginx then forwards the normalised path (merged slashes, decoded %2F, resolved dot segments).
DEFAULTS_WITH_URI = """
    location / {{
        proxy_pass http://127.0.0.1:{upstream_port}/;
    }}
"""

# The huawei profile promises X-Request-Id on every answer of the platform, its gateway's own refusals
# included (the API gateway stamps them). nginx stands in for that gateway: it stamps a request id on the
# answers it makes itself - those without the application's - and leaves the application's own id alone.
STAMP_REQUEST_ID = """
    add_header X-Request-Id $gateway_request_id always;
"""

_MAIN = """
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    map $upstream_http_x_request_id $gateway_request_id {{ "" $request_id; default ""; }}
    client_body_temp_path {prefix}/tmp/body; proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi; uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    server {{
        listen {address}:{port}{ssl};
{server}
    }}
}}
"""


def binary(name: str, debian_path: str) -> str | None:
    """``name`` on the PATH, else where Debian puts it (root's sbin is not on a user's PATH)."""
    found = shutil.which(name)
    if found is None and os.access(debian_path, os.X_OK):
        found = debian_path
    return found


def nginx_binary() -> str | None:
    return binary("nginx", DEBIAN_NGINX)


def free_port(address: str = "127.0.0.1") -> int:
    # nginx cannot be handed a bound socket: pick a free port, close it, and retry if nginx lost the race.
    with socket.socket() as sock:
        sock.bind((address, 0))
        return int(sock.getsockname()[1])


def wait_listening(
    process: subprocess.Popen[bytes], port: int, timeout: float, address: str = "127.0.0.1"
) -> bool:
    """Whether the process listens on the loopback port within ``timeout`` seconds (False: it exited)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection((address, port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.01)
    return False


def installed(found: str | None, package: str, path: str) -> str:
    """A fixture's binary, or a skip naming the package (a failure where CI is set: tests/conftest.py)."""
    if found is None:
        pytest.skip(f"{package} is not installed ({path}): `apt-get install {package}`")
    return found


def spawn(argv: list[str]) -> subprocess.Popen[bytes]:
    """A server in the foreground, in its own process group (so that :func:`stop_process` stops it all)."""
    return subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def stop_process(process: subprocess.Popen[bytes] | None) -> str:
    """Stop a server the test started in its own process group (bounded: SIGTERM - nginx's and tinyproxy's
    fast shutdown - a wait, then SIGKILL to the group, workers and all); what it wrote on stderr."""
    if process is None:
        return ""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(STOP_TIMEOUT)
    assert process.stderr is not None
    with process.stderr:
        return process.stderr.read().decode(errors="replace")


class ChildServer:
    """A server the test runs as its child (nginx, tinyproxy): ``with`` starts it and always stops it."""

    process: subprocess.Popen[bytes] | None = None

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> str:
        """Stop it (bounded) and return what it wrote on stderr (why it did not start, if it did not)."""
        process, self.process = self.process, None
        return stop_process(process)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()


class Nginx(ChildServer):
    """``with Nginx(binary, prefix, server_block, upstream_port) as gw:`` gives ``gw.base_url``."""

    def __init__(
        self,
        binary: str,
        prefix: Path,
        server_block: str,
        upstream_port: int,
        *,
        address: str = "127.0.0.1",
        tls: bool = False,
    ) -> None:
        """``address``: the loopback address it listens on; ``tls``: https (the server block names the
        certificate)."""
        self.binary, self.prefix = binary, prefix
        self.server_block = server_block.format(upstream_port=upstream_port)
        self.address, self.tls = address, tls
        self.process: subprocess.Popen[bytes] | None = None
        self.base_url = ""

    def error_log(self) -> str:
        log = self.prefix / "logs" / "error.log"
        return log.read_text(errors="replace") if log.exists() else ""

    def start(self) -> Self:
        for sub in ("logs", "tmp"):
            (self.prefix / sub).mkdir(parents=True, exist_ok=True)
        why = ""
        for _ in range(3):  # another process may take the picked port before nginx binds it
            port = free_port(self.address)
            conf = self.prefix / "nginx.conf"
            ssl = " ssl" if self.tls else ""
            main = _MAIN.format(
                prefix=self.prefix, address=self.address, port=port, ssl=ssl, server=self.server_block
            )
            conf.write_text(main)
            # -e: the error log before the config is read (the default /var/log/nginx needs root).
            argv = [
                self.binary,
                "-p",
                str(self.prefix),
                "-c",
                str(conf),
                "-e",
                str(self.prefix / "logs/error.log"),
            ]
            self.process = spawn(argv)
            if self._wait_listening(port):
                self.base_url = f"{'https' if self.tls else 'http'}://{self.address}:{port}"
                return self
            why = self.stop()
            if "Address already in use" not in why:
                break
        raise RuntimeError(f"nginx did not start: {why}\n{self.error_log()}")

    def _wait_listening(self, port: int) -> bool:
        assert self.process is not None
        return wait_listening(self.process, port, START_TIMEOUT, self.address)
