"""The fuzz corpus (machinery/corpus.py): the same cases for the same seed however they are generated - in
process, in a background thread, in worker processes, read back from the cache, in a process that
imported other modules - and a cache hit generates nothing."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

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
