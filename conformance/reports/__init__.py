"""Reports: one run, five files, the same numbers in each.

``conformance.json`` is the source of truth: every other format can be rendered again from it
(:func:`load_run`, ``oms-conformance report``). Each format is one module with a pure
``render_*(run) -> str``; this module only decides file names and writes. Rendering is deterministic -
the same RunResult gives byte-identical files - because every time and duration comes from the RunResult.

Secrets: a RunResult is redacted when it is built. As a second line of defence :func:`write_reports` takes the
secret values themselves and refuses (:class:`SecretInReport`, before writing any file) if one would appear in
any report in a usual encoding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from conformance.errors import UsageError
from conformance.reports._common import Catalogue, SecretInReport, check_for_secrets
from conformance.reports.diff import RunDiff, diff_runs, render_diff
from conformance.reports.html_report import render_html
from conformance.reports.json_report import load_run, render_json, run_from_dict, run_to_dict
from conformance.reports.junit import render_junit
from conformance.reports.markdown import render_markdown
from conformance.reports.sarif import render_sarif
from conformance.results import RunResult

Renderer = Callable[[RunResult, Catalogue | None], str]

# Format name -> (file name, renderer), in the order they are written.
FORMATS: dict[str, tuple[str, Renderer]] = {
    "json": ("conformance.json", render_json),
    "junit": ("junit.xml", render_junit),
    "md": ("summary.md", render_markdown),
    "html": ("report.html", render_html),
    "sarif": ("results.sarif", render_sarif),
}
ALL_FORMATS: tuple[str, ...] = tuple(FORMATS)


def parse_formats(value: str | Iterable[str]) -> list[str]:
    """``"html,md"`` or an iterable of names -> the names, deduplicated; an unknown name is a UsageError."""
    names = value.split(",") if isinstance(value, str) else list(value)
    chosen: list[str] = []
    for name in (n.strip().lower() for n in names):
        if not name:
            continue
        if name not in FORMATS:
            raise UsageError(f"unknown report format {name!r}; choose from {', '.join(ALL_FORMATS)}")
        if name not in chosen:
            chosen.append(name)
    return chosen


def render(
    run: RunResult, fmt: str, *, catalogue: Catalogue | None = None, secrets: Sequence[str] = ()
) -> str:
    """One report as text, checked for ``secrets``."""
    names = parse_formats([fmt])
    if len(names) != 1:
        raise UsageError(f"expected one report format, got {fmt!r}; choose from {', '.join(ALL_FORMATS)}")
    name = names[0]
    text = FORMATS[name][1](run, catalogue)
    check_for_secrets(name, text, secrets)
    return text


def write_reports(
    run: RunResult,
    report_dir: Path,
    formats: Iterable[str] = ALL_FORMATS,
    *,
    secrets: Sequence[str] = (),
    catalogue: Catalogue | None = None,
) -> list[Path]:
    """Write the chosen formats into ``report_dir`` (created if needed); returns the paths written.

    Every report is rendered and checked before the first is written, so a leak leaves no partial set.
    """
    rendered = [
        (FORMATS[name][0], render(run, name, catalogue=catalogue, secrets=secrets))
        for name in parse_formats(formats)
    ]
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, text in rendered:
        path = report_dir / file_name
        path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)
    return written


__all__ = [
    "ALL_FORMATS",
    "FORMATS",
    "RunDiff",
    "SecretInReport",
    "diff_runs",
    "load_run",
    "parse_formats",
    "render",
    "render_diff",
    "render_html",
    "render_json",
    "render_junit",
    "render_markdown",
    "render_sarif",
    "run_from_dict",
    "run_to_dict",
    "write_reports",
]
