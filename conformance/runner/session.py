"""One run from start to finish, as the CLI and the pytest plugin need it: pick the target (the embedded
reference server when none is given), run the suite with signals turned into a clean stop, apply the
baseline, write the reports - even when the run was interrupted or the target died.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from conformance.results import RunResult
from conformance.runner.engine import Progress, RunOptions, execute
from conformance.target import Target

SIGNAL_NAMES = {signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM"}


def run_suite(target: Target | None = None, options: RunOptions | None = None) -> RunResult:
    """Run the suite and return the result, writing no report; ``target=None`` is the embedded server."""
    return Session(target, options or RunOptions(), report_dir=None).run()


@dataclass
class Session:
    target: Target | None  # None: the embedded reference server
    options: RunOptions
    report_dir: Path | None = Path("reports")
    formats: tuple[str, ...] = ("json", "junit", "md", "html", "sarif")
    baseline: Path | None = None
    progress: Progress | None = None
    signal_received: str = ""
    written: list[Path] = field(default_factory=list)

    def run(self) -> RunResult:
        with self._target() as target:
            result = self._execute(target)
        from conformance.reports.reproduce import default_run_id

        # The embedded server's port changes every run: reports need to know it was the embedded one
        # (its Reproduce line names no target file, its run id stays the same from night to night).
        result.target["embedded"] = self.target is None
        result.run_id = result.run_id or default_run_id(result)
        if self.baseline is not None:
            from conformance.baseline import apply_baseline, load_baseline

            apply_baseline(result, load_baseline(self.baseline), date.today())
        if self.report_dir is not None:
            from conformance.reports import write_reports

            secrets = target.secrets()
            self.written = write_reports(result, self.report_dir, self.formats, secrets=secrets)
        return result

    @contextlib.contextmanager
    def _target(self) -> Iterator[Target]:
        if self.target is not None:
            yield self.target
            return
        from conformance.server import ReferenceServer

        with ReferenceServer(profile=self.options.profile or "strict") as server:
            yield server.target

    def _execute(self, target: Target) -> RunResult:
        loop = asyncio.new_event_loop()
        holder: dict[str, Any] = {}
        task = loop.create_task(
            execute(target, self.options, self.progress, lambda run: holder.update(run=run))
        )

        def interrupt(sig: signal.Signals) -> None:
            self.signal_received = SIGNAL_NAMES[sig]
            if "run" in holder:
                holder["run"].interrupted_by = f"interrupted by {SIGNAL_NAMES[sig]}"
            task.cancel()

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
