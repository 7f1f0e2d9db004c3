"""pytest plugin: ``pytest --oms-target FILE`` runs the conformance suite inside a provider's own pytest.

The suite runs once per session (checks share fixtures and a stop consumes groups, so they cannot run as
independent tests); each check then becomes one test item that passes, fails with the check's failures,
or is skipped with the reason it did not run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from conformance.results import CheckResult, RunResult, Verdict


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("oms-conformance")
    group.addoption(
        "--oms-target", metavar="FILE", help="run the OMS conformance suite against this target file"
    )
    group.addoption("--oms-seed", type=int, default=None, help="seed for the suite's generated cases")
    group.addoption("--oms-depth", choices=["quick", "full"], default="quick")


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    target = config.getoption("--oms-target")
    if not target:
        return
    from conformance.runner.engine import RunOptions, execute
    from conformance.target import load_target

    loaded = load_target(Path(target))
    run: RunResult = asyncio.run(
        execute(
            loaded, RunOptions(seed=config.getoption("--oms-seed"), depth=config.getoption("--oms-depth"))
        )
    )
    collector = _SuiteCollector.from_parent(session, name="oms-conformance", run=run)
    items.extend(collector.collect())


class _SuiteCollector(pytest.Collector):
    def __init__(self, *, run: RunResult, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run = run

    def collect(self) -> Iterator[pytest.Item]:  # type: ignore[override]
        for check in self.run.checks:
            yield _CheckItem.from_parent(
                self, name=f"{check.check}[{','.join(check.requirements)}]", check=check
            )


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


# -- Fixtures for testing a client: the reference server, and the validating proxy in front of it -----------


@pytest.fixture
def oms_server_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Keyword arguments for ReferenceServer; override this fixture or parametrize it indirectly.

    Default: the huawei profile (the official SDK signs with AK/SK, which that profile accepts) with the
    ``prefer`` fault, so a test can force any documented error with a ``Prefer: code=N`` header.
    """
    options: dict[str, Any] = {"profile": "huawei", "faults": ["prefer"]}
    options.update(getattr(request, "param", None) or {})
    return options


@pytest.fixture
def oms_reference_server(oms_server_options: dict[str, Any]) -> Iterator[Any]:
    """A fresh reference server on a loopback port: ``.base_url``, ``.target`` (credentials), ``.app``."""
    from conformance.server import ReferenceServer

    with ReferenceServer(**oms_server_options) as server:
        yield server


@pytest.fixture
def oms_proxy_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Keyword arguments for ProxyServer besides upstream and profile (e.g. ``{"enforce": True}``)."""
    return dict(getattr(request, "param", None) or {})


@pytest.fixture
def oms_validating_proxy(oms_reference_server: Any, oms_proxy_options: dict[str, Any]) -> Iterator[Any]:
    """The reference server behind a validating proxy; point the client at ``.base_url``.

    The test fails if a violation is still recorded when it ends: a client violation always, a server
    violation only when the server was not asked for faults (``oms_server_options["faults"]`` beyond
    ``prefer``) - a test that injects them expects the server to break the contract, and asserts on its
    own client's side. A test that provokes violations on purpose takes them with
    ``.take_violations(side="client")`` (or ``"server"``, or no side: both).
    """
    from conformance.proxy import ProxyServer

    with ProxyServer(
        oms_reference_server.base_url, oms_reference_server.app.profile, **oms_proxy_options
    ) as proxy:
        yield proxy


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    # Judged in the call phase, so that violations make the test fail rather than error in teardown.
    result = yield
    funcargs = getattr(item, "funcargs", {})
    proxy = funcargs.get("oms_validating_proxy")
    if proxy is not None:
        sides = ["client"] if _faults_injected(funcargs.get("oms_server_options")) else ["client", "server"]
        left = [v for side in sides for v in proxy.take_violations(side=side)]
        if left:
            lines = "\n".join(v.line() for v in left)
            pytest.fail(f"the validating proxy recorded contract violations:\n{lines}", pytrace=False)
    return result


def _faults_injected(options: dict[str, Any] | None) -> bool:
    """Whether the test asked the reference server to break the contract (any fault but ``prefer``, which
    only answers what the client asked for)."""
    from conformance.server.faults import Faults, parse_faults

    faults = (options or {}).get("faults", ())
    if not isinstance(faults, Faults):
        faults = parse_faults([faults] if isinstance(faults, str) else faults)
    return replace(faults, prefer=False).active
