"""Which proxy a request goes through (transport/proxies.py): the environment as curl and Python read it,
loopback never through an environment's proxy, --proxy / proxy: over everything."""

from __future__ import annotations

import pytest

from conformance.errors import ConfigError
from conformance.redact import Redactor
from conformance.transport.http import Client
from conformance.transport.proxies import Proxy, bypassed, choose_proxy

ENV = {"HTTP_PROXY": "http://plain.proxy:3128", "HTTPS_PROXY": "http://tls.proxy:8080"}


def _where(proxy: Proxy | None) -> str | None:
    return None if proxy is None else f"{proxy.host}:{proxy.port} {proxy.source}"


@pytest.mark.parametrize(
    ("base_url", "setting", "env", "expected"),
    [
        ("https://oms.example.com", None, ENV, "tls.proxy:8080 HTTPS_PROXY"),
        ("http://oms.example.com", None, ENV, "plain.proxy:3128 HTTP_PROXY"),
        (
            "https://oms.example.com",
            None,
            {"https_proxy": "http://lower:1", "HTTPS_PROXY": "http://upper:2"},
            "lower:1 https_proxy",
        ),
        ("https://oms.example.com", None, {"ALL_PROXY": "http://all:3"}, "all:3 ALL_PROXY"),
        ("https://oms.example.com", None, {}, None),
        # Loopback never through the environment's proxy: the embedded server, a local build.
        ("http://127.0.0.1:8080", None, ENV, None),
        ("http://127.9.9.9:8080", None, ENV, None),
        ("http://[::1]:8080", None, ENV, None),
        ("http://localhost:8080", None, ENV, None),
        # ...unless --proxy / proxy: says so; "none" ignores the environment.
        ("http://127.0.0.1:8080", "http://chosen:9", ENV, "chosen:9 --proxy"),
        ("https://oms.example.com", "none", ENV, None),
        ("https://oms.example.com", "chosen:9", ENV, "chosen:9 --proxy"),  # a bare host:port, as curl
        # NO_PROXY: host names and their subdomains, ports, networks, *.
        ("https://oms.example.com", None, {**ENV, "NO_PROXY": "example.com"}, None),
        ("https://oms.example.com", None, {**ENV, "no_proxy": ".example.com"}, None),
        (
            "https://oms.example.com",
            None,
            {**ENV, "NO_PROXY": "other.com,notexample.com"},
            "tls.proxy:8080 HTTPS_PROXY",
        ),
        ("https://10.1.2.3", None, {**ENV, "NO_PROXY": "10.0.0.0/8"}, None),
        (
            "https://oms.example.com:8443",
            None,
            {**ENV, "NO_PROXY": "oms.example.com:443"},
            "tls.proxy:8080 HTTPS_PROXY",
        ),
        ("https://oms.example.com", None, {**ENV, "NO_PROXY": "*"}, None),
    ],
)
def test_the_proxy_of_a_target(
    base_url: str, setting: str | None, env: dict[str, str], expected: str | None
) -> None:
    assert _where(choose_proxy(base_url, setting, env)) == expected


def test_a_proxy_password_becomes_basic_authorization_and_is_never_shown() -> None:
    proxy = choose_proxy("https://oms.example.com", None, {"HTTPS_PROXY": "http://user:s%40cret@proxy:3128"})
    assert proxy is not None and proxy.authorization == "Basic dXNlcjpzQGNyZXQ="  # user:s@cret
    assert proxy.shown == "http://proxy:3128" and "cret" not in repr(proxy)


@pytest.mark.parametrize(
    "url", ["socks5://user:hunter2@proxy:1080", "https://user:hunter2@proxy:443", "http://proxy:port"]
)
def test_a_proxy_that_cannot_be_spoken_to_is_a_configuration_error_that_shows_no_password(url: str) -> None:
    with pytest.raises(ConfigError, match="HTTPS_PROXY") as refused:
        choose_proxy("https://oms.example.com", None, {"HTTPS_PROXY": url})
    assert "hunter2" not in refused.value.message


def test_no_proxy_reads_as_curl() -> None:
    assert bypassed("a.b.example.com", 443, "example.com")
    assert not bypassed("badexample.com", 443, "example.com")
    assert bypassed("::1", 80, "[::1]")


def test_the_client_sends_every_way_through_the_chosen_proxy() -> None:
    """Both transports get the one proxy: our own pool connects to it, httpx is told it and reads no
    environment of its own (tests/network/ runs both through a real tinyproxy)."""
    client = Client("https://oms.example.com", Redactor([]), proxy="http://proxy.internal:3128")
    assert client.proxy is not None and client.proxy.shown == "http://proxy.internal:3128"
    assert client.transport.pool.proxy is client.proxy  # type: ignore[attr-defined]
    assert client.httpx.client._trust_env is False
