"""Hostile loopback targets: tiny raw-socket servers that misbehave on purpose, and the CLI run at them.

Raw sockets rather than uvicorn because the point is to send what no framework would: no answer, a byte at a
time, a wrong Content-Length, a reset. Each server listens on 127.0.0.1 port 0, handles each connection in a
daemon thread, records what it received, and on stop closes every socket it opened (filterwarnings=error
turns a leaked socket into a failure) and releases any handler blocked on ``server.stopped``.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import ssl
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from conformance.cli import main

TOKEN = "hostile-" + "T0kEn" * 8  # long and distinctive, so a leak cannot hide
PROJECT = "proj-hostile-01"

Handler = Callable[[socket.socket, "RawServer"], None]

ENVELOPE = b'{"error_code":"OMS.0001","error_msg":"bad request"}'

# Wall-clock bounds here only catch hangs, never a busy machine: HANG_S is far above what any of these runs
# takes, and far below what the behaviour under test would cost if it were broken (a --request-timeout of
# LONG_TIMEOUT_S waited for, a target that holds a request until it stops). Speed is for tests/benchmarks/.
HANG_S = 60.0
LONG_TIMEOUT_S = 4 * HANG_S


def response(
    status: int,
    body: bytes = ENVELOPE,
    *,
    reason: str = "X",
    content_type: str = "application/json",
    extra: tuple[str, ...] = (),
    version: str = "HTTP/1.1",
    length: int | None = None,
) -> bytes:
    lines = [
        f"{version} {status} {reason}",
        f"Content-Type: {content_type}",
        "X-Request-Id: r-1",
        "Connection: close",
        *extra,
    ]
    if length is not None or version == "HTTP/1.1":
        lines.append(f"Content-Length: {len(body) if length is None else length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def read_request(conn: socket.socket, server: RawServer) -> bytes | None:
    """One request (head and Content-Length body), recorded on the server; None if the peer went away."""
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(rest) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            rest += chunk
    except OSError:
        return None
    with server.lock:
        server.received.append(data)
    return data


def answer(payload: bytes) -> Handler:
    """Read one request, send ``payload``, close."""

    def handle(conn: socket.socket, server: RawServer) -> None:
        if read_request(conn, server) is not None:
            conn.sendall(payload)

    return handle


def after_first(count: int, then: Handler) -> Handler:
    """The first ``count`` connections get a proper answer (a 400 envelope), every later one ``then``."""
    good = answer(response(400))
    lock = threading.Lock()
    seen = [0]

    def handle(conn: socket.socket, server: RawServer) -> None:
        with lock:
            seen[0] += 1
            early = seen[0] <= count
        (good if early else then)(conn, server)

    return handle


def hold(conn: socket.socket, server: RawServer) -> None:
    """Read the request and hold it unanswered until the server stops: only the client's deadline ends it."""
    read_request(conn, server)
    server.stopped.wait()


@dataclass
class RawServer:
    handler: Handler
    tls: ssl.SSLContext | None = None
    received: list[bytes] = field(default_factory=list)
    connections: int = 0
    closed_half_sent: int = 0  # connections a handler closed before the request head was whole
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopped: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []
        self._threads: list[threading.Thread] = []

    @property
    def base_url(self) -> str:
        assert self._listener is not None
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self._listener.getsockname()[1]}"

    @property
    def port(self) -> int:
        assert self._listener is not None
        return int(self._listener.getsockname()[1])

    def start(self) -> RawServer:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self._listener.settimeout(0.05)
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def stop_listening(self) -> None:
        """Close the listening socket: new connections are refused from now on (a target that died)."""
        with self.lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()

    def stop(self) -> None:
        self.stopped.set()
        self.stop_listening()
        with self.lock:
            conns = list(self._open)
        for conn in conns:
            _close(conn)
        for thread in self._threads:
            thread.join(timeout=5)

    def _accept(self) -> None:
        while not self.stopped.is_set():
            listener = self._listener
            if listener is None:
                return
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            with self.lock:
                self.connections += 1
                self._open.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            with self.lock:
                self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            if self.tls is not None:
                conn.settimeout(5)
                wrapped = self.tls.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
                try:
                    wrapped.do_handshake()
                except ssl.SSLError:
                    conn = socket.socket(fileno=wrapped.detach())
                    conn.settimeout(5)
                    _linger(conn)
                    raise
                with self.lock:
                    self._open.append(wrapped)
                conn = wrapped
            self.handler(conn, self)
        except (OSError, ValueError):
            pass  # the client hung up, or the handshake failed: both are what these tests provoke
        finally:
            _close(conn)

    def __enter__(self) -> RawServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _linger(conn: socket.socket) -> None:
    """A lingering close after a refused handshake, as real servers close: the TLS alert already sent is
    followed by a FIN, and what the client sent meanwhile is read away - closing with it unread would send
    a reset, which can overtake the alert (TLS 1.3 clients write their request before the server has
    judged their certificate)."""
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_WR)
        while conn.recv(65536):
            pass


