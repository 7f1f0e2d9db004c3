"""A client's TLS settings: the CA bundle it trusts (``--ca-bundle``, or the default store that honours
SSL_CERT_FILE / SSL_CERT_DIR) and the certificate it shows a server behind mutual TLS. Errors name files and
flags, never what a key file holds."""

from __future__ import annotations

import os
import ssl

from conformance.errors import ConfigError, UsageError
from conformance.target import ClientCertificate


def tls_setting(verify: bool | str) -> bool | ssl.SSLContext:
    """httpx 0.28 deprecates a CA-bundle path for ``verify`` (a DeprecationWarning now, an error later)."""
    if not isinstance(verify, str):
        return verify
    try:
        return ssl.create_default_context(cafile=verify)
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"--ca-bundle {verify!r}: not a readable PEM CA bundle ({exc})") from exc


def default_context(verify: bool) -> ssl.SSLContext:
    """The context httpx's ``create_ssl_context(verify=<bool>)`` makes - the CAs of SSL_CERT_FILE or
    SSL_CERT_DIR if set, else certifi's; no verification for False - made without importing httpx (a run
    whose requests all go on our own connections never does). tests/unit/test_tls_context.py compares the
    two."""
    if not verify:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if os.environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    if os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=os.environ["SSL_CERT_DIR"])
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def load_client_certificate(context: ssl.SSLContext, certificate: ClientCertificate) -> None:
    """The certificate a server behind mutual TLS asks for. The message names the files, never what is in
    them (OpenSSL's reason, e.g. a wrong password's "bad decrypt", says nothing of the key)."""
    try:
        context.load_cert_chain(certificate.cert, certificate.key, certificate.password)
    except (OSError, ssl.SSLError) as exc:
        files = certificate.cert + (f" with key {certificate.key}" if certificate.key else "")
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        if isinstance(exc, ssl.SSLError) and exc.reason:
            reason = exc.reason
        raise ConfigError(
            f"client certificate {files}: cannot be loaded ({reason})",
            hint="Give a PEM certificate and its unencrypted key, or the key's password in "
            "client_key_password / OMS_CLIENT_KEY_PASSWORD.",
        ) from None
