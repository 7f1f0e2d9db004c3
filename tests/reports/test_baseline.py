"""Baselines: unexpired entries turn failures into known failures, expired ones fail the run again."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from conformance.baseline import Baseline, BaselineEntry, apply_baseline, load_baseline, parse_baseline
from conformance.errors import ConfigError
from conformance.results import CheckResult, RunResult, Verdict
from conformance.spec import Requirement
from tests.reports.sample_runs import sample_run

TODAY = dt.date(2026, 11, 3)


def _check(run: RunResult, name: str) -> CheckResult:
    return next(c for c in run.checks if c.check == name)


def _entry(requirement: str, expires: dt.date, check: str | None = None) -> BaselineEntry:
    return BaselineEntry(requirement, "ticket OMS-1", expires, check)


def test_load_baseline_reads_entries(tmp_path: Path) -> None:
    path = tmp_path / "baseline.yaml"
    path.write_text(
        "known_failures:\n"
        "  - {requirement: STOP-ROBUST, check: no-server-error, reason: ' gateway bug ',\n"
        "     expires: 2026-12-31}\n"
        "  - {requirement: STOP-NO-ECHO, reason: echo, expires: '2027-01-15'}\n",
        encoding="utf-8",
    )
    baseline = load_baseline(path)
    assert baseline.entries == (
        BaselineEntry("STOP-ROBUST", "gateway bug", dt.date(2026, 12, 31), "no-server-error"),
        BaselineEntry("STOP-NO-ECHO", "echo", dt.date(2027, 1, 15)),
    )
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    assert load_baseline(empty).entries == ()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            [],
            "baseline.yaml: expected a mapping with known_failures (and optional version: "
            "1), found an empty list",
        ),
        ({"known": []}, "known: expected one of the keys known_failures, version, found an unknown key"),
        ({"version": 2}, "version: expected the format version 1, found 2"),
        ({"known_failures": {}}, "known_failures: expected a list of known failures, found an empty mapping"),
        (
            {"known_failures": ["x"]},
            "known_failures[0]: expected a mapping with requirement, reason, expires and "
            "optional check, found 'x'",
        ),
        (
            {"known_failures": [{"requirement": "STOP-ROBUST", "reason": "r"}]},
            "known_failures[0].expires: expected a date YYYY-MM-DD, found nothing (the key is missing)",
        ),
        (
            {"known_failures": [{"requirement": "STOP-NOPE", "reason": "r", "expires": "2026-01-01"}]},
            "known_failures[0].requirement: expected a requirement ID of the catalogue (see "
            "`oms-conformance spec "
            "--requirements`), found unknown requirement ID 'STOP-NOPE'",
        ),
        (
            {"known_failures": [{"requirement": "STOP-ROBUST", "reason": " ", "expires": "2026-01-01"}]},
            "known_failures[0].reason: expected a non-empty reason, found ' '",
        ),
        (
            {"known_failures": [{"requirement": "STOP-ROBUST", "reason": "r", "expires": "2026-13-01"}]},
            "known_failures[0].expires: expected a date YYYY-MM-DD, found '2026-13-01'",
        ),
        (
            {
                "known_failures": [
                    {"requirement": "STOP-ROBUST", "reason": "r", "expires": "2026-01-01", "why": 1}
                ]
            },
            "known_failures[0].why: expected one of the keys check, expires, reason, "
            "requirement, found an unknown key",
        ),
        (
            {
                "known_failures": [
                    {"requirement": "STOP-ROBUST", "reason": "r", "expires": "2026-01-01", "check": 3}
                ]
            },
            "known_failures[0].check: expected a check name (see `oms-conformance run "
            "--list-checks`), found 3",
        ),
    ],
)
def test_bad_baselines_name_the_key(data: Any, message: str, catalogue: dict[str, Requirement]) -> None:
    with pytest.raises(ConfigError) as info:
        parse_baseline(data, "baseline.yaml", catalogue)
    assert message in info.value.message and info.value.message.startswith("baseline.yaml")


def test_unreadable_baseline(tmp_path: Path) -> None:
    (tmp_path / "latin1.yaml").write_bytes(b"reason: \xe9t\xe9")
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        load_baseline(tmp_path / "latin1.yaml")
    with pytest.raises(ConfigError, match=r"baseline '.*absent\.yaml': cannot read it"):
        load_baseline(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("known_failures: [", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"baseline '.*bad\.yaml': not valid YAML at line 1"):
        load_baseline(bad)


def test_unexpired_entry_makes_a_known_failure_and_keeps_the_evidence(
    catalogue: dict[str, Requirement],
) -> None:
    run = sample_run()
    failures_before = list(_check(run, "no-server-error").failures)
    apply_baseline(run, Baseline((_entry("STOP-ROBUST", dt.date(2026, 11, 4)),)), TODAY)
    check = _check(run, "no-server-error")
    assert check.verdict is Verdict.KNOWN_FAILURE
    assert check.failures == failures_before
    assert check.reason == "baseline: STOP-ROBUST: ticket OMS-1 (until 2026-11-04)"
    verdicts = {rv.requirement.id: rv.verdict for rv in run.requirements(catalogue)}
    assert verdicts["STOP-ROBUST"] is Verdict.KNOWN_FAILURE


def test_expired_entry_keeps_the_failure_with_a_note() -> None:
    run = sample_run()
    apply_baseline(run, Baseline((_entry("STOP-ROBUST", TODAY),)), TODAY)  # expires today: no longer valid
    check = _check(run, "no-server-error")
    assert check.verdict is Verdict.FAIL
    assert check.notes == ["baseline entry expired on 2026-11-03: STOP-ROBUST: ticket OMS-1"]
    apply_baseline(run, Baseline((_entry("STOP-ROBUST", TODAY),)), TODAY)
    assert len(check.notes) == 1  # applying twice changes nothing


def test_a_check_is_known_only_when_every_failure_is_covered() -> None:
    run = sample_run()
    entry = _entry("STOP-AUTHN", dt.date(2027, 1, 1))
    apply_baseline(run, Baseline((entry,)), TODAY)
    assert (
        _check(run, "authn-refused").verdict is Verdict.FAIL
    )  # its STOP-TOKEN-REQUIRED failure is not excused
    apply_baseline(run, Baseline((entry, _entry("STOP-TOKEN-REQUIRED", dt.date(2027, 1, 1)))), TODAY)
    assert _check(run, "authn-refused").verdict is Verdict.KNOWN_FAILURE


def test_an_entry_for_another_check_does_not_match() -> None:
    run = sample_run()
    apply_baseline(run, Baseline((_entry("STOP-ROBUST", dt.date(2027, 1, 1), check="hostile-ids"),)), TODAY)
    assert _check(run, "no-server-error").verdict is Verdict.FAIL
    # ... and, matching nothing, it is stale: the passing check it names says so.
    assert any("stale baseline entry" in note for note in _check(run, "hostile-ids").notes)


def test_a_stale_entry_is_noted_on_the_passing_checks_of_its_requirement() -> None:
    run = sample_run()
    apply_baseline(run, Baseline((_entry("STOP-EFFECT", dt.date(2027, 1, 1)),)), TODAY)
    assert _check(run, "effect").notes == [
        "stale baseline entry (matches no failure, remove it): STOP-EFFECT: ticket OMS-1"
    ]
    # Flaky and not-run checks are left alone; an entry matching a flaky failure is not stale.
    apply_baseline(run, Baseline((_entry("STOP-TIMELY", dt.date(2027, 1, 1)),)), TODAY)
    assert _check(run, "timely").verdict is Verdict.FLAKY and not _check(run, "timely").notes


def test_the_known_failure_reaches_the_reports(catalogue: dict[str, Requirement]) -> None:
    from conformance.reports import render_markdown

    run = sample_run()
    apply_baseline(run, Baseline((_entry("STOP-NO-ECHO", dt.date(2027, 1, 1)),)), TODAY)
    text = render_markdown(run)
    assert (
        "**STOP-NO-ECHO** Responses never echo the credential: baseline: STOP-NO-ECHO: ticket OMS-1" in text
    )


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"requirement": "STOP-ROBUST", "check": "no-such-check", "reason": "r", "expires": "2027-01-01"},
            "baseline.yaml: known_failures[0].check: expected one of the checks "
            "aksk-signature, authn-no-pause, ",
        ),
        (
            {"requirement": "STOP-ROBUST", "check": "timely", "reason": "r", "expires": "2027-01-01"},
            "baseline.yaml: known_failures[0].check: expected a check that verifies STOP-ROBUST (fuzz, "
            "hostile-ids, no-server-error), found 'timely', which verifies STOP-TIMELY",
        ),
    ],
    ids=["unknown-check", "check-of-another-requirement"],
)
def test_an_entry_that_can_never_match_is_refused(
    entry: dict[str, str], message: str, catalogue: dict[str, Requirement]
) -> None:
    # Such an entry would silently excuse nothing; it is a typo, found before the run.
    with pytest.raises(ConfigError) as info:
        parse_baseline({"known_failures": [entry]}, "baseline.yaml", catalogue)
    assert info.value.message.startswith(message)


def test_an_impossible_unquoted_date_names_the_key(tmp_path: Path) -> None:
    # YAML would read 2026-12-31 as a date; 2026-13-01 used to crash the YAML parser (an internal error).
    path = tmp_path / "baseline.yaml"
    path.write_text(
        "known_failures:\n  - {requirement: STOP-ROBUST, reason: r, expires: 2026-13-01}\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError) as info:
        load_baseline(path)
    assert info.value.message == (
        f"{path}: known_failures[0].expires: expected a date YYYY-MM-DD, found '2026-13-01'"
    )
