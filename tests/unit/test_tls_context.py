"""transport/tls.py's default context is the one httpx makes of ``verify=<bool>``: the same CAs (certifi's,
or SSL_CERT_FILE's), the same verification - so our own connections and httpx's trust alike."""

from __future__ import annotations

import ssl
from pathlib import Path

import certifi
import httpx
import pytest

from conformance.transport.tls import default_context


def same(ours: ssl.SSLContext, theirs: ssl.SSLContext) -> None:
    assert (ours.verify_mode, ours.check_hostname) == (theirs.verify_mode, theirs.check_hostname)
    assert ours.get_ca_certs() == theirs.get_ca_certs()
    assert ours.cert_store_stats() == theirs.cert_store_stats()


@pytest.mark.parametrize("verify", [True, False])
def test_the_default_context_is_httpxs(verify: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    same(default_context(verify), httpx.create_ssl_context(verify=verify))
    if verify:
        assert default_context(verify).cert_store_stats()["x509_ca"] > 10  # certifi's store, not empty


def test_ssl_cert_file_is_honoured_as_httpx_honours_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "one.pem"
    pems = Path(certifi.where()).read_text(encoding="ascii").split("-----END CERTIFICATE-----")
    bundle.write_text(pems[0] + "-----END CERTIFICATE-----\n", encoding="ascii")
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    ours = default_context(True)
    same(ours, httpx.create_ssl_context(verify=True))
    assert ours.cert_store_stats()["x509_ca"] == 1
