"""``oms-conformance run``: the suite against a target, a verdict per requirement, reports on disk."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from conformance.cli import main
from conformance.errors import ConfigError, ExitCode, UsageError
from conformance.options import DEFAULTS, DEPTHS, RunOptions
from conformance.spec import PROFILES, Profile, load_requirements

# Imported where used (and only for types here): the embedded server's process starts (run) before the
# run's own imports, so that its start-up overlaps theirs.
if TYPE_CHECKING:
    from conformance.results import RunResult
    from conformance.runner.embedded import EmbeddedServer
    from conformance.runner.session import Session
    from conformance.target import Target

FORMATS = ("json", "junit", "md", "html", "sarif")


def _names(value: str | None) -> list[str]:
    return [n.strip() for n in (value or "").split(",") if n.strip()]


def _target(
    target_file: str | None,
    base_url: str | None,
    token: str | None,
    project_id: str | None,
    profile: str | None,
) -> Target | None:
    if target_file and base_url:
        raise UsageError("give --target or --base-url, not both")
    if target_file:
        from conformance.target import load_target

        return load_target(target_file)
    if base_url:
        if not token or not project_id:
            raise UsageError("--base-url needs --token (or OMS_TOKEN) and --project-id")
        from conformance.target import parse_target

        return parse_target(
            {
                "base_url": base_url,
                "project_id": project_id,
                "token": token,
                "profile": profile or Profile.STRICT,
            },
            env={},
        )
    return None


def _with_client_certificate(target: Target | None, cert: str | None, key: str | None) -> Target | None:
    """--client-cert/--client-key over the target file's client_cert/client_key."""
    if key and not cert:
        raise UsageError("--client-key needs --client-cert")
    if not cert:
        return target
    if target is None:
        raise UsageError("--client-cert needs --target or --base-url (the embedded server has no TLS)")
    from conformance.target import ClientCertificate

    password = os.environ.get("OMS_CLIENT_KEY_PASSWORD") or None
    return replace(target, client_certificate=ClientCertificate(cert, key, password))


def _check_run_id(value: str | None) -> None:
    # It becomes a SARIF category, matched as text; "/" separates its parts, so it may appear inside only.
    if value is not None and not re.fullmatch(r"[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*", value):
        raise UsageError(f"--run-id {value!r}: use letters, digits, '.', '_', '-' and inner '/' only")


def _print_plan(target: Target | None, profile: str | None, include: list[str], exclude: list[str]) -> None:
    from conformance.runner.plan import plan_run, render_plan

    if target is None:  # the embedded reference server's default fixtures, without starting it
        from conformance.server.serving import build_target, create_app

        target = build_target(create_app(profile or Profile.STRICT), "http://127.0.0.1:0 (embedded)")
    chosen = Profile(profile or target.profile)
    click.echo(render_plan(target, chosen, plan_run(target, chosen, include, exclude)))


