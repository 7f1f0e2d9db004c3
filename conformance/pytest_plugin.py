"""pytest plugin: ``pytest --oms-target FILE`` runs the conformance suite inside a provider's own pytest.

It starts a run the way the CLI does - through :class:`conformance.runner.session.Session` - and only when
the first of its items runs. Collection sends nothing and runs no token command: it only reads the target
file (for its profile) and turns every check of that profile into one item, as Schemathesis builds one item
per API operation from the schema and calls the API only when a test is called. So ``--collect-only`` and a
``-k`` that selects none of the items never reach the target.

The suite runs once per session (checks share fixtures and a stop consumes groups, so they cannot run as
independent tests), limited to the checks whose items are still selected after ``-k``, ``-m`` and
``--deselect``; each item then passes, fails with its check's failures, or is skipped with the reason its
check did not run.

The fixtures at the end (``oms_reference_server``, ``oms_validating_proxy``) are for testing a client: they
share one server per session and set of options and reset it before each test (:class:`ServerPool`).
Loading this module imports neither the checks nor the server: both are imported when first used.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from conformance.errors import ConformanceError, ExitCode
from conformance.options import DEFAULTS, DEPTHS, RunOptions
from conformance.results import CheckResult, RunResult, Verdict
from conformance.spec import PROFILES, Profile


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("oms-conformance")
    group.addoption(
        "--oms-target", metavar="FILE", help="run the OMS conformance suite against this target file"
    )
    group.addoption("--oms-seed", type=int, default=None, help="seed for the suite's generated cases")
    group.addoption("--oms-depth", choices=DEPTHS, default=DEFAULTS.depth)
    group.addoption(
        "--oms-report-dir",
        metavar="DIR",
        default=None,
        help="also write the CLI's reports (json, junit, md, html, sarif) to DIR",
    )


@pytest.hookimpl(tryfirst=True)  # before the keyword/mark plugin deselects, so -k applies to these items
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    path = config.getoption("--oms-target")
    if not path:
        return
    from conformance.checks.suite import BUILTIN
    from conformance.textfile import read_yaml

    # Only read here: loading the target may run its token command (an IAM call), which waits for a run.
    try:
        data = read_yaml(path, "target file")
    except ConformanceError as exc:
        raise pytest.UsageError(f"--oms-target: {exc}") from exc
    profile = data.get("profile", Profile.STRICT) if isinstance(data, dict) else None
    report_dir = config.getoption("--oms-report-dir")
    suite = _Suite(
        Path(path),
        RunOptions(seed=config.getoption("--oms-seed"), depth=config.getoption("--oms-depth")),
        Path(report_dir) if report_dir else None,
    )
    collector = _SuiteCollector.from_parent(session, name="oms-conformance")
    for spec in BUILTIN:
        # A profile given as ${VAR} is known only when the target loads: then every check is an item, and
        # those of the other profile are skipped.
        if profile not in PROFILES or profile in spec.profiles:
            name = f"{spec.name}[{','.join(spec.requirements)}]"
            items.append(_CheckItem.from_parent(collector, name=name, check=spec.name, suite=suite))


class _Suite:
    """One suite run per pytest session, started by the first item that needs its result."""

    def __init__(self, target_file: Path, options: RunOptions, report_dir: Path | None) -> None:
        self.target_file = target_file
        self.options = options
        self.report_dir = report_dir
        self.run: RunResult | None = None
        self.error = ""  # a run that could not start (a bad target file, say): every item fails with it

    def result_of(self, item: _CheckItem) -> CheckResult:
        if self.run is None and not self.error:
            self._start(item.session)
        if self.error:
            pytest.fail(self.error, pytrace=False)
        assert self.run is not None
        for check in self.run.checks:
            if check.check == item.check:
                return check
        if self.run.finished:
            pytest.skip(f"not a check of the {self.run.profile} profile")
        pytest.fail(f"oms-conformance: {item.check} did not run: {self.run.incomplete_reason}", pytrace=False)

    def _start(self, session: pytest.Session) -> None:
        from conformance.runner.session import Session
        from conformance.target import load_target

        # Only the checks whose items are still selected: a deselected check sends nothing either.
        self.options.checks = [i.check for i in session.items if isinstance(i, _CheckItem)]
        try:
            target = load_target(self.target_file)
            run = Session(target, self.options, report_dir=self.report_dir)
            self.run = run.run()
        except ConformanceError as exc:  # a bad target file, a failing token command, strict without a token
            self.error = f"oms-conformance: {exc}"
            return
        if run.signal_received:
            # The session turned the signal into a clean stop (and wrote the reports); end pytest as the
            # CLI ends its run.
            code = ExitCode.INTERRUPTED if run.signal_received == "SIGINT" else ExitCode.TERMINATED
            pytest.exit(f"oms-conformance: interrupted by {run.signal_received}", returncode=int(code))


class _SuiteCollector(pytest.Collector):
    def collect(self) -> Iterator[pytest.Item]:  # type: ignore[override]
        return iter(())  # the items are made in pytest_collection_modifyitems, from the registry


class _CheckItem(pytest.Item):
    def __init__(self, *, check: str, suite: _Suite, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.suite = suite

    def runtest(self) -> None:
        result = self.suite.result_of(self)
        if result.verdict is Verdict.NOT_RUN:
            pytest.skip(result.reason)
        if result.verdict is Verdict.INCONCLUSIVE:
            pytest.skip("inconclusive: " + "; ".join(f"{r}: {why}" for r, why in result.inconclusive.items()))
        if result.verdict in (Verdict.FAIL, Verdict.FLAKY):
            lines = [f"{f.requirement} {f.title}\n{f.text()}\n{f.curl}" for f in result.failures]
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
    options: dict[str, Any] = {"profile": Profile.HUAWEI, "faults": ["prefer"]}
    options.update(getattr(request, "param", None) or {})
    return options


class ServerPool:
    """The servers of one pytest session: one reference server per distinct set of options (the faults
    aside: a reset sets those), and one validating proxy per server and proxy options, each started when a
    test first asks for it and stopped when the session ends - as pytest-httpserver keeps one server per
    session and clears it between tests. A server and its proxy cost about a third of a second per test to
    start and stop (uvicorn's graceful shutdown, mostly); a reset costs about 0.3 ms.

    Options that cannot be compared as plain data (a ``Fixtures`` object, a ``Path``, an ``on_violation``
    callback) or that name a ``db_path`` (its state is the test's to keep) are not shared: such a test gets
    a server or proxy of its own, started and stopped around it, as before.
    """

    def __init__(self) -> None:
        self._servers: dict[str, Any] = {}
        self._proxies: dict[tuple[str, str], Any] = {}

    def server(self, options: dict[str, Any]) -> Any | None:
        """The shared server for ``options``, reset, with their faults; None if they are not shareable."""
        shape = {name: value for name, value in options.items() if name != "faults"}
        key = None if "db_path" in shape else _key_of(shape)
        if key is None:
            return None
        server = self._servers.get(key)
        if server is None or not server.running:  # a test may have stopped it: the next one gets another
            from conformance.server import ReferenceServer

            server = self._servers[key] = ReferenceServer(**shape).start()
        server.reset(faults=options.get("faults", ()))
        return server

    def proxy(self, server: Any, options: dict[str, Any]) -> Any | None:
        """The shared proxy in front of ``server`` for ``options``, reset; None if not shareable (nor is a
        proxy in front of a server of the test's own: its port may serve another server later)."""
        key = _key_of(options)
        if key is None or not any(server is shared for shared in self._servers.values()):
            return None
        proxy = self._proxies.get((server.base_url, key))
        if proxy is None or not proxy.running:
            from conformance.proxy import ProxyServer

            proxy = ProxyServer(server.base_url, server.app.profile, **options).start()
            self._proxies[server.base_url, key] = proxy
        proxy.reset()
        return proxy

    def stop(self) -> None:
        for running in [*self._proxies.values(), *self._servers.values()]:  # proxies first: they forward
            running.stop()
        self._proxies.clear()
        self._servers.clear()


def _key_of(options: dict[str, Any]) -> str | None:
    try:
        return json.dumps(options, sort_keys=True)
    except TypeError:  # not plain data: no way to tell two such option sets apart safely
        return None


@pytest.fixture(scope="session")
def oms_server_pool() -> Iterator[ServerPool]:
    """The session's shared reference servers and proxies (:class:`ServerPool`); stopped at its end."""
    pool = ServerPool()
    yield pool
    pool.stop()


@pytest.fixture
def oms_reference_server(oms_server_options: dict[str, Any], oms_server_pool: ServerPool) -> Iterator[Any]:
    """A reference server on a loopback port: ``.base_url``, ``.target`` (credentials), ``.app``.

    Shared by the tests of a session with the same options and reset before each (task groups at their
    fixture statuses, this test's faults only, counters at 0), so each test sees it as fresh; a test whose
    options cannot be shared (see :class:`ServerPool`) gets one of its own.
    """
    shared = oms_server_pool.server(oms_server_options)
    if shared is not None:
        yield shared
        return
    from conformance.server import ReferenceServer

    with ReferenceServer(**oms_server_options) as server:
        yield server


@pytest.fixture
def oms_proxy_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Keyword arguments for ProxyServer besides upstream and profile (e.g. ``{"enforce": True}``)."""
    return dict(getattr(request, "param", None) or {})


@pytest.fixture
def oms_validating_proxy(
    oms_reference_server: Any, oms_proxy_options: dict[str, Any], oms_server_pool: ServerPool
) -> Iterator[Any]:
    """The reference server behind a validating proxy; point the client at ``.base_url``.

    The test fails if a violation is still recorded when it ends: a client violation always, a server
    violation only when the server was not asked for faults (``oms_server_options["faults"]`` beyond
    ``prefer``) - a test that injects them expects the server to break the contract, and asserts on its
    own client's side. A test that provokes violations on purpose takes them with
    ``.take_violations(side="client")`` (or ``"server"``, or no side: both). Shared and reset like the
    server (no violations, counters at 0).
    """
    shared = oms_server_pool.proxy(oms_reference_server, oms_proxy_options)
    if shared is not None:
        yield shared
        return
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
