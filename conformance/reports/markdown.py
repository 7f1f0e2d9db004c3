"""``summary.md``: the run for humans on GitHub - a job summary (``$GITHUB_STEP_SUMMARY``) or a PR comment.

It leads with the verdict and the notes that qualify it, lists failing requirements first - each cause of
failure once, with a count, the evidence and a curl line (:mod:`.rollup`, as in ``report.html``) - then the
counts, then how to reproduce the run and what each ``$OMS_…`` placeholder of the curl lines stands for.

It always fits a PR comment: GitHub refuses comments over 65,536 characters, so lines are shortened (and
say so), and when the full sections would not fit, the last failing requirements get a compact section - each
cause on one line - instead; ``report.html`` and ``conformance.json`` have everything.
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
    total_requests,
    verdict_line,
    verdict_notes,
    why_unverified,
)
from conformance.reports.reproduce import is_embedded, placeholder_legend, reproduce_command
from conformance.reports.rollup import Rollup, request_line, rollup
from conformance.results import Headline, RequirementVerdict, RunResult, Verdict

LIMIT_BYTES = 60_000  # GitHub's limit is 65,536 characters; a UTF-8 byte is never more than a character
MAX_CAUSES = 4  # causes shown in full per requirement
MAX_EXAMPLES = 2  # other requests shown per cause
MAX_LINE = 300  # characters of one line of evidence
MAX_LINES = 12  # lines of one message or body
MAX_BODY = 400  # characters of a response body excerpt
MAX_NOTES = 30  # notes from the checks
_CUT_NOTE = (
    "_Long lines are shortened here (marked `…[N characters cut]…`), so a shortened curl line does not run "
    "as is: `report.html` and `conformance.json` have every line whole._"
)
_ICONS = {
    Headline.CONFORMS: "✅",
    Headline.CONFORMS_ON_WHAT_RAN: "⚠️",
    Headline.DOES_NOT_CONFORM: "❌",
    Headline.INCOMPLETE: "⚠️",
}
_VERDICT_ICONS = {
    Verdict.FAIL: "❌",
    Verdict.FLAKY: "🔁",
    Verdict.KNOWN_FAILURE: "🟡",
    Verdict.NOT_RUN: "⏭️",
    Verdict.INCONCLUSIVE: "❔",
    Verdict.PASS: "✅",
}


def _size(lines: list[str]) -> int:
    return len("\n".join(lines).encode("utf-8")) + 1


def _inline(text: str, limit: int = MAX_LINE) -> str:
    """Text safe inside a table cell or a sentence: one line, no HTML, no table breaks, shortened."""
    text = _shorten_line(" ".join(text.split()), limit)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("|", "\\|")


def _shorten_line(line: str, limit: int = MAX_LINE) -> str:
    if len(line) <= limit:
        return line
    head, tail = limit * 2 // 3, limit // 6
    return f"{line[:head]} …[{len(line) - head - tail} characters cut]… {line[-tail:]}"


def _shorten(text: str, limit: int = MAX_LINE, lines: int = MAX_LINES) -> str:
    """Each line at most ``limit`` characters, at most ``lines`` lines; what was cut is said in place."""
    kept = [_shorten_line(line, limit) for line in text.splitlines()[:lines]]
    dropped = len(text.splitlines()) - len(kept)
    return "\n".join(kept + ([f"…[{dropped} more lines cut]…"] if dropped > 0 else []))


def _code(text: str, info: str = "") -> str:
    """A fenced block that no backtick run in ``text`` can close early."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text.rstrip()}\n{fence}"


def _cause_head(cause: Rollup) -> str:
    checks = ", ".join(f"`{_inline(name, 60)}`" for name in cause.checks)
    return f"**×{cause.count} {_inline(cause.label, 200)}** (check {checks})"


