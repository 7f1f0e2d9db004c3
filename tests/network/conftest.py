"""Real network parts in front of the reference server: nginx as a TLS (and mutual-TLS) front, tinyproxy as
the forward proxy, certificates made by a private CA of the test (tests/tls_certs.py). Every part listens on
an ephemeral loopback port and is stopped by the fixture that started it.

A *proxy-only* front listens on 127.0.0.2 and accepts only connections from 127.0.0.3 - the address
tinyproxy connects out from - so whatever reaches the reference server behind it came through the proxy.

Without nginx or tinyproxy the tests skip with the reason on a user's machine; where CI is set (``.ci/run``
installs both) tests/conftest.py makes that skip a failure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conformance.server import ReferenceServer
from conformance.target import Target
from tests.gateway.nginx import DEBIAN_NGINX, Nginx, installed, nginx_binary
from tests.network.tinyproxy import DEBIAN_TINYPROXY, Tinyproxy, tinyproxy_binary
from tests.tls_certs import PrivateCA, make_ca

FRONT_ADDRESS = "127.0.0.2"  # where a proxy-only front listens
PROXY_EGRESS = "127.0.0.3"  # where tinyproxy connects from: the one address such a front accepts

# As operators front an API (tests/gateway/nginx.py TUNED): 32k header buffers (a 16,384-character token
# fits), paths kept byte for byte.
_LOCATION = """
    merge_slashes off;
    large_client_header_buffers 4 32k;
    access_log {log};
    location / {{{{
        proxy_pass http://127.0.0.1:{{upstream_port}};
        proxy_http_version 1.1; proxy_set_header Connection "";
        proxy_set_header Host $http_host;
    }}}}
"""


@pytest.fixture(scope="session")
def nginx() -> str:
    return installed(nginx_binary(), "nginx", DEBIAN_NGINX)


@pytest.fixture(scope="session")
def tinyproxy() -> str:
    return installed(tinyproxy_binary(), "tinyproxy", DEBIAN_TINYPROXY)


@pytest.fixture(scope="session")
def private_ca(tmp_path_factory: pytest.TempPathFactory) -> PrivateCA:
    return make_ca(tmp_path_factory.mktemp("network-ca"))


@dataclass
class Front:
    target: Target  # the reference server's target, pointed at the front
    access_log: Path

    def remote_addresses(self) -> list[str]:
        """The client address of every request nginx logged (the combined format starts with it)."""
        lines = self.access_log.read_text().splitlines() if self.access_log.exists() else []
        return [line.split(" ", 1)[0] for line in lines]


# (tls, proxy_only, mutual_tls) -> a front of the reference server
StartFront = Callable[..., Front]


@pytest.fixture
def front(nginx: str, private_ca: PrivateCA, tmp_path: Path) -> Iterator[StartFront]:
    with ExitStack() as stack:

        def start(*, tls: bool = False, proxy_only: bool = False, mutual_tls: bool = False) -> Front:
            upstream = stack.enter_context(ReferenceServer("strict"))
            port = urlsplit(upstream.base_url).port
            assert port is not None
            prefix = tmp_path / f"nginx-{tls}-{proxy_only}-{mutual_tls}"
            address = FRONT_ADDRESS if proxy_only else "127.0.0.1"
            log = prefix / "logs" / "access.log"
            block = ""
            if proxy_only:
                block += f"    allow {PROXY_EGRESS}; deny all;\n"
            if tls:
                issued = private_ca.issue(tmp_path / "front-certs", "front", hosts=(address,))
                block += f"    ssl_certificate {issued.cert}; ssl_certificate_key {issued.key};\n"
            if mutual_tls:
                block += f"    ssl_verify_client on; ssl_client_certificate {private_ca.cert};\n"
            block += _LOCATION.format(log=log)
            gateway = stack.enter_context(Nginx(nginx, prefix, block, port, address=address, tls=tls))
            return Front(dataclasses.replace(upstream.target, base_url=gateway.base_url), log)

        yield start


@pytest.fixture
def forward_proxy(tinyproxy: str, tmp_path: Path) -> Iterator[Tinyproxy]:
    with Tinyproxy(tinyproxy, tmp_path / "tinyproxy", bind=PROXY_EGRESS) as proxy:
        yield proxy
