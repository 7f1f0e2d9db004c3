"""The ``oms-conformance`` command line: a thin click layer over library calls.

Each command lives in its own module and registers itself on :data:`main`; this module owns the one place
where errors become exit codes and one line of advice (no traceback unless ``--debug``).
"""

from __future__ import annotations

import sys
from typing import Any

import click

from conformance.errors import ADVICE, ConformanceError, ExitCode


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConformanceError as exc:
            if ctx.meta.get("debug"):
                raise
            click.secho(f"error: {exc.message}", fg="red", err=True)
            click.echo(exc.advice, err=True)
            ctx.exit(int(exc.exit_code))
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, KeyboardInterrupt):
            raise
        except Exception as exc:  # a bug of ours: one line, the traceback only with --debug
            if ctx.meta.get("debug"):
                raise
            click.secho(f"internal error: {type(exc).__name__}: {exc}", fg="red", err=True)
            click.echo(ADVICE["error"], err=True)
            ctx.exit(int(ExitCode.USAGE))


def _set_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    ctx.meta["debug"] = value


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--debug",
    is_flag=True,
    expose_value=False,
    callback=_set_debug,
    is_eager=True,
    help="Show tracebacks for errors.",
)
@click.version_option(package_name="oms-conformance")
def main() -> None:
    """Conformance testing for Huawei Cloud OMS `PUT /v2/{project_id}/taskgroups/{group_id}/stop`.

    Exit codes: 0 ok / conforms, 1 non-conformant, 2 usage, configuration or spec error,
    3 target unreachable, 130/143 interrupted.
    """


def _register() -> None:
    # Imported for their side effect of adding a command to `main`.
    from conformance.cli import spec_cmd  # noqa: F401

    for optional in ("serve_cmd", "run_cmd", "report_cmd", "proxy_cmd", "history_cmd"):
        try:
            __import__(f"conformance.cli.{optional}")
        except ModuleNotFoundError as exc:
            if exc.name != f"conformance.cli.{optional}":
                raise


_register()

__all__ = ["ExitCode", "main"]

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
