"""``history.html`` and ``history.md``: many nights on one page - what nightly users look at first.

The page reads like a test-analytics dashboard: each requirement's verdict per night as a grid (a row per
requirement, a column per night, oldest left), its pass rate and flaky count beside it, the latency p50/p99
per night, and on which night the setup changed (tool, contract, target, profile, seed) - a change that
often explains a new red column. Like ``report.html`` it is one self-contained file that loads nothing.
"""

from __future__ import annotations

from html import escape

from conformance.reports._common import VERDICT_LABELS
from conformance.reports._svg import bar_chart
from conformance.reports.history import History, Night
from conformance.reports.html_report import CSP, stylesheet
from conformance.results import Headline, Verdict

_CLASS: dict[str, str] = {
    Headline.CONFORMS: "ok",
    Headline.DOES_NOT_CONFORM: "bad",
}  # keys equal the words in a run's file
MD_NIGHTS = 30  # nights in history.md's strip: a PR comment stays short; history.html has them all
_ICONS = {
    "pass": "✅",
    "fail": "❌",
    "flaky": "🔁",
    "known_failure": "🟡",
    "not_run": "⏭️",
    "inconclusive": "❔",
}
_GRID_CSS = """
table.grid td.cell { padding: 0; text-align: center; min-width: 18px; }
table.grid td.cell span { display: block; width: 16px; height: 16px; margin: 3px auto; border-radius: 3px;
  background: var(--c); }
table.grid th.night { writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap;
  font-size: 11px; padding: 6px 2px; }
.v-absent { --c: #ffffff; --cb: #ffffff; }
table.grid td.cell.v-absent span { border: 1px dashed var(--line); }
"""


def _verdict_of(night: Night, rid: str) -> str:
    return night.requirements.get(rid, "absent")


def _label(value: str) -> str:
    try:
        return VERDICT_LABELS[Verdict(value)]
    except ValueError:
        return "not in this run"


def _rate(history: History, rid: str) -> str:
    passed, ran = history.pass_rate(rid)
    return f"{100 * passed / ran:.0f}% ({passed}/{ran})" if ran else "never verified"


