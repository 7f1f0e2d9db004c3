"""Reads that lag writes: the platform's show may report a group's old status for seconds after a stop or a
start, and a stop goes 7, then 3, on its own. A server that does so is correct: it must conform in the huawei
profile (the lag shows in the run's notes, never as a failure), also with a provider's three pausable groups;
and the faulty shows and starts must still fail the same requirement when their reads lag too.

The model's lag is scaled down here (0.1-0.3 s instead of 1-3 s, with a 0.5 s bound from the target file) so
that each run takes seconds; the rule is the same at any scale. tests/benchmarks/bench_lag.py runs the
platform's 1-3 s against the default bound and reports the time each check takes.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest

from conformance.options import RunOptions
from conformance.results import RunResult, Verdict
from conformance.runner.engine import execute
from conformance.spec import load_requirements
from conformance.target import parse_target

from .model import Choices, Model, target_data, variant
from .test_catalogue import verdicts
from .test_trust import three_pausable

CATALOGUE = load_requirements()
SCALE = 0.1  # of the platform's lag (1-3 s) and pausing time (0.3-1 s)
BOUND = 0.5  # settle_timeout in the target file: above the scaled lag and pausing (0.4 s at most)


def lagging(**switches: Any) -> Choices:
    return variant(
        huawei=True,
        lagging_reads=True,
        read_lag_s=(1.0 * SCALE, 3.0 * SCALE),
        pausing_s=(0.3 * SCALE, 1.0 * SCALE),
        **switches,
    )


def run(
    choices: Choices, *, data: dict[str, Any] | None = None, checks: list[str] | None = None
) -> RunResult:
    data = dict(data or target_data("http://model.test", huawei=True))
    data["settle_timeout"] = BOUND  # the bound comes from the target file (RunOptions leaves it None)
    options = RunOptions(
        seed=7,
        transport=httpx.ASGITransport(app=Model(choices, seed=3)),
        request_timeout=2.0,
        reruns=0,
        checks=checks or [],
    )
    return asyncio.run(execute(parse_target(data), options))


def failures(result: RunResult) -> list[str]:
    return [f"{f.requirement}: {f.title}: {f.text()}" for c in result.checks for f in c.failures]


@pytest.mark.parametrize("listing", ["every group", "three pausable"])
def test_a_show_that_lags_its_writes_conforms_and_the_lag_is_a_note(listing: str) -> None:
    data = three_pausable(huawei=True) if listing == "three pausable" else None
    result = run(lagging(), data=data)
    assert failures(result) == []
    assert result.headline(CATALOGUE) == "CONFORMS", result.unverified(CATALOGUE)
    assert result.stale_fixtures == []  # a lagging read never makes a group stale
    by_name = {c.check: c for c in result.checks}
    assert by_name["stateful"].verdict is Verdict.PASS and by_name["stateful"].requests > 10
    assert by_name["effect"].verdict is Verdict.PASS
    summary = next(n for n in result.notes if n.startswith("the show operation lagged writes"))
    assert "not a failure" in summary
    # The first read after the keeper's stop is the concurrency check's now (its race carries that stop,
    # and it reads both groups after: one or both may lag, by timing); then the stateful check's.
    assert re.search(r"\(concurrency [12], ", summary) and "stateful " in summary, summary
    assert any(n.startswith("read lag: ") and "reads over" in n for n in result.notes)


def test_the_models_show_really_reports_the_old_status_right_after_a_stop() -> None:
    """The lag is real: a check that read once (as stateful did) would see the group still pausable."""
    model = Model(variant(huawei=True, lagging_reads=True), seed=3)  # the platform's 1-3 s: a wide margin
    statuses: list[int] = []

    async def stop_then_show() -> None:
        transport = httpx.ASGITransport(app=model)
        async with httpx.AsyncClient(transport=transport, base_url="http://model.test") as client:
            headers = {"X-Auth-Token": model.token}
            path = "/v2/proj-a-0001/taskgroups/monitoring-0"
            assert (await client.put(path + "/stop", headers=headers)).status_code == 200
            statuses.append((await client.get(path, headers=headers)).json()["status"])

    asyncio.run(stop_then_show())
    assert statuses == [2]


# A fault, the checks that judge it, and the requirement that must still fail when the show lags as well.
FAULTS = {
    "show still says monitoring after a stop": ({"show_wrong_status": True}, ["effect"], "STOP-EFFECT"),
    "show still says monitoring (stateful)": ({"show_wrong_status": True}, ["stateful"], "STOP-EFFECT"),
    "a start answers 200 but leaves the group paused": (
        {"start_leaves_paused": True},
        ["stateful"],
        "HW-START",
    ),
    "the stop changes nothing": ({"stop_is_noop": True}, ["effect"], "STOP-EFFECT"),
}


@pytest.mark.parametrize("name", list(FAULTS))
def test_a_faulty_server_whose_show_lags_still_fails_with_the_lag_in_the_message(name: str) -> None:
    switches, checks, requirement = FAULTS[name]
    result = run(lagging(**switches), checks=checks)
    assert verdicts(result)[requirement] is Verdict.FAIL, failures(result)
    messages = [f.text() for c in result.checks for f in c.failures if f.requirement == requirement]
    # The disagreement outlasted the bound: the message says how often and how long it was read.
    lags = [re.search(rf"on (\d+) reads over ([\d.]+)s \(bound {BOUND:g}s\)", m) for m in messages]
    reads, seconds = next((int(m[1]), float(m[2])) for m in lags if m)
    assert reads > 1 and seconds >= BOUND