def _cause_block(cause: Rollup) -> list[str]:
    first = cause.first
    evidence = [first.text()]
    for exchange in first.evidence[:3]:
        evidence.append(f"{exchange.describe()}  [{exchange.elapsed_ms:g} ms]")
        if exchange.response_body:
            cut = exchange.body_truncated or len(exchange.response_body) > MAX_BODY
            evidence.append("body: " + exchange.response_body[:MAX_BODY] + (" ...(truncated)" if cut else ""))
    lines = [_cause_head(cause), "", _code(_shorten("\n".join(evidence), lines=3 * MAX_LINES)), ""]
    if first.curl:
        lines += [_code(_shorten(first.curl), "sh"), ""]
    examples = cause.examples(MAX_EXAMPLES)
    if examples:
        more = cause.count - 1 - len(examples)
        lines += [
            f"Other requests with this cause{f' ({more} more in report.html)' if more > 0 else ''}:",
            "",
            _code("\n".join(_shorten_line(request_line(f)) for f in examples), "sh"),
            "",
        ]
    return lines


def _heading(rv: RequirementVerdict) -> str:
    req = rv.requirement
    icon = _VERDICT_ICONS[rv.verdict]
    return f"#### {icon} {req.id} ({req.level}, {VERDICT_LABELS[rv.verdict]}): {_inline(req.title)}"


def _full_section(rv: RequirementVerdict, check_verdicts: dict[str, Verdict]) -> list[str]:
    req = rv.requirement
    checks = ", ".join(
        f"`{_inline(name)}` ({VERDICT_LABELS[check_verdicts[name]]})"
        for name in rv.checks
        if name in check_verdicts
    )
    lines = [
        _heading(rv),
        "",
        f"> {_inline(req.source_text, 1000)}",
        f"> — {_inline(req.source_ref)}",
        "",
        f"Checks: {checks or 'none'}",
        "",
    ]
    causes = rollup(rv.failures)
    for cause in causes[:MAX_CAUSES]:
        lines += _cause_block(cause)
    if len(causes) > MAX_CAUSES:
        lines += [f"_…and {len(causes) - MAX_CAUSES} more causes of failure: see report.html._", ""]
    return lines


def _compact_section(rv: RequirementVerdict) -> list[str]:
    """The requirement and each cause on one line: what still fits when the full sections do not."""
    causes = rollup(rv.failures)
    lines = [_heading(rv), ""]
    lines += [f"- ×{c.count} {_inline(c.label, 160)}" for c in causes[: 2 * MAX_CAUSES]]
    if len(causes) > 2 * MAX_CAUSES:
        lines.append(f"- …and {len(causes) - 2 * MAX_CAUSES} more causes")
    return [*lines, ""]


def _failing_sections(
    failing: list[RequirementVerdict], check_verdicts: dict[str, Verdict], budget: int
) -> list[str]:
    """Full sections while they fit in ``budget`` bytes with a compact one for every requirement after."""
    compact = [_compact_section(rv) for rv in failing]
    out: list[str] = []
    for i, rv in enumerate(failing):
        full = _full_section(rv, check_verdicts)
        rest = sum(_size(c) for c in compact[i + 1 :])
        out += full if _size(out) + _size(full) + rest <= budget else compact[i]
    return out


def _listed(title: str, rows: list[str]) -> list[str]:
    return [title, "", *rows, ""] if rows else []


def _reasons(run: RunResult, rv: RequirementVerdict) -> str:
    return "; ".join(sorted({c.reason for c in run.checks if c.check in rv.checks and c.reason}))


def _others(run: RunResult, verdicts: list[RequirementVerdict]) -> list[str]:
    known = [
        f"- **{rv.requirement.id}** {_inline(rv.requirement.title)}: {_inline(_reasons(run, rv))}"
        for rv in verdicts
        if rv.verdict is Verdict.KNOWN_FAILURE
    ]
    unverified = {
        verdict: [
            f"- **{rv.requirement.id}** {_inline(rv.requirement.title)}: "
            f"{_inline(why_unverified(run, rv.requirement.id), 1000)}"
            for rv in verdicts
            if rv.verdict is verdict
        ]
        for verdict in (Verdict.INCONCLUSIVE, Verdict.NOT_RUN)
    }
    out = (
        _listed("### Known failures (baseline)", known)
        + _listed("### Inconclusive", unverified[Verdict.INCONCLUSIVE])
        + _listed("### Not run", unverified[Verdict.NOT_RUN])
    )
    notes = [f"- `{_inline(c.check)}`: {_inline(note)}" for c in run.checks for note in c.notes]
    if len(notes) > MAX_NOTES:
        notes = [*notes[:MAX_NOTES], f"- …and {len(notes) - MAX_NOTES} more notes in report.html"]
    if notes:
        out += ["<details><summary>Notes from the checks</summary>", "", *notes, "", "</details>", ""]
    return out


