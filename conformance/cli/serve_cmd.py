"""``oms-conformance serve``: run the reference server in the foreground (a thin layer over the library)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from conformance.cli import main
from conformance.errors import ConfigError, UsageError
from conformance.server.access_log import enable_console
from conformance.server.background import is_loopback
from conformance.server.serving import build_target, create_app, serve
from conformance.server.store import Durability
from conformance.spec import PROFILES, Profile
from conformance.target import dump_target

_EPILOG = """\b
Default fixtures (public sandbox credentials, see conformance/server/fixtures.py):
  project f4e146cac1de45669c3fed73dc3b9c6f  token oms-sandbox-token-main
      AK/SK OMSSANDBOXMAINAK0001 / oms-sandbox-sk-main-0001
      read-only token oms-sandbox-token-readonly (a stop gets 403)
  other   5d0e3e8ba7b2456c9e8a1f2b3c4d5e6f  token oms-sandbox-token-other
      AK/SK OMSSANDBOXOTHERAK001 / oms-sandbox-sk-other-0001
  --write-target FILE lists every group id by status.

\b
--fault SPEC (repeatable; off by default):
  latency=50ms | latency=10ms..200ms   delay every answer (fixed / uniform range)
  status=429@0.2                       answer 429 (Retry-After: 1), 500 or 503 to 20% of
                                       requests without processing them (rate 0.2 or 20%)
  malformed@0.1                        process, then send a body that is not JSON
  truncate@0.1                         process, then cut the connection mid-body
  drop@0.1                             cut the connection, no answer, nothing processed
  prefer                               honour `Prefer: code=N` (a documented error status)
  seed=N                               reproducible dice

\b
SIGTERM or Ctrl-C: graceful shutdown (open requests finish, at most 2 s), exit 0.
"""


@main.command("serve", epilog=_EPILOG)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Interface to bind; anything but loopback exposes the server (a warning is printed).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8080,
    show_default=True,
    help="Port to listen on; 0 picks a free one.",
)
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="SQLite file for the state (kept across restarts). Default: in memory, fresh each start.",
)
@click.option(
    "--fixtures",
    "fixtures",
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML fixture file (projects, credentials, groups); loaded into an empty db only.",
)
@click.option(
    "--profile",
    type=click.Choice(PROFILES),
    default=Profile.STRICT.value,  # a str: click would show an Enum default by its member name
    show_default=True,
    help="strict: the page's letter; huawei: also 401 APIGW.0301, the show route, ...",
)
@click.option(
    "--write-target",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a target file for `run --target` (mode 0600: it holds credentials).",
)
@click.option(
    "--settle-delay",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Seconds a stopped group stays 7 (pausing) before it reads 3 (paused); 0: paused at once.",
)
@click.option("--fault", "faults", multiple=True, metavar="SPEC", help="Inject a fault (see below).")
@click.option(
    "--access-log",
    is_flag=True,
    help="One line per request on stderr: method, path, status, request id, time (no header, no body).",
)
@click.option(
    "--durability",
    type=click.Choice([d.value for d in Durability]),
    default=Durability.PROCESS.value,
    show_default=True,
    help="With --db: what an answered stop survives. process: a crash or kill of the server (a crash of the "
    "machine may lose or damage the file); machine: power loss too (an fsync per commit, slower).",
)
@click.option(
    "--commit",
    type=click.Choice(["group", "each"]),
    default="group",
    hidden=True,  # for the benchmark's side-by-side: "each" is the old one-commit-per-stop mode
    help="Write the stops of one event-loop turn in one commit (group) or each on its own.",
)
def serve_command(
    host: str,
    port: int,
    db_path: Path | None,
    fixtures: Path | None,
    profile: str,
    write_target: Path | None,
    settle_delay: float,
    faults: tuple[str, ...],
    access_log: bool,
    durability: str,
    commit: str,
) -> None:
    """Run the reference server: a conforming OMS stop endpoint backed by SQLite."""
    if db_path is None and durability != Durability.PROCESS.value:
        raise UsageError(
            "--durability: applies to a file db; add --db PATH (an in-memory db ends with the server)"
        )
    batched = commit == "group"
    app = create_app(
        profile,
        fixtures,
        db_path,
        settle_delay,
        faults,
        group_commit=batched,
        access_log=access_log,
        durability=Durability(durability),
    )
    if access_log:
        enable_console()
    if not is_loopback(host):
        click.secho(
            f"warning: listening on {host}: the server is reachable from other machines and its "
            "credentials are public",
            fg="yellow",
            err=True,
        )
    if not app.fixtures_loaded and fixtures is not None:
        click.echo(f"note: {db_path} already holds state; {fixtures} was not loaded", err=True)

    def ready(base_url: str) -> None:
        if write_target is not None:
            _write_private(write_target, dump_target(build_target(app, base_url)))
        state = db_path or "in memory"
        click.echo(
            f"OMS reference server ({profile} profile) on {base_url} - state: {state}; "
            "stop with Ctrl-C or SIGTERM",
            err=True,
        )

    serve(app, host, port, ready)


def _write_private(path: Path, text: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
    except OSError as exc:
        raise ConfigError(f"--write-target {str(path)!r}: cannot write it ({exc.strerror or exc})") from exc
