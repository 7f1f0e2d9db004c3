"""An https target with a self-signed certificate: refused clearly unless the user vouches for it."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from tests.hostile.conftest import Outcome, RawServer, RunCli, Serve, answer, response
from tests.tls_certs import Issued, PrivateCA, make_ca

CHECKS = "operation,unknown-group,error-envelope,no-server-error"


@pytest.fixture
def tls_server(serve: Serve, self_signed: tuple[Path, Path]) -> RawServer:
    cert, key = self_signed
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = serve(answer(response(400)), tls=context)
    assert server.base_url.startswith("https://127.0.0.1:")
    return server


def assert_tls_advice(outcome: Outcome, why: str) -> None:
    """A refused certificate is a configuration to fix (exit 2), with the one line of advice that fixes it,
    and the report that could be written says so."""
    assert outcome.exit_code == 2, outcome.stdout + outcome.stderr
    assert "the server's TLS certificate was refused" in outcome.stderr and why in outcome.stderr
    advice = outcome.stderr.strip().splitlines()[-1]
    assert all(name in advice for name in ("--ca-bundle", "SSL_CERT_FILE", "--insecure")), advice
    assert outcome.report["stop_reason"] == "not_started" and why in outcome.report["incomplete_reason"]
    outcome.assert_no_token()


def test_self_signed_certificate_is_a_configuration_error_with_the_advice(
    tls_server: RawServer, run_cli: RunCli
) -> None:
    outcome = run_cli(tls_server.base_url, checks=CHECKS)
    assert_tls_advice(outcome, "self-signed certificate")
    assert tls_server.received == []  # the handshake failed: no request, no credential, went out


@pytest.fixture(scope="module")
def private_ca(tmp_path_factory: pytest.TempPathFactory) -> PrivateCA:
    return make_ca(tmp_path_factory.mktemp("ca"))


def _server(serve: Serve, issued: Issued, *, client_ca: Path | None = None) -> RawServer:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(issued.cert, issued.key)
    if client_ca is not None:  # mutual TLS: no certificate this CA signed, no connection
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(client_ca)
    return serve(answer(response(400)), tls=context)


@pytest.mark.parametrize(
    ("hosts", "expired", "why"),
    [
        (("other.example",), False, "mismatch, certificate is not valid for '127.0.0.1'"),
        (("127.0.0.1",), True, "certificate has expired"),
    ],
    ids=["wrong-host-name", "expired"],
)
def test_a_wrong_host_name_or_an_expired_certificate_is_a_configuration_error(
    serve: Serve,
    run_cli: RunCli,
    private_ca: PrivateCA,
    tmp_path: Path,
    hosts: tuple[str, ...],
    expired: bool,
    why: str,
) -> None:
    server = _server(serve, private_ca.issue(tmp_path, "server", hosts=hosts, expired=expired))
    outcome = run_cli(server.base_url, checks=CHECKS, extra=("--ca-bundle", str(private_ca.cert)))
    assert_tls_advice(outcome, why)


def test_a_private_ca_from_ssl_cert_file_is_trusted_and_recorded(
    serve: Serve, run_cli: RunCli, private_ca: PrivateCA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = _server(serve, private_ca.issue(tmp_path, "server"))
    assert_tls_advice(run_cli(server.base_url, checks=CHECKS), "unable to get local issuer certificate")
    monkeypatch.setenv("SSL_CERT_FILE", str(private_ca.cert))
    outcome = run_cli(server.base_url, checks=CHECKS)
    assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    assert outcome.report["target"]["tls"] == f"certificate verified against SSL_CERT_FILE={private_ca.cert}"


def test_a_server_behind_mutual_tls_is_tested_with_the_client_certificate(
    serve: Serve, run_cli: RunCli, private_ca: PrivateCA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = _server(serve, private_ca.issue(tmp_path, "server"), client_ca=private_ca.cert)
    trust = ("--ca-bundle", str(private_ca.cert))
    refused = run_cli(server.base_url, checks=CHECKS, extra=trust)
    assert refused.exit_code == 2, refused.stdout + refused.stderr
    assert "client certificate" in refused.stderr and "--client-cert" in refused.stderr
    assert server.received == []

    password = "pem-pass-phrase-7f3c"
    client = private_ca.issue(tmp_path, "client", client=True, password=password.encode())
    monkeypatch.setenv("OMS_CLIENT_KEY_PASSWORD", password)
    shown = ("--client-cert", str(client.cert), "--client-key", str(client.key))
    outcome = run_cli(
        server.base_url, checks=CHECKS, formats="json,junit,md,html,sarif", extra=(*trust, *shown)
    )
    assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    assert outcome.report["target"]["client_certificate"] == str(client.cert)
    assert outcome.report["requests"] == len(server.received) > 0
    everything = (
        outcome.stdout + outcome.stderr + "".join(p.read_text() for p in outcome.report_dir.iterdir())
    )
    assert password not in everything
    assert client.key.read_text().splitlines()[1] not in everything  # no line of the key


def test_a_wrong_client_key_password_names_the_files_and_never_the_key(
    serve: Serve, run_cli: RunCli, private_ca: PrivateCA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = _server(serve, private_ca.issue(tmp_path, "server"), client_ca=private_ca.cert)
    client = private_ca.issue(tmp_path, "client", client=True, password=b"the-right-one")
    monkeypatch.setenv("OMS_CLIENT_KEY_PASSWORD", "a-wrong-one")
    extra = (
        "--ca-bundle",
        str(private_ca.cert),
        "--client-cert",
        str(client.cert),
        "--client-key",
        str(client.key),
    )
    outcome = run_cli(server.base_url, checks=CHECKS, extra=extra)
    assert outcome.exit_code == 2, outcome.stdout + outcome.stderr
    assert f"client certificate {client.cert} with key {client.key}: cannot be loaded" in outcome.stderr
    assert "a-wrong-one" not in outcome.stderr and "PRIVATE KEY" not in outcome.stderr
    assert server.connections == 0


def test_ca_bundle_makes_the_self_signed_target_usable(
    tls_server: RawServer, run_cli: RunCli, self_signed: tuple[Path, Path]
) -> None:
    cert, _ = self_signed
    outcome = run_cli(tls_server.base_url, checks=CHECKS, extra=("--ca-bundle", str(cert)))
    assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    assert outcome.report["verdict"] == "CONFORMS ON WHAT RAN"
    assert outcome.report["requests"] == len(tls_server.received) > 0  # every request reached the server
    outcome.assert_no_token()


def test_insecure_makes_the_self_signed_target_usable_warns_and_every_report_says_so(
    tls_server: RawServer, run_cli: RunCli
) -> None:
    outcome = run_cli(
        tls_server.base_url, checks=CHECKS, formats="json,junit,md,html,sarif", extra=("--insecure",)
    )
    assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    assert outcome.report["verdict"] == "CONFORMS ON WHAT RAN"
    assert "warning: --insecure: the target's TLS certificate is not verified" in outcome.stderr
    assert outcome.report["target"]["tls_verified"] is False
    for name in ("junit.xml", "summary.md", "report.html", "results.sarif"):
        text = (outcome.report_dir / name).read_text()
        assert "not verified (--insecure)" in text, name
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
