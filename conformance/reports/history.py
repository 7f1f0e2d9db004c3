"""Many nights of ``conformance.json``, read leniently into one trend: what ``oms-conformance history`` draws.

A nightly job keeps its runs for months, written by whichever version of the tool ran that night. So this
reader does not go through :func:`~conformance.reports.load_run`, which insists on every field of today's
shape: it takes what a night needs - when it started, its verdict per requirement, latencies, what it ran
with - and lets every other field be missing. Per-requirement verdicts come from the file's own
``requirements`` list, or, where an older file has none, from its checks. A file that is not a conformance
run (another JSON, a corrupt or truncated file, a newer schema) is skipped with a reason, never a crash.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from conformance.reports._common import percentile
from conformance.reports.reproduce import is_embedded, run_id_of
from conformance.results import CheckResult, Failure, Headline, RunResult, Verdict
from conformance.spec import Profile, load_requirements

KNOWN_SCHEMA_VERSIONS = (1,)


class NotARun(ValueError):
    """The file is not a conformance run this version can read; the message says why, in a few words."""


@dataclass(frozen=True)
class Night:
    """One run, as much of it as the trend needs."""

    path: Path
    started_at: str
    verdict: str  # CONFORMS / DOES NOT CONFORM / INCOMPLETE
    requirements: dict[str, str]  # requirement id -> verdict value, in the file's order
    tool_version: str = ""
    contract_version: str = ""
    profile: str = ""
    target: str = ""
    seed: str = ""
    run_id: str = ""
    requests: int = 0
    p50_ms: float | None = None
    p99_ms: float | None = None

    @property
    def label(self) -> str:
        """The night's date and time, short enough for a grid column."""
        return self.started_at.replace("T", " ")[:16] or self.path.name


@dataclass
class History:
    nights: list[Night] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "PATH: reason", one per file that was not read

    def requirement_ids(self) -> list[str]:
        """Every requirement any night has, in the order they first appear."""
        return list(dict.fromkeys(rid for night in self.nights for rid in night.requirements))

    def pass_rate(self, rid: str) -> tuple[int, int]:
        """(nights it passed, nights it was verified): a night where it did not run does not count."""
        ran = [n.requirements[rid] for n in self.nights if n.requirements.get(rid, "not_run") != "not_run"]
        return sum(v == "pass" for v in ran), len(ran)

    def flaky(self, rid: str) -> int:
        return sum(n.requirements.get(rid) == Verdict.FLAKY.value for n in self.nights)

    def changes(self) -> list[tuple[Night, list[str]]]:
        """(night, what differs from the night before) for each night where the setup changed."""
        fields = (
            ("tool", "tool_version"),
            ("contract", "contract_version"),
            ("target", "target"),
            ("profile", "profile"),
            ("seed", "seed"),
        )
        out = []
        for before, night in zip(self.nights, self.nights[1:], strict=False):
            differs = [
                f"{name} {getattr(before, attr) or '?'} → {getattr(night, attr) or '?'}"
                for name, attr in fields
                if getattr(before, attr) != getattr(night, attr)
            ]
            if differs:
                out.append((night, differs))
        return out


def _text(data: Mapping[str, Any], *keys: str) -> str:
    value: Any = data
    for key in keys:
        value = value.get(key) if isinstance(value, Mapping) else None
    return "" if value is None else str(value)


def _lenient_checks(data: Mapping[str, Any]) -> list[CheckResult]:
    checks = []
    for item in data.get("checks") or []:
        failures = [
            Failure(
                requirement=str(f.get("requirement", "")),
                check=str(item.get("check", "")),
                title="",
                severity="",
            )
            for f in item.get("failures") or []
            if isinstance(f, Mapping)
        ]
        checks.append(
            CheckResult(
                check=str(item.get("check", "")),
                requirements=tuple(str(r) for r in item.get("requirements") or ()),
                description="",
                verdict=Verdict(item.get("verdict", "not_run")),
                failures=failures,
            )
        )
    return checks


