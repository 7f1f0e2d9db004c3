"""Start a field server of tests/stacks/ on an ephemeral loopback port with seeded state, and stop it.

Every server reads the same seed file, named by ``OMS_SEED``: tab-separated lines

    token <TAB> <token> <TAB> <project id> <TAB> 1|0   (1: the token may update task groups)
    group <TAB> <project id> <TAB> <group id> <TAB> <status code>

(tab-separated so that the JDK server, which has no JSON parser, reads it as easily as the others). The
ids are UUID-shaped as OMS ids are; the target lists three pausable groups, one of each refused kind and
one pausable group of the other project, as a provider's account would.

A server is handed its port (``PORT`` and on its command line, as deployers do) and runs in a session of
its own, so stopping it is bounded and takes its workers with it: SIGTERM, a bounded wait, SIGKILL.
"""

from __future__ import annotations

import os
import random
import signal
import string
import subprocess
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from ..gateway.nginx import free_port, wait_listening

START_TIMEOUT = 60.0  # seconds to listen: a JVM or gunicorn's workers on a loaded two-core machine
STOP_TIMEOUT = 5.0
ATTEMPTS = 3  # another process may take the picked port before the server binds it

# status code of each listed kind (shared/notes/oms-facts.md)
LISTED = {"monitoring": [2, 2], "creating": [1], "paused": [3], "waiting": [0], "completed": [6]}


class Seed:
    """The accounts a server starts with, and the target file's data that lists them."""

    def __init__(self, name: str) -> None:
        rng = random.Random(name)  # the same ids for a stack every run: failures can be replayed

        def hex32() -> str:
            return f"{rng.getrandbits(128):032x}"

        def token() -> str:
            return "".join(rng.choices(string.ascii_letters + string.digits, k=48))

        self.project, self.other_project = hex32(), hex32()
        self.token, self.readonly_token, self.other_token = token(), token(), token()
        self.groups = {
            kind: [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in codes]
            for kind, codes in LISTED.items()
        }
        self.other_group = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        self.unlisted_group = str(uuid.UUID(int=rng.getrandbits(128), version=4))  # pausable, never listed

    def lines(self) -> list[str]:
        rows = [
            ("token", self.token, self.project, "1"),
            ("token", self.readonly_token, self.project, "0"),
            ("token", self.other_token, self.other_project, "1"),
            ("group", self.other_project, self.other_group, "2"),
            ("group", self.project, self.unlisted_group, "2"),
        ]
        for kind, codes in LISTED.items():
            listed = zip(self.groups[kind], codes, strict=True)
            rows += [("group", self.project, group, str(code)) for group, code in listed]
        return ["\t".join(row) + "\n" for row in rows]

    def target_data(self, base_url: str) -> dict[str, Any]:
        return {
            "base_url": base_url,
            "project_id": self.project,
            "token": self.token,
            "readonly_token": self.readonly_token,
            "profile": "strict",
            "groups": {kind: list(ids) for kind, ids in self.groups.items()},
            "other_project": {
                "project_id": self.other_project,
                "token": self.other_token,
                "groups": {"monitoring": [self.other_group]},
            },
        }


# (port) -> the command line that serves on it
Command = Callable[[int], Sequence[str]]


class StackServer:
    """``with StackServer(name, command, workdir, env) as server:`` serves at ``server.base_url``."""

    def __init__(self, name: str, command: Command, workdir: Path, env: Mapping[str, str] = {}) -> None:
        self.name, self.command, self.workdir = name, command, workdir
        self.seed = Seed(name)
        self.extra_env = dict(env)
        self.process: subprocess.Popen[bytes] | None = None
        self.base_url = ""
        self.log = workdir / f"{name}.log"

    def target_data(self) -> dict[str, Any]:
        return self.seed.target_data(self.base_url)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def __enter__(self) -> Self:
        self.workdir.mkdir(parents=True, exist_ok=True)
        seed_file = self.workdir / f"{self.name}.seed.tsv"
        seed_file.write_text("".join(self.seed.lines()), encoding="utf-8")
        for _ in range(ATTEMPTS):
            port = free_port()
            env = {**os.environ, **self.extra_env, "OMS_SEED": str(seed_file), "PORT": str(port)}
            with self.log.open("wb") as log:
                self.process = subprocess.Popen(
                    list(self.command(port)),
                    cwd=self.workdir,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            if wait_listening(self.process, port, START_TIMEOUT):
                self.base_url = f"http://127.0.0.1:{port}"
                return self
            self.stop()
            if "in use" not in self.output():
                break
        raise RuntimeError(f"{self.name} did not start:\n{self.output()}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):  # the whole session: gunicorn's workers too
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(STOP_TIMEOUT)
                if sig is signal.SIGTERM:
                    continue  # the leader is gone; SIGKILL any worker it left behind
            except subprocess.TimeoutExpired:
                continue

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