def _reproduce(run: RunResult, body: list[str]) -> list[str]:
    out = [
        "### Reproduce",
        "",
        "The same seed sends the same requests (credentials come from the environment, never from a report):",
        "",
        _code(reproduce_command(run), "sh"),
        "",
    ]
    if is_embedded(run):
        out += [
            f"The run went against the embedded reference server. To replay a curl line, start it with "
            f"`oms-conformance serve --profile {run.profile} --port PORT` (the port in the line); "
            "`--write-target FILE` lists its sandbox credentials.",
            "",
        ]
    legend = placeholder_legend(body)
    if legend:
        out += ["The curl lines read credentials from the environment:", ""]
        out += ["| Placeholder | Stands for | Set it with |", "| :-- | :-- | :-- |"]
        # <code>, not backticks: a code span would show the escaped "&lt;" as it is.
        out += [
            f"| `{name}` | {_inline(meaning, 400)} | <code>{_inline(how, 400)}</code> |"
            for name, meaning, how in legend
        ]
        out.append("")
    return out


def _head(run: RunResult, catalogue: Catalogue) -> list[str]:
    headline = verdict_line(run, catalogue)
    totals = run.totals(dict(catalogue))
    base_url = _inline(str(run.target.get("base_url", "")))
    target = "the embedded reference server" if is_embedded(run) else f"`{base_url}`"
    out = [f"## {_ICONS[headline]} OMS conformance: {headline} ({run.profile} profile)", ""]
    notes = verdict_notes(run, catalogue)
    if not run.finished:
        out += ["> [!WARNING]", *(f"> {_inline(note, 1000)}" for note in notes), ""]
    elif notes:
        out += [*(f"- {_inline(note, 1000)}" for note in notes), ""]
    out += [
        f"Target {target} · seed `{run.seed}` · depth `{_inline(run.depth)}` · "
        f"{total_requests(run)} requests in {run.duration_s:.1f} s · "
        f"oms-conformance {_inline(run.tool_version)}, contract {_inline(run.contract_version)}",
        "",
        "| Verdict | Requirements |",
        "| :-- | --: |",
    ]
    out += [f"| {_VERDICT_ICONS[v]} {VERDICT_LABELS[v]} | {totals[v.value]} |" for v in VERDICT_ORDER]
    return [*out, f"| **total** | **{sum(totals.values())}** |", ""]


def render_markdown(run: RunResult, catalogue: Catalogue | None = None) -> str:
    catalogue = catalogue_or_default(catalogue)
    verdicts = run.requirements(dict(catalogue))
    failing = attention_first([rv for rv in verdicts if rv.verdict in FAILING])
    check_verdicts = {c.check: c.verdict for c in run.checks}

    head = _head(run, catalogue)
    others = _others(run, verdicts)
    # The Reproduce section's legend depends on the text shown; reserve room for all it could explain.
    shown = [f.curl for rv in failing for f in rv.failures] + [
        f"{f.text()} {x.response_body}" for rv in failing for f in rv.failures for x in f.evidence
    ]
    reserve = _size(_reproduce(run, shown)) + len(_CUT_NOTE.encode()) + 64
    budget = LIMIT_BYTES - _size(head) - _size(others) - reserve
    sections = _failing_sections(failing, check_verdicts, budget) if failing else []
    body = head
    if sections:
        cut = any("characters cut]…" in line for line in sections)
        body += ["### Failing requirements", "", *([_CUT_NOTE, ""] if cut else []), *sections]
    body += others
    return "\n".join(body + _reproduce(run, body))
