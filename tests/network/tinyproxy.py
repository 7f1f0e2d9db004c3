"""A real forward proxy (Debian's tinyproxy, as ``.ci/run`` installs it) for the network tests.

It listens on an ephemeral loopback port and connects out from ``bind`` (a second loopback address), so a
front that accepts only that address is reachable through the proxy alone. It runs in the foreground as a
child of the test, in its own process group, every file under one directory; stopping it is bounded
(SIGTERM, a bounded wait, then SIGKILL to the group).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Self

from tests.gateway.nginx import START_TIMEOUT, ChildServer, binary, free_port, spawn, wait_listening

DEBIAN_TINYPROXY = "/usr/bin/tinyproxy"

# No ConnectPort line: CONNECT is allowed to every port (the fronts listen on ephemeral ones). No
# keep-alive to clients: tinyproxy closes each connection after its answer, which the client must meet.
_CONFIG = """
Port {port}
Listen 127.0.0.1
Bind {bind}
Timeout 30
MaxClients 100
Allow 127.0.0.1
LogFile "{prefix}/tinyproxy.log"
LogLevel Connect
PidFile "{prefix}/tinyproxy.pid"
DisableViaHeader Yes
{user}
"""


def tinyproxy_binary() -> str | None:
    return binary("tinyproxy", DEBIAN_TINYPROXY)


class Tinyproxy(ChildServer):
    """``with Tinyproxy(binary, prefix, bind="127.0.0.3") as proxy:`` gives ``proxy.url``."""

    def __init__(self, binary: str, prefix: Path, *, bind: str = "127.0.0.1") -> None:
        self.binary, self.prefix, self.bind = binary, prefix, bind
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def log(self) -> str:
        path = self.prefix / "tinyproxy.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self) -> Self:
        self.prefix.mkdir(parents=True, exist_ok=True)
        # As root, tinyproxy drops to the User named (it refuses to run as root without one).
        user = "User nobody\nGroup nogroup" if os.geteuid() == 0 else ""
        if os.geteuid() == 0:
            os.chmod(self.prefix, 0o777)  # the log and pid file are written after the drop
        why = ""
        for _ in range(3):  # another process may take the picked port before tinyproxy binds it
            port = free_port()
            conf = self.prefix / "tinyproxy.conf"
            conf.write_text(_CONFIG.format(port=port, bind=self.bind, prefix=self.prefix, user=user))
            self.process = spawn([self.binary, "-d", "-c", str(conf)])
            if wait_listening(self.process, port, START_TIMEOUT):
                self.url = f"http://127.0.0.1:{port}"
                return self
            why = self.stop()
            if "Address already in use" not in why:
                break
        raise RuntimeError(f"tinyproxy did not start: {why}\n{self.log()}")
