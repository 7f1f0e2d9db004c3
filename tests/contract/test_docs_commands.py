"""Every shell command in README.md and docs/*.md runs as written, or at least parses, so none goes stale.

Which blocks hold commands (docs/development.md, "The docs are tested"): a fenced block in `sh`, `bash` or
`shell` is all commands (`\\` continues a line, `#` starts a comment); in `console`, lines starting `$ ` are
commands and the lines after them their output. Any other language (`text` for output) holds none.

How each command is judged:
- `oms-conformance ...` is parsed by the CLI's own click parser, so every subcommand, option and value must be
  valid. Without a placeholder (`oms.example.test`, a `$VARIABLE`, `<...>`, `...`) it is also run, in a
  temporary folder holding a run's reports, a baseline and a `target.yaml` of a reference server started for
  it; it must exit 0. `serve` and `proxy` are started, waited for and stopped with SIGTERM at the end of their
  block (each fixed port becomes a free one, everywhere in the block).
- `curl` runs against the servers its block started; in a transcript, output shown without `...` must match.
- `pytest --oms-...` runs in the same folder; `python tests/benchmarks/X.py ARGS` must name a script whose
  argument parser accepts ARGS (the benchmark is not run); `pip install` must name this project, its extras
  or its version; `python3 -m venv`, `.venv/bin/pytest` and `.ci/run` are known and not run here.
- Anything else fails, until this test is taught how to judge it.
"""

from __future__ import annotations

import io
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path

import click
import pytest

from conformance._version import __version__
from conformance.cli import main as cli
from conformance.server import ReferenceServer
from conformance.target import dump_target

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
COMMAND_LANGUAGES = {"sh", "bash", "shell"}
TRANSCRIPT = "console"
PLACEHOLDER = re.compile(r"oms\.example\.test|\$|<[^>]*>|\.\.\.|…")
SEPARATORS = {"&&", "||", ";", "|", "&"}
LONG_RUNNING = {"serve", "proxy"}  # started, then stopped at the end of their block
TIMEOUT_S = 180  # one command; a run against the reference server takes seconds
EXTRAS = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
    "optional-dependencies"
]


