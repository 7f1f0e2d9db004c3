"""The ``oms-conformance`` command line: a thin click layer over library calls.

Each command lives in its own module and registers itself on :data:`main`; this module owns the one place
where errors become exit codes and one line of advice (no traceback unless ``--debug``).
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

import click

from conformance.errors import ADVICE, ConformanceError, ExitCode

# Each command's module, imported when the command is first looked up: `run` against a remote target need
# not load the reference server (serve), the validating proxy (proxy) or the report writers (report, diff).
# A module may be left out of a distribution; its commands then do not exist.
_MODULES = {
    "spec": "spec_cmd",
    "serve": "serve_cmd",
    "run": "run_cmd",
    "report": "report_cmd",
    "diff": "report_cmd",
    "proxy": "proxy_cmd",
    "history": "history_cmd",
}


def _module_exists(module: str) -> bool:
    return importlib.util.find_spec(f"conformance.cli.{module}") is not None


class _Group(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        present = {name for name, module in _MODULES.items() if _module_exists(module)}
        return sorted(present | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = _MODULES.get(cmd_name)
        if cmd_name not in self.commands and module is not None and _module_exists(module):
            __import__(f"conformance.cli.{module}")  # registers its commands on `main`
        return super().get_command(ctx, cmd_name)

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


def entry() -> None:
    """What the console script called for a while (61acf17): scripts installed then still do, until the
    package is installed again; the entry point is now ``conformance.__main__:entry``."""
    main()


__all__ = ["ExitCode", "entry", "main"]

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
