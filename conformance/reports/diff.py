"""``oms-conformance diff``: what changed between two runs, per requirement - the nightly gate.

A nightly run against a platform that never fully conforms always has failures; what a team needs to act on
is what *changed*. Requirements are compared by verdict:

- new failure:   was pass / not run (or absent) and now fails or is flaky -> the diff exits 1;
- fixed:         failed, was flaky or a known failure, and now passes;
- still failing: failed (or known failure) both times;
- other changes: anything else (e.g. pass -> not run, fail -> known failure after a baseline entry).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from conformance.reports._common import FAILING, VERDICT_LABELS, Catalogue, catalogue_or_default
from conformance.results import RunResult, Verdict

_WAS_FAILING = FAILING | {Verdict.KNOWN_FAILURE}


@dataclass(frozen=True)
class Change:
    requirement: str
    title: str
    level: str
    old: Verdict | None  # None: the requirement did not apply to the old run (another profile or catalogue)
    new: Verdict | None


@dataclass
class RunDiff:
    old_seed: int
    new_seed: int
    new_failures: list[Change] = field(default_factory=list)
    fixed: list[Change] = field(default_factory=list)
    still_failing: list[Change] = field(default_factory=list)
    other: list[Change] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def regressed(self) -> bool:
        return bool(self.new_failures)


def diff_runs(old: RunResult, new: RunResult, catalogue: Catalogue | None = None) -> RunDiff:
    catalogue = catalogue_or_default(catalogue)
    before = {rv.requirement.id: rv.verdict for rv in old.requirements(dict(catalogue))}
    after = {rv.requirement.id: rv.verdict for rv in new.requirements(dict(catalogue))}
    result = RunDiff(old.seed, new.seed)
    result.warnings += _not_comparable(old, new)
    if not old.finished:
        result.warnings.append(f"the old run did not finish: {old.incomplete_reason}")
    if not new.finished:
        result.warnings.append(f"the new run did not finish: {new.incomplete_reason}")
    for rid in [r for r in catalogue if r in before or r in after]:
        was, now = before.get(rid), after.get(rid)
        req = catalogue[rid]
        change = Change(rid, req.title, req.level, was, now)
        if now in FAILING and was not in _WAS_FAILING:
            result.new_failures.append(change)
        elif was in _WAS_FAILING and now is Verdict.PASS:
            result.fixed.append(change)
        elif was in _WAS_FAILING and now in _WAS_FAILING:
            result.still_failing.append(change)
        elif was != now:
            result.other.append(change)
    return result


# What makes two runs answer different questions (a changed verdict may then say nothing about the target).
_COMPARED: tuple[tuple[str, Callable[[RunResult], object]], ...] = (
    ("profiles", lambda run: run.profile),
    ("targets", lambda run: run.target.get("base_url")),
    ("projects", lambda run: run.target.get("project_id")),
    ("tool versions", lambda run: run.tool_version),
    ("contract versions", lambda run: run.contract_version),
)


def _not_comparable(old: RunResult, new: RunResult) -> list[str]:
    warnings = []
    for what, read in _COMPARED:
        before, after = read(old), read(new)
        if before != after:
            warnings.append(f"the runs have different {what}: {before!r} -> {after!r}")
    return warnings


def _label(verdict: Verdict | None) -> str:
    return VERDICT_LABELS[verdict] if verdict is not None else "absent"


_SECTIONS = (
    ("new_failures", "New failures"),
    ("fixed", "Fixed"),
    ("still_failing", "Still failing"),
    ("other", "Other changes"),
)


def _text(diff: RunDiff) -> str:
    lines = [
        f"seed {diff.old_seed} -> {diff.new_seed}: " + ("REGRESSED" if diff.regressed else "no new failures")
    ]
    lines += [f"warning: {w}" for w in diff.warnings]
    for attr, heading in _SECTIONS:
        changes: list[Change] = getattr(diff, attr)
        lines.append(f"{heading}: {len(changes)}")
        lines += [
            f"  {c.requirement} ({c.level}): {_label(c.old)} -> {_label(c.new)}  {c.title}" for c in changes
        ]
    return "\n".join(lines) + "\n"


def _markdown(diff: RunDiff) -> str:
    head = "❌ New conformance failures" if diff.regressed else "✅ No new conformance failures"
    lines = [f"## {head}", "", f"Seed {diff.old_seed} → {diff.new_seed}.", ""]
    lines += [f"> [!WARNING]\n> {w}\n" for w in diff.warnings]
    lines += ["| Change | Requirements |", "| :-- | --: |"]
    lines += [f"| {heading} | {len(getattr(diff, attr))} |" for attr, heading in _SECTIONS]
    lines.append("")
    for attr, heading in _SECTIONS:
        changes: list[Change] = getattr(diff, attr)
        if changes:
            lines += [f"### {heading}", ""]
            lines += [
                f"- **{c.requirement}** ({c.level}) {_label(c.old)} → {_label(c.new)}: "
                f"{c.title.replace('|', '/')}"
                for c in changes
            ]
            lines.append("")
    return "\n".join(lines)


def _json(diff: RunDiff) -> str:
    def entries(changes: list[Change]) -> list[dict[str, object]]:
        return [
            {
                "requirement": c.requirement,
                "title": c.title,
                "level": c.level,
                "old": c.old.value if c.old else None,
                "new": c.new.value if c.new else None,
            }
            for c in changes
        ]

    document = {
        "regressed": diff.regressed,
        "old_seed": diff.old_seed,
        "new_seed": diff.new_seed,
        "warnings": diff.warnings,
        **{attr: entries(getattr(diff, attr)) for attr, _ in _SECTIONS},
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


DIFF_FORMATS = ("text", "md", "json")


def render_diff(diff: RunDiff, fmt: str = "text") -> str:
    renderers = {"text": _text, "md": _markdown, "json": _json}
    if fmt not in renderers:
        raise ValueError(f"unknown diff format {fmt!r}; choose from {', '.join(DIFF_FORMATS)}")
    return renderers[fmt](diff)
