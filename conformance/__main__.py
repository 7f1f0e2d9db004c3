"""``python -m conformance`` and the ``oms-conformance`` script: the CLI (conformance/cli) as a process.

Three things only a process of its own may do, both for the time a run takes from start to exit:

- ``run`` without a target is served by the embedded reference server, a process of its own that takes
  ~0.15 s to start (conformance/runner/embedded.py). It is started here, from a glance at the arguments,
  before the CLI and the run are even imported, so its start-up overlaps theirs on the other core. Only a
  head start: ``run`` adopts it if its parsed options call for that server (run_cmd.py), else ends it and
  does without (or starts its own); what ``run`` never adopted ends with the command.
- A deep fuzz (``--max-examples`` of 500 or more) draws its cases in worker processes that take ~0.15 s each
  to start; they are started here too, from the same glance (:func:`deep_fuzz_examples`), and the fuzz
  check takes them (checks/machinery/corpus.py). A wrong guess costs two processes that end with the
  command, never a case: they draw only what the check hands them.
- The interpreter's exit frees every object left, and its last collections scan them all: ~25 ms after a
  run, for memory the process is about to give back. Frozen, they are not scanned; every exit handler still
  runs and reference counting still frees them. (Not in ``main``: a host program, pytest's CliRunner, lives
  on after it.)
"""

from __future__ import annotations

import gc
import sys
from typing import Any

# Options after which `run` needs no embedded server, or may not start one at all.
_NO_EMBEDDED = frozenset(
    {"--target", "--base-url", "--plan", "--list-checks", "--client-cert", "-h", "--help"}
)


def _run_options(args: list[str]) -> list[tuple[str, str]] | None:
    """The options of ``oms-conformance ARGS`` if it is a ``run``, each with the value it would take (after
    ``=``, else the next argument); None for any other command. A glance: nothing is checked."""
    while args[:1] == ["--debug"]:
        args = args[1:]
    if args[:1] != ["run"]:
        return None
    options = []
    for at, arg in enumerate(args[1:], 1):
        name, equals, value = arg.partition("=")
        options.append((name, value if equals else (args[at + 1] if at + 1 < len(args) else "")))
    return options


def embedded_profile(args: list[str]) -> str | None:
    """The --profile of the embedded server that ``oms-conformance ARGS`` will run against, as far as a
    glance tells ("": none given, the default; None: no embedded server, or not sure). Not checked here (the
    contract's vocabulary is not imported yet): a wrong guess costs time, never a wrong server."""
    options = _run_options(args)
    if options is None or any(name in _NO_EMBEDDED for name, _ in options):
        return None
    return next((value for name, value in reversed(options) if name == "--profile"), "")


def deep_fuzz_examples(args: list[str]) -> int | None:
    """The example count of ``oms-conformance ARGS`` if, as far as a glance tells, it runs the fuzz check
    with an explicit ``--max-examples`` (the only way to a deep corpus: --depth full is 150); else None."""
    options = _run_options(args)
    if options is None:
        return None
    examples = None
    for name, value in options:
        if name in ("--plan", "--list-checks", "-h", "--help"):
            return None
        if name == "--checks" and "fuzz" not in value.split(","):
            return None
        if name == "--exclude-checks" and "fuzz" in value.split(","):
            return None
        if name == "--max-examples":
            examples = int(value) if value.isdigit() else None
    return examples


def entry() -> None:
    early: Any = None
    profile = embedded_profile(sys.argv[1:])
    if profile is not None:
        from conformance.runner.embedded import EmbeddedServer

        try:
            early = EmbeddedServer(profile).start()
        except Exception:  # no head start: run starts its own, and says what fails (exit 3)
            early = None
    examples = deep_fuzz_examples(sys.argv[1:])
    if examples is not None:
        from conformance.checks.machinery import corpus

        try:
            corpus.start_workers(examples)
        except Exception:  # no head start: the fuzz check starts its own, and says what fails (exit 3)
            corpus.stop_workers()
    try:
        from conformance.cli import main

        main(obj=early)  # run_cmd.py finds it as the context's object
    finally:
        if early is not None:
            early.stop()
        if examples is not None:
            corpus.stop_workers()
        gc.freeze()


if __name__ == "__main__":
    entry()
