"""``oms-conformance history`` over a dozen nights: the grid, pass rates, flaky counts, latency per night
and what changed - and files that are not runs (corrupt, foreign, too new) skipped with a warning."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from conformance.cli import main
from conformance.reports import render_json
from conformance.reports._common import percentile
from conformance.reports.history import load_history
from conformance.results import RunResult, Verdict
from tests.reports.sample_runs import passing_run, sample_run

NIGHTS = 12


def _night(n: int) -> RunResult:
    """Night n (1-based): passing except nights 4 and 9 (the sample's failures); timely is flaky on
    nights 6 and 7; the tool is upgraded on night 5, the target moves on night 10; latencies grow."""
    run = sample_run("huawei", seed=100 + n) if n in (4, 9) else passing_run("huawei")
    if n in (6, 7):
        timely = next(c for c in run.checks if c.check == "timely")
        timely.verdict = Verdict.FLAKY
        timely.failures = next(c for c in sample_run("huawei").checks if c.check == "timely").failures
    run = replace(
        run,
        seed=100 + n,
        started_at=f"2026-11-{n:02d}T02:00:00Z",
        tool_version="0.1.0" if n < 5 else "0.2.0",
        latencies_ms=[float(v) for v in range(1, 101 + 10 * n)],
        run_id="huawei-nightly",
    )
    if n >= 10:
        run.target = {**run.target, "base_url": "https://oms.cn-north-4.myhuaweicloud.com"}
    return run


@pytest.fixture
def nights_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "artifacts"
    for n in range(1, NIGHTS + 1):
        # Folder names that sort differently from the nights: the order must come from started_at.
        night = folder / f"run-{(NIGHTS - n):03d}"
        night.mkdir(parents=True)
        (night / "conformance.json").write_text(render_json(_night(n)), encoding="utf-8")
    # An older shape: no run_id, no requirements list, no latencies_ms (only the summary), no embedded mark.
    old = json.loads(render_json(sample_run("huawei", seed=99)))
    for key in ("run_id", "requirements", "latencies_ms"):
        del old[key]
    old["timing"]["started_at"] = "2026-10-31T02:00:00Z"
    (folder / "old").mkdir()
    (folder / "old" / "conformance.json").write_text(json.dumps(old), encoding="utf-8")
    # Files that are not runs.
    (folder / "corrupt.json").write_text('{"schema_version": 1, "timing": {"start', encoding="utf-8")
    (folder / "package.json").write_text('{"name": "left-pad", "version": "1.3.0"}', encoding="utf-8")
    (folder / "future.json").write_text('{"schema_version": 9, "timing": {}}', encoding="utf-8")
    (folder / "binary.json").write_bytes(b"\xff\xfe\x00garbage")
    (folder / "wrong-kind.json").write_text(
        '{"schema_version": 1, "timing": {"started_at": "2026-11-20"}, "requirements": [{"id": 1}]}',
        encoding="utf-8",
    )
    return folder


def test_history_over_a_dozen_nights(nights_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "trend"
    result = CliRunner().invoke(main, ["history", str(nights_dir), "--out", str(out)])
    assert result.exit_code == 0, result.output + result.stderr
    assert result.stdout.splitlines() == [str(out / "history.html"), str(out / "history.md")]
    warnings = result.stderr.splitlines()
    assert len(warnings) == 5 and all(line.startswith("warning: skipped ") for line in warnings)
    for name, why in (
        ("corrupt.json", "not valid JSON"),
        ("package.json", "not a conformance.json"),
        ("future.json", "schema_version 9"),
        ("binary.json", "not UTF-8"),
        ("wrong-kind.json", "unreadable requirements"),
    ):
        assert any(name in line and why in line for line in warnings), (name, warnings)

    page = (out / "history.html").read_text(encoding="utf-8")
    assert "Content-Security-Policy" in page and not re.search(r"(src|href)=\"?(https?:)?//", page)
    columns = re.findall(r'<th class="night"[^>]*>([^<]+)</th>', page)
    assert columns == ["2026-10-31 02:00"] + [f"2026-11-{n:02d} 02:00" for n in range(1, NIGHTS + 1)]
    row = re.search(r'<tr><td class="id">STOP-AUTHN</td>(.*?)</tr>', page)
    assert row
    cells = re.findall(r'class="cell v-([a-z_]+)"', row.group(1))
    assert cells == ["fail"] + ["fail" if n in (4, 9) else "pass" for n in range(1, NIGHTS + 1)]
    assert "77% (10/13)" in row.group(1)  # failed on the old night and nights 4 and 9

    markdown = (out / "history.md").read_text(encoding="utf-8")
    assert "| STOP-TIMELY | 62% (8/13) | 5 |" in markdown  # flaky: the old night, nights 4, 6, 7 and 9
    assert "2026-11-05 02:00**: tool 0.1.0 → 0.2.0" in markdown
    assert "target http://127.0.0.1:8765 → https://oms.cn-north-4.myhuaweicloud.com" in markdown
    assert "seed 101 → 102" in markdown
    assert len(markdown.encode()) < 64 * 1024


def test_latency_per_night_comes_from_its_latencies(nights_dir: Path) -> None:
    history = load_history([nights_dir])
    assert len(history.nights) == NIGHTS + 1 and len(history.skipped) == 5
    for night, n in zip(history.nights[1:], range(1, NIGHTS + 1), strict=True):
        values = [float(v) for v in range(1, 101 + 10 * n)]
        assert (night.p50_ms, night.p99_ms) == (percentile(values, 50), percentile(values, 99))
    old = history.nights[0]
    summary = json.loads(render_json(sample_run("huawei", seed=99)))["latency"]
    assert (old.p50_ms, old.p99_ms) == (summary["p50_ms"], summary["p99_ms"])  # from the summary instead


def test_an_older_file_gets_the_same_verdicts_from_its_checks(nights_dir: Path) -> None:
    full = json.loads(render_json(sample_run("huawei", seed=99)))
    expected = {r["id"]: r["verdict"] for r in full["requirements"]}
    old = load_history([nights_dir / "old" / "conformance.json"]).nights[0]
    assert old.requirements == expected
    assert old.run_id.startswith("huawei-127.0.0.1-8765-")  # derived, as SARIF would


def test_no_readable_run_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("[]", encoding="utf-8")
    result = CliRunner().invoke(main, ["history", str(tmp_path / "a.json"), str(tmp_path / "missing.json")])
    assert result.exit_code == 2
    assert "no readable conformance run among 2 path(s) (2 file(s) skipped)" in result.stderr
    assert "warning: skipped" in result.stderr and "missing.json: cannot read it" in result.stderr
    assert not (tmp_path / "history.html").exists()