@main.command("run")
@click.option("--target", "target_file", type=click.Path(dir_okay=False), help="Target file (YAML).")
@click.option("--base-url", help="Base URL of the implementation (instead of --target).")
@click.option("--token", envvar="OMS_TOKEN", help="X-Auth-Token for --base-url [env: OMS_TOKEN].")
@click.option("--project-id", help="Project ID for --base-url.")
@click.option(
    "--profile", type=click.Choice(PROFILES), help="Contract profile (default: the target's, else strict)."
)
@click.option(
    "--checks",
    help="Comma-separated check names to run (default: all); scenario checks alone keep all response checks.",
)
@click.option("--exclude-checks", help="Comma-separated check names to skip.")
@click.option("--depth", type=click.Choice(DEPTHS), default=DEFAULTS.depth, show_default=True)
@click.option(
    "--max-examples", type=click.IntRange(1, 10000), help="Fuzzing examples per mode (overrides --depth)."
)
@click.option("--seed", type=int, help="Seed: the same seed and target send the same requests.")
@click.option(
    "--request-timeout", type=click.FloatRange(0.1, 600), default=DEFAULTS.request_timeout, show_default=True
)
@click.option(
    "--reruns",
    type=click.IntRange(0, 10),
    default=DEFAULTS.reruns,
    show_default=True,
    help="Re-run a failed check this often before calling it a failure (flaky detection).",
)
@click.option(
    "--race-width",
    type=click.IntRange(2, 64),
    default=DEFAULTS.race_width,
    show_default=True,
    help="Stops of one group released together by the concurrency check.",
)
@click.option(
    "--rate-limit",
    type=click.FloatRange(0.1, 100000),
    help="Requests per second over every request of the run (default: no limit; 429s slow it anyway).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=DEFAULTS.concurrency,
    show_default=True,
    help="Requests in flight for checks of independent requests (fuzz, hostile ids, boundaries).",
)
@click.option("--report-dir", type=click.Path(file_okay=False), default="reports", show_default=True)
@click.option("--format", "formats", default=",".join(FORMATS), show_default=True, help="Report formats.")
@click.option("--baseline", type=click.Path(dir_okay=False), help="Known failures (YAML) with expiry dates.")
@click.option(
    "--ca-bundle", type=click.Path(dir_okay=False, exists=True), help="CA bundle for an https target."
)
@click.option(
    "--insecure",
    is_flag=True,
    help="Do not verify the target's TLS certificate (a warning, and every report says so).",
)
@click.option(
    "--proxy",
    help="Forward proxy (http://host:port) for every request, a loopback target's too, or 'none' to ignore "
    "HTTP(S)_PROXY; default: the target file's proxy:, else HTTPS_PROXY/HTTP_PROXY/NO_PROXY (never for "
    "loopback).",
)
@click.option(
    "--client-cert",
    type=click.Path(dir_okay=False, exists=True),
    help="PEM client certificate for a server behind mutual TLS (overrides the target file's client_cert); "
    "the key too unless --client-key is given.",
)
@click.option(
    "--client-key",
    type=click.Path(dir_okay=False, exists=True),
    help="PEM private key of --client-cert; an encrypted one's password comes from OMS_CLIENT_KEY_PASSWORD.",
)
@click.option(
    "--run-id",
    help="Names this run's target in SARIF (automationDetails.id oms-conformance/ID/), so code scanning "
    "keeps each target's alerts apart. Default: derived from profile, base URL and project.",
)
@click.option(
    "--require-complete",
    is_flag=True,
    help="Exit 1 unless every applicable MUST requirement was verified (for compliance jobs).",
)
@click.option(
    "--restore",
    is_flag=True,
    help="After the run, resume every group it paused (huawei profile: the start operation, with the "
    "target file's restore: keys).",
)
@click.option("--list-checks", is_flag=True, help="List the checks and the requirements they verify.")
@click.option(
    "--plan",
    "show_plan",
    is_flag=True,
    help="Print what a run against the target would verify and which listed groups it would pause; "
    "send nothing.",
)
def run(
    target_file: str | None,
    base_url: str | None,
    token: str | None,
    project_id: str | None,
    profile: str | None,
    checks: str | None,
    exclude_checks: str | None,
    depth: str,
    max_examples: int | None,
    seed: int | None,
    request_timeout: float,
    reruns: int,
    race_width: int,
    rate_limit: float | None,
    concurrency: int,
    report_dir: str,
    formats: str,
    baseline: str | None,
    ca_bundle: str | None,
    insecure: bool,
    proxy: str | None,
    client_cert: str | None,
    client_key: str | None,
    run_id: str | None,
    require_complete: bool,
    restore: bool,
    list_checks: bool,
    show_plan: bool,
) -> None:
    """Run the conformance suite. Without --target or --base-url, against the embedded reference server."""
    if list_checks:
        from conformance.checks.suite import BUILTIN

        for spec in BUILTIN:
            click.echo(
                f"{spec.name:<22} {spec.kind:<9} {', '.join(spec.requirements)}\n{'':<33}{spec.description}"
            )
        return
    chosen_formats = tuple(_names(formats))
    unknown = set(chosen_formats) - set(FORMATS)
    if unknown:
        raise UsageError(f"unknown format {sorted(unknown)[0]!r}; choose from: {', '.join(FORMATS)}")
    if ca_bundle and insecure:
        raise UsageError("give --ca-bundle or --insecure, not both")
    _check_run_id(run_id)
    target = _with_client_certificate(
        _target(target_file, base_url, token, project_id, profile), client_cert, client_key
    )
    # The embedded server's process starts before the run imports its checks: its start-up overlaps theirs.
    embedded = _start_embedded(profile) if target is None and not show_plan else None
    early = click.get_current_context().obj  # started before the CLI loaded (conformance/__main__.py)
    if early is not None and early is not embedded:
        early.stop()  # the arguments' glance was wrong: not this run's server
    try:
        from conformance.checks.suite import BUILTIN
        from conformance.cli.progress import LiveProgress
        from conformance.cli.terminal import progress
        from conformance.runner.session import Session

        BUILTIN.select(_names(checks), _names(exclude_checks))  # unknown names fail before anything is sent
        if show_plan:
            _print_plan(target, profile, _names(checks), _names(exclude_checks))
            return
        options = RunOptions(
            profile=profile or (target.profile if target else None),
            checks=_names(checks),
            exclude_checks=_names(exclude_checks),
            seed=seed,
            depth=depth,
            request_timeout=request_timeout,
            reruns=reruns,
            verify=False if insecure else (ca_bundle or True),
            proxy=proxy,
            max_examples=max_examples,
            run_id=run_id or "",
            race_width=race_width,
            restore=restore,
            rate_limit=rate_limit,
            concurrency=concurrency,
        )
        if insecure:
            click.secho(
                "warning: --insecure: the target's TLS certificate is not verified - whoever answers gets "
                "the credential; every report of this run says so",
                fg="yellow",
                err=True,
            )
        where = target.base_url if target else "the embedded reference server"
        click.echo(
            f"oms-conformance: testing {where} ({options.profile or Profile.STRICT} profile)", err=True
        )
        if target is not None:  # a user's account: say which of its groups may change before anything is sent
            from conformance.runner.plan import may_pause

            click.echo("\n".join(may_pause(target)), err=True)
        live = LiveProgress(sys.stderr, terminal=sys.stderr.isatty(), finished=progress)
        session = Session(
            target,
            options,
            Path(report_dir),
            chosen_formats,
            Path(baseline) if baseline else None,
            progress=live,
            sending=live.sent,
            embedded=embedded,
        )
        try:
            result = session.run()
        except ConfigError:  # found before the first request; the report that could be written says so
            for path in session.written:
                click.echo(f"report: {path}", err=True)
            raise
        finally:
            live.close()
        _finish(session, result, require_complete)
    finally:
        if embedded is not None:  # a usage error, an interruption: its process ends with the command
            embedded.stop()


