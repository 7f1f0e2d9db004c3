"""Fixtures: the projects, credentials and task groups a reference server starts from.

A conformance run needs known credentials and groups in known states, and the run pauses some of them, so
every server instance starts from a fixture set: the built-in default, or a YAML file (``--fixtures``)::

    projects:                       # the first is the run's project, the second its `other_project`
      - project_id: f4e146cac1de45669c3fed73dc3b9c6f
        tokens:                     # a string, or {token, permissions}; permissions default to both below
          - my-token
          - {token: my-read-token, permissions: ["oms:taskgroup:get"]}
        aksk:                       # security_token is optional (temporary credentials)
          - {ak: MYAK, sk: MYSK}
        groups:                     # ids by status name (conformance.target.STATUS_CODES)
          monitoring: [157ece42-3270-4824-a3d2-f0187a03ca01]
        generate:                   # bulk groups for load tests: ids from generated_group_id()
          monitoring: 500000

The default set (public sandbox values, never real credentials; ``--write-target`` writes them out):

- main project ``f4e146cac1de45669c3fed73dc3b9c6f`` (the seed page's example):
  token ``oms-sandbox-token-main``; AK/SK ``OMSSANDBOXMAINAK0001`` / ``oms-sandbox-sk-main-0001``;
  read-only token ``oms-sandbox-token-readonly`` (only ``oms:taskgroup:get``: a stop with it gets 403);
  12 creating, 12 monitoring and 2 groups of every other status.
- other project ``5d0e3e8ba7b2456c9e8a1f2b3c4d5e6f``: token ``oms-sandbox-token-other``;
  AK/SK ``OMSSANDBOXOTHERAK001`` / ``oms-sandbox-sk-other-0001``; 2 creating, 2 monitoring and 1 group
  of every other status.

Group ids are UUID-like and tell their origin: ``generated_group_id(status, project_index, n)`` is
``f"{status:08x}-{project_index:04x}-4000-8000-{n:012x}"``, e.g. the main project's first monitoring
group is ``00000002-0000-4000-8000-000000000000`` (load generators compute ids the same way).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.errors import ConfigError
from conformance.target import STATUS_CODES
from conformance.textfile import read_yaml

PERMISSION_GET = "oms:taskgroup:get"
PERMISSION_UPDATE = "oms:taskgroup:update"
ALL_PERMISSIONS = (PERMISSION_GET, PERMISSION_UPDATE)
# Enough for a load test, small enough that a typo (an extra zero) is caught before the db fills the disk.
MAX_GENERATED = 10_000_000
_MAX_ID = 1024


@dataclass(frozen=True)
class TokenFixture:
    token: str = field(repr=False)
    permissions: tuple[str, ...] = ALL_PERMISSIONS


@dataclass(frozen=True)
class AkSkFixture:
    ak: str
    sk: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)
    permissions: tuple[str, ...] = ALL_PERMISSIONS


@dataclass(frozen=True)
class ProjectFixture:
    project_id: str
    tokens: tuple[TokenFixture, ...] = ()
    aksk: tuple[AkSkFixture, ...] = ()
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    generate: Mapping[str, int] = field(default_factory=dict)

    def group_rows(self, index: int) -> Iterator[tuple[str, int]]:
        """(group_id, status code) of every group, listed ones first, then generated ones."""
        for name, ids in self.groups.items():
            code = STATUS_CODES[name]
            for gid in ids:
                yield gid, code
        for name, count in self.generate.items():
            code = STATUS_CODES[name]
            for n in range(count):
                yield generated_group_id(code, index, n), code


@dataclass(frozen=True)
class Fixtures:
    projects: tuple[ProjectFixture, ...]


def generated_group_id(status: int, project_index: int, n: int) -> str:
    return f"{status:08x}-{project_index:04x}-4000-8000-{n:012x}"


def default_fixtures() -> Fixtures:
    """The built-in set (see the module docstring): every status in two projects."""
    main_counts = {name: 2 for name in STATUS_CODES} | {"creating": 12, "monitoring": 12}
    other_counts = {name: 1 for name in STATUS_CODES} | {"creating": 2, "monitoring": 2}
    main = ProjectFixture(
        project_id="f4e146cac1de45669c3fed73dc3b9c6f",
        tokens=(
            TokenFixture("oms-sandbox-token-main"),
            TokenFixture("oms-sandbox-token-readonly", (PERMISSION_GET,)),
        ),
        aksk=(AkSkFixture("OMSSANDBOXMAINAK0001", "oms-sandbox-sk-main-0001"),),
        generate=main_counts,
    )
    other = ProjectFixture(
        project_id="5d0e3e8ba7b2456c9e8a1f2b3c4d5e6f",
        tokens=(TokenFixture("oms-sandbox-token-other"),),
        aksk=(AkSkFixture("OMSSANDBOXOTHERAK001", "oms-sandbox-sk-other-0001"),),
        generate=other_counts,
    )
    return Fixtures(projects=(main, other))


def load_fixtures(path: str | Path) -> Fixtures:
    path = Path(path)
    where = f"fixture file {str(path)!r}"
    data = read_yaml(path, "fixture file")
    try:
        return parse_fixtures(data)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc.message}") from exc


def parse_fixtures(data: Any) -> Fixtures:
    """Fixtures from parsed YAML; every problem is a ConfigError naming the key."""
    if not isinstance(data, dict) or set(data) != {"projects"}:
        raise ConfigError("expected a mapping with the single key `projects`")
    raw = data["projects"]
    if not isinstance(raw, list) or not raw:
        raise ConfigError("projects: expected a non-empty list")
    projects = tuple(_project(item, f"projects[{i}].") for i, item in enumerate(raw))
    _unique([p.project_id for p in projects], "projects[].project_id", "project id")
    _unique([t.token for p in projects for t in p.tokens], "projects[].tokens", "token")
    _unique([k.ak for p in projects for k in p.aksk], "projects[].aksk", "ak")
    for i, project in enumerate(projects[:2]):
        # The run's project and its `other_project` need a credential that may stop a group.
        perms = [t.permissions for t in project.tokens] + [k.permissions for k in project.aksk]
        if not any(PERMISSION_UPDATE in p for p in perms):
            raise ConfigError(f"projects[{i}]: needs a token or aksk with {PERMISSION_UPDATE}")
    return Fixtures(projects=projects)


def _project(item: Any, where: str) -> ProjectFixture:
    if not isinstance(item, dict):
        raise ConfigError(f"{where[:-1]}: expected a mapping")
    extra = sorted(set(item) - {"project_id", "tokens", "aksk", "groups", "generate"})
    if extra:
        allowed = "aksk, generate, groups, project_id, tokens"
        raise ConfigError(f"{where}{extra[0]}: unknown key; allowed: {allowed}")
    project_id = _text(item.get("project_id"), f"{where}project_id")
    tokens = tuple(_token(t, f"{where}tokens[{i}]") for i, t in enumerate(_list(item, "tokens", where)))
    aksk = tuple(_aksk(k, f"{where}aksk[{i}]") for i, k in enumerate(_list(item, "aksk", where)))
    groups: dict[str, tuple[str, ...]] = {}
    for name, ids in _statuses(item, "groups", where).items():
        if not isinstance(ids, list):
            raise ConfigError(f"{where}groups.{name}: expected a list of group ids")
        groups[name] = tuple(_text(gid, f"{where}groups.{name}[{i}]") for i, gid in enumerate(ids))
    generate: dict[str, int] = {}
    for name, count in _statuses(item, "generate", where).items():
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_GENERATED:
            raise ConfigError(f"{where}generate.{name}: expected a count 0..{MAX_GENERATED}, got {count!r}")
        generate[name] = count
    _unique([gid for ids in groups.values() for gid in ids], f"{where}groups", "group id")
    return ProjectFixture(project_id, tokens, aksk, groups, generate)


def _token(item: Any, where: str) -> TokenFixture:
    if isinstance(item, str):
        item = {"token": item}
    if not isinstance(item, dict) or not set(item) <= {"token", "permissions"}:
        raise ConfigError(f"{where}: expected a token string or a mapping with token and permissions")
    token = _text(item.get("token"), f"{where}.token", limit=16384)
    if not all(0x21 <= ord(c) <= 0x7E for c in token):
        # The server refuses such a token as malformed, so a fixture holding one could never be used.
        raise ConfigError(f"{where}.token: only visible ASCII characters (no spaces) are allowed")
    return TokenFixture(token, _perms(item, where))


def _aksk(item: Any, where: str) -> AkSkFixture:
    if not isinstance(item, dict) or not set(item) <= {"ak", "sk", "security_token", "permissions"}:
        raise ConfigError(f"{where}: expected a mapping with ak, sk and optional security_token, permissions")
    token = item.get("security_token")
    return AkSkFixture(
        ak=_text(item.get("ak"), f"{where}.ak"),
        sk=_text(item.get("sk"), f"{where}.sk"),
        security_token=None if token is None else _text(token, f"{where}.security_token", limit=16384),
        permissions=_perms(item, where),
    )


def _perms(item: dict[str, Any], where: str) -> tuple[str, ...]:
    perms = item.get("permissions", list(ALL_PERMISSIONS))
    if not isinstance(perms, list) or not all(isinstance(p, str) for p in perms):
        raise ConfigError(f"{where}.permissions: expected a list of strings such as {PERMISSION_UPDATE!r}")
    return tuple(perms)


def _list(item: dict[str, Any], key: str, where: str) -> list[Any]:
    value = item.get(key) or []
    if not isinstance(value, list):
        raise ConfigError(f"{where}{key}: expected a list")
    return value


def _statuses(item: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = item.get(key) or {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}{key}: expected a mapping of status name to {key} entries")
    for name in value:
        if name not in STATUS_CODES:
            names = ", ".join(STATUS_CODES)
            raise ConfigError(f"{where}{key}.{name}: unknown status name; use one of: {names}")
    return value


def _text(value: Any, where: str, limit: int = _MAX_ID) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ConfigError(f"{where}: expected a string, got {type(value).__name__}")
    text = str(value)
    if not 1 <= len(text) <= limit:
        raise ConfigError(f"{where}: must be 1..{limit} characters, got {len(text)}")
    return text


def _unique(values: list[str], where: str, what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            # Secrets are not shown: a duplicated token is named by position only.
            shown = "" if what == "token" else f" {value!r}"
            raise ConfigError(f"{where}: {what}{shown} is listed twice")
        seen.add(value)