def _requirements(data: Mapping[str, Any], profile: str) -> tuple[dict[str, str], RunResult]:
    """Verdict per requirement from the file's list, or from its checks where an older file has no list."""
    shell = RunResult("", "", profile or Profile.STRICT, {}, 0, "", "", checks=_lenient_checks(data))
    listed = data.get("requirements")
    if isinstance(listed, list) and listed:
        return {str(r["id"]): Verdict(r["verdict"]).value for r in listed}, shell
    return {rv.requirement.id: rv.verdict.value for rv in shell.requirements(load_requirements())}, shell


def _latency(data: Mapping[str, Any]) -> tuple[float | None, float | None]:
    values = data.get("latencies_ms")
    if isinstance(values, list) and values:
        ordered = sorted(float(v) for v in values)
        return round(percentile(ordered, 50), 2), round(percentile(ordered, 99), 2)
    summary = data.get("latency")
    if isinstance(summary, Mapping) and summary.get("count"):
        return float(summary["p50_ms"]), float(summary["p99_ms"])
    return None, None


def night_from_dict(data: Any, path: Path) -> Night:
    """A Night from a parsed ``conformance.json``; NotARun when it is not one this version can read."""
    if not isinstance(data, dict) or ("schema_version" not in data and "checks" not in data):
        raise NotARun("not a conformance.json (no schema_version)")
    version = data.get("schema_version", 1)
    if version not in KNOWN_SCHEMA_VERSIONS:
        raise NotARun(f"schema_version {version!r} is not one this version reads ({KNOWN_SCHEMA_VERSIONS})")
    started = _text(data, "timing", "started_at") or _text(data, "started_at")
    if not started:
        raise NotARun("no timing.started_at: a night needs its date")
    profile = _text(data, "profile")
    try:
        requirements, shell = _requirements(data, profile)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise NotARun(f"unreadable requirements or checks ({type(exc).__name__}: {exc})") from exc
    target = data.get("target")
    shell.target = dict(target) if isinstance(target, Mapping) else {}
    shell.run_id = _text(data, "run_id")
    p50, p99 = _latency(data)
    verdict = _text(data, "verdict") or (
        Headline.CONFORMS if data.get("conforms") else Headline.DOES_NOT_CONFORM
    )
    return Night(
        path=path,
        started_at=started,
        verdict=verdict,
        requirements=requirements,
        tool_version=_text(data, "tool", "version") or _text(data, "tool_version"),
        contract_version=_text(data, "contract_version"),
        profile=profile,
        target="embedded reference server" if is_embedded(shell) else _text(data, "target", "base_url"),
        seed=_text(data, "seed"),
        run_id=run_id_of(shell),
        requests=int(data.get("requests") or sum((data.get("status_counts") or {}).values())),
        p50_ms=p50,
        p99_ms=p99,
    )


def _sort_key(night: Night) -> tuple[int, datetime | str]:
    try:
        return 0, datetime.fromisoformat(night.started_at.replace("Z", "+00:00"))
    except ValueError:
        return 1, night.started_at  # not a timestamp: after the ones that are, in text order


def _files(paths: Iterable[str | Path]) -> list[Path]:
    found = []
    for path in map(Path, paths):
        found += sorted(path.rglob("*.json")) if path.is_dir() else [path]
    return list(dict.fromkeys(found))


def load_history(paths: Iterable[str | Path]) -> History:
    """Every readable run among ``paths`` (files, or directories searched for ``*.json``), by start time."""
    history = History()
    for path in _files(paths):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            history.nights.append(night_from_dict(data, path))
        except OSError as exc:
            history.skipped.append(f"{path}: cannot read it ({exc.strerror or exc})")
        except UnicodeDecodeError:
            history.skipped.append(f"{path}: not UTF-8 text")
        except json.JSONDecodeError as exc:
            history.skipped.append(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})")
        except NotARun as exc:
            history.skipped.append(f"{path}: {exc}")
        except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
            # A file that looked like a run but holds a field of the wrong kind: skipped, as promised.
            history.skipped.append(f"{path}: malformed ({type(exc).__name__}: {exc})")
    history.nights.sort(key=_sort_key)
    return history
