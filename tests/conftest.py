from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path

import pytest

# Hypothesis keeps a cache directory; keep it out of the working tree.
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(Path(__file__).parent / ".hypothesis"))
# The fuzz corpus cache (machinery/corpus.py) too: never the user's ~/.cache from a test run.
os.environ.setdefault("OMS_CONFORMANCE_CACHE", str(Path(__file__).parent / ".corpus-cache"))

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def seed_page() -> str:
    # A copy of shared/seed/StopTaskGroup.txt, so the traceability tests run from any clone.
    return (ROOT / "tests" / "data" / "StopTaskGroup.txt").read_text(encoding="utf-8")


# A test skips when a real part it drives is missing (chromium, nginx, shellcheck, actionlint, the official
# SDK, openssl): on a user's machine that is a skip with the reason. Where CI is set (.ci/run sets it, and
# installs every part), a skip is a failure: a part CI lacks would otherwise pass unnoticed, proving nothing.
def _fail_a_skip_in_ci(report: pytest.TestReport | pytest.CollectReport) -> None:
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped where CI is set, which must have every part the tests use: {reason}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    _fail_a_skip_in_ci(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report: pytest.CollectReport = yield  # a module-level importorskip
    _fail_a_skip_in_ci(report)
    return report
