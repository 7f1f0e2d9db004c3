"""``oms-conformance report`` and ``oms-conformance diff`` end to end through click."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from conformance.cli import main
from conformance.reports import diff_runs, render_diff, write_reports
from conformance.results import Verdict
from tests.reports.sample_runs import passing_run, sample_run


@pytest.fixture
def saved(tmp_path: Path) -> dict[str, Path]:
    """Two nights: a conforming one and a failing one, each a conformance.json of its own."""
    return {
        "good": write_reports(passing_run("strict"), tmp_path / "good", ["json"])[0],
        "bad": write_reports(sample_run("strict"), tmp_path / "bad", ["json"])[0],
    }


def test_report_renders_the_chosen_formats(saved: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["report", str(saved["bad"]), "--format", "html,md", "--report-dir", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "summary.md"]
    assert result.output.splitlines() == [str(out / "report.html"), str(out / "summary.md")]
    direct = tmp_path / "direct"
    write_reports(sample_run("strict"), direct, ["html"])
    assert (out / "report.html").read_bytes() == (direct / "report.html").read_bytes()


def test_report_defaults_to_the_json_folder_and_keeps_the_source(saved: dict[str, Path]) -> None:
    before = saved["bad"].read_bytes()
    result = CliRunner().invoke(main, ["report", str(saved["bad"]), "--format", "json,junit,sarif"])
    assert result.exit_code == 0, result.output
    assert {p.name for p in saved["bad"].parent.iterdir()} == {
        "conformance.json",
        "junit.xml",
        "results.sarif",
    }
    assert saved["bad"].read_bytes() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "pdf"], "unknown report format 'pdf'"),
        (["--format", "html"], "is not valid JSON"),
    ],
)
def test_report_errors_exit_2_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    broken = tmp_path / "conformance.json"
    broken.write_text("{", encoding="utf-8")
    result = CliRunner().invoke(main, ["report", str(broken), *args])
    assert result.exit_code == 2
    assert message in result.stderr and result.stderr.startswith("error: ")
    assert "Traceback" not in result.output


def test_report_of_a_missing_file_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["report", str(tmp_path / "nope.json")])
    assert result.exit_code == 2 and "cannot read" in result.stderr


@pytest.mark.parametrize(
    ("old", "new", "code", "heading"),
    [
        ("good", "bad", 1, "New failures: 7"),
        ("bad", "good", 0, "Fixed: 8"),
        ("bad", "bad", 0, "Still failing: 8"),
        ("good", "good", 0, "New failures: 0"),
    ],
)
def test_diff_exit_codes(saved: dict[str, Path], old: str, new: str, code: int, heading: str) -> None:
    result = CliRunner().invoke(main, ["diff", str(saved[old]), str(saved[new])])
    assert result.exit_code == code, result.output
    assert heading in result.output


def test_diff_formats(saved: dict[str, Path]) -> None:
    runner = CliRunner()
    as_json = json.loads(
        runner.invoke(main, ["diff", str(saved["good"]), str(saved["bad"]), "--format", "json"]).stdout
    )
    assert as_json["regressed"] is True
    assert {c["requirement"] for c in as_json["new_failures"]} >= {"STOP-AUTHN", "STOP-NO-ECHO"}
    assert all(c["old"] == "pass" and c["new"] in ("fail", "flaky") for c in as_json["new_failures"])
    markdown = runner.invoke(main, ["diff", str(saved["good"]), str(saved["bad"]), "--format", "md"]).stdout
    assert markdown.startswith("## ❌ New conformance failures") and "### New failures" in markdown
    bad = runner.invoke(main, ["diff", str(saved["good"]), str(saved["bad"]), "--format", "xml"])
    assert bad.exit_code == 2


def test_diff_rules() -> None:
    old, new = sample_run("strict"), sample_run("strict")
    # known failure -> fail (an expired baseline) is not new; not run -> fail is.
    next(c for c in old.checks if c.check == "authz-other-project").verdict = Verdict.NOT_RUN
    authz = next(c for c in new.checks if c.check == "authz-other-project")
    authz.verdict, authz.failures = Verdict.FAIL, list(new.checks[0].failures[:1])
    authz.failures[0].requirement = "STOP-AUTHZ"
    next(c for c in new.checks if c.check == "other-methods").verdict = Verdict.FAIL
    diff = diff_runs(old, new)
    assert [c.requirement for c in diff.new_failures] == ["STOP-AUTHZ"]
    assert {"STOP-METHOD-ALLOW"} <= {c.requirement for c in diff.still_failing}
    assert diff.regressed and "REGRESSED" in render_diff(diff)
    with pytest.raises(ValueError, match="unknown diff format"):
        render_diff(diff, "xml")


def test_diff_warns_about_different_profiles() -> None:
    diff = diff_runs(sample_run("strict"), sample_run("huawei"))
    assert diff.warnings and "different profiles" in diff.warnings[0]
    assert "HW-REQUEST-ID" in {c.requirement for c in diff.new_failures}


def test_diff_warns_on_stderr_when_the_runs_are_not_comparable(tmp_path: Path) -> None:
    old, new = passing_run("strict"), passing_run("strict")
    same = CliRunner().invoke(
        main,
        [
            "diff",
            str(write_reports(old, tmp_path / "a", ["json"])[0]),
            str(write_reports(new, tmp_path / "b", ["json"])[0]),
        ],
    )
    assert same.exit_code == 0 and same.stderr == ""  # comparable runs: no warning at all
    new.tool_version, new.contract_version = "9.9.9", "v3"
    new.target = {**new.target, "base_url": "https://other.example.test", "project_id": "p-other"}
    result = CliRunner().invoke(
        main,
        [
            "diff",
            str(write_reports(old, tmp_path / "c", ["json"])[0]),
            str(write_reports(new, tmp_path / "d", ["json"])[0]),
        ],
    )
    assert result.exit_code == 0  # a warning, not a regression
    warnings = result.stderr.splitlines()
    assert warnings == [
        f"warning: the runs have different targets: {old.target['base_url']!r} -> 'https://other.example.test'",
        f"warning: the runs have different projects: {old.target['project_id']!r} -> 'p-other'",
        f"warning: the runs have different tool versions: {old.tool_version!r} -> '9.9.9'",
        f"warning: the runs have different contract versions: {old.contract_version!r} -> 'v3'",
    ]
    for line in warnings:  # and in the diff itself, for the job summary
        assert line in result.stdout
    profiles = diff_runs(passing_run("strict"), passing_run("huawei"))
    assert profiles.warnings == ["the runs have different profiles: 'strict' -> 'huawei'"]
