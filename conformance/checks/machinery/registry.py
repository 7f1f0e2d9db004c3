"""The check registry: what a check is (:class:`CheckEntry`), the decorators that describe one, and the
:class:`Registry` that the built-in suite (:mod:`conformance.checks.suite`) fills explicitly.

Two kinds of check:
- scenario checks (``@scenario``) send their own requests and judge the answers;
- response checks (``@response_check``) judge *every* answer any scenario received (envelope, status, echo).

The decorators only attach a spec to the function; nothing registers itself on import, so which checks
exist and in what order they run is written down in one place, not decided by import order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from conformance.errors import UsageError
from conformance.spec import Profile


class Need(StrEnum):
    """Things a check may need from the target; without them it is reported "not run" with the reason."""

    FIXTURES = "fixtures"
    OTHER_PROJECT = "other_project"
    SHOW = "show"
    AKSK = "aksk"
    READONLY = "readonly"
    RESTORE = "restore"

    @property
    def reason(self) -> str:
        return _NEED_REASONS[self]


_NEED_REASONS = {
    Need.FIXTURES: "no fixtures: the target lists no task groups this run may pause",
    Need.OTHER_PROJECT: "no other_project in the target: cross-project checks need a second credential",
    Need.SHOW: "the profile has no show operation to read a group's status",
    Need.AKSK: "the target gives no AK/SK pair",
    Need.READONLY: "no readonly_token in the target: a token of the project without oms:taskgroup:update",
    Need.RESTORE: "no restore: keys in the target (the start operation's body) or no start operation",
}


class GroupUse(StrEnum):
    """How a scenario uses the listed pausable groups (machinery/pool.py), for ``run --plan`` and the
    README."""

    NONE = "none"
    KEEPER = "keeper"  # shares the keeper group; its requests must leave it pausable
    PAUSES_KEEPER = "pauses-keeper"  # pauses the keeper (settling what the keeper's users deferred)
    PAUSES_ONE = "pauses-one"  # pauses a group of its own
    KEEPER_THEN_PAUSES = "keeper-then-pauses"  # probes the keeper, then pauses it (huawei: read in between)
    OPTIONAL = "optional"  # pauses a group of its own if one is left; a weaker form of the check otherwise
    RECHECKS_PAUSED = "rechecks-paused"  # looks again at the groups the checks before it paused; uses none


class CheckKind(StrEnum):
    SCENARIO = "scenario"
    RESPONSE = "response"


@dataclass(frozen=True)
class CheckEntry:
    name: str
    requirements: tuple[str, ...]
    description: str
    kind: CheckKind
    fn: Any
    needs: tuple[Need, ...] = ()
    profiles: tuple[Profile, ...] = tuple(Profile)
    groups: GroupUse = GroupUse.NONE
    # A response check that judges answers to any path, not only the operation's (machinery/judge.py).
    any_path: bool = False
    # A scenario that names a listed group (under another project's id, say) without using it as a fixture:
    # a faulty server could still pause it, so it does not run beside the keeper's checks (runner/lanes.py).
    names_listed: bool = False

    def applies_to(self, profile: Profile) -> bool:
        return profile in self.profiles


F = TypeVar("F", bound=Callable[..., Any])
_SPEC = "__check_spec__"


def _describe(
    kind: CheckKind,
    name: str,
    requirements: Iterable[str],
    needs: Iterable[str],
    profiles: Iterable[Profile],
    groups: GroupUse = GroupUse.NONE,
    *,
    any_path: bool = False,
    names_listed: bool = False,
) -> Callable[[F], F]:
    def decorate(fn: F) -> F:
        spec = CheckEntry(
            name=name,
            requirements=tuple(requirements),
            description=(fn.__doc__ or "").strip().split("\n")[0],
            kind=kind,
            fn=fn,
            needs=tuple(Need(n) for n in needs),
            profiles=tuple(Profile(p) for p in profiles),
            groups=groups,
            any_path=any_path,
            names_listed=names_listed,
        )
        setattr(fn, _SPEC, spec)
        return fn

    return decorate


def scenario(
    name: str,
    *,
    requirements: Iterable[str],
    needs: Iterable[str] = (),
    profiles: Iterable[Profile] = tuple(Profile),
    groups: GroupUse = GroupUse.NONE,
    names_listed: bool = False,
) -> Callable[[F], F]:
    return _describe(
        CheckKind.SCENARIO, name, requirements, needs, profiles, groups, names_listed=names_listed
    )


def response_check(
    name: str,
    *,
    requirements: Iterable[str],
    profiles: Iterable[Profile] = tuple(Profile),
    any_path: bool = False,
) -> Callable[[F], F]:
    """``any_path``: it judges answers to paths that are not the operation's too (the proxy sees those)."""
    return _describe(CheckKind.RESPONSE, name, requirements, (), profiles, any_path=any_path)


def spec_of(fn: Callable[..., Any]) -> CheckEntry:
    spec = getattr(fn, _SPEC, None)
    if not isinstance(spec, CheckEntry):
        raise TypeError(f"{fn!r} is not a check: decorate it with @scenario or @response_check")
    return spec


class Registry:
    """Checks by name, in the order they were given."""

    def __init__(self, checks: Iterable[Callable[..., Any]]) -> None:
        self._specs: dict[str, CheckEntry] = {}
        for fn in checks:
            spec = spec_of(fn)
            if spec.name in self._specs:
                raise ValueError(f"check {spec.name!r} is registered twice")
            self._specs[spec.name] = spec

    def __iter__(self) -> Iterator[CheckEntry]:
        return iter(self._specs.values())

    def __getitem__(self, name: str) -> CheckEntry:
        return self._specs[name]

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def names(self) -> list[str]:
        return list(self._specs)

    def select(self, include: Iterable[str] = (), exclude: Iterable[str] = ()) -> list[CheckEntry]:
        """The checks to run, in registry order (:func:`select`)."""
        return select(self, include, exclude)

    def oracles(self, profile: Profile) -> list[CheckEntry]:
        """The response checks that apply to ``profile``."""
        return [s for s in self if s.kind is CheckKind.RESPONSE and s.applies_to(profile)]


def select(
    checks: Iterable[CheckEntry], include: Iterable[str] = (), exclude: Iterable[str] = ()
) -> list[CheckEntry]:
    """The checks to run, in the order given; an unknown name is a UsageError listing the valid ones.

    ``include`` of scenario checks only keeps every response check: they judge those scenarios' answers.
    """
    specs: dict[str, CheckEntry] = {}
    for spec in checks:
        if specs.setdefault(spec.name, spec) is not spec:
            raise ValueError(f"check {spec.name!r} is given twice")
    include, exclude = list(include), list(exclude)
    for name in include + exclude:
        if name not in specs:
            raise UsageError(f"unknown check {name!r}; valid checks: {', '.join(sorted(specs))}")
    chosen = include or list(specs)
    if not any(specs[name].kind is CheckKind.RESPONSE for name in include):
        # Response checks judge the answers of whatever scenarios run: choosing scenarios alone (a deep
        # `--checks fuzz`) keeps every one of them, unless excluded. Naming some picks those only.
        chosen = chosen + [s.name for s in specs.values() if s.kind is CheckKind.RESPONSE]
    return [spec for name, spec in specs.items() if name in chosen and name not in exclude]
