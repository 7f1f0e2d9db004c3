"""``report.html``: the whole run on one page that works offline, from a CI artifact or an e-mail.

One self-contained file: inline CSS, inline SVG charts, no script, and a Content-Security-Policy that forbids
the browser to load anything, so the page cannot leak what it shows and looks the same everywhere. Every value
from the run goes through :func:`html.escape` - response bodies are attacker-controlled text.

Sections, in reading order - what needs attention first: the verdict and the notes that qualify it; counts;
the failures rolled up by cause (a table of causes, then per requirement each cause once with a count, its
evidence, curl line and a few other examples); status codes and latency; the traceability matrix
(requirement -> verdict -> source sentence -> checks); the checks; the source page's errata; run metadata.
Long evidence wraps, or scrolls inside its box; wide tables scroll inside their frame, never the page.
"""

from __future__ import annotations

import json
from functools import cache
from html import escape
from pathlib import Path

from conformance.reports._common import (
    VERDICT_LABELS,
    VERDICT_ORDER,
    Catalogue,
    attention_first,
    bucket_label,
    case_verdict,
    catalogue_or_default,
    latency_summary,
    sorted_status_counts,
    total_requests,
    verdict_line,
    verdict_notes,
    why_unverified,
)
from conformance.reports._svg import bar_chart, status_colour
from conformance.reports.reproduce import is_embedded, placeholder_legend, reproduce_command
from conformance.reports.rollup import Rollup, request_line, rollup
from conformance.results import CheckResult, Exchange, Headline, RequirementVerdict, RunResult, Verdict
from conformance.spec import PROFILES, load_contract, load_errata
from conformance.spec.documents import STOP_PATH

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
GLANCE_ROWS = 12  # causes listed before the rest are folded away
_VERDICT_CLASS = {
    Headline.CONFORMS: "ok",
    Headline.CONFORMS_ON_WHAT_RAN: "incomplete",
    Headline.DOES_NOT_CONFORM: "bad",
    Headline.INCOMPLETE: "incomplete",
}


@cache
def stylesheet() -> str:
    return (Path(__file__).with_name("report.css")).read_text(encoding="utf-8")


def _pill(verdict: Verdict) -> str:
    return f'<span class="pill v-{verdict.value}">{escape(VERDICT_LABELS[verdict])}</span>'


def _header(run: RunResult, headline: Headline, notes: list[str]) -> str:
    target = run.target.get("base_url", "")
    meta = [
        ("profile", run.profile),
        ("target", "embedded reference server" if is_embedded(run) else str(target)),
        ("seed", str(run.seed)),
        ("depth", run.depth),
        ("started", run.started_at),
        ("duration", f"{run.duration_s:.1f} s"),
        ("requests", str(total_requests(run))),
    ]
    items = "".join(f"<span>{escape(k)} <b>{escape(v)}</b></span>" for k, v in meta)
    # Whatever qualifies the verdict sits right under it; on an incomplete run that list is a warning banner.
    listed = "".join(f"<li>{escape(note)}</li>" for note in notes)
    notes_html = (
        f'<ul class="verdict-notes{"" if run.finished else " banner"}">{listed}</ul>' if notes else ""
    )
    return (
        '<header class="top"><div class="head-text"><h1>OMS conformance report</h1>'
        f'<div class="endpoint mono">PUT {STOP_PATH}</div>'
        f'<div class="meta">{items}</div>{notes_html}</div>'
        f'<div class="verdict {_VERDICT_CLASS[headline]}" id="verdict">{escape(headline)}</div></header>'
    )


def _cards(totals: dict[str, int]) -> str:
    cards = "".join(
        f'<div class="card v-{v.value}" data-total="{v.value}"><div class="n">{totals[v.value]}</div>'
        f'<div class="l">{escape(VERDICT_LABELS[v])}</div></div>'
        for v in VERDICT_ORDER
    )
    return f'<section class="cards" aria-label="requirements by verdict">{cards}</section>'


# Refusals of a method the contract does not define (RFC 9110 15.5.6, 15.6.2): what STOP-METHODS expects.
METHOD_REFUSALS = frozenset({405, 501})


