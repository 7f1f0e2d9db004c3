"""``oms-conformance history``: a trend over many nights' ``conformance.json`` - a grid of verdicts, pass
rates, flaky counts, latency and what changed - as ``history.html`` and ``history.md``.

Thin click layer over :mod:`conformance.reports.history`: files it cannot read are skipped with one line of
warning each; only when no file at all is a readable run is it an error (exit 2).
"""

from __future__ import annotations

from pathlib import Path

import click

from conformance.cli import main
from conformance.errors import ConfigError
from conformance.reports.history import load_history
from conformance.reports.history_render import render_history_html, render_history_md


@main.command("history")
@click.argument(
    "paths", metavar="RUN.json... | DIR", nargs=-1, required=True, type=click.Path(path_type=Path)
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("."),
    show_default=True,
    help="Where to write history.html and history.md (created if needed).",
)
def history(paths: tuple[Path, ...], out: Path) -> None:
    """Draw the trend over many runs (files, or folders searched for *.json), ordered by start time."""
    found = load_history(paths)
    for line in found.skipped:
        click.secho(f"warning: skipped {line}", fg="yellow", err=True)
    if not found.nights:
        raise ConfigError(
            f"no readable conformance run among {len(paths)} path(s) "
            f"({len(found.skipped)} file(s) skipped); give conformance.json files or folders holding them"
        )
    pages = (("history.html", render_history_html(found)), ("history.md", render_history_md(found)))
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, text in pages:
            (out / name).write_text(text, encoding="utf-8", newline="\n")
    except OSError as exc:
        raise ConfigError(f"--out {str(out)!r}: cannot write there ({exc.strerror or exc})") from exc
    for name, _ in pages:
        click.echo(str(out / name))
