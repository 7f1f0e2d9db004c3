"""A run ends in bounded time whatever the target does (machinery/hang_budget.py): against a correct server
that is slow now and then (it must conform), and against ones that hang on a class of requests (they fail
STOP-ROBUST, naming the class, and the run's cost in timeouts is bounded) or stop answering altogether
(the run ends as TARGET_DIED: exit 3, with the partial report).

Timeouts are small here (0.5 s); what is asserted is counted (timed-out exchanges) or bounded generously
(the duration against a multiple of the timeout, with seconds of slack), never timed tightly. The default
options' figures (10 s) are measured by tests/benchmarks/bench_hangs.py.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from click.testing import CliRunner

from conformance.checks.machinery.hang_budget import ALLOWANCE_TIMEOUTS
from conformance.cli import main
from conformance.options import RunOptions
from conformance.results import RunResult, StopReason, Verdict
from conformance.runner.engine import execute
from conformance.spec import load_requirements
from conformance.target import parse_target

from .model import Model, target_data, variant
from .socket_server import ModelServer
from .test_catalogue import verdicts

CATALOGUE = load_requirements()
TIMEOUT = 0.5
# Timed-out exchanges a run may collect: a few per class (concurrent ones time out together), and a race's
# stops of one group all at once. Far below what per-check counting with re-runs cost (hundreds).
MAX_TIMED_OUT = 48
SLACK_S = 20.0  # what the rest of the run may take on a loaded 2-core machine


def run(choices: Any, *, huawei: bool, timeout: float = TIMEOUT, reruns: int = 1) -> RunResult:
    target = parse_target(target_data("http://model.test", huawei=huawei))
    options = RunOptions(
        seed=7,
        transport=httpx.ASGITransport(app=Model(choices)),
        request_timeout=timeout,
        reruns=reruns,  # the default: re-runs of failed checks count against the bound too
        settle_timeout=0.5,
    )
    return asyncio.run(execute(target, options))


def failures(result: RunResult) -> list[str]:
    return [f"{f.requirement}: {f.title}" for c in result.checks for f in c.failures]


def assert_bounded(result: RunResult, timeout: float = TIMEOUT) -> None:
    assert result.status_counts.get("error", 0) <= MAX_TIMED_OUT, result.status_counts
    # The allowance, the probe that tells a dead target, and one more concurrent batch in flight.
    assert result.duration_s <= (ALLOWANCE_TIMEOUTS + 2) * timeout + SLACK_S, result.duration_s


@pytest.mark.parametrize("profile", ["strict", "huawei"])
def test_a_correct_server_slow_now_and_then_conforms(profile: str) -> None:
    # 0.25 s on every 25th answer against a 2 s timeout: slow, well within the timeout (bench_hangs.py runs
    # 2.5 s against the default 10 s). Not 1 s: on a loaded machine the sleep and the answer's own wait for
    # a core added up to a false timeout once - the test's, not the tool's.
    huawei = profile == "huawei"
    result = run(variant(huawei=huawei, slow_every=25, slow_s=0.25), huawei=huawei, timeout=2.0)
    assert failures(result) == []
    assert result.status_counts.get("error", 0) == 0
    assert result.headline(CATALOGUE) == "CONFORMS", result.unverified(CATALOGUE)


HANGING = {
    "hangs on every unknown group id": {"hang_on_unknown_group": True},
    "authenticated stops hang after the first (a lock never released)": {"lock_after_first_stop": True},
}


@pytest.mark.parametrize("name", list(HANGING))
@pytest.mark.parametrize("profile", ["strict", "huawei"])
def test_a_server_that_hangs_on_a_class_fails_robustness_within_the_bound(name: str, profile: str) -> None:
    huawei = profile == "huawei"
    result = run(variant(huawei=huawei, **HANGING[name]), huawei=huawei)
    assert result.stop_reason is StopReason.FINISHED, result.incomplete_reason
    got = verdicts(result)
    assert got["STOP-ROBUST"] is Verdict.FAIL
    assert got["STOP-TIMELY"] is Verdict.FAIL
    # The finding names the class; its evidence carries the curl line to reproduce it.
    unanswered = [
        f for c in result.checks for f in c.failures if f.title.startswith("No answer to PUT stop with")
    ]
    assert unanswered, failures(result)
    assert all(f.curl.startswith("curl ") for f in unanswered)
    assert any("no check sent more of" in note for note in result.notes)
    # Never a pass made of requests not sent, nor a FLAKY from a re-run that skipped them.
    assert Verdict.FLAKY not in got.values()
    assert_bounded(result)


def test_a_class_hanging_in_the_preflight_is_not_sent_again_and_is_judged() -> None:
    # Every unknown id hangs: the preflight's own stops of minted ids close the class before any check.
    result = run(variant(hang_on_unknown_group=True), huawei=False)
    operation = next(c for c in result.checks if c.check == "operation")
    assert operation.verdict is Verdict.NOT_RUN and "went unanswered" in operation.reason
    assert any("Seen in: preflight" in f.text() for c in result.checks for f in c.failures)
    # The checks of other classes are untouched: no-credential and refused stops still verify.
    assert verdicts(result)["STOP-TOKEN-REQUIRED"] is Verdict.PASS
    assert result.status_counts.get("error", 0) <= 2  # the preflight's two, nothing more


@pytest.mark.parametrize("profile", ["strict", "huawei"])
def test_a_server_that_stops_answering_ends_the_run_as_died(profile: str) -> None:
    huawei = profile == "huawei"
    result = run(variant(huawei=huawei, dead_after=60), huawei=huawei)
    assert result.stop_reason is StopReason.TARGET_DIED
    assert "stopped answering" in result.incomplete_reason
    assert result.checks, "the partial report keeps what was found before"
    assert_bounded(result)


def test_a_server_that_stops_answering_exits_3_over_a_socket(tmp_path: Path) -> None:
    with ModelServer(Model(variant(dead_after=60))) as server:
        target = tmp_path / "target.yaml"
        target.write_text(yaml.safe_dump(target_data(server.base_url)))
        args = ["run", "--target", str(target), "--seed", "7", "--request-timeout", str(TIMEOUT)]
        args += ["--format", "json", "--report-dir", str(tmp_path / "r")]
        outcome = CliRunner().invoke(main, args)
    assert outcome.exit_code == 3, outcome.output
    report = json.loads((tmp_path / "r" / "conformance.json").read_text())
    assert report["stop_reason"] == "target_died"
    assert report["checks"], "the partial report"