def expected_statuses(profile: str) -> frozenset[int]:
    """The answers a conforming server gives in a run: every status the profile's contract documents for one
    of its operations, and a method refusal. A documented 5xx is not one (STOP-ROBUST counts it)."""
    if profile not in PROFILES:
        return METHOD_REFUSALS
    paths = load_contract(profile).document["paths"]
    documented = {
        int(status)
        for operations in paths.values()
        for operation in operations.values()
        if isinstance(operation, dict)
        for status in operation.get("responses", {})
        if str(status).isdigit() and not str(status).startswith("5")
    }
    return frozenset(documented) | METHOD_REFUSALS


def _charts(run: RunResult) -> str:
    expected = expected_statuses(run.profile)
    statuses = bar_chart(
        [(key, count, status_colour(key, expected)) for key, count in sorted_status_counts(run)],
        label="responses by status code",
    )
    summary = latency_summary(run)
    histogram = summary["histogram"]
    assert isinstance(histogram, list)
    bars = []
    previous: object = 0
    for bucket in histogram:
        bars.append((bucket_label(bucket["le_ms"], previous), int(bucket["count"]), "#0969da"))
        previous = bucket["le_ms"]
    stats = "".join(
        f"<span>{name} <b>{summary[key]} ms</b></span>"
        for name, key in (("p50", "p50_ms"), ("p90", "p90_ms"), ("p99", "p99_ms"), ("max", "max_ms"))
    )
    return (
        '<section class="charts">'
        f'<div class="panel"><h3>Responses by status code</h3>{statuses}'
        f'<p class="muted">Green: 2xx. Blue: an answer the {escape(run.profile)} contract documents, or the '
        f"refusal of a method it does not define ({', '.join(str(s) for s in sorted(expected) if s >= 300)})."
        " Amber, and red for a 5xx: undocumented answers.</p></div>"
        f'<div class="panel"><h3>Latency ({summary["count"]} answers)</h3>'
        f'<div class="stats">{stats}</div>{bar_chart(bars, label="latency histogram", unit="answers")}</div>'
        "</section>"
    )


