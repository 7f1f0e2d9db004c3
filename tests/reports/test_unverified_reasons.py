"""Every requirement a run could not verify says why, in every format that lists it: an inconclusive one its
check's reason, one a stopped run never reached that the run stopped, where, and why. And the HTML status
chart tells documented answers from findings."""

from __future__ import annotations

import json
import re
from xml.etree import ElementTree as ET

import pytest

from conformance.reports._svg import EXPECTED_COLOUR
from conformance.reports.html_report import render_html
from conformance.reports.json_report import render_json
from conformance.reports.junit import render_junit
from conformance.reports.markdown import render_markdown
from conformance.results import RunResult, StopReason, Verdict
from conformance.spec import load_requirements
from tests.reports.sample_runs import passing_run

WHY = "the listed group never answered its status read"
STOPPED = "the run stopped during precondition: the target stopped answering (connection failed)"


def _inconclusive_run() -> RunResult:
    """authn-refused could not decide STOP-TOKEN-LEN only; it decided its two other requirements."""
    run = passing_run()
    for check in run.checks:
        if check.check in ("authn-refused", "token-length"):
            check.verdict = Verdict.INCONCLUSIVE if check.check == "authn-refused" else Verdict.NOT_RUN
            check.inconclusive = {"STOP-TOKEN-LEN": WHY} if check.check == "authn-refused" else {}
            check.reason = "" if check.check == "authn-refused" else "not selected"
    return run


def _skipped(junit: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for case in ET.fromstring(junit).iter("testcase"):
        for skipped in case.iter("skipped"):
            out.setdefault(case.get("name", ""), []).append(skipped.get("message", ""))
    return out


def test_an_inconclusive_requirement_carries_its_reason_in_every_format() -> None:
    run = _inconclusive_run()
    verdicts = {rv.requirement.id: rv.verdict for rv in run.requirements(load_requirements())}
    assert verdicts["STOP-TOKEN-LEN"] is Verdict.INCONCLUSIVE
    assert verdicts["STOP-AUTHN"] is verdicts["STOP-TOKEN-REQUIRED"] is Verdict.PASS

    junit = render_junit(run)
    messages = [m for ms in _skipped(junit).values() for m in ms if m.startswith("inconclusive")]
    # One inconclusive case - authn-refused's for STOP-TOKEN-LEN - with the reason; the check decided its
    # other two requirements, so they are no inconclusive cases ("no reason given" they read once).
    assert messages == [f"inconclusive: {WHY}"], _skipped(junit)
    assert "no reason given" not in junit
    markdown = render_markdown(run)
    assert "### Inconclusive" in markdown and f"authn-refused inconclusive: {WHY}" in markdown
    assert f"authn-refused inconclusive: {WHY}" in render_html(run)
    check = next(c for c in json.loads(render_json(run))["checks"] if c["check"] == "authn-refused")
    assert check["inconclusive"] == {"STOP-TOKEN-LEN": WHY}


def test_a_stopped_run_says_why_each_requirement_went_unverified() -> None:
    run = passing_run()
    run.stop_reason = StopReason.TARGET_DIED
    run.incomplete_reason = "the target stopped answering (connection failed)"
    for check in run.checks:
        if check.check in ("precondition", "effect", "concurrency"):  # the engine's _stopped_before
            check.verdict, check.reason = Verdict.NOT_RUN, STOPPED
    markdown = render_markdown(run)
    for requirement in ("STOP-EFFECT", "STOP-CONCURRENCY", "STOP-PRECONDITION"):
        assert f"**{requirement}**" in markdown
    assert f"concurrency not run: {STOPPED}" in markdown
    assert "no selected check traces" not in markdown
    assert f"concurrency not run: {STOPPED}" in render_html(run)
    assert _skipped(render_junit(run))["concurrency"] == [f"not run: {STOPPED}"]


def _bar_colours(html: str) -> dict[str, str]:
    return dict(
        (name, colour) for colour, name in re.findall(r'fill="(#\w+)"><title>(\w+): \d+ requests', html)
    )


@pytest.mark.parametrize("profile", ["strict", "huawei"])
def test_the_status_chart_paints_documented_answers_as_expected_and_undocumented_ones_as_findings(
    profile: str,
) -> None:
    run = passing_run(profile)
    # The sample's histogram: 200, 400, 403, 404, 405, 431, 500 and transport errors.
    colours = _bar_colours(render_html(run))
    for status in ("400", "403", "405"):  # documented by both profiles, or the refusal of another method
        assert colours[status] == EXPECTED_COLOUR, (status, colours)
    assert colours["404"] == (EXPECTED_COLOUR if profile == "huawei" else "#bf8700")  # huawei documents it
    assert colours["431"] == "#bf8700"  # documented by neither
    assert colours["500"] == "#cf222e"  # a server error, documented or not (STOP-ROBUST)
    assert colours["200"] == "#1a7f37" and colours["error"] == "#6e7781"
