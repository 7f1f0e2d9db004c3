"""A finding's fields reach every report as fields: conformance.json keeps received, expected, why, cause
and layer (and reads them back), every writer renders them, and a run written before failures had fields
still reads and renders its one text unchanged."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]
import pytest

from conformance.checks.machinery.base import Finding, Title
from conformance.reports import ALL_FORMATS, load_run, parse_formats, render, render_json
from conformance.reports.rollup import rollup
from conformance.results import UNKNOWN_LAYER, Failure
from tests.reports.sample_runs import sample_run

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "conformance" / "reports" / "conformance.schema.json").read_text("utf-8")
)


def _finding(group: str, layer: str = UNKNOWN_LAYER) -> Failure:
    finding = Finding(
        Title("Stop of {group} was not refused", group=group),
        "200",
        Title("400 or 403 for {group}", group=group),
        "only a listed group may pause",
        requirement="STOP-PRECONDITION",
        layer=layer,
    )
    return finding.failure("precondition", "error", seed=7, seen_in="fuzz")


def test_the_fields_of_a_finding_are_the_failures() -> None:
    failure = _finding("g-1", layer="nginx")
    assert (failure.title, failure.received, failure.expected, failure.why) == (
        "Stop of g-1 was not refused",
        "200",
        "400 or 403 for g-1",
        "only a listed group may pause",
    )
    assert (failure.cause, failure.expectation) == (
        "Stop of {group} was not refused",
        "400 or 403 for {group}",
    )
    assert failure.text() == (
        "Received: 200\nExpected: 400 or 403 for g-1\nWhy: only a listed group may pause\n"
        "Answered by: nginx\nSeen in: fuzz"
    )
    # Two inputs that fail alike are one cause.
    assert len(rollup([_finding("g-1"), _finding("g-2")])) == 1


def test_conformance_json_keeps_every_field_and_reads_them_back(tmp_path: Path) -> None:
    run = sample_run()
    run.checks[0].failures[0] = _finding("g-1", layer="nginx")
    data = json.loads(render_json(run))
    jsonschema.Draft202012Validator(SCHEMA).validate(data)
    written = data["checks"][0]["failures"][0]
    assert {k: written[k] for k in ("received", "expected", "why", "layer", "seen_in")} == {
        "received": "200",
        "expected": "400 or 403 for g-1",
        "why": "only a listed group may pause",
        "layer": "nginx",
        "seen_in": "fuzz",
    }
    assert written["finding"] == {
        "title": "Stop of {group} was not refused",
        "expected": "400 or 403 for {group}",
    }
    assert "message" not in written
    path = tmp_path / "conformance.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert load_run(path).checks[0].failures[0] == run.checks[0].failures[0]


@pytest.mark.parametrize("fmt", parse_formats(ALL_FORMATS))
def test_every_writer_renders_the_fields(fmt: str) -> None:
    run = sample_run()
    first = run.checks[0].failures[0]  # in its place: the same check, requirement and evidence
    fields = _finding("g-1", layer="nginx")
    run.checks[0].failures[0] = replace(
        fields, requirement=first.requirement, check=first.check, evidence=first.evidence
    )
    text = render(run, fmt)
    for shown in ("400 or 403 for g-1", "only a listed group may pause", "nginx"):
        assert shown in text.replace("\\n", "\n"), (fmt, shown)


def test_a_run_written_before_failures_had_fields_keeps_its_text(tmp_path: Path) -> None:
    data = json.loads(render_json(sample_run()))
    old = data["checks"][0]["failures"][0]
    for key in ("received", "expected", "expected_as", "why", "more", "seen_in", "layer"):
        del old[key]
    old["message"] = "Received: 200\nExpected: 403 or 400 (the token is not valid)"
    path = tmp_path / "conformance.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    failure = load_run(path).checks[0].failures[0]
    assert failure.text() == old["message"]
