"""The pace in the reports: conformance.json carries it (schema-valid, read back field for field), files
written before it existed still load, and the terminal summary gives it one line."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from conformance.cli.terminal import describe_pace
from conformance.reports.json_report import render_json, run_from_dict
from conformance.results import PaceUsed, Throttled
from tests.reports.sample_runs import sample_run

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "conformance" / "reports" / "conformance.schema.json").read_text("utf-8")
)
THROTTLED = [
    Throttled(at_s=1.25, method="PUT", url="http://t/v2/p/taskgroups/g/stop", retry_after=None,
              waited_s=0.25, rate_after=61.5),
    Throttled(at_s=2.5, method="PUT", url="http://t/v2/p/taskgroups/h/stop", retry_after="2",
              waited_s=2.0, rate_after=30.75),
]  # fmt: skip


def test_the_pace_round_trips_through_a_schema_valid_json() -> None:
    run = sample_run()
    run.pace = PaceUsed(rate_limit=40.0, concurrency=4, requests=212, lowest_rate=30.75, final_rate=33.0,
                        throttled=THROTTLED)  # fmt: skip
    data = json.loads(render_json(run))
    jsonschema.Draft202012Validator(SCHEMA).validate(data)
    assert data["pace"]["throttled"][1]["retry_after"] == "2"
    assert run_from_dict(data).pace == run.pace


def test_a_run_written_before_pacing_was_recorded_still_loads() -> None:
    run = sample_run()
    data = json.loads(render_json(run))
    assert "pace" not in data
    jsonschema.Draft202012Validator(SCHEMA).validate(data)
    assert run_from_dict(data).pace is None


def test_the_summary_line_names_limit_concurrency_and_429s() -> None:
    quiet = PaceUsed(rate_limit=None, concurrency=4, requests=196)
    assert describe_pace(quiet) == "no rate limit, concurrency 4, 196 requests, no 429"
    throttled = PaceUsed(rate_limit=40.0, concurrency=1, requests=212, lowest_rate=30.75, throttled=THROTTLED)
    assert describe_pace(throttled) == (
        "--rate-limit 40/s, concurrency 1, 212 requests, 2 answered 429 (1 with Retry-After), "
        "slowed to 30.75 requests/s at the lowest"
    )
