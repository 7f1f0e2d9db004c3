"""pytest plugin: ``pytest --oms-target FILE`` runs the conformance suite inside a provider's own pytest.

The suite runs once per session (checks share fixtures and a stop consumes groups, so they cannot run as
independent tests); each check then becomes one test item that passes, fails with the check's failures,
or is skipped with the reason it did not run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.results import CheckResult, RunResult, Verdict


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("oms-conformance")
    group.addoption("--oms-target", metavar="FILE", help="run the OMS conformance suite against this target file")
    group.addoption("--oms-seed", type=int, default=None, help="seed for the suite's generated cases")
    group.addoption("--oms-depth", choices=["quick", "full"], default="quick")


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    target = config.getoption("--oms-target")
    if not target:
        return
    from conformance.runner.engine import RunOptions, execute
    from conformance.target import load_target

    loaded = load_target(Path(target))
    run: RunResult = asyncio.run(execute(loaded, RunOptions(seed=config.getoption("--oms-seed"),
                                                            depth=config.getoption("--oms-depth"))))
    collector = _SuiteCollector.from_parent(session, name="oms-conformance", run=run)
    items.extend(collector.collect())


class _SuiteCollector(pytest.Collector):
    def __init__(self, *, run: RunResult, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run = run

    def collect(self) -> Iterator[pytest.Item]:  # type: ignore[override]
        for check in self.run.checks:
            yield _CheckItem.from_parent(self, name=f"{check.check}[{','.join(check.requirements)}]", check=check)


class _CheckItem(pytest.Item):
    def __init__(self, *, check: CheckResult, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check

    def runtest(self) -> None:
        if self.check.verdict is Verdict.NOT_RUN:
            pytest.skip(self.check.reason)
        if self.check.verdict in (Verdict.FAIL, Verdict.FLAKY):
            lines = [f"{f.requirement} {f.title}\n{f.message}\n{f.curl}" for f in self.check.failures]
            raise AssertionError("\n\n".join(lines))

    def reportinfo(self) -> tuple[Path, int, str]:
        return Path("oms-conformance"), 0, self.name

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        return str(excinfo.value)
