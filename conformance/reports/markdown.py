"""``summary.md``: the run for humans on GitHub - a job summary (``$GITHUB_STEP_SUMMARY``) or a PR comment.

It leads with the verdict, lists failing requirements first with the evidence and a curl line per cluster of
similar failures, then the counts, then how to reproduce the run with its seed. It stays short enough for a PR
comment (GitHub cuts them at 65,536 characters): per requirement at most a few clusters, bodies cut to an
excerpt; ``report.html`` has everything.
"""

from __future__ import annotations

import re

from conformance.reports._common import (
    FAILING,
    VERDICT_LABELS,
    VERDICT_ORDER,
    Catalogue,
    attention_first,
    catalogue_or_default,
    clusters,
    total_requests,
    verdict_line,
)
from conformance.reports.reproduce import reproduce_command
from conformance.results import Failure, RequirementVerdict, RunResult, Verdict

MAX_CLUSTERS = 4  # per requirement
MAX_BODY = 400  # characters of a response body excerpt
_ICONS = {"CONFORMS": "✅", "DOES NOT CONFORM": "❌", "INCOMPLETE": "⚠️"}
_VERDICT_ICONS = {
    Verdict.FAIL: "❌",
    Verdict.FLAKY: "🔁",
    Verdict.KNOWN_FAILURE: "🟡",
    Verdict.NOT_RUN: "⏭️",
    Verdict.PASS: "✅",
}


def _inline(text: str) -> str:
    """Text safe inside a table cell or a sentence: one line, no HTML, no table breaks."""
    text = " ".join(text.split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("|", "\\|")


def _code(text: str, info: str = "") -> str:
    """A fenced block that no backtick run in ``text`` can close early."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text.rstrip()}\n{fence}"


def _failure_block(failure: Failure, count: int) -> list[str]:
    more = f", {count} similar" if count > 1 else ""
    lines = [f"**{_inline(failure.title)}** (check `{_inline(failure.check)}`{more})", ""]
    evidence = [failure.message]
    for exchange in failure.evidence[:3]:
        evidence.append(f"{exchange.describe()}  [{exchange.elapsed_ms:g} ms]")
        if exchange.response_body:
            body = exchange.response_body[:MAX_BODY]
            cut = exchange.body_truncated or len(exchange.response_body) > MAX_BODY
            evidence.append("body: " + body + (" ...(truncated)" if cut else ""))
    lines += [_code("\n".join(evidence)), ""]
    if failure.curl:
        lines += [_code(failure.curl, "sh"), ""]
    return lines


def _requirement_section(rv: RequirementVerdict, check_verdicts: dict[str, Verdict]) -> list[str]:
    req = rv.requirement
    icon = _VERDICT_ICONS[rv.verdict]
    checks = ", ".join(
        f"`{_inline(name)}` ({VERDICT_LABELS[check_verdicts[name]]})"
        for name in rv.checks
        if name in check_verdicts
    )
    lines = [
        f"#### {icon} {req.id} ({req.level}, {VERDICT_LABELS[rv.verdict]}): {_inline(req.title)}",
        "",
        f"> {_inline(req.source_text)}",
        f"> — {_inline(req.source_ref)}",
        "",
        f"Checks: {checks or 'none'}",
        "",
    ]
    found = clusters(rv.failures)
    for cluster in found[:MAX_CLUSTERS]:
        lines += _failure_block(cluster.first, len(cluster.failures))
    if len(found) > MAX_CLUSTERS:
        lines += [f"_…and {len(found) - MAX_CLUSTERS} more kinds of failure: see report.html._", ""]
    return lines


def render_markdown(run: RunResult, catalogue: Catalogue | None = None) -> str:
    catalogue = catalogue_or_default(catalogue)
    verdicts = run.requirements(dict(catalogue))
    totals = run.totals(dict(catalogue))
    headline = verdict_line(run, catalogue)
    failing = [rv for rv in verdicts if rv.verdict in FAILING]
    must_failing = sum(rv.requirement.level == "MUST" for rv in failing)
    check_verdicts = {c.check: c.verdict for c in run.checks}
    target = run.target.get("base_url", "")

    out = [f"## {_ICONS[headline]} OMS conformance: {headline} ({run.profile} profile)", ""]
    if not run.complete:
        out += [
            f"> [!WARNING]\n> The run did not finish: {_inline(run.incomplete_reason or 'no reason given')}",
            "",
        ]
    out += [
        f"**{len(failing)} of {len(verdicts)} requirements fail or are flaky** ({must_failing} MUST). "
        f"Target `{_inline(str(target))}` · seed `{run.seed}` · depth `{_inline(run.depth)}` · "
        f"{total_requests(run)} requests in {run.duration_s:.1f} s · "
        f"oms-conformance {_inline(run.tool_version)}, contract {_inline(run.contract_version)}",
        "",
        "| Verdict | Requirements |",
        "| :-- | --: |",
    ]
    out += [f"| {_VERDICT_ICONS[v]} {VERDICT_LABELS[v]} | {totals[v.value]} |" for v in VERDICT_ORDER]
    out += [f"| **total** | **{sum(totals.values())}** |", ""]
    if run.skipped_for_safety:
        out += [
            f"{run.skipped_for_safety} generated requests were not sent: the safety guard refused them.",
            "",
        ]

    if failing:
        out += ["### Failing requirements", ""]
        for rv in attention_first(failing):
            out += _requirement_section(rv, check_verdicts)

    known = [rv for rv in verdicts if rv.verdict is Verdict.KNOWN_FAILURE]
    if known:
        out += ["### Known failures (baseline)", ""]
        for rv in known:
            reasons = sorted({c.reason for c in run.checks if c.check in rv.checks and c.reason})
            out.append(
                f"- **{rv.requirement.id}** {_inline(rv.requirement.title)}: {_inline('; '.join(reasons))}"
            )
        out.append("")

    not_run = [rv for rv in verdicts if rv.verdict is Verdict.NOT_RUN]
    if not_run:
        out += ["### Not run", ""]
        for rv in not_run:
            reasons = sorted({c.reason for c in run.checks if c.check in rv.checks and c.reason})
            why = "; ".join(reasons) or "no selected check traces to it"
            out.append(f"- **{rv.requirement.id}** {_inline(rv.requirement.title)}: {_inline(why)}")
        out.append("")

    notes = [(c.check, note) for c in run.checks for note in c.notes]
    if notes:
        out += ["<details><summary>Notes from the checks</summary>", ""]
        out += [f"- `{_inline(check)}`: {_inline(note)}" for check, note in notes]
        out += ["", "</details>", ""]

    out += [
        "### Reproduce",
        "",
        "The same seed sends the same requests (the token comes from the environment, never from a report):",
        "",
        _code(reproduce_command(run), "sh"),
        "",
    ]
    return "\n".join(out)
