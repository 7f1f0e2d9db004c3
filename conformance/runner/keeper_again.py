"""The shared-keeper checks again, on a fresh group, when the keeper turned out not pausable (strict).

On strict there is no read operation: the checks whose requests must leave a group pausable (bad credentials,
look-alikes, other methods ...) probe the keeper first, and only its first valid stop - the effect check's -
can say it was still pausable. When that stop is refused as not pausable, nothing tells a group stale before
the run (a second night against the same account: the first night paused it) from one the probes paused
without saying so; their verifications are undecided. The first listed group is the keeper every night, so
without this a second night left every one of them inconclusive.

So, once a run, those checks are run again with the next fresh listed group as keeper, and a valid stop of
that group settles them (checks/machinery/pool.py). It costs one more listed group, only on a night whose
keeper was refused; where no fresh group is left, the first results stand and a note says why. A check that
found a failure the first time keeps it: it is not run again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping, Sequence

from conformance.checks.machinery.base import NotRun
from conformance.checks.machinery.context import CheckContext
from conformance.checks.machinery.registry import CheckEntry
from conformance.results import CheckResult, Verdict


async def keeper_checks_again(
    context: CheckContext,
    results: MutableMapping[str, CheckResult],
    specs: Sequence[CheckEntry],
    run: Callable[[CheckEntry], Awaitable[CheckResult]],
) -> None:
    """Run again, on a fresh keeper, the checks the stale keeper left undecided, and settle them; ``results``:
    the run's results so far, by check, where the new attempts replace the first."""
    pool = context.pool
    if pool.stale_keeper is None:
        return
    (old, names), pool.stale_keeper = pool.stale_keeper, None  # once a run
    again = [s for s in specs if s.name in names and s.name in results and not results[s.name].failures]
    if not again:
        return
    why = f"the shared group {old} was refused as not pausable at its first valid stop (stale, or paused by "
    why += "these checks' requests: strict cannot tell which)"
    try:
        keeper = await pool.borrow_keeper()
    except NotRun as exc:
        for spec in again:
            results[spec.name].notes.append(f"not run again on another group: {why}; {exc}")
        return
    for spec in again:
        rerun = await run(spec)
        if rerun.verdict is Verdict.NOT_RUN:
            results[spec.name].notes.append(f"not run again on {keeper}: {rerun.reason}")
            continue
        # The first attempt's undecided verifications give way to this attempt's (settled below), and are
        # kept as its evidence: they are why it ran again.
        undecided = [(item[1], item[2]) for item in pool.late_inconclusive if item[0] == spec.name]
        pool.late_inconclusive = [item for item in pool.late_inconclusive if item[0] != spec.name]
        said = f"run again on {keeper}: {why}"
        results[spec.name] = with_first_attempt(rerun, results[spec.name], undecided, old, said)


def with_first_attempt(
    rerun: CheckResult, first: CheckResult, undecided: Sequence[tuple[str, str]], old: str, why: str
) -> CheckResult:
    """The re-run's result, which decides, carrying what the first attempt (on ``old``) established: after
    ``why`` (first, as before), its notes, what it left undecided and why (``undecided``: its late verdicts,
    (requirement, why)), and its requests and time - each attempt's recorder counted only its own, so the sum
    counts each request once."""
    left = {**first.inconclusive, **dict(undecided)}
    earlier = [f"first attempt, on {old}: {note}" for note in first.notes]
    earlier += [
        f"first attempt, on {old}, left {requirement} undecided: {reason}"
        for requirement, reason in left.items()
    ]
    rerun.notes[:0] = [why, *earlier]
    rerun.requests += first.requests
    rerun.duration_s = round(rerun.duration_s + first.duration_s, 3)
    return rerun
