"""The private seams (conformance/_seams/): tripwires that name the library and version when an internal
moves, and tests of what each seam must deliver - not only that it runs.

At the lowest allowed versions too: .ci/run runs this file in its second environment.
"""

from __future__ import annotations

import collections
import json
import os
import pickle
import subprocess
import sys
import threading
from importlib.metadata import version
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis.internal.conjecture import providers

from conformance._seams import SeamChanged
from conformance._seams import hypothesis as hypothesis_seam
from conformance._seams import schemathesis as schemathesis_seam
from conformance._seams import uvicorn as uvicorn_seam
from conformance.checks.machinery.generation import REQUIREMENT_BY_PARAMETER, TOKEN, GeneratedCase, generate
from conformance.cli import main
from conformance.spec import load_contract

SEED, EXAMPLES, OWN = 7, 25, "proj-a-0001"  # the default run's example count


@pytest.mark.parametrize("seam", [hypothesis_seam, schemathesis_seam, uvicorn_seam], ids=lambda s: s.__name__)
def test_every_seam_holds_on_the_installed_versions(seam: Any) -> None:
    seam.check()


def test_uvicorns_on_response_complete_is_one_the_copy_was_checked_against() -> None:
    # connections.py replaces it (less the keep-alive timer): a new variant must be compared with the copy.
    found = uvicorn_seam.fingerprint(uvicorn_seam.HttpToolsProtocol.on_response_complete)
    assert found in uvicorn_seam.ON_RESPONSE_COMPLETE, (
        f"uvicorn {version('uvicorn')}: HttpToolsProtocol.on_response_complete changed "
        f"(fingerprint {found}); compare it with BoundedHttpToolsProtocol.on_response_complete, "
        "then add the fingerprint"
    )


def test_a_moved_internal_fails_naming_the_library_and_its_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(uvicorn_seam.HttpToolsProtocol, "send_400_response", None)
    with pytest.raises(SeamChanged) as raised:
        uvicorn_seam.check()
    assert f"uvicorn {version('uvicorn')}: HttpToolsProtocol has no send_400_response" in str(raised.value)
    assert "was verified with uvicorn" in str(raised.value)


def test_a_seam_change_in_a_worker_process_arrives_whole() -> None:
    error = SeamChanged("schemathesis", "CoveragePhaseData has no mutations")
    again = pickle.loads(pickle.dumps(error))
    assert (type(again), again.message, again.distribution) == (SeamChanged, error.message, "schemathesis")


