"""The run id: SARIF's ``automationDetails.id`` tells targets apart and stays the same for one target.

Code scanning keeps one set of alerts per category (the id up to its last ``/``): if two targets share it, one
target's alerts replace the other's; if one target's changes every night, every night opens new alerts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from conformance.reports import load_run, render_json, render_sarif, write_reports
from conformance.reports.reproduce import default_run_id, reproduce_command, run_id_of
from conformance.results import RunResult
from tests.reports.sample_runs import sample_run


def _automation_id(run: RunResult) -> str:
    return str(json.loads(render_sarif(run))["runs"][0]["automationDetails"]["id"])


def _against(run: RunResult, **target: object) -> RunResult:
    return replace(run, target={**run.target, **target})


def test_two_targets_get_two_ids_and_one_target_the_same_id_twice() -> None:
    night_1, night_2 = sample_run("huawei", seed=1), sample_run("huawei", seed=2)
    eu = _against(night_1, base_url="https://oms.eu-west-101.myhuaweicloud.eu")
    cn = _against(night_1, base_url="https://oms.cn-north-4.myhuaweicloud.com")
    other_project = _against(cn, project_id="0" * 32)
    ids = {_automation_id(r) for r in (eu, cn, other_project)}
    assert len(ids) == 3, ids
    # Another night (another seed, other results) against the same target: the same id.
    assert _automation_id(_against(night_2, base_url=cn.target["base_url"])) == _automation_id(cn)
    assert _automation_id(cn).startswith("oms-conformance/huawei-oms.cn-north-4.myhuaweicloud.com-")
    assert _automation_id(cn).endswith("/")
    # A profile is part of what a target is tested for: strict and huawei alerts stay apart too.
    assert default_run_id(replace(cn, profile="strict")) != default_run_id(cn)


def test_a_given_run_id_is_used_as_is() -> None:
    run = replace(sample_run(), run_id="nightly/eu-west")
    assert _automation_id(run) == "oms-conformance/nightly/eu-west/"


def test_the_embedded_server_keeps_one_id_whatever_its_port() -> None:
    first = _against(sample_run(), base_url="http://127.0.0.1:40001", embedded=True)
    second = _against(sample_run(), base_url="http://127.0.0.1:40002", embedded=True)
    assert run_id_of(first) == run_id_of(second) == "strict-embedded"
    assert reproduce_command(first) == "oms-conformance run --profile strict --depth standard --seed 20261103"
    assert "--target" in reproduce_command(_against(first, embedded=False))


def test_run_id_round_trips_and_older_files_without_it_still_load(tmp_path: Path) -> None:
    run = replace(sample_run(), run_id="nightly-a")
    (path,) = write_reports(run, tmp_path, ["json"])
    assert load_run(path).run_id == "nightly-a"
    data = json.loads(render_json(sample_run()))
    del data["run_id"]
    old = tmp_path / "old.json"
    old.write_text(json.dumps(data), encoding="utf-8")
    loaded = load_run(old)
    assert loaded.run_id == ""
    assert _automation_id(loaded) == f"oms-conformance/{default_run_id(loaded)}/"


def _run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conformance", "run", "--checks", "header-case", "--format", "json,sarif,md",
         "--seed", "3", *args],
        cwd=cwd, capture_output=True, text=True, timeout=120, env=dict(os.environ), check=False,
    )  # fmt: skip


@pytest.mark.slow
def test_cli_embedded_runs_share_an_id_and_run_id_overrides_it(tmp_path: Path) -> None:
    ids = []
    for name, extra in (("a", ()), ("b", ()), ("c", ("--run-id", "nightly/main"))):
        done = _run_cli("--report-dir", name, *extra, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        sarif = json.loads((tmp_path / name / "results.sarif").read_text(encoding="utf-8"))
        ids.append(sarif["runs"][0]["automationDetails"]["id"])
        report = json.loads((tmp_path / name / "conformance.json").read_text(encoding="utf-8"))
        assert report["target"]["embedded"] is True
        summary = (tmp_path / name / "summary.md").read_text(encoding="utf-8")
        assert "oms-conformance run --profile strict --depth quick --seed 3" in summary
        assert "target.yaml" not in summary
    assert ids == ["oms-conformance/strict-embedded/"] * 2 + ["oms-conformance/nightly/main/"]


@pytest.mark.parametrize("bad", ["/lead", "trail/", "two//slashes", "spa ce", ""])
def test_cli_refuses_a_run_id_that_cannot_be_a_category(tmp_path: Path, bad: str) -> None:
    done = _run_cli("--run-id", bad, cwd=tmp_path)
    assert done.returncode == 2 and "--run-id" in done.stderr
    assert not (tmp_path / "reports").exists()
