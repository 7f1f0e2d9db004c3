"""Errors that end a command, and the exit codes of the whole CLI.

Non-conformance is a *result*, not an error: it is reported, and exits 1. Everything here is a reason the
toolkit could not do its job, each with a ``kind`` that the CLI maps to one line of advice::

    ConformanceError            exit 2 unless said otherwise
     +-- UsageError             bad option or argument                          (exit 2)
     +-- ConfigError            bad target or fixture file, unset ${VAR}        (exit 2)
     |    +-- CertificateRefused  the target's TLS certificate is not trusted   (exit 2)
     +-- SpecError              a contract document that does not load/validate (exit 2)
     +-- TargetUnreachable      nothing answers at the base URL                 (exit 3)
     +-- SeamChanged            a library's internals moved (conformance/_seams) (exit 2)
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0  # ok, or the target conforms
    NON_CONFORMANT = 1
    USAGE = 2  # usage, configuration or spec error
    UNREACHABLE = 3
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
    TERMINATED = 143  # SIGTERM (128 + SIGTERM)


class ConformanceError(Exception):
    """A reason the toolkit could not do its job (as opposed to a finding about the target)."""

    kind = "error"
    exit_code = ExitCode.USAGE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        # Advice for this error when the kind's line (ADVICE) would not fit it, e.g. a file that is missing.
        self.hint = hint

    @property
    def advice(self) -> str:
        return self.hint or ADVICE.get(self.kind, ADVICE["error"])


class UsageError(ConformanceError):
    kind = "usage"


class ConfigError(ConformanceError):
    kind = "config"


class CertificateRefused(ConfigError):
    """The client refused the target's TLS certificate (untrusted CA, another host's name, expired): the
    target is there, the client is not told to trust it."""

    kind = "tls"


class SpecError(ConformanceError):
    kind = "spec"


class TargetUnreachable(ConformanceError):
    kind = "unreachable"
    exit_code = ExitCode.UNREACHABLE


# One line of advice per kind, printed under the error message.
ADVICE: dict[str, str] = {
    "usage": "Run with --help to see the options.",
    "config": "Fix the named key (the file formats: conformance/schemas/*.schema.json); "
    "`${VAR}` values come from the environment.",
    "spec": "Run `oms-conformance spec --validate` to see the document's problems.",
    "unreachable": "Check the base URL, that the server is running, and --request-timeout.",
    "tls": "Trust the server's CA with --ca-bundle FILE (or SSL_CERT_FILE=FILE in the environment), or, "
    "for a test server only, skip verification with --insecure.",
    "credentials": "Renew the credential (IAM tokens expire after 24 hours; a token_command fetches a "
    "fresh one each run) and check that it belongs to the target's project_id.",
    "dependency": "Install a version of that library in the range named, or an oms-conformance release "
    "verified with the version you have.",
    "error": "Re-run with --debug for a traceback.",
}
# Hints of errors that a kind's line does not fit (ConformanceError.hint).
FILE_HINT = "Check the file's path and its permissions."
ENCODING_HINT = "Save the file as UTF-8 text."
SYNTAX_HINT = "Fix the YAML syntax at the line shown (an unclosed bracket or quote, or a tab indent)."
