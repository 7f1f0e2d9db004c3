"""Baselines: known failures a nightly run tolerates - until a date.

A platform under test rarely conforms fully, and a nightly job that is always red gets ignored. A baseline
file lists the failures a team has accepted, each with a reason and an expiry date, so that the run is green
while nothing *new* fails and turns red again when an excuse runs out::

    # baseline.yaml
    known_failures:
      - requirement: STOP-METHOD-ALLOW     # a catalogue ID (unknown IDs are refused)
        check: other-methods               # optional: only this check's failures (it must verify the ID)
        reason: "gateway strips Allow; ticket OMS-123"
        expires: 2026-12-31                # from this day on the entry no longer excuses anything

:func:`apply_baseline` changes verdicts in place and keeps every failure in the data, so reports still show
the evidence of a known failure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.results import CheckResult, RunResult, Verdict
from conformance.schemas import problem, validate
from conformance.spec import Requirement, load_requirements
from conformance.textfile import read_yaml


@dataclass(frozen=True)
class BaselineEntry:
    requirement: str
    reason: str
    expires: dt.date
    check: str | None = None

    def expired(self, today: dt.date) -> bool:
        return today >= self.expires

    def matches(self, check: CheckResult, requirement: str) -> bool:
        return self.requirement == requirement and self.check in (None, check.check)

    def describe(self) -> str:
        where = f"{self.requirement} ({self.check})" if self.check else self.requirement
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class Baseline:
    entries: tuple[BaselineEntry, ...] = ()
    source: str = ""  # the file it came from, for messages


def parse_baseline(
    data: Any,
    source: str = "baseline",
    catalogue: Mapping[str, Requirement] | None = None,
    checks: Mapping[str, Collection[str]] | None = None,
) -> Baseline:
    """Validate a parsed YAML document against ``baseline.schema.json``, then against what exists: every
    requirement must be in the catalogue, every check registered and verifying that requirement (an entry
    that can never match is a mistake, found before the run, not a silent no-op).

    ``checks``: check name -> the requirements it verifies (default: the registry).
    """
    catalogue = load_requirements() if catalogue is None else catalogue
    if data is None:
        return Baseline((), source)
    data = validate(data, "baseline", source)
    if checks is None:
        from conformance.checks.suite import BUILTIN

        checks = {spec.name: spec.requirements for spec in BUILTIN}
    entries = []
    for i, item in enumerate(data.get("known_failures", [])):
        where = f"known_failures[{i}]"
        rid, check = item["requirement"], item.get("check")
        if rid not in catalogue:
            raise problem(
                source,
                f"{where}.requirement",
                "a requirement ID of the catalogue (see `oms-conformance spec --requirements`)",
                f"unknown requirement ID {rid!r}",
            )
        if check is not None and check not in checks:
            raise problem(
                source, f"{where}.check", f"one of the checks {', '.join(sorted(checks))}", f"{check!r}"
            )
        if check is not None and rid not in checks[check]:
            raise problem(
                source,
                f"{where}.check",
                f"a check that verifies {rid} ({', '.join(n for n in sorted(checks) if rid in checks[n])})",
                f"{check!r}, which verifies {', '.join(checks[check])}",
            )
        expires = dt.date.fromisoformat(item["expires"])  # the schema checked the format
        entries.append(BaselineEntry(rid, item["reason"].strip(), expires, check))
    return Baseline(tuple(entries), source)


def load_baseline(path: str | Path) -> Baseline:
    path = Path(path)
    return parse_baseline(read_yaml(path, "baseline"), str(path))


def _add_note(check: CheckResult, note: str) -> None:
    if note not in check.notes:  # applying twice changes nothing
        check.notes.append(note)


def apply_baseline(run: RunResult, baseline: Baseline, today: dt.date) -> None:
    """Turn failing checks that the baseline excuses into known failures, in place.

    A FAIL check becomes KNOWN_FAILURE only when *every* one of its failures is matched by an unexpired entry;
    the reason names the entries. An expired entry that still matches leaves the check FAIL with a note
    ("baseline entry ... expired on ..."), so an excuse that runs out fails the run. An entry that matches no
    failure at all is stale: each passing check that traces to its requirement gets a note saying so.
    """
    used: set[BaselineEntry] = set()
    for check in run.checks:
        matches = [[e for e in baseline.entries if e.matches(check, f.requirement)] for f in check.failures]
        used.update(e for matching in matches for e in matching)  # a flaky or known failure is not stale
        if check.verdict is not Verdict.FAIL or not check.failures:
            continue
        valid: list[BaselineEntry] = []
        covered = True
        for matching in matches:
            live = [e for e in matching if not e.expired(today)]
            for entry in matching:
                if entry.expired(today):
                    _add_note(
                        check, f"baseline entry expired on {entry.expires.isoformat()}: {entry.describe()}"
                    )
            if live:
                valid.extend(e for e in live if e not in valid)
            else:
                covered = False
        if covered:
            check.verdict = Verdict.KNOWN_FAILURE
            reasons = "; ".join(f"{e.describe()} (until {e.expires.isoformat()})" for e in valid)
            check.reason = f"baseline: {reasons}"
    for entry in baseline.entries:
        if entry in used:
            continue
        for check in run.checks:
            if (
                check.verdict is Verdict.PASS
                and entry.requirement in check.requirements
                and entry.check
                in (
                    None,
                    check.check,
                )
            ):
                _add_note(check, f"stale baseline entry (matches no failure, remove it): {entry.describe()}")
