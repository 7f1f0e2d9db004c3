"""The fuzz check's cases, generated off the critical path: cached, pipelined, and in parallel when deep.

The positive and negative cases (machinery/generation.py, machinery/negative.py) need up to ~1 ms of CPU each;
the reference server answers a request in well under 1 ms. Sending one case as it is generated makes a deep
run measure Hypothesis, not the target. Three things move generation out of the way, none of which
changes a single case:

- A corpus cache: the cases of (contract document, seed, example count, own project, and the versions of
  this tool, Schemathesis and Hypothesis - an upgrade of any of them never replays cases another generator
  drew) are written once to ``$OMS_CONFORMANCE_CACHE`` (default
  ``$XDG_CACHE_HOME/oms-conformance/corpus``; ``off`` disables it) and read back by every later run with the
  same key - a nightly job that replays a seed, a re-run, a benchmark. Unreadable files are regenerated.
- A pipeline: plans (machinery/generation.py: the coverage phase, then chunks of at most 500 examples) are
  yielded one at a time, so the check sends the first cases while the later chunks are still being drawn.
- Worker processes for deep runs (``PARALLEL_FROM`` examples or more): the chunks are drawn side by side on
  separate cores, evenly (a whole negative plan, drawn alone, left one core idle at the end). A process
  costs ~1 s to start (importing Hypothesis; the one drawing the coverage phase imports Schemathesis too),
  more than a quick run's whole generation, so quick runs
  draw in one background thread instead.

Every path yields the plans in the same order with the same cases (tests/unit/test_corpus.py).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import multiprocessing
import os
from collections.abc import AsyncGenerator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from conformance._version import __version__
from conformance.checks.machinery.generation import GeneratedCase, generate_plan, plans_for, warm_up

FORMAT = (
    5  # bump when GeneratedCase, the decoding or a generator changes: old cache files are then never read
)
PARALLEL_FROM = 500  # examples per mode from which worker processes pay for their start-up
KEEP = 16  # cached corpora kept; the oldest are removed


def cache_dir() -> Path | None:
    configured = os.environ.get("OMS_CONFORMANCE_CACHE", "")
    if configured.lower() in ("off", "0", "no", "false"):
        return None
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "oms-conformance" / "corpus"


def corpus_key(document: dict[str, Any], *, seed: int, examples: int, own_project: str | None) -> str:
    from importlib.metadata import version  # not importing them: Schemathesis takes ~0.5 s to import

    identity = {
        "format": FORMAT,
        "oms-conformance": __version__,
        "document": document,
        "seed": seed,
        "examples": examples,
        "own_project": own_project,
        "schemathesis": version("schemathesis"),
        "hypothesis": version("hypothesis"),
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _load(path: Path) -> list[list[GeneratedCase]] | None:
    try:
        plans = json.loads(path.read_text(encoding="utf-8"))
        return [
            [
                GeneratedCase(**{**case, "extra_headers": tuple(tuple(h) for h in case["extra_headers"])})
                for case in plan
            ]
            for plan in plans
        ]
    except (OSError, ValueError, TypeError, KeyError):
        return None  # absent, partly written by a crashed run, or an old shape: generate afresh


def _store(directory: Path, key: str, plans: list[list[GeneratedCase]]) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        scratch = directory / f".{key}.{os.getpid()}.tmp"
        scratch.write_text(json.dumps([[asdict(c) for c in plan] for plan in plans]), encoding="utf-8")
        scratch.replace(directory / f"{key}.json")  # atomic: a reader never sees half a corpus
        kept = sorted(directory.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in kept[KEEP:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass  # a cache that cannot be written costs the next run time, not this one its result


def _executor(plans: int, examples: int, *, parallel: bool | None) -> Executor:
    """Worker processes for a deep corpus on a machine with cores to spare, else one thread: either way
    every plan is submitted at once, so the next is drawn while the one before is being sent."""
    use = parallel if parallel is not None else _deep(examples)
    if not use:
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="oms-corpus")
    global _early
    early, _early = _early, None
    if early is not None and early.workers == _worker_count(plans):
        return early.executor
    if early is not None:
        _abandon(early.executor)
    return _processes(_worker_count(plans))


def _deep(examples: int) -> bool:
    return examples >= PARALLEL_FROM and (os.cpu_count() or 1) > 1


def _worker_count(plans: int) -> int:
    return min(plans, os.cpu_count() or 1)


def _processes(workers: int) -> ProcessPoolExecutor:
    # spawn: the run may hold threads (the embedded reference server), which fork would copy half-way.
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))


@dataclass
class _Early:
    executor: ProcessPoolExecutor
    workers: int


_early: _Early | None = None  # worker processes started ahead of the fuzz check (start_workers)


def start_workers(examples: int) -> None:
    """Start the worker processes a deep corpus of ``examples`` will draw in, now, ahead of the fuzz check
    that takes them: each one's start (an interpreter, then Hypothesis: ~0.15 s) then runs while the run
    itself imports and starts, on the other core, instead of before the first plan. The console script
    calls this from a glance at its arguments (conformance/__main__.py); workers no check takes end with
    the command (:func:`stop_workers`), or as soon as the corpus is read from the cache."""
    global _early
    if _early is not None or not _deep(examples):
        return
    workers = _worker_count(len(plans_for(examples)))
    executor = _processes(workers)
    for _ in range(workers):  # one each, as a rule: a worker busy importing leaves the next to the other
        executor.submit(warm_up)
    _early = _Early(executor, workers)


def stop_workers() -> None:
    """End the workers :func:`start_workers` started, if no corpus took them."""
    global _early
    early, _early = _early, None
    if early is not None:
        _abandon(early.executor)


def _abandon(executor: Executor) -> None:
    """Stop generating for a check that ended early (hangs, interrupted): a deep plan takes minutes."""
    processes = dict(getattr(executor, "_processes", None) or {})  # shutdown() forgets them
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes.values():
        process.terminate()


async def corpus(
    document: dict[str, Any],
    *,
    seed: int,
    examples: int,
    own_project: str | None,
    parallel: bool | None = None,
) -> AsyncGenerator[list[GeneratedCase], None]:
    """The cases plan by plan, in the order a plain :func:`generate` gives them.

    ``parallel``: True/False forces worker processes on/off; None decides by the example count.
    """
    directory = cache_dir()
    key = corpus_key(document, seed=seed, examples=examples, own_project=own_project)
    if directory is not None:
        cached = _load(directory / f"{key}.json")
        if cached is not None:
            stop_workers()  # started ahead for nothing: a replayed seed draws no plan
            for plan_cases in cached:
                yield plan_cases
            return
    plans = plans_for(examples)
    # generation.generate_plan itself goes to the workers, not a function of this module: unpickling it
    # imports generation.py alone, without this module's asyncio (~30 ms before a worker's first plan).
    draw = functools.partial(generate_plan, seed=seed, examples=examples, own_project=own_project)
    loop = asyncio.get_running_loop()
    executor = _executor(len(plans), examples, parallel=parallel)
    # Submitted in sending order: chunks of even size (generation.CHUNK) keep the cores evenly busy, and
    # the first chunks are sent while the later ones are drawn.
    pending: list[asyncio.Future[list[GeneratedCase]]] = []
    if isinstance(executor, ThreadPoolExecutor):
        # CPython 3.11 (3.11.7 here) counts AST depth once for the whole process: two threads making ASTs at
        # once fail with "SystemError: AST constructor recursion depth mismatch". A pytest session makes one
        # of every module of a plugin's distribution it imports (assertion rewriting: Schemathesis's, this
        # package's), and checks running beside fuzz (runner/lanes.py) import theirs meanwhile. So the first
        # plan (the coverage phase, which imports Schemathesis) is drawn here, before the thread starts, and
        # the thread imports nothing: the seam its plans use is imported here too.
        from conformance._seams import hypothesis as _hypothesis_seam  # noqa: F401

        pending.append(loop.create_future())
        pending[0].set_result(draw(document, plans[0]))
    pending += [loop.run_in_executor(executor, draw, document, plan) for plan in plans[len(pending) :]]
    done: list[list[GeneratedCase]] = []
    try:
        for future in pending:
            done.append(await future)
            yield done[-1]
    finally:
        if len(done) < len(plans):
            for future in pending:  # what is still running is not wanted, nor its failure
                future.cancel()
            _abandon(executor)
        else:
            executor.shutdown(wait=False)
    if directory is not None:
        _store(directory, key, done)