def _grid(history: History) -> str:
    heads = "".join(
        f'<th class="night" title="{escape(n.path.as_posix())}">{escape(n.label)}</th>'
        for n in history.nights
    )
    rows = []
    for rid in history.requirement_ids():
        cells = "".join(
            f'<td class="cell v-{escape(_verdict_of(n, rid))}" '
            f'title="{escape(n.label)}: {escape(_label(_verdict_of(n, rid)))}"><span></span></td>'
            for n in history.nights
        )
        rows.append(
            f'<tr><td class="id">{escape(rid)}</td><td class="num">{escape(_rate(history, rid))}</td>'
            f'<td class="num">{history.flaky(rid)}</td>{cells}</tr>'
        )
    return (
        '<h2 id="grid">Verdict per requirement and night</h2><div class="scroll"><table class="grid">'
        f"<thead><tr><th>Requirement</th><th>Pass rate</th><th>Flaky</th>{heads}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:g} ms"


def _nights(history: History) -> str:
    rows = "".join(
        f"<tr><td class=nowrap>{escape(n.label)}</td><td>{escape(n.verdict)}</td>"
        f"<td class=num>{_ms(n.p50_ms)}</td><td class=num>{_ms(n.p99_ms)}</td><td class=num>{n.requests}</td>"
        f"<td>{escape(n.tool_version)}</td><td>{escape(n.contract_version)}</td><td>{escape(n.profile)}</td>"
        f'<td class="mono">{escape(n.target)}</td><td>{escape(n.seed)}</td></tr>'
        for n in history.nights
    )
    p99 = bar_chart(
        [(n.label[5:10], round(n.p99_ms), "#0969da") for n in history.nights if n.p99_ms is not None],
        label="latency p99 per night",
        unit="ms",
    )
    return (
        '<h2 id="latency">Latency per night</h2><div class="panel"><h3>p99 (ms)</h3>'
        f"{p99}</div>"
        '<h2 id="nights">Nights</h2><div class="scroll"><table><thead><tr><th>Started</th><th>Verdict</th>'
        "<th>p50</th><th>p99</th><th>Requests</th><th>Tool</th><th>Contract</th><th>Profile</th>"
        f"<th>Target</th><th>Seed</th></tr></thead><tbody>{rows}</tbody></table></div>"
    )


def _changes(history: History) -> str:
    items = "".join(
        f"<li><b>{escape(night.label)}</b>: {escape('; '.join(what))}</li>"
        for night, what in history.changes()
    )
    items = items or "<li>Nothing: every night ran the same setup.</li>"
    return f'<h2 id="changes">What changed</h2><ul>{items}</ul>'


def render_history_html(history: History) -> str:
    first, last = history.nights[0], history.nights[-1]
    skipped = "".join(f"<li>{escape(s)}</li>" for s in history.skipped)
    notes = f"<ul class=verdict-notes>{skipped}</ul>" if skipped else ""
    body = (
        '<header class="top"><div class="head-text"><h1>OMS conformance over time</h1>'
        f'<div class="meta"><span>nights <b>{len(history.nights)}</b></span>'
        f"<span>from <b>{escape(first.label)}</b></span><span>to <b>{escape(last.label)}</b></span></div>"
        f"{f'<p class=muted>Files skipped:</p>{notes}' if skipped else ''}</div>"
        f'<div class="verdict {_CLASS.get(last.verdict, "incomplete")}" id="verdict">'
        f"last night: {escape(last.verdict)}</div></header>"
        f"{_grid(history)}{_changes(history)}{_nights(history)}"
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>OMS conformance over {len(history.nights)} nights</title>"
        f"<style>{stylesheet()}{_GRID_CSS}</style></head>\n"
        f"<body><main>{body}<footer>oms-conformance history · a self-contained page: it loads nothing "
        "from the network</footer></main></body></html>\n"
    )


def _md(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|").replace("<", "&lt;")


def render_history_md(history: History) -> str:
    nights = history.nights
    recent = nights[-MD_NIGHTS:]
    out = [
        f"## OMS conformance over {len(nights)} nights",
        "",
        f"{_md(nights[0].label)} to {_md(nights[-1].label)} · last night: **{_md(nights[-1].verdict)}**",
        "",
    ]
    if history.skipped:
        out += [f"{len(history.skipped)} files were skipped:", ""]
        out += [f"- {_md(s)}" for s in history.skipped[:20]] + [""]
    shown = f" (the last {len(recent)})" if len(recent) < len(nights) else ""
    out += [
        f"### Verdict per requirement, oldest night first{shown}",
        "",
        "| Requirement | Pass rate | Flaky | Nights |",
        "| :-- | --: | --: | :-- |",
    ]
    for rid in history.requirement_ids():
        strip = "".join(_ICONS.get(_verdict_of(n, rid), "▫️") for n in recent)
        out.append(f"| {_md(rid)} | {_rate(history, rid)} | {history.flaky(rid)} | {strip} |")
    out += ["", "### What changed", ""]
    out += [f"- **{_md(n.label)}**: {_md('; '.join(what))}" for n, what in history.changes()] or [
        "- Nothing: every night ran the same setup."
    ]
    out += ["", "### Nights", "", "| Started | Verdict | p50 | p99 | Tool | Contract | Target | Seed |"]
    out.append("| :-- | :-- | --: | --: | :-- | :-- | :-- | :-- |")
    out += [
        f"| {_md(n.label)} | {_md(n.verdict)} | {_ms(n.p50_ms)} | {_ms(n.p99_ms)} | {_md(n.tool_version)} | "
        f"{_md(n.contract_version)} | {_md(n.target)} | {_md(n.seed)} |"
        for n in recent
    ]
    return "\n".join([*out, ""])
