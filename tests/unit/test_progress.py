"""Live progress (cli/progress.py): a line rewritten in place on a terminal, a line every 10 s at most in a
log, nothing for a short check - shown on a real fuzz through the engine's answer hook, with a fake clock."""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path

import httpx
import pytest

from conformance.checks.machinery.registry import CheckKind
from conformance.checks.suite import BUILTIN
from conformance.cli.progress import ERASE, LOG_EVERY, LiveProgress, describe
from conformance.options import RunOptions
from conformance.results import Verdict
from conformance.runner.engine import execute
from conformance.spec import Profile
from conformance.target import parse_target
from tests.suite.model import Model, target_data, variant

LINE = re.compile(r"… fuzz  ([\d,]+)/([\d,]+)\+? requests  [\d,]+/s")


class FakeClock:
    """Each reading is ``step`` seconds after the one before: every answer seems to take that long."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def _live(terminal: bool, clock: FakeClock) -> tuple[LiveProgress, io.StringIO, list[str]]:
    stream, finished = io.StringIO(), []
    live = LiveProgress(
        stream, terminal=terminal, finished=lambda name, result: finished.append(name), clock=clock
    )
    return live, stream, finished


def test_the_line_says_sent_planned_rate_and_time_left() -> None:
    assert describe("fuzz", 1200, 6000, 3.0) == "  … fuzz  1,200/6,000 requests  400/s  ~12s left"
    assert describe("stateful", 50, None, 2.0) == "  … stateful  50 requests  25/s"
    # While the corpus is still drawn the plan grows: no time left is claimed from a part of it.
    assert describe("fuzz", 1200, 3000, 3.0, planning=True) == "  … fuzz  1,200/3,000+ requests  400/s"


@pytest.mark.parametrize("terminal", [True, False])
def test_a_check_shorter_than_two_seconds_shows_nothing(terminal: bool) -> None:
    live, stream, _ = _live(terminal, FakeClock(0.1))
    live("fuzz", None)
    for sent in range(1, 15):  # 1.4 s of answers
        live.sent("fuzz", sent, 100)
    assert stream.getvalue() == ""


def test_in_a_log_a_line_comes_every_ten_seconds_at_most() -> None:
    live, stream, _ = _live(False, FakeClock(0.5))
    live("fuzz", None)
    for sent in range(1, 200):  # 100 s of answers
        live.sent("fuzz", sent, 400)
    lines = stream.getvalue().splitlines()
    assert ERASE not in stream.getvalue()
    assert 9 <= len(lines) <= 100 / LOG_EVERY + 1
    assert all(LINE.search(line) for line in lines)


def test_on_a_terminal_one_line_is_rewritten_in_place() -> None:
    live, stream, _ = _live(True, FakeClock(0.5))
    live("fuzz", None)
    for sent in range(1, 41):
        live.sent("fuzz", sent, 40)
    out = stream.getvalue()
    assert "\n" not in out and out.startswith(ERASE)
    assert out.rsplit(ERASE, 1)[1].startswith("  … fuzz  40/40 requests")
    live.close()  # an interrupted check's line is ended before the summary
    assert stream.getvalue().endswith("\n")


@pytest.mark.parametrize("terminal", [True, False])
def test_a_long_fuzz_shows_its_progress_and_its_answers_are_judged(
    terminal: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMS_CONFORMANCE_CACHE", str(tmp_path / "corpus"))
    live, stream, finished = _live(terminal, FakeClock(0.3))
    target = parse_target(target_data("http://model.test"))
    transport = httpx.ASGITransport(app=Model(variant()))
    options = RunOptions(seed=3, checks=["fuzz"], max_examples=20, transport=transport, reruns=0)
    result = asyncio.run(execute(target, options, live, sending=live.sent))
    fuzz = next(c for c in result.checks if c.check == "fuzz")
    assert fuzz.verdict is Verdict.PASS and finished == ["fuzz", "fuzz"]
    out = stream.getvalue()
    shown = [(int(a.replace(",", "")), int(b.replace(",", ""))) for a, b in LINE.findall(out)]
    assert shown, out
    assert all(sent <= planned for sent, planned in shown)
    assert max(sent for sent, _ in shown) <= fuzz.requests
    if terminal:
        assert "\n" not in out and out.count(ERASE) == len(shown)
    else:
        assert ERASE not in out and len(out.splitlines()) == len(shown)
        assert len(shown) <= fuzz.requests * 0.3 * 2 / LOG_EVERY + 1  # readings per answer: two at most
    # Chosen alone, the fuzz is still judged by every response check.
    oracles = {c.check: c for c in result.checks if BUILTIN[c.check].kind is CheckKind.RESPONSE}
    assert set(oracles) == {s.name for s in BUILTIN.oracles(Profile(result.profile))}
    assert all(c.verdict is Verdict.PASS and c.requests == fuzz.requests for c in oracles.values())


def test_choosing_scenarios_keeps_the_oracles_unless_excluded() -> None:
    responses = {s.name for s in BUILTIN if s.kind is CheckKind.RESPONSE}
    chosen = {s.name for s in BUILTIN.select(["fuzz"])}
    assert chosen == {"fuzz"} | responses
    assert {s.name for s in BUILTIN.select(["fuzz"], ["error-envelope"])} == {"fuzz"} | (
        responses - {"error-envelope"}
    )
    assert {s.name for s in BUILTIN.select(["fuzz", "error-envelope"])} == {"fuzz", "error-envelope"}
