"""An https target with a self-signed certificate: refused clearly unless the user vouches for it."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from tests.hostile.conftest import RawServer, RunCli, Serve, answer, response

CHECKS = "operation,unknown-group,error-envelope,no-server-error"


@pytest.fixture
def tls_server(serve: Serve, self_signed: tuple[Path, Path]) -> RawServer:
    cert, key = self_signed
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = serve(answer(response(400)), tls=context)
    assert server.base_url.startswith("https://127.0.0.1:")
    return server


def test_self_signed_certificate_is_refused_with_a_clear_message(
    tls_server: RawServer, run_cli: RunCli
) -> None:
    outcome = run_cli(tls_server.base_url, checks=CHECKS)
    assert outcome.exit_code == 3, outcome.stderr
    assert "certificate" in outcome.stderr.lower()
    assert "CERTIFICATE_VERIFY_FAILED" in outcome.stderr or "verify failed" in outcome.stderr
    assert tls_server.received == []  # the handshake failed: no request, no credential, went out
    outcome.assert_no_token()


def test_ca_bundle_makes_the_self_signed_target_usable(
    tls_server: RawServer, run_cli: RunCli, self_signed: tuple[Path, Path]
) -> None:
    cert, _ = self_signed
    outcome = run_cli(tls_server.base_url, checks=CHECKS, extra=("--ca-bundle", str(cert)))
    assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    assert outcome.report["verdict"] == "CONFORMS ON WHAT RAN"
    assert outcome.report["requests"] == len(tls_server.received) > 0  # every request reached the server
    outcome.assert_no_token()


def test_insecure_makes_the_self_signed_target_usable(tls_server: RawServer, run_cli: RunCli) -> None:
    outcome = run_cli(tls_server.base_url, checks=CHECKS, extra=("--insecure",))
    assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    assert outcome.report["verdict"] == "CONFORMS ON WHAT RAN"
    outcome.assert_no_token()


def test_ca_bundle_that_is_not_pem_is_a_usage_error(
    tls_server: RawServer, run_cli: RunCli, tmp_path: Path
) -> None:
    bogus = tmp_path / "bundle.pem"
    bogus.write_text("not a certificate\n", encoding="utf-8")
    outcome = run_cli(tls_server.base_url, checks=CHECKS, extra=("--ca-bundle", str(bogus)))
    assert outcome.exit_code == 2, outcome.stderr
    assert "--ca-bundle" in outcome.stderr and "bundle.pem" in outcome.stderr
    assert tls_server.connections == 0
