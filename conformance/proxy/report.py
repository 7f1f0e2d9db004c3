"""A proxy session as a RunResult, so that ``write_reports`` renders it in the same formats as ``run``.

The proxy has two checks: ``proxy-request`` (the client's side of the contract) and ``proxy-response`` (the
upstream's, judged by the run's own response oracles). Each violation becomes a Failure of one of them;
a side that saw no traffic is "not run" rather than a pass.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from conformance.proxy.app import ValidatingProxy
from conformance.proxy.rules import REQUEST_REQUIREMENTS, response_requirements
from conformance.results import CheckResult, RunResult, Verdict

_DESCRIPTIONS = {
    "proxy-request": "The client sends the stop operation as the contract allows (live traffic)",
    "proxy-response": "The upstream answers as the contract allows (live traffic)",
}


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")


def proxy_run_result(proxy: ValidatingProxy, finished: float | None = None) -> RunResult:
    """What the proxy saw, as a RunResult (its violations stay in the proxy)."""
    finished = time.time() if finished is None else finished
    run = RunResult.begin(
        proxy.contract,
        {
            "base_url": proxy.upstream,
            "mode": "proxy",
            "enforce": proxy.enforce,
            "profile": proxy.profile,
        },
        seed=0,
        depth="proxy",
        started_at=_iso(proxy.started_at),
        finished_at=_iso(finished),
        duration_s=round(finished - proxy.started_at, 3),
        status_counts=dict(proxy.status_counts),
        latencies_ms=list(proxy.latencies_ms),
    )
    requirements = {
        "proxy-request": REQUEST_REQUIREMENTS,
        "proxy-response": response_requirements(proxy.profile),
    }
    for check, reqs in requirements.items():
        failures = [v.failure for v in proxy.violations if v.check == check]
        notes = []
        if proxy.dropped_violations:
            notes.append(f"{proxy.dropped_violations} further violations were not kept (limit reached)")
        if check == "proxy-response" and proxy.upstream_errors:
            notes.append(f"{proxy.upstream_errors} requests got no answer from the upstream (answered 502)")
        if failures:
            verdict, reason = Verdict.FAIL, ""
        elif proxy.requests:
            verdict, reason = Verdict.PASS, ""
        else:
            verdict, reason = Verdict.NOT_RUN, "no traffic went through the proxy"
        run.checks.append(
            CheckResult(
                check=check,
                requirements=reqs,
                description=_DESCRIPTIONS[check],
                verdict=verdict,
                reason=reason,
                failures=failures,
                requests=proxy.requests,
                duration_s=run.duration_s,
                notes=notes,
            )
        )
    return run
