"""One run from start to finish, as the CLI and the pytest plugin need it: pick the target (the embedded
reference server when none is given), load the baseline before anything is sent, run the suite with signals
turned into a clean stop, apply the baseline, write the reports - even when the run was interrupted, the
target died or the configuration stopped it before its first request.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from conformance.errors import ConfigError
from conformance.options import RunOptions
from conformance.results import RunResult, StopReason
from conformance.runner.control import RunControl
from conformance.runner.engine import Progress, Sending, execute
from conformance.spec import Profile, load_contract
from conformance.target import Target

if TYPE_CHECKING:
    from conformance.runner.embedded import EmbeddedServer

SIGNAL_NAMES = {signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM"}


def run_suite(target: Target | None = None, options: RunOptions | None = None) -> RunResult:
    """Run the suite and return the result, writing no report; ``target=None`` is the embedded server."""
    return Session(target, options or RunOptions(), report_dir=None).run()


def tls_record(base_url: str, verify: bool | str) -> dict[str, object]:
    """What every report says of TLS: whether the target's certificate was verified, against what. An
    unverified run (--insecure) says so in every format (reports/_common.py verdict_notes, JUnit, SARIF)."""
    if verify is False:
        return {"tls_verified": False, "tls": "certificate not verified (--insecure)"}
    if not base_url.lower().startswith("https:"):
        return {}
    if isinstance(verify, str):
        return {"tls_verified": True, "tls": f"certificate verified against --ca-bundle {verify}"}
    # httpx's default: certifi's bundle, unless SSL_CERT_FILE or SSL_CERT_DIR names another.
    source = next(
        (f"{name}={os.environ[name]}" for name in ("SSL_CERT_FILE", "SSL_CERT_DIR") if os.environ.get(name)),
        "the certifi CA bundle",
    )
    return {"tls_verified": True, "tls": f"certificate verified against {source}"}


@dataclass
class Session:
    target: Target | None  # None: the embedded reference server
    options: RunOptions
    report_dir: Path | None = Path("reports")
    formats: tuple[str, ...] = ("json", "junit", "md", "html", "sarif")
    baseline: Path | None = None
    progress: Progress | None = None
    sending: Sending | None = None  # every answer of a scenario check (live progress: cli/progress.py)
    # The embedded server when target is None, if the caller started it early (None: started here).
    embedded: EmbeddedServer | None = None
    signal_received: str = ""
    written: list[Path] = field(default_factory=list)

    def run(self) -> RunResult:
        baseline = None
        try:  # before anything is sent: a bad baseline must not cost a whole run, then fail it
            if self.baseline is not None:  # conformance.baseline imported only then
                from conformance.baseline import load_baseline

                baseline = load_baseline(self.baseline)
        except ConfigError as exc:
            self._write(self._not_started(exc), self.target)
            raise
        with self._target() as target:
            try:
                result = self._execute(target)
            except ConfigError as exc:  # found before any answer came: a refused TLS certificate
                self._write(self._not_started(exc), target)
                raise
        from conformance.reports.reproduce import default_run_id

        # The embedded server's port changes every run: reports need to know it was the embedded one
        # (its Reproduce line names no target file, its run id stays the same from night to night).
        result.target["embedded"] = self.target is None
        result.target.update(tls_record(target.base_url, self.options.verify))
        result.run_id = result.run_id or default_run_id(result)
        if baseline is not None:
            from conformance.baseline import apply_baseline

            apply_baseline(result, baseline, date.today())
        self._write(result, target)
        return result

    def _write(self, result: RunResult, target: Target | None) -> None:
        if self.report_dir is not None:
            from conformance.reports import write_reports

            secrets = target.secrets() if target is not None else []
            self.written = write_reports(result, self.report_dir, self.formats, secrets=secrets)

    def _not_started(self, error: ConfigError) -> RunResult:
        """The report that can be written when the configuration stops a run before its first request."""
        profile = self.options.profile or (self.target.profile if self.target else Profile.STRICT)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        return RunResult.begin(
            load_contract(profile),
            self.target.describe() if self.target else {"base_url": "embedded reference server"},
            seed=self.options.seed or 0,
            depth=self.options.depth,
            started_at=now,
            finished_at=now,
            stop_reason=StopReason.NOT_STARTED,
            incomplete_reason=f"not started: configuration error: {error.message}",
        )

    @contextlib.contextmanager
    def _target(self) -> Iterator[Target]:
        if self.target is not None:
            yield self.target
            return
        from conformance.runner.embedded import EmbeddedServer

        # Started already when the CLI could start it before importing the run (run_cmd.py).
        server = self.embedded or EmbeddedServer(self.options.profile or Profile.STRICT).start()
        try:
            # What the run's end imports anyway (~25 ms), imported while the server's process starts on the
            # other core: this one would otherwise wait for it idle.
            import conformance.reports.reproduce  # noqa: F401

            yield server.target()
        finally:
            server.stop()

    def _execute(self, target: Target) -> RunResult:
        from conformance.checks.suite import BUILTIN

        loop = asyncio.new_event_loop()
        control = RunControl()
        run = execute(
            target, self.options, self.progress, self.sending, checks=tuple(BUILTIN), control=control
        )
        task = loop.create_task(run)
        control.attach(task)

        def interrupt(sig: signal.Signals) -> None:
            self.signal_received = SIGNAL_NAMES[sig]
            control.stop(f"interrupted by {SIGNAL_NAMES[sig]}")

        installed = []
        for sig in SIGNAL_NAMES:
            with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):  # not the main thread
                loop.add_signal_handler(sig, interrupt, sig)
                installed.append(sig)
        try:
            return loop.run_until_complete(task)
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)
            loop.close()
