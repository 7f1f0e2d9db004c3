"""Bad target files: each a configuration error (exit 2) naming the key, never printing the credential."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from conformance.cli import main
from tests.hostile.conftest import TOKEN

GOOD = {"base_url": "'http://127.0.0.1:9'", "project_id": "p-1", "token": f"'{TOKEN}'"}


def _yaml(fields: dict[str, str]) -> str:
    return "".join(f"{key}: {value}\n" for key, value in fields.items())


CASES = [
    pytest.param(
        {k: v for k, v in GOOD.items() if k != "project_id"},
        "project_id: expected a project id (a non-empty string), found nothing (the key is missing)",
        id="missing-key",
    ),
    pytest.param(
        {**GOOD, "project_id": "[1, 2]"},
        "project_id: expected a project id (a non-empty string), found a list",
        id="wrong-type",
    ),
    pytest.param(
        {**GOOD, "groups": "{creating: g-1}"},
        "groups.creating: expected a list of group ids, found 'g-1'",
        id="wrong-type-nested",
    ),
    pytest.param(
        {**GOOD, "tokne": "x"},
        "tokne: expected one of the keys aksk, base_url, client_cert, client_key, ",
        id="unknown-key",
    ),
    pytest.param(
        {**GOOD, "aksk": "{ak: a, sk: s, region: r}"},
        "aksk.region: expected one of the keys ak, security_token, sk, found an unknown key",
        id="unknown-nested",
    ),
    pytest.param(
        {**GOOD, "token": "'${OMS_HOSTILE_UNSET}'"},
        "token: expected the environment variable ${OMS_HOSTILE_UNSET} to be set, found it unset",
        id="unset-var",
    ),
    pytest.param(
        {**GOOD, "base_url": "ftp://x"},
        "base_url: expected an http:// or https:// URL, found 'ftp://x'",
        id="bad-url",
    ),
]


def _run(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(("fields", "expected"), CASES)
def test_bad_target_file_names_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fields: dict[str, Any], expected: str
) -> None:
    monkeypatch.delenv("OMS_HOSTILE_UNSET", raising=False)
    path = tmp_path / "target.yaml"
    path.write_text(_yaml(fields), encoding="utf-8")
    code, stdout, stderr = _run(["run", "--target", str(path), "--report-dir", str(tmp_path / "r")])
    assert code == 2, stdout + stderr
    assert expected in stderr
    assert "Fix the named key" in stderr
    assert TOKEN not in stdout + stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    ("content", "expected", "hint"),
    [
        (None, "cannot read it", "Check the file's path and its permissions."),
        (b"\xff\xfe\x00token: x", "not UTF-8 text", "Save the file as UTF-8 text."),
        (b"base_url: [unclosed\n", "not valid YAML at line", "Fix the YAML syntax at the line shown"),
        (
            b"- just\n- a list\n",
            "target.yaml': expected a mapping with base_url, project_id and a credential",
            "Fix the named key",
        ),
    ],
    ids=["missing-file", "not-utf8", "bad-yaml", "not-a-mapping"],
)
def test_unreadable_target_file(tmp_path: Path, content: bytes | None, expected: str, hint: str) -> None:
    path = tmp_path / "target.yaml"
    if content is not None:
        path.write_bytes(content)
    code, stdout, stderr = _run(["run", "--target", str(path), "--report-dir", str(tmp_path / "r")])
    assert code == 2, stdout + stderr
    assert expected in stderr
    # The hint fits the error: a file that cannot be read is not about `${VAR}` values.
    assert hint in stderr
    assert ("${VAR}" in stderr) == (hint == "Fix the named key")
    if content is None or content.startswith(b"\xff"):
        assert str(path) in stderr
