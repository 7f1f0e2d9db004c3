"""``conformance.json``: the source of truth every other report can be re-rendered from.

It holds the whole :class:`~conformance.results.RunResult` (so :func:`load_run` gives it back field for field)
plus what a reader wants without recomputing it: the verdict, totals, latency summary, the verdict per
requirement with its source sentence, and the page's errata. The shape is versioned (``schema_version``) and
described by ``conformance.schema.json`` next to this module.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from conformance.errors import ConfigError
from conformance.reports._common import (
    Catalogue,
    catalogue_or_default,
    latency_summary,
    sorted_status_counts,
    total_requests,
    verdict_line,
)
from conformance.results import (
    CheckResult,
    Exchange,
    Failure,
    PaceUsed,
    Restored,
    RunResult,
    StaleFixture,
    StopReason,
    Throttled,
    Verdict,
)
from conformance.spec import load_errata
from conformance.textfile import read_text

SCHEMA_VERSION = 1


def _failure(failure: Failure) -> dict[str, Any]:
    out: dict[str, Any] = {
        "requirement": failure.requirement,
        "check": failure.check,
        "title": failure.title,
        "severity": failure.severity,
        "received": failure.received,
        "expected": failure.expected,
        "expected_as": failure.expected_as,
        "why": failure.why,
        "more": failure.more,
        "seen_in": failure.seen_in,
        "layer": failure.layer,
        "seed": failure.seed,
        "curl": failure.curl,
        "evidence": [asdict(exchange) for exchange in failure.evidence],
    }
    if failure.cause:  # the finding's fields the rollup groups by; a run written before has none
        out["finding"] = {"title": failure.cause, "expected": failure.expectation}
    return out


def _check(check: CheckResult) -> dict[str, Any]:
    return {
        "check": check.check,
        "description": check.description,
        "requirements": list(check.requirements),
        "verdict": check.verdict.value,
        "reason": check.reason,
        "requests": check.requests,
        "duration_s": check.duration_s,
        "notes": list(check.notes),
        "failures": [_failure(f) for f in check.failures],
        "inconclusive": dict(check.inconclusive),
    }


def run_to_dict(run: RunResult, catalogue: Catalogue | None = None) -> dict[str, Any]:
    catalogue = catalogue_or_default(catalogue)
    verdicts = run.requirements(dict(catalogue))
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run.run_id,
        "tool": {"name": "oms-conformance", "version": run.tool_version},
        "contract_version": run.contract_version,
        "profile": run.profile,
        "target": {key: run.target[key] for key in sorted(run.target)},
        "seed": run.seed,
        "depth": run.depth,
        "timing": {
            "started_at": run.started_at,
            "finished_at": run.finished_at,
            "duration_s": run.duration_s,
        },
        "complete": run.complete(dict(catalogue)),
        "finished": run.finished,
        "stop_reason": run.stop_reason.value,
        "incomplete_reason": run.incomplete_reason,
        "unverified": [
            {"requirement": u.requirement, "reason": u.reason} for u in run.unverified(dict(catalogue))
        ],
        "stale_fixtures": [asdict(s) for s in run.stale_fixtures],
        "paused_groups": list(run.paused_groups),
        "restored": [asdict(r) for r in run.restored],
        "notes": list(run.notes),
        **({"pace": asdict(run.pace)} if run.pace is not None else {}),
        "verdict": verdict_line(run, catalogue),
        "conforms": run.conforms(dict(catalogue)),
        "totals": run.totals(dict(catalogue)),
        "requests": total_requests(run),
        "skipped_for_safety": run.skipped_for_safety,
        "status_counts": dict(sorted_status_counts(run)),
        "latency": latency_summary(run),
        "latencies_ms": list(run.latencies_ms),
        "requirements": [
            {
                "id": rv.requirement.id,
                "title": rv.requirement.title,
                "level": rv.requirement.level,
                "severity": rv.severity,
                "profiles": list(rv.requirement.profiles),
                "statement": rv.requirement.statement,
                "source": {"ref": rv.requirement.source_ref, "text": rv.requirement.source_text},
                "checks": list(rv.checks),
                "verdict": rv.verdict.value,
                "failures": [_failure(f) for f in rv.failures],
            }
            for rv in verdicts
        ],
        "checks": [_check(c) for c in run.checks],
        "errata": [
            {
                "id": e.id,
                "title": e.title,
                "quote": e.quote,
                "section": e.section,
                "problem": e.problem,
                "resolution": e.resolution,
                "requirements": list(e.requirements),
            }
            for e in load_errata()
        ],
    }


def render_json(run: RunResult, catalogue: Catalogue | None = None) -> str:
    return json.dumps(run_to_dict(run, catalogue), indent=2, ensure_ascii=False) + "\n"


# --- reading it back -------------------------------------------------------------------------------------


def _exchange(data: dict[str, Any]) -> Exchange:
    return Exchange(
        method=data["method"],
        url=data["url"],
        request_headers=dict(data["request_headers"]),
        status=data["status"],
        response_headers=dict(data["response_headers"]),
        response_body=data["response_body"],
        body_truncated=data["body_truncated"],
        elapsed_ms=data["elapsed_ms"],
        error=data["error"],
        curl=data["curl"],
        outcome=data.get("outcome", "answered"),  # absent in runs written before 0.2
        content_coding=data.get("content_coding", ""),  # absent in runs written before content decoding
        written=data.get("written", ""),  # absent in runs written before long heads were held back
    )


def _failure_from(data: dict[str, Any]) -> Failure:
    finding = data.get("finding", {})
    failure = Failure(
        requirement=data["requirement"],
        check=data["check"],
        title=data["title"],
        severity=data["severity"],
        evidence=[_exchange(e) for e in data["evidence"]],
        seed=data["seed"],
        cause=finding.get("title", ""),
        expectation=finding.get("expected", ""),
    )
    if "received" not in data:
        # A run written before failures had fields: its one text is kept whole, as further lines.
        failure.more = data["message"]
        return failure
    failure.received, failure.expected, failure.why = data["received"], data["expected"], data["why"]
    failure.expected_as, failure.more, failure.seen_in = data["expected_as"], data["more"], data["seen_in"]
    failure.layer = data["layer"]
    return failure


def _check_from(data: dict[str, Any]) -> CheckResult:
    return CheckResult(
        check=data["check"],
        requirements=tuple(data["requirements"]),
        description=data["description"],
        verdict=Verdict(data["verdict"]),
        reason=data["reason"],
        failures=[_failure_from(f) for f in data["failures"]],
        requests=data["requests"],
        duration_s=data["duration_s"],
        notes=list(data["notes"]),
        inconclusive=dict(data.get("inconclusive", {})),
    )


def run_from_dict(data: Any) -> RunResult:
    """The inverse of :func:`run_to_dict`; raises KeyError/TypeError/ValueError on a malformed document."""
    if not isinstance(data, dict):
        raise TypeError(f"expected a JSON object, got {type(data).__name__}")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ValueError(f"schema_version {version!r} is not supported (this tool reads {SCHEMA_VERSION})")
    timing = data["timing"]
    return RunResult(
        tool_version=data["tool"]["version"],
        contract_version=data["contract_version"],
        profile=data["profile"],
        target=dict(data["target"]),
        seed=data["seed"],
        depth=data["depth"],
        started_at=timing["started_at"],
        finished_at=timing["finished_at"],
        duration_s=timing["duration_s"],
        stop_reason=_stop_reason(data),
        incomplete_reason=data["incomplete_reason"],
        stale_fixtures=[StaleFixture(**s) for s in data.get("stale_fixtures", [])],
        paused_groups=list(data.get("paused_groups", [])),
        restored=[Restored(**r) for r in data.get("restored", [])],
        notes=list(data.get("notes", [])),
        checks=[_check_from(c) for c in data["checks"]],
        status_counts={str(k): int(v) for k, v in data["status_counts"].items()},
        latencies_ms=[float(v) for v in data["latencies_ms"]],
        skipped_for_safety=data["skipped_for_safety"],
        run_id=str(data.get("run_id", "")),  # files written before run ids existed have none
        pace=_pace(data.get("pace")),  # absent in files written before pacing was recorded
    )


def _pace(data: dict[str, Any] | None) -> PaceUsed | None:
    if data is None:
        return None
    throttled = [Throttled(**t) for t in data.get("throttled", [])]
    return PaceUsed(**{**data, "throttled": throttled})


def _stop_reason(data: dict[str, Any]) -> StopReason:
    if "stop_reason" in data:
        return StopReason(data["stop_reason"])
    # Written before stop reasons existed: `complete` then meant "the run finished".
    if data["complete"]:
        return StopReason.FINISHED
    return (
        StopReason.UNREACHABLE if data["incomplete_reason"].startswith("target") else StopReason.INTERRUPTED
    )


def load_run(path: str | Path) -> RunResult:
    """Read a ``conformance.json`` back; any problem is a ConfigError naming the file and what is wrong."""
    path = Path(path)
    text = read_text(path, "run file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from exc
    try:
        return run_from_dict(data)
    except KeyError as exc:
        raise ConfigError(f"{path} is not a conformance.json: missing key {exc.args[0]!r}") from exc
    except (TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"{path} is not a conformance.json: {exc}") from exc
