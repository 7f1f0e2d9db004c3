"""``oms-conformance report`` and ``oms-conformance diff``: reports from a saved ``conformance.json``.

A run writes its reports once; these commands let CI (or a person) render other formats later, and compare
two nights, without touching the target again. Thin click layer: the work is in :mod:`conformance.reports`.
"""

from __future__ import annotations

from pathlib import Path

import click

from conformance.cli import main
from conformance.errors import ExitCode
from conformance.reports import ALL_FORMATS, diff_runs, load_run, parse_formats, render_diff, write_reports
from conformance.reports.diff import DIFF_FORMATS

_DEFAULT_FORMATS = "html,md,junit,sarif"


@main.command("report")
@click.argument("run_json", metavar="RUN.json", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--format",
    "formats",
    default=_DEFAULT_FORMATS,
    show_default=True,
    help=f"Comma-separated formats to write: {', '.join(ALL_FORMATS)}.",
)
@click.option(
    "--report-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Where to write them (created if needed).  [default: the folder of RUN.json]",
)
def report(run_json: Path, formats: str, report_dir: Path | None) -> None:
    """Render reports again from a saved conformance.json."""
    chosen = parse_formats(formats)
    run = load_run(run_json)
    target_dir = report_dir if report_dir is not None else run_json.parent
    if "json" in chosen and (target_dir / "conformance.json").resolve() == run_json.resolve():
        chosen.remove("json")  # rewriting the source in place gains nothing and could lose it on a crash
    for path in write_reports(run, target_dir, chosen):
        click.echo(str(path))


@main.command("diff")
@click.argument("old", metavar="OLD.json", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("new", metavar="NEW.json", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(DIFF_FORMATS), default="text", show_default=True)
@click.pass_context
def diff(ctx: click.Context, old: Path, new: Path, fmt: str) -> None:
    """Compare two runs per requirement; exit 1 when a requirement newly fails.

    New failures: pass or not run -> fail or flaky. Fixed: fail, flaky or known failure -> pass.
    """
    result = diff_runs(load_run(old), load_run(new))
    for warning in result.warnings:  # on stderr too: a job that keeps only the diff file must not miss it
        click.echo(f"warning: {warning}", err=True)
    click.echo(render_diff(result, fmt), nl=False)
    ctx.exit(int(ExitCode.NON_CONFORMANT if result.regressed else ExitCode.OK))
