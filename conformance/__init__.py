"""oms-conformance: conformance testing for Huawei Cloud OMS "Pausing a Migration Task Group".

The pipeline: spec (the contract) -> target (what to test) -> checks -> runner -> reports, with the
reference server beside it. This module is the public API; everything not in ``__all__`` is private.

Importing it is cheap on purpose: the pytest plugin (``pytest11`` entry point) is loaded in every pytest
session of every project that installs this package, so only the errors are imported with it: every other
public name - the runner with every check, Hypothesis and Schemathesis, the target with its schema
validator - is imported when it is first asked for (PEP 562).
"""

import typing as _typing

from conformance._version import __version__
from conformance.errors import (
    ConfigError,
    ConformanceError,
    ExitCode,
    SpecError,
    TargetUnreachable,
    UsageError,
)

if _typing.TYPE_CHECKING:
    from conformance.options import RunOptions
    from conformance.results import RunResult, Verdict
    from conformance.runner.session import run_suite
    from conformance.spec import (
        Contract,
        Erratum,
        Requirement,
        load_contract,
        load_errata,
        load_requirements,
    )
    from conformance.target import AkSk, Project, Target, dump_target, load_target, parse_target

# Where each lazy name lives. The target's module brings the config schemas' validator (jsonschema) and the
# YAML parser, the runner every check: none of them is imported before a name of theirs is first asked for.
_LAZY = {
    "RunOptions": "conformance.options",
    "run_suite": "conformance.runner.session",
    **dict.fromkeys(("RunResult", "Verdict"), "conformance.results"),
    **dict.fromkeys(
        ("Contract", "Erratum", "Requirement", "load_contract", "load_errata", "load_requirements"),
        "conformance.spec",
    ),
    **dict.fromkeys(
        ("AkSk", "Project", "Target", "dump_target", "load_target", "parse_target"), "conformance.target"
    ),
}


def __getattr__(name: str) -> _typing.Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'conformance' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "AkSk",
    "ConfigError",
    "ConformanceError",
    "Contract",
    "Erratum",
    "ExitCode",
    "Project",
    "Requirement",
    "RunOptions",
    "RunResult",
    "SpecError",
    "Target",
    "TargetUnreachable",
    "UsageError",
    "Verdict",
    "__version__",
    "dump_target",
    "load_contract",
    "load_errata",
    "load_requirements",
    "load_target",
    "parse_target",
    "run_suite",
]