def _matrix(run: RunResult, verdicts: list[RequirementVerdict], by_name: dict[str, CheckResult]) -> str:
    rows = []
    for rv in verdicts:
        req = rv.requirement
        chips = []
        for name in rv.checks:
            check = by_name.get(name)
            if check is None:
                continue
            verdict, _ = case_verdict(check, req.id)
            chips.append(
                f'<span class="chip v-{verdict.value}" title="{escape(VERDICT_LABELS[verdict])}">'
                f"{escape(name)}</span>"
            )
        link = f'<a href="#fail-{escape(req.id)}">' if rv.failures else ""
        unverified = rv.verdict in (Verdict.INCONCLUSIVE, Verdict.NOT_RUN) and chips
        why = f'<div class="muted">{escape(why_unverified(run, req.id))}</div>' if unverified else ""
        rows.append(
            f'<tr id="req-{escape(req.id)}" data-verdict="{rv.verdict.value}">'
            f'<td class="id">{link}{escape(req.id)}{"</a>" if link else ""}'
            f'<div class="muted">{escape(req.title)}</div></td>'
            f"<td>{_pill(rv.verdict)}</td>"
            f'<td><span class="level {escape(req.level)}">{escape(req.level)}</span></td>'
            f"<td><blockquote>{escape(req.source_text)}</blockquote>"
            f'<div class="ref">{escape(req.source_ref)}</div></td>'
            f"<td>{''.join(chips) or '<span class=muted>none selected</span>'}{why}</td></tr>"
        )
    # The verdict comes second so that a narrow window shows it without scrolling the table sideways.
    return (
        '<h2 id="matrix">Traceability matrix</h2><div class="scroll"><table class="matrix"><thead><tr>'
        "<th>Requirement</th><th>Verdict</th><th>Level</th><th>Source sentence</th><th>Checks</th></tr>"
        f"</thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _exchange(exchange: Exchange) -> str:
    body = ""
    if exchange.response_body:
        cut = " (truncated)" if exchange.body_truncated else ""
        body = (
            f"<details><summary>response body{cut}</summary>"
            f"<pre>{escape(exchange.response_body)}</pre></details>"
        )
    return (
        f'<div class="exchange"><span class="mono">{escape(exchange.describe())}</span>'
        f' <span class="muted">{exchange.elapsed_ms:g} ms</span>{body}</div>'
    )


def _cause(cause: Rollup, anchor: str) -> str:
    first = cause.first
    evidence = "".join(_exchange(x) for x in first.evidence)
    curl = f'<pre class="curl">{escape(first.curl)}</pre>' if first.curl else ""
    more = ""
    examples = cause.examples()
    if cause.count > 1:
        lines = "\n".join(request_line(f) for f in examples) or "(the same request each time)"
        shown = f", {len(examples)} other requests shown" if examples else ""
        more = (
            f"<details><summary>{cause.count - 1} more with this cause{shown}</summary>"
            f'<pre class="curl">{escape(lines)}</pre></details>'
        )
    checks = ", ".join(cause.checks)
    return (
        f'<div class="cause" id="{escape(anchor)}"><div class="cause-head">'
        f'<span class="count">×{cause.count}</span>'
        f"<b>{escape(cause.label)}</b>"
        f'<span class="muted">check <span class="mono">{escape(checks)}</span></span></div>'
        f"<pre>{escape(first.text())}</pre>{evidence}{curl}{more}</div>"
    )


def _causes_at_a_glance(failing: list[RequirementVerdict]) -> str:
    rows = [
        f'<tr><td class="num">{cause.count}</td>'
        f'<td class="id"><a href="#cause-{escape(rv.requirement.id)}-{i}">'
        f"{escape(rv.requirement.id)}</a></td>"
        f"<td>{_pill(rv.verdict)}</td><td>{escape(cause.label)}</td></tr>"
        for rv in failing
        for i, cause in enumerate(rollup(rv.failures))
    ]
    head = "<thead><tr><th>Count</th><th>Requirement</th><th>Verdict</th><th>Cause</th></tr></thead>"

    def table(part: list[str]) -> str:
        return f'<div class="scroll"><table class="causes">{head}<tbody>{"".join(part)}</tbody></table></div>'

    shown = table(rows[:GLANCE_ROWS])
    if len(rows) <= GLANCE_ROWS:
        return shown
    # The failure cards must stay near the top of the page: the long tail of causes is folded away.
    summary = f"<summary>{len(rows) - GLANCE_ROWS} more causes</summary>"
    return f"{shown}<details>{summary}{table(rows[GLANCE_ROWS:])}</details>"


def _legend(failing: list[RequirementVerdict]) -> str:
    legend = placeholder_legend(f.curl for rv in failing for f in rv.failures)
    if not legend:
        return ""
    rows = "".join(
        f"<dt class=mono>{escape(name)}</dt><dd>{escape(meaning)}<pre class=curl>{escape(how)}</pre></dd>"
        for name, meaning, how in legend
    )
    return (
        "<details class=legend><summary>The curl lines read credentials from the environment</summary>"
        f'<dl class="metadata">{rows}</dl></details>'
    )


def _failures(verdicts: list[RequirementVerdict], by_name: dict[str, CheckResult]) -> str:
    failing = attention_first([rv for rv in verdicts if rv.failures])
    if not failing:
        return '<h2 id="failures">Failures</h2><p class="muted">No failures.</p>'
    groups = []
    for rv in failing:
        req = rv.requirement
        reasons = sorted({by_name[n].reason for n in rv.checks if n in by_name and by_name[n].reason})
        # Why a known failure is tolerated, or what made a result flaky; a plain failure speaks for itself.
        why = (
            f'<div class="muted">{escape("; ".join(reasons))}</div>' if rv.verdict is not Verdict.FAIL else ""
        )
        causes = "".join(_cause(c, f"cause-{req.id}-{i}") for i, c in enumerate(rollup(rv.failures)))
        groups.append(
            f'<div class="failure-group v-{rv.verdict.value}" id="fail-{escape(req.id)}">'
            f"<h3>{escape(req.id)}: {escape(req.title)} {_pill(rv.verdict)} "
            f'<span class="level {escape(req.level)}">{escape(req.level)}</span></h3>'
            f'<div class="statement">{escape(req.statement)}</div>{why}{causes}</div>'
        )
    total = sum(len(rv.failures) for rv in failing)
    return (
        f'<h2 id="failures">Failures by cause</h2><p class="muted">{total} failures of {len(failing)} '
        "requirements, rolled up by cause (same requirement, answer, error code and message shape).</p>"
        f"{_causes_at_a_glance(failing)}{_legend(failing)}{''.join(groups)}"
    )


def _checks(run: RunResult) -> str:
    rows = []
    for check in run.checks:
        details = [escape(check.reason)] if check.reason else []
        details += [f'<div class="muted">{escape(note)}</div>' for note in check.notes]
        rows.append(
            f'<tr><td><span class="mono">{escape(check.check)}</span>'
            f'<div class="muted">{escape(check.description)}</div></td>'
            f'<td class="mono nowrap">{"<br>".join(escape(r) for r in check.requirements)}</td>'
            f"<td>{_pill(check.verdict)}</td><td class=num>{check.requests}</td>"
            f"<td class=num>{check.duration_s:.2f} s</td><td>{''.join(details)}</td></tr>"
        )
    return (
        '<h2 id="checks">Checks</h2><div class="scroll"><table><thead><tr><th>Check</th><th>Requirements</th>'
        "<th>Verdict</th>"
        "<th>Requests</th><th>Time</th><th>Reason and notes</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _errata() -> str:
    items = "".join(
        f"<li><b>{escape(e.id)}</b>: {escape(e.title)}<blockquote>{escape(e.quote)}</blockquote>"
        f'<div class="ref">{escape(e.section)}; concerns {escape(", ".join(e.requirements))}</div>'
        f"<div>{escape(e.problem)}</div><div class=muted>Resolution: {escape(e.resolution)}</div></li>"
        for e in load_errata()
    )
    return f'<h2 id="errata">Errata of the source page</h2><ul class="errata">{items}</ul>'


def _plain(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)


def _metadata(run: RunResult) -> str:
    fields = [
        ("tool version", run.tool_version),
        ("contract version", run.contract_version),
        ("profile", run.profile),
        ("depth", run.depth),
        ("seed", str(run.seed)),
        ("started at", run.started_at),
        ("finished at", run.finished_at),
        ("duration", f"{run.duration_s:.3f} s"),
        ("finished", "yes" if run.finished else f"no: {run.incomplete_reason}"),
        ("skipped for safety", str(run.skipped_for_safety)),
        *((f"target.{key}", _plain(run.target[key])) for key in sorted(run.target)),
        ("reproduce", reproduce_command(run)),
    ]
    rows = "".join(f"<dt>{escape(k)}</dt><dd class=mono>{escape(v)}</dd>" for k, v in fields)
    return f'<h2 id="metadata">Run metadata</h2><div class="panel"><dl class="metadata">{rows}</dl></div>'


def render_html(run: RunResult, catalogue: Catalogue | None = None) -> str:
    catalogue = catalogue_or_default(catalogue)
    verdicts = run.requirements(dict(catalogue))
    headline = verdict_line(run, catalogue)
    by_name = {c.check: c for c in run.checks}
    title = f"OMS conformance: {headline} ({run.profile}, seed {run.seed})"
    body = "".join(
        [
            _header(run, headline, verdict_notes(run, catalogue)),
            _cards(run.totals(dict(catalogue))),
            _failures(verdicts, by_name),
            _charts(run),
            _matrix(run, verdicts, by_name),
            _checks(run),
            _errata(),
            _metadata(run),
        ]
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{stylesheet()}</style></head>\n"
        f"<body><main>{body}<footer>oms-conformance {escape(run.tool_version)} · contract "
        f"{escape(run.contract_version)} · a self-contained page: it loads nothing from the network"
        "</footer></main></body></html>\n"
    )
