"""token_command: the token a command prints, fetched once per load; every failure is exit 2, never a leak."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.errors import ConfigError
from conformance.target import dump_target, load_target, parse_target

TOKEN = "oms-token-from-command-7f3a"
BASE = {"base_url": "http://127.0.0.1:9", "project_id": "p-1"}


def _py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def _parse(**project: Any) -> Any:
    return parse_target({**BASE, **project}, env={})


def test_the_commands_stdout_stripped_is_the_token() -> None:
    target = _parse(token_command=_py(f"print('  {TOKEN}  ')"))
    assert target.project.token == TOKEN
    assert TOKEN in target.secrets()  # redacted everywhere like a token written in the file
    shell = _parse(token_command=f"printf '%s\\n' {TOKEN}")
    assert shell.project.token == TOKEN


def test_readonly_and_other_project_commands(tmp_path: Path) -> None:
    target = _parse(
        token_command=_py("print('main-token-1')"),
        readonly_token_command=_py("print('readonly-token-1')"),
        other_project={"project_id": "p-2", "token_command": _py("print('other-token-1')")},
    )
    assert target.project.readonly_token == "readonly-token-1"
    assert target.other_project is not None and target.other_project.token == "other-token-1"


def test_it_runs_once_per_load_in_the_target_files_folder(tmp_path: Path) -> None:
    (tmp_path / "token.txt").write_text(TOKEN + "\n", encoding="utf-8")
    path = tmp_path / "target.yaml"
    # A relative path works as in kubeconfig: the command runs beside the file.
    path.write_text(
        yaml.safe_dump({**BASE, "token_command": "echo run >> runs.log; cat token.txt"}), encoding="utf-8"
    )
    target = load_target(path, env={})
    assert target.project.token == TOKEN
    assert (tmp_path / "runs.log").read_text().splitlines() == ["run"]
    # Written back, the file keeps the command - never the token it printed.
    text = dump_target(target)
    assert "token_command: echo run >> runs.log; cat token.txt" in text and TOKEN not in text


@pytest.mark.parametrize(
    ("project", "message"),
    [
        (
            {
                "token_command": _py(
                    f"import sys; print('{TOKEN}'); sys.stderr.write('no session for {TOKEN}'); sys.exit(4)"
                )
            },
            "target: token_command: expected a command that exits with status 0, found status 4; "
            "its stderr (last lines, redacted):\n    no session for ***",
        ),
        (
            {"token_command": _py("import sys; sys.stderr.write('login required\\n')")},
            "target: token_command: expected the token on standard output, found no output; "
            "its stderr (last lines, redacted):\n    login required",
        ),
        (
            {"token_command": _py("print('   ')")},
            "target: token_command: expected the token on standard output, found no output",
        ),
        (
            {"token_command": _py(f"print('Bearer {TOKEN}')")},
            "target: token_command: expected one token on standard output (no spaces or line breaks inside), "
            "found 2 words (not shown: a secret)",
        ),
        (
            {"token_command": ["/nonexistent/oms-get-token"]},
            "target: token_command: expected a command that can be started, found No such file or directory",
        ),
        (
            {"token_command": _py("import time; time.sleep(60)"), "token_command_timeout": 0.3},
            "target: token_command: expected a command that finishes within 0.3 s, found it still running "
            "(stopped it)",
        ),
        (
            {"token": TOKEN, "token_command": "echo x"},
            "target: token_command: expected either token or token_command, found both",
        ),
        (
            {"token": TOKEN, "readonly_token": "r-token", "readonly_token_command": "echo x"},
            "target: readonly_token_command: expected either readonly_token or readonly_token_command, "
            "found both",
        ),
        (
            {"token_command": "echo x", "token_command_timeout": 0},
            "target: token_command_timeout: expected a timeout in seconds (more than 0, at most 600), "
            "found 0",
        ),
        (
            {"token_command": []},
            "target: token_command: expected a command: a string run by the shell, or a list of program and "
            "arguments, found an empty list",
        ),
    ],
    ids=[
        "non-zero",
        "empty",
        "blank",
        "two-words",
        "not-found",
        "timeout",
        "with-token",
        "readonly-both",
        "zero-timeout",
        "empty-argv",
    ],
)
def test_each_failure_is_a_config_error_without_the_token(project: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        _parse(**project)
    assert info.value.message == message
    assert TOKEN not in info.value.message
    assert info.value.exit_code == 2


def test_a_timeout_stops_what_the_shell_started() -> None:
    # The shell's child holds the output pipe: killing the shell alone would leave the load waiting on it.
    with pytest.raises(ConfigError, match=r"finishes within 0\.3 s"):
        _parse(token_command="sleep 60 & sleep 60; echo late", token_command_timeout=0.3)


def test_stderr_is_cut_to_its_last_lines_and_redacted() -> None:
    code = (
        "import sys\n"
        "for i in range(50): sys.stderr.write(f'line {i} ' + 'x' * 300 + '\\n')\n"
        "sys.stderr.write('sk was oms-sk-in-the-file\\n'); sys.exit(1)"
    )
    with pytest.raises(ConfigError) as info:
        _parse(token_command=_py(code), aksk={"ak": "AK1", "sk": "oms-sk-in-the-file"})
    shown = info.value.message.split("\n")[1:]
    assert len(shown) == 5
    assert shown[-1] == "    sk was ***"
    assert shown[0].startswith("    line 46 xxx") and shown[0].endswith("…") and len(shown[0]) == 4 + 200


def test_the_token_from_a_command_must_differ_from_the_readonly_one() -> None:
    with pytest.raises(ConfigError) as info:
        _parse(token_command=_py(f"print('{TOKEN}')"), readonly_token=TOKEN)
    assert info.value.message == (
        "target: readonly_token: expected a token other than token (one without oms:taskgroup:update), "
        "found the same value (not shown: a secret)"
    )
