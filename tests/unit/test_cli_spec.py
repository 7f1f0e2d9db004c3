"""`oms-conformance spec` and the CLI's error handling (one line, exit 2, no traceback)."""

from __future__ import annotations

import json

import yaml
from click.testing import CliRunner

from conformance.cli import main


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_prints_each_profile_in_both_formats() -> None:
    code, out, _ = invoke("spec")
    assert code == 0 and yaml.safe_load(out)["openapi"] == "3.0.3"
    code, out, _ = invoke("spec", "--profile", "huawei", "--format", "json")
    assert code == 0 and "AKSK" in json.loads(out)["components"]["securitySchemes"]


def test_validate_requirements_errata() -> None:
    code, out, _ = invoke("spec", "--validate", "--profile", "huawei")
    assert code == 0 and "huawei: valid OpenAPI 3.0.3" in out
    code, out, _ = invoke("spec", "--requirements")
    assert code == 0 and "STOP-GROUP-LEN" in out and "HW-AKSK" not in out
    code, out, _ = invoke("spec", "--requirements", "--profile", "huawei")
    assert "HW-AKSK" in out
    code, out, _ = invoke("spec", "--errata")
    assert code == 0 and "ERRATUM-EXAMPLE-URL" in out


def test_usage_errors_exit_2_with_one_line() -> None:
    code, _, err = invoke("spec", "--profile", "nope")
    assert code == 2 and "Traceback" not in err
    code, _, err = invoke("run", "--checks", "no-such-check", "--target", "/nonexistent.yaml")
    assert code == 2 and err.startswith("error: ") and "Traceback" not in err


def test_unknown_check_lists_the_valid_ones(tmp_path: object) -> None:
    code, _, err = invoke("run", "--checks", "no-such-check")
    assert code == 2
    assert "unknown check 'no-such-check'; valid checks:" in err and "group-id-length" in err
