"""The target as a run sees it: the implementation's base URL, the projects with their credentials and the
task groups the run may pause, and how a run reaches it. A target file (:mod:`conformance.target.file`) or a
caller's code makes one; nothing here reads or writes a file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.spec.documents import Profile

# The start operation's body keys (StartTaskGroupReq) that are not secrets: everything else under
# `restore:` is a key of the migration and is redacted like a credential.
RESTORE_PLAIN_KEYS = frozenset({"src_crypto_type", "dst_crypto_type", "source_cdn_crypto_type"})
Command = str | tuple[str, ...]
DEFAULT_SETTLE_TIMEOUT = 5.0


@dataclass(frozen=True)
class AkSk:
    ak: str
    sk: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Project:
    """A project, a credential for it, and the task groups of it the run may pause (by status name)."""

    project_id: str
    token: str | None = field(default=None, repr=False)
    aksk: AkSk | None = None
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # A valid token of the same project without the oms:taskgroup:update permission (optional).
    readonly_token: str | None = field(default=None, repr=False)
    # How the tokens were obtained, when by a command (dump_target writes the command, not its output).
    token_command: Command | None = None
    readonly_token_command: Command | None = None
    token_command_timeout: float | None = None

    def group_ids(self) -> set[str]:
        return {gid for ids in self.groups.values() for gid in ids}

    def groups_in(self, *names: str) -> list[str]:
        return [gid for name in names for gid in self.groups.get(name, ())]

    def secrets(self) -> list[str]:
        found = [t for t in (self.token, self.readonly_token) if t]
        if self.aksk:
            found.append(self.aksk.sk)
            if self.aksk.security_token:
                found.append(self.aksk.security_token)
        return found


@dataclass(frozen=True)
class ClientCertificate:
    """The certificate the client shows a server behind mutual TLS: PEM files, the key in ``cert`` unless
    ``key`` names its own file. Only the paths are ever printed; the password is a secret."""

    cert: str
    key: str | None = None
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Target:
    base_url: str
    project: Project
    profile: Profile = Profile.STRICT
    other_project: Project | None = None
    # The start operation's body for `run --restore` (keys of StartTaskGroupReq); its keys are secrets.
    restore: Mapping[str, str] | None = field(default=None, repr=False)
    # How long a status read after a stop or start may take to agree before it is a finding (seconds): the
    # platform's show lags its writes by seconds (machinery/lag.py).
    settle_timeout: float = DEFAULT_SETTLE_TIMEOUT
    client_certificate: ClientCertificate | None = None
    # The forward proxy (http://host:port), "none" to ignore the environment's; None: the environment's.
    proxy: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "profile", Profile(self.profile))  # callers may pass the name

    @property
    def has_fixtures(self) -> bool:
        return bool(self.project.groups)

    def listed_group_ids(self) -> set[str]:
        ids = self.project.group_ids()
        if self.other_project:
            ids |= self.other_project.group_ids()
        return ids

    def restore_secrets(self) -> dict[str, str]:
        """The restore values that are secrets, by key (crypto types are not)."""
        return {k: v for k, v in (self.restore or {}).items() if k not in RESTORE_PLAIN_KEYS}

    def secrets(self) -> list[str]:
        """Every value that must never appear in any output."""
        found = self.project.secrets()
        if self.other_project:
            found += self.other_project.secrets()
        found += list(self.restore_secrets().values())
        if self.client_certificate is not None and self.client_certificate.password:
            found.append(self.client_certificate.password)
        return found

    def describe(self) -> dict[str, Any]:
        """A credential-free description for reports."""
        return {
            "base_url": self.base_url,
            "project_id": self.project.project_id,
            "profile": self.profile.value,
            "credentials": [k for k in ("token", "aksk") if getattr(self.project, k)],
            "groups": {name: len(ids) for name, ids in self.project.groups.items()},
            "other_project": bool(self.other_project),
            **({"client_certificate": self.client_certificate.cert} if self.client_certificate else {}),
        }
