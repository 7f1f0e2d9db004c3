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
        groups:                     # ids by status name (conformance.spec.statuses.STATUS_CODES)
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

from conformance.schemas import problem, validate
from conformance.spec.statuses import STATUS_CODES
from conformance.textfile import read_yaml

PERMISSION_GET = "oms:taskgroup:get"
PERMISSION_UPDATE = "oms:taskgroup:update"
ALL_PERMISSIONS = (PERMISSION_GET, PERMISSION_UPDATE)


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
    return parse_fixtures(read_yaml(path, "fixture file"), f"fixture file {str(path)!r}")


def parse_fixtures(data: Any, source: str = "fixtures") -> Fixtures:
    """Fixtures from parsed YAML, checked against ``fixtures.schema.json``; every problem is a ConfigError
    naming the key, what was expected and what was found."""
    data = validate(data, "fixtures", source)
    projects = tuple(_project(item) for item in data["projects"])
    for i, item in enumerate(data["projects"]):
        _unique(
            source, f"projects[{i}].groups", [str(g) for ids in item.get("groups", {}).values() for g in ids]
        )
    _unique(source, "projects[].project_id", [p.project_id for p in projects])
    _unique(source, "projects[].tokens", [t.token for p in projects for t in p.tokens], secret=True)
    _unique(source, "projects[].aksk", [k.ak for p in projects for k in p.aksk])
    for i, project in enumerate(projects[:2]):
        # The run's project and its `other_project` need a credential that may stop a group.
        perms = [t.permissions for t in project.tokens] + [k.permissions for k in project.aksk]
        if not any(PERMISSION_UPDATE in p for p in perms):
            raise problem(
                source,
                f"projects[{i}]",
                f"a token or aksk with {PERMISSION_UPDATE}",
                "no credential with it (see permissions)",
            )
    return Fixtures(projects=projects)


def _project(item: dict[str, Any]) -> ProjectFixture:
    return ProjectFixture(
        project_id=str(item["project_id"]),
        tokens=tuple(_token(t) for t in item.get("tokens", [])),
        aksk=tuple(
            AkSkFixture(
                ak=str(k["ak"]),
                sk=str(k["sk"]),
                security_token=None if k.get("security_token") is None else str(k["security_token"]),
                permissions=tuple(k.get("permissions", ALL_PERMISSIONS)),
            )
            for k in item.get("aksk", [])
        ),
        groups={name: tuple(str(g) for g in ids) for name, ids in item.get("groups", {}).items()},
        generate=dict(item.get("generate", {})),
    )


def _token(item: Any) -> TokenFixture:
    if isinstance(item, dict):
        return TokenFixture(str(item["token"]), tuple(item.get("permissions", ALL_PERMISSIONS)))
    return TokenFixture(str(item))


def _unique(source: str, where: str, values: list[str], *, secret: bool = False) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            # Secrets are not shown: a duplicated token is named by its list only.
            found = "a token listed twice (not shown: a secret)" if secret else f"{value!r} listed twice"
            raise problem(source, where, "each value listed once", found)
        seen.add(value)
