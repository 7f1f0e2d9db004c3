"""How a reader names a run and runs it again: its run id, its Reproduce line, and what each ``$OMS_…``
placeholder of a curl line stands for.

Three things a report shows but that the RunResult does not spell out:

- the **run id** - SARIF's ``automationDetails.id`` - must tell one target's run apart from another's, or code
  scanning lets one target's alerts replace another's; it must stay the same from night to night for one
  target, or every night opens new alerts. So it is derived from what identifies a target (profile, base URL,
  project), never from a time or a port the embedded server picked;
- the **Reproduce line** differs for the embedded reference server (no target file exists) and a real target;
- the **placeholders**: curl lines read credentials from the environment (``$OMS_TOKEN``, ...), as the
  runner's ``secrets_of`` names them. A reader needs to know what to export for each.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from conformance.results import RunResult

# What secrets_of (conformance/runner/config.py) substitutes for each secret: the placeholder without the
# "_OTHER" that marks the same credential of the target's other_project, what it is, how to set it ("{s}":
# where "_OTHER" goes).
_PLACEHOLDERS: dict[str, tuple[str, str]] = {
    "OMS_TOKEN": (
        "the target's token (`token:` in the target file)",
        "export OMS_TOKEN{s}='<the token>'",
    ),
    "OMS_TOKEN_TAMPERED": (
        "the token with its middle character changed: well-formed but not valid, to test that a bad "
        "token is refused",
        'export OMS_TOKEN{s}_TAMPERED="$(python3 -c \'import os; t = os.environ["OMS_TOKEN{s}"]; '
        'm = len(t) // 2; print(t[:m] + ("B" if t[m] == "A" else "A") + t[m + 1:])\')"',
    ),
    "OMS_READONLY_TOKEN": (
        "a token of the project without `oms:taskgroup:update` (`readonly_token:`)",
        "export OMS_READONLY_TOKEN{s}='<the read-only token>'",
    ),
    "OMS_SK": (
        "the secret key of the AK/SK pair (`aksk: {sk: ...}`); a signed request's `Authorization` header "
        "is only valid for minutes, so re-sign it (e.g. with the official SDK) rather than replay it",
        "export OMS_SK{s}='<the secret key>'",
    ),
    "OMS_SECURITY_TOKEN": (
        "the security token of temporary AK/SK credentials (`aksk: {security_token: ...}`)",
        "export OMS_SECURITY_TOKEN{s}='<the security token>'",
    ),
    "OMS_TOKEN_LOOKALIKE": (
        "a token that only resembles the valid one (changed case, cut short, extended, mixed with another): "
        "the look-alike probes of `lookalike-tokens`; its exact form is in the check's message",
        "derive it from $OMS_TOKEN as the check's message says",
    ),
}
# The start operation's body keys (`restore:` in the target file): $OMS_RESTORE_DST_SK and friends.
_RESTORE = "OMS_RESTORE_"
_OTHER = "_OTHER"
_PLACEHOLDER = re.compile(r"\$(OMS_[A-Z_]*[A-Z])")
UNKNOWN_PLACEHOLDER = "a credential of the target, redacted"
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


def _base_name(name: str) -> tuple[str, bool]:
    """``OMS_TOKEN_OTHER_TAMPERED`` -> (``OMS_TOKEN_TAMPERED``, True): the credential and whose it is."""
    parts = name.split("_")
    if "OTHER" in parts[2:]:
        parts.remove("OTHER")
        return "_".join(parts), True
    return name, False


def placeholder_legend(texts: Iterable[str]) -> list[tuple[str, str, str]]:
    """(``$NAME``, what it stands for, how to set it) for every ``$OMS_…`` placeholder found in ``texts``,
    sorted by name. A placeholder this table does not know still gets a line, so none goes unexplained."""
    found = sorted({name for text in texts for name in _PLACEHOLDER.findall(text)})
    legend = []
    for name in found:
        base, other = _base_name(name)
        if base.startswith(_RESTORE):
            key = base.removeprefix(_RESTORE).lower()
            entry = (
                f"`{key}` of the start operation's body (`restore: {{{key}: ...}}`)",
                f"export {base}='<{key}>'",
            )
        else:
            entry = _PLACEHOLDERS.get(
                base.rstrip("_0123456789"), (UNKNOWN_PLACEHOLDER, f"export {base}{{s}}=...")
            )
        meaning, how = entry
        if other:
            meaning = f"as `${base}`, for the target's `other_project`: {meaning}"
        legend.append((f"${name}", meaning, how.replace("{s}", _OTHER if other else "")))
    return legend


def is_embedded(run: RunResult) -> bool:
    """Whether the run went against the embedded reference server (``run`` with neither --target nor
    --base-url). Runs written before the ``embedded`` mark existed count as real targets."""
    return run.target.get("embedded") is True


def default_run_id(run: RunResult) -> str:
    """``<profile>-<host>-<8 hex>`` from profile, base URL and project: readable, distinct per target,
    the same every night. The embedded server's is ``<profile>-embedded`` (its port changes each run)."""
    if is_embedded(run):
        return f"{run.profile}-embedded"
    base_url = str(run.target.get("base_url", ""))
    project = str(run.target.get("project_id", ""))
    host = urlsplit(base_url).netloc.rpartition("@")[2] or "target"
    digest = hashlib.sha256("\x1f".join((run.profile, base_url.rstrip("/"), project)).encode()).hexdigest()
    return f"{run.profile}-{_SLUG.sub('-', host).strip('-')}-{digest[:8]}"


def run_id_of(run: RunResult) -> str:
    """The run's id as given (``--run-id``) or derived - also for runs written before run ids existed."""
    return run.run_id or default_run_id(run)


def reproduce_command(run: RunResult) -> str:
    options = f"--profile {run.profile} --depth {run.depth} --seed {run.seed}"
    if is_embedded(run):
        return f"oms-conformance run {options}"
    return f"oms-conformance run --target target.yaml {options}"