def _finish(session: Session, result: RunResult, require_complete: bool) -> None:
    """The summary, the reports' paths and the exit code of a run that ended."""
    from conformance.cli.terminal import print_summary

    print_summary(result)
    for path in session.written:
        click.echo(f"report: {path}", err=True)
    ctx = click.get_current_context()
    if session.signal_received:
        ctx.exit(int(ExitCode.INTERRUPTED if session.signal_received == "SIGINT" else ExitCode.TERMINATED))
    if not result.finished:
        ending = result.stop_reason
        if ending.advice:
            click.secho(f"error: {result.incomplete_reason}", fg="red", err=True)
            click.echo(ending.advice, err=True)
        ctx.exit(int(ending.exit_code))
    catalogue = load_requirements()
    if require_complete and result.conforms(catalogue) and not result.complete(catalogue):
        click.secho(
            "error: --require-complete: MUST requirements were not verified (listed above)",
            fg="red",
            err=True,
        )
        ctx.exit(int(ExitCode.NON_CONFORMANT))
    ctx.exit(int(ExitCode.OK if result.conforms(catalogue) else ExitCode.NON_CONFORMANT))


def _start_embedded(profile: str | None) -> EmbeddedServer:
    wanted = profile or Profile.STRICT
    early = click.get_current_context().obj
    if early is not None and (early.profile or Profile.STRICT) == wanted:
        return early  # type: ignore[no-any-return]
    from conformance.runner.embedded import EmbeddedServer

    return EmbeddedServer(wanted).start()


__all__ = ["run"]
