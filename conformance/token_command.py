"""``token_command:``: a credential that outlives a day, fetched by a command the user names.

An IAM token lives 24 hours, so a nightly job cannot keep one in a secret store. As with AWS
``credential_process`` and kubeconfig ``exec``, the target file may name a command (a string run by the
shell, or a list of program and arguments) whose standard output, stripped, is the token. It runs once per
load of the target, in the target file's folder, with a timeout. Its output is a secret: never logged, never
part of a message. A failure is a ConfigError (exit 2) that shows the end of its stderr, redacted.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

from conformance.errors import ConfigError
from conformance.redact import Redactor

DEFAULT_TIMEOUT = 30.0
_STDERR_LINES = 5  # the end of stderr says why; more would bury the message
_STDERR_LINE_CHARS = 200
# After a kill, how long to wait for the pipes to close (a grandchild that left the process group may hold
# them open; the run must not hang on it).
_REAP_SECONDS = 5.0


def run_token_command(
    command: str | Sequence[str],
    *,
    where: str,
    timeout: float = DEFAULT_TIMEOUT,
    cwd: Path | None = None,
    secrets: Iterable[str] = (),
) -> str:
    """The token ``command`` prints; ``where`` (``source: key``) starts every error message."""
    shell = isinstance(command, str)
    try:
        # A session of its own, so a timeout kills the whole group (a shell and what it started), not
        # just the shell while its child keeps the pipes open.
        proc = subprocess.Popen(
            command if shell else list(command),
            shell=shell,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise _error(where, "a command that can be started", exc.strerror or type(exc).__name__) from None
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        raise _error(
            where, f"a command that finishes within {timeout:g} s", "it still running (stopped it)"
        ) from None
    except BaseException:
        _kill(proc)
        raise
    token = out.decode("utf-8", errors="replace").strip()
    redactor = Redactor([(s, "***") for s in [token, *token.split(), *secrets] if s])
    stderr = _tail(err.decode("utf-8", errors="replace"), redactor)
    if proc.returncode != 0:
        raise _error(where, "a command that exits with status 0", f"status {proc.returncode}", stderr)
    if not token:
        raise _error(where, "the token on standard output", "no output", stderr)
    if len(token.split()) != 1:
        raise _error(
            where,
            "one token on standard output (no spaces or line breaks inside)",
            f"{len(token.split())} words (not shown: a secret)",
            stderr,
        )
    return token


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.communicate(timeout=_REAP_SECONDS)


def _tail(stderr: str, redactor: Redactor) -> list[str]:
    lines = [redactor.text(line.rstrip()) for line in stderr.strip().splitlines() if line.strip()]
    return [
        line if len(line) <= _STDERR_LINE_CHARS else line[: _STDERR_LINE_CHARS - 1] + "…"
        for line in lines[-_STDERR_LINES:]
    ]


def _error(where: str, expected: str, found: str, stderr: Sequence[str] = ()) -> ConfigError:
    message = f"{where}: expected {expected}, found {found}"
    if stderr:
        message += "; its stderr (last lines, redacted):\n    " + "\n    ".join(stderr)
    return ConfigError(message)
