"""The public API is exactly ``conformance.__all__``: a name that becomes public by accident fails here."""

from __future__ import annotations

import conformance

PUBLIC = [
    "AkSk", "ConfigError", "ConformanceError", "Contract", "Erratum", "ExitCode", "Project", "Requirement",
    "RunOptions", "RunResult", "SpecError", "Target", "TargetUnreachable", "UsageError", "Verdict",
    "__version__", "dump_target", "load_contract", "load_errata", "load_requirements", "load_target",
    "parse_target", "run_suite",
]  # fmt: skip


def test_all_is_sorted_and_exact() -> None:
    assert conformance.__all__ == sorted(conformance.__all__)
    assert conformance.__all__ == PUBLIC


def test_no_other_public_names() -> None:
    modules = {
        "aksk",
        "textfile",
        "checks",
        "cli",
        "errors",
        "redact",
        "results",
        "runner",
        "transport",
        "spec",
        "target",
        "server",
        "reports",
        "proxy",
        "baseline",
        "pytest_plugin",
        "schemas",
        "token_command",
        "options",
    }
    # pytest rewrites the plugin package and leaves its "@py_*" helpers behind.
    public = {name for name in vars(conformance) if not name.startswith(("_", "@"))}
    public |= set(conformance._LAZY)  # public names imported on first use (conformance/__init__.py)
    assert public - modules == set(PUBLIC) - {"__version__"}
