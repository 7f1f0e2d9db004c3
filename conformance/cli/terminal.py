"""What ``oms-conformance run`` prints on the terminal: a line per finished check, the requirement table with
each failure as its fields render, and the verdict with what it leaves unverified. Reports on disk are
conformance/reports; this is only the terminal's view of the same RunResult."""

from __future__ import annotations

import sys

import click

from conformance.results import CheckResult, Headline, PaceUsed, RunResult, Verdict
from conformance.spec import load_requirements

SYMBOL = {
    Verdict.PASS: "✓",
    Verdict.FAIL: "✗",
    Verdict.NOT_RUN: "-",
    Verdict.KNOWN_FAILURE: "~",
    Verdict.FLAKY: "?",
    Verdict.INCONCLUSIVE: "…",
}
COLOUR = {
    Verdict.PASS: "green",
    Verdict.FAIL: "red",
    Verdict.NOT_RUN: "yellow",
    Verdict.KNOWN_FAILURE: "cyan",
    Verdict.FLAKY: "magenta",
    Verdict.INCONCLUSIVE: "yellow",
}


def progress(name: str, result: CheckResult | None) -> None:
    # On a terminal the running check shows until its line replaces it; logs get finished lines only.
    live = sys.stderr.isatty()
    if result is None:
        if live:
            click.echo(f"  … {name}", nl=False, err=True)
        return
    click.echo(
        ("\r\033[K" if live else "")
        + click.style(f"  {SYMBOL[result.verdict]} ", fg=COLOUR[result.verdict])
        + f"{name:<22} {result.requests:>4} requests  {result.duration_s:5.2f}s"
        + (f"  ({result.reason})" if result.reason else ""),
        err=True,
    )


def _print_table(run: RunResult) -> None:
    catalogue = load_requirements()
    click.echo(f"\n{'requirement':<24}{'level':<8}{'verdict':<15}checks")
    for rv in run.requirements(catalogue):
        verdict = click.style(f"{rv.verdict.value:<15}", fg=COLOUR[rv.verdict])
        click.echo(f"{rv.requirement.id:<24}{rv.requirement.level:<8}{verdict}{', '.join(rv.checks)}")
    for rv in run.requirements(catalogue):
        for failure in rv.failures[:3]:
            click.echo(click.style(f"\n{failure.requirement} {failure.title}", fg="red", bold=True))
            click.echo("  " + failure.text().replace("\n", "\n  "))
            if failure.curl:
                click.echo(f"  reproduce: {failure.curl}")


def describe_pace(pace: PaceUsed) -> str:
    """One line: the limit, the concurrency, and what throttling did to them."""
    limit = f"--rate-limit {pace.rate_limit:g}/s" if pace.rate_limit else "no rate limit"
    line = f"{limit}, concurrency {pace.concurrency}, {pace.requests} requests"
    throttled = pace.throttled
    if not throttled:
        return line + ", no 429"
    told = sum(1 for t in throttled if t.retry_after is not None)
    return (
        line + f", {len(throttled)} answered 429 ({told} with Retry-After), "
        f"slowed to {pace.lowest_rate:g} requests/s at the lowest"
    )


def print_summary(run: RunResult) -> None:
    catalogue = load_requirements()
    if any(c.requests for c in run.checks):  # a table of "not run" says nothing when nothing was sent
        _print_table(run)
    totals = run.totals(catalogue)
    counts = ", ".join(f"{n} {v.replace('_', ' ')}" for v, n in totals.items() if n)
    headline = run.headline(catalogue)
    if not run.finished:
        verdict = click.style(f"INCOMPLETE ({run.incomplete_reason})", fg="yellow", bold=True)
    else:
        colour = {Headline.CONFORMS: "green", Headline.CONFORMS_ON_WHAT_RAN: "yellow"}.get(headline, "red")
        verdict = click.style(headline, fg=colour, bold=True)
    unverified = run.unverified(catalogue) if run.finished else []
    if unverified:
        verdict += click.style(f" — {len(unverified)} MUST requirements not verified", fg="yellow")
    click.echo(f"\n{verdict}  {counts}  ({run.profile} profile, seed {run.seed}, {run.duration_s:.1f}s)")
    for item in unverified:
        click.echo(f"  not verified: {item.requirement}: {item.reason}")
    for stale in run.stale_fixtures:
        how = "inferred: no read operation in this profile" if stale.inferred else "read before use"
        click.echo(
            f"  stale fixture: {stale.group_id} is listed as {stale.listed} but {stale.observed} ({how}); "
            "list groups that are really in that status, or resume it"
        )
    for restored in run.restored:
        state = "restored" if restored.ok else "NOT restored"
        click.echo(f"  {state}: {restored.group_id} ({restored.detail})")
    if run.paused_groups and not run.restored:
        click.echo(
            f"  this run paused {len(run.paused_groups)} listed groups: {', '.join(run.paused_groups)}"
        )
    if run.pace is not None:
        click.echo(f"  pace: {describe_pace(run.pace)}")
    for note in run.notes:
        click.echo(f"  note: {note}")
    if run.skipped_for_safety:
        click.echo(
            f"{run.skipped_for_safety} generated requests were not sent: they could have addressed a "
            "real task group (see the safety rule in the README)"
        )
