"""Baselines: known failures a nightly run tolerates - until a date.

A platform under test rarely conforms fully, and a nightly job that is always red gets ignored. A baseline
file lists the failures a team has accepted, each with a reason and an expiry date, so that the run is green
while nothing *new* fails and turns red again when an excuse runs out::

    # baseline.yaml
    known_failures:
      - requirement: STOP-METHOD-ALLOW     # a catalogue ID (unknown IDs are refused)
        check: other-methods               # optional: only this check's failures
        reason: "gateway strips Allow; ticket OMS-123"
        expires: 2026-12-31                # from this day on the entry no longer excuses anything

:func:`apply_baseline` changes verdicts in place and keeps every failure in the data, so reports still show
the evidence of a known failure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.errors import ConfigError
from conformance.results import CheckResult, RunResult, Verdict
from conformance.spec import Requirement, load_requirements
from conformance.textfile import read_yaml

_ENTRY_KEYS = {"requirement", "check", "reason", "expires"}


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


def _date(value: Any, key: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ConfigError(f"{key}: expected a date YYYY-MM-DD, got {value!r}")


def parse_baseline(
    data: Any, source: str = "baseline", catalogue: Mapping[str, Requirement] | None = None
) -> Baseline:
    """Validate a parsed YAML document; every problem is a ConfigError naming the key."""
    catalogue = load_requirements() if catalogue is None else catalogue
    if data is None:
        return Baseline((), source)
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping with 'known_failures', got {type(data).__name__}")
    unknown = set(data) - {"known_failures", "version"}
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {sorted(unknown)}; allowed: known_failures, version")
    if data.get("version", 1) != 1:
        raise ConfigError(f"{source}: version: expected 1, got {data['version']!r}")
    raw = data.get("known_failures")
    raw = [] if raw is None else raw  # `known_failures:` with nothing under it
    if not isinstance(raw, list):
        raise ConfigError(f"{source}: known_failures: expected a list, got {type(raw).__name__}")
    entries = []
    for i, item in enumerate(raw):
        where = f"{source}: known_failures[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: expected a mapping, got {item!r}")
        extra = set(item) - _ENTRY_KEYS
        if extra:
            raise ConfigError(
                f"{where}: unknown key(s) {sorted(extra)}; allowed: {', '.join(sorted(_ENTRY_KEYS))}"
            )
        for key in ("requirement", "reason", "expires"):
            if key not in item:
                raise ConfigError(
                    f"{where}.{key}: missing (a known failure needs a requirement, reason and expiry)"
                )
        rid = item["requirement"]
        if rid not in catalogue:
            raise ConfigError(
                f"{where}.requirement: unknown requirement ID {rid!r} (see `oms-conformance spec "
                "--requirements`)"
            )
        reason = item["reason"]
        if not isinstance(reason, str) or not reason.strip():
            raise ConfigError(f"{where}.reason: expected a non-empty string, got {reason!r}")
        check = item.get("check")
        if check is not None and (not isinstance(check, str) or not check):
            raise ConfigError(f"{where}.check: expected a check name, got {check!r}")
        entries.append(BaselineEntry(rid, reason.strip(), _date(item["expires"], f"{where}.expires"), check))
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
