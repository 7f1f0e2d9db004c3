"""A built wheel carries the contract: installed (not editable), the CLI finds it from any directory."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_ships_the_contract_and_runs_from_elsewhere(tmp_path: Path) -> None:
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    if built.returncode != 0 and "hatchling" in built.stderr:
        built = subprocess.run(  # no hatchling in this environment: let pip fetch the build backend
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("oms_conformance-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for name in (
        "stop-task-group.yaml",
        "requirements.yaml",
        "errata.yaml",
        "profiles/huawei.merge-patch.yaml",
    ):
        assert f"conformance/_contract/{name}" in names
    for name in ("target", "fixtures", "baseline"):  # the schemas the one config validator reads
        assert f"conformance/schemas/{name}.schema.json" in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for profile in ("strict", "huawei"):
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from conformance.cli import main; sys.exit(main())",
                "spec",
                "--validate",
                "--profile",
                profile,
            ],
            cwd=elsewhere,
            capture_output=True,
            text=True,
            timeout=120,
            env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        )
        assert result.returncode == 0, result.stderr
        assert f"{profile}: valid OpenAPI 3.0.3" in result.stdout
    check = subprocess.run(
        [sys.executable, "-c", "import conformance.spec.files as f; print(f.contract_dir())"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
    )
    assert check.stdout.strip() == str(site / "conformance" / "_contract")
