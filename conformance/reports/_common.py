"""What every report format derives the same way, so that the formats cannot disagree.

The verdict line and the notes under it, the totals, the per-(check, requirement) outcome and the latency
summary are computed here once (failures rolled up by cause: :mod:`.rollup`; run id, Reproduce line and the
curl placeholders: :mod:`.reproduce`); each writer only lays them out. Everything is read from the
dataclass fields of :mod:`conformance.results` - never from exception text.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from conformance.errors import ConformanceError
from conformance.results import CheckResult, Failure, Headline, RequirementVerdict, RunResult, Verdict
from conformance.spec import Requirement, load_requirements

Catalogue = Mapping[str, Requirement]

# Display order of verdicts in every format: the ones that need attention first.
VERDICT_ORDER = (
    Verdict.FAIL,
    Verdict.FLAKY,
    Verdict.KNOWN_FAILURE,
    Verdict.INCONCLUSIVE,
    Verdict.NOT_RUN,
    Verdict.PASS,
)
VERDICT_LABELS = {
    Verdict.INCONCLUSIVE: "inconclusive",
    Verdict.PASS: "pass",
    Verdict.FAIL: "fail",
    Verdict.FLAKY: "flaky",
    Verdict.KNOWN_FAILURE: "known failure",
    Verdict.NOT_RUN: "not run",
}
FAILING = frozenset({Verdict.FAIL, Verdict.FLAKY})

# Upper bounds (ms) of the latency histogram's buckets; the last bucket is everything slower.
LATENCY_BUCKETS_MS = (10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0)

# Shorter secrets are skipped, as the Redactor skips them: they occur by chance ("ok", "1").
_MIN_SECRET_LENGTH = 4


class SecretInReport(ConformanceError):
    """A report would contain a secret: redaction missed something, so nothing is written."""

    kind = "error"


def catalogue_or_default(catalogue: Catalogue | None) -> Catalogue:
    return load_requirements() if catalogue is None else catalogue


def verdict_line(run: RunResult, catalogue: Catalogue) -> Headline:
    """One phrase every format leads with: conforms (on what ran) / does not conform / incomplete."""
    return run.headline(dict(catalogue))


def status_sort_key(key: str) -> tuple[int, str]:
    return (0, key.zfill(3)) if key.isdigit() else (1, key)


def sorted_status_counts(run: RunResult) -> list[tuple[str, int]]:
    return sorted(run.status_counts.items(), key=lambda item: status_sort_key(item[0]))


def percentile(values: Sequence[float], percent: int) -> float:
    """Nearest-rank percentile of sorted ``values`` (0.0 for none): an observed value, never interpolated."""
    if not values:
        return 0.0
    rank = max(1, -(-len(values) * percent // 100))  # integer ceil: no float rounding at bucket edges
    return values[rank - 1]


def latency_summary(run: RunResult) -> dict[str, object]:
    values = sorted(run.latencies_ms)
    counts = [0] * (len(LATENCY_BUCKETS_MS) + 1)
    for value in values:
        index = next(
            (i for i, edge in enumerate(LATENCY_BUCKETS_MS) if value <= edge), len(LATENCY_BUCKETS_MS)
        )
        counts[index] += 1
    histogram: list[dict[str, object]] = [
        {"le_ms": edge, "count": counts[i]} for i, edge in enumerate(LATENCY_BUCKETS_MS)
    ]
    histogram.append({"le_ms": None, "count": counts[-1]})
    return {
        "count": len(values),
        "p50_ms": round(percentile(values, 50), 2),
        "p90_ms": round(percentile(values, 90), 2),
        "p99_ms": round(percentile(values, 99), 2),
        "max_ms": round(values[-1], 2) if values else 0.0,
        "histogram": histogram,
    }


def bucket_label(le_ms: object, previous: object) -> str:
    if le_ms is None:
        return f">{_ms(previous)}"
    return f"≤{_ms(le_ms)}"


def _ms(value: object) -> str:
    number = float(value) if isinstance(value, int | float) else 0.0
    return f"{number / 1000:g}s" if number >= 1000 else f"{number:g}ms"


def total_requests(run: RunResult) -> int:
    return sum(run.status_counts.values())


@dataclass(frozen=True)
class Case:
    """One (check, requirement) pair: the unit JUnit reports and the traceability matrix shows."""

    check: CheckResult | None  # None: no selected check traces to the requirement
    requirement: str
    verdict: Verdict
    failures: tuple[Failure, ...]


def case_verdict(check: CheckResult, requirement: str) -> tuple[Verdict, tuple[Failure, ...]]:
    """How ``check`` went *for one requirement*.

    A check that failed only for another requirement passed this one."""
    own = tuple(f for f in check.failures if f.requirement == requirement)
    if check.verdict in (Verdict.FAIL, Verdict.FLAKY, Verdict.KNOWN_FAILURE) and not own and check.failures:
        return Verdict.PASS, own
    if check.verdict is Verdict.INCONCLUSIVE and requirement not in check.inconclusive:
        return Verdict.PASS, own  # undecided for another of its requirements only (as RunResult.requirements)
    return check.verdict, own


def why_unverified(run: RunResult, requirement: str) -> str:
    """Why ``requirement`` is not run or inconclusive: each check tracing to it that did not run or could
    not decide it, with its reason. One text for every format (a stopped run's checks say where it
    stopped)."""
    reasons = []
    for check in run.checks:
        if requirement not in check.requirements:
            continue
        verdict, _ = case_verdict(check, requirement)
        if verdict is Verdict.NOT_RUN:
            reasons.append(f"{check.check} not run: {check.reason or 'not selected'}")
        elif verdict is Verdict.INCONCLUSIVE:
            reasons.append(f"{check.check} inconclusive: {check.inconclusive[requirement]}")
    return "; ".join(reasons) or "no selected check traces to it"


def cases(run: RunResult, verdicts: Sequence[RequirementVerdict]) -> Iterator[Case]:
    """Every (check, requirement) pair of the applicable requirements, in catalogue then run order."""
    by_name = {c.check: c for c in run.checks}
    for rv in verdicts:
        linked = [by_name[name] for name in rv.checks if name in by_name]
        if not linked:
            yield Case(None, rv.requirement.id, Verdict.NOT_RUN, ())
        for check in linked:
            verdict, own = case_verdict(check, rv.requirement.id)
            yield Case(check, rv.requirement.id, verdict, own)


def attention_first(verdicts: Sequence[RequirementVerdict]) -> list[RequirementVerdict]:
    """Failing requirements first, then the rest, each group in catalogue order."""
    rank = {v: i for i, v in enumerate(VERDICT_ORDER)}
    return sorted(verdicts, key=lambda rv: rank[rv.verdict])  # sorted() is stable: catalogue order within


def verdict_notes(run: RunResult, catalogue: Catalogue) -> list[str]:
    """The sentences that qualify the verdict, shown right under it in every human format: why the run is
    incomplete, how many requirements fail, what the safety guard held back. (A new qualification - e.g.
    requirements that could not be verified - is one more sentence here.)"""
    notes = []
    if run.target.get("tls_verified") is False:
        notes.append(
            "The target's TLS certificate was not verified (--insecure): whatever answered may not have "
            "been the target."
        )
    if not run.finished:
        notes.append(f"The run did not finish: {run.incomplete_reason or 'no reason given'}.")
    unverified = run.unverified(dict(catalogue)) if run.finished else []
    if unverified:
        notes.append(
            f"{len(unverified)} MUST requirements were not verified: "
            + "; ".join(f"{u.requirement} ({u.reason})" for u in unverified[:6])
            + (f"; and {len(unverified) - 6} more" if len(unverified) > 6 else "")
            + "."
        )
    for stale in run.stale_fixtures:
        how = "inferred: the profile has no read operation" if stale.inferred else "read before use"
        notes.append(
            f"Stale fixture: {stale.group_id} is listed as {stale.listed} but {stale.observed} ({how}); "
            "list groups that are really in that status, or resume it."
        )
    still_paused = [g for g in run.paused_groups if not any(r.ok and r.group_id == g for r in run.restored)]
    if run.restored:
        done = [r.group_id for r in run.restored if r.ok]
        notes.append(f"Restored {len(done)} of the {len(run.paused_groups)} groups this run paused.")
        for item in run.restored:
            if not item.ok:
                notes.append(f"Could not restore {item.group_id}: {item.detail}.")
    if still_paused:
        notes.append(f"This run left {len(still_paused)} listed groups paused: {', '.join(still_paused)}.")
    verdicts = run.requirements(dict(catalogue))
    failing = [rv for rv in verdicts if rv.verdict in FAILING]
    if failing:
        must = sum(rv.requirement.level == "MUST" for rv in failing)
        notes.append(f"{len(failing)} of {len(verdicts)} requirements fail or are flaky ({must} MUST).")
    if run.skipped_for_safety:
        notes.append(
            f"{run.skipped_for_safety} generated requests were not sent: the safety guard refused them "
            "(they could have addressed a real task group)."
        )
    return notes


def check_for_secrets(name: str, text: str, secrets: Sequence[str]) -> None:
    """Defence in depth: refuse to hand out a report that contains a secret in any of the usual encodings.

    The message never shows the secret; it names the report format only.
    """
    for secret in secrets:
        if len(secret) < _MIN_SECRET_LENGTH:
            continue
        forms = {
            secret,
            quote(secret, safe=""),
            html.escape(secret),
            html.escape(secret, quote=False),
            json.dumps(secret)[1:-1],
            json.dumps(secret, ensure_ascii=False)[1:-1],
        }
        if any(form in text for form in forms):
            raise SecretInReport(
                f"the {name} report would contain a secret (redaction missed it); no report was written"
            )