def _close(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.close()


def reset(conn: socket.socket) -> None:
    """Close with RST instead of FIN (SO_LINGER 0)."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


# The fixtures' types, for the tests' signatures: serve(handler, tls=...) and run_cli(base_url, checks=...).
Serve = Callable[..., RawServer]


@pytest.fixture
def serve() -> Iterator[Serve]:
    servers: list[RawServer] = []

    def start(handler: Handler, *, tls: ssl.SSLContext | None = None) -> RawServer:
        server = RawServer(handler, tls=tls).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@dataclass
class Outcome:
    exit_code: int
    stdout: str
    stderr: str
    report_dir: Path
    wall_s: float

    @property
    def report(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.report_dir / "conformance.json").read_text(encoding="utf-8"))
        return data

    def verdicts(self) -> dict[str, str]:
        return {c["check"]: c["verdict"] for c in self.report["checks"]}

    def requirement(self, rid: str) -> str:
        return str(next(r["verdict"] for r in self.report["requirements"] if r["id"] == rid))

    def assert_no_token(self, token: str = TOKEN) -> None:
        assert token not in self.stdout
        assert token not in self.stderr
        if self.report_dir.exists():
            for path in self.report_dir.iterdir():
                assert token not in path.read_text(encoding="utf-8", errors="replace"), path.name


def cli_args(
    base_url: str, report_dir: Path, *, checks: str, timeout: float = 0.5, formats: str = "json"
) -> list[str]:
    return [
        "run",
        "--base-url",
        base_url,
        "--token",
        TOKEN,
        "--project-id",
        PROJECT,
        "--checks",
        checks,
        "--request-timeout",
        str(timeout),
        "--reruns",
        "0",
        "--seed",
        "7",
        "--format",
        formats,
        "--report-dir",
        str(report_dir),
    ]


RunCli = Callable[..., Outcome]


@pytest.fixture
def run_cli(tmp_path: Path) -> RunCli:
    """``oms-conformance run`` in process against ``base_url``: exit code, output, report dir, wall time."""
    counter = iter(range(1000))

    def run(
        base_url: str,
        *,
        checks: str = "operation,unknown-group",
        timeout: float = 0.5,
        formats: str = "json",
        extra: tuple[str, ...] = (),
    ) -> Outcome:
        report_dir = tmp_path / f"reports-{next(counter)}"
        started = time.perf_counter()
        result = CliRunner().invoke(
            main, [*cli_args(base_url, report_dir, checks=checks, timeout=timeout, formats=formats), *extra]
        )
        wall = time.perf_counter() - started
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Outcome(result.exit_code, result.stdout, result.stderr, report_dir, wall)

    return run


@pytest.fixture(scope="session")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cert, key), made with ``cryptography`` or the openssl CLI."""
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    try:
        _with_cryptography(cert, key)
    except ImportError:
        openssl = shutil.which("openssl")
        if openssl is None:
            pytest.skip(
                "neither the cryptography package nor the openssl CLI is available to make a certificate"
            )
        subprocess.run(
            [
                openssl,
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                str(key),
                "-out",
                str(cert),
                "-days",
                "1",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
    return cert, key


def _with_cryptography(cert_path: Path, key_path: Path) -> None:
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
