"""``run --plan``: what a run against this target would verify, and what it could not, sending nothing.

It follows the fixture pool's rules (machinery/pool.py) over the checks in the order they run: checks that
must leave a group pausable share one keeper group, the effect check then pauses it, and every check that
pauses a group of its own takes the next one. So a provider sees, before a night on a real account, which
listed groups the run will pause and what one more group would add. Stale groups cannot be known without
asking the target; the run finds and reports them.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.checks.machinery.registry import CheckEntry, CheckKind, GroupUse, Need
from conformance.checks.suite import BUILTIN
from conformance.spec import Profile, load_contract
from conformance.target import Target


@dataclass(frozen=True)
class PlanLine:
    check: str
    runs: bool
    how: str


def _has(need: Need, target: Target, *, can_read: bool) -> bool:
    project = target.project
    return {
        Need.FIXTURES: target.has_fixtures,
        Need.OTHER_PROJECT: target.other_project is not None,
        Need.SHOW: can_read,
        Need.AKSK: project.aksk is not None,
        Need.READONLY: project.readonly_token is not None or project.readonly_token_command is not None,
        Need.RESTORE: bool(target.restore) and can_read,  # huawei: show and start come together
    }[need]


class _Groups:
    """The pool's allocation, counted instead of performed."""

    def __init__(self, pausable: int) -> None:
        self.left = pausable
        self.used = 0
        self.keeper: int | None = None

    def take(self) -> int | None:
        if self.left == 0:
            return None
        self.left -= 1
        self.used += 1
        return self.used

    def borrow_keeper(self) -> int | None:
        if self.keeper is None:
            self.keeper = self.take()
        return self.keeper


def plan_run(target: Target, profile: Profile, include: list[str], exclude: list[str]) -> list[PlanLine]:
    contract = load_contract(profile)
    can_read = contract.has_show_operation
    groups = _Groups(len(target.project.groups_in("creating", "monitoring")))
    lines = []
    for spec in BUILTIN.select(include, exclude):
        if not spec.applies_to(profile):
            continue
        if spec.kind is CheckKind.RESPONSE:
            lines.append(PlanLine(spec.name, True, "judges every answer"))
            continue
        lines.append(_plan_scenario(spec, target, groups, can_read=can_read))
    return lines


def _plan_scenario(spec: CheckEntry, target: Target, groups: _Groups, *, can_read: bool) -> PlanLine:
    missing = [need for need in spec.needs if not _has(need, target, can_read=can_read)]
    if missing:
        return PlanLine(spec.name, False, f"not run: {missing[0].reason}")
    use = spec.groups
    if use is GroupUse.NONE or (
        not target.project.groups_in("creating", "monitoring") and use is GroupUse.OPTIONAL
    ):
        return PlanLine(spec.name, True, "runs; pauses nothing")
    if use is GroupUse.RECHECKS_PAUSED:
        if not groups.used:
            return PlanLine(spec.name, False, "not run: no check before it pauses a listed group")
        how = "reads" if can_read else "stops (each must be refused: 400)"
        line = f"runs last; {how} the groups paused above (up to {groups.used}), none of its own"
        return PlanLine(spec.name, True, line)
    if use is GroupUse.KEEPER:
        keeper = groups.borrow_keeper()
        if keeper is None:
            return PlanLine(spec.name, False, "not run: needs 1 listed creating/monitoring group")
        verify = "read after each check" if can_read else "the effect check's stop verifies it"
        return PlanLine(spec.name, True, f"runs on the shared keeper group #{keeper}; {verify}")
    if use in (GroupUse.PAUSES_KEEPER, GroupUse.KEEPER_THEN_PAUSES):
        keeper = groups.borrow_keeper() if use is GroupUse.KEEPER_THEN_PAUSES else groups.keeper
        group = keeper if keeper is not None else groups.take()
        groups.keeper = None
        if group is None:
            return PlanLine(spec.name, False, "not run: needs 1 more listed creating/monitoring group")
        return PlanLine(spec.name, True, f"pauses group #{group}")
    if use is GroupUse.PAUSES_ONE:
        group = groups.take()
        if group is None:
            return PlanLine(spec.name, False, "not run: needs 1 more listed creating/monitoring group")
        if spec.name == "concurrency" and groups.keeper is not None:  # concurrency.keeper_to_race
            raced = f"; the effect check's first stop, of group #{groups.keeper}, is released with them"
            return PlanLine(spec.name, True, f"pauses group #{group}{raced}")
        return PlanLine(spec.name, True, f"pauses group #{group}")
    # OPTIONAL: the check runs either way; a group of its own makes it stronger.
    if spec.name == "header-case" and can_read:
        return PlanLine(spec.name, True, "runs; reads a listed group with `x-auth-token` (pauses nothing)")
    group = groups.take()
    if group is None:
        return PlanLine(
            spec.name, True, "runs without pausing (1 more listed creating/monitoring group adds more)"
        )
    return PlanLine(spec.name, True, f"runs and pauses group #{group} if one of the right kind is left")


PAUSABLE = ("creating", "monitoring")


def may_pause(target: Target) -> list[str]:
    """Every listed group the run may pause, by project, with why: the lines `--plan` and the start of a run
    print. A stop with a valid credential goes to these and to no other group that could exist (README:
    the safety rule) - under any project id. A correct server pauses only the first kind; the others get
    stops that must be refused, which a server that ignores the status or the project would obey."""
    own, other = target.project, target.other_project
    rows = [
        (own.project_id, own.groups_in(*PAUSABLE), "creating/monitoring: the checks pause them"),
        (
            own.project_id,
            [gid for name, ids in own.groups.items() if name not in PAUSABLE for gid in ids],
            "other statuses: stops that must be refused (a server that ignores the status pauses them)",
        ),
    ]
    if other is not None:
        rows.append(
            (
                f"{other.project_id} (the other project)",
                sorted(other.group_ids()),
                "stops with the first project's credential, which must be refused "
                "(a server that ignores the project pauses them)",
            )
        )
    out = ["listed groups this run may pause (no stop with a credential goes to any other real-looking id):"]
    out += [f"  {project}, {why}: {', '.join(ids)}" for project, ids, why in rows if ids]
    if len(out) == 1:
        out[0] = "listed groups this run may pause: none (the target file lists none)"
    return out


def render_plan(target: Target, profile: Profile, lines: list[PlanLine]) -> str:
    pausable = len(target.project.groups_in(*PAUSABLE))
    out = [
        f"plan for {target.base_url} ({profile} profile): {pausable} listed creating/monitoring groups; "
        "nothing is sent, so stale groups show only when the run uses them",
    ]
    out += [f"  {'✓' if line.runs else '-'} {line.check:<22} {line.how}" for line in lines]
    missing = [line for line in lines if not line.runs]
    out.append(
        f"{sum(line.runs for line in lines)} checks run, {len(missing)} do not"
        + (" (each line says what it would need)" if missing else "")
    )
    out += may_pause(target)
    return "\n".join(out)
