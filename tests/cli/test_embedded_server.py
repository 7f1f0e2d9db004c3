"""The embedded default target runs in a process of its own (conformance/runner/embedded.py): it serves the
run as the thread did, and it never outlives the run - after a normal run, a Ctrl-C, a SIGKILL of the run, or
a start that failed - and a start that fails is a clear error, never a hang.

Every wait here waits for an event; the bounds only catch a hang."""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import conformance.runner.embedded as embedded
from conformance.__main__ import embedded_profile
from conformance.cli import main
from conformance.errors import ExitCode, TargetUnreachable
from conformance.options import RunOptions
from conformance.runner.embedded import EmbeddedServer
from conformance.runner.session import Session, run_suite
from conformance.server.embedded import description
from conformance.server.serving import build_target, create_app
from conformance.spec import Profile
from conformance.target import parse_target

HANG_S = 120.0  # only a bound on a hang


def eventually(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + HANG_S
    while not condition():
        assert time.monotonic() < deadline, f"not within {HANG_S:g} s: {what}"
        time.sleep(0.01)


def gone(pid: int) -> bool:
    """Ended: reaped, or a zombie whose new parent has not reaped it yet (it no longer runs)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def children_of(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


@pytest.mark.parametrize("profile", ["strict", "huawei"])
def test_the_child_describes_the_target_the_thread_would(profile: str) -> None:
    # In process: the line the child writes is the target build_target gives (credentials, groups, restore).
    app = create_app(profile)
    try:
        said = parse_target(json.loads(description(app, 4321)), env={})
        assert said == build_target(app, "http://127.0.0.1:4321")
    finally:
        app.close()


def test_a_normal_run_ends_the_server_process(tmp_path: Path) -> None:
    server = EmbeddedServer().start()
    pid = server.pid
    assert pid is not None and server.running
    session = Session(None, RunOptions(seed=1, checks=["operation"]), report_dir=None, embedded=server)
    result = session.run()
    assert result.target["embedded"] is True and result.target["base_url"] == server.base_url
    assert {c.check: c.verdict.value for c in result.checks}["operation"] == "pass"
    assert not server.running and gone(pid)  # stopped and reaped when the run returned


def test_run_suite_without_a_target_runs_against_the_process() -> None:
    result = run_suite(None, RunOptions(seed=1, checks=["operation"]))
    assert result.target["embedded"] is True and result.finished


@pytest.fixture
def started_run(tmp_path: Path) -> Iterator[Callable[[], tuple[subprocess.Popen[str], int]]]:
    """``oms-conformance run`` in a session of its own (as a terminal's foreground job), once its first
    check has been told: the run and its server's pid."""
    runs: list[subprocess.Popen[str]] = []

    def start() -> tuple[subprocess.Popen[str], int]:
        run = subprocess.Popen(
            [sys.executable, "-m", "conformance", "run", "--seed", "1", "--format", "json"],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        runs.append(run)
        assert run.stderr is not None
        for line in run.stderr:  # the run is under way once a check's line is printed
            if "requests" in line:
                break
        else:
            raise AssertionError(f"the run ended before its first check: {run.wait(HANG_S)}")
        (server,) = children_of(run.pid)
        return run, server

    yield start
    for run in runs:
        if run.poll() is None:
            run.kill()
        run.wait(HANG_S)
        if run.stderr is not None:
            run.stderr.close()


def test_ctrl_c_reaches_the_run_only_which_stops_cleanly_and_ends_its_server(
    started_run: Callable[[], tuple[subprocess.Popen[str], int]], tmp_path: Path
) -> None:
    run, server = started_run()
    assert os.getsid(server) != os.getsid(run.pid)  # a session of its own: the terminal's signals miss it
    os.killpg(run.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole foreground group
    assert run.wait(HANG_S) == ExitCode.INTERRUPTED
    assert gone(server)
    report = json.loads((tmp_path / "reports" / "conformance.json").read_text())
    assert report["finished"] is False and report["target"]["embedded"] is True


def test_a_killed_run_leaves_no_server_behind(
    started_run: Callable[[], tuple[subprocess.Popen[str], int]],
) -> None:
    run, server = started_run()
    assert not gone(server)
    run.kill()  # SIGKILL: nothing of the run's own runs any more; the server sees its stdin end
    run.wait(HANG_S)
    eventually(lambda: gone(server), "the server process ended after its run was killed")


@pytest.fixture
def broken_uvicorn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The child process imports a uvicorn that fails (this process keeps the one it has)."""
    (tmp_path / "uvicorn").mkdir()
    (tmp_path / "uvicorn" / "__init__.py").write_text("raise ImportError('this uvicorn is broken')\n")
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
    )


@pytest.mark.usefixtures("broken_uvicorn")
def test_a_server_that_cannot_start_is_a_clear_error() -> None:
    server = EmbeddedServer().start()
    with pytest.raises(
        TargetUnreachable, match="did not start: ImportError: this uvicorn is broken"
    ) as caught:
        server.target()
    assert caught.value.exit_code == ExitCode.UNREACHABLE
    assert server.pid is not None and gone(server.pid)


@pytest.mark.usefixtures("broken_uvicorn")
def test_the_cli_says_so_and_exits_3(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["run", "--seed", "1", "--report-dir", str(tmp_path / "r")])
    assert result.exit_code == ExitCode.UNREACHABLE, result.output
    assert "error: the embedded reference server did not start: ImportError: this uvicorn is broken" in (
        result.output
    )
    assert "Traceback" not in result.output


def test_a_server_that_never_says_its_target_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedded, "BOOTSTRAP", "import sys; sys.stdin.read()")  # starts, never answers
    server = EmbeddedServer().start()
    with pytest.raises(TargetUnreachable, match=r"did not start within 0\.5 s"):
        server.target(timeout=0.5)
    assert server.pid is not None and gone(server.pid)


@pytest.mark.parametrize(
    ("args", "profile"),
    [
        (["run"], ""),
        (["--debug", "run", "--seed", "1"], ""),
        (["run", "--profile", "huawei"], "huawei"),
        (["run", "--profile=huawei", "--checks", "fuzz"], "huawei"),
        (["run", "--profile", "nonsense"], "nonsense"),  # click refuses it; the child too
        (["run", "--profile"], ""),
        (["run", "--target", "t.yaml"], None),
        (["run", "--base-url=http://x", "--token", "t"], None),
        (["run", "--plan"], None),
        (["run", "--list-checks"], None),
        (["run", "--help"], None),
        (["serve"], None),
        ([], None),
    ],
)
def test_the_glance_at_the_arguments(args: list[str], profile: str | None) -> None:
    assert embedded_profile(args) == profile


def test_run_adopts_the_server_started_before_the_cli_loaded(tmp_path: Path) -> None:
    early = EmbeddedServer().start()  # the default profile, as the glance gives it
    args = ["run", "--checks", "operation", "--format", "json", "--report-dir", str(tmp_path)]
    result = CliRunner().invoke(main, args, obj=early)
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "conformance.json").read_text())["target"]["base_url"] == early.base_url
    assert early.pid is not None and gone(early.pid)


def test_run_ends_an_early_server_it_does_not_want(tmp_path: Path) -> None:
    early = EmbeddedServer(Profile.HUAWEI).start()  # a glance that guessed wrong
    args = [
        "run",
        "--profile",
        "strict",
        "--checks",
        "operation",
        "--format",
        "json",
        "--report-dir",
        str(tmp_path),
    ]
    result = CliRunner().invoke(main, args, obj=early)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "conformance.json").read_text())
    assert report["profile"] == "strict" and report["target"]["base_url"] != early.base_url
    assert early.pid is not None and gone(early.pid)


def test_an_early_server_ends_when_the_command_fails_before_running(tmp_path: Path) -> None:
    # A usage error click finds before `run` is called: the server started from the glance ends with the
    # command (every process that inherited the marker is gone once it has exited).
    marker = f"oms-test-{os.getpid()}-{time.monotonic_ns()}"
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "run", "--no-such-option"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=HANG_S,
        env={**os.environ, "OMS_TEST_MARKER": marker},
    )
    assert done.returncode == ExitCode.USAGE and "No such option" in done.stderr
    assert [pid for pid in marked(marker) if not gone(pid)] == []


def marked(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if (
                entry.name.isdigit()
                and f"OMS_TEST_MARKER={marker}".encode() in (entry / "environ").read_bytes()
            ):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_a_head_start_that_fails_is_no_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The console script's early start cannot spawn (no interpreter there): the command still runs, and
    # run's own start says what fails, with the exit code of a target that cannot be reached.
    from conformance import __main__ as process

    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python-here"))
    monkeypatch.setattr(sys, "argv", ["oms-conformance", "run", "--report-dir", str(tmp_path)])
    monkeypatch.setattr(gc, "freeze", lambda: None)  # this process lives on
    with pytest.raises(SystemExit) as ended:
        process.entry()
    assert ended.value.code == ExitCode.UNREACHABLE
    said = capsys.readouterr().err
    assert "error: the embedded reference server did not start: No such file or directory" in said
    assert "Traceback" not in said and "internal error" not in said
