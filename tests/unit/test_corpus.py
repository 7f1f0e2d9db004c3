"""The fuzz corpus (machinery/corpus.py): the same cases for the same seed however they are generated - in
process, in a background thread, in worker processes, read back from the cache, in a process that
imported other modules - and a cache hit generates nothing."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.checks.machinery import corpus as corpus_module
from conformance.checks.machinery.corpus import corpus
from conformance.checks.machinery.generation import GeneratedCase, generate
from conformance.spec import load_contract

SEED, EXAMPLES, OWN = 7, 8, "proj-a-0001"
ROOT = Path(__file__).resolve().parents[2]


def _collect(parallel: bool | None) -> list[GeneratedCase]:
    async def main() -> list[GeneratedCase]:
        document = load_contract("strict").document
        out: list[GeneratedCase] = []
        async for plan in corpus(document, seed=SEED, examples=EXAMPLES, own_project=OWN, parallel=parallel):
            out += plan
        return out

    return asyncio.run(main())


@pytest.fixture(scope="module")
def reference() -> list[GeneratedCase]:
    return list(generate(load_contract("strict").document, seed=SEED, examples=EXAMPLES, own_project=OWN))


def test_every_way_of_generating_gives_the_same_cases(
    reference: list[GeneratedCase], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMS_CONFORMANCE_CACHE", "off")
    assert {c.source for c in reference} == {"coverage", "positive", "negative"}
    assert _collect(parallel=False) == reference  # a background thread
    assert _collect(parallel=True) == reference  # worker processes (spawned: nothing inherited)

    monkeypatch.setenv("OMS_CONFORMANCE_CACHE", str(tmp_path))
    assert _collect(parallel=False) == reference  # generated, then written
    assert len(list(tmp_path.glob("*.json"))) == 1

    def no_generation(*_args: object, **_kwargs: object) -> list[GeneratedCase]:
        raise AssertionError("a cached corpus was generated again")

    monkeypatch.setattr(corpus_module, "generate_plan", no_generation)
    assert _collect(parallel=False) == reference  # read back, field for field


@pytest.fixture
def deep_from_eight(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """EXAMPLES counts as deep (worker processes), and how many executors of processes were made."""
    monkeypatch.setattr(corpus_module, "PARALLEL_FROM", EXAMPLES)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    made: list[int] = []
    processes = corpus_module._processes

    def counted(workers: int) -> Any:
        made.append(workers)
        return processes(workers)

    monkeypatch.setattr(corpus_module, "_processes", counted)
    yield made
    corpus_module.stop_workers()


def test_workers_started_ahead_are_the_ones_the_corpus_draws_in(
    reference: list[GeneratedCase], deep_from_eight: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMS_CONFORMANCE_CACHE", "off")
    corpus_module.start_workers(EXAMPLES)
    assert deep_from_eight == [2]
    assert _collect(parallel=None) == reference
    assert deep_from_eight == [2] and corpus_module._early is None  # taken, and none made besides


def _workers_of(executor: Any) -> list[Any]:
    return list(executor._processes.values())  # shutdown() forgets them: taken before


def _all_ended(processes: list[Any]) -> bool:
    # Polled, not joined: the executor's own thread reaps them too, and a join that loses that race to
    # waitpid() returns with the process still looking alive for a moment.
    deadline = time.monotonic() + 60  # only a bound on a hang
    while any(process.is_alive() for process in processes) and time.monotonic() < deadline:
        time.sleep(0.01)
    return bool(processes) and not any(process.is_alive() for process in processes)


def test_workers_no_corpus_takes_end_when_told(deep_from_eight: list[int]) -> None:
    corpus_module.start_workers(EXAMPLES)
    assert corpus_module._early is not None
    workers = _workers_of(corpus_module._early.executor)
    corpus_module.stop_workers()
    assert corpus_module._early is None and _all_ended(workers)


def test_a_replayed_seed_ends_the_workers_started_ahead(
    reference: list[GeneratedCase],
    deep_from_eight: list[int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OMS_CONFORMANCE_CACHE", str(tmp_path))
    assert _collect(parallel=False) == reference  # fills the cache
    corpus_module.start_workers(EXAMPLES)
    assert corpus_module._early is not None
    workers = _workers_of(corpus_module._early.executor)
    assert _collect(parallel=None) == reference  # read back: no plan for them to draw
    assert corpus_module._early is None and _all_ended(workers)
    assert deep_from_eight == [2]


def test_a_damaged_cache_file_is_generated_afresh(
    reference: list[GeneratedCase], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMS_CONFORMANCE_CACHE", str(tmp_path))
    document = load_contract("strict").document
    key = corpus_module.corpus_key(document, seed=SEED, examples=EXAMPLES, own_project=OWN)
    (tmp_path / f"{key}.json").write_text('[[{"source": "coverage"', encoding="utf-8")
    assert _collect(parallel=False) == reference


def test_the_cases_do_not_depend_on_what_the_process_imported(reference: list[GeneratedCase]) -> None:
    # Hypothesis draws literals from loaded local modules unless generation.py hides them.
    script = (
        "import json, dataclasses, conformance.runner.engine, conformance.server, conformance.cli.run_cmd\n"
        "from conformance.checks.machinery.generation import generate\n"
        "from conformance.spec import load_contract\n"
        f"cases = generate(load_contract('strict').document, seed={SEED}, examples={EXAMPLES}, "
        f"own_project={OWN!r})\n"
        "print(json.dumps([dataclasses.asdict(c) for c in cases]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300, check=True
    )
    expected = json.loads(json.dumps([dataclasses.asdict(c) for c in reference]))
    assert json.loads(out.stdout) == expected


@pytest.mark.parametrize("library", ["oms-conformance", "schemathesis", "hypothesis"])
def test_an_upgrade_never_replays_another_generators_cases(
    library: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = load_contract("strict").document
    before = corpus_module.corpus_key(document, seed=SEED, examples=EXAMPLES, own_project=OWN)
    if library == "oms-conformance":
        monkeypatch.setattr(corpus_module, "__version__", "99.0.0")
    else:
        import importlib.metadata

        installed = importlib.metadata.version
        monkeypatch.setattr(
            importlib.metadata, "version", lambda name: "99.0.0" if name == library else installed(name)
        )
    assert corpus_module.corpus_key(document, seed=SEED, examples=EXAMPLES, own_project=OWN) != before


def test_a_deep_corpus_is_drawn_in_even_chunks_decided_by_the_example_count_alone() -> None:
    from conformance.checks.machinery.generation import CHUNK, _chunk, plans_for

    assert plans_for(EXAMPLES) == ("coverage", "positive:0", "negative:0")
    plans = plans_for(2 * CHUNK + 1)
    assert plans == ("coverage", *(f"{m}:{i}" for m in ("positive", "negative") for i in range(3)))
    chunks = [_chunk(plan, SEED, 2 * CHUNK + 1) for plan in plans[1:4]]
    assert sum(share for _, _, share in chunks) == 2 * CHUNK + 1  # every example drawn, in one chunk only
    assert max(share for *_, share in chunks) <= CHUNK
    assert len({chunk_seed for _, chunk_seed, _ in chunks}) == 3  # each chunk draws other cases
    assert _chunk("positive:0", SEED, EXAMPLES) == ("positive", SEED, EXAMPLES)


def test_every_positive_case_comes_again_in_the_own_project(reference: list[GeneratedCase]) -> None:
    positive = [c for c in reference if c.source == "positive"]
    own = [c for c in positive if c.project_id == OWN]
    elsewhere = [c for c in positive if c.project_id != OWN]
    assert elsewhere, "the positive draw varies the project id"
    pinned = {(c.group_id, c.token, c.extra_headers) for c in own}
    assert all((c.group_id, c.token, c.extra_headers) in pinned for c in elsewhere)