def test_a_run_on_a_moved_seam_stops_with_the_reason(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def moved() -> None:
        raise SeamChanged("schemathesis", "CoveragePhaseData has no mutations")

    monkeypatch.setattr(schemathesis_seam, "check", moved)
    schemathesis_seam.checked.cache_clear()
    monkeypatch.setenv("OMS_CONFORMANCE_CACHE", "off")
    try:
        result = CliRunner().invoke(main, ["run", "--report-dir", str(tmp_path)])
    finally:
        schemathesis_seam.checked.cache_clear()
    assert result.exit_code == 2
    reason = f"error: schemathesis {version('schemathesis')}: CoveragePhaseData has no mutations"
    assert reason in result.stderr
    assert "Install a version of that library in the range named" in result.stderr


def test_hypothesis_drawing_constants_elsewhere_is_a_seam_change(monkeypatch: pytest.MonkeyPatch) -> None:
    def draws_without_the_pool(self: Any, *args: Any, **kwargs: Any) -> None:
        return None

    monkeypatch.setattr(providers.HypothesisProvider, "_maybe_draw_constant", draws_without_the_pool)
    with pytest.raises(SeamChanged, match=rf"^hypothesis {version('hypothesis')}: "):
        hypothesis_seam.check()


def test_the_utf8_table_given_is_the_one_hypothesis_scans_for(tmp_path: Path) -> None:
    # Hypothesis's own scan of every code point, in a process that never imported the seam, with an empty
    # storage directory (nothing cached): the value the seam gives must be that one, or draws would differ.
    script = (
        "import json\n"
        "from hypothesis.internal import charmap\n"
        "table = charmap.intervals_from_codec('utf-8')\n"
        "print(json.dumps([s.intervals for s in table] if isinstance(table, tuple) else table.intervals))\n"
    )
    env = {**os.environ, "HYPOTHESIS_STORAGE_DIRECTORY": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    from hypothesis.internal import charmap

    hypothesis_seam.known_utf8_table()
    given = charmap.intervals_from_codec("utf-8")
    assert getattr(charmap.intervals_from_codec, "oms_conformance_seam", False)
    given_intervals = [s.intervals for s in given] if isinstance(given, tuple) else given.intervals
    assert json.loads(out.stdout) == json.loads(json.dumps(given_intervals))


def test_drawing_scans_for_no_codec_and_keeps_hypothesis_out_of_the_working_directory(tmp_path: Path) -> None:
    # A machine that never ran the tool (a fresh CI container): Hypothesis's storage does not exist yet.
    # Each plan kind is drawn, the positive first, as a worker process that never draws the coverage
    # phase would.
    work, tmp = tmp_path / "work", tmp_path / "tmp"
    work.mkdir()
    tmp.mkdir()
    script = (
        "from conformance.checks.machinery.generation import generate_plan\n"
        "from conformance.spec import load_contract\n"
        "document = load_contract('strict').document\n"
        "for plan in ('positive:0', 'negative:0', 'coverage'):\n"
        f"    assert generate_plan(document, plan, seed={SEED}, examples=8, own_project={OWN!r})\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_STORAGE_DIRECTORY"} | {"TMPDIR": str(tmp)}
    subprocess.run([sys.executable, "-c", script], cwd=work, env=env, timeout=120, check=True)
    assert list(work.iterdir()) == []  # no .hypothesis left in the user's directory
    storage = tmp / "oms-conformance-hypothesis"
    assert list(storage.rglob("charmap.json.gz"))  # Hypothesis kept its caches, in the tool's place
    assert list(storage.rglob("codec-*")) == []  # and scanned for no codec table


def test_a_codec_table_asked_for_elsewhere_is_a_seam_change(monkeypatch: pytest.MonkeyPatch) -> None:
    from hypothesis.internal import charmap

    monkeypatch.setattr(charmap, "intervals_from_codec", lambda codec, errors="strict": None)
    with pytest.raises(SeamChanged, match=rf"^hypothesis {version('hypothesis')}: .*intervals_from_codec"):
        hypothesis_seam.check()


def test_a_case_that_no_longer_describes_itself_is_refused_not_guessed() -> None:
    meta = SimpleNamespace(generation=SimpleNamespace(mode=SimpleNamespace(value="negative")), phase=object())
    with pytest.raises(SeamChanged, match=rf"^schemathesis {version('schemathesis')}: "):
        schemathesis_seam.facts(SimpleNamespace(meta=meta))


def test_hidden_constants_are_hidden_in_the_drawing_thread_only() -> None:
    original = providers._get_local_constants
    real_pool = original()
    inside, elsewhere = threading.Event(), threading.Event()
    seen: dict[str, Any] = {}

    def draw() -> None:
        with hypothesis_seam.seed_only():
            seen["inside"] = providers._get_local_constants()
            inside.set()
            elsewhere.wait(10)

    worker = threading.Thread(target=draw)
    worker.start()
    assert inside.wait(10)
    seen["elsewhere"] = providers._get_local_constants()  # this thread, while the worker is inside
    elsewhere.set()
    worker.join(10)
    assert len(seen["inside"]) == 0
    assert seen["elsewhere"] is real_pool
    assert providers._get_local_constants is original  # put back once the last thread left


@pytest.fixture(scope="module", params=["strict", "huawei"])
def profile(request: pytest.FixtureRequest) -> tuple[str, list[GeneratedCase]]:
    document = load_contract(request.param).document
    return request.param, list(generate(document, seed=SEED, examples=EXAMPLES, own_project=OWN))


def test_the_corpus_negates_every_parameter_and_the_token(profile: tuple[str, list[GeneratedCase]]) -> None:
    name, cases = profile
    # What the seam must deliver: without it the token cases lose their token, or a negated token is
    # judged as a legal one ("did not reach the application").
    negated = collections.Counter((c.source, c.negated) for c in cases)
    for parameter in REQUIREMENT_BY_PARAMETER:
        assert negated["coverage", parameter] > 0, f"no coverage case negates {parameter}"
    for parameter in ("project_id", TOKEN):  # the negative plan's, at this seed
        assert negated["negative", parameter] > 0, f"no negative case negates {parameter}"
    negative = [c for c in cases if c.source == "negative"]
    assert negative and all(c.negated for c in negative), "a negative case negates nothing"
    assert all(c.varies_token for c in cases if c.negated == TOKEN)
    if name == "strict":  # the token is a required header there: one case leaves it out
        assert any(c.token is None for c in cases if c.negated == TOKEN)
