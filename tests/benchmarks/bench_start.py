"""Benchmark: what starting costs - the pytest plugin's import, and a remote run's time to its first request -
for this checkout and, side by side in the same rounds, an older commit (a temporary `git worktree`).

    .venv/bin/python tests/benchmarks/bench_start.py [--base COMMIT] [--rounds 9]

Per variant, medians over ``--rounds`` interleaved rounds, each a fresh interpreter:
- plugin: ``import conformance.pytest_plugin`` in an interpreter that has already imported pytest (as a
  pytest session has), timed inside it, wall and CPU;
- first request: ``oms-conformance run --target T`` where T points at a loopback listener that never
  answers, timed from starting the process to the whole first request arriving (interpreter start-up, the
  imports, loading the contract and the target, and the preflight's send), and the CPU time the process
  had used by then (/proc: on a loaded machine the wall time measures the others too);
- imports: the same, under ``python -X importtime``: the sum of the top-level imports listed before the
  first request arrived (importtime's own overhead included; wall clock, so a loaded machine inflates it);
- imports' CPU: the same run without importtime, ``builtins.__import__`` wrapped to add up the CPU time of
  the outermost imports (``IMPORT_CPU``; threads' CPU in the meantime counts too, and there are none before
  the first request); the CPU a loaded machine does not inflate.
The older variant runs from its worktree through PYTHONPATH with this environment's packages. Each variant
has a bytecode cache of its own (PYTHONPYCACHEPREFIX under the scratch folder, written even where
PYTHONDONTWRITEBYTECODE is set) filled by one unmeasured round first: an installed package has its modules
compiled at install, and a variant without them would measure compiling ~100 modules rather than starting.
Not a test: numbers depend on the machine and its load; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PLUGIN = """
import time, pytest
started, cpu = time.perf_counter(), time.process_time()
import conformance.pytest_plugin
print((time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000)
"""


# ``oms-conformance ARGS``, adding up the CPU time spent in imports and printing the sum as it grows.
IMPORT_CPU = """
import builtins, runpy, sys, time
real_import, depth, total = builtins.__import__, [0], [0.0]
def counted(*args, **kwargs):
    if depth[0]:
        return real_import(*args, **kwargs)
    depth[0], before, started = 1, len(sys.modules), time.process_time()
    try:
        return real_import(*args, **kwargs)
    finally:
        depth[0] = 0
        total[0] += time.process_time() - started
        if len(sys.modules) != before:
            sys.stderr.write(f"import cpu: {total[0] * 1000:.3f}\\n")
builtins.__import__ = counted
sys.argv[0] = "oms-conformance"
runpy.run_module("conformance", run_name="__main__")
"""


def plugin_ms(source: Path) -> tuple[float, float]:
    """Wall and CPU milliseconds of importing the plugin after pytest. Run in ``source``: ``-c`` puts the
    working directory first on the path, before PYTHONPATH."""
    done = subprocess.run(
        [sys.executable, "-c", PLUGIN], cwd=source, env=_env(source), capture_output=True, text=True,
        timeout=60, check=True,
    )  # fmt: skip
    wall, cpu = done.stdout.split()
    return float(wall), float(cpu)


def _cpu_ms(pid: int) -> float:
    """The CPU time a process has used so far (user + system, Linux's /proc), in milliseconds: on a machine
    others load, the wall time to a request measures them as much as it; the CPU time does not."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def first_request(source: Path, workdir: Path, importtime: bool) -> tuple[float, float, float, float]:
    """Milliseconds from starting ``run`` to its first whole request, the CPU time it used by then, and the
    imports by then: with ``importtime`` the sum of the top-level ones listed, else their CPU (IMPORT_CPU)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(60)
        target = workdir / "target.yaml"
        target.write_text(
            f"base_url: http://127.0.0.1:{listener.getsockname()[1]}\n"
            f"project_id: {'a' * 32}\ntoken: a-token-of-the-benchmark-0001\n"
        )
        how = ["-X", "importtime", "-m", "conformance"] if importtime else ["-c", IMPORT_CPU]
        started = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, *how, "run", "--target", str(target)],
            cwd=workdir,
            env=_env(source),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(child.stderr or ()))
        reader.start()
        try:
            connection, _ = listener.accept()
            with connection:
                request = b""
                while b"\r\n\r\n" not in request and (chunk := connection.recv(65536)):
                    request += chunk
                elapsed = (time.perf_counter() - started) * 1000
                cpu = _cpu_ms(child.pid)
        finally:
            child.kill()
            child.wait(30)
            reader.join(30)
            if child.stderr is not None:
                child.stderr.close()
    imports_cpu = max(
        (float(line.split()[-1]) for line in lines if line.startswith("import cpu:")), default=0
    )
    return elapsed, cpu, sum(_top_level_ms(line) for line in lines), imports_cpu


def _top_level_ms(line: str) -> float:
    """The cumulative ms of an importtime line of a top-level import (its name indented by one space)."""
    parts = line.split("|")
    if not line.startswith("import time:") or len(parts) != 3 or not parts[1].strip().isdigit():
        return 0.0
    return int(parts[1]) / 1000 if parts[2][:2] != "  " else 0.0


def _env(source: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(source), "PYTHONPYCACHEPREFIX": str(_PYCACHE[source])}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


_PYCACHE: dict[Path, Path] = {}  # a variant's bytecode cache, by its source folder


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="", help="an older commit to compare with (default: none)")
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="oms-bench-start-"))
    variants = {"this checkout": ROOT}
    try:
        if args.base:
            old = scratch / "base"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(old), args.base],
                           check=True, timeout=120)  # fmt: skip
            variants[args.base] = old
        for number, source in enumerate(variants.values()):
            _PYCACHE[source] = scratch / f"pycache-{number}"
            plugin_ms(source)  # unmeasured: fills the variant's bytecode cache
            first_request(source, scratch, importtime=False)
        keys = ("plugin", "plugin cpu", "first", "first cpu", "imports", "imports cpu")
        samples: dict[str, dict[str, list[float]]] = {name: {key: [] for key in keys} for name in variants}
        for _ in range(args.rounds):
            for name, source in variants.items():  # interleaved: load on the machine falls on each alike
                rows: dict[str, list[float]] = samples[name]
                wall, cpu = plugin_ms(source)
                rows["plugin"].append(wall)
                rows["plugin cpu"].append(cpu)
                wall, cpu, _, imports_cpu = first_request(source, scratch, importtime=False)
                rows["first"].append(wall)
                rows["first cpu"].append(cpu)
                rows["imports cpu"].append(imports_cpu)
                rows["imports"].append(first_request(source, scratch, importtime=True)[2])
        print(f"medians of {args.rounds} rounds, ms (cpus: {os.cpu_count()}, load {os.getloadavg()[0]:.1f})")
        print(f"{'variant':<16}{'plugin import':>14}{'(CPU)':>7}{'run: first request':>20}{'(CPU)':>7}"
              f"{'imports before it':>19}{'(CPU)':>7}")  # fmt: skip
        for name, rows in samples.items():
            med = {key: statistics.median(values) for key, values in rows.items()}
            print(f"{name:<16}{med['plugin']:>14.0f}{med['plugin cpu']:>7.0f}{med['first']:>20.0f}"
                  f"{med['first cpu']:>7.0f}{med['imports']:>19.0f}{med['imports cpu']:>7.0f}")  # fmt: skip
    finally:
        if args.base:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(scratch / "base")],
                           check=False, timeout=120)  # fmt: skip
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
