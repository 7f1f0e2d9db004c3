"""Reports that read at a glance: failures rolled up by cause, the verdict first, short evidence in
``summary.md`` (with a note when cut, always under GitHub's comment limit), a legend for every ``$OMS_…``
placeholder, and chart axes that fit the data."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import replace

import pytest

from conformance.redact import tampered
from conformance.reports import render_html, render_markdown
from conformance.reports._svg import axis_ticks, bar_chart
from conformance.reports.reproduce import UNKNOWN_PLACEHOLDER, placeholder_legend
from conformance.reports.rollup import rollup, shape
from conformance.results import Failure
from conformance.runner.config import secrets_of
from conformance.spec import load_requirements
from conformance.target import parse_target
from tests.reports.sample_runs import _Builder, _path, noisy_run, sample_run

GITHUB_COMMENT_LIMIT = 65_536


def _failures(*specs: tuple[str, int | None, str, str]) -> list[Failure]:
    """(requirement, status, body, message) -> failures, each for another group id."""
    b = _Builder("MIIsome-token-value-for-rollups", seed=1)
    return [
        b.failure(
            rid, "no-server-error", "Server error", message, b.exchange(_path(group=f"g-{i}"), status, body)
        )
        for i, (rid, status, body, message) in enumerate(specs)
    ]


def test_thirty_five_identical_500s_are_one_cause_with_a_count() -> None:
    body = '{"error_code": "APIGW.0601", "error_msg": "Internal error"}'
    same = [
        ("STOP-ROBUST", 500, body, f"Received: 500 for group 'g-{i}' of {i} characters") for i in range(35)
    ]
    other_code = [("STOP-ROBUST", 500, '{"error_code": "OMS.0000", "error_msg": "x"}', "Received: 500")]
    other_status = [("STOP-ROBUST", 503, body, "Received: 503")]
    other_requirement = [("STOP-DOCUMENTED-STATUS", 500, body, "Received: 500 for group 'x' of 1 characters")]
    other_message = [("STOP-ROBUST", 500, body, "The connection was reset after the headers")]
    causes = rollup(_failures(*same, *other_code, *other_status, *other_requirement, *other_message))
    assert [c.count for c in causes] == [35, 1, 1, 1, 1]
    big = causes[0]
    assert (big.requirement, big.answer, big.error_code) == ("STOP-ROBUST", "HTTP 500", "APIGW.0601")
    assert big.label == "HTTP 500 APIGW.0601: Server error"
    assert len(big.examples()) == 5 and big.first not in big.examples()


def test_no_answer_is_its_own_cause_and_the_shape_hides_what_varies() -> None:
    b = _Builder("MIIsome-token-value-for-rollups", seed=1)
    timeouts = [
        b.failure(
            "STOP-TIMELY", "timely", "No answer", "Received: nothing", b.exchange(_path(), None, error=e)
        )
        for e in ("timeout after 10.0 s", "timeout after 12.5 s", "connection reset")
    ]
    assert [(c.answer, c.count) for c in rollup(timeouts)] == [
        ("no response (timeout after N s)", 2),
        ("no response (connection reset)", 1),
    ]
    assert shape("id 'abc' of 1025 chars at 157ece42-3270-4824-a3d2-f0187a03ca01 %2F") == (
        "id '…' of N chars at <id> %XX"
    )


def test_html_puts_the_verdict_and_failures_before_the_matrix() -> None:
    page = render_html(sample_run("huawei"))
    order = [page.index(mark) for mark in ('id="verdict"', 'id="failures"', 'id="matrix"', 'id="checks"')]
    assert order == sorted(order)
    assert (
        '<ul class="verdict-notes">' in page
        and f"8 of {len(load_requirements())} requirements fail or are flaky (7 MUST)." in page
    )
    # The five 404s for different ids are one cause; the 500 of the same check another.
    assert '<span class="count">×5</span><b>HTTP 404 OMS.0404: Undocumented status</b>' in page
    assert "4 more with this cause, 4 other requests shown" in page
    # The matrix shows the verdict right after the requirement, where a narrow window still has it.
    assert "<th>Requirement</th><th>Verdict</th>" in page


def test_html_keeps_long_evidence_whole_in_a_box_that_wraps() -> None:
    page = render_html(noisy_run(causes=1, repeats=2))
    assert "g" * 1025 in page  # the HTML shows it all; the CSS wraps it and bounds the box
    assert "overflow-wrap: anywhere" in page and "max-height: 24em; overflow: auto" in page


def test_markdown_of_hundreds_of_failures_stays_under_the_comment_limit() -> None:
    run = noisy_run()
    assert sum(len(c.failures) for c in run.checks) > 5000
    text = render_markdown(run)
    assert len(text.encode("utf-8")) < 64 * 1024 and len(text) < GITHUB_COMMENT_LIMIT
    failing = {c.requirements[0] for c in run.checks}
    assert set(re.findall(r"^#### \S+ ([A-Z0-9-]+) \(", text, re.MULTILINE)) == failing  # none dropped
    assert (
        "`…[N characters cut]…`" in text and "characters cut]…" in text.split("### Failing requirements")[1]
    )
    assert max(len(line) for line in text.splitlines()) < 1000
    assert "g" * 1025 not in text
    assert "### Reproduce" in text and "`$OMS_TOKEN`" in text


def test_markdown_of_a_small_run_is_not_cut() -> None:
    text = render_markdown(sample_run("huawei"))
    assert "characters cut" not in text
    assert "**×5 HTTP 404 OMS.0404: Undocumented status** (check `documented-status`)" in text
    assert "Other requests with this cause (2 more in report.html):" in text


def test_every_placeholder_the_runner_writes_is_explained() -> None:
    credentials = {"token": "MIItokenvalue-main", "readonly_token": "MIIreadonly-value"}
    aksk = {"aksk": {"ak": "AKVALUE0001", "sk": "sk-value-0001", "security_token": "sec-token-0001"}}
    target = parse_target(
        {
            "base_url": "https://oms.example.test",
            "project_id": "p1",
            **credentials,
            **aksk,
            "other_project": {
                "project_id": "p2",
                "token": "MIItokenvalue-other",
                "readonly_token": "MIIreadonly-other",
                "aksk": {"ak": "AKVALUE0002", "sk": "sk-value-0002", "security_token": "sec-token-0002"},
            },
        },
        env={},
    )
    placeholders = [placeholder for _, placeholder in secrets_of(target)]
    assert len(placeholders) == 10
    legend = placeholder_legend(f'curl -H "X: {p}"' for p in placeholders)
    assert [name for name, _, _ in legend] == sorted(placeholders)
    for name, meaning, how in legend:
        assert meaning != UNKNOWN_PLACEHOLDER and name[1:] in how, (name, how)
        assert ("other_project" in meaning) == ("_OTHER" in name)
    tampered = dict((n, h) for n, _, h in legend)["$OMS_TOKEN_OTHER_TAMPERED"]
    assert 'os.environ["OMS_TOKEN_OTHER"]' in tampered


@pytest.mark.parametrize("placeholder", ["$OMS_TOKEN_TAMPERED", "$OMS_READONLY_TOKEN", "$OMS_TOKEN_OTHER"])
def test_markdown_explains_the_placeholders_that_appear_and_only_those(placeholder: str) -> None:
    run = sample_run()
    failure = run.checks[0].failures[0]
    evidence = replace(failure.evidence[0], curl=f'curl -H "X-Auth-Token: {placeholder}" http://x/stop')
    failure.evidence = [evidence]
    text = render_markdown(run)
    legend_rows = re.findall(r"^\| `(\$OMS_[A-Z_]+)` \|", text, re.MULTILINE)
    assert sorted(legend_rows) == sorted({"$OMS_TOKEN", placeholder})


def test_embedded_runs_say_how_to_replay_against_the_reference_server() -> None:
    run = sample_run()
    run.target["embedded"] = True
    text = render_markdown(run)
    assert "oms-conformance run --profile strict --depth standard --seed 20261103" in text
    assert "target.yaml" not in text and "oms-conformance serve --profile strict --port PORT" in text


@pytest.mark.parametrize(
    ("tallest", "ticks"),
    [
        (276, [0, 50, 100, 150, 200, 250, 300]),
        (0, [0, 1]),
        (3, [0, 1, 2, 3]),
        (7, [0, 2, 4, 6, 8]),
        (12, [0, 2, 4, 6, 8, 10, 12]),
        (100, [0, 20, 40, 60, 80, 100]),
        (1001, [0, 200, 400, 600, 800, 1000, 1200]),
    ],
)
def test_axis_ticks_are_round_and_just_above_the_tallest_bar(tallest: int, ticks: list[int]) -> None:
    assert axis_ticks(tallest) == ticks


def test_the_latency_chart_is_scaled_to_its_tallest_bar() -> None:
    svg = bar_chart([("≤10ms", 276, "#000"), ("≤25ms", 40, "#000")], label="latency")
    labels = [int(v) for v in re.findall(r'class="axis">(\d+)</text>', svg)]
    assert max(labels) == 300 and 500 not in labels


@pytest.mark.skipif(not (shutil.which("bash") and shutil.which("python3")), reason="runs the recipe in bash")
@pytest.mark.parametrize("token", ["MIIabcdef", "MIIabcAef", "x" * 41])
def test_the_legends_recipe_for_the_tampered_token_gives_the_runners_tampered_token(token: str) -> None:
    ((_, _, recipe),) = placeholder_legend(["$OMS_TOKEN_TAMPERED"])
    done = subprocess.run(
        ["bash", "-c", f'{recipe}; printf %s "$OMS_TOKEN_TAMPERED"'],
        env={**os.environ, "OMS_TOKEN": token},
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    assert done.stdout == tampered(token)
