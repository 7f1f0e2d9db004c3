"""``oms-conformance proxy``: a validating proxy in the foreground (a thin layer over conformance.proxy)."""

from __future__ import annotations

from pathlib import Path

import click

from conformance.cli import main
from conformance.errors import ExitCode, UsageError
from conformance.proxy import ValidatingProxy, Violation, proxy_run_result, serve_proxy
from conformance.reports import FORMATS, parse_formats, write_reports
from conformance.server.background import is_loopback
from conformance.spec import PROFILES, Profile, load_requirements

_EPILOG = """\b
Each violation is printed as one line (credentials redacted) with its requirement ID;
on exit (Ctrl-C or SIGTERM included) the session is written to --report-dir in the
formats of `run`. Exit code: 0 no violation, 1 violations of a MUST requirement.
\b
Example: oms-conformance serve --profile huawei --port 8080 &
         oms-conformance proxy --upstream http://127.0.0.1:8080 --profile huawei --port 8081
         then point the client at http://127.0.0.1:8081
"""


@main.command("proxy", epilog=_EPILOG)
@click.option(
    "--upstream", required=True, help="Base URL of the server to forward to, e.g. http://127.0.0.1:8080."
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8081,
    show_default=True,
    help="Port to listen on; 0 picks a free one.",
)
@click.option(
    "--profile",
    type=click.Choice(PROFILES),
    default=Profile.STRICT.value,  # a str: click would show an Enum default by its member name
    show_default=True,
    help="Contract profile; huawei also accepts AK/SK signatures and 401/404/418/429/500.",
)
@click.option(
    "--enforce",
    is_flag=True,
    help="Answer an invalid request locally with 400 OMS.0064 instead of forwarding it.",
)
@click.option(
    "--rewrite-host",
    is_flag=True,
    help="Send the upstream's own Host header (breaks AK/SK signatures, which cover Host).",
)
@click.option("--report-dir", type=click.Path(file_okay=False), default="reports", show_default=True)
@click.option("--format", "formats", default=",".join(FORMATS), show_default=True, help="Report formats.")
def proxy_command(
    upstream: str,
    host: str,
    port: int,
    profile: str,
    enforce: bool,
    rewrite_host: bool,
    report_dir: str,
    formats: str,
) -> None:
    """Forward traffic to an upstream and validate both directions against the contract."""
    chosen = parse_formats(formats)

    def show(violation: Violation) -> None:
        click.secho(violation.line(), fg="red", err=True)

    try:
        app = ValidatingProxy(upstream, profile, enforce, on_violation=show, preserve_host=not rewrite_host)
    except ValueError as exc:
        raise UsageError(f"--upstream {upstream!r}: {exc}") from exc
    if not is_loopback(host):
        click.secho(
            f"warning: listening on {host}: the proxy is reachable from other machines", fg="yellow", err=True
        )

    def ready(base_url: str) -> None:
        mode = "enforcing" if enforce else "watching"
        click.echo(
            f"OMS validating proxy ({profile} profile, {mode}) on {base_url} -> {upstream}; "
            "stop with Ctrl-C or SIGTERM",
            err=True,
        )

    serve_proxy(app, host, port, ready)
    run = proxy_run_result(app)
    written = write_reports(run, Path(report_dir), chosen, secrets=app.secrets())
    click.echo(
        f"{app.requests} requests, {len(app.violations)} violations; reports: "
        f"{', '.join(str(p) for p in written)}",
        err=True,
    )
    if not run.conforms(load_requirements()):
        raise SystemExit(int(ExitCode.NON_CONFORMANT))
