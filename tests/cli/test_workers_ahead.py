"""A deep fuzz's worker processes, started by the console script before the CLI loads
(conformance/__main__.py, checks/machinery/corpus.py ``start_workers``): the glance that decides it, and that
they end with the command whatever the run does with them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance.__main__ import deep_fuzz_examples

HANG_S = 120.0  # only a bound on a hang


@pytest.mark.parametrize(
    ("args", "examples"),
    [
        (["run", "--max-examples", "2000"], 2000),
        (["run", "--checks", "fuzz", "--max-examples=600"], 600),
        (["--debug", "run", "--checks", "auth,fuzz", "--max-examples", "700", "--seed", "1"], 700),
        (["run", "--checks", "fuzz"], None),  # the example count of a depth: never deep
        (["run", "--checks", "auth", "--max-examples", "2000"], None),
        (["run", "--exclude-checks", "fuzz", "--max-examples", "2000"], None),
        (["run", "--max-examples", "2000", "--plan"], None),
        (["run", "--max-examples", "2000", "--help"], None),
        (["run", "--max-examples"], None),
        (["serve", "--max-examples", "2000"], None),
    ],
)
def test_the_glance_at_the_arguments(args: list[str], examples: int | None) -> None:
    assert deep_fuzz_examples(args) == examples


def _marked(marker: str) -> list[int]:
    """Processes that carry ``marker`` in their environment (what the command and its children inherit)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                environ = (entry / "environ").read_bytes()
            except OSError:
                continue  # ended meanwhile, or not ours
            if f"OMS_TEST_MARKER={marker}".encode() in environ.split(b"\0"):
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads /proc (Linux)")
def test_workers_started_for_a_run_that_never_fuzzes_end_with_the_command(tmp_path: Path) -> None:
    # The glance starts them; the run then stops at its target file, before any check.
    marker = f"workers-ahead-{os.getpid()}-{time.monotonic_ns()}"
    env = {**os.environ, "OMS_TEST_MARKER": marker}
    run = subprocess.run(
        [sys.executable, "-m", "conformance", "run", "--target", "missing.yaml", "--max-examples", "2000"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_S,
        check=False,
    )
    assert run.returncode == 2 and "missing.yaml" in run.stderr
    deadline = time.monotonic() + HANG_S
    while (left := _marked(marker)) and time.monotonic() < deadline:
        time.sleep(0.01)  # terminated, not yet reaped by their new parent: gone in a moment
    assert left == []
