"""The reference server behind a real nginx: fixtures that start both on ephemeral loopback ports and always
stop both (each stop is bounded: see tests/gateway/nginx.py and conformance/server/background.py).

Without nginx the tests skip with the reason on a user's machine; where CI is set (``.ci/run`` sets it, having
installed Debian's nginx) tests/conftest.py makes that skip a failure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conformance.server import ReferenceServer
from conformance.target import Target

from .nginx import DEBIAN_NGINX, Nginx, installed, nginx_binary

# A function that starts the reference server (in a profile) behind nginx with a server block, and gives
# the target the server wrote, pointed at nginx.
Gateway = Callable[[str, str], Target]


@pytest.fixture(scope="session")
def nginx() -> str:
    return installed(nginx_binary(), "nginx", DEBIAN_NGINX)


@pytest.fixture
def behind_nginx(nginx: str, tmp_path: Path) -> Iterator[Gateway]:
    with ExitStack() as stack:

        def start(profile: str, server_block: str) -> Target:
            upstream = stack.enter_context(ReferenceServer(profile))
            port = urlsplit(upstream.base_url).port
            assert port is not None
            prefix = tmp_path / f"nginx-{profile}"
            gateway = stack.enter_context(Nginx(nginx, prefix, server_block, port))
            return dataclasses.replace(upstream.target, base_url=gateway.base_url)

        yield start