@dataclass(frozen=True)
class Command:
    text: str
    line: int
    output: str | None = None  # what a transcript shows it printing


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    commands: tuple[Command, ...]

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def _joined(lines: list[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    """Lines with their `\\` continuations joined, each with the number of its first line."""
    start, buffer = 0, ""
    for number, line in lines:
        if not buffer:
            start = number
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        yield start, buffer + line
        buffer = ""
    if buffer:
        yield start, buffer


def _commands(language: str, body: str, first_line: int) -> tuple[Command, ...]:
    numbered = list(enumerate(body.splitlines(), start=first_line))
    if language in COMMAND_LANGUAGES:
        return tuple(
            Command(text, n)
            for n, text in _joined(numbered)
            if text.strip() and not text.lstrip().startswith("#")
        )
    commands: list[Command] = []
    pending: list[tuple[int, str]] = []
    output: list[str] = []

    def flush() -> None:
        if pending:
            ((n, text),) = list(_joined(pending))
            commands.append(Command(text, n, "\n".join(output) if output else None))

    for n, line in numbered:
        if line.startswith("$ "):
            flush()
            pending, output = [(n, line[2:])], []
        elif pending and pending[-1][1].endswith("\\") and not output:
            pending.append((n, line))
        else:
            output.append(line)
    flush()
    return tuple(commands)


def doc_blocks() -> list[Block]:
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.M | re.S):
            language, body = match.group(1), match.group(2)
            if language not in COMMAND_LANGUAGES and language != TRANSCRIPT:
                continue
            line = text.count("\n", 0, match.start()) + 1
            found.append(Block(path, line, _commands(language, body, line + 1)))
    return found


def simple_commands(text: str) -> list[tuple[list[str], bool]]:
    """The simple commands of a command line, each with whether it is sent to the background (`&`)."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    out: list[tuple[list[str], bool]] = []
    words: list[str] = []
    for token in lexer:
        if token in SEPARATORS:
            if words:
                out.append((words, token == "&"))
            words = []
        else:
            words.append(token)
    if words:
        out.append((words, False))
    return out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def parse_cli(args: list[str]) -> tuple[str, dict[str, object]]:
    """The subcommand and its parameters as the CLI itself parses them; a click error if it would not."""
    with warnings.catch_warnings(), redirect_stdout(io.StringIO()):  # --help prints
        warnings.simplefilter("ignore", DeprecationWarning)  # protected_args: the group's own split
        try:
            ctx = cli.make_context("oms-conformance", list(args))
        except click.exceptions.Exit as done:  # --help, --version
            assert done.exit_code == 0
            return "", {}
        rest = [*ctx.protected_args, *ctx.args]
        if not rest:
            return "", {}
        name, command, rest = cli.resolve_command(ctx, rest)
        assert name is not None and command is not None
        try:
            sub = command.make_context(name, rest, parent=ctx)
        except click.exceptions.Exit as done:
            assert done.exit_code == 0
            return name, {"help": True}
    return name, dict(sub.params)


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    # The tree under test comes first, whatever is installed.
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env.pop("PYTEST_ADDOPTS", None)
    return env


@dataclass
class Session:
    """One block's run: its folder, the free ports standing for its fixed ones, the servers it started."""

    folder: Path
    ports: dict[int, int] = field(default_factory=dict)
    started: list[tuple[str, subprocess.Popen[bytes], Path]] = field(default_factory=list)
    wrote_target: bool = False
    ran: list[str] = field(default_factory=list)  # what was run, not only parsed (for the tests' own checks)

    def mapped(self, word: str) -> str:
        return re.sub(
            r"(127\.0\.0\.1|localhost):(\d+)",
            lambda m: f"{m.group(1)}:{self.ports.get(int(m.group(2)), int(m.group(2)))}",
            word,
        )

    def run(self, argv: list[str], expected_output: str | None = None) -> None:
        done = subprocess.run(
            argv,
            cwd=self.folder,
            env=_environment(),
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
        assert done.returncode == 0, (
            f"{shlex.join(argv)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        )
        if expected_output is not None and not PLACEHOLDER.search(expected_output):
            assert done.stdout.strip() == expected_output.strip()
        self.ran.append(shlex.join(argv))

    def start(self, name: str, argv: list[str], port: int) -> None:
        log = self.folder / f".{name}-{port}.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                argv, cwd=self.folder, env=_environment(), stdout=sink, stderr=subprocess.STDOUT
            )
        self.started.append((name, process, log))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"{shlex.join(argv)} ended early:\n{log.read_text(errors='replace')}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            except OSError:
                time.sleep(0.1)
                continue
            self.ran.append(shlex.join(argv))
            return
        raise AssertionError(f"{shlex.join(argv)} did not listen on port {port} within 30 s")

    def stop_all(self) -> None:
        problems = []
        for name, process, log in reversed(self.started):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
                code = None
            if code != 0:
                problems.append(f"{name} exited {code} on SIGTERM:\n{log.read_text(errors='replace')}")
        self.started.clear()
        assert not problems, problems


def _cli_argv(argv: list[str]) -> list[str] | None:
    """The CLI's arguments if argv runs oms-conformance, else None."""
    if Path(argv[0]).name == "oms-conformance":
        return argv[1:]
    if Path(argv[0]).name.startswith("python") and argv[1:3] == ["-m", "conformance"]:
        return argv[3:]
    return None


def _judge_cli(session: Session, args: list[str], background: bool, output: str | None) -> None:
    name, params = parse_cli(args)  # a renamed option or a bad value fails here, placeholder or not
    if any(PLACEHOLDER.search(word) for word in args):
        return
    if name in LONG_RUNNING and not params.get("help"):
        port = params["port"]
        assert isinstance(port, int)
        free = session.ports.setdefault(port, _free_port())
        words = [session.mapped(w) for w in args]
        if "--port" in words:
            words[words.index("--port") + 1] = str(free)
        else:
            words += ["--port", str(free)]
        if name == "serve" and params.get("write_target"):
            session.wrote_target = True
        session.start(name, [sys.executable, "-m", "conformance", *words], free)
        return
    assert not background, "only serve and proxy are long-running"
    words = [session.mapped(w) for w in args]
    with _reference_target(session, words):
        session.run([sys.executable, "-m", "conformance", *words], output)


@contextmanager
def _reference_target(session: Session, words: list[str]) -> Iterator[None]:
    """A fresh reference server whose target.yaml the command reads, unless its block wrote its own."""
    if "target.yaml" not in words or session.wrote_target:
        yield
        return
    with ReferenceServer(profile="huawei") as server:
        (session.folder / "target.yaml").write_text(dump_target(server.target), encoding="utf-8")
        yield


def _judge_pip(argv: list[str]) -> None:
    assert "install" in argv, argv
    for spec in [w for w in argv[argv.index("install") + 1 :] if not w.startswith("-")]:
        if spec == ".":
            continue
        if match := re.fullmatch(r"\.\[([\w,-]+)\]", spec):
            assert set(match.group(1).split(",")) <= set(EXTRAS), spec
        elif match := re.fullmatch(r"oms-conformance(?:==| @ git\+\S+@v)(\S+)", spec):
            assert match.group(1) == __version__, spec  # from the index, or a tagged release
        else:
            raise AssertionError(f"pip installs {spec!r}: not this project")


# Parses the benchmark's arguments with its own parser, then stops before it measures anything.
_PARSE_ONLY = """
import argparse, runpy, sys
original = argparse.ArgumentParser.parse_args
def parse_only(self, *args, **kwargs):
    original(self, *args, **kwargs)
    raise SystemExit(0)
argparse.ArgumentParser.parse_args = parse_only
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
raise SystemExit("the benchmark parsed no arguments")
"""


def _judge_benchmark(script: str, args: list[str]) -> None:
    path = ROOT / script
    assert path.is_file() and path.parent == ROOT / "tests" / "benchmarks", script
    source = path.read_text(encoding="utf-8")
    if "argparse" not in source:
        assert args == [], f"{script} takes no arguments"
        compile(source, script, "exec")
        return
    done = subprocess.run(
        [sys.executable, "-c", _PARSE_ONLY, str(path), *args],
        cwd=ROOT,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"{script} {shlex.join(args)}: {done.stderr}"


def judge(session: Session, command: Command) -> None:
    """Run or parse one documented command line; an AssertionError or a click error says what is wrong."""
    for argv, background in simple_commands(command.text):
        program = Path(argv[0]).name
        if (args := _cli_argv(argv)) is not None:
            _judge_cli(session, args, background, command.output)
        elif program == "curl":
            assert not any(PLACEHOLDER.search(w) for w in argv), "curl needs a real address"
            session.run(
                ["curl", "-sS", "--max-time", "10", *[session.mapped(w) for w in argv[1:]]], command.output
            )
        elif program == "pytest" and argv[0] == "pytest":
            assert any(w.startswith("--oms-") for w in argv), "only the plugin's own runs are documented"
            words = argv[1:]
            with _reference_target(session, words):
                session.run([sys.executable, "-m", "pytest", *words], command.output)
        elif program.startswith("python") and argv[1:3] == ["-m", "venv"]:
            pass  # the standard library's
        elif program == "pip" or (program.startswith("python") and argv[1:3] == ["-m", "pip"]):
            _judge_pip(argv)
        elif program.startswith("python") and len(argv) > 1 and argv[1].startswith("tests/benchmarks/"):
            _judge_benchmark(argv[1], argv[2:])
        elif argv == [".venv/bin/pytest"]:
            pass  # the test suite itself
        elif argv == [".ci/run"]:
            assert os.access(ROOT / ".ci" / "run", os.X_OK)
        else:
            raise AssertionError(
                f"no rule judges {shlex.join(argv)!r}: teach tests/contract/test_docs_commands.py"
            )


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder as the docs' commands expect it: a real run's reports, the night before, a baseline."""
    folder = tmp_path_factory.mktemp("docs-seed")
    Session(folder).run([sys.executable, "-m", "conformance", "run", "--report-dir", "reports"])
    for copy in ("previous", "nights"):
        (folder / copy).mkdir()
        shutil.copy(folder / "reports" / "conformance.json", folder / copy / "conformance.json")
    reports = (ROOT / "docs" / "reports.md").read_text(encoding="utf-8")
    (baseline,) = [b for b in re.findall(r"```yaml\n(.*?)```", reports, re.S) if b.startswith("version: 1")]
    (folder / "baseline.yaml").write_text(baseline, encoding="utf-8")
    return folder


@pytest.fixture
def session(seeded: Path, tmp_path: Path) -> Iterator[Session]:
    folder = tmp_path / "work"
    shutil.copytree(seeded, folder)
    session = Session(folder)
    try:
        yield session
    finally:
        session.stop_all()


@pytest.mark.parametrize("block", doc_blocks(), ids=lambda block: block.name)
def test_each_documented_command_runs_or_parses(block: Block, session: Session) -> None:
    for command in block.commands:
        try:
            judge(session, command)
        except (AssertionError, click.ClickException) as problem:
            raise AssertionError(f"{block.path.name}:{command.line}: {command.text}\n{problem}") from problem
    session.stop_all()


def test_the_docs_have_command_blocks_of_every_kind() -> None:
    blocks = doc_blocks()
    texts = [c.text for b in blocks for c in b.commands]
    assert any("oms-conformance run" in t for t in texts) and any("serve" in t for t in texts)
    assert any(c.output for b in blocks for c in b.commands), "no transcript output is compared"
    assert "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/oms-conformance run" in texts


@pytest.mark.parametrize(
    "command",
    [
        "oms-conformance run --no-such-option",
        # A placeholder keeps a command from running, not from being parsed:
        "oms-conformance run --base-url https://oms.example.test --depth deepest",
        "oms-conformance serve --profile lenient",
        "oms-conformance no-such-command",
        "python tests/benchmarks/bench_run.py --no-such-option",
        "python tests/benchmarks/bench_hangs.py --fast",
        "python -m pip install requests",
        "rm -rf build",
    ],
)
def test_a_stale_command_fails(command: str, tmp_path: Path) -> None:
    session = Session(tmp_path)
    with pytest.raises((AssertionError, click.ClickException)):
        judge(session, Command(command, 1))
    assert session.ran == []
