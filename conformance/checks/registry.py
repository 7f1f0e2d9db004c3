"""The one check registry. A check names the requirement(s) it verifies; nothing else runs.

Two kinds:
- scenario checks (``@scenario``) send their own requests and judge the answers;
- response checks (``@response_check``) judge *every* answer any scenario received (envelope, status, echo).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from conformance.errors import UsageError

if TYPE_CHECKING:
    from conformance.checks.context import CheckContext, Sent

ScenarioFn = Callable[["CheckContext"], Awaitable[None]]
# Returns a list of (requirement, title, message) findings for one answer; empty when it conforms.
ResponseFn = Callable[["CheckContext", "Sent"], list[tuple[str, str, str]]]

# Things a check may need from the target; without them it is reported "not run" with the reason.
NEEDS = {
    "fixtures": "no fixtures: the target lists no task groups this run may pause",
    "other_project": "no other_project in the target: cross-project checks need a second credential",
    "show": "the profile has no show operation to read a group's status",
    "aksk": "the target gives no AK/SK pair",
    "readonly": "no readonly_token in the target: a token of the project without oms:taskgroup:update",
}


@dataclass(frozen=True)
class CheckSpec:
    name: str
    requirements: tuple[str, ...]
    description: str
    kind: str  # "scenario" | "response"
    fn: Any
    needs: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ("strict", "huawei")


CHECKS: dict[str, CheckSpec] = {}


def _register(spec: CheckSpec) -> None:
    if spec.name in CHECKS:
        raise ValueError(f"check {spec.name!r} is registered twice")
    unknown = set(spec.needs) - set(NEEDS)
    if unknown:
        raise ValueError(f"check {spec.name!r} needs unknown things: {sorted(unknown)}")
    CHECKS[spec.name] = spec


def scenario(
    name: str,
    *,
    requirements: Iterable[str],
    needs: Iterable[str] = (),
    profiles: Iterable[str] = ("strict", "huawei"),
) -> Callable[[ScenarioFn], ScenarioFn]:
    def decorate(fn: ScenarioFn) -> ScenarioFn:
        _register(
            CheckSpec(
                name,
                tuple(requirements),
                (fn.__doc__ or "").strip().split("\n")[0],
                "scenario",
                fn,
                tuple(needs),
                tuple(profiles),
            )
        )
        return fn

    return decorate


def response_check(
    name: str, *, requirements: Iterable[str], profiles: Iterable[str] = ("strict", "huawei")
) -> Callable[[ResponseFn], ResponseFn]:
    def decorate(fn: ResponseFn) -> ResponseFn:
        _register(
            CheckSpec(
                name,
                tuple(requirements),
                (fn.__doc__ or "").strip().split("\n")[0],
                "response",
                fn,
                (),
                tuple(profiles),
            )
        )
        return fn

    return decorate


def select(include: Iterable[str] = (), exclude: Iterable[str] = ()) -> list[CheckSpec]:
    """The checks to run, in registry order; an unknown name is a UsageError listing the valid ones."""
    _load_builtin_checks()
    include, exclude = list(include), list(exclude)
    for name in include + exclude:
        if name not in CHECKS:
            raise UsageError(f"unknown check {name!r}; valid checks: {', '.join(sorted(CHECKS))}")
    chosen = include or list(CHECKS)
    return [CHECKS[name] for name in CHECKS if name in chosen and name not in exclude]


def _load_builtin_checks() -> None:
    # Importing the modules registers their checks.
    from conformance.checks import (  # noqa: F401
        auth,
        boundaries,
        fuzz,
        methods,
        oracles,
        robustness,
        state,
    )
