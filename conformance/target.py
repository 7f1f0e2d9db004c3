"""The target: which implementation to test, with which credentials, and which task groups it may pause.

One loader serves ``run --target FILE``, the pytest plugin and the reference server's ``--write-target``
(which writes the same format with :func:`dump_target`). A target file is YAML; ``${VAR}`` expands from the
environment so that secrets need not sit in the file. Every problem is a ConfigError naming the key.

Safety rule for real accounts: the only task groups a run may pause are the ones listed under ``groups``
(and ``other_project.groups``, which are only ever sent the *other* project's own credential).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from conformance.errors import ConfigError
from conformance.textfile import read_yaml

# Task group status codes (ShowTaskGroup's `status`), by the names a target file uses.
STATUS_CODES: dict[str, int] = {
    "waiting": 0,
    "creating": 1,
    "monitoring": 2,
    "paused": 3,
    "create_failed": 4,
    "migrate_failed": 5,
    "completed": 6,
    "pausing": 7,
    "deleting": 8,
    "deleted": 9,
}
STATUS_NAMES = {code: name for name, code in STATUS_CODES.items()}
PAUSABLE = frozenset({"creating", "monitoring"})

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_TOP_KEYS = {
    "base_url",
    "project_id",
    "token",
    "readonly_token",
    "aksk",
    "profile",
    "groups",
    "other_project",
}
_OTHER_KEYS = {"project_id", "token", "readonly_token", "aksk", "groups"}
_AKSK_KEYS = {"ak", "sk", "security_token"}


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
class Target:
    base_url: str
    project: Project
    profile: str = "strict"
    other_project: Project | None = None

    @property
    def has_fixtures(self) -> bool:
        return bool(self.project.groups)

    def listed_group_ids(self) -> set[str]:
        ids = self.project.group_ids()
        if self.other_project:
            ids |= self.other_project.group_ids()
        return ids

    def secrets(self) -> list[str]:
        """Every value that must never appear in any output."""
        found = self.project.secrets()
        if self.other_project:
            found += self.other_project.secrets()
        return found

    def describe(self) -> dict[str, Any]:
        """A credential-free description for reports."""
        return {
            "base_url": self.base_url,
            "project_id": self.project.project_id,
            "profile": self.profile,
            "credentials": [k for k in ("token", "aksk") if getattr(self.project, k)],
            "groups": {name: len(ids) for name, ids in self.project.groups.items()},
            "other_project": bool(self.other_project),
        }


def _expand(value: Any, key: str, env: Mapping[str, str]) -> Any:
    if isinstance(value, str):

        def lookup(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in env:
                raise ConfigError(f"{key}: environment variable ${{{name}}} is not set")
            return env[name]

        return _VAR.sub(lookup, value)
    if isinstance(value, dict):
        return {k: _expand(v, f"{key}.{k}", env) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, f"{key}[{i}]", env) for i, v in enumerate(value)]
    return value


def _string(data: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise ConfigError(f"{where}{key}: missing (required)")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ConfigError(f"{where}{key}: expected a string, got {type(value).__name__}")
    if str(value) == "":
        raise ConfigError(f"{where}{key}: must not be empty")
    return str(value)


def _unknown(data: Mapping[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(set(data) - allowed)
    if extra:
        raise ConfigError(f"{where}{extra[0]}: unknown key; allowed keys: {', '.join(sorted(allowed))}")


def _mapping(value: Any, key: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: expected a mapping, got {type(value).__name__}")
    return value


def _project(data: Mapping[str, Any], where: str) -> Project:
    aksk = None
    if data.get("aksk") is not None:
        raw = _mapping(data["aksk"], f"{where}aksk")
        _unknown(raw, _AKSK_KEYS, f"{where}aksk.")
        aksk = AkSk(
            ak=str(_string(raw, "ak", f"{where}aksk.")),
            sk=str(_string(raw, "sk", f"{where}aksk.")),
            security_token=_string(raw, "security_token", f"{where}aksk.", required=False),
        )
    token = _string(data, "token", where, required=False)
    if token is None and aksk is None:
        raise ConfigError(f"{where}token: missing (give `token` or `aksk`)")
    groups: dict[str, tuple[str, ...]] = {}
    raw_groups = _mapping(data.get("groups") or {}, f"{where}groups")
    for name, ids in raw_groups.items():
        key = f"{where}groups.{name}"
        if name not in STATUS_CODES:
            raise ConfigError(f"{key}: unknown status name; use one of: {', '.join(STATUS_CODES)}")
        if not isinstance(ids, list) or not all(isinstance(i, str | int) and str(i) for i in ids):
            raise ConfigError(f"{key}: expected a list of group ids")
        groups[name] = tuple(str(i) for i in ids)
    all_ids = [gid for ids in groups.values() for gid in ids]
    if len(all_ids) != len(set(all_ids)):
        dup = next(g for g in all_ids if all_ids.count(g) > 1)
        raise ConfigError(f"{where}groups: group id {dup!r} is listed twice")
    return Project(
        project_id=str(_string(data, "project_id", where)),
        token=token,
        aksk=aksk,
        groups=groups,
        readonly_token=_string(data, "readonly_token", where, required=False),
    )


def parse_target(data: Any, env: Mapping[str, str] | None = None) -> Target:
    """A Target from the parsed YAML of a target file (``env`` defaults to os.environ)."""
    data = _expand(_mapping(data, "target file"), "", os.environ if env is None else env)
    _unknown(data, _TOP_KEYS, "")
    base_url = str(_string(data, "base_url", "")).rstrip("/")
    parts = urlsplit(base_url)
    if parts.username or parts.password:
        # Never echoed back: the URL is printed and reported, so a password in it would leak.
        raise ConfigError("base_url: must not carry user:password@; give the credential as token or aksk")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"base_url: expected an http:// or https:// URL, got {base_url!r}")
    profile = _string(data, "profile", "", required=False) or "strict"
    if profile not in ("strict", "huawei"):
        raise ConfigError(f"profile: expected strict or huawei, got {profile!r}")
    project = _project(data, "")
    other = None
    if data.get("other_project") is not None:
        raw_other = _mapping(data["other_project"], "other_project")
        _unknown(raw_other, _OTHER_KEYS, "other_project.")
        other = _project(raw_other, "other_project.")
        if other.project_id == project.project_id:
            raise ConfigError("other_project.project_id: must differ from project_id")
    overlap = project.group_ids() & (other.group_ids() if other else set())
    if overlap:
        raise ConfigError(f"other_project.groups: group id {sorted(overlap)[0]!r} is also listed in groups")
    return Target(base_url=base_url, project=project, profile=profile, other_project=other)


def load_target(path: str | Path, env: Mapping[str, str] | None = None) -> Target:
    return parse_target(read_yaml(path, "target file"), env)


def _project_dict(project: Project) -> dict[str, Any]:
    out: dict[str, Any] = {"project_id": project.project_id}
    if project.token:
        out["token"] = project.token
    if project.readonly_token:
        out["readonly_token"] = project.readonly_token
    if project.aksk:
        out["aksk"] = {"ak": project.aksk.ak, "sk": project.aksk.sk}
        if project.aksk.security_token:
            out["aksk"]["security_token"] = project.aksk.security_token
    if project.groups:
        out["groups"] = {name: list(ids) for name, ids in project.groups.items()}
    return out


def dump_target(target: Target) -> str:
    """The target file text for ``target`` - the inverse of :func:`parse_target`."""
    data: dict[str, Any] = {"base_url": target.base_url, "profile": target.profile}
    data.update(_project_dict(target.project))
    if target.other_project:
        data["other_project"] = _project_dict(target.other_project)
    return yaml.safe_dump(data, sort_keys=False)
